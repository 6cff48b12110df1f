//! Inventory port: paged walks over the content index (xorbs, Xet files, the dedup index,
//! large objects), for consistency checks such as `kura fsck`.

use kura_model::{Sha256, Timestamp};

use crate::StorageError;
use crate::records::XetFileRecord;

type Result<T> = std::result::Result<T, StorageError>;

/// An indexed xorb, as `MetadataStore::record_xorb` stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XorbRecord {
    /// Xorb hash, in Xet's hex form.
    pub hash: String,
    pub num_chunks: u64,
    /// Bytes of the chunks once decompressed.
    pub raw_bytes: u64,
    /// Bytes of the stored xorb blob (its chunk records).
    pub stored_bytes: u64,
    pub created_at: Timestamp,
}

/// A recorded large object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LfsObjectRecord {
    pub oid: Sha256,
    pub size: u64,
}

/// A global-dedup index entry: a chunk hash and the target it points at (`f:<file hash>` or a
/// xorb hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupEntry {
    pub chunk_hash: String,
    pub target: String,
}

/// Keyset-paged listings of the content index: each call returns at most `limit` rows whose
/// key sorts after `after`, in key order; an empty page means the walk is done. A supertrait
/// of `MetadataStore`, so every engine has it.
#[async_trait::async_trait]
pub trait InventoryStore: Send + Sync + 'static {
    /// Indexed xorbs ordered by hash.
    async fn list_xorbs(&self, after: Option<&str>, limit: u64) -> Result<Vec<XorbRecord>>;
    /// Xet files ordered by file hash.
    async fn list_xet_files(&self, after: Option<&str>, limit: u64) -> Result<Vec<XetFileRecord>>;
    /// Dedup index entries ordered by chunk hash.
    async fn list_dedup_entries(&self, after: Option<&str>, limit: u64) -> Result<Vec<DedupEntry>>;
    /// Large objects ordered by SHA-256.
    async fn list_lfs_objects(&self, after: Option<&Sha256>, limit: u64) -> Result<Vec<LfsObjectRecord>>;
    /// Xet files whose SHA-256 is still the claim of an older release's client, ordered by
    /// file hash (rows written before kura computed every SHA-256 itself).
    async fn list_unverified_xet_files(&self, after: Option<&str>, limit: u64) -> Result<Vec<XetFileRecord>>;
    /// Marks a file verified once its SHA-256 was recomputed from its bytes and found equal.
    async fn mark_xet_file_verified(&self, file_hash: &str) -> Result<()>;
}
