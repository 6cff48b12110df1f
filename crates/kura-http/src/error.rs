//! The one mapping from domain errors to the Hub's error contract: status, `X-Error-Code`,
//! `X-Error-Message` and a JSON `{"error": ...}` body. Handlers return a `CoreError` with `?`;
//! whether the caller is anonymous (a hidden repo is a 401 to them, as on the Hub) is decided
//! once, by the dispatcher (`ApiError::for_caller`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::CoreError;
use kura_core::views::ErrorView;

/// An error on its way to the client.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<&'static str>,
    pub(crate) message: String,
    /// Extra headers (`X-Repo-Commit` on EntryNotFound, `Content-Range` on 416).
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The existing repo's URL on a create conflict (`url` in the body).
    pub(crate) url: Option<String>,
    /// The status for an anonymous caller where it differs (a hidden repo or gated files),
    /// until `for_caller` applies it.
    anonymous_status: Option<StatusCode>,
    /// A moved repo's earlier and current ids: the dispatcher redirects when the path names
    /// the earlier one, and otherwise answers as for a missing repo.
    pub(crate) moved: Option<Box<(kura_model::RepoId, kura_model::RepoId)>>,
    /// Set for server-side failures so the logging middleware reports them once.
    /// (Boxed text keeps `ApiError` within clippy's size for error variants.)
    pub(crate) internal: Option<Box<str>>,
    /// Set when a storage engine failed, for `kura_storage_errors_total`.
    pub(crate) storage_failure: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: None,
            message: message.into(),
            headers: Vec::new(),
            url: None,
            moved: None,
            anonymous_status: None,
            internal: None,
            storage_failure: false,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// Maps a domain error for a caller who is known to be anonymous or not.
    pub(crate) fn from_core(error: CoreError, anonymous: bool) -> Self {
        Self::from(error).for_caller(anonymous)
    }

    /// Settles the status for the caller: anonymous callers get a 401 where the Hub answers
    /// them so (hidden repos, gated files). An error already settled is left as it is.
    pub(crate) fn for_caller(mut self, anonymous: bool) -> Self {
        if let Some(status) = self.anonymous_status.take().filter(|_| anonymous) {
            self.status = status;
        }
        self
    }
}

/// The mapping of every domain error, as a signed-in caller sees it (`for_caller` adjusts it
/// for anonymous ones).
impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        let message = error.to_string();
        let storage_failure = error.is_storage_failure();
        let mapped = match error {
            CoreError::RepoNotFound => Self {
                code: Some("RepoNotFound"),
                anonymous_status: Some(StatusCode::UNAUTHORIZED),
                ..Self::new(StatusCode::NOT_FOUND, "Repository not found")
            },
            CoreError::RepoMoved { from, to } => Self {
                code: Some("RepoNotFound"),
                anonymous_status: Some(StatusCode::UNAUTHORIZED),
                moved: Some(Box::new((from, to))),
                ..Self::new(StatusCode::NOT_FOUND, "Repository not found")
            },
            CoreError::GatedRepo(_) => Self {
                code: Some("GatedRepo"),
                anonymous_status: Some(StatusCode::UNAUTHORIZED),
                ..Self::new(StatusCode::FORBIDDEN, message)
            },
            CoreError::RevisionNotFound { .. } => {
                Self { code: Some("RevisionNotFound"), ..Self::new(StatusCode::NOT_FOUND, message) }
            }
            CoreError::EntryNotFound { commit, .. } => {
                let mut error =
                    Self { code: Some("EntryNotFound"), ..Self::new(StatusCode::NOT_FOUND, message) };
                if let Some(commit) = commit {
                    error.headers.push(("x-repo-commit", commit.to_hex()));
                }
                error
            }
            CoreError::Unauthorized(_) => Self::new(StatusCode::UNAUTHORIZED, message),
            CoreError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, message),
            CoreError::Conflict { url, .. } => Self { url, ..Self::new(StatusCode::CONFLICT, message) },
            CoreError::PreconditionFailed(_) => Self::new(StatusCode::PRECONDITION_FAILED, message),
            CoreError::InvalidInput(_) => Self::bad_request(message),
            CoreError::InvalidPath(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, message),
            CoreError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, message),
            CoreError::TooLarge(_) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, message),
            CoreError::RangeNotSatisfiable { size } => {
                let mut error = Self::new(StatusCode::RANGE_NOT_SATISFIABLE, message);
                error.headers.push(("content-range", format!("bytes */{size}")));
                error
            }
            CoreError::NotImplemented(_) => {
                Self { code: Some("NotImplemented"), ..Self::new(StatusCode::NOT_IMPLEMENTED, message) }
            }
            CoreError::Dataset(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, message),
            CoreError::Viewer { code, .. } => {
                Self { code: Some(code), ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, message) }
            }
            CoreError::UpstreamUnavailable(_) => {
                Self { code: Some("UpstreamUnavailable"), ..Self::new(StatusCode::GATEWAY_TIMEOUT, message) }
            }
            CoreError::Upstream { status, .. } => {
                Self::new(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), message)
            }
            CoreError::RateLimited { retry_after_secs } => {
                let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, message);
                error.headers.push(("retry-after", retry_after_secs.to_string()));
                error
            }
            CoreError::Storage(source) => Self {
                internal: Some(format!("{source:?}").into()),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage is temporarily unavailable; please retry",
                )
            },
            other => Self {
                internal: Some(format!("{other:?}").into()),
                ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            },
        };
        Self { storage_failure, ..mapped }
    }
}

/// Header values must be visible ASCII; messages are sanitised rather than dropped.
fn header_safe(text: &str) -> HeaderValue {
    let clean: String =
        text.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).take(500).collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("error"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorView { error: self.message.clone(), url: self.url.clone() };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(code) = self.code {
            headers.insert("x-error-code", HeaderValue::from_static(code));
        }
        headers.insert("x-error-message", header_safe(&self.message));
        for (name, value) in &self.headers {
            headers.insert(*name, header_safe(value));
        }
        if self.status == StatusCode::UNAUTHORIZED && self.code.is_none() {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kura\", Basic realm=\"kura\""),
            );
        }
        if let Some(internal) = self.internal {
            response.extensions_mut().insert(InternalError(internal.into()));
        }
        if self.storage_failure {
            response.extensions_mut().insert(StorageFailure);
        }
        response
    }
}

/// Marker carried to the logging middleware for server-side failures.
#[derive(Clone, Debug)]
pub(crate) struct InternalError(pub(crate) String);

/// Marker carried to the metrics middleware when a storage engine failed (a 503 alone does
/// not say so: a busy body budget answers 503 too).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StorageFailure;

pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(error: ApiError) -> (u16, bool) {
        let response = error.into_response();
        (response.status().as_u16(), response.extensions().get::<StorageFailure>().is_some())
    }

    /// Which core errors are storage failures is `CoreError::is_storage_failure`'s test.
    #[test]
    fn only_a_storage_failure_is_marked_for_the_metrics() {
        let failed =
            ApiError { storage_failure: true, ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "x") };
        assert_eq!(marked(failed), (503, true));
        // The body budget's 503 is no storage error.
        assert_eq!(marked(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy")), (503, false));
        assert_eq!(marked(ApiError::from_core(CoreError::Corrupt("x".into()), false)), (500, false));
    }

    #[test]
    fn hidden_repos_and_gated_files_are_a_401_only_to_anonymous_callers() {
        let status =
            |error: CoreError, anonymous| ApiError::from(error).for_caller(anonymous).status.as_u16();
        assert_eq!(status(CoreError::RepoNotFound, true), 401);
        assert_eq!(status(CoreError::RepoNotFound, false), 404);
        assert_eq!(status(CoreError::GatedRepo("ask".into()), true), 401);
        assert_eq!(status(CoreError::GatedRepo("ask".into()), false), 403);
        assert_eq!(status(CoreError::NotFound("user".into()), true), 404);
        // Settled once: the dispatcher's later call leaves an error a handler settled alone.
        let settled = ApiError::from_core(CoreError::RepoNotFound, false);
        assert_eq!(settled.for_caller(true).status.as_u16(), 404);
    }
}
