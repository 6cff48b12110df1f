//! Budgets on expanding stored trees and histories (issue 12, findings 3, 6 and 9): a pushed
//! tree that reuses subtrees is refused before it can expand to a billion paths, listings of a
//! tree stored before that rule read one page at a time, upload-pack bounds its wants and
//! haves, and `expand=true` bounds its last-commit walk.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::capped::CappedServer;
use crate::git_push::blocking;
use crate::support::*;

/// Runs git with `input` on stdin; returns its stdout (raw bytes).
fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("git")
        .args(["-c", "user.name=Pusher", "-c", "user.email=p@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git is installed");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "git {args:?} failed");
    output.stdout
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap().trim().to_owned()
}

/// A pack of one commit (child of `parent` when given) whose tree holds 1000 folders of 1000
/// folders of 1000 files, all the same: five objects, a billion paths. Returns (commit, pack).
fn tree_bomb(dir: &Path, parent: Option<&str>) -> (String, Vec<u8>) {
    ok(dir, &["init", "-q", "--bare", "bomb.git"]);
    let repo = dir.join("bomb.git");
    let blob = text(git_stdin(&repo, &["hash-object", "-w", "--stdin"], b"x\n"));
    let mut objects = vec![blob.clone()];
    for (mode, kind, prefix) in [("100644", "blob", "f"), ("040000", "tree", "d"), ("040000", "tree", "d")] {
        let below = objects.last().unwrap();
        let listing: String = (0..1000).map(|i| format!("{mode} {kind} {below}\t{prefix}{i:04}\n")).collect();
        objects.push(text(git_stdin(&repo, &["mktree"], listing.as_bytes())));
    }
    let top = objects.last().unwrap().clone();
    // Written by hand: the parent lives on the server only.
    let parent = parent.map(|p| format!("parent {p}\n")).unwrap_or_default();
    let signature = "P <p@example.com> 1700000000 +0000";
    let body = format!("tree {top}\n{parent}author {signature}\ncommitter {signature}\n\nbomb\n");
    let commit = text(git_stdin(
        &repo,
        &["hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
        body.as_bytes(),
    ));
    objects.push(commit.clone());
    let objects = objects.join("\n") + "\n";
    let pack = git_stdin(&repo, &["pack-objects", "--stdout", "-q"], objects.as_bytes());
    (commit, pack)
}

/// A pack of one commit holding a single file five folders deep whose path is 1,256 bytes.
fn long_path(dir: &Path) -> (String, Vec<u8>) {
    ok(dir, &["init", "-q", "--bare", "long.git"]);
    let repo = dir.join("long.git");
    let blob = text(git_stdin(&repo, &["hash-object", "-w", "--stdin"], b"x\n"));
    let mut objects = vec![blob.clone()];
    let mut listing = format!("100644 blob {blob}\tf\n");
    for level in 0..6 {
        let tree = text(git_stdin(&repo, &["mktree"], listing.as_bytes()));
        objects.push(tree.clone());
        listing = format!("040000 tree {tree}\t{}\n", level.to_string().repeat(250));
    }
    let top = objects.last().unwrap().clone();
    let commit = ok(&repo, &["commit-tree", &top, "-m", "long"]);
    objects.push(commit.clone());
    let objects = objects.join("\n") + "\n";
    (commit, git_stdin(&repo, &["pack-objects", "--stdout", "-q"], objects.as_bytes()))
}

/// A receive-pack request creating or moving `refname` from `old` to `new`.
fn receive_request(old: &str, new: &str, refname: &str, pack: &[u8]) -> Vec<u8> {
    let line = format!("{old} {new} {refname}\0report-status\n");
    let mut body = format!("{:04x}{line}0000", line.len() + 4).into_bytes();
    body.extend_from_slice(pack);
    body
}

async fn receive_pack(server: &CappedServer, repo: &str, body: Vec<u8>) -> String {
    let response = server
        .client
        .post(format!("{}/{repo}.git/git-receive-pack", server.base))
        .basic_auth("user", Some(&server.alice))
        .header("content-type", "application/x-git-receive-pack-request")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn head(server: &CappedServer, repo: &str) -> String {
    let info: Value = server
        .client
        .get(format!("{}/api/models/{repo}", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    info["sha"].as_str().unwrap().to_owned()
}

const ZERO: &str = "0000000000000000000000000000000000000000";

/// Finding 3: a 1000 × 1000 × 1000 tree from a pack of five objects is refused while it is
/// counted, with a message saying why, and the server stays healthy.
#[tokio::test]
async fn a_push_of_a_tree_that_reuses_subtrees_is_refused() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/bomb", false).await;
    let before = head(&server, "alice/bomb").await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_owned();
    let (commit, pack) = blocking(move || tree_bomb(&dir, None)).await;
    assert!(pack.len() < 64 << 10, "the pack is small: {} bytes", pack.len());
    let started = Instant::now();
    let report =
        receive_pack(&server, "alice/bomb", receive_request(ZERO, &commit, "refs/heads/bomb", &pack)).await;
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(
        report.contains("ng refs/heads/bomb") && report.contains("more than 1000000 files and folders"),
        "{report}"
    );
    let refs: Value = server
        .client
        .get(format!("{}/api/models/alice/bomb/refs", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refs["branches"].as_array().unwrap().len(), 1, "{refs}");
    assert_eq!(head(&server, "alice/bomb").await, before);

    // Paths are bounded in length too, as API paths are (else a deep chain of folders makes
    // every listed path long).
    let dir = work.path().to_owned();
    let (commit, pack) = blocking(move || long_path(&dir)).await;
    let report =
        receive_pack(&server, "alice/bomb", receive_request(ZERO, &commit, "refs/heads/long", &pack)).await;
    assert!(report.contains("ng refs/heads/long") && report.contains("longer than 1024 bytes"), "{report}");
    server.assert_healthy().await;
}

/// Finding 3, old data: a tree of a billion paths stored before the rule (here: a server
/// whose limit is above it) is listed a page at a time, repo info lists a bounded `siblings`,
/// and `?full=1` listings share one budget; the server stays healthy.
#[tokio::test]
async fn listings_of_a_huge_stored_tree_read_one_page_at_a_time() {
    let mut server = CappedServer::start_with(&[
        ("KURA_LIMIT_MAX_REPO_PATHS", "2000000000"),
        ("KURA_LIMIT_MAX_SIBLINGS", "5000"),
    ])
    .await;
    server.create_repo(&server.alice.clone(), "alice/old", false).await;
    let parent = head(&server, "alice/old").await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_owned();
    let base = parent.clone();
    let (commit, pack) = blocking(move || tree_bomb(&dir, Some(&base))).await;
    let report =
        receive_pack(&server, "alice/old", receive_request(&parent, &commit, "refs/heads/main", &pack)).await;
    assert!(report.contains("ok refs/heads/main"), "{report}");

    let get = |path: String| server.client.get(format!("{}{path}", server.base)).send();
    // Another user's read costs the same as an anonymous one.
    let info = server.client.get(format!("{}/api/models/alice/old", server.base)).bearer_auth(&server.bob);
    let info: Value = info.send().await.unwrap().json().await.unwrap();
    let siblings = info["siblings"].as_array().unwrap().len();
    assert!(siblings > 1000 && siblings <= 5000, "{siblings} siblings");
    let listing = get("/api/models?full=1&author=alice".into()).await.unwrap();
    assert_eq!(listing.status(), 200);
    let listing: Value = listing.json().await.unwrap();
    assert!(listing[0]["siblings"].as_array().unwrap().len() <= 5000);

    // Recursive listing: pages of 1000 that follow one another.
    let first = get("/api/models/alice/old/tree/main?recursive=true&expand=false".into()).await.unwrap();
    assert_eq!(first.status(), 200);
    let next = header(&first, "link").unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    assert_eq!(first.as_array().unwrap().len(), 1000);
    let url = next.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let second: Value = server.client.get(url).send().await.unwrap().json().await.unwrap();
    let second = second.as_array().unwrap();
    assert_eq!(second.len(), 1000);
    assert_ne!(second[0]["path"], first[999]["path"]);
    let deep = get("/api/models/alice/old/tree/main/d0999?recursive=true".into()).await.unwrap();
    assert_eq!(deep.status(), 200);
    assert!(header(&deep, "link").is_some());
    server.assert_healthy().await;
}

/// Every path of a tree listing, following its `Link`s; pages hold at most 3 entries.
async fn all_pages(server: &TestServer, path: &str) -> Vec<String> {
    let mut url = format!("{}{path}", server.base);
    let mut paths = Vec::new();
    loop {
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let link = header(&response, "link")
            .map(|l| l.trim_start_matches('<').split('>').next().unwrap().to_owned());
        let page: Value = response.json().await.unwrap();
        assert!(page.as_array().unwrap().len() <= 3);
        paths.extend(page.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap().to_owned()));
        match link {
            Some(next) => url = next,
            None => return paths,
        }
    }
}

/// Finding 3: tree pages follow each other without gaps or repeats, in and across folders,
/// recursive or not; each page reads only its own entries.
#[tokio::test]
async fn tree_listings_page_by_cursor() {
    let server = TestServer::start_with(|config| config.limits.tree_page_entries = 3).await;
    server.create_repo(&server.alice, "alice/p", false).await;
    let files = ["a.txt", "b/c.txt", "b/d.txt", "b/e/f.txt", "g.txt", "h/i.txt"];
    let lines: Vec<Value> = files.iter().map(|f| file_line(f, f.as_bytes())).collect();
    assert_eq!(server.commit(&server.alice, "alice/p", "main", &lines, None).await.status(), 200);
    assert_eq!(
        all_pages(&server, "/api/models/alice/p/tree/main?recursive=true").await,
        [".gitattributes", "a.txt", "b", "g.txt", "h", "b/c.txt", "b/d.txt", "b/e", "b/e/f.txt", "h/i.txt"]
    );
    assert_eq!(all_pages(&server, "/api/models/alice/p/tree/main/b").await, ["b/c.txt", "b/d.txt", "b/e"]);
    assert_eq!(
        all_pages(&server, "/api/models/alice/p/tree/main/b?recursive=true").await,
        ["b/c.txt", "b/d.txt", "b/e", "b/e/f.txt"]
    );
    assert_eq!(
        all_pages(&server, "/api/models/alice/p/tree/main").await,
        [".gitattributes", "a.txt", "b", "g.txt", "h"]
    );
    let bad = server.get("/api/models/alice/p/tree/main?cursor=zz%2Fnope").send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

/// Finding 3: an API commit cannot make a tree over the path budget either.
#[tokio::test]
async fn a_commit_over_the_path_budget_is_refused() {
    let server = TestServer::start_with(|config| config.limits.max_repo_paths = 10).await;
    server.create_repo(&server.alice, "alice/c", false).await;
    let before = server.head_sha(&server.alice, "alice/c").await;
    let lines: Vec<Value> = (0..5).map(|i| file_line(&format!("d{i}/f.txt"), b"x")).collect();
    let refused = server.commit(&server.alice, "alice/c", "main", &lines, None).await;
    assert_eq!(refused.status(), 413);
    let message = refused.text().await.unwrap();
    assert!(message.contains("more than 10 files and folders"), "{message}");
    assert_eq!(server.head_sha(&server.alice, "alice/c").await, before);
    let fits: Vec<Value> = (0..4).map(|i| file_line(&format!("d{i}/f.txt"), b"x")).collect();
    assert_eq!(server.commit(&server.alice, "alice/c", "main", &fits, None).await.status(), 200);
}

fn pkt(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(format!("{:04x}{line}", line.len() + 4).as_bytes());
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

async fn upload_pack(server: &CappedServer, repo: &str, body: Vec<u8>) -> (u16, Duration) {
    let started = Instant::now();
    let response = server
        .client
        .post(format!("{}/{repo}.git/git-upload-pack", server.base))
        .header("content-type", "application/x-git-upload-pack-request")
        .header("content-encoding", "gzip")
        .body(gzip(&body))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    (status, started.elapsed())
}

/// Finding 6: 670k want lines (anonymous, gzipped) are answered at once: distinct ones are
/// refused, repeats count once; 670k haves are looked up only up to the budget.
#[tokio::test]
async fn upload_pack_bounds_wants_and_haves() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/g", false).await;
    let tip = head(&server, "alice/g").await;

    let mut distinct = Vec::new();
    for i in 0..670_000u32 {
        pkt(&mut distinct, &format!("want {:040x}\n", u128::from(i) + 1));
    }
    distinct.extend_from_slice(b"0000");
    pkt(&mut distinct, "done\n");
    let (status, took) = upload_pack(&server, "alice/g", distinct).await;
    assert_eq!(status, 400);
    assert!(took < Duration::from_secs(5), "took {took:?}");

    let mut repeated = Vec::new();
    pkt(&mut repeated, &format!("want {tip} side-band-64k\n"));
    for _ in 0..670_000 {
        pkt(&mut repeated, &format!("want {tip}\n"));
    }
    repeated.extend_from_slice(b"0000");
    pkt(&mut repeated, "done\n");
    let (status, took) = upload_pack(&server, "alice/g", repeated).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(5), "took {took:?}");

    let mut haves = Vec::new();
    pkt(&mut haves, &format!("want {tip} side-band-64k\n"));
    haves.extend_from_slice(b"0000");
    for i in 0..670_000u32 {
        pkt(&mut haves, &format!("have {:040x}\n", u128::from(i) + 1));
    }
    pkt(&mut haves, "done\n");
    let (status, took) = upload_pack(&server, "alice/g", haves).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    server.assert_healthy().await;
}

/// A history of 1000 commits on a 1000-file tree: the first commit adds every file, each
/// later one changes one file. Returns (tip, pack).
fn long_history(dir: &Path) -> (String, Vec<u8>) {
    ok(dir, &["init", "-q", "--bare", "hist.git"]);
    let repo = dir.join("hist.git");
    let mut stream = String::new();
    for n in 0..1000 {
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter P <p@example.com> {} +0000\ndata 8\nc{n:06}\n",
            1_700_000_000 + n
        ));
        let changed: Vec<usize> = if n == 0 { (0..1000).collect() } else { vec![n] };
        for file in changed {
            let content = format!("{file}:{n}\n");
            stream.push_str(&format!("M 100644 inline f{file:04}\ndata {}\n{content}", content.len()));
        }
        stream.push('\n');
    }
    git_stdin(&repo, &["fast-import", "--quiet"], stream.as_bytes());
    let tip = ok(&repo, &["rev-parse", "main"]);
    let objects = git_stdin(&repo, &["rev-list", "--objects", "main"], b"");
    (tip, git_stdin(&repo, &["pack-objects", "--stdout", "-q"], &objects))
}

/// Finding 9: `expand=true` on a 1000-entry tree with 1000 commits answers each of a few
/// concurrent anonymous requests quickly, and `/health` stays fast.
#[tokio::test]
async fn expand_walks_a_long_history_within_its_budget() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/h", false).await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_owned();
    let (tip, pack) = blocking(move || long_history(&dir)).await;
    let report =
        receive_pack(&server, "alice/h", receive_request(ZERO, &tip, "refs/heads/hist", &pack)).await;
    assert!(report.contains("ok refs/heads/hist"), "{report}");

    let url = format!("{}/api/models/alice/h/tree/hist?expand=true", server.base);
    let requests: Vec<_> = (0..3)
        .map(|_| {
            let (client, url) = (server.client.clone(), url.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
                (page, started.elapsed())
            })
        })
        .collect();
    let health_started = Instant::now();
    let health = server.client.get(format!("{}/health", server.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health_started.elapsed() < Duration::from_secs(1), "/health took {:?}", health_started.elapsed());
    for request in requests {
        let (page, took) = request.await.unwrap();
        assert!(took < Duration::from_secs(3), "expand took {took:?}");
        let entries = page.as_array().unwrap();
        assert_eq!(entries.len(), 1000);
        let last = |name: &str| {
            entries
                .iter()
                .find(|e| e["path"] == name)
                .and_then(|e| e["lastCommit"]["title"].as_str())
                .map(str::to_owned)
        };
        assert_eq!(last("f0999").as_deref(), Some("c000999"));
        assert_eq!(last("f0500").as_deref(), Some("c000500"));
        assert_eq!(last("f0000").as_deref(), Some("c000000"));
    }
    server.assert_healthy().await;
}

/// Finding 9: past its budget the walk stops and leaves `lastCommit` out, never fails.
#[tokio::test]
async fn expand_leaves_last_commit_out_past_its_budget() {
    let server = TestServer::start_with(|config| config.limits.expand_max_tree_entries = 1).await;
    server.create_repo(&server.alice, "alice/e", false).await;
    for content in [b"1", b"2"] {
        let lines = [file_line("a.txt", content), file_line("b.txt", b"b")];
        assert_eq!(server.commit(&server.alice, "alice/e", "main", &lines, None).await.status(), 200);
    }
    let response = server.get("/api/models/alice/e/tree/main?expand=true").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    let entries = page.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{page}");
    assert!(entries.iter().all(|e| e.get("lastCommit").is_none()), "{page}");
}
