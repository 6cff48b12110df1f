//! Mirror port: what a pull-through mirror keeps of an upstream hub. A mirrored repo is not a
//! hosted one: it has no refs, commits or git objects of its own, only the upstream answers it
//! cached (addressed by commit, so they never change), the commit each branch or tag was last
//! seen at, and the content it fetched and verified. That content is the repo's holding, the
//! mirror's side of the content proof: a mirrored repo reads only what it fetched itself.

use kura_model::{RepoId, RepoType, Timestamp};

use crate::StorageError;

type Result<T> = std::result::Result<T, StorageError>;

/// A repo answered from the upstream hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorRepoRecord {
    /// Internal id (its own sequence, never a hosted repo's id).
    pub id: i64,
    pub repo_type: RepoType,
    /// As the first caller spelled it (ids match in any case).
    pub repo_id: RepoId,
    pub created_at: Timestamp,
}

/// A branch or tag of a mirrored repo and the commit it resolved to when last asked upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorRefRecord {
    pub commit: String,
    pub fetched_at: Timestamp,
}

/// A file the upstream listed with a Xet hash, so that a reconstruction asked for that hash
/// (the client skips `resolve` when its tree cache has it) can find what to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFileRecord {
    pub xet_hash: String,
    /// The SHA-256 the upstream claims (checked against the bytes kura fetches).
    pub sha256: String,
    pub size: u64,
    pub commit: String,
    pub path: String,
}

/// What a mirrored repo holds, for `kura mirror list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorHolding {
    pub repo: MirrorRepoRecord,
    pub objects: u64,
    pub bytes: u64,
    /// When it last fetched something (`None`: nothing held).
    pub last_fetched: Option<Timestamp>,
}

/// Chunks `first_chunk..first_chunk + chunk_lengths.len()` of an upstream xorb, found at
/// `file_offset` of an object a mirrored repo fetched through the upstream's Xet
/// reconstruction and holds: a later file naming those chunks is rebuilt from that object
/// instead of fetching them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorRun {
    /// The upstream's xorb hash (hex).
    pub xorb: String,
    pub first_chunk: u32,
    /// The mirrored repo holding the object.
    pub mirror: i64,
    /// The held object's SHA-256 (hex).
    pub sha256: String,
    pub file_offset: u64,
    /// Raw length of each chunk, in order.
    pub chunk_lengths: Vec<u32>,
}

impl MirrorRun {
    /// One past the run's last chunk.
    pub fn end_chunk(&self) -> u32 {
        self.first_chunk + self.chunk_lengths.len() as u32
    }
}

/// The mirror's tables; a supertrait of `MetadataStore`.
#[async_trait::async_trait]
pub trait MirrorStore: Send + Sync + 'static {
    /// The mirrored repo with this id (any case), recording it first if it is new.
    async fn mirror_repo(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
        now: Timestamp,
    ) -> Result<MirrorRepoRecord>;
    /// The mirrored repo with this id (any case), if it was ever asked for.
    async fn find_mirror_repo(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
    ) -> Result<Option<MirrorRepoRecord>>;
    async fn mirror_ref(&self, mirror: i64, name: &str) -> Result<Option<MirrorRefRecord>>;
    /// Records (or replaces) where a ref was seen.
    async fn put_mirror_ref(&self, mirror: i64, name: &str, record: &MirrorRefRecord) -> Result<()>;
    /// A cached upstream answer at `commit` under `key`.
    async fn mirror_doc(&self, mirror: i64, commit: &str, key: &str) -> Result<Option<String>>;
    /// Caches an answer (an existing one under the same key is kept: the commit fixes it).
    async fn put_mirror_doc(
        &self,
        mirror: i64,
        commit: &str,
        key: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<()>;
    /// Records files listed with a Xet hash (existing rows for a hash are kept).
    async fn put_mirror_files(&self, mirror: i64, files: &[MirrorFileRecord]) -> Result<()>;
    async fn mirror_file(&self, mirror: i64, xet_hash: &str) -> Result<Option<MirrorFileRecord>>;
    /// Whether the mirrored repo holds the object (`sha256:<hex>` or `git:<blob id>`).
    async fn mirror_holds(&self, mirror: i64, object_key: &str) -> Result<bool>;
    /// Records that the mirrored repo fetched and verified the object.
    async fn put_mirror_object(&self, mirror: i64, object_key: &str, size: u64, now: Timestamp)
    -> Result<()>;
    /// Records runs of upstream chunks inside held objects (a run already known is kept).
    async fn put_mirror_runs(&self, runs: &[MirrorRun]) -> Result<()>;
    /// Up to `limit` runs of upstream xorb `xorb` that cover all of chunks `first..end`, the
    /// ones reaching furthest first.
    async fn mirror_runs(&self, xorb: &str, first: u32, end: u32, limit: u32) -> Result<Vec<MirrorRun>>;
    /// Forgets these runs (by xorb, first chunk, repo and object), e.g. after a rebuild from
    /// them failed verification.
    async fn delete_mirror_runs(&self, runs: &[MirrorRun]) -> Result<()>;
    /// Every mirrored repo with what it holds, by type and id.
    async fn mirror_holdings(&self) -> Result<Vec<MirrorHolding>>;
    /// Forgets what a mirrored repo holds, its runs and every cached answer and ref (eviction).
    async fn evict_mirror_repo(&self, mirror: i64) -> Result<()>;
    /// A user's sealed upstream token and when it was stored.
    async fn external_token(&self, user: i64) -> Result<Option<(String, Timestamp)>>;
    /// Stores (or replaces) a user's sealed upstream token.
    async fn put_external_token(&self, user: i64, sealed: &str, now: Timestamp) -> Result<()>;
    /// Deletes a user's upstream token; `false` if there was none.
    async fn delete_external_token(&self, user: i64) -> Result<bool>;
}
