//! Pull requests at the HTTP level, for what the official client cannot show: the audit
//! entry of a merge, a merge refused when the pull request moved after review
//! (`expectedHead`), gated repos (contributing content needs the gate's access), the bounded
//! conflict list, and a contributor's push naming `main` refused before anything lands.

use kura_core::Authority;
use serde_json::{Value, json};

use crate::support::{TestServer, file_line};

async fn open_pr(server: &TestServer, token: &str, repo: &str, title: &str) -> reqwest::Response {
    server
        .post(&format!("/api/models/{repo}/discussions"))
        .bearer_auth(token)
        .json(&json!({"title": title, "description": "", "pullRequest": true}))
        .send()
        .await
        .unwrap()
}

async fn merge(server: &TestServer, token: &str, repo: &str, num: u64, body: Value) -> reqwest::Response {
    let path = format!("/api/models/{repo}/discussions/{num}/merge");
    server.post(&path).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn details(server: &TestServer, repo: &str, num: u64) -> Value {
    server.get_json(&server.alice, &format!("/api/models/{repo}/discussions/{num}?diff=1")).await
}

#[tokio::test]
async fn a_merge_is_audited_and_refused_when_the_pull_request_moved_after_review() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    assert_eq!(open_pr(&server, &server.bob, "alice/m", "Add a file").await.status(), 200);
    let first =
        server.commit(&server.bob, "alice/m", "refs%2Fpr%2F1", &[file_line("a.txt", b"a\n")], None).await;
    assert_eq!(first.status(), 200);
    let reviewed: Value = first.json().await.unwrap();
    let reviewed = reviewed["commitOid"].as_str().unwrap().to_owned();
    // bob pushes again after alice looked: her merge of what she saw is refused.
    let sneaky = [file_line("b.txt", b"sneaky\n")];
    assert_eq!(server.commit(&server.bob, "alice/m", "refs%2Fpr%2F1", &sneaky, None).await.status(), 200);
    let main_before = server.head_sha(&server.alice, "alice/m").await;
    let refused = merge(&server, &server.alice, "alice/m", 1, json!({"expectedHead": reviewed})).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(server.head_sha(&server.alice, "alice/m").await, main_before, "main did not move");
    let bad = merge(&server, &server.alice, "alice/m", 1, json!({"expectedHead": "nope"})).await;
    assert_eq!(bad.status(), 400);
    // Reviewed again: the current head merges, and the merge is in the audit log.
    let head = details(&server, "alice/m", 1).await["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["type"] == "commit")
        .unwrap()["data"]["oid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        merge(&server, &server.alice, "alice/m", 1, json!({"expectedHead": head})).await.status(),
        200
    );
    assert_eq!(server.head_sha(&server.alice, "alice/m").await, head);
    let hub = server.admin().await;
    let log = hub.accounts().audit_log(Authority::Operator, 0, 20).await.unwrap();
    let entry = log.iter().find(|e| e.entry.action == "discussion.merge").expect("a merge entry");
    assert_eq!(entry.entry.actor.as_deref(), Some("alice"));
    assert!(entry.entry.target.contains("alice/m"), "{}", entry.entry.target);
}

#[tokio::test]
async fn conflicts_are_listed_within_a_bound_and_the_diff_shows_text_changes() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/c", false).await;
    let root = server.head_sha(&server.alice, "alice/c").await;
    let ours: Vec<Value> = (0..150).map(|i| file_line(&format!("f{i:03}.txt"), b"alice\n")).collect();
    assert_eq!(server.commit(&server.alice, "alice/c", "main", &ours, None).await.status(), 200);
    // bob's pull request starts at the root commit and adds the same paths differently.
    let theirs: Vec<Value> = (0..150).map(|i| file_line(&format!("f{i:03}.txt"), b"bob\n")).collect();
    let opened = server
        .post("/api/models/alice/c/commit/main?create_pr=1")
        .bearer_auth(&server.bob)
        .header("content-type", "application/x-ndjson")
        .body(
            std::iter::once(json!({"key": "header", "value": {"summary": "Mine", "description": "", "parentCommit": root}}))
                .chain(theirs)
                .map(|line| line.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let answer: Value = opened.json().await.unwrap();
    assert!(answer["pullRequestUrl"].as_str().unwrap().ends_with("/alice/c/discussions/1"), "{answer}");
    let pr = details(&server, "alice/c", 1).await;
    let conflicts = pr["filesWithConflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 100, "listed up to the bound");
    assert_eq!(conflicts[0], "f000.txt");
    let diff = pr["diff"].as_str().unwrap();
    assert!(diff.contains("+++ b/f000.txt") && diff.contains("+bob"), "{}", &diff[..200.min(diff.len())]);
    assert_eq!(merge(&server, &server.alice, "alice/c", 1, json!({})).await.status(), 409);
    // Without ?diff=1 there is no diff.
    let plain: Value = server.get_json(&server.alice, "/api/models/alice/c/discussions/1").await;
    assert!(plain.get("diff").is_none());
}

#[tokio::test]
async fn a_gated_repo_takes_discussions_but_no_contributed_content_from_callers_the_gate_refused() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/g", false).await;
    let gated = server
        .client
        .put(format!("{}/api/models/alice/g/settings", server.base))
        .bearer_auth(&server.alice)
        .json(&json!({"gated": "manual"}))
        .send()
        .await
        .unwrap();
    assert_eq!(gated.status(), 200);
    let talk = server
        .post("/api/models/alice/g/discussions")
        .bearer_auth(&server.bob)
        .json(&json!({"title": "May I have access?", "description": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(talk.status(), 200, "discussing needs no access to the files");
    assert_eq!(open_pr(&server, &server.bob, "alice/g", "Change").await.status(), 403);
    let create_pr = server
        .post("/api/models/alice/g/commit/main?create_pr=1")
        .bearer_auth(&server.bob)
        .header("content-type", "application/x-ndjson")
        .body(json!({"key": "header", "value": {"summary": "x", "description": ""}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(create_pr.status(), 403);
    let upload = server
        .post("/alice/g.git/info/lfs/objects/batch")
        .bearer_auth(&server.bob)
        .json(&json!({"operation": "upload", "objects": [{"oid": "a".repeat(64), "size": 3}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 403, "no uploads for a pull request either");
    let xet = server.get("/api/models/alice/g/xet-write-token/main?create_pr=1").bearer_auth(&server.bob);
    assert_eq!(xet.send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn a_contributors_uploads_share_the_post_rate_and_a_writers_do_not() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/u", false).await;
    let batch = |token: &str| {
        server
            .post("/alice/u.git/info/lfs/objects/batch")
            .bearer_auth(token.to_owned())
            .json(&json!({"operation": "upload", "objects": [{"oid": "b".repeat(64), "size": 3}]}))
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..80 {
        let status = batch(&server.bob).await.unwrap().status().as_u16();
        statuses.push(status);
        if status == 429 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses.len() > 50 && statuses[..statuses.len() - 1].iter().all(|s| *s == 200), "{statuses:?}");
    for _ in 0..80 {
        assert_eq!(batch(&server.alice).await.unwrap().status(), 200, "the repo's owner is not limited");
    }
}
