//! The collection pages' forms with what a browser test cannot set up: an org collection
//! holding a private repo one of the org's writers may not see. Moving an item passes over
//! such an item (the core counts ranks among every item, the page shows only some), at
//! either end nothing moves, and the writer's page never names the hidden item. Pages take
//! bearer tokens as the API does (no session, so no CSRF field).

use kura_core::OrgRole;
use kura_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{FormExt, TestServer, header};
use crate::web_pages::no_redirects;

/// The items' ids as `token` gets them from the API, in order.
async fn order(server: &TestServer, token: &str, slug: &str) -> Vec<String> {
    let body: Value = server.get_json(token, &format!("/api/collections/{slug}")).await;
    body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn moving_an_item_passes_over_items_the_writer_may_not_see() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.accounts().create_user("wendy", false).await.unwrap();
    admin.accounts().set_org_member("acme", "wendy", OrgRole::Write).await.unwrap();
    let wendy = admin.accounts().create_token("wendy", "t", Role::Write).await.unwrap();
    for (repo, private) in [("alice/mine", true), ("alice/a", false), ("alice/b", false)] {
        assert_eq!(server.create_repo(&server.alice, repo, private).await.status(), 200, "{repo}");
    }
    let created: Value = server
        .post("/api/collections")
        .bearer_auth(&server.alice)
        .json(&json!({"title": "Team picks", "namespace": "acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slug = created["slug"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for repo in ["alice/mine", "alice/a", "alice/b"] {
        let added: Value = server
            .post(&format!("/api/collections/{slug}/items"))
            .bearer_auth(&server.alice)
            .json(&json!({"item": {"type": "model", "id": repo}, "note": format!("about {repo}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(added["items"].as_array().unwrap().last().unwrap()["_id"].as_str().unwrap().to_owned());
    }
    let page = format!("/collections/{slug}");
    let client = no_redirects();
    let move_item = |item: &str, direction: &str| {
        client
            .request(Method::POST, format!("{}{page}/move", server.base))
            .bearer_auth(&wendy)
            .form_pairs(&[("item", item), ("direction", direction)])
            .send()
    };

    // Wendy's page shows a and b only, with the forms; the hidden item is nowhere in it.
    let html = client.get(format!("{}{page}", server.base)).bearer_auth(&wendy).send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    assert!(html.contains("alice/a") && html.contains("alice/b"));
    assert!(!html.contains("alice/mine") && !html.contains(&ids[0]), "the hidden item is named");
    assert!(html.contains(&format!("action=\"{page}/move\"")), "a writer gets the forms");

    // a down: past b (rank 2), not to rank 1 where it already is.
    let moved = move_item(&ids[1], "down").await.unwrap();
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&moved, "location"), Some(format!("{page}#item-{}", ids[1]).as_str()));
    assert_eq!(order(&server, &server.alice, &slug).await, ["alice/mine", "alice/b", "alice/a"]);
    assert_eq!(order(&server, &wendy, &slug).await, ["alice/b", "alice/a"]);
    // At either end of what wendy sees, nothing moves (not over the hidden first item).
    for (item, direction) in [(&ids[2], "up"), (&ids[1], "down")] {
        assert_eq!(move_item(item, direction).await.unwrap().status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(order(&server, &server.alice, &slug).await, ["alice/mine", "alice/b", "alice/a"]);
    // An item of another collection, a bad direction: refused on the page.
    let other = move_item("0123456789abcdef01234567", "up").await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert_eq!(move_item(&ids[1], "sideways").await.unwrap().status(), StatusCode::BAD_REQUEST);
    // Bob may see the public collection but not manage it: no forms, and the core refuses.
    let html = client.get(format!("{}{page}", server.base)).bearer_auth(&server.bob).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("alice/b") && !html.contains("/move\""), "a reader got the forms");
    let refused = client
        .post(format!("{}{page}/remove", server.base))
        .bearer_auth(&server.bob)
        .form_pairs(&[("item", &ids[1])])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(order(&server, &server.alice, &slug).await.len(), 3);
}
