//! Background work through the one durable queue (`JobStore`): what kinds of jobs exist, how
//! they are queued, and the worker loop every `kura serve` replica runs. A job is leased, so a
//! replica that dies mid-job leaves it to another once the lease ends; handlers are
//! idempotent (indexing a commit twice stores the same facts), which makes "at least once"
//! safe.

use std::time::Duration;

use futures_util::FutureExt;

use kura_model::{ObjectId, RepoId, RepoType};
use kura_storage::{JobCounts, JobRecord, RepoRecord};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::services::Jobs;

/// How long a claimed job is a worker's before another may take it over.
const LEASE: Duration = Duration::from_secs(600);
/// A job running longer than this is abandoned (and retried): well inside its lease.
const JOB_TIMEOUT: Duration = Duration::from_secs(480);
/// Attempts before a job is failed for good (operators see it in `/metrics`; `kura reindex`
/// queues it again).
const MAX_ATTEMPTS: u32 = 3;
/// How often an idle worker looks for jobs other replicas queued (its own wake it at once).
const POLL: Duration = Duration::from_secs(2);

/// The kinds of job, as stored.
pub(crate) const INDEX_COMMIT: &str = "index-commit";
/// `export-parquet`: the dataset viewer's parquet export of a dataset's `main` (same payload).
pub(crate) const EXPORT_PARQUET: &str = "export-parquet";
/// `discard-xorb`: deletes the blobs of a xorb, keyed by its hash, unless it was indexed by
/// the time the job runs (a day after a conversion that wrote it failed; see `Xet::discard_later`).
pub(crate) const DISCARD_XORB: &str = "discard-xorb";

/// `index-commit`: compute what the hub knows about a commit's files, reading them through
/// `repo`'s files (the repo the commit landed in).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct IndexCommit {
    /// The repo's record id, and its type and id when queued (a job follows a rename, and
    /// does nothing for a repo deleted since).
    pub repo: i64,
    pub repo_type: String,
    pub repo_id: String,
    pub commit: String,
}

/// State of [`Jobs`]: a wake-up for this process's workers and its lease owner name.
pub(crate) struct JobState {
    pub(crate) wake: tokio::sync::Notify,
    pub(crate) owner: String,
}

impl JobState {
    pub(crate) fn new() -> Self {
        let nonce: u64 = rand::random();
        Self { wake: tokio::sync::Notify::new(), owner: format!("{}-{nonce:016x}", std::process::id()) }
    }
}

/// Wait before retrying after `attempts` failed attempts: 10 s, 1 min, 6 min.
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(10 * 6u64.saturating_pow(attempts.saturating_sub(1).min(4)))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Jobs<'_> {
    /// Queues the indexing of `commit`, which just landed in `repo` (a no-op when it is queued
    /// or running already, and cheap when its facts exist: the job finds them and stops).
    ///
    /// `retry_failed`: whether a job that failed for good is tried again (yes after a commit or
    /// from `kura reindex`; not when a reader merely finds no facts, so reads of a revision
    /// that cannot be indexed do not start the same failing work again and again).
    pub async fn queue_index(&self, repo: &RepoRecord, commit: &ObjectId, retry_failed: bool) -> Result<()> {
        self.queue(INDEX_COMMIT, repo, commit, retry_failed).await
    }

    /// Queues the parquet export of a dataset commit (the head of `main`).
    pub async fn queue_export(&self, repo: &RepoRecord, commit: &ObjectId, retry_failed: bool) -> Result<()> {
        self.queue(EXPORT_PARQUET, repo, commit, retry_failed).await
    }

    async fn queue(
        &self,
        kind: &str,
        repo: &RepoRecord,
        commit: &ObjectId,
        retry_failed: bool,
    ) -> Result<()> {
        let payload = serde_json::to_string(&IndexCommit {
            repo: repo.id,
            repo_type: repo.repo_type.as_str().to_owned(),
            repo_id: repo.repo_id.to_string(),
            commit: commit.to_hex(),
        })
        .map_err(|error| CoreError::Corrupt(format!("encoding a job: {error}")))?;
        let now = self.now_millis();
        // Keyed by repo and commit: the same commit in two repos is read through each repo's
        // own files (the second job finds the facts and only updates its listing).
        let key = format!("{}:{}", repo.id, commit.to_hex());
        if self.meta.enqueue_job(kind, &key, &payload, now, retry_failed).await? {
            self.hub.job_state.wake.notify_one();
        }
        Ok(())
    }

    /// `queue_index` after a ref moved: a failure to queue is logged, not returned, since the
    /// commit has landed (`kura reindex` and the next read of the revision queue it again).
    pub(crate) async fn queue_index_after_commit(&self, repo: &RepoRecord, commit: &ObjectId) {
        if let Err(error) = self.queue_index(repo, commit, true).await {
            tracing::warn!(%error, repo = %repo.repo_id, %commit, "could not queue the indexing of a commit");
        }
    }

    /// `queue_export` after `main` of a dataset moved; a failure is logged (the viewer queues
    /// it again when it finds no export).
    pub(crate) async fn queue_export_after_commit(&self, repo: &RepoRecord, commit: &ObjectId) {
        if let Err(error) = self.queue_export(repo, commit, true).await {
            tracing::warn!(%error, repo = %repo.repo_id, %commit, "could not queue the parquet export of a commit");
        }
    }

    /// The repo and commit a job names: `None` when the repo was deleted (or replaced under
    /// its id) since, or no longer has the commit. A rename is followed.
    pub(crate) async fn job_target(&self, task: &IndexCommit) -> Result<Option<(RepoRecord, ObjectId)>> {
        let commit = ObjectId::from_hex(&task.commit)
            .map_err(|_| CoreError::Corrupt(format!("a job names no commit: {:?}", task.commit)))?;
        let repo_type = RepoType::ALL.into_iter().find(|kind| kind.as_str() == task.repo_type);
        let (Some(repo_type), Ok(repo_id)) = (repo_type, RepoId::parse(&task.repo_id)) else {
            return Err(CoreError::Corrupt(format!("a job names no repo: {task:?}")));
        };
        let found = match self.meta.repo(repo_type, &repo_id).await? {
            Some(repo) => Some(repo),
            None => self.meta.repo_redirect(repo_type, &repo_id).await?,
        };
        let Some(repo) = found.filter(|repo| repo.id == task.repo) else { return Ok(None) };
        if !self.meta.has_commit(repo.id, &commit).await? {
            return Ok(None);
        }
        Ok(Some((repo, commit)))
    }

    /// The queue's backlog.
    pub async fn counts(&self) -> Result<JobCounts> {
        Ok(self.meta.job_counts(self.now_millis()).await?)
    }

    /// Claims and runs one due job; `Ok(false)` when none was due.
    pub async fn run_one(&self) -> Result<bool> {
        let owner = &self.hub.job_state.owner;
        let now = self.now_millis();
        let Some(job) = self.meta.claim_job(owner, now, now + millis(LEASE)).await? else {
            return Ok(false);
        };
        if job.attempts > MAX_ATTEMPTS {
            // Its earlier runs never reported back (the worker died, or the process): give up.
            let why = format!("no run of {} attempts finished", MAX_ATTEMPTS);
            self.meta.fail_job(job.id, owner, &why, None).await?;
            return Ok(true);
        }
        let run = std::panic::AssertUnwindSafe(self.dispatch(&job)).catch_unwind();
        let outcome = match tokio::time::timeout(JOB_TIMEOUT, run).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(CoreError::Corrupt("the job panicked".into())),
            Err(_) => Err(CoreError::Corrupt(format!("the job ran past {} s", JOB_TIMEOUT.as_secs()))),
        };
        match outcome {
            Ok(()) => {
                self.meta.finish_job(job.id, owner).await?;
            }
            Err(error) => {
                let retry =
                    (job.attempts < MAX_ATTEMPTS).then(|| self.now_millis() + millis(backoff(job.attempts)));
                tracing::warn!(%error, kind = %job.kind, key = %job.key, attempts = job.attempts, retry = retry.is_some(), "a job failed");
                self.meta.fail_job(job.id, owner, &error.to_string(), retry).await?;
            }
        }
        Ok(true)
    }

    async fn dispatch(&self, job: &JobRecord) -> Result<()> {
        match job.kind.as_str() {
            INDEX_COMMIT => {
                let task: IndexCommit = serde_json::from_str(&job.payload).map_err(|error| {
                    CoreError::Corrupt(format!("a malformed {INDEX_COMMIT} job: {error}"))
                })?;
                self.hub.index().run_job(&task).await
            }
            EXPORT_PARQUET => {
                let task: IndexCommit = serde_json::from_str(&job.payload).map_err(|error| {
                    CoreError::Corrupt(format!("a malformed {EXPORT_PARQUET} job: {error}"))
                })?;
                self.hub.viewer().run_export_job(&task).await
            }
            DISCARD_XORB => {
                let hash = kura_cas::MerkleHash::from_hex(&job.key).map_err(|_| {
                    CoreError::Corrupt(format!("a malformed {DISCARD_XORB} job: {}", job.key))
                })?;
                self.hub.xet().discard_xorb_blobs(&hash).await;
                Ok(())
            }
            other => Err(CoreError::Corrupt(format!("unknown job kind {other:?} (a newer replica's job?)"))),
        }
    }

    /// The worker loop: runs jobs while there are any, then waits for a local wake-up or the
    /// poll interval. Runs until its task is dropped; a job cut short is retried after its lease.
    pub async fn work(&self) {
        loop {
            match self.run_one().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "the job queue could not be read"),
            }
            let _ = tokio::time::timeout(POLL, self.hub.job_state.wake.notified()).await;
        }
    }
}
