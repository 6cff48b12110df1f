//! What of collections a caller may see, decided once per request (`Sight`), and the listing
//! of collections (`GET /api/collections`), filtered by owner and item before paging.

use std::collections::HashMap;

use kura_model::{RepoId, RepoType, Role};
use kura_storage::{
    CollectionItemRecord, CollectionQuery, CollectionRecord, CollectionSort, ItemObject, ItemTarget,
    NamespaceKind, RepoRecord,
};

use crate::Identity;
use crate::collections::CollectionDetails;
use crate::error::{CoreError, Result};
use crate::services::Collections;

/// Collections per listing page by default, and at most (as on the Hub).
pub const DEFAULT_LIST_LIMIT: u64 = 10;
pub const MAX_LIST_LIMIT: u64 = 100;
/// Highest offset of a listing (past it the listing is refused rather than scanned).
const MAX_LIST_OFFSET: u64 = 10_000;
/// Most `owner` and `item` filters of one listing.
const MAX_FILTERS: usize = 50;
/// Items a listed collection shows (as the Hub truncates them), and how many of its first
/// items are looked at to find them.
const PREVIEW_ITEMS: usize = 4;
const PREVIEW_SCAN: u64 = 16;

/// The private things a caller may see: the namespaces (and, for fine-grained tokens scoped
/// to single repos, those repos) the caller reads, or everything (server admins). The same
/// rule as `Accounts::can_see` for repos, computed once instead of per item.
#[derive(Debug, Clone)]
pub(crate) struct Sight {
    every: bool,
    namespaces: Vec<String>,
    repos: Vec<(RepoType, RepoId)>,
}

impl Sight {
    pub(crate) fn sees_namespace(&self, namespace: &str) -> bool {
        self.every || self.namespaces.iter().any(|n| n == namespace)
    }

    pub(crate) fn sees_repo(&self, repo: &RepoRecord) -> bool {
        !repo.private
            || self.sees_namespace(repo.repo_id.namespace())
            || self.repos.iter().any(|(t, id)| *t == repo.repo_type && *id == repo.repo_id)
    }

    pub(crate) fn sees_collection(&self, collection: &CollectionRecord) -> bool {
        !collection.private || self.sees_namespace(&collection.namespace)
    }

    pub(crate) fn sees_item(&self, item: &CollectionItemRecord) -> bool {
        match &item.object {
            ItemObject::Repo(repo) => self.sees_repo(repo),
            ItemObject::Collection(collection) => self.sees_collection(collection),
        }
    }

    /// The private namespaces a listing may show (`None`: all).
    fn private_namespaces(&self) -> Option<Vec<String>> {
        (!self.every).then(|| self.namespaces.clone())
    }
}

/// A listing request.
#[derive(Debug, Clone)]
pub struct CollectionListing {
    /// Only these users' or orgs' collections (any of them).
    pub owners: Vec<String>,
    /// Only collections holding one of these (`models/{id}`, `datasets/{id}`, `spaces/{id}`,
    /// `collections/{slug}`; `papers/…` holds nothing here).
    pub items: Vec<String>,
    pub sort: CollectionSort,
    pub offset: u64,
    pub limit: u64,
}

impl Collections<'_> {
    pub(crate) async fn sight(&self, identity: &Identity) -> Result<Sight> {
        let accounts = self.hub.accounts();
        let (namespaces, repos) = accounts.visible_private(identity, RepoType::Model).await?;
        let mut scoped: Vec<(RepoType, RepoId)> = repos.into_iter().map(|id| (RepoType::Model, id)).collect();
        if identity.principal().is_some_and(|p| p.token.role == Role::FineGrained) {
            for repo_type in [RepoType::Dataset, RepoType::Space] {
                let (_, repos) = accounts.visible_private(identity, repo_type).await?;
                scoped.extend(repos.into_iter().map(|id| (repo_type, id)));
            }
        }
        Ok(Sight { every: namespaces.is_none(), namespaces: namespaces.unwrap_or_default(), repos: scoped })
    }

    /// A page of the collections the caller may see, each with its first visible items;
    /// whether more follow.
    pub async fn list(
        &self,
        identity: &Identity,
        listing: &CollectionListing,
    ) -> Result<(Vec<CollectionDetails>, bool)> {
        if listing.offset > MAX_LIST_OFFSET {
            return Err(CoreError::invalid(format!("A collection listing ends at offset {MAX_LIST_OFFSET}")));
        }
        if listing.owners.len() + listing.items.len() > MAX_FILTERS {
            return Err(CoreError::invalid(format!("At most {MAX_FILTERS} 'owner' and 'item' filters")));
        }
        let limit = listing.limit.clamp(1, MAX_LIST_LIMIT);
        let sight = self.sight(identity).await?;
        let mut containing = Vec::new();
        for item in &listing.items {
            containing.extend(self.filter_target(&sight, item).await?);
        }
        if !listing.items.is_empty() && containing.is_empty() {
            return Ok((Vec::new(), false));
        }
        let query = CollectionQuery {
            owners: listing.owners.clone(),
            containing,
            private_namespaces: sight.private_namespaces(),
            sort: listing.sort,
            offset: listing.offset,
            limit: limit + 1,
        };
        let mut found = self.meta.list_collections(&query).await?;
        let more = found.len() as u64 > limit;
        found.truncate(limit as usize);
        Ok((self.previews(&sight, found).await?, more))
    }

    /// Listed collections with their first items the caller may see.
    async fn previews(&self, sight: &Sight, found: Vec<CollectionRecord>) -> Result<Vec<CollectionDetails>> {
        let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
        let mut items: HashMap<i64, Vec<CollectionItemRecord>> = HashMap::new();
        for item in self.meta.collection_items(&ids, PREVIEW_SCAN).await? {
            let shown = items.entry(item.collection).or_default();
            if shown.len() < PREVIEW_ITEMS && sight.sees_item(&item) {
                shown.push(item);
            }
        }
        let mut owners: HashMap<String, NamespaceKind> = HashMap::new();
        let mut out = Vec::with_capacity(found.len());
        for collection in found {
            let owner = match owners.get(&collection.namespace) {
                Some(kind) => *kind,
                None => {
                    let kind = self.owner_kind(&collection.namespace).await?;
                    owners.insert(collection.namespace.clone(), kind);
                    kind
                }
            };
            let items = items.remove(&collection.id).unwrap_or_default();
            out.push(CollectionDetails { collection, owner, items, position: None });
        }
        Ok(out)
    }

    /// What an `item` filter names, if it exists and the caller may see it.
    async fn filter_target(&self, sight: &Sight, text: &str) -> Result<Option<ItemTarget>> {
        let Some((kind, id)) = text.split_once('/') else {
            return Err(CoreError::invalid("'item' must look like models/{namespace}/{name}"));
        };
        match kind {
            "papers" => Ok(None),
            "collections" => match self.find(sight, id).await {
                Ok(found) => Ok(Some(ItemTarget::Collection(found.id))),
                Err(CoreError::NotFound(_)) => Ok(None),
                Err(other) => Err(other),
            },
            plural => {
                let Some(repo_type) = RepoType::from_plural(plural) else {
                    return Err(CoreError::invalid(
                        "'item' must start with models/, datasets/, spaces/, collections/ or papers/",
                    ));
                };
                let Ok(repo_id) = RepoId::parse(id) else { return Ok(None) };
                let repo = self.meta.repo(repo_type, &repo_id).await?;
                Ok(repo.filter(|r| sight.sees_repo(r)).map(|r| ItemTarget::Repo(r.id)))
            }
        }
    }
}
