//! Discussions port: a repo's discussions and pull requests (one number sequence per repo) and
//! their events (comments, status and title changes, commits). Event data is JSON the core
//! writes and reads; the store keeps it as text.

use kura_model::{ObjectId, Timestamp};

use crate::StorageError;

type Result<T> = std::result::Result<T, StorageError>;

/// A discussion or pull request of a repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscussionRecord {
    pub repo: i64,
    /// From 1, shared by discussions and pull requests of the repo.
    pub num: u64,
    pub title: String,
    /// `open`, `closed`, `merged` or `draft`.
    pub status: String,
    pub is_pull_request: bool,
    /// The user who opened it (`None`: the account is gone).
    pub author: Option<i64>,
    pub created_at: Timestamp,
}

/// One event of a discussion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscussionEventRecord {
    /// Unique within the server (the core makes it).
    pub id: String,
    /// `comment`, `status-change`, `title-change`, `commit`.
    pub kind: String,
    pub author: Option<i64>,
    pub created_at: Timestamp,
    /// The event's data, JSON.
    pub data: String,
}

/// A discussion about to be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscussion<'a> {
    pub repo: i64,
    pub title: &'a str,
    pub status: &'a str,
    pub is_pull_request: bool,
    pub author: i64,
    pub created_at: Timestamp,
    /// For a pull request: the commit its ref `refs/pr/{num}` starts at, created in the same
    /// transaction (a ref of that name already there refuses the whole creation).
    pub pr_head: Option<ObjectId>,
}

/// What one discussion may hold: events, and bytes of event data in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscussionBudget {
    pub max_events: u64,
    pub max_bytes: u64,
}

/// Which discussions a listing keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscussionFilter {
    pub author: Option<i64>,
    /// `Some(true)`: pull requests only; `Some(false)`: discussions only.
    pub pull_requests: Option<bool>,
    /// The statuses kept; empty: all.
    pub statuses: Vec<String>,
}

/// The discussions tables; a supertrait of `MetadataStore`.
#[async_trait::async_trait]
pub trait DiscussionStore: Send + Sync + 'static {
    /// Opens a discussion numbered after the repo's last one, with its first events and, for a
    /// pull request with `pr_head`, its ref `refs/pr/{num}`; returns its number.
    async fn create_discussion(
        &self,
        new: NewDiscussion<'_>,
        events: &[DiscussionEventRecord],
    ) -> Result<u64>;
    async fn discussion(&self, repo: i64, num: u64) -> Result<Option<DiscussionRecord>>;
    /// A page of the repo's discussions that pass `filter`, newest first, and how many pass.
    async fn discussions(
        &self,
        repo: i64,
        filter: &DiscussionFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DiscussionRecord>, u64)>;
    /// The first `limit` events of a discussion, oldest first.
    async fn discussion_events(&self, repo: i64, num: u64, limit: u64) -> Result<Vec<DiscussionEventRecord>>;
    /// Appends events and, with them, sets the title or the status, in one transaction, if
    /// the discussion stays within `budget` (`Ok(false)`, and nothing written, if not) and is
    /// in one of `change.from_statuses` (`Conflict` if not); `NotFound` when there is no such
    /// discussion.
    async fn add_discussion_events(
        &self,
        repo: i64,
        num: u64,
        events: &[DiscussionEventRecord],
        change: DiscussionChange<'_>,
        budget: DiscussionBudget,
    ) -> Result<bool>;
    async fn discussion_event(&self, repo: i64, num: u64, id: &str) -> Result<Option<DiscussionEventRecord>>;
    /// Replaces an event's data if it is still `old` (`Conflict` if it changed meanwhile) and
    /// the discussion stays within `budget` (`Ok(false)` if not); `NotFound` when there is no
    /// such event.
    async fn update_discussion_event(
        &self,
        repo: i64,
        num: u64,
        id: &str,
        old: &str,
        new: &str,
        budget: DiscussionBudget,
    ) -> Result<bool>;
}

/// What an event sets on its discussion besides itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscussionChange<'a> {
    pub title: Option<&'a str>,
    pub status: Option<&'a str>,
    /// The statuses, comma-separated, the discussion must be in for the write to happen
    /// (`Conflict` otherwise): a status change checked and written in one statement.
    pub from_statuses: Option<&'a str>,
}
