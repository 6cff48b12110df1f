//! The matrix fixture: one server with the identities of `matrix::WHO` and, for every repo
//! type and visibility, a repo created by alice holding one file; requests as each identity,
//! and the collector of wrong cells and bodies that must not leak.

use kura_core::{Authority, OrgRole, TokenSpec};
use kura_model::{Role, ScopeTarget, TokenScope};
use reqwest::RequestBuilder;
use serde_json::{Value, json};

use crate::matrix::{Op, VIS, Vis, Who, file_of, repo_of};
use crate::support::*;

/// The repo types; every fixture repo exists once per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Model,
    Dataset,
    Space,
}

pub(crate) const KINDS: [Kind; 3] = [Kind::Model, Kind::Dataset, Kind::Space];

impl Kind {
    /// The segment of API routes: `/api/{plural}/{repo}/...`.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Kind::Model => "models",
            Kind::Dataset => "datasets",
            Kind::Space => "spaces",
        }
    }

    /// The prefix of file and git routes: `/{prefix}{repo}/resolve/...`.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Kind::Model => "",
            Kind::Dataset => "datasets/",
            Kind::Space => "spaces/",
        }
    }

    pub(crate) fn singular(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::Dataset => "dataset",
            Kind::Space => "space",
        }
    }
}

pub(crate) struct Fixture {
    pub(crate) server: TestServer,
    tokens: Vec<(Who, Option<String>)>,
}

impl Fixture {
    pub(crate) fn token(&self, who: Who) -> Option<&str> {
        self.tokens.iter().find(|(w, _)| *w == who).and_then(|(_, t)| t.as_deref())
    }

    pub(crate) fn authed(&self, builder: RequestBuilder, who: Who) -> RequestBuilder {
        match self.token(who) {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends a request as `who`; returns the status and the body text.
    pub(crate) async fn send(&self, builder: RequestBuilder, who: Who) -> (u16, String) {
        let response = self.authed(builder, who).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// A request to `path` on the server with any method.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.server.client.request(method, format!("{}{path}", self.server.base))
    }

    /// Runs one operation on the repo of type `kind`; returns the status and the body text.
    pub(crate) async fn run(&self, who: Who, kind: Kind, vis: Vis, op: Op, n: usize) -> (u16, String) {
        let s = &self.server;
        let (api, files) = (
            format!("/api/{}/{}", kind.plural(), repo_of(vis)),
            format!("/{}{}", kind.prefix(), repo_of(vis)),
        );
        let batch = json!({"operation": "download", "transfers": ["basic"], "objects": [{"oid": "a".repeat(64), "size": 1}]});
        let request = match op {
            Op::Info => self.authed(s.get(&api), who),
            Op::Tree => self.authed(s.get(&format!("{api}/tree/main")), who),
            Op::PathsInfo => self
                .authed(s.post(&format!("{api}/paths-info/main")), who)
                .json(&json!({"paths": [file_of(vis)]})),
            Op::Commits => self.authed(s.get(&format!("{api}/commits/main")), who),
            Op::Resolve => self.authed(s.get(&format!("{files}/resolve/main/{}", file_of(vis))), who),
            Op::LfsBatch => {
                self.authed(s.post(&format!("{files}.git/info/lfs/objects/batch")), who).json(&batch)
            }
            Op::XetToken => self.authed(s.get(&format!("{api}/xet-read-token/main")), who),
            Op::GitUpload | Op::GitReceive => {
                let service = if op == Op::GitUpload { "git-upload-pack" } else { "git-receive-pack" };
                let builder = s.get(&format!("{files}.git/info/refs?service={service}"));
                match self.token(who) {
                    Some(token) => builder.basic_auth("user", Some(token)),
                    None => builder,
                }
            }
            Op::Commit => {
                let header = json!({"key": "header", "value": {"summary": "matrix", "description": ""}});
                let line = file_line(&format!("w{n}.txt"), format!("written by {who:?}").as_bytes());
                self.authed(s.post(&format!("{api}/commit/main")), who)
                    .header("content-type", "application/x-ndjson")
                    .body(format!("{header}\n{line}"))
            }
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Commit ids of `acme/priv` of type `kind` (alice reads them), without the initial commit:
    /// that one may equal the initial commit of a public repo created in the same second.
    pub(crate) async fn private_commits(&self, kind: Kind) -> Vec<String> {
        let path = format!("/api/{}/{}/commits/main", kind.plural(), repo_of(Vis::Private));
        let commits: Vec<Value> = self.server.get_json(&self.server.alice, &path).await;
        let ids: Vec<String> = commits.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
        ids[..ids.len() - 1].to_vec()
    }
}

/// Creates `repo` of type `kind` as `token`; returns the status.
pub(crate) async fn create_typed(
    server: &TestServer,
    token: &str,
    kind: Kind,
    repo: &str,
    private: bool,
) -> u16 {
    let (namespace, name) = repo.split_once('/').unwrap();
    let body = json!({"name": name, "organization": namespace, "private": private, "type": kind.singular()});
    let response = server.post("/api/repos/create").bearer_auth(token).json(&body).send().await.unwrap();
    response.status().as_u16()
}

/// Commits `lines` to `repo` of type `kind` as `token`; returns the status.
pub(crate) async fn commit_typed(
    server: &TestServer,
    token: &str,
    kind: Kind,
    repo: &str,
    lines: &[Value],
) -> u16 {
    let mut body =
        json!({"key": "header", "value": {"summary": "test commit", "description": ""}}).to_string();
    for line in lines {
        body.push('\n');
        body.push_str(&line.to_string());
    }
    let path = format!("/api/{}/{repo}/commit/main", kind.plural());
    let response = server
        .post(&path)
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// Gates `repo` of type `kind` (manual approval) as alice.
pub(crate) async fn gate(server: &TestServer, kind: Kind, repo: &str) {
    let settings = server
        .client
        .put(format!("{}/api/{}/{repo}/settings", server.base, kind.plural()))
        .bearer_auth(&server.alice)
        .json(&json!({"gated": "manual"}))
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), 200);
}

/// A server with the users, tokens and, for every type and visibility, a repo created by alice
/// holding one file.
pub(crate) async fn setup() -> Fixture {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    for (name, is_admin) in [("carol", false), ("dave", false), ("root", true), ("erin", false)] {
        admin.accounts().create_user(name, is_admin).await.unwrap();
    }
    admin.accounts().set_org_member("acme", "carol", OrgRole::Read).await.unwrap();
    admin.accounts().set_org_member("acme", "dave", OrgRole::Write).await.unwrap();
    admin.accounts().set_org_member("acme", "erin", OrgRole::Contributor).await.unwrap();
    let write = |user: &'static str| {
        let admin = &admin;
        async move { admin.accounts().create_token(user, "m", Role::Write).await.unwrap() }
    };
    let (carol, dave, root, erin) =
        (write("carol").await, write("dave").await, write("root").await, write("erin").await);
    let dave_read = admin.accounts().create_token("dave", "r", Role::Read).await.unwrap();
    let scope =
        TokenScope::new(ScopeTarget::parse("model:acme/pub").unwrap(), &["repo.content.read"]).unwrap();
    let spec = TokenSpec { name: "f".into(), role: Role::FineGrained, expires_at: None, scopes: vec![scope] };
    let scoped = admin.accounts().issue_token(Authority::Operator, "dave", spec).await.unwrap().secret;
    let spec = TokenSpec { name: "x".into(), role: Role::Write, expires_at: None, scopes: vec![] };
    let revoked = admin.accounts().issue_token(Authority::Operator, "alice", spec).await.unwrap();
    admin.accounts().revoke_token(Authority::Operator, revoked.record.id).await.unwrap();
    let soon = kura_core::now_millis() + 60_000;
    let spec = TokenSpec { name: "e".into(), role: Role::Write, expires_at: Some(soon), scopes: vec![] };
    let expired = admin.accounts().issue_token(Authority::Operator, "alice", spec).await.unwrap().secret;

    for kind in KINDS {
        for vis in VIS {
            let repo = repo_of(vis);
            assert_eq!(create_typed(&server, &server.alice, kind, repo, vis == Vis::Private).await, 200);
            let line = file_line(file_of(vis), b"matrix content\n");
            assert_eq!(commit_typed(&server, &server.alice, kind, repo, &[line]).await, 200);
            if vis == Vis::Gated {
                gate(&server, kind, repo).await;
            }
        }
    }
    let tokens = vec![
        (Who::Anonymous, None),
        (Who::Reader, Some(carol)),
        (Who::Writer, Some(dave)),
        (Who::OrgAdmin, Some(server.alice.clone())),
        (Who::Outsider, Some(server.bob.clone())),
        (Who::ServerAdmin, Some(root)),
        (Who::WriterReadToken, Some(dave_read)),
        (Who::Scoped, Some(scoped)),
        (Who::Revoked, Some(revoked.secret)),
        (Who::Expired, Some(expired)),
        (Who::Contributor, Some(erin)),
    ];
    // Let the expiring token expire.
    server.advance_clock(std::time::Duration::from_secs(61));
    Fixture { server, tokens }
}

/// Collected results of a matrix: every wrong cell, and the bodies that must not leak.
#[derive(Default)]
pub(crate) struct Cells {
    pub(crate) count: usize,
    pub(crate) mismatches: Vec<String>,
    /// (cell, status, body) of answers that must not name anything of a private repo.
    pub(crate) guarded: Vec<(String, u16, String)>,
}

impl Cells {
    /// Records one cell; `guard` keeps its body for the leak check.
    pub(crate) fn check(&mut self, cell: String, want: u16, got: u16, body: String, guard: bool) {
        self.count += 1;
        if got != want {
            self.mismatches.push(format!("{cell}: expected {want}, got {got}"));
        }
        if guard {
            self.guarded.push((cell, got, body));
        }
    }

    /// Asserts no guarded body names a secret and no cell was wrong, printing every wrong cell.
    pub(crate) fn finish(mut self, secrets: &[String]) {
        for (cell, status, body) in &self.guarded {
            for secret in secrets {
                if body.contains(secret.as_str()) {
                    self.mismatches.push(format!("{cell} ({status}): body leaks {secret:?}"));
                }
            }
        }
        assert!(
            self.mismatches.is_empty(),
            "{} wrong cells:\n{}",
            self.mismatches.len(),
            self.mismatches.join("\n")
        );
    }
}
