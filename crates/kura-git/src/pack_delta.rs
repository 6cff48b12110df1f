//! A pack whose objects may be `OFS_DELTA`s against objects written earlier in the same pack.
//! The caller plans which earlier object is a good base for which (usually the version of the
//! same path in a newer commit); this writer holds each planned base's content until its
//! dependent is written, within a byte budget, and falls back to a whole object whenever the
//! base is not held, is of another kind, sits too deep in a chain, or the delta would not pay.

use std::collections::HashMap;

use crate::ObjectKind;
use crate::delta_encode::make_delta;
use crate::pack::PackWriter;

/// Longest delta chain written (git's default `pack.depth`): a client reading an old version
/// applies at most this many deltas.
const MAX_DEPTH: u32 = 50;

/// Bounds on the bases a [`DeltaPackWriter`] holds.
#[derive(Debug, Clone, Copy)]
pub struct DeltaLimits {
    /// Bytes of base content held at once; a base that does not fit is not held.
    pub held_bytes: usize,
    /// Objects larger than this are neither held as bases nor delta-encoded.
    pub max_object: usize,
}

impl Default for DeltaLimits {
    fn default() -> Self {
        Self { held_bytes: 16 << 20, max_object: 1 << 20 }
    }
}

/// Where a planned entry stands in the delta plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaLink {
    /// Position (in write order) of an earlier entry to encode this one against.
    pub base: Option<u32>,
    /// A later entry names this one as its base: hold its content until then.
    pub is_base: bool,
}

struct Held {
    kind: ObjectKind,
    offset: u64,
    depth: u32,
    content: Vec<u8>,
}

/// Writes pack entries in planned order; see the module docs.
pub struct DeltaPackWriter {
    pack: PackWriter,
    limits: DeltaLimits,
    /// Position of the next entry.
    next: u32,
    held: HashMap<u32, Held>,
    held_bytes: usize,
    deltas: u32,
}

impl DeltaPackWriter {
    /// Starts a pack of `count` objects; returns the writer and the header bytes.
    pub fn new(count: u32, limits: DeltaLimits) -> (Self, Vec<u8>) {
        let (pack, header) = PackWriter::new(count);
        let writer = Self { pack, limits, next: 0, held: HashMap::new(), held_bytes: 0, deltas: 0 };
        (writer, header)
    }

    /// Encodes the next object, as a delta against `link.base` when that pays.
    pub fn entry(&mut self, kind: ObjectKind, content: &[u8], link: DeltaLink) -> Vec<u8> {
        let position = self.next;
        self.next += 1;
        let offset = self.pack.offset();
        let base = link.base.and_then(|base| self.release(base));
        let (bytes, depth) = match base.and_then(|base| self.try_delta(&base, kind, content)) {
            Some(delta) => delta,
            None => (self.pack.entry(kind, content), 0),
        };
        if link.is_base
            && content.len() <= self.limits.max_object
            && self.held_bytes + content.len() <= self.limits.held_bytes
        {
            self.held_bytes += content.len();
            self.held.insert(position, Held { kind, offset, depth, content: content.to_vec() });
        }
        bytes
    }

    /// The delta entry for `content` against `base`, with its chain depth, if it is worth it.
    fn try_delta(&mut self, base: &Held, kind: ObjectKind, content: &[u8]) -> Option<(Vec<u8>, u32)> {
        if base.kind != kind || base.depth >= MAX_DEPTH || content.len() > self.limits.max_object {
            return None;
        }
        let delta = make_delta(&base.content, content);
        // As git does: a delta must at least halve the object to be worth resolving.
        if delta.len() >= content.len() / 2 {
            return None;
        }
        self.deltas += 1;
        Some((self.pack.delta_entry(base.offset, &delta), base.depth + 1))
    }

    fn release(&mut self, base: u32) -> Option<Held> {
        let held = self.held.remove(&base)?;
        self.held_bytes -= held.content.len();
        Some(held)
    }

    /// Entries written as deltas so far.
    pub fn deltas(&self) -> u32 {
        self.deltas
    }

    /// The trailing checksum.
    pub fn finish(self) -> [u8; 20] {
        self.pack.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GitError, PackIndex, PackLimits, hash_object};

    /// Writes `objects` (kind, content, link) and returns the pack and the delta count.
    fn write(objects: &[(ObjectKind, Vec<u8>, DeltaLink)], limits: DeltaLimits) -> (Vec<u8>, u32) {
        let (mut writer, mut pack) = DeltaPackWriter::new(objects.len() as u32, limits);
        for (kind, content, link) in objects {
            pack.extend(writer.entry(*kind, content, *link));
        }
        let deltas = writer.deltas();
        pack.extend(writer.finish());
        (pack, deltas)
    }

    /// The ids and contents a pack resolves to, sorted.
    fn read_back(pack: &[u8]) -> Vec<(kura_model::ObjectId, Vec<u8>)> {
        let index = PackIndex::build(pack, &PackLimits::default()).unwrap();
        let mut seen = Vec::new();
        let collect = |object: crate::PackObject<'_>| {
            seen.push((object.id, object.content.to_vec()));
            Ok(())
        };
        index.resolve(std::io::Cursor::new(pack), |_| Ok::<_, GitError>(None), collect).unwrap();
        seen.sort();
        seen
    }

    /// `versions` of one file, newest first, each linked to the one before it.
    fn chain(kind: ObjectKind, versions: &[Vec<u8>]) -> Vec<(ObjectKind, Vec<u8>, DeltaLink)> {
        let last = versions.len() - 1;
        let link = |i: usize| DeltaLink { base: i.checked_sub(1).map(|b| b as u32), is_base: i < last };
        versions.iter().enumerate().map(|(i, v)| (kind, v.clone(), link(i))).collect()
    }

    fn version(n: usize) -> Vec<u8> {
        let mut text = b"a line of text that stays the same in every version\n".repeat(8);
        text.extend(format!("version {n}\n").bytes());
        text.extend(b"and a tail that stays too, long enough to matter\n".repeat(4));
        text
    }

    fn expected(objects: &[(ObjectKind, Vec<u8>, DeltaLink)]) -> Vec<(kura_model::ObjectId, Vec<u8>)> {
        let mut all: Vec<_> = objects.iter().map(|(k, c, _)| (hash_object(*k, c), c.clone())).collect();
        all.sort();
        all.dedup();
        all
    }

    #[test]
    fn versions_of_a_file_become_a_delta_chain() {
        let objects = chain(ObjectKind::Blob, &(0..5).map(version).collect::<Vec<_>>());
        let (pack, deltas) = write(&objects, DeltaLimits::default());
        assert_eq!(deltas, 4);
        assert_eq!(read_back(&pack), expected(&objects));
        let (whole, none) = write(&objects, DeltaLimits { held_bytes: 0, ..DeltaLimits::default() });
        assert_eq!(none, 0);
        assert!(pack.len() * 2 < whole.len(), "{} against {}", pack.len(), whole.len());
        assert_eq!(read_back(&whole), expected(&objects));
    }

    #[test]
    fn chains_stop_at_the_depth_limit() {
        let objects = chain(ObjectKind::Blob, &(0..120).map(version).collect::<Vec<_>>());
        let (pack, deltas) = write(&objects, DeltaLimits::default());
        // Entries 0, 51 and 102 are whole.
        assert_eq!(deltas, 117);
        assert_eq!(read_back(&pack), expected(&objects));
    }

    #[test]
    fn unhelpful_or_mismatched_bases_give_whole_objects() {
        let mut objects = chain(ObjectKind::Blob, &[version(1), b"nothing in common at all".to_vec()]);
        // A tree cannot be a delta of a blob.
        objects.extend(chain(ObjectKind::Blob, &[version(2)]));
        objects.push((ObjectKind::Tree, Vec::new(), DeltaLink { base: Some(2), is_base: false }));
        objects[2].2.is_base = true;
        // Too large to be held.
        objects.push((ObjectKind::Blob, version(3), DeltaLink { base: None, is_base: true }));
        objects.push((ObjectKind::Blob, version(4), DeltaLink { base: Some(4), is_base: false }));
        let limits = DeltaLimits { held_bytes: 1 << 20, max_object: version(3).len() - 1 };
        let (pack, deltas) = write(&objects, limits);
        assert_eq!(deltas, 0);
        assert_eq!(read_back(&pack), expected(&objects));
    }
}
