//! The Space hosts: `{subdomain}.{spaces_domain}` serves that static Space's files, and nothing
//! else. Requests there never reach the API or the pages, credentials they carry are never
//! looked at (the Space is read as an anonymous visitor reads it), and every answer carries the
//! sandbox policy, so a Space's scripts run in an opaque origin: they can neither read nor set
//! the hub's cookies nor call its API as the visitor.

use std::hash::{Hash, Hasher};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use kura_core::{ByteStream, CoreError, Hub, SPACE_CSP, SpaceFile, script_position};

use crate::error::ApiError;

/// Bytes of a page read before the variables script goes in (where `<head>` is looked for).
const PAGE_HEAD_BYTES: usize = 64 << 10;

/// What a request's `Host` is to the Spaces.
pub(crate) enum SpaceHost {
    /// The host of the Space with this subdomain.
    Space(String),
    /// Another name below the Spaces domain (`www.`, `a.b.`): nothing is served there.
    Other,
}

/// Whether a request is for a host below the Spaces domain, and which (`None`: the hub's, or
/// the dataset viewer's `datasets-server.` host).
pub(crate) fn space_host(hub: &Hub, request: &Request) -> Option<SpaceHost> {
    let spaces = hub.config().spaces.as_ref()?;
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    if let Some(subdomain) = spaces.subdomain_of(host) {
        return Some(SpaceHost::Space(subdomain.to_ascii_lowercase()));
    }
    let viewer = host.get(..16).is_some_and(|start| start.eq_ignore_ascii_case("datasets-server."));
    (spaces.is_below(host) && !viewer).then_some(SpaceHost::Other)
}

/// The answer of a host below the Spaces domain that is no Space's.
pub(crate) fn no_space() -> Response {
    let mut response =
        ApiError::from(CoreError::NotFound("No Space is served here".to_owned())).into_response();
    harden(&mut response);
    response
}

/// Headers on every answer of a Space host, errors included.
fn harden(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SPACE_CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.remove(header::SET_COOKIE);
}

/// Answers a request to the Space host `subdomain`.
pub(crate) async fn serve(hub: &Hub, request: Request, subdomain: &str) -> Response {
    let method = request.method().clone();
    let mut response = if method != Method::GET && method != Method::HEAD {
        let mut refused =
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "A Space host serves files: GET and HEAD only")
                .into_response();
        refused.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        refused
    } else {
        // Only what the answer needs is kept across awaits (a request is not `Sync`).
        let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
        let path = request.uri().path().to_owned();
        drop(request);
        match open(hub, subdomain, &path).await {
            Ok(file) => answer(hub, file, if_none_match.as_ref(), method == Method::HEAD).await,
            Err(error) => ApiError::from(error).into_response(),
        }
    };
    harden(&mut response);
    response
}

async fn open(hub: &Hub, subdomain: &str, path: &str) -> Result<SpaceFile, CoreError> {
    let repo = hub.repos().space_by_subdomain(subdomain).await?;
    hub.repos().open_space_file(&repo, path).await
}

/// The entity tag: the file's, with a digest of the variables script for pages (a changed
/// variable changes the page).
fn entity_tag(file: &SpaceFile) -> String {
    match &file.script {
        Some(script) => {
            let mut hasher = std::hash::DefaultHasher::new();
            script.hash(&mut hasher);
            format!("\"{}-{:016x}\"", file.file.etag(), hasher.finish())
        }
        None => format!("\"{}\"", file.file.etag()),
    }
}

fn not_modified(if_none_match: Option<&HeaderValue>, etag: &str) -> bool {
    if_none_match
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"))
}

async fn answer(
    hub: &Hub,
    file: SpaceFile,
    if_none_match: Option<&HeaderValue>,
    head_only: bool,
) -> Response {
    let etag = entity_tag(&file);
    let length = file.file.size + file.script.as_ref().map_or(0, |s| s.len() as u64);
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, file.content_type)
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, "no-cache");
    for (name, value) in &file.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if not_modified(if_none_match, &etag) {
        return builder.status(StatusCode::NOT_MODIFIED).body(Body::empty()).unwrap_or_default();
    }
    builder = builder.status(StatusCode::OK).header(header::CONTENT_LENGTH, length);
    if head_only {
        return builder.body(Body::empty()).unwrap_or_default();
    }
    let stream = match hub.files().read_file(&file.file, 0, file.file.size).await {
        Ok(stream) => stream,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let body = match file.script {
        Some(script) => match with_script(stream, script).await {
            Ok(stream) => Body::from_stream(stream),
            Err(error) => {
                tracing::warn!(%error, "reading a Space's page failed");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage is temporarily unavailable; please retry",
                )
                .into_response();
            }
        },
        None => Body::from_stream(stream),
    };
    builder.body(body).unwrap_or_default()
}

/// The page's stream with the variables script put in after its `<head>` (looked for in its
/// first 64 KiB; the rest streams through untouched).
async fn with_script(mut stream: ByteStream, script: String) -> std::io::Result<ByteStream> {
    let mut head = Vec::new();
    while head.len() < PAGE_HEAD_BYTES {
        match stream.try_next().await? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    let at = script_position(&head[..head.len().min(PAGE_HEAD_BYTES)]);
    let rest = head.split_off(at);
    let front = [Bytes::from(head), Bytes::from(script), Bytes::from(rest)];
    let front = futures_util::stream::iter(front.into_iter().map(Ok::<_, std::io::Error>));
    Ok(Box::pin(front.chain(stream)))
}
