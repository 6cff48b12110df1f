//! Metadata port: users, organizations, tokens, repos, refs and the content index.

use kura_model::{ObjectId, RefName, RepoId, RepoType, Sha256, Timestamp};

use crate::StorageError;
use crate::access::AccessStore;
use crate::collections::CollectionStore;
use crate::discussions::DiscussionStore;
use crate::downloads::DownloadStore;
use crate::inventory::InventoryStore;
use crate::jobs::JobStore;
use crate::likes::LikeStore;
use crate::mirror::MirrorStore;
use crate::records::*;
use crate::session::SessionStore;
use crate::spaces::SpaceStore;
use crate::tokens::TokenStore;

type Result<T> = std::result::Result<T, StorageError>;

/// Everything kura remembers besides content bytes (gated access and the audit log are in the
/// `AccessStore` supertrait, paged walks of the content index in `InventoryStore`, access
/// tokens in `TokenStore`, passwords and browser sessions in `SessionStore`). One
/// implementation per database engine; all of them pass `conformance::metadata_store`.
#[async_trait::async_trait]
pub trait MetadataStore:
    AccessStore
    + CollectionStore
    + DiscussionStore
    + DownloadStore
    + InventoryStore
    + JobStore
    + LikeStore
    + MirrorStore
    + TokenStore
    + SessionStore
    + SpaceStore
    + Send
    + Sync
    + 'static
{
    // --- server ---

    /// The value stored under `name`, storing `candidate` first if there is none yet. Every
    /// caller (every replica) gets the same value.
    async fn server_secret(&self, name: &str, candidate: &str) -> Result<String>;

    // --- users, organizations, tokens ---

    /// Creates a user; `AlreadyExists` when the name is taken by a user or an org.
    async fn create_user(&self, name: &str, is_admin: bool, now: Timestamp) -> Result<UserRecord>;
    async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>>;
    /// Creates an organization with `owner` as its admin; `AlreadyExists` when taken.
    async fn create_org(&self, name: &str, owner: i64, now: Timestamp) -> Result<()>;
    async fn namespace_kind(&self, name: &str) -> Result<Option<NamespaceKind>>;
    /// Adds `user` to `org` or changes their role; `NotFound` for an unknown org, `Conflict`
    /// (and no change) when the org would be left without an admin.
    async fn set_org_member(&self, org: &str, user: i64, role: OrgRole) -> Result<()>;
    /// Removes `user` from `org`; `NotFound` when not a member, `Conflict` (and no change)
    /// for the last admin.
    async fn remove_org_member(&self, org: &str, user: i64) -> Result<()>;
    /// The members of `org` with their roles, by user name.
    async fn org_members(&self, org: &str) -> Result<Vec<(UserRecord, OrgRole)>>;
    async fn org_role(&self, org: &str, user: i64) -> Result<Option<OrgRole>>;
    async fn user_orgs(&self, user: i64) -> Result<Vec<(String, OrgRole)>>;

    // --- repos ---

    /// Creates the repo and its `refs/heads/main` in one transaction.
    async fn create_repo(&self, repo: NewRepo) -> Result<RepoRecord>;
    /// The repo with this id in any case, as the Hub resolves them; the exact spelling wins
    /// over another case (databases of earlier releases may hold both).
    async fn repo(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<Option<RepoRecord>>;
    /// The repo an earlier id (any case) of a moved repo now names.
    async fn repo_redirect(&self, repo_type: RepoType, old_id: &RepoId) -> Result<Option<RepoRecord>>;
    /// Deletes the repo, its refs, commit index, content links, access requests and redirects.
    async fn delete_repo(&self, id: i64) -> Result<()>;
    /// Renames the repo and, in the same transaction, redirects its previous id to it;
    /// `AlreadyExists` when another repo holds `new_id` in any case.
    async fn rename_repo(&self, id: i64, new_id: &RepoId) -> Result<()>;
    async fn set_repo_private(&self, id: i64, private: bool) -> Result<()>;
    async fn set_repo_gating(&self, id: i64, gating: Gating) -> Result<()>;
    async fn set_repo_tags(&self, id: i64, tags: &[String]) -> Result<()>;
    /// Records what the indexer computed for the repo's default branch (what
    /// `RepoQuery::parameters` and `pipeline_tag` filter on, and records carry).
    async fn set_listing_facts(&self, id: i64, facts: &ListingFacts) -> Result<()>;
    /// Replaces the repos of `kind` (`model`, `dataset`) the repo's card names, by id in any
    /// case (what `RepoQuery::linking` finds).
    async fn set_repo_links(&self, id: i64, kind: &str, targets: &[String]) -> Result<()>;
    async fn list_repos(&self, query: &RepoQuery) -> Result<Vec<RepoRecord>>;

    // --- refs and commits ---

    async fn refs(&self, repo: i64) -> Result<Vec<RefRecord>>;
    async fn ref_target(&self, repo: i64, name: &RefName) -> Result<Option<ObjectId>>;
    /// Compare-and-swap of one ref. `expected: None` creates (fails if present), `new: None`
    /// deletes. On mismatch returns `Conflict` and changes nothing. Bumps the repo's
    /// `last_modified`.
    async fn update_ref(
        &self,
        repo: i64,
        name: &RefName,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
        now: Timestamp,
    ) -> Result<()>;
    /// Records commits as belonging to the repo (so they can be addressed by id).
    async fn add_commits(&self, repo: i64, commits: &[ObjectId]) -> Result<()>;
    async fn has_commit(&self, repo: i64, commit: &ObjectId) -> Result<bool>;
    /// Commits of the repo whose hex id starts with `prefix` (at most `limit`).
    async fn commits_with_prefix(&self, repo: i64, prefix: &str, limit: u32) -> Result<Vec<ObjectId>>;

    // --- content index ---

    /// Records a verified large object; idempotent.
    async fn record_lfs_object(&self, oid: &Sha256, size: u64, now: Timestamp) -> Result<()>;
    async fn lfs_object_size(&self, oid: &Sha256) -> Result<Option<u64>>;
    /// Marks the object as usable by the repo (it proved possession by uploading it).
    async fn link_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<()>;
    async fn repo_has_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<bool>;
    /// The large objects linked to the repo, ordered by SHA-256, at most `limit` after
    /// `after`; each with its size and when kura first stored it (absent for a link whose
    /// bytes are not recorded).
    async fn repo_lfs_objects(
        &self,
        repo: i64,
        after: Option<&Sha256>,
        limit: u64,
    ) -> Result<Vec<RepoLfsObject>>;
    /// The bytes of all the large objects linked to the repo that are stored (what
    /// `repo_lfs_objects` would list, summed in one query).
    async fn repo_lfs_bytes(&self, repo: i64) -> Result<u64>;
    /// Removes the repo's links to these objects (its proof that it may read them); the bytes
    /// stay. Returns how many links existed.
    async fn unlink_lfs_objects(&self, repo: i64, oids: &[Sha256]) -> Result<u64>;
    /// Whether a public, ungated repo holds the object (uploaded it, or had it linked).
    async fn public_repo_holds(&self, oid: &Sha256) -> Result<bool>;

    // --- Xet ---

    /// Records a verified xorb; `Ok(false)` when it was already known.
    async fn record_xorb(
        &self,
        hash: &str,
        num_chunks: u64,
        raw_bytes: u64,
        stored_bytes: u64,
        now: Timestamp,
    ) -> Result<bool>;
    async fn xorb_exists(&self, hash: &str) -> Result<bool>;
    /// Records a file whose SHA-256 kura computed from its bytes (never a client's claim);
    /// idempotent. A row of an older release (unverified) is replaced.
    async fn record_xet_file(&self, file: &XetFileRecord, now: Timestamp) -> Result<()>;
    /// A verified file by Xet file hash; unverified rows are never returned.
    async fn xet_file(&self, file_hash: &str) -> Result<Option<XetFileRecord>>;
    /// A verified file with this SHA-256; unverified rows are never returned.
    async fn xet_file_by_sha256(&self, sha256: &Sha256) -> Result<Option<XetFileRecord>>;
    /// Adds global-dedup entries `(chunk hash, target)`; a chunk already indexed now points at
    /// the newest target (the latest version of a file family dedups best).
    async fn index_chunks(&self, entries: &[(String, String)]) -> Result<()>;
    /// The xorb holding an indexed chunk.
    async fn xorb_for_chunk(&self, chunk_hash: &str) -> Result<Option<String>>;
    /// Total bytes of stored xorbs (dedup accounting).
    async fn xorb_bytes(&self) -> Result<u64>;
}
