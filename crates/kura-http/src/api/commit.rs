//! Preupload and the NDJSON commit endpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use kura_core::{CommitRequest, Entry, is_lfs_path, lfs_patterns};
use kura_model::RepoPath;
use serde::Deserialize;
use serde_json::json;

use super::commit_line::{CommitLine, CommitLineError, parse_commit_line};
use super::json;
use crate::budget::{Reservation, UNCOUNTED_BYTES};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Files at least this large go to LFS, as on the Hub.
const LFS_THRESHOLD: u64 = 10 * 1000 * 1000;
/// Longest NDJSON line (a base64 regular file plus framing), whatever the inline budget.
const MAX_LINE: usize = 64 << 20;
/// Room for the JSON around a file's content on its line (path, keys, quotes).
const LINE_FRAMING: usize = 64 << 10;

#[derive(Deserialize)]
struct PreuploadFile {
    path: String,
    #[serde(default)]
    sample: String,
    size: u64,
}

#[derive(Deserialize)]
struct PreuploadBody {
    files: Vec<PreuploadFile>,
}

fn parse_path(path: &str) -> ApiResult<RepoPath> {
    RepoPath::parse(path).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub(crate) async fn preupload(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    // As on the Hub: a preupload prepares a commit, so it needs write rights, except for a
    // pull request (which readers may open).
    if !ctx.flag("create_pr") {
        ctx.hub().authorize_write(&ctx.identity, &record).await.map_err(|e| ctx.fail(e))?;
    }
    let body: PreuploadBody = ctx.json().await?;
    let resolved = ctx.hub().resolve_revision(&record, revision).await.map_err(|e| ctx.fail(e))?;
    let root = ctx.hub().commit_tree(&resolved.commit).await.map_err(|e| ctx.fail(e))?;
    let attributes = RepoPath::parse(".gitattributes").expect("constant path is valid");
    let patterns = match ctx.hub().lookup(root, &attributes).await.map_err(|e| ctx.fail(e))? {
        Some(Entry::File { oid, info, .. }) if info.lfs.is_none() => {
            let text = ctx.hub().read_small_blob(&oid).await.map_err(|e| ctx.fail(e))?;
            lfs_patterns(&String::from_utf8_lossy(&text))
        }
        _ => Vec::new(),
    };
    // Regular files travel inline in the commit, which carries at most this much; past it,
    // files go to LFS instead (the client follows the answer), so an upload of many small
    // text files still fits in one commit.
    let inline_budget = ctx.hub().config().limits.commit_max_inline_bytes;
    let mut inline_total = 0u64;
    let mut files = Vec::with_capacity(body.files.len());
    for file in body.files {
        let path = parse_path(&file.path)?;
        let sample = STANDARD
            .decode(file.sample.as_bytes())
            .map_err(|_| ApiError::bad_request(format!("Invalid base64 sample for '{}'", file.path)))?;
        let lfs = file.size > 0
            && (file.size >= LFS_THRESHOLD
                || is_lfs_path(&patterns, path.as_str())
                || sample.contains(&0)
                || inline_total + file.size > inline_budget);
        if !lfs {
            inline_total += file.size;
        }
        let existing = ctx.hub().lookup(root, &path).await.map_err(|e| ctx.fail(e))?;
        let oid = match existing {
            Some(Entry::File { info, .. }) if lfs => info.lfs.map(|l| l.oid.to_hex()),
            Some(Entry::File { oid, info, .. }) if info.lfs.is_none() => Some(oid.to_hex()),
            _ => None,
        };
        files.push(json!({"path": file.path, "uploadMode": if lfs { "lfs" } else { "regular" }, "shouldIgnore": false, "oid": oid}));
    }
    Ok(json(json!({"files": files, "commitOid": resolved.commit.to_hex()})))
}

/// Reads NDJSON lines from the body without holding more than one line at a time. The line
/// being read, counted twice (parsing copies it), plus `held` bytes already kept, stay covered
/// by `reservation`.
async fn next_line(
    stream: &mut kura_core::ByteStream,
    buffer: &mut BytesMut,
    max_line: usize,
    reservation: &mut Reservation,
    held: usize,
) -> ApiResult<Option<Bytes>> {
    // Bytes already searched for the line end: each byte is looked at once, however many
    // chunks a long line arrives in.
    let mut scanned = 0;
    loop {
        if let Some(found) = buffer[scanned..].iter().position(|&b| b == b'\n') {
            let pos = scanned + found;
            let line = buffer.split_to(pos + 1).freeze();
            return Ok(Some(line.slice(..pos)));
        }
        scanned = buffer.len();
        if buffer.len() > max_line {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("A commit line is longer than {max_line} bytes; upload large files through LFS"),
            ));
        }
        match stream.next().await {
            Some(Ok(chunk)) => {
                let needed = (held + 2 * (buffer.len() + chunk.len())) as u64;
                if needed > UNCOUNTED_BYTES {
                    reservation.cover(needed).await?;
                }
                buffer.extend_from_slice(&chunk);
            }
            Some(Err(e)) => {
                return Err(ApiError::bad_request(format!("The request body was interrupted: {e}")));
            }
            None if buffer.is_empty() => return Ok(None),
            None => return Ok(Some(buffer.split().freeze())),
        }
    }
}

impl From<CommitLineError> for ApiError {
    fn from(error: CommitLineError) -> Self {
        match error {
            CommitLineError::Invalid(message) => ApiError::bad_request(message),
            CommitLineError::TooLarge(message) => {
                ApiError::new(axum::http::StatusCode::PAYLOAD_TOO_LARGE, message)
            }
        }
    }
}

/// Reads the NDJSON body. Inline content is kept in memory until the commit is written, so
/// it is bounded per commit (`commit_max_inline_bytes`) and counted in the body budget.
async fn read_commit_request(ctx: &mut Ctx) -> ApiResult<CommitRequest> {
    let inline_budget =
        usize::try_from(ctx.hub().config().limits.commit_max_inline_bytes).unwrap_or(usize::MAX);
    // A base64 file of the whole budget, plus its framing.
    let max_line = MAX_LINE.min(inline_budget.saturating_add(2) / 3 * 4 + LINE_FRAMING);
    let mut stream = ctx.body_stream();
    let mut buffer = BytesMut::new();
    let mut request = CommitRequest {
        summary: String::new(),
        description: String::new(),
        parent: None,
        operations: Vec::new(),
    };
    let mut header_seen = false;
    let mut line_number = 0;
    let mut inline_total = 0;
    while let Some(line) =
        next_line(&mut stream, &mut buffer, max_line, &mut ctx.reservation, inline_total).await?
    {
        line_number += 1;
        match parse_commit_line(&line, line_number, &mut inline_total)? {
            CommitLine::Blank => {}
            CommitLine::Header { summary, description, parent } => {
                request.summary = summary;
                request.description = description;
                request.parent = parent;
                header_seen = true;
            }
            CommitLine::Operation(operation) => request.operations.push(operation),
        }
        if inline_total > inline_budget {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The commit carries more than {inline_budget} bytes of inline content; upload large \
                     files through LFS (preupload names them) or split the commit"
                ),
            ));
        }
    }
    if !header_seen {
        return Err(ApiError::bad_request("The commit has no header line"));
    }
    Ok(request)
}

pub(crate) async fn create_commit(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    if ctx.flag("create_pr") {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Pull requests are not supported by this kura server yet",
        ));
    }
    ctx.hub().authorize_write(&ctx.identity, &record).await.map_err(|e| ctx.fail(e))?;
    let request = read_commit_request(ctx).await?;
    let oid =
        ctx.hub().create_commit(&ctx.identity, &record, revision, request).await.map_err(|e| ctx.fail(e))?;
    let url = ctx.repo_url(record.repo_type, &record.repo_id);
    Ok(json(json!({"commitUrl": format!("{url}/commit/{oid}"), "commitOid": oid.to_hex(), "success": true})))
}
