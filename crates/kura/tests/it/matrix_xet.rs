//! The access matrix of the Xet CAS: who may fetch a reconstruction plan, that a token of one
//! repo learns nothing about files only another (private) repo holds, neither through
//! reconstructions nor through the global dedup query, and that forged tokens are refused.
//! Plus the contributor's own repo: she may create it and write to it, not to alice's repos.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::matrix::*;
use crate::matrix_fixture::*;
use crate::support::*;

/// The Xet-stored file of each fixture model; its name must not leak from `acme/priv`.
fn xet_file_of(vis: Vis) -> &'static str {
    match vis {
        Vis::Public => "pub-xet.bin",
        Vis::Private => "priv-secret-xet.bin",
        Vis::Gated => "gated-xet.bin",
    }
}

/// Distinct content per visibility (a few Xet chunks), so no chunk is shared between repos.
fn content_of(vis: Vis) -> Vec<u8> {
    let seed = vis as u8 * 85 + 1;
    (0..300_000u32).map(|i| ((i.wrapping_mul(2654435761) >> 13) as u8) ^ seed).collect()
}

/// Uploads `data` to `repo` through LFS (chunked into xorbs by the server) and commits it as
/// `path`; returns the file's Xet hash as paths-info reports it.
async fn upload(server: &TestServer, token: &str, repo: &str, path: &str, data: &[u8]) -> String {
    let oid = sha256_hex(data);
    let batch = json!({"operation": "upload", "objects": [{"oid": oid, "size": data.len()}]});
    let plan: Value = server
        .post(&format!("/{repo}.git/info/lfs/objects/batch"))
        .bearer_auth(token)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str().unwrap();
    assert_eq!(server.client.put(href).body(data.to_vec()).send().await.unwrap().status(), 200);
    let line =
        json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": data.len()}});
    assert_eq!(server.commit(token, repo, "main", &[line], None).await.status(), 200);
    let info: Value = server
        .post(&format!("/api/models/{repo}/paths-info/main"))
        .bearer_auth(token)
        .json(&json!({"paths": [path]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = info[0]["xetHash"].as_str().expect("an LFS upload is Xet-stored").to_owned();
    assert_eq!(hash, kura_cas::hash_file_bytes(data).to_hex());
    hash
}

/// The first chunk's hash: always eligible for the global dedup index.
fn first_chunk(data: &[u8]) -> String {
    kura_cas::chunk_and_hash(data)[0].hash.to_hex()
}

impl Fixture {
    /// A Xet token for model `repo` as `who`: the status and, on 200, the token.
    async fn xet_token(&self, who: Who, repo: &str, kind: &str) -> (u16, Option<String>) {
        let (status, body) =
            self.send(self.server.get(&format!("/api/models/{repo}/xet-{kind}-token/main")), who).await;
        let token = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["accessToken"].as_str().map(str::to_owned));
        (status, token.filter(|_| status == 200))
    }

    /// A CAS request with `token` (a Xet token, or anything else); the status and body.
    async fn cas(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.request(method, &format!("/cas{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }
}

#[tokio::test]
async fn xet_reads_stay_within_the_repo_the_token_names() {
    let fixture = setup().await;
    let server = &fixture.server;
    let mut hashes = Vec::new();
    for vis in VIS {
        hashes.push(upload(server, &server.alice, repo_of(vis), xet_file_of(vis), &content_of(vis)).await);
    }
    let private_hash = hashes[1].clone();
    let mut cells = Cells::default();
    for who in WHO {
        for (vis, hash) in VIS.into_iter().zip(&hashes) {
            let (status, token) = fixture.xet_token(who, repo_of(vis), "read").await;
            let guard = vis == Vis::Private && !sees(who, vis);
            let cell = format!("{who:?} × {vis:?} × xet-read-token");
            cells.check(cell, expected(who, vis, Op::XetToken), status, String::new(), guard);
            let Some(token) = token else { continue };
            let (got, body) =
                fixture.cas(reqwest::Method::GET, &format!("/v1/reconstructions/{hash}"), Some(&token)).await;
            cells.check(format!("{who:?} × {vis:?} × reconstruction"), 200, got, body, false);
            if vis != Vis::Private {
                // The private repo's file through a token of this repo: unknown here, in both
                // plan shapes.
                for version in ["v1", "v2"] {
                    let path = format!("/{version}/reconstructions/{private_hash}");
                    let (got, body) = fixture.cas(reqwest::Method::GET, &path, Some(&token)).await;
                    cells.check(
                        format!("{who:?} × {vis:?} token × private file {version} reconstruction"),
                        404,
                        got,
                        body,
                        true,
                    );
                }
            }
        }
    }
    let mut secrets = vec![xet_file_of(Vis::Private).to_owned(), file_of(Vis::Private).to_owned()];
    secrets.extend(fixture.private_commits(Kind::Model).await);
    assert!(cells.count >= WHO.len() * VIS.len() + 10, "{}", cells.count);
    cells.finish(&secrets);
}

#[tokio::test]
async fn the_dedup_query_reveals_no_chunk_only_a_private_repo_holds() {
    let fixture = setup().await;
    let server = &fixture.server;
    let secret = content_of(Vis::Private);
    upload(server, &server.alice, repo_of(Vis::Private), xet_file_of(Vis::Private), &secret).await;
    // bob's own repo, with a file of his own.
    assert_eq!(server.create_repo(&server.bob, "bob/own", false).await.status(), 200);
    let own = content_of(Vis::Public);
    upload(server, &server.bob, "bob/own", "own.bin", &own).await;
    let query = |data: &[u8]| format!("/v1/chunks/default-merkledb/{}", first_chunk(data));
    let mut cells = Cells::default();
    let cases = [
        (Who::Outsider, "bob/own", "his own file", &own[..], 200),
        (Who::Outsider, "bob/own", "the private file", &secret[..], 404),
        (Who::Writer, repo_of(Vis::Public), "the private file", &secret[..], 404),
        (Who::OrgAdmin, repo_of(Vis::Gated), "the private file", &secret[..], 404),
        (Who::OrgAdmin, repo_of(Vis::Private), "the private file", &secret[..], 200),
    ];
    for (who, repo, what, data, want) in cases {
        let (status, token) = fixture.xet_token(who, repo, "write").await;
        assert_eq!(status, 200, "{who:?} write token for {repo}");
        let (got, body) = fixture.cas(reqwest::Method::GET, &query(data), token.as_deref()).await;
        let cell = format!("{who:?} × write token of {repo} × dedup query of a chunk of {what}");
        cells.check(cell, want, got, body, want == 404);
    }
    let mut secrets = vec![xet_file_of(Vis::Private).to_owned()];
    secrets.extend(fixture.private_commits(Kind::Model).await);
    cells.finish(&secrets);
}

/// A token whose signed payload was changed: it names `acme/priv` instead of `acme/pub`.
fn retargeted(token: &str) -> String {
    let (payload, signature) = token.split_once('.').unwrap();
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(text.contains("acme/pub"), "{text}");
    format!("{}.{signature}", URL_SAFE_NO_PAD.encode(text.replace("acme/pub", "acme/priv")))
}

#[tokio::test]
async fn forged_and_garbled_xet_tokens_get_401_on_every_cas_route() {
    let fixture = setup().await;
    let server = &fixture.server;
    let hash = upload(
        server,
        &server.alice,
        repo_of(Vis::Private),
        xet_file_of(Vis::Private),
        &content_of(Vis::Private),
    )
    .await;
    let (_, token) = fixture.xet_token(Who::OrgAdmin, repo_of(Vis::Public), "write").await;
    let token = token.unwrap();
    // Another hex digit: hex is case-insensitive, so a→A would be the same signature.
    let mut flipped = token.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    let forged = [
        ("none", None),
        ("garbage", Some("garbage".to_owned())),
        ("forged", Some("Zm9v.forged".to_owned())),
        ("flipped signature", Some(flipped)),
        ("retargeted payload", Some(retargeted(&token))),
        ("hub token", Some(server.alice.clone())),
    ];
    let routes = [
        (reqwest::Method::GET, format!("/v1/reconstructions/{hash}")),
        (reqwest::Method::GET, format!("/v2/reconstructions/{hash}")),
        (
            reqwest::Method::GET,
            format!("/v1/chunks/default-merkledb/{}", first_chunk(&content_of(Vis::Private))),
        ),
        (reqwest::Method::POST, format!("/v1/xorbs/default/{}", "0".repeat(64))),
        (reqwest::Method::POST, "/v1/shards".to_owned()),
    ];
    let mut cells = Cells::default();
    for (name, bearer) in &forged {
        for (method, path) in &routes {
            let (got, body) = fixture.cas(method.clone(), path, bearer.as_deref()).await;
            cells.check(format!("{name} × {method} {path}"), 401, got, body, true);
        }
    }
    // The genuine token passes authentication on the same routes (so the 401s mean something).
    let unknown = format!("/v1/reconstructions/{}", "0".repeat(64));
    let (got, body) = fixture.cas(reqwest::Method::GET, &unknown, Some(&token)).await;
    cells.check("genuine × unknown reconstruction".into(), 404, got, body, false);
    let mut secrets = vec![xet_file_of(Vis::Private).to_owned()];
    secrets.extend(fixture.private_commits(Kind::Model).await);
    cells.finish(&secrets);
}

#[tokio::test]
async fn a_contributor_writes_to_the_repos_she_created_only() {
    let fixture = setup().await;
    let server = &fixture.server;
    let erin = fixture.token(Who::Contributor).unwrap().to_owned();
    let carol = fixture.token(Who::Reader).unwrap().to_owned();
    let line = |name: &str| file_line(name, b"by erin");
    let mut cells = Cells::default();
    let mut check =
        |cell: &str, want: u16, got: u16| cells.check(cell.to_owned(), want, got, String::new(), false);
    check(
        "Contributor creates acme/erin-repo",
        200,
        server.create_repo(&erin, "acme/erin-repo", false).await.status().as_u16(),
    );
    check(
        "Contributor commits to acme/erin-repo",
        200,
        server.commit(&erin, "acme/erin-repo", "main", &[line("e.txt")], None).await.status().as_u16(),
    );
    let branch =
        server.post("/api/models/acme/erin-repo/branch/dev").bearer_auth(&erin).send().await.unwrap();
    check("Contributor creates a branch of acme/erin-repo", 200, branch.status().as_u16());
    let (status, _) = fixture.xet_token(Who::Contributor, "acme/erin-repo", "write").await;
    check("Contributor gets a Xet write token of acme/erin-repo", 200, status);
    check(
        "Contributor commits to acme/pub",
        403,
        server.commit(&erin, "acme/pub", "main", &[line("x.txt")], None).await.status().as_u16(),
    );
    check(
        "Reader commits to acme/erin-repo",
        403,
        server.commit(&carol, "acme/erin-repo", "main", &[line("c.txt")], None).await.status().as_u16(),
    );
    check(
        "Reader creates acme/carol-repo",
        403,
        server.create_repo(&carol, "acme/carol-repo", false).await.status().as_u16(),
    );
    // The repo is erin's, not the org's writers' only: a write member still writes to it.
    let dave = fixture.token(Who::Writer).unwrap().to_owned();
    check(
        "Writer commits to acme/erin-repo",
        200,
        server.commit(&dave, "acme/erin-repo", "main", &[line("d.txt")], None).await.status().as_u16(),
    );
    cells.finish(&[]);
}
