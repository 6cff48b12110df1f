//! Cached packs for full clones. A clone (wants, no haves, no depth) of a repo whose refs have
//! not moved asks for exactly the pack the previous clone got, so the first such clone stores
//! its pack while it streams it, and the next ones stream the stored pack as it is, skipping
//! the history walk, the object reads and the compression. It plays the part of git's
//! repacked pack with bitmaps.
//!
//! The key is the repo's internal id and the SHA-256 of the sorted wants; the wants are checked
//! to be this repo's commits before any lookup, so a stored pack is only ever served for the
//! history it was built from. One pack is kept per repo: storing a new one deletes the others,
//! so the cache costs at most one compressed copy of each cloned repo's git history.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use kura_model::{ObjectId, Sha256};
use kura_storage::{BlobKey, ByteStream, RepoRecord, StorageError};
use tokio::sync::mpsc;

use crate::Base;
use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::services::Git;

const PACKS: &str = "git/packs";
/// Bumped when the pack layout kura writes changes, so older cached packs are not served.
const FORMAT: &str = "kura-pack-v2";
/// Packs larger than this are sent but not cached.
const MAX_CACHED_PACK: u64 = 2 << 30;

enum Piece {
    Data(Bytes),
    End,
}

/// The copy of a full clone's pack on its way into the cache while the pack streams to the
/// client. Dropped without [`PackTee::finish`] (the client went away, the pack failed, it grew
/// past `MAX_CACHED_PACK`), the store keeps nothing.
pub(crate) struct PackTee {
    tx: mpsc::Sender<Piece>,
    sent: u64,
}

impl PackTee {
    pub(crate) fn start(base: Arc<Base>, repo: RepoRecord, wants: Vec<ObjectId>) -> Self {
        let (tx, rx) = mpsc::channel::<Piece>(8);
        let pieces = futures_util::stream::unfold(Some(rx), |rx| async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(Piece::Data(bytes)) => Some((Ok(bytes), Some(rx))),
                Some(Piece::End) => None,
                None => Some((Err(std::io::Error::other("the pack was not finished")), None)),
            }
        });
        tokio::spawn(async move {
            if let Err(error) = base.store_clone_pack(&repo, &wants, Box::pin(pieces)).await {
                tracing::debug!(repo = %repo.repo_id, %error, "clone pack not cached");
            }
        });
        Self { tx, sent: 0 }
    }

    /// Copies `data` to the store; `false` once the copy is abandoned.
    pub(crate) async fn send(&mut self, data: Bytes) -> bool {
        self.sent += data.len() as u64;
        self.sent <= MAX_CACHED_PACK && self.tx.send(Piece::Data(data)).await.is_ok()
    }

    /// The pack is complete: the store may keep it.
    pub(crate) async fn finish(self) {
        let _ = self.tx.send(Piece::End).await;
    }
}

fn repo_prefix(repo: &RepoRecord) -> BlobKey {
    BlobKey::new(format!("{PACKS}/{}", repo.id))
}

fn pack_key(repo: &RepoRecord, wants: &[ObjectId]) -> BlobKey {
    let mut sorted: Vec<String> = wants.iter().map(ObjectId::to_hex).collect();
    sorted.sort();
    sorted.dedup();
    let digest = Sha256::digest(format!("{FORMAT}\n{}", sorted.join("\n")).as_bytes());
    BlobKey::new(format!("{PACKS}/{}/{}.pack", repo.id, digest.to_hex()))
}

impl Git<'_> {
    /// The stored pack for a full clone of exactly `wants`, if there is one.
    pub(crate) async fn cached_clone_pack(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        wants: &[ObjectId],
    ) -> Result<Option<ByteStream>> {
        self.hub.accounts().authorize_files(identity, repo).await?;
        for want in wants {
            if !self.meta.has_commit(repo.id, want).await? {
                return Err(CoreError::invalid(format!("not our ref {want}")));
            }
        }
        // A newer clone may replace (delete) this pack at any moment: not found is a miss.
        match self.blobs.get(&pack_key(repo, wants), 0, None).await {
            Ok(pack) => Ok(Some(pack)),
            Err(StorageError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }
}

/// The cache's storage, which deleting a repo also needs (`Repos::delete`).
impl Base {
    /// Stores the pack of a full clone of `wants` as `pack` streams it, then drops the repo's
    /// other cached packs. `pack` must end in an error if the pack was not finished: the store
    /// then keeps nothing.
    pub(crate) async fn store_clone_pack(
        &self,
        repo: &RepoRecord,
        wants: &[ObjectId],
        pack: ByteStream,
    ) -> Result<()> {
        let key = pack_key(repo, wants);
        self.blobs.put(&key, pack).await?;
        // The repo may have been deleted while the pack streamed: then drop it again.
        if self.meta.repo(repo.repo_type, &repo.repo_id).await?.is_none_or(|now| now.id != repo.id) {
            self.blobs.delete(&key).await?;
            return Ok(());
        }
        self.delete_clone_packs(repo, Some(&key)).await
    }

    /// Forgets a repo's cached packs (when it is deleted: SQLite may hand its id to a new repo).
    pub(crate) async fn drop_clone_packs(&self, repo: &RepoRecord) -> Result<()> {
        self.delete_clone_packs(repo, None).await
    }

    /// Deletes the repo's cached packs, except `keep`.
    async fn delete_clone_packs(&self, repo: &RepoRecord, keep: Option<&BlobKey>) -> Result<()> {
        let mut listing = self.blobs.list(&repo_prefix(repo)).await?;
        while let Some(entry) = listing.next().await {
            let entry = entry?;
            if Some(&entry.key) != keep {
                self.blobs.delete(&entry.key).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use kura_model::{ObjectId, RepoId, RepoType};
    use kura_storage::{Gating, RepoRecord};

    use super::pack_key;

    fn repo(id: i64) -> RepoRecord {
        RepoRecord {
            id,
            repo_type: RepoType::Model,
            repo_id: RepoId::parse("a/b").unwrap(),
            private: false,
            gating: Gating::Off,
            created_at: 0,
            last_modified: 0,
            tags: vec![],
            created_by: None,
            library_name: None,
            pipeline_tag: None,
            likes: 0,
            downloads: 0,
            downloads_all_time: 0,
            trending: 0,
            state: 0,
        }
    }

    #[test]
    fn keys_depend_on_the_repo_and_the_set_of_wants_only() {
        let (a, b) = (ObjectId([1; 20]), ObjectId([2; 20]));
        assert_eq!(pack_key(&repo(1), &[a, b]), pack_key(&repo(1), &[b, a, a]));
        assert_ne!(pack_key(&repo(1), &[a, b]), pack_key(&repo(1), &[a]));
        assert_ne!(pack_key(&repo(1), &[a]), pack_key(&repo(2), &[a]));
        assert!(pack_key(&repo(7), &[a]).as_str().starts_with("git/packs/7/"));
    }
}
