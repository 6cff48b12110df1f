//! The HTTP edge: the Hub API, `resolve` downloads and Git LFS over axum. Parses requests into
//! typed values, calls `kura-core`, and shapes responses and errors the way the official
//! clients expect.

mod api;
mod budget;
mod client_ip;
mod context;
mod error;
mod metrics;
mod middleware;
mod moved;
pub mod peer_slots;
mod route;
mod route_repo;
mod route_table;
pub mod serve;
mod space_serve;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
pub use budget::BodyBudget;
pub use client_ip::IpNet;
use kura_core::Hub;
pub use metrics::Metrics;

/// Pure request parsers, public for the fuzz targets in `fuzz/`.
pub mod fuzzing {
    pub use crate::api::commit_line::{CommitLine, CommitLineError, MAX_INLINE_TOTAL, parse_commit_line};
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    /// Externally visible base URL, without a trailing slash.
    pub public_url: String,
    pub metrics: Arc<Metrics>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for per-address limits).
    pub trusted_proxies: Arc<[IpNet]>,
    /// A bearer token that may read `/metrics` besides server admins' tokens.
    pub metrics_token: Option<Arc<str>>,
    /// Request bytes all requests together may hold in memory (`Limits::body_budget_mib`).
    pub body_budget: BodyBudget,
}

/// The client's address: the peer, or the client a trusted proxy names.
fn client_address(state: &AppState, request: &Request) -> Option<std::net::IpAddr> {
    let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    let forwarded = request.headers().get_all("x-forwarded-for").iter().map(|v| v.as_bytes());
    Some(client_ip::client_address(peer, forwarded, &state.trusted_proxies))
}

/// A request to a host named `datasets-server.*` is the dataset viewer's, served at the root
/// of that host as on the Hub (`datasets` derives the name from `HF_ENDPOINT`): its path is
/// taken as under `/datasets-server/`.
fn viewer_host(mut request: Request) -> Request {
    let host = request.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !host.to_ascii_lowercase().starts_with("datasets-server.")
        || request.uri().path().starts_with("/datasets-server/")
    {
        return request;
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("/datasets-server{}?{query}", request.uri().path()),
        None => format!("/datasets-server{}", request.uri().path()),
    };
    if let Ok(uri) = axum::http::Uri::builder().path_and_query(path_and_query).build() {
        *request.uri_mut() = uri;
    }
    request
}

/// The API's router alone (tests of this crate, tools without pages).
pub fn router(state: AppState) -> Router {
    router_beside(state, Router::new(), |_, _| false)
}

/// Which requests belong to the edge beside the API (the web pages).
pub type Claims = fn(&axum::http::Method, &str) -> bool;

/// The binary's one router: a request `claims` accepts goes to `other` (the web edge), every
/// other one to the API; both share the request id, the log line and the metrics.
pub fn router_beside(state: AppState, other: Router, claims: Claims) -> Router {
    let dispatch = move |State(state): State<AppState>, request: Request| {
        let other = other.clone();
        async move {
            // A Space host serves its Space and nothing else, before anything reads a credential.
            match space_serve::space_host(&state.hub, &request) {
                Some(space_serve::SpaceHost::Space(subdomain)) => {
                    return space_serve::serve(&state.hub, request, &subdomain).await;
                }
                Some(space_serve::SpaceHost::Other) => return space_serve::no_space(),
                None => {}
            }
            let request = viewer_host(request);
            if claims(request.method(), request.uri().path()) {
                use tower_service::Service;
                let mut other = other;
                let mut request = request;
                if let Some(address) = client_address(&state, &request) {
                    request.extensions_mut().insert(kura_core::ClientAddress(address));
                }
                match other.call(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            } else {
                api::handle(state, request).await
            }
        }
    };
    Router::new()
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::request_id_and_log))
        .with_state(state)
}
