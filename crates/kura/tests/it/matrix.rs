//! The access matrix: every identity × visibility × operation against the rules of `auth.rs`,
//! asserted cell by cell, plus no leak of a private repo to those who must not see it. The
//! identity table and the expectation helpers are shared with the other `matrix_*` files (the
//! fixture lives in `matrix_fixture.rs`).

use serde_json::Value;

use crate::matrix_fixture::{Kind, setup};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Anonymous,
    /// `carol`, org member with role read.
    Reader,
    /// `dave`, org member with role write.
    Writer,
    /// `alice`, org admin.
    OrgAdmin,
    /// `bob`, not in the org.
    Outsider,
    /// `root`, server admin.
    ServerAdmin,
    /// A read token of `dave`.
    WriterReadToken,
    /// A fine-grained token of `dave`, `model:acme/pub=repo.content.read` only.
    Scoped,
    Revoked,
    Expired,
    /// `erin`, org member with role contributor: reads like `Reader`, writes only to the repos
    /// she created (none of the fixture repos).
    Contributor,
}

pub(crate) const WHO: [Who; 11] = [
    Who::Anonymous,
    Who::Reader,
    Who::Writer,
    Who::OrgAdmin,
    Who::Outsider,
    Who::ServerAdmin,
    Who::WriterReadToken,
    Who::Scoped,
    Who::Revoked,
    Who::Expired,
    Who::Contributor,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vis {
    Public,
    Private,
    Gated,
}

pub(crate) const VIS: [Vis; 3] = [Vis::Public, Vis::Private, Vis::Gated];

pub(crate) fn repo_of(vis: Vis) -> &'static str {
    match vis {
        Vis::Public => "acme/pub",
        Vis::Private => "acme/priv",
        Vis::Gated => "acme/gated",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Info,
    Tree,
    PathsInfo,
    Commits,
    Resolve,
    LfsBatch,
    XetToken,
    GitUpload,
    Commit,
    GitReceive,
}

pub(crate) const OPS: [Op; 10] = [
    Op::Info,
    Op::Tree,
    Op::PathsInfo,
    Op::Commits,
    Op::Resolve,
    Op::LfsBatch,
    Op::XetToken,
    Op::GitUpload,
    Op::Commit,
    Op::GitReceive,
];

/// The file every repo holds; its name must not leak from `acme/priv`.
pub(crate) fn file_of(vis: Vis) -> &'static str {
    match vis {
        Vis::Public => "pub-file.txt",
        Vis::Private => "priv-secret-file.txt",
        Vis::Gated => "gated-file.txt",
    }
}

/// Whether the user behind the identity is at least a reader of `acme` (members, server admin).
pub(crate) fn member(who: Who) -> bool {
    matches!(
        who,
        Who::Reader
            | Who::Writer
            | Who::OrgAdmin
            | Who::ServerAdmin
            | Who::WriterReadToken
            | Who::Contributor
    )
}

/// Whether the identity may see the repo exists (`can_see`).
pub(crate) fn sees(who: Who, vis: Vis) -> bool {
    match vis {
        Vis::Public | Vis::Gated => true,
        // The scoped token covers `acme/pub` only, so it does not reach the private repo.
        Vis::Private => member(who),
    }
}

/// The status a hidden repo answers with: 401 to anonymous callers, 404 to everyone else.
pub(crate) fn hidden(who: Who) -> u16 {
    if who == Who::Anonymous { 401 } else { 404 }
}

/// The expected status of one cell, from the rules in `kura_core::auth`.
pub(crate) fn expected(who: Who, vis: Vis, op: Op) -> u16 {
    if matches!(who, Who::Revoked | Who::Expired) {
        return 401; // an invalid token is refused before anything else
    }
    if !sees(who, vis) {
        return hidden(who);
    }
    match op {
        Op::Info | Op::Tree | Op::PathsInfo | Op::Commits => 200,
        Op::Resolve | Op::LfsBatch | Op::XetToken | Op::GitUpload => match (vis, who) {
            // Gated files: members pass, others need an accepted request. A token not scoped
            // to the repo is gated as anonymous (no grants of its user), but its caller is
            // authenticated, so the refusal is a 403.
            (Vis::Gated, Who::Anonymous) => 401,
            (Vis::Gated, Who::Outsider | Who::Scoped) => 403,
            _ => 200,
        },
        // Writers push branches; everyone else who may contribute (a token that writes)
        // pushes to their pull requests, checked per ref.
        Op::GitReceive => match (vis, who) {
            (_, Who::Anonymous) => 401,
            (_, Who::WriterReadToken | Who::Scoped) => 403,
            // git serves files: a gated repo's outsiders are refused before any ref is read.
            (Vis::Gated, Who::Outsider) => 403,
            _ => 200,
        },
        Op::Commit => match who {
            Who::Anonymous => 401,
            Who::Writer | Who::OrgAdmin | Who::ServerAdmin => 200,
            // Read role in the org, no membership, a read token, a read-only scope, a
            // contributor on repos she did not create.
            Who::Reader | Who::Outsider | Who::WriterReadToken | Who::Scoped | Who::Contributor => 403,
            Who::Revoked | Who::Expired => unreachable!(),
        },
    }
}

#[tokio::test]
async fn every_identity_visibility_and_operation_gets_the_status_the_rules_say() {
    let fixture = setup().await;
    let first_priv_sha = fixture.server.head_sha(&fixture.server.alice, "acme/priv").await;
    let mut mismatches = Vec::new();
    // Bodies of refused requests on the private repo, checked for leaks at the end.
    let mut refused_bodies = Vec::new();
    let mut cells = 0;
    for (n, who) in WHO.into_iter().enumerate() {
        for vis in VIS {
            for op in OPS {
                let want = expected(who, vis, op);
                let (got, body) = fixture.run(who, Kind::Model, vis, op, n).await;
                cells += 1;
                if got != want {
                    mismatches.push(format!("{who:?} × {vis:?} × {op:?}: expected {want}, got {got}"));
                }
                if vis == Vis::Private && !sees(who, vis) {
                    refused_bodies.push((who, op, got, body));
                }
            }
        }
    }
    assert_eq!(cells, 330);

    // Listing: private repos only for those who may see them; invalid tokens are refused.
    for who in WHO {
        let response =
            fixture.authed(fixture.server.get("/api/models?author=acme"), who).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if matches!(who, Who::Revoked | Who::Expired) {
            if status != 401 {
                mismatches.push(format!("{who:?} × listing: expected 401, got {status}"));
            }
            refused_bodies.push((who, Op::Info, status, body));
            continue;
        }
        if status != 200 {
            mismatches.push(format!("{who:?} × listing: expected 200, got {status}"));
            continue;
        }
        let items: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
        let mut ids: Vec<String> = items.iter().filter_map(|i| i["id"].as_str().map(str::to_owned)).collect();
        ids.sort();
        let mut want: Vec<String> =
            VIS.into_iter().filter(|v| sees(who, *v)).map(|v| repo_of(v).to_owned()).collect();
        want.sort();
        if ids != want {
            mismatches.push(format!("{who:?} × listing: expected {want:?}, got {ids:?}"));
        }
        if !sees(who, Vis::Private) {
            refused_bodies.push((who, Op::Info, status, body));
        }
    }

    // No leak of the private repo: neither its file name nor any of its commit ids.
    let last_priv_sha = fixture.server.head_sha(&fixture.server.alice, "acme/priv").await;
    let secrets = [file_of(Vis::Private), first_priv_sha.as_str(), last_priv_sha.as_str(), "w2.txt"];
    for (who, op, status, body) in &refused_bodies {
        for secret in secrets {
            if body.contains(secret) {
                mismatches.push(format!("{who:?} × Private × {op:?} ({status}): body leaks {secret:?}"));
            }
        }
    }
    assert!(refused_bodies.len() >= 40, "{}", refused_bodies.len());
    assert!(mismatches.is_empty(), "{} wrong cells:\n{}", mismatches.len(), mismatches.join("\n"));
}
