//! Conformance of `DiscussionStore`. Run by `conformance::metadata_store`.

use kura_model::{ObjectId, RefName, RepoType};

use crate::*;

fn new<'a>(repo: i64, title: &'a str, status: &'a str, pr: bool, author: i64, at: i64) -> NewDiscussion<'a> {
    NewDiscussion { repo, title, status, is_pull_request: pr, author, created_at: at, pr_head: None }
}

fn event(id: &str, kind: &str, author: Option<i64>, at: i64, data: &str) -> DiscussionEventRecord {
    DiscussionEventRecord { id: id.into(), kind: kind.into(), author, created_at: at, data: data.into() }
}

const ROOMY: DiscussionBudget = DiscussionBudget { max_events: 100, max_bytes: 1 << 20 };

fn title(t: &str) -> DiscussionChange<'_> {
    DiscussionChange { title: Some(t), status: None, from_statuses: None }
}

fn status(s: &str) -> DiscussionChange<'_> {
    DiscussionChange { title: None, status: Some(s), from_statuses: None }
}

async fn repo(store: &dyn MetadataStore, id: &str) -> i64 {
    crate::conformance::new_repo(store, RepoType::Model, id, false).await.id
}

/// Exercises every `DiscussionStore` method's contract.
pub async fn discussion_store(store: &dyn MetadataStore) {
    let (a, b) = (
        store.create_user("dora", false, 100).await.unwrap().id,
        store.create_user("emil", false, 100).await.unwrap().id,
    );
    let (one, two) = (repo(store, "dora/talk").await, repo(store, "emil/talk").await);
    assert_eq!(store.discussion(one, 1).await.unwrap(), None);
    let (page, total) = store.discussions(one, &DiscussionFilter::default(), 0, 10).await.unwrap();
    assert_eq!((page, total), (vec![], 0));

    let first = [event("e1", "comment", Some(a), 200, r#"{"raw":"hi"}"#)];
    assert_eq!(
        store.create_discussion(new(one, "Question", "open", false, a, 200), &first).await.unwrap(),
        1
    );
    assert_eq!(
        store.create_discussion(new(one, "Fix", "draft", true, b, 300), &[]).await.unwrap(),
        2,
        "one sequence"
    );
    assert_eq!(
        store.create_discussion(new(two, "Other", "open", false, b, 300), &[]).await.unwrap(),
        1,
        "per repo"
    );
    let got = store.discussion(one, 1).await.unwrap().unwrap();
    let want = DiscussionRecord {
        repo: one,
        num: 1,
        title: "Question".into(),
        status: "open".into(),
        is_pull_request: false,
        author: Some(a),
        created_at: 200,
    };
    assert_eq!(got, want);
    assert_eq!(store.discussion_events(one, 1, 10).await.unwrap(), first.to_vec());
    assert_eq!(store.discussion_events(one, 2, 10).await.unwrap(), vec![]);

    // Listing: newest first, filtered, paged, counted.
    let nums = |page: Vec<DiscussionRecord>| page.into_iter().map(|d| d.num).collect::<Vec<_>>();
    let (page, total) = store.discussions(one, &DiscussionFilter::default(), 0, 10).await.unwrap();
    assert_eq!((nums(page), total), (vec![2, 1], 2));
    let (page, total) = store.discussions(one, &DiscussionFilter::default(), 1, 1).await.unwrap();
    assert_eq!((nums(page), total), (vec![1], 2));
    let prs = DiscussionFilter { pull_requests: Some(true), ..Default::default() };
    assert_eq!(nums(store.discussions(one, &prs, 0, 10).await.unwrap().0), vec![2]);
    let by_a = DiscussionFilter { author: Some(a), ..Default::default() };
    assert_eq!(nums(store.discussions(one, &by_a, 0, 10).await.unwrap().0), vec![1]);
    let closed = DiscussionFilter { statuses: vec!["closed".into(), "merged".into()], ..Default::default() };
    assert_eq!(store.discussions(one, &closed, 0, 10).await.unwrap(), (vec![], 0));

    // Events change the title and status with them.
    let rename = event("e2", "title-change", Some(a), 400, r#"{"from":"Question","to":"Q"}"#);
    assert!(store.add_discussion_events(one, 1, &[rename], title("Q"), ROOMY).await.unwrap());
    let close = event("e3", "status-change", Some(b), 500, r#"{"status":"closed"}"#);
    assert!(store.add_discussion_events(one, 1, &[close], status("closed"), ROOMY).await.unwrap());
    let got = store.discussion(one, 1).await.unwrap().unwrap();
    assert_eq!((got.title.as_str(), got.status.as_str()), ("Q", "closed"));
    assert_eq!(store.discussions(one, &closed, 0, 10).await.unwrap().1, 1);
    let events = store.discussion_events(one, 1, 10).await.unwrap();
    assert_eq!(events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e1", "e2", "e3"]);
    assert_eq!(store.discussion_events(one, 1, 2).await.unwrap().len(), 2, "limited");
    let e4 = event("e4", "comment", None, 1, "{}");
    let missing = store
        .add_discussion_events(one, 9, std::slice::from_ref(&e4), DiscussionChange::default(), ROOMY)
        .await;
    assert!(matches!(missing, Err(StorageError::NotFound)), "{missing:?}");
    assert_eq!(store.discussion_event(one, 1, "e4").await.unwrap(), None, "nothing half-written");

    // An event is found and changed within its own discussion only.
    assert_eq!(store.discussion_event(one, 1, "e1").await.unwrap(), Some(first[0].clone()));
    assert_eq!(store.discussion_event(one, 2, "e1").await.unwrap(), None);
    assert_eq!(store.discussion_event(two, 1, "e1").await.unwrap(), None);
    let (was, edited) = (r#"{"raw":"hi"}"#, r#"{"raw":"edited"}"#);
    assert!(store.update_discussion_event(one, 1, "e1", was, edited, ROOMY).await.unwrap());
    assert_eq!(store.discussion_event(one, 1, "e1").await.unwrap().unwrap().data, edited);
    let stale = store.update_discussion_event(one, 1, "e1", was, r#"{"raw":"late"}"#, ROOMY).await;
    assert!(matches!(stale, Err(StorageError::Conflict)), "an edit of a changed event is refused: {stale:?}");
    assert_eq!(store.discussion_event(one, 1, "e1").await.unwrap().unwrap().data, edited);
    let elsewhere = store.update_discussion_event(two, 1, "e1", edited, "{}", ROOMY).await;
    assert!(matches!(elsewhere, Err(StorageError::NotFound)));

    // Budgets: counted inside the write, by events and by bytes; nothing written past them.
    let tight = DiscussionBudget { max_events: 5, max_bytes: 200 };
    let two_more =
        [event("e5", "comment", Some(a), 600, "{}"), event("e6", "status-change", Some(a), 600, "{}")];
    assert!(
        store.add_discussion_events(one, 1, &two_more, status("open"), tight).await.unwrap(),
        "3 + 2 = 5"
    );
    let sixth = [event("e7", "comment", Some(a), 700, "{}")];
    assert!(!store.add_discussion_events(one, 1, &sixth, status("closed"), tight).await.unwrap(), "a sixth");
    assert_eq!(store.discussion(one, 1).await.unwrap().unwrap().status, "open", "nothing changed");
    assert_eq!(store.discussion_event(one, 1, "e7").await.unwrap(), None);
    let big = "x".repeat(300);
    let bytes = DiscussionBudget { max_events: 100, max_bytes: 299 };
    assert!(!store.update_discussion_event(one, 1, "e1", edited, &big, bytes).await.unwrap(), "too big");
    assert_eq!(store.discussion_event(one, 1, "e1").await.unwrap().unwrap().data, edited);
    let fresh = [event("e8", "comment", Some(b), 1, &big)];
    assert!(!store.add_discussion_events(one, 2, &fresh, DiscussionChange::default(), bytes).await.unwrap());
    let fits = DiscussionBudget { max_events: 100, max_bytes: 300 };
    assert!(store.add_discussion_events(one, 2, &fresh, DiscussionChange::default(), fits).await.unwrap());

    // A status change that requires the status it starts from: refused when it moved.
    let guarded = |to, from| DiscussionChange { title: None, status: Some(to), from_statuses: Some(from) };
    let closing = [event("g1", "status-change", Some(a), 750, "{}")];
    let now = store.discussion(one, 1).await.unwrap().unwrap().status;
    assert_eq!(now, "open");
    let refused =
        store.add_discussion_events(one, 1, &closing, guarded("closed", "draft,merged"), ROOMY).await;
    assert!(matches!(refused, Err(StorageError::Conflict)), "{refused:?}");
    assert_eq!(store.discussion_event(one, 1, "g1").await.unwrap(), None, "nothing written");
    assert!(
        store.add_discussion_events(one, 1, &closing, guarded("closed", "draft,open"), ROOMY).await.unwrap()
    );
    assert_eq!(store.discussion(one, 1).await.unwrap().unwrap().status, "closed");
    let reopen = [event("g2", "status-change", Some(a), 760, "{}")];
    assert!(store.add_discussion_events(one, 1, &reopen, status("open"), ROOMY).await.unwrap());

    // A pull request opens with its ref, in the same transaction; a ref in the way refuses it.
    let next = store.discussions(one, &DiscussionFilter::default(), 0, 1).await.unwrap().1 + 1;
    let head = ObjectId([7; 20]);
    let pr = NewDiscussion { pr_head: Some(head), ..new(one, "Change", "draft", true, b, 800) };
    assert_eq!(store.create_discussion(pr.clone(), &[]).await.unwrap(), next);
    let name = RefName::from_full(&format!("refs/pr/{next}")).unwrap();
    assert_eq!(store.ref_target(one, &name).await.unwrap(), Some(head));
    let blocked = RefName::from_full(&format!("refs/pr/{}", next + 1)).unwrap();
    store.update_ref(one, &blocked, None, Some(head), 800).await.unwrap();
    assert!(store.create_discussion(pr, &[]).await.is_err(), "refs/pr/{} is taken", next + 1);
    assert_eq!(store.discussion(one, next + 1).await.unwrap(), None, "nothing half-written");

    // Deleting a repo deletes its discussions.
    store.delete_repo(two).await.unwrap();
    assert_eq!(store.discussion(two, 1).await.unwrap(), None);
    let again = repo(store, "emil/talk").await;
    assert_eq!(store.create_discussion(new(again, "New", "open", false, b, 600), &[]).await.unwrap(), 1);
}
