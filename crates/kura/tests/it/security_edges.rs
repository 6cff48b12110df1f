//! Security edges (issue 11): signed URLs kept out of the log, `/metrics` for admins, login
//! CSRF and per-network login limits, and one rule for `.git` path segments.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use kura::config::{Config, Overrides};
use serde_json::{Value, json};

use crate::support::{METRICS_TOKEN, TestServer, file_line, header, sha256_hex};

/// `kura serve` on a free port with every log level on, its stderr in `log`; killed on drop.
struct LoggingServer {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl LoggingServer {
    fn start(data_dir: &std::path::Path, log: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kura"));
        for var in ["KURA_CONFIG", "KURA_DATABASE_URL", "KURA_STORAGE", "KURA_LISTEN", "KURA_PUBLIC_URL"] {
            command.env_remove(var);
        }
        let mut child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", &base])
            .arg("--data-dir")
            .arg(data_dir)
            .env("KURA_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("spawning kura serve");
        let mut banner = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        assert!(banner.starts_with("kura serving"), "unexpected banner {banner:?}");
        Self { child, base, client: reqwest::Client::new() }
    }

    async fn send(&self, request: reqwest::RequestBuilder, want: u16) -> reqwest::Response {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), want, "{}", response.url());
        response
    }

    async fn lfs_batch(&self, token: &str, operation: &str, oid: &str, size: usize) -> Value {
        let url = format!("{}/alice/m.git/info/lfs/objects/batch", self.base);
        let body = json!({"operation": operation, "objects": [{"oid": oid, "size": size}]});
        let answer = self.send(self.client.post(url).bearer_auth(token).json(&body), 200).await;
        answer.json::<Value>().await.unwrap()["objects"][0]["actions"].clone()
    }
}

impl Drop for LoggingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The signed token at the end of a capability URL.
fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn signed_lfs_and_cas_urls_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        Config::load(&Overrides { data_dir: Some(dir.path().to_owned()), ..Default::default() }).unwrap();
    let token = {
        let hub = kura::open_hub(&config).await.unwrap();
        hub.accounts().create_user("alice", false).await.unwrap();
        hub.accounts().create_token("alice", "t", kura_model::Role::Write).await.unwrap()
    };
    let log = dir.path().join("serve.log");
    let server = LoggingServer::start(dir.path(), &log);
    let create = server.client.post(format!("{}/api/repos/create", server.base));
    server.send(create.bearer_auth(&token).json(&json!({"name": "m"})), 200).await;

    // LFS upload, verify and download through their signed URLs.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let oid = sha256_hex(&data);
    let mut secrets = Vec::new();
    let upload = server.lfs_batch(&token, "upload", &oid, data.len()).await;
    let (put, verify) =
        (upload["upload"]["href"].as_str().unwrap(), upload["verify"]["href"].as_str().unwrap());
    server.send(server.client.put(put).body(data.clone()), 200).await;
    server.send(server.client.post(verify).json(&json!({"oid": oid, "size": data.len()})), 200).await;
    secrets.extend([token_of(put), token_of(verify)]);
    let line = json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": data.len()}});
    let header_line = json!({"key": "header", "value": {"summary": "add", "description": ""}});
    let commit = server.client.post(format!("{}/api/models/alice/m/commit/main", server.base));
    server.send(commit.bearer_auth(&token).body(format!("{header_line}\n{line}")), 200).await;
    let download = server.lfs_batch(&token, "download", &oid, data.len()).await;
    let get = download["download"]["href"].as_str().unwrap();
    assert_eq!(&server.send(server.client.get(get), 200).await.bytes().await.unwrap()[..], &data[..]);
    secrets.push(token_of(get));

    // A Xet reconstruction's fetch URL.
    let head =
        server.send(server.client.head(format!("{}/alice/m/resolve/main/w.bin", server.base)), 200).await;
    let file_hash = header(&head, "x-xet-hash").expect("LFS uploads are stored as Xet files").to_owned();
    let read = server.client.get(format!("{}/api/models/alice/m/xet-read-token/main", server.base));
    let read: Value = server.send(read.bearer_auth(&token), 200).await.json().await.unwrap();
    let plan = server.client.get(format!("{}/cas/v1/reconstructions/{file_hash}", server.base));
    let plan: Value =
        server.send(plan.bearer_auth(read["accessToken"].as_str().unwrap()), 200).await.json().await.unwrap();
    let fetch = plan["fetch_info"].as_object().unwrap().values().next().unwrap()[0].clone();
    let (from, to) = (&fetch["url_range"]["start"], &fetch["url_range"]["end"]);
    let fetch_url = fetch["url"].as_str().unwrap();
    server.send(server.client.get(fetch_url).header("range", format!("bytes={from}-{to}")), 206).await;
    secrets.push(token_of(fetch_url));
    // A refused (forged) capability is logged the same way.
    server.send(server.client.get(format!("{}/_kura/lfs/Zm9v.forgedsecret", server.base)), 403).await;
    secrets.push("Zm9v.forgedsecret".to_owned());
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "token {secret} in the log:\n{text}");
    }
    let logged = |path: &str| text.lines().filter(|line| line.contains(path)).count();
    assert_eq!(logged("/_kura/lfs/<redacted>"), 4, "put, verify, get, forged:\n{text}");
    assert_eq!(logged("/cas/fetch/<redacted>"), 1, "{text}");
    assert!(logged("/alice/m.git/info/lfs/objects/batch") >= 2, "other paths are logged whole:\n{text}");
}

/// `GET /metrics` with `bearer` (if any): status and body.
async fn metrics(server: &TestServer, bearer: Option<&str>) -> (u16, String) {
    let request = server.get("/metrics");
    let request = match bearer {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        assert!(header(&response, "x-error-message").is_some(), "Hub error format");
        let body: Value = response.json().await.unwrap();
        return (status, body["error"].as_str().unwrap().to_owned());
    }
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_are_for_server_admins_and_the_metrics_token() {
    let server = TestServer::start().await;
    let hub = server.admin().await;
    hub.accounts().create_user("root", true).await.unwrap();
    let admin_read = hub.accounts().create_token("root", "scrape", kura_model::Role::Read).await.unwrap();
    for (who, bearer, want) in [
        ("anonymous", None, 401),
        ("a user", Some(server.alice.as_str()), 403),
        ("a user's read token", Some(server.alice_read.as_str()), 403),
        ("an invalid token", Some("hf_not_a_token"), 401),
        ("a wrong metrics token", Some("test-metrics-tokeX"), 401),
        ("a server admin's read token", Some(admin_read.as_str()), 200),
        ("the metrics token", Some(METRICS_TOKEN), 200),
    ] {
        let (status, body) = metrics(&server, bearer).await;
        assert_eq!(status, want, "{who}: {body}");
        assert_eq!(body.contains("kura_xet_stored_bytes "), want == 200, "{who}: {body}");
    }
    // Without a configured metrics token, that string is just a wrong token.
    let unset = TestServer::start_with(|config| config.metrics_token = None).await;
    assert_eq!(metrics(&unset, Some(METRICS_TOKEN)).await.0, 401);
    assert_eq!(metrics(&unset, None).await.0, 401);
}

const PASSWORD: &str = "correct horse battery";

/// A form post to `/api/login` as a browser sends it, with `headers` (`origin`, `referer`).
async fn form_login(server: &TestServer, user: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = server
        .post("/api/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={user}&password={}", PASSWORD.replace(' ', "+")));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn cross_site_logins_are_refused_and_same_site_or_headerless_ones_work() {
    let server = TestServer::start().await;
    let hub = server.admin().await;
    hub.accounts().set_password("alice", PASSWORD).await.unwrap();
    let ours = server.base.as_str();
    let page = format!("{ours}/login?next=/");
    let other_port = ours.rsplit_once(':').unwrap().0.to_owned() + ":1";
    let cross_site: [&[(&str, &str)]; 6] = [
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("origin", &other_port)],
        &[("referer", "https://evil.example/login")],
        // `Origin` decides when both are sent.
        &[("origin", "https://evil.example"), ("referer", &page)],
        &[("origin", "https://127.0.0.1.evil.example")],
    ];
    for headers in cross_site {
        let response = form_login(&server, "alice", headers).await;
        assert_eq!(response.status(), 403, "{headers:?}");
        assert!(header(&response, "set-cookie").is_none(), "{headers:?}");
        assert!(header(&response, "x-error-message").is_some(), "Hub error format");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("another site"), "{body}");
    }
    let logins = || async {
        let entries = hub.accounts().audit_log(kura_core::Authority::Operator, 0, 100).await.unwrap();
        entries.iter().filter(|e| e.entry.action == "login" || e.entry.action == "login.failure").count()
    };
    assert_eq!(logins().await, 0, "no refused login reached the password check or made a session");

    let same_site: [&[(&str, &str)]; 4] = [
        &[("origin", ours)],
        &[("referer", &page)],
        &[("origin", ours), ("referer", "https://x.example/")],
        &[],
    ];
    for headers in same_site {
        let response = form_login(&server, "alice", headers).await;
        assert_eq!(response.status(), 200, "{headers:?}");
        assert!(header(&response, "set-cookie").unwrap().starts_with("kura_session="));
    }
    // JSON without either header, as scripts send it.
    let json_login = server.post("/api/login").json(&json!({"username": "alice", "password": PASSWORD}));
    assert_eq!(json_login.send().await.unwrap().status(), 200);
    assert_eq!(logins().await, 5);
}

#[tokio::test]
async fn ipv6_clients_share_the_login_limit_of_their_64() {
    let server =
        TestServer::start_with(|config| config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    let hub = server.admin().await;
    for user in ["alice", "bob"] {
        hub.accounts().set_password(user, PASSWORD).await.unwrap();
    }
    let login = |user: &str, client: &str, password: &str| {
        let body = json!({"username": user, "password": password});
        server.post("/api/login").header("x-forwarded-for", client).json(&body).send()
    };
    // Ten failures, each from another address of one /64, spend that network's budget.
    for n in 1..=10 {
        let status =
            login("alice", &format!("2001:db8:1:2::{n:x}"), "wrong password").await.unwrap().status();
        assert_eq!(status, 401, "attempt {n}");
    }
    let status = |response: reqwest::Result<reqwest::Response>| response.unwrap().status().as_u16();
    assert_eq!(status(login("bob", "2001:db8:1:2:ffff::1", PASSWORD).await), 429, "same /64");
    assert_eq!(
        status(login("bob", "2001:db8:1:3::1", PASSWORD).await),
        200,
        "the next /64 is another client"
    );
    // IPv4 stays per address, also when it arrives mapped into IPv6.
    for n in 1..=10 {
        assert_eq!(status(login("carol", "::ffff:198.51.100.7", "x").await), 401, "attempt {n}");
    }
    assert_eq!(status(login("bob", "198.51.100.7", PASSWORD).await), 429, "mapped and plain are one address");
    assert_eq!(
        status(login("bob", "198.51.100.8", PASSWORD).await),
        200,
        "the next address is another client"
    );
}

/// Spellings of `.git` that git itself refuses to check out, as a segment of `a/{alias}/x`.
const GIT_DIR_ALIASES: [&str; 5] = [".GIT", ".Git", ".git.", "GIT~1", ".g\u{200C}it"];

#[tokio::test]
async fn api_commits_refuse_git_dir_segments_in_any_spelling() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let head = server.head_sha(&server.alice, "alice/m").await;
    let mut paths = vec!["a/.GIT/x".to_owned(), ".Git/config".to_owned()];
    paths.extend(GIT_DIR_ALIASES.iter().map(|alias| format!("a/{alias}/x")));
    for path in &paths {
        let response = server.commit(&server.alice, "alice/m", "main", &[file_line(path, b"x")], None).await;
        assert_eq!(response.status(), 422, "{path}");
        assert!(header(&response, "x-error-message").unwrap().contains(".git"), "{path}");
    }
    assert_eq!(server.head_sha(&server.alice, "alice/m").await, head, "no commit was made");
}

/// `git mktree` in `repo` with `entries` (ls-tree lines); git checks no names there.
fn mktree(repo: &std::path::Path, entries: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .arg("mktree")
        .current_dir(repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git is installed");
    child.stdin.take().unwrap().write_all(entries.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "git mktree {entries:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn pushes_refuse_git_dir_segments_in_any_spelling() {
    use crate::support::ok;
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/g", false).await;
    let head = server.head_sha(&server.alice, "alice/g").await;
    let url =
        format!("{}/alice/g", server.base).replace("http://", &format!("http://user:{}@", server.alice));
    let work = tempfile::tempdir().unwrap();
    let base = work.path().to_owned();
    tokio::task::spawn_blocking(move || {
        ok(&base, &["clone", "-q", &url, "c"]);
        let repo = base.join("c");
        std::fs::write(repo.join("blob"), "[core]\n").unwrap();
        let blob = ok(&repo, &["hash-object", "-w", "blob"]);
        let inner = mktree(&repo, &format!("100644 blob {blob}\tconfig\n"));
        for alias in GIT_DIR_ALIASES {
            let dir = mktree(&repo, &format!("040000 tree {inner}\t{alias}\n"));
            // At the top level and one directory down.
            for root in [dir.clone(), mktree(&repo, &format!("040000 tree {dir}\ta\n"))] {
                let commit = ok(&repo, &["commit-tree", &root, "-p", "HEAD", "-m", "sneak"]);
                let output =
                    crate::support::git(&repo, &["push", "origin", &format!("{commit}:refs/heads/main")]);
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(!output.status.success(), "{alias:?} was accepted");
                assert!(stderr.contains("'.git' segments"), "{alias:?}: {stderr}");
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(server.head_sha(&server.alice, "alice/g").await, head, "nothing moved");
}
