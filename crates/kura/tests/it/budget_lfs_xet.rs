//! Budgets of the LFS batch API and of Xet shard checks (issue 12, findings 1 and 2), against a
//! real server under a memory cap: small requests that used to make the server build answers
//! or chunk lists without bound.

use std::time::{Duration, Instant};

use kura_cas::{CompressionScheme, FileEntry, FileTerm, MerkleHash, Shard, XorbWriter};
use serde_json::{Value, json};

use crate::capped::CappedServer;

fn oid(seed: u32) -> String {
    crate::support::sha256_hex(&seed.to_le_bytes())
}

async fn batch(server: &CappedServer, repo: &str, objects: Value) -> reqwest::Response {
    batch_as(server, &server.alice, repo, objects).await
}

async fn batch_as(server: &CappedServer, token: &str, repo: &str, objects: Value) -> reqwest::Response {
    let body = json!({"operation": "upload", "ref": {"name": "refs/heads/main"}, "transfers": ["basic", "multipart"], "objects": objects});
    server
        .client
        .post(format!("{}/{repo}.git/info/lfs/objects/batch", server.base))
        .bearer_auth(token)
        .header("Accept", "application/vnd.git-lfs+json")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Finding 1: a 174-byte batch request declaring a 256 TiB object asked for 4 M part URLs.
#[tokio::test]
async fn an_lfs_batch_refuses_a_declared_size_above_the_limit() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/big", false).await;
    let objects = json!([{"oid": oid(1), "size": (1u64 << 48) - 1}, {"oid": oid(2), "size": 10}]);
    let response = batch(&server, "alice/big", objects).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.len() < 4096, "answer of {} bytes", text.len());
    let body: Value = serde_json::from_str(&text).unwrap();
    let refused = &body["objects"][0];
    assert_eq!(refused["error"]["code"], 422, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("exceeds the limit"), "{refused}");
    assert!(refused.get("actions").is_none());
    assert!(body["objects"][1]["actions"]["upload"]["href"].is_string(), "the small object is planned");
    let objects = json!([{"oid": oid(1), "size": (1u64 << 48) - 1}]);
    let stranger = batch_as(&server, &server.bob, "alice/big", objects).await;
    assert_eq!(stranger.status(), 403, "the size check does not come before the write check");
    server.assert_healthy().await;
}

/// Finding 1: a full batch of the largest objects shares one budget of part URLs.
#[tokio::test]
async fn an_lfs_batch_shares_one_budget_of_part_urls() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/big", false).await;
    let size = 50u64 << 30;
    let objects: Vec<Value> = (0..1000).map(|i| json!({"oid": oid(i), "size": size})).collect();
    let started = Instant::now();
    let response = batch(&server, "alice/big", json!(objects)).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(text.len() < 8 << 20, "answer of {} bytes", text.len());
    let body: Value = serde_json::from_str(&text).unwrap();
    let (mut multipart, mut basic, mut part_urls) = (0, 0, 0u64);
    for object in body["objects"].as_array().unwrap() {
        let header = object["actions"]["upload"]["header"].as_object().unwrap();
        match header.get("chunk_size") {
            Some(chunk) => {
                let chunk: u64 = chunk.as_str().unwrap().parse().unwrap();
                let parts = header.len() as u64 - 1;
                assert!(parts <= 10_000 && parts * chunk >= size, "{parts} parts of {chunk}");
                part_urls += parts;
                multipart += 1;
            }
            None => basic += 1,
        }
    }
    assert!(part_urls <= 10_000, "{part_urls} part URLs");
    assert!(multipart > 0, "multipart is still offered within the budget");
    assert_eq!(multipart + basic, 1000, "past the budget, objects are PUT whole");
    server.assert_healthy().await;
}

/// A stored xorb of `count` tiny distinct chunks, and its chunk hashes.
fn many_chunk_xorb(count: u32) -> (Vec<u8>, MerkleHash) {
    let mut writer = XorbWriter::new();
    for i in 0..count {
        writer.add_chunk(&(i ^ 0x5a5a_0000).to_le_bytes(), CompressionScheme::None).unwrap();
    }
    let (xorb, info) = writer.finish();
    (xorb, info.hash)
}

/// A shard with one file whose `terms` terms each cover all `chunks` chunks of `xorb`.
fn repeating_shard(xorb: MerkleHash, chunks: u32, terms: usize) -> Vec<u8> {
    let term = FileTerm {
        xorb_hash: xorb,
        xorb_flags: 0,
        unpacked_len: chunks * 4,
        chunk_start: 0,
        chunk_end: chunks,
    };
    let entry = FileEntry {
        file_hash: MerkleHash::from_hex(&"ab".repeat(32)).unwrap(),
        terms: vec![term; terms],
        verification: None,
        sha256: Some(kura_model::Sha256::digest(b"claimed")),
    };
    Shard { files: vec![entry], xorbs: vec![], footer: None }.to_bytes()
}

async fn upload_xorb(server: &CappedServer, token: &str, cas: &str, xorb: Vec<u8>, hash: MerkleHash) {
    let url = format!("{cas}/v1/xorbs/default/{}", hash.to_hex());
    let response = server.client.post(url).bearer_auth(token).body(xorb).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

/// Finding 2: a 2.9 MB shard repeating one term over an 8,192-chunk xorb named 491 M chunks;
/// the server built that list before checking any hash.
#[tokio::test]
async fn a_shard_whose_terms_cover_too_many_chunks_is_refused_before_any_work() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/x", false).await;
    let (token, cas) = server.xet_write_token("alice/x").await;
    let (xorb, hash) = many_chunk_xorb(8192);
    upload_xorb(&server, &token, &cas, xorb, hash).await;
    let shard = repeating_shard(hash, 8192, 60_000);
    assert!(shard.len() < 3 << 20);
    let started = Instant::now();
    let response =
        server.client.post(format!("{cas}/v1/shards")).bearer_auth(&token).body(shard).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("more than the"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    server.assert_healthy().await;
}

/// Finding 2: shards within the budget are checked without holding their chunk lists and
/// without stalling other requests.
#[tokio::test]
async fn checking_large_shards_keeps_memory_flat_and_the_server_responsive() {
    let budget = (2u64 << 20).to_string();
    let mut server = CappedServer::start_with(&[("KURA_LIMIT_XET_MAX_SHARD_CHUNK_REFS", &budget)]).await;
    server.create_repo(&server.alice.clone(), "alice/x", false).await;
    let (token, cas) = server.xet_write_token("alice/x").await;
    let (xorb, hash) = many_chunk_xorb(8192);
    upload_xorb(&server, &token, &cas, xorb, hash).await;
    // 256 terms of 8,192 chunks: exactly the budget, so the whole file hash is computed (and
    // found wrong) for each of two concurrent shards.
    let shard = repeating_shard(hash, 8192, 256);
    let send = |shard: Vec<u8>| {
        let request = server.client.post(format!("{cas}/v1/shards")).bearer_auth(&token).body(shard);
        async move { request.send().await.unwrap() }
    };
    let uploads = async { tokio::join!(send(shard.clone()), send(shard)) };
    let probe = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let started = Instant::now();
            let health = server.client.get(format!("{}/health", server.base)).send().await.unwrap();
            assert_eq!(health.status(), 200);
            slowest = slowest.max(started.elapsed());
        }
        slowest
    };
    let ((first, second), slowest) = tokio::join!(uploads, probe);
    for response in [first, second] {
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("do not hash to the file hash"), "{body}");
    }
    assert!(slowest < Duration::from_secs(1), "/health took {slowest:?} while shards were checked");
    server.assert_healthy().await;
}
