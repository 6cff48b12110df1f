//! Crash safety: the real `kura serve` binary is killed with SIGKILL in the middle of uploads
//! and restarted on the same data dir. Nothing half-uploaded becomes visible, no index row
//! points at missing bytes (`kura fsck` passes), and the blobs the crash left behind are
//! orphans that `kura fsck --delete-orphans-now` removes. Also checks that fsck does fail
//! when a blob is deleted behind the store's back.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use kura_cas::{
    CompressionScheme, FileEntry, FileTerm, MerkleNode, Shard, XorbWriter, chunk_boundaries, file_hash,
    verification_range_hash,
};
use kura_model::Sha256;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{files_under, sha256_hex};

/// `kura` with the given arguments on `data_dir`, ignoring any `KURA_*` settings around us.
fn kura(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kura"));
    command.args(args).arg("--data-dir").arg(data_dir).env("KURA_LOG", "warn");
    for var in ["KURA_CONFIG", "KURA_DATABASE_URL", "KURA_STORAGE", "KURA_LISTEN", "KURA_PUBLIC_URL"] {
        command.env_remove(var);
    }
    command
}

fn run(data_dir: &Path, args: &[&str]) -> Output {
    kura(data_dir, args).stderr(Stdio::inherit()).output().expect("running kura")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A `kura serve` process; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Server {
    /// Starts the binary on a free port and returns once it has bound its listener.
    fn start(data_dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let mut child = kura(data_dir, &["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-url", &base])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning kura serve");
        // `serve` prints its banner after binding.
        let mut banner = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        assert!(banner.starts_with("kura serving"), "unexpected banner {banner:?}");
        Self { child, base, client: reqwest::Client::new() }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn batch(&self, token: &str, oid: &str, size: u64) -> Value {
        let response = self
            .client
            .post(format!("{}/alice/m.git/info/lfs/objects/batch", self.base))
            .bearer_auth(token)
            .header("content-type", "application/vnd.git-lfs+json")
            .json(&json!({"operation": "upload", "objects": [{"oid": oid, "size": size}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn commit_lfs(&self, token: &str, path: &str, oid: &str, size: u64) -> reqwest::StatusCode {
        let header = json!({"key": "header", "value": {"summary": "add", "description": ""}});
        let line =
            json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}});
        self.client
            .post(format!("{}/api/models/alice/m/commit/main", self.base))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(format!("{header}\n{line}"))
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn resolve(&self, path: &str) -> reqwest::StatusCode {
        let url = format!("{}/alice/m/resolve/main/{path}", self.base);
        self.client.get(url).send().await.unwrap().status()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data dir with user `alice` (write token returned) and a server on it with repo `alice/m`.
async fn setup() -> (tempfile::TempDir, String, Server) {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["user", "create", "alice"]).status.success());
    let token = run(dir.path(), &["token", "create", "alice", "--role", "write"]);
    assert!(token.status.success());
    let token = stdout(&token).trim().to_owned();
    let server = Server::start(dir.path());
    let created = server
        .client
        .post(format!("{}/api/repos/create", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "m", "organization": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    (dir, token, server)
}

/// Every file under the xorb prefix of the local blob store.
fn xorb_files(data_dir: &Path) -> BTreeSet<PathBuf> {
    files_under(&data_dir.join("blobs/xet/xorbs"))
}

/// Deterministic, incompressible-looking bytes (xorshift), generated a block at a time.
fn block(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[tokio::test]
async fn lfs_upload_killed_midway_leaves_only_orphans() {
    let (dir, token, server) = setup().await;
    // A finished upload, so the store has indexed xorbs to keep.
    let small = block(1, 300_000);
    let small_oid = sha256_hex(&small);
    let plan = server.batch(&token, &small_oid, small.len() as u64).await;
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap();
    assert_eq!(server.client.put(href).body(small.clone()).send().await.unwrap().status(), 200);
    assert_eq!(server.commit_lfs(&token, "small.bin", &small_oid, small.len() as u64).await, 200);
    let before = xorb_files(dir.path());
    assert!(!before.is_empty());

    // A 300 MB upload, streamed by hand so the server can be killed while it runs. The oid
    // is never checked: the server dies long before the end of the body.
    let size: u64 = 300 << 20;
    let big_oid = sha256_hex(b"the body never finishes");
    let plan = server.batch(&token, &big_oid, size).await;
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap().to_owned();
    let path = href.strip_prefix(&server.base).expect("upload URL on this server");
    let mut socket = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut sent = 0u64;
    while xorb_files(dir.path()).len() < before.len() + 2 {
        assert!(sent < size, "the server wrote no xorb while receiving the whole body");
        socket.write_all(&block(sent, 1 << 20)).await.unwrap();
        sent += 1 << 20;
    }
    server.kill();
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest).await;
    let after_crash = xorb_files(dir.path());
    assert!(after_crash.len() > before.len(), "the crash left xorb blobs behind");

    let server = Server::start(dir.path());
    let plan = server.batch(&token, &big_oid, size).await;
    assert!(plan["objects"][0]["actions"]["upload"].is_object(), "still to be uploaded: {plan}");
    assert_eq!(server.commit_lfs(&token, "big.bin", &big_oid, size).await, 400);
    assert_eq!(server.resolve("big.bin").await, 404);
    assert_eq!(server.resolve("small.bin").await, 200);

    let check = run(dir.path(), &["fsck"]);
    let report = stdout(&check);
    assert!(check.status.success(), "fsck failed:\n{report}");
    let orphans = report.lines().filter(|l| l.starts_with("orphan ") && l.ends_with("kept")).count();
    assert_eq!(orphans, after_crash.len() - before.len(), "{report}");
    assert!(report.contains("0 problem(s)"), "{report}");

    let cleanup = run(dir.path(), &["fsck", "--delete-orphans-now"]);
    assert!(cleanup.status.success(), "{}", stdout(&cleanup));
    assert_eq!(xorb_files(dir.path()), before, "only the orphans were deleted");
    assert_eq!(server.resolve("small.bin").await, 200);
    let again = run(dir.path(), &["fsck"]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("0 orphan blob(s)"), "{}", stdout(&again));
}

/// One xorb holding `data`, and the shard that registers it as a file.
fn pack(data: &[u8]) -> (Vec<u8>, kura_cas::MerkleHash, Shard) {
    let mut writer = XorbWriter::new();
    let mut nodes = Vec::new();
    let mut start = 0usize;
    let mut boundaries = chunk_boundaries(data);
    if boundaries.last().copied() != Some(data.len() as u64) {
        boundaries.push(data.len() as u64);
    }
    for end in boundaries {
        let chunk = &data[start..end as usize];
        nodes.push(MerkleNode::new(
            writer.add_chunk(chunk, CompressionScheme::Lz4).unwrap(),
            chunk.len() as u64,
        ));
        start = end as usize;
    }
    let (xorb, info) = writer.finish();
    let hashes: Vec<_> = nodes.iter().map(|n| n.hash).collect();
    let file = FileEntry {
        file_hash: file_hash(&nodes),
        terms: vec![FileTerm {
            xorb_hash: info.hash,
            xorb_flags: 0,
            unpacked_len: data.len() as u32,
            chunk_start: 0,
            chunk_end: nodes.len() as u32,
        }],
        verification: Some(vec![verification_range_hash(&hashes)]),
        sha256: Some(Sha256::digest(data)),
    };
    (xorb, info.hash, Shard { files: vec![file], xorbs: vec![], footer: None })
}

async fn cas_token(server: &Server, token: &str) -> String {
    let url = format!("{}/api/models/alice/m/xet-write-token/main", server.base);
    let body: Value = server.client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    body["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn xet_upload_killed_between_xorb_and_shard_shows_no_file() {
    let (dir, token, server) = setup().await;
    let data = block(7, 500_000);
    let (xorb, xorb_hash, shard) = pack(&data);
    let xorb_url = |server: &Server| format!("{}/cas/v1/xorbs/default/{}", server.base, xorb_hash.to_hex());
    let cas = cas_token(&server, &token).await;
    let put =
        server.client.post(xorb_url(&server)).bearer_auth(&cas).body(xorb.clone()).send().await.unwrap();
    assert_eq!(put.status(), 200);
    server.kill();

    let server = Server::start(dir.path());
    let cas = cas_token(&server, &token).await;
    // The xorb upload was atomic: it is indexed.
    let again: Value = server
        .client
        .post(xorb_url(&server))
        .bearer_auth(&cas)
        .body(xorb)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["was_inserted"], false);
    // But no file: the shard never arrived.
    let sha = sha256_hex(&data);
    assert_eq!(server.commit_lfs(&token, "x.bin", &sha, data.len() as u64).await, 400);
    assert_eq!(server.resolve("x.bin").await, 404);
    let file_hex = shard.files[0].file_hash.to_hex();
    let plan = server
        .client
        .get(format!("{}/cas/v1/reconstructions/{file_hex}", server.base))
        .bearer_auth(&cas)
        .send()
        .await
        .unwrap();
    assert_eq!(plan.status(), 404);
    let check = run(dir.path(), &["fsck"]);
    let report = stdout(&check);
    assert!(check.status.success(), "fsck failed:\n{report}");
    assert!(report.contains("checked 1 xorbs") && report.contains("0 orphan blob(s)"), "{report}");

    // Bytes deleted behind the store's back: fsck fails and names the blob.
    let hex = xorb_hash.to_hex();
    let key = format!("xet/xorbs/{}/{hex}", &hex[..2]);
    std::fs::remove_file(dir.path().join("blobs").join(&key)).unwrap();
    let broken = run(dir.path(), &["fsck"]);
    let report = stdout(&broken);
    assert!(!broken.status.success(), "fsck passed on a missing xorb:\n{report}");
    assert!(report.contains(&format!("PROBLEM xorb {hex}: blob {key} is missing")), "{report}");
    server.kill();
}
