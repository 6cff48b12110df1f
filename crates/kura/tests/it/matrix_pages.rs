//! The access matrix of the web pages: every identity × visibility × page, through the same
//! fixture as the API's matrix (tokens as bearer credentials, which pages accept too), and no
//! page of a private repo naming anything of it to those who may not see it.

use crate::matrix::{VIS, Vis, WHO, Who, file_of, member, repo_of, sees};
use crate::matrix_fixture::{Cells, Kind, setup};
use crate::web_pages::no_redirects;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageOp {
    Repo,
    Tree,
    Blob,
    Commits,
    Commit,
    Settings,
    Upload,
    Discussions,
    Discussion,
    NewDiscussion,
}

const PAGES: [PageOp; 10] = [
    PageOp::Repo,
    PageOp::Tree,
    PageOp::Blob,
    PageOp::Commits,
    PageOp::Commit,
    PageOp::Settings,
    PageOp::Upload,
    PageOp::Discussions,
    PageOp::Discussion,
    PageOp::NewDiscussion,
];

/// The expected status of one page cell, from the rules in `kura_core::auth`.
fn expected(who: Who, vis: Vis, op: PageOp) -> u16 {
    if matches!(who, Who::Revoked | Who::Expired) {
        return 401;
    }
    let writes = matches!(op, PageOp::Settings | PageOp::Upload | PageOp::NewDiscussion);
    if writes && who == Who::Anonymous {
        return 303; // to the login page, before anything about the repo is looked at
    }
    if !sees(who, vis) {
        return 404; // anonymous callers too: a page never tells that a private repo exists
    }
    match op {
        // Discussions are read by whoever sees the repo, gated or not; the new-discussion form
        // by anyone signed in who sees it (posting checks the token).
        PageOp::Repo | PageOp::Tree | PageOp::Commits | PageOp::Commit => 200,
        PageOp::Discussions | PageOp::Discussion | PageOp::NewDiscussion => 200,
        PageOp::Blob => match (vis, who) {
            (Vis::Gated, Who::Anonymous | Who::Outsider | Who::Scoped) => 403,
            _ => 200,
        },
        PageOp::Settings | PageOp::Upload => match who {
            Who::Writer | Who::OrgAdmin | Who::ServerAdmin => 200,
            _ => 403,
        },
    }
}

#[tokio::test]
async fn every_identity_visibility_and_page_gets_the_status_the_rules_say() {
    let fixture = setup().await;
    let client = no_redirects();
    let mut heads = Vec::new();
    for vis in VIS {
        heads.push(fixture.server.head_sha(&fixture.server.alice, repo_of(vis)).await);
        let opened = fixture
            .server
            .post(&format!("/api/models/{}/discussions", repo_of(vis)))
            .bearer_auth(&fixture.server.alice)
            .json(&serde_json::json!({"title": "A thread", "description": "about the weights"}))
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), 200);
    }
    let mut cells = Cells::default();
    for who in WHO {
        for (v, vis) in VIS.into_iter().enumerate() {
            for op in PAGES {
                let base = format!("/{}{}", Kind::Model.prefix(), repo_of(vis));
                let path = match op {
                    PageOp::Repo => base.clone(),
                    PageOp::Tree => format!("{base}/tree/main"),
                    PageOp::Blob => format!("{base}/blob/main/{}", file_of(vis)),
                    PageOp::Commits => format!("{base}/commits/main"),
                    PageOp::Commit => format!("{base}/commit/{}", heads[v]),
                    PageOp::Settings => format!("{base}/settings"),
                    PageOp::Upload => format!("{base}/upload/main"),
                    PageOp::Discussions => format!("{base}/discussions"),
                    PageOp::Discussion => format!("{base}/discussions/1"),
                    PageOp::NewDiscussion => format!("{base}/discussions/new"),
                };
                let request = client.get(format!("{}{path}", fixture.server.base));
                let (got, body) = fixture.send(request, who).await;
                let guard = vis == Vis::Private && !sees(who, vis);
                cells.check(format!("{who:?} × {vis:?} × {op:?}"), expected(who, vis, op), got, body, guard);
            }
        }
    }
    assert_eq!(cells.count, WHO.len() * VIS.len() * PAGES.len());
    assert!(cells.guarded.len() >= 30, "{}", cells.guarded.len());
    assert!(WHO.iter().any(|w| member(*w)));
    let mut secrets = vec![file_of(Vis::Private).to_owned(), "acme/priv".to_owned()];
    secrets.push(heads[1].clone());
    cells.finish(&secrets);
}
