//! Reading a received pack, pass 1: walk every entry once, in order, without keeping object
//! data. Records where each entry is and what it is, checks every zlib stream inflates to
//! exactly its declared size, hashes whole objects, and verifies the SHA-1 trailer. Pass 2
//! (`pack_resolve`) then resolves deltas and yields the objects.
//!
//! Memory in pass 1: a 64 KiB read buffer, a 32 KiB inflate buffer, the zlib state, and 48
//! bytes per entry plus about 30 per `REF_DELTA` (so `max_objects` bounds it). Time: one
//! inflate and, for whole objects, one SHA-1 per entry.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use kura_model::ObjectId;
use sha1::{Digest, Sha1};

use crate::GitError;
use crate::delta::delta_header;
use crate::object::{ObjectKind, object_header};
use crate::pack_input::PackInput;

/// Bounds that keep a hostile pack from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    /// Most entries a pack may declare.
    pub max_objects: u32,
    /// Largest inflated size of any entry (whole object or delta data) and of any delta's
    /// declared result.
    pub max_object_size: u64,
    /// Bytes of delta bases pass 2 keeps on its resolution path besides the one in use. Past
    /// this, bases are dropped and recomputed when needed again (slower, never larger).
    pub delta_cache_bytes: u64,
    /// Longest delta chain accepted (git itself never writes chains deeper than 4095).
    pub max_delta_depth: u32,
    /// Most bytes the pack's objects may add up to once inflated and resolved: the sizes of
    /// whole entries plus the result size every delta declares. Pass 1 adds these up from the
    /// headers and refuses the pack as soon as the sum passes the budget, before any delta is
    /// applied, so a delta bomb (a few bytes of copy instructions declaring a large result,
    /// repeated) costs no more than reading its delta data. Pass 2 also stops when applying
    /// deltas, recomputations after cache evictions included, produces more than twice this.
    pub max_inflated_bytes: u64,
}

impl Default for PackLimits {
    /// One million objects of up to 256 MiB and 4 GiB in all, 64 MiB of cached bases, depth 4095.
    fn default() -> Self {
        Self {
            max_objects: 1 << 20,
            max_object_size: 256 << 20,
            delta_cache_bytes: 64 << 20,
            max_delta_depth: 4095,
            max_inflated_bytes: 4 << 30,
        }
    }
}

/// What a pack entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Whole {
        kind: ObjectKind,
        id: ObjectId,
    },
    /// Delta against the entry with this index (always an earlier one).
    OfsDelta {
        base: u32,
    },
    /// Delta against the object with this id, in the pack or not.
    RefDelta {
        base: ObjectId,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) offset: u64,
    /// Where the zlib stream starts.
    pub(crate) data_offset: u64,
    /// Declared inflated size (of the delta data for deltas).
    pub(crate) size: u64,
    pub(crate) kind: EntryKind,
}

/// The result of pass 1: a verified map of the pack, to resolve with [`PackIndex::resolve`].
#[derive(Debug)]
pub struct PackIndex {
    pub(crate) entries: Vec<Entry>,
    /// `REF_DELTA` entries by base id.
    pub(crate) ref_children: HashMap<ObjectId, Vec<u32>>,
    pub(crate) missing_bases: Vec<ObjectId>,
    pub(crate) limits: PackLimits,
    pub(crate) trailer_offset: u64,
    pub(crate) checksum: ObjectId,
    /// Sum of the whole entries' sizes and the deltas' declared result sizes.
    pub(crate) inflated_bytes: u64,
}

fn bad(reason: impl Into<String>) -> GitError {
    GitError::malformed("pack", reason)
}

impl PackIndex {
    /// Pass 1 over the pack bytes, read once front to back. The reader must end right after
    /// the trailer: trailing data, a short pack, a wrong count, a bad checksum, unknown entry
    /// types, bad zlib, size mismatches and `OFS_DELTA` offsets that do not point at an
    /// earlier entry are all errors.
    pub fn build(reader: impl Read, limits: &PackLimits) -> Result<Self, GitError> {
        let mut input = PackInput::new(reader, true);
        let mut header = [0u8; 12];
        input.exact(&mut header)?;
        if &header[..4] != b"PACK" {
            return Err(bad("missing PACK signature"));
        }
        let version = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if version != 2 && version != 3 {
            return Err(bad(format!("unsupported version {version}")));
        }
        let count = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
        if count > limits.max_objects {
            return Err(GitError::limit("pack object count", count.into(), limits.max_objects.into()));
        }
        let mut index = PackIndex {
            entries: Vec::with_capacity(count.min(1 << 16) as usize),
            ref_children: HashMap::new(),
            missing_bases: Vec::new(),
            limits: *limits,
            trailer_offset: 0,
            checksum: ObjectId([0; 20]),
            inflated_bytes: 0,
        };
        let mut ref_bases = Vec::new();
        for number in 0..count {
            let (entry, resolved_size) = index.read_entry(&mut input).map_err(|error| match error {
                GitError::Malformed { kind, reason } => {
                    GitError::Malformed { kind, reason: format!("entry {number}: {reason}") }
                }
                other => other,
            })?;
            index.inflated_bytes = index.inflated_bytes.saturating_add(resolved_size);
            if index.inflated_bytes > limits.max_inflated_bytes {
                return Err(GitError::limit(
                    "inflated pack size",
                    index.inflated_bytes,
                    limits.max_inflated_bytes,
                ));
            }
            if let EntryKind::RefDelta { base } = entry.kind {
                let children = index.ref_children.entry(base).or_default();
                if children.is_empty() {
                    ref_bases.push(base);
                }
                children.push(number);
            }
            index.entries.push(entry);
        }
        index.trailer_offset = input.position();
        let digest = input.take_digest().ok_or_else(|| bad("trailer digest already taken"))?;
        let mut trailer = [0u8; 20];
        input.exact(&mut trailer)?;
        if trailer != digest {
            return Err(bad("trailer checksum does not match the pack contents"));
        }
        if !input.at_end()? {
            return Err(bad("data after the trailer"));
        }
        index.checksum = ObjectId(trailer);
        let whole: HashSet<ObjectId> = index
            .entries
            .iter()
            .filter_map(|entry| match entry.kind {
                EntryKind::Whole { id, .. } => Some(id),
                _ => None,
            })
            .collect();
        index.missing_bases = ref_bases.into_iter().filter(|base| !whole.contains(base)).collect();
        Ok(index)
    }

    /// Reads one entry; returns it with the size of the object it resolves to (for a delta,
    /// the result size its header declares).
    fn read_entry<R: Read>(&self, input: &mut PackInput<R>) -> Result<(Entry, u64), GitError> {
        let offset = input.position();
        let (type_code, size) = read_type_and_size(input)?;
        if size > self.limits.max_object_size {
            return Err(GitError::limit("object size", size, self.limits.max_object_size));
        }
        let delta = match type_code {
            1..=4 => None,
            6 => {
                let distance = read_ofs_distance(input)?;
                let base_offset = offset
                    .checked_sub(distance)
                    .filter(|_| distance > 0)
                    .ok_or_else(|| bad("OFS_DELTA base before the pack start"))?;
                let base = self
                    .entries
                    .binary_search_by_key(&base_offset, |entry| entry.offset)
                    .map_err(|_| bad(format!("OFS_DELTA base offset {base_offset} is not an entry start")))?;
                Some(EntryKind::OfsDelta { base: base as u32 })
            }
            7 => {
                let mut id = [0u8; 20];
                input.exact(&mut id)?;
                Some(EntryKind::RefDelta { base: ObjectId(id) })
            }
            other => return Err(bad(format!("invalid object type {other}"))),
        };
        let data_offset = input.position();
        let mut resolved_size = size;
        let kind = match delta {
            Some(kind) => {
                resolved_size = self.check_delta_data(input, size)?;
                kind
            }
            None => {
                let kind = match type_code {
                    1 => ObjectKind::Commit,
                    2 => ObjectKind::Tree,
                    3 => ObjectKind::Blob,
                    _ => ObjectKind::Tag,
                };
                let mut hasher = Sha1::new();
                hasher.update(object_header(kind, size));
                input.inflate(size, &mut |chunk| {
                    hasher.update(chunk);
                    Ok(())
                })?;
                EntryKind::Whole { kind, id: ObjectId(hasher.finalize().into()) }
            }
        };
        Ok((Entry { offset, data_offset, size, kind }, resolved_size))
    }

    /// Inflates delta data, keeping only its first bytes to check the declared sizes; returns
    /// the declared result size.
    fn check_delta_data<R: Read>(&self, input: &mut PackInput<R>, size: u64) -> Result<u64, GitError> {
        let mut head = [0u8; 20];
        let mut filled = 0;
        input.inflate(size, &mut |chunk| {
            let take = chunk.len().min(head.len() - filled);
            head[filled..filled + take].copy_from_slice(&chunk[..take]);
            filled += take;
            Ok(())
        })?;
        let header = delta_header(&head[..filled])?;
        if header.target_size > self.limits.max_object_size {
            return Err(GitError::limit(
                "delta target size",
                header.target_size,
                self.limits.max_object_size,
            ));
        }
        if header.base_size > self.limits.max_object_size {
            return Err(GitError::limit("delta base size", header.base_size, self.limits.max_object_size));
        }
        Ok(header.target_size)
    }

    /// Number of entries (objects) in the pack.
    pub fn object_count(&self) -> u32 {
        self.entries.len() as u32
    }

    /// What the pack's objects add up to once resolved (whole sizes plus declared delta
    /// results), at most [`PackLimits::max_inflated_bytes`].
    pub fn inflated_bytes(&self) -> u64 {
        self.inflated_bytes
    }

    /// Total pack length in bytes, trailer included.
    pub fn pack_len(&self) -> u64 {
        self.trailer_offset + 20
    }

    /// The pack's trailing SHA-1 (its name in `pack-<checksum>.pack`).
    pub fn checksum(&self) -> ObjectId {
        self.checksum
    }

    /// Bases of `REF_DELTA` entries that are not whole objects in this pack, in order of first
    /// use. For a thin pack these are objects the receiver already has; an id here may also be
    /// the result of another delta in the pack, so one the receiver lacks is not yet an error.
    /// Pre-fetch what you have and hand it to [`PackIndex::resolve`].
    pub fn missing_bases(&self) -> &[ObjectId] {
        &self.missing_bases
    }
}

/// The entry header: 3-bit type, then the size, 4 bits in the first byte and 7 in each next.
fn read_type_and_size<R: Read>(input: &mut PackInput<R>) -> Result<(u8, u64), GitError> {
    let mut byte = input.byte()?;
    let type_code = (byte >> 4) & 0x07;
    let mut size = u64::from(byte & 0x0f);
    let mut shift = 4u32;
    while byte & 0x80 != 0 {
        byte = input.byte()?;
        let bits = u64::from(byte & 0x7f);
        if shift > 63 || bits >> (64 - shift) != 0 {
            return Err(bad("entry size does not fit in 64 bits"));
        }
        size |= bits << shift;
        shift += 7;
    }
    Ok((type_code, size))
}

/// The `OFS_DELTA` distance: big-endian 7-bit groups, adding one per continuation byte.
fn read_ofs_distance<R: Read>(input: &mut PackInput<R>) -> Result<u64, GitError> {
    let mut byte = input.byte()?;
    let mut distance = u64::from(byte & 0x7f);
    while byte & 0x80 != 0 {
        byte = input.byte()?;
        distance = distance
            .checked_add(1)
            .and_then(|d| d.checked_mul(128))
            .map(|d| d | u64::from(byte & 0x7f))
            .ok_or_else(|| bad("OFS_DELTA offset overflows"))?;
    }
    Ok(distance)
}

#[cfg(test)]
#[path = "pack_read_tests.rs"]
mod tests;
