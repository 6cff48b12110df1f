//! Reconstruction planning: which chunk ranges of which xorbs cover a byte range of a file.

use crate::error::CasError;
use crate::hash::MerkleHash;
use crate::shard::FileTerm;
use crate::xorb::XorbChunk;

/// A byte range as an HTTP `Range: bytes=...` header can ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// `a-b`: bytes a through b, inclusive.
    Closed {
        /// First byte.
        start: u64,
        /// Last byte (inclusive); clamped to the file.
        last: u64,
    },
    /// `a-`: from byte a to the end.
    From {
        /// First byte.
        start: u64,
    },
    /// `-n`: the last n bytes.
    Suffix {
        /// Number of bytes.
        len: u64,
    },
}

impl RangeRequest {
    /// Parses one `bytes=` range (a single range; multi-range requests are rejected).
    pub fn parse_header(value: &str) -> Result<Self, CasError> {
        let malformed = || CasError::malformed("range header", value.chars().take(80).collect::<String>());
        let spec = value.trim().strip_prefix("bytes=").ok_or_else(malformed)?.trim();
        let (first, last) = spec.split_once('-').ok_or_else(malformed)?;
        let number = |text: &str| text.trim().parse::<u64>().map_err(|_| malformed());
        match (first.trim().is_empty(), last.trim().is_empty()) {
            (false, false) => {
                let (start, last) = (number(first)?, number(last)?);
                if last < start {
                    return Err(malformed());
                }
                Ok(Self::Closed { start, last })
            }
            (false, true) => Ok(Self::From { start: number(first)? }),
            (true, false) => Ok(Self::Suffix { len: number(last)? }),
            (true, true) => Err(malformed()),
        }
    }

    /// Resolves against a file size to a half-open `[start, end)`, clamping the end.
    /// A start at or past the end (or an empty suffix) is not satisfiable (HTTP 416).
    pub fn resolve(&self, size: u64) -> Result<(u64, u64), CasError> {
        let (start, end) = match *self {
            Self::Closed { start, last } => (start, last.saturating_add(1).min(size)),
            Self::From { start } => (start, size),
            Self::Suffix { len } => (size.saturating_sub(len), size),
        };
        if start >= size || start >= end {
            return Err(CasError::RangeNotSatisfiable { start, size });
        }
        Ok((start, end))
    }
}

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

/// Plans the terms covering `[start, end)` of a file (`range` of `None` is the whole file).
///
/// Terms wholly outside the range are dropped; the first and last kept terms are trimmed to
/// the chunks that overlap the range, for which `chunk_sizes` must return the raw chunk
/// sizes of a xorb (`None` if unknown). The client trims the tail itself. An empty file
/// gives an empty plan whatever the range.
pub fn plan_reconstruction<F>(
    terms: &[FileTerm],
    range: Option<RangeRequest>,
    mut chunk_sizes: F,
) -> Result<ReconstructionPlan, CasError>
where
    F: FnMut(&MerkleHash) -> Option<Vec<u32>>,
{
    let size: u64 = terms.iter().map(|term| u64::from(term.unpacked_len)).sum();
    if size == 0 {
        return Ok(ReconstructionPlan::default());
    }
    let (start, end) = match range {
        Some(range) => range.resolve(size)?,
        None => (0, size),
    };
    let mut plan = ReconstructionPlan::default();
    let mut term_start = 0u64;
    for term in terms {
        let term_end = term_start + u64::from(term.unpacked_len);
        if term_end <= start || term_start >= end {
            term_start = term_end;
            continue;
        }
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
        term_start = term_end;
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

/// Inclusive physical byte range `[first, last]` of chunks `[chunk_start, chunk_end)` in a
/// serialized xorb: what a fetch URL's `url_range` names.
pub fn record_byte_range(
    chunks: &[XorbChunk],
    chunk_start: u32,
    chunk_end: u32,
) -> Result<(u64, u64), CasError> {
    let range = chunks
        .get(chunk_start as usize..chunk_end as usize)
        .filter(|range| !range.is_empty())
        .ok_or_else(|| {
            CasError::malformed(
                "chunk range",
                format!("{chunk_start}..{chunk_end} of {} chunks", chunks.len()),
            )
        })?;
    let (first, last) = (range[0], range[range.len() - 1]);
    Ok((first.record_start, last.record_end - 1))
}

#[cfg(test)]
#[path = "reconstruction_tests.rs"]
mod tests;
