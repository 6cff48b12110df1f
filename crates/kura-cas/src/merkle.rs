//! Merkle aggregation of `(hash, size)` lists into xorb hashes and file hashes.

use std::fmt::Write as _;

use crate::hash::{FILE_KEY, INTERNAL_NODE_KEY, MerkleHash, keyed_hash};

/// One leaf or inner node of the aggregation: a hash and the bytes it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerkleNode {
    /// Chunk hash (leaves) or aggregated hash (inner nodes).
    pub hash: MerkleHash,
    /// Uncompressed bytes covered by the node.
    pub size: u64,
}

impl MerkleNode {
    /// Builds a node.
    pub fn new(hash: MerkleHash, size: u64) -> Self {
        Self { hash, size }
    }
}

/// Largest group that collapses into one parent.
const MAX_GROUP: usize = 9;
/// A group may end at a node whose hash is 0 mod this.
const GROUP_CUT_MODULUS: u64 = 4;

/// Length of the next group at the front of `nodes` (which is not empty).
///
/// Two or fewer nodes form the last group. Otherwise the group ends after the first node at
/// position 2..min(9, len) whose hash is 0 mod 4, or holds min(9, len) nodes.
fn next_group_len(nodes: &[MerkleNode]) -> usize {
    if nodes.len() <= 2 {
        return nodes.len();
    }
    let limit = nodes.len().min(MAX_GROUP);
    (2..limit)
        .find(|&index| nodes[index].hash.last_u64().is_multiple_of(GROUP_CUT_MODULUS))
        .map_or(limit, |index| index + 1)
}

/// Collapses one group: keyed hash of the lines `"{hex} : {size}\n"`, sizes summed.
fn merge_group(group: &[MerkleNode]) -> MerkleNode {
    let mut text = String::with_capacity(group.len() * 88);
    let mut size = 0u64;
    for node in group {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{} : {}", node.hash, node.size);
        size = size.wrapping_add(node.size);
    }
    MerkleNode { hash: keyed_hash(&INTERNAL_NODE_KEY, text.as_bytes()), size }
}

/// Root of the Merkle aggregation over `nodes`.
///
/// An empty list gives [`MerkleHash::ZERO`]; a single node gives its own hash unchanged.
pub fn merkle_root(nodes: &[MerkleNode]) -> MerkleHash {
    match nodes {
        [] => return MerkleHash::ZERO,
        [only] => return only.hash,
        _ => {}
    }
    let mut level: Vec<MerkleNode> = nodes.to_vec();
    while level.len() > 1 {
        let mut parents = Vec::with_capacity(level.len() / 2 + 1);
        let mut rest = &level[..];
        while !rest.is_empty() {
            let (group, tail) = rest.split_at(next_group_len(rest));
            parents.push(merge_group(group));
            rest = tail;
        }
        level = parents;
    }
    level[0].hash
}

/// The Merkle aggregation computed as nodes arrive, in memory bounded by the tree's depth
/// (at most `MAX_GROUP` pending nodes per level) instead of the number of nodes: a file of
/// millions of chunks is hashed without holding its chunk list.
///
/// A level's group is final once `MAX_GROUP` nodes wait on it (`next_group_len` looks no
/// further), so each level emits its parents upward as soon as it can; `finish` groups what
/// is left with the end-of-list rule. The result equals `merkle_root` over the same nodes.
#[derive(Debug, Default, Clone)]
pub struct MerkleBuilder {
    /// Per level (0 = leaves): nodes not yet grouped, and how many the level has received.
    levels: Vec<(Vec<MerkleNode>, u64)>,
}

impl MerkleBuilder {
    /// An empty aggregation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Nodes pushed so far.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |(_, count)| *count)
    }

    /// Whether no node was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the next leaf.
    pub fn push(&mut self, node: MerkleNode) {
        self.push_at(0, node);
    }

    fn push_at(&mut self, level: usize, node: MerkleNode) {
        if self.levels.len() == level {
            self.levels.push((Vec::with_capacity(MAX_GROUP), 0));
        }
        let (pending, count) = &mut self.levels[level];
        pending.push(node);
        *count += 1;
        if pending.len() < MAX_GROUP {
            return;
        }
        let take = next_group_len(pending);
        let parent = merge_group(&pending[..take]);
        pending.drain(..take);
        self.push_at(level + 1, parent);
    }

    /// The root ([`MerkleHash::ZERO`] when no node was pushed).
    pub fn finish(mut self) -> MerkleHash {
        let mut level = 0;
        while level < self.levels.len() {
            let (pending, count) = std::mem::take(&mut self.levels[level]);
            if count == 1 {
                // The only node this level ever saw is the root.
                return pending[0].hash;
            }
            let mut rest = &pending[..];
            while !rest.is_empty() {
                let (group, tail) = rest.split_at(next_group_len(rest));
                self.push_at(level + 1, merge_group(group));
                rest = tail;
            }
            level += 1;
        }
        MerkleHash::ZERO
    }

    /// The file hash of the pushed chunks, as [`file_hash`] computes it.
    pub fn finish_file(self) -> MerkleHash {
        if self.is_empty() {
            return MerkleHash::ZERO;
        }
        keyed_hash(&FILE_KEY, self.finish().as_bytes())
    }
}

/// Xorb hash: the Merkle root over the xorb's chunks, in order.
pub fn xorb_hash(chunks: &[MerkleNode]) -> MerkleHash {
    merkle_root(chunks)
}

/// File hash ("Xet hash"): keyed BLAKE3 with the zero key over the Merkle root of all the
/// file's chunks. An empty file hashes to [`MerkleHash::ZERO`].
pub fn file_hash(chunks: &[MerkleNode]) -> MerkleHash {
    if chunks.is_empty() {
        return MerkleHash::ZERO;
    }
    let root = merkle_root(chunks);
    keyed_hash(&FILE_KEY, root.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::chunk_hash;

    fn leaf(seed: u32, size: u64) -> MerkleNode {
        MerkleNode::new(chunk_hash(&seed.to_le_bytes()), size)
    }

    #[test]
    fn single_node_root_is_unchanged_but_file_hash_is_keyed() {
        let node = leaf(1, 10);
        assert_eq!(merkle_root(&[node]), node.hash);
        assert_eq!(file_hash(&[node]), keyed_hash(&[0; 32], node.hash.as_bytes()));
        assert_eq!(file_hash(&[]), MerkleHash::ZERO);
        assert_eq!(merkle_root(&[]), MerkleHash::ZERO);
    }

    #[test]
    fn two_nodes_hash_their_lines() {
        let (a, b) = (leaf(1, 10), leaf(2, 20));
        let text = format!("{} : 10\n{} : 20\n", a.hash, b.hash);
        assert_eq!(merkle_root(&[a, b]), keyed_hash(&INTERNAL_NODE_KEY, text.as_bytes()));
    }

    #[test]
    fn the_streaming_builder_agrees_with_the_whole_list() {
        let mut sizes = (0..1200).collect::<Vec<u32>>();
        sizes.extend([2000, 4097, 9 * 9 * 9 + 1, 9 * 9 * 9 * 9]);
        for count in sizes {
            let nodes: Vec<MerkleNode> = (0..count).map(|seed| leaf(seed, u64::from(seed % 7))).collect();
            let mut builder = MerkleBuilder::new();
            for node in &nodes {
                builder.push(*node);
            }
            assert_eq!(builder.len(), u64::from(count));
            let mut file = builder.clone();
            assert_eq!(builder.finish(), merkle_root(&nodes), "{count} nodes");
            file.levels.shrink_to_fit();
            assert_eq!(file.finish_file(), file_hash(&nodes), "{count} nodes");
        }
    }

    #[test]
    fn the_streaming_builder_holds_a_few_nodes_per_level() {
        let mut builder = MerkleBuilder::new();
        for seed in 0..200_000 {
            builder.push(leaf(seed, 1));
        }
        assert!(builder.levels.len() < 20, "{} levels", builder.levels.len());
        assert!(builder.levels.iter().all(|(pending, _)| pending.len() < MAX_GROUP));
    }

    #[test]
    fn groups_are_three_to_nine_nodes_with_a_short_tail() {
        let nodes: Vec<MerkleNode> = (0..500).map(|seed| leaf(seed, 1)).collect();
        let mut rest = &nodes[..];
        let mut lengths = Vec::new();
        while !rest.is_empty() {
            let length = next_group_len(rest);
            lengths.push(length);
            rest = &rest[length..];
        }
        let (last, body) = lengths.split_last().unwrap();
        assert!(body.iter().all(|length| (3..=9).contains(length)), "{lengths:?}");
        assert!((1..=9).contains(last));
        assert!(lengths.contains(&9) || lengths.iter().any(|length| *length < 9));
    }
}
