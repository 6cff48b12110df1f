//! The crate's error type: every way untrusted Xet input can be rejected.

use crate::hash::MerkleHash;

/// Errors from parsing, validating or producing Xet objects.
///
/// Every variant describes bad or unsupported input; none of them is an internal failure,
/// so an HTTP adapter can map all of them to a 4xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CasError {
    /// A hash string is not 64 hex characters.
    #[error("invalid Xet hash {text:?}: expected 64 hex characters")]
    InvalidHashHex {
        /// The rejected text (truncated to 80 characters).
        text: String,
    },
    /// The input ended before a complete structure could be read.
    #[error("truncated {what}: need {needed} bytes at offset {offset}, have {available}")]
    Truncated {
        /// Which structure was being read.
        what: &'static str,
        /// Offset of the structure in the input.
        offset: usize,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// A chunk record header carries a version newer than we understand.
    #[error("unsupported chunk header version {version} at offset {offset}")]
    UnsupportedChunkVersion {
        /// The version byte.
        version: u8,
        /// Offset of the record.
        offset: usize,
    },
    /// A chunk record names a compression scheme that is not 0, 1 or 2.
    #[error("unknown compression scheme {scheme} at offset {offset}")]
    UnknownCompressionScheme {
        /// The scheme byte.
        scheme: u8,
        /// Offset of the record.
        offset: usize,
    },
    /// A length field is outside the limits of the format.
    #[error("{what} is {value}, limit is {limit}")]
    LimitExceeded {
        /// Which quantity.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The largest allowed value.
        limit: u64,
    },
    /// A compressed payload did not decode, or decoded to the wrong length.
    #[error("chunk {index} does not decompress: {reason}")]
    Decompression {
        /// Index of the chunk in its xorb (or 0 for a lone chunk).
        index: usize,
        /// What went wrong.
        reason: String,
    },
    /// A computed hash differs from the one the input claims.
    #[error("{what} hash mismatch: claimed {claimed}, computed {computed}")]
    HashMismatch {
        /// Which hash (xorb, file, chunk, verification, footer).
        what: &'static str,
        /// The hash the input carries.
        claimed: MerkleHash,
        /// The hash we computed.
        computed: MerkleHash,
    },
    /// A structure is well-sized but its contents are inconsistent or invalid.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A shard term refers to a xorb we do not have.
    #[error("unknown xorb {hash}")]
    UnknownXorb {
        /// The xorb hash.
        hash: MerkleHash,
    },
    /// A shard term refers to chunks past the end of its xorb, or its lengths disagree with
    /// the xorb's chunk table.
    #[error("term {index} of file {file}: {reason}")]
    InvalidTerm {
        /// File hash of the entry.
        file: MerkleHash,
        /// Index of the term in the file.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A requested byte range does not intersect the file.
    #[error("range start {start} is past the end of a {size}-byte file")]
    RangeNotSatisfiable {
        /// First byte requested.
        start: u64,
        /// File size.
        size: u64,
    },
}

impl CasError {
    pub(crate) fn truncated(what: &'static str, offset: usize, needed: usize, available: usize) -> Self {
        Self::Truncated { what, offset, needed, available }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed { what, reason: reason.into() }
    }
}
