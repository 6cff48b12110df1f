//! Collections: curated lists of models, datasets, Spaces and other collections, owned by a user
//! or an organization. Anyone reads a public collection; a private one is seen exactly by those
//! who see the namespace's private repos, and is missing (404) to everyone else. Only the
//! namespace's owner, its org's writers and admins (and server admins) change a collection or
//! its items, with a token that writes there; each change is a post (the per-user post rate).
//! Items pointing at what the caller may not see are left out of what the caller gets, and
//! naming such a thing as a new item is a 404. Notes are stored as given and never rendered.

use kura_model::RepoId;
use kura_storage::{
    CollectionChange, CollectionItemRecord, CollectionRecord, ItemChange, ItemTarget, NamespaceKind,
    NewCollection, NewCollectionItem, StorageError,
};

use crate::collection_rules::*;
use crate::collection_sight::Sight;
use crate::error::{CoreError, Result};
use crate::services::Collections;
use crate::{Identity, Principal};

/// A collection as the caller may see it.
#[derive(Debug, Clone)]
pub struct CollectionDetails {
    pub collection: CollectionRecord,
    pub owner: NamespaceKind,
    /// The items the caller may see, in order (in listings, the first few of them).
    pub items: Vec<CollectionItemRecord>,
    /// Its rank among the owner's collections the caller sees (answers about one collection
    /// only; listings leave it out, as the Hub's do).
    pub position: Option<u64>,
}

impl CollectionDetails {
    pub fn slug(&self) -> String {
        slug_of(&self.collection)
    }
}

/// The slug of a collection under its current title.
pub fn slug_of(collection: &CollectionRecord) -> String {
    make_slug(&collection.namespace, &collection.title, &collection.public_id)
}

/// What `create` did.
#[derive(Debug, Clone)]
pub enum CollectionCreated {
    New(CollectionDetails),
    /// The namespace already has a collection of this title (the client's `exists_ok` reads
    /// its slug from the 409).
    TitleTaken {
        slug: String,
    },
}

/// A collection to create.
#[derive(Debug, Clone)]
pub struct NewCollectionInput {
    pub namespace: String,
    pub title: String,
    pub description: Option<String>,
    pub private: bool,
}

/// Changes to a collection; `None` leaves a field alone. An empty description clears it.
#[derive(Debug, Clone, Default)]
pub struct CollectionUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub private: Option<bool>,
    pub theme: Option<String>,
    /// The rank among the owner's collections (0 first).
    pub position: Option<u64>,
}

/// Changes to an item; an empty note clears it.
#[derive(Debug, Clone, Default)]
pub struct ItemUpdate {
    pub note: Option<String>,
    /// The rank among all the collection's items (0 first).
    pub position: Option<u64>,
}

pub(crate) fn collection_missing() -> CoreError {
    CoreError::NotFound("Collection not found".to_owned())
}

fn item_missing() -> CoreError {
    CoreError::NotFound("Item not found in this collection".to_owned())
}

impl Collections<'_> {
    /// The collection a slug names, if the caller may see it; anything else is missing alike.
    pub(crate) async fn find(&self, sight: &Sight, slug: &str) -> Result<CollectionRecord> {
        let (namespace, public_id) = parse_slug(slug).ok_or_else(collection_missing)?;
        let found = self.meta.collection(public_id).await?.ok_or_else(collection_missing)?;
        if !found.namespace.eq_ignore_ascii_case(namespace) || !sight.sees_collection(&found) {
            return Err(collection_missing());
        }
        Ok(found)
    }

    /// A collection with every item the caller may see.
    pub async fn get(&self, identity: &Identity, slug: &str) -> Result<CollectionDetails> {
        let sight = self.sight(identity).await?;
        let found = self.find(&sight, slug).await?;
        self.details(&sight, found).await
    }

    pub(crate) async fn details(
        &self,
        sight: &Sight,
        collection: CollectionRecord,
    ) -> Result<CollectionDetails> {
        let items = self.meta.collection_items(&[collection.id], MAX_ITEMS).await?;
        let items = items.into_iter().filter(|item| sight.sees_item(item)).collect();
        let private_too = sight.sees_namespace(&collection.namespace);
        let position = self.meta.collection_rank(&collection, private_too).await?;
        let owner = self.owner_kind(&collection.namespace).await?;
        Ok(CollectionDetails { collection, owner, items, position: Some(position) })
    }

    pub(crate) async fn owner_kind(&self, namespace: &str) -> Result<NamespaceKind> {
        Ok(self.meta.namespace_kind(namespace).await?.unwrap_or(NamespaceKind::User))
    }

    /// The caller's right to manage `namespace`'s collections, and one of their changes.
    async fn poster<'i>(&self, identity: &'i Identity, namespace: &str) -> Result<&'i Principal> {
        let accounts = self.hub.accounts();
        let principal = accounts.authorize_namespace_manage(identity, namespace).await?;
        accounts.take_collection_change(principal)?;
        Ok(principal)
    }

    /// A collection the caller may see (else 404) and manage (else 403), for a change.
    async fn writable(&self, identity: &Identity, slug: &str) -> Result<(Sight, CollectionRecord)> {
        let sight = self.sight(identity).await?;
        let found = self.find(&sight, slug).await?;
        self.poster(identity, &found.namespace).await?;
        Ok((sight, found))
    }

    /// Creates a collection at the end of the namespace's list.
    pub async fn create(&self, identity: &Identity, input: NewCollectionInput) -> Result<CollectionCreated> {
        let title = check_title(&input.title)?;
        let description = input.description.as_deref().map(check_description).transpose()?.flatten();
        self.poster(identity, &input.namespace).await?;
        let theme = THEMES[rand::random_range(0..THEMES.len())].to_owned();
        let new = NewCollection {
            public_id: new_public_id(),
            namespace: input.namespace,
            title,
            description,
            private: input.private,
            theme,
            now: self.now_millis(),
            max_per_namespace: MAX_COLLECTIONS,
        };
        let created = match self.meta.create_collection(&new).await {
            Err(StorageError::AlreadyExists) => {
                let existing = self.meta.collection_titled(&new.namespace, &new.title).await?;
                let existing = existing.ok_or_else(|| CoreError::conflict("Concurrent creation; retry"))?;
                return Ok(CollectionCreated::TitleTaken { slug: slug_of(&existing) });
            }
            Err(StorageError::NotFound) => {
                return Err(CoreError::NotFound(format!("Namespace '{}' not found", new.namespace)));
            }
            Err(StorageError::Conflict) => {
                return Err(CoreError::invalid(format!(
                    "'{}' already has {MAX_COLLECTIONS} collections, the most one namespace may hold",
                    new.namespace
                )));
            }
            other => other?,
        };
        let sight = self.sight(identity).await?;
        Ok(CollectionCreated::New(self.details(&sight, created).await?))
    }

    /// Changes a collection's title, description, visibility, theme or rank.
    pub async fn update(
        &self,
        identity: &Identity,
        slug: &str,
        update: CollectionUpdate,
    ) -> Result<CollectionDetails> {
        let change = CollectionChange {
            title: update.title.as_deref().map(check_title).transpose()?,
            description: update.description.as_deref().map(check_description).transpose()?,
            private: update.private,
            theme: update.theme.as_deref().map(check_theme).transpose()?,
            position: update.position,
            now: self.now_millis(),
        };
        let (sight, found) = self.writable(identity, slug).await?;
        let changed = match self.meta.update_collection(found.id, &change).await {
            Err(StorageError::AlreadyExists) => {
                return Err(CoreError::conflict("This namespace already has a collection with this title"));
            }
            Err(StorageError::NotFound) => return Err(collection_missing()),
            other => other?,
        };
        self.details(&sight, changed).await
    }

    /// Deletes a collection, and the items of other collections naming it.
    pub async fn delete(&self, identity: &Identity, slug: &str) -> Result<()> {
        let (_, found) = self.writable(identity, slug).await?;
        match self.meta.delete_collection(found.id).await {
            Err(StorageError::NotFound) => Err(collection_missing()),
            other => Ok(other?),
        }
    }

    /// Adds a model, dataset, Space (by repo id) or collection (by slug) the caller may see,
    /// after the last item.
    pub async fn add_item(
        &self,
        identity: &Identity,
        slug: &str,
        (kind, id): (&str, &str),
        note: Option<&str>,
    ) -> Result<CollectionDetails> {
        let kind = ItemKind::parse(kind)?;
        let note = note.map(check_note).transpose()?.flatten();
        let (sight, found) = self.writable(identity, slug).await?;
        let target = self.target(identity, &sight, kind, id).await?;
        if target == ItemTarget::Collection(found.id) {
            return Err(CoreError::invalid("A collection cannot hold itself"));
        }
        let new = NewCollectionItem {
            public_id: new_public_id(),
            collection: found.id,
            target,
            note,
            now: self.now_millis(),
            max_items: MAX_ITEMS,
        };
        match self.meta.add_collection_item(&new).await {
            Err(StorageError::AlreadyExists) => {
                return Err(CoreError::conflict("This item is already in the collection"));
            }
            Err(StorageError::Conflict) => {
                return Err(CoreError::invalid(format!("A collection holds at most {MAX_ITEMS} items")));
            }
            Err(StorageError::NotFound) => return Err(collection_missing()),
            other => other?,
        }
        let collection = self.meta.collection(&found.public_id).await?.ok_or_else(collection_missing)?;
        self.details(&sight, collection).await
    }

    /// What an added item points at: a repo or collection the caller may see.
    async fn target(
        &self,
        identity: &Identity,
        sight: &Sight,
        kind: ItemKind,
        id: &str,
    ) -> Result<ItemTarget> {
        let repo_type = match kind {
            ItemKind::Collection => return Ok(ItemTarget::Collection(self.find(sight, id).await?.id)),
            ItemKind::Repo(repo_type) => repo_type,
        };
        let repo_id = RepoId::parse(id)?;
        let repos = self.hub.repos();
        let repo = match repos.find_repo(identity, repo_type, &repo_id).await {
            Err(CoreError::RepoMoved { to, .. }) => repos.find_repo(identity, repo_type, &to).await?,
            other => other?,
        };
        Ok(ItemTarget::Repo(repo.id))
    }

    /// Changes an item's note or rank.
    pub async fn update_item(
        &self,
        identity: &Identity,
        slug: &str,
        item: &str,
        update: ItemUpdate,
    ) -> Result<CollectionDetails> {
        let note = update.note.as_deref().map(check_note).transpose()?;
        let (sight, found) = self.writable(identity, slug).await?;
        if !is_public_id(item) {
            return Err(item_missing());
        }
        let change = ItemChange { note, position: update.position, now: self.now_millis() };
        match self.meta.update_collection_item(found.id, item, &change).await {
            Err(StorageError::NotFound) => return Err(item_missing()),
            other => other?,
        }
        let collection = self.meta.collection(&found.public_id).await?.ok_or_else(collection_missing)?;
        self.details(&sight, collection).await
    }

    /// Moves an item one place up (`later == false`) or down among the items the caller sees,
    /// past any the caller may not see between them (a rank in `update_item` counts those
    /// too, so a page cannot compute it from what it shows). At either end nothing moves.
    pub async fn move_item(
        &self,
        identity: &Identity,
        slug: &str,
        item: &str,
        later: bool,
    ) -> Result<CollectionDetails> {
        let (sight, found) = self.writable(identity, slug).await?;
        let items = self.meta.collection_items(&[found.id], MAX_ITEMS).await?;
        let rank = items.iter().position(|i| i.public_id == item).ok_or_else(item_missing)?;
        let neighbour = match later {
            false => items[..rank].iter().rposition(|i| sight.sees_item(i)),
            true => items[rank + 1..].iter().position(|i| sight.sees_item(i)).map(|n| rank + 1 + n),
        };
        if let Some(to) = neighbour {
            let change = ItemChange { note: None, position: Some(to as u64), now: self.now_millis() };
            match self.meta.update_collection_item(found.id, item, &change).await {
                Err(StorageError::NotFound) => return Err(item_missing()),
                other => other?,
            }
        }
        let collection = self.meta.collection(&found.public_id).await?.ok_or_else(collection_missing)?;
        self.details(&sight, collection).await
    }

    /// Removes an item.
    pub async fn delete_item(&self, identity: &Identity, slug: &str, item: &str) -> Result<()> {
        let (_, found) = self.writable(identity, slug).await?;
        if !is_public_id(item) {
            return Err(item_missing());
        }
        match self.meta.delete_collection_item(found.id, item, self.now_millis()).await {
            Err(StorageError::NotFound) => Err(item_missing()),
            other => Ok(other?),
        }
    }
}
