//! History pages through `Link`: the cursor names where the walk resumes, so every commit of
//! a history with merges (most of them within the same second) appears once, in the order of
//! the walk from the head; older offset cursors still answer; a forged cursor is a 400.

use serde_json::{Value, json};

use crate::support::{TestServer, file_line};

const REPO: &str = "alice/history";

async fn commit(server: &TestServer, revision: &str, path: &str) {
    let response =
        server.commit(&server.alice, REPO, revision, &[file_line(path, path.as_bytes())], None).await;
    assert_eq!(response.status(), 200, "{path}");
}

/// Ids of one page and its next link, if any.
async fn page(server: &TestServer, url: &str) -> (Vec<String>, Option<String>) {
    let response = server.client.get(url).bearer_auth(&server.alice).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let next = response.headers().get("link").map(|link| {
        let link = link.to_str().unwrap();
        link[link.find('<').unwrap() + 1..link.find('>').unwrap()].to_owned()
    });
    let items: Vec<Value> = response.json().await.unwrap();
    (items.iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect(), next)
}

#[tokio::test]
async fn every_commit_of_a_history_with_merges_appears_once_in_order() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, REPO, false).await.status(), 200);
    // Pull requests merged after main moved on: each merge joins two lines of history (few:
    // posts to discussions are rate-limited).
    for num in 1..=8 {
        let opened = server
            .post(&format!("/api/models/{REPO}/discussions"))
            .bearer_auth(&server.alice)
            .json(&json!({"title": format!("pr {num}"), "description": "", "pullRequest": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), 200);
        for step in 0..2 {
            commit(&server, &format!("refs%2Fpr%2F{num}"), &format!("pr{num}/{step}.txt")).await;
        }
        for step in 0..25 {
            commit(&server, "main", &format!("main{num}/{step}.txt")).await;
        }
        let merged = server
            .post(&format!("/api/models/{REPO}/discussions/{num}/merge"))
            .bearer_auth(&server.alice)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(merged.status(), 200, "merge {num}");
    }
    let head = kura_model::ObjectId::from_hex(&server.head_sha(&server.alice, REPO).await).unwrap();
    let hub = server.admin().await;
    let (walk, more) = hub.repos().history(head, 0, 10_000).await.unwrap();
    assert!(!more);
    let merges = walk.iter().filter(|(_, commit)| commit.parents.len() == 2).count();
    assert!(merges >= 8, "{merges} merges");
    let expected: Vec<String> = walk.iter().map(|(oid, _)| oid.to_hex()).collect();

    // Small pages put boundaries everywhere, also between the two lines of a merge.
    let alice = hub.accounts().authenticate(Some(&server.alice)).await.unwrap();
    let repo_id = kura_model::RepoId::parse(REPO).unwrap();
    let record = hub.repos().find_repo(&alice, kura_model::RepoType::Model, &repo_id).await.unwrap();
    let mut keyed_with_several_pending = 0;
    for limit in 1..=13 {
        let (mut ids, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let page = hub.repos().history_page(&record, head, cursor.as_deref(), limit).await.unwrap();
            ids.extend(page.commits.iter().map(|(oid, _)| oid.to_hex()));
            // `offset.ids.signature`: 1 count byte and 20 per id, in base64url.
            if page.next.as_deref().is_some_and(|next| next.split('.').nth(1).unwrap().len() > 60) {
                keyed_with_several_pending += 1;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(ids, expected, "pages of {limit}");
    }
    assert!(keyed_with_several_pending > 0, "some cursors name several commits");

    let mut seen = Vec::new();
    let mut links = Vec::new();
    let mut url = Some(format!("{}/api/models/{REPO}/commits/main", server.base));
    while let Some(current) = url {
        let (ids, next) = page(&server, &current).await;
        assert!(ids.len() == 100 || next.is_none(), "only the last page is short");
        seen.extend(ids);
        links.extend(next.clone());
        url = next;
    }
    assert_eq!(seen, expected, "every commit once, in the order of the walk");
    assert_eq!(links.len(), expected.len().div_ceil(100) - 1);
    assert!(links.iter().all(|link| link.contains("cursor=") && link.contains("%2E")), "{links:?}");

    // An offset (what older links held) still answers the same page.
    let (by_offset, _) =
        page(&server, &format!("{}/api/models/{REPO}/commits/main?cursor=100", server.base)).await;
    assert_eq!(by_offset, expected[100..200]);
    // A cursor that is not one kura wrote is refused.
    let forged = links[0].replacen("cursor=", "cursor=1", 1);
    for cursor in [forged.as_str(), &format!("{}/api/models/{REPO}/commits/main?cursor=abc", server.base)] {
        let response = server.client.get(cursor).bearer_auth(&server.alice).send().await.unwrap();
        assert_eq!(response.status(), 400, "{cursor}");
    }
}
