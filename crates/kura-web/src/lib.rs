//! The web edge: server-rendered HTML pages of the hub, beside the API edge (`kura-http`).
//! Pages read through the same core use cases and authorization proofs as the API; the
//! binary's router sends a request here when `claims` says it names a page.

mod assets;
mod budget;
mod diff;
mod error;
mod heavy;
mod highlight;
mod markdown;
mod page_table;
mod pages;
mod request;
mod route;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use kura_core::Hub;

pub use route::claims;

/// What every page handler needs.
#[derive(Clone)]
pub struct WebState {
    pub hub: Arc<Hub>,
    /// Externally visible base URL, without a trailing slash (snippets and `Origin` checks).
    pub public_url: String,
    /// The server's body budget, shared with the API edge (uploads hold inline files).
    pub body_budget: kura_core::BodyBudget,
}

/// Renders the page `request` names (callers check `claims` first; anything else is a 404 page).
pub async fn handle(state: WebState, request: Request) -> Response {
    let head = request.method() == Method::HEAD;
    let Some(page) = route::parse(request.method(), request.uri().path()) else {
        return error::WebError::not_found().into_response();
    };
    let started = std::time::Instant::now();
    let path = request.uri().path().to_owned();
    let mut response = match request::Req::new(state, request).await {
        Ok(req) if page.access().needs_user() && req.identity.is_anonymous() => {
            error::WebError::login_required(&req.path).into_response()
        }
        Ok(mut req) => pages::run(&mut req, page).await.unwrap_or_else(|error| error.into_response()),
        Err(error) => error.into_response(),
    };
    tracing::debug!(
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "page"
    );
    if head {
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

/// The web edge as a router (the binary puts it beside the API with `claims`).
pub fn router(state: WebState) -> axum::Router {
    axum::Router::new().fallback(move |request: Request| handle(state.clone(), request))
}
