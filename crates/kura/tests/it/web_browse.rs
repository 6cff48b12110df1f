//! The browsing pages of the web UI: tree, blob, history and commit pages (their HTML
//! structure, caps and pagination), the refusals of private and gated repos, and the sandbox
//! headers of raw file answers.

use serde_json::{Value, json};

use crate::support::{TestServer, file_line, header};

const REPO: &str = "alice/demo";

async fn page(server: &TestServer, token: Option<&str>, path: &str) -> (u16, String) {
    let mut request = server.get(path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn commit(server: &TestServer, repo: &str, lines: &[Value]) {
    let response = server.commit(&server.alice, repo, "main", lines, None).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// `alice/demo` with a README, a Rust file, a binary and a 1,000-file folder.
async fn demo(server: &TestServer) {
    assert_eq!(server.create_repo(&server.alice, REPO, false).await.status(), 200);
    let mut lines = vec![
        file_line("README.md", b"# Demo model\n\nSee [the guide](docs/guide.md).\n"),
        file_line("src/main.rs", b"fn main() {\n    println!(\"hello\");\n}\n"),
        file_line("data.bin", b"\x00\x01\x02binary"),
    ];
    for n in 0..1000 {
        lines.push(file_line(&format!("many/file-{n:04}.txt"), format!("{n}\n").as_bytes()));
    }
    commit(server, REPO, &lines).await;
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

#[tokio::test]
async fn tree_lists_entries_paginates_and_redirects_files() {
    let server = TestServer::start().await;
    demo(&server).await;
    let (status, html) = page(&server, None, "/alice/demo/tree/main").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<table class=\"files\">"), "{html}");
    for name in ["README.md", "src/", "many/", "data.bin"] {
        assert!(html.contains(&format!(">{name}</a>")), "{name} missing: {html}");
    }
    assert!(html.contains("href=\"/alice/demo/blob/main/README.md\""), "{html}");
    assert!(html.contains("<details class=\"refs\">") && html.contains("href=\"/alice/demo/tree/main\""));
    assert!(html.contains("class=\"size\">9 Bytes<"), "{html}");
    assert!(html.contains("test commit"), "last commits are shown: {html}");
    assert!(!html.contains("class=\"upload"), "anonymous callers get no upload link");
    let (_, mine) = page(&server, Some(&server.alice), "/alice/demo/tree/main").await;
    assert!(mine.contains("class=\"upload button\" href=\"/alice/demo/upload/main\""), "{mine}");

    let (status, first) = page(&server, None, "/alice/demo/tree/main/many").await;
    assert_eq!(status, 200);
    assert_eq!(count(&first, "class=\"entry\""), 200);
    assert!(first.contains("file-0199.txt") && !first.contains("file-0200.txt"));
    let next = first.split("rel=\"next\" href=\"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(next, "/alice/demo/tree/main/many?cursor=many%2Ffile-0199.txt");
    let (_, second) = page(&server, None, next).await;
    assert_eq!(count(&second, "class=\"entry\""), 200);
    assert!(second.contains("file-0200.txt") && !second.contains("file-0199.txt"));
    let (_, last) = page(&server, None, "/alice/demo/tree/main/many?cursor=many%2Ffile-0899.txt").await;
    assert_eq!(count(&last, "class=\"entry\""), 100);
    assert!(!last.contains("rel=\"next\""));

    // A branch with a slash stays one encoded segment in every link.
    let branch = server.post("/api/models/alice/demo/branch/release%2Fv1").bearer_auth(&server.alice);
    assert_eq!(branch.send().await.unwrap().status(), 200);
    let (status, release) = page(&server, None, "/alice/demo/tree/release%2Fv1/src").await;
    assert_eq!(status, 200, "{release}");
    assert!(release.contains("href=\"/alice/demo/blob/release%2Fv1/src/main.rs\""), "{release}");
    assert!(release.contains("href=\"/alice/demo/tree/release%2Fv1/src\" aria-current=\"page\">release/v1<"));
    assert!(release.contains("href=\"/alice/demo/tree/main/src\">main<"), "{release}");

    let response = server.get("/alice/demo/tree/main/src/main.rs").send().await.unwrap();
    assert_eq!(response.url().path(), "/alice/demo/blob/main/src/main.rs");
    for missing in
        ["/alice/demo/tree/main/nope", "/alice/demo/tree/nobranch", "/alice/demo/tree/main?cursor=zzz/x"]
    {
        let (status, _) = page(&server, None, missing).await;
        assert!(status == 404 || status == 400, "{missing}: {status}");
    }
}

#[tokio::test]
async fn blob_highlights_renders_markdown_and_caps_binary_and_large_files() {
    let server = TestServer::start_with(|_| {}).await;
    demo(&server).await;
    let (status, html) = page(&server, None, "/alice/demo/blob/main/src/main.rs").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<div class=\"code hl\">"), "{html}");
    assert!(
        html.contains("<td class=\"src\"><span class=\"k\">fn</span> <span class=\"f\">main</span>"),
        "{html}"
    );
    assert!(html.contains("class=\"raw\" href=\"/alice/demo/resolve/main/src/main.rs\""), "{html}");
    assert!(html.contains("class=\"history\" href=\"/alice/demo/commits/main/src/main.rs\""), "{html}");
    assert!(html.contains("<nav class=\"crumbs\">"), "{html}");

    let (_, readme) = page(&server, None, "/alice/demo/blob/main/README.md").await;
    assert!(readme.contains("<article class=\"markdown\">"), "{readme}");
    assert!(readme.contains("<h1>Demo model</h1>"), "{readme}");
    assert!(readme.contains("href=\"/alice/demo/blob/main/docs/guide.md\""), "{readme}");
    assert!(readme.contains("href=\"/alice/demo/blob/main/README.md?plain=1\""), "{readme}");
    let (_, source) = page(&server, None, "/alice/demo/blob/main/README.md?plain=1").await;
    assert!(!source.contains("<article class=\"markdown\">") && source.contains("Demo model"), "{source}");

    let (_, binary) = page(&server, None, "/alice/demo/blob/main/data.bin").await;
    assert!(binary.contains("download-only") && !binary.contains("class=\"code"), "{binary}");

    let big_text = "word ".repeat(130_000); // 650 kB: shown, not highlighted
    let huge = vec![b'a'; 9 << 20]; // over 8 MiB: not shown
    commit(&server, REPO, &[file_line("big.txt", big_text.as_bytes()), file_line("huge.txt", &huge)]).await;
    let (_, big) = page(&server, None, "/alice/demo/blob/main/big.txt").await;
    assert!(
        big.contains("<pre class=\"plain\">") && !big.contains("class=\"code hl\""),
        "plain beyond the cap"
    );
    let (status, huge_page) = page(&server, None, "/alice/demo/blob/main/huge.txt").await;
    assert_eq!(status, 200);
    assert!(huge_page.contains("larger than 8 MiB") && huge_page.len() < 100_000, "huge files are not shown");

    let (status, _) = page(&server, None, "/alice/demo/blob/main/nope.rs").await;
    assert_eq!(status, 404);
    let response = server.get("/alice/demo/blob/main/src").send().await.unwrap();
    assert_eq!(response.url().path(), "/alice/demo/tree/main/src");
}

#[tokio::test]
async fn history_and_commit_pages_show_titles_and_diffs() {
    let server = TestServer::start().await;
    demo(&server).await;
    let edit =
        json!({"key": "header", "value": {"summary": "Say goodbye", "description": "A longer story."}});
    let body = [edit, file_line("src/main.rs", b"fn main() {\n    println!(\"goodbye\");\n}\n")]
        .iter()
        .map(|v| serde_json::to_string(v).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let response = server
        .post("/api/models/alice/demo/commit/main")
        .bearer_auth(&server.alice)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    commit(&server, REPO, &[file_line("other.txt", b"x\n")]).await;

    let (status, history) = page(&server, None, "/alice/demo/commits/main").await;
    assert_eq!(status, 200, "{history}");
    assert!(history.contains("<ul class=\"commits\">"), "{history}");
    assert_eq!(count(&history, "class=\"commit-title\""), 4, "{history}"); // + the initial commit
    assert!(history.contains(">Say goodbye</a>"), "{history}");
    let (_, path_history) = page(&server, None, "/alice/demo/commits/main/src/main.rs").await;
    assert_eq!(count(&path_history, "class=\"commit-title\""), 2, "{path_history}");
    let (status, _) = page(&server, None, "/alice/demo/commits/main?p=0").await;
    assert_eq!(status, 400);

    let href =
        history.split("class=\"commit-title\" href=\"").nth(2).unwrap().split('"').next().unwrap().to_owned();
    let (status, commit_page) = page(&server, None, &href).await;
    assert_eq!(status, 200, "{commit_page}");
    assert!(
        commit_page.contains("<h1>Say goodbye</h1>") && commit_page.contains("A longer story."),
        "{commit_page}"
    );
    assert!(commit_page.contains("<section class=\"file-diff modified\">"), "{commit_page}");
    assert!(commit_page.contains("src/main.rs</a></h3>"), "{commit_page}");
    assert!(commit_page.contains("<table class=\"diff\">"), "{commit_page}");
    assert!(
        commit_page.contains("<tr class=\"del\">") && commit_page.contains("-    println!(&#34;hello&#34;);"),
        "{commit_page}"
    );
    assert!(
        commit_page.contains("<tr class=\"add\">")
            && commit_page.contains("+    println!(&#34;goodbye&#34;);"),
        "{commit_page}"
    );
    assert!(commit_page.contains("<tr class=\"hunk\">") && commit_page.contains("<tr class=\"ctx\">"));
    assert!(commit_page.contains("class=\"parent\""), "{commit_page}");

    // The 1,003-file commit is cut at 300 files; the repo's first commit is compared with
    // the empty tree.
    let big =
        history.split("class=\"commit-title\" href=\"").nth(3).unwrap().split('"').next().unwrap().to_owned();
    let (_, big) = page(&server, None, &big).await;
    assert!(big.contains("<section class=\"file-diff added\">") && big.contains("+# Demo model"), "{big}");
    assert_eq!(count(&big, "<section class=\"file-diff"), 300);
    assert!(big.contains("more files changed than this page lists"));
    assert!(big.contains("Binary file"), "data.bin shows only its size");
    let first =
        history.split("class=\"commit-title\" href=\"").nth(4).unwrap().split('"').next().unwrap().to_owned();
    let (status, root) = page(&server, None, &first).await;
    assert_eq!(status, 200, "{root}");
    assert!(!root.contains("class=\"parent\""), "{root}");
}

#[tokio::test]
async fn compare_walks_changed_folders_and_says_when_it_is_cut() {
    let server = TestServer::start().await;
    demo(&server).await;
    commit(&server, REPO, &[file_line("many/file-0007.txt", b"seven\n"), file_line("new.txt", b"n\n")]).await;
    let hub = server.admin().await;
    let id = kura_model::RepoId::new("alice", "demo").unwrap();
    let record = hub
        .repos()
        .find_repo(&kura_core::Identity::Anonymous, kura_model::RepoType::Model, &id)
        .await
        .unwrap();
    let head = hub.repos().resolve_revision(&record, "main").await.unwrap().commit;
    let commit = hub.repos().commit(&head).await.unwrap();
    let parent_tree = hub.repos().commit_tree(&commit.parents[0]).await.unwrap();
    let budget = kura_core::CompareBudget { max_entries: 10_000, max_files: 10 };
    let result = hub.repos().compare(Some(parent_tree), commit.tree, budget).await.unwrap();
    let paths: Vec<(&str, &str)> = result.files.iter().map(|f| (f.path.as_str(), f.kind.as_str())).collect();
    assert_eq!(paths, [("many/file-0007.txt", "modified"), ("new.txt", "added")]);
    assert!(!result.truncated);
    assert_eq!(result.files[0].old.unwrap().info.size, 2);
    assert_eq!(result.files[0].new.unwrap().info.size, 6);
    let small = kura_core::CompareBudget { max_entries: 100, max_files: 10 };
    assert!(hub.repos().compare(Some(parent_tree), commit.tree, small).await.unwrap().truncated);
    let root = hub.repos().compare(None, commit.tree, budget).await.unwrap();
    assert!(root.truncated && root.files.len() == 10);
    assert!(root.files.iter().all(|f| f.kind == kura_core::ChangeKind::Added && f.old.is_none()));
}

#[tokio::test]
async fn private_and_gated_repos_refuse_their_pages() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, "alice/secret", true).await.status(), 200);
    commit(&server, "alice/secret", &[file_line("a.txt", b"secret words\n")]).await;
    let sha = server.head_sha(&server.alice, "alice/secret").await;
    for suffix in ["tree/main", "blob/main/a.txt", &format!("commit/{sha}"), "commits/main"] {
        let (status, missing) = page(&server, None, &format!("/alice/nothing-here/{suffix}")).await;
        assert_eq!(status, 404);
        for token in [None, Some(server.bob.as_str())] {
            let (status, html) = page(&server, token, &format!("/alice/secret/{suffix}")).await;
            assert_eq!((status, &html), (404, &missing), "{suffix} {token:?}");
            assert!(!html.contains("secret words"));
        }
        let (status, html) = page(&server, Some(&server.alice), &format!("/alice/secret/{suffix}")).await;
        assert_eq!(status, 200, "{suffix}: {html}");
    }

    assert_eq!(server.create_repo(&server.alice, "alice/gated", false).await.status(), 200);
    commit(&server, "alice/gated", &[file_line("w.txt", b"gated words\n")]).await;
    let settings = server
        .client
        .put(format!("{}/api/models/alice/gated/settings", server.base))
        .bearer_auth(&server.alice)
        .json(&json!({"gated": "manual"}))
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), 200);
    for token in [None, Some(server.bob.as_str())] {
        let (status, html) = page(&server, token, "/alice/gated/blob/main/w.txt").await;
        assert_eq!(status, 403);
        assert!(!html.contains("gated words"));
        let sha = server.head_sha(&server.alice, "alice/gated").await;
        let (status, html) = page(&server, token, &format!("/alice/gated/commit/{sha}")).await;
        assert_eq!(status, 200);
        assert!(html.contains("w.txt") && !html.contains("gated words") && html.contains("gated"), "{html}");
    }
    let (_, html) = page(&server, Some(&server.alice), "/alice/gated/blob/main/w.txt").await;
    assert!(html.contains("gated words"));
}

#[tokio::test]
async fn raw_answers_are_sandboxed() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, REPO, false).await.status(), 200);
    commit(&server, REPO, &[file_line("page.html", b"<script>alert(document.cookie)</script>")]).await;
    for response in [
        server.get("/alice/demo/resolve/main/page.html").send().await.unwrap(),
        server.head("/alice/demo/resolve/main/page.html").send().await.unwrap(),
        server.get("/alice/demo/resolve/main/missing.html").send().await.unwrap(),
    ] {
        assert_eq!(header(&response, "content-security-policy"), Some("default-src 'none'; sandbox"));
        assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    }
    let response = server.get("/alice/demo/resolve/main/page.html").send().await.unwrap();
    assert_eq!(header(&response, "content-type"), Some("application/octet-stream"));
}

#[tokio::test]
async fn lfs_files_show_badges_their_sha256_and_only_size_changes() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, REPO, false).await.status(), 200);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let oid = crate::support::sha256_hex(&data);
    let plan: Value = server
        .post("/alice/demo.git/info/lfs/objects/batch")
        .bearer_auth(&server.alice)
        .header("content-type", "application/vnd.git-lfs+json")
        .json(&json!({"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": data.len()}], "hash_algo": "sha256"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions = &plan["objects"][0]["actions"];
    let put = server.client.put(actions["upload"]["href"].as_str().unwrap()).body(data.clone());
    assert_eq!(put.send().await.unwrap().status(), 200);
    if let Some(verify) = actions["verify"]["href"].as_str() {
        let body = json!({"oid": oid, "size": data.len()});
        let verified =
            server.client.post(verify).bearer_auth(&server.alice).json(&body).send().await.unwrap();
        assert_eq!(verified.status(), 200);
    }
    let lfs = json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": data.len()}});
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    commit(&server, REPO, &[lfs, file_line("pic.png", png), file_line("logo.svg", svg)]).await;

    let (_, tree) = page(&server, None, "/alice/demo/tree/main").await;
    let row = tree.split("w.bin</a>").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("<span class=\"badge lfs\">LFS</span>"), "{row}");
    assert!(row.contains("<span class=\"badge xet\">Xet</span>"), "uploads are stored as Xet: {row}");
    assert!(row.contains(">100 kB<"), "the content's size, not the pointer's: {row}");
    let (_, blob) = page(&server, None, "/alice/demo/blob/main/w.bin").await;
    assert!(blob.contains(&oid) && blob.contains("download-only"), "{blob}");

    let (_, image) = page(&server, None, "/alice/demo/blob/main/pic.png").await;
    assert!(image.contains("<img class=\"preview\" src=\"/alice/demo/resolve/main/pic.png\""), "{image}");
    let (_, vector) = page(&server, None, "/alice/demo/blob/main/logo.svg").await;
    assert!(!vector.contains("<img class=\"preview\"") && !vector.contains("<script>"), "{vector}");

    let sha = server.head_sha(&server.alice, REPO).await;
    let (_, commit_page) = page(&server, None, &format!("/alice/demo/commit/{sha}")).await;
    let section = commit_page.split("w.bin</a></h3>").nth(1).unwrap().split("</section>").next().unwrap();
    assert!(section.contains("only its size is compared") && !section.contains("<table"), "{section}");
}
