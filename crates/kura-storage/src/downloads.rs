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
    /// `window_start` on and its trending score as of `today` (`trending_score`). Downloads of
    /// repos that are gone are dropped.
    async fn add_downloads(&self, hits: &[DownloadHit], window_start: i64, today: i64) -> Result<()>;
    /// Forgets days before `window_start` (and who was counted before yesterday, `today - 1`),
    /// recomputes the recent counts of the repos that had them, and the trending score of
    /// every repo that has one.
    async fn expire_downloads(&self, window_start: i64, today: i64) -> Result<()>;
}

/// Days a trending score looks back, today included.
pub const TRENDING_DAYS: i64 = 7;
/// What a like weighs against a download in a trending score.
pub const TRENDING_LIKE_WEIGHT: i64 = 10;

/// The first day and the first millisecond a trending score computed on `today` counts.
pub fn trending_window(today: i64) -> (i64, i64) {
    let first_day = today - (TRENDING_DAYS - 1);
    (first_day, first_day * 86_400_000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_starts_six_days_before_today() {
        assert_eq!(super::trending_window(20_000), (19_994, 19_994 * 86_400_000));
    }
}
