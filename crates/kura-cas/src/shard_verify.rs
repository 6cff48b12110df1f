//! Checks a shard's file entries against the chunk tables of stored xorbs before accepting it.

use crate::error::CasError;
use crate::hash::{MerkleHash, verification_range_hash};
use crate::merkle::{MerkleBuilder, MerkleNode};
use crate::shard::{FileEntry, XorbEntry};
use crate::xorb::XorbInfo;

/// Verifies one uploaded file entry.
///
/// `xorb_chunks` returns the `(hash, size)` chunk table of a stored xorb, or `None` if the
/// xorb is unknown. Each term must name a known xorb, a chunk range inside it and the right
/// raw length; verification hashes, when present, must match (and must be present when
/// `require_verification`); and the file hash recomputed from all the terms' chunks must
/// equal the claimed one.
pub fn verify_file_entry<F>(
    entry: &FileEntry,
    require_verification: bool,
    mut xorb_chunks: F,
) -> Result<(), CasError>
where
    F: FnMut(&MerkleHash) -> Option<Vec<MerkleNode>>,
{
    let file = entry.file_hash;
    if let Some(hashes) = &entry.verification {
        if hashes.len() != entry.terms.len() {
            return Err(CasError::malformed(
                "shard file entry",
                "verification count differs from term count",
            ));
        }
    } else if require_verification {
        return Err(CasError::malformed(
            "shard file entry",
            format!("file {file} has no verification entries"),
        ));
    }
    let mut leaves = MerkleBuilder::new();
    for (index, term) in entry.terms.iter().enumerate() {
        let invalid = |reason: String| CasError::InvalidTerm { file, index, reason };
        let chunks = xorb_chunks(&term.xorb_hash).ok_or(CasError::UnknownXorb { hash: term.xorb_hash })?;
        let (start, end) = (term.chunk_start as usize, term.chunk_end as usize);
        if start >= end || end > chunks.len() {
            return Err(invalid(format!("chunks {start}..{end} outside a {}-chunk xorb", chunks.len())));
        }
        let range = &chunks[start..end];
        let size: u64 = range.iter().map(|chunk| chunk.size).sum();
        if size != u64::from(term.unpacked_len) {
            return Err(invalid(format!(
                "unpacked length {} but chunks hold {size} bytes",
                term.unpacked_len
            )));
        }
        if let Some(hashes) = &entry.verification {
            let hashes_in_range: Vec<MerkleHash> = range.iter().map(|chunk| chunk.hash).collect();
            let computed = verification_range_hash(&hashes_in_range);
            if computed != hashes[index] {
                return Err(CasError::HashMismatch {
                    what: "term verification",
                    claimed: hashes[index],
                    computed,
                });
            }
        }
        range.iter().for_each(|chunk| leaves.push(*chunk));
    }
    let computed = leaves.finish_file();
    if computed != file {
        return Err(CasError::HashMismatch { what: "file", claimed: file, computed });
    }
    Ok(())
}

/// Checks a CAS-info entry of an uploaded shard against the xorb as we stored it.
pub fn verify_xorb_entry(entry: &XorbEntry, stored: &XorbInfo) -> Result<(), CasError> {
    let mismatch = |reason: &str| {
        Err(CasError::malformed("shard xorb entry", format!("xorb {}: {reason}", entry.xorb_hash)))
    };
    if entry.xorb_hash != stored.hash {
        return mismatch("hash differs from the stored xorb");
    }
    if entry.chunks.len() != stored.chunks.len()
        || u64::from(entry.uncompressed_len) != stored.uncompressed_len()
    {
        return mismatch("chunk count or size differs from the stored xorb");
    }
    for (listed, actual) in entry.chunks.iter().zip(&stored.chunks) {
        if listed.hash != actual.hash
            || listed.uncompressed_len != actual.uncompressed_len
            || u64::from(listed.uncompressed_start) != actual.uncompressed_start
        {
            return mismatch("chunk list differs from the stored xorb");
        }
    }
    Ok(())
}
