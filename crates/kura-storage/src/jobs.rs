//! Job port: the one durable queue background work goes through (indexing today; parquet
//! export and garbage collection later), and the facts the indexer records.
//!
//! A job is leased, not taken: `claim_job` hands it to one worker until its lease ends, and a
//! worker that dies leaves it to be claimed again once the lease has passed, so every job runs
//! at least once, on any replica. Jobs are idempotent by `(kind, key)`: queuing one that is
//! already waiting or running does nothing.

use kura_model::Timestamp;

use crate::StorageError;

type Result<T> = std::result::Result<T, StorageError>;

/// A job as claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
    /// Claims so far, this one included.
    pub attempts: u32,
}

/// The queue's backlog, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting for a worker (due or retrying later).
    pub queued: u64,
    /// Leased to a worker whose lease has not ended.
    pub running: u64,
    /// Given up after their last attempt; kept for operators (`kura reindex` queues them again).
    pub failed: u64,
}

/// Facts computed from content, stored as JSON with the version of the code that computed
/// them (a newer version recomputes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactRecord {
    pub key: String,
    pub version: u32,
    pub facts: String,
}

/// The job queue and the indexer's facts; a supertrait of `MetadataStore`.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Queues a job unless one of the same kind and key is waiting or running; a failed one is
    /// queued again with fresh attempts only with `retry_failed`. `Ok(true)` when this call
    /// queued it.
    async fn enqueue_job(
        &self,
        kind: &str,
        key: &str,
        payload: &str,
        now: Timestamp,
        retry_failed: bool,
    ) -> Result<bool>;
    /// Leases the oldest due job to `owner` until `lease_until` and counts the attempt; `None`
    /// when no job is due. Two callers never hold the same job at once.
    async fn claim_job(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<JobRecord>>;
    /// Removes a finished job; `Ok(false)` when `owner` no longer holds its lease (it expired
    /// and someone else claimed it: their run will finish it).
    async fn finish_job(&self, id: i64, owner: &str) -> Result<bool>;
    /// Gives a job back after a failed attempt: queued again from `retry_at`, or, with `None`,
    /// failed for good. `Ok(false)` when `owner` no longer holds its lease.
    async fn fail_job(&self, id: i64, owner: &str, error: &str, retry_at: Option<Timestamp>) -> Result<bool>;
    async fn job_counts(&self, now: Timestamp) -> Result<JobCounts>;

    /// Facts recorded under each of `keys` (at most 1,000 keys), in no particular order.
    async fn facts(&self, table: FactTable, keys: &[String]) -> Result<Vec<FactRecord>>;
    /// Records (or replaces) the facts under `record.key`.
    async fn put_facts(&self, table: FactTable, record: &FactRecord, now: Timestamp) -> Result<()>;
}

/// Where facts are kept: per stored blob (by content) or per commit (by commit id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactTable {
    Blob,
    Commit,
}

/// Most keys one `facts` call may ask for.
pub const MAX_FACT_KEYS: usize = 1000;
