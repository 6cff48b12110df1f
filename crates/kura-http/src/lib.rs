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
mod route_table;
pub mod serve;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
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

/// The complete router. Every request goes through `dispatch`, which routes on the raw path.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::request_id_and_log))
        .with_state(state)
}

async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    api::handle(state, request).await
}
