//! Cross-cutting layers: request ids on every response and one log line per request
//! (internal errors logged once, here).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::InternalError;

/// Echoes the client's request id (or makes one), and logs the request.
pub(crate) async fn request_id_and_log(request: Request, next: Next) -> Response {
    let id = ["x-request-id", "x-amzn-trace-id"]
        .iter()
        .find_map(|h| request.headers().get(*h).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .filter(|v| v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_millis() as u64;
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
