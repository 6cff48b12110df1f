//! The web edge's own pages: the front page, listings, profiles, the repo page with its card,
//! signing in and out; what the pages refuse, and that API paths are never taken for pages.

use reqwest::{Response, StatusCode};

use crate::support::{FormExt, TestServer, file_line, header};

const PASSWORD: &str = "a long page password";

async fn text(response: Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn page(server: &TestServer, path: &str) -> (StatusCode, String) {
    text(server.get(path).send().await.unwrap()).await
}

async fn page_as(server: &TestServer, token: &str, path: &str) -> (StatusCode, String) {
    text(server.get(path).bearer_auth(token).send().await.unwrap()).await
}

const CARD: &str = "---\nlicense: apache-2.0\nlanguage: [en, fr]\ntags: [robotics]\nlibrary_name: transformers\npipeline_tag: text-generation\nbase_model: [acme/base, /evil.example/x]\n---\n# Demo model\n\nA card with a [guide](docs/guide.md) and ![plot](plot.png).\n\n<script>window.__pwned = 1</script>\n<img src=x onerror=\"window.__pwned = 2\">\n[click](javascript:alert(1))\n";

async fn demo(server: &TestServer) {
    assert!(server.create_repo(&server.alice, "alice/demo", false).await.status().is_success());
    let lines = [file_line("README.md", CARD.as_bytes()), file_line("config.json", b"{}")];
    assert!(server.commit(&server.alice, "alice/demo", "main", &lines, None).await.status().is_success());
}

#[tokio::test]
async fn the_repo_page_renders_the_card_chips_and_snippets_with_this_servers_url() {
    let server = TestServer::start().await;
    demo(&server).await;
    let response = server.get("/alice/demo").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(header(&response, "cache-control"), Some("private, no-store"));
    let csp = header(&response, "content-security-policy").unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Demo model</h1>"), "{html}");
    assert!(
        html.contains("href=\"/alice/demo/blob/main/docs/guide.md\""),
        "relative link at the same revision"
    );
    assert!(html.contains("src=\"/alice/demo/resolve/main/plot.png\""), "relative image from the raw file");
    let card = html.split("<article class=\"card\">").nth(1).unwrap().split("</article>").next().unwrap();
    for bad in ["<script", "onerror=", "href=\"javascript:", "__pwned"] {
        assert!(!card.contains(bad), "{bad} survived sanitising: {card}");
    }
    for chip in ["apache-2.0", "text-generation", "transformers", "robotics", ">en<", ">fr<"] {
        assert!(html.contains(chip), "chip {chip} missing");
    }
    assert!(html.contains("href=\"/acme/base\">acme/base</a>"), "a base model links to its page");
    assert!(!html.contains("//evil.example"), "a base model that is no repo id links nowhere");
    let snippet = format!("HF_ENDPOINT={} hf download alice/demo", server.base);
    assert!(html.contains(&snippet), "snippet with this server's URL");
    assert!(html.contains(&format!("git clone {}/alice/demo", server.base)));
    assert!(html.contains("AutoModel.from_pretrained(&#34;alice/demo&#34;)"), "transformers snippet");
    assert!(html.contains("3 files"), "sidebar counts files (.gitattributes, README.md, config.json)");
    assert!(html.contains("class=\"commit-title\">test commit</a>"), "last commit");
}

#[tokio::test]
async fn a_private_repos_pages_are_the_same_404_as_a_missing_ones() {
    let server = TestServer::start().await;
    assert!(server.create_repo(&server.alice, "alice/secret-model", true).await.status().is_success());
    let (missing_status, missing) = page(&server, "/alice/no-such-repo").await;
    assert_eq!(missing_status, StatusCode::NOT_FOUND);
    for (who, token) in [("anonymous", None), ("bob", Some(server.bob.as_str()))] {
        let (status, html) = match token {
            Some(token) => page_as(&server, token, "/alice/secret-model").await,
            None => page(&server, "/alice/secret-model").await,
        };
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
        assert!(!html.contains("secret-model"), "{who}: the page names the repo");
        if token.is_none() {
            assert_eq!(html, missing, "anonymous sees exactly the missing page");
        }
    }
    let (status, html) = page_as(&server, &server.alice, "/alice/secret-model").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("badge private"));
    // Lists and profiles leave it out for others too.
    for path in ["/", "/models", "/alice", "/models?search=secret"] {
        let (status, html) = page(&server, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("secret-model"), "{path} lists the private repo");
        let (_, own) = page_as(&server, &server.alice, path).await;
        assert!(own.contains("secret-model"), "{path} hides it from its owner");
    }
}

#[tokio::test]
async fn listings_search_filter_and_page() {
    let server = TestServer::start().await;
    for n in 0..32 {
        let repo = format!("alice/m{n:02}");
        assert!(server.create_repo(&server.alice, &repo, false).await.status().is_success());
    }
    assert!(server.create_repo(&server.bob, "bob/other", false).await.status().is_success());
    let (status, first) = page(&server, "/models").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.matches("class=\"repo-item\"").count(), 30, "30 a page");
    assert!(first.contains("rel=\"next\""));
    let (_, second) = page(&server, "/models?sort=updated&p=1").await;
    assert_eq!(second.matches("class=\"repo-item\"").count(), 3);
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));
    let (_, search) = page(&server, "/models?search=m1").await;
    assert_eq!(search.matches("class=\"repo-item\"").count(), 10, "m10..m19");
    let (_, by_author) = page(&server, "/models?author=bob").await;
    assert!(by_author.contains("bob/other") && !by_author.contains("alice/m"));
    let (status, _) = page(&server, "/models?p=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = page(&server, "/models?p=99999999999").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, datasets) = page(&server, "/datasets").await;
    assert!(datasets.contains("Nothing here yet."));
}

#[tokio::test]
async fn profiles_show_repos_and_an_orgs_members() {
    let server = TestServer::start().await;
    assert!(server.create_repo(&server.alice, "acme/tool", false).await.status().is_success());
    let (status, html) = page(&server, "/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("organization") && html.contains("acme/tool"), "{html}");
    let (_, members) = page_as(&server, &server.alice, "/acme").await;
    assert!(members.contains("href=\"/alice\""), "members listed to a member: {members}");
    let (status, _) = page(&server, "/nobody-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Logs alice in through the login form: the session cookie's value.
pub(crate) async fn login(server: &TestServer) -> String {
    server.admin().await.accounts().set_password("alice", PASSWORD).await.unwrap();
    let response = no_redirects()
        .post(format!("{}/login", server.base))
        .header("origin", &server.base)
        .form_pairs(&[("username", "alice"), ("password", PASSWORD), ("next", "/alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&response, "location"), Some("/alice"));
    let cookie = header(&response, "set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    cookie.split(';').next().unwrap().strip_prefix("kura_session=").unwrap().to_owned()
}

/// A client that shows redirects instead of following them.
pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The CSRF token a page's forms carry.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn signing_in_and_out_through_the_pages() {
    let server = TestServer::start().await;
    let (status, form) = page(&server, "/login?next=/alice").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"username\"") && form.contains("name=\"password\""));
    let cookie = login(&server).await;
    let signed_in = server.get("/").header("cookie", format!("kura_session={cookie}")).send().await.unwrap();
    let html = signed_in.text().await.unwrap();
    assert!(html.contains("class=\"user\">alice</a>"), "header names the user");
    let csrf = csrf_of(&html);

    // Wrong password: the form again with a message, no cookie.
    let wrong = server
        .post("/login")
        .form_pairs(&[("username", "alice"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&wrong, "set-cookie").is_none());
    assert!(wrong.text().await.unwrap().contains("Wrong user name or password."));
    // Another site's form is refused before the password is checked.
    let foreign = server
        .post("/login")
        .header("origin", "https://evil.example")
        .form_pairs(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(header(&foreign, "set-cookie").is_none());
    // An open redirect is not followed.
    let away = no_redirects()
        .post(format!("{}/login", server.base))
        .form_pairs(&[("username", "alice"), ("password", PASSWORD), ("next", "//evil.example/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&away, "location"), Some("/"));
    // Browsers drop a tab from a URL: `/<TAB>/evil.example` would be `//evil.example`.
    let tab = no_redirects()
        .post(format!("{}/login", server.base))
        .form_pairs(&[("username", "alice"), ("password", PASSWORD), ("next", "/\t/evil.example/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&tab, "location"), Some("/"));

    // Logging out needs the CSRF token, then ends the session.
    let client = no_redirects();
    let with_cookie = |path: &str| {
        client.post(format!("{}{path}", server.base)).header("cookie", format!("kura_session={cookie}"))
    };
    let forged = with_cookie("/logout").form_pairs(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let out = with_cookie("/logout").form_pairs(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(header(&out, "set-cookie").unwrap().contains("Max-Age=0"));
    let whoami =
        server.get("/api/whoami-v2").header("cookie", format!("kura_session={cookie}")).send().await.unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED, "the session ended on the server");
}

#[tokio::test]
async fn api_git_and_download_routes_are_never_taken_for_pages() {
    let server = TestServer::start().await;
    demo(&server).await;
    let api = server.get("/api/models/alice/nope").send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&api, "content-type").unwrap().starts_with("application/json"));
    let resolve = server.get("/alice/demo/resolve/main/config.json").send().await.unwrap();
    assert_eq!(resolve.status(), StatusCode::OK);
    assert_eq!(resolve.text().await.unwrap(), "{}");
    let refs = server.get("/alice/demo/info/refs?service=git-upload-pack").send().await.unwrap();
    assert_eq!(header(&refs, "content-type"), Some("application/x-git-upload-pack-advertisement"));
    let unknown_method = server.client.delete(format!("{}/alice/demo", server.base)).send().await.unwrap();
    assert!(header(&unknown_method, "content-type").unwrap_or("").starts_with("application/json"));
    // Assets are served by kura itself, cacheable for good (their URL names their content).
    let html = page(&server, "/").await.1;
    let css = html.split("href=\"").find(|s| s.starts_with("/_kura/assets/kura.css")).unwrap();
    let css = css.split('"').next().unwrap();
    let asset = server.get(css).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(header(&asset, "content-type"), Some("text/css; charset=utf-8"));
    assert!(header(&asset, "cache-control").unwrap().contains("immutable"));
    assert_eq!(page(&server, "/_kura/assets/other.js").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_head_request_gets_the_headers_of_the_page() {
    let server = TestServer::start().await;
    demo(&server).await;
    let response = server.head("/alice/demo").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("text/html; charset=utf-8"));
    assert!(response.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_gated_repo_page_hides_its_card_and_offers_to_ask_for_access() {
    let server = TestServer::start().await;
    demo(&server).await;
    let gate = server
        .client
        .put(format!("{}/api/models/alice/demo/settings", server.base))
        .bearer_auth(&server.alice)
        .json(&serde_json::json!({"gated": "manual"}))
        .send()
        .await
        .unwrap();
    assert!(gate.status().is_success(), "{}", gate.status());
    let (status, html) = page_as(&server, &server.bob, "/alice/demo").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("badge gated") && html.contains("Request access"), "{html}");
    assert!(!html.contains("<h1>Demo model</h1>"), "the card is for those who may read the files");
    let (_, anonymous) = page(&server, "/alice/demo").await;
    assert!(anonymous.contains("to request access") && !anonymous.contains("<h1>Demo model</h1>"));

    let asked = no_redirects()
        .post(format!("{}/alice/demo/ask-access", server.base))
        .bearer_auth(&server.bob)
        .form_pairs(&[])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let (_, waiting) = page_as(&server, &server.bob, "/alice/demo").await;
    assert!(waiting.contains("awaiting approval"), "{waiting}");
    let (_, owner) = page_as(&server, &server.alice, "/alice/demo").await;
    assert!(owner.contains("<h1>Demo model</h1>") && !owner.contains("Request access"));
    // Anonymous callers are sent to sign in first.
    let anonymous =
        no_redirects().post(format!("{}/alice/demo/ask-access", server.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(header(&anonymous, "location").unwrap().starts_with("/login?next="));
}
