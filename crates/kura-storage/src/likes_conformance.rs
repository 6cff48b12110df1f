//! Conformance of `LikeStore`. Run by `conformance::metadata_store`.

use kura_model::RepoType;

use crate::*;

async fn repo(store: &dyn MetadataStore, id: &str, repo_type: RepoType) -> RepoRecord {
    crate::conformance::new_repo(store, repo_type, id, false).await
}

/// Exercises every `LikeStore` method's contract.
pub async fn like_store(store: &dyn MetadataStore) {
    let (ann, ben) = (
        store.create_user("ann-likes", false, 100).await.unwrap().id,
        store.create_user("ben-likes", false, 100).await.unwrap().id,
    );
    let model = repo(store, "ann-likes/model", RepoType::Model).await;
    let space = repo(store, "ann-likes/app", RepoType::Space).await;
    assert_eq!(model.likes, 0);
    assert!(store.set_like(model.id, ann, true, 200).await.unwrap());
    assert!(!store.set_like(model.id, ann, true, 250).await.unwrap(), "liking twice counts once");
    assert!(store.set_like(model.id, ben, true, 300).await.unwrap());
    assert!(store.set_like(space.id, ben, true, 400).await.unwrap());
    let count = |r: &RepoRecord| (r.repo_type, r.repo_id.clone());
    let (t, id) = count(&model);
    assert_eq!(store.repo(t, &id).await.unwrap().unwrap().likes, 2);
    let likers = store.repo_likers(model.id, 0, 10).await.unwrap();
    assert_eq!(
        likers,
        vec![
            Liker { name: "ben-likes".into(), liked_at: 300 },
            Liker { name: "ann-likes".into(), liked_at: 200 }
        ]
    );
    assert_eq!(store.repo_likers(model.id, 1, 10).await.unwrap().len(), 1, "paged");
    assert!(store.likes_repo(model.id, ann).await.unwrap());
    assert!(!store.likes_repo(space.id, ann).await.unwrap());
    let liked = store.liked_repos(ben, false, 0, 10).await.unwrap();
    assert_eq!(
        liked.iter().map(|l| (l.repo.repo_type, l.repo.repo_id.to_string(), l.liked_at)).collect::<Vec<_>>(),
        vec![
            (RepoType::Space, "ann-likes/app".into(), 400),
            (RepoType::Model, "ann-likes/model".into(), 300)
        ]
    );
    // A private repo's like is listed only when asked for everything, before paging.
    let private = crate::conformance::new_repo(store, RepoType::Model, "ann-likes/hidden", true).await;
    assert!(store.set_like(private.id, ben, true, 450).await.unwrap());
    assert_eq!(store.liked_repos(ben, false, 0, 1).await.unwrap()[0].repo.id, private.id);
    let public = store.liked_repos(ben, true, 0, 1).await.unwrap();
    assert_eq!(public[0].repo.id, space.id, "the first public like, not a gap");
    assert!(store.set_like(private.id, ben, false, 460).await.unwrap());
    // A like of a repo that is gone is refused, and leaves nothing.
    store.delete_repo(private.id).await.unwrap();
    assert!(matches!(store.set_like(private.id, ben, true, 470).await, Err(StorageError::NotFound)));
    // Listings sort on the count.
    let mut query = RepoQuery::every(RepoType::Model);
    query.search = Some("ann-likes/".into());
    query.sort = RepoSort::Likes;
    query.descending = true;
    let other = repo(store, "ann-likes/quiet", RepoType::Model).await;
    let order: Vec<i64> = store.list_repos(&query).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(order, vec![model.id, other.id]);
    // Unliking, twice, and a repo's deletion.
    assert!(store.set_like(model.id, ann, false, 500).await.unwrap());
    assert!(!store.set_like(model.id, ann, false, 500).await.unwrap());
    assert_eq!(store.repo(t, &id).await.unwrap().unwrap().likes, 1);
    store.delete_repo(space.id).await.unwrap();
    assert_eq!(
        store.liked_repos(ben, false, 0, 10).await.unwrap().len(),
        1,
        "a deleted repo's likes go with it"
    );
}
