//! Preupload and the NDJSON commit endpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use kura_core::{CommitRequest, Entry, FileContent, Operation, is_lfs_path, lfs_patterns};
use kura_model::{RepoPath, Sha256};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Files at least this large go to LFS, as on the Hub.
const LFS_THRESHOLD: u64 = 10 * 1000 * 1000;
/// Longest NDJSON line (a base64 regular file plus framing).
const MAX_LINE: usize = 64 << 20;
/// Regular (inline) content accepted in one commit.
const MAX_INLINE_TOTAL: usize = 512 << 20;

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
    let mut files = Vec::with_capacity(body.files.len());
    for file in body.files {
        let path = parse_path(&file.path)?;
        let sample = STANDARD
            .decode(file.sample.as_bytes())
            .map_err(|_| ApiError::bad_request(format!("Invalid base64 sample for '{}'", file.path)))?;
        let lfs = file.size > 0
            && (file.size >= LFS_THRESHOLD || is_lfs_path(&patterns, path.as_str()) || sample.contains(&0));
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

/// Reads NDJSON lines from the body without holding more than one line at a time.
async fn next_line(stream: &mut kura_core::ByteStream, buffer: &mut BytesMut) -> ApiResult<Option<Bytes>> {
    loop {
        if let Some(pos) = buffer.iter().position(|&b| b == b'\n') {
            let line = buffer.split_to(pos + 1).freeze();
            return Ok(Some(line.slice(..pos)));
        }
        if buffer.len() > MAX_LINE {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("A commit line is longer than {MAX_LINE} bytes; upload large files through LFS"),
            ));
        }
        match stream.next().await {
            Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
            Some(Err(e)) => {
                return Err(ApiError::bad_request(format!("The request body was interrupted: {e}")));
            }
            None if buffer.is_empty() => return Ok(None),
            None => return Ok(Some(buffer.split().freeze())),
        }
    }
}

fn field<'a>(value: &'a Value, key: &str, line: usize) -> ApiResult<&'a str> {
    value[key]
        .as_str()
        .ok_or_else(|| ApiError::bad_request(format!("Line {line}: missing string field '{key}'")))
}

/// Turns one NDJSON object into an operation.
fn operation(entry: &Value, line: usize, inline_total: &mut usize) -> ApiResult<Operation> {
    let value = &entry["value"];
    match entry["key"].as_str() {
        Some("file") => {
            let path = parse_path(field(value, "path", line)?)?;
            let content = field(value, "content", line)?;
            let bytes = match value["encoding"].as_str().unwrap_or("base64") {
                "base64" => STANDARD.decode(content).map_err(|_| {
                    ApiError::bad_request(format!("Line {line}: invalid base64 content for '{path}'"))
                })?,
                "utf-8" | "utf8" => content.as_bytes().to_vec(),
                other => {
                    return Err(ApiError::bad_request(format!("Line {line}: unknown encoding '{other}'")));
                }
            };
            *inline_total += bytes.len();
            if *inline_total > MAX_INLINE_TOTAL {
                return Err(ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "Too much inline content in one commit; upload large files through LFS",
                ));
            }
            Ok(Operation::Put { path, content: FileContent::Regular(Bytes::from(bytes)) })
        }
        Some("lfsFile") => {
            let path = parse_path(field(value, "path", line)?)?;
            if value["algo"].as_str().is_some_and(|a| a != "sha256") {
                return Err(ApiError::bad_request(format!(
                    "Line {line}: only sha256 LFS objects are supported"
                )));
            }
            let oid = Sha256::from_hex(field(value, "oid", line)?)
                .map_err(|e| ApiError::bad_request(format!("Line {line}: {e}")))?;
            let size = match &value["size"] {
                Value::Null => None,
                other => Some(
                    other
                        .as_u64()
                        .ok_or_else(|| ApiError::bad_request(format!("Line {line}: invalid size")))?,
                ),
            };
            Ok(Operation::Put { path, content: FileContent::Lfs { oid, size } })
        }
        Some("deletedFile") => Ok(Operation::Delete { path: parse_path(field(value, "path", line)?)? }),
        Some("deletedFolder") => {
            let path = RepoPath::parse_folder(field(value, "path", line)?)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            Ok(Operation::DeleteFolder { path })
        }
        Some("copyFile") => Ok(Operation::Copy {
            from: parse_path(field(value, "srcPath", line)?)?,
            to: parse_path(field(value, "destPath", line)?)?,
            revision: value["srcRevision"].as_str().map(str::to_owned),
        }),
        Some(other) => Err(ApiError::bad_request(format!("Line {line}: unknown key '{other}'"))),
        None => Err(ApiError::bad_request(format!("Line {line}: missing 'key'"))),
    }
}

async fn read_commit_request(ctx: &mut Ctx) -> ApiResult<CommitRequest> {
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
    while let Some(line) = next_line(&mut stream, &mut buffer).await? {
        line_number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: Value = serde_json::from_slice(&line)
            .map_err(|e| ApiError::bad_request(format!("Line {line_number}: invalid JSON: {e}")))?;
        if entry["key"] == "header" {
            let value = &entry["value"];
            request.summary = value["summary"].as_str().unwrap_or("").to_owned();
            request.description = value["description"].as_str().unwrap_or("").to_owned();
            request.parent = value["parentCommit"].as_str().map(str::to_owned);
            header_seen = true;
            continue;
        }
        request.operations.push(operation(&entry, line_number, &mut inline_total)?);
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
