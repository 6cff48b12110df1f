//! `git push` with the real git client: pushed commits keep their ids and show at once through
//! the API; branches and tags are created and deleted; history rewrites need force and
//! rights; a push racing an API commit loses or wins cleanly; bad pushes change nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Runs git and returns (success, stderr).
pub(crate) fn attempt(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = git(dir, args);
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

pub(crate) fn authed(server: &TestServer, token: &str, repo: &str) -> String {
    format!("{}/{repo}", server.base).replace("http://", &format!("http://user:{token}@"))
}

pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

async fn json(server: &TestServer, path: &str) -> Value {
    server.get(path).bearer_auth(&server.alice).send().await.unwrap().json().await.unwrap()
}

pub(crate) fn write(dir: &Path, path: &str, content: &[u8]) {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, content).unwrap();
}

#[tokio::test]
async fn pushed_commits_keep_their_ids_and_show_through_the_api() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/g", false).await;
    server.commit(&server.alice, "alice/g", "main", &[file_line("README.md", b"# g\n")], None).await;
    let work = tempfile::tempdir().unwrap();
    let (base, url) = (work.path().to_owned(), authed(&server, &server.alice, "alice/g"));
    let (tip, first) = blocking(move || {
        ok(&base, &["clone", "-q", &url, "c"]);
        let repo = base.join("c");
        write(&repo, "src/pkg/a.py", b"print('a')\n");
        write(&repo, "data/x.txt", b"x\n");
        ok(&repo, &["add", "-A"]);
        ok(&repo, &["commit", "-q", "-m", "Add code"]);
        let first = ok(&repo, &["rev-parse", "HEAD"]);
        write(&repo, "src/pkg/a.py", b"print('b')\n");
        ok(&repo, &["commit", "-q", "-am", "Change code"]);
        ok(&repo, &["push", "-q", "origin", "main"]);
        ok(&repo, &["tag", "v1"]);
        ok(&repo, &["push", "-q", "origin", "HEAD:refs/heads/dev", "v1"]);
        (ok(&repo, &["rev-parse", "HEAD"]), first)
    })
    .await;

    assert_eq!(server.head_sha(&server.alice, "alice/g").await, tip);
    let commits = json(&server, "/api/models/alice/g/commits/main").await;
    let ids: Vec<&str> = commits.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(&ids[..2], &[tip.as_str(), first.as_str()]);
    assert_eq!(commits[0]["title"], "Change code");
    let file = server.get("/alice/g/resolve/main/src/pkg/a.py").send().await.unwrap();
    assert_eq!(file.text().await.unwrap(), "print('b')\n");
    let by_id = server.get(&format!("/api/models/alice/g/revision/{first}")).send().await.unwrap();
    assert_eq!(by_id.status(), 200, "pushed commits are addressable by id at once");
    let refs = json(&server, "/api/models/alice/g/refs").await;
    assert_eq!(refs["branches"].as_array().unwrap().len(), 2, "{refs}");
    assert_eq!(refs["tags"][0]["name"], "v1");
    assert_eq!(refs["tags"][0]["targetCommit"], tip.as_str());

    // Deleting a branch works; deleting main does not.
    let (base, url) = (work.path().to_owned(), authed(&server, &server.alice, "alice/g"));
    blocking(move || {
        let repo = base.join("c");
        ok(&repo, &["push", "-q", "origin", ":dev"]);
        let (pushed, stderr) = attempt(&repo, &["push", "origin", ":main"]);
        assert!(!pushed && stderr.contains("refusing to delete the current branch"), "{stderr}");
        ok(&base, &["clone", "-q", &url, "fresh"]);
        assert_eq!(ok(&base.join("fresh"), &["rev-parse", "HEAD"]), tip);
        ok(&base.join("fresh"), &["fsck", "--strict"]);
    })
    .await;
    let refs = json(&server, "/api/models/alice/g/refs").await;
    assert_eq!(refs["branches"].as_array().unwrap().len(), 1, "{refs}");
}

#[tokio::test]
async fn history_rewrites_need_force_and_rights() {
    let server = TestServer::start().await;
    server.admin().await.accounts().set_org_member("acme", "bob", kura_core::OrgRole::Write).await.unwrap();
    server.create_repo(&server.alice, "acme/r", false).await;
    let work = tempfile::tempdir().unwrap();
    let (base, alice, bob) = (
        work.path().to_owned(),
        authed(&server, &server.alice, "acme/r"),
        authed(&server, &server.bob, "acme/r"),
    );
    let amended = blocking(move || {
        ok(&base, &["clone", "-q", &bob, "bob"]);
        let repo = base.join("bob");
        ok(&repo, &["commit", "-q", "--allow-empty", "-m", "one"]);
        ok(&repo, &["push", "-q", "origin", "main"]);
        ok(&repo, &["commit", "-q", "--amend", "--allow-empty", "-m", "one, amended"]);
        let (pushed, stderr) = attempt(&repo, &["push", "origin", "main"]);
        assert!(!pushed && stderr.contains("rejected"), "git refuses a non-fast-forward: {stderr}");
        let (pushed, stderr) = attempt(&repo, &["push", "--force", "origin", "main"]);
        assert!(!pushed && stderr.contains("non-fast-forward"), "a writer may not force: {stderr}");
        ok(&repo, &["remote", "set-url", "origin", &alice]);
        ok(&repo, &["push", "-q", "--force", "origin", "main"]);
        ok(&repo, &["rev-parse", "HEAD"])
    })
    .await;
    assert_eq!(server.head_sha(&server.alice, "acme/r").await, amended, "an org admin may force");
}

#[tokio::test]
async fn a_push_racing_an_api_commit_has_one_winner() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/race", false).await;
    let start = server.head_sha(&server.alice, "alice/race").await;
    let work = tempfile::tempdir().unwrap();
    let (base, url) = (work.path().to_owned(), authed(&server, &server.alice, "alice/race"));
    let pushed_tip = blocking(move || {
        ok(&base, &["clone", "-q", &url, "c"]);
        let repo = base.join("c");
        write(&repo, "pushed.txt", b"from git\n");
        ok(&repo, &["add", "-A"]);
        ok(&repo, &["commit", "-q", "-m", "from git"]);
        ok(&repo, &["rev-parse", "HEAD"])
    })
    .await;
    let repo: PathBuf = work.path().join("c");
    let push = blocking(move || attempt(&repo, &["push", "origin", "main"]));
    let lines = [file_line("api.txt", b"api\n")];
    let api = server.commit(&server.alice, "alice/race", "main", &lines, Some(&start));
    let ((pushed, stderr), api) = tokio::join!(push, api);
    let api_won = api.status() == 200;
    assert!(api_won || api.status() == 412, "{}", api.status());
    assert!(pushed != api_won, "exactly one wins (push: {pushed} {stderr}; api: {api_won})");
    let head = server.head_sha(&server.alice, "alice/race").await;
    if pushed {
        assert_eq!(head, pushed_tip);
    }
    let (base, url) = (work.path().to_owned(), authed(&server, &server.alice, "alice/race"));
    blocking(move || {
        ok(&base, &["clone", "-q", &url, "after"]);
        assert_eq!(ok(&base.join("after"), &["rev-parse", "HEAD"]), head);
        ok(&base.join("after"), &["fsck", "--strict"]);
        assert_eq!(base.join("after/pushed.txt").exists(), pushed);
        assert_eq!(base.join("after/api.txt").exists(), api_won);
    })
    .await;
}

#[tokio::test]
async fn pushes_without_rights_or_with_bad_content_change_nothing() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/b", false).await;
    let start = server.head_sha(&server.alice, "alice/b").await;
    let work = tempfile::tempdir().unwrap();
    let (base, bob, reader, anon) = (
        work.path().to_owned(),
        authed(&server, &server.bob, "alice/b"),
        authed(&server, &server.alice_read, "alice/b"),
        format!("{}/alice/b", server.base),
    );
    let alice = authed(&server, &server.alice, "alice/b");
    blocking(move || {
        ok(&base, &["clone", "-q", &anon, "c"]);
        let repo = base.join("c");
        ok(&repo, &["commit", "-q", "--allow-empty", "-m", "nope"]);
        // Anonymous: a 401 challenge, so git asks for credentials (prompts are off here).
        // bob may contribute (pull requests) but not write main; a read token cannot push at all.
        let bob_refused = "no write access to this repo";
        for (url, expect) in [(&anon, "could not read Username"), (&bob, bob_refused), (&reader, "403")] {
            ok(&repo, &["remote", "set-url", "origin", url]);
            let (pushed, stderr) = attempt(&repo, &["push", "origin", "main"]);
            assert!(!pushed && stderr.contains(expect), "{url}: {stderr}");
        }
        ok(&repo, &["remote", "set-url", "origin", &alice]);
        // Only branches and tags; a pull request's ref comes with the pull request.
        let (pushed, stderr) = attempt(&repo, &["push", "origin", "HEAD:refs/pr/1"]);
        assert!(!pushed && stderr.contains("made by opening the pull request"), "{stderr}");
        let (pushed, stderr) = attempt(&repo, &["push", "origin", "HEAD:refs/notes/x"]);
        assert!(!pushed && stderr.contains("only branches"), "{stderr}");
        // A plain file over 10 MiB belongs in LFS.
        ok(&repo, &["reset", "-q", "--hard", "origin/main"]);
        let big: Vec<u8> = (0..(11u32 << 20)).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        write(&repo, "big.bin", &big);
        ok(&repo, &["add", "big.bin"]);
        ok(&repo, &["commit", "-q", "-m", "big"]);
        let (pushed, stderr) = attempt(&repo, &["push", "origin", "main"]);
        assert!(!pushed && stderr.contains("Git LFS"), "{stderr}");
        // An LFS pointer to an object the server never received.
        ok(&repo, &["reset", "-q", "--hard", "origin/main"]);
        let pointer =
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 12\n", "ab".repeat(32));
        write(&repo, "weights.bin", pointer.as_bytes());
        ok(&repo, &["add", "weights.bin"]);
        ok(&repo, &["commit", "-q", "-m", "dangling pointer"]);
        let (pushed, stderr) = attempt(&repo, &["push", "origin", "main"]);
        assert!(!pushed && stderr.contains("Git LFS object"), "{stderr}");
    })
    .await;
    assert_eq!(server.head_sha(&server.alice, "alice/b").await, start, "nothing moved");
}

/// Raw receive-pack requests: malformed pkt-lines, a corrupt pack, an unknown ref kind.
#[tokio::test]
async fn malformed_push_requests_get_clear_errors() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let start = server.head_sha(&server.alice, "alice/m").await;
    let post = |body: Vec<u8>| {
        server
            .post("/alice/m.git/git-receive-pack")
            .basic_auth("user", Some(&server.alice))
            .header("content-type", "application/x-git-receive-pack-request")
            .body(body)
            .send()
    };
    let garbage = post(b"zzzz not a pkt-line".to_vec()).await.unwrap();
    assert_eq!(garbage.status(), 400);
    let truncated = post(b"0040".to_vec()).await.unwrap();
    assert_eq!(truncated.status(), 400);

    // A real pack from git, then the same pack with one byte flipped.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_owned();
    let (new, pack) = blocking(move || {
        ok(&dir, &["init", "-q", "src"]);
        let repo = dir.join("src");
        write(&repo, "f.txt", b"hello\n");
        ok(&repo, &["add", "-A"]);
        ok(&repo, &["commit", "-q", "-m", "c"]);
        let new = ok(&repo, &["rev-parse", "HEAD"]);
        let pack = Command::new("sh")
            .args(["-c", "git rev-list --objects HEAD | git pack-objects --stdout -q"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout;
        (new, pack)
    })
    .await;
    let request = |pack: &[u8], refname: &str| {
        let line = format!("{} {new} {refname}\0report-status\n", "0".repeat(40));
        let mut body = format!("{:04x}{line}0000", line.len() + 4).into_bytes();
        body.extend_from_slice(pack);
        body
    };
    let mut corrupt = pack.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x40;
    let answer = post(request(&corrupt, "refs/heads/side")).await.unwrap();
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    assert!(text.contains("unpack ") && !text.contains("unpack ok"), "{text}");
    assert!(text.contains("ng refs/heads/side"), "{text}");
    let short = post(request(&pack[..pack.len() - 7], "refs/heads/side")).await.unwrap();
    assert!(!short.text().await.unwrap().contains("unpack ok"));
    let odd = post(request(&pack, "refs/notes/x")).await.unwrap().text().await.unwrap();
    assert!(odd.contains("unpack ok") && odd.contains("ng refs/notes/x"), "{odd}");
    // The side branch was never created, main never moved; the good pack lands.
    let refs = json(&server, "/api/models/alice/m/refs").await;
    assert_eq!(refs["branches"].as_array().unwrap().len(), 1, "{refs}");
    assert_eq!(server.head_sha(&server.alice, "alice/m").await, start);
    let good = post(request(&pack, "refs/heads/side")).await.unwrap().text().await.unwrap();
    assert!(good.contains("unpack ok") && good.contains("ok refs/heads/side"), "{good}");
}
