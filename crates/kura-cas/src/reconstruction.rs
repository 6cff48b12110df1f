//! Reconstruction planning: which chunk ranges of which xorbs cover a byte range of a file.
//! Pure: terms, chunk sizes and a byte span in, a plan out. The caller parses the `Range`
//! header (`kura_model::ByteRange`), resolves it against the file size and loads the chunk
//! tables of [`overlapping_terms`] first.

use std::ops::Range;

use crate::error::CasError;
use crate::hash::MerkleHash;
use crate::shard::FileTerm;

/// One term of a reconstruction answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedTerm {
    /// Xorb to read from.
    pub xorb_hash: MerkleHash,
    /// First chunk.
    pub chunk_start: u32,
    /// Chunk past the last (exclusive).
    pub chunk_end: u32,
    /// Raw bytes of those chunks.
    pub unpacked_len: u32,
}

/// A reconstruction answer: terms plus how many leading bytes of the first term to drop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReconstructionPlan {
    /// Bytes to skip at the start of the first term's data.
    pub offset_into_first_range: u64,
    /// Terms covering the requested range, at chunk granularity.
    pub terms: Vec<PlannedTerm>,
}

/// The terms of a file that overlap bytes `span` (half-open), each with its file offset.
pub fn overlapping_terms(terms: &[FileTerm], span: Range<u64>) -> impl Iterator<Item = (u64, &FileTerm)> {
    terms
        .iter()
        .scan(0u64, |offset, term| {
            let start = *offset;
            *offset += u64::from(term.unpacked_len);
            Some((start, term))
        })
        .take_while(move |(start, _)| *start < span.end)
        .filter(move |(start, term)| start + u64::from(term.unpacked_len) > span.start)
}

/// Plans the terms covering bytes `span` (half-open; an end past the file is cut to it) of the
/// file made of `terms`.
///
/// Terms wholly outside the span are dropped; the first and last kept terms are trimmed to
/// the chunks that overlap it, for which `chunk_sizes` must return the raw chunk sizes of a
/// xorb (`None` if unknown). The client trims the tail itself. An empty file gives an empty
/// plan whatever the span; a span starting at or past the end of a non-empty file is
/// `RangeNotSatisfiable`.
pub fn plan_reconstruction<F>(
    terms: &[FileTerm],
    span: Range<u64>,
    mut chunk_sizes: F,
) -> Result<ReconstructionPlan, CasError>
where
    F: FnMut(&MerkleHash) -> Option<Vec<u32>>,
{
    let size: u64 = terms.iter().map(|term| u64::from(term.unpacked_len)).sum();
    if size == 0 {
        return Ok(ReconstructionPlan::default());
    }
    let (start, end) = (span.start, span.end.min(size));
    if start >= end {
        return Err(CasError::RangeNotSatisfiable { start, size });
    }
    let mut plan = ReconstructionPlan::default();
    for (term_start, term) in overlapping_terms(terms, start..end) {
        let term_end = term_start + u64::from(term.unpacked_len);
        let planned = if term_start >= start && term_end <= end {
            if plan.terms.is_empty() {
                plan.offset_into_first_range = start - term_start;
            }
            PlannedTerm {
                xorb_hash: term.xorb_hash,
                chunk_start: term.chunk_start,
                chunk_end: term.chunk_end,
                unpacked_len: term.unpacked_len,
            }
        } else {
            let sizes = chunk_sizes(&term.xorb_hash).ok_or(CasError::UnknownXorb { hash: term.xorb_hash })?;
            let (planned, first_chunk_start) = trim_term(term, term_start, start, end, &sizes)?;
            if plan.terms.is_empty() {
                plan.offset_into_first_range = start.saturating_sub(first_chunk_start);
            }
            planned
        };
        plan.terms.push(planned);
    }
    Ok(plan)
}

/// Keeps the chunks of `term` (which starts at file offset `term_start`) that overlap
/// `[start, end)`. Returns the trimmed term and the file offset of its first chunk.
fn trim_term(
    term: &FileTerm,
    term_start: u64,
    start: u64,
    end: u64,
    sizes: &[u32],
) -> Result<(PlannedTerm, u64), CasError> {
    let invalid =
        |reason: &str| CasError::malformed("file term", format!("xorb {}: {reason}", term.xorb_hash));
    let range = sizes
        .get(term.chunk_start as usize..term.chunk_end as usize)
        .ok_or_else(|| invalid("chunk range past the end of the xorb"))?;
    if range.iter().map(|size| u64::from(*size)).sum::<u64>() != u64::from(term.unpacked_len) {
        return Err(invalid("chunk sizes do not add up to the term length"));
    }
    let mut offset = term_start;
    let (mut first, mut last) = (None, term.chunk_start);
    let mut kept_start = term_start;
    let mut kept_len = 0u64;
    for (index, size) in (term.chunk_start..).zip(range) {
        let chunk_end = offset + u64::from(*size);
        if chunk_end > start && offset < end {
            if first.is_none() {
                first = Some(index);
                kept_start = offset;
            }
            last = index;
            kept_len += u64::from(*size);
        }
        offset = chunk_end;
    }
    let first = first.ok_or_else(|| invalid("no chunk overlaps the range"))?;
    let planned = PlannedTerm {
        xorb_hash: term.xorb_hash,
        chunk_start: first,
        chunk_end: last + 1,
        // At most the term's own u32 length.
        unpacked_len: u32::try_from(kept_len).unwrap_or(term.unpacked_len),
    };
    Ok((planned, kept_start))
}

#[cfg(test)]
#[path = "reconstruction_tests.rs"]
mod tests;
