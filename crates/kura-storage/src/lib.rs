//! Ports: the storage traits the domain talks to (`MetadataStore`, `BlobStore`), the records
//! they exchange and their error type. Engines live in `kura-storage-sql` and
//! `kura-storage-blob`; both run the shared conformance suites behind the `conformance`
//! feature.

mod access;
mod blob;
mod collections;
mod discussions;
mod downloads;
mod error;
mod inventory;
mod jobs;
mod likes;
mod metadata;
mod mirror;
mod records;
mod session;
mod spaces;
mod tokens;

#[cfg(feature = "conformance")]
mod access_conformance;
#[cfg(feature = "conformance")]
mod collections_conformance;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
mod discussions_conformance;
#[cfg(feature = "conformance")]
mod downloads_conformance;
#[cfg(feature = "conformance")]
mod ids_conformance;
#[cfg(feature = "conformance")]
mod inventory_conformance;
#[cfg(feature = "conformance")]
mod jobs_conformance;
#[cfg(feature = "conformance")]
mod likes_conformance;
#[cfg(feature = "conformance")]
mod mirror_conformance;
#[cfg(feature = "conformance")]
mod session_conformance;
#[cfg(feature = "conformance")]
mod spaces_conformance;
#[cfg(feature = "conformance")]
mod state_conformance;
#[cfg(feature = "conformance")]
mod tags_conformance;
#[cfg(feature = "conformance")]
mod tokens_conformance;

pub use access::AccessStore;
pub use blob::{BlobKey, BlobListing, BlobMeta, BlobStore, ByteStream};
pub use collections::{
    CollectionChange, CollectionItemRecord, CollectionQuery, CollectionRecord, CollectionSort,
    CollectionStore, ItemChange, ItemObject, ItemTarget, NewCollection, NewCollectionItem,
};
pub use discussions::{
    DiscussionBudget, DiscussionChange, DiscussionEventRecord, DiscussionFilter, DiscussionRecord,
    DiscussionStore, NewDiscussion,
};
pub use downloads::{DownloadHit, DownloadStore, TRENDING_DAYS, TRENDING_LIKE_WEIGHT, trending_window};
pub use error::StorageError;
pub use inventory::{DedupEntry, InventoryStore, LfsObjectRecord, XorbRecord};
pub use jobs::{FactRecord, FactTable, JobCounts, JobRecord, JobStore, MAX_FACT_KEYS};
pub use likes::{LikeStore, LikedRepo, Liker};
pub use metadata::MetadataStore;
pub use mirror::{
    MirrorFileRecord, MirrorHolding, MirrorRefRecord, MirrorRepoRecord, MirrorRun, MirrorStore,
};
pub use records::{
    AccessRequestRecord, AccessStatus, AuditRecord, Gating, ListingFacts, NamespaceKind, NewAccessRequest,
    NewAuditEntry, NewRepo, NewToken, OrgRole, RefRecord, RepoLfsObject, RepoQuery, RepoRecord, RepoSort,
    TokenRecord, UserRecord, XetFileRecord,
};
pub use session::{SessionRecord, SessionStore};
pub use spaces::{SpaceStore, SpaceVariable};
pub use tokens::TokenStore;
