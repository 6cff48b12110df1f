//! The write API: commits, branches, tags, concurrency.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn create_conflict_carries_url_and_writes_need_rights() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, "alice/m", false).await.status(), 200);
    let again = server.create_repo(&server.alice, "alice/m", false).await;
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["url"], format!("{}/alice/m", server.base));

    assert_eq!(server.create_repo(&server.bob, "alice/other", false).await.status(), 403);
    assert_eq!(server.create_repo(&server.bob, "acme/other", false).await.status(), 403);
    assert_eq!(server.create_repo(&server.alice_read, "alice/other", false).await.status(), 403);
    let before = server.head_sha(&server.alice, "alice/m").await;
    assert_eq!(
        server.commit(&server.bob, "alice/m", "main", &[file_line("x", b"x")], None).await.status(),
        403
    );
    assert_eq!(server.head_sha(&server.alice, "alice/m").await, before, "a refused write changes nothing");
}

#[tokio::test]
async fn every_operation_type_and_parent_commit_conflicts() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let lines = [
        file_line("keep.txt", b"k"),
        file_line("dir/a.txt", b"a"),
        file_line("dir/b.txt", b"b"),
        file_line("gone.txt", b"g"),
    ];
    let first: Value =
        server.commit(&server.alice, "alice/m", "main", &lines, None).await.json().await.unwrap();
    let first_sha = first["commitOid"].as_str().unwrap().to_owned();
    let ops = [
        json!({"key": "deletedFile", "value": {"path": "gone.txt"}}),
        json!({"key": "deletedFolder", "value": {"path": "dir/"}}),
        json!({"key": "copyFile", "value": {"srcPath": "keep.txt", "destPath": "copy.txt"}}),
    ];
    let response = server.commit(&server.alice, "alice/m", "main", &ops, Some(&first_sha[..7])).await;
    assert_eq!(response.status(), 200);
    let tree: Value = server
        .get("/api/models/alice/m/tree/main?recursive=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = tree.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [".gitattributes", "copy.txt", "keep.txt"]);

    let stale =
        server.commit(&server.alice, "alice/m", "main", &[file_line("x", b"x")], Some(&first_sha)).await;
    assert_eq!(stale.status(), 412);
    let missing = server
        .commit(
            &server.alice,
            "alice/m",
            "main",
            &[json!({"key": "deletedFile", "value": {"path": "nope"}})],
            None,
        )
        .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, "x-error-code"), Some("EntryNotFound"));

    let commits: Value =
        server.get("/api/models/alice/m/commits/main").send().await.unwrap().json().await.unwrap();
    let titles: Vec<&str> =
        commits.as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["test commit", "test commit", "initial commit"]);
    assert_eq!(commits[1]["id"], first_sha);
}

#[tokio::test]
async fn branches_and_tags() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let main_sha = server.head_sha(&server.alice, "alice/m").await;
    let branch = server
        .post("/api/models/alice/m/branch/feature%2Fx")
        .bearer_auth(&server.alice)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(branch.status(), 200);
    let again = server
        .post("/api/models/alice/m/branch/feature%2Fx")
        .bearer_auth(&server.alice)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    server.commit(&server.alice, "alice/m", "feature%2Fx", &[file_line("f.txt", b"f")], None).await;
    let on_branch = server.get("/alice/m/resolve/feature%2Fx/f.txt").send().await.unwrap();
    assert_eq!(on_branch.status(), 200);
    let tag = server
        .post("/api/models/alice/m/tag/main")
        .bearer_auth(&server.alice)
        .json(&json!({"tag": "v1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(tag.status(), 200);
    let refs: Value = server.get("/api/models/alice/m/refs").send().await.unwrap().json().await.unwrap();
    assert_eq!(refs["tags"][0]["targetCommit"], main_sha);
    assert_eq!(refs["branches"].as_array().unwrap().len(), 2);
    let delete = server
        .client
        .delete(format!("{}/api/models/alice/m/branch/feature%2Fx", server.base))
        .bearer_auth(&server.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 200);
    let gone = server.get("/alice/m/resolve/feature%2Fx/f.txt").send().await.unwrap();
    assert_eq!(header(&gone, "x-error-code"), Some("RevisionNotFound"));
}

#[tokio::test]
async fn concurrent_commits_to_one_branch_all_land() {
    let server = std::sync::Arc::new(TestServer::start().await);
    server.create_repo(&server.alice, "alice/m", false).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            server
                .commit(&server.alice, "alice/m", "main", &[file_line(&format!("f{i}.txt"), b"x")], None)
                .await
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let tree: Value = server.get("/api/models/alice/m/tree/main").send().await.unwrap().json().await.unwrap();
    assert_eq!(tree.as_array().unwrap().len(), 9, "no update was lost");
}
