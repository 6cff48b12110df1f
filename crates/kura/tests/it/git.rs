//! The real `git` client against kura's smart HTTP: clone (protocol v2 and v0), shallow clone,
//! incremental fetch, deltas in the pack, private repos, and a clean refusal of pushes with a
//! read token.

use crate::support::*;

#[tokio::test]
async fn clones_and_fetches_reproduce_the_api_commit_ids() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/g", false).await;
    server
        .commit(
            &server.alice,
            "alice/g",
            "main",
            &[file_line("README.md", b"# g\n"), file_line("src/a.py", b"print(1)\n")],
            None,
        )
        .await;
    let sha = server.head_sha(&server.alice, "alice/g").await;
    let work = tempfile::tempdir().unwrap();
    let url = format!("{}/alice/g", server.base);
    let (base, url_git) = (work.path().to_owned(), format!("{url}.git"));
    let (url2, base2) = (url.clone(), base.clone());
    tokio::task::spawn_blocking(move || {
        ok(&base2, &["clone", "-q", &url2, "v2"]);
        assert_eq!(ok(&base2.join("v2"), &["rev-parse", "HEAD"]), sha);
        assert_eq!(std::fs::read_to_string(base2.join("v2/src/a.py")).unwrap(), "print(1)\n");
        ok(&base2, &["-c", "protocol.version=0", "clone", "-q", &url_git, "v0"]);
        assert_eq!(ok(&base2.join("v0"), &["rev-parse", "HEAD"]), sha);
        ok(&base2, &["clone", "-q", "--depth", "1", &url2, "shallow"]);
        assert_eq!(ok(&base2.join("shallow"), &["rev-list", "--count", "HEAD"]), "1");
        // Stateless v0 with --depth: the first answer is the shallow list alone.
        ok(&base2, &["-c", "protocol.version=0", "clone", "-q", "--depth", "1", &url_git, "shallow0"]);
        assert_eq!(ok(&base2.join("shallow0"), &["rev-list", "--count", "HEAD"]), "1");
        ok(&base2.join("shallow0"), &["-c", "protocol.version=0", "fetch", "-q", "--unshallow"]);
        assert_eq!(ok(&base2.join("shallow0"), &["rev-list", "--count", "HEAD"]), "2");
        ok(&base2.join("v2"), &["fsck", "--strict"]);
    })
    .await
    .unwrap();

    // A new API commit arrives with an incremental fetch; the shallow clone can deepen.
    server.commit(&server.alice, "alice/g", "main", &[file_line("new.txt", b"new\n")], None).await;
    let new_sha = server.head_sha(&server.alice, "alice/g").await;
    tokio::task::spawn_blocking(move || {
        ok(&base.join("v2"), &["pull", "-q"]);
        assert_eq!(ok(&base.join("v2"), &["rev-parse", "HEAD"]), new_sha);
        assert_eq!(ok(&base.join("v2"), &["rev-list", "--count", "HEAD"]), "3");
        ok(&base.join("shallow"), &["fetch", "-q", "--unshallow"]);
        assert_eq!(ok(&base.join("shallow"), &["rev-list", "--count", "origin/main"]), "3");
        ok(&base.join("v2"), &["ls-remote", &url]);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn private_repos_need_credentials_and_read_tokens_cannot_push() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/p", true).await;
    let work = tempfile::tempdir().unwrap();
    let anonymous = format!("{}/alice/p", server.base);
    let with_token = anonymous.replace("http://", &format!("http://user:{}@", server.alice_read));
    let with_other = anonymous.replace("http://", &format!("http://user:{}@", server.bob));
    let refs = server.get("/alice/p.git/info/refs?service=git-upload-pack").send().await.unwrap();
    assert_eq!(refs.status(), 401);
    assert!(header(&refs, "www-authenticate").unwrap().starts_with("Basic"));
    let base = work.path().to_owned();
    tokio::task::spawn_blocking(move || {
        assert!(!git(&base, &["clone", "-q", &anonymous, "anon"]).status.success());
        assert!(!git(&base, &["clone", "-q", &with_other, "other"]).status.success());
        ok(&base, &["clone", "-q", &with_token, "mine"]);
        let repo = base.join("mine");
        ok(&repo, &["-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "x"]);
        let push = git(&repo, &["push", "-q", "origin", "HEAD:main"]);
        assert!(!push.status.success());
        assert!(
            String::from_utf8_lossy(&push.stderr).contains("403"),
            "{}",
            String::from_utf8_lossy(&push.stderr)
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_clone_sends_older_versions_as_deltas_that_git_accepts() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/d", false).await;
    let text =
        |n: usize| format!("{}changed line {n}\n{}", "same start\n".repeat(40), "same end\n".repeat(40));
    for n in 0..12 {
        let mut lines = vec![file_line("deep/er/notes.txt", text(n).as_bytes())];
        lines.push(file_line(&format!("deep/er/new{n}.txt"), format!("file {n}\n").as_bytes()));
        server.commit(&server.alice, "alice/d", "main", &lines, None).await;
    }
    let sha = server.head_sha(&server.alice, "alice/d").await;
    let work = tempfile::tempdir().unwrap();
    let (url, base) = (format!("{}/alice/d", server.base), work.path().to_owned());
    tokio::task::spawn_blocking(move || {
        ok(&base, &["clone", "-q", &url, "d"]);
        let repo = base.join("d");
        assert_eq!(ok(&repo, &["rev-parse", "HEAD"]), sha);
        ok(&repo, &["fsck", "--strict"]);
        let packs = ok(&repo, &["rev-parse", "--git-path", "objects/pack"]);
        let index = std::fs::read_dir(repo.join(packs))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|ext| ext == "idx"))
            .unwrap();
        // `verify-pack -v` ends with one "chain length = N: M objects" line per delta depth.
        let listing = ok(&repo, &["verify-pack", "-v", index.to_str().unwrap()]);
        let deltas: usize = listing
            .lines()
            .filter_map(|line| line.strip_prefix("chain length = "))
            .map(|rest| rest.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse::<usize>().unwrap())
            .sum();
        // At least the 11 older versions of notes.txt and of the root tree (tiny trees such as
        // `deep`, one entry, are not worth a delta).
        assert!(deltas >= 22, "{deltas} deltas:\n{listing}");
    })
    .await
    .unwrap();
}
