//! Downloads port: per repo and day, so a repo's recent count (`RepoRecord::downloads`, the
//! last 30 days) and its all-time count stay on the repo row for listings to sort on.

use crate::StorageError;

type Result<T> = std::result::Result<T, StorageError>;

/// A download of one repo on one day (days since the Unix epoch) by one client (an opaque
/// key the core derives; the store never sees who it was).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DownloadHit {
    pub repo: i64,
    pub day: i64,
    pub client: String,
}

/// The downloads table; a supertrait of `MetadataStore`.
#[async_trait::async_trait]
pub trait DownloadStore: Send + Sync + 'static {
    /// Counts a batch of downloads in one transaction: each client once per repo and day,
    /// whichever replica saw it, and sets each repo's recent count to its days from
    /// `window_start` on. Downloads of repos that are gone are dropped.
    async fn add_downloads(&self, hits: &[DownloadHit], window_start: i64) -> Result<()>;
    /// Forgets days before `window_start` (and who was counted before yesterday, `today - 1`)
    /// and recomputes the recent counts of the repos that had them.
    async fn expire_downloads(&self, window_start: i64, today: i64) -> Result<()>;
}
