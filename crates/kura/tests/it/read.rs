//! Downloads, metadata and the error contract.

use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn health_answers_once_ready() {
    let server = TestServer::start().await;
    let response = server.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(header(&response, "x-request-id").is_some());
    let metrics =
        server.get("/metrics").bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kura_http_requests_total{method=\"GET\",status=\"2xx\"} 1"), "{metrics}");
    assert!(metrics.contains("kura_http_request_duration_seconds_count 1"), "{metrics}");
}

#[tokio::test]
async fn resolve_serves_bytes_with_every_metadata_header() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, "alice/m", false).await.status(), 200);
    let content = b"0123456789abcdef".repeat(100);
    let response =
        server.commit(&server.alice, "alice/m", "main", &[file_line("dir/data.txt", &content)], None).await;
    assert_eq!(response.status(), 200);
    let commit: Value = response.json().await.unwrap();
    let sha = commit["commitOid"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 40);
    assert!(commit["commitUrl"].as_str().unwrap().starts_with(&format!("{}/alice/m/commit/", server.base)));

    let head = server.head("/alice/m/resolve/main/dir/data.txt").send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "x-repo-commit"), Some(sha.as_str()));
    assert_eq!(header(&head, "x-linked-size"), Some("1600"));
    assert_eq!(header(&head, "content-length"), Some("1600"));
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    let etag = header(&head, "etag").unwrap().to_owned();
    assert_eq!(etag.len(), 42, "quoted git blob id: {etag}");

    // By commit id, anonymously (public repo), byte-exact.
    let get = server.get(&format!("/alice/m/resolve/{sha}/dir/data.txt")).send().await.unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(header(&get, "etag"), Some(etag.as_str()));
    assert_eq!(&get.bytes().await.unwrap()[..], &content[..]);

    // Single ranges.
    let ranged =
        server.get("/alice/m/resolve/main/dir/data.txt").header("range", "bytes=10-19").send().await.unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(header(&ranged, "content-range"), Some("bytes 10-19/1600"));
    assert_eq!(&ranged.bytes().await.unwrap()[..], &content[10..20]);
    let past_end =
        server.get("/alice/m/resolve/main/dir/data.txt").header("range", "bytes=1600-").send().await.unwrap();
    assert_eq!(past_end.status(), 416);
}

#[tokio::test]
async fn missing_repo_revision_and_entry_have_distinct_codes() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let anonymous = server.head("/alice/nope/resolve/main/x").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(header(&anonymous, "x-error-code"), Some("RepoNotFound"));
    let authed = server.get("/api/models/alice/nope").bearer_auth(&server.bob).send().await.unwrap();
    assert_eq!(authed.status(), 404);
    assert_eq!(header(&authed, "x-error-code"), Some("RepoNotFound"));
    let body: Value = authed.json().await.unwrap();
    assert_eq!(body["error"], "Repository not found");

    let revision = server.head("/alice/m/resolve/nobranch/x").send().await.unwrap();
    assert_eq!(revision.status(), 404);
    assert_eq!(header(&revision, "x-error-code"), Some("RevisionNotFound"));

    let sha = server.head_sha(&server.alice, "alice/m").await;
    let entry = server.head("/alice/m/resolve/main/missing.json").send().await.unwrap();
    assert_eq!(entry.status(), 404);
    assert_eq!(header(&entry, "x-error-code"), Some("EntryNotFound"));
    assert_eq!(header(&entry, "x-repo-commit"), Some(sha.as_str()));
}

#[tokio::test]
async fn private_repos_look_missing_to_everyone_without_access() {
    let server = TestServer::start().await;
    assert_eq!(server.create_repo(&server.alice, "acme/secret", true).await.status(), 200);
    server
        .commit(
            &server.alice,
            "acme/secret",
            "main",
            &[file_line("README.md", b"---\ntags: [x]\n---\nhi")],
            None,
        )
        .await;
    for (token, status) in [(None, 401), (Some(server.bob.clone()), 404)] {
        let mut request = server.get("/acme/secret/resolve/main/README.md");
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(header(&response, "x-error-code"), Some("RepoNotFound"));
    }
    let owner = server
        .get("/acme/secret/resolve/main/README.md")
        .bearer_auth(&server.alice_read)
        .send()
        .await
        .unwrap();
    assert_eq!(owner.status(), 200);

    let listed: Value = server.get("/api/models?search=secret").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0, "anonymous listing hides private repos");
    let listed: Value = server
        .get("/api/models?search=secret")
        .bearer_auth(&server.bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0);
    let listed: Value = server
        .get("/api/models?search=secret")
        .bearer_auth(&server.alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], "acme/secret");
    assert_eq!(listed[0]["private"], true);
}

#[tokio::test]
async fn repo_info_tree_and_listing_pagination() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let readme = b"---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: text-generation\ntags: [demo]\n---\n# m\n";
    let lines = [file_line("README.md", readme), file_line("a/b/c.txt", b"c"), file_line("a/d.txt", b"d")];
    server.commit(&server.alice, "alice/m", "main", &lines, None).await;
    let info: Value =
        server.get("/api/models/alice/m?blobs=true").send().await.unwrap().json().await.unwrap();
    assert_eq!(info["id"], "alice/m");
    assert_eq!(info["library_name"], "transformers");
    assert_eq!(info["pipeline_tag"], "text-generation");
    assert_eq!(info["cardData"]["license"], "mit");
    assert!(info["lastModified"].as_str().unwrap().ends_with('Z'));
    let siblings: Vec<&str> =
        info["siblings"].as_array().unwrap().iter().map(|s| s["rfilename"].as_str().unwrap()).collect();
    assert_eq!(siblings, [".gitattributes", "README.md", "a/d.txt", "a/b/c.txt"]);

    let tree: Value = server
        .get("/api/models/alice/m/tree/main?recursive=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = tree.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [".gitattributes", "README.md", "a", "a/b", "a/d.txt", "a/b/c.txt"]);
    let sub: Value =
        server.get("/api/models/alice/m/tree/main/a%2Fb").send().await.unwrap().json().await.unwrap();
    assert_eq!(sub[0]["path"], "a/b/c.txt");
    let missing = server.get("/api/models/alice/m/tree/main/zzz").send().await.unwrap();
    assert_eq!(header(&missing, "x-error-code"), Some("EntryNotFound"));

    for i in 0..3 {
        server.create_repo(&server.alice, &format!("alice/list{i}"), false).await;
    }
    let first = server.get("/api/models?author=alice&search=list&limit=2").send().await.unwrap();
    let link = header(&first, "link").unwrap().to_owned();
    assert!(link.starts_with(&format!("<{}/api/models?", server.base)), "{link}");
    let page: Value = first.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2);
    let next_url = link.trim_start_matches('<').split('>').next().unwrap();
    let rest: Value = server.client.get(next_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(rest.as_array().unwrap().len(), 1);
    let filtered: Value = server.get("/api/models?filter=demo").send().await.unwrap().json().await.unwrap();
    assert_eq!(filtered.as_array().unwrap().len(), 1);
}
