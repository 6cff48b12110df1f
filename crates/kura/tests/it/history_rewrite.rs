//! History rewrites are for namespace owners, org admins and server admins: deleting a branch
//! or tag, moving a tag and forcing a branch to a commit that does not descend from its head,
//! over the API and over `git push`. Plain writers (org `write` members, contributors on their
//! own repos) still create branches and tags and fast-forward branches; every refused change
//! leaves the refs as they were.

use std::collections::BTreeMap;
use std::path::Path;

use kura_core::OrgRole;
use kura_model::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::*;

/// The message part every refused rewrite carries.
const REWRITE: &str = "rewrites history: only the owner or an admin of 'acme'";

/// Write tokens of `dave` (org member with role write), `erin` (contributor) and `root` (server
/// admin).
pub(crate) async fn people(server: &TestServer) -> (String, String, String) {
    let admin = server.admin().await;
    admin.accounts().create_user("dave", false).await.unwrap();
    admin.accounts().create_user("erin", false).await.unwrap();
    admin.accounts().create_user("root", true).await.unwrap();
    admin.accounts().set_org_member("acme", "dave", OrgRole::Write).await.unwrap();
    admin.accounts().set_org_member("acme", "erin", OrgRole::Contributor).await.unwrap();
    let mut tokens = Vec::new();
    for user in ["dave", "erin", "root"] {
        tokens.push(admin.accounts().create_token(user, "t", Role::Write).await.unwrap());
    }
    let root = tokens.pop().unwrap();
    let erin = tokens.pop().unwrap();
    (tokens.pop().unwrap(), erin, root)
}

/// Every branch and tag of `repo` (full ref name → commit), as alice sees them.
async fn refs(server: &TestServer, repo: &str) -> BTreeMap<String, String> {
    let refs: Value = server.get_json(&server.alice, &format!("/api/models/{repo}/refs")).await;
    let all = refs["branches"].as_array().unwrap().iter().chain(refs["tags"].as_array().unwrap());
    all.map(|r| (r["ref"].as_str().unwrap().to_owned(), r["targetCommit"].as_str().unwrap().to_owned()))
        .collect()
}

async fn send(server: &TestServer, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
    let request =
        server.client.request(method, format!("{}/api/models/{path}", server.base)).bearer_auth(token);
    match body {
        Some(body) => request.json(&body),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

/// Asserts a 403 in the Hub's error format whose message contains `needle`.
async fn refused(response: Response, needle: &str) {
    assert_eq!(response.status(), 403);
    let message = header(&response, "x-error-message").unwrap_or_default().to_owned();
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains(needle) && message == error, "{body}");
}

#[tokio::test]
async fn api_ref_deletes_need_owner_or_admin_rights() {
    let server = TestServer::start().await;
    let (dave, erin, root) = people(&server).await;
    server.create_repo(&server.alice, "acme/r", false).await;
    let initial = server.head_sha(&server.alice, "acme/r").await;
    assert_eq!(
        server.commit(&server.alice, "acme/r", "main", &[file_line("f.txt", b"1")], None).await.status(),
        200
    );
    let dev = json!({"startingPoint": initial});
    assert_eq!(
        send(&server, Method::POST, "acme/r/branch/dev", &server.alice, Some(dev)).await.status(),
        200
    );
    let v1 = json!({"tag": "v1"});
    assert_eq!(send(&server, Method::POST, "acme/r/tag/main", &server.alice, Some(v1)).await.status(), 200);
    let before = refs(&server, "acme/r").await;
    assert_eq!(before.len(), 3, "{before:?}");

    // A plain writer deletes nothing, and cannot move a ref by creating it again.
    refused(send(&server, Method::DELETE, "acme/r/branch/dev", &dave, None).await, "Deleting a branch").await;
    refused(send(&server, Method::DELETE, "acme/r/branch/dev", &dave, None).await, REWRITE).await;
    refused(send(&server, Method::DELETE, "acme/r/tag/v1", &dave, None).await, "Deleting a tag").await;
    refused(send(&server, Method::DELETE, "acme/r/branch/main", &dave, None).await, "default branch").await;
    let dev = json!({"startingPoint": "main"});
    assert_eq!(send(&server, Method::POST, "acme/r/branch/dev", &dave, Some(dev)).await.status(), 409);
    let v1 = json!({"tag": "v1"});
    let over = send(&server, Method::POST, &format!("acme/r/tag/{initial}"), &dave, Some(v1)).await;
    assert_eq!(over.status(), 409);
    assert_eq!(refs(&server, "acme/r").await, before, "refused changes change nothing");

    // Creating stays open to writers.
    assert_eq!(send(&server, Method::POST, "acme/r/branch/dave-dev", &dave, None).await.status(), 200);
    let tag = json!({"tag": "dave-v"});
    assert_eq!(send(&server, Method::POST, "acme/r/tag/main", &dave, Some(tag)).await.status(), 200);
    refused(send(&server, Method::DELETE, "acme/r/branch/dave-dev", &dave, None).await, REWRITE).await;

    // The org admin and a server admin delete; `main` stays for everyone.
    for (path, token) in [
        ("acme/r/branch/dev", &server.alice),
        ("acme/r/tag/v1", &server.alice),
        ("acme/r/branch/dave-dev", &root),
        ("acme/r/tag/dave-v", &root),
    ] {
        assert_eq!(send(&server, Method::DELETE, path, token, None).await.status(), 200, "{path}");
    }
    for token in [&server.alice, &root] {
        refused(send(&server, Method::DELETE, "acme/r/branch/main", token, None).await, "default branch")
            .await;
    }
    assert_eq!(refs(&server, "acme/r").await.into_keys().collect::<Vec<_>>(), ["refs/heads/main"]);

    // A contributor's own repo: she writes there but is no admin of the org.
    assert_eq!(server.create_repo(&erin, "acme/by-erin", false).await.status(), 200);
    assert_eq!(send(&server, Method::POST, "acme/by-erin/branch/e", &erin, None).await.status(), 200);
    refused(send(&server, Method::DELETE, "acme/by-erin/branch/e", &erin, None).await, REWRITE).await;

    // The owner of a user namespace rewrites there.
    assert_eq!(server.create_repo(&server.bob, "bob/own", false).await.status(), 200);
    assert_eq!(send(&server, Method::POST, "bob/own/branch/x", &server.bob, None).await.status(), 200);
    assert_eq!(send(&server, Method::DELETE, "bob/own/branch/x", &server.bob, None).await.status(), 200);
}

/// Runs git and returns (success, stderr).
fn attempt(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = git(dir, args);
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Asserts git failed and said `needle`.
fn rejected(dir: &Path, args: &[&str], needle: &str) {
    let (pushed, stderr) = attempt(dir, args);
    assert!(!pushed && stderr.contains(needle), "git {args:?}: {stderr}");
}

fn authed(server: &TestServer, token: &str, repo: &str) -> String {
    format!("{}/{repo}", server.base).replace("http://", &format!("http://user:{token}@"))
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test]
async fn git_pushes_that_rewrite_history_need_owner_or_admin_rights() {
    let server = TestServer::start().await;
    let (dave, _, root) = people(&server).await;
    server.create_repo(&server.alice, "acme/g", false).await;
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("d");
    let (base, url) = (work.path().to_owned(), authed(&server, &dave, "acme/g"));

    // A writer creates a branch and a tag and fast-forwards the branch.
    let (one, two) = blocking(move || {
        ok(&base, &["clone", "-q", &url, "d"]);
        let repo = base.join("d");
        ok(&repo, &["commit", "-q", "--allow-empty", "-m", "one"]);
        ok(&repo, &["tag", "v1"]);
        ok(&repo, &["push", "-q", "origin", "HEAD:refs/heads/feature", "v1"]);
        ok(&repo, &["commit", "-q", "--allow-empty", "-m", "two"]);
        ok(&repo, &["push", "-q", "origin", "HEAD:refs/heads/feature"]);
        (ok(&repo, &["rev-parse", "HEAD~"]), ok(&repo, &["rev-parse", "HEAD"]))
    })
    .await;
    let before = refs(&server, "acme/g").await;
    assert_eq!(before["refs/heads/feature"], two);
    assert_eq!(before["refs/tags/v1"], one);

    // Its rewrites are refused: deleting the branch (the first half of delete and re-push),
    // forcing it, deleting or moving the tag. A new branch in the same push still lands.
    let dir = repo.clone();
    let amended = blocking(move || {
        rejected(&dir, &["push", "origin", ":feature"], "deleting a branch rewrites history");
        ok(&dir, &["commit", "-q", "--amend", "--allow-empty", "-m", "two, amended"]);
        rejected(&dir, &["push", "--force", "origin", "HEAD:refs/heads/feature"], "non-fast-forward");
        rejected(&dir, &["push", "origin", ":refs/tags/v1"], "deleting a tag rewrites history");
        ok(&dir, &["tag", "-f", "v1"]);
        rejected(&dir, &["push", "--force", "origin", "v1"], "moving a tag rewrites history");
        rejected(&dir, &["push", "--force", "origin", "HEAD:refs/heads/other", "v1"], REWRITE);
        ok(&dir, &["rev-parse", "HEAD"])
    })
    .await;
    let mut want = before.clone();
    want.insert("refs/heads/other".to_owned(), amended.clone());
    assert_eq!(refs(&server, "acme/g").await, want, "only the new branch landed");

    // The org admin forces the branch and moves the tag.
    let (dir, alice) = (repo.clone(), authed(&server, &server.alice, "acme/g"));
    blocking(move || {
        ok(&dir, &["remote", "set-url", "origin", &alice]);
        ok(&dir, &["push", "-q", "--force", "origin", "HEAD:refs/heads/feature", "v1"]);
    })
    .await;
    let moved = refs(&server, "acme/g").await;
    assert_eq!((&moved["refs/heads/feature"], &moved["refs/tags/v1"]), (&amended, &amended));

    // The org admin and a server admin delete branches and tags; `main` stays.
    let root = authed(&server, &root, "acme/g");
    blocking(move || {
        ok(&repo, &["push", "-q", "origin", ":feature", ":refs/tags/v1"]);
        ok(&repo, &["remote", "set-url", "origin", &root]);
        ok(&repo, &["push", "-q", "origin", ":other"]);
        rejected(&repo, &["push", "origin", ":main"], "refusing to delete the current branch");
    })
    .await;
    assert_eq!(refs(&server, "acme/g").await.into_keys().collect::<Vec<_>>(), ["refs/heads/main"]);
}
