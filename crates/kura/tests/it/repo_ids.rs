//! Repo ids as the Hub treats them: found in any case and answered with the stored spelling,
//! one repo per id whatever its case, and a moved repo's earlier ids redirecting (relative
//! 307) to its current one on the API, resolve, LFS and git, never for a caller who may not
//! see the repo (the attacker: a user guessing earlier ids of private repos).

use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::support::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

async fn move_repo(server: &TestServer, from: &str, to: &str) {
    let moved = server
        .post("/api/repos/move")
        .bearer_auth(&server.alice)
        .json(&json!({"fromRepo": from, "toRepo": to, "type": "model"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200, "move {from} -> {to}");
}

/// Status and `Location` of a GET of `path`, redirects not followed.
async fn get_once(server: &TestServer, token: Option<&str>, path: &str) -> (u16, Option<String>) {
    let mut request = no_redirects().get(format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), header(&response, "location").map(str::to_owned))
}

fn clone(base: std::path::PathBuf, url: String, token: Option<String>) -> std::process::Output {
    let url = match token {
        Some(token) => url.replacen("http://", &format!("http://alice:{token}@"), 1),
        None => url,
    };
    git(&base, &["clone", "-q", &url, "c"])
}

#[tokio::test]
async fn ids_are_found_in_any_case_under_their_stored_spelling() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, "alice/Demo", false).await.status(), 200);
    server.commit(&server.alice, "alice/Demo", "main", &[file_line("a.txt", b"hello")], None).await;
    let info: Value = server.get_json(&server.alice, "/api/models/alice/demo").await;
    assert_eq!(info["id"], "alice/Demo");
    let info: Value = server.get_json(&server.alice, "/api/models/ALICE/DEMO/revision/main").await;
    assert_eq!(info["id"], "alice/Demo");
    let file = server.get("/alice/dEMO/resolve/main/a.txt").send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.text().await.unwrap(), "hello");
    // The same repo in another case is a conflict; the answer names the stored spelling.
    for other in ["alice/demo", "alice/DEMO"] {
        let conflict = server.create_repo(&server.alice, other, false).await;
        assert_eq!(conflict.status(), 409, "{other}");
        let body: Value = conflict.json().await.unwrap();
        assert_eq!(body["url"], format!("{}/alice/Demo", server.base), "{other}");
    }
    let commit = server.commit(&server.alice, "alice/demo", "main", &[file_line("b.txt", b"b")], None).await;
    let commit: Value = commit.json().await.unwrap();
    assert!(commit["commitUrl"].as_str().unwrap().contains("/alice/Demo/commit/"), "{commit}");
    let listed: Vec<Value> = server.get_json(&server.alice, "/api/models?author=alice").await;
    assert_eq!(listed.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), [json!("alice/Demo")]);
    let batch = server
        .post("/alice/demo.git/info/lfs/objects/batch")
        .bearer_auth(&server.alice)
        .json(&json!({"operation": "download", "transfers": ["basic"], "objects": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 200);
    let token = server.get("/api/models/alice/DEMO/xet-read-token/main").bearer_auth(&server.alice);
    assert_eq!(token.send().await.unwrap().status(), 200);
    let work = tempfile::tempdir().unwrap();
    let (base, url) = (work.path().to_owned(), format!("{}/Alice/demo", server.base));
    let output = tokio::task::spawn_blocking(move || clone(base, url, None)).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(work.path().join("c/a.txt")).unwrap(), "hello");
    // A move may change the case alone.
    move_repo(&server, "alice/demo", "alice/DEMO").await;
    let info: Value = server.get_json(&server.alice, "/api/models/alice/demo").await;
    assert_eq!(info["id"], "alice/DEMO");
}

#[tokio::test]
async fn a_moved_repo_redirects_from_its_earlier_ids() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/old", false).await;
    server.commit(&server.alice, "alice/old", "main", &[file_line("a.txt", b"moved")], None).await;
    move_repo(&server, "alice/old", "acme/new").await;
    let alice = Some(server.alice.as_str());
    let redirects = [
        ("/api/models/alice/old", "/api/models/acme/new"),
        ("/api/models/Alice/OLD/tree/main?recursive=1", "/api/models/acme/new/tree/main?recursive=1"),
        ("/alice/old/resolve/main/a.txt", "/acme/new/resolve/main/a.txt"),
        (
            "/alice/old.git/info/refs?service=git-upload-pack",
            "/acme/new.git/info/refs?service=git-upload-pack",
        ),
    ];
    for (old, new) in redirects {
        assert_eq!(get_once(&server, alice, old).await, (307, Some(new.to_owned())), "{old}");
        assert_eq!(get_once(&server, None, old).await, (307, Some(new.to_owned())), "public: {old}");
    }
    // Followed, the old ids serve the repo; a chain ends at the current id.
    move_repo(&server, "acme/new", "acme/newer").await;
    assert_eq!(
        get_once(&server, alice, "/api/models/alice/old").await.1.as_deref(),
        Some("/api/models/acme/newer")
    );
    let info: Value = server.get_json(&server.alice, "/api/models/alice/old").await;
    assert_eq!(info["id"], "acme/newer");
    let file = server.get("/acme/new/resolve/main/a.txt").send().await.unwrap();
    assert_eq!(file.text().await.unwrap(), "moved");
    let work = tempfile::tempdir().unwrap();
    let (base, url) = (work.path().to_owned(), format!("{}/alice/old", server.base));
    let output = tokio::task::spawn_blocking(move || clone(base, url, None)).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(work.path().join("c/a.txt")).unwrap(), "moved");
    // An id in a body is not redirected: it names no repo.
    let delete = server
        .client
        .delete(format!("{}/api/repos/delete", server.base))
        .bearer_auth(&server.alice)
        .json(&json!({"name": "old", "organization": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 404);
    // A new repo at an earlier id takes it over.
    assert_eq!(server.create_repo(&server.alice, "alice/old", false).await.status(), 200);
    let info: Value = server.get_json(&server.alice, "/api/models/alice/old").await;
    assert_eq!(info["id"], "alice/old");
    assert_eq!(get_once(&server, alice, "/api/models/acme/new").await.0, 307, "the rest of the chain stays");
}

#[tokio::test]
async fn earlier_ids_of_hidden_repos_look_missing_and_deletion_drops_redirects() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/secret", true).await;
    move_repo(&server, "alice/secret", "alice/renamed-secret").await;
    let alice = Some(server.alice.as_str());
    assert_eq!(get_once(&server, alice, "/api/models/alice/secret").await.0, 307);
    // Bob guesses the old id: he learns nothing, not even that it was moved.
    for path in ["/api/models/alice/secret", "/alice/secret/resolve/main/.gitattributes"] {
        assert_eq!(get_once(&server, Some(&server.bob), path).await, (404, None), "{path}");
        assert_eq!(get_once(&server, None, path).await, (401, None), "{path}");
    }
    let missing = get_once(&server, Some(&server.bob), "/api/models/alice/never-was").await;
    assert_eq!(missing, (404, None));
    let work = tempfile::tempdir().unwrap();
    let (base, url) = (work.path().to_owned(), format!("{}/alice/secret", server.base));
    let bob = server.bob.clone();
    let output = tokio::task::spawn_blocking(move || clone(base, url, Some(bob))).await.unwrap();
    assert!(!output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("renamed"), "no new id leaks");
    // Deleting the repo drops its redirects.
    let delete = server
        .client
        .delete(format!("{}/api/repos/delete", server.base))
        .bearer_auth(&server.alice)
        .json(&json!({"name": "renamed-secret", "organization": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 200);
    assert_eq!(get_once(&server, alice, "/api/models/alice/secret").await, (404, None));
}
