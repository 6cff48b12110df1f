//! What the hub computes about a model, through the real server: parameter counts from
//! safetensors headers (single file, sharded, the shards' headers route, the listing filter),
//! the pickle scan (`securityRepoStatus`, `securityFileStatus`), the durable queue (a replica
//! without workers leaves jobs for another process; until then files are unscanned), the
//! policy that refuses unsafe pickles on commit and push, and `reindex`.

use serde_json::{Value, json};

use crate::git_push::{attempt, authed, blocking, write};
use crate::support::*;

/// A valid safetensors file: each tensor's data zero-filled, offsets consecutive.
pub(crate) fn safetensors(tensors: &[(&str, &str, &[u64])]) -> Vec<u8> {
    let width = |dtype: &str| match dtype {
        "F64" | "I64" => 8,
        "F32" | "I32" => 4,
        "F16" | "BF16" | "I16" => 2,
        _ => 1,
    };
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut offset = 0u64;
    for (name, dtype, shape) in tensors {
        let len = shape.iter().product::<u64>() * width(dtype);
        header.insert(
            (*name).into(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len]}),
        );
        offset += len;
    }
    let text = serde_json::to_vec(&Value::Object(header)).unwrap();
    let mut file = (text.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&text);
    file.resize(file.len() + offset as usize, 0);
    file
}

/// A pickle that runs `os.system("echo pwned")` when loaded (protocol 2, `GLOBAL` + `REDUCE`).
pub(crate) fn evil_pickle() -> Vec<u8> {
    let mut p = b"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwned".to_vec();
    p.extend_from_slice(b"\x85R.");
    p
}

/// A benign pickle: an empty `collections.OrderedDict`.
fn benign_pickle() -> Vec<u8> {
    b"\x80\x02ccollections\nOrderedDict\n)R.".to_vec()
}

async fn info(server: &TestServer, repo: &str, query: &str) -> Value {
    server.get_json(&server.alice, &format!("/api/models/{repo}{query}")).await
}

/// Waits until the head of `repo` is indexed (its scan is done) and returns its info.
pub(crate) async fn indexed(server: &TestServer, repo: &str) -> Value {
    indexed_as(server, &server.alice, repo).await
}

/// `indexed`, asked with `token`.
async fn commit_ok(server: &TestServer, repo: &str, lines: &[Value]) {
    let response = server.commit(&server.alice, repo, "main", lines, None).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn parameters_are_counted_from_one_file_or_the_shards_of_an_index() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/single", false).await;
    let single = safetensors(&[("w", "F32", &[2, 3]), ("b", "BF16", &[4]), ("s", "F32", &[])]);
    commit_ok(&server, "alice/single", &[file_line("model.safetensors", &single)]).await;
    let value = indexed(&server, "alice/single").await;
    assert_eq!(value["safetensors"], json!({"parameters": {"BF16": 4, "F32": 7}, "total": 11}), "{value}");

    server.create_repo(&server.alice, "alice/sharded", false).await;
    let one = safetensors(&[("a", "F16", &[10, 10])]);
    let two = safetensors(&[("b", "F16", &[5]), ("c", "I8", &[3, 3])]);
    let index = json!({"metadata": {"total_size": 229}, "weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
        "c": "model-00002-of-00002.safetensors"}});
    let lines = [
        file_line("model-00001-of-00002.safetensors", &one),
        file_line("model-00002-of-00002.safetensors", &two),
        file_line("model.safetensors.index.json", index.to_string().as_bytes()),
        // Not named by the index: not counted.
        file_line("extra.safetensors", &safetensors(&[("z", "F32", &[1000])])),
    ];
    commit_ok(&server, "alice/sharded", &lines).await;
    let value = indexed(&server, "alice/sharded").await;
    assert_eq!(value["safetensors"], json!({"parameters": {"F16": 105, "I8": 9}, "total": 114}), "{value}");

    let meta = info(&server, "alice/sharded", "/safetensors-metadata/model.safetensors.index.json").await;
    assert_eq!(meta["index"], json!({"metadata": {"total_size": 229}}), "weight_map is left out");
    let headers = meta["headers"].as_object().unwrap();
    assert_eq!(headers.len(), 2);
    assert_eq!(headers["model-00002-of-00002.safetensors"]["c"]["shape"], json!([3, 3]));
    let bad = server
        .get("/api/models/alice/single/safetensors-metadata/model.safetensors")
        .bearer_auth(&server.alice);
    assert_eq!(bad.send().await.unwrap().status(), 400, "a weights file is not an index");

    // The listing filters on the default branch's count.
    assert_eq!(listed(&server, "min:0").await, ["alice/sharded", "alice/single"]);
    assert_eq!(listed(&server, "min:100,max:1K").await, ["alice/sharded"]);
    assert_eq!(listed(&server, "max:0.011K").await, ["alice/single"]);
    let refused = server.get("/api/models?num_parameters=lots").send().await.unwrap();
    assert_eq!(refused.status(), 400);
}

/// Ids of alice's models with a parameter count in `range`, sorted.
async fn listed(server: &TestServer, range: &str) -> Vec<String> {
    let path = format!("/api/models?author=alice&num_parameters={range}");
    let value: Value = server.get_json(&server.alice, &path).await;
    let mut ids: Vec<String> =
        value.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_malicious_pickle_is_reported_unsafe_with_its_import() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/evil", false).await;
    let lines = [
        file_line("weights/evil.pkl", &evil_pickle()),
        file_line("weights/ok.pkl", &benign_pickle()),
        file_line("README.md", b"---\nlicense: mit\n---\n# evil\n"),
    ];
    commit_ok(&server, "alice/evil", &lines).await;
    let value = indexed(&server, "alice/evil").await;
    assert_eq!(
        value["securityRepoStatus"],
        json!({"filesWithIssues": [{"level": "unsafe", "path": "weights/evil.pkl"}], "scansDone": true})
    );

    let tree: Value =
        server.get_json(&server.alice, "/api/models/alice/evil/tree/main/weights?expand=true").await;
    let by_path = |path: &str| tree.as_array().unwrap().iter().find(|e| e["path"] == path).unwrap().clone();
    let evil = by_path("weights/evil.pkl");
    assert_eq!(evil["securityFileStatus"]["status"], "unsafe", "{evil}");
    assert_eq!(evil["securityFileStatus"]["avScan"], Value::Null);
    let scan = &evil["securityFileStatus"]["pickleImportScan"];
    assert_eq!(scan["highestSafetyLevel"], "dangerous");
    assert_eq!(scan["imports"], json!([{"module": "os", "name": "system", "safety": "dangerous"}]));
    let ok = by_path("weights/ok.pkl");
    assert_eq!(ok["securityFileStatus"]["status"], "safe");
    assert_eq!(ok["securityFileStatus"]["pickleImportScan"]["imports"][0]["safety"], "innocuous");

    let root: Value = server.get_json(&server.alice, "/api/models/alice/evil/tree/main?expand=true").await;
    let readme = root.as_array().unwrap().iter().find(|e| e["path"] == "README.md").unwrap();
    assert_eq!(
        readme["securityFileStatus"],
        json!({"avScan": null, "pickleImportScan": null, "status": "safe"})
    );
    let folder = root.as_array().unwrap().iter().find(|e| e["path"] == "weights").unwrap();
    assert!(folder.get("securityFileStatus").is_none(), "folders have no status: {folder}");
    let plain: Value = server.get_json(&server.alice, "/api/models/alice/evil/tree/main/weights").await;
    assert!(plain[0].get("securityFileStatus").is_none(), "only with expand");

    // The file's facts are per content: the same bytes in another repo cost no new read.
    server.create_repo(&server.bob, "bob/copy", false).await;
    let response = server
        .commit(&server.bob, "bob/copy", "main", &[file_line("x/evil.pkl", &evil_pickle())], None)
        .await;
    assert_eq!(response.status(), 200);
    let copy = indexed_as(&server, &server.bob, "bob/copy").await;
    assert_eq!(copy["securityRepoStatus"]["filesWithIssues"][0]["path"], "x/evil.pkl");
}

async fn indexed_as(server: &TestServer, token: &str, repo: &str) -> Value {
    for _ in 0..200 {
        let value: Value = server.get_json(token, &format!("/api/models/{repo}?securityStatus=true")).await;
        if value["securityRepoStatus"]["scansDone"] == json!(true) {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{repo} was not indexed within 10 s");
}

#[tokio::test]
async fn a_replica_without_workers_leaves_jobs_to_another_process() {
    let server = TestServer::start_with(|config| config.job_workers = 0).await;
    server.create_repo(&server.alice, "alice/queued", false).await;
    let lines = [
        file_line("model.safetensors", &safetensors(&[("w", "F32", &[8])])),
        file_line("evil.pkl", &evil_pickle()),
    ];
    commit_ok(&server, "alice/queued", &lines).await;

    // Until indexed: no counts, scans not done, every file unscanned, in the shapes the client reads.
    let value = info(&server, "alice/queued", "?securityStatus=true").await;
    assert!(value.get("safetensors").is_none(), "{value}");
    assert_eq!(value["securityRepoStatus"], json!({"filesWithIssues": [], "scansDone": false}));
    let tree: Value = server.get_json(&server.alice, "/api/models/alice/queued/tree/main?expand=true").await;
    for entry in tree.as_array().unwrap() {
        assert_eq!(
            entry["securityFileStatus"],
            json!({"avScan": null, "pickleImportScan": null, "status": "unscanned"})
        );
    }
    let metrics =
        server.get("/metrics").bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kura_jobs{state=\"queued\"} 1\n"), "{metrics}");

    // Another process on the same database works the queue (as after a restart).
    let worker = server.admin().await;
    assert!(worker.jobs().run_one().await.unwrap(), "the job was queued durably");
    assert!(!worker.jobs().run_one().await.unwrap(), "once");
    let value = info(&server, "alice/queued", "?securityStatus=true").await;
    assert_eq!(value["safetensors"]["total"], 8);
    assert_eq!(
        value["securityRepoStatus"]["filesWithIssues"],
        json!([{"level": "unsafe", "path": "evil.pkl"}])
    );
    let metrics =
        server.get("/metrics").bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kura_jobs{state=\"queued\"} 0\n"), "{metrics}");
}

#[tokio::test]
async fn reindex_indexes_every_branch_head() {
    let server = TestServer::start_with(|config| config.job_workers = 0).await;
    for repo in ["alice/r1", "alice/r2"] {
        server.create_repo(&server.alice, repo, false).await;
        commit_ok(&server, repo, &[file_line("model.safetensors", &safetensors(&[("w", "I8", &[3])]))]).await;
    }
    let admin = server.admin().await;
    let mut seen = Vec::new();
    let report = admin
        .index()
        .reindex_all(|progress, repo| seen.push((progress.done, repo.repo_id.to_string())))
        .await
        .unwrap();
    assert_eq!((report.total, report.done, report.failed), (2, 2, 0));
    assert_eq!(seen.iter().map(|(done, _)| *done).collect::<Vec<_>>(), [1, 2]);
    for repo in ["alice/r1", "alice/r2"] {
        assert_eq!(info(&server, repo, "").await["safetensors"]["total"], 3, "{repo}");
    }
}

#[tokio::test]
async fn the_unsafe_pickle_policy_refuses_commits_and_pushes() {
    let server = TestServer::start_with(|config| config.limits.refuse_unsafe_pickles = true).await;
    server.create_repo(&server.alice, "alice/guarded", false).await;
    let before = server.head_sha(&server.alice, "alice/guarded").await;
    let response = server
        .commit(&server.alice, "alice/guarded", "main", &[file_line("a/evil.bin", &evil_pickle())], None)
        .await;
    assert_eq!(response.status(), 403);
    let message = header(&response, "x-error-message").unwrap_or_default().to_owned();
    assert!(message.contains("a/evil.bin") && message.contains("os.system"), "{message}");
    assert_eq!(server.head_sha(&server.alice, "alice/guarded").await, before, "nothing landed");
    commit_ok(&server, "alice/guarded", &[file_line("ok.pkl", &benign_pickle())]).await;
    // A file the scan cannot read to its end is refused too: a legacy tar checkpoint, and a
    // pickle whose memo key only Python's int() reads (`1_0`) ahead of an os.system call.
    let mut tar = vec![0u8; 1024];
    tar[..8].copy_from_slice(b"storages");
    tar[257..262].copy_from_slice(b"ustar");
    let response =
        server.commit(&server.alice, "alice/guarded", "main", &[file_line("old.pt", &tar)], None).await;
    assert_eq!(response.status(), 403);
    assert!(header(&response, "x-error-message").unwrap_or_default().contains("old.pt"));
    let underscored = b"Np1_0\n0cos\nsystem\n(S'id'\ntR.";
    let response =
        server.commit(&server.alice, "alice/guarded", "main", &[file_line("u.pkl", underscored)], None).await;
    assert_eq!(response.status(), 403);
    assert!(header(&response, "x-error-message").unwrap_or_default().contains("os.system"));

    let work = tempfile::tempdir().unwrap();
    let (base, url) = (work.path().to_owned(), authed(&server, &server.alice, "alice/guarded"));
    // The bad file is added by one commit and removed by the next: the tip is clean, but the
    // first commit would serve it by its id, so the push is refused all the same.
    let (pushed, stderr, sneaky) = blocking(move || {
        ok(&base, &["clone", "-q", &url, "c"]);
        let repo = base.join("c");
        write(&repo, "sneaky.pkl", &evil_pickle());
        ok(&repo, &["add", "-A"]);
        ok(&repo, &["commit", "-q", "-m", "Add a model"]);
        let sneaky = ok(&repo, &["rev-parse", "HEAD"]);
        ok(&repo, &["rm", "-q", "sneaky.pkl"]);
        ok(&repo, &["commit", "-q", "-m", "Remove it again"]);
        let (pushed, stderr) = attempt(&repo, &["push", "-q", "origin", "main"]);
        (pushed, stderr, sneaky)
    })
    .await;
    assert!(!pushed, "the push was refused");
    assert!(stderr.contains("sneaky.pkl") && stderr.contains("os.system"), "{stderr}");
    let by_id = server.get(&format!("/alice/guarded/resolve/{sneaky}/sneaky.pkl")).bearer_auth(&server.alice);
    assert_eq!(by_id.send().await.unwrap().status(), 404, "a refused commit is not reachable by its id");
}

/// The shards' headers are file content: they are read under the same rules as a download
/// (hidden repos look missing, gated ones need access), for each visibility and caller.
#[tokio::test]
async fn the_shards_headers_route_follows_the_file_read_rules() {
    let server = TestServer::start().await;
    let index = json!({"metadata": {}, "weight_map": {"a": "s.safetensors"}}).to_string();
    let lines = [
        file_line("s.safetensors", &safetensors(&[("a", "F32", &[2])])),
        file_line("model.safetensors.index.json", index.as_bytes()),
    ];
    for (repo, private) in [("acme/open", false), ("acme/closed", true), ("acme/gated", false)] {
        assert_eq!(server.create_repo(&server.alice, repo, private).await.status(), 200);
        commit_ok(&server, repo, &lines).await;
    }
    crate::matrix_fixture::gate(&server, crate::matrix_fixture::Kind::Model, "acme/gated").await;
    let route = "safetensors-metadata/model.safetensors.index.json";
    for repo in ["acme/open", "acme/closed", "acme/gated"] {
        for token in [None, Some(server.bob.as_str()), Some(server.alice.as_str())] {
            let with = |builder: reqwest::RequestBuilder| match token {
                Some(token) => builder.bearer_auth(token),
                None => builder,
            };
            let meta = with(server.get(&format!("/api/models/{repo}/{route}"))).send().await.unwrap();
            let download =
                with(server.get(&format!("/{repo}/resolve/main/s.safetensors"))).send().await.unwrap();
            assert_eq!(meta.status(), download.status(), "{repo} as {token:?}");
            if meta.status() == 200 {
                let body: Value = meta.json().await.unwrap();
                assert_eq!(body["headers"]["s.safetensors"]["a"]["dtype"], "F32");
            }
        }
    }
}

/// Commits a README to a new Space of alice's whose card lists `models`.
async fn space_naming(server: &TestServer, name: &str, private: bool, models: &str) {
    let created = server
        .post("/api/repos/create")
        .bearer_auth(&server.alice)
        .json(&json!({"name": name, "organization": "alice", "type": "space", "space_sdk": "static", "private": private}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
    commit_space_readme(server, name, &format!("---\nsdk: static\nmodels:\n{models}---\n# demo\n")).await;
}

/// Commits `readme` as the README of alice's Space `name`.
async fn commit_space_readme(server: &TestServer, name: &str, readme: &str) {
    let header = json!({"key": "header", "value": {"summary": "card", "description": ""}});
    let body = format!("{header}\n{}", file_line("README.md", readme.as_bytes()));
    let response = server
        .post(&format!("/api/spaces/alice/{name}/commit/main"))
        .bearer_auth(&server.alice)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn a_model_lists_the_spaces_whose_card_names_it_as_the_caller_may_see_them() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/base", false).await;
    space_naming(&server, "demo", false, "  - Alice/Base\n  - alice/other\n").await;
    space_naming(&server, "secret-demo", true, "  - alice/base\n").await;
    space_naming(&server, "unrelated", false, "  - bob/x\n").await;
    let spaces = |token: &str| {
        let path = "/api/models/alice/base?expand=spaces".to_owned();
        let token = token.to_owned();
        let server = &server;
        async move { server.get_json::<Value>(&token, &path).await["spaces"].clone() }
    };
    assert_eq!(spaces(&server.alice).await, json!(["alice/demo", "alice/secret-demo"]));
    assert_eq!(spaces(&server.bob).await, json!(["alice/demo"]), "a private Space is not named to others");
    // A new card that no longer names the model drops the link.
    commit_space_readme(&server, "demo", "---\nsdk: static\n---\n").await;
    assert_eq!(spaces(&server.bob).await, json!([]));
}
