//! git smart HTTP, fetch side: ref advertisement and upload-pack, protocol v2 and v0.
//! Packs are streamed object by object from the same git objects the API writes.

use std::collections::HashSet;
use std::io::Read;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use kura_core::{AdvertisedRef, FetchPlan, RepoRecord};
use kura_git::pktline::{Pkt, delim, flush, parse_pkts, pkt_line, text};
use kura_model::ObjectId;

use super::git_common::{git_repo, git_response};
use super::git_pack::{CacheTarget, cached_pack_response, pack_response};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Largest upload-pack request accepted (wants and haves).
const MAX_REQUEST: usize = 32 << 20;
const V0_CAPABILITIES: &str = "multi_ack_detailed side-band-64k thin-pack ofs-delta shallow no-progress include-tag allow-tip-sha1-in-want allow-reachable-sha1-in-want symref=HEAD:refs/heads/main agent=kura/0";

fn protocol_v2(ctx: &Ctx) -> bool {
    ctx.headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(':').any(|p| p == "version=2"))
}

pub(crate) async fn info_refs(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    match ctx.param("service") {
        Some("git-upload-pack") => {}
        Some("git-receive-pack") => return super::git_push::advertise(ctx, repo).await,
        _ => {
            return Err(ApiError::bad_request(
                "Only the smart HTTP protocol is supported (service=git-upload-pack)",
            ));
        }
    }
    let record = git_repo(ctx, repo).await?;
    let mut out = Vec::new();
    if protocol_v2(ctx) {
        for line in ["version 2", "agent=kura/0", "ls-refs=unborn", "fetch=shallow", "object-format=sha1"] {
            pkt_line(&mut out, line);
        }
        flush(&mut out);
    } else {
        let refs = ctx.hub().git_refs(&ctx.identity, &record).await.map_err(|e| ctx.fail(e))?;
        pkt_line(&mut out, "# service=git-upload-pack");
        flush(&mut out);
        match refs.split_first() {
            Some((first, rest)) => {
                pkt_line(&mut out, &format!("{} {}\0{V0_CAPABILITIES}", first.oid, first.name));
                for r in rest {
                    pkt_line(&mut out, &format!("{} {}", r.oid, r.name));
                }
            }
            None => pkt_line(&mut out, &format!("{} capabilities^{{}}\0{V0_CAPABILITIES}", "0".repeat(40))),
        }
        flush(&mut out);
    }
    Ok(git_response("application/x-git-upload-pack-advertisement", Body::from(out)))
}

/// The request body, gunzipped when git compressed it.
async fn request_body(ctx: &mut Ctx) -> ApiResult<Vec<u8>> {
    let raw = ctx.body_bytes(MAX_REQUEST).await?;
    let gzip = ctx.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) == Some("gzip");
    if !gzip {
        return Ok(raw.to_vec());
    }
    // Inflating up to MAX_REQUEST bytes takes a while: off the async workers.
    let inflated = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).take(MAX_REQUEST as u64 + 1).read_to_end(&mut out).map(|_| out)
    })
    .await
    .map_err(|_| ApiError::bad_request("Malformed gzip request body"))?;
    let out = inflated.map_err(|_| ApiError::bad_request("Malformed gzip request body"))?;
    if out.len() > MAX_REQUEST {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request too large"));
    }
    Ok(out)
}

fn parse_oid(value: &str) -> ApiResult<ObjectId> {
    ObjectId::from_hex(value.get(..40).unwrap_or(value))
        .map_err(|_| ApiError::bad_request(format!("Malformed object id in '{value}'")))
}

/// What a fetch asks for, in either protocol version: distinct wants, haves and shallow
/// boundaries, within the budgets of `Limits` (see [`FetchArgs::new`]).
#[derive(Default)]
struct FetchArgs {
    wants: Vec<ObjectId>,
    haves: Vec<ObjectId>,
    shallow: Vec<ObjectId>,
    depth: Option<u32>,
    done: bool,
    sideband: bool,
    /// Every id seen in a want, have or shallow line, to drop repeats.
    seen: HashSet<(u8, ObjectId)>,
    max_wants: usize,
    max_haves: usize,
}

impl FetchArgs {
    fn new(ctx: &Ctx, sideband: bool) -> Self {
        let limits = &ctx.hub().config().limits;
        Self {
            sideband,
            max_wants: usize::try_from(limits.git_fetch_max_wants).unwrap_or(usize::MAX),
            max_haves: usize::try_from(limits.git_fetch_max_haves).unwrap_or(usize::MAX),
            ..Self::default()
        }
    }

    /// Adds a want or shallow line's id once; more distinct ids than the budget refuse the
    /// request (git sends one want per ref it fetches and one shallow line per boundary).
    fn add_bounded(&mut self, tag: u8, oid: ObjectId) -> ApiResult<()> {
        if !self.seen.insert((tag, oid)) {
            return Ok(());
        }
        let list = if tag == b'w' { &mut self.wants } else { &mut self.shallow };
        if list.len() >= self.max_wants {
            let what = if tag == b'w' { "want" } else { "shallow" };
            return Err(ApiError::bad_request(format!(
                "Too many {what} lines: this server accepts at most {} distinct ones per fetch",
                self.max_wants
            )));
        }
        list.push(oid);
        Ok(())
    }

    /// Adds a have once, up to the budget; the rest are ignored, which can only make the pack
    /// bigger (objects the client had are sent again), never wrong.
    fn add_have(&mut self, oid: ObjectId) {
        if self.haves.len() < self.max_haves && self.seen.insert((b'h', oid)) {
            self.haves.push(oid);
        }
    }
}

fn fetch_arg(args: &mut FetchArgs, line: &str) -> ApiResult<()> {
    if let Some(rest) = line.strip_prefix("want ") {
        args.add_bounded(b'w', parse_oid(rest)?)?;
        if rest.contains("side-band-64k") {
            args.sideband = true;
        }
    } else if let Some(rest) = line.strip_prefix("have ") {
        let oid = parse_oid(rest)?;
        args.add_have(oid);
    } else if let Some(rest) = line.strip_prefix("shallow ") {
        args.add_bounded(b's', parse_oid(rest)?)?;
    } else if let Some(rest) = line.strip_prefix("deepen ") {
        args.depth = Some(rest.trim().parse().map_err(|_| ApiError::bad_request("Malformed deepen"))?);
    } else if line.starts_with("deepen-since ") || line.starts_with("deepen-not ") {
        return Err(ApiError::bad_request("deepen-since and deepen-not are not supported; use --depth"));
    } else if line == "done" {
        args.done = true;
    }
    Ok(())
}

pub(crate) async fn upload_pack(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = git_repo(ctx, repo).await?;
    let body = request_body(ctx).await?;
    let pkts = parse_pkts(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let lines: Vec<Option<&str>> =
        pkts.iter().map(|p| if let Pkt::Data(d) = p { text(d) } else { None }).collect();
    if protocol_v2(ctx) {
        return upload_pack_v2(ctx, &record, &pkts).await;
    }
    let mut args = FetchArgs::new(ctx, false);
    for line in lines.into_iter().flatten() {
        fetch_arg(&mut args, line)?;
    }
    if args.done
        && let Some(response) = cached_clone(ctx, &record, &args, pkt_text("NAK")).await?
    {
        return Ok(response);
    }
    let plan = plan(ctx, &record, &args).await?;
    let mut head = Vec::new();
    if args.depth.is_some() {
        shallow_lines(&mut head, &plan);
        flush(&mut head);
    }
    // Stateless v0 with `deepen`: the first request ends right after the wants' flush, and
    // git then reads only the shallow list (like upload-pack, which sends nothing more).
    let first_flush = pkts.iter().position(|p| *p == Pkt::Flush).unwrap_or(pkts.len());
    if !args.done && first_flush + 1 >= pkts.len() && args.depth.is_some() {
        return Ok(git_response("application/x-git-upload-pack-result", Body::from(head)));
    }
    if !args.done {
        // A negotiation round of stateless v0: acknowledge what we share, no pack yet.
        for oid in &plan.common {
            pkt_line(&mut head, &format!("ACK {oid} common"));
        }
        pkt_line(&mut head, "NAK");
        return Ok(git_response("application/x-git-upload-pack-result", Body::from(head)));
    }
    pkt_line(&mut head, "NAK");
    let cache = cache_target(ctx, &record, &args);
    Ok(pack_response(ctx.state.hub.clone(), head, plan.objects, args.sideband, cache))
}

fn pkt_text(line: &str) -> Vec<u8> {
    let mut out = Vec::new();
    pkt_line(&mut out, line);
    out
}

/// A clone of whole refs: no haves, no shallow boundary, no depth. Its pack depends on the
/// wants alone, so it can be cached.
fn full_clone(args: &FetchArgs) -> bool {
    args.haves.is_empty() && args.shallow.is_empty() && args.depth.is_none()
}

/// The cached pack of a full clone, after `head`, if there is one.
async fn cached_clone(
    ctx: &Ctx,
    record: &RepoRecord,
    args: &FetchArgs,
    head: Vec<u8>,
) -> ApiResult<Option<Response>> {
    if !full_clone(args) || args.wants.is_empty() {
        return Ok(None);
    }
    let cached =
        ctx.hub().cached_clone_pack(&ctx.identity, record, &args.wants).await.map_err(|e| ctx.fail(e))?;
    Ok(cached.map(|pack| cached_pack_response(head, pack, args.sideband)))
}

fn cache_target(ctx: &Ctx, record: &RepoRecord, args: &FetchArgs) -> Option<CacheTarget> {
    full_clone(args).then(|| CacheTarget {
        hub: ctx.state.hub.clone(),
        repo: record.clone(),
        wants: args.wants.clone(),
    })
}

async fn plan(ctx: &Ctx, record: &RepoRecord, args: &FetchArgs) -> ApiResult<FetchPlan> {
    if args.wants.is_empty() {
        return Err(ApiError::bad_request("No objects wanted"));
    }
    ctx.hub()
        .plan_fetch(&ctx.identity, record, &args.wants, &args.haves, &args.shallow, args.depth)
        .await
        .map_err(|e| ctx.fail(e))
}

async fn upload_pack_v2(ctx: &Ctx, record: &RepoRecord, pkts: &[Pkt<'_>]) -> ApiResult {
    let command = pkts
        .first()
        .and_then(|p| if let Pkt::Data(d) = p { text(d) } else { None })
        .and_then(|l| l.strip_prefix("command="));
    let args_start = pkts.iter().position(|p| *p == Pkt::Delim).map_or(pkts.len(), |i| i + 1);
    let args: Vec<&str> =
        pkts[args_start..].iter().filter_map(|p| if let Pkt::Data(d) = p { text(d) } else { None }).collect();
    match command {
        Some("ls-refs") => {
            let refs = ctx.hub().git_refs(&ctx.identity, record).await.map_err(|e| ctx.fail(e))?;
            Ok(git_response("application/x-git-upload-pack-result", Body::from(ls_refs(&refs, &args))))
        }
        Some("fetch") => {
            let mut fetch = FetchArgs::new(ctx, true);
            for line in &args {
                fetch_arg(&mut fetch, line)?;
            }
            if fetch.done
                && let Some(response) = cached_clone(ctx, record, &fetch, pkt_text("packfile")).await?
            {
                return Ok(response);
            }
            let plan = plan(ctx, record, &fetch).await?;
            let mut head = Vec::new();
            if !fetch.done {
                pkt_line(&mut head, "acknowledgments");
                if plan.common.is_empty() {
                    pkt_line(&mut head, "NAK");
                }
                for oid in &plan.common {
                    pkt_line(&mut head, &format!("ACK {oid}"));
                }
                pkt_line(&mut head, "ready");
                delim(&mut head);
            }
            if fetch.depth.is_some() && !(plan.shallow.is_empty() && plan.unshallow.is_empty()) {
                pkt_line(&mut head, "shallow-info");
                shallow_lines(&mut head, &plan);
                delim(&mut head);
            }
            pkt_line(&mut head, "packfile");
            let cache = cache_target(ctx, record, &fetch);
            Ok(pack_response(ctx.state.hub.clone(), head, plan.objects, true, cache))
        }
        _ => Err(ApiError::bad_request("Unknown or missing command")),
    }
}

fn shallow_lines(out: &mut Vec<u8>, plan: &FetchPlan) {
    for oid in &plan.shallow {
        pkt_line(out, &format!("shallow {oid}"));
    }
    for oid in &plan.unshallow {
        pkt_line(out, &format!("unshallow {oid}"));
    }
}

fn ls_refs(refs: &[AdvertisedRef], args: &[&str]) -> Vec<u8> {
    let prefixes: Vec<&str> = args.iter().filter_map(|a| a.strip_prefix("ref-prefix ")).collect();
    let symrefs = args.contains(&"symrefs");
    let mut out = Vec::new();
    for r in refs {
        if !prefixes.is_empty() && !prefixes.iter().any(|p| r.name.starts_with(p)) {
            continue;
        }
        let mut line = format!("{} {}", r.oid, r.name);
        if let (true, Some(target)) = (symrefs, &r.symref_target) {
            line.push_str(&format!(" symref-target:{target}"));
        }
        pkt_line(&mut out, &line);
    }
    flush(&mut out);
    out
}
