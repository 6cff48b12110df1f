//! The hub's services: each groups the use cases of one area and owns that area's state.
//!
//! | service | use cases | owns |
//! |---|---|---|
//! | [`Accounts`] | identities, permissions, tokens, sessions, orgs, gated access, audit | login throttle, token-mint limiter |
//! | [`Repos`] | repos, revisions, trees, commits, cards, last commits, preupload, squash, a namespace's repos | the card cache |
//! | [`Collections`] | collections of repos and collections: create, list, change, items | nothing (posts are rate-limited in `Accounts`' state) |
//! | [`Discussions`] | a repo's discussions: open, list, comment, rename, open/close, edit and hide comments | nothing (posts are rate-limited in `Accounts`' state) |
//! | [`Files`] | LFS batch and transfers, reads of files and objects (the read proofs), a repo's large objects (list, unlink, copy) | nothing |
//! | [`Xet`] | Xet tokens, xorbs, shards, reconstructions, dedup | the chunk-table cache |
//! | [`Git`] | ref advertisement, fetch (pack streaming, clone-pack cache), push | nothing |
//! | [`Ops`] | fsck | nothing |
//! | [`Jobs`] | the durable job queue, the worker loop | the workers' wake-up and lease owner |
//! | [`Index`] | indexing commits (file and commit facts), model metadata and the security scan | nothing |
//! | [`Mirror`] | repos answered from an upstream hub: refs, cached answers, fetched content | the upstream port, calls in flight, counters |
//! | [`Viewer`] | the dataset viewer: the parquet export (`refs/convert/parquet`) and its reads | the parquet footer cache |
//!
//! A service is a cheap view of the hub (`hub.repos()`), so services may call each other
//! (a commit checks pointers with `Files`, everything asks `Accounts` for permission) without
//! owning each other. What all of them share (storage ports, signer, configuration, clock)
//! is `Base`, which each view dereferences to.

use std::sync::{Arc, Mutex};

use kura_cas::MerkleHash;
use kura_model::ObjectId;

use crate::{Base, Hub, cache, card::CardInfo, rate_limit, sessions, tokens, xet};

/// State of [`Accounts`].
pub(crate) struct AccountState {
    pub(crate) logins: sessions::Logins,
    /// Token creation over HTTP, per user (in this process only).
    pub(crate) token_mints: Mutex<rate_limit::RateLimiter>,
    /// Discussion posts (new discussions, comments, edits), per user (in this process only).
    pub(crate) posts: Mutex<rate_limit::RateLimiter>,
    /// Likes, per address (in this process only).
    pub(crate) address_likes: Mutex<rate_limit::RateLimiter>,
    /// Collection changes, per user (in this process only).
    pub(crate) collection_changes: Mutex<rate_limit::RateLimiter>,
}

impl AccountState {
    pub(crate) fn new() -> Self {
        Self {
            logins: sessions::Logins::default(),
            token_mints: Mutex::new(rate_limit::RateLimiter::new(tokens::MINT_BURST, tokens::MINT_REFILL_MS)),
            posts: Mutex::new(rate_limit::RateLimiter::new(
                crate::discussions::POST_BURST,
                crate::discussions::POST_REFILL_MS,
            )),
            collection_changes: Mutex::new(rate_limit::RateLimiter::new(
                crate::discussions::POST_BURST,
                crate::discussions::POST_REFILL_MS,
            )),
            address_likes: Mutex::new(rate_limit::RateLimiter::new(
                crate::likes::ADDRESS_LIKE_BURST,
                crate::likes::ADDRESS_LIKE_REFILL_MS,
            )),
        }
    }
}

/// State of [`Repos`].
pub(crate) struct RepoState {
    pub(crate) cards: cache::ByteCache<ObjectId, CardInfo>,
    /// Download counts not written yet.
    pub(crate) downloads: crate::downloads::DownloadCounter,
    /// The indexer's facts of commits, by commit (current version only).
    pub(crate) facts: cache::ByteCache<ObjectId, Arc<crate::index_facts::CommitFacts>>,
    /// `siblings` JSON by tree.
    pub(crate) siblings: cache::ByteCache<crate::siblings::SiblingsKey, Arc<serde_json::value::RawValue>>,
    /// What the repos' answers derive from, by `(id, state)`.
    pub(crate) states: crate::state_cache::StateCache,
    /// Path counts of trees, by tree: what commits check `max_repo_paths` with.
    pub(crate) shapes: crate::tree_edit::ShapeCache,
}

impl RepoState {
    pub(crate) fn new() -> Self {
        Self {
            cards: cache::ByteCache::new(cache::CARD_CACHE_BYTES, 1024),
            downloads: crate::downloads::DownloadCounter::default(),
            facts: cache::ByteCache::new(cache::FACTS_CACHE_BYTES, 2048),
            siblings: cache::ByteCache::new(crate::siblings::SIBLINGS_CACHE_BYTES, 16 << 10),
            states: crate::state_cache::StateCache::new(),
            shapes: cache::ByteCache::new(crate::tree_edit::TREE_SHAPE_CACHE_BYTES, 64),
        }
    }
}

/// State of [`Xet`].
pub(crate) struct XetState {
    pub(crate) chunk_tables: cache::ByteCache<MerkleHash, Arc<Vec<xet::StoredChunk>>>,
    /// Multipart uploads converted while their parts arrive.
    pub(crate) early: Arc<crate::lfs_early::EarlyConversions>,
}

impl XetState {
    pub(crate) fn new() -> Self {
        Self {
            chunk_tables: cache::ByteCache::new(cache::CHUNK_TABLE_CACHE_BYTES, 64 << 10),
            early: Arc::default(),
        }
    }
}

/// State of [`Viewer`]: parsed parquet footers, by content (an entry is used only after the
/// file was opened through its read proof).
pub(crate) struct ViewerState {
    pub(crate) tables: cache::ByteCache<String, Arc<kura_dataset::TableMeta>>,
    /// `/filter` and `/search` scans running at once in this process (others wait their turn).
    pub(crate) scans: tokio::sync::Semaphore,
}

impl ViewerState {
    pub(crate) fn new() -> Self {
        Self {
            tables: cache::ByteCache::new(cache::TABLE_META_CACHE_BYTES, 256 << 10),
            scans: tokio::sync::Semaphore::new(2),
        }
    }
}

/// State of [`Mirror`]: the upstream port, the calls in flight (one per key) and the
/// counters `/metrics` reports.
pub(crate) struct MirrorState {
    pub(crate) upstream: Option<Arc<dyn crate::Upstream>>,
    pub(crate) refs: crate::mirror::Flights<(kura_storage::MirrorRepoRecord, String)>,
    pub(crate) docs: crate::mirror::Flights<serde_json::Value>,
    pub(crate) fetches: crate::mirror_fetch::Fetches,
    /// Upstream downloads running at once in this process (the others wait their turn).
    pub(crate) fetch_slots: tokio::sync::Semaphore,
    /// Callers whose upstream access to a restricted repo was confirmed, until when.
    confirmed: Mutex<std::collections::HashMap<String, i64>>,
    pub(crate) counters: MirrorCounters,
    /// Objects whose fetch through the upstream's Xet reconstruction failed verification:
    /// fetched through `resolve` from then on.
    pub(crate) plain_only: Mutex<std::collections::HashSet<String>>,
}

/// What the mirror did since the process started.
#[derive(Default)]
pub struct MirrorCounters {
    pub hits: std::sync::atomic::AtomicU64,
    pub misses: std::sync::atomic::AtomicU64,
    pub coalesced_waits: std::sync::atomic::AtomicU64,
    pub upstream_bytes: std::sync::atomic::AtomicU64,
    /// Bytes of upstream chunks rebuilt from held files instead of fetched.
    pub reused_bytes: std::sync::atomic::AtomicU64,
}

/// Upstream downloads one process runs at once: each holds an ingest buffer (about 64 MiB)
/// and a spool file.
const MIRROR_FETCH_SLOTS: usize = 4;

/// Most confirmations remembered at once; past it the memo starts over (callers are asked
/// upstream again, never let through).
const MAX_CONFIRMED: usize = 100_000;

impl MirrorState {
    pub(crate) fn new(upstream: Option<Arc<dyn crate::Upstream>>) -> Self {
        Self {
            upstream,
            refs: crate::mirror::Flights::new(),
            docs: crate::mirror::Flights::new(),
            fetches: crate::mirror_fetch::Fetches::default(),
            fetch_slots: tokio::sync::Semaphore::new(MIRROR_FETCH_SLOTS),
            confirmed: Mutex::default(),
            counters: MirrorCounters::default(),
            plain_only: Mutex::default(),
        }
    }

    pub(crate) fn confirmed_until(&self, key: &str) -> Option<i64> {
        self.confirmed.lock().unwrap_or_else(|e| e.into_inner()).get(key).copied()
    }

    pub(crate) fn confirm(&self, key: String, until: i64) {
        let mut confirmed = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        if confirmed.len() >= MAX_CONFIRMED {
            confirmed.clear();
        }
        let entry = confirmed.entry(key).or_insert(until);
        *entry = (*entry).max(until);
    }

    pub(crate) fn count_upstream_bytes(&self, bytes: u64) {
        self.counters.upstream_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn count_reused_bytes(&self, bytes: u64) {
        self.counters.reused_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn count_hit(&self) {
        self.counters.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A miss, or a wait on a call another caller started.
    pub(crate) fn count_miss(&self, joined: bool) {
        let counter = if joined { &self.counters.coalesced_waits } else { &self.counters.misses };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

macro_rules! service {
    ($(#[$doc:meta])* $name:ident, $accessor:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'h> {
            pub(crate) hub: &'h Hub,
        }

        impl std::ops::Deref for $name<'_> {
            type Target = Base;

            fn deref(&self) -> &Base {
                &self.hub.base
            }
        }

        impl Hub {
            $(#[$doc])*
            pub fn $accessor(&self) -> $name<'_> {
                $name { hub: self }
            }
        }
    };
}

service!(
    /// Identities, permissions, tokens, sessions, organizations, gated access and the audit log.
    Accounts,
    accounts
);
service!(
    /// Repos, revisions, trees, commits, model cards and preupload.
    Repos,
    repos
);
service!(
    /// Collections: curated lists of repos and collections, owned by a user or an org.
    Collections,
    collections
);
service!(
    /// Discussions of repos: threads, comments, status and title changes.
    Discussions,
    discussions
);
service!(
    /// Git LFS and reads of files and objects through the read proofs.
    Files,
    files
);
service!(
    /// The Xet protocol: tokens, xorbs, shards, reconstructions and dedup.
    Xet,
    xet
);
service!(
    /// git smart HTTP: refs, fetches and pushes.
    Git,
    git
);
service!(
    /// Maintenance: fsck.
    Ops,
    ops
);
service!(
    /// The durable job queue and its workers.
    Jobs,
    jobs
);
service!(
    /// What the hub computes from content: file facts, commit facts, model metadata.
    Index,
    index
);
service!(
    /// The pull-through mirror: repos answered from an upstream hub.
    Mirror,
    mirror
);
service!(
    /// The dataset viewer: the parquet export and the viewer API's reads.
    Viewer,
    viewer
);
