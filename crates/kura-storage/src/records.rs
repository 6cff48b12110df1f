//! Plain records exchanged with the metadata store.

use kura_model::{ObjectId, RefName, RepoId, RepoType, Role, Sha256, Timestamp, TokenScope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub is_admin: bool,
    pub created_at: Timestamp,
}

/// Whether a namespace belongs to a user or an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    User,
    Org,
}

/// A member's role in an organization, as the Hub names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgRole {
    Read,
    Contributor,
    Write,
    Admin,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Read => "read",
            OrgRole::Contributor => "contributor",
            OrgRole::Write => "write",
            OrgRole::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [OrgRole::Read, OrgRole::Contributor, OrgRole::Write, OrgRole::Admin]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    /// SHA-256 of the secret; the secret itself is never stored.
    pub secret_hash: Sha256,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// What a `Role::FineGrained` token may do; empty for the other roles.
    pub scopes: Vec<TokenScope>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub scopes: Vec<TokenScope>,
    pub last_used_at: Option<Timestamp>,
    /// Set once the token is revoked; a revoked token never authenticates again.
    pub revoked_at: Option<Timestamp>,
}

/// Gating mode of a repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gating {
    Off,
    Auto,
    Manual,
}

impl Gating {
    pub fn as_str(self) -> &'static str {
        match self {
            Gating::Off => "off",
            Gating::Auto => "auto",
            Gating::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Gating::Off, Gating::Auto, Gating::Manual].into_iter().find(|g| g.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct NewRepo {
    pub repo_type: RepoType,
    pub repo_id: RepoId,
    pub private: bool,
    pub created_at: Timestamp,
    /// The commit `refs/heads/main` starts at.
    pub initial_commit: ObjectId,
    /// The user who created it (`None` for repos made by the operator).
    pub created_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRecord {
    /// Internal id; stable across renames.
    pub id: i64,
    pub repo_type: RepoType,
    pub repo_id: RepoId,
    pub private: bool,
    pub gating: Gating,
    pub created_at: Timestamp,
    pub last_modified: Timestamp,
    /// Tags derived from the README of the default branch at its last update.
    pub tags: Vec<String>,
    /// The user who created it; `None` for repos older than this column or made by the operator.
    pub created_by: Option<i64>,
    /// The library and task the indexer derived for the default branch (`set_listing_facts`).
    pub library_name: Option<String>,
    pub pipeline_tag: Option<String>,
    /// How many users like it.
    pub likes: u64,
    /// Downloads in the last 30 days, and ever.
    pub downloads: u64,
    pub downloads_all_time: u64,
    /// Ten times the likes of the last 7 days plus the downloads of the last 7 days.
    pub trending: u64,
    /// Changes, in the same transaction, with everything derived from the repo besides this
    /// row: its refs, its linked large objects, the cards linking to it and its id. Caches key
    /// what they derive by `(id, state)` (see `repos.state` in migration 0021).
    pub state: u64,
}

/// What the indexer computed for a repo's default branch that listings show and filter on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingFacts {
    pub parameters: Option<u64>,
    pub library_name: Option<String>,
    pub pipeline_tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefRecord {
    pub name: RefName,
    pub target: ObjectId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoSort {
    LastModified,
    CreatedAt,
    Id,
    Likes,
    /// The last 30 days' downloads.
    Downloads,
    /// The trending score (`RepoRecord::trending`).
    Trending,
}

/// Filters for listing repos. Visibility is decided by the caller through `visible_to`.
#[derive(Debug, Clone)]
pub struct RepoQuery {
    pub repo_type: RepoType,
    /// Substring of `namespace/name`, case-insensitive.
    pub search: Option<String>,
    pub author: Option<String>,
    /// Every tag must be present.
    pub tags: Vec<String>,
    /// Include private repos of these namespaces (the caller's own and its orgs'); `None`
    /// means every private repo (admins).
    pub private_namespaces: Option<Vec<String>>,
    /// Private repos (of `repo_type`) included one by one besides those namespaces: the repos a
    /// fine-grained token is scoped to.
    pub private_repos: Vec<RepoId>,
    /// Only repos whose default branch has a parameter count in this range (inclusive).
    pub parameters: Option<(u64, u64)>,
    /// Only repos whose default branch has this task.
    pub pipeline_tag: Option<String>,
    /// Only repos whose card names this repo: (kind, id in any case), as `set_repo_links` stored.
    pub linking: Option<(String, String)>,
    pub sort: RepoSort,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

impl RepoQuery {
    /// Every repo of `repo_type` the store has (no filter, every private repo), by id, a
    /// thousand at a time: callers set what they filter on over it.
    pub fn every(repo_type: RepoType) -> Self {
        Self {
            repo_type,
            search: None,
            author: None,
            tags: Vec::new(),
            private_namespaces: None,
            private_repos: Vec::new(),
            parameters: None,
            linking: None,
            pipeline_tag: None,
            sort: RepoSort::Id,
            descending: false,
            offset: 0,
            limit: 1000,
        }
    }
}

/// A file registered through a Xet shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XetFileRecord {
    /// Xet file hash, in Xet's hex form.
    pub file_hash: String,
    pub sha256: Sha256,
    pub size: u64,
    /// Serialized reconstruction terms (owned by `kura-core`).
    pub terms: String,
}

/// Where a user's request for a gated repo's files stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessStatus {
    Pending,
    Accepted,
    Rejected,
}

impl AccessStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessStatus::Pending => "pending",
            AccessStatus::Accepted => "accepted",
            AccessStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [AccessStatus::Pending, AccessStatus::Accepted, AccessStatus::Rejected]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A new access request (one per repo and user).
#[derive(Debug, Clone)]
pub struct NewAccessRequest {
    pub repo_id: i64,
    pub user_id: i64,
    pub status: AccessStatus,
    /// The requester's answers, as JSON object text (bounded by the domain).
    pub fields: Option<String>,
    pub now: Timestamp,
}

/// A user's request for a gated repo, with the requester's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequestRecord {
    pub id: i64,
    pub repo_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub status: AccessStatus,
    pub fields: Option<String>,
    pub rejection_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A security event to append to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    /// User name of whoever acted; `None` for the operator (admin CLI on the data dir).
    pub actor: Option<String>,
    /// Dotted event name, e.g. `token.create`, `repo.gating`.
    pub action: String,
    /// What the event is about, e.g. `model:alice/m` or `user:bob`.
    pub target: String,
    /// Event details as JSON object text.
    pub details: String,
}

/// A stored audit-log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: NewAuditEntry,
}

/// A large object linked to a repo (`MetadataStore::repo_lfs_objects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoLfsObject {
    pub oid: Sha256,
    pub size: u64,
    /// When kura first recorded the object (raw LFS upload or verified Xet file).
    pub stored_at: Timestamp,
}
