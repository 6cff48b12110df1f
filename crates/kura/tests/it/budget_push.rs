//! Budgets of `git push` (issue 12, findings 5 and 8), against a memory-capped server: a delta
//! bomb is refused before it is inflated, a refused push leaves nothing in the object store,
//! and a gzip bomb stops inflating at its budget without filling the temp directory.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use flate2::{Compress, Compression, FlushCompress};
use sha1::{Digest, Sha1};

use crate::capped::CappedServer;

/// A git object id: SHA-1 of `<kind> <size>\0<content>`.
fn object_id(kind: &str, content: &[u8]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    hasher.update(format!("{kind} {}\0", content.len()).as_bytes());
    hasher.update(content);
    hasher.finalize().into()
}

fn hex(id: &[u8; 20]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A pack built entry by entry.
struct Pack {
    body: Vec<u8>,
    count: u32,
}

impl Pack {
    fn new() -> Self {
        Self { body: Vec::new(), count: 0 }
    }

    fn header(&mut self, type_code: u8, size: u64) -> u64 {
        let offset = 12 + self.body.len() as u64;
        let mut byte = (type_code << 4) | (size & 0x0f) as u8;
        let mut left = size >> 4;
        while left > 0 {
            self.body.push(byte | 0x80);
            byte = (left & 0x7f) as u8;
            left >>= 7;
        }
        self.body.push(byte);
        self.count += 1;
        offset
    }

    /// A whole object (1 commit, 2 tree, 3 blob); returns its offset.
    fn whole(&mut self, type_code: u8, content: &[u8]) -> u64 {
        let offset = self.header(type_code, content.len() as u64);
        self.body.extend(zlib(content));
        offset
    }

    /// An `OFS_DELTA` on the entry at `base`.
    fn ofs_delta(&mut self, base: u64, delta: &[u8]) {
        let offset = self.header(6, delta.len() as u64);
        let mut distance = offset - base;
        let mut encoded = vec![(distance & 0x7f) as u8];
        distance >>= 7;
        while distance > 0 {
            distance -= 1;
            encoded.insert(0, 0x80 | (distance & 0x7f) as u8);
            distance >>= 7;
        }
        self.body.extend(encoded);
        self.body.extend(zlib(delta));
    }

    /// A `REF_DELTA` on the object `base` (a thin pack when the pack does not hold it).
    fn ref_delta(&mut self, base: &[u8; 20], delta: &[u8]) {
        self.header(7, delta.len() as u64);
        self.body.extend_from_slice(base);
        self.body.extend(zlib(delta));
    }

    fn finish(self) -> Vec<u8> {
        let mut pack = b"PACK\0\0\0\x02".to_vec();
        pack.extend_from_slice(&self.count.to_be_bytes());
        pack.extend(self.body);
        let digest: [u8; 20] = Sha1::digest(&pack).into();
        pack.extend_from_slice(&digest);
        pack
    }
}

fn size_varint(out: &mut Vec<u8>, mut size: u64) {
    while size >= 0x80 {
        out.push((size & 0x7f) as u8 | 0x80);
        size >>= 7;
    }
    out.push(size as u8);
}

/// A commit (no parent) on a tree holding one file; adds the tree and commit to `pack` and
/// returns the commit id.
fn commit_on(pack: &mut Pack, path: &str, blob: &[u8; 20]) -> [u8; 20] {
    let mut tree = format!("100644 {path}\0").into_bytes();
    tree.extend_from_slice(blob);
    let tree_id = object_id("tree", &tree);
    let commit = format!(
        "tree {}\nauthor A <a@example.com> 0 +0000\ncommitter A <a@example.com> 0 +0000\n\npush\n",
        hex(&tree_id)
    );
    pack.whole(2, &tree);
    pack.whole(1, commit.as_bytes());
    object_id("commit", commit.as_bytes())
}

/// The receive-pack request creating `refname` at `new`.
fn push_request(new: &[u8; 20], refname: &str, pack: &[u8]) -> Vec<u8> {
    let line = format!("{} {} {refname}\0report-status\n", "0".repeat(40), hex(new));
    let mut body = format!("{:04x}{line}0000", line.len() + 4).into_bytes();
    body.extend_from_slice(pack);
    body
}

async fn post_push(server: &CappedServer, repo: &str, body: Vec<u8>, gzip: bool) -> reqwest::Response {
    let mut request = server
        .client
        .post(format!("{}/{repo}.git/git-receive-pack", server.base))
        .basic_auth("user", Some(&server.alice))
        .header("content-type", "application/x-git-receive-pack-request")
        .timeout(Duration::from_secs(60));
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    request.body(body).send().await.unwrap()
}

/// Files in `dir` and below, with their total size.
fn files_under(dir: &Path) -> (usize, u64) {
    let mut found = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            let (count, bytes) = files_under(&entry.path());
            found = (found.0 + count, found.1 + bytes);
        } else {
            found = (found.0 + 1, found.1 + meta.len());
        }
    }
    found
}

fn stored_objects(server: &CappedServer) -> usize {
    files_under(&server.data_dir().join("blobs/git/objects")).0
}

/// Finding 5: a ~10 KB pack whose deltas declare 2.9 GiB of objects (300 copies of a 64 KiB
/// base, each made 10 MB by 159 copy instructions) is refused from its headers: nothing is
/// inflated, hashed or stored.
#[tokio::test]
async fn a_delta_bomb_is_refused_before_inflating_and_stores_nothing() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/bomb", false).await;
    let before = stored_objects(&server);

    let base = vec![0u8; 0x10000];
    let base_id = object_id("blob", &base);
    let mut pack = Pack::new();
    let base_at = pack.whole(3, &base);
    let target_size = 159 * 0x10000 + 9;
    for n in 0..300u64 {
        let mut delta = Vec::new();
        size_varint(&mut delta, 0x10000);
        size_varint(&mut delta, target_size);
        // 0x80: copy 0x10000 bytes from offset 0 (all operands omitted).
        delta.extend(std::iter::repeat_n(0x80u8, 159));
        delta.push(9);
        delta.push(b'#');
        delta.extend_from_slice(&n.to_be_bytes());
        pack.ofs_delta(base_at, &delta);
    }
    let commit = commit_on(&mut pack, "zeros.bin", &base_id);
    let pack = pack.finish();
    assert!(pack.len() < 16 << 10, "the bomb is small on the wire: {} bytes", pack.len());

    let started = std::time::Instant::now();
    let answer =
        post_push(&server, "alice/bomb", push_request(&commit, "refs/heads/bomb", &pack), false).await;
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    assert!(text.contains("unpack ") && !text.contains("unpack ok"), "{text}");
    assert!(text.contains("inflated pack size exceeds the limit"), "{text}");
    assert!(text.contains("ng refs/heads/bomb"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(stored_objects(&server), before, "a refused push stores nothing");
    server.assert_healthy().await;
}

/// Finding 5, second half: a push refused by the checks after unpacking (a dangling Git LFS
/// pointer) leaves none of its objects in the store; the same push without the problem stores
/// exactly its objects.
#[tokio::test]
async fn a_push_refused_by_its_checks_stores_nothing() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/refused", false).await;
    let before = stored_objects(&server);

    let pointer =
        format!("version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 12\n", "ab".repeat(32));
    let mut pack = Pack::new();
    pack.whole(3, pointer.as_bytes());
    let commit = commit_on(&mut pack, "weights.bin", &object_id("blob", pointer.as_bytes()));
    let body = push_request(&commit, "refs/heads/lfs", &pack.finish());
    let text = post_push(&server, "alice/refused", body, false).await.text().await.unwrap();
    assert!(text.contains("unpack ok") && text.contains("ng refs/heads/lfs"), "{text}");
    assert!(text.contains("Git LFS object"), "{text}");
    assert_eq!(stored_objects(&server), before, "a refused push stores nothing");

    // The control: a plain file is accepted and its three objects are stored.
    let mut pack = Pack::new();
    pack.whole(3, b"plain text\n");
    let commit = commit_on(&mut pack, "notes.txt", &object_id("blob", b"plain text\n"));
    let body = push_request(&commit, "refs/heads/plain", &pack.finish());
    let text = post_push(&server, "alice/refused", body, false).await.text().await.unwrap();
    assert!(text.contains("unpack ok") && text.contains("ok refs/heads/plain"), "{text}");
    assert_eq!(stored_objects(&server), before + 3);

    // A thin push: the new blob is a delta on the one just stored, read back from the store.
    let mut pack = Pack::new();
    pack.ref_delta(&object_id("blob", b"plain text\n"), &[&[11, 16, 0x90, 11, 5][..], b"more\n"].concat());
    let commit = commit_on(&mut pack, "notes.txt", &object_id("blob", b"plain text\nmore\n"));
    let body = push_request(&commit, "refs/heads/thin", &pack.finish());
    let text = post_push(&server, "alice/refused", body, false).await.text().await.unwrap();
    assert!(text.contains("unpack ok") && text.contains("ok refs/heads/thin"), "{text}");
    assert_eq!(stored_objects(&server), before + 6);
    server.assert_healthy().await;
}

/// A gzip member of `blocks` MiB of zeros, about 1 KiB per MiB: one raw deflate segment for
/// 1 MiB of zeros, ended by a full flush (byte-aligned, no back-references across it), repeated.
/// The CRC in the trailer is left zero: a server within budget never gets that far.
fn gzip_bomb(blocks: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(1 << 16);
    loop {
        let consumed = deflate.total_in() as usize;
        deflate.compress_vec(&zeros[consumed..], &mut segment, FlushCompress::Full).unwrap();
        if deflate.total_in() as usize == zeros.len() && segment.len() < segment.capacity() {
            break;
        }
        segment.reserve(1 << 16);
    }
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    for _ in 0..blocks {
        out.extend_from_slice(&segment);
    }
    // An empty final block with fixed codes, then CRC-32 (not computed) and ISIZE.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&((blocks as u64) << 20).to_le_bytes()[..4]);
    out
}

/// Finding 8: 2 MB of gzip that inflates to 2 GiB is refused once it passes its budget (64
/// times its size): the temp directory never holds much more than that, and nothing is left.
#[tokio::test]
async fn a_gzip_bomb_push_stops_inflating_at_its_budget() {
    let temp = tempfile::tempdir().unwrap();
    let temp_path = temp.path().to_str().unwrap().to_owned();
    let mut server = CappedServer::start_with(&[("TMPDIR", &temp_path)]).await;
    server.create_repo(&server.alice.clone(), "alice/gz", false).await;

    let bomb = tokio::task::spawn_blocking(|| gzip_bomb(2048)).await.unwrap();
    assert!(bomb.len() < 3 << 20, "{} bytes", bomb.len());
    let mut check = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(flate2::read::GzDecoder::new(&bomb[..]), 3 << 20),
        &mut check,
    )
    .unwrap();
    assert!(check.len() == 3 << 20 && check.iter().all(|&b| b == 0), "the bomb inflates to zeros");

    // Watch the temp directory while the server works.
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (watching, dir) = (watching.clone(), temp.path().to_owned());
        std::thread::spawn(move || {
            let mut peak = 0;
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(files_under(&dir).1);
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let started = std::time::Instant::now();
    let answer = post_push(&server, "alice/gz", bomb, true).await;
    let took = started.elapsed();
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = watcher.join().unwrap();

    assert_eq!(answer.status(), 413);
    let error: serde_json::Value = answer.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("gzip body may inflate"), "{error}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(peak < 160 << 20, "the temp directory peaked at {} MiB", peak >> 20);
    assert_eq!(files_under(temp.path()), (0, 0), "every temp file is removed");
    server.assert_healthy().await;
}
