//! Likes port: which users like which repos. A repo's count (`RepoRecord::likes`) moves in the
//! same transaction as its likes, so listings sort on it without counting.

use kura_model::{RepoId, RepoType, Timestamp};

use crate::StorageError;

type Result<T> = std::result::Result<T, StorageError>;

/// A repo a user likes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikedRepo {
    pub repo_type: RepoType,
    pub repo_id: RepoId,
    pub liked_at: Timestamp,
}

/// A user who likes a repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liker {
    pub name: String,
    pub liked_at: Timestamp,
}

/// The likes table; a supertrait of `MetadataStore`.
#[async_trait::async_trait]
pub trait LikeStore: Send + Sync + 'static {
    /// Likes (`like`) or stops liking a repo for a user; whether anything changed (liking
    /// twice counts once).
    async fn set_like(&self, repo: i64, user: i64, like: bool, at: Timestamp) -> Result<bool>;
    /// The repos a user likes, the latest like first.
    async fn liked_repos(&self, user: i64, offset: u64, limit: u64) -> Result<Vec<LikedRepo>>;
    /// The users who like a repo, the latest first.
    async fn repo_likers(&self, repo: i64, offset: u64, limit: u64) -> Result<Vec<Liker>>;
}
