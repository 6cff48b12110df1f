//! What the hub learns from one stored file, read by byte ranges: a sans-IO step machine.
//! The caller (the indexer) asks `step` what to read, reads that range of the stored file
//! and hands it to `feed`, until `step` returns the file's facts. The file's name picks
//! what is read: a safetensors header, a GGUF header, or the pickles a loader would run
//! (as picklescan 1.0.5 finds them: pickle files, PyTorch zip archives and legacy files,
//! numpy arrays of objects, members of zip archives). Every read is checked against the
//! file size and counted against a budget; a file that lies about its offsets or sizes, or
//! needs more than the budget, gets an error in its facts, never a panic or a huge allocation.

mod archive;
pub mod build;
mod headers;
mod npy;
mod reads;
mod source;
mod stream;
mod zip;

#[cfg(test)]
mod read_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use self::reads::{Pending, Reads};
use self::source::Source;
use self::stream::{Analysis, Outcome, Poll};
use self::zip::Member;
use crate::pickle::Import;
use crate::pickle_policy::{self, Safety};
use crate::{gguf, safetensors};

/// Bump when what inspection computes changes: stored facts of an older version are recomputed.
pub const VERSION: u32 = 1;

/// Bytes read from one file at most: all ranges the analyses ask for (those served from
/// memory too) and what widened reads bring along.
pub const MAX_READ_BYTES: u64 = 256 << 20;
/// Bytes of one pickle stream (a file, a zip member, inflated or not) held and scanned.
pub const MAX_STREAM_BYTES: u64 = 64 << 20;
/// Bytes all deflated members of one archive may inflate to, together: members that overlap
/// (many directory entries naming one small stream that inflates to 64 MiB) cost it each time.
pub const MAX_INFLATED_BYTES: u64 = 256 << 20;
/// Bytes of a zip central directory read (about 250,000 members of torch's names).
pub const MAX_DIRECTORY_BYTES: u64 = 16 << 20;
/// Members of a zip archive looked at.
pub const MAX_MEMBERS: usize = 20_000;
/// Imports listed in the facts (the worst first); `highest` counts all of them.
pub const MAX_LISTED_IMPORTS: usize = 1_000;
/// Longest module or name kept in the facts (longer ones are cut, after their verdict).
const MAX_NAME_BYTES: usize = 256;
/// Longest error text kept (a name quoted in one may be megabytes long).
const MAX_ERROR_BYTES: usize = 1_000;
/// Longest chat template kept, and longest BOS/EOS token text.
const MAX_TEMPLATE_BYTES: usize = 256 << 10;
const MAX_TOKEN_BYTES: usize = 1 << 10;
/// Distinct safetensors dtypes accepted in one header, and the longest dtype name.
const MAX_DTYPES: usize = 64;
const MAX_DTYPE_BYTES: usize = 32;
/// Growth of the prefix read for a GGUF header.
const GGUF_STEP: u64 = 2 << 20;
/// Bytes read at once from the start of a pickle-bearing file (the whole first storage
/// chunk: kept, it also serves the first members of a zip archive).
const HEAD_AHEAD: u64 = 64 << 10;
/// Bytes read first from a safetensors file: its length and, most often, all its header.
const SAFETENSORS_FIRST: u64 = 64 << 10;
/// Span of file a read of zip members' local headers may cover, to bring several along.
const MEMBERS_WINDOW: u64 = 64 << 10;
/// Local headers brought along by one read at most (looked for at each member: a bound
/// on the work when every member's header lies in the window).
const MAX_MERGED: usize = 1_024;
/// Bytes read past a zip member's local header (its extra field may be longer than the
/// directory's copy: torch pads it to align the data) so the data's first bytes come along:
/// enough for the pickle magic past torch's padding, and for a usual `.npy` header.
const LOCAL_AHEAD: u64 = 512;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safetensors: Option<SafetensorsFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf: Option<GgufFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickle: Option<PickleFacts>,
    /// The file is not what its name says, is truncated, lies about its offsets or sizes,
    /// or needs more than the budget (the first such problem; what was found is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetensorsFacts {
    /// Parameters per dtype, named as the file names them.
    pub parameters: BTreeMap<String, u64>,
    pub total: u64,
    pub header_len: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GgufFacts {
    pub total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// Absent too when longer than 256 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token: Option<String>,
}

/// The imports of every pickle a loader would run from the file (present when the file
/// holds any pickle).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickleFacts {
    /// Distinct imports, sorted; at most `MAX_LISTED_IMPORTS` (the worst kept).
    pub imports: Vec<ScannedImport>,
    /// Imports found but not listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unlisted: u64,
    /// The worst verdict of all imports found (`None`: nothing imported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest: Option<Safety>,
    /// Why the scan is incomplete: a pickle broke off after imports were found (loading
    /// would fail there, after running them), or a stream was over the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScannedImport {
    pub module: String,
    pub name: String,
    pub safety: Safety,
}

/// What the caller does next. (`Done` is returned once per file: its size does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum Step {
    Read { offset: u64, len: u64 },
    Done(FileFacts),
}

pub struct Inspector {
    size: u64,
    read: u64,
    /// The read asked for and not yet fed.
    pending: Option<Pending>,
    /// Reads kept to serve later ranges from memory.
    reads: Reads,
    /// Where the next read may end, to bring what follows it along.
    widen_to: Option<u64>,
    /// What deflated members may still inflate to (`MAX_INFLATED_BYTES` in all).
    inflate_left: u64,
    state: State,
    facts: FileFacts,
    scan: Scan,
}

enum State {
    Safetensors(Source),
    Gguf(Source),
    /// The first bytes of a pickle-bearing file, to tell its form.
    Sniff {
        head: Source,
        pytorch: bool,
    },
    /// One analysis of the whole file.
    Stream {
        file: Source,
        analysis: Analysis,
    },
    Zip(Box<ZipScan>),
    Finished,
}

struct ZipScan {
    stage: ZipStage,
    /// The file does not start as a zip: what comes before the archive is scanned too.
    prelude: bool,
    /// Without an end record the file is broken (a PyTorch file starting as a zip); else it
    /// is read as pickles (`seven_z`: it starts as a 7z archive).
    required: bool,
    seven_z: bool,
}

enum ZipStage {
    Tail(Source),
    Directory { source: Source, shift: i128 },
    Members { members: Vec<Member>, next: usize, current: Option<(usize, MemberStage)> },
}

enum MemberStage {
    Local(Source),
    Data(Source, Analysis),
}

/// What one step of the machine did.
enum Advance {
    Read(u64, u64),
    Again,
    Finish,
}

#[derive(Clone, Copy)]
enum Kind {
    Safetensors,
    Gguf,
    Pytorch,
    Numpy,
    /// Pickle files and archives: a zip if it ends like one, else pickles.
    Other,
}

fn kind(extension: &str) -> Option<Kind> {
    Some(match extension {
        ".safetensors" => Kind::Safetensors,
        ".gguf" => Kind::Gguf,
        ".bin" | ".pt" | ".pth" | ".ckpt" => Kind::Pytorch,
        ".npy" => Kind::Numpy,
        ".pkl" | ".pickle" | ".joblib" | ".dat" | ".data" | ".zip" | ".npz" | ".7z" => Kind::Other,
        _ => return None,
    })
}

const SEVEN_Z: &[u8] = b"7z\xbc\xaf\x27\x1c";

/// Imports of all pickles, and problems, gathered over the file.
#[derive(Default)]
struct Scan {
    imports: BTreeSet<Import>,
    pickled: bool,
    pickle_error: Option<String>,
    error: Option<String>,
    more_errors: usize,
}

impl Scan {
    fn fail(&mut self, why: String) {
        if self.error.is_none() {
            self.error = Some(cut(&why, MAX_ERROR_BYTES));
        } else {
            self.more_errors += 1;
        }
    }

    fn absorb(&mut self, outcome: Outcome, source: &Source, label: &str) {
        match outcome {
            Outcome::Found(found) => {
                self.pickled = true;
                self.imports.extend(found.imports);
                if let Some(why) = found.error {
                    self.pickle_error.get_or_insert(cut(&format!("{label}{why}"), MAX_ERROR_BYTES));
                }
            }
            Outcome::Failed(why) => self.fail(format!("{label}{why}")),
            Outcome::Nothing | Outcome::NotLegacy => {}
        }
        if let Some(why) = &source.error {
            self.fail(format!("{label}{why}"));
        }
    }

    fn facts(self) -> Option<PickleFacts> {
        if !self.pickled {
            return None;
        }
        let mut imports: Vec<ScannedImport> = self
            .imports
            .iter()
            .map(|i| ScannedImport {
                safety: pickle_policy::safety(i),
                module: cut(&i.module, MAX_NAME_BYTES),
                name: cut(&i.name, MAX_NAME_BYTES),
            })
            .collect();
        let highest = imports.iter().map(|i| i.safety).max();
        let unlisted = imports.len().saturating_sub(MAX_LISTED_IMPORTS) as u64;
        imports.sort_by(|a, b| b.safety.cmp(&a.safety).then_with(|| a.cmp(b)));
        imports.truncate(MAX_LISTED_IMPORTS);
        imports.sort();
        Some(PickleFacts { imports, unlisted, highest, error: self.pickle_error })
    }
}

/// `text`, cut to at most `max` bytes (and an ellipsis).
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let end = (0..=max).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    format!("{}…", &text[..end])
}

fn kept(text: Option<String>, max: usize) -> Option<String> {
    text.filter(|t| t.len() <= max)
}

/// The source the whole file is read through by pickle analyses.
fn whole(size: u64) -> Source {
    Source::stored_ahead(0, size, MAX_STREAM_BYTES, HEAD_AHEAD)
}

impl Inspector {
    /// None when the file's name says it holds nothing the hub reads.
    pub fn for_path(path: &str, size: u64) -> Option<Inspector> {
        let state = match kind(&zip::extension(path))? {
            Kind::Safetensors => {
                State::Safetensors(Source::stored(0, size, 8 + safetensors::MAX_HEADER_BYTES))
            }
            Kind::Gguf => State::Gguf(Source::stored(0, size, gguf::MAX_HEADER_BYTES)),
            Kind::Pytorch => State::Sniff { head: whole(size), pytorch: true },
            Kind::Numpy => State::Stream { file: whole(size), analysis: Analysis::Npy },
            Kind::Other => State::Sniff { head: whole(size), pytorch: false },
        };
        Some(Inspector {
            size,
            read: 0,
            pending: None,
            reads: Reads::default(),
            widen_to: None,
            inflate_left: MAX_INFLATED_BYTES,
            state,
            facts: FileFacts::default(),
            scan: Scan::default(),
        })
    }

    /// What to read next, or the result (after Done, the inspector is finished).
    pub fn step(&mut self) -> Step {
        loop {
            if let Some(pending) = &self.pending {
                let (offset, len) = pending.fetch;
                return Step::Read { offset, len };
            }
            match self.advance() {
                Advance::Read(offset, len) if offset.checked_add(len).is_some_and(|end| end <= self.size) => {
                    let widen_to = self.widen_to.take();
                    if self.read.saturating_add(self.reads.widened()).saturating_add(len) > MAX_READ_BYTES {
                        self.scan.fail(format!("more than the budget of {MAX_READ_BYTES} bytes to read"));
                        self.state = State::Finished;
                        continue;
                    }
                    self.read += len;
                    let room = MAX_READ_BYTES.saturating_sub(self.read + self.reads.widened());
                    let widen_to = widen_to
                        .map(|to| to.min(self.size).min(offset.saturating_add(len).saturating_add(room)));
                    match self.reads.plan(offset, len, widen_to) {
                        Ok(held) => self.deliver(&held),
                        Err(pending) => {
                            let (offset, len) = pending.fetch;
                            self.pending = Some(pending);
                            return Step::Read { offset, len };
                        }
                    }
                }
                Advance::Read(offset, len) => {
                    self.widen_to = None;
                    self.scan.fail(format!("a read of {len} bytes at {offset} is past the end of the file"));
                    self.state = State::Finished;
                }
                Advance::Again => {}
                Advance::Finish => {
                    self.state = State::Finished;
                    let mut facts = std::mem::take(&mut self.facts);
                    let scan = std::mem::take(&mut self.scan);
                    facts.error = scan.error.clone().map(|e| match scan.more_errors {
                        0 => e,
                        n => format!("{e} (and {n} more problems)"),
                    });
                    facts.pickle = scan.facts();
                    return Step::Done(facts);
                }
            }
        }
    }

    /// The bytes of the range last asked for (shorter only at the end of the file).
    pub fn feed(&mut self, data: &[u8]) {
        let Some(pending) = self.pending.take() else { return };
        let bytes = self.reads.complete(pending, data);
        self.deliver(&bytes);
    }

    /// The bytes of the range the analyses last asked for, read or served from memory.
    fn deliver(&mut self, data: &[u8]) {
        let source = match &mut self.state {
            State::Safetensors(s) | State::Gguf(s) => s,
            State::Sniff { head, .. } => head,
            State::Stream { file, .. } => file,
            State::Zip(zip) => match &mut zip.stage {
                ZipStage::Tail(s) | ZipStage::Directory { source: s, .. } => s,
                ZipStage::Members {
                    current: Some((_, MemberStage::Local(s) | MemberStage::Data(s, _))),
                    ..
                } => s,
                ZipStage::Members { current: None, .. } => return,
            },
            State::Finished => return,
        };
        source.feed(data);
    }

    fn advance(&mut self) -> Advance {
        let size = self.size;
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Safetensors(mut source) => {
                let advance = self.safetensors(&mut source);
                self.state = State::Safetensors(source);
                advance
            }
            State::Gguf(mut source) => {
                let advance = self.gguf(&mut source);
                self.state = State::Gguf(source);
                advance
            }
            State::Sniff { mut head, pytorch } => {
                if let Some((offset, len)) = head.wants(8) {
                    self.state = State::Sniff { head, pytorch };
                    return Advance::Read(offset, len);
                }
                self.state = self.sniffed(head, pytorch);
                Advance::Again
            }
            State::Stream { mut file, analysis } => match stream::poll(analysis, &file) {
                Poll::Need(len) => {
                    let advance = need(&mut file, len);
                    self.state = State::Stream { file, analysis };
                    advance
                }
                Poll::Done(Outcome::NotLegacy) => {
                    let prelude = !file.data().starts_with(b"PK");
                    self.state = zip_state(size, prelude, false, false);
                    Advance::Again
                }
                Poll::Done(outcome) => {
                    self.scan.absorb(outcome, &file, "");
                    Advance::Finish
                }
            },
            State::Zip(mut zip) => {
                let advance = self.zip(&mut zip);
                if matches!(self.state, State::Finished) && !matches!(advance, Advance::Finish) {
                    self.state = State::Zip(zip);
                }
                advance
            }
            State::Finished => Advance::Finish,
        }
    }

    /// The form of a pickle-bearing file, from its first bytes (as picklescan's `scan_bytes`).
    fn sniffed(&mut self, head: Source, pytorch: bool) -> State {
        let data = head.data();
        if !pytorch {
            let seven_z = data.starts_with(SEVEN_Z);
            return zip_state(self.size, !data.starts_with(b"PK"), false, seven_z);
        }
        if data.starts_with(b"PK\x03\x04") {
            zip_state(self.size, false, true, false)
        } else if data.get(257..262) == Some(b"ustar".as_slice()) {
            // torch's oldest format, a tar whose `storages` member is unpickled first.
            self.scan.fail("a tar archive (PyTorch's legacy tar format) is not read".into());
            State::Finished
        } else if data.starts_with(SEVEN_Z) {
            self.scan.fail("7z archives are not read".into());
            State::Finished
        } else {
            State::Stream { file: head, analysis: Analysis::Legacy }
        }
    }
}

/// The next read of `source` for `len` bytes of its stream; if it has nothing more to give,
/// it is marked so (the analysis then decides with what it holds).
fn need(source: &mut Source, len: u64) -> Advance {
    match source.wants(len) {
        Some((offset, len)) => Advance::Read(offset, len),
        None => {
            source.stop();
            Advance::Again
        }
    }
}

fn zip_state(size: u64, prelude: bool, required: bool, seven_z: bool) -> State {
    let tail_len = size.min(zip::END_SEARCH + zip::ZIP64_BEFORE);
    let tail = Source::stored(size - tail_len, tail_len, tail_len);
    State::Zip(Box::new(ZipScan { stage: ZipStage::Tail(tail), prelude, required, seven_z }))
}
