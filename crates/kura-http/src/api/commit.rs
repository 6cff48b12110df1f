//! Preupload and the NDJSON commit endpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use kura_core::views::{CommitResultView, PreuploadView};
use kura_core::{CommitRequest, UploadCandidate};
use kura_model::RepoPath;
use serde::Deserialize;

use super::commit_line::{CommitLine, CommitLineError, parse_commit_line};
use super::json;
use crate::budget::{Reservation, UNCOUNTED_BYTES};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

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
    Ok(RepoPath::parse(path).map_err(kura_core::CoreError::from)?)
}

pub(crate) async fn preupload(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    // As on the Hub: a preupload prepares a commit, so it needs write rights, except for a
    // pull request (which readers may open and add to).
    check_committer(ctx, &record, revision).await?;
    let body: PreuploadBody = ctx.json().await?;
    let mut candidates = Vec::with_capacity(body.files.len());
    for file in &body.files {
        let path = parse_path(&file.path)?;
        let sample = STANDARD
            .decode(file.sample.as_bytes())
            .map_err(|_| ApiError::bad_request(format!("Invalid base64 sample for '{}'", file.path)))?;
        candidates.push(UploadCandidate { path, size: file.size, sample });
    }
    let plan = ctx.hub().repos().preupload(&record, revision, &candidates).await?;
    Ok(json(PreuploadView::new(body.files.iter().map(|file| file.path.as_str()), &plan)))
}

/// Finds the end of the line at the front of a buffer that grows between calls, looking at
/// each byte once however many chunks a long line arrives in (searching from the start on
/// every chunk was quadratic: a 64 MiB line in 64 KiB chunks scanned about 32 GiB).
#[derive(Default)]
struct LineFinder {
    /// Bytes at the front of the buffer already known to hold no line end.
    scanned: usize,
    /// Bytes looked at in all, for the test of linear cost.
    examined: u64,
}

impl LineFinder {
    /// Splits the first complete line (without its `\n`) off `buffer`, or `None` when it has
    /// no line end yet.
    fn take_line(&mut self, buffer: &mut BytesMut) -> Option<Bytes> {
        let Some(found) = buffer[self.scanned..].iter().position(|&b| b == b'\n') else {
            self.examined += (buffer.len() - self.scanned) as u64;
            self.scanned = buffer.len();
            return None;
        };
        let pos = self.scanned + found;
        self.examined += found as u64 + 1;
        self.scanned = 0;
        let line = buffer.split_to(pos + 1).freeze();
        Some(line.slice(..pos))
    }
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
    let mut finder = LineFinder::default();
    loop {
        if let Some(line) = finder.take_line(buffer) {
            return Ok(Some(line));
        }
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
            CommitLineError::InvalidPath(message) => kura_core::CoreError::InvalidPath(message).into(),
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

/// Refuses, before the body is read, a caller who could not commit to `revision`: a branch
/// needs write access, a pull request (`create_pr=1`, `refs/pr/N`) the right to contribute
/// (the core checks the rest: the pull request's author, its status).
async fn check_committer(ctx: &Ctx, record: &kura_core::RepoRecord, revision: &str) -> ApiResult<()> {
    let accounts = ctx.hub().accounts();
    if ctx.flag("create_pr") || kura_core::pr_number(revision).is_some() {
        accounts.authorize_pull_request(&ctx.identity, record).await?;
    } else {
        accounts.authorize_write(&ctx.identity, record).await?;
    }
    Ok(())
}

pub(crate) async fn create_commit(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    check_committer(ctx, &record, revision).await?;
    let request = read_commit_request(ctx).await?;
    let url = ctx.repo_url(record.repo_type, &record.repo_id);
    let repos = ctx.hub().repos();
    if ctx.flag("create_pr") {
        let (oid, num) = repos.create_pull_commit(&ctx.identity, &record, revision, request).await?;
        return Ok(json(CommitResultView::new(&url, &oid).with_pull_request(&url, num)));
    }
    let oid = repos.create_commit(&ctx.identity, &record, revision, request).await?;
    Ok(json(CommitResultView::new(&url, &oid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes looked at to find the end of one `len`-byte line arriving in `chunk`-byte reads.
    fn examined(len: usize, chunk: usize) -> u64 {
        let mut line = vec![b'a'; len];
        line.extend_from_slice(b"\n{}");
        let mut finder = LineFinder::default();
        let mut buffer = BytesMut::new();
        for piece in line.chunks(chunk) {
            buffer.extend_from_slice(piece);
            if let Some(found) = finder.take_line(&mut buffer) {
                assert_eq!(found.len(), len);
                assert_eq!(&buffer[..], b"{}", "the rest stays for the next line");
                return finder.examined;
            }
        }
        panic!("no line end found");
    }

    #[test]
    fn a_long_line_in_many_reads_costs_linear_time() {
        let chunk = 64 << 10;
        let small = examined(1 << 20, chunk);
        let large = examined(16 << 20, chunk);
        assert_eq!(small, (1 << 20) + 1, "each byte is looked at once");
        assert_eq!(large, (16 << 20) + 1, "each byte is looked at once");
        // Rescanning from the start on every read would cost 16² times as much, not 16.
        assert_eq!(large - 1, 16 * (small - 1));
    }
}
