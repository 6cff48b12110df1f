//! The mirror fetching through the upstream's Xet reconstruction: a new version of a file
//! costs only its new chunks upstream, and whatever goes wrong on that path ends in the same
//! verified bytes through `resolve`.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde_json::Value;

use crate::mirror::{commit_lfs, upstream_with_model};
use crate::support::*;

const SIZE: usize = 6_000_000;

/// What a wrapped upstream does to the xorb ranges it passes on.
#[derive(Clone, Copy)]
enum Twist {
    /// Breaks the first range off after this many bytes.
    BreakAfter(usize),
    /// Flips byte 100 of every range (inside the first chunk's payload).
    Corrupt,
}

/// An upstream port that twists xorb ranges and records where `resolve` downloads start.
struct Twisted {
    inner: Arc<dyn kura_core::Upstream>,
    twist: Twist,
    broke: std::sync::atomic::AtomicBool,
    /// Bytes of the broken range passed on before the break.
    delivered: Arc<std::sync::atomic::AtomicU64>,
    resolves: Mutex<Vec<u64>>,
}

#[async_trait::async_trait]
impl kura_core::Upstream for Twisted {
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
        offset: u64,
        token: Option<&str>,
    ) -> Result<kura_core::UpstreamBody, kura_core::UpstreamError> {
        self.resolves.lock().unwrap().push(offset);
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
        let mut answer = self.inner.open_url(url, start, end).await?;
        let mut seen = 0usize;
        match self.twist {
            Twist::BreakAfter(limit) if !self.broke.swap(true, std::sync::atomic::Ordering::Relaxed) => {
                let delivered = self.delivered.clone();
                answer.body = answer
                    .body
                    .map(move |piece| {
                        let piece = piece?;
                        seen += piece.len();
                        if seen > limit {
                            return Err(std::io::Error::other("connection reset"));
                        }
                        delivered.fetch_add(piece.len() as u64, std::sync::atomic::Ordering::Relaxed);
                        Ok(piece)
                    })
                    .boxed();
            }
            Twist::BreakAfter(_) => {}
            Twist::Corrupt => {
                answer.body = answer
                    .body
                    .map(move |piece| {
                        let piece = piece?;
                        let mut bytes = piece.to_vec();
                        if (seen..seen + bytes.len()).contains(&100) {
                            bytes[100 - seen] ^= 0x55;
                        }
                        seen += piece.len();
                        Ok(bytes.into())
                    })
                    .boxed();
            }
        }
        Ok(answer)
    }
}

async fn twisted_mirror(upstream: &TestServer, twist: Twist) -> (TestServer, Arc<Twisted>) {
    let twisted = Arc::new(Twisted {
        inner: Arc::new(kura::upstream::HttpUpstream::new(&upstream.base).unwrap()),
        twist,
        broke: std::sync::atomic::AtomicBool::new(false),
        delivered: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        resolves: Mutex::new(Vec::new()),
    });
    let (port, url) = (twisted.clone(), upstream.base.clone());
    let mirror = TestServer::start_wrapped(
        move |c| {
            let mirror = kura_core::MirrorConfig { url: url.clone(), ..Default::default() };
            c.upstream = Some(kura::config::UpstreamConfig { url, mirror });
        },
        move |hub| hub.with_upstream(port),
    )
    .await;
    (mirror, twisted)
}

async fn download(mirror: &TestServer, path: &str) -> Vec<u8> {
    let response = mirror.get(path).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_new_version_costs_only_its_new_chunks_upstream() {
    let v1 = random_bytes(SIZE, 21);
    let upstream = upstream_with_model(&v1).await;
    let mirror = TestServer::start_mirror(&upstream.base, |_| {}).await;
    let before = metric(&upstream, "kura_http_response_bytes_total").await;
    assert!(download(&mirror, "/alice/m/resolve/main/weights.bin").await == v1, "v1 byte-exact");
    let first = metric(&mirror, "kura_mirror_upstream_bytes_total").await;
    assert!(first >= SIZE as u64 && first < SIZE as u64 * 105 / 100, "v1 cost {first} bytes upstream");
    assert_eq!(metric(&mirror, "kura_mirror_reused_bytes_total").await, 0);
    let sent = metric(&upstream, "kura_http_response_bytes_total").await - before;
    assert!(sent < SIZE as u64 * 105 / 100, "the upstream sent {sent} bytes");

    // Version 2 changes 50 kB in the middle: the upstream stores only the new chunks.
    let mut v2 = v1.clone();
    v2[3_000_000..3_050_000].copy_from_slice(&random_bytes(50_000, 22));
    let commit: Value = commit_lfs(&upstream, "alice/m", "weights.bin", &v2).await;
    let at = commit["commitOid"].as_str().unwrap().to_owned();
    assert!(download(&mirror, &format!("/alice/m/resolve/{at}/weights.bin")).await == v2, "v2 byte-exact");
    let second = metric(&mirror, "kura_mirror_upstream_bytes_total").await - first;
    let reused = metric(&mirror, "kura_mirror_reused_bytes_total").await;
    assert!(second < SIZE as u64 / 4, "v2 cost {second} bytes upstream, not the whole file");
    assert!(reused > SIZE as u64 / 2, "{reused} bytes of v2 were rebuilt from v1");

    // Both versions are held: served again without the upstream, byte-exact.
    let third = metric(&mirror, "kura_mirror_upstream_bytes_total").await;
    assert!(download(&mirror, &format!("/alice/m/resolve/{at}/weights.bin")).await == v2);
    assert!(download(&mirror, "/alice/m/resolve/main/weights.bin").await.len() == SIZE);
    assert!(metric(&mirror, "kura_mirror_upstream_bytes_total").await - third < 64 << 10);
}

#[tokio::test]
async fn a_xorb_range_that_breaks_off_goes_on_through_resolve_from_where_it_stopped() {
    let weights = random_bytes(SIZE, 23);
    let upstream = upstream_with_model(&weights).await;
    let (mirror, twisted) = twisted_mirror(&upstream, Twist::BreakAfter(1_500_000)).await;
    assert!(download(&mirror, "/alice/m/resolve/main/weights.bin").await == weights, "byte-exact");
    let resolves = twisted.resolves.lock().unwrap().clone();
    assert_eq!(resolves.len(), 1, "one resolve download: {resolves:?}");
    // It resumed where the decoded chunks ended: within one record (8 bytes of header and at
    // most 128 KiB) of the bytes the broken range delivered.
    let delivered = twisted.delivered.load(std::sync::atomic::Ordering::Relaxed);
    assert!(delivered > 0 && delivered <= 1_500_000, "{delivered} bytes delivered");
    let at = resolves[0];
    assert!(
        at <= delivered && at + (128 << 10) + 8 >= delivered,
        "resumed at {at}, {delivered} bytes delivered"
    );
    let fetched = metric(&mirror, "kura_mirror_upstream_bytes_total").await;
    assert!(fetched < SIZE as u64 * 105 / 100, "{fetched} bytes upstream for a {SIZE}-byte file");
}

#[tokio::test]
async fn chunks_that_fail_verification_are_never_held_and_the_next_fetch_uses_resolve() {
    let weights = random_bytes(SIZE, 24);
    let upstream = upstream_with_model(&weights).await;
    let (mirror, twisted) = twisted_mirror(&upstream, Twist::Corrupt).await;
    let first = mirror.get("/alice/m/resolve/main/weights.bin").send().await.unwrap();
    if let Ok(body) = first.bytes().await {
        assert!(body.len() < SIZE, "a corrupted rebuild never arrives whole");
    }
    assert!(twisted.resolves.lock().unwrap().is_empty(), "the first try went through Xet");
    assert!(download(&mirror, "/alice/m/resolve/main/weights.bin").await == weights, "then byte-exact");
    assert_eq!(twisted.resolves.lock().unwrap().clone(), vec![0], "through resolve, from the start");
}

/// `data` with 50 kB in the middle replaced: a fine-tune of it, for the chunk store.
fn tuned(data: &[u8], seed: u64) -> Vec<u8> {
    let mut out = data.to_vec();
    out[3_000_000..3_050_000].copy_from_slice(&random_bytes(50_000, seed));
    out
}

#[tokio::test]
async fn held_chunks_are_reused_across_repos_only_from_repos_the_upstream_says_are_public() {
    let (base, secret) = (random_bytes(SIZE, 25), random_bytes(SIZE, 26));
    let upstream = upstream_with_model(&base).await;
    for (repo, data) in
        [("alice/tuned", tuned(&base, 27)), ("alice/g", secret.clone()), ("alice/p", tuned(&secret, 28))]
    {
        assert_eq!(upstream.create_repo(&upstream.alice, repo, false).await.status(), 200);
        commit_lfs(&upstream, repo, "weights.bin", &data).await;
    }
    crate::mirror::gate(&upstream, "alice/g").await;
    let mirror = TestServer::start_mirror(&upstream.base, |m| m.forward_unknown_tokens = true).await;
    let reused = || metric(&mirror, "kura_mirror_reused_bytes_total");

    // A public base, then a public fine-tune in another repo: rebuilt from the base.
    assert!(download(&mirror, "/alice/m/resolve/main/weights.bin").await == base);
    assert!(download(&mirror, "/alice/tuned/resolve/main/weights.bin").await == tuned(&base, 27));
    let from_public = reused().await;
    assert!(from_public > SIZE as u64 / 2, "only {from_public} bytes reused from a public repo");

    // A gated file fetched for a caller with access upstream, then a public file sharing its
    // chunks: those chunks are fetched again, never read from the gated repo's holding.
    let granted =
        mirror.get("/alice/g/resolve/main/weights.bin").bearer_auth(&upstream.alice).send().await.unwrap();
    assert_eq!(granted.status(), 200);
    assert!(granted.bytes().await.unwrap().as_ref() == secret.as_slice());
    let fetched = metric(&mirror, "kura_mirror_upstream_bytes_total").await;
    assert!(download(&mirror, "/alice/p/resolve/main/weights.bin").await == tuned(&secret, 28));
    assert_eq!(reused().await, from_public, "nothing was rebuilt from the gated repo's file");
    let again = metric(&mirror, "kura_mirror_upstream_bytes_total").await - fetched;
    assert!(again >= SIZE as u64, "the public file was fetched whole ({again} bytes)");
}
