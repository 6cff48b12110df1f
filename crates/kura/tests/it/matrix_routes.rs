//! The access matrix on the `/datasets/...` and `/spaces/...` prefixes (every read and write
//! operation of `matrix.rs` on a dataset and a space of each visibility) and on the listings
//! with and without `search`: private repos appear only to those who may see them, and no
//! refused answer or listing names anything of them. Also the routes that name no repo
//! (whoami, create, audit log, tokens, signed URLs), discussions and the git POST routes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::matrix::*;
use crate::matrix_fixture::*;

#[tokio::test]
async fn datasets_and_spaces_get_the_same_statuses_as_models() {
    let fixture = setup().await;
    let mut secrets = vec![file_of(Vis::Private).to_owned(), "w2.txt".to_owned()];
    for kind in [Kind::Dataset, Kind::Space] {
        secrets.extend(fixture.private_commits(kind).await);
    }
    let mut cells = Cells::default();
    for kind in [Kind::Dataset, Kind::Space] {
        for (n, who) in WHO.into_iter().enumerate() {
            for vis in VIS {
                for op in OPS {
                    let (got, body) = fixture.run(who, kind, vis, op, n).await;
                    let cell = format!("{who:?} × {kind:?} × {vis:?} × {op:?}");
                    let guard = vis == Vis::Private && !sees(who, vis);
                    cells.check(cell, expected(who, vis, op), got, body, guard);
                }
            }
        }
    }
    assert_eq!(cells.count, 2 * WHO.len() * VIS.len() * OPS.len());
    assert!(cells.guarded.len() >= 2 * 5 * OPS.len(), "{}", cells.guarded.len());
    for kind in [Kind::Dataset, Kind::Space] {
        secrets.extend(fixture.private_commits(kind).await);
    }
    cells.finish(&secrets);
}

/// The listings a caller may ask for, per type: no filter, `search` on part of the private
/// repo's name, and `full` (which adds `sha` and file names).
fn listings(kind: Kind) -> [(String, Vec<Vis>); 4] {
    let all = VIS.to_vec();
    [
        (format!("/api/{}", kind.plural()), all.clone()),
        (format!("/api/{}?search=riv", kind.plural()), vec![Vis::Private]),
        (format!("/api/{}?search=acme%2Fp", kind.plural()), vec![Vis::Public, Vis::Private]),
        (format!("/api/{}?full=true&search=acme", kind.plural()), all),
    ]
}

#[tokio::test]
async fn listings_and_search_show_private_repos_only_to_those_who_may_see_them() {
    let fixture = setup().await;
    let mut secrets = vec![file_of(Vis::Private).to_owned()];
    for kind in KINDS {
        secrets.extend(fixture.private_commits(kind).await);
    }
    let mut cells = Cells::default();
    for kind in KINDS {
        for (path, matching) in listings(kind) {
            for who in WHO {
                let (status, body) = fixture.send(fixture.server.get(&path), who).await;
                let cell = format!("{who:?} × GET {path}");
                let invalid = matches!(who, Who::Revoked | Who::Expired);
                let guard = invalid || !sees(who, Vis::Private);
                let want = if invalid { 401 } else { 200 };
                if status == 200 && !invalid {
                    let items: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
                    let mut ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
                    ids.sort();
                    let mut wanted: Vec<&str> =
                        matching.iter().filter(|v| sees(who, **v)).map(|v| repo_of(*v)).collect();
                    wanted.sort();
                    if ids != wanted {
                        cells.mismatches.push(format!("{cell}: expected {wanted:?}, got {ids:?}"));
                    }
                }
                cells.check(cell, want, status, body, guard);
            }
        }
    }
    assert_eq!(cells.count, KINDS.len() * 4 * WHO.len());
    // A listing a non-member sees must not even name the private repo.
    let mut named = secrets.clone();
    named.push(format!("\"{}\"", repo_of(Vis::Private)));
    cells.finish(&named);
}

/// Routes that name no repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Account {
    WhoAmI,
    /// Creates `acme/new-{n}`.
    CreateRepo,
    AuditLog,
    ListTokens,
    ValidateYaml,
    Health,
    Metrics,
    /// A forged signed LFS transfer URL.
    LfsTransfer,
    /// A forged signed xorb fetch URL.
    CasFetch,
}

const ACCOUNT: [Account; 9] = [
    Account::WhoAmI,
    Account::CreateRepo,
    Account::AuditLog,
    Account::ListTokens,
    Account::ValidateYaml,
    Account::Health,
    Account::Metrics,
    Account::LfsTransfer,
    Account::CasFetch,
];

/// Health and signed URLs ignore the caller (a stray header must not break them; forged
/// URLs are 403); everything else refuses an invalid token with 401. Creating a repo needs a
/// write token whose user may create in `acme` (writers, admins, contributors); the audit
/// log and metrics are for server admins; fine-grained tokens cannot manage tokens at all.
fn account_expected(who: Who, route: Account) -> u16 {
    match route {
        Account::Health => return 200,
        Account::LfsTransfer | Account::CasFetch => return 403,
        _ if matches!(who, Who::Revoked | Who::Expired) => return 401,
        Account::ValidateYaml => return 200,
        _ if who == Who::Anonymous => return 401,
        _ => {}
    }
    match (route, who) {
        (Account::CreateRepo, Who::Writer | Who::OrgAdmin | Who::ServerAdmin | Who::Contributor) => 200,
        (Account::CreateRepo, _) => 403,
        (Account::AuditLog | Account::Metrics, Who::ServerAdmin) => 200,
        (Account::AuditLog | Account::Metrics, _) => 403,
        (Account::ListTokens, Who::Scoped) => 403,
        _ => 200,
    }
}

impl Fixture {
    async fn account(&self, who: Who, route: Account, n: usize) -> (u16, String) {
        let s = &self.server;
        let request = match route {
            Account::WhoAmI => s.get("/api/whoami-v2"),
            Account::CreateRepo => {
                s.post("/api/repos/create").json(&json!({"name": format!("new-{n}"), "organization": "acme"}))
            }
            Account::AuditLog => s.get("/api/admin/audit-log"),
            Account::ListTokens => s.get("/api/settings/tokens"),
            Account::ValidateYaml => {
                s.post("/api/validate-yaml").json(&json!({"content": "---\na: 1\n---\n"}))
            }
            Account::Health => s.get("/health"),
            Account::Metrics => s.get("/metrics"),
            Account::LfsTransfer => self.request(Method::PUT, "/_kura/lfs/Zm9v.forged").body("x"),
            Account::CasFetch => s.get("/cas/fetch/Zm9v.forged"),
        };
        self.send(request, who).await
    }

    /// Discussions, and the POST halves of git fetch and push, on a model of `vis`.
    async fn repo_post(&self, who: Who, vis: Vis, route: &str) -> (u16, String) {
        let repo = repo_of(vis);
        let request = match route {
            "discussions" => self.authed(self.server.get(&format!("/api/models/{repo}/discussions")), who),
            service => {
                // ls-refs for fetch (protocol v2); an empty command list for push.
                let body = if service == "git-upload-pack" { "0014command=ls-refs\n0000" } else { "0000" };
                let builder = self
                    .server
                    .post(&format!("/{repo}.git/{service}"))
                    .header("git-protocol", "version=2")
                    .header("content-type", format!("application/x-{service}-request"))
                    .body(body);
                match self.token(who) {
                    Some(token) => builder.basic_auth("user", Some(token)),
                    None => builder,
                }
            }
        };
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }
}

#[tokio::test]
async fn account_routes_discussions_and_git_posts_per_identity() {
    let fixture = setup().await;
    let mut secrets = vec![file_of(Vis::Private).to_owned()];
    secrets.extend(fixture.private_commits(Kind::Model).await);
    let mut cells = Cells::default();
    for (n, who) in WHO.into_iter().enumerate() {
        for route in ACCOUNT {
            let (got, body) = fixture.account(who, route, n).await;
            cells.check(format!("{who:?} × {route:?}"), account_expected(who, route), got, body, false);
        }
        for vis in VIS {
            let guard = vis == Vis::Private && !sees(who, vis);
            let invalid = matches!(who, Who::Revoked | Who::Expired);
            let discussions = match () {
                _ if invalid => 401,
                _ if !sees(who, vis) => hidden(who),
                _ => 200,
            };
            for (route, want) in [
                ("discussions", discussions),
                ("git-upload-pack", expected(who, vis, Op::GitUpload)),
                ("git-receive-pack", expected(who, vis, Op::GitReceive)),
            ] {
                let (got, body) = fixture.repo_post(who, vis, route).await;
                cells.check(format!("{who:?} × {vis:?} × POST {route}"), want, got, body, guard);
            }
        }
    }
    assert_eq!(cells.count, WHO.len() * (ACCOUNT.len() + 3 * VIS.len()));
    cells.finish(&secrets);
}
