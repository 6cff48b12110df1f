//! Repo maintenance calls (issue 14): super-squash, a repo's large objects (listing,
//! unlinking, server-side copies) and a namespace's repos with their storage. With the
//! attacker cases: a squash or deletion by a plain writer, a copy of an object the source repo
//! does not hold, a copy out of a private repo the caller cannot read.

use reqwest::Response;
use serde_json::{Value, json};

use crate::content_proof::{bytes, lfs_line, lfs_put, resolve};
use crate::history_rewrite::people;
use crate::support::*;

/// The message part every refused rewrite carries.
const REWRITE: &str = "rewrites history: only the owner or an admin of 'acme'";

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> Response {
    server.post(path).bearer_auth(token).json(&body).send().await.unwrap()
}

/// A repo of `token`'s holding `a.txt` and the large `big.bin` (`data`), in two commits.
async fn two_commits(server: &TestServer, token: &str, repo: &str, private: bool, data: &[u8]) {
    assert_eq!(server.create_repo(token, repo, private).await.status(), 200);
    assert_eq!(server.commit(token, repo, "main", &[file_line("a.txt", b"one")], None).await.status(), 200);
    assert_eq!(lfs_put(server, token, repo, data).await, 200);
    let status = server.commit(token, repo, "main", &[lfs_line("big.bin", data)], None).await.status();
    assert_eq!(status, 200);
}

async fn commit_titles(server: &TestServer, repo: &str) -> Vec<String> {
    let commits: Value = server.get_json(&server.alice, &format!("/api/models/{repo}/commits/main")).await;
    commits.as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn squash_keeps_the_tree_and_is_for_owners_and_admins() {
    let server = TestServer::start().await;
    let (dave, erin, root) = people(&server).await;
    let data = bytes(1, 5000);
    two_commits(&server, &server.alice, "acme/r", false, &data).await;
    let before = server.head_sha(&server.alice, "acme/r").await;
    let squash = |token: String, branch: &'static str| {
        let server = &server;
        async move {
            post(
                server,
                &token,
                &format!("/api/models/acme/r/super-squash/{branch}"),
                json!({"message": "squashed"}),
            )
            .await
        }
    };
    let response = squash(dave, "main").await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains(REWRITE));
    assert_eq!(server.head_sha(&server.alice, "acme/r").await, before, "refused: nothing moved");
    // A contributor writes only their own repos, and may not rewrite even those.
    assert_eq!(squash(erin.clone(), "main").await.status(), 403);
    two_commits(&server, &erin, "acme/erins", false, &data).await;
    let path = "/api/models/acme/erins/super-squash/main";
    let response = post(&server, &erin, path, json!({"message": "mine"})).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains(REWRITE));
    assert_eq!(commit_titles(&server, "acme/erins").await.len(), 3, "refused: history kept");
    assert_eq!(squash(server.bob.clone(), "main").await.status(), 403, "not a writer at all");

    assert_eq!(squash(server.alice.clone(), "main").await.status(), 200);
    assert_eq!(commit_titles(&server, "acme/r").await, vec!["squashed".to_owned()]);
    assert_ne!(server.head_sha(&server.alice, "acme/r").await, before);
    assert_eq!(resolve(&server, None, "acme/r", "big.bin").await, (200, data.clone()), "same tree");
    assert_eq!(resolve(&server, None, "acme/r", "a.txt").await, (200, b"one".to_vec()));

    // A tag is not a branch; a missing branch is a missing revision.
    let tag = post(&server, &server.alice, "/api/models/acme/r/tag/main", json!({"tag": "v1"})).await;
    assert_eq!(tag.status(), 200);
    assert_eq!(squash(server.alice.clone(), "v1").await.status(), 400);
    assert_eq!(squash(server.alice.clone(), "nope").await.status(), 404);
    // A server admin may too, and the rewrite is in the audit log.
    assert_eq!(squash(root.clone(), "main").await.status(), 200);
    let log =
        server.get("/api/admin/audit-log").bearer_auth(&root).send().await.unwrap().text().await.unwrap();
    assert_eq!(log.matches("repo.squash").count(), 2, "{log}");
}

#[tokio::test]
async fn lfs_files_are_listed_paged_and_unlinked_by_admins_only() {
    let server = TestServer::start().await;
    let (dave, _erin, _root) = people(&server).await;
    let (first, second) = (bytes(2, 3000), bytes(3, 4000));
    two_commits(&server, &server.alice, "acme/l", true, &first).await;
    assert_eq!(lfs_put(&server, &server.alice, "acme/l", &second).await, 200);
    let status =
        server.commit(&server.alice, "acme/l", "main", &[lfs_line("sub/two.bin", &second)], None).await;
    assert_eq!(status.status(), 200);

    let files: Value = server.get_json(&server.alice, "/api/models/acme/l/lfs-files").await;
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 2);
    for file in files {
        let oid = file["fileOid"].as_str().unwrap();
        assert_eq!(file["oid"], oid);
        let (name, size) = if oid == sha256_hex(&first) { ("big.bin", 3000) } else { ("sub/two.bin", 4000) };
        assert_eq!((file["filename"].as_str().unwrap(), file["size"].as_u64().unwrap()), (name, size));
        assert!(file["pushedAt"].as_str().unwrap().ends_with('Z'));
    }
    // Pages of one, linked by `Link`.
    let page =
        server.get("/api/models/acme/l/lfs-files?limit=1").bearer_auth(&server.alice).send().await.unwrap();
    let link = header(&page, "link").unwrap().to_owned();
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let rest: Value =
        server.client.get(next).bearer_auth(&server.alice).send().await.unwrap().json().await.unwrap();
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_ne!(rest[0]["fileOid"], page.json::<Value>().await.unwrap()[0]["fileOid"]);
    // Not a member of acme: the private repo does not exist for bob.
    let hidden = server.get("/api/models/acme/l/lfs-files").bearer_auth(&server.bob).send().await.unwrap();
    assert_eq!(hidden.status(), 404);

    let delete = |token: String, shas: Vec<String>, rewrite: bool| {
        let server = &server;
        async move {
            let body = json!({"deletions": {"sha": shas, "rewriteHistory": rewrite}});
            post(server, &token, "/api/models/acme/l/lfs-files/batch", body).await
        }
    };
    let target = vec![sha256_hex(&first)];
    let refused = delete(dave, target.clone(), false).await;
    assert_eq!(refused.status(), 403, "a plain writer may not delete");
    assert!(refused.text().await.unwrap().contains(REWRITE));
    let rewrite = delete(server.alice.clone(), target.clone(), true).await;
    assert_eq!(rewrite.status(), 400);
    assert!(rewrite.text().await.unwrap().contains("rewriteHistory"));
    let too_many = (0..1001).map(|i| sha256_hex(&[i as u8, (i >> 8) as u8])).collect();
    assert_eq!(delete(server.alice.clone(), too_many, false).await.status(), 400);
    assert_eq!(
        resolve(&server, Some(&server.alice), "acme/l", "big.bin").await.0,
        200,
        "refusals changed nothing"
    );

    assert_eq!(delete(server.alice.clone(), target, false).await.status(), 200);
    let files: Value = server.get_json(&server.alice, "/api/models/acme/l/lfs-files").await;
    assert_eq!(files.as_array().unwrap().len(), 1);
    assert_eq!(resolve(&server, Some(&server.alice), "acme/l", "big.bin").await.0, 404, "unlinked");
    assert_eq!(resolve(&server, Some(&server.alice), "acme/l", "sub/two.bin").await, (200, second));
}

/// An `lfsFile` line as the client sends it for a copy: no size.
fn copy_line(path: &str, data: &[u8]) -> Value {
    json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha256_hex(data)}})
}

#[tokio::test]
async fn duplicates_go_through_the_content_proof() {
    let server = TestServer::start().await;
    let secret = bytes(4, 6000);
    two_commits(&server, &server.alice, "acme/private", true, &secret).await;
    assert_eq!(server.create_repo(&server.bob, "bob/mine", false).await.status(), 200);
    assert_eq!(server.create_repo(&server.bob, "bob/empty", false).await.status(), 200);
    let files = json!([{"sha256": sha256_hex(&secret), "filename": "big.bin"}]);
    let into_bob = json!({"target": {"type": "model", "name": "bob/mine"}, "files": files});

    // Bob knows the SHA-256 of alice's private file. Copying out of her repo: he cannot read it.
    let response =
        post(&server, &server.bob, "/api/models/acme/private/lfs-files/duplicate", into_bob.clone()).await;
    assert_eq!(response.status(), 404);
    // Copying "out of" a repo of his own that never held it: a failure, nothing linked.
    let answer: Value =
        post(&server, &server.bob, "/api/models/bob/empty/lfs-files/duplicate", into_bob.clone())
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(answer["failed"][0]["sha256"], sha256_hex(&secret), "{answer}");
    let commit =
        server.commit(&server.bob, "bob/mine", "main", &[copy_line("stolen.bin", &secret)], None).await;
    assert_ne!(commit.status(), 200, "the pointer needs the repo's own proof");
    assert_eq!(resolve(&server, Some(&server.bob), "bob/mine", "stolen.bin").await.0, 404);
    // Alice may read the source but not write bob's repo.
    let response =
        post(&server, &server.alice, "/api/models/acme/private/lfs-files/duplicate", into_bob).await;
    assert_eq!(response.status(), 403);

    // Alice copies into a repo of hers, then commits the pointer as the client does.
    assert_eq!(server.create_repo(&server.alice, "alice/copy", true).await.status(), 200);
    let into_alice = json!({"target": {"type": "model", "name": "alice/copy"}, "files": files});
    let answer: Value =
        post(&server, &server.alice, "/api/models/acme/private/lfs-files/duplicate", into_alice)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(answer, json!({"failed": []}));
    let commit =
        server.commit(&server.alice, "alice/copy", "main", &[copy_line("copied.bin", &secret)], None).await;
    assert_eq!(commit.status(), 200);
    assert_eq!(resolve(&server, Some(&server.alice), "alice/copy", "copied.bin").await, (200, secret));
    // A batch past the limit is refused whole.
    let many: Vec<Value> = (0..1001).map(|_| json!({"sha256": "00"})).collect();
    let body = json!({"target": {"type": "model", "name": "alice/copy"}, "files": many});
    let response = post(&server, &server.alice, "/api/models/acme/private/lfs-files/duplicate", body).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn settings_repositories_lists_a_namespaces_repos_for_its_members() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, "alice/one", true).await.status(), 200);
    assert_eq!(server.create_repo(&server.alice, "alice/two", false).await.status(), 200);
    assert_eq!(server.create_repo(&server.alice, "acme/org-repo", true).await.status(), 200);
    assert_eq!(server.create_repo(&server.bob, "bob/other", false).await.status(), 200);
    let dataset = json!({"name": "data", "organization": "alice", "type": "dataset"});
    assert_eq!(post(&server, &server.alice, "/api/repos/create", dataset).await.status(), 200);

    let mine: Value = server.get_json(&server.alice, "/api/settings/repositories").await;
    let ids: Vec<(&str, &str, &str)> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["type"].as_str().unwrap(), r["visibility"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("alice/one", "model", "private"),
            ("alice/two", "model", "public"),
            ("alice/data", "dataset", "public")
        ]
    );
    assert_eq!(mine[0]["storage"], 0);
    // Pages of two, across repo types.
    let page =
        server.get("/api/settings/repositories?limit=2").bearer_auth(&server.alice).send().await.unwrap();
    let link = header(&page, "link").unwrap().to_owned();
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let rest: Value =
        server.client.get(next).bearer_auth(&server.alice).send().await.unwrap().json().await.unwrap();
    assert_eq!(rest[0]["id"], "alice/data");

    let org: Value = server.get_json(&server.alice, "/api/organizations/acme/settings/repositories").await;
    assert_eq!(org[0]["id"], "acme/org-repo");
    let outsider = server.get("/api/organizations/acme/settings/repositories").bearer_auth(&server.bob);
    assert_eq!(outsider.send().await.unwrap().status(), 403);
    assert_eq!(server.get("/api/settings/repositories").send().await.unwrap().status(), 401);
}
