//! The access matrix on the `/datasets/...` and `/spaces/...` prefixes (every read and write
//! operation of `matrix.rs` on a dataset and a space of each visibility) and on the listings
//! with and without `search`: private repos appear only to those who may see them, and no
//! refused answer or listing names anything of them.

use serde_json::Value;

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
