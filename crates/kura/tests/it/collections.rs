//! Collections over HTTP: who may see and change them (org roles, read and fine-grained
//! tokens), what a caller is shown of items and listings, paging, the post rate and the body
//! bound. The official client's view of the same calls is `compat/test_collections.py`.

use kura_core::{Authority, OrgRole, TokenSpec};
use kura_model::{Role, TokenScope};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

struct Api<'a> {
    server: &'a TestServer,
}

impl Api<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.server.client.request(method, format!("{}{path}", self.server.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, token: &str, namespace: &str, title: &str, private: bool) -> (u16, Value) {
        let body = json!({"title": title, "namespace": namespace, "private": private});
        self.send(Method::POST, "/api/collections", Some(token), Some(body)).await
    }

    /// The slug of a new collection.
    async fn created(&self, token: &str, namespace: &str, title: &str, private: bool) -> String {
        let (status, body) = self.create(token, namespace, title, private).await;
        assert_eq!(status, 200, "{body}");
        body["slug"].as_str().unwrap().to_owned()
    }

    async fn get(&self, token: Option<&str>, slug: &str) -> (u16, Value) {
        self.send(Method::GET, &format!("/api/collections/{slug}"), token, None).await
    }

    async fn patch(&self, token: &str, slug: &str, body: Value) -> u16 {
        self.send(Method::PATCH, &format!("/api/collections/{slug}"), Some(token), Some(body)).await.0
    }

    async fn add(&self, token: &str, slug: &str, kind: &str, id: &str) -> (u16, Value) {
        let body = json!({"item": {"type": kind, "id": id}});
        self.send(Method::POST, &format!("/api/collections/{slug}/items"), Some(token), Some(body)).await
    }

    async fn list(&self, token: Option<&str>, query: &str) -> Vec<String> {
        let (status, body) = self.send(Method::GET, &format!("/api/collections?{query}"), token, None).await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap().to_owned()).collect()
    }
}

async fn member(server: &TestServer, name: &str, role: OrgRole) -> String {
    let admin = server.admin().await;
    admin.accounts().create_user(name, false).await.unwrap();
    admin.accounts().set_org_member("acme", name, role).await.unwrap();
    admin.accounts().create_token(name, "t", Role::Write).await.unwrap()
}

async fn scoped(server: &TestServer, scope: &str) -> String {
    let scopes = vec![TokenScope::parse(scope).unwrap()];
    let spec = TokenSpec { name: "f".into(), role: Role::FineGrained, expires_at: None, scopes };
    server.admin().await.accounts().issue_token(Authority::Operator, "alice", spec).await.unwrap().secret
}

#[tokio::test]
async fn org_roles_and_token_scopes_decide_who_sees_and_manages_a_collection() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    let team = api.created(&server.alice, "acme", "Team picks", true).await;
    let (erin, rita, wendy) = (
        member(&server, "erin", OrgRole::Contributor).await,
        member(&server, "rita", OrgRole::Read).await,
        member(&server, "wendy", OrgRole::Write).await,
    );
    let rename = |title: &str| json!({"title": title});
    // Members see the org's private collection; only writers and admins change it.
    for (who, token) in [("contributor", &erin), ("reader", &rita)] {
        assert_eq!(api.get(Some(token), &team).await.0, 200, "{who}");
        assert_eq!(api.patch(token, &team, rename("Mine")).await, 403, "{who}");
        assert_eq!(api.create(token, "acme", "Theirs", false).await.0, 403, "{who}");
    }
    assert_eq!(api.patch(&wendy, &team, rename("Wendy's")).await, 200);
    // Outsiders and anonymous callers: hidden, also from writes.
    assert_eq!(api.get(Some(&server.bob), &team).await.0, 404);
    assert_eq!(api.get(None, &team).await.0, 404);
    assert_eq!(api.patch(&server.bob, &team, rename("Bob's")).await, 404);
    assert_eq!(api.send(Method::DELETE, &format!("/api/collections/{team}"), None, None).await.0, 401);
    // Tokens: a read token reads; a fine-grained one acts where its scopes say.
    assert_eq!(api.get(Some(&server.alice_read), &team).await.0, 200);
    assert_eq!(api.patch(&server.alice_read, &team, rename("Read")).await, 403);
    let org_writer = scoped(&server, "acme=repo.write").await;
    assert_eq!(api.patch(&org_writer, &team, rename("Scoped")).await, 200);
    assert_eq!(api.create(&org_writer, "alice", "Outside the scope", false).await.0, 403);
    let org_reader = scoped(&server, "acme=repo.content.read").await;
    assert_eq!(api.get(Some(&org_reader), &team).await.0, 200);
    assert_eq!(api.patch(&org_reader, &team, rename("No")).await, 403);
    let one_repo = scoped(&server, "model:alice/m=repo.write").await;
    assert_eq!(api.get(Some(&one_repo), &team).await.0, 404, "a repo scope reaches no collection");
    assert_eq!(api.create(&one_repo, "alice", "Repo scope", false).await.0, 403);
    let (_, body) = api.get(Some(&server.alice), &team).await;
    assert_eq!((body["title"].as_str(), body["owner"]["type"].as_str()), (Some("Scoped"), Some("org")));
}

#[tokio::test]
async fn callers_are_shown_only_the_items_and_collections_they_may_see() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    assert_eq!(server.create_repo(&server.alice, "alice/secret", true).await.status(), 200);
    assert_eq!(server.create_repo(&server.alice, "alice/open", false).await.status(), 200);
    let hidden = api.created(&server.alice, "alice", "Hidden", true).await;
    let shelf = api.created(&server.alice, "alice", "Shelf", false).await;
    for (kind, id) in [("model", "alice/secret"), ("collection", hidden.as_str()), ("model", "alice/open")] {
        assert_eq!(api.add(&server.alice, &shelf, kind, id).await.0, 200, "{id}");
    }
    let ids = |body: &Value| -> Vec<(String, u64)> {
        let items = body["items"].as_array().unwrap();
        items
            .iter()
            .map(|i| (i["id"].as_str().unwrap().to_owned(), i["position"].as_u64().unwrap()))
            .collect()
    };
    let (_, mine) = api.get(Some(&server.alice), &shelf).await;
    assert_eq!(ids(&mine).len(), 3);
    assert_eq!(mine["items"][1]["slug"].as_str(), Some(hidden.as_str()));
    for token in [None, Some(server.bob.as_str())] {
        let (_, seen) = api.get(token, &shelf).await;
        assert_eq!(ids(&seen), [("alice/open".to_owned(), 0)], "{token:?}");
        assert_eq!(api.list(token, &format!("item=collections/{hidden}")).await, Vec::<String>::new());
        assert_eq!(api.list(token, "item=models/alice/secret").await, Vec::<String>::new());
        assert_eq!(api.list(token, "owner=alice").await, std::slice::from_ref(&shelf));
        let listed = api.send(Method::GET, "/api/collections?owner=alice", token, None).await.1;
        assert_eq!(listed[0]["items"].as_array().unwrap().len(), 1, "previews hide them too");
        assert!(listed[0].get("position").is_none(), "a listing leaves position to the client");
    }
    assert_eq!(
        api.list(Some(&server.alice), &format!("item=collections/{hidden}")).await,
        std::slice::from_ref(&shelf)
    );
    assert_eq!(api.list(Some(&server.alice), "owner=ALICE").await, [shelf.clone(), hidden.clone()]);
    // Someone else's private repo or collection cannot be added by name.
    let bobs = api.created(&server.bob, "bob", "Bob's", false).await;
    assert_eq!(api.add(&server.bob, &bobs, "model", "alice/secret").await.0, 404);
    assert_eq!(api.add(&server.bob, &bobs, "collection", &hidden).await.0, 404);
    assert_eq!(api.add(&server.bob, &bobs, "collection", &shelf).await.0, 200);
}

#[tokio::test]
async fn listings_page_with_links_and_refuse_unbounded_requests() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    for n in 0..3 {
        api.created(&server.bob, "bob", &format!("Page {n}"), false).await;
    }
    let first = server.get("/api/collections?owner=bob&limit=2").send().await.unwrap();
    let link = header(&first, "link").unwrap().to_owned();
    assert!(link.contains("cursor=2") && link.contains("owner=bob"), "{link}");
    let next = &link[1..link.find('>').unwrap()];
    let rest = server.client.get(next).send().await.unwrap();
    assert!(header(&rest, "link").is_none());
    assert_eq!(rest.json::<Vec<Value>>().await.unwrap().len(), 1);
    for query in ["sort=bogus", "limit=x", "cursor=20000", "item=nothing"] {
        let (status, _) = api.send(Method::GET, &format!("/api/collections?{query}"), None, None).await;
        assert_eq!(status, 400, "{query}");
    }
    let many = (0..60).map(|n| format!("owner=u{n}")).collect::<Vec<_>>().join("&");
    assert_eq!(api.send(Method::GET, &format!("/api/collections?{many}"), None, None).await.0, 400);
}

#[tokio::test]
async fn changes_are_posts_and_bodies_are_bounded() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    let slug = api.created(&server.bob, "bob", "Busy", false).await;
    let mut statuses = Vec::new();
    for n in 0..100 {
        statuses.push(api.patch(&server.bob, &slug, json!({"description": format!("take {n}")})).await);
    }
    assert!(statuses[..50].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "the per-user post rate: {statuses:?}");
    server.advance_clock(std::time::Duration::from_secs(60));
    assert_eq!(api.patch(&server.bob, &slug, json!({"theme": "blue"})).await, 200);

    let big = json!({"title": "x", "namespace": "bob", "description": "d".repeat(100 << 10)});
    assert_eq!(api.send(Method::POST, "/api/collections", Some(&server.bob), Some(big)).await.0, 413);
    let nul = json!({"title": "a\u{0}b", "namespace": "bob"});
    assert_eq!(api.send(Method::POST, "/api/collections", Some(&server.bob), Some(nul)).await.0, 400);
    let note = json!({"item": {"type": "collection", "id": slug}, "note": "x\u{0}"});
    let path = format!("/api/collections/{slug}/items");
    assert_eq!(api.send(Method::POST, &path, Some(&server.bob), Some(note)).await.0, 400);
    let group =
        json!({"title": "Grouped", "namespace": "bob", "resourceGroupId": "0123456789abcdef01234567"});
    assert_eq!(api.send(Method::POST, "/api/collections", Some(&server.bob), Some(group)).await.0, 400);
    let (status, body) = api.create(&server.bob, "bob", "Busy", false).await;
    assert_eq!((status, body["slug"].as_str()), (409, Some(slug.as_str())), "a taken title names its slug");
}
