//! What is looked for in one stream (the file itself or a zip member), following picklescan
//! 1.0.5's `scan_pickle_bytes`, `scan_numpy`, `scan_pytorch` and `scan_zip_bytes`. Each
//! analysis is a pure function of the prefix a `Source` holds: it says how much more of the
//! stream it needs, or what it found; the inspector re-runs it after every read.

use super::npy::{self, Head};
use super::source::Source;
use crate::pickle::{self, Import, Walk};

/// The number a legacy (pre-zip) PyTorch file pickles first.
const TORCH_MAGIC: u128 = 0x1950_a86a_20f9_469c_fc6c;
/// Pickles a legacy file holds: magic number, protocol version, system info, the object,
/// the storage keys (raw tensor data follows them, which is not pickle).
const LEGACY_PICKLES: usize = 5;
/// First prefix of a pickle stream walked; doubled while its pickles go on.
const FIRST_PREFIX: u64 = 1 << 20;
/// Pickle protocols 2 to 5 start with `PROTO n`; picklescan also takes 0 and 1 as magic.
const PICKLE_MAGIC: [[u8; 2]; 6] =
    [*b"\x80\x00", *b"\x80\x01", *b"\x80\x02", *b"\x80\x03", *b"\x80\x04", *b"\x80\x05"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Analysis {
    /// All pickles of the stream (a pickle file, a pickle member).
    Pickles,
    /// A numpy array: its pickle if it holds objects, else nothing.
    Npy,
    /// A PyTorch file that is not a zip archive: the legacy format's pickles.
    Legacy,
    /// A zip member: scanned as a pickle or an array if its name or first bytes say so.
    Member { pickle_name: bool, npy_name: bool },
}

pub(crate) enum Poll {
    /// At least this much of the stream is needed (the source clamps it).
    Need(u64),
    Done(Outcome),
}

pub(crate) enum Outcome {
    Found(Found),
    /// Nothing pickled in the stream.
    Nothing,
    /// Not a legacy PyTorch file: to be read as any other file.
    NotLegacy,
    /// The stream is not what it claims to be.
    Failed(String),
}

#[derive(Default)]
pub(crate) struct Found {
    pub(crate) imports: Vec<Import>,
    /// Why the scan of these pickles is incomplete, if it is.
    pub(crate) error: Option<String>,
}

impl Found {
    fn add(&mut self, other: Found) {
        self.imports.extend(other.imports);
        if self.error.is_none() {
            self.error = other.error;
        }
    }
}

pub(crate) fn poll(analysis: Analysis, source: &Source) -> Poll {
    match analysis {
        Analysis::Pickles => pickles(source, 0),
        Analysis::Npy => array(source),
        Analysis::Legacy => legacy(source),
        Analysis::Member { pickle_name, npy_name } => member(source, pickle_name, npy_name),
    }
}

/// A walk's findings. A walk that stops on malformed data before finding any import is
/// not a pickle (nothing it holds can run: picklescan reports it clean); one that stops
/// after imports, or for want of budget, leaves the verdict incomplete.
fn judged(walk: Walk, source: &Source) -> Found {
    let error = if source.capped() && walk.ran_out {
        Some(format!("only the first {} bytes of the stream were scanned", source.data().len()))
    } else if walk.imports.is_empty() {
        None
    } else {
        walk.error
    };
    Found { imports: walk.imports, error }
}

/// All pickles of the stream from `from`, read in growing prefixes: a stream that stops
/// being a pickle early (a raw `.bin` of weights, say) is not read on.
fn pickles(source: &Source, from: usize) -> Poll {
    let data = source.data().get(from..).unwrap_or_default();
    let walk = pickle::walk(data, true);
    // A prefix can end inside a pickle, or right after one with more to come.
    if !source.settled() && (walk.ran_out || walk.error.is_none()) {
        return Poll::Need(grown(source));
    }
    Poll::Done(Outcome::Found(judged(walk, source)))
}

/// The next prefix to read: twice what is held, at least `FIRST_PREFIX`.
fn grown(source: &Source) -> u64 {
    (source.data().len() as u64).saturating_mul(2).max(FIRST_PREFIX)
}

fn array(source: &Source) -> Poll {
    let data = source.data();
    if data.len() < 12 && !source.settled() {
        return Poll::Need(12);
    }
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        return Poll::Done(Outcome::Failed("an .npy file that is a zip archive".into()));
    }
    if !data.starts_with(npy::MAGIC) {
        return pickles(source, 0);
    }
    match npy::head(data, source.settled()) {
        Ok(Head::Need(len)) => Poll::Need(len),
        Ok(Head::Plain) => Poll::Done(Outcome::Nothing),
        Ok(Head::Object(at)) => pickles(source, at),
        Err(why) => Poll::Done(Outcome::Failed(why)),
    }
}

fn member(source: &Source, pickle_name: bool, npy_name: bool) -> Poll {
    if pickle_name {
        return pickles(source, 0);
    }
    let data = source.data();
    if data.len() < 8 && !source.settled() {
        return Poll::Need(8);
    }
    if PICKLE_MAGIC.iter().any(|magic| data.starts_with(magic)) {
        pickles(source, 0)
    } else if npy_name || data.starts_with(npy::MAGIC) {
        array(source)
    } else {
        Poll::Done(Outcome::Nothing)
    }
}

/// picklescan's `scan_pytorch` for a file that is not a zip: if the first integer of the
/// first pickle is the magic number, the five pickles of the format; if not, and that first
/// pickle imports anything, it and five more; else the file is read as any other.
fn legacy(source: &Source) -> Poll {
    let data = source.data();
    let more = Poll::Need(grown(source));
    let first = pickle::walk(data, false);
    if first.ran_out && !source.settled() {
        return more;
    }
    let count = if pickle::first_int(data) == Some(TORCH_MAGIC) {
        LEGACY_PICKLES
    } else if !first.imports.is_empty() {
        LEGACY_PICKLES + 1
    } else {
        return Poll::Done(Outcome::NotLegacy);
    };
    let mut found = Found::default();
    let mut at = 0usize;
    for _ in 0..count {
        let walk = pickle::walk(data.get(at..).unwrap_or_default(), false);
        if walk.ran_out && !source.settled() {
            return more;
        }
        let (end, failed) = (at + walk.end, walk.error.is_some());
        found.add(judged(walk, source));
        // kura stops at a malformed pickle (picklescan goes on from wherever it stopped).
        if failed {
            break;
        }
        if end >= data.len() {
            if source.settled() {
                break;
            }
            return more;
        }
        at = end;
    }
    Poll::Done(Outcome::Found(found))
}
