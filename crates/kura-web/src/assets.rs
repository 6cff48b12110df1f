//! The stylesheet and script, compiled into the binary and served by kura itself (no CDN: the
//! UI works air-gapped). Their URLs carry a hash of their content, so browsers may cache them
//! forever and still see a new release at once.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use crate::error::{WebError, WebResult};

const CSS: &str = include_str!("../assets/kura.css");
const JS: &str = include_str!("../assets/kura.js");

fn versioned(name: &str, body: &str) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("/_kura/assets/{name}?v={:016x}", hasher.finish())
}

pub(crate) static CSS_URL: LazyLock<String> = LazyLock::new(|| versioned("kura.css", CSS));
pub(crate) static JS_URL: LazyLock<String> = LazyLock::new(|| versioned("kura.js", JS));

pub(crate) fn serve(name: &str) -> WebResult {
    let (body, content_type) = match name {
        "kura.css" => (CSS, "text/css; charset=utf-8"),
        "kura.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return Err(WebError::not_found()),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}
