//! The domain's error type. `kura-http` maps each variant to a status and Hub error code in
//! one place.

use kura_model::{ObjectId, RepoId};
use kura_storage::StorageError;

/// What a use case can fail with, in domain terms.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The repo does not exist, or the caller may not know that it exists.
    #[error("Repository not found")]
    RepoNotFound,
    /// The repo was moved: `from` is an earlier id of the repo now at `to`, which the caller
    /// may see (otherwise the answer is `RepoNotFound`, so a guessed old id of a private repo
    /// never reveals its new one). The HTTP layer redirects where the id is in the path.
    #[error("Repository not found")]
    RepoMoved { from: RepoId, to: RepoId },
    /// Gated repo whose files the caller may not read yet; the message says how to get access.
    #[error("{0}")]
    GatedRepo(String),
    #[error("Invalid rev id: {revision}")]
    RevisionNotFound { revision: String },
    /// Missing file or folder at a resolved commit.
    #[error("Entry not found: {path}")]
    EntryNotFound { path: String, commit: Option<ObjectId> },
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The thing already exists or a concurrent change won.
    #[error("{message}")]
    Conflict { message: String, url: Option<String> },
    /// `parentCommit` did not match the branch head.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    InvalidInput(String),
    /// A file path the repo cannot hold (the Hub answers these 422).
    #[error("{0}")]
    InvalidPath(String),
    /// Something other than a repo, revision or file is missing (a user, an access request).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("Requested range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("{0}")]
    NotImplemented(String),
    /// Too many requests of this kind from this caller; retry after the delay.
    #[error("Too many requests; retry in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// A dataset's data cannot be read or converted (the viewer's export and reads); the
    /// message says why, and is the data's fault, not the server's.
    #[error("{0}")]
    Dataset(String),
    /// A dataset viewer answer that is an error in the viewer's own terms (`X-Error-Code`).
    #[error("{message}")]
    Viewer { code: &'static str, message: String },
    /// The upstream hub of a mirrored repo could not be asked (unreachable, offline mode, a
    /// broken answer) and nothing cached answers instead.
    #[error("{0}")]
    UpstreamUnavailable(String),
    /// The upstream hub refused a mirrored request with a client error kura has no name for.
    #[error("{message}")]
    Upstream { status: u16, message: String },
    /// Storage failed; the request may be retried.
    #[error("storage failure")]
    Storage(#[source] StorageError),
    /// Stored data that cannot be decoded: a broken invariant.
    #[error("corrupt stored object: {0}")]
    Corrupt(String),
}

impl CoreError {
    pub fn invalid(message: impl Into<String>) -> Self {
        CoreError::InvalidInput(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        CoreError::Conflict { message: message.into(), url: None }
    }

    /// Whether a storage engine failed (what `/metrics` counts as a storage error). A body
    /// stream that broke is the client's side, not storage's.
    pub fn is_storage_failure(&self) -> bool {
        matches!(self, CoreError::Storage(error) if !matches!(error, StorageError::Stream(_)))
    }
}

impl From<StorageError> for CoreError {
    fn from(error: StorageError) -> Self {
        CoreError::Storage(error)
    }
}

impl From<kura_model::IdError> for CoreError {
    fn from(error: kura_model::IdError) -> Self {
        CoreError::InvalidInput(error.0)
    }
}

impl From<kura_model::PathError> for CoreError {
    fn from(error: kura_model::PathError) -> Self {
        CoreError::InvalidPath(error.to_string())
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_engine_is_a_storage_failure_and_a_broken_upload_stream_is_not() {
        let backend = StorageError::backend(std::io::Error::other("disk on fire"));
        assert!(CoreError::Storage(backend).is_storage_failure());
        assert!(CoreError::Storage(StorageError::NotFound).is_storage_failure());
        let stream = StorageError::Stream(std::io::Error::other("client left"));
        assert!(!CoreError::Storage(stream).is_storage_failure());
        assert!(!CoreError::Corrupt("x".into()).is_storage_failure());
        assert!(!CoreError::RateLimited { retry_after_secs: 1 }.is_storage_failure());
    }
}
