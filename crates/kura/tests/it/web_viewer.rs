//! The dataset viewer in the web UI: the dataset page previews the first rows, the viewer page
//! shows a split as a table with column histograms, pages through it, searches, filters, links
//! to a row, escapes the data it shows, and follows the dataset's access.

use reqwest::StatusCode;

use crate::support::{TestServer, file_line};
use crate::viewer::{commit_dataset, create_dataset, run_jobs};

async fn page(server: &TestServer, token: Option<&str>, path: &str) -> (StatusCode, String) {
    let request = server.get(path);
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn csv(rows: usize) -> String {
    let mut text = String::from("id,name,kind\n");
    for i in 0..rows {
        let kind = if i % 3 == 0 { "fruit" } else { "tool" };
        text.push_str(&format!("{i},name {i},{kind}\n"));
    }
    text.push_str("999,<script>window.__pwned=1</script>,tool\n");
    text
}

#[tokio::test]
async fn a_new_users_csv_is_a_table_on_the_dataset_page_and_in_the_viewer() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/fruits", false).await;
    commit_dataset(&server, &server.alice, "alice/fruits", &[file_line("train.csv", csv(250).as_bytes())])
        .await;

    let (status, html) = page(&server, None, "/datasets/alice/fruits").await;
    assert_eq!(status, 200);
    assert!(html.contains("being prepared"), "{html}");
    run_jobs(&server).await;

    let (_, html) = page(&server, None, "/datasets/alice/fruits").await;
    assert!(html.contains("<table class=\"viewer\">"), "{html}");
    assert!(html.contains("name 9</td>") && !html.contains("name 10</td>"), "the preview shows 10 rows");
    assert!(html.contains("href=\"/datasets/alice/fruits/viewer/default/train\""), "{html}");

    let (status, html) = page(&server, None, "/datasets/alice/fruits/viewer/default/train?p=1&row=150").await;
    assert_eq!(status, 200);
    assert!(html.contains("251 rows") && html.contains("page 2 of 3"), "{html}");
    assert!(html.contains("<tr id=\"row-150\" class=\"selected\""), "{html}");
    assert!(!html.contains("<tr id=\"row-99\""), "page 2 starts at row 100");
    assert!(html.contains("<svg class=\"histogram\""), "{html}");
    assert!(html.contains("rel=\"prev\" href=\"/datasets/alice/fruits/viewer/default/train?p=0\""), "{html}");
    let (_, last) = page(&server, None, "/datasets/alice/fruits/viewer/default/train?p=2").await;
    assert!(last.contains("window.__pwned=1") && !last.contains("<script>window"), "{last}");

    let (_, found) = page(&server, None, "/datasets/alice/fruits/viewer/default/train?q=name%2042").await;
    assert!(found.contains("1 rows") && found.contains("name 42</td>"), "{found}");
    let filter =
        "/datasets/alice/fruits/viewer/default/train?where=%22kind%22%3D%27fruit%27&orderby=%22id%22%20DESC";
    let (_, filtered) = page(&server, None, filter).await;
    assert!(filtered.contains("84 rows"), "{filtered}");
    let first = filtered.find("name 249</td>").unwrap();
    assert!(filtered.find("name 0</td>").is_some_and(|last| last > first), "ordered by id, descending");
    let (status, bad) =
        page(&server, None, "/datasets/alice/fruits/viewer/default/train?where=1%3B%20DROP").await;
    assert_eq!(status, 200);
    assert!(bad.contains("not available") && bad.contains("where"), "{bad}");
}

#[tokio::test]
async fn the_viewer_page_of_a_private_dataset_is_the_missing_page_to_others() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/hidden", true).await;
    commit_dataset(&server, &server.alice, "alice/hidden", &[file_line("train.csv", csv(5).as_bytes())])
        .await;
    run_jobs(&server).await;
    let path = "/datasets/alice/hidden/viewer/default/train";
    assert_eq!(page(&server, Some(&server.alice), path).await.0, 200);
    let (hidden, _) = page(&server, Some(&server.bob), path).await;
    let (missing, _) = page(&server, Some(&server.bob), "/datasets/alice/nothing/viewer/default/train").await;
    assert_eq!((hidden, missing), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(page(&server, None, "/alice/model-not-dataset/viewer").await.0, StatusCode::NOT_FOUND);
}
