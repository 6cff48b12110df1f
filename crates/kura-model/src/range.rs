//! The `Range` request header (RFC 9110 §14.1-14.2), parsed once for every download route:
//! file resolves, LFS downloads, Xet reconstructions and xorb fetches.
//!
//! Rules, in order:
//! - a range unit other than `bytes` is ignored (the whole representation is served);
//! - several ranges are ignored too: kura serves the whole representation (200) rather than
//!   `multipart/byteranges`, as RFC 9110 allows;
//! - one range is `bytes=a-b`, `bytes=a-` or the suffix `bytes=-n`; anything else after
//!   `bytes=` (bad numbers, `b < a`, a zero-length suffix) is rejected, which the RFC allows for
//!   an invalid ranges-specifier, and which the routes answer with 416;
//! - against a representation of `size` bytes, a range starting at or past the end (or any
//!   range of an empty one) is unsatisfiable (416 with `Content-Range: bytes */size`); an end
//!   past the last byte is cut to it, and a suffix longer than the representation is all of it.

/// One requested byte range, before the size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` (inclusive), or `bytes=first-` when `last` is `None`.
    From { first: u64, last: Option<u64> },
    /// `bytes=-n`: the last `n` bytes (`n > 0`).
    Suffix(u64),
}

/// The `Range` header is malformed or asks for nothing the representation has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Requested range not satisfiable")]
pub struct Unsatisfiable;

impl ByteRange {
    /// Parses a `Range` header value: `Ok(None)` when the whole representation should be
    /// served (another unit, several ranges), `Err` for an invalid `bytes` range.
    pub fn parse(value: &str) -> Result<Option<Self>, Unsatisfiable> {
        let Some(spec) = value.trim().strip_prefix("bytes=") else {
            return Ok(None);
        };
        if spec.contains(',') {
            return Ok(None);
        }
        let (first, last) = spec.split_once('-').ok_or(Unsatisfiable)?;
        let number = |text: &str| text.trim().parse::<u64>().map_err(|_| Unsatisfiable);
        let (first, last) = (first.trim(), last.trim());
        if first.is_empty() {
            return match number(last)? {
                0 => Err(Unsatisfiable),
                n => Ok(Some(ByteRange::Suffix(n))),
            };
        }
        let first = number(first)?;
        let last = if last.is_empty() { None } else { Some(number(last)?) };
        if last.is_some_and(|last| last < first) {
            return Err(Unsatisfiable);
        }
        Ok(Some(ByteRange::From { first, last }))
    }

    /// The inclusive `(first, last)` bytes this range selects of `size` bytes.
    pub fn resolve(self, size: u64) -> Result<(u64, u64), Unsatisfiable> {
        let end = size.checked_sub(1).ok_or(Unsatisfiable)?;
        match self {
            ByteRange::Suffix(n) => Ok((size.saturating_sub(n), end)),
            ByteRange::From { first, .. } if first > end => Err(Unsatisfiable),
            ByteRange::From { first, last } => Ok((first, last.map_or(end, |last| last.min(end)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Option<ByteRange>, Unsatisfiable> {
        ByteRange::parse(value)
    }

    fn span(value: &str, size: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
        ByteRange::parse(value)?.map(|r| r.resolve(size)).transpose()
    }

    #[test]
    fn parses_the_three_forms_hf_clients_send() {
        assert_eq!(parse("bytes=0-9"), Ok(Some(ByteRange::From { first: 0, last: Some(9) })));
        assert_eq!(parse("bytes=90-"), Ok(Some(ByteRange::From { first: 90, last: None })));
        assert_eq!(parse("bytes=-10"), Ok(Some(ByteRange::Suffix(10))));
        assert_eq!(parse(" bytes=3 - 4 "), Ok(Some(ByteRange::From { first: 3, last: Some(4) })));
        assert_eq!(parse("bytes=7-7"), Ok(Some(ByteRange::From { first: 7, last: Some(7) })));
    }

    #[test]
    fn other_units_and_several_ranges_mean_the_whole_file() {
        assert_eq!(parse("items=0-1"), Ok(None));
        assert_eq!(parse("0-1"), Ok(None));
        assert_eq!(parse("bytes=0-1,5-6"), Ok(None));
        assert_eq!(parse("bytes=0-1, -5"), Ok(None));
    }

    #[test]
    fn malformed_byte_ranges_are_refused() {
        for bad in
            ["bytes=", "bytes=5", "bytes=5-2", "bytes=-0", "bytes=-", "bytes=a-b", "bytes=1-x", "bytes=--1"]
        {
            assert_eq!(parse(bad), Err(Unsatisfiable), "{bad}");
        }
        assert_eq!(parse("bytes=99999999999999999999-"), Err(Unsatisfiable));
    }

    #[test]
    fn resolves_against_the_size() {
        assert_eq!(span("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(span("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(span("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(span("bytes=-500", 100), Ok(Some((0, 99))));
        assert_eq!(span("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(span("bytes=99-99", 100), Ok(Some((99, 99))));
        assert_eq!(span("bytes=100-", 100), Err(Unsatisfiable));
        assert_eq!(span("bytes=100-200", 100), Err(Unsatisfiable));
        assert_eq!(span("bytes=0-", 0), Err(Unsatisfiable));
        assert_eq!(span("bytes=-1", 0), Err(Unsatisfiable));
        assert_eq!(span("bytes=0-1,5-6", 100), Ok(None));
    }
}
