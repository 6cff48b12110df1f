//! Cross-cutting layers: request ids on every response and one log line per request
//! (internal errors logged once, here).

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::InternalError;

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
    let path = request.uri().path().to_owned();
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
    if status == 503 {
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
