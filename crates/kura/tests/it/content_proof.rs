//! The attacker with an account and a repo of their own (bob) against someone else's content
//! (alice's private and gated files): content is read only through the repo's proof that it
//! acquired the object, and SHA-256s are computed, never taken from a client. One test per
//! finding of the security review (issue 11), each failing on the code before its fix.

use kura_model::Sha256;
use serde_json::{Value, json};

use crate::support::*;
use crate::xet::{Packed, pack};

/// Bytes of `len` derived from `seed` (so two seeds give different files of one size).
pub(crate) fn bytes(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed.wrapping_mul(97)) >> 11) as u8)
        .collect()
}

pub(crate) fn pointer_text(data: &[u8]) -> String {
    format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n",
        sha256_hex(data),
        data.len()
    )
}

pub(crate) fn lfs_line(path: &str, data: &[u8]) -> Value {
    json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha256_hex(data), "size": data.len()}})
}

/// Uploads `data` through the LFS batch API with `token`; the status of the PUT (200 when the
/// batch answered that nothing needs sending).
pub(crate) async fn lfs_put(server: &TestServer, token: &str, repo: &str, data: &[u8]) -> u16 {
    let plan: Value = server
        .post(&format!("/{repo}.git/info/lfs/objects/batch"))
        .bearer_auth(token)
        .json(&json!({"operation": "upload", "objects": [{"oid": sha256_hex(data), "size": data.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    match plan["objects"][0]["actions"]["upload"]["href"].as_str() {
        Some(href) => server.client.put(href).body(data.to_vec()).send().await.unwrap().status().as_u16(),
        None => 200,
    }
}

/// A private repo of alice holding `data` at `secret.bin`, uploaded through LFS.
async fn alice_secret(server: &TestServer, repo: &str, data: &[u8]) {
    assert_eq!(server.create_repo(&server.alice, repo, true).await.status(), 200);
    assert_eq!(lfs_put(server, &server.alice, repo, data).await, 200);
    let status =
        server.commit(&server.alice, repo, "main", &[lfs_line("secret.bin", data)], None).await.status();
    assert_eq!(status, 200);
}

/// A Xet write (or read) token of `bearer` for model `repo`.
pub(crate) async fn xet_token(server: &TestServer, bearer: &str, repo: &str, kind: &str) -> String {
    let response = server
        .get(&format!("/api/models/{repo}/xet-{kind}-token/main"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{kind} token for {repo}");
    let body: Value = response.json().await.unwrap();
    body["accessToken"].as_str().unwrap().to_owned()
}

/// Uploads a packed file's xorb, then its shard: the shard's status and body.
pub(crate) async fn xet_put(server: &TestServer, cas_token: &str, packed: &Packed) -> (u16, String) {
    let xorb = server
        .client
        .post(format!("{}/cas/v1/xorbs/default/{}", server.base, packed.xorb_hash.to_hex()))
        .bearer_auth(cas_token)
        .body(packed.xorb.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(xorb.status(), 200);
    let shard = server
        .client
        .post(format!("{}/cas/v1/shards", server.base))
        .bearer_auth(cas_token)
        .body(packed.shard.to_bytes())
        .send()
        .await
        .unwrap();
    (shard.status().as_u16(), shard.text().await.unwrap())
}

/// `packed`, with the shard claiming `sha256` for its file.
pub(crate) fn claiming(mut packed: Packed, sha256: &[u8]) -> Packed {
    packed.shard.files[0].sha256 = Some(Sha256::digest(sha256));
    packed
}

pub(crate) async fn resolve(
    server: &TestServer,
    token: Option<&str>,
    repo: &str,
    path: &str,
) -> (u16, Vec<u8>) {
    let mut request = server.get(&format!("/{repo}/resolve/main/{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_inline_pointer_to_another_repos_object_is_refused() {
    let server = TestServer::start().await;
    let secret = bytes(1, 300_000);
    alice_secret(&server, "alice/secret", &secret).await;
    assert_eq!(server.create_repo(&server.bob, "bob/steal", false).await.status(), 200);
    let before = server.head_sha(&server.bob, "bob/steal").await;

    // The pointer as inline bytes (the attack), and as an lfsFile line (already refused).
    let inline = file_line("p.bin", pointer_text(&secret).as_bytes());
    for line in [inline, lfs_line("p.bin", &secret)] {
        let response = server.commit(&server.bob, "bob/steal", "main", &[line], None).await;
        assert_eq!(response.status(), 400);
        let body = response.text().await.unwrap();
        assert!(body.contains("was not uploaded to this repo"), "{body}");
    }
    assert_eq!(server.head_sha(&server.bob, "bob/steal").await, before, "nothing committed");
    let (status, body) = resolve(&server, None, "bob/steal", "p.bin").await;
    assert_eq!(status, 404);
    assert!(!body.windows(64).any(|w| w == &secret[..64]));

    // Text that merely looks like a pointer to an object bob holds is fine (his own upload).
    let own = bytes(2, 1000);
    assert_eq!(lfs_put(&server, &server.bob, "bob/steal", &own).await, 200);
    let inline = file_line("own.bin", pointer_text(&own).as_bytes());
    assert_eq!(server.commit(&server.bob, "bob/steal", "main", &[inline], None).await.status(), 200);
    assert_eq!(resolve(&server, None, "bob/steal", "own.bin").await, (200, own));
}

#[tokio::test]
async fn a_false_sha256_claim_in_a_shard_is_refused_and_links_nothing() {
    let server = TestServer::start().await;
    let secret = bytes(3, 300_000);
    alice_secret(&server, "alice/secret", &secret).await;
    assert_eq!(server.create_repo(&server.bob, "bob/steal", false).await.status(), 200);
    let cas = xet_token(&server, &server.bob, "bob/steal", "write").await;

    // bob's own bytes, of the secret's size, claiming the secret's SHA-256.
    let (status, body) = xet_put(&server, &cas, &claiming(pack(bytes(4, secret.len())), &secret)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("does not match its content"), "{body}");

    // Nothing was linked: the commit naming the secret is refused, nothing can be read.
    let response = server.commit(&server.bob, "bob/steal", "main", &[lfs_line("s.bin", &secret)], None).await;
    assert_eq!(response.status(), 400);
    let (status, _) = resolve(&server, None, "bob/steal", "s.bin").await;
    assert_eq!(status, 404);
    let batch: Value = server
        .post("/bob/steal.git/info/lfs/objects/batch")
        .bearer_auth(&server.bob)
        .json(&json!({"operation": "download", "objects": [{"oid": sha256_hex(&secret), "size": secret.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(batch["objects"][0]["error"]["code"], 404, "{batch}");
    // The dedup query from bob's repo does not find the secret's first chunk.
    let chunk = kura_cas::chunk_and_hash(&secret)[0].hash.to_hex();
    let dedup = server
        .client
        .get(format!("{}/cas/v1/chunks/default/{chunk}", server.base))
        .bearer_auth(&cas)
        .send()
        .await
        .unwrap();
    assert_eq!(dedup.status(), 404);

    // A true claim is accepted (so the refusal is about the claim, not the upload).
    let mine = bytes(5, 200_000);
    assert_eq!(xet_put(&server, &cas, &pack(mine.clone())).await.0, 200);
    assert_eq!(
        server.commit(&server.bob, "bob/steal", "main", &[lfs_line("m.bin", &mine)], None).await.status(),
        200
    );
    assert_eq!(resolve(&server, None, "bob/steal", "m.bin").await, (200, mine));
}

#[tokio::test]
async fn a_preregistered_hash_cannot_poison_a_later_upload() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.bob, "bob/trap", false).await.status(), 200);
    let cas = xet_token(&server, &server.bob, "bob/trap", "write").await;
    // alice will publish these two files later, one through LFS and one through Xet.
    let (by_lfs, by_xet) = (bytes(6, 250_000), bytes(7, 250_000));
    for target in [&by_lfs, &by_xet] {
        let poison = claiming(pack(bytes(8, target.len())), target);
        assert_eq!(xet_put(&server, &cas, &poison).await.0, 400);
    }

    assert_eq!(server.create_repo(&server.alice, "alice/pub", false).await.status(), 200);
    assert_eq!(lfs_put(&server, &server.alice, "alice/pub", &by_lfs).await, 200);
    let alice_cas = xet_token(&server, &server.alice, "alice/pub", "write").await;
    assert_eq!(xet_put(&server, &alice_cas, &pack(by_xet.clone())).await.0, 200);
    let lines = [lfs_line("lfs.bin", &by_lfs), lfs_line("xet.bin", &by_xet)];
    assert_eq!(server.commit(&server.alice, "alice/pub", "main", &lines, None).await.status(), 200);
    assert_eq!(resolve(&server, None, "alice/pub", "lfs.bin").await, (200, by_lfs));
    assert_eq!(resolve(&server, None, "alice/pub", "xet.bin").await, (200, by_xet));
}

/// Runs `sql` on the test server's SQLite database: a state only older releases (or a bug)
/// could leave, which the read path must still answer safely.
async fn tamper(server: &TestServer, sql: &str) {
    use sqlx::ConnectOptions;
    let path = server.data_dir().join("kura.db");
    let mut db = sqlx::sqlite::SqliteConnectOptions::new().filename(path).connect().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut db).await.unwrap();
}

#[tokio::test]
async fn a_pointer_is_read_only_through_the_repos_own_proof() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.bob, "bob/m", false).await.status(), 200);
    let (lfs_data, xet_data) = (bytes(9, 120_000), bytes(10, 150_000));
    assert_eq!(lfs_put(&server, &server.bob, "bob/m", &lfs_data).await, 200);
    let cas = xet_token(&server, &server.bob, "bob/m", "write").await;
    let packed = pack(xet_data.clone());
    let file_hash = packed.shard.files[0].file_hash.to_hex();
    assert_eq!(xet_put(&server, &cas, &packed).await.0, 200);
    let lines = [lfs_line("a.bin", &lfs_data), lfs_line("b.bin", &xet_data)];
    assert_eq!(server.commit(&server.bob, "bob/m", "main", &lines, None).await.status(), 200);
    assert_eq!(resolve(&server, None, "bob/m", "a.bin").await.0, 200);

    // The tree still points at both objects, but the repo no longer holds `a.bin`'s, and
    // nothing at all is stored under `b.bin`'s any more: both are missing files (404), never a
    // 500 and never bytes from elsewhere.
    tamper(&server, &format!("DELETE FROM repo_lfs_objects WHERE oid = '{}'", sha256_hex(&lfs_data))).await;
    tamper(&server, &format!("DELETE FROM xet_files WHERE file_hash = '{file_hash}'")).await;
    for path in ["a.bin", "b.bin"] {
        let response = server.get(&format!("/bob/m/resolve/main/{path}")).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(header(&response, "x-error-code"), Some("EntryNotFound"), "{path}");
    }
    let read = xet_token(&server, &server.bob, "bob/m", "read").await;
    let plan = server
        .client
        .get(format!("{}/cas/v1/reconstructions/{file_hash}", server.base))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(plan.status(), 404);
}

#[tokio::test]
async fn head_on_a_xorb_tells_nothing() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, "alice/x", true).await.status(), 200);
    let cas = xet_token(&server, &server.alice, "alice/x", "write").await;
    let packed = pack(bytes(11, 100_000));
    assert_eq!(xet_put(&server, &cas, &packed).await.0, 200);
    assert_eq!(server.create_repo(&server.bob, "bob/y", false).await.status(), 200);
    let bob_read = xet_token(&server, &server.bob, "bob/y", "read").await;
    let status = |hash: String, token: String| {
        let url = format!("{}/cas/v1/xorbs/default/{hash}", server.base);
        let request = server.client.head(url).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let stored = status(packed.xorb_hash.to_hex(), bob_read.clone()).await;
    let missing = status("ab".repeat(32), bob_read).await;
    assert_eq!((stored, missing), (404, 404));
    // Not even the uploader learns anything from it: no client uses it.
    assert_eq!(status(packed.xorb_hash.to_hex(), cas).await, 404);
}

#[tokio::test]
async fn claims_of_older_releases_stay_hidden_until_fsck_confirms_them() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.bob, "bob/old", false).await.status(), 200);
    let cas = xet_token(&server, &server.bob, "bob/old", "write").await;
    let (honest, lying) = (bytes(31, 90_000), bytes(32, 90_000));
    for data in [&honest, &lying] {
        assert_eq!(xet_put(&server, &cas, &pack(data.clone())).await.0, 200);
    }
    let lines = [lfs_line("honest.bin", &honest), lfs_line("lying.bin", &lying)];
    assert_eq!(server.commit(&server.bob, "bob/old", "main", &lines, None).await.status(), 200);
    // As migration 0008 leaves the rows of an older release: unverified, and one of them with
    // a claimed SHA-256 that is not its content's.
    tamper(&server, "UPDATE xet_files SET verified = 0").await;
    let claimed = sha256_hex(b"what the client said");
    let lying_file = pack(lying.clone()).shard.files[0].file_hash.to_hex();
    tamper(&server, &format!("UPDATE xet_files SET sha256 = '{claimed}' WHERE file_hash = '{lying_file}'"))
        .await;
    for path in ["honest.bin", "lying.bin"] {
        assert_eq!(resolve(&server, None, "bob/old", path).await.0, 404, "{path} hidden");
    }

    let options = kura_core::FsckOptions { delete_orphans: false, orphan_grace: std::time::Duration::ZERO };
    let report = server.admin().await.ops().fsck(&options).await.unwrap();
    assert_eq!(report.verified, 1);
    let false_claim = kura_core::Problem::FalseSha256 {
        file: lying_file,
        claimed: Sha256::from_hex(&claimed).unwrap(),
        actual: Sha256::digest(&lying),
    };
    // The large object whose only file that was now has no readable content.
    let orphaned =
        kura_core::Problem::MissingContent { oid: Sha256::digest(&lying), expected: 90_000, found: None };
    assert_eq!(report.problems, vec![false_claim, orphaned]);
    assert_eq!(resolve(&server, None, "bob/old", "honest.bin").await, (200, honest));
    assert_eq!(resolve(&server, None, "bob/old", "lying.bin").await.0, 404);
}
