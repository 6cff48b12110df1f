//! Collections as the Hub answers them (`Collection` and `CollectionItem` in
//! `huggingface_hub`): one collection with its items, a listing (without `position`, which the
//! client sets itself there), the update's `{"data": …}` and the 409 of a taken title, which
//! carries the existing collection's slug. A note is its text only: no view renders it.

use kura_model::format_timestamp;
use kura_storage::{CollectionItemRecord, ItemObject, NamespaceKind};
use serde::Serialize;

use super::GatedView;
use crate::CollectionDetails;
use crate::collections::slug_of;

/// The owner of a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionOwnerView {
    #[serde(rename = "avatarUrl")]
    pub avatar_url: String,
    pub fullname: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// An item's note, as plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteView {
    pub text: String,
}

/// One item: a repo (`author`, `downloads`, `gated`, `lastModified`, `likes`, `repoType`…) or
/// a collection (`slug`, `title`, `theme`, `lastUpdated`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionItemView {
    #[serde(rename = "_id")]
    pub object_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloads: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gated: Option<GatedView>,
    pub id: String,
    #[serde(rename = "lastModified", skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(rename = "lastUpdated", skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    pub position: u64,
    pub private: bool,
    #[serde(rename = "repoType", skip_serializing_if = "Option::is_none")]
    pub repo_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub item_type: &'static str,
}

impl CollectionItemView {
    /// The item at `position` in what the caller sees.
    pub fn new(item: &CollectionItemRecord, position: u64) -> Self {
        let empty = Self {
            object_id: item.public_id.clone(),
            author: None,
            downloads: None,
            gated: None,
            id: String::new(),
            last_modified: None,
            last_updated: None,
            likes: None,
            note: item.note.clone().map(|text| NoteView { text }),
            pipeline_tag: None,
            position,
            private: false,
            repo_type: None,
            slug: None,
            theme: None,
            title: None,
            item_type: "collection",
        };
        match &item.object {
            ItemObject::Repo(repo) => Self {
                author: Some(repo.repo_id.namespace().to_owned()),
                downloads: Some(repo.downloads),
                gated: Some(GatedView(repo.gating)),
                id: repo.repo_id.to_string(),
                last_modified: Some(format_timestamp(repo.last_modified)),
                likes: Some(repo.likes),
                pipeline_tag: repo.pipeline_tag.clone(),
                private: repo.private,
                repo_type: Some(repo.repo_type.as_str()),
                item_type: repo.repo_type.as_str(),
                ..empty
            },
            ItemObject::Collection(collection) => Self {
                id: collection.public_id.clone(),
                last_updated: Some(format_timestamp(collection.updated_at)),
                private: collection.private,
                slug: Some(slug_of(collection)),
                theme: Some(collection.theme.clone()),
                title: Some(collection.title.clone()),
                ..empty
            },
        }
    }
}

/// A collection (`GET /api/collections/{slug}`, a create, an added item) or one of a listing
/// (`position` left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionView {
    #[serde(rename = "_id")]
    pub object_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub gating: bool,
    #[serde(rename = "isUpvotedByUser")]
    pub is_upvoted_by_user: bool,
    pub items: Vec<CollectionItemView>,
    #[serde(rename = "lastUpdated")]
    pub last_updated: String,
    pub owner: CollectionOwnerView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    pub private: bool,
    pub slug: String,
    pub theme: String,
    pub title: String,
    pub upvotes: u64,
}

impl CollectionView {
    pub fn new(details: &CollectionDetails) -> Self {
        let collection = &details.collection;
        let kind = match details.owner {
            NamespaceKind::User => "user",
            NamespaceKind::Org => "org",
        };
        Self {
            object_id: collection.public_id.clone(),
            description: collection.description.clone(),
            gating: false,
            is_upvoted_by_user: false,
            items: details.items.iter().zip(0..).map(|(item, n)| CollectionItemView::new(item, n)).collect(),
            last_updated: format_timestamp(collection.updated_at),
            owner: CollectionOwnerView {
                avatar_url: String::new(),
                fullname: collection.namespace.clone(),
                name: collection.namespace.clone(),
                kind,
            },
            position: details.position,
            private: collection.private,
            slug: details.slug(),
            theme: collection.theme.clone(),
            title: collection.title.clone(),
            upvotes: collection.upvotes,
        }
    }
}

/// `PATCH /api/collections/{slug}`: the collection under `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionUpdatedView {
    pub data: CollectionView,
}

/// The 409 of a create whose title the namespace already has: the client's `exists_ok` reads
/// `slug`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionExistsView {
    pub error: String,
    pub slug: String,
}
