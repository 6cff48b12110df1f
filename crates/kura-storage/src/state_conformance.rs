//! Conformance of `RepoRecord::state`: it changes with every change of what caches derive
//! from a repo besides its row (refs, linked large objects, cards linking to it, its id) and
//! stays put for changes that do not matter to those (a like, a download, a tag). Run by
//! `conformance::metadata_store`.

use kura_model::{ObjectId, RefName, RepoId, RepoType, Sha256};

use crate::*;

async fn state(store: &dyn MetadataStore, repo_type: RepoType, id: &RepoId) -> u64 {
    store.repo(repo_type, id).await.expect("read repo").expect("repo exists").state
}

async fn create(store: &dyn MetadataStore, repo_type: RepoType, id: &str, owner: i64) -> RepoRecord {
    let new = NewRepo {
        repo_type,
        repo_id: RepoId::parse(id).unwrap(),
        private: false,
        created_at: 100,
        initial_commit: ObjectId([3; 20]),
        created_by: Some(owner),
    };
    store.create_repo(new).await.expect("create repo")
}

pub(crate) async fn repo_state(store: &dyn MetadataStore) {
    let owner = store.create_user("stater", false, 1).await.expect("create user");
    let model = create(store, RepoType::Model, "stater/Model", owner.id).await;
    let other = create(store, RepoType::Model, "stater/other", owner.id).await;
    let space = create(store, RepoType::Space, "stater/app", owner.id).await;
    let id = model.repo_id.clone();
    let mut seen = state(store, RepoType::Model, &id).await;
    let other_state = state(store, RepoType::Model, &other.repo_id).await;
    let mut changed = |now: u64, what: &str| {
        assert_ne!(now, seen, "{what} changes the state");
        seen = now;
    };

    let main = RefName::branch("main").unwrap();
    store.update_ref(model.id, &main, Some(ObjectId([3; 20])), Some(ObjectId([4; 20])), 5).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "moving a branch");
    let tag = RefName::tag("v1").unwrap();
    store.update_ref(model.id, &tag, None, Some(ObjectId([4; 20])), 6).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "creating a tag");
    store.update_ref(model.id, &tag, Some(ObjectId([4; 20])), None, 7).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "deleting a tag");

    let blob = Sha256([9; 32]);
    store.record_lfs_object(&blob, 10, 8).await.unwrap();
    store.link_lfs_object(model.id, &blob).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "linking a large object");
    let file = XetFileRecord { file_hash: "ab".repeat(32), sha256: blob, size: 10, terms: String::new() };
    store.record_xet_file(&file, 9).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "a Xet record of an object it holds");
    store.unlink_lfs_objects(model.id, &[blob]).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "unlinking a large object");

    // A Space's card names the model in another case: the model's state moves, twice.
    store.set_repo_links(space.id, "model", &["STATER/model".to_owned()]).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "a card that starts naming it");
    store.set_repo_links(space.id, "model", &[]).await.unwrap();
    changed(state(store, RepoType::Model, &id).await, "a card that stops naming it");

    let renamed = RepoId::parse("stater/renamed").unwrap();
    store.rename_repo(model.id, &renamed).await.unwrap();
    changed(state(store, RepoType::Model, &renamed).await, "a rename");

    // A new repo never meets a deleted one's (id, state), even where the engine gives it the
    // deleted one's id (SQLite reuses the highest id).
    let last = create(store, RepoType::Model, "stater/last", owner.id).await;
    let last = store.repo(RepoType::Model, &last.repo_id).await.unwrap().unwrap();
    store.delete_repo(last.id).await.unwrap();
    let next = create(store, RepoType::Model, "stater/next", owner.id).await;
    let next = store.repo(RepoType::Model, &next.repo_id).await.unwrap().unwrap();
    assert_ne!((next.id, next.state), (last.id, last.state), "a new repo's key is its own");
    assert!(next.state > last.state, "states only grow");

    store.set_repo_tags(model.id, &["x".to_owned()]).await.unwrap();
    assert_eq!(state(store, RepoType::Model, &renamed).await, seen, "tags are on the row itself");
    assert_eq!(
        state(store, RepoType::Model, &other.repo_id).await,
        other_state,
        "another repo's changes leave its state alone"
    );
}
