//! Conformance of `MirrorStore`. Run by `conformance::metadata_store`.

use kura_model::{RepoId, RepoType};

use crate::*;

fn id(text: &str) -> RepoId {
    RepoId::parse(text).unwrap()
}

fn file(n: usize, commit: &str) -> MirrorFileRecord {
    MirrorFileRecord {
        xet_hash: format!("{n:064x}"),
        sha256: format!("{:064x}", n + 1_000_000),
        size: 1_000 + n as u64,
        commit: commit.to_owned(),
        path: format!("shards/part-{n:05}.safetensors"),
    }
}

/// The mirrored repos of the suite: `Alice/Demo` as a model and as a dataset, `bob/demo`.
struct Mirrors {
    model: MirrorRepoRecord,
    dataset: MirrorRepoRecord,
    other: MirrorRepoRecord,
}

/// Exercises every `MirrorStore` method's contract on empty mirror tables.
pub async fn mirror_store(store: &dyn MetadataStore) {
    external_tokens(store).await;
    let mirrors = repos(store).await;
    refs(store, &mirrors).await;
    docs(store, &mirrors).await;
    files(store, &mirrors).await;
    objects(store, &mirrors).await;
    runs(store, &mirrors).await;
    eviction(store, &mirrors).await;
}

async fn repos(store: &dyn MetadataStore) -> Mirrors {
    assert_eq!(store.mirror_holdings().await.unwrap(), vec![], "no mirrored repo yet");
    assert_eq!(store.find_mirror_repo(RepoType::Model, &id("alice/demo")).await.unwrap(), None);

    let model = store.mirror_repo(RepoType::Model, &id("Alice/Demo"), 10).await.unwrap();
    assert_eq!(
        (model.repo_type, model.repo_id.to_string(), model.created_at),
        (RepoType::Model, "Alice/Demo".to_owned(), 10)
    );
    let again = store.mirror_repo(RepoType::Model, &id("alice/DEMO"), 20).await.unwrap();
    assert_eq!(again, model, "any case: the same repo, first spelling and time kept");
    assert_eq!(
        store.find_mirror_repo(RepoType::Model, &id("ALICE/demo")).await.unwrap(),
        Some(model.clone()),
        "found in any case"
    );
    assert_eq!(store.find_mirror_repo(RepoType::Dataset, &id("alice/demo")).await.unwrap(), None, "per type");

    let dataset = store.mirror_repo(RepoType::Dataset, &id("alice/demo"), 30).await.unwrap();
    assert_ne!(dataset.id, model.id, "ids are per type");
    assert_eq!(
        (dataset.repo_type, dataset.repo_id.to_string(), dataset.created_at),
        (RepoType::Dataset, "alice/demo".to_owned(), 30)
    );
    assert_eq!(store.find_mirror_repo(RepoType::Space, &id("alice/demo")).await.unwrap(), None);

    // Callers racing to record one new repo all get it, under one id and one spelling.
    let spellings = ["bob/demo", "Bob/Demo", "BOB/DEMO", "bob/Demo"].map(id);
    let racing = spellings.iter().map(|repo_id| store.mirror_repo(RepoType::Model, repo_id, 40));
    let raced: Vec<MirrorRepoRecord> =
        futures_util::future::join_all(racing).await.into_iter().map(Result::unwrap).collect();
    let other = raced[0].clone();
    assert!(raced.iter().all(|repo| *repo == other), "one record: {raced:?}");
    assert!(other.id != model.id && other.id != dataset.id);
    assert!(spellings.contains(&other.repo_id), "one caller's spelling");
    assert_eq!(store.find_mirror_repo(RepoType::Model, &id("bob/demo")).await.unwrap(), Some(other.clone()));

    Mirrors { model, dataset, other }
}

async fn refs(store: &dyn MetadataStore, m: &Mirrors) {
    let (a, b) = (m.model.id, m.other.id);
    assert_eq!(store.mirror_ref(a, "main").await.unwrap(), None);
    let first = MirrorRefRecord { commit: "c1".into(), fetched_at: 100 };
    store.put_mirror_ref(a, "main", &first).await.unwrap();
    assert_eq!(store.mirror_ref(a, "main").await.unwrap(), Some(first));
    let moved = MirrorRefRecord { commit: "c2".into(), fetched_at: 200 };
    store.put_mirror_ref(a, "main", &moved).await.unwrap();
    assert_eq!(store.mirror_ref(a, "main").await.unwrap(), Some(moved.clone()), "replaced");

    let tag = MirrorRefRecord { commit: "c1".into(), fetched_at: 210 };
    store.put_mirror_ref(a, "v1.0", &tag).await.unwrap();
    assert_eq!(store.mirror_ref(a, "v1.0").await.unwrap(), Some(tag));
    assert_eq!(store.mirror_ref(a, "main").await.unwrap(), Some(moved.clone()), "refs are by name");

    assert_eq!(store.mirror_ref(b, "main").await.unwrap(), None, "refs are per mirrored repo");
    let theirs = MirrorRefRecord { commit: "c3".into(), fetched_at: 220 };
    store.put_mirror_ref(b, "main", &theirs).await.unwrap();
    assert_eq!(store.mirror_ref(b, "main").await.unwrap(), Some(theirs));
    assert_eq!(store.mirror_ref(a, "main").await.unwrap(), Some(moved));
}

async fn docs(store: &dyn MetadataStore, m: &Mirrors) {
    let (a, b) = (m.model.id, m.other.id);
    assert_eq!(store.mirror_doc(a, "c1", "info").await.unwrap(), None);
    store.put_mirror_doc(a, "c1", "info", "{\"one\":1}", 300).await.unwrap();
    assert_eq!(store.mirror_doc(a, "c1", "info").await.unwrap().as_deref(), Some("{\"one\":1}"));
    store.put_mirror_doc(a, "c1", "info", "{\"two\":2}", 310).await.unwrap();
    assert_eq!(
        store.mirror_doc(a, "c1", "info").await.unwrap().as_deref(),
        Some("{\"one\":1}"),
        "the first answer at a commit is kept"
    );

    assert_eq!(store.mirror_doc(a, "c2", "info").await.unwrap(), None, "by commit");
    assert_eq!(store.mirror_doc(a, "c1", "tree").await.unwrap(), None, "by key");
    store.put_mirror_doc(a, "c2", "info", "at c2", 320).await.unwrap();
    store.put_mirror_doc(a, "c1", "tree", "tree at c1", 330).await.unwrap();
    assert_eq!(store.mirror_doc(a, "c2", "info").await.unwrap().as_deref(), Some("at c2"));
    assert_eq!(store.mirror_doc(a, "c1", "tree").await.unwrap().as_deref(), Some("tree at c1"));

    assert_eq!(store.mirror_doc(b, "c1", "info").await.unwrap(), None, "docs are per mirrored repo");
    store.put_mirror_doc(b, "c1", "info", "theirs", 340).await.unwrap();
    assert_eq!(store.mirror_doc(b, "c1", "info").await.unwrap().as_deref(), Some("theirs"));
    assert_eq!(store.mirror_doc(a, "c1", "info").await.unwrap().as_deref(), Some("{\"one\":1}"));
}

/// More files than one multi-row insert takes, a hash listed twice in one call, and a second
/// call that lists known hashes again: the first row for a hash stays.
async fn files(store: &dyn MetadataStore, m: &Mirrors) {
    let (a, b) = (m.model.id, m.other.id);
    store.put_mirror_files(a, &[]).await.expect("nothing to record");
    assert_eq!(store.mirror_file(a, &file(0, "c1").xet_hash).await.unwrap(), None);

    let mut listed: Vec<MirrorFileRecord> = (0..1_050).map(|n| file(n, "c1")).collect();
    let mut twice = file(7, "c1");
    twice.path = "listed/again.bin".into();
    listed.push(twice);
    store.put_mirror_files(a, &listed).await.unwrap();
    for n in 0..1_050 {
        assert_eq!(
            store.mirror_file(a, &file(n, "c1").xet_hash).await.unwrap(),
            Some(file(n, "c1")),
            "file {n}"
        );
    }

    let relisted: Vec<MirrorFileRecord> = (1_000..1_100).map(|n| file(n, "c2")).collect();
    store.put_mirror_files(a, &relisted).await.unwrap();
    assert_eq!(store.mirror_file(a, &file(1_049, "c1").xet_hash).await.unwrap(), Some(file(1_049, "c1")));
    assert_eq!(
        store.mirror_file(a, &file(1_050, "c2").xet_hash).await.unwrap(),
        Some(file(1_050, "c2")),
        "new hashes of a later call are recorded"
    );
    assert_eq!(store.mirror_file(a, &file(1_100, "c2").xet_hash).await.unwrap(), None);

    let hash = file(3, "c1").xet_hash;
    assert_eq!(store.mirror_file(b, &hash).await.unwrap(), None, "files are per mirrored repo");
    let theirs = MirrorFileRecord { path: "theirs.bin".into(), size: 5_000_000_000, ..file(3, "c3") };
    store.put_mirror_files(b, std::slice::from_ref(&theirs)).await.unwrap();
    assert_eq!(store.mirror_file(b, &hash).await.unwrap(), Some(theirs), "sizes past 32 bits");
    assert_eq!(store.mirror_file(a, &hash).await.unwrap(), Some(file(3, "c1")));
}

async fn objects(store: &dyn MetadataStore, m: &Mirrors) {
    let (a, d, b) = (m.model.id, m.dataset.id, m.other.id);
    let blob = "sha256:".to_owned() + &"ab".repeat(32);
    let git = "git:".to_owned() + &"cd".repeat(20);
    assert!(!store.mirror_holds(a, &blob).await.unwrap());
    store.put_mirror_object(a, &blob, 10, 400).await.unwrap();
    assert!(store.mirror_holds(a, &blob).await.unwrap());
    assert!(!store.mirror_holds(b, &blob).await.unwrap(), "holdings are per mirrored repo");
    assert!(!store.mirror_holds(a, &git).await.unwrap());
    store.put_mirror_object(a, &blob, 15, 410).await.expect("recording again replaces");
    store.put_mirror_object(a, &git, 5, 420).await.unwrap();
    assert!(store.mirror_holds(a, &git).await.unwrap());
    store.put_mirror_object(b, &blob, 7, 430).await.unwrap();
    assert!(store.mirror_holds(b, &blob).await.unwrap());
    store.put_mirror_object(d, &blob, 5_000_000_000, 440).await.unwrap();
    store.put_mirror_object(d, &git, 6_000_000_000, 450).await.unwrap();

    let holding = |repo: &MirrorRepoRecord, objects: u64, bytes: u64, last: i64| MirrorHolding {
        repo: repo.clone(),
        objects,
        bytes,
        last_fetched: Some(last),
    };
    assert_eq!(
        store.mirror_holdings().await.unwrap(),
        vec![
            holding(&m.dataset, 2, 11_000_000_000, 450),
            holding(&m.model, 2, 20, 420),
            holding(&m.other, 1, 7, 430)
        ],
        "by type, then id"
    );
}

fn run(xorb: u8, first: u32, mirror: i64, sha: u8, lengths: &[u32]) -> MirrorRun {
    MirrorRun {
        xorb: format!("{xorb:02x}").repeat(32),
        first_chunk: first,
        mirror,
        sha256: format!("{sha:02x}").repeat(32),
        file_offset: 5_000_000_000 + u64::from(first),
        chunk_lengths: lengths.to_vec(),
    }
}

async fn runs(store: &dyn MetadataStore, m: &Mirrors) {
    let (a, b) = (m.model.id, m.other.id);
    let x = "11".repeat(32);
    assert_eq!(store.mirror_runs(&x, 0, 1, 10).await.unwrap(), vec![], "no run yet");
    let first = run(0x11, 10, a, 1, &[65_536, 70_000, 8]);
    let later = run(0x11, 13, b, 2, &[1, 2]);
    let elsewhere = run(0x22, 0, a, 1, &[9; 8_192]);
    let mut twice = first.clone();
    twice.file_offset = 7;
    store.put_mirror_runs(&[first.clone(), later.clone(), elsewhere.clone(), twice]).await.unwrap();
    store.put_mirror_runs(&[]).await.unwrap();
    store.put_mirror_runs(&[run(0x11, 0, a, 3, &[])]).await.expect("an empty run is skipped");
    assert_eq!(store.mirror_runs(&x, 10, 13, 10).await.unwrap(), vec![first.clone()], "the first one kept");
    assert_eq!(store.mirror_runs(&x, 11, 12, 10).await.unwrap(), vec![first.clone()], "covers a part");
    assert_eq!(store.mirror_runs(&x, 12, 14, 10).await.unwrap(), vec![], "no run covers 12..14");
    assert_eq!(store.mirror_runs(&x, 13, 15, 10).await.unwrap(), vec![later.clone()]);
    assert_eq!(store.mirror_runs(&x, 0, 10, 10).await.unwrap(), vec![]);
    assert_eq!(store.mirror_runs(&"22".repeat(32), 100, 8_192, 10).await.unwrap(), vec![elsewhere]);
    let many: Vec<MirrorRun> = (0..150).map(|n| run(0x33, 0, a, n as u8, &[4, 4])).collect();
    store.put_mirror_runs(&many).await.unwrap();
    assert_eq!(store.mirror_runs(&"33".repeat(32), 1, 2, 5).await.unwrap(), many[..5].to_vec(), "limited");
    let longer = run(0x11, 9, b, 9, &[1, 1, 1, 1, 1, 1, 1]);
    store.put_mirror_runs(std::slice::from_ref(&longer)).await.unwrap();
    assert_eq!(
        store.mirror_runs(&x, 11, 12, 10).await.unwrap(),
        vec![longer.clone(), first.clone()],
        "the run reaching furthest comes first"
    );
    store.delete_mirror_runs(&[longer, many[0].clone()]).await.unwrap();
    store.delete_mirror_runs(&[]).await.unwrap();
    assert_eq!(store.mirror_runs(&x, 11, 12, 10).await.unwrap(), vec![first], "deleted");
    assert_eq!(store.mirror_runs(&"33".repeat(32), 1, 2, 1).await.unwrap(), many[1..2].to_vec());
}

async fn eviction(store: &dyn MetadataStore, m: &Mirrors) {
    let (a, b) = (m.model.id, m.other.id);
    let blob = "sha256:".to_owned() + &"ab".repeat(32);
    let git = "git:".to_owned() + &"cd".repeat(20);
    store.evict_mirror_repo(a).await.unwrap();
    assert_eq!(store.mirror_runs(&"11".repeat(32), 10, 13, 10).await.unwrap(), vec![], "a's runs are gone");
    assert_eq!(store.mirror_runs(&"11".repeat(32), 13, 15, 10).await.unwrap().len(), 1, "b's run stays");

    assert_eq!(store.mirror_ref(a, "main").await.unwrap(), None);
    assert_eq!(store.mirror_ref(a, "v1.0").await.unwrap(), None);
    assert_eq!(store.mirror_doc(a, "c1", "info").await.unwrap(), None);
    assert_eq!(store.mirror_doc(a, "c1", "tree").await.unwrap(), None);
    for n in [0, 99, 100, 1_049, 1_099] {
        assert_eq!(store.mirror_file(a, &file(n, "c1").xet_hash).await.unwrap(), None, "file {n}");
    }
    assert!(!store.mirror_holds(a, &blob).await.unwrap());
    assert!(!store.mirror_holds(a, &git).await.unwrap());
    assert_eq!(
        store.find_mirror_repo(RepoType::Model, &id("alice/demo")).await.unwrap(),
        Some(m.model.clone()),
        "the repo itself stays, under its id"
    );

    assert_eq!(store.mirror_ref(b, "main").await.unwrap().map(|r| r.commit).as_deref(), Some("c3"));
    assert_eq!(store.mirror_doc(b, "c1", "info").await.unwrap().as_deref(), Some("theirs"));
    assert_eq!(
        store.mirror_file(b, &file(3, "c1").xet_hash).await.unwrap().map(|f| f.path).as_deref(),
        Some("theirs.bin")
    );
    assert!(store.mirror_holds(b, &blob).await.unwrap());
    let after = vec![(m.dataset.id, 2, 11_000_000_000), (a, 0, 0), (b, 1, 7)];
    assert_eq!(holdings(store).await, after, "listed still, holding nothing");

    // An evicted repo caches afresh; evicting an unknown id changes nothing.
    store.put_mirror_doc(a, "c1", "info", "refetched", 500).await.unwrap();
    assert_eq!(store.mirror_doc(a, "c1", "info").await.unwrap().as_deref(), Some("refetched"));
    store.evict_mirror_repo(i64::MAX).await.expect("evicting an unknown id");
    assert_eq!(store.mirror_doc(a, "c1", "info").await.unwrap().as_deref(), Some("refetched"));
    assert_eq!(holdings(store).await, after);
}

/// Each mirrored repo's id with what it holds, in listing order.
async fn holdings(store: &dyn MetadataStore) -> Vec<(i64, u64, u64)> {
    store.mirror_holdings().await.unwrap().iter().map(|h| (h.repo.id, h.objects, h.bytes)).collect()
}

async fn external_tokens(store: &dyn MetadataStore) {
    assert_eq!(store.external_token(1).await.unwrap(), None);
    assert!(!store.delete_external_token(1).await.unwrap(), "nothing to delete");
    store.put_external_token(1, "sealed-a", 10).await.unwrap();
    store.put_external_token(2, "sealed-b", 11).await.unwrap();
    assert_eq!(store.external_token(1).await.unwrap(), Some(("sealed-a".to_owned(), 10)));
    store.put_external_token(1, "sealed-c", 12).await.unwrap();
    assert_eq!(store.external_token(1).await.unwrap(), Some(("sealed-c".to_owned(), 12)), "replaced");
    assert!(store.delete_external_token(1).await.unwrap());
    assert_eq!(store.external_token(1).await.unwrap(), None);
    assert_eq!(store.external_token(2).await.unwrap(), Some(("sealed-b".to_owned(), 11)), "per user");
    assert!(store.delete_external_token(2).await.unwrap());
}
