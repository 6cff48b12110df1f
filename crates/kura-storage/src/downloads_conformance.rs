//! Conformance of `DownloadStore`. Run by `conformance::metadata_store`.

use kura_model::RepoType;

use crate::*;

async fn repo(store: &dyn MetadataStore, id: &str) -> RepoRecord {
    crate::conformance::new_repo(store, RepoType::Model, id, false).await
}

async fn counts(store: &dyn MetadataStore, r: &RepoRecord) -> (u64, u64) {
    let record = store.repo(r.repo_type, &r.repo_id).await.unwrap().unwrap();
    (record.downloads, record.downloads_all_time)
}

async fn trending(store: &dyn MetadataStore, r: &RepoRecord) -> u64 {
    store.repo(r.repo_type, &r.repo_id).await.unwrap().unwrap().trending
}

const DAY: i64 = 86_400_000;

/// Exercises every `DownloadStore` method's contract.
pub async fn download_store(store: &dyn MetadataStore) {
    let busy = repo(store, "dl-owner/busy").await;
    let quiet = repo(store, "dl-owner/quiet").await;
    assert_eq!(counts(store, &busy).await, (0, 0));
    let hit = |repo: i64, d: i64, client: &str| DownloadHit { repo, day: d, client: client.into() };
    let hits =
        [hit(busy.id, 100, "a"), hit(busy.id, 100, "b"), hit(busy.id, 100, "a"), hit(busy.id, 110, "a")];
    store.add_downloads(&hits, 90, 110).await.unwrap();
    // Another batch (another replica) with a client already counted that day, and a missing repo.
    store
        .add_downloads(&[hit(busy.id, 110, "a"), hit(busy.id, 110, "c"), hit(999_999, 110, "a")], 90, 110)
        .await
        .unwrap();
    assert_eq!(counts(store, &busy).await, (4, 4), "each client once per repo and day, across batches");
    // Sorting on the recent count.
    let mut query = RepoQuery::every(RepoType::Model);
    query.search = Some("dl-owner/".into());
    query.sort = RepoSort::Downloads;
    query.descending = true;
    let order: Vec<i64> = store.list_repos(&query).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(order, vec![busy.id, quiet.id]);
    // Trending: the last 7 days' downloads (day 100 is out of it), ten per recent like.
    assert_eq!(trending(store, &busy).await, 2);
    let liker = store.create_user("dl-liker", false, 100).await.unwrap().id;
    store.set_like(quiet.id, liker, true, 110 * DAY + 5).await.unwrap();
    assert_eq!(trending(store, &quiet).await, 10);
    query.sort = RepoSort::Trending;
    let order: Vec<i64> = store.list_repos(&query).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(order, vec![quiet.id, busy.id]);
    // Days leave the window; the all-time count stays.
    store.expire_downloads(105, 120).await.unwrap();
    assert_eq!(counts(store, &busy).await, (2, 4));
    assert_eq!(
        (trending(store, &busy).await, trending(store, &quiet).await),
        (0, 0),
        "scores move with the window"
    );
    store.add_downloads(&[hit(busy.id, 120, "a")], 115, 120).await.unwrap();
    assert_eq!(counts(store, &busy).await, (1, 5), "a batch recomputes the window too");
    assert_eq!(trending(store, &busy).await, 1);
    store.delete_repo(busy.id).await.unwrap();
    store.add_downloads(&[hit(busy.id, 121, "a")], 115, 121).await.unwrap();
}
