//! The attacker matrix: bob has a write token and a public repo of his own, and knows the
//! SHA-256 and size of alice's files (a gated repo's tree lists them; a private file's may
//! leak). Every way he has to claim that content for his repo is refused, nothing of it
//! becomes readable through his repo, and no answer carries a byte of it.

use serde_json::{Value, json};

use crate::content_proof::{bytes, claiming, lfs_line, lfs_put, pointer_text, resolve, xet_put, xet_token};
use crate::git_push::{attempt, authed, blocking, write};
use crate::support::*;
use crate::xet::pack;

/// One cell: what was tried, the answer expected and the answer got.
struct Cell {
    name: String,
    want: u16,
    got: u16,
}

/// A victim repo of alice with `secret.bin`: private, or public and gated.
async fn victim(server: &TestServer, repo: &str, gated: bool, secret: &[u8]) {
    assert_eq!(server.create_repo(&server.alice, repo, !gated).await.status(), 200);
    assert_eq!(lfs_put(server, &server.alice, repo, secret).await, 200);
    let commit = server.commit(&server.alice, repo, "main", &[lfs_line("secret.bin", secret)], None).await;
    assert_eq!(commit.status(), 200);
    if gated {
        let settings = server
            .client
            .put(format!("{}/api/models/{repo}/settings", server.base))
            .bearer_auth(&server.alice)
            .json(&json!({"gated": "manual"}))
            .send()
            .await
            .unwrap();
        assert_eq!(settings.status(), 200);
    }
}

/// Bob's git push of a pointer to `secret` into `bob/loot`: whether git reported success.
async fn push_pointer(server: &TestServer, secret: &[u8]) -> (bool, String) {
    let url = authed(server, &server.bob, "bob/loot");
    let pointer = pointer_text(secret);
    blocking(move || {
        let work = tempfile::tempdir().unwrap();
        ok(work.path(), &["clone", "-q", &url, "c"]);
        let repo = work.path().join("c");
        write(&repo, "pushed.bin", pointer.as_bytes());
        ok(&repo, &["add", "pushed.bin"]);
        ok(&repo, &["commit", "-q", "-m", "claim"]);
        attempt(&repo, &["push", "origin", "main"])
    })
    .await
}

/// Tries every claim on `secret` from `bob/loot`; the cells, and every answer body.
async fn claim_all(
    server: &TestServer,
    label: &str,
    secret: &[u8],
    cells: &mut Vec<Cell>,
    seen: &mut Vec<Vec<u8>>,
) {
    let mut cell = |name: &str, want: u16, got: u16| {
        cells.push(Cell { name: format!("{label} × {name}"), want, got });
    };
    let inline = file_line("inline.bin", pointer_text(secret).as_bytes());
    let response = server.commit(&server.bob, "bob/loot", "main", &[inline], None).await;
    cell("inline pointer commit", 400, response.status().as_u16());
    let response = server.commit(&server.bob, "bob/loot", "main", &[lfs_line("lfs.bin", secret)], None).await;
    cell("lfsFile commit", 400, response.status().as_u16());

    let cas = xet_token(server, &server.bob, "bob/loot", "write").await;
    let (status, body) = xet_put(server, &cas, &claiming(pack(bytes(99, secret.len())), secret)).await;
    cell("shard claiming the SHA-256", 400, status);
    seen.push(body.into_bytes());

    // The batch does not call the object present: bob must send it, and his bytes are refused.
    let plan: Value = server
        .post("/bob/loot.git/info/lfs/objects/batch")
        .bearer_auth(&server.bob)
        .json(&json!({"operation": "upload", "objects": [{"oid": sha256_hex(secret), "size": secret.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = plan["objects"][0]["actions"]["upload"]["href"].as_str();
    cell("LFS batch offers an upload (not 'present')", 1, u16::from(href.is_some()));
    if let Some(href) = href {
        let put = server.client.put(href).body(bytes(98, secret.len())).send().await.unwrap();
        cell("LFS PUT of other bytes", 400, put.status().as_u16());
    }

    let (pushed, stderr) = push_pointer(server, secret).await;
    cell("git push of a pointer", 0, u16::from(pushed));
    seen.push(stderr.into_bytes());

    let download: Value = server
        .post("/bob/loot.git/info/lfs/objects/batch")
        .bearer_auth(&server.bob)
        .json(
            &json!({"operation": "download", "objects": [{"oid": sha256_hex(secret), "size": secret.len()}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    cell("LFS batch download", 404, download["objects"][0]["error"]["code"].as_u64().unwrap_or(0) as u16);

    let chunk = kura_cas::chunk_and_hash(secret)[0].hash.to_hex();
    let dedup = server
        .client
        .get(format!("{}/cas/v1/chunks/default/{chunk}", server.base))
        .bearer_auth(&cas)
        .send()
        .await
        .unwrap();
    cell("dedup query for its first chunk", 404, dedup.status().as_u16());
    seen.push(dedup.bytes().await.unwrap().to_vec());
}

#[tokio::test]
async fn the_attacker_matrix() {
    let server = TestServer::start().await;
    let (private, gated) = (bytes(21, 180_000), bytes(22, 180_000));
    victim(&server, "alice/priv", false, &private).await;
    victim(&server, "alice/gated", true, &gated).await;
    assert_eq!(server.create_repo(&server.bob, "bob/loot", false).await.status(), 200);
    let start = server.head_sha(&server.bob, "bob/loot").await;
    // The gated tree shows bob the hash he will claim.
    let tree: Value = server.get_json(&server.bob, "/api/models/alice/gated/tree/main").await;
    let listed = tree.as_array().unwrap().iter().any(|e| e["lfs"]["oid"] == sha256_hex(&gated).as_str());
    assert!(listed, "{tree}");

    let (mut cells, mut seen) = (Vec::new(), Vec::new());
    claim_all(&server, "private", &private, &mut cells, &mut seen).await;
    claim_all(&server, "gated", &gated, &mut cells, &mut seen).await;

    let moved = server.head_sha(&server.bob, "bob/loot").await != start;
    cells.push(Cell { name: "bob/loot's main moved".into(), want: 0, got: u16::from(moved) });
    for path in ["inline.bin", "lfs.bin", "pushed.bin"] {
        let (status, body) = resolve(&server, None, "bob/loot", path).await;
        cells.push(Cell { name: format!("anonymous resolve of bob/loot/{path}"), want: 404, got: status });
        seen.push(body);
    }
    let wrong: Vec<String> = cells
        .iter()
        .filter(|c| c.want != c.got)
        .map(|c| format!("{}: want {}, got {}", c.name, c.want, c.got))
        .collect();
    assert!(wrong.is_empty(), "{} of {} cells wrong:\n{}", wrong.len(), cells.len(), wrong.join("\n"));
    for secret in [&private, &gated] {
        let probe = &secret[1000..1064];
        assert!(
            !seen.iter().any(|body| body.windows(probe.len()).any(|w| w == probe)),
            "a body leaked content"
        );
    }
}
