//! Errors every storage engine reports, in terms the domain can act on.

/// What went wrong in a storage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The record or object does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint was violated (the thing already exists).
    #[error("already exists")]
    AlreadyExists,
    /// A compare-and-swap failed: the current value was not the expected one.
    #[error("concurrent update")]
    Conflict,
    /// The body stream failed (client went away, or a verifying adapter rejected it).
    #[error("upload stream failed: {0}")]
    Stream(#[source] std::io::Error),
    /// The engine is unreachable or failed; retrying later may succeed.
    #[error("storage backend failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StorageError {
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StorageError::Backend(Box::new(error))
    }
}
