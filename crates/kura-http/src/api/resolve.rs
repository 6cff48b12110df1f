//! File downloads: `HEAD`/`GET /{prefix}{repo}/resolve/{revision}/{path}` with every metadata
//! header the clients read, and single byte ranges.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use kura_core::CoreError;
use kura_model::{ByteRange, Unsatisfiable};

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// The request's `Range` header under the one set of rules of [`ByteRange::parse`]; `None`
/// when absent or to be ignored. Every download route reads it here.
pub(super) fn range_header(ctx: &Ctx) -> Result<Option<ByteRange>, Unsatisfiable> {
    match ctx.headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(value) => ByteRange::parse(value),
    }
}

/// Repo content is never a page of the hub's origin: every raw answer (file, redirect or
/// error) forbids scripts, plugins and same-origin access, and content sniffing, so an HTML or
/// SVG file opened from a link cannot act as the signed-in user.
pub(super) fn sandbox(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

pub(crate) async fn resolve_file(ctx: &mut Ctx, repo: &RepoRef, revision: &str, path: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let file = ctx.hub().files().open_file(&ctx.identity, &record, revision, path).await?;
    let client = match (ctx.identity.principal(), ctx.client_ip) {
        (Some(principal), _) => kura_core::DownloadClient::User(principal.user.id),
        (None, Some(address)) => kura_core::DownloadClient::from_address(address),
        (None, None) => kura_core::DownloadClient::Unknown,
    };
    ctx.hub().repos().count_download(&record, path, client);
    let (commit, size, etag) = (file.commit, file.size, file.etag());
    let range = match range_header(ctx).and_then(|r| r.map(|r| r.resolve(size)).transpose()) {
        Ok(range) => range,
        Err(_) => {
            let mut error = ApiError::from(CoreError::RangeNotSatisfiable { size });
            error.headers.push(("x-repo-commit", commit.to_hex()));
            return Err(error);
        }
    };
    let (offset, len) = range.map_or((0, size), |(a, b)| (a, b - a + 1));
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    insert(headers, "x-repo-commit", &commit.to_hex());
    insert(headers, "etag", &format!("\"{etag}\""));
    insert(headers, "x-linked-etag", &format!("\"{etag}\""));
    insert(headers, "x-linked-size", &size.to_string());
    insert(headers, "accept-ranges", "bytes");
    insert(headers, "content-type", "application/octet-stream");
    insert(headers, "content-length", &len.to_string());
    let file_name = file.path.file_name().replace(['"', '\\'], "_");
    insert(
        headers,
        "content-disposition",
        &format!(
            "inline; filename*=UTF-8''{}; filename=\"{}\";",
            super::encode(file.path.file_name()),
            file_name.escape_default()
        ),
    );
    if let Some(xet_hash) = file.xet_hash() {
        let repo_id = record.repo_id.to_string();
        super::xet::resolve_headers(ctx, repo, &repo_id, &commit.to_hex(), xet_hash, response.headers_mut());
    }
    if let Some((a, b)) = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        insert(response.headers_mut(), "content-range", &format!("bytes {a}-{b}/{size}"));
    }
    if ctx.method == Method::HEAD || len == 0 {
        return Ok(response);
    }
    let stream = ctx.state.hub.files().read_file(&file, offset, len).await?;
    *response.body_mut() = Body::from_stream(stream);
    Ok(response)
}
