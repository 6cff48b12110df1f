//! Password login and browser sessions: the cookie, whoami, reads and writes with the session,
//! CSRF, logout, failures that look alike, rate limits, expiry and the audit trail.

use kura_model::Sha256;
use kura_storage::{SessionRecord, SessionStore};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, header};

const PASSWORD: &str = "correct horse battery";

/// A server where alice has a password.
async fn server() -> TestServer {
    let server = TestServer::start().await;
    server.admin().await.accounts().set_password("alice", PASSWORD).await.unwrap();
    server
}

async fn login(server: &TestServer, username: &str, password: &str) -> Response {
    server.post("/api/login").json(&json!({"username": username, "password": password})).send().await.unwrap()
}

/// Logs alice in: (cookie value, CSRF token).
async fn session(server: &TestServer) -> (String, String) {
    let response = login(server, "alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = header(&response, "set-cookie").unwrap().to_owned();
    let value = cookie.split(';').next().unwrap().strip_prefix("kura_session=").unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    (value, body["csrfToken"].as_str().unwrap().to_owned())
}

fn with_cookie(request: RequestBuilder, cookie: &str) -> RequestBuilder {
    request.header("cookie", format!("theme=dark; kura_session={cookie}"))
}

async fn create_repo(server: &TestServer, cookie: &str, csrf: Option<&str>, name: &str) -> Response {
    let mut request = with_cookie(server.post("/api/repos/create"), cookie)
        .json(&json!({"name": name, "organization": "alice", "private": false}));
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.send().await.unwrap()
}

async fn repo_status(server: &TestServer, repo: &str) -> StatusCode {
    server.get(&format!("/api/models/{repo}")).bearer_auth(&server.alice).send().await.unwrap().status()
}

#[tokio::test]
async fn login_sets_an_http_only_lax_cookie_that_whoami_accepts() {
    let server = server().await;
    let response = login(&server, "alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = header(&response, "set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("kura_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http has no Secure flag: {cookie}");
    let value = cookie.split(';').next().unwrap().strip_prefix("kura_session=").unwrap().to_owned();
    assert_eq!(value.len(), 64, "256 random bits, hex");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "alice");
    let csrf = body["csrfToken"].as_str().unwrap();

    let whoami = with_cookie(server.get("/api/whoami-v2"), &value).send().await.unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);
    let whoami: Value = whoami.json().await.unwrap();
    assert_eq!(whoami["name"], "alice");
    assert_eq!(whoami["orgs"][0]["name"], "acme");
    assert_eq!(whoami["auth"], json!({"type": "session", "csrfToken": csrf}));
    let anonymous = server.get("/api/whoami-v2").header("cookie", "theme=dark").send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn form_encoded_login_works_too() {
    let server = server().await;
    let response = server
        .post("/api/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=alice&password=correct+horse+battery")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "set-cookie").unwrap().starts_with("kura_session="));
}

#[tokio::test]
async fn a_session_reads_its_users_private_repos() {
    let server = server().await;
    assert_eq!(server.create_repo(&server.alice, "alice/secret", true).await.status(), StatusCode::OK);
    let (cookie, _) = session(&server).await;
    let info = with_cookie(server.get("/api/models/alice/secret"), &cookie).send().await.unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["id"], "alice/secret");
    let anonymous = server.get("/api/models/alice/secret").send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn writes_with_a_session_need_the_csrf_token() {
    let server = server().await;
    let (cookie, csrf) = session(&server).await;

    let refused = create_repo(&server, &cookie, None, "no-csrf").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(header(&refused, "x-error-message").unwrap().contains("CSRF"));
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("X-CSRF-Token"));
    assert_eq!(repo_status(&server, "alice/no-csrf").await, StatusCode::NOT_FOUND, "nothing created");

    let forged = create_repo(&server, &cookie, Some(&"0".repeat(64)), "forged").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(repo_status(&server, "alice/forged").await, StatusCode::NOT_FOUND);

    let created = create_repo(&server, &cookie, Some(&csrf), "with-csrf").await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(repo_status(&server, "alice/with-csrf").await, StatusCode::OK);

    // Bearer callers are unaffected, even with a stray cookie: the token decides.
    let with_token = with_cookie(server.post("/api/repos/create"), &cookie)
        .bearer_auth(&server.bob)
        .json(&json!({"name": "by-token", "organization": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let server = server().await;
    let (cookie, csrf) = session(&server).await;
    let without_csrf = with_cookie(server.post("/api/logout"), &cookie).send().await.unwrap();
    assert_eq!(without_csrf.status(), StatusCode::FORBIDDEN);
    let whoami = with_cookie(server.get("/api/whoami-v2"), &cookie).send().await.unwrap();
    assert_eq!(whoami.status(), StatusCode::OK, "still logged in");

    let logout =
        with_cookie(server.post("/api/logout"), &cookie).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let cleared = header(&logout, "set-cookie").unwrap();
    assert!(cleared.starts_with("kura_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let whoami = with_cookie(server.get("/api/whoami-v2"), &cookie).send().await.unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(create_repo(&server, &cookie, Some(&csrf), "after").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_password_unknown_user_and_no_password_fail_alike() {
    let server = server().await;
    let mut messages = Vec::new();
    for (user, password) in [("alice", "wrong password"), ("nobody", PASSWORD), ("bob", PASSWORD)] {
        let response = login(&server, user, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{user}");
        assert!(header(&response, "set-cookie").is_none());
        assert!(header(&response, "www-authenticate").is_none(), "no browser prompt");
        let body: Value = response.json().await.unwrap();
        messages.push(body["error"].as_str().unwrap().to_owned());
    }
    assert_eq!(messages[0], "Invalid username or password");
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");
    let malformed = server.post("/api/login").json(&json!({"username": "alice"})).send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn repeated_attempts_are_rate_limited() {
    let server = server().await;
    for attempt in 0..10 {
        let response = login(&server, "alice", "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let limited = login(&server, "alice", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let wait: u64 = header(&limited, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(header(&limited, "set-cookie").is_none());
    // The address is spent too: another name from the same client waits as well.
    assert_eq!(login(&server, "bob", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn login_from(server: &TestServer, forwarded_for: &str, password: &str) -> StatusCode {
    let body = json!({"username": "alice", "password": password});
    let request = server.post("/api/login").header("x-forwarded-for", forwarded_for).json(&body);
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_limit_counts_the_forwarded_client() {
    let server =
        TestServer::start_with(|config| config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    let store = server.admin().await;
    store.accounts().set_password("alice", PASSWORD).await.unwrap();
    store.accounts().create_user("carol", false).await.unwrap();
    store.accounts().set_password("carol", PASSWORD).await.unwrap();
    // Ten failures for alice from one client behind the proxy spend that client's address.
    for attempt in 0..10 {
        let status = login_from(&server, "198.51.100.7", "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let carol = |forwarded_for: &'static str| {
        let body = json!({"username": "carol", "password": PASSWORD});
        server.post("/api/login").header("x-forwarded-for", forwarded_for).json(&body).send()
    };
    assert_eq!(carol("198.51.100.7").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // A client cannot escape by writing its own header: the proxy's entry is the right-most.
    assert_eq!(carol("203.0.113.1, 198.51.100.7").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not held back.
    assert_eq!(carol("198.51.100.8").await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_header_changes_nothing() {
    let server = server().await;
    for attempt in 0..10 {
        let status = login_from(&server, &format!("198.51.100.{attempt}"), "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Every attempt counted against the peer, whatever the header said.
    assert_eq!(login_from(&server, "198.51.100.99", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    let body = json!({"username": "bob", "password": PASSWORD});
    let bob =
        server.post("/api/login").header("x-forwarded-for", "192.0.2.1").json(&body).send().await.unwrap();
    assert_eq!(bob.status(), StatusCode::TOO_MANY_REQUESTS, "the peer's address is spent");
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let server = server().await;
    let store = server.store().await;
    let secret = "ab".repeat(32);
    let now = kura_core::now_millis();
    let user_id = {
        let (cookie, _) = session(&server).await;
        let record = store.session(&Sha256::digest(cookie.as_bytes())).await.unwrap().unwrap();
        record.user_id
    };
    let expired = SessionRecord {
        id_hash: Sha256::digest(secret.as_bytes()),
        user_id,
        created_at: now - 10_000,
        expires_at: now - 1,
        last_seen_at: now - 10_000,
    };
    store.create_session(&expired).await.unwrap();
    let whoami = with_cookie(server.get("/api/whoami-v2"), &secret).send().await.unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(store.session(&expired.id_hash).await.unwrap(), None, "removed once seen expired");
    let garbage = with_cookie(server.get("/api/whoami-v2"), "not-a-session").send().await.unwrap();
    assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED);

    // Logins sweep expired sessions nobody presents any more.
    let forgotten = SessionRecord { id_hash: Sha256::digest(b"forgotten"), ..expired };
    store.create_session(&forgotten).await.unwrap();
    session(&server).await;
    assert_eq!(store.session(&forgotten.id_hash).await.unwrap(), None);
}

#[tokio::test]
async fn logins_logouts_and_password_changes_are_audited() {
    let server = server().await;
    assert_eq!(login(&server, "alice", "hunter2hunter2").await.status(), StatusCode::UNAUTHORIZED);
    let (cookie, csrf) = session(&server).await;
    let logout =
        with_cookie(server.post("/api/logout"), &cookie).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let hub = server.admin().await;
    let entries = hub.accounts().audit_log(kura_core::Authority::Operator, 0, 50).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.entry.action.as_str()).collect();
    for action in ["user.password", "login.failure", "login", "logout"] {
        assert!(actions.contains(&action), "{action} missing in {actions:?}");
    }
    assert!(entries.iter().all(|e| !e.entry.details.contains("hunter2")), "no password in the log");
    let failure = entries.iter().find(|e| e.entry.action == "login.failure").unwrap();
    assert_eq!(failure.entry.target, "user:alice");
    assert!(failure.entry.details.contains("127.0.0.1"), "{}", failure.entry.details);

    // A new password ends every session.
    let (cookie, _) = session(&server).await;
    hub.accounts().set_password("alice", "another password").await.unwrap();
    let whoami = with_cookie(server.get("/api/whoami-v2"), &cookie).send().await.unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED);
    assert!(hub.accounts().set_password("alice", "short").await.is_err(), "at least 8 characters");
}
