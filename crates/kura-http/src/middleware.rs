//! Cross-cutting layers: request ids on every response and one log line per request
//! (internal errors logged once, here). Signed capability tokens in paths are redacted
//! from the log: they are bearer credentials for an hour.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::InternalError;
use crate::route::{self, CasRoute, Route};

/// What stands in a logged path for a signed token.
const REDACTED: &str = "<redacted>";

/// `path` as it may be logged: the token segment of a signed URL (`/_kura/lfs/{token}`,
/// `/cas/[v1/]fetch/{token}`) is replaced by `<redacted>`. The token is always the last
/// segment of those routes.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match route::parse(path) {
        Route::LfsTransfer { .. } | Route::Cas(CasRoute::Fetch { .. }) => match path.rsplit_once('/') {
            Some((prefix, _token)) => format!("{prefix}/{REDACTED}").into(),
            None => REDACTED.into(),
        },
        _ => path.into(),
    }
}

fn content_length(headers: &axum::http::HeaderMap) -> u64 {
    headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Echoes the client's request id (or makes one), and logs the request.
pub(crate) async fn request_id_and_log(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let id = ["x-request-id", "x-amzn-trace-id"]
        .iter()
        .find_map(|h| request.headers().get(*h).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .filter(|v| v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let method = request.method().clone();
    let path = loggable_path(request.uri().path()).into_owned();
    let started = std::time::Instant::now();
    let bytes_in = content_length(request.headers());
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_millis() as u64;
    state.metrics.record(
        method.as_str(),
        status,
        elapsed.as_secs_f64(),
        bytes_in,
        content_length(response.headers()),
    );
    // A busy body budget also answers 503, with `Retry-After`; storage failures never do.
    if status == 503 && !response.headers().contains_key("retry-after") {
        state.metrics.storage_error();
    }
    if let Some(InternalError(detail)) = response.extensions().get::<InternalError>() {
        tracing::error!(request.id = %id, %method, %path, status, duration_ms, error = %detail, "request failed");
    } else {
        tracing::debug!(request.id = %id, %method, %path, status, duration_ms, "request");
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn signed_tokens_are_redacted_and_other_paths_kept() {
        for (path, logged) in [
            ("/_kura/lfs/eyJwIjoxfQ.c2ln", "/_kura/lfs/<redacted>"),
            ("/_kura/lfs/a%2Fb.sig", "/_kura/lfs/<redacted>"),
            ("/cas/fetch/eyJwIjoxfQ.c2ln", "/cas/fetch/<redacted>"),
            ("/cas/v1/fetch/eyJwIjoxfQ.c2ln", "/cas/v1/fetch/<redacted>"),
            ("/cas/v1/xorbs/default/abc", "/cas/v1/xorbs/default/abc"),
            ("/api/settings/tokens/12", "/api/settings/tokens/12"),
            ("/alice/m/resolve/main/_kura/lfs/x", "/alice/m/resolve/main/_kura/lfs/x"),
        ] {
            assert_eq!(loggable_path(path), logged, "{path}");
        }
    }
}
