//! File downloads: `HEAD`/`GET /{prefix}{repo}/resolve/{revision}/{path}` with every metadata
//! header the clients read, and single byte ranges.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use kura_core::CoreError;

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Parses a single `bytes=` range against `size`; `None` means "serve everything".
fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        (size.saturating_sub(suffix), size.saturating_sub(1))
    } else {
        let start: u64 = start.parse().map_err(|_| ())?;
        let end = if end.is_empty() {
            size.saturating_sub(1)
        } else {
            end.parse::<u64>().map_err(|_| ())?.min(size.saturating_sub(1))
        };
        (start, end)
    };
    if parsed.0 >= size || parsed.0 > parsed.1 {
        return Err(());
    }
    Ok(Some(parsed))
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

pub(crate) async fn resolve_file(ctx: &mut Ctx, repo: &RepoRef, revision: &str, path: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let file = ctx.hub().open_file(&ctx.identity, &record, revision, path).await.map_err(|e| ctx.fail(e))?;
    let (commit, size, etag) = (file.commit, file.size, file.etag());
    let range_header = ctx.headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let range = match range_header.as_deref().map(|r| parse_range(r, size)) {
        Some(Err(())) => {
            let mut error = ApiError::from_core(CoreError::RangeNotSatisfiable { size }, false);
            error.headers.push(("x-repo-commit", commit.to_hex()));
            return Err(error);
        }
        Some(Ok(range)) => range,
        None => None,
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
    let stream = ctx.state.hub.read_file(&file, offset, len).await.map_err(|e| ctx.fail(e))?;
    *response.body_mut() = Body::from_stream(stream);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-2", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
        assert_eq!(parse_range("bytes=0-", 0), Err(()));
    }
}
