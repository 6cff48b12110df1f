//! Reading a received pack, pass 2: resolve deltas and hand every object of the pack to the
//! caller as (id, kind, content), the id computed by hashing.
//!
//! Resolution runs depth-first from each base (a whole entry, or a thin-pack base from the
//! caller) through the deltas built on it, so each delta is normally applied once. Among a
//! base's children the one with the largest `OFS_DELTA` subtree goes last, and a base is
//! released before its last child is descended into; so a linear chain of any length holds
//! one base at a time, and any path holds at most log2(n) + 1 bases with children left.
//!
//! Memory: besides the index (about 60 bytes per entry), the bases kept on the current path
//! are capped at `PackLimits::delta_cache_bytes`; on top of that one base, one delta and one
//! result are in memory, each at most `max_object_size`, so the peak is about
//! `delta_cache_bytes + 3 * max_object_size`. When the cap forces a base out and it is needed
//! again, it is recomputed from the nearest kept ancestor (or re-read / re-fetched), which
//! costs time up to the chain depth (capped by `max_delta_depth`) but never memory. Time: pass
//! 1 capped the resolved objects at `max_inflated_bytes`, and the deltas applied here,
//! recomputations included, may produce at most twice that.

use std::io::{Read, Seek};

use kura_model::ObjectId;

use crate::GitError;
use crate::delta::{apply_delta, delta_header};
use crate::object::{ObjectKind, hash_object};
use crate::pack_input::PackInput;
use crate::pack_read::{EntryKind, PackIndex};

/// One resolved object of the pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackObject<'a> {
    /// The id, computed by hashing `kind` and `content`.
    pub id: ObjectId,
    pub kind: ObjectKind,
    pub content: &'a [u8],
    /// Offset of the entry in the pack (for diagnostics).
    pub offset: u64,
}

/// A thin-pack base handed in by the caller.
type ExternalBase = (ObjectKind, Vec<u8>);

enum Origin {
    Entry(u32),
    External,
}

/// One base on the resolution path.
struct Frame {
    origin: Origin,
    id: ObjectId,
    kind: ObjectKind,
    /// `None` once released (no children left, or evicted by the cache cap).
    content: Option<Vec<u8>>,
    /// Entries still to build on this base; the heaviest is at the front and goes last.
    pending: Vec<u32>,
}

impl PackIndex {
    /// Pass 2: resolves every entry and calls `on_object` once per pack object (thin-pack bases
    /// are not reported). `reader` holds the same bytes pass 1 read, the pack starting at
    /// offset 0 (the spooled temp file).
    ///
    /// `external_base` is asked for bases listed in [`PackIndex::missing_bases`] that the pack
    /// does not produce itself; answer `Ok(None)` for objects you do not have. It may be asked
    /// again for the same id when the base cache overflowed, so look up, don't remove, e.g.
    /// `|id| Ok(prefetched.get(id).cloned())`. A base whose content does not hash to its id is
    /// an error. Bases that stay unavailable (or delta cycles) end in
    /// [`GitError::MissingDeltaBase`] after the objects that could be resolved were reported.
    pub fn resolve<R, E>(
        &self,
        reader: R,
        mut external_base: impl FnMut(&ObjectId) -> Result<Option<(ObjectKind, Vec<u8>)>, E>,
        mut on_object: impl FnMut(PackObject<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        R: Read + Seek,
        E: From<GitError>,
    {
        let mut resolver = Resolver::new(self, reader);
        for (number, entry) in self.entries.iter().enumerate() {
            let EntryKind::Whole { kind, id } = entry.kind else { continue };
            let number = number as u32;
            let content = resolver.read_data(number)?;
            let computed = hash_object(kind, &content);
            if computed != id {
                return Err(GitError::malformed("pack", "pack changed between the two passes").into());
            }
            on_object(PackObject { id, kind, content: &content, offset: entry.offset })?;
            resolver.done[number as usize] = true;
            let pending = resolver.children_of(Some(number), &id);
            if pending.is_empty() {
                continue;
            }
            let root = Frame { origin: Origin::Entry(number), id, kind, content: Some(content), pending };
            resolver.walk(root, &mut external_base, &mut on_object)?;
        }
        for base in &self.missing_bases {
            let pending = resolver.children_of(None, base);
            if pending.is_empty() {
                continue;
            }
            let Some((kind, content)) = fetch_base(&mut external_base, base)? else { continue };
            let root = Frame { origin: Origin::External, id: *base, kind, content: Some(content), pending };
            resolver.walk(root, &mut external_base, &mut on_object)?;
        }
        match resolver.done.iter().position(|done| !done) {
            Some(number) => Err(GitError::MissingDeltaBase { base: self.root_base(number) }.into()),
            None => Ok(()),
        }
    }

    /// The `REF_DELTA` base at the bottom of the chain of entry `number`.
    fn root_base(&self, mut number: usize) -> ObjectId {
        loop {
            match self.entries[number].kind {
                EntryKind::OfsDelta { base } => number = base as usize,
                EntryKind::RefDelta { base } => return base,
                EntryKind::Whole { id, .. } => return id,
            }
        }
    }
}

/// Asks the caller for a thin-pack base and checks it hashes to `id`.
fn fetch_base<E: From<GitError>>(
    external_base: &mut dyn FnMut(&ObjectId) -> Result<Option<ExternalBase>, E>,
    id: &ObjectId,
) -> Result<Option<ExternalBase>, E> {
    let Some((kind, content)) = external_base(id)? else { return Ok(None) };
    let computed = hash_object(kind, &content);
    if computed != *id {
        return Err(
            GitError::malformed("delta base", format!("base given for {id} hashes to {computed}")).into()
        );
    }
    Ok(Some((kind, content)))
}

struct Resolver<'p, R> {
    index: &'p PackIndex,
    input: PackInput<R>,
    /// `OFS_DELTA` children of entry i: `ofs_children[ofs_start[i]..ofs_start[i + 1]]`.
    ofs_start: Vec<u32>,
    ofs_children: Vec<u32>,
    /// Entries in the `OFS_DELTA` subtree of each entry, itself included.
    weight: Vec<u32>,
    done: Vec<bool>,
    /// Content bytes held by the frames below the top of the path.
    held: u64,
    /// Result bytes of every delta applied so far, recomputations included.
    applied: u64,
}

impl<'p, R: Read + Seek> Resolver<'p, R> {
    fn new(index: &'p PackIndex, reader: R) -> Self {
        let count = index.entries.len();
        let mut ofs_start = vec![0u32; count + 1];
        let mut weight = vec![1u32; count];
        for (number, entry) in index.entries.iter().enumerate().rev() {
            if let EntryKind::OfsDelta { base } = entry.kind {
                ofs_start[base as usize + 1] += 1;
                weight[base as usize] = weight[base as usize].saturating_add(weight[number]);
            }
        }
        for number in 0..count {
            ofs_start[number + 1] += ofs_start[number];
        }
        let mut ofs_children = vec![0u32; ofs_start[count] as usize];
        let mut next = ofs_start.clone();
        for (number, entry) in index.entries.iter().enumerate() {
            if let EntryKind::OfsDelta { base } = entry.kind {
                ofs_children[next[base as usize] as usize] = number as u32;
                next[base as usize] += 1;
            }
        }
        let input = PackInput::new(reader, false);
        Self { index, input, ofs_start, ofs_children, weight, done: vec![false; count], held: 0, applied: 0 }
    }

    /// Unresolved entries built on entry `number` (if any) or on the object `id`, heaviest first.
    fn children_of(&self, number: Option<u32>, id: &ObjectId) -> Vec<u32> {
        let by_offset = number
            .map(|n| {
                &self.ofs_children
                    [self.ofs_start[n as usize] as usize..self.ofs_start[n as usize + 1] as usize]
            })
            .unwrap_or_default();
        let by_id = self.index.ref_children.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut out: Vec<u32> =
            by_offset.iter().chain(by_id).copied().filter(|&child| !self.done[child as usize]).collect();
        out.sort_by(|a, b| self.weight[*b as usize].cmp(&self.weight[*a as usize]).then(b.cmp(a)));
        out
    }

    /// Inflates the data of entry `number` (object content, or delta instructions).
    fn read_data(&mut self, number: u32) -> Result<Vec<u8>, GitError> {
        let entries = &self.index.entries;
        let entry = entries[number as usize];
        let end = entries.get(number as usize + 1).map_or(self.index.trailer_offset, |next| next.offset);
        self.input.seek_to(entry.data_offset, end)?;
        self.input.inflate_to_vec(entry.size)
    }

    /// Applies the delta of entry `number` to `base`, within the budget of applied bytes.
    fn apply(&mut self, number: u32, base: &[u8]) -> Result<Vec<u8>, GitError> {
        let delta = self.read_data(number)?;
        let budget = self.index.limits.max_inflated_bytes.saturating_mul(2);
        self.applied = self.applied.saturating_add(delta_header(&delta)?.target_size);
        if self.applied > budget {
            return Err(GitError::limit("bytes produced by deltas", self.applied, budget));
        }
        apply_delta(base, &delta, self.index.limits.max_object_size)
    }

    /// Depth-first resolution of everything built on `root`.
    fn walk<E: From<GitError>>(
        &mut self,
        root: Frame,
        external_base: &mut dyn FnMut(&ObjectId) -> Result<Option<ExternalBase>, E>,
        on_object: &mut dyn FnMut(PackObject<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.held = 0;
        let mut stack = vec![root];
        while let Some(top) = stack.last_mut() {
            let Some(child) = top.pending.pop() else {
                stack.pop();
                if let Some(content) = stack.last().and_then(|frame| frame.content.as_ref()) {
                    self.held -= content.len() as u64;
                }
                continue;
            };
            if self.done[child as usize] {
                continue;
            }
            let depth = stack.len() as u64;
            if depth > u64::from(self.index.limits.max_delta_depth) {
                return Err(GitError::limit(
                    "delta chain depth",
                    depth,
                    self.index.limits.max_delta_depth.into(),
                )
                .into());
            }
            self.ensure_top_content(&mut stack, external_base)?;
            let top = stack.last_mut().expect("the loop holds a frame");
            let base = top.content.as_deref().expect("ensure_top_content filled it");
            let target = self.apply(child, base)?;
            let kind = top.kind;
            if top.pending.is_empty() {
                top.content = None;
            }
            let id = hash_object(kind, &target);
            let offset = self.index.entries[child as usize].offset;
            on_object(PackObject { id, kind, content: &target, offset })?;
            self.done[child as usize] = true;
            let pending = self.children_of(Some(child), &id);
            if pending.is_empty() {
                continue;
            }
            if let Some(content) = &top.content {
                self.held += content.len() as u64;
            }
            stack.push(Frame { origin: Origin::Entry(child), id, kind, content: Some(target), pending });
            self.enforce_cache_cap(&mut stack);
        }
        Ok(())
    }

    /// Drops the contents of the oldest bases below the top until the cap holds.
    fn enforce_cache_cap(&mut self, stack: &mut [Frame]) {
        let below_top = stack.len().saturating_sub(1);
        for frame in &mut stack[..below_top] {
            if self.held <= self.index.limits.delta_cache_bytes {
                return;
            }
            if let Some(content) = frame.content.take() {
                self.held -= content.len() as u64;
            }
        }
    }

    /// Recomputes the top base when the cache cap evicted it: from the nearest ancestor still
    /// held, or from the root (re-read from the pack or asked of the caller again).
    fn ensure_top_content<E: From<GitError>>(
        &mut self,
        stack: &mut [Frame],
        external_base: &mut dyn FnMut(&ObjectId) -> Result<Option<ExternalBase>, E>,
    ) -> Result<(), E> {
        let top = stack.len() - 1;
        if stack[top].content.is_some() {
            return Ok(());
        }
        let held = (0..top).rev().find(|&level| stack[level].content.is_some());
        let (mut current, first) = match held {
            Some(level) => (None, level + 1),
            None => (Some(self.root_content(&stack[0], external_base)?), 1),
        };
        for level in first..=top {
            let Origin::Entry(number) = stack[level].origin else {
                return Err(GitError::malformed("pack", "thin-pack base above the path root").into());
            };
            let base = match &current {
                Some(content) => content.as_slice(),
                None => stack[level - 1].content.as_deref().expect("found holding content"),
            };
            current = Some(self.apply(number, base)?);
        }
        stack[top].content = current;
        Ok(())
    }

    fn root_content<E: From<GitError>>(
        &mut self,
        root: &Frame,
        external_base: &mut dyn FnMut(&ObjectId) -> Result<Option<ExternalBase>, E>,
    ) -> Result<Vec<u8>, E> {
        match root.origin {
            Origin::Entry(number) => Ok(self.read_data(number)?),
            Origin::External => match fetch_base(external_base, &root.id)? {
                Some((_, content)) => Ok(content),
                None => Err(GitError::MissingDeltaBase { base: root.id }.into()),
            },
        }
    }
}

#[cfg(test)]
#[path = "pack_resolve_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "pack_git_tests.rs"]
mod git_tests;
