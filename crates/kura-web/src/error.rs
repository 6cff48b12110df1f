//! The web edge's one error type, and how each core error looks as a page. A repo the caller
//! may not see is the same 404 page as a missing one.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::CoreError;

use crate::pages::layout::Layout;

#[derive(Debug)]
pub(crate) struct WebError {
    status: StatusCode,
    message: String,
    /// Where to send the browser instead of an error page (login, a moved repo).
    redirect: Option<String>,
}

pub(crate) type WebResult<T = Response> = Result<T, WebError>;

impl WebError {
    pub(crate) fn new(status: StatusCode, message: &str) -> Self {
        WebError { status, message: message.to_owned(), redirect: None }
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "This page does not exist, or you may not see it.")
    }

    pub(crate) fn bad_request(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn too_large(message: &str) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// A 303 to the login page, which comes back to `path` after signing in.
    pub(crate) fn login_required(path: &str) -> Self {
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        WebError {
            status: StatusCode::SEE_OTHER,
            message: String::new(),
            redirect: Some(format!("/login?next={next}")),
        }
    }

    pub(crate) fn redirect_to(location: String) -> Self {
        WebError { status: StatusCode::TEMPORARY_REDIRECT, message: String::new(), redirect: Some(location) }
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// What the page says (forms show it beside the fields they re-render).
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl From<CoreError> for WebError {
    fn from(error: CoreError) -> Self {
        use CoreError as E;
        let status = match &error {
            E::RepoNotFound
            | E::RepoMoved { .. }
            | E::RevisionNotFound { .. }
            | E::EntryNotFound { .. }
            | E::NotFound(_) => return Self::not_found(),
            E::GatedRepo(_) => StatusCode::FORBIDDEN,
            E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::Conflict { .. } => StatusCode::CONFLICT,
            E::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            E::InvalidInput(_) => StatusCode::BAD_REQUEST,
            E::InvalidPath(_) => StatusCode::UNPROCESSABLE_ENTITY,
            E::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            E::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            E::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            E::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => {
                tracing::error!(%error, "page failed");
                return Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server.");
            }
        };
        Self::new(status, &error.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Some(location) = &self.redirect {
            return (self.status, [(header::LOCATION, location.as_str())]).into_response();
        }
        let page = ErrorPage {
            layout: Layout::bare(&self.status.to_string()),
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
        };
        crate::pages::html(self.status, &page)
    }
}
