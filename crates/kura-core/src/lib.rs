//! kura's use cases: repos, revisions, commits, trees, downloads, tokens and permissions.
//! Orchestrates git objects and content through the storage ports; knows nothing of HTTP,
//! SQL or filesystems.

mod access;
mod audit;
mod auth;
mod browse;
mod budget;
mod cache;
mod card;
mod card_check;
mod claims;
mod clock;
mod collection_rules;
mod collection_sight;
mod collections;
mod commit;
mod compare;
mod content;
mod discussions;
mod downloads;
mod error;
mod fsck;
mod git_fetch;
mod git_pack_cache;
mod git_push;
mod git_push_check;
mod git_push_stage;
mod git_serve;
mod gitattributes;
mod gitignore;
mod history;
mod index;
mod index_facts;
mod ingest_hash;
mod issuer;
mod jobs;
mod last_commit;
mod lfs;
mod lfs_early;
mod likes;
mod limits;
mod login_limit;
mod maintenance;
mod mirror;
mod mirror_docs;
mod mirror_fetch;
mod mirror_ops;
mod mirror_tokens;
mod mirror_upstream;
mod mirror_xet;
mod objects;
mod orgs;
mod pickle_gate;
mod preupload;
mod pull_diff;
mod pull_merge;
mod pulls;
mod rate_limit;
mod read_proof;
mod reindex;
mod repos;
mod revision;
mod safetensors_meta;
mod services;
mod sessions;
mod siblings;
mod signing;
mod space_card;
mod space_host;
mod spaces;
mod state_cache;
mod tokens;
mod tree_edit;
mod upload;
mod viewer;
mod viewer_convert;
mod viewer_export;
mod viewer_rows;
pub mod views;

/// The address a request comes from, as the edge that received it determined it (the peer,
/// or the client a trusted proxy names): what per-address limits count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);
mod xet;
mod xet_ingest;
mod xet_read;
mod xet_receive;
mod xet_shard;
mod xet_token;

use std::sync::Arc;

pub use access::{MAX_FIELDS_BYTES, MAX_REASON_CHARS, RequestSelector, request_id};
pub use audit::Authority;
pub use auth::{FilesAccess, INVALID_CREDENTIALS, Identity, Principal};
pub use browse::{Entry, FlatTree, ListPage};
pub use budget::{BodyBudget, BudgetBusy, Reservation, UNCOUNTED_BYTES};
pub use cache::ByteCache;
pub use card::{CardInfo, card_data_bytes, front_matter, parse_front_matter};
pub use card_check::{CardCheck, LICENSES, check_card};
pub use clock::{Clock, now_millis};
pub use collection_rules::{
    ItemKind, MAX_COLLECTIONS, MAX_DESCRIPTION_CHARS, MAX_ITEMS, MAX_NOTE_CHARS,
    MAX_TITLE_CHARS as MAX_COLLECTION_TITLE_CHARS, THEMES, make_slug, parse_slug,
};
pub use collection_sight::{CollectionListing, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
pub use collections::{
    CollectionCreated, CollectionDetails, CollectionUpdate, ItemUpdate, NewCollectionInput, slug_of,
};
pub use commit::{CommitRequest, FileContent, Operation};
pub use compare::{ChangeKind, ChangedFile, CompareBudget, Comparison, FileSide};
pub use discussions::{
    DiscussionDetails, DiscussionPage, EventDetails, ListQuery, MAX_COMMENT_BYTES, MAX_TITLE_CHARS,
    PullDetails,
};
pub use downloads::{DOWNLOAD_WINDOW_DAYS, DownloadClient, counts_as_download};
pub use error::{CoreError, Result};
pub use fsck::{FsckOptions, FsckReport, Orphan, Problem};
pub use git_fetch::FetchReply;
pub use git_push::{MAX_PUSHED_OBJECT, PackReader, PushReport, PushedPack};
pub use git_serve::AdvertisedRef;
pub use gitattributes::{is_lfs_path, lfs_patterns};
pub use gitignore::GitIgnore;
pub use history::HistoryPage;
pub use index_facts::{CommitFacts, FileIssue, GgufSummary, ParameterCount, ScanLevel};
pub use issuer::Issuer;
pub use kura_cas::MerkleHash;
pub use kura_storage::{
    AccessRequestRecord, AccessStatus, AuditRecord, ByteStream, Gating, MirrorHolding, NamespaceKind,
    OrgRole, RefRecord, RepoQuery, RepoRecord, RepoSort, TokenRecord,
};
pub use kura_storage::{CollectionItemRecord, CollectionRecord, CollectionSort, ItemObject};
pub use last_commit::LastCommit;
pub use lfs::{Action, Capability, DownloadPlan, UploadPlan};
pub use likes::{LIKES_PAGE, LikedRepoView};
pub use limits::Limits;
pub use maintenance::{DuplicateFailure, DuplicateFile, LfsFile, MAX_LFS_BATCH};
pub use mirror::{MirrorDoc, MirrorEntry, MirrorFile, MirrorRepo};
pub use mirror_docs::MAX_MIRROR_PATHS;
pub use mirror_ops::PullProgress;
pub use mirror_tokens::ExternalTokenStatus;
pub use mirror_upstream::{
    MirrorConfig, Upstream, UpstreamBody, UpstreamError, UpstreamMethod, UpstreamReply, UpstreamRequest,
};
pub use objects::BlobInfo;
pub use orgs::MemberChange;
pub use preupload::{LFS_THRESHOLD, PlannedUpload, Preupload, UploadCandidate, UploadMode, upload_modes};
pub use pull_merge::{MergePlan, merge_trees};
pub use pulls::{TARGET_BRANCH, pr_number};
pub use read_proof::{ObjectRead, OpenFile};
pub use reindex::ReindexProgress;
pub use repos::RepoSettings;
pub use revision::Resolved;
pub use safetensors_meta::SafetensorsMetadata;
pub use services::{
    Accounts, Collections, Discussions, Files, Git, Index, Jobs, Mirror, MirrorCounters, Ops, Repos, Viewer,
    Xet,
};
pub use sessions::{
    LOGIN_FAILED, LoginOutcome, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, SESSION_COOKIE, SESSION_LIFETIME_MS,
    Session, session_from_cookies, session_set_cookie,
};
pub use space_card::SPACE_SDKS;
pub use space_host::{SPACE_CSP, SpaceConfig, SpacesHost, check_spaces_domain, script_position};
pub use spaces::{MAX_SPACE_VARIABLES, SpaceFacts, SpaceFile};
pub use tokens::{IssuedToken, MAX_TOKEN_NAME_CHARS, TokenSpec};
pub use upload::StoredUpload;
pub use viewer::Answer;
pub use viewer_export::CONVERT_REF;
pub use viewer_rows::{ROWS_PER_PAGE, RowsQuery};
pub use xet::{Fetch, Reconstruction, Term};
pub use xet_shard::MAX_XET_FILE_BYTES;
pub use xet_token::XetGrant;

use kura_storage::{BlobStore, MetadataStore};

/// Tunables of the domain layer.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Key for signed URLs; identical on every replica.
    pub signing_key: Vec<u8>,
    /// LFS uploads above this size use multipart.
    pub lfs_multipart_threshold_bytes: u64,
    /// Size of each multipart part.
    pub lfs_part_bytes: u64,
    /// Budgets of requests, connections and expansions.
    pub limits: Limits,
    /// Pull-through mirror settings, when an upstream hub is configured.
    pub mirror: Option<MirrorConfig>,
    /// Where static Spaces are served, when this hub serves them (`spaces_domain`).
    pub spaces: Option<SpacesHost>,
}

impl HubConfig {
    pub fn with_key(signing_key: Vec<u8>) -> Self {
        Self {
            signing_key,
            lfs_multipart_threshold_bytes: 512 << 20,
            lfs_part_bytes: 64 << 20,
            limits: Limits::default(),
            mirror: None,
            spaces: None,
        }
    }
}

/// The hub: the shared parts every service uses, and the state each service owns. The use
/// cases live in the services (`hub.repos()`, `hub.xet()`, ...; see `services`).
///
/// Cloning is cheap (a few reference counts): streams that outlive a request's borrow keep a
/// clone.
#[derive(Clone)]
pub struct Hub {
    base: Arc<Base>,
    account_state: Arc<services::AccountState>,
    repo_state: Arc<services::RepoState>,
    xet_state: Arc<services::XetState>,
    viewer_state: Arc<services::ViewerState>,
    job_state: Arc<jobs::JobState>,
    mirror_state: Arc<services::MirrorState>,
}

/// What every service shares: the storage ports, the signer of capabilities, the
/// configuration and the clock. Public only as the target of the services' `Deref`; nothing
/// in it is reachable from outside the crate.
pub struct Base {
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) objects: objects::ObjectStore,
    pub(crate) content: content::ContentStore,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) signer: signing::Signer,
    pub(crate) config: HubConfig,
    pub(crate) clock: Clock,
}

impl Base {
    /// Milliseconds since the Unix epoch, by the hub's clock.
    pub(crate) fn now_millis(&self) -> kura_model::Timestamp {
        self.clock.now_millis()
    }

    pub(crate) fn config(&self) -> &HubConfig {
        &self.config
    }
}

impl Hub {
    pub fn new(meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>, config: HubConfig) -> Self {
        Self::with_parts(meta, blobs, config, Clock::system(), None)
    }

    /// The same hub reading the time from `clock` (tests move a clock forward instead of
    /// sleeping until a token expires). Call it before the hub is used: caches start empty.
    pub fn with_clock(self, clock: Clock) -> Self {
        let base = &self.base;
        let upstream = self.mirror_state.upstream.clone();
        Self::with_parts(base.meta.clone(), base.blobs.clone(), base.config.clone(), clock, upstream)
    }

    /// The same hub answering for repos it does not host from `upstream` (pull-through mirror
    /// mode; `config.mirror` says how). Call it before the hub is used.
    pub fn with_upstream(self, upstream: Arc<dyn Upstream>) -> Self {
        let base = &self.base;
        Self::with_parts(
            base.meta.clone(),
            base.blobs.clone(),
            base.config.clone(),
            base.clock.clone(),
            Some(upstream),
        )
    }

    fn with_parts(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        config: HubConfig,
        clock: Clock,
        upstream: Option<Arc<dyn Upstream>>,
    ) -> Self {
        let base = Base {
            objects: objects::ObjectStore::new(blobs.clone()),
            content: content::ContentStore::new(blobs.clone()),
            blobs,
            signer: signing::Signer::new(config.signing_key.clone()),
            meta,
            config,
            clock,
        };
        Self {
            base: Arc::new(base),
            account_state: Arc::new(services::AccountState::new()),
            repo_state: Arc::new(services::RepoState::new()),
            xet_state: Arc::new(services::XetState::new()),
            viewer_state: Arc::new(services::ViewerState::new()),
            job_state: Arc::new(jobs::JobState::new()),
            mirror_state: Arc::new(services::MirrorState::new(upstream)),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.base.config
    }
}
