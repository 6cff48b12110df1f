//! Conformance of `CollectionStore`. Run by `conformance::metadata_store`.

use kura_model::RepoType;

use crate::*;

fn new_collection(namespace: &str, title: &str, n: u8, now: i64) -> NewCollection {
    NewCollection {
        public_id: format!("{n:024x}"),
        namespace: namespace.into(),
        title: title.into(),
        description: None,
        private: false,
        theme: "green".into(),
        now,
        max_per_namespace: 3,
    }
}

fn new_item(collection: i64, target: ItemTarget, n: u8, max_items: u64) -> NewCollectionItem {
    NewCollectionItem {
        public_id: format!("{:024x}", 0x1000 + u32::from(n)),
        collection,
        target,
        note: None,
        now: 1000 + i64::from(n),
        max_items,
    }
}

fn query(owners: &[&str], private_namespaces: Option<Vec<String>>) -> CollectionQuery {
    CollectionQuery {
        owners: owners.iter().map(|o| (*o).to_owned()).collect(),
        containing: Vec::new(),
        private_namespaces,
        sort: CollectionSort::LastModified,
        offset: 0,
        limit: 10,
    }
}

async fn titles(store: &dyn MetadataStore, query: &CollectionQuery) -> Vec<String> {
    store.list_collections(query).await.unwrap().into_iter().map(|c| c.title).collect()
}

/// The public ids of a collection's items, in order.
async fn item_ids(store: &dyn MetadataStore, collection: i64) -> Vec<String> {
    let items = store.collection_items(&[collection], 100).await.unwrap();
    items.into_iter().map(|i| i.public_id).collect()
}

/// Exercises every `CollectionStore` method's contract.
pub async fn collection_store(store: &dyn MetadataStore) {
    let ann = store.create_user("ann-coll", false, 100).await.unwrap();
    store.create_org("crew-coll", ann.id, 100).await.unwrap();
    let first = store.create_collection(&new_collection("ann-coll", "Models", 1, 200)).await.unwrap();
    assert_eq!((first.namespace.as_str(), first.position, first.upvotes), ("ann-coll", 0, 0));
    assert_eq!((first.created_at, first.updated_at, first.private), (200, 200, false));
    assert_eq!(store.collection(&first.public_id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.collection("f".repeat(24).as_str()).await.unwrap(), None);
    assert_eq!(store.collection_titled("ann-coll", "Models").await.unwrap(), Some(first.clone()));
    assert_eq!(store.collection_titled("ann-coll", "models").await.unwrap(), None, "exact title");
    let taken = store.create_collection(&new_collection("ann-coll", "Models", 2, 210)).await;
    assert!(matches!(taken, Err(StorageError::AlreadyExists)));
    let nowhere = store.create_collection(&new_collection("nobody-coll", "X", 3, 210)).await;
    assert!(matches!(nowhere, Err(StorageError::NotFound)));
    let second = store.create_collection(&new_collection("ann-coll", "Data", 4, 220)).await.unwrap();
    let third = store.create_collection(&new_collection("ann-coll", "Apps", 5, 230)).await.unwrap();
    assert_eq!((second.position, third.position), (1, 2));
    let full = store.create_collection(&new_collection("ann-coll", "More", 6, 240)).await;
    assert!(matches!(full, Err(StorageError::Conflict)), "the namespace's budget");
    let crew = store.create_collection(&new_collection("crew-coll", "Team", 7, 250)).await.unwrap();
    assert_eq!(crew.position, 0, "positions are per namespace");

    collection_changes(store, &first, &second, &third).await;
    collection_listing(store, &first, &crew).await;
    collection_items(store, &first, &second, &crew).await;
}

async fn collection_changes(
    store: &dyn MetadataStore,
    first: &CollectionRecord,
    second: &CollectionRecord,
    third: &CollectionRecord,
) {
    let change = CollectionChange {
        title: Some("Best models".into()),
        description: Some(Some("mine".into())),
        private: Some(true),
        theme: Some("pink".into()),
        position: None,
        now: 300,
    };
    let changed = store.update_collection(first.id, &change).await.unwrap();
    assert_eq!(changed.title, "Best models");
    assert_eq!((changed.description.as_deref(), changed.private), (Some("mine"), true));
    assert_eq!(
        (changed.theme.as_str(), changed.updated_at, changed.public_id.as_str()),
        ("pink", 300, &*first.public_id)
    );
    let clear =
        CollectionChange { description: Some(None), private: Some(false), now: 310, ..Default::default() };
    assert_eq!(store.update_collection(first.id, &clear).await.unwrap().description, None);
    let clash = CollectionChange { title: Some("Data".into()), now: 320, ..Default::default() };
    assert!(matches!(store.update_collection(first.id, &clash).await, Err(StorageError::AlreadyExists)));
    let kept = store.collection(&first.public_id).await.unwrap().unwrap();
    assert_eq!(
        (kept.title.as_str(), kept.updated_at),
        ("Best models", 310),
        "a refused change writes nothing"
    );
    assert!(matches!(store.update_collection(-1, &clear).await, Err(StorageError::NotFound)));
    // Moving within the namespace: Apps first, then past the end.
    let rank = |c: CollectionRecord| async move { store.collection_rank(&c, true).await.unwrap() };
    let to = |position| CollectionChange { position: Some(position), now: 330, ..Default::default() };
    let moved = store.update_collection(third.id, &to(0)).await.unwrap();
    assert_eq!(rank(moved).await, 0);
    let first_now = store.collection(&first.public_id).await.unwrap().unwrap();
    let second_now = store.collection(&second.public_id).await.unwrap().unwrap();
    assert_eq!((rank(first_now).await, rank(second_now).await), (1, 2));
    let moved = store.update_collection(third.id, &to(99)).await.unwrap();
    assert_eq!(rank(moved.clone()).await, 2, "past the end is the end");
    let hidden = CollectionChange { private: Some(true), now: 340, ..Default::default() };
    store.update_collection(second.id, &hidden).await.unwrap();
    assert_eq!(store.collection_rank(&moved, false).await.unwrap(), 1, "the private one is not counted");
    let shown = CollectionChange { private: Some(false), now: 350, ..Default::default() };
    store.update_collection(second.id, &shown).await.unwrap();
}

async fn collection_listing(store: &dyn MetadataStore, first: &CollectionRecord, crew: &CollectionRecord) {
    // The latest change first; owners in any case; private ones only where allowed.
    let all = query(&["ANN-coll", "crew-coll"], None);
    assert_eq!(titles(store, &all).await, ["Data", "Apps", "Best models", "Team"]);
    let hidden = CollectionChange { private: Some(true), now: 360, ..Default::default() };
    store.update_collection(crew.id, &hidden).await.unwrap();
    let outsider = query(&["ann-coll", "crew-coll"], Some(Vec::new()));
    assert_eq!(titles(store, &outsider).await, ["Data", "Apps", "Best models"]);
    let member = query(&["ann-coll", "crew-coll"], Some(vec!["crew-coll".into()]));
    assert_eq!(titles(store, &member).await[0], "Team");
    let mut paged = query(&["ann-coll"], None);
    (paged.offset, paged.limit, paged.sort) = (1, 1, CollectionSort::Upvotes);
    assert_eq!(titles(store, &paged).await, ["Apps"]);
    let shown = CollectionChange { private: Some(false), now: 370, ..Default::default() };
    store.update_collection(crew.id, &shown).await.unwrap();
    let _ = first;
}

async fn collection_items(
    store: &dyn MetadataStore,
    first: &CollectionRecord,
    second: &CollectionRecord,
    crew: &CollectionRecord,
) {
    let model = crate::conformance::new_repo(store, RepoType::Model, "ann-coll/model", false).await;
    let space = crate::conformance::new_repo(store, RepoType::Space, "ann-coll/app", true).await;
    let add = |collection, target, n| new_item(collection, target, n, 3);
    store.add_collection_item(&add(first.id, ItemTarget::Repo(model.id), 1)).await.unwrap();
    let twice = store.add_collection_item(&add(first.id, ItemTarget::Repo(model.id), 2)).await;
    assert!(matches!(twice, Err(StorageError::AlreadyExists)), "each target once");
    store.add_collection_item(&add(first.id, ItemTarget::Collection(crew.id), 3)).await.unwrap();
    let mut noted = add(first.id, ItemTarget::Repo(space.id), 4);
    noted.note = Some("<b>not rendered</b>".into());
    store.add_collection_item(&noted).await.unwrap();
    let over = store.add_collection_item(&add(first.id, ItemTarget::Collection(second.id), 5)).await;
    assert!(matches!(over, Err(StorageError::Conflict)), "the collection's budget");
    let gone = store.add_collection_item(&add(-1, ItemTarget::Repo(model.id), 6)).await;
    assert!(matches!(gone, Err(StorageError::NotFound)));
    let no_repo = store.add_collection_item(&add(second.id, ItemTarget::Repo(-1), 7)).await;
    assert!(matches!(no_repo, Err(StorageError::NotFound)));
    let touched = store.collection(&first.public_id).await.unwrap().unwrap();
    assert_eq!(touched.updated_at, 1004, "adding moves updated_at");

    let items = store.collection_items(&[first.id], 10).await.unwrap();
    assert_eq!(items.len(), 3);
    assert!(matches!(&items[0].object, ItemObject::Repo(r) if r.id == model.id));
    assert!(matches!(&items[1].object, ItemObject::Collection(c) if c.id == crew.id));
    assert_eq!(items[2].note.as_deref(), Some("<b>not rendered</b>"), "stored as given");
    assert_eq!(items[2].collection, first.id);
    let [a, b, c] = [0, 1, 2].map(|n| items[n].public_id.clone());
    assert_eq!(item_ids(store, first.id).await, [a.clone(), b.clone(), c.clone()]);
    store.add_collection_item(&add(second.id, ItemTarget::Repo(model.id), 8)).await.unwrap();
    let both = store.collection_items(&[second.id, first.id], 2).await.unwrap();
    let owners: Vec<i64> = both.iter().map(|i| i.collection).collect();
    assert_eq!(owners, sorted(vec![first.id, first.id, second.id]), "at most 2 per collection");

    // Changing, moving and removing items.
    let note = ItemChange { note: Some(Some("changed".into())), position: Some(0), now: 2000 };
    store.update_collection_item(first.id, &c, &note).await.unwrap();
    assert_eq!(item_ids(store, first.id).await, [c.clone(), a.clone(), b.clone()]);
    let last = ItemChange { position: Some(50), now: 2010, ..Default::default() };
    store.update_collection_item(first.id, &c, &last).await.unwrap();
    assert_eq!(item_ids(store, first.id).await, [a.clone(), b.clone(), c.clone()]);
    let items = store.collection_items(&[first.id], 10).await.unwrap();
    assert_eq!(items[2].note.as_deref(), Some("changed"));
    let cleared = ItemChange { note: Some(None), now: 2020, ..Default::default() };
    store.update_collection_item(first.id, &c, &cleared).await.unwrap();
    assert_eq!(store.collection_items(&[first.id], 10).await.unwrap()[2].note, None);
    let missing = store.update_collection_item(second.id, &c, &cleared).await;
    assert!(matches!(missing, Err(StorageError::NotFound)), "an item of another collection");
    store.delete_collection_item(first.id, &a, 2030).await.unwrap();
    assert!(matches!(store.delete_collection_item(first.id, &a, 2040).await, Err(StorageError::NotFound)));
    assert_eq!(item_ids(store, first.id).await, [b.clone(), c.clone()]);

    // Filtering listings on what collections hold.
    let mut holding = query(&[], None);
    holding.containing = vec![ItemTarget::Repo(model.id), ItemTarget::Collection(crew.id)];
    let found: Vec<i64> = store.list_collections(&holding).await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(found, [first.id, second.id], "the latest change first");

    // Deletions take the items naming what is deleted.
    store.delete_repo(space.id).await.unwrap();
    assert_eq!(item_ids(store, first.id).await, std::slice::from_ref(&b));
    store.delete_collection(crew.id).await.unwrap();
    assert!(item_ids(store, first.id).await.is_empty());
    assert!(matches!(store.delete_collection(crew.id).await, Err(StorageError::NotFound)));
    store.delete_collection(second.id).await.unwrap();
    assert!(store.collection_items(&[second.id], 10).await.unwrap().is_empty());
    assert_eq!(store.collection(&second.public_id).await.unwrap(), None);
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}
