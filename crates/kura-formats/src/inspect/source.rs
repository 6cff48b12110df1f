//! One logical byte stream of a stored file, filled by the ranges the inspector asks for: a
//! stretch of the file as it is (the file itself, a stored zip member, a header) or the
//! inflated bytes of a deflated zip member. Only a prefix is ever held, and never more than
//! the source's `limit`, whatever the file's sizes claim.

use flate2::{Decompress, FlushDecompress, Status};

/// Compressed bytes asked for per read of a deflated member (past the first read).
const INFLATE_READ: u64 = 1 << 20;
/// Compressed bytes asked for first: enough for the few bytes a probe looks at.
const INFLATE_FIRST_READ: u64 = 64 << 10;
/// Output produced per call of the inflater.
const INFLATE_STEP: usize = 256 << 10;

struct Inflate {
    state: Decompress,
    /// Compressed bytes handed over so far.
    read: u64,
    /// The size the zip directory claims once inflated (only ever a limit, never allocated).
    claimed: u64,
}

pub(crate) struct Source {
    /// File offset of the stream's first byte as stored.
    start: u64,
    /// Bytes of the file the stream takes (compressed, for a deflated member).
    span: u64,
    /// Most bytes of the stream held.
    limit: u64,
    /// Bytes read past what was asked for, to spare small reads (the whole file's stream).
    ahead: u64,
    inflate: Option<Inflate>,
    held: Vec<u8>,
    /// The length of the last range handed out, to check what `feed` gets.
    asked: u64,
    /// Nothing more will come: the stream ended, or the file or the inflater failed.
    ended: bool,
    pub(crate) error: Option<String>,
}

impl Source {
    /// `span` bytes of the file from `start`, as stored.
    pub(crate) fn stored(start: u64, span: u64, limit: u64) -> Source {
        Source {
            start,
            span,
            limit,
            ahead: 0,
            inflate: None,
            held: Vec::new(),
            asked: 0,
            ended: false,
            error: None,
        }
    }

    /// Like `stored`, reading at least `ahead` bytes at a time.
    pub(crate) fn stored_ahead(start: u64, span: u64, limit: u64, ahead: u64) -> Source {
        Source { ahead, ..Source::stored(start, span, limit) }
    }

    /// A stored stream of which the first bytes were already read (with another range).
    pub(crate) fn stored_from(start: u64, span: u64, limit: u64, first: &[u8]) -> Source {
        let mut source = Source::stored(start, span, limit);
        let keep = first.len().min(usize::try_from(span.min(limit)).unwrap_or(usize::MAX));
        source.held.extend_from_slice(&first[..keep]);
        source
    }

    /// `span` compressed bytes from `start` that inflate (raw deflate) to `claimed` bytes.
    pub(crate) fn deflated(start: u64, span: u64, claimed: u64, limit: u64) -> Source {
        let inflate = Some(Inflate { state: Decompress::new(false), read: 0, claimed });
        Source { inflate, ..Source::stored(start, span, limit) }
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.held
    }

    /// The stream's length if all of it could be held: stored bytes, or what an inflated
    /// member claims.
    fn length(&self) -> u64 {
        self.inflate.as_ref().map_or(self.span, |i| i.claimed)
    }

    /// Everything there will ever be is held (the whole stream, the limit, or a failure).
    pub(crate) fn settled(&self) -> bool {
        self.ended || self.held.len() as u64 >= self.length().min(self.limit)
    }

    /// The stream goes on past the limit.
    pub(crate) fn capped(&self) -> bool {
        self.length() > self.limit && self.held.len() as u64 >= self.limit
    }

    /// The file range to read so that `want` bytes of the stream are held (fewer when the
    /// stream or the limit ends first); `None` when nothing more is to be read.
    pub(crate) fn wants(&mut self, want: u64) -> Option<(u64, u64)> {
        let want = want.min(self.length()).min(self.limit);
        let have = self.held.len() as u64;
        if self.ended || have >= want {
            return None;
        }
        let (at, len) = match &self.inflate {
            None => (have, (want - have).max(self.ahead).min(self.length().min(self.limit) - have)),
            Some(inflate) if inflate.read >= self.span => {
                self.fail("the compressed data ends before the member does".into());
                return None;
            }
            Some(inflate) => {
                let step = if inflate.read == 0 { INFLATE_FIRST_READ } else { INFLATE_READ };
                (inflate.read, step.min(self.span - inflate.read))
            }
        };
        self.asked = len;
        Some((self.start + at, len))
    }

    /// The bytes of the range `wants` last returned (shorter if the file ended early).
    pub(crate) fn feed(&mut self, data: &[u8]) {
        let data = &data[..data.len().min(usize::try_from(self.asked).unwrap_or(usize::MAX))];
        if (data.len() as u64) < self.asked {
            self.fail(format!("the file ends early: {} of {} bytes read", data.len(), self.asked));
        }
        if self.inflate.is_some() {
            self.inflate_more(data);
        } else {
            reserve(&mut self.held, data.len(), self.limit);
            self.held.extend_from_slice(data);
        }
    }

    fn inflate_more(&mut self, mut input: &[u8]) {
        let Some(inflate) = self.inflate.as_mut() else { return };
        inflate.read += input.len() as u64;
        let target = usize::try_from(inflate.claimed.min(self.limit)).unwrap_or(usize::MAX);
        while self.held.len() < target {
            let room = (target - self.held.len()).min(INFLATE_STEP);
            let at = self.held.len();
            reserve(&mut self.held, room, self.limit);
            self.held.resize(at + room, 0);
            let (before_in, before_out) = (inflate.state.total_in(), inflate.state.total_out());
            let status = inflate.state.decompress(input, &mut self.held[at..], FlushDecompress::None);
            let used = usize::try_from(inflate.state.total_in() - before_in).unwrap_or(usize::MAX);
            let made = usize::try_from(inflate.state.total_out() - before_out).unwrap_or(usize::MAX);
            self.held.truncate(at + made.min(room));
            input = input.get(used..).unwrap_or_default();
            match status {
                Ok(Status::StreamEnd) => {
                    if (self.held.len() as u64) < inflate.claimed.min(self.limit) {
                        let why = format!(
                            "inflates to {} bytes, not the {} claimed",
                            self.held.len(),
                            inflate.claimed
                        );
                        self.error.get_or_insert(why);
                    }
                    self.ended = true;
                    return;
                }
                Ok(_) if used == 0 && made == 0 => return,
                Ok(_) => {}
                Err(e) => {
                    self.error.get_or_insert(format!("bad deflate data: {e}"));
                    self.ended = true;
                    return;
                }
            }
        }
    }

    /// Nothing more is to be read (what is held is all there will be).
    pub(crate) fn stop(&mut self) {
        self.ended = true;
    }

    fn fail(&mut self, why: String) {
        self.error.get_or_insert(why);
        self.ended = true;
    }
}

/// Makes room for `extra` more bytes, growing geometrically but never past `limit`.
fn reserve(held: &mut Vec<u8>, extra: usize, limit: u64) {
    let needed = held.len().saturating_add(extra);
    if held.capacity() >= needed {
        return;
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(needed);
    let target = needed.max(held.capacity().saturating_mul(2)).min(limit);
    held.reserve_exact(target - held.len());
}
