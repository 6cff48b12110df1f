//! Tree entries, as `GET .../tree/{revision}/{path}` and `POST .../paths-info/{revision}` list
//! them (`RepoFile` and `RepoFolder` in `huggingface_hub`).

use kura_model::format_timestamp;
use serde::Serialize;

use crate::{Entry, LastCommit};

/// `type` of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Directory,
}

/// One file or folder of a tree. Folders have size 0; LFS files give the object's size, with
/// the pointer's in `lfs.pointerSize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeEntryView {
    /// Only when the listing was asked to expand.
    #[serde(rename = "lastCommit", skip_serializing_if = "Option::is_none")]
    pub last_commit: Option<LastCommitView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lfs: Option<TreeLfsView>,
    pub oid: String,
    pub path: String,
    /// Files, when the listing was asked to expand: the pickle scan's verdict.
    #[serde(rename = "securityFileStatus", skip_serializing_if = "Option::is_none")]
    pub security_file_status: Option<crate::views::SecurityFileStatusView>,
    pub size: u64,
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// Files whose content is stored in Xet.
    #[serde(rename = "xetHash", skip_serializing_if = "Option::is_none")]
    pub xet_hash: Option<String>,
}

/// `lfs` of a tree entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeLfsView {
    pub oid: String,
    #[serde(rename = "pointerSize")]
    pub pointer_size: u64,
    pub size: u64,
}

/// `lastCommit` of a tree entry: the last commit that changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastCommitView {
    pub date: String,
    pub id: String,
    pub title: String,
}

impl From<&LastCommit> for LastCommitView {
    fn from(commit: &LastCommit) -> Self {
        Self {
            date: format_timestamp(commit.time * 1000),
            id: commit.id.to_hex(),
            title: commit.title.clone(),
        }
    }
}

impl TreeEntryView {
    /// The entry alone; `lastCommit` and `xetHash` are the caller's to add.
    pub fn new(entry: &Entry) -> Self {
        match entry {
            Entry::Dir { path, oid } => Self {
                last_commit: None,
                lfs: None,
                oid: oid.to_hex(),
                path: path.clone(),
                security_file_status: None,
                size: 0,
                kind: EntryKind::Directory,
                xet_hash: None,
            },
            Entry::File { path, oid, info, .. } => Self {
                last_commit: None,
                lfs: info.lfs.map(|lfs| TreeLfsView {
                    oid: lfs.oid.to_hex(),
                    pointer_size: info.size,
                    size: lfs.size,
                }),
                oid: oid.to_hex(),
                path: path.clone(),
                security_file_status: None,
                size: info.lfs.map_or(info.size, |lfs| lfs.size),
                kind: EntryKind::File,
                xet_hash: None,
            },
        }
    }
}
