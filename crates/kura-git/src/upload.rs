//! The upload-pack (git fetch) side of protocols v0 and v2, sans-IO: the ref advertisements,
//! parsing a request body into a typed [`UploadRequest`] within caller-given limits, and the
//! answers (`ls-refs`, and what goes before the pack of a fetch or instead of it).

use std::collections::HashSet;

use kura_model::ObjectId;

use crate::GitError;
use crate::pktline::{self, Pkt};

/// Capabilities advertised to protocol v0 clients.
pub const UPLOAD_PACK_CAPABILITIES: &str = "multi_ack_detailed side-band-64k thin-pack ofs-delta shallow no-progress include-tag allow-tip-sha1-in-want allow-reachable-sha1-in-want symref=HEAD:refs/heads/main agent=kura/0";

const ZERO_ID: ObjectId = ObjectId([0; 20]);

/// The body of `GET info/refs?service=git-upload-pack` for protocol v0: the service line, then
/// every ref (capabilities after a NUL on the first), or the `capabilities^{}` line for an
/// empty repo.
pub fn upload_pack_advertisement<'a>(refs: impl IntoIterator<Item = (ObjectId, &'a str)>) -> Vec<u8> {
    let mut out = Vec::new();
    pktline::pkt_line(&mut out, "# service=git-upload-pack");
    pktline::flush(&mut out);
    let mut first = true;
    for (id, name) in refs {
        if first {
            pktline::pkt_line(&mut out, &format!("{id} {name}\0{UPLOAD_PACK_CAPABILITIES}"));
            first = false;
        } else {
            pktline::pkt_line(&mut out, &format!("{id} {name}"));
        }
    }
    if first {
        pktline::pkt_line(&mut out, &format!("{ZERO_ID} capabilities^{{}}\0{UPLOAD_PACK_CAPABILITIES}"));
    }
    pktline::flush(&mut out);
    out
}

/// The capability advertisement of protocol v2.
pub fn upload_pack_advertisement_v2() -> Vec<u8> {
    let mut out = Vec::new();
    for line in ["version 2", "agent=kura/0", "ls-refs=unborn", "fetch=shallow", "object-format=sha1"] {
        pktline::pkt_line(&mut out, line);
    }
    pktline::flush(&mut out);
    out
}

/// Bounds on one fetch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Distinct want lines, and distinct shallow lines, accepted; more refuse the request (git
    /// sends one want per ref it fetches and one shallow line per boundary).
    pub max_wants: usize,
    /// Distinct have lines kept; the rest are ignored, which can only make the pack bigger
    /// (objects the client had are sent again), never wrong.
    pub max_haves: usize,
}

/// Why an upload-pack request was refused. The texts are what the client is shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    #[error("{0}")]
    Framing(GitError),
    #[error("Malformed object id in '{0}'")]
    ObjectId(String),
    #[error("Too many {what} lines: this server accepts at most {limit} distinct ones per fetch")]
    TooMany { what: &'static str, limit: usize },
    #[error("Malformed deepen")]
    Deepen,
    #[error("deepen-since and deepen-not are not supported; use --depth")]
    DeepenUnsupported,
    #[error("No objects wanted")]
    NoWants,
    #[error("Unknown or missing command")]
    UnknownCommand,
}

/// The protocol a request speaks (from the `Git-Protocol` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadProtocol {
    V0,
    V2,
}

/// A parsed upload-pack request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadRequest {
    /// v2 `command=ls-refs`.
    LsRefs(LsRefs),
    /// A fetch (v0, or v2 `command=fetch`).
    Fetch(FetchRequest),
}

/// The arguments of a v2 `ls-refs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LsRefs {
    /// Only refs starting with one of these (all refs when empty).
    pub prefixes: Vec<String>,
    /// Whether to show where symbolic refs (`HEAD`) point.
    pub symrefs: bool,
}

/// What a fetch asks for: distinct wants (at least one), haves and shallow boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub protocol: UploadProtocol,
    pub wants: Vec<ObjectId>,
    pub haves: Vec<ObjectId>,
    pub shallow: Vec<ObjectId>,
    pub depth: Option<u32>,
    /// The client is done negotiating: send the pack.
    pub done: bool,
    /// Pack data goes on side-band 1 (always in v2).
    pub sideband: bool,
    /// v0 only: the request ends at the flush after its wants (the first request of a
    /// stateless shallow fetch, answered with the shallow list alone).
    pub wants_only: bool,
}

/// What the repo holds for a fetch, as the caller's planner found it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Negotiated<'a> {
    /// Haves the repo also has.
    pub common: &'a [ObjectId],
    /// New shallow boundaries.
    pub shallow: &'a [ObjectId],
    /// Former boundaries no longer shallow.
    pub unshallow: &'a [ObjectId],
}

/// The answer to a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAnswer {
    /// These bytes and nothing more (a negotiation round, no pack yet).
    Only(Vec<u8>),
    /// These bytes, then the pack (side-band framed when the request asked for it).
    Pack(Vec<u8>),
}

fn data_text<'a>(pkt: &Pkt<'a>) -> Option<&'a str> {
    if let Pkt::Data(data) = pkt { pktline::text(data) } else { None }
}

/// Parses a whole upload-pack request body (already gunzipped).
pub fn parse_upload_request(
    body: &[u8],
    protocol: UploadProtocol,
    limits: UploadLimits,
) -> Result<UploadRequest, UploadError> {
    let pkts = pktline::parse_pkts(body).map_err(UploadError::Framing)?;
    match protocol {
        UploadProtocol::V0 => {
            let first_flush = pkts.iter().position(|p| *p == Pkt::Flush).unwrap_or(pkts.len());
            let mut fetch = FetchBuilder::new(limits, false);
            for line in pkts.iter().filter_map(data_text) {
                fetch.line(line)?;
            }
            fetch.finish(UploadProtocol::V0, first_flush + 1 >= pkts.len()).map(UploadRequest::Fetch)
        }
        UploadProtocol::V2 => {
            let command = pkts.first().and_then(data_text).and_then(|l| l.strip_prefix("command="));
            let args_start = pkts.iter().position(|p| *p == Pkt::Delim).map_or(pkts.len(), |i| i + 1);
            let args = pkts[args_start..].iter().filter_map(data_text);
            match command {
                Some("ls-refs") => {
                    let mut ls_refs = LsRefs::default();
                    for arg in args {
                        if let Some(prefix) = arg.strip_prefix("ref-prefix ") {
                            ls_refs.prefixes.push(prefix.to_owned());
                        } else if arg == "symrefs" {
                            ls_refs.symrefs = true;
                        }
                    }
                    Ok(UploadRequest::LsRefs(ls_refs))
                }
                Some("fetch") => {
                    let mut fetch = FetchBuilder::new(limits, true);
                    for line in args {
                        fetch.line(line)?;
                    }
                    fetch.finish(UploadProtocol::V2, false).map(UploadRequest::Fetch)
                }
                _ => Err(UploadError::UnknownCommand),
            }
        }
    }
}

/// Collects fetch lines, dropping repeated ids and holding the limits.
struct FetchBuilder {
    limits: UploadLimits,
    wants: Vec<ObjectId>,
    haves: Vec<ObjectId>,
    shallow: Vec<ObjectId>,
    depth: Option<u32>,
    done: bool,
    sideband: bool,
    /// Every id seen in a want, have or shallow line.
    seen: HashSet<(u8, ObjectId)>,
}

fn parse_oid(value: &str) -> Result<ObjectId, UploadError> {
    ObjectId::from_hex(value.get(..40).unwrap_or(value)).map_err(|_| UploadError::ObjectId(value.to_owned()))
}

impl FetchBuilder {
    fn new(limits: UploadLimits, sideband: bool) -> Self {
        Self {
            limits,
            wants: Vec::new(),
            haves: Vec::new(),
            shallow: Vec::new(),
            depth: None,
            done: false,
            sideband,
            seen: HashSet::new(),
        }
    }

    /// Adds a want or shallow line's id once, refusing more distinct ids than the limit.
    fn add_bounded(&mut self, tag: u8, oid: ObjectId) -> Result<(), UploadError> {
        if !self.seen.insert((tag, oid)) {
            return Ok(());
        }
        let list = if tag == b'w' { &mut self.wants } else { &mut self.shallow };
        if list.len() >= self.limits.max_wants {
            let what = if tag == b'w' { "want" } else { "shallow" };
            return Err(UploadError::TooMany { what, limit: self.limits.max_wants });
        }
        list.push(oid);
        Ok(())
    }

    fn line(&mut self, line: &str) -> Result<(), UploadError> {
        if let Some(rest) = line.strip_prefix("want ") {
            self.add_bounded(b'w', parse_oid(rest)?)?;
            if rest.contains("side-band-64k") {
                self.sideband = true;
            }
        } else if let Some(rest) = line.strip_prefix("have ") {
            let oid = parse_oid(rest)?;
            if self.haves.len() < self.limits.max_haves && self.seen.insert((b'h', oid)) {
                self.haves.push(oid);
            }
        } else if let Some(rest) = line.strip_prefix("shallow ") {
            self.add_bounded(b's', parse_oid(rest)?)?;
        } else if let Some(rest) = line.strip_prefix("deepen ") {
            self.depth = Some(rest.trim().parse().map_err(|_| UploadError::Deepen)?);
        } else if line.starts_with("deepen-since ") || line.starts_with("deepen-not ") {
            return Err(UploadError::DeepenUnsupported);
        } else if line == "done" {
            self.done = true;
        }
        Ok(())
    }

    fn finish(self, protocol: UploadProtocol, wants_only: bool) -> Result<FetchRequest, UploadError> {
        if self.wants.is_empty() {
            return Err(UploadError::NoWants);
        }
        Ok(FetchRequest {
            protocol,
            wants: self.wants,
            haves: self.haves,
            shallow: self.shallow,
            depth: self.depth,
            done: self.done,
            sideband: self.sideband,
            wants_only,
        })
    }
}

fn shallow_lines(out: &mut Vec<u8>, negotiated: &Negotiated<'_>) {
    for oid in negotiated.shallow {
        pktline::pkt_line(out, &format!("shallow {oid}"));
    }
    for oid in negotiated.unshallow {
        pktline::pkt_line(out, &format!("unshallow {oid}"));
    }
}

impl FetchRequest {
    /// A clone of whole refs: no haves, no shallow boundary, no depth. Its pack depends on the
    /// wants alone, so it can be cached.
    pub fn full_clone(&self) -> bool {
        self.haves.is_empty() && self.shallow.is_empty() && self.depth.is_none()
    }

    /// What goes before a stored pack of a full clone that is `done`.
    pub fn cached_pack_head(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let line = match self.protocol {
            UploadProtocol::V0 => "NAK",
            UploadProtocol::V2 => "packfile",
        };
        pktline::pkt_line(&mut out, line);
        out
    }

    /// The answer once the repo's side of the negotiation is known.
    pub fn answer(&self, negotiated: &Negotiated<'_>) -> FetchAnswer {
        let mut head = Vec::new();
        match self.protocol {
            UploadProtocol::V0 => {
                if self.depth.is_some() {
                    shallow_lines(&mut head, negotiated);
                    pktline::flush(&mut head);
                    // Stateless v0 with `deepen`: git reads only the shallow list after its
                    // first request (like upload-pack, which sends nothing more).
                    if !self.done && self.wants_only {
                        return FetchAnswer::Only(head);
                    }
                }
                if !self.done {
                    // A negotiation round of stateless v0: acknowledge what we share, no pack yet.
                    for oid in negotiated.common {
                        pktline::pkt_line(&mut head, &format!("ACK {oid} common"));
                    }
                    pktline::pkt_line(&mut head, "NAK");
                    return FetchAnswer::Only(head);
                }
                pktline::pkt_line(&mut head, "NAK");
            }
            UploadProtocol::V2 => {
                if !self.done {
                    pktline::pkt_line(&mut head, "acknowledgments");
                    if negotiated.common.is_empty() {
                        pktline::pkt_line(&mut head, "NAK");
                    }
                    for oid in negotiated.common {
                        pktline::pkt_line(&mut head, &format!("ACK {oid}"));
                    }
                    pktline::pkt_line(&mut head, "ready");
                    pktline::delim(&mut head);
                }
                if self.depth.is_some() && !(negotiated.shallow.is_empty() && negotiated.unshallow.is_empty())
                {
                    pktline::pkt_line(&mut head, "shallow-info");
                    shallow_lines(&mut head, negotiated);
                    pktline::delim(&mut head);
                }
                pktline::pkt_line(&mut head, "packfile");
            }
        }
        FetchAnswer::Pack(head)
    }
}

impl LsRefs {
    /// The answer: each ref `(id, name, symref target)` passing the prefixes, then a flush.
    pub fn answer<'a>(
        &self,
        refs: impl IntoIterator<Item = (ObjectId, &'a str, Option<&'a str>)>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for (oid, name, target) in refs {
            if !self.prefixes.is_empty() && !self.prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                continue;
            }
            let mut line = format!("{oid} {name}");
            if let (true, Some(target)) = (self.symrefs, target) {
                line.push_str(&format!(" symref-target:{target}"));
            }
            pktline::pkt_line(&mut out, &line);
        }
        pktline::flush(&mut out);
        out
    }
}

#[cfg(test)]
#[path = "upload_tests.rs"]
mod tests;
