//! Cross-cutting layers: a request id on every response, and one log line per request at
//! `info` (method, route template, path, status, bytes, duration, request id; internal
//! errors at `error`, logged once, here). Signed capability tokens in paths are redacted
//! from the log: they are bearer credentials for an hour.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use http_body::Body as _;

use crate::AppState;
use crate::error::{InternalError, StorageFailure};
use crate::route::{self, CasRoute, Route};

/// What stands in a logged path for a signed token.
const REDACTED: &str = "<redacted>";

/// `path` (parsed as `route`) as it may be logged: the token segment of a signed URL
/// (`/_kura/lfs/{token}`, `/cas/[v1/]fetch/{token}`) is replaced by `<redacted>`. The token
/// is always the last segment of those routes.
fn loggable_path<'a>(path: &'a str, route: &Route) -> std::borrow::Cow<'a, str> {
    match route {
        Route::LfsTransfer { .. } | Route::Cas(CasRoute::Fetch { .. }) => match path.rsplit_once('/') {
            Some((prefix, _token)) => format!("{prefix}/{REDACTED}").into(),
            None => REDACTED.into(),
        },
        _ => path.into(),
    }
}

fn content_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// A fresh request id. The client's `X-Request-Id` is not taken: a client could reuse one
/// to blur its requests into another's in the log.
fn new_request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Gives the request an id (returned as `X-Request-Id`), counts it and logs it.
pub(crate) async fn request_id_and_log(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let id = new_request_id();
    let method = request.method().clone();
    let parsed = route::parse(request.uri().path());
    let route = parsed.template();
    let path = loggable_path(request.uri().path(), &parsed).into_owned();
    let started = std::time::Instant::now();
    let bytes_in = content_length(request.headers()).unwrap_or(0);
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_millis() as u64;
    // Streamed bodies (git packs, large downloads) declare no length: logged as "-".
    let bytes_out = content_length(response.headers()).or_else(|| response.body().size_hint().exact());
    state.metrics.record(method.as_str(), status, elapsed.as_secs_f64(), bytes_in, bytes_out.unwrap_or(0));
    if response.extensions().get::<StorageFailure>().is_some() {
        state.metrics.storage_error();
    }
    let bytes_out = bytes_out.map_or_else(|| "-".to_owned(), |n| n.to_string());
    if let Some(InternalError(detail)) = response.extensions().get::<InternalError>() {
        tracing::error!(
            request.id = %id, %method, %route, %path, status, bytes_in, %bytes_out, duration_ms,
            error = %detail, "request failed"
        );
    } else {
        tracing::info!(request.id = %id, %method, %route, %path, status, bytes_in, %bytes_out, duration_ms, "request");
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::loggable_path;
    use crate::route;

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
            assert_eq!(loggable_path(path, &route::parse(path)), logged, "{path}");
        }
    }
}
