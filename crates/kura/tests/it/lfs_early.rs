//! Multipart uploads converted while their parts arrive: in order, the completion needs none
//! of the stored parts back; out of order, it joins them as before; wrong bytes are refused
//! either way, and nothing of them is recorded.

use serde_json::{Value, json};

use crate::lfs::{batch, lfs_line};
use crate::support::*;

/// Bytes of an upload in 4 parts (the test server's parts are 1 MiB).
fn data() -> Vec<u8> {
    (0..3_500_000u32).map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8).collect()
}

/// PUTs the parts of `data` in `order` (part numbers, 1-based) and answers the completion's
/// URL and body. The batch announced `oid`, which may not be the bytes' SHA-256.
async fn put_parts(server: &TestServer, oid: &str, data: &[u8], order: &[usize]) -> (String, Value) {
    let plan = batch(server, &server.alice, oid, data.len()).await;
    let upload = &plan["objects"][0]["actions"]["upload"];
    let chunk: usize = upload["header"]["chunk_size"].as_str().unwrap().parse().unwrap();
    let slices: Vec<&[u8]> = data.chunks(chunk).collect();
    assert!((1..=slices.len()).all(|n| order.contains(&n)), "every part is sent");
    let mut parts = Vec::new();
    for &n in order {
        let url = upload["header"][n.to_string()].as_str().unwrap();
        let response = server.client.put(url).body(slices[n - 1].to_vec()).send().await.unwrap();
        assert_eq!(response.status(), 200);
        parts.push(json!({"partNumber": n, "etag": header(&response, "etag").unwrap()}));
    }
    (upload["href"].as_str().unwrap().to_owned(), json!({"oid": oid, "parts": parts}))
}

async fn complete(server: &TestServer, url: &str, body: &Value) -> u16 {
    server.client.post(url).json(body).send().await.unwrap().status().as_u16()
}

/// Removes every stored part of every upload.
fn delete_stored_parts(server: &TestServer) {
    let parts = server.data_dir().join("blobs/lfs/uploads");
    assert!(parts.is_dir(), "parts are stored under {}", parts.display());
    std::fs::remove_dir_all(parts).unwrap();
}

async fn assert_downloads(server: &TestServer, oid: &str, data: &[u8]) {
    let line = lfs_line("big.bin", oid, data.len());
    assert_eq!(server.commit(&server.alice, "alice/m", "main", &[line], None).await.status(), 200);
    let body = server.get("/alice/m/resolve/main/big.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(body == data, "the stored object is the uploaded bytes");
}

#[tokio::test]
async fn parts_in_order_are_converted_as_they_arrive() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let data = data();
    let oid = sha256_hex(&data);
    let (url, body) = put_parts(&server, &oid, &data, &[1, 2, 3, 4]).await;
    // The completion can only succeed without its parts if they were converted already.
    delete_stored_parts(&server);
    assert_eq!(complete(&server, &url, &body).await, 200);
    assert_downloads(&server, &oid, &data).await;
}

#[tokio::test]
async fn parts_out_of_order_are_joined_at_the_completion() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let data = data();
    let oid = sha256_hex(&data);
    // Without the stored parts, an out-of-order upload cannot complete: it needs them.
    let (url, body) = put_parts(&server, &oid, &data, &[2, 1, 3, 4]).await;
    delete_stored_parts(&server);
    assert_ne!(complete(&server, &url, &body).await, 200);
    // With them, it completes by joining them.
    let (url, body) = put_parts(&server, &oid, &data, &[1, 3, 2, 4]).await;
    assert_eq!(complete(&server, &url, &body).await, 200);
    // A part uploaded twice (a retry) breaks the order too; the join is still exact.
    let other: Vec<u8> = data.iter().rev().copied().collect();
    let other_oid = sha256_hex(&other);
    let (url, body) = put_parts(&server, &other_oid, &other, &[1, 2, 2, 3, 4]).await;
    assert_eq!(complete(&server, &url, &body).await, 200);
    assert_downloads(&server, &oid, &data).await;
    let line = lfs_line("other.bin", &other_oid, other.len());
    assert_eq!(server.commit(&server.alice, "alice/m", "main", &[line], None).await.status(), 200);
    let got = server.get("/alice/m/resolve/main/other.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(got == other);
}

#[tokio::test]
async fn parts_that_do_not_hash_to_the_oid_are_refused_and_nothing_is_recorded() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let data = data();
    let oid = sha256_hex(&data);
    let mut wrong = data.clone();
    wrong[2_000_000] ^= 1;
    for order in [[1, 2, 3, 4], [4, 3, 2, 1]] {
        let (url, body) = put_parts(&server, &oid, &wrong, &order).await;
        assert_eq!(complete(&server, &url, &body).await, 400, "order {order:?}");
    }
    let line = lfs_line("big.bin", &oid, data.len());
    let commit = server.commit(&server.alice, "alice/m", "main", &[line], None).await;
    assert_ne!(commit.status(), 200, "a commit may not name an object that was never stored");
}

/// Pseudo-random bytes, more than one ingest xorb (32 MiB) so a conversion writes xorbs
/// before the end of the body shows the SHA-256 is wrong.
fn large(seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    (0..(33u32 << 20) + 77)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// A failed conversion's xorbs are deleted a day later, not at once: another conversion of the
/// same bytes (anyone's) writes the same xorbs and may index them meanwhile; those are kept.
#[tokio::test]
async fn a_failed_conversions_xorbs_go_a_day_later_unless_indexed_meanwhile() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let xorbs = server.data_dir().join("blobs/xet/xorbs");
    let order: Vec<usize> = (1..=34).collect();
    let shared = large(7);
    let mut wrong = shared.clone();
    *wrong.last_mut().unwrap() ^= 1;
    let (url, body) = put_parts(&server, &sha256_hex(&shared), &wrong, &order).await;
    assert_eq!(complete(&server, &url, &body).await, 400);
    let after_shared = files_under(&xorbs);
    assert!(!after_shared.is_empty(), "the failed conversion wrote xorbs before it failed");

    let lone = large(11);
    let mut wrong = lone.clone();
    *wrong.last_mut().unwrap() ^= 1;
    let (url, body) = put_parts(&server, &sha256_hex(&lone), &wrong, &order).await;
    assert_eq!(complete(&server, &url, &body).await, 400);
    let lone_orphans: Vec<_> = files_under(&xorbs).difference(&after_shared).cloned().collect();
    assert!(!lone_orphans.is_empty());

    // The right bytes for the first oid: the same xorbs, written again and indexed.
    let oid = sha256_hex(&shared);
    let (url, body) = put_parts(&server, &oid, &shared, &order).await;
    assert_eq!(complete(&server, &url, &body).await, 200);
    assert!(after_shared.iter().all(|p| p.exists()), "kept until the day is over");

    server.advance_clock(std::time::Duration::from_secs(25 * 3600));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lone_orphans.iter().any(|p| p.exists()) {
        assert!(std::time::Instant::now() < deadline, "the orphans of the lone upload were never deleted");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(after_shared.iter().all(|p| p.exists()), "xorbs indexed meanwhile are kept");
    let line = lfs_line("shared.bin", &oid, shared.len());
    assert_eq!(server.commit(&server.alice, "alice/m", "main", &[line], None).await.status(), 200);
    let got = server.get("/alice/m/resolve/main/shared.bin").send().await.unwrap().bytes().await.unwrap();
    assert!(got == shared, "the file whose xorbs a failed conversion also wrote reads back whole");
}
