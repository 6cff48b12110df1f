//! Repo objects (`GET /api/{type}s/{repo}` and the listings), their `siblings`, and the
//! answers of repo creation, moves and README validation.

use kura_model::{ObjectId, RepoType, format_timestamp};
use kura_storage::{Gating, RepoRecord};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::{BlobInfo, CardInfo, Entry};

/// `gated`: `false`, or the gating mode (`"auto"`, `"manual"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatedView(pub Gating);

impl Serialize for GatedView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Gating::Off => serializer.serialize_bool(false),
            other => serializer.serialize_str(other.as_str()),
        }
    }
}

/// A repo as repo info and the listings show it (`ModelInfo`, `DatasetInfo`, `SpaceInfo` in
/// `huggingface_hub`). `_id` and `id` are always there; the rest may be left out by `expand`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoView {
    #[serde(rename = "_id")]
    pub object_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(rename = "cardData", skip_serializing_if = "Option::is_none")]
    pub card_data: Option<Value>,
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloads: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gated: Option<GatedView>,
    pub id: String,
    #[serde(rename = "lastModified", skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likes: Option<u64>,
    /// Models only.
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Spaces only, from the card's `sdk`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub siblings: Option<Vec<SiblingView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(rename = "usedStorage", skip_serializing_if = "Option::is_none")]
    pub used_storage: Option<u64>,
    #[serde(rename = "xetEnabled", skip_serializing_if = "Option::is_none")]
    pub xet_enabled: Option<bool>,
}

impl RepoView {
    /// The fields every repo object carries, in listings and in repo info.
    pub fn new(record: &RepoRecord) -> Self {
        let id = record.repo_id.to_string();
        Self {
            object_id: format!("{:024x}", record.id),
            author: Some(record.repo_id.namespace().to_owned()),
            card_data: None,
            created_at: Some(format_timestamp(record.created_at)),
            disabled: Some(false),
            downloads: Some(0),
            gated: Some(GatedView(record.gating)),
            model_id: (record.repo_type == RepoType::Model).then(|| id.clone()),
            id,
            last_modified: Some(format_timestamp(record.last_modified)),
            library_name: None,
            likes: Some(0),
            pipeline_tag: None,
            private: Some(record.private),
            sdk: None,
            sha: None,
            siblings: None,
            tags: Some(record.tags.clone()),
            used_storage: None,
            xet_enabled: None,
        }
    }

    /// Repo info at `commit` (committed at `committed_at`, seconds since the epoch), with the
    /// fields of its README card. `siblings` stay for the caller to fill.
    pub fn info(record: &RepoRecord, commit: &ObjectId, committed_at: i64, card: &CardInfo) -> Self {
        let mut view = Self::new(record);
        view.sha = Some(commit.to_hex());
        view.last_modified = Some(format_timestamp(committed_at * 1000));
        view.tags = Some(card.tags.clone());
        if let Some(data) = &card.card_data {
            view.card_data = Some(data.clone());
            if record.repo_type == RepoType::Space {
                view.sdk = data.get("sdk").cloned();
            }
        }
        view.pipeline_tag = card.pipeline_tag.clone();
        view.library_name = card.library_name.clone();
        view.xet_enabled = Some(true);
        view.used_storage = Some(0);
        view
    }

    /// Keeps only the fields named in `expand` (`expand[]=...`), besides `_id` and `id`, as the
    /// Hub does when a client asks for some fields.
    pub fn expanded(self, expand: &[&str]) -> Self {
        fn keep<T>(expand: &[&str], name: &str, value: Option<T>) -> Option<T> {
            value.filter(|_| expand.contains(&name))
        }
        Self {
            object_id: self.object_id,
            author: keep(expand, "author", self.author),
            card_data: keep(expand, "cardData", self.card_data),
            created_at: keep(expand, "createdAt", self.created_at),
            disabled: keep(expand, "disabled", self.disabled),
            downloads: keep(expand, "downloads", self.downloads),
            gated: keep(expand, "gated", self.gated),
            id: self.id,
            last_modified: keep(expand, "lastModified", self.last_modified),
            library_name: keep(expand, "library_name", self.library_name),
            likes: keep(expand, "likes", self.likes),
            model_id: keep(expand, "modelId", self.model_id),
            pipeline_tag: keep(expand, "pipeline_tag", self.pipeline_tag),
            private: keep(expand, "private", self.private),
            sdk: keep(expand, "sdk", self.sdk),
            sha: keep(expand, "sha", self.sha),
            siblings: keep(expand, "siblings", self.siblings),
            tags: keep(expand, "tags", self.tags),
            used_storage: keep(expand, "usedStorage", self.used_storage),
            xet_enabled: keep(expand, "xetEnabled", self.xet_enabled),
        }
    }
}

/// A file of a repo in `siblings`. With `blobs`, also its blob id, size and LFS facts
/// (`lfs.sha256` here, where tree entries say `lfs.oid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiblingView {
    #[serde(rename = "blobId", skip_serializing_if = "Option::is_none")]
    pub blob_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lfs: Option<SiblingLfsView>,
    pub rfilename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// `lfs` of a sibling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiblingLfsView {
    #[serde(rename = "pointerSize")]
    pub pointer_size: u64,
    pub sha256: String,
    pub size: u64,
}

impl SiblingView {
    /// The sibling of a listed file; `None` for a folder.
    pub fn of(entry: &Entry, blobs: bool) -> Option<Self> {
        let Entry::File { path, oid, info, .. } = entry else { return None };
        Some(Self::file(path, oid, info, blobs))
    }

    pub fn file(path: &str, oid: &ObjectId, info: &BlobInfo, blobs: bool) -> Self {
        if !blobs {
            return Self { blob_id: None, lfs: None, rfilename: path.to_owned(), size: None };
        }
        Self {
            blob_id: Some(oid.to_hex()),
            lfs: info.lfs.map(|lfs| SiblingLfsView {
                pointer_size: info.size,
                sha256: lfs.oid.to_hex(),
                size: lfs.size,
            }),
            rfilename: path.to_owned(),
            size: Some(info.lfs.map_or(info.size, |lfs| lfs.size)),
        }
    }
}

/// The answer of `POST /api/repos/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoCreatedView {
    pub id: String,
    pub name: String,
    pub url: String,
}

/// A repo's page URL: the answer of `POST /api/repos/move`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoUrlView {
    pub url: String,
}

/// The answer of `POST /api/validate-yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidateYamlView {
    pub errors: Vec<YamlMessageView>,
    pub warnings: Vec<YamlMessageView>,
}

/// One error or warning of a README check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YamlMessageView {
    pub message: String,
}

impl ValidateYamlView {
    /// The answer for what the card checks found.
    pub fn new(check: crate::CardCheck) -> Self {
        let messages =
            |all: Vec<String>| all.into_iter().map(|message| YamlMessageView { message }).collect();
        Self { errors: messages(check.errors), warnings: messages(check.warnings) }
    }
}
