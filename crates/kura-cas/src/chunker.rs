//! Content-defined chunking with Xet's gear hash: incremental, sans-IO, boundary offsets only.

use crate::gear_table::GEAR_TABLE;
use crate::hash::chunk_hash;
use crate::merkle::MerkleNode;

/// Target (average) chunk size.
pub const TARGET_CHUNK_SIZE: usize = 64 * 1024;
/// Minimum chunk size (target / 8); only a file's last chunk can be shorter.
pub const MIN_CHUNK_SIZE: usize = TARGET_CHUNK_SIZE / 8;
/// Maximum chunk size (target × 2); a chunk is cut here if no hash boundary came first.
pub const MAX_CHUNK_SIZE: usize = TARGET_CHUNK_SIZE * 2;
/// Boundary mask: the target's low bits moved to the top of the word.
pub const BOUNDARY_MASK: u64 = 0xFFFF_0000_0000_0000;
/// Bytes the gear hash "remembers": it depends only on the last 64 bytes hashed.
const HASH_WINDOW: usize = 64;
/// Bytes of each chunk that are skipped without hashing (xet-core's skip-ahead).
const SKIP_LEN: usize = MIN_CHUNK_SIZE - HASH_WINDOW - 1;

/// Incremental gear-hash chunker that reports boundaries as absolute stream offsets.
///
/// It keeps no data, only the rolling hash and the length of the open chunk, so callers
/// stream bytes through it and slice their own buffers at the reported offsets.
///
/// The rule reproduces current xet-core (hf_xet 1.8): after each cut the hash restarts at
/// zero and the first `MIN_CHUNK_SIZE - 65` bytes of the new chunk are skipped unhashed;
/// hashing then resumes, and a cut falls after the first byte where the chunk holds at least
/// `MIN_CHUNK_SIZE` bytes and `hash & BOUNDARY_MASK == 0`, or at `MAX_CHUNK_SIZE`. Since the
/// hash covers only the last 64 bytes, this equals hashing every byte.
///
/// Older xet-core accepted a hash match before `MIN_CHUNK_SIZE` (as early as 8128 bytes);
/// hf_xet 1.8 does not, and the pinned vectors in `reference_tests.rs` check this.
#[derive(Debug, Clone, Default)]
pub struct Chunker {
    hash: u64,
    /// Bytes in the open chunk (skipped bytes included).
    open_len: usize,
    /// Bytes pushed so far.
    position: u64,
}

impl Chunker {
    /// A chunker at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total bytes pushed so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Feeds bytes and returns the end offsets (from the start of the stream) of the chunks
    /// completed inside `data`. Splitting the same stream differently gives the same offsets.
    pub fn push(&mut self, data: &[u8]) -> Vec<u64> {
        let mut boundaries = Vec::new();
        self.push_into(data, &mut boundaries);
        boundaries
    }

    /// Like [`Chunker::push`] but appends to `boundaries`, to reuse one vector.
    pub fn push_into(&mut self, data: &[u8], boundaries: &mut Vec<u64>) {
        let base = self.position;
        let mut pos = 0;
        while pos < data.len() {
            if self.open_len < SKIP_LEN {
                let skip = (SKIP_LEN - self.open_len).min(data.len() - pos);
                pos += skip;
                self.open_len += skip;
                if pos == data.len() {
                    break;
                }
            }
            let end = data.len().min(pos + (MAX_CHUNK_SIZE - self.open_len));
            let mut cut = false;
            let mut index = pos;
            while index < end {
                self.hash = (self.hash << 1).wrapping_add(GEAR_TABLE[usize::from(data[index])]);
                index += 1;
                if self.hash & BOUNDARY_MASK == 0 && self.open_len + (index - pos) >= MIN_CHUNK_SIZE {
                    cut = true;
                    break;
                }
            }
            self.open_len += index - pos;
            pos = index;
            if cut || self.open_len >= MAX_CHUNK_SIZE {
                boundaries.push(base + pos as u64);
                self.open_len = 0;
                self.hash = 0;
            }
        }
        self.position = base + data.len() as u64;
    }

    /// Closes the stream: returns the end offset of the final, possibly short, chunk if any
    /// bytes are pending. An empty stream has no chunks.
    pub fn finish(self) -> Option<u64> {
        (self.open_len > 0).then_some(self.position)
    }
}

/// Chunk end offsets of a whole in-memory stream (the last one is `data.len()` unless empty).
pub fn chunk_boundaries(data: &[u8]) -> Vec<u64> {
    let mut chunker = Chunker::new();
    let mut boundaries = chunker.push(data);
    boundaries.extend(chunker.finish());
    boundaries
}

/// Chunks `data` and hashes every chunk: the leaves for [`crate::file_hash`].
pub fn chunk_and_hash(data: &[u8]) -> Vec<MerkleNode> {
    let mut start = 0usize;
    chunk_boundaries(data)
        .into_iter()
        .map(|end| {
            // Boundaries never exceed data.len(), which is a usize.
            let end = usize::try_from(end).unwrap_or(data.len());
            let node = MerkleNode::new(chunk_hash(&data[start..end]), (end - start) as u64);
            start = end;
            node
        })
        .collect()
}

/// Xet file hash of an in-memory file (chunk, hash, aggregate).
pub fn hash_file_bytes(data: &[u8]) -> crate::hash::MerkleHash {
    crate::merkle::file_hash(&chunk_and_hash(data))
}
