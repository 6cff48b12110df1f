//! Collections port: curated lists of repos and other collections, each owned by a user or an
//! organization (its namespace). Items keep the order of their `position`; an item never
//! outlives what it points at (deleting a repo or a collection deletes the items naming it, in
//! the same transaction), and every change to a collection's items is serialised on the
//! collection's row, so budgets hold under concurrent writers.

use kura_model::Timestamp;

use crate::{RepoRecord, StorageError};

type Result<T> = std::result::Result<T, StorageError>;

/// A collection as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRecord {
    /// Internal id.
    pub id: i64,
    /// The public id (24 hex digits) a slug ends with; never reused.
    pub public_id: String,
    /// The owning user or organization, spelled as the namespace is.
    pub namespace: String,
    pub title: String,
    pub description: Option<String>,
    pub private: bool,
    pub theme: String,
    /// Orders the namespace's collections, lowest first; distinct within a namespace.
    pub position: i64,
    pub upvotes: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A collection to create, at the end of its namespace's list.
#[derive(Debug, Clone)]
pub struct NewCollection {
    pub public_id: String,
    pub namespace: String,
    pub title: String,
    pub description: Option<String>,
    pub private: bool,
    pub theme: String,
    pub now: Timestamp,
    /// Most collections the namespace may hold (this one included).
    pub max_per_namespace: u64,
}

/// Changes to a collection; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CollectionChange {
    pub title: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub private: Option<bool>,
    pub theme: Option<String>,
    /// The rank to move the collection to among its namespace's collections (0 is first;
    /// past the end is the end).
    pub position: Option<u64>,
    pub now: Timestamp,
}

/// What an item points at, by internal id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemTarget {
    Repo(i64),
    Collection(i64),
}

/// What an item points at, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemObject {
    Repo(RepoRecord),
    Collection(CollectionRecord),
}

/// An item of a collection, with what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionItemRecord {
    /// The internal id of the collection holding it.
    pub collection: i64,
    /// The item's own public id (24 hex digits; `item_object_id` in the client).
    pub public_id: String,
    /// Orders the collection's items, lowest first; distinct within a collection.
    pub position: i64,
    /// Stored as given: views never render it.
    pub note: Option<String>,
    pub added_at: Timestamp,
    pub object: ItemObject,
}

/// An item to add at the end of a collection.
#[derive(Debug, Clone)]
pub struct NewCollectionItem {
    pub public_id: String,
    pub collection: i64,
    pub target: ItemTarget,
    pub note: Option<String>,
    pub now: Timestamp,
    /// Most items the collection may hold (this one included).
    pub max_items: u64,
}

/// Changes to an item; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemChange {
    /// `Some(None)` clears the note.
    pub note: Option<Option<String>>,
    /// The rank to move the item to (0 is first; past the end is the end).
    pub position: Option<u64>,
    pub now: Timestamp,
}

/// How a collection listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionSort {
    /// The latest change first.
    LastModified,
    /// Most upvotes first, then the latest change.
    Upvotes,
}

/// Filters of a collection listing. Visibility is the caller's, through `private_namespaces`.
#[derive(Debug, Clone)]
pub struct CollectionQuery {
    /// Only collections of these namespaces (any case); empty: every namespace.
    pub owners: Vec<String>,
    /// Only collections holding one of these; empty: no such filter.
    pub containing: Vec<ItemTarget>,
    /// Private collections of these namespaces are listed too; `None`: every private one.
    pub private_namespaces: Option<Vec<String>>,
    pub sort: CollectionSort,
    pub offset: u64,
    pub limit: u64,
}

/// The collections table and their items; a supertrait of `MetadataStore`.
#[async_trait::async_trait]
pub trait CollectionStore: Send + Sync + 'static {
    /// Creates a collection after the namespace's last one. `NotFound` when the namespace does
    /// not exist (exact spelling), `AlreadyExists` when it has a collection of this title,
    /// `Conflict` (nothing written) when it already holds `max_per_namespace`.
    async fn create_collection(&self, new: &NewCollection) -> Result<CollectionRecord>;
    /// The collection with this public id.
    async fn collection(&self, public_id: &str) -> Result<Option<CollectionRecord>>;
    /// The namespace's collection with exactly this title.
    async fn collection_titled(&self, namespace: &str, title: &str) -> Result<Option<CollectionRecord>>;
    /// Applies `change` and returns the result. `NotFound` when the collection is gone,
    /// `AlreadyExists` (nothing written) when the new title is another collection's.
    async fn update_collection(&self, id: i64, change: &CollectionChange) -> Result<CollectionRecord>;
    /// Deletes the collection, its items and every item of other collections naming it;
    /// `NotFound` when it is gone.
    async fn delete_collection(&self, id: i64) -> Result<()>;
    /// A page of collections.
    async fn list_collections(&self, query: &CollectionQuery) -> Result<Vec<CollectionRecord>>;
    /// How many collections of its namespace come before `collection` (only public ones
    /// counted unless `include_private`).
    async fn collection_rank(&self, collection: &CollectionRecord, include_private: bool) -> Result<u64>;
    /// Adds an item after the collection's last one; the collection's `updated_at` moves.
    /// `NotFound` when the collection or the target is gone, `AlreadyExists` when the target is
    /// in it already, `Conflict` (nothing written) when it holds `max_items`.
    async fn add_collection_item(&self, new: &NewCollectionItem) -> Result<()>;
    /// The first `per_collection` items of each collection, by collection then position;
    /// only items whose target exists.
    async fn collection_items(
        &self,
        collections: &[i64],
        per_collection: u64,
    ) -> Result<Vec<CollectionItemRecord>>;
    /// Changes an item; the collection's `updated_at` moves. `NotFound` when the collection
    /// has no item with this public id.
    async fn update_collection_item(&self, collection: i64, item: &str, change: &ItemChange) -> Result<()>;
    /// Removes an item; the collection's `updated_at` moves. `NotFound` when the collection
    /// has no item with this public id.
    async fn delete_collection_item(&self, collection: i64, item: &str, now: Timestamp) -> Result<()>;
}
