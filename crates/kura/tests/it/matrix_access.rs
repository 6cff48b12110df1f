//! The access matrix of gated-access requests: `ask-access`, the managers' listings,
//! `handle` and `grant`, per identity and visibility. Each identity acts on its own requester
//! users, so a refused change can be checked to have changed nothing.

use kura_model::Role;
use serde_json::{Value, json};

use crate::matrix::*;
use crate::matrix_fixture::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Ask,
    Pending,
    Accepted,
    Rejected,
    /// Accepts the pending request of `ha{n}`.
    Handle,
    /// Grants access to `gr{n}`, who never asked.
    Grant,
}

const ACCESS: [Access; 6] =
    [Access::Ask, Access::Pending, Access::Accepted, Access::Rejected, Access::Handle, Access::Grant];

/// Asking needs a token that reaches the repo (a fine-grained token without a scope for it is
/// refused like any visible repo without rights: 403) and a gated repo (else 400). Managing
/// needs write rights (hidden repos stay hidden), then a gated repo (else 400).
fn expect(who: Who, vis: Vis, op: Access) -> u16 {
    let write = expected(who, vis, Op::Commit);
    let gated = if vis == Vis::Gated { 200 } else { 400 };
    match op {
        Access::Ask => match expected(who, vis, Op::Info) {
            200 if who == Who::Anonymous => 401,
            // The scoped token covers `acme/pub` only.
            200 if who == Who::Scoped && vis != Vis::Public => 403,
            200 => gated,
            refused => refused,
        },
        _ if write == 200 => gated,
        _ => write,
    }
}

/// Creates, for every identity, the requester `ha{n}` with a pending request on the gated
/// model `acme/gated`, and `gr{n}`, who never asks.
async fn prepare(fixture: &Fixture) {
    let server = &fixture.server;
    let admin = server.admin().await;
    for n in 0..WHO.len() {
        admin.accounts().create_user(&format!("gr{n}"), false).await.unwrap();
        let asker = format!("ha{n}");
        admin.accounts().create_user(&asker, false).await.unwrap();
        let token = admin.accounts().create_token(&asker, "t", Role::Read).await.unwrap();
        let ask = server.post(&format!("/api/models/{}/ask-access", repo_of(Vis::Gated)));
        assert_eq!(ask.bearer_auth(&token).send().await.unwrap().status(), 200);
    }
}

impl Fixture {
    async fn access(&self, who: Who, vis: Vis, op: Access, n: usize) -> (u16, String) {
        let api = format!("/api/models/{}", repo_of(vis));
        let s = &self.server;
        let request = match op {
            Access::Ask => s.post(&format!("{api}/ask-access")).json(&json!({"fields": {"why": "matrix"}})),
            Access::Pending | Access::Accepted | Access::Rejected => {
                let status = format!("{op:?}").to_lowercase();
                s.get(&format!("{api}/user-access-request/{status}"))
            }
            Access::Handle => s
                .post(&format!("{api}/user-access-request/handle"))
                .json(&json!({"user": format!("ha{n}"), "status": "accepted"})),
            Access::Grant => {
                s.post(&format!("{api}/user-access-request/grant")).json(&json!({"user": format!("gr{n}")}))
            }
        };
        self.send(request, who).await
    }

    /// Users in a request list of `acme/gated`, as alice sees it.
    async fn requesters(&self, status: &str) -> Vec<String> {
        let path = format!("/api/models/{}/user-access-request/{status}", repo_of(Vis::Gated));
        let list: Vec<Value> = self.server.get_json(&self.server.alice, &path).await;
        list.iter().map(|r| r["user"]["user"].as_str().unwrap().to_owned()).collect()
    }
}

#[tokio::test]
async fn access_requests_per_identity_and_visibility_follow_the_rules() {
    let fixture = setup().await;
    prepare(&fixture).await;
    let mut secrets = vec![file_of(Vis::Private).to_owned()];
    secrets.extend(fixture.private_commits(Kind::Model).await);
    let mut cells = Cells::default();
    for (n, who) in WHO.into_iter().enumerate() {
        for vis in VIS {
            for op in ACCESS {
                let (got, body) = fixture.access(who, vis, op, n).await;
                let cell = format!("{who:?} × {vis:?} × {op:?}");
                let guard = vis == Vis::Private && !sees(who, vis);
                cells.check(cell, expect(who, vis, op), got, body, guard);
            }
        }
        // Only a manager's decisions take effect.
        let accepted = fixture.requesters("accepted").await;
        let managed = expected(who, Vis::Gated, Op::Commit) == 200;
        for user in [format!("ha{n}"), format!("gr{n}")] {
            if accepted.contains(&user) != managed {
                cells.mismatches.push(format!("{who:?}: {user} accepted: {}", !managed));
            }
        }
    }
    assert_eq!(cells.count, WHO.len() * VIS.len() * ACCESS.len());
    assert!(cells.guarded.len() >= 5 * ACCESS.len(), "{}", cells.guarded.len());
    cells.finish(&secrets);
}
