//! Conformance of `JobStore`: the durable queue's leases, retries and idempotence, and the
//! fact tables. Run by `conformance::metadata_store`.

use crate::*;

async fn claim(store: &dyn MetadataStore, owner: &str, now: i64) -> Option<JobRecord> {
    store.claim_job(owner, now, now + 1_000).await.unwrap()
}

/// Exercises every `JobStore` method's contract on an empty queue.
pub async fn job_store(store: &dyn MetadataStore) {
    queue_and_lease(store).await;
    retries_and_failures(store).await;
    concurrent_claims(store).await;
    facts(store).await;
}

async fn queue_and_lease(store: &dyn MetadataStore) {
    assert_eq!(store.job_counts(0).await.unwrap(), JobCounts::default());
    assert!(claim(store, "w1", 10).await.is_none(), "an empty queue has nothing to claim");
    assert!(store.enqueue_job("index", "a", "{\"n\":1}", 10, true).await.unwrap());
    assert!(
        !store.enqueue_job("index", "a", "{\"n\":2}", 11, true).await.unwrap(),
        "idempotent by kind and key"
    );
    assert!(store.enqueue_job("other", "a", "{}", 12, true).await.unwrap(), "kinds are separate");
    assert_eq!(store.job_counts(12).await.unwrap(), JobCounts { queued: 2, running: 0, failed: 0 });

    let first = claim(store, "w1", 20).await.expect("the oldest job");
    assert_eq!(
        (first.kind.as_str(), first.key.as_str(), first.payload.as_str()),
        ("index", "a", "{\"n\":1}")
    );
    assert_eq!(first.attempts, 1);
    assert!(
        !store.enqueue_job("index", "a", "{}", 21, true).await.unwrap(),
        "a running job is not queued twice"
    );
    assert_eq!(store.job_counts(21).await.unwrap(), JobCounts { queued: 1, running: 1, failed: 0 });
    let second = claim(store, "w2", 21).await.expect("the other job");
    assert_eq!(second.kind, "other");
    assert!(claim(store, "w3", 22).await.is_none(), "both are leased");

    // w1's lease (until 1,020) ends: another worker takes the job over, and w1 lost it.
    let again = claim(store, "w3", 1_021).await.expect("an expired lease is claimed again");
    assert_eq!((again.id, again.attempts), (first.id, 2));
    assert!(!store.finish_job(first.id, "w1").await.unwrap(), "w1 no longer holds the lease");
    assert!(store.finish_job(again.id, "w3").await.unwrap());
    assert!(store.finish_job(second.id, "w2").await.unwrap());
    assert_eq!(store.job_counts(2_000).await.unwrap(), JobCounts::default());
    assert!(
        store.enqueue_job("index", "a", "{}", 2_001, true).await.unwrap(),
        "a finished job may be queued again"
    );
    let rerun = claim(store, "w1", 2_002).await.unwrap();
    assert_eq!(rerun.attempts, 1);
    assert!(store.finish_job(rerun.id, "w1").await.unwrap());
}

async fn retries_and_failures(store: &dyn MetadataStore) {
    store.enqueue_job("index", "b", "{}", 3_000, true).await.unwrap();
    let job = claim(store, "w1", 3_001).await.unwrap();
    assert!(
        !store.fail_job(job.id, "w2", "not mine", Some(3_500)).await.unwrap(),
        "only the holder fails it"
    );
    assert!(store.fail_job(job.id, "w1", "storage was down", Some(3_500)).await.unwrap());
    assert!(claim(store, "w1", 3_100).await.is_none(), "not before its retry time");
    assert_eq!(store.job_counts(3_100).await.unwrap(), JobCounts { queued: 1, running: 0, failed: 0 });
    let retry = claim(store, "w2", 3_500).await.expect("due again");
    assert_eq!((retry.id, retry.attempts), (job.id, 2));
    assert!(store.fail_job(retry.id, "w2", "unreadable", None).await.unwrap());
    assert!(claim(store, "w1", 10_000).await.is_none(), "a failed job is not claimed");
    assert_eq!(store.job_counts(10_000).await.unwrap(), JobCounts { queued: 0, running: 0, failed: 1 });
    assert!(!store.enqueue_job("index", "b", "{}", 10_000, false).await.unwrap(), "failed stays failed");
    assert!(claim(store, "w1", 10_000).await.is_none());
    assert!(
        store.enqueue_job("index", "b", "{\"again\":true}", 10_001, true).await.unwrap(),
        "failed → queued"
    );
    let fresh = claim(store, "w1", 10_002).await.unwrap();
    assert_eq!((fresh.attempts, fresh.payload.as_str()), (1, "{\"again\":true}"));
    assert!(store.finish_job(fresh.id, "w1").await.unwrap());
}

async fn concurrent_claims(store: &dyn MetadataStore) {
    for key in ["c1", "c2", "c3"] {
        store.enqueue_job("index", key, "{}", 20_000, true).await.unwrap();
    }
    let owners: Vec<String> = (0..8).map(|n| format!("r{n}")).collect();
    let claims = owners.iter().map(|owner| store.claim_job(owner, 20_001, 30_000));
    let mut got: Vec<JobRecord> =
        futures_util::future::join_all(claims).await.into_iter().filter_map(Result::unwrap).collect();
    // A claim that lost a race may come back empty; the rest must still be claimable.
    while let Some(job) = claim(store, "late", 20_002).await {
        got.push(job);
    }
    let mut keys: Vec<&str> = got.iter().map(|job| job.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["c1", "c2", "c3"], "every job leased exactly once");
    for job in &got {
        store.fail_job(job.id, "nobody", "x", None).await.unwrap();
    }
    assert_eq!(store.job_counts(20_003).await.unwrap().running, 3);
}

async fn facts(store: &dyn MetadataStore) {
    let record =
        |key: &str, version, facts: &str| FactRecord { key: key.into(), version, facts: facts.into() };
    let keys = vec!["sha256:aa".to_owned(), "git:bb".to_owned()];
    assert!(store.facts(FactTable::Blob, &keys).await.unwrap().is_empty());
    store.put_facts(FactTable::Blob, &record("sha256:aa", 1, "{\"a\":1}"), 5).await.unwrap();
    store.put_facts(FactTable::Blob, &record("sha256:aa", 2, "{\"a\":2}"), 6).await.unwrap();
    store.put_facts(FactTable::Blob, &record("git:bb", 1, "{}"), 6).await.unwrap();
    let mut got = store.facts(FactTable::Blob, &keys).await.unwrap();
    got.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(got, vec![record("git:bb", 1, "{}"), record("sha256:aa", 2, "{\"a\":2}")], "replaced");
    assert!(store.facts(FactTable::Commit, &keys).await.unwrap().is_empty(), "tables are separate");
    store.put_facts(FactTable::Commit, &record("c0ffee", 1, "{\"c\":1}"), 7).await.unwrap();
    let commit = store.facts(FactTable::Commit, &["c0ffee".to_owned()]).await.unwrap();
    assert_eq!(commit, vec![record("c0ffee", 1, "{\"c\":1}")]);
    let too_many: Vec<String> = (0..=MAX_FACT_KEYS).map(|n| n.to_string()).collect();
    assert!(store.facts(FactTable::Blob, &too_many).await.is_err(), "a batch is bounded");
}
