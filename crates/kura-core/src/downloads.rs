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

impl DownloadClient {
    /// The client an address stands for: an IPv4 address (also when written as IPv6), or an
    /// IPv6 /48, the block one customer of a provider may hold (so rotating addresses within it
    /// counts once).
    pub fn from_address(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => DownloadClient::Address(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => DownloadClient::Address(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    let block = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
                    DownloadClient::Address(IpAddr::V6(block))
                }
            },
        }
    }
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
    /// The last day old counts were let go (once a day per process).
    expired: std::sync::atomic::AtomicI64,
}

impl DownloadCounter {
    /// Whether `today` is a day whose expiry has not run yet in this process (and marks it).
    fn new_day(&self, today: i64) -> bool {
        self.expired.swap(today, std::sync::atomic::Ordering::Relaxed) != today
    }

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
    /// fails; only today's and yesterday's count), and once a day lets older days go.
    pub async fn flush_downloads(&self) -> Result<()> {
        let today = self.now_millis().div_euclid(DAY_MS);
        let window_start = today - (DOWNLOAD_WINDOW_DAYS - 1);
        let mut taken = self.hub.repo_state.downloads.take();
        taken.retain(|(_, day, _)| *day == today || *day == today - 1);
        taken.sort_by_key(|(repo, day, _)| (*repo, *day));
        let key = self.signer.derive_key("kura download clients v1");
        let hits: Vec<DownloadHit> = taken
            .iter()
            .map(|(repo, day, client)| DownloadHit {
                repo: *repo,
                day: *day,
                client: client_key(&key, *repo, *day, client),
            })
            .collect();
        for start in (0..hits.len()).step_by(FLUSH_CHUNK) {
            let end = (start + FLUSH_CHUNK).min(hits.len());
            if let Err(error) = self.meta.add_downloads(&hits[start..end], window_start, today).await {
                self.hub.repo_state.downloads.put_back(taken[start..].to_vec());
                return Err(error.into());
            }
        }
        if self.hub.repo_state.downloads.new_day(today) {
            self.meta.expire_downloads(window_start, today).await?;
        }
        Ok(())
    }
}

/// Downloads written per transaction, so a large batch never holds the database long.
const FLUSH_CHUNK: usize = 1_000;

/// A client as the store keeps it: a keyed hash of the client with the repo and the day, so
/// rows say nothing without the key and cannot be linked across repos or days.
fn client_key(key: &[u8; 32], repo: i64, day: i64, client: &DownloadClient) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let name = match client {
        DownloadClient::User(id) => format!("user:{id}"),
        DownloadClient::Address(address) => format!("address:{address}"),
        DownloadClient::Unknown => "unknown".to_owned(),
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(format!("{repo}:{day}:{name}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
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

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn addresses_count_as_ipv4_hosts_and_ipv6_blocks() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        let plain: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(DownloadClient::from_address(mapped), DownloadClient::from_address(plain));
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:ffff:abcd::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:2::1".parse().unwrap();
        assert_eq!(DownloadClient::from_address(one), DownloadClient::from_address(other), "one /48");
        assert_ne!(DownloadClient::from_address(one), DownloadClient::from_address(elsewhere));
    }

    #[test]
    fn client_keys_differ_by_repo_and_day() {
        let key = [7u8; 32];
        let alice = DownloadClient::User(1);
        let a = client_key(&key, 1, 100, &alice);
        assert_eq!(a, client_key(&key, 1, 100, &alice));
        assert_ne!(a, client_key(&key, 2, 100, &alice));
        assert_ne!(a, client_key(&key, 1, 101, &alice));
        assert_ne!(a, client_key(&[8u8; 32], 1, 100, &alice));
        assert_eq!(a.len(), 32);
    }
}
