//! The clone-pack cache: a full clone stores its pack, the next clone of the same refs is
//! served from it (proved by hiding every loose git object), a new commit is never answered
//! with a stale pack, an interrupted clone stores nothing, and deleting the repo drops the pack.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

/// The cached packs under the data dir, as (repo id dir, file) paths.
fn cached_packs(data: &Path) -> Vec<PathBuf> {
    let root = data.join("blobs/git/packs");
    let mut found = Vec::new();
    for repo in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(repo.path()).into_iter().flatten().flatten() {
            if file.path().extension().is_some_and(|e| e == "pack") {
                found.push(file.path());
            }
        }
    }
    found
}

/// Waits until the background store has written `count` packs.
async fn wait_for_packs(data: &Path, count: usize) -> Vec<PathBuf> {
    for _ in 0..100 {
        let packs = cached_packs(data);
        if packs.len() == count {
            return packs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} cached packs, found {:?}", cached_packs(data));
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test]
async fn a_second_clone_is_served_from_the_cached_pack_and_never_a_stale_one() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/c", false).await;
    let files = [file_line("README.md", b"# c\n"), file_line("src/a.py", b"print(1)\n")];
    server.commit(&server.alice, "alice/c", "main", &files, None).await;
    let sha = server.head_sha(&server.alice, "alice/c").await;
    let (work, url) = (tempfile::tempdir().unwrap(), format!("{}/alice/c", server.base));
    let (base, data) = (work.path().to_owned(), server.data_dir().to_owned());
    assert!(cached_packs(&data).is_empty());

    let (b, u) = (base.clone(), url.clone());
    blocking(move || ok(&b, &["clone", "-q", &u, "first"])).await;
    let packs = wait_for_packs(&data, 1).await;

    // Hide every loose git object: only the cached pack can answer now, in v2 and in v0.
    let objects = data.join("blobs/git/objects");
    let hidden = data.join("blobs/git/objects-hidden");
    std::fs::rename(&objects, &hidden).unwrap();
    let (b, u, s) = (base.clone(), url.clone(), sha.clone());
    blocking(move || {
        ok(&b, &["clone", "-q", &u, "cached"]);
        assert_eq!(ok(&b.join("cached"), &["rev-parse", "HEAD"]), s);
        assert_eq!(std::fs::read_to_string(b.join("cached/src/a.py")).unwrap(), "print(1)\n");
        ok(&b.join("cached"), &["fsck", "--strict"]);
        ok(&b, &["-c", "protocol.version=0", "clone", "-q", &format!("{u}.git"), "cached0"]);
        ok(&b.join("cached0"), &["fsck", "--strict"]);
        // A shallow clone is not a full clone: it needs the objects, and fails without them.
        assert!(!git(&b, &["clone", "-q", "--depth", "1", &u, "shallow"]).status.success());
    })
    .await;
    std::fs::rename(&hidden, &objects).unwrap();

    // A new commit: the next clone gets it (new wants, new pack), and replaces the old pack.
    server.commit(&server.alice, "alice/c", "main", &[file_line("new.txt", b"new\n")], None).await;
    let new_sha = server.head_sha(&server.alice, "alice/c").await;
    let (b, u) = (base.clone(), url.clone());
    blocking(move || {
        ok(&b, &["clone", "-q", &u, "after"]);
        assert_eq!(ok(&b.join("after"), &["rev-parse", "HEAD"]), new_sha);
        ok(&b.join("after"), &["fsck", "--strict"]);
    })
    .await;
    let mut replaced = wait_for_packs(&data, 1).await;
    for _ in 0..100 {
        if replaced != packs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        replaced = cached_packs(&data);
    }
    assert_ne!(replaced, packs, "the pack of the old refs is replaced");

    // Deleting the repo drops its cached pack.
    let deleted = server
        .client
        .delete(format!("{}/api/repos/delete", server.base))
        .bearer_auth(&server.alice)
        .json(&serde_json::json!({"name": "c", "organization": "alice"}));
    assert_eq!(deleted.send().await.unwrap().status(), 200);
    assert!(cached_packs(&data).is_empty());
}

#[tokio::test]
async fn an_interrupted_clone_caches_nothing() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/big", false).await;
    // Incompressible plain files, so the pack is far larger than the socket buffers.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    };
    let files: Vec<_> = (0..6).map(|i| file_line(&format!("blob{i}.bin"), &noise(8 << 20))).collect();
    for file in files {
        let status = server.commit(&server.alice, "alice/big", "main", &[file], None).await.status();
        assert_eq!(status, 200);
    }
    let sha = server.head_sha(&server.alice, "alice/big").await;
    let body = {
        let mut out = b"0012command=fetch\n0001".to_vec();
        for line in [format!("want {sha}\n"), "ofs-delta\n".into(), "done\n".into()] {
            out.extend(format!("{:04x}{line}", line.len() + 4).into_bytes());
        }
        out.extend(b"0000");
        out
    };
    let mut response = server
        .post("/alice/big.git/git-upload-pack")
        .header("git-protocol", "version=2")
        .header("content-type", "application/x-git-upload-pack-request")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(response);
    // Give the server time to notice and the store time to (not) finish.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(cached_packs(server.data_dir()).is_empty(), "{:?}", cached_packs(server.data_dir()));
    let temp_files: Vec<_> = walk(&server.data_dir().join("blobs/git/packs"));
    assert!(temp_files.is_empty(), "no temp file is left behind: {temp_files:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}
