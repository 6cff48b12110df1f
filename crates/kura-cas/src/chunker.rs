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
        let mut hash = self.hash;
        let mut open_len = self.open_len;
        let mut rest = data;
        while !rest.is_empty() {
            // 1. Skip-ahead: the start of the chunk is never hashed.
            if open_len < SKIP_LEN {
                let skip = (SKIP_LEN - open_len).min(rest.len());
                open_len += skip;
                rest = &rest[skip..];
                if rest.is_empty() {
                    break;
                }
            }
            // 2. Warm-up: hash up to one byte short of MIN_CHUNK_SIZE without testing, since
            //    no cut can fall there; this fills the 64-byte window.
            if open_len < MIN_CHUNK_SIZE - 1 {
                let (warm, tail) = rest.split_at((MIN_CHUNK_SIZE - 1 - open_len).min(rest.len()));
                hash = warm.iter().fold(hash, |hash, &byte| roll(hash, byte));
                open_len += warm.len();
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
            // 3. Scan: every byte from here to MAX_CHUNK_SIZE may end the chunk.
            let window = &rest[..rest.len().min(MAX_CHUNK_SIZE - open_len)];
            let found = find_boundary(&mut hash, window);
            let taken = found.unwrap_or(window.len());
            open_len += taken;
            rest = &rest[taken..];
            if found.is_some() || open_len == MAX_CHUNK_SIZE {
                boundaries.push(base + (data.len() - rest.len()) as u64);
                open_len = 0;
                hash = 0;
            }
        }
        self.hash = hash;
        self.open_len = open_len;
        self.position = base + data.len() as u64;
    }

    /// Closes the stream: returns the end offset of the final, possibly short, chunk if any
    /// bytes are pending. An empty stream has no chunks.
    pub fn finish(self) -> Option<u64> {
        (self.open_len > 0).then_some(self.position)
    }
}

/// One step of the gear hash.
#[inline(always)]
fn roll(hash: u64, byte: u8) -> u64 {
    (hash << 1).wrapping_add(GEAR_TABLE[usize::from(byte)])
}

/// The gear hashes after each of the four bytes of `quad`, starting from `hash`.
///
/// Hash `j` (1-based) is `(hash << j) + part_j`, where the parts roll over the four bytes from
/// zero and do not depend on `hash`. So the chain from one block to the next is one shift and
/// one add per four bytes instead of a shift and an add per byte, and the CPU computes the
/// parts and the four hashes in parallel.
#[inline(always)]
fn roll4(hash: u64, quad: &[u8; 4]) -> [u64; 4] {
    let part1 = GEAR_TABLE[usize::from(quad[0])];
    let part2 = roll(part1, quad[1]);
    let part3 = roll(part2, quad[2]);
    let part4 = roll(part3, quad[3]);
    [
        (hash << 1).wrapping_add(part1),
        (hash << 2).wrapping_add(part2),
        (hash << 3).wrapping_add(part3),
        (hash << 4).wrapping_add(part4),
    ]
}

/// Rolls `hash` over `bytes` until a hash matches [`BOUNDARY_MASK`]; returns how many bytes
/// were taken, the matching one included, or `None` (and the hash after all of `bytes`).
///
/// Blocks of 16 bytes, as four steps of [`roll4`], keep the loop free of bounds checks and
/// of per-byte loop overhead; the tail goes byte by byte.
fn find_boundary(hash: &mut u64, bytes: &[u8]) -> Option<usize> {
    let (blocks, tail) = bytes.as_chunks::<16>();
    let mut current = *hash;
    for (block_index, block) in blocks.iter().enumerate() {
        let (quads, _) = block.as_chunks::<4>();
        for (quad_index, quad) in quads.iter().enumerate() {
            let hashes = roll4(current, quad);
            for (index, &value) in hashes.iter().enumerate() {
                if value & BOUNDARY_MASK == 0 {
                    *hash = value;
                    return Some(block_index * 16 + quad_index * 4 + index + 1);
                }
            }
            current = hashes[3];
        }
    }
    let done = bytes.len() - tail.len();
    for (index, &byte) in tail.iter().enumerate() {
        current = roll(current, byte);
        if current & BOUNDARY_MASK == 0 {
            *hash = current;
            return Some(done + index + 1);
        }
    }
    *hash = current;
    None
}

/// Chunk end offsets of a whole in-memory stream (the last one is `data.len()` unless empty).
pub fn chunk_boundaries(data: &[u8]) -> Vec<u64> {
    let mut chunker = Chunker::new();
    let mut boundaries = chunker.push(data);
    boundaries.extend(chunker.finish());
    boundaries
}

/// Chunks `data` and hashes every chunk: the leaves for [`crate::file_hash`].
///
/// The data goes through the chunker a few chunks at a time and each chunk is hashed as soon
/// as its end is known, while its bytes are still in cache, instead of one pass over the whole
/// buffer for boundaries and a second one for hashes.
pub fn chunk_and_hash(data: &[u8]) -> Vec<MerkleNode> {
    const PIECE: usize = 2 * MAX_CHUNK_SIZE;
    let mut nodes = Vec::with_capacity(data.len() / TARGET_CHUNK_SIZE + 1);
    let mut chunker = Chunker::new();
    let mut ends = Vec::new();
    let mut start = 0usize;
    let mut add_leaf = |end: u64| {
        // Boundaries never exceed data.len(), which is a usize.
        let end = usize::try_from(end).unwrap_or(data.len());
        nodes.push(MerkleNode::new(chunk_hash(&data[start..end]), (end - start) as u64));
        start = end;
    };
    for piece in data.chunks(PIECE) {
        ends.clear();
        chunker.push_into(piece, &mut ends);
        ends.iter().for_each(|&end| add_leaf(end));
    }
    chunker.finish().into_iter().for_each(add_leaf);
    nodes
}

/// Xet file hash of an in-memory file (chunk, hash, aggregate).
pub fn hash_file_bytes(data: &[u8]) -> crate::hash::MerkleHash {
    crate::merkle::file_hash(&chunk_and_hash(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule written as plainly as possible: hash every byte from the chunk start, cut after
    /// the first byte where the chunk holds at least MIN bytes and the hash matches, or at MAX.
    fn reference_boundaries(data: &[u8]) -> Vec<u64> {
        let mut boundaries = Vec::new();
        let mut hash = 0u64;
        let mut len = 0usize;
        for (index, &byte) in data.iter().enumerate() {
            hash = (hash << 1).wrapping_add(GEAR_TABLE[usize::from(byte)]);
            len += 1;
            if (len >= MIN_CHUNK_SIZE && hash & BOUNDARY_MASK == 0) || len == MAX_CHUNK_SIZE {
                boundaries.push(index as u64 + 1);
                hash = 0;
                len = 0;
            }
        }
        if len > 0 {
            boundaries.push(data.len() as u64);
        }
        boundaries
    }

    /// xorshift64: deterministic test input and push sizes.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| (self.next() >> 24) as u8).collect()
        }
    }

    /// Push sizes that mix single bytes, small, medium and larger-than-MAX pieces.
    fn random_pieces(rng: &mut XorShift, total: usize) -> Vec<usize> {
        let mut pieces = Vec::new();
        let mut left = total;
        while left > 0 {
            let size = match rng.below(5) {
                0 => 1,
                1 => 1 + rng.below(100),
                2 => 1 + rng.below(MIN_CHUNK_SIZE + 200),
                3 => 1 + rng.below(MAX_CHUNK_SIZE),
                _ => 1 + rng.below(3 * MAX_CHUNK_SIZE),
            };
            let size = size.min(left);
            pieces.push(size);
            left -= size;
        }
        pieces
    }

    fn streamed(data: &[u8], pieces: &[usize]) -> Vec<u64> {
        let mut chunker = Chunker::new();
        let mut boundaries = Vec::new();
        let mut start = 0;
        for &size in pieces {
            chunker.push_into(&data[start..start + size], &mut boundaries);
            start += size;
        }
        assert_eq!(chunker.position(), data.len() as u64);
        boundaries.extend(chunker.finish());
        boundaries
    }

    fn inputs() -> Vec<(&'static str, Vec<u8>)> {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let random = rng.bytes(3 << 20);
        let two_symbols: Vec<u8> =
            (0..(1 << 20)).map(|_| if rng.next() & 1 == 0 { b'a' } else { b'b' }).collect();
        let pattern: Vec<u8> = rng.bytes(251).into_iter().cycle().take(1 << 20).collect();
        // Random stretches between runs of zeros: cuts land at varied offsets, some at MAX.
        let mut mixed = Vec::new();
        while mixed.len() < 2 << 20 {
            let run = rng.below(3 * MAX_CHUNK_SIZE);
            if rng.next() & 1 == 0 {
                mixed.extend(rng.bytes(run));
            } else {
                mixed.resize(mixed.len() + run, 0);
            }
        }
        vec![
            ("random", random),
            ("zeros", vec![0u8; (1 << 20) + 12_345]),
            ("two symbols", two_symbols),
            ("repeated 251-byte pattern", pattern),
            ("random and zero runs", mixed),
            ("short", rng.bytes(MIN_CHUNK_SIZE - 1)),
            ("one byte", vec![7]),
        ]
    }

    #[test]
    fn matches_per_byte_reference_for_any_split() {
        let mut rng = XorShift(0x6b75_7261);
        for (name, data) in inputs() {
            let expected = reference_boundaries(&data);
            assert_eq!(chunk_boundaries(&data), expected, "{name}: whole buffer");
            for round in 0..4 {
                let pieces = random_pieces(&mut rng, data.len());
                assert_eq!(streamed(&data, &pieces), expected, "{name}: random split {round}");
            }
        }
    }

    #[test]
    fn one_byte_pushes_match_reference() {
        let mut rng = XorShift(42);
        let mut data = rng.bytes(400_000);
        data.extend(vec![0u8; 300_000]);
        let expected = reference_boundaries(&data);
        assert_eq!(streamed(&data, &vec![1; data.len()]), expected);
    }

    #[test]
    fn low_entropy_data_cuts_at_max() {
        for data in [vec![0u8; 500_000], (0..500_000).map(|i| (i % 7) as u8).collect()] {
            let boundaries = chunk_boundaries(&data);
            assert_eq!(boundaries, vec![131_072, 262_144, 393_216, 500_000]);
            assert_eq!(boundaries, reference_boundaries(&data));
        }
    }

    #[test]
    fn hash_matches_before_min_are_ignored() {
        // The test data must contain chunks with a hash match in their first MIN bytes (about
        // one chunk in eight has one), where only the MIN rule prevents a cut.
        let data = XorShift(3).bytes(2 << 20);
        let mut rolling = Vec::with_capacity(data.len());
        let mut hash = 0u64;
        for &byte in &data {
            hash = roll(hash, byte);
            rolling.push(hash);
        }
        let boundaries = chunk_boundaries(&data);
        assert_eq!(boundaries, reference_boundaries(&data));
        let mut start = 0usize;
        let mut early_matches = 0;
        for &end in &boundaries {
            let end = end as usize;
            // Past 64 bytes into the chunk, the chunk's hash equals the rolling hash.
            let early = start + HASH_WINDOW..(start + MIN_CHUNK_SIZE - 1).min(end);
            early_matches += rolling[early].iter().filter(|&&hash| hash & BOUNDARY_MASK == 0).count();
            if end < data.len() {
                assert!((MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&(end - start)));
            }
            start = end;
        }
        assert!(early_matches > 0);
    }

    #[test]
    fn match_one_byte_before_min_does_not_cut_and_at_min_does() {
        let source = XorShift(11).bytes(1 << 20);
        let mut hash = 0u64;
        let mut matched = None;
        for (index, &byte) in source.iter().enumerate() {
            hash = roll(hash, byte);
            if index >= MIN_CHUNK_SIZE + HASH_WINDOW && hash & BOUNDARY_MASK == 0 {
                matched = Some(index);
                break;
            }
        }
        let matched = matched.expect("1 MiB of random data has a hash match");
        // The match is the stream's byte MIN - 1 (1-based): too short to cut.
        let short = &source[matched - (MIN_CHUNK_SIZE - 2)..];
        let boundaries = chunk_boundaries(short);
        assert_ne!(boundaries[0], MIN_CHUNK_SIZE as u64 - 1);
        assert_eq!(boundaries, reference_boundaries(short));
        // The match is the stream's byte MIN: the first chunk is exactly MIN bytes.
        let exact = &source[matched - (MIN_CHUNK_SIZE - 1)..];
        assert_eq!(chunk_boundaries(exact)[0], MIN_CHUNK_SIZE as u64);
        let mut rng = XorShift(5);
        for _ in 0..8 {
            let pieces = random_pieces(&mut rng, exact.len());
            assert_eq!(streamed(exact, &pieces), reference_boundaries(exact));
        }
    }
}
