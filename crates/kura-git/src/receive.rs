//! The receive-pack (git push) side of the v0/v1 protocol: the ref advertisement for
//! `info/refs?service=git-receive-pack`, parsing the update request up to its pack, and the
//! report-status response, side-band framed when the client asked for side-band-64k.

use std::collections::HashSet;

use kura_model::ObjectId;

use crate::GitError;
use crate::pktline::{self, BAND_DATA, BAND_PROGRESS, MAX_PKT_DATA, Pkt};
use crate::refname::check_ref_format;

/// What the server advertises on the first ref line.
pub const RECEIVE_PACK_CAPABILITIES: &str = "report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta push-options object-format=sha1 agent=kura/0";

const ZERO_ID: ObjectId = ObjectId([0; 20]);

/// The body of `GET info/refs?service=git-receive-pack`: the service line, then every ref
/// (capabilities after a NUL on the first), or the `capabilities^{}` line for an empty repo.
pub fn receive_pack_advertisement<'a>(refs: impl IntoIterator<Item = (ObjectId, &'a str)>) -> Vec<u8> {
    let mut out = Vec::new();
    pktline::pkt_line(&mut out, "# service=git-receive-pack");
    pktline::flush(&mut out);
    let mut first = true;
    for (id, name) in refs {
        if first {
            pktline::pkt_line(&mut out, &format!("{id} {name}\0{RECEIVE_PACK_CAPABILITIES}"));
            first = false;
        } else {
            pktline::pkt_line(&mut out, &format!("{id} {name}"));
        }
    }
    if first {
        pktline::pkt_line(&mut out, &format!("{ZERO_ID} capabilities^{{}}\0{RECEIVE_PACK_CAPABILITIES}"));
    }
    pktline::flush(&mut out);
    out
}

/// One requested ref change; the zero id as `old` means create, as `new` delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: ObjectId,
    pub new: ObjectId,
    /// A full ref name (`refs/...`), already checked with [`check_ref_format`].
    pub name: String,
}

impl RefUpdate {
    pub fn is_create(&self) -> bool {
        self.old == ZERO_ID
    }

    pub fn is_delete(&self) -> bool {
        self.new == ZERO_ID
    }
}

/// Capabilities the client asked for on its first command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiveCapabilities {
    pub report_status: bool,
    pub report_status_v2: bool,
    pub side_band_64k: bool,
    pub atomic: bool,
    pub ofs_delta: bool,
    pub quiet: bool,
    pub push_options: bool,
    pub agent: Option<String>,
}

impl ReceiveCapabilities {
    fn parse(text: &str) -> Result<Self, GitError> {
        let mut caps = Self::default();
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            match word {
                "report-status" => caps.report_status = true,
                "report-status-v2" => caps.report_status_v2 = true,
                "side-band-64k" => caps.side_band_64k = true,
                "side-band" => return Err(bad("side-band (1000 bytes) is not offered; use side-band-64k")),
                "atomic" => caps.atomic = true,
                "ofs-delta" => caps.ofs_delta = true,
                "quiet" => caps.quiet = true,
                "push-options" => caps.push_options = true,
                "delete-refs" | "object-format=sha1" => {}
                _ if word.starts_with("object-format=") => {
                    return Err(bad("only object-format=sha1 is supported"));
                }
                _ if word.starts_with("agent=") => caps.agent = Some(word["agent=".len()..].to_owned()),
                // Capabilities we never advertised (session-id, push-cert=, ...) are ignored.
                _ => {}
            }
        }
        Ok(caps)
    }

    /// A progress message for the user (side-band channel 2), or nothing when the client has
    /// no side-band or asked for quiet. Send it before the report.
    pub fn progress(&self, message: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if self.side_band_64k && !self.quiet {
            pktline::sideband(&mut out, BAND_PROGRESS, message.as_bytes());
        }
        out
    }
}

/// A parsed push request, up to where its pack starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveRequest {
    /// `shallow` lines: the client's shallow boundary commits.
    pub shallow: Vec<ObjectId>,
    pub commands: Vec<RefUpdate>,
    pub capabilities: ReceiveCapabilities,
    pub push_options: Vec<String>,
    /// Bytes of the input before the pack (the pack is the rest of the body).
    pub pack_offset: usize,
}

impl ReceiveRequest {
    /// Whether a pack follows: the client sends one unless every command is a delete.
    pub fn expects_pack(&self) -> bool {
        self.commands.iter().any(|command| !command.is_delete())
    }
}

fn bad(reason: impl Into<String>) -> GitError {
    GitError::malformed("receive-pack request", reason)
}

/// Parses the start of a receive-pack request body: optional `shallow` lines, the command
/// list (capabilities after a NUL on the first line), a flush, and push options when
/// negotiated. `Ok(None)` means `input` ends before that section does: read more and call
/// again with the longer prefix (cap the prefix size; a command section is small).
pub fn parse_receive_request(input: &[u8]) -> Result<Option<ReceiveRequest>, GitError> {
    let mut request = ReceiveRequest {
        shallow: Vec::new(),
        commands: Vec::new(),
        capabilities: ReceiveCapabilities::default(),
        push_options: Vec::new(),
        pack_offset: 0,
    };
    let mut names = HashSet::new();
    let mut at = 0;
    loop {
        let Some((pkt, len)) = pktline::next_pkt(&input[at..])? else { return Ok(None) };
        at += len;
        let data = match pkt {
            Pkt::Flush => break,
            Pkt::Data(data) => data,
            Pkt::Delim | Pkt::ResponseEnd => {
                return Err(bad("unexpected special packet in the command list"));
            }
        };
        let line = std::str::from_utf8(data).map_err(|_| bad("command is not UTF-8"))?;
        let line = line.strip_suffix('\n').unwrap_or(line);
        if let Some(id) = line.strip_prefix("shallow ") {
            if !request.commands.is_empty() {
                return Err(bad("shallow line after a command"));
            }
            request.shallow.push(parse_id(id)?);
            continue;
        }
        let command = if request.commands.is_empty() {
            let (command, caps) = line.split_once('\0').unwrap_or((line, ""));
            if command.starts_with("push-cert") {
                return Err(bad("push certificates are not supported"));
            }
            request.capabilities = ReceiveCapabilities::parse(caps)?;
            command
        } else {
            line
        };
        let update = parse_command(command)?;
        if !names.insert(update.name.clone()) {
            return Err(bad(format!("ref {} is updated twice", update.name)));
        }
        request.commands.push(update);
    }
    if request.capabilities.push_options {
        loop {
            let Some((pkt, len)) = pktline::next_pkt(&input[at..])? else { return Ok(None) };
            at += len;
            match pkt {
                Pkt::Flush => break,
                Pkt::Data(data) => request.push_options.push(parse_push_option(data)?),
                Pkt::Delim | Pkt::ResponseEnd => {
                    return Err(bad("unexpected special packet in push options"));
                }
            }
        }
    }
    request.pack_offset = at;
    Ok(Some(request))
}

fn parse_id(text: &str) -> Result<ObjectId, GitError> {
    if text.len() != 40 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!("not a 40-hex object id: {text:?}")));
    }
    ObjectId::from_hex(text).map_err(|_| bad(format!("not a 40-hex object id: {text:?}")))
}

fn parse_command(line: &str) -> Result<RefUpdate, GitError> {
    if line.contains('\0') {
        return Err(bad("capabilities are only allowed on the first command"));
    }
    let mut parts = line.splitn(3, ' ');
    let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(format!("expected '<old-id> <new-id> <ref>', got {line:?}")));
    };
    let (old, new) = (parse_id(old)?, parse_id(new)?);
    if !name.starts_with("refs/") {
        return Err(GitError::InvalidRefName { name: name.to_owned(), reason: "does not start with refs/" });
    }
    check_ref_format(name)?;
    Ok(RefUpdate { old, new, name: name.to_owned() })
}

fn parse_push_option(data: &[u8]) -> Result<String, GitError> {
    let text = std::str::from_utf8(data).map_err(|_| bad("push option is not UTF-8"))?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.chars().any(|c| c.is_control()) {
        return Err(bad("push option contains a control character"));
    }
    Ok(text.to_owned())
}

/// Outcome of one command, in the order the client sent them; `error: None` means updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdateResult {
    pub name: String,
    pub error: Option<String>,
}

/// The response body after the pack was processed: `unpack ok` or `unpack <error>`, then
/// `ok <ref>` / `ng <ref> <reason>` per command and a flush, sent on side-band channel 1 and
/// followed by a flush when side-band-64k was negotiated. Empty (or a lone flush with
/// side-band) when the client asked for no report. Messages are made single-line.
pub fn report_status(
    capabilities: &ReceiveCapabilities,
    unpack: Result<(), &str>,
    results: &[RefUpdateResult],
) -> Vec<u8> {
    let mut report = Vec::new();
    if capabilities.report_status || capabilities.report_status_v2 {
        let unpack = match unpack {
            Ok(()) => "ok".to_owned(),
            Err(message) => one_line(message, "unpack failed"),
        };
        report_line(&mut report, &format!("unpack {unpack}"));
        for result in results {
            match &result.error {
                None => report_line(&mut report, &format!("ok {}", result.name)),
                Some(reason) => {
                    report_line(&mut report, &format!("ng {} {}", result.name, one_line(reason, "rejected")))
                }
            }
        }
        pktline::flush(&mut report);
    }
    if !capabilities.side_band_64k {
        return report;
    }
    let mut out = Vec::new();
    pktline::sideband(&mut out, BAND_DATA, &report);
    pktline::flush(&mut out);
    out
}

/// Appends a text line, truncated to fit one packet.
fn report_line(out: &mut Vec<u8>, text: &str) {
    let mut end = text.len().min(MAX_PKT_DATA - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    pktline::pkt_line(out, &text[..end]);
}

fn one_line(message: &str, fallback: &str) -> String {
    let flat: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let flat = flat.trim();
    if flat.is_empty() || flat == "ok" { fallback.to_owned() } else { flat.to_owned() }
}

#[cfg(test)]
#[path = "receive_tests.rs"]
mod tests;
