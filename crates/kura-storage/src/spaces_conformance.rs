//! Conformance of `SpaceStore`. Run by `conformance::metadata_store`.

use kura_model::{RepoId, RepoType};

use crate::*;

/// Exercises every `SpaceStore` method's contract.
pub async fn space_store(store: &dyn MetadataStore) {
    let new = |id: &'static str| crate::conformance::new_repo(store, RepoType::Space, id, false);
    let (one, two) = (new("sp-owner/my_app").await, new("sp-owner/my-app").await);
    assert_eq!(store.space_subdomain(one.id).await.unwrap(), None);
    let wanted = vec!["sp-owner-my-app".to_owned(), "sp-owner-my-app-1".to_owned()];
    let got = store.assign_space_subdomain(one.id, &wanted).await.unwrap();
    assert_eq!(got.as_deref(), Some("sp-owner-my-app"));
    let again = store.assign_space_subdomain(one.id, &["other".to_owned()]).await.unwrap();
    assert_eq!(again.as_deref(), Some("sp-owner-my-app"), "a Space keeps its subdomain");
    let second = store.assign_space_subdomain(two.id, &wanted).await.unwrap();
    assert_eq!(second.as_deref(), Some("sp-owner-my-app-1"), "a taken subdomain goes to nobody else");
    let none = store.assign_space_subdomain(new("sp-owner/third").await.id, &wanted[..1]).await.unwrap();
    assert_eq!(none, None, "every candidate taken");
    assert_eq!(store.space_by_subdomain("sp-owner-my-app").await.unwrap(), Some(one.repo_id.clone()));
    assert_eq!(store.space_by_subdomain("nobody").await.unwrap(), None);
    assert!(matches!(
        store.assign_space_subdomain(i64::MAX - 7, &["ghost".to_owned()]).await,
        Err(StorageError::NotFound)
    ));

    let variable = |key: &str, value: &str| SpaceVariable {
        key: key.to_owned(),
        value: value.to_owned(),
        description: Some(format!("about {key}")),
        updated_at: 100,
    };
    assert!(store.set_space_variable(one.id, &variable("B", "1"), 2).await.unwrap());
    assert!(store.set_space_variable(one.id, &variable("A", "2"), 2).await.unwrap());
    assert!(!store.set_space_variable(one.id, &variable("C", "3"), 2).await.unwrap(), "over the cap");
    let replaced = SpaceVariable { description: None, updated_at: 200, ..variable("A", "new") };
    assert!(store.set_space_variable(one.id, &replaced, 2).await.unwrap(), "replacing is not adding");
    let listed = store.space_variables(one.id).await.unwrap();
    assert_eq!(listed, vec![replaced, variable("B", "1")]);
    assert!(store.space_variables(two.id).await.unwrap().is_empty());
    assert!(store.delete_space_variable(one.id, "B").await.unwrap());
    assert!(!store.delete_space_variable(one.id, "B").await.unwrap());

    // A deleted Space frees its subdomain and takes its variables along.
    store.delete_repo(one.id).await.unwrap();
    assert_eq!(store.space_by_subdomain("sp-owner-my-app").await.unwrap(), None);
    assert!(store.space_variables(one.id).await.unwrap().is_empty());
    let renamed = RepoId::parse("sp-owner/renamed").unwrap();
    store.rename_repo(two.id, &renamed).await.unwrap();
    assert_eq!(
        store.space_by_subdomain("sp-owner-my-app-1").await.unwrap(),
        Some(renamed),
        "kept across a move"
    );
}
