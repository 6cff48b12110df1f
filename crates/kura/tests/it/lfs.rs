//! Git LFS uploads through signed URLs, verified before they become usable.

use serde_json::{Value, json};

use crate::support::*;

pub(crate) async fn batch(server: &TestServer, token: &str, oid: &str, size: usize) -> Value {
    let response = server
        .post("/alice/m.git/info/lfs/objects/batch")
        .bearer_auth(token)
        .header("content-type", "application/vnd.git-lfs+json")
        .json(&json!({"operation": "upload", "transfers": ["basic", "multipart"], "objects": [{"oid": oid, "size": size}], "hash_algo": "sha256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub(crate) fn lfs_line(path: &str, oid: &str, size: usize) -> Value {
    json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}})
}

#[tokio::test]
async fn basic_upload_is_verified_then_committed_and_served() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let oid = sha256_hex(&data);

    // Committing before uploading is refused.
    let early =
        server.commit(&server.alice, "alice/m", "main", &[lfs_line("w.data", &oid, data.len())], None).await;
    assert_eq!(early.status(), 400);

    let plan = batch(&server, &server.alice, &oid, data.len()).await;
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap().to_owned();
    // Wrong bytes (same length) are rejected and leave nothing usable.
    let mut wrong = data.clone();
    wrong[0] ^= 1;
    let rejected = server.client.put(&href).body(wrong).send().await.unwrap();
    assert_eq!(rejected.status(), 400);
    let still_refused =
        server.commit(&server.alice, "alice/m", "main", &[lfs_line("w.data", &oid, data.len())], None).await;
    assert_eq!(still_refused.status(), 400);
    // Too many bytes are rejected too.
    let mut long = data.clone();
    long.push(0);
    assert_eq!(server.client.put(&href).body(long).send().await.unwrap().status(), 400);

    // No Authorization header: the URL authorises itself.
    assert_eq!(server.client.put(&href).body(data.clone()).send().await.unwrap().status(), 200);
    let verify = plan["objects"][0]["actions"]["verify"]["href"].as_str().unwrap();
    let verified = server
        .client
        .post(verify)
        .bearer_auth(&server.alice)
        .json(&json!({"oid": oid, "size": data.len()}))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    // A second batch for the same object needs no upload.
    let again = batch(&server, &server.alice, &oid, data.len()).await;
    assert!(again["objects"][0]["actions"].is_null());

    assert_eq!(
        server
            .commit(&server.alice, "alice/m", "main", &[lfs_line("w.data", &oid, data.len())], None)
            .await
            .status(),
        200
    );
    let head = server.head("/alice/m/resolve/main/w.data").send().await.unwrap();
    assert_eq!(header(&head, "etag"), Some(format!("\"{oid}\"").as_str()));
    assert_eq!(header(&head, "x-linked-size"), Some("200000"));
    let body = server.get("/alice/m/resolve/main/w.data").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&body), oid);
    let ranged = server.get("/alice/m/resolve/main/w.data").header("range", "bytes=-5").send().await.unwrap();
    assert_eq!(&ranged.bytes().await.unwrap()[..], &data[data.len() - 5..]);

    // The pointer is routed to LFS in .gitattributes.
    let attributes =
        server.get("/alice/m/resolve/main/.gitattributes").send().await.unwrap().text().await.unwrap();
    assert!(attributes.contains("w.data filter=lfs"), "{attributes}");
}

#[tokio::test]
async fn multipart_upload_assembles_parts() {
    let server = TestServer::start().await;
    assert_eq!(multipart_round_trip(&server, 3_500_000).await, 4);
}

/// Parts larger than the window kura joins them in (2 MiB), of a size that is no multiple of
/// a disk block, so the joined reads cross windows, blocks and parts at odd offsets.
#[tokio::test]
async fn multipart_parts_spanning_several_read_windows_join_byte_exact() {
    let server = TestServer::start_with(|c| {
        c.lfs_multipart_threshold_bytes = 6 << 20;
        c.lfs_part_bytes = (5 << 20) + 4097;
    })
    .await;
    assert_eq!(multipart_round_trip(&server, 12_000_001).await, 3);
}

/// Uploads `len` bytes through the multipart plan, commits and downloads them; answers how
/// many parts the plan had.
async fn multipart_round_trip(server: &TestServer, len: u32) -> usize {
    server.create_repo(&server.alice, "alice/m", false).await;
    let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8 ^ (i >> 16) as u8).collect();
    let oid = sha256_hex(&data);
    let plan = batch(server, &server.alice, &oid, data.len()).await;
    let upload = &plan["objects"][0]["actions"]["upload"];
    let chunk: usize = upload["header"]["chunk_size"].as_str().unwrap().parse().unwrap();
    let mut parts = Vec::new();
    for (i, slice) in data.chunks(chunk).enumerate() {
        let url = upload["header"][(i + 1).to_string()].as_str().unwrap();
        let response = server.client.put(url).body(slice.to_vec()).send().await.unwrap();
        assert_eq!(response.status(), 200);
        parts.push(json!({"partNumber": i + 1, "etag": header(&response, "etag").unwrap()}));
    }
    let complete = server
        .client
        .post(upload["href"].as_str().unwrap())
        .json(&json!({"oid": oid, "parts": parts}))
        .send()
        .await
        .unwrap();
    assert_eq!(complete.status(), 200);
    assert_eq!(
        server
            .commit(&server.alice, "alice/m", "main", &[lfs_line("big.bin", &oid, data.len())], None)
            .await
            .status(),
        200
    );
    let body = server.get("/alice/m/resolve/main/big.bin").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), data.len());
    assert!(body == data, "the joined parts are the uploaded bytes");
    parts.len()
}

#[tokio::test]
async fn forged_signed_urls_are_refused() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let oid = sha256_hex(b"abc");
    let plan = batch(&server, &server.alice, &oid, 3).await;
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap();
    // Change the signature's last character (to a different one, whatever it was).
    let last = if href.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &href[..href.len() - 1]);
    let response = server.client.put(&forged).body("abc").send().await.unwrap();
    assert_eq!(response.status(), 403);
    let garbage =
        server.client.put(format!("{}/_kura/lfs/nonsense", server.base)).body("abc").send().await.unwrap();
    assert_eq!(garbage.status(), 403);
    // Only writers get upload URLs for a branch; for a pull request (no ref, as
    // huggingface_hub's `create_pr` sends, or `refs/pr/N`) anyone who may contribute does.
    for (git_ref, status) in [(json!({"name": "refs/heads/main"}), 403), (json!(null), 200)] {
        let answer = server
            .post("/alice/m.git/info/lfs/objects/batch")
            .bearer_auth(&server.bob)
            .json(&json!({"operation": "upload", "ref": git_ref, "objects": [{"oid": oid, "size": 3}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "ref {git_ref}");
    }
    let answer = server
        .post("/alice/m.git/info/lfs/objects/batch")
        .bearer_auth(&server.alice_read)
        .json(&json!({"operation": "upload", "objects": [{"oid": oid, "size": 3}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403, "a read token never uploads");
}

#[tokio::test]
async fn batch_downloads_hand_out_working_urls_only_for_objects_of_the_repo() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let data = b"lfs download body".to_vec();
    let oid = sha256_hex(&data);
    let plan = batch(&server, &server.alice, &oid, data.len()).await;
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap();
    assert_eq!(server.client.put(href).body(data.clone()).send().await.unwrap().status(), 200);
    let unknown = sha256_hex(b"never uploaded");
    let response = server
        .post("/alice/m.git/info/lfs/objects/batch")
        .json(&json!({"operation": "download", "objects": [{"oid": oid, "size": data.len()}, {"oid": unknown, "size": 3}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let url = answer["objects"][0]["actions"]["download"]["href"].as_str().unwrap();
    let body = server.client.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], &data[..]);
    // A resuming git-lfs asks for the rest: the one Range parser answers 206, or 416 past the end.
    let rest = server.client.get(url).header("range", "bytes=4-").send().await.unwrap();
    assert_eq!(rest.status(), 206);
    assert_eq!(rest.headers()["content-range"], format!("bytes 4-{}/{}", data.len() - 1, data.len()));
    assert_eq!(&rest.bytes().await.unwrap()[..], &data[4..]);
    let past = server.client.get(url).header("range", format!("bytes={}-", data.len())).send().await.unwrap();
    assert_eq!(past.status(), 416);
    assert_eq!(past.headers()["content-range"], format!("bytes */{}", data.len()));
    assert_eq!(answer["objects"][1]["error"]["code"], 404);
    // Another repo cannot fetch it by oid.
    server.create_repo(&server.bob, "bob/other", false).await;
    let other: Value = server
        .post("/bob/other.git/info/lfs/objects/batch")
        .json(&json!({"operation": "download", "objects": [{"oid": oid, "size": data.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other["objects"][0]["error"]["code"], 404);
}

/// git-lfs offers only "basic": it must get one whole-object PUT whatever the size, since it
/// would PUT the whole body to the Hub-style multipart completion URL (a compat trap).
#[tokio::test]
async fn clients_without_multipart_get_basic_uploads_above_the_threshold() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let data: Vec<u8> = (0..(4u32 << 20)).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    let oid = sha256_hex(&data);
    let batch_with = |transfers: Value| {
        server
            .post("/alice/m.git/info/lfs/objects/batch")
            .bearer_auth(&server.alice)
            .json(&json!({"operation": "upload", "transfers": transfers, "objects": [{"oid": oid, "size": data.len()}]}))
            .send()
    };
    let hub_client: Value = batch_with(json!(["basic", "multipart"])).await.unwrap().json().await.unwrap();
    assert!(
        hub_client["objects"][0]["actions"]["upload"]["header"]["chunk_size"].is_string(),
        "{hub_client}"
    );
    let git_lfs: Value = batch_with(json!(["basic"])).await.unwrap().json().await.unwrap();
    let upload = &git_lfs["objects"][0]["actions"]["upload"];
    assert!(upload["header"].get("chunk_size").is_none(), "{git_lfs}");
    let put = server.client.put(upload["href"].as_str().unwrap()).body(data.clone()).send().await.unwrap();
    assert_eq!(put.status(), 200);
    let commit =
        server.commit(&server.alice, "alice/m", "main", &[lfs_line("big.bin", &oid, data.len())], None).await;
    assert_eq!(commit.status(), 200);
    let back = server.get("/alice/m/resolve/main/big.bin").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&back), oid);
}
