//! The web UI's forms (issue 15): signing in with the page login, then creating a repo,
//! uploading files, managing tokens and changing settings with plain form posts (the session
//! cookie plus the `csrf` field read from the page, as a browser without JavaScript sends
//! them), and the refusals: no CSRF field, another user, a foreign origin, bad uploads.

use reqwest::{Client, Response, StatusCode, redirect};
use serde_json::{Value, json};

use crate::support::{TestServer, header, sha256_hex};

const PASSWORD: &str = "correct horse battery";

/// One signed-in browser: a client that does not follow redirects, its cookie and CSRF token.
struct Browser<'s> {
    server: &'s TestServer,
    client: Client,
    cookie: String,
    csrf: String,
}

/// A server where alice and bob have passwords.
async fn server() -> TestServer {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.accounts().set_password("alice", PASSWORD).await.unwrap();
    admin.accounts().set_password("bob", PASSWORD).await.unwrap();
    server
}

/// An url-encoded form body (the test client has no `form` helper).
fn encoded(fields: &[(&str, &str)]) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields.iter().map(|(k, v)| format!("{}={}", escape(k), escape(v))).collect::<Vec<_>>().join("&")
}

trait FormExt {
    fn form_fields(self, fields: &[(&str, &str)]) -> Self;
}

impl FormExt for reqwest::RequestBuilder {
    fn form_fields(self, fields: &[(&str, &str)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded").body(encoded(fields))
    }
}

fn no_redirects() -> Client {
    Client::builder().redirect(redirect::Policy::none()).build().unwrap()
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl<'s> Browser<'s> {
    /// Signs in through the login page's form, then reads the CSRF token from a page.
    async fn sign_in(server: &'s TestServer, user: &str) -> Browser<'s> {
        let client = no_redirects();
        let response = client
            .post(format!("{}/login", server.base))
            .form_fields(&[("username", user), ("password", PASSWORD), ("next", "/new")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(header(&response, "location"), Some("/new"));
        let cookie = header(&response, "set-cookie").unwrap().split(';').next().unwrap().to_owned();
        let mut browser = Browser { server, client, cookie, csrf: String::new() };
        let page = browser.get("/new").await;
        assert_eq!(page.status(), StatusCode::OK);
        browser.csrf = csrf_of(&page.text().await.unwrap());
        browser
    }

    async fn get(&self, path: &str) -> Response {
        let url = format!("{}{path}", self.server.base);
        self.client.get(url).header("cookie", &self.cookie).send().await.unwrap()
    }

    /// Posts an url-encoded form with the CSRF field first (unless `csrf` is false).
    async fn post(&self, path: &str, fields: &[(&str, &str)], csrf: bool) -> Response {
        let mut form: Vec<(&str, &str)> = Vec::new();
        if csrf {
            form.push(("csrf", &self.csrf));
        }
        form.extend_from_slice(fields);
        let url = format!("{}{path}", self.server.base);
        self.client.post(url).header("cookie", &self.cookie).form_fields(&form).send().await.unwrap()
    }

    /// Posts a multipart body built by hand (so tests control the order and the file names).
    async fn post_multipart(&self, path: &str, parts: &[Part<'_>]) -> Response {
        let boundary = "kura-test-boundary-7f3a9c";
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match part {
                Part::Text(name, value) => {
                    body.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                    );
                    body.extend_from_slice(value.as_bytes());
                }
                Part::File(name, data) => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
                             Content-Type: application/octet-stream\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(data);
                }
            }
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let url = format!("{}{path}", self.server.base);
        self.client
            .post(url)
            .header("cookie", &self.cookie)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a [u8]),
}

fn location(response: &Response) -> &str {
    header(response, "location").unwrap_or("")
}

async fn api_status(server: &TestServer, token: Option<&str>, path: &str) -> StatusCode {
    let mut request = server.get(path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status()
}

async fn commit_count(server: &TestServer, repo: &str) -> usize {
    let commits: Value = server.get_json(&server.alice, &format!("/api/models/{repo}/commits/main")).await;
    commits.as_array().unwrap().len()
}

/// Pseudo-random bytes without NUL, so only their size sends them to LFS.
fn bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 255) as u8 + 1
        })
        .collect()
}

#[tokio::test]
async fn the_new_repo_form_creates_repos_and_explains_refusals() {
    let server = server().await;
    let alice = Browser::sign_in(&server, "alice").await;
    let page = alice.get("/new").await.text().await.unwrap();
    for needle in
        ["name=\"type\"", "name=\"owner\"", "<option value=\"acme\"", "name=\"sdk\"", "Create repository"]
    {
        assert!(page.contains(needle), "{needle} missing from the form");
    }
    let fields = [("type", "model"), ("owner", "alice"), ("name", "demo"), ("visibility", "public")];

    let forged = alice.post("/new", &fields, false).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        api_status(&server, Some(&server.alice), "/api/models/alice/demo").await,
        StatusCode::NOT_FOUND
    );

    let created = alice.post("/new", &fields, true).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&created), "/alice/demo");
    assert_eq!(api_status(&server, None, "/api/models/alice/demo").await, StatusCode::OK);

    let again = alice.post("/new", &fields, true).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let text = again.text().await.unwrap();
    assert!(text.contains("already exists") && text.contains("name=\"name\" value=\"demo\""), "{text}");

    let bad = alice.post("/new", &[("type", "model"), ("owner", "alice"), ("name", "bad name!")], true).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("Create repository"), "the form comes back");

    let space =
        [("type", "space"), ("owner", "acme"), ("name", "app"), ("visibility", "private"), ("sdk", "docker")];
    let created = alice.post("/new", &space, true).await;
    assert_eq!(location(&created), "/spaces/acme/app");
    let info: Value = server.get_json(&server.alice, "/api/spaces/acme/app").await;
    assert_eq!(info["private"], true);
    // The API answers anonymous callers of a private repo 401, as the Hub does.
    assert_eq!(api_status(&server, None, "/api/spaces/acme/app").await, StatusCode::UNAUTHORIZED);

    let bob = Browser::sign_in(&server, "bob").await;
    let foreign = [("type", "model"), ("owner", "acme"), ("name", "x"), ("visibility", "public")];
    assert_eq!(bob.post("/new", &foreign, true).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_status(&server, Some(&server.alice), "/api/models/acme/x").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uploads_commit_small_files_inline_and_large_ones_as_lfs() {
    let server = server().await;
    assert_eq!(server.create_repo(&server.alice, "alice/up", false).await.status(), StatusCode::OK);
    let alice = Browser::sign_in(&server, "alice").await;
    let page = alice.get("/alice/up/upload/main").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("Commit changes"), "{page}");

    let small = b"hello from the browser\n".to_vec();
    let large = bytes(11 << 20);
    let csrf = alice.csrf.clone();
    let parts = [
        Part::Text("csrf", &csrf),
        Part::Text("folder", "data/"),
        Part::File("small.txt", &small),
        Part::File("big.bin", &large),
        Part::Text("summary", ""),
        Part::Text("description", ""),
    ];
    let response = alice.post_multipart("/alice/up/upload/main", &parts).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
    assert_eq!(location(&response), "/alice/up/tree/main/data");

    for (path, data) in [("data/small.txt", &small), ("data/big.bin", &large)] {
        let file = server.get(&format!("/alice/up/resolve/main/{path}")).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        assert!(file.bytes().await.unwrap()[..] == data[..], "{path} is served byte-exact");
    }
    let tree: Value = server.get_json(&server.alice, "/api/models/alice/up/tree/main/data").await;
    let entry = |name: &str| tree.as_array().unwrap().iter().find(|e| e["path"] == name).unwrap().clone();
    assert_eq!(entry("data/big.bin")["lfs"]["oid"], sha256_hex(&large), "kura hashed it: {tree}");
    assert!(entry("data/small.txt").get("lfs").is_none_or(Value::is_null), "small files stay inline");
    let commits: Value = server.get_json(&server.alice, "/api/models/alice/up/commits/main").await;
    assert_eq!(commits[0]["title"], "Upload 2 files");
}

#[tokio::test]
async fn refused_uploads_commit_nothing() {
    let server = server().await;
    assert_eq!(server.create_repo(&server.alice, "alice/up", false).await.status(), StatusCode::OK);
    let before = commit_count(&server, "alice/up").await;
    let alice = Browser::sign_in(&server, "alice").await;
    let csrf = alice.csrf.clone();
    let path = "/alice/up/upload/main";

    let no_csrf = alice.post_multipart(path, &[Part::File("a.txt", b"a")]).await;
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let late_csrf = [Part::File("a.txt", b"a"), Part::Text("csrf", &csrf)];
    assert_eq!(alice.post_multipart(path, &late_csrf).await.status(), StatusCode::FORBIDDEN);

    let escape = [Part::Text("csrf", &csrf), Part::File("../escape.txt", b"x")];
    let refused = alice.post_multipart(path, &escape).await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let escape = [Part::Text("csrf", &csrf), Part::Text("folder", "../up"), Part::File("a.txt", b"x")];
    assert!(alice.post_multipart(path, &escape).await.status().is_client_error());

    let names: Vec<String> = (0..101).map(|i| format!("f{i}.txt")).collect();
    let mut many = vec![Part::Text("csrf", &csrf)];
    many.extend(names.iter().map(|name| Part::File(name, b"x")));
    let refused = alice.post_multipart(path, &many).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let bob = Browser::sign_in(&server, "bob").await;
    let bob_csrf = bob.csrf.clone();
    let foreign = bob.post_multipart(path, &[Part::Text("csrf", &bob_csrf), Part::File("a.txt", b"a")]).await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    assert_eq!(commit_count(&server, "alice/up").await, before, "no upload made a commit");
    assert_eq!(api_status(&server, None, "/alice/up/resolve/main/f0.txt").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_are_shown_once_work_and_stop_working_when_revoked() {
    let server = server().await;
    let alice = Browser::sign_in(&server, "alice").await;
    let page = alice.get("/settings/tokens").await.text().await.unwrap();
    assert!(page.contains("class=\"tokens\""), "{page}");

    let refused = alice.post("/settings/tokens", &[("name", "laptop"), ("role", "write")], false).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let created = alice.post("/settings/tokens", &[("name", "laptop"), ("role", "write")], true).await;
    assert_eq!(created.status(), StatusCode::OK);
    assert!(header(&created, "location").is_none());
    let html = created.text().await.unwrap();
    let start = html.find("<code class=\"new-token\">").unwrap() + "<code class=\"new-token\">".len();
    let token = html[start..start + html[start..].find('<').unwrap()].to_owned();
    assert!(token.starts_with("hf_"), "{token}");
    let whoami: Value = server.get_json(&token, "/api/whoami-v2").await;
    assert_eq!(whoami["name"], "alice");

    let listing = alice.get("/settings/tokens").await.text().await.unwrap();
    assert!(listing.contains("laptop") && !listing.contains(&token), "listed, secret not shown again");
    let marker = "/settings/tokens/";
    let forms: Vec<&str> = listing.match_indices(marker).map(|(i, _)| &listing[i + marker.len()..]).collect();
    let ids: Vec<&str> =
        forms.iter().filter_map(|rest| rest.split_once("/delete").map(|(id, _)| id)).collect();
    assert_eq!(ids.len(), 3, "alice's two test tokens and the new one: {ids:?}");
    let laptop_row = listing.find("laptop").unwrap();
    let id = listing[laptop_row..].split(marker).nth(1).unwrap().split('/').next().unwrap().to_owned();

    let bob = Browser::sign_in(&server, "bob").await;
    let foreign = bob.post(&format!("/settings/tokens/{id}/delete"), &[], true).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND, "bob cannot revoke alice's token");
    let no_csrf = alice.post(&format!("/settings/tokens/{id}/delete"), &[], false).await;
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_status(&server, Some(&token), "/api/whoami-v2").await, StatusCode::OK);

    let revoked = alice.post(&format!("/settings/tokens/{id}/delete"), &[], true).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&revoked), "/settings/tokens");
    assert_eq!(api_status(&server, Some(&token), "/api/whoami-v2").await, StatusCode::UNAUTHORIZED);
    assert!(!alice.get("/settings/tokens").await.text().await.unwrap().contains("laptop"));
}

#[tokio::test]
async fn settings_forms_change_the_repo_for_writers_only() {
    let server = server().await;
    assert_eq!(server.create_repo(&server.alice, "alice/demo", false).await.status(), StatusCode::OK);
    let alice = Browser::sign_in(&server, "alice").await;
    let bob = Browser::sign_in(&server, "bob").await;
    let page = alice.get("/alice/demo/settings").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    for needle in ["Update visibility", "Update gating", "Rename or move", "data-confirm=\"alice/demo\""] {
        assert!(page.contains(needle), "{needle} missing");
    }
    assert_eq!(bob.get("/alice/demo/settings").await.status(), StatusCode::FORBIDDEN);

    // Every settings form is refused without its CSRF field, and changes nothing.
    let refs_before: Value = server.get_json(&server.alice, "/api/models/alice/demo/refs").await;
    for (action, fields) in [
        ("move", vec![("new_id", "alice/elsewhere")]),
        ("delete", vec![("confirm", "alice/demo")]),
        ("branch", vec![("name", "sneaky"), ("revision", "main")]),
        ("tag", vec![("name", "sneaky"), ("revision", "main")]),
        ("delete-branch", vec![("name", "main")]),
        ("access", vec![("user", "bob"), ("status", "accepted")]),
    ] {
        let refused = alice.post(&format!("/alice/demo/settings/{action}"), &fields, false).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(api_status(&server, None, "/api/models/alice/demo").await, StatusCode::OK);
    assert_eq!(
        api_status(&server, Some(&server.alice), "/api/models/alice/elsewhere").await,
        StatusCode::NOT_FOUND
    );
    let refs_after: Value = server.get_json(&server.alice, "/api/models/alice/demo/refs").await;
    assert_eq!(refs_before, refs_after);

    // Visibility: refused without CSRF and for bob; alice's form hides the repo.
    let private = [("visibility", "private")];
    assert_eq!(
        alice.post("/alice/demo/settings/visibility", &private, false).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        bob.post("/alice/demo/settings/visibility", &private, true).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(server.get("/alice/demo").send().await.unwrap().status(), StatusCode::OK, "nothing changed");
    let changed = alice.post("/alice/demo/settings/visibility", &private, true).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&changed), "/alice/demo/settings");
    assert_eq!(server.get("/alice/demo").send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get("/alice/demo/settings").await.status(), StatusCode::NOT_FOUND, "hidden: 404, not 403");
    alice.post("/alice/demo/settings/visibility", &[("visibility", "public")], true).await;

    // Gating, and the access queue.
    assert_eq!(alice.post("/alice/demo/settings/gating", &[("gated", "manual")], false).await.status(), 403);
    let info: Value = server.get_json(&server.alice, "/api/models/alice/demo").await;
    assert_eq!(info["gated"], false);
    assert_eq!(alice.post("/alice/demo/settings/gating", &[("gated", "manual")], true).await.status(), 303);
    let info: Value = server.get_json(&server.alice, "/api/models/alice/demo").await;
    assert_eq!(info["gated"], "manual");
    let asked =
        server.post("/api/models/alice/demo/ask-access").bearer_auth(&server.bob).json(&json!({})).send();
    assert_eq!(asked.await.unwrap().status(), StatusCode::OK);
    let queue = alice.get("/alice/demo/settings").await.text().await.unwrap();
    assert!(queue.contains("<td class=\"user\">bob</td>"), "{queue}");
    let accept = [("user", "bob"), ("status", "accepted")];
    assert_eq!(bob.post("/alice/demo/settings/access", &accept, true).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        alice.post("/alice/demo/settings/access", &accept, true).await.status(),
        StatusCode::SEE_OTHER
    );
    let accepted: Value =
        server.get_json(&server.alice, "/api/models/alice/demo/user-access-request/accepted").await;
    assert_eq!(accepted[0]["user"]["user"], "bob", "{accepted}");

    // Branches and tags; the core's refusals come back as pages.
    let branch = [("name", "dev"), ("revision", "main")];
    assert_eq!(
        alice.post("/alice/demo/settings/branch", &branch, true).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(alice.post("/alice/demo/settings/tag", &[("name", "v1")], true).await.status(), 303);
    let refs: Value = server.get_json(&server.alice, "/api/models/alice/demo/refs").await;
    assert_eq!(refs["branches"].as_array().unwrap().len(), 2, "{refs}");
    assert_eq!(refs["tags"][0]["name"], "v1");
    let main = alice.post("/alice/demo/settings/delete-branch", &[("name", "main")], true).await;
    assert_eq!(main.status(), StatusCode::FORBIDDEN);
    assert_eq!(alice.post("/alice/demo/settings/delete-tag", &[("name", "v1")], true).await.status(), 303);
    let refs: Value = server.get_json(&server.alice, "/api/models/alice/demo/refs").await;
    assert!(refs["tags"].as_array().unwrap().is_empty(), "{refs}");

    // Move: the old URL redirects.
    let moved = alice.post("/alice/demo/settings/move", &[("new_id", "alice/renamed")], true).await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&moved), "/alice/renamed/settings");
    let old = alice.get("/alice/demo").await;
    assert!(old.status().is_redirection(), "{}", old.status());
    assert_eq!(location(&old), "/alice/renamed");

    // Delete: only with the typed id.
    let wrong = alice.post("/alice/renamed/settings/delete", &[("confirm", "alice/demo")], true).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bob.post("/alice/renamed/settings/delete", &[("confirm", "alice/renamed")], true).await.status(),
        403
    );
    assert_eq!(api_status(&server, None, "/api/models/alice/renamed").await, StatusCode::OK);
    let deleted = alice.post("/alice/renamed/settings/delete", &[("confirm", "alice/renamed")], true).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_status(&server, Some(&server.alice), "/api/models/alice/renamed").await, 404);
}

#[tokio::test]
async fn a_login_form_from_another_site_is_refused() {
    let server = server().await;
    let response = no_redirects()
        .post(format!("{}/login", server.base))
        .header("origin", "https://evil.example")
        .form_fields(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(header(&response, "set-cookie").is_none());
}

/// The core use case behind the upload form: only writers store, and kura names the object
/// by the hash it computed (a client never declares one).
#[tokio::test]
async fn store_upload_is_for_writers_and_names_objects_by_their_hash() {
    let server = server().await;
    assert_eq!(server.create_repo(&server.alice, "alice/objects", false).await.status(), StatusCode::OK);
    let hub = server.admin().await;
    let alice = hub.accounts().authenticate(Some(&server.alice)).await.unwrap();
    let bob = hub.accounts().authenticate(Some(&server.bob)).await.unwrap();
    let repo_id = kura_model::RepoId::parse("alice/objects").unwrap();
    let record = hub.repos().find_repo(&alice, kura_model::RepoType::Model, &repo_id).await.unwrap();
    let data = bytes(3 << 20);
    let body = |data: &[u8]| -> kura_core::ByteStream {
        let chunks: Vec<std::io::Result<bytes::Bytes>> =
            data.chunks(100_000).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
        Box::pin(futures_util::stream::iter(chunks))
    };

    let refused = hub.files().store_upload(&bob, &record, body(&data), u64::MAX).await;
    assert!(matches!(refused, Err(kura_core::CoreError::Forbidden(_))), "{refused:?}");
    let too_big = hub.files().store_upload(&alice, &record, body(&data), 1 << 20).await;
    assert!(matches!(too_big, Err(kura_core::CoreError::TooLarge(_))), "{too_big:?}");

    let stored = hub.files().store_upload(&alice, &record, body(&data), u64::MAX).await.unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(stored.oid.to_hex(), sha256_hex(&data));
    let again = hub.files().store_upload(&alice, &record, body(&data), u64::MAX).await.unwrap();
    assert_eq!(again, stored, "the same bytes are the same object");
}

/// The upload's budgets: the whole body (declared or streamed) and the commit's inline bytes.
#[tokio::test]
async fn uploads_keep_to_the_body_cap_and_the_inline_budget() {
    let server = TestServer::start_with(|config| {
        config.limits.web_upload_max_bytes = 1 << 20;
        config.limits.commit_max_inline_bytes = 100;
    })
    .await;
    server.admin().await.accounts().set_password("alice", PASSWORD).await.unwrap();
    assert_eq!(server.create_repo(&server.alice, "alice/up", false).await.status(), StatusCode::OK);
    let before = commit_count(&server, "alice/up").await;
    let alice = Browser::sign_in(&server, "alice").await;
    let csrf = alice.csrf.clone();
    let path = "/alice/up/upload/main";

    let big = bytes(2 << 20);
    let declared =
        alice.post_multipart(path, &[Part::Text("csrf", &csrf), Part::File("big.bin", &big)]).await;
    assert_eq!(declared.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // The same body without a length: the cap is enforced while reading.
    let boundary = "b0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"files\"; filename=\"big.bin\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&big);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect();
    let streamed = alice
        .client
        .post(format!("{}{path}", server.base))
        .header("cookie", &alice.cookie)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(commit_count(&server, "alice/up").await, before, "nothing committed");

    // Two 80-byte text files: the first fits the 100-byte inline budget, the second goes to LFS.
    let (first, second) = (vec![b'a'; 80], vec![b'b'; 80]);
    let parts = [Part::Text("csrf", &csrf), Part::File("one.txt", &first), Part::File("two.txt", &second)];
    assert_eq!(alice.post_multipart(path, &parts).await.status(), StatusCode::SEE_OTHER);
    let tree: Value = server.get_json(&server.alice, "/api/models/alice/up/tree/main").await;
    let lfs = |name: &str| {
        let entry = tree.as_array().unwrap().iter().find(|e| e["path"] == name).unwrap();
        entry.get("lfs").is_some_and(|l| !l.is_null())
    };
    assert!(!lfs("one.txt") && lfs("two.txt"), "{tree}");
    for (name, data) in [("one.txt", &first), ("two.txt", &second)] {
        let file = server.get(&format!("/alice/up/resolve/main/{name}")).send().await.unwrap();
        assert!(file.bytes().await.unwrap()[..] == data[..], "{name}");
    }
}

#[tokio::test]
async fn the_tokens_page_stores_and_removes_the_upstream_token_of_a_mirror() {
    let upstream = TestServer::start().await;
    let mirror = TestServer::start_mirror(&upstream.base, |_| {}).await;
    mirror.admin().await.accounts().set_password("alice", PASSWORD).await.unwrap();
    let alice = Browser::sign_in(&mirror, "alice").await;
    let page = alice.get("/settings/tokens").await.text().await.unwrap();
    assert!(page.contains(&upstream.base) && page.contains("No token stored."), "{page}");

    let refused = alice.post("/settings/upstream-token", &[("token", &upstream.alice)], false).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "no CSRF field, no change");
    let stored = alice.post("/settings/upstream-token", &[("token", &upstream.alice)], true).await;
    assert_eq!(stored.status(), StatusCode::SEE_OTHER);
    let page = alice.get("/settings/tokens").await.text().await.unwrap();
    assert!(page.contains("A token is stored"), "{page}");
    assert!(!page.contains(&upstream.alice), "the token is never shown again");
    let status: serde_json::Value = mirror.get_json(&mirror.alice, "/api/settings/upstream-token").await;
    assert_eq!(status["stored"], true);

    let removed = alice.post("/settings/upstream-token/delete", &[], true).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let page = alice.get("/settings/tokens").await.text().await.unwrap();
    assert!(page.contains("No token stored."));
    let plain = Browser::sign_in(upstream_with_password(&upstream).await, "alice").await;
    let page = plain.get("/settings/tokens").await.text().await.unwrap();
    assert!(!page.contains("Upstream hub token"), "a hub that mirrors nothing shows no such section");
}

async fn upstream_with_password(server: &TestServer) -> &TestServer {
    server.admin().await.accounts().set_password("alice", PASSWORD).await.unwrap();
    server
}
