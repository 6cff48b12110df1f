//! The reads the caller makes, as opposed to the ranges the analyses ask for. A stored file
//! is read from storage in whole chunks of 64–128 KiB, so what costs is the number of reads,
//! not their length. A few small reads are kept (the opening of the file, the zip tail, the
//! latest window of zip members): a range asked again inside them is served from memory,
//! one that overlaps them only reads what they lack, and a read may be widened to bring the
//! next zip members' headers along. The analyses see the same bytes either way.

/// Longest read kept in memory.
const KEEP_LIMIT: u64 = 128 << 10;
/// Reads kept: the first two stay (the opening and, in a zip, the tail); later ones replace
/// each other.
const KEPT: usize = 3;
/// Bytes read past what was asked for, over the whole file, to bring following ranges
/// along (each widening is at most `KEEP_LIMIT`).
pub(crate) const MAX_WIDEN_BYTES: u64 = 16 << 20;

/// A read under way: the range asked for, the part of it read now, and what memory gives.
pub(crate) struct Pending {
    /// The range asked for.
    pub(crate) asked: (u64, u64),
    /// The range the caller reads (starts where `prefix` ends; may be widened past `asked`).
    pub(crate) fetch: (u64, u64),
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

#[derive(Default)]
pub(crate) struct Reads {
    kept: Vec<(u64, Vec<u8>)>,
    widened: u64,
}

impl Reads {
    /// How to get `len` bytes at `offset`: `Ok(bytes)` when memory holds them all, else the
    /// read to make. `widen_to`: where the read may end, to bring what follows along; a
    /// widened read starts at `offset` (what memory holds of the range is read again) so
    /// that all of it is kept together.
    pub(crate) fn plan(&mut self, offset: u64, len: u64, widen_to: Option<u64>) -> Result<Vec<u8>, Pending> {
        let end = offset.saturating_add(len);
        let prefix = self.run(offset, end, true);
        let start = offset + prefix.len() as u64;
        if start >= end {
            return Ok(prefix);
        }
        if let Some(to) = widen_to.map(|to| to.min(offset.saturating_add(KEEP_LIMIT))).filter(|to| *to > end)
        {
            let extra = to - end;
            if self.widened.saturating_add(extra) <= MAX_WIDEN_BYTES {
                self.widened += extra;
                let fetch = (offset, to - offset);
                return Err(Pending { asked: (offset, len), fetch, prefix: Vec::new(), suffix: Vec::new() });
            }
        }
        let suffix = self.run(start, end, false);
        let fetch = (start, end - suffix.len() as u64 - start);
        Err(Pending { asked: (offset, len), fetch, prefix, suffix })
    }

    /// Bytes read past what was asked for, so far.
    pub(crate) fn widened(&self) -> u64 {
        self.widened
    }

    /// The bytes of `pending.asked`, given the caller's bytes of `pending.fetch` (shorter
    /// only where the file ended early; what memory held after that gap is then left out).
    pub(crate) fn complete(&mut self, pending: Pending, data: &[u8]) -> Vec<u8> {
        let (fetch_at, fetch_len) = pending.fetch;
        let data = &data[..data.len().min(usize::try_from(fetch_len).unwrap_or(usize::MAX))];
        if fetch_len <= KEEP_LIMIT && !data.is_empty() {
            self.keep(fetch_at, data);
        }
        let (offset, len) = pending.asked;
        let middle =
            offset.saturating_add(len).saturating_sub(fetch_at).saturating_sub(pending.suffix.len() as u64);
        let middle = usize::try_from(middle).unwrap_or(usize::MAX);
        let mut out = pending.prefix;
        out.extend_from_slice(&data[..data.len().min(middle)]);
        if data.len() >= middle {
            out.extend_from_slice(&pending.suffix);
        }
        out
    }

    fn keep(&mut self, offset: u64, data: &[u8]) {
        if self.kept.len() == KEPT {
            self.kept.pop();
        }
        self.kept.push((offset, data.to_vec()));
    }

    /// The longest start (`front`) or end of `start..end` that kept reads hold, pieced
    /// together from several if they adjoin.
    fn run(&self, start: u64, end: u64, front: bool) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for _ in 0..KEPT {
            let (from, to) =
                if front { (start + out.len() as u64, end) } else { (start, end - out.len() as u64) };
            if from >= to {
                break;
            }
            let piece = self.held(from, to, front);
            if piece.is_empty() {
                break;
            }
            if front {
                out.extend_from_slice(piece);
            } else {
                let mut joined = piece.to_vec();
                joined.extend_from_slice(&out);
                out = joined;
            }
        }
        out
    }

    /// The longest start (`front`) or end of `start..end` one kept read holds.
    fn held(&self, start: u64, end: u64, front: bool) -> &[u8] {
        let mut best: &[u8] = &[];
        for (at, bytes) in &self.kept {
            let piece_end = at + bytes.len() as u64;
            let (from, to) = if front {
                if *at > start || piece_end <= start {
                    continue;
                }
                (start, end.min(piece_end))
            } else {
                if *at >= end || piece_end < end {
                    continue;
                }
                (start.max(*at), end)
            };
            let slice = bytes.get(usize::try_from(from - at).unwrap_or(usize::MAX)..);
            let slice = slice.and_then(|s| s.get(..usize::try_from(to - from).unwrap_or(usize::MAX)));
            if let Some(slice) = slice.filter(|s| s.len() > best.len()) {
                best = slice;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Vec<u8> {
        (0..1000u32).map(|i| (i % 251) as u8).collect()
    }

    /// Plans a read and completes it from `file`; the bytes and what the caller read.
    fn get(
        reads: &mut Reads,
        file: &[u8],
        offset: u64,
        len: u64,
        widen: Option<u64>,
    ) -> (Vec<u8>, Option<(u64, u64)>) {
        match reads.plan(offset, len, widen) {
            Ok(bytes) => (bytes, None),
            Err(pending) => {
                let (at, n) = pending.fetch;
                let fetch = pending.fetch;
                let data = &file[at as usize..(at + n) as usize];
                (reads.complete(pending, data), Some(fetch))
            }
        }
    }

    #[test]
    fn kept_reads_serve_ranges_inside_and_overlapping_them() {
        let file = file();
        let mut reads = Reads::default();
        let slice = |a: u64, n: u64| file[a as usize..(a + n) as usize].to_vec();
        assert_eq!(get(&mut reads, &file, 0, 100, None), (slice(0, 100), Some((0, 100))));
        assert_eq!(get(&mut reads, &file, 900, 100, None), (slice(900, 100), Some((900, 100))));
        assert_eq!(get(&mut reads, &file, 10, 20, None), (slice(10, 20), None));
        // Widened: the next range comes from the third kept read.
        assert_eq!(get(&mut reads, &file, 300, 10, Some(400)), (slice(300, 10), Some((300, 100))));
        assert_eq!(get(&mut reads, &file, 350, 50, None), (slice(350, 50), None));
        // A later read replaces the third, not the first two.
        assert_eq!(get(&mut reads, &file, 500, 10, None).1, Some((500, 10)));
        assert_eq!(get(&mut reads, &file, 350, 50, None).1, Some((350, 50)));
        assert_eq!(get(&mut reads, &file, 0, 10, None).1, None);
        // Only the middle is read; both ends come from memory.
        assert_eq!(get(&mut reads, &file, 50, 900, None), (slice(50, 900), Some((100, 800))));
        // Adjoining kept reads serve a range together (the middle read was kept).
        assert_eq!(get(&mut reads, &file, 20, 970, None), (slice(20, 970), None));
        // A widened read starts where the range does, even if memory holds its start.
        let mut reads = Reads::default();
        get(&mut reads, &file, 0, 100, None);
        assert_eq!(get(&mut reads, &file, 90, 20, Some(300)), (slice(90, 20), Some((90, 210))));
    }

    #[test]
    fn a_short_read_is_passed_on_short() {
        let file = file();
        let mut reads = Reads::default();
        get(&mut reads, &file, 900, 100, None);
        let Err(pending) = reads.plan(800, 200, None) else { panic!("not held") };
        assert_eq!(pending.fetch, (800, 100));
        assert_eq!(reads.complete(pending, &file[800..850]), file[800..850].to_vec());
    }
}
