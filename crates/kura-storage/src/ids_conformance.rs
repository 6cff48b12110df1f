//! Conformance of repo ids: one repo per id whatever its case, found in any case under its
//! stored spelling, and redirects from a moved repo's earlier ids (written with the rename,
//! taken over by a new repo, dropped with the repo, chains ending at the current id). Run by
//! `conformance::metadata_store`.

use kura_model::{ObjectId, RepoId, RepoType};

use crate::*;

fn id(text: &str) -> RepoId {
    RepoId::parse(text).unwrap()
}

fn new_repo(repo_id: &str) -> NewRepo {
    NewRepo {
        repo_type: RepoType::Model,
        repo_id: id(repo_id),
        private: false,
        created_at: 100,
        initial_commit: ObjectId([9; 20]),
        created_by: None,
    }
}

async fn current(store: &dyn MetadataStore, repo_id: &str) -> Option<String> {
    store.repo(RepoType::Model, &id(repo_id)).await.unwrap().map(|r| r.repo_id.to_string())
}

async fn redirected(store: &dyn MetadataStore, repo_id: &str) -> Option<String> {
    store.repo_redirect(RepoType::Model, &id(repo_id)).await.unwrap().map(|r| r.repo_id.to_string())
}

pub(crate) async fn repo_ids(store: &dyn MetadataStore) {
    let demo = store.create_repo(new_repo("Cased/Demo")).await.unwrap();
    assert_eq!(
        current(store, "cased/demo").await.as_deref(),
        Some("Cased/Demo"),
        "any case, stored spelling"
    );
    assert!(store.repo(RepoType::Dataset, &id("cased/demo")).await.unwrap().is_none(), "per type");
    let twin = store.create_repo(new_repo("cased/DEMO")).await.expect_err("one repo per id in any case");
    assert!(matches!(twin, StorageError::AlreadyExists), "{twin:?}");
    let other = store.create_repo(new_repo("cased/other")).await.unwrap();
    let taken = store.rename_repo(other.id, &id("CASED/demo")).await.expect_err("taken in another case");
    assert!(matches!(taken, StorageError::AlreadyExists), "{taken:?}");
    assert_eq!(current(store, "cased/other").await.as_deref(), Some("cased/other"), "unchanged");
    assert!(redirected(store, "cased/other").await.is_none(), "no redirect for a refused rename");

    // A chain of moves ends at the current id; every earlier id redirects, in any case.
    store.rename_repo(demo.id, &id("cased/moved")).await.unwrap();
    store.rename_repo(demo.id, &id("elsewhere/final")).await.unwrap();
    assert!(current(store, "cased/demo").await.is_none());
    for old in ["Cased/Demo", "cased/DEMO", "cased/moved"] {
        assert_eq!(redirected(store, old).await.as_deref(), Some("elsewhere/final"), "{old}");
    }
    // A case-only rename adds no redirect.
    store.rename_repo(demo.id, &id("elsewhere/Final")).await.unwrap();
    assert_eq!(current(store, "elsewhere/final").await.as_deref(), Some("elsewhere/Final"));
    assert!(redirected(store, "elsewhere/final").await.is_none());
    // A new repo at an earlier id takes it over; moving onto one does too.
    let fresh = store.create_repo(new_repo("cased/demo")).await.unwrap();
    assert!(redirected(store, "cased/demo").await.is_none(), "taken over by the new repo");
    assert_eq!(redirected(store, "cased/moved").await.as_deref(), Some("elsewhere/Final"));
    store.rename_repo(other.id, &id("cased/moved")).await.unwrap();
    assert!(redirected(store, "cased/moved").await.is_none(), "taken over by the moved repo");
    assert_eq!(redirected(store, "cased/other").await.as_deref(), Some("cased/moved"));
    // Deleting a repo drops the redirects to it.
    store.delete_repo(other.id).await.unwrap();
    assert!(redirected(store, "cased/other").await.is_none());
    store.delete_repo(demo.id).await.unwrap();
    store.delete_repo(fresh.id).await.unwrap();
}
