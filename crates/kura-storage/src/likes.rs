//! Likes port: which users like which repos. A repo's count (`RepoRecord::likes`) moves in the
//! same transaction as its likes, so listings sort on it without counting.

use kura_model::Timestamp;

use crate::{RepoRecord, StorageError};

type Result<T> = std::result::Result<T, StorageError>;

/// A repo a user likes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikedRepo {
    /// The repo (without its tags).
    pub repo: RepoRecord,
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
    /// twice counts once). `NotFound` when the repo is gone (a like never outlives it).
    async fn set_like(&self, repo: i64, user: i64, like: bool, at: Timestamp) -> Result<bool>;
    /// The repos a user likes, the latest like first; only public ones with `public_only`
    /// (filtered before paging, so a page says nothing of the private ones).
    async fn liked_repos(
        &self,
        user: i64,
        public_only: bool,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<LikedRepo>>;
    /// Whether a user likes a repo.
    async fn likes_repo(&self, repo: i64, user: i64) -> Result<bool>;
    /// The users who like a repo, the latest first.
    async fn repo_likers(&self, repo: i64, offset: u64, limit: u64) -> Result<Vec<Liker>>;
}
