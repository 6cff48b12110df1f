//! A kura server on 127.0.0.1:0 with a fresh data dir, plus request helpers.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kura::config::{Config, Overrides};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

/// The `metrics_token` of every `TestServer`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

pub struct TestServer {
    pub base: String,
    pub client: Client,
    /// Write token of `alice` (owner of org `acme`).
    pub alice: String,
    /// Write token of `bob`.
    pub bob: String,
    /// Read token of `alice`.
    pub alice_read: String,
    config: Config,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// How far the server's clock is ahead of the system clock, in milliseconds.
    clock_ahead: Arc<AtomicI64>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose configuration `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_wrapped(adjust, |hub| hub).await
    }

    /// A pull-through mirror of `upstream` (its own users and tokens), with `adjust` applied
    /// to its mirror settings.
    pub async fn start_mirror(upstream: &str, adjust: impl FnOnce(&mut kura_core::MirrorConfig)) -> Self {
        let mut mirror = kura_core::MirrorConfig { url: upstream.to_owned(), ..Default::default() };
        adjust(&mut mirror);
        let url = upstream.to_owned();
        Self::start_with(move |c| c.upstream = Some(kura::config::UpstreamConfig { url, mirror })).await
    }

    /// `start_with`, and `wrap` changes the hub before it serves (a test upstream port).
    pub async fn start_wrapped(
        adjust: impl FnOnce(&mut Config),
        wrap: impl FnOnce(kura_core::Hub) -> kura_core::Hub,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config::load(&Overrides {
            data_dir: Some(dir.path().to_owned()),
            public_url: Some(base.clone()),
            ..Default::default()
        })
        .unwrap();
        config.lfs_multipart_threshold_bytes = 3 << 20;
        config.lfs_part_bytes = 1 << 20;
        config.metrics_token = Some(METRICS_TOKEN.to_owned());
        adjust(&mut config);
        let clock_ahead = Arc::new(AtomicI64::new(0));
        let clock = kura_core::Clock::from_fn({
            let ahead = clock_ahead.clone();
            move || kura_core::now_millis() + ahead.load(Ordering::Relaxed)
        });
        let hub = wrap(kura::open_hub(&config).await.unwrap().with_clock(clock));
        hub.accounts().create_user("alice", false).await.unwrap();
        hub.accounts().create_user("bob", false).await.unwrap();
        hub.accounts().create_org("acme", "alice").await.unwrap();
        let alice = hub.accounts().create_token("alice", "t", kura_model::Role::Write).await.unwrap();
        let bob = hub.accounts().create_token("bob", "t", kura_model::Role::Write).await.unwrap();
        let alice_read = hub.accounts().create_token("alice", "r", kura_model::Role::Read).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kura::serve_with(
            listener,
            hub,
            base.clone(),
            kura::EdgeOptions::from(&config),
            async move {
                let _ = rx.await;
            },
        ));
        Self {
            base,
            client: Client::new(),
            alice,
            bob,
            alice_read,
            config,
            _dir: dir,
            shutdown: Some(tx),
            clock_ahead,
        }
    }

    /// Moves the server's clock forward (expiry without sleeping). Hubs from
    /// [`TestServer::admin`] keep the system clock.
    pub fn advance_clock(&self, by: std::time::Duration) {
        let by = i64::try_from(by.as_millis()).unwrap();
        self.clock_ahead.fetch_add(by, Ordering::Relaxed);
    }

    /// A second hub on the same stores, as the admin CLI opens it next to a running server.
    pub async fn admin(&self) -> kura_core::Hub {
        kura::open_hub(&self.config).await.unwrap()
    }

    /// The data directory (SQLite database and local blobs).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.config.data_dir
    }

    /// The metadata store itself, for tests that set up states the API cannot reach.
    pub async fn store(&self) -> kura_storage_sql::SqlStore {
        kura_storage_sql::SqlStore::connect(&self.config.database_url).await.unwrap()
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.base))
    }

    /// GETs `path` with `token` and decodes the JSON answer (whatever its status).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, token: &str, path: &str) -> T {
        self.get(path).bearer_auth(token).send().await.unwrap().json().await.unwrap()
    }

    pub fn head(&self, path: &str) -> RequestBuilder {
        self.client.head(format!("{}{path}", self.base))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    /// Creates `namespace/name` as a model repo with `token`.
    pub async fn create_repo(&self, token: &str, repo: &str, private: bool) -> Response {
        let (namespace, name) = repo.split_once('/').unwrap();
        self.post("/api/repos/create")
            .bearer_auth(token)
            .json(&json!({"name": name, "organization": namespace, "private": private}))
            .send()
            .await
            .unwrap()
    }

    /// Posts an NDJSON commit built from `lines` (the header is added).
    pub async fn commit(
        &self,
        token: &str,
        repo: &str,
        revision: &str,
        lines: &[Value],
        parent: Option<&str>,
    ) -> Response {
        let mut header = json!({"key": "header", "value": {"summary": "test commit", "description": ""}});
        if let Some(parent) = parent {
            header["value"]["parentCommit"] = json!(parent);
        }
        let mut body = serde_json::to_string(&header).unwrap();
        for line in lines {
            body.push('\n');
            body.push_str(&serde_json::to_string(line).unwrap());
        }
        self.post(&format!("/api/models/{repo}/commit/{revision}"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn head_sha(&self, token: &str, repo: &str) -> String {
        let info: Value = self
            .get(&format!("/api/models/{repo}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        info["sha"].as_str().unwrap().to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A `file` commit line with base64 content.
pub fn file_line(path: &str, content: &[u8]) -> Value {
    use base64::Engine;
    json!({"key": "file", "value": {"path": path, "content": base64::engine::general_purpose::STANDARD.encode(content), "encoding": "base64"}})
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Runs the real git in `dir` (HOME there, no prompts, no system config, a fixed identity).
pub fn git(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .args(["-c", "user.name=Pusher", "-c", "user.email=p@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git is installed (scripts/test installs it)")
}

/// Runs git, asserts it succeeded and returns its trimmed stdout.
pub fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let output = git(dir, args);
    assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// An url-encoded form body on a request, as a browser sends it.
pub trait FormExt {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormExt for RequestBuilder {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self {
        let body = form_urlencoded_pairs(pairs);
        self.header("content-type", "application/x-www-form-urlencoded").body(body)
    }
}

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Uploads `data` through LFS to `repo` on `server` with `token` and commits it at `path` on
/// main; returns the commit answer (`commitOid`).
pub async fn commit_lfs_as(server: &TestServer, token: &str, repo: &str, path: &str, data: &[u8]) -> Value {
    let oid = sha256_hex(data);
    let plan: Value = server
        .post(&format!("/{repo}.git/info/lfs/objects/batch"))
        .bearer_auth(token)
        .json(&json!({"operation": "upload", "objects": [{"oid": oid, "size": data.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if let Some(href) = plan["objects"][0]["actions"]["upload"]["href"].as_str() {
        assert!(server.client.put(href).body(data.to_vec()).send().await.unwrap().status().is_success());
    }
    let line =
        json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": data.len()}});
    let response = server.commit(token, repo, "main", &[line], None).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Bytes that look random (xorshift), the same for the same seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The sum of a metric's samples on `server`.
pub async fn metric(server: &TestServer, name: &str) -> u64 {
    let text = server.get("/metrics").bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

/// Every file under `dir`, recursively (none if it does not exist).
pub fn files_under(dir: &std::path::Path) -> std::collections::BTreeSet<std::path::PathBuf> {
    let mut found = std::collections::BTreeSet::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.insert(path);
            }
        }
    }
    found
}
