//! git smart HTTP, push side: the receive-pack ref advertisement and the push itself. The
//! request body is spooled to a temp file (bounded by `Limits::git_push_max_body_bytes`) and,
//! when git compressed it, gunzipped into another one, stopping as soon as the inflated bytes
//! pass `Limits::git_push_gzip_budget` (a multiple of the compressed size). Its command list is
//! parsed and the pack handed to the core as a `PushedPack` it can open readers on; memory stays bounded
//! whatever the push size, and the temp files are removed when the request ends, however it
//! ends.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{StatusCode, header};
use futures_util::StreamExt;
use kura_core::{Limits, PackReader, PushedPack, RepoRecord};
use kura_git::{ReceiveRequest, parse_receive_request, receive_pack_advertisement, report_status};
use tokio::io::AsyncWriteExt;

use super::git_common::{challenge, git_repo, git_response};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Largest command section (ref updates and push options) before the pack.
const MAX_COMMANDS_BYTES: u64 = 1 << 20;

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Push too large: at most {} MiB per push", limit >> 20),
    )
}

/// Finds the repo and checks the caller may push to it (401 with a Basic challenge for
/// anonymous callers, so credential helpers ask for a token): writers push branches and
/// tags, contributors their pull requests (`refs/pr/N`); the core checks each ref.
async fn push_repo(ctx: &Ctx, repo: &RepoRef) -> ApiResult<RepoRecord> {
    let record = git_repo(ctx, repo).await?;
    let accounts = ctx.hub().accounts();
    accounts.authorize_contribution(&ctx.identity, &record).await.map_err(|e| challenge(ctx, e))?;
    Ok(record)
}

/// `GET info/refs?service=git-receive-pack`.
pub(crate) async fn advertise(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = push_repo(ctx, repo).await?;
    let refs = ctx.hub().git().git_refs(&ctx.identity, &record).await?;
    let body = receive_pack_advertisement(
        refs.iter().filter(|r| r.symref_target.is_none()).map(|r| (r.oid, r.name.as_str())),
    );
    Ok(git_response("application/x-git-receive-pack-advertisement", Body::from(body)))
}

/// `POST git-receive-pack`.
pub(crate) async fn receive(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = push_repo(ctx, repo).await?;
    let gzip = ctx.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) == Some("gzip");
    let limits = ctx.hub().config().limits.clone();
    let spooled = spool(ctx.body_stream(), limits.git_push_max_body_bytes).await?;
    let body = if gzip { gunzip(spooled, limits).await? } else { spooled };
    let request = read_commands(body.path()).await?;
    let pack = match request.expects_pack() {
        true => Some(SpooledPack::shared(body, request.pack_offset as u64)?),
        false => None,
    };
    let report = ctx
        .hub()
        .git()
        .receive_push(&ctx.identity, &record, &request.commands, request.capabilities.atomic, pack)
        .await?;
    let unpack = report.unpack.as_ref().map(|_| ()).map_err(String::as_str);
    let mut out = request.capabilities.progress("kura: push processed\n");
    out.extend(report_status(&request.capabilities, unpack, &report.results));
    Ok(git_response("application/x-git-receive-pack-result", Body::from(out)))
}

/// Writes the body to a temp file, refusing bodies over `limit`.
async fn spool(mut body: kura_core::ByteStream, limit: u64) -> ApiResult<tempfile::NamedTempFile> {
    let temp = tempfile::NamedTempFile::new().map_err(spool_error)?;
    let mut file = tokio::fs::File::from_std(temp.reopen().map_err(spool_error)?);
    let mut written = 0u64;
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|_| ApiError::bad_request("The push request body was interrupted"))?;
        written += piece.len() as u64;
        if written > limit {
            return Err(too_large(limit));
        }
        file.write_all(&piece).await.map_err(spool_error)?;
    }
    file.flush().await.map_err(spool_error)?;
    Ok(temp)
}

/// Gunzips a spooled body into a new temp file, stopping one byte past the budget for its
/// compressed size (both files are removed when dropped, on every path).
async fn gunzip(compressed: tempfile::NamedTempFile, limits: Limits) -> ApiResult<tempfile::NamedTempFile> {
    let work = move || -> ApiResult<tempfile::NamedTempFile> {
        let input = std::fs::File::open(compressed.path()).map_err(spool_error)?;
        let budget = limits.git_push_gzip_budget(input.metadata().map_err(spool_error)?.len());
        let mut decoder = flate2::read::GzDecoder::new(std::io::BufReader::new(input)).take(budget + 1);
        let mut output = tempfile::NamedTempFile::new().map_err(spool_error)?;
        let copied = std::io::copy(&mut decoder, &mut output)
            .map_err(|_| ApiError::bad_request("Malformed gzip request body"))?;
        if copied > budget {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Push too large: this gzip body may inflate to at most {} MiB \
                     ({}x its size, at most {} MiB per push)",
                    budget >> 20,
                    limits.git_push_max_gzip_ratio,
                    limits.git_push_max_body_bytes >> 20
                ),
            ));
        }
        output.flush().map_err(spool_error)?;
        Ok(output)
    };
    tokio::task::spawn_blocking(work).await.map_err(|e| spool_error(std::io::Error::other(e)))?
}

/// Parses the command section at the start of the spooled body.
async fn read_commands(path: &Path) -> ApiResult<ReceiveRequest> {
    let path = path.to_owned();
    let head = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut head = Vec::new();
        std::fs::File::open(path)?.take(MAX_COMMANDS_BYTES).read_to_end(&mut head)?;
        Ok(head)
    })
    .await
    .map_err(|e| spool_error(std::io::Error::other(e)))?
    .map_err(spool_error)?;
    match parse_receive_request(&head) {
        Ok(Some(request)) => Ok(request),
        Ok(None) if head.len() as u64 >= MAX_COMMANDS_BYTES => Err(ApiError::bad_request(format!(
            "The push command list is longer than {} KiB",
            MAX_COMMANDS_BYTES >> 10
        ))),
        Ok(None) => Err(ApiError::bad_request("Truncated push request: the command list does not end")),
        Err(error) => Err(ApiError::bad_request(format!("Malformed push request: {error}"))),
    }
}

/// The pack inside the spooled request body: the file from `start` on, seen as offset 0. The
/// temp file is removed when the core lets go of the last reader.
struct SpooledPack {
    file: tempfile::NamedTempFile,
    start: u64,
    len: u64,
}

impl SpooledPack {
    fn shared(file: tempfile::NamedTempFile, start: u64) -> ApiResult<Arc<dyn PushedPack>> {
        let len = file.as_file().metadata().map_err(spool_error)?.len().saturating_sub(start);
        Ok(Arc::new(Self { file, start, len }))
    }
}

impl PushedPack for SpooledPack {
    fn byte_len(&self) -> u64 {
        self.len
    }

    fn open(&self) -> std::io::Result<Box<dyn PackReader>> {
        let mut file = self.file.reopen()?;
        file.seek(SeekFrom::Start(self.start))?;
        Ok(Box::new(Window { file: std::io::BufReader::with_capacity(1 << 16, file), start: self.start }))
    }
}

/// A reader of the spooled body whose offset 0 is the pack's first byte.
struct Window {
    file: std::io::BufReader<std::fs::File>,
    start: u64,
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for Window {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let absolute = match pos {
            SeekFrom::Start(offset) => self.file.seek(SeekFrom::Start(self.start + offset))?,
            relative => self.file.seek(relative)?,
        };
        absolute
            .checked_sub(self.start)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the pack"))
    }
}

fn spool_error(error: std::io::Error) -> ApiError {
    tracing::error!(%error, "spooling a push to a temp file failed");
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The server could not store the push temporarily")
}
