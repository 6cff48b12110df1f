//! The one mapping from domain errors to the Hub's error contract: status, `X-Error-Code`,
//! `X-Error-Message` and a JSON `{"error": ...}` body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::CoreError;

/// An error on its way to the client.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<&'static str>,
    pub(crate) message: String,
    /// Extra headers (`X-Repo-Commit` on EntryNotFound, `Content-Range` on 416).
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Extra JSON fields (`url` on a create conflict).
    pub(crate) extra: Option<(&'static str, String)>,
    /// Set for server-side failures so the logging middleware reports them once.
    pub(crate) internal: Option<String>,
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
            extra: None,
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

    /// Maps a domain error. `anonymous` decides between 401 and 404 for hidden repos, as the
    /// Hub answers anonymous callers with 401.
    pub(crate) fn from_core(error: CoreError, anonymous: bool) -> Self {
        let message = error.to_string();
        let storage_failure = error.is_storage_failure();
        let mapped = match error {
            CoreError::RepoNotFound => {
                let status = if anonymous { StatusCode::UNAUTHORIZED } else { StatusCode::NOT_FOUND };
                Self { code: Some("RepoNotFound"), ..Self::new(status, "Repository not found") }
            }
            CoreError::GatedRepo(_) => {
                let status = if anonymous { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
                Self { code: Some("GatedRepo"), ..Self::new(status, message) }
            }
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
            CoreError::Conflict { url, .. } => {
                let mut error = Self::new(StatusCode::CONFLICT, message);
                error.extra = url.map(|u| ("url", u));
                error
            }
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
            CoreError::NotImplemented(_) => Self::new(StatusCode::NOT_IMPLEMENTED, message),
            CoreError::RateLimited { retry_after_secs } => {
                let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, message);
                error.headers.push(("retry-after", retry_after_secs.to_string()));
                error
            }
            CoreError::Storage(source) => Self {
                internal: Some(format!("{source:?}")),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage is temporarily unavailable; please retry",
                )
            },
            other => Self {
                internal: Some(format!("{other:?}")),
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
        let mut body = serde_json::json!({ "error": self.message });
        if let Some((key, value)) = &self.extra {
            body[*key] = serde_json::Value::String(value.clone());
        }
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
            response.extensions_mut().insert(InternalError(internal));
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
}
