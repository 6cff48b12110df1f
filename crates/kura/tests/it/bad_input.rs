//! Malformed input gets a clear 4xx and changes nothing.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn malformed_commits_are_rejected_without_side_effects() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/m", false).await;
    let before = server.head_sha(&server.alice, "alice/m").await;
    let cases: Vec<(&str, String)> = vec![
        (
            "traversal",
            format!(
                "{}\n{}",
                json!({"key": "header", "value": {"summary": "x"}}),
                file_line("../etc/passwd", b"x")
            ),
        ),
        (
            "absolute",
            format!("{}\n{}", json!({"key": "header", "value": {"summary": "x"}}), file_line("/abs", b"x")),
        ),
        (
            "dot git",
            format!(
                "{}\n{}",
                json!({"key": "header", "value": {"summary": "x"}}),
                file_line(".git/config", b"x")
            ),
        ),
        ("broken json", format!("{}\n{{not json", json!({"key": "header", "value": {"summary": "x"}}))),
        (
            "bad base64",
            format!(
                "{}\n{}",
                json!({"key": "header", "value": {"summary": "x"}}),
                json!({"key": "file", "value": {"path": "a", "content": "!!!", "encoding": "base64"}})
            ),
        ),
        (
            "unknown key",
            format!(
                "{}\n{}",
                json!({"key": "header", "value": {"summary": "x"}}),
                json!({"key": "rmrf", "value": {}})
            ),
        ),
        ("no header", file_line("a", b"x").to_string()),
        (
            "bad oid",
            format!(
                "{}\n{}",
                json!({"key": "header", "value": {"summary": "x"}}),
                json!({"key": "lfsFile", "value": {"path": "a", "oid": "xyz", "size": 1}})
            ),
        ),
    ];
    for (name, body) in cases {
        let response = server
            .post("/api/models/alice/m/commit/main")
            .bearer_auth(&server.alice)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        // A path the repo cannot hold is 422 on the Hub; other malformed lines are 400.
        let want = if matches!(name, "traversal" | "absolute" | "dot git") { 422 } else { 400 };
        assert_eq!(response.status(), want, "{name}");
        assert!(header(&response, "x-error-message").is_some(), "{name}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].as_str().is_some(), "{name}");
    }
    assert_eq!(server.head_sha(&server.alice, "alice/m").await, before);
}

#[tokio::test]
async fn malformed_ids_tokens_and_bodies() {
    let server = TestServer::start().await;
    let bad_id = server.get("/api/models/alice/bad..name").send().await.unwrap();
    assert_eq!(bad_id.status(), 400);
    let bad_create = server
        .post("/api/repos/create")
        .bearer_auth(&server.alice)
        .json(&json!({"name": "-x-"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_create.status(), 400);
    let reserved = server
        .post("/api/repos/create")
        .bearer_auth(&server.alice)
        .json(&json!({"name": "m", "organization": "datasets"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reserved.status(), 400);
    let not_json =
        server.post("/api/repos/create").bearer_auth(&server.alice).body("{").send().await.unwrap();
    assert_eq!(not_json.status(), 400);
    let forged = server.get("/api/whoami-v2").bearer_auth("hf_forged").send().await.unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(header(&forged, "x-error-message"), Some("Invalid credentials in Authorization header"));
    let anonymous = server.get("/api/whoami-v2").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let whoami: serde_json::Value =
        server.get("/api/whoami-v2").bearer_auth(&server.alice).send().await.unwrap().json().await.unwrap();
    assert_eq!(whoami["name"], "alice");
    assert_eq!(whoami["orgs"][0]["name"], "acme");
    assert_eq!(whoami["auth"]["accessToken"]["role"], "write");
    let yaml = server
        .post("/api/validate-yaml")
        .json(&json!({"content": "---\na: [\n---\n", "repoType": "model"}))
        .send()
        .await
        .unwrap();
    assert_eq!(yaml.status(), 400);
    let body: serde_json::Value = yaml.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("YAML"));
    let unknown = server.get("/api/nothing/here").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}
