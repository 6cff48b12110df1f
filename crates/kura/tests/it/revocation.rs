//! Signed LFS URLs, Xet tokens and xorb fetch URLs name the caller they were issued to, and
//! every use re-checks that caller's access: revoking the token or removing the member stops
//! them at once, not an hour later when they expire.

use kura_core::{Authority, OrgRole, TokenSpec};
use kura_model::Role;
use serde_json::{Value, json};

use crate::support::*;

/// Everything a caller can take away from one visit: LFS download and upload URLs, Xet read
/// and write tokens, and a xorb fetch URL.
struct Handed {
    download: String,
    upload: String,
    xet_read: String,
    xet_write: String,
    fetch: String,
    file_hash: String,
}

async fn batch(server: &TestServer, token: &str, repo: &str, operation: &str, data: &[u8]) -> Value {
    server
        .post(&format!("/{repo}.git/info/lfs/objects/batch"))
        .bearer_auth(token)
        .json(&json!({"operation": operation, "objects": [{"oid": sha256_hex(data), "size": data.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn xet_token(server: &TestServer, token: &str, repo: &str, kind: &str) -> String {
    let url = format!("/api/models/{repo}/xet-{kind}-token/main");
    let body: Value = server.get_json(token, &url).await;
    body["accessToken"].as_str().unwrap().to_owned()
}

/// Collects URLs and tokens as `token`, for `repo` whose `w.bin` holds `stored`.
async fn take(server: &TestServer, token: &str, repo: &str, stored: &[u8]) -> Handed {
    let down = batch(server, token, repo, "download", stored).await;
    let up = batch(server, token, repo, "upload", b"new content for the upload URL").await;
    let xet_read = xet_token(server, token, repo, "read").await;
    let xet_write = xet_token(server, token, repo, "write").await;
    let head = server.head(&format!("/{repo}/resolve/main/w.bin")).bearer_auth(token).send().await.unwrap();
    let file_hash = header(&head, "x-xet-hash").unwrap().to_owned();
    let plan: Value = server
        .client
        .get(format!("{}/cas/v1/reconstructions/{file_hash}", server.base))
        .bearer_auth(&xet_read)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fetch = plan["fetch_info"].as_object().unwrap().values().next().unwrap()[0]["url"].as_str().unwrap();
    Handed {
        download: down["objects"][0]["actions"]["download"]["href"].as_str().unwrap().to_owned(),
        upload: up["objects"][0]["actions"]["upload"]["href"].as_str().unwrap().to_owned(),
        xet_read,
        xet_write,
        fetch: fetch.to_owned(),
        file_hash,
    }
}

/// The status of each use of what was handed out, in a fixed order.
async fn use_all(server: &TestServer, handed: &Handed) -> Vec<(&'static str, u16)> {
    let status = |r: reqwest::Response| r.status().as_u16();
    let cas = |path: String| format!("{}/cas{path}", server.base);
    vec![
        ("LFS download URL", status(server.client.get(&handed.download).send().await.unwrap())),
        (
            "LFS upload URL",
            status(
                server
                    .client
                    .put(&handed.upload)
                    .body("new content for the upload URL")
                    .send()
                    .await
                    .unwrap(),
            ),
        ),
        (
            "Xet read token",
            status(
                server
                    .client
                    .get(cas(format!("/v1/reconstructions/{}", handed.file_hash)))
                    .bearer_auth(&handed.xet_read)
                    .send()
                    .await
                    .unwrap(),
            ),
        ),
        (
            "Xet write token",
            status(
                server
                    .client
                    .post(cas("/v1/shards".into()))
                    .bearer_auth(&handed.xet_write)
                    .body("x")
                    .send()
                    .await
                    .unwrap(),
            ),
        ),
        ("xorb fetch URL", status(server.client.get(&handed.fetch).send().await.unwrap())),
    ]
}

/// A private repo with one LFS (Xet-stored) file `w.bin`; returns its content.
async fn private_repo(server: &TestServer, repo: &str) -> Vec<u8> {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
    assert_eq!(server.create_repo(&server.alice, repo, true).await.status(), 200);
    let plan = batch(server, &server.alice, repo, "upload", &data).await;
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap();
    assert_eq!(server.client.put(href).body(data.clone()).send().await.unwrap().status(), 200);
    let line = json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": sha256_hex(&data), "size": data.len()}});
    assert_eq!(server.commit(&server.alice, repo, "main", &[line], None).await.status(), 200);
    data
}

/// Before: every use works (the shard is rejected as garbage, 400, past authentication).
const WORKING: [u16; 5] = [200, 200, 200, 400, 200];

fn statuses(uses: &[(&str, u16)]) -> Vec<u16> {
    uses.iter().map(|(_, s)| *s).collect()
}

#[tokio::test]
async fn urls_and_xet_tokens_stop_when_their_token_is_revoked() {
    let server = TestServer::start().await;
    let data = private_repo(&server, "alice/p").await;
    let admin = server.admin().await;
    let spec = TokenSpec { name: "laptop".into(), role: Role::Write, expires_at: None, scopes: vec![] };
    let issued = admin.accounts().issue_token(Authority::Operator, "alice", spec).await.unwrap();
    let handed = take(&server, &issued.secret, "alice/p", &data).await;
    let before = use_all(&server, &handed).await;
    assert_eq!(statuses(&before), WORKING, "{before:?}");

    admin.accounts().revoke_token(Authority::Operator, issued.record.id).await.unwrap();
    let after = use_all(&server, &handed).await;
    assert_eq!(statuses(&after), [403, 403, 401, 401, 403], "{after:?}");
    // Other tokens of the same user are unaffected.
    let again = batch(&server, &server.alice, "alice/p", "download", &data).await;
    let href = again["objects"][0]["actions"]["download"]["href"].as_str().unwrap();
    assert_eq!(server.client.get(href).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_removed_member_loses_what_was_handed_to_them() {
    let server = TestServer::start().await;
    let data = private_repo(&server, "acme/p").await;
    let admin = server.admin().await;
    admin.accounts().create_user("dave", false).await.unwrap();
    admin.accounts().set_org_member("acme", "dave", OrgRole::Write).await.unwrap();
    let dave = admin.accounts().create_token("dave", "t", Role::Write).await.unwrap();
    let handed = take(&server, &dave, "acme/p", &data).await;
    let body = server.client.get(&handed.download).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], &data[..]);

    admin.accounts().remove_org_member(Authority::Operator, "acme", "dave").await.unwrap();
    let after = use_all(&server, &handed).await;
    assert_eq!(statuses(&after), [403, 403, 401, 401, 403], "{after:?}");
}
