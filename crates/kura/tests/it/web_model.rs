//! What the web UI shows of the indexer's facts: the repo page's facts panel (parameters per
//! dtype, library, task, formats; a quiet note until indexed), the warning, tree badges and
//! blob imports of a malicious pickle (escaped), the listing's library and task filters, and a
//! private repo's facts closed to others. The servers run without job workers, so each test
//! indexes when it chooses (`run_jobs`) and sees the page before and after.

use serde_json::Value;

use crate::index::{evil_pickle, safetensors};
use crate::support::{TestServer, file_line};

async fn page(server: &TestServer, token: Option<&str>, path: &str) -> (u16, String) {
    let mut request = server.get(path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn html(server: &TestServer, path: &str) -> String {
    let (status, html) = page(server, Some(&server.alice), path).await;
    assert_eq!(status, 200, "{path}: {html}");
    html
}

async fn commit(server: &TestServer, repo: &str, lines: &[Value]) {
    assert_eq!(server.create_repo(&server.alice, repo, repo.ends_with("secret")).await.status(), 200);
    let response = server.commit(&server.alice, repo, "main", lines, None).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A server whose indexing runs only when the test says so.
async fn server() -> TestServer {
    TestServer::start_with(|config| config.job_workers = 0).await
}

/// Works the job queue to its end, as a worker process would.
async fn run_jobs(server: &TestServer) {
    let worker = server.admin().await;
    let mut ran = 0;
    while worker.jobs().run_one().await.unwrap() {
        ran += 1;
        assert!(ran < 100, "the queue does not drain");
    }
    assert!(ran > 0, "something was queued");
}

fn card(library: &str, task: &str) -> Value {
    let text = format!("---\nlibrary_name: {library}\npipeline_tag: {task}\nlicense: mit\n---\n# A model\n");
    file_line("README.md", text.as_bytes())
}

/// The text of the `<dd class="{class}">` of the facts panel.
fn fact<'a>(html: &'a str, class: &str) -> &'a str {
    let open = format!("<dd class=\"{class}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no {class} in {html}")) + open.len();
    let len = html[start..].find("</dd>").unwrap();
    &html[start..start + len]
}

#[tokio::test]
async fn the_facts_panel_shows_counts_library_task_and_formats_once_indexed() {
    let server = server().await;
    let weights = safetensors(&[("w", "F32", &[300, 400]), ("b", "BF16", &[2, 500])]);
    let lines = [card("transformers", "text-generation"), file_line("model.safetensors", &weights)];
    commit(&server, "alice/counted", &lines).await;

    let before = html(&server, "/alice/counted").await;
    assert!(before.contains("class=\"meta indexing\">Indexing…"), "{before}");
    assert!(!before.contains("class=\"parameters\"") && !before.contains("scan-warning"));
    // The card's library and task show before the indexer has read anything.
    assert!(fact(&before, "library").contains("href=\"/models?library=transformers\""), "{before}");

    run_jobs(&server).await;
    let after = html(&server, "/alice/counted").await;
    assert!(!after.contains("Indexing…"), "{after}");
    assert_eq!(fact(&after, "parameters"), "<span title=\"121,000\">121k params</span>");
    let dtypes = fact(&after, "dtypes");
    assert!(dtypes.contains(">BF16 · 1k<") && dtypes.contains(">F32 · 120k<"), "{dtypes}");
    assert_eq!(fact(&after, "library"), "<a href=\"/models?library=transformers\">transformers</a>");
    let task = fact(&after, "task");
    assert_eq!(task, "<a href=\"/models?pipeline_tag=text-generation\">text-generation</a>");
    assert!(fact(&after, "formats").contains(">Safetensors</a>"), "{after}");
    assert!(!after.contains("scan-warning"), "nothing flagged: {after}");
    // The card chips link to the same filters.
    assert!(
        after.contains("<span class=\"label\">Task</span> <a href=\"/models?pipeline_tag=text-generation\">")
    );
}

/// A pickle importing a module whose name is HTML, which the scan calls dangerous.
fn html_pickle() -> Vec<u8> {
    b"\x80\x02c<img src=x onerror=alert(1)>\nrun\n)R.".to_vec()
}

#[tokio::test]
async fn a_malicious_pickle_is_flagged_on_the_repo_tree_and_blob_pages() {
    let server = server().await;
    let lines = [
        file_line("weights/evil.pkl", &evil_pickle()),
        file_line("weights/html.pkl", &html_pickle()),
        file_line("weights/notes.txt", b"harmless\n"),
        file_line("README.md", b"# evil\n"),
    ];
    commit(&server, "alice/evil", &lines).await;
    let pending = html(&server, "/alice/evil/blob/main/weights/evil.pkl").await;
    assert!(pending.contains("pickle-scan pending"), "{pending}");
    assert!(!html(&server, "/alice/evil/tree/main/weights").await.contains("badge scan"));

    run_jobs(&server).await;
    let repo = html(&server, "/alice/evil").await;
    let warning = repo.split("scan-warning unsafe").nth(1).unwrap_or_else(|| panic!("{repo}"));
    let warning = &warning[..warning.find("</div>").unwrap()];
    assert!(warning.contains(
        "<span class=\"badge scan unsafe\">unsafe</span> <a href=\"/alice/evil/blob/main/weights/evil.pkl\">weights/evil.pkl</a>"
    ), "{warning}");
    assert!(warning.contains(">weights/html.pkl</a>") && !warning.contains("notes.txt"), "{warning}");

    let tree = html(&server, "/alice/evil/tree/main/weights").await;
    let row = |name: &str| {
        let start = tree.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("{name}: {tree}"));
        tree[start..start + tree[start..].find("</td>").unwrap()].to_owned()
    };
    assert!(row("evil.pkl").contains("<span class=\"badge scan unsafe\""), "{tree}");
    assert!(!row("notes.txt").contains("badge scan"), "{tree}");

    let blob = html(&server, "/alice/evil/blob/main/weights/evil.pkl").await;
    assert!(blob.contains("Pickle scan: <span class=\"badge scan unsafe\">unsafe</span>"), "{blob}");
    assert!(
        blob.contains(
            "<tr class=\"dangerous\"><td>os</td><td>system</td><td><span class=\"safety dangerous\">"
        ),
        "{blob}"
    );
    // Import names are the uploader's words: escaped, never markup.
    let hostile = html(&server, "/alice/evil/blob/main/weights/html.pkl").await;
    assert!(hostile.contains("<td>&#60;img src=x onerror=alert(1)&#62;</td>"), "{hostile}");
    assert!(!hostile.contains("<img src=x"), "{hostile}");
    let text = html(&server, "/alice/evil/blob/main/weights/notes.txt").await;
    assert!(!text.contains("pickle-scan"), "a text file has no scan section: {text}");
}

/// The repo ids a listing page shows, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("class=\"repo-id\">").skip(1).map(|s| s[..s.find('<').unwrap()].to_owned()).collect()
}

#[tokio::test]
async fn the_listing_filters_by_library_and_task() {
    let server = server().await;
    let weights = safetensors(&[("w", "F16", &[4])]);
    commit(
        &server,
        "alice/chat",
        &[card("transformers", "text-generation"), file_line("model.safetensors", &weights)],
    )
    .await;
    commit(&server, "alice/paint", &[card("diffusers", "text-to-image")]).await;
    commit(&server, "alice/plain", &[file_line("a.txt", b"a\n")]).await;
    run_jobs(&server).await;

    let all = html(&server, "/models?author=alice").await;
    assert_eq!(listed(&all).len(), 3, "{all}");
    let transformers = html(&server, "/models?library=transformers").await;
    assert_eq!(listed(&transformers), ["alice/chat"], "{transformers}");
    assert_eq!(listed(&html(&server, "/models?pipeline_tag=text-to-image").await), ["alice/paint"]);
    assert_eq!(
        listed(&html(&server, "/models?library=diffusers&pipeline_tag=text-to-image").await),
        ["alice/paint"]
    );
    assert!(
        listed(&html(&server, "/models?library=diffusers&pipeline_tag=text-generation").await).is_empty()
    );
    // Other filters still apply beside them.
    let tagged = html(&server, "/models?other=safetensors&author=alice").await;
    assert_eq!(listed(&tagged), ["alice/chat"], "{tagged}");
    assert!(listed(&html(&server, "/models?library=transformers&search=paint").await).is_empty());

    // The form keeps the filter and a chip removes it (keeping the others).
    let both = html(&server, "/models?library=transformers&author=alice").await;
    assert!(both.contains("name=\"library\" value=\"transformers\""), "{both}");
    assert!(both.contains("<span class=\"label\">Library</span> transformers <a class=\"remove\" href=\"/models?author=alice&#38;sort=updated&#38;p=0\""), "{both}");
    assert!(both.contains("<option value=\"text-generation\">"), "the task list is offered");
}

#[tokio::test]
async fn a_private_repos_facts_stay_hidden_from_others() {
    let server = server().await;
    let lines = [card("transformers", "text-generation"), file_line("weights/evil.pkl", &evil_pickle())];
    commit(&server, "alice/secret", &lines).await;
    run_jobs(&server).await;
    let (_, mine) = page(&server, Some(&server.alice), "/alice/secret").await;
    assert!(mine.contains("weights/evil.pkl"), "the owner sees the warning: {mine}");
    for suffix in ["", "/tree/main/weights", "/blob/main/weights/evil.pkl"] {
        let (status, missing) = page(&server, None, &format!("/alice/nothing-here{suffix}")).await;
        assert_eq!(status, 404);
        for token in [None, Some(server.bob.as_str())] {
            let (status, html) = page(&server, token, &format!("/alice/secret{suffix}")).await;
            assert_eq!((status, &html), (404, &missing), "{suffix} {token:?}");
        }
    }
    for token in [None, Some(server.bob.as_str())] {
        let (status, html) = page(&server, token, "/models?library=transformers").await;
        assert_eq!(status, 200);
        assert!(listed(&html).is_empty() && !html.contains("alice/secret"), "{html}");
    }
    let (_, html) = page(&server, Some(&server.alice), "/models?library=transformers").await;
    assert_eq!(listed(&html), ["alice/secret"], "the owner's listing has it");
}
