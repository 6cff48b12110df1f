//! What a repo's answers derive from besides its own row (its refs, `usedStorage`, the large
//! objects it holds and their Xet records, whether any Space's card links to it), cached by
//! `(id, state)`.
//!
//! `RepoRecord::state` changes in the same transaction as each of those (database triggers,
//! migration 0021), and every request reads the repo's row fresh: an entry is found only while
//! nothing it was derived from has changed, in this process or any other replica, so nothing
//! here is ever invalidated by hand. Stale entries are never asked for again and age out of the
//! byte budget.
//!
//! An entry is filled from reads made after the row was read, so it can only be newer than the
//! state it is filed under, never older.

use std::sync::Arc;

use kura_model::{RefName, Sha256};
use kura_storage::{RefRecord, RepoQuery, RepoRecord, XetFileRecord};

use crate::cache::ByteCache;
use crate::error::Result;
use crate::services::Repos;

/// Budget of the per-state caches, together.
const STATE_CACHE_BYTES: u64 = 16 << 20;

type Key = (i64, u64);

fn key(repo: &RepoRecord) -> Key {
    (repo.id, repo.state)
}

/// Whether answers for this record may be kept: a record read back from its own insert
/// (SQLite's `RETURNING` answers before the triggers set the state) carries state 0, which
/// names no state of its own.
pub(crate) fn keyed(repo: &RepoRecord) -> bool {
    repo.state != 0
}

pub(crate) struct StateCache {
    refs: ByteCache<Key, Arc<Vec<RefRecord>>>,
    used_storage: ByteCache<Key, u64>,
    linked_by_spaces: ByteCache<Key, bool>,
    held: ByteCache<(i64, u64, Sha256), bool>,
    /// Xet records of the large objects a repo holds, by `(id, state, SHA-256)`.
    pub(crate) xet_files: ByteCache<(i64, u64, Sha256), XetFileRecord>,
}

impl StateCache {
    pub(crate) fn new() -> Self {
        Self {
            refs: ByteCache::new(STATE_CACHE_BYTES / 2, 256),
            used_storage: ByteCache::new(STATE_CACHE_BYTES / 4, 16),
            linked_by_spaces: ByteCache::new(STATE_CACHE_BYTES / 4, 16),
            held: ByteCache::new(STATE_CACHE_BYTES / 4, 64),
            xet_files: ByteCache::new(STATE_CACHE_BYTES / 4, 160),
        }
    }
}

fn refs_bytes(refs: &[RefRecord]) -> u64 {
    refs.iter().map(|r| (std::mem::size_of::<RefRecord>() + r.name.as_str().len()) as u64).sum()
}

impl Repos<'_> {
    /// The repo's refs as of its record's state.
    pub async fn heads(&self, repo: &RepoRecord) -> Result<Arc<Vec<RefRecord>>> {
        let cache = &self.hub.repo_state.states;
        if let Some(refs) = cache.refs.get(&key(repo)) {
            return Ok(refs);
        }
        let refs = Arc::new(self.meta.refs(repo.id).await?);
        if keyed(repo) {
            cache.refs.put(key(repo), refs.clone(), refs_bytes(&refs));
        }
        Ok(refs)
    }

    /// Where `name` points as of the record's state.
    pub async fn head(&self, repo: &RepoRecord, name: &RefName) -> Result<Option<kura_model::ObjectId>> {
        Ok(self.heads(repo).await?.iter().find(|r| r.name == *name).map(|r| r.target))
    }

    /// `usedStorage` as of the record's state.
    pub async fn used_storage(&self, repo: &RepoRecord) -> Result<u64> {
        let cache = &self.hub.repo_state.states;
        if let Some(bytes) = cache.used_storage.get(&key(repo)) {
            return Ok(bytes);
        }
        let bytes = self.meta.repo_lfs_bytes(repo.id).await?;
        if keyed(repo) {
            cache.used_storage.put(key(repo), bytes, 0);
        }
        Ok(bytes)
    }

    /// Whether the repo holds the large object `oid` (its own verified upload, or one copied
    /// in), as of the record's state: what every read of its bytes through the repo is
    /// checked against.
    pub(crate) async fn holds(&self, repo: &RepoRecord, oid: &Sha256) -> Result<bool> {
        let cache = &self.hub.repo_state.states;
        let at = (repo.id, repo.state, *oid);
        if let Some(held) = cache.held.get(&at) {
            return Ok(held);
        }
        let held = self.meta.repo_has_lfs_object(repo.id, oid).await?;
        if keyed(repo) {
            cache.held.put(at, held, 0);
        }
        Ok(held)
    }

    /// Whether any Space's card names this repo, whoever may see that Space: when none does,
    /// the Spaces using it need no query.
    pub(crate) async fn linked_by_spaces(&self, repo: &RepoRecord) -> Result<bool> {
        let cache = &self.hub.repo_state.states;
        if let Some(linked) = cache.linked_by_spaces.get(&key(repo)) {
            return Ok(linked);
        }
        let query = RepoQuery {
            linking: Some((repo.repo_type.as_str().to_owned(), repo.repo_id.to_string())),
            limit: 1,
            ..RepoQuery::every(kura_model::RepoType::Space)
        };
        let linked = !self.meta.list_repos(&query).await?.is_empty();
        if keyed(repo) {
            cache.linked_by_spaces.put(key(repo), linked, 0);
        }
        Ok(linked)
    }
}
