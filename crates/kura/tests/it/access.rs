//! Gated repos and the audit log: asking for access, managers accepting, rejecting and
//! granting over the Hub's endpoints, the grant check on every content path, and who may
//! see what.

use kura::config::{Config, Overrides};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::support::{file_line, header};

/// A server with `alice` (owns org `acme`), `bob` and `carol` (write tokens), a read token of
/// alice and a server admin `root`.
struct Server {
    base: String,
    client: Client,
    alice: String,
    alice_read: String,
    bob: String,
    carol: String,
    root: String,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = Config::load(&Overrides {
            data_dir: Some(dir.path().to_owned()),
            public_url: Some(base.clone()),
            ..Default::default()
        })
        .unwrap();
        let hub = kura::open_hub(&config).await.unwrap();
        for name in ["alice", "bob", "carol"] {
            hub.accounts().create_user(name, false).await.unwrap();
        }
        hub.accounts().create_user("root", true).await.unwrap();
        hub.accounts().create_org("acme", "alice").await.unwrap();
        let write = kura_model::Role::Write;
        let token = |user: &'static str, role| {
            let hub = &hub;
            async move { hub.accounts().create_token(user, "t", role).await.unwrap() }
        };
        let (alice, bob, carol, root) = (
            token("alice", write).await,
            token("bob", write).await,
            token("carol", write).await,
            token("root", write).await,
        );
        let alice_read = token("alice", kura_model::Role::Read).await;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kura::serve(listener, hub, base.clone(), async move {
            let _ = rx.await;
        }));
        Self { base, client: Client::new(), alice, alice_read, bob, carol, root, _dir: dir, _shutdown: tx }
    }

    fn get(&self, token: Option<&str>, path: &str) -> RequestBuilder {
        authed(self.client.get(format!("{}{path}", self.base)), token)
    }

    fn post(&self, token: Option<&str>, path: &str) -> RequestBuilder {
        authed(self.client.post(format!("{}{path}", self.base)), token)
    }

    /// A model repo with `weights.bin` = `CONTENT`, gated as `gated` ("auto" / "manual").
    async fn gated_repo(&self, repo: &str, private: bool, gated: &str) {
        let (namespace, name) = repo.split_once('/').unwrap();
        let created = self
            .post(Some(&self.alice), "/api/repos/create")
            .json(&json!({"name": name, "organization": namespace, "private": private}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 200);
        let mut body = json!({"key": "header", "value": {"summary": "weights"}}).to_string();
        body.push('\n');
        body.push_str(&file_line("weights.bin", CONTENT).to_string());
        let commit = self
            .post(Some(&self.alice), &format!("/api/models/{repo}/commit/main"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(commit.status(), 200);
        let settings =
            authed(self.client.put(format!("{}/api/models/{repo}/settings", self.base)), Some(&self.alice))
                .json(&json!({"gated": gated}))
                .send()
                .await
                .unwrap();
        assert_eq!(settings.status(), 200);
    }

    async fn ask(&self, token: Option<&str>, repo: &str, body: Value) -> Response {
        self.post(token, &format!("/api/models/{repo}/ask-access")).json(&body).send().await.unwrap()
    }

    async fn list(&self, token: &str, repo: &str, status: &str) -> Response {
        self.get(Some(token), &format!("/api/models/{repo}/user-access-request/{status}"))
            .send()
            .await
            .unwrap()
    }

    async fn handle(&self, token: &str, repo: &str, body: Value) -> Response {
        self.post(Some(token), &format!("/api/models/{repo}/user-access-request/handle"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn download(&self, token: Option<&str>, repo: &str) -> Response {
        self.get(token, &format!("/{repo}/resolve/main/weights.bin")).send().await.unwrap()
    }

    /// Names of the users with a request in `status`, as alice sees them.
    async fn listed(&self, repo: &str, status: &str) -> Vec<String> {
        let response = self.list(&self.alice, repo, status).await;
        assert_eq!(response.status(), 200);
        let items: Vec<Value> = response.json().await.unwrap();
        items.iter().map(|i| i["user"]["user"].as_str().unwrap().to_owned()).collect()
    }
}

const CONTENT: &[u8] = b"gated weights \x00\x01\x02";

fn authed(builder: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => builder.bearer_auth(token),
        None => builder,
    }
}

/// Asserts a Hub-format error: status, optional `X-Error-Code`, message in header and body
/// containing `needle`.
async fn assert_error(response: Response, status: u16, code: Option<&str>, needle: &str) {
    assert_eq!(response.status(), status, "{}", response.url());
    assert_eq!(header(&response, "x-error-code"), code);
    let message = header(&response, "x-error-message").unwrap_or_default().to_owned();
    assert!(message.contains(needle), "{message:?} should mention {needle:?}");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().is_some_and(|e| e.contains(needle)), "{body}");
}

#[tokio::test]
async fn manual_gating_needs_an_accepted_request_on_every_content_path() {
    let server = Server::start().await;
    let repo = "alice/manual";
    server.gated_repo(repo, false, "manual").await;
    let bob = Some(server.bob.as_str());

    assert_error(server.download(None, repo).await, 401, Some("GatedRepo"), "ask-access").await;
    assert_error(server.download(bob, repo).await, 403, Some("GatedRepo"), "ask-access").await;
    // Metadata stays visible, as on the Hub.
    assert_eq!(server.get(bob, &format!("/api/models/{repo}")).send().await.unwrap().status(), 200);
    assert_eq!(server.get(bob, &format!("/api/models/{repo}/tree/main")).send().await.unwrap().status(), 200);

    let asked = server.ask(bob, repo, json!({"fields": {"company": "ACME", "use": "research"}})).await;
    assert_eq!(asked.status(), 200);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["status"], "pending");
    assert_error(server.download(bob, repo).await, 403, Some("GatedRepo"), "awaiting approval").await;
    let xet_token = server.get(bob, &format!("/api/models/{repo}/xet-read-token/main")).send().await.unwrap();
    assert_error(xet_token, 403, Some("GatedRepo"), "awaiting").await;
    let batch = json!({"operation": "download", "transfers": ["basic"], "objects": [{"oid": "a".repeat(64), "size": 1}]});
    let lfs =
        server.post(bob, &format!("/{repo}.git/info/lfs/objects/batch")).json(&batch).send().await.unwrap();
    assert_eq!(lfs.status(), 403);
    let git = server.get(bob, &format!("/{repo}/info/refs?service=git-upload-pack")).send().await.unwrap();
    assert_eq!(git.status(), 403);

    // bob may neither list nor accept his own request; nothing changes.
    assert_eq!(server.list(&server.bob, repo, "pending").await.status(), 403);
    let own = server.handle(&server.bob, repo, json!({"user": "bob", "status": "accepted"})).await;
    assert_eq!(own.status(), 403);
    let grant = server
        .post(bob, &format!("/api/models/{repo}/user-access-request/grant"))
        .json(&json!({"user": "bob"}));
    assert_eq!(grant.send().await.unwrap().status(), 403);
    assert_eq!(
        server.list(&server.alice_read, repo, "pending").await.status(),
        403,
        "read tokens cannot manage"
    );

    let pending: Vec<Value> = server.list(&server.alice, repo, "pending").await.json().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["user"]["user"], "bob");
    assert_eq!(pending[0]["requestId"], asked["requestId"]);
    assert_eq!(pending[0]["fields"], json!({"company": "ACME", "use": "research"}));
    assert!(pending[0]["timestamp"].as_str().unwrap().ends_with('Z'));

    let accepted = server.handle(&server.alice, repo, json!({"user": "bob", "status": "accepted"})).await;
    assert_eq!(accepted.status(), 200);
    assert_error(
        server.handle(&server.alice, repo, json!({"user": "bob", "status": "accepted"})).await,
        404,
        None,
        "already in the accepted list",
    )
    .await;
    let download = server.download(bob, repo).await;
    assert_eq!(download.status(), 200);
    assert_eq!(&download.bytes().await.unwrap()[..], CONTENT);
    let xet_token = server.get(bob, &format!("/api/models/{repo}/xet-read-token/main")).send().await.unwrap();
    assert_eq!(xet_token.status(), 200);
    let lfs =
        server.post(bob, &format!("/{repo}.git/info/lfs/objects/batch")).json(&batch).send().await.unwrap();
    assert_eq!(lfs.status(), 200);
    let git = server.get(bob, &format!("/{repo}/info/refs?service=git-upload-pack")).send().await.unwrap();
    assert_eq!(git.status(), 200);

    let reject = json!({"requestId": asked["requestId"], "status": "rejected", "rejectionReason": "not now"});
    assert_eq!(server.handle(&server.alice, repo, reject).await.status(), 200);
    assert_error(server.download(bob, repo).await, 403, Some("GatedRepo"), "rejected").await;
    let rejected: Vec<Value> = server.list(&server.alice, repo, "rejected").await.json().await.unwrap();
    assert_eq!(rejected[0]["rejectionReason"], "not now");

    assert_eq!(
        server.handle(&server.alice, repo, json!({"user": "bob", "status": "pending"})).await.status(),
        200
    );
    assert_eq!(server.listed(repo, "pending").await, ["bob"]);
    assert!(server.listed(repo, "rejected").await.is_empty());

    // Grant: directly accepted, also for a user who never asked; twice is a 400.
    let grant = |user: &str| {
        server
            .post(Some(&server.alice), &format!("/api/models/{repo}/user-access-request/grant"))
            .json(&json!({"user": user}))
    };
    assert_eq!(grant("carol").send().await.unwrap().status(), 200);
    assert_error(grant("carol").send().await.unwrap(), 400, None, "already has access").await;
    assert_eq!(grant("bob").send().await.unwrap().status(), 200);
    assert_eq!(server.listed(repo, "accepted").await, ["bob", "carol"]);
    let first =
        server.get(Some(&server.alice), &format!("/api/models/{repo}/user-access-request/accepted?limit=1"));
    let first = first.send().await.unwrap();
    let link = header(&first, "link").unwrap().to_owned();
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    assert!(next.starts_with(&server.base) && next.contains("cursor=1"), "{link}");
    assert_eq!(first.json::<Vec<Value>>().await.unwrap()[0]["user"]["user"], "bob");
    let second: Vec<Value> =
        server.client.get(next).bearer_auth(&server.alice).send().await.unwrap().json().await.unwrap();
    assert_eq!(second[0]["user"]["user"], "carol");
    assert_eq!(server.download(Some(&server.carol), repo).await.status(), 200);

    // Owners and admins always read; asking again changes nothing.
    assert_eq!(server.download(Some(&server.alice), repo).await.status(), 200);
    assert_eq!(server.download(Some(&server.root), repo).await.status(), 200);
    let again: Value = server.ask(bob, repo, json!({})).await.json().await.unwrap();
    assert_eq!(again["status"], "accepted");
}

#[tokio::test]
async fn auto_gating_accepts_requests_at_once() {
    let server = Server::start().await;
    let repo = "acme/auto";
    server.gated_repo(repo, false, "auto").await;
    let bob = Some(server.bob.as_str());
    assert_error(server.download(bob, repo).await, 403, Some("GatedRepo"), "not in the authorized list")
        .await;
    let asked = server.post(bob, &format!("/api/models/{repo}/ask-access")).send().await.unwrap();
    assert_eq!(asked.status(), 200, "no body is fine");
    assert_eq!(asked.json::<Value>().await.unwrap()["status"], "accepted");
    let download = server.download(bob, repo).await;
    assert_eq!(download.status(), 200);
    assert_eq!(&download.bytes().await.unwrap()[..], CONTENT);
    assert_eq!(server.listed(repo, "accepted").await, ["bob"]);
    assert!(server.listed(repo, "pending").await.is_empty());
}

#[tokio::test]
async fn private_gated_repos_stay_invisible_to_outsiders() {
    let server = Server::start().await;
    let repo = "alice/secret";
    server.gated_repo(repo, true, "manual").await;
    let bob = Some(server.bob.as_str());
    assert_error(server.ask(bob, repo, json!({})).await, 404, Some("RepoNotFound"), "not found").await;
    assert_error(server.ask(None, repo, json!({})).await, 401, Some("RepoNotFound"), "not found").await;
    assert_error(server.list(&server.bob, repo, "pending").await, 404, Some("RepoNotFound"), "not found")
        .await;
    let handle = server.handle(&server.bob, repo, json!({"user": "bob", "status": "accepted"})).await;
    assert_error(handle, 404, Some("RepoNotFound"), "not found").await;
    assert_error(server.download(bob, repo).await, 404, Some("RepoNotFound"), "not found").await;
    assert!(server.listed(repo, "pending").await.is_empty());
    assert!(server.listed(repo, "accepted").await.is_empty());
}

#[tokio::test]
async fn bad_access_input_is_a_hub_error_and_changes_nothing() {
    let server = Server::start().await;
    let repo = "alice/strict";
    server.gated_repo(repo, false, "manual").await;
    let bob = Some(server.bob.as_str());
    assert_error(server.ask(None, repo, json!({})).await, 401, None, "authenticated").await;
    let huge = json!({"fields": {"essay": "x".repeat(20_000)}});
    assert_error(server.ask(bob, repo, huge).await, 400, None, "at most").await;
    let enormous = json!({"fields": {"essay": "x".repeat(100_000)}});
    assert_error(server.ask(bob, repo, enormous).await, 413, None, "larger than").await;
    assert_error(
        server.ask(bob, repo, json!({"fields": ["not", "an", "object"]})).await,
        400,
        None,
        "Invalid JSON",
    )
    .await;
    let broken = server
        .post(bob, &format!("/api/models/{repo}/ask-access"))
        .body("{nope")
        .header("content-type", "application/json");
    assert_error(broken.send().await.unwrap(), 400, None, "Invalid JSON").await;
    assert!(server.listed(repo, "pending").await.is_empty(), "no request was recorded");

    assert_eq!(server.ask(bob, repo, json!({})).await.status(), 200);
    let alice = server.alice.as_str();
    let cases = [
        (json!({"user": "nobody", "status": "accepted"}), 404, "not found"),
        (json!({"user": "carol", "status": "accepted"}), 404, "not found"),
        (json!({"requestId": "zz", "status": "accepted"}), 404, "not found"),
        (json!({"user": "bob", "status": "maybe"}), 400, "Invalid status"),
        (json!({"user": "bob", "requestId": "1", "status": "accepted"}), 400, "exactly one"),
        (json!({"status": "accepted"}), 400, "exactly one"),
        (
            json!({"user": "bob", "status": "accepted", "rejectionReason": "x"}),
            400,
            "only allowed when rejecting",
        ),
        (json!({"user": "bob", "status": "rejected", "rejectionReason": "x".repeat(1001)}), 400, "at most"),
        (json!({"user": "bob"}), 400, "Invalid JSON"),
    ];
    for (body, status, needle) in cases {
        assert_error(server.handle(alice, repo, body).await, status, None, needle).await;
    }
    assert_error(server.list(alice, repo, "everything").await, 400, None, "Invalid status").await;
    let grant = server.post(Some(alice), &format!("/api/models/{repo}/user-access-request/grant"));
    assert_error(grant.json(&json!({"user": "nobody"})).send().await.unwrap(), 404, None, "not found").await;
    assert_eq!(server.listed(repo, "pending").await, ["bob"], "still pending");

    server.gated_repo("alice/open", false, "manual").await;
    let open =
        authed(server.client.put(format!("{}/api/models/alice/open/settings", server.base)), Some(alice));
    assert_eq!(open.json(&json!({"gated": false})).send().await.unwrap().status(), 200);
    assert_error(server.ask(bob, "alice/open", json!({})).await, 400, None, "not gated").await;
    assert_error(server.list(alice, "alice/open", "pending").await, 400, None, "not gated").await;
}

#[tokio::test]
async fn deleting_a_repo_deletes_its_requests() {
    let server = Server::start().await;
    let repo = "alice/gone";
    server.gated_repo(repo, false, "auto").await;
    let bob = Some(server.bob.as_str());
    assert_eq!(server.ask(bob, repo, json!({})).await.status(), 200);
    assert_eq!(server.download(bob, repo).await.status(), 200);
    let delete =
        authed(server.client.delete(format!("{}/api/repos/delete", server.base)), Some(&server.alice))
            .json(&json!({"name": "gone", "organization": "alice"}));
    assert_eq!(delete.send().await.unwrap().status(), 200);
    // A new repo (which may even get the old internal id) starts with nobody admitted.
    server.gated_repo(repo, false, "manual").await;
    assert_error(server.download(bob, repo).await, 403, Some("GatedRepo"), "not in the authorized list")
        .await;
    assert!(server.listed(repo, "accepted").await.is_empty());
}

#[tokio::test]
async fn audit_log_records_security_events_for_admins_only() {
    let server = Server::start().await;
    let repo = "alice/audited";
    server.gated_repo(repo, false, "manual").await;
    let bob = Some(server.bob.as_str());
    assert_eq!(server.ask(bob, repo, json!({})).await.status(), 200);
    assert_eq!(
        server.handle(&server.alice, repo, json!({"user": "bob", "status": "accepted"})).await.status(),
        200
    );
    let grant = server.post(Some(&server.alice), &format!("/api/models/{repo}/user-access-request/grant"));
    assert_eq!(grant.json(&json!({"user": "carol"})).send().await.unwrap().status(), 200);
    let private =
        authed(server.client.put(format!("{}/api/models/{repo}/settings", server.base)), Some(&server.alice));
    assert_eq!(private.json(&json!({"private": true})).send().await.unwrap().status(), 200);
    let moved = server
        .post(Some(&server.alice), "/api/repos/move")
        .json(&json!({"fromRepo": repo, "toRepo": "acme/audited"}));
    assert_eq!(moved.send().await.unwrap().status(), 200);

    assert_error(server.get(None, "/api/admin/audit-log").send().await.unwrap(), 401, None, "authenticated")
        .await;
    assert_error(server.get(bob, "/api/admin/audit-log").send().await.unwrap(), 403, None, "administrators")
        .await;
    let response = server.get(Some(&server.root), "/api/admin/audit-log").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let entries: Vec<Value> = response.json().await.unwrap();
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {entries:?}"))
            .clone()
    };
    assert_eq!(find("token.create")["target"], "user:alice");
    assert_eq!(find("repo.gating")["details"]["gated"], "manual");
    let request = find("access.request");
    assert_eq!(
        (request["actor"].as_str(), request["target"].as_str()),
        (Some("bob"), Some("model:alice/audited"))
    );
    assert_eq!(find("access.handle")["details"]["status"], "accepted");
    assert_eq!(find("access.grant")["details"]["user"], "carol");
    assert_eq!(find("repo.visibility")["details"]["private"], true);
    assert_eq!(find("repo.move")["details"]["to"], "model:acme/audited");
    assert!(entries[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(entries[0]["action"], "repo.move", "newest first");

    let first = server.get(Some(&server.root), "/api/admin/audit-log?limit=2").send().await.unwrap();
    let link = header(&first, "link").unwrap().to_owned();
    assert!(
        link.starts_with(&format!("<{}/api/admin/audit-log?", server.base)) && link.contains("cursor=2"),
        "{link}"
    );
    let page: Vec<Value> = first.json().await.unwrap();
    assert_eq!(page.len(), 2);
}

#[tokio::test]
async fn git_clone_of_a_gated_repo_needs_an_accepted_request() {
    let server = Server::start().await;
    let repo = "alice/cloned";
    server.gated_repo(repo, false, "manual").await;
    let work = tempfile::tempdir().unwrap();
    let url =
        format!("{}/{repo}", server.base.replacen("http://", &format!("http://bob:{}@", server.bob), 1));
    let clone = |dir: std::path::PathBuf, url: String, target: &'static str| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("git")
                .args(["clone", "-q", &url, target])
                .current_dir(&dir)
                .env("GIT_TERMINAL_PROMPT", "0")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", &dir)
                .output()
                .expect("git is installed")
        })
    };
    let refused = clone(work.path().to_owned(), url.clone(), "before").await.unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(server.ask(Some(&server.bob), repo, json!({})).await.status(), 200);
    assert_eq!(
        server.handle(&server.alice, repo, json!({"user": "bob", "status": "accepted"})).await.status(),
        200
    );
    let cloned = clone(work.path().to_owned(), url, "after").await.unwrap();
    assert!(cloned.status.success(), "{}", String::from_utf8_lossy(&cloned.stderr));
    assert_eq!(std::fs::read(work.path().join("after/weights.bin")).unwrap(), CONTENT);
}
