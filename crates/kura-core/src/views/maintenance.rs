//! Repo maintenance: the repo's large objects (`lfs-files`), server-side copies and a
//! namespace's repos with their storage (`/api/settings/repositories`).

use kura_model::format_timestamp;
use serde::Serialize;

use crate::{DuplicateFailure, LfsFile, RepoRecord};

/// One entry of `GET /api/{type}s/{repo}/lfs-files` (the client's `LFSFileInfo`). `fileOid`
/// is what a deletion names; `oid` is the same SHA-256 (the Git LFS object id). No `ref`: kura
/// does not record which ref an object was pushed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LfsFileView {
    #[serde(rename = "fileOid")]
    pub file_oid: String,
    /// A path of the default branch holding the object, else empty.
    pub filename: String,
    pub oid: String,
    #[serde(rename = "pushedAt")]
    pub pushed_at: String,
    pub size: u64,
}

impl LfsFileView {
    pub fn new(file: &LfsFile) -> Self {
        let oid = file.oid.to_hex();
        Self {
            file_oid: oid.clone(),
            filename: file.filename.clone().unwrap_or_default(),
            oid,
            pushed_at: format_timestamp(file.pushed_at),
            size: file.size,
        }
    }
}

/// One object a copy did not make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateFailureView {
    pub error: String,
    pub sha256: String,
}

/// The answer of `POST .../lfs-files/duplicate`: what failed (empty when all were copied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateResultView {
    pub failed: Vec<DuplicateFailureView>,
}

impl DuplicateResultView {
    pub fn new(failed: &[DuplicateFailure]) -> Self {
        Self {
            failed: failed
                .iter()
                .map(|f| DuplicateFailureView { error: f.error.clone(), sha256: f.sha256.clone() })
                .collect(),
        }
    }
}

/// One repo of `GET /api/settings/repositories` (the client's `RepoStorageInfo`). `storage`
/// is the repo's `usedStorage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoStorageView {
    pub id: String,
    pub storage: u64,
    #[serde(rename = "storagePercent")]
    pub storage_percent: f64,
    #[serde(rename = "type")]
    pub repo_type: &'static str,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    pub visibility: &'static str,
}

impl RepoStorageView {
    /// `storage` is the repo's `usedStorage` (`Files::used_storage`); `storagePercent` stays 0
    /// until namespaces have quotas to be a percentage of.
    pub fn new(repo: &RepoRecord, storage: u64) -> Self {
        Self {
            id: repo.repo_id.to_string(),
            storage,
            storage_percent: 0.0,
            repo_type: repo.repo_type.as_str(),
            updated_at: format_timestamp(repo.last_modified),
            visibility: if repo.private { "private" } else { "public" },
        }
    }
}
