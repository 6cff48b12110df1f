//! Xorb serialization: chunk records (8-byte header + payload), writing, parsing, validation.

use crate::chunker::MAX_CHUNK_SIZE;
use crate::compression::{CompressionScheme, MAX_COMPRESSED_CHUNK_LEN, compress_chunk, decompress_chunk};
use crate::cursor::Cursor;
use crate::error::CasError;
use crate::hash::{MerkleHash, chunk_hash};
use crate::merkle::{MerkleNode, xorb_hash};
use crate::xorb_footer::{FOOTER_MAGIC_FIRST_BYTE, XorbFooter};
use crate::xorb_stream::XorbValidator;

/// Most chunks in one xorb.
pub const MAX_XORB_CHUNKS: usize = 8 * 1024;
/// Most uncompressed bytes in one xorb.
pub const MAX_XORB_BYTES: u64 = 64 * 1024 * 1024;
/// Largest serialized xorb we accept: raw limit, plus a header per chunk, plus a footer,
/// rounded up generously.
pub const MAX_SERIALIZED_XORB_BYTES: usize = 65 * 1024 * 1024;
/// Length of a chunk record header.
pub const CHUNK_HEADER_LEN: usize = 8;
/// The only chunk header version.
const CHUNK_HEADER_VERSION: u8 = 0;
/// Largest value of a 3-byte length field.
const U24_MAX: usize = (1 << 24) - 1;

/// The 8-byte header in front of each chunk payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Payload length.
    pub compressed_len: u32,
    /// Payload encoding.
    pub scheme: CompressionScheme,
    /// Length after decoding.
    pub uncompressed_len: u32,
}

impl ChunkHeader {
    /// Wire form: version 0, u24 compressed length, scheme, u24 uncompressed length.
    pub fn to_bytes(&self) -> [u8; CHUNK_HEADER_LEN] {
        let compressed = self.compressed_len.to_le_bytes();
        let uncompressed = self.uncompressed_len.to_le_bytes();
        [
            CHUNK_HEADER_VERSION,
            compressed[0],
            compressed[1],
            compressed[2],
            self.scheme as u8,
            uncompressed[0],
            uncompressed[1],
            uncompressed[2],
        ]
    }

    /// Parses and bounds-checks a header; `offset` is its position, for errors.
    pub fn parse(bytes: [u8; CHUNK_HEADER_LEN], offset: usize) -> Result<Self, CasError> {
        if bytes[0] != CHUNK_HEADER_VERSION {
            return Err(CasError::UnsupportedChunkVersion { version: bytes[0], offset });
        }
        let compressed_len = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], 0]);
        let scheme = CompressionScheme::from_byte(bytes[4], offset)?;
        let uncompressed_len = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], 0]);
        check_limit("chunk uncompressed length", uncompressed_len as u64, MAX_CHUNK_SIZE as u64)?;
        check_limit("chunk compressed length", compressed_len as u64, MAX_COMPRESSED_CHUNK_LEN as u64)?;
        if scheme == CompressionScheme::None && compressed_len != uncompressed_len {
            return Err(CasError::malformed(
                "chunk header",
                format!(
                    "uncompressed chunk at offset {offset} has lengths {compressed_len} and {uncompressed_len}"
                ),
            ));
        }
        Ok(Self { compressed_len, scheme, uncompressed_len })
    }
}

fn check_limit(what: &'static str, value: u64, limit: u64) -> Result<(), CasError> {
    if value > limit {
        return Err(CasError::LimitExceeded { what, value, limit });
    }
    Ok(())
}

/// One chunk record as found in serialized bytes.
#[derive(Debug, Clone, Copy)]
pub struct ChunkRecord<'a> {
    /// Offset of the header in the input.
    pub offset: usize,
    /// The parsed header.
    pub header: ChunkHeader,
    /// The (possibly compressed) payload.
    pub payload: &'a [u8],
}

impl ChunkRecord<'_> {
    /// Offset just past this record.
    pub fn end(&self) -> usize {
        self.offset + CHUNK_HEADER_LEN + self.payload.len()
    }

    /// Decodes the payload; `index` names the chunk in errors.
    pub fn decode(&self, index: usize) -> Result<Vec<u8>, CasError> {
        decompress_chunk(self.payload, self.header.scheme, self.header.uncompressed_len as usize, index)
    }
}

/// Iterates over chunk records laid end to end. Stops at the end of the input or where a
/// footer starts (a byte that is not a chunk header version); check
/// [`ChunkRecords::position`] afterwards to see where it stopped.
pub struct ChunkRecords<'a> {
    cursor: Cursor<'a>,
    failed: bool,
}

impl<'a> ChunkRecords<'a> {
    /// Records of `bytes`, starting at its first byte.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { cursor: Cursor::new(bytes, "chunk record"), failed: false }
    }

    /// Offset of the first byte not consumed as a record.
    pub fn position(&self) -> usize {
        self.cursor.position()
    }

    fn read(&mut self) -> Result<ChunkRecord<'a>, CasError> {
        let offset = self.cursor.position();
        self.cursor.set_what("chunk header");
        let header = ChunkHeader::parse(self.cursor.array()?, offset)?;
        self.cursor.set_what("chunk payload");
        let payload = self.cursor.take(header.compressed_len as usize)?;
        Ok(ChunkRecord { offset, header, payload })
    }
}

impl<'a> Iterator for ChunkRecords<'a> {
    type Item = Result<ChunkRecord<'a>, CasError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.cursor.peek().is_none_or(|byte| byte == FOOTER_MAGIC_FIRST_BYTE) {
            return None;
        }
        let record = self.read();
        self.failed = record.is_err();
        Some(record)
    }
}

/// Decodes a contiguous run of records (e.g. a fetched byte range) into raw bytes.
pub fn decode_records(bytes: &[u8]) -> Result<Vec<u8>, CasError> {
    let mut out = Vec::new();
    let mut records = ChunkRecords::new(bytes);
    for (index, record) in records.by_ref().enumerate() {
        out.extend_from_slice(&record?.decode(index)?);
    }
    if records.position() != bytes.len() {
        return Err(CasError::malformed("chunk records", "trailing bytes after the last record"));
    }
    Ok(out)
}

/// Where one chunk sits in a xorb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XorbChunk {
    /// Chunk hash of the raw bytes.
    pub hash: MerkleHash,
    /// Raw length.
    pub uncompressed_len: u32,
    /// Offset of the chunk in the xorb's concatenated raw bytes.
    pub uncompressed_start: u64,
    /// Offset of the record header in the serialized xorb.
    pub record_start: u64,
    /// Offset just past the record's payload.
    pub record_end: u64,
}

/// A validated xorb: its hash and chunk table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XorbInfo {
    /// Xorb hash computed from the chunks.
    pub hash: MerkleHash,
    /// Chunks in order.
    pub chunks: Vec<XorbChunk>,
    /// Length of the chunk records, i.e. where a footer starts or would start.
    pub records_len: u64,
    /// The footer, if the input carried one.
    pub footer: Option<XorbFooter>,
}

impl XorbInfo {
    /// Total raw bytes of all chunks.
    pub fn uncompressed_len(&self) -> u64 {
        self.chunks.last().map_or(0, |chunk| chunk.uncompressed_start + chunk.uncompressed_len as u64)
    }

    /// `(hash, size)` leaves for Merkle hashing.
    pub fn merkle_nodes(&self) -> Vec<MerkleNode> {
        self.chunks.iter().map(|chunk| MerkleNode::new(chunk.hash, chunk.uncompressed_len as u64)).collect()
    }
}

/// Parses a serialized xorb (with or without footer), decodes and hashes every chunk, and
/// computes the xorb hash. A footer, if present, must agree with the chunks.
pub fn parse_xorb(bytes: &[u8]) -> Result<XorbInfo, CasError> {
    let mut validator = XorbValidator::new();
    validator.push(bytes)?;
    validator.finish()
}

/// [`parse_xorb`], then checks the computed hash against the one the upload claims.
pub fn validate_xorb(bytes: &[u8], claimed: &MerkleHash) -> Result<XorbInfo, CasError> {
    let info = parse_xorb(bytes)?;
    if &info.hash != claimed {
        return Err(CasError::HashMismatch { what: "xorb", claimed: *claimed, computed: info.hash });
    }
    Ok(info)
}

/// Builds a serialized xorb chunk by chunk.
#[derive(Debug, Default)]
pub struct XorbWriter {
    records: Vec<u8>,
    chunks: Vec<XorbChunk>,
    uncompressed_len: u64,
}

impl XorbWriter {
    /// An empty xorb.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty xorb that writes its records into `buffer` (cleared first), so a caller
    /// building many xorbs can reuse one allocation instead of faulting in a fresh one each time.
    pub fn with_buffer(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        Self { records: buffer, ..Self::default() }
    }

    /// Number of chunks added.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Raw bytes added so far.
    pub fn uncompressed_len(&self) -> u64 {
        self.uncompressed_len
    }

    /// Whether `len` more raw bytes in one more chunk still fit the xorb limits.
    pub fn has_room_for(&self, len: usize) -> bool {
        self.chunks.len() < MAX_XORB_CHUNKS && self.uncompressed_len + len as u64 <= MAX_XORB_BYTES
    }

    /// Appends one chunk, compressed with `scheme` when that makes it smaller.
    pub fn add_chunk(&mut self, data: &[u8], scheme: CompressionScheme) -> Result<MerkleHash, CasError> {
        if data.is_empty() {
            return Err(CasError::malformed("chunk", "empty chunk"));
        }
        check_limit("chunk uncompressed length", data.len() as u64, MAX_CHUNK_SIZE as u64)?;
        if !self.has_room_for(data.len()) {
            return Err(CasError::LimitExceeded {
                what: "xorb size after adding chunk",
                value: self.uncompressed_len + data.len() as u64,
                limit: MAX_XORB_BYTES,
            });
        }
        let (scheme, payload) = compress_chunk(data, scheme);
        debug_assert!(payload.len() <= U24_MAX);
        let header =
            ChunkHeader { compressed_len: payload.len() as u32, scheme, uncompressed_len: data.len() as u32 };
        let record_start = self.records.len() as u64;
        self.records.extend_from_slice(&header.to_bytes());
        self.records.extend_from_slice(&payload);
        let hash = chunk_hash(data);
        self.chunks.push(XorbChunk {
            hash,
            uncompressed_len: data.len() as u32,
            uncompressed_start: self.uncompressed_len,
            record_start,
            record_end: self.records.len() as u64,
        });
        self.uncompressed_len += data.len() as u64;
        Ok(hash)
    }

    /// Appends one chunk stored uncompressed, whose raw bytes are the concatenation of
    /// `parts` and whose [`chunk_hash`] the caller has already computed as `hash` (the
    /// server-side ingest hashes every chunk once, before it knows whether it is new). The
    /// bytes are copied once, straight into the records.
    pub fn add_uncompressed_parts<T: AsRef<[u8]>>(
        &mut self,
        parts: &[T],
        hash: MerkleHash,
    ) -> Result<(), CasError> {
        let len: usize = parts.iter().map(|p| p.as_ref().len()).sum();
        if len == 0 {
            return Err(CasError::malformed("chunk", "empty chunk"));
        }
        check_limit("chunk uncompressed length", len as u64, MAX_CHUNK_SIZE as u64)?;
        if !self.has_room_for(len) {
            return Err(CasError::LimitExceeded {
                what: "xorb size after adding chunk",
                value: self.uncompressed_len + len as u64,
                limit: MAX_XORB_BYTES,
            });
        }
        debug_assert_eq!(hash, crate::hash::chunk_hash_parts(parts), "caller's chunk hash is wrong");
        let header = ChunkHeader {
            compressed_len: len as u32,
            scheme: CompressionScheme::None,
            uncompressed_len: len as u32,
        };
        let record_start = self.records.len() as u64;
        self.records.reserve(CHUNK_HEADER_LEN + len);
        self.records.extend_from_slice(&header.to_bytes());
        for part in parts {
            self.records.extend_from_slice(part.as_ref());
        }
        self.chunks.push(XorbChunk {
            hash,
            uncompressed_len: len as u32,
            uncompressed_start: self.uncompressed_len,
            record_start,
            record_end: self.records.len() as u64,
        });
        self.uncompressed_len += len as u64;
        Ok(())
    }

    /// Finishes: the chunk records (what clients upload) and the xorb's chunk table.
    pub fn finish(self) -> (Vec<u8>, XorbInfo) {
        let nodes: Vec<MerkleNode> = self
            .chunks
            .iter()
            .map(|chunk| MerkleNode::new(chunk.hash, chunk.uncompressed_len as u64))
            .collect();
        let info = XorbInfo {
            hash: xorb_hash(&nodes),
            records_len: self.records.len() as u64,
            chunks: self.chunks,
            footer: None,
        };
        (self.records, info)
    }
}

#[cfg(test)]
#[path = "xorb_tests.rs"]
mod tests;
