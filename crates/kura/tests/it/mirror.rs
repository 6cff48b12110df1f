//! The pull-through mirror: a second kura serving repos of an upstream kura under its own
//! URLs, caching answers by commit and content once, and working without the upstream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Uploads `data` through LFS to `repo` on `server` as alice and commits it at `path`.
pub(crate) async fn commit_lfs(server: &TestServer, repo: &str, path: &str, data: &[u8]) -> Value {
    commit_lfs_as(server, &server.alice, repo, path, data).await
}

/// Sets `repo` (a model of alice's on `server`) to gated with automatic approval.
pub(crate) async fn gate(server: &TestServer, repo: &str) {
    let gate = server
        .client
        .put(format!("{}/api/models/{repo}/settings", server.base))
        .bearer_auth(&server.alice)
        .json(&json!({"gated": "auto"}))
        .send()
        .await
        .unwrap();
    assert_eq!(gate.status(), 200);
}

/// An upstream with a public model `alice/m`: a small file and an LFS file.
pub(crate) async fn upstream_with_model(weights: &[u8]) -> TestServer {
    let upstream = TestServer::start().await;
    assert_eq!(upstream.create_repo(&upstream.alice, "alice/m", false).await.status(), 200);
    let small = upstream
        .commit(&upstream.alice, "alice/m", "main", &[file_line("config.json", b"{\"a\": 1}")], None)
        .await;
    assert_eq!(small.status(), 200);
    commit_lfs(&upstream, "alice/m", "weights.bin", weights).await;
    upstream
}

#[tokio::test]
async fn a_mirror_serves_upstream_repos_under_its_own_urls_and_keeps_working_offline() {
    let weights = random_bytes(2_500_000, 1);
    let upstream = upstream_with_model(&weights).await;
    let mirror = TestServer::start_mirror(&upstream.base, |m| m.ref_ttl_secs = 0).await;
    let upstream_sha = upstream.head_sha(&upstream.alice, "alice/m").await;

    let info: Value = mirror.get("/api/models/alice/m").send().await.unwrap().json().await.unwrap();
    assert_eq!(info["sha"], upstream_sha, "the mirror answers at the upstream's commit");
    assert_eq!(info["id"], "alice/m");
    let revision: Value =
        mirror.get("/api/models/alice/m/revision/main").send().await.unwrap().json().await.unwrap();
    assert_eq!(revision["sha"], upstream_sha);

    let tree: Value = mirror
        .get("/api/models/alice/m/tree/main?recursive=True")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = tree.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"config.json") && paths.contains(&"weights.bin"), "{paths:?}");
    let weights_entry = tree.as_array().unwrap().iter().find(|e| e["path"] == "weights.bin").unwrap();
    assert_eq!(weights_entry["lfs"]["oid"], sha256_hex(&weights));

    // HEAD before any download: metadata only, every link names the mirror.
    let head = mirror.head("/alice/m/resolve/main/weights.bin").send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "x-repo-commit"), Some(upstream_sha.as_str()));
    assert_eq!(header(&head, "x-linked-size"), Some("2500000"));
    assert_eq!(header(&head, "etag"), Some(format!("\"{}\"", sha256_hex(&weights)).as_str()));
    let link = header(&head, "link").expect("a Xet file names its token route");
    assert!(link.contains(&mirror.base) && !link.contains(&upstream.base), "{link}");
    assert!(header(&head, "x-xet-hash").is_some());

    let small = mirror.get("/alice/m/resolve/main/config.json").send().await.unwrap();
    assert_eq!(small.status(), 200);
    assert_eq!(small.bytes().await.unwrap().as_ref(), b"{\"a\": 1}");
    let big = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap();
    assert_eq!(big.status(), 200);
    assert!(big.bytes().await.unwrap().as_ref() == weights.as_slice(), "byte-exact through the mirror");
    let ranged = mirror
        .get("/alice/m/resolve/main/weights.bin")
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &weights[100..200]);

    let missing = mirror.get("/alice/m/resolve/main/nope.txt").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, "x-repo-commit"), Some(upstream_sha.as_str()), "404s name the commit");
    assert_eq!(header(&missing, "x-error-code"), Some("EntryNotFound"));
    let unknown = mirror.get("/api/models/alice/nothing-here").send().await.unwrap();
    assert_eq!(unknown.status(), 401, "the upstream's RepoNotFound, as an anonymous caller sees it");
    assert_eq!(header(&unknown, "x-error-code"), Some("RepoNotFound"));

    // The upstream goes away: what was cached keeps working, the rest is a 504 that says why.
    let upstream_base = upstream.base.clone();
    drop(upstream);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let info: Value = mirror.get("/api/models/alice/m").send().await.unwrap().json().await.unwrap();
    assert_eq!(info["sha"], upstream_sha, "the last commit seen answers offline");
    let again = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.bytes().await.unwrap().as_ref() == weights.as_slice());
    let tree = mirror.get("/api/models/alice/m/tree/main?recursive=True").send().await.unwrap();
    assert_eq!(tree.status(), 200, "a tree page seen before is served from the cache");
    let never = mirror.get("/api/models/alice/m/tree/main/sub").send().await.unwrap();
    assert_eq!(never.status(), 504);
    assert_eq!(header(&never, "x-error-code"), Some("UpstreamUnavailable"));
    let other = mirror.get("/api/models/alice/other").send().await.unwrap();
    assert_eq!(other.status(), 504, "an unreachable upstream is a 504, never a 401");
    assert!(!other.text().await.unwrap().contains(&upstream_base));
}

#[tokio::test]
async fn concurrent_cold_misses_cause_one_upstream_fetch() {
    let weights = random_bytes(3_000_000, 2);
    let upstream = upstream_with_model(&weights).await;
    let mirror = TestServer::start_mirror(&upstream.base, |_| {}).await;
    // Warm the metadata so only the file's bytes are left to fetch.
    let head = mirror.head("/alice/m/resolve/main/weights.bin").send().await.unwrap();
    assert_eq!(head.status(), 200);
    let sent_before = metric(&upstream, "kura_http_response_bytes_total").await;
    let downloads = (0..8).map(|_| {
        let request = mirror.get("/alice/m/resolve/main/weights.bin");
        async move { request.send().await.unwrap().bytes().await.unwrap() }
    });
    for body in futures_util::future::join_all(downloads).await {
        assert!(body.as_ref() == weights.as_slice(), "every client gets the whole file");
    }
    let sent = metric(&upstream, "kura_http_response_bytes_total").await - sent_before;
    assert!(sent >= weights.len() as u64, "the file came from the upstream ({sent} bytes)");
    assert!((sent as f64) < weights.len() as f64 * 1.05, "{sent} bytes sent upstream for 8 clients");
    assert!(metric(&mirror, "kura_mirror_coalesced_waits_total").await >= 1);
}

#[tokio::test]
async fn hosted_repos_win_a_name_clash_and_patterns_limit_what_is_mirrored() {
    let weights = random_bytes(1000, 3);
    let upstream = upstream_with_model(&weights).await;
    assert_eq!(upstream.create_repo(&upstream.alice, "acme/denied", false).await.status(), 200);
    let mirror = TestServer::start_mirror(&upstream.base, |m| m.deny = vec!["acme/*".into()]).await;
    assert_eq!(
        mirror.get("/api/models/acme/denied").send().await.unwrap().status(),
        401,
        "denied: not mirrored"
    );
    let mirrored: Value = mirror.get("/api/models/alice/m").send().await.unwrap().json().await.unwrap();
    assert_eq!(mirrored["sha"], upstream.head_sha(&upstream.alice, "alice/m").await);
    assert_eq!(mirror.create_repo(&mirror.alice, "alice/m", false).await.status(), 200);
    let hosted = mirror.head_sha(&mirror.alice, "alice/m").await;
    assert_ne!(Value::from(hosted), mirrored["sha"], "the hosted repo answers, not the upstream's");
    let file = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap();
    assert_eq!(file.status(), 404, "the hosted repo has no such file");
}

#[tokio::test]
async fn gated_and_private_upstream_repos_need_the_callers_own_upstream_access() {
    let upstream = TestServer::start().await;
    assert_eq!(upstream.create_repo(&upstream.alice, "alice/secret", true).await.status(), 200);
    let put = upstream
        .commit(&upstream.alice, "alice/secret", "main", &[file_line("a.txt", b"private")], None)
        .await;
    assert_eq!(put.status(), 200);
    assert_eq!(upstream.create_repo(&upstream.alice, "alice/gated", false).await.status(), 200);
    let put =
        upstream.commit(&upstream.alice, "alice/gated", "main", &[file_line("g.txt", b"gated")], None).await;
    assert_eq!(put.status(), 200);
    gate(&upstream, "alice/gated").await;
    let mirror = TestServer::start_mirror(&upstream.base, |m| m.forward_unknown_tokens = true).await;

    // Anonymous callers: a private repo does not exist, a gated one asks for access.
    assert_eq!(mirror.get("/api/models/alice/secret").send().await.unwrap().status(), 401);
    let gated = mirror.get("/alice/gated/resolve/main/g.txt").send().await.unwrap();
    assert_eq!(header(&gated, "x-error-code"), Some("GatedRepo"));
    // The owner's upstream token, forwarded: allowed, and the file is now cached.
    let own =
        mirror.get("/alice/secret/resolve/main/a.txt").bearer_auth(&upstream.alice).send().await.unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.bytes().await.unwrap().as_ref(), b"private");
    let own =
        mirror.get("/alice/gated/resolve/main/g.txt").bearer_auth(&upstream.alice).send().await.unwrap();
    assert_eq!(own.bytes().await.unwrap().as_ref(), b"gated");
    // Another upstream user: refused even though the bytes are cached.
    let other =
        mirror.get("/alice/secret/resolve/main/a.txt").bearer_auth(&upstream.bob).send().await.unwrap();
    assert_eq!(other.status(), 401, "missing, as to any caller kura does not know");
    assert_eq!(header(&other, "x-error-code"), Some("RepoNotFound"));
    assert_ne!(other.bytes().await.unwrap().as_ref(), b"private");
    let other =
        mirror.get("/alice/gated/resolve/main/g.txt").bearer_auth(&upstream.bob).send().await.unwrap();
    assert_eq!(other.status(), 401);
    assert_eq!(header(&other, "x-error-code"), Some("GatedRepo"));
    let anonymous = mirror.get("/alice/gated/resolve/main/g.txt").send().await.unwrap();
    assert_ne!(anonymous.status(), 200, "a cache hit is not a pass");
    // A token kura issued is never sent upstream: the mirror's own user is just refused.
    let local = mirror.get("/api/models/alice/secret").bearer_auth(&mirror.alice).send().await.unwrap();
    assert_eq!(local.status(), 404);
}

/// An upstream port that ignores `Range` and breaks off the first download midway.
struct Flaky {
    inner: Arc<dyn kura_core::Upstream>,
    broke: AtomicBool,
    opens: AtomicU64,
}

#[async_trait::async_trait]
impl kura_core::Upstream for Flaky {
    async fn call(
        &self,
        request: kura_core::UpstreamRequest,
        max: usize,
    ) -> Result<kura_core::UpstreamReply, kura_core::UpstreamError> {
        self.inner.call(request, max).await
    }

    async fn open(
        &self,
        path: &str,
        _offset: u64,
        token: Option<&str>,
    ) -> Result<kura_core::UpstreamBody, kura_core::UpstreamError> {
        use futures_util::StreamExt;
        self.opens.fetch_add(1, Ordering::Relaxed);
        let mut answer = self.inner.open(path, 0, token).await?;
        if !self.broke.swap(true, Ordering::Relaxed) {
            let mut sent = 0usize;
            answer.body = answer
                .body
                .map(move |chunk| {
                    let chunk = chunk?;
                    sent += chunk.len();
                    if sent > 1_000_000 { Err(std::io::Error::other("connection reset")) } else { Ok(chunk) }
                })
                .boxed();
        }
        Ok(answer)
    }

    async fn call_url(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
        token: &str,
        max: usize,
    ) -> Result<kura_core::UpstreamReply, kura_core::UpstreamError> {
        self.inner.call_url(url, range, token, max).await
    }

    async fn open_url(
        &self,
        url: &str,
        start: u64,
        end: u64,
    ) -> Result<kura_core::UpstreamBody, kura_core::UpstreamError> {
        self.inner.open_url(url, start, end).await
    }
}

#[tokio::test]
async fn a_broken_download_resumes_even_from_an_upstream_that_ignores_range() {
    let weights = random_bytes(2_800_000, 4);
    let upstream = upstream_with_model(&weights).await;
    let flaky = Arc::new(Flaky {
        inner: Arc::new(kura::upstream::HttpUpstream::new(&upstream.base).unwrap()),
        broke: AtomicBool::new(false),
        opens: AtomicU64::new(0),
    });
    let port = flaky.clone();
    let url = upstream.base.clone();
    let mirror = TestServer::start_wrapped(
        move |c| {
            // Through `resolve` only: this test is about its resumption.
            let mirror = kura_core::MirrorConfig { xet: false, ..Default::default() };
            c.upstream = Some(kura::config::UpstreamConfig { url, mirror })
        },
        move |hub| hub.with_upstream(port),
    )
    .await;
    // A cold ranged read waits for the whole file to be verified, then gets its range.
    let ranged = mirror
        .get("/alice/m/resolve/main/weights.bin")
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &weights[100..200]);
    assert_eq!(flaky.opens.load(Ordering::Relaxed), 2, "one break, one resumption");
    let body = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(body.as_ref() == weights.as_slice(), "the resumed download is byte-exact");
    let again = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(again.as_ref() == weights.as_slice());
    assert_eq!(flaky.opens.load(Ordering::Relaxed), 2, "then served from the store");
    assert_eq!(
        StatusCode::OK,
        mirror.head("/alice/m/resolve/main/config.json").send().await.unwrap().status()
    );
}

#[tokio::test]
async fn pull_prefetches_list_reports_and_eviction_forgets() {
    let weights = random_bytes(1_500_000, 5);
    let upstream = upstream_with_model(&weights).await;
    let mirror = TestServer::start_mirror(&upstream.base, |_| {}).await;
    let admin = mirror.admin().await;
    let repo = kura_model::RepoId::parse("alice/m").unwrap();
    let only_json = globset::Glob::new("*.json").unwrap().compile_matcher();
    let mut seen = Vec::new();
    let (_, done) = admin
        .mirror()
        .pull(kura_model::RepoType::Model, &repo, None, Some(&only_json), |_, path| {
            seen.push(path.to_owned())
        })
        .await
        .unwrap();
    assert_eq!(seen, ["config.json"], "--include limits the pull");
    assert_eq!((done.files_total, done.files_cached), (1, 0));
    let (_, done) =
        admin.mirror().pull(kura_model::RepoType::Model, &repo, Some("main"), None, |_, _| {}).await.unwrap();
    assert_eq!(
        (done.files_total, done.files_cached),
        (3, 1),
        ".gitattributes, config.json (held), weights.bin"
    );
    assert_eq!(done.bytes_total, done.bytes_done);

    let holdings = admin.mirror().holdings().await.unwrap();
    assert_eq!(holdings.len(), 1);
    assert_eq!(holdings[0].objects, 3);
    assert_eq!(holdings[0].bytes, done.bytes_total);

    // Pulled: downloads no longer reach the upstream.
    let before = metric(&upstream, "kura_http_response_bytes_total").await;
    let body = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(body.as_ref() == weights.as_slice());
    let sent = metric(&upstream, "kura_http_response_bytes_total").await - before;
    assert!(sent < 50_000, "only metadata came from the upstream ({sent} bytes)");

    // Evicted: forgotten, and fetched again on the next download.
    let evicted = admin.mirror().evict_by(Some(0), None).await.unwrap();
    assert_eq!(evicted.len(), 1);
    assert_eq!(admin.mirror().holdings().await.unwrap()[0].objects, 0);
    let before = metric(&upstream, "kura_http_response_bytes_total").await;
    let body = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(body.as_ref() == weights.as_slice());
    assert!(metric(&upstream, "kura_http_response_bytes_total").await - before >= weights.len() as u64);
    assert!(admin.mirror().evict(kura_model::RepoType::Model, &repo).await.unwrap());
    assert!(!admin.mirror().evict(kura_model::RepoType::Dataset, &repo).await.unwrap());
}

#[tokio::test]
async fn a_stored_upstream_token_reads_restricted_repos_for_its_user_only() {
    let upstream = TestServer::start().await;
    assert_eq!(upstream.create_repo(&upstream.alice, "alice/secret", true).await.status(), 200);
    let put = upstream
        .commit(&upstream.alice, "alice/secret", "main", &[file_line("a.txt", b"private")], None)
        .await;
    assert_eq!(put.status(), 200);
    let mirror = TestServer::start_mirror(&upstream.base, |_| {}).await;
    let settings = |token: &str| mirror.get("/api/settings/upstream-token").bearer_auth(token.to_owned());
    let status: Value = settings(&mirror.alice).send().await.unwrap().json().await.unwrap();
    assert_eq!(status, json!({"stored": false, "storedAt": null, "upstream": upstream.base}));

    // Without forwarding, an upstream token as a bearer is just a bad kura token.
    let forwarded = mirror.get("/api/models/alice/secret").bearer_auth(&upstream.alice).send().await.unwrap();
    assert_eq!(forwarded.status(), 401);
    let put = |token: &str, body: Value| {
        mirror
            .client
            .put(format!("{}/api/settings/upstream-token", mirror.base))
            .bearer_auth(token.to_owned())
            .json(&body)
    };
    assert_eq!(put(&mirror.alice_read, json!({"token": upstream.alice})).send().await.unwrap().status(), 403);
    assert_eq!(put(&mirror.alice, json!({"token": "has space"})).send().await.unwrap().status(), 400);
    let stored = put(&mirror.alice, json!({"token": upstream.alice})).send().await.unwrap();
    assert_eq!(stored.status(), 200);
    let stored: Value = stored.json().await.unwrap();
    assert_eq!(stored["stored"], true);
    assert!(!stored.to_string().contains(&upstream.alice), "the token is never shown again");

    let file =
        mirror.get("/alice/secret/resolve/main/a.txt").bearer_auth(&mirror.alice).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"private");
    let other = mirror.get("/alice/secret/resolve/main/a.txt").bearer_auth(&mirror.bob).send().await.unwrap();
    assert_eq!(other.status(), 404, "bob stored nothing: the repo does not exist for him");
    let anonymous = mirror.get("/alice/secret/resolve/main/a.txt").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let database = std::fs::read(mirror.data_dir().join("kura.db")).unwrap();
    let wal = std::fs::read(mirror.data_dir().join("kura.db-wal")).unwrap_or_default();
    let needle = upstream.alice.as_bytes();
    assert!(
        !database.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle),
        "stored sealed, never in clear"
    );

    let deleted = mirror
        .client
        .delete(format!("{}/api/settings/upstream-token", mirror.base))
        .bearer_auth(&mirror.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let gone = mirror.get("/api/models/alice/secret").bearer_auth(&mirror.alice).send().await.unwrap();
    assert_eq!(gone.status(), 404, "without the token, alice is refused again (the memo is per token)");
    let again = mirror
        .client
        .delete(format!("{}/api/settings/upstream-token", mirror.base))
        .bearer_auth(&mirror.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn a_repo_gated_after_it_was_cached_is_refused_to_callers_without_access() {
    let upstream = upstream_with_model(b"weights").await;
    let mirror = TestServer::start_mirror(&upstream.base, |m| m.ref_ttl_secs = 0).await;
    let sha = upstream.head_sha(&upstream.alice, "alice/m").await;
    let open = mirror.get(&format!("/alice/m/resolve/{sha}/config.json")).send().await.unwrap();
    assert_eq!(open.status(), 200, "public: anyone");
    gate(&upstream, "alice/m").await;
    mirror.advance_clock(std::time::Duration::from_secs(2));
    let by_commit = mirror.get(&format!("/alice/m/resolve/{sha}/config.json")).send().await.unwrap();
    assert_eq!(
        header(&by_commit, "x-error-code"),
        Some("GatedRepo"),
        "the gate is seen for cached commits too"
    );
    let by_branch = mirror.get("/alice/m/resolve/main/config.json").send().await.unwrap();
    assert_eq!(header(&by_branch, "x-error-code"), Some("GatedRepo"));
}

/// An upstream that lists, in `alice/x`, a zero-byte file naming another object's SHA-256
/// and Xet hash (set once the victim's object exists).
struct Lying {
    inner: Arc<dyn kura_core::Upstream>,
    target: std::sync::Mutex<(String, String)>,
}

#[async_trait::async_trait]
impl kura_core::Upstream for Lying {
    async fn call(
        &self,
        request: kura_core::UpstreamRequest,
        max: usize,
    ) -> Result<kura_core::UpstreamReply, kura_core::UpstreamError> {
        let listing = request.path.starts_with("/api/models/alice/x/tree/")
            || request.path.starts_with("/api/models/alice/x/paths-info/");
        let mut reply = self.inner.call(request, max).await?;
        if listing && reply.status == 200 {
            let (sha256, xet_hash) = self.target.lock().unwrap().clone();
            let mut items: Vec<Value> = serde_json::from_slice(&reply.body).unwrap();
            items.push(json!({"type": "file", "path": "w.bin", "size": 0, "oid": "ab".repeat(20),
                "lfs": {"oid": sha256, "size": 0, "pointerSize": 120}, "xetHash": xet_hash}));
            reply.body = serde_json::to_vec(&items).unwrap().into();
        }
        Ok(reply)
    }

    async fn open(
        &self,
        path: &str,
        offset: u64,
        token: Option<&str>,
    ) -> Result<kura_core::UpstreamBody, kura_core::UpstreamError> {
        self.inner.open(path, offset, token).await
    }

    async fn call_url(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
        token: &str,
        max: usize,
    ) -> Result<kura_core::UpstreamReply, kura_core::UpstreamError> {
        self.inner.call_url(url, range, token, max).await
    }

    async fn open_url(
        &self,
        url: &str,
        start: u64,
        end: u64,
    ) -> Result<kura_core::UpstreamBody, kura_core::UpstreamError> {
        self.inner.open_url(url, start, end).await
    }
}

#[tokio::test]
async fn an_upstream_listing_cannot_reach_content_the_mirrored_repo_never_fetched() {
    let upstream = TestServer::start().await;
    assert_eq!(upstream.create_repo(&upstream.alice, "alice/x", false).await.status(), 200);
    let lying = Arc::new(Lying {
        inner: Arc::new(kura::upstream::HttpUpstream::new(&upstream.base).unwrap()),
        target: std::sync::Mutex::new((String::new(), String::new())),
    });
    let port = lying.clone();
    let url = upstream.base.clone();
    let mirror = TestServer::start_wrapped(
        move |c| {
            let mirror = kura_core::MirrorConfig { url: url.clone(), ..Default::default() };
            c.upstream = Some(kura::config::UpstreamConfig { url, mirror });
        },
        move |hub| hub.with_upstream(port),
    )
    .await;
    // The mirror hosts a private repo of bob's; the lying upstream names its object.
    assert_eq!(mirror.create_repo(&mirror.bob, "bob/private", true).await.status(), 200);
    let secret = random_bytes(200_000, 6);
    let oid = sha256_hex(&secret);
    commit_lfs_as(&mirror, &mirror.bob, "bob/private", "secret.bin", &secret).await;
    let tree: Value = mirror.get_json(&mirror.bob, "/api/models/bob/private/tree/main").await;
    let entry = tree.as_array().unwrap().iter().find(|e| e["path"] == "secret.bin").unwrap().clone();
    let xet_hash = entry["xetHash"].as_str().unwrap().to_owned();
    *lying.target.lock().unwrap() = (oid.clone(), xet_hash.clone());

    // Anyone: the listing, a token, then the victim's hash through the mirrored repo.
    let listed: Value =
        mirror.get("/api/models/alice/x/tree/main").send().await.unwrap().json().await.unwrap();
    assert!(listed.as_array().unwrap().iter().any(|e| e["path"] == "w.bin"), "the lie is listed");
    let token = mirror.get("/api/models/alice/x/xet-read-token/main").send().await.unwrap();
    assert_eq!(token.status(), 200);
    let token: Value = token.json().await.unwrap();
    let plan = mirror
        .get(&format!("/cas/v1/reconstructions/{xet_hash}"))
        .bearer_auth(token["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(plan.status(), 200, "the mirrored repo never fetched that object");
    assert!(!plan.text().await.unwrap().contains("fetch_info"));
    let body = mirror.get("/alice/x/resolve/main/w.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(body.is_empty(), "a zero-byte listing reads as zero bytes, never as the object it names");
}
