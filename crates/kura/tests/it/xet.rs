//! Xet through the HTTP API: tokens, xorb and shard uploads (good and bad), commits naming the
//! SHA-256 from the shard, reconstruction and the plain-GET bridge.

use kura_cas::{
    CompressionScheme, FileEntry, FileTerm, MerkleNode, Shard, XorbWriter, chunk_boundaries, file_hash,
    verification_range_hash,
};
use kura_model::Sha256;
use serde_json::{Value, json};

use crate::support::*;

/// A file cut into Xet chunks and packed into one xorb.
pub(crate) struct Packed {
    pub(crate) data: Vec<u8>,
    pub(crate) xorb: Vec<u8>,
    pub(crate) xorb_hash: kura_cas::MerkleHash,
    pub(crate) shard: Shard,
}

pub(crate) fn pack(data: Vec<u8>) -> Packed {
    let mut writer = XorbWriter::new();
    let mut start = 0usize;
    let mut boundaries = chunk_boundaries(&data);
    if boundaries.last().copied() != Some(data.len() as u64) {
        boundaries.push(data.len() as u64);
    }
    let mut nodes = Vec::new();
    for end in boundaries {
        let chunk = &data[start..end as usize];
        let hash = writer.add_chunk(chunk, CompressionScheme::Lz4).unwrap();
        nodes.push(MerkleNode::new(hash, chunk.len() as u64));
        start = end as usize;
    }
    let (xorb, info) = writer.finish();
    let hashes: Vec<_> = nodes.iter().map(|n| n.hash).collect();
    let entry = FileEntry {
        file_hash: file_hash(&nodes),
        terms: vec![FileTerm {
            xorb_hash: info.hash,
            xorb_flags: 0,
            unpacked_len: data.len() as u32,
            chunk_start: 0,
            chunk_end: nodes.len() as u32,
        }],
        verification: Some(vec![verification_range_hash(&hashes)]),
        sha256: Some(Sha256::digest(&data)),
    };
    Packed {
        data,
        xorb,
        xorb_hash: info.hash,
        shard: Shard { files: vec![entry], xorbs: vec![], footer: None },
    }
}

async fn token(server: &TestServer, bearer: &str, repo: &str, kind: &str) -> reqwest::Response {
    server.get(&format!("/api/models/{repo}/xet-{kind}-token/main")).bearer_auth(bearer).send().await.unwrap()
}

pub(crate) async fn write_token(server: &TestServer, repo: &str) -> (String, String) {
    let response = token(server, &server.alice, repo, "write").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "x-xet-access-token").is_some());
    assert!(header(&response, "x-xet-token-expiration").is_some());
    let body: Value = response.json().await.unwrap();
    (body["accessToken"].as_str().unwrap().to_owned(), body["casUrl"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn xet_upload_commit_and_download_round_trip() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/x", false).await;
    let (cas_token, cas) = write_token(&server, "alice/x").await;
    assert_eq!(cas, format!("{}/cas", server.base));
    let packed = pack((0..400_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect());
    let xorb_url = format!("{cas}/v1/xorbs/default/{}", packed.xorb_hash.to_hex());
    let first: Value = server
        .client
        .post(&xorb_url)
        .bearer_auth(&cas_token)
        .body(packed.xorb.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["was_inserted"], true);
    let again: Value = server
        .client
        .post(&xorb_url)
        .bearer_auth(&cas_token)
        .body(packed.xorb.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["was_inserted"], false);
    let shard = server
        .client
        .post(format!("{cas}/v1/shards"))
        .bearer_auth(&cas_token)
        .body(packed.shard.to_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(shard.status(), 200);

    let sha = sha256_hex(&packed.data);
    let line = json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": sha, "size": packed.data.len()}});
    assert_eq!(server.commit(&server.alice, "alice/x", "main", &[line], None).await.status(), 200);

    let head = server.head("/alice/x/resolve/main/w.bin").send().await.unwrap();
    let file_hex = packed.shard.files[0].file_hash.to_hex();
    assert_eq!(header(&head, "x-xet-hash"), Some(file_hex.as_str()));
    assert!(header(&head, "link").unwrap().contains("rel=\"xet-auth\""));
    let tree: Value = server.get("/api/models/alice/x/tree/main").send().await.unwrap().json().await.unwrap();
    assert_eq!(
        tree.as_array().unwrap().iter().find(|e| e["path"] == "w.bin").unwrap()["xetHash"],
        file_hex.as_str()
    );

    // Plain GET rebuilds the bytes; ranges too.
    let body = server.get("/alice/x/resolve/main/w.bin").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&body), sha);
    let ranged = server
        .get("/alice/x/resolve/main/w.bin")
        .header("range", "bytes=100000-100009")
        .send()
        .await
        .unwrap();
    assert_eq!(&ranged.bytes().await.unwrap()[..], &packed.data[100_000..100_010]);

    // Reconstruction with a read token (anonymous works on a public repo).
    let read: Value =
        server.get("/api/models/alice/x/xet-read-token/main").send().await.unwrap().json().await.unwrap();
    let read_token = read["accessToken"].as_str().unwrap();
    let plan: Value = server
        .client
        .get(format!("{cas}/v1/reconstructions/{file_hex}"))
        .bearer_auth(read_token)
        .header("range", "bytes=70000-")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let offset = plan["offset_into_first_range"].as_u64().unwrap();
    let xorb_hex = packed.xorb_hash.to_hex();
    let fetch = &plan["fetch_info"][&xorb_hex][0];
    let (from, to) =
        (fetch["url_range"]["start"].as_u64().unwrap(), fetch["url_range"]["end"].as_u64().unwrap());
    let bytes = server
        .client
        .get(fetch["url"].as_str().unwrap())
        .header("range", format!("bytes={from}-{to}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bytes.status(), 206);
    let records = bytes.bytes().await.unwrap();
    let decoded = kura_cas::decode_records(&records).unwrap();
    assert_eq!(&decoded[offset as usize..], &packed.data[70_000..]);
    // The v2 plan (what hf_xet asks first, and all huggingface.js asks): the same terms, and
    // per xorb one signed URL per term with its one byte range.
    let v2: Value = server
        .client
        .get(format!("{cas}/v2/reconstructions/{file_hex}"))
        .bearer_auth(read_token)
        .header("range", "bytes=70000-")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v2["offset_into_first_range"], plan["offset_into_first_range"]);
    assert_eq!(v2["terms"], plan["terms"]);
    assert!(v2.get("fetch_info").is_none(), "{v2}");
    let entry = &v2["xorbs"][&xorb_hex][0];
    assert_eq!(entry["ranges"].as_array().unwrap().len(), 1, "{v2}");
    assert_eq!(entry["ranges"][0]["chunks"], plan["terms"][0]["range"]);
    let bytes_range = &entry["ranges"][0]["bytes"];
    let (v2_from, v2_to) = (bytes_range["start"].as_u64().unwrap(), bytes_range["end"].as_u64().unwrap());
    let fetched = server
        .client
        .get(entry["url"].as_str().unwrap())
        .header("range", format!("bytes={v2_from}-{v2_to}"))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 206);
    let decoded = kura_cas::decode_records(&fetched.bytes().await.unwrap()).unwrap();
    assert_eq!(&decoded[offset as usize..], &packed.data[70_000..]);
    let past_end = server
        .client
        .get(format!("{cas}/v1/reconstructions/{file_hex}"))
        .bearer_auth(read_token)
        .header("range", "bytes=400000-")
        .send()
        .await
        .unwrap();
    assert_eq!(past_end.status(), 416);
    // A fetch URL outside its signed range, or tampered with, is refused.
    let forged = format!("{}x", fetch["url"].as_str().unwrap());
    assert_eq!(server.client.get(&forged).send().await.unwrap().status(), 403);
    let wider = server
        .client
        .get(fetch["url"].as_str().unwrap())
        .header("range", format!("bytes=0-{}", to + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(wider.status(), 403);
}

#[tokio::test]
async fn bad_xorbs_shards_and_tokens_are_rejected() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/x", false).await;
    server.create_repo(&server.alice, "alice/other", false).await;
    let (cas_token, cas) = write_token(&server, "alice/x").await;
    let packed = pack((0..200_000u32).map(|i| (i % 241) as u8 ^ (i >> 9) as u8).collect());
    let url = format!("{cas}/v1/xorbs/default/{}", packed.xorb_hash.to_hex());

    assert_eq!(
        server.client.post(&url).body(packed.xorb.clone()).send().await.unwrap().status(),
        401,
        "no token"
    );
    assert_eq!(
        server
            .client
            .post(&url)
            .bearer_auth("forged.token")
            .body(packed.xorb.clone())
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let read = server
        .get("/api/models/alice/x/xet-read-token/main")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let read_token = read["accessToken"].as_str().unwrap();
    assert_eq!(
        server
            .client
            .post(&url)
            .bearer_auth(read_token)
            .body(packed.xorb.clone())
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let bob_write = token(&server, &server.bob, "alice/x", "write").await;
    assert_eq!(bob_write.status(), 403, "no write token without write access");

    let truncated = packed.xorb[..packed.xorb.len() - 7].to_vec();
    assert_eq!(
        server.client.post(&url).bearer_auth(&cas_token).body(truncated).send().await.unwrap().status(),
        400
    );
    let mut flipped = packed.xorb.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    assert_eq!(
        server.client.post(&url).bearer_auth(&cas_token).body(flipped).send().await.unwrap().status(),
        400
    );
    let wrong_hash = format!("{cas}/v1/xorbs/default/{}", "0".repeat(64));
    assert_eq!(
        server
            .client
            .post(&wrong_hash)
            .bearer_auth(&cas_token)
            .body(packed.xorb.clone())
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    // A shard naming a xorb that was never uploaded is refused and registers nothing.
    let shard_url = format!("{cas}/v1/shards");
    let response = server
        .client
        .post(&shard_url)
        .bearer_auth(&cas_token)
        .body(packed.shard.to_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let sha = sha256_hex(&packed.data);
    let line = json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": sha, "size": packed.data.len()}});
    assert_eq!(
        server.commit(&server.alice, "alice/x", "main", std::slice::from_ref(&line), None).await.status(),
        400
    );

    assert_eq!(
        server
            .client
            .post(&url)
            .bearer_auth(&cas_token)
            .body(packed.xorb.clone())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A wrong file hash, or a wrong verification hash, is refused.
    let mut lying = packed.shard.clone();
    lying.files[0].file_hash = kura_cas::MerkleHash::from_bytes([9; 32]);
    assert_eq!(
        server
            .client
            .post(&shard_url)
            .bearer_auth(&cas_token)
            .body(lying.to_bytes())
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let mut unverified = packed.shard.clone();
    unverified.files[0].verification = Some(vec![kura_cas::MerkleHash::from_bytes([1; 32])]);
    assert_eq!(
        server
            .client
            .post(&shard_url)
            .bearer_auth(&cas_token)
            .body(unverified.to_bytes())
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        server
            .client
            .post(&shard_url)
            .bearer_auth(&cas_token)
            .body(b"garbage".to_vec())
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        server.commit(&server.alice, "alice/x", "main", std::slice::from_ref(&line), None).await.status(),
        400
    );

    assert_eq!(
        server
            .client
            .post(&shard_url)
            .bearer_auth(&cas_token)
            .body(packed.shard.to_bytes())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        server.commit(&server.alice, "alice/x", "main", std::slice::from_ref(&line), None).await.status(),
        200
    );
    // The shard was registered for alice/x only: another repo cannot name the file.
    assert_eq!(server.commit(&server.alice, "alice/other", "main", &[line], None).await.status(), 400);
    let other_read = server
        .get("/api/models/alice/other/xet-read-token/main")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let file_hex = packed.shard.files[0].file_hash.to_hex();
    let plan = server
        .client
        .get(format!("{cas}/v1/reconstructions/{file_hex}"))
        .bearer_auth(other_read["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(plan.status(), 404);
    // Routes newer clients try first answer 404 so they fall back.
    for path in ["/v1/xorb-grants/default/abc", "/v2/shards", "/v1/chunks/default/abc"] {
        let response =
            server.client.post(format!("{cas}{path}")).bearer_auth(&cas_token).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

async fn stored_bytes(server: &TestServer) -> u64 {
    let text = server.get("/metrics").bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("kura_xet_stored_bytes ")).unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn lfs_upload(server: &TestServer, repo: &str, data: &[u8]) -> reqwest::StatusCode {
    let oid = sha256_hex(data);
    let plan: Value = server
        .post(&format!("/{repo}.git/info/lfs/objects/batch"))
        .bearer_auth(&server.alice)
        .json(&json!({"operation": "upload", "objects": [{"oid": oid, "size": data.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    match plan["objects"][0]["actions"]["upload"]["href"].as_str() {
        Some(href) => server.client.put(href).body(data.to_vec()).send().await.unwrap().status(),
        None => reqwest::StatusCode::OK,
    }
}

#[tokio::test]
async fn lfs_uploads_share_the_xet_store_and_dedupe() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/a", false).await;
    server.create_repo(&server.alice, "alice/b", false).await;
    let base: Vec<u8> = (0..2_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    assert_eq!(lfs_upload(&server, "alice/a", &base).await, 200);
    let after_first = stored_bytes(&server).await;
    assert!(after_first >= base.len() as u64, "stored {after_first}");

    // A wrong body leaves no xorbs behind.
    let mut wrong = base.clone();
    wrong[10] ^= 1;
    let oid = sha256_hex(&base[..1_000_000]);
    let plan: Value = server
        .post("/alice/b.git/info/lfs/objects/batch")
        .bearer_auth(&server.alice)
        .json(&json!({"operation": "upload", "objects": [{"oid": oid, "size": 1_000_000}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap();
    assert_eq!(server.client.put(href).body(wrong[..1_000_000].to_vec()).send().await.unwrap().status(), 400);
    assert_eq!(stored_bytes(&server).await, after_first, "a rejected upload stores nothing");

    // A new version with a small edit in the middle adds only the chunks around the edit.
    let mut edited = base.clone();
    for byte in &mut edited[1_000_000..1_000_100] {
        *byte ^= 0x5a;
    }
    assert_eq!(lfs_upload(&server, "alice/b", &edited).await, 200);
    let added = stored_bytes(&server).await - after_first;
    assert!(added < 400_000, "an edit of 100 bytes added {added} bytes");
    let line = json!({"key": "lfsFile", "value": {"path": "v2.bin", "algo": "sha256", "oid": sha256_hex(&edited), "size": edited.len()}});
    assert_eq!(server.commit(&server.alice, "alice/b", "main", &[line], None).await.status(), 200);
    let body = server.get("/alice/b/resolve/main/v2.bin").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(&edited));
}

#[tokio::test]
async fn lfs_batch_negotiates_xet_for_clients_that_offer_it() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/x", false).await;
    let oid = sha256_hex(b"negotiated");
    let answer: Value = server
        .post("/alice/x.git/info/lfs/objects/batch")
        .bearer_auth(&server.alice)
        .json(&json!({"operation": "upload", "ref": {"name": "refs/heads/main"}, "transfers": ["basic", "multipart", "xet"], "objects": [{"oid": oid, "size": 10}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["transfer"], "xet");
    let upload = &answer["objects"][0]["actions"]["upload"];
    assert!(upload["href"].as_str().unwrap().ends_with("/api/models/alice/x/xet-write-token/main"));
    assert_eq!(upload["header"]["X-Xet-Cas-Url"], format!("{}/cas", server.base));
    // The handed-out token is a working CAS write token.
    let token = upload["header"]["X-Xet-Access-Token"].as_str().unwrap();
    let garbage = server
        .client
        .post(format!("{}/cas/v1/shards", server.base))
        .bearer_auth(token)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400, "authenticated, then rejected as a malformed shard");
    let info: Value =
        server.get("/api/models/alice/x?expand=xetEnabled").send().await.unwrap().json().await.unwrap();
    assert_eq!(info["xetEnabled"], true);
}
