//! Access tokens: created, listed and revoked through `/api/settings/tokens`; revoked and
//! expired tokens answer 401 on every surface (API, resolve, LFS, Xet, git); fine-grained
//! tokens reach only their scopes; token creation is validated and rate-limited.

use std::path::Path;
use std::process::Command;

use kura_core::{Authority, INVALID_CREDENTIALS, TokenSpec};
use kura_model::Role;
use reqwest::Response;
use serde_json::{Value, json};

use crate::support::*;

async fn create(server: &TestServer, token: &str, body: Value) -> Response {
    server.post("/api/settings/tokens").bearer_auth(token).json(&body).send().await.unwrap()
}

/// Creates a token through the API and returns `(id, secret)`.
async fn created(server: &TestServer, token: &str, body: Value) -> (String, String) {
    let response = create(server, token, body).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    (body["id"].as_str().unwrap().to_owned(), body["token"].as_str().unwrap().to_owned())
}

async fn list(server: &TestServer, token: &str) -> Value {
    let response = server.get("/api/settings/tokens").bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn whoami(server: &TestServer, token: &str) -> Response {
    server.get("/api/whoami-v2").bearer_auth(token).send().await.unwrap()
}

fn revoke(server: &TestServer, token: &str, id: &str) -> reqwest::RequestBuilder {
    server.client.delete(format!("{}/api/settings/tokens/{id}", server.base)).bearer_auth(token)
}

#[tokio::test]
async fn tokens_are_created_listed_and_revoked_through_the_api() {
    let server = TestServer::start().await;
    let (id, secret) = created(&server, &server.alice, json!({"name": "laptop", "role": "read"})).await;
    let me: Value = whoami(&server, &secret).await.json().await.unwrap();
    assert_eq!(me["name"], "alice");
    assert_eq!(me["auth"]["accessToken"]["role"], "read");
    assert_eq!(me["auth"]["accessToken"]["displayName"], "laptop");
    assert!(me["auth"]["accessToken"]["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(me["orgs"][0]["name"], "acme");
    assert_eq!(me["orgs"][0]["roleInOrg"], "admin");

    let listed = list(&server, &server.alice).await;
    let text = listed.to_string();
    assert!(!text.contains(&secret) && !text.contains("\"token\""), "the secret is never listed: {text}");
    let laptop = listed.as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).expect("listed");
    assert_eq!((laptop["name"].as_str(), laptop["role"].as_str()), (Some("laptop"), Some("read")));
    assert!(laptop["lastUsedAt"].as_str().is_some(), "whoami used it: {laptop}");
    assert_eq!(laptop["expiresAt"], Value::Null);
    assert_eq!(list(&server, &server.bob).await.as_array().unwrap().len(), 1, "only the caller's own");

    // Only the owner revokes; anyone else sees no such token.
    assert_eq!(revoke(&server, &server.bob, &id).send().await.unwrap().status(), 404);
    assert_eq!(revoke(&server, &server.alice_read, &id).send().await.unwrap().status(), 403);
    assert_eq!(revoke(&server, &server.alice, "nope").send().await.unwrap().status(), 404);
    assert_eq!(revoke(&server, &server.alice, &id).send().await.unwrap().status(), 200);
    assert_eq!(revoke(&server, &server.alice, &id).send().await.unwrap().status(), 404, "once");
    let gone = whoami(&server, &secret).await;
    assert_eq!(gone.status(), 401);
    assert_eq!(header(&gone, "x-error-message"), Some(INVALID_CREDENTIALS));
    assert!(!list(&server, &server.alice).await.to_string().contains("laptop"));

    let actions: Vec<String> = server
        .admin()
        .await
        .accounts()
        .audit_log(Authority::Operator, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.actor.as_deref() == Some("alice"))
        .map(|r| r.entry.action)
        .collect();
    assert_eq!(actions, ["token.revoke", "token.create"]);
}

#[tokio::test]
async fn only_write_tokens_mint_tokens_and_bad_input_is_a_400() {
    let server = TestServer::start().await;
    let read = create(&server, &server.alice_read, json!({"name": "x", "role": "write"})).await;
    assert_eq!(read.status(), 403, "a read token cannot mint a write token");
    let (_, fine) = created(
        &server,
        &server.alice,
        json!({"name": "f", "role": "fineGrained", "fineGrained": {"global": ["repo.write"]}}),
    )
    .await;
    assert_eq!(create(&server, &fine, json!({"name": "x", "role": "read"})).await.status(), 403);
    assert_eq!(server.get("/api/settings/tokens").bearer_auth(&fine).send().await.unwrap().status(), 403);
    let anonymous = server.post("/api/settings/tokens").json(&json!({"name": "x", "role": "read"}));
    assert_eq!(anonymous.send().await.unwrap().status(), 401);

    let scoped = |entity: Value, permissions: Value| json!({"name": "x", "role": "fineGrained", "fineGrained": {"scoped": [{"entity": entity, "permissions": permissions}]}});
    for body in [
        json!({"name": "x", "role": "admin"}),
        json!({"name": "x"}),
        json!({"name": "", "role": "read"}),
        json!({"name": "n".repeat(101), "role": "read"}),
        json!({"name": "x", "role": "read", "expiresAt": "2001-01-01T00:00:00Z"}),
        json!({"name": "x", "role": "read", "expiresAt": "tomorrow"}),
        json!({"name": "x", "role": "fineGrained"}),
        json!({"name": "x", "role": "read", "fineGrained": {"global": ["repo.write"]}}),
        scoped(json!({"type": "model", "name": "alice/../m"}), json!(["repo.write"])),
        scoped(json!({"type": "bucket", "name": "alice/m"}), json!(["repo.write"])),
        scoped(json!({"type": "model", "name": "alice/m"}), json!(["repo.delete"])),
        scoped(json!({"type": "model", "name": "alice/m"}), json!([])),
        scoped(json!({"type": "user"}), json!(["repo.write"])),
        json!({"name": "x", "role": "fineGrained", "fineGrained": {"scoped": "alice"}}),
    ] {
        let response = create(&server, &server.alice, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        assert!(header(&response, "x-error-message").is_some());
    }
    let not_json =
        server.post("/api/settings/tokens").bearer_auth(&server.alice).body("{").send().await.unwrap();
    assert_eq!(not_json.status(), 400);
}

#[tokio::test]
async fn token_creation_is_rate_limited_per_user() {
    let server = TestServer::start().await;
    let mut statuses = Vec::new();
    for n in 0..11 {
        statuses.push(
            create(&server, &server.bob, json!({"name": format!("t{n}"), "role": "read"})).await.status(),
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 201), "{statuses:?}");
    let limited = create(&server, &server.bob, json!({"name": "more", "role": "read"})).await;
    assert_eq!(limited.status(), 429);
    assert!(header(&limited, "retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 1));
    assert_eq!(create(&server, &server.alice, json!({"name": "a", "role": "read"})).await.status(), 201);
}

fn git_clone_succeeds(dir: &Path, url: &str) -> bool {
    Command::new("git")
        .args(["clone", "-q", url, "clone"])
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .status()
        .expect("git is installed (scripts/test installs it)")
        .success()
}

/// Every read surface of a private repo with `token`: API, resolve, LFS batch, Xet read token.
async fn read_statuses(server: &TestServer, token: &str) -> Vec<u16> {
    let batch = json!({"operation": "download", "objects": [{"oid": sha256_hex(b"x"), "size": 1}]});
    let requests = [
        server.get("/api/whoami-v2"),
        server.get("/api/models/alice/p"),
        server.get("/alice/p/resolve/main/README.md"),
        server.post("/alice/p.git/info/lfs/objects/batch").json(&batch),
        server.get("/api/models/alice/p/xet-read-token/main"),
    ];
    let mut statuses = Vec::new();
    for request in requests {
        let response = request.bearer_auth(token).send().await.unwrap();
        if response.status() == 401 {
            assert_eq!(header(&response, "x-error-message"), Some(INVALID_CREDENTIALS));
        }
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused_everywhere() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/p", true).await;
    server.commit(&server.alice, "alice/p", "main", &[file_line("README.md", b"# p\n")], None).await;
    let (id, revoked) = created(&server, &server.alice, json!({"name": "r", "role": "write"})).await;
    let soon = kura_core::now_millis() + 60_000;
    let spec = TokenSpec { name: "e".into(), role: Role::Write, expires_at: Some(soon), scopes: vec![] };
    let expired =
        server.admin().await.accounts().issue_token(Authority::Operator, "alice", spec).await.unwrap().secret;
    for token in [&revoked, &expired] {
        assert_eq!(read_statuses(&server, token).await, [200; 5], "valid before");
    }
    assert_eq!(revoke(&server, &server.alice, &id).send().await.unwrap().status(), 200);
    server.advance_clock(std::time::Duration::from_secs(61));
    for token in [&revoked, &expired] {
        assert_eq!(read_statuses(&server, token).await, [401; 5]);
    }
    let work = tempfile::tempdir().unwrap();
    let base = work.path().to_owned();
    let url =
        |token: &str| format!("{}/alice/p", server.base).replace("http://", &format!("http://user:{token}@"));
    let (good, bad_revoked, bad_expired) = (url(&server.alice), url(&revoked), url(&expired));
    tokio::task::spawn_blocking(move || {
        for (n, bad) in [bad_revoked, bad_expired].iter().enumerate() {
            let dir = base.join(format!("bad{n}"));
            std::fs::create_dir(&dir).unwrap();
            assert!(!git_clone_succeeds(&dir, bad), "git clone with a dead token");
        }
        assert!(git_clone_succeeds(&base, &good), "the control clone works");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn fine_grained_tokens_reach_only_their_scopes() {
    let server = TestServer::start().await;
    for (repo, private) in [("alice/scoped", true), ("alice/secret", true), ("alice/open", false)] {
        assert_eq!(server.create_repo(&server.alice, repo, private).await.status(), 200);
    }
    let (_, fine) = created(
        &server,
        &server.alice,
        json!({"name": "ci", "role": "fineGrained", "fineGrained": {"scoped": [
            {"entity": {"type": "model", "name": "alice/scoped"}, "permissions": ["repo.content.read", "repo.write"]},
        ]}}),
    )
    .await;
    let me: Value = whoami(&server, &fine).await.json().await.unwrap();
    assert_eq!(me["auth"]["accessToken"]["role"], "fineGrained");
    assert_eq!(
        me["auth"]["accessToken"]["fineGrained"]["scoped"],
        json!([{"entity": {"type": "model", "name": "alice/scoped"}, "permissions": ["repo.content.read", "repo.write"]}])
    );

    let line = [file_line("a.txt", b"a")];
    assert_eq!(server.commit(&fine, "alice/scoped", "main", &line, None).await.status(), 200);
    let read = server.get("/alice/scoped/resolve/main/a.txt").bearer_auth(&fine).send().await.unwrap();
    assert_eq!(read.status(), 200);
    // Another private repo of the same user looks missing, on every path.
    let hidden = server.get("/api/models/alice/secret").bearer_auth(&fine).send().await.unwrap();
    assert_eq!((hidden.status().as_u16(), header(&hidden, "x-error-code")), (404, Some("RepoNotFound")));
    let hidden =
        server.get("/alice/secret/resolve/main/.gitattributes").bearer_auth(&fine).send().await.unwrap();
    assert_eq!(hidden.status(), 404);
    assert_eq!(server.commit(&fine, "alice/secret", "main", &line, None).await.status(), 404);
    // Public repos read like anonymous, but writing there needs a scope.
    assert_eq!(server.get("/api/models/alice/open").bearer_auth(&fine).send().await.unwrap().status(), 200);
    let denied = server.commit(&fine, "alice/open", "main", &line, None).await;
    assert_eq!(denied.status(), 403);
    assert_eq!(server.create_repo(&fine, "alice/new", false).await.status(), 403);
    let listed: Value =
        server.get("/api/models?author=alice").bearer_auth(&fine).send().await.unwrap().json().await.unwrap();
    let mut ids: Vec<&str> = listed.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["alice/open", "alice/scoped"]);

    // A read-only scope on the namespace reads every private repo there and writes none.
    let (_, reader) = created(
        &server,
        &server.alice,
        json!({"name": "ro", "role": "fineGrained", "fineGrained": {"scoped": [
            {"entity": {"type": "user", "name": "alice"}, "permissions": ["repo.content.read"]},
        ]}}),
    )
    .await;
    assert_eq!(
        server.get("/api/models/alice/secret").bearer_auth(&reader).send().await.unwrap().status(),
        200
    );
    assert_eq!(server.commit(&reader, "alice/secret", "main", &line, None).await.status(), 403);
    // Scopes never exceed the user's own rights: bob's global write token sees none of alice's.
    let (_, bobs) = created(
        &server,
        &server.bob,
        json!({"name": "x", "role": "fineGrained", "fineGrained": {"global": ["repo.write"]}}),
    )
    .await;
    assert_eq!(server.get("/api/models/alice/scoped").bearer_auth(&bobs).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn unscoped_fine_grained_tokens_do_not_inherit_gated_access() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/gated", false).await;
    server.commit(&server.alice, "alice/gated", "main", &[file_line("w.bin", b"w")], None).await;
    let settings = server.client.put(format!("{}/api/models/alice/gated/settings", server.base));
    assert_eq!(
        settings.bearer_auth(&server.alice).json(&json!({"gated": "auto"})).send().await.unwrap().status(),
        200
    );
    let asked =
        server.post("/api/models/alice/gated/ask-access").bearer_auth(&server.bob).send().await.unwrap();
    assert_eq!(asked.status(), 200);
    let (_, elsewhere) = created(
        &server,
        &server.bob,
        json!({"name": "x", "role": "fineGrained", "fineGrained": {"scoped": [
            {"entity": {"type": "user", "name": "bob"}, "permissions": ["repo.write"]},
        ]}}),
    )
    .await;
    let (_, scoped) = created(
        &server,
        &server.bob,
        json!({"name": "y", "role": "fineGrained", "fineGrained": {"scoped": [
            {"entity": {"type": "model", "name": "alice/gated"}, "permissions": ["repo.content.read"]},
        ]}}),
    )
    .await;
    let download = |token: &str| server.get("/alice/gated/resolve/main/w.bin").bearer_auth(token).send();
    assert_eq!(download(&server.bob).await.unwrap().status(), 200, "bob's grant opens the files");
    assert_eq!(download(&scoped).await.unwrap().status(), 200, "a token scoped to the repo uses it");
    let refused = download(&elsewhere).await.unwrap();
    assert_eq!((refused.status().as_u16(), header(&refused, "x-error-code")), (403, Some("GatedRepo")));
}

#[tokio::test]
async fn server_admins_revoke_any_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.accounts().create_user("root", true).await.unwrap();
    let root = admin.accounts().create_token("root", "t", Role::Write).await.unwrap();
    let (id, secret) = created(&server, &server.bob, json!({"name": "b", "role": "read"})).await;
    assert_eq!(revoke(&server, &root, &id).send().await.unwrap().status(), 200);
    assert_eq!(whoami(&server, &secret).await.status(), 401);
}
