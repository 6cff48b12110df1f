//! The access matrix of repo management: settings, delete, move, branches, tags, preupload,
//! refs, auth-check and the Xet write token, per identity and visibility. Delete and move act
//! on a throwaway repo per cell; a refused change must leave everything as it was.

use reqwest::Method;
use serde_json::{Value, json};

use crate::matrix::*;
use crate::matrix_fixture::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manage {
    /// `PUT …/settings {"private": <current>}`.
    SettingsPrivate,
    /// `PUT …/settings {"gated": <current>}`.
    SettingsGated,
    Delete,
    Move,
    BranchCreate,
    BranchDelete,
    TagCreate,
    TagDelete,
    Preupload,
    Refs,
    AuthCheckRead,
    AuthCheckWrite,
    XetWriteToken,
}

const MANAGE: [Manage; 13] = [
    Manage::SettingsPrivate,
    Manage::SettingsGated,
    Manage::Delete,
    Manage::Move,
    Manage::BranchCreate,
    Manage::BranchDelete,
    Manage::TagCreate,
    Manage::TagDelete,
    Manage::Preupload,
    Manage::Refs,
    Manage::AuthCheckRead,
    Manage::AuthCheckWrite,
    Manage::XetWriteToken,
];

/// Refs and reads: as repo info; the read auth-check: as file contents (gating); everything
/// else needs write rights, as a commit does. Preupload without `create_pr` needs write on the
/// Hub (readers may only preupload for a pull request). Deleting a branch or tag rewrites
/// history: a plain writer who may commit gets 403 (owners and admins only).
fn expect(who: Who, vis: Vis, op: Manage) -> u16 {
    match op {
        Manage::Refs => expected(who, vis, Op::Info),
        Manage::AuthCheckRead => expected(who, vis, Op::Resolve),
        Manage::BranchDelete | Manage::TagDelete => match expected(who, vis, Op::Commit) {
            200 if who == Who::Writer => 403,
            status => status,
        },
        _ => expected(who, vis, Op::Commit),
    }
}

/// The throwaway repo a destructive cell acts on.
fn throwaway(op: Manage, n: usize, vis: Vis) -> String {
    let kind = if op == Manage::Delete { "del" } else { "mv" };
    format!("acme/{kind}-{n}-{}", &repo_of(vis)[5..])
}

/// Creates the throwaway repos, and the branch `d-{n}` and tag `t-{n}` each identity tries
/// to delete, as alice.
async fn prepare(fixture: &Fixture) {
    let server = &fixture.server;
    for n in 0..WHO.len() {
        for vis in VIS {
            for op in [Manage::Delete, Manage::Move] {
                let repo = throwaway(op, n, vis);
                assert_eq!(
                    create_typed(server, &server.alice, Kind::Model, &repo, vis == Vis::Private).await,
                    200
                );
                if vis == Vis::Gated {
                    gate(server, Kind::Model, &repo).await;
                }
            }
            let api = format!("/api/models/{}", repo_of(vis));
            let branch = server.post(&format!("{api}/branch/d-{n}")).bearer_auth(&server.alice);
            assert_eq!(branch.send().await.unwrap().status(), 200);
            let tag = server.post(&format!("{api}/tag/main")).bearer_auth(&server.alice);
            assert_eq!(tag.json(&json!({"tag": format!("t-{n}")})).send().await.unwrap().status(), 200);
        }
    }
}

impl Fixture {
    async fn manage(&self, who: Who, vis: Vis, op: Manage, n: usize) -> (u16, String) {
        let api = format!("/api/models/{}", repo_of(vis));
        let request = match op {
            Manage::SettingsPrivate => self
                .request(Method::PUT, &format!("{api}/settings"))
                .json(&json!({"private": vis == Vis::Private})),
            Manage::SettingsGated => {
                let gated = if vis == Vis::Gated { json!("manual") } else { json!(false) };
                self.request(Method::PUT, &format!("{api}/settings")).json(&json!({"gated": gated}))
            }
            Manage::Delete => self
                .request(Method::DELETE, "/api/repos/delete")
                .json(&json!({"name": throwaway(op, n, vis), "type": "model"})),
            Manage::Move => {
                let from = throwaway(op, n, vis);
                let body = json!({"fromRepo": from, "toRepo": format!("{from}-moved"), "type": "model"});
                self.request(Method::POST, "/api/repos/move").json(&body)
            }
            Manage::BranchCreate => self.request(Method::POST, &format!("{api}/branch/c-{n}")),
            Manage::BranchDelete => self.request(Method::DELETE, &format!("{api}/branch/d-{n}")),
            Manage::TagCreate => {
                self.request(Method::POST, &format!("{api}/tag/main")).json(&json!({"tag": format!("c-{n}")}))
            }
            Manage::TagDelete => self.request(Method::DELETE, &format!("{api}/tag/t-{n}")),
            Manage::Preupload => self
                .request(Method::POST, &format!("{api}/preupload/main"))
                .json(&json!({"files": [{"path": file_of(vis), "sample": "", "size": 15}]})),
            Manage::Refs => self.request(Method::GET, &format!("{api}/refs")),
            Manage::AuthCheckRead => self.request(Method::GET, &format!("{api}/auth-check")),
            Manage::AuthCheckWrite => self.request(Method::GET, &format!("{api}/auth-check/write")),
            Manage::XetWriteToken => self.request(Method::GET, &format!("{api}/xet-write-token/main")),
        };
        self.send(request, who).await
    }

    /// Whether alice sees `repo` (a model) at this id; a moved repo's earlier id redirects to
    /// the repo under its new one, which does not count.
    async fn exists(&self, repo: &str) -> bool {
        let response = self.server.get(&format!("/api/models/{repo}")).bearer_auth(&self.server.alice);
        let response = response.send().await.unwrap();
        response.status() == 200 && response.json::<Value>().await.unwrap()["id"] == repo
    }

    /// Short names of the branches and tags of a fixture repo, as alice sees them.
    async fn ref_names(&self, vis: Vis) -> Vec<String> {
        let path = format!("/api/models/{}/refs", repo_of(vis));
        let refs: Value = self.server.get_json(&self.server.alice, &path).await;
        let names = refs["branches"].as_array().unwrap().iter().chain(refs["tags"].as_array().unwrap());
        names.map(|r| r["ref"].as_str().unwrap().to_owned()).collect()
    }

    /// What must hold after the cell: a refused change changed nothing, an accepted one happened.
    async fn aftermath(&self, vis: Vis, op: Manage, n: usize, done: bool) -> Option<String> {
        let gone_or_kept = |present: bool, what: String| {
            (present == done).then(|| format!("{what} {}", if done { "still there" } else { "gone" }))
        };
        match op {
            Manage::Delete => gone_or_kept(self.exists(&throwaway(op, n, vis)).await, "repo".into()),
            Manage::Move => gone_or_kept(self.exists(&throwaway(op, n, vis)).await, "source repo".into()),
            Manage::BranchDelete => {
                let present = self.ref_names(vis).await.contains(&format!("refs/heads/d-{n}"));
                gone_or_kept(present, format!("branch d-{n}"))
            }
            Manage::TagDelete => {
                let present = self.ref_names(vis).await.contains(&format!("refs/tags/t-{n}"));
                gone_or_kept(present, format!("tag t-{n}"))
            }
            Manage::BranchCreate | Manage::TagCreate => {
                let kind = if op == Manage::BranchCreate { "heads" } else { "tags" };
                let present = self.ref_names(vis).await.contains(&format!("refs/{kind}/c-{n}"));
                (present != done).then(|| format!("ref {kind}/c-{n} present: {present}"))
            }
            _ => None,
        }
    }
}

#[tokio::test]
async fn repo_management_per_identity_and_visibility_follows_the_write_rules() {
    let fixture = setup().await;
    prepare(&fixture).await;
    let mut secrets = vec![file_of(Vis::Private).to_owned()];
    secrets.extend(fixture.private_commits(Kind::Model).await);
    let mut cells = Cells::default();
    for (n, who) in WHO.into_iter().enumerate() {
        for vis in VIS {
            for op in MANAGE {
                let (got, body) = fixture.manage(who, vis, op, n).await;
                let cell = format!("{who:?} × {vis:?} × {op:?}");
                let want = expect(who, vis, op);
                if let Some(wrong) = fixture.aftermath(vis, op, n, got == 200).await {
                    cells.mismatches.push(format!("{cell} ({got}): {wrong}"));
                }
                let guard = vis == Vis::Private && !sees(who, vis);
                cells.check(cell, want, got, body, guard);
            }
        }
    }
    assert_eq!(cells.count, WHO.len() * VIS.len() * MANAGE.len());
    assert!(cells.guarded.len() >= 5 * MANAGE.len(), "{}", cells.guarded.len());
    cells.finish(&secrets);
}
