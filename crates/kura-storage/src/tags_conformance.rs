//! Conformance of repo tags and the listing that filters by them: a tag matches only itself
//! (never a tag it is a prefix of), many tags per repo, tags in their given order, the page
//! limit counting repos (not tags), and search taking `_` and `%` literally. Run by
//! `conformance::metadata_store`.

use kura_model::{ObjectId, RepoId, RepoType};

use crate::*;

async fn repo(store: &dyn MetadataStore, id: &str, owner: i64, tags: &[&str]) -> RepoRecord {
    let new = NewRepo {
        repo_type: RepoType::Model,
        repo_id: RepoId::parse(id).unwrap(),
        private: false,
        created_at: 100,
        initial_commit: ObjectId([7; 20]),
        created_by: Some(owner),
    };
    let record = store.create_repo(new).await.expect("create repo");
    assert!(record.tags.is_empty(), "a new repo has no tags");
    let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
    store.set_repo_tags(record.id, &tags).await.expect("set tags");
    record
}

fn query(tags: &[&str]) -> RepoQuery {
    RepoQuery {
        repo_type: RepoType::Model,
        search: None,
        author: Some("tagger".into()),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        private_namespaces: None,
        private_repos: vec![],
        parameters: None,
        linking: None,
        pipeline_tag: None,
        sort: RepoSort::Id,
        descending: false,
        offset: 0,
        limit: 100,
    }
}

/// The names listed, sorted here: how an engine orders `-`, `_` and case depends on its collation.
async fn names(store: &dyn MetadataStore, query: &RepoQuery) -> Vec<String> {
    let found = store.list_repos(query).await.expect("list repos");
    let mut names: Vec<String> = found.iter().map(|r| r.repo_id.name().to_owned()).collect();
    names.sort();
    names
}

pub(crate) async fn repo_tags(store: &dyn MetadataStore) {
    let owner = store.create_user("tagger", false, 1).await.unwrap();
    let many: Vec<String> = (0..40).map(|i| format!("tag-{i}")).collect();
    let mut many_tags: Vec<&str> = many.iter().map(String::as_str).collect();
    many_tags.extend(["ab", "with space", "x%y", "under_score", "naïve", "back\\slash", "a"]);
    repo(store, "tagger/a-only", owner.id, &["a"]).await;
    repo(store, "tagger/ab-only", owner.id, &["ab", "abc"]).await;
    let big = repo(store, "tagger/many", owner.id, &many_tags).await;
    repo(store, "tagger/none", owner.id, &[]).await;

    assert_eq!(names(store, &query(&["a"])).await, ["a-only", "many"], "`a` is not a prefix match");
    assert_eq!(names(store, &query(&["ab"])).await, ["ab-only", "many"]);
    assert_eq!(names(store, &query(&["b"])).await, Vec::<String>::new());
    assert_eq!(names(store, &query(&["ab", "abc"])).await, ["ab-only"], "every tag must be present");
    assert_eq!(names(store, &query(&many_tags)).await, ["many"]);
    for odd in ["with space", "x%y", "under_score", "naïve", "back\\slash"] {
        assert_eq!(names(store, &query(&[odd])).await, ["many"], "tag {odd:?}");
    }
    assert!(names(store, &query(&["x_y"])).await.is_empty(), "tags are not patterns");
    assert_eq!(names(store, &query(&[])).await, ["a-only", "ab-only", "many", "none"]);

    // The parameter range: repos without a count never match; bounds are inclusive. The task
    // filters exactly, and records carry library and task.
    let facts = |parameters, task: Option<&str>| ListingFacts {
        parameters,
        library_name: task.map(|_| "transformers".to_owned()),
        pipeline_tag: task.map(str::to_owned),
    };
    let a_only =
        store.repo(RepoType::Model, &RepoId::parse("tagger/a-only").unwrap()).await.unwrap().unwrap();
    store.set_listing_facts(a_only.id, &facts(Some(7_000_000_000), Some("text-generation"))).await.unwrap();
    store.set_listing_facts(big.id, &facts(Some(124_000_000), Some("fill-mask"))).await.unwrap();
    let range = |min, max| RepoQuery { parameters: Some((min, max)), ..query(&[]) };
    assert_eq!(names(store, &range(0, u64::MAX)).await, ["a-only", "many"]);
    assert_eq!(names(store, &range(124_000_000, 124_000_000)).await, ["many"]);
    assert_eq!(names(store, &range(1_000_000_000, u64::MAX)).await, ["a-only"]);
    let task = |task: &str| RepoQuery { pipeline_tag: Some(task.into()), ..query(&[]) };
    assert_eq!(names(store, &task("fill-mask")).await, ["many"]);
    assert_eq!(names(store, &task("text")).await, Vec::<String>::new(), "exact");
    let listed = store.list_repos(&task("text-generation")).await.unwrap();
    assert_eq!(listed[0].library_name.as_deref(), Some("transformers"));
    assert_eq!(listed[0].pipeline_tag.as_deref(), Some("text-generation"));
    store.set_listing_facts(a_only.id, &facts(None, None)).await.unwrap();
    assert_eq!(names(store, &range(0, u64::MAX)).await, ["many"], "cleared");

    // Links: the repos whose card names a model, by id in any case; replaced per kind.
    let links = |targets: &[&str]| targets.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    store.set_repo_links(a_only.id, "model", &links(&["Org/Base", "org/other"])).await.unwrap();
    store.set_repo_links(big.id, "model", &links(&["org/base"])).await.unwrap();
    store.set_repo_links(big.id, "dataset", &links(&["org/data"])).await.unwrap();
    let linking =
        |kind: &str, target: &str| RepoQuery { linking: Some((kind.into(), target.into())), ..query(&[]) };
    assert_eq!(names(store, &linking("model", "ORG/BASE")).await, ["a-only", "many"]);
    assert_eq!(names(store, &linking("model", "org/other")).await, ["a-only"]);
    assert_eq!(
        names(store, &linking("dataset", "org/base")).await,
        Vec::<String>::new(),
        "kinds are separate"
    );
    store.set_repo_links(a_only.id, "model", &links(&["org/other"])).await.unwrap();
    assert_eq!(names(store, &linking("model", "org/base")).await, ["many"], "replaced");

    // Records carry every tag, in order, in a listing and by lookup; the limit counts repos
    // (`many` is third in any collation).
    let listed = store.list_repos(&query(&["a"])).await.unwrap();
    assert_eq!(listed[0].tags, ["a"]);
    assert_eq!(listed[1].tags, many_tags);
    let first = store.list_repos(&RepoQuery { limit: 1, offset: 2, ..query(&[]) }).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].tags, many_tags);
    let looked_up = store.repo(RepoType::Model, &big.repo_id).await.unwrap().unwrap();
    assert_eq!(looked_up.tags, many_tags);

    // Setting replaces the whole set; a tag given twice is kept once, at its first place.
    let again: Vec<String> = ["z", "a", "z"].map(String::from).into();
    store.set_repo_tags(big.id, &again).await.unwrap();
    assert_eq!(store.repo(RepoType::Model, &big.repo_id).await.unwrap().unwrap().tags, ["z", "a"]);
    assert_eq!(names(store, &query(&["ab"])).await, ["ab-only"]);
    store.set_repo_tags(big.id, &[]).await.unwrap();
    assert!(store.repo(RepoType::Model, &big.repo_id).await.unwrap().unwrap().tags.is_empty());

    // Search is a substring of `namespace/name`, its `_` and `%` literal.
    repo(store, "tagger/my_model", owner.id, &[]).await;
    repo(store, "tagger/myXmodel", owner.id, &[]).await;
    let search = |text: &str| RepoQuery { search: Some(text.into()), ..query(&[]) };
    assert_eq!(names(store, &search("MY_MODEL")).await, ["my_model"]);
    assert_eq!(names(store, &search("y%m")).await, Vec::<String>::new());
    assert_eq!(names(store, &search("tagger/a")).await, ["a-only", "ab-only"]);

    // Deleting a repo removes its tags; a repo created after it (SQLite may reuse the id) has none.
    let gone = store.repo(RepoType::Model, &RepoId::parse("tagger/a-only").unwrap()).await.unwrap().unwrap();
    store.delete_repo(gone.id).await.unwrap();
    assert_eq!(names(store, &query(&["a"])).await, Vec::<String>::new());
    let fresh = repo(store, "tagger/fresh", owner.id, &[]).await;
    assert!(store.repo(RepoType::Model, &fresh.repo_id).await.unwrap().unwrap().tags.is_empty());
}
