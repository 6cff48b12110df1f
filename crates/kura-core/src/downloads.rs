//! Download counts, as the Hub counts them: a request (`GET` or `HEAD`) for a model's query
//! file (`config.json` and the other files its libraries read first) or for any file of a
//! dataset, once per client (a user, else an address) per repo and day, so one client cannot
//! inflate a count. Counting is an in-memory insert on the download path; a background task
//! writes the batch (`flush_downloads`), so downloads never wait on the database, and the
//! store counts a client once whichever replica it reached. Clients are stored as keyed
//! hashes, never as addresses.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;

use kura_model::RepoType;
use kura_storage::{DownloadHit, RepoRecord};

use crate::error::Result;
use crate::services::Repos;

/// The files whose download counts a model's download (huggingface.js `countDownloads`'
/// default query), at the repo's root.
const MODEL_QUERY_FILES: [&str; 5] =
    ["config.json", "config.yaml", "hyperparams.yaml", "params.json", "meta.yaml"];
/// Days a repo's `downloads` covers.
pub const DOWNLOAD_WINDOW_DAYS: i64 = 30;
/// Distinct downloads a process holds between two writes; past it, new ones are not counted
/// (memory stays bounded; counts err low, never high).
const MAX_PENDING: usize = 200_000;
pub(crate) const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Who downloads, for counting each once per repo and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownloadClient {
    User(i64),
    Address(IpAddr),
    Unknown,
}

/// Whether a request for `path` counts as a download of a repo of `repo_type`.
pub fn counts_as_download(repo_type: RepoType, path: &str) -> bool {
    match repo_type {
        RepoType::Model => MODEL_QUERY_FILES.contains(&path),
        RepoType::Dataset => true,
        _ => false,
    }
}

/// Downloads not written yet, each (repo, day, client) once.
#[derive(Default)]
pub(crate) struct DownloadCounter {
    pending: Mutex<HashSet<(i64, i64, DownloadClient)>>,
}

impl DownloadCounter {
    fn count(&self, repo: i64, day: i64, client: DownloadClient) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() < MAX_PENDING {
            pending.insert((repo, day, client));
        }
    }

    fn take(&self) -> Vec<(i64, i64, DownloadClient)> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *pending).into_iter().collect()
    }

    fn put_back(&self, hits: Vec<(i64, i64, DownloadClient)>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for hit in hits {
            if pending.len() < MAX_PENDING {
                pending.insert(hit);
            }
        }
    }
}

impl Repos<'_> {
    /// Counts a request for `path` of `repo` (already authorized) if it is a download.
    pub fn count_download(&self, repo: &RepoRecord, path: &str, client: DownloadClient) {
        if counts_as_download(repo.repo_type, path) {
            let day = self.now_millis().div_euclid(DAY_MS);
            self.hub.repo_state.downloads.count(repo.id, day, client);
        }
    }

    /// Writes the downloads gathered since the last call (kept for the next one if the write
    /// fails) and lets days older than the window go.
    pub async fn flush_downloads(&self) -> Result<()> {
        let today = self.now_millis().div_euclid(DAY_MS);
        let window_start = today - (DOWNLOAD_WINDOW_DAYS - 1);
        let taken = self.hub.repo_state.downloads.take();
        let hits: Vec<DownloadHit> = taken
            .iter()
            .map(|(repo, day, client)| DownloadHit {
                repo: *repo,
                day: *day,
                client: self.client_key(client),
            })
            .collect();
        if let Err(error) = self.meta.add_downloads(&hits, window_start).await {
            self.hub.repo_state.downloads.put_back(taken);
            return Err(error.into());
        }
        self.meta.expire_downloads(window_start).await?;
        Ok(())
    }

    /// A client as the store keeps it: a keyed hash, the same on every replica.
    fn client_key(&self, client: &DownloadClient) -> String {
        let name = match client {
            DownloadClient::User(id) => format!("user:{id}"),
            DownloadClient::Address(address) => format!("address:{address}"),
            DownloadClient::Unknown => "unknown".to_owned(),
        };
        self.signer.sign(format!("download-client:{name}"))[..32].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_held_once_per_repo_and_day_until_written() {
        let counter = DownloadCounter::default();
        let alice = DownloadClient::User(1);
        let address = DownloadClient::Address("10.0.0.1".parse().unwrap());
        for _ in 0..5 {
            counter.count(7, 100, alice);
            counter.count(7, 100, address);
        }
        counter.count(8, 100, alice);
        counter.count(7, 101, alice);
        let mut hits = counter.take();
        hits.sort_by_key(|(repo, day, _)| (*repo, *day));
        assert_eq!(hits.len(), 4, "{hits:?}");
        assert!(counter.take().is_empty(), "taken once");
        counter.put_back(hits);
        assert_eq!(counter.take().len(), 4, "a failed write keeps them");
    }

    #[test]
    fn only_query_files_count_for_models() {
        assert!(counts_as_download(RepoType::Model, "config.json"));
        assert!(!counts_as_download(RepoType::Model, "sub/config.json"));
        assert!(!counts_as_download(RepoType::Model, "model.safetensors"));
        assert!(counts_as_download(RepoType::Dataset, "data/train.parquet"));
        assert!(!counts_as_download(RepoType::Space, "app.py"));
    }
}
