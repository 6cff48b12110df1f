//! The dataset viewer through the real server: the parquet export job (csv, jsonl and parquet
//! datasets; `refs/convert/parquet` written by kura only), every viewer endpoint with HF's
//! shapes, headers and error codes, media cells by signed URL, the Hub's `/parquet` listing and
//! its redirects, and access like the dataset's files.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray, StructArray};
use arrow_schema::{DataType, Field, Schema};
use kura_dataset::convert::Limits;
use kura_dataset::features::{Features, Json};
use kura_dataset::shards::ShardWriter;
use serde_json::{Value, json};

use crate::support::*;

pub(crate) async fn create_dataset(server: &TestServer, token: &str, repo: &str, private: bool) {
    let (namespace, name) = repo.split_once('/').unwrap();
    let response = server
        .post("/api/repos/create")
        .bearer_auth(token)
        .json(&json!({"name": name, "organization": namespace, "private": private, "type": "dataset"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

pub(crate) async fn commit_dataset(server: &TestServer, token: &str, repo: &str, lines: &[Value]) {
    let mut body = json!({"key": "header", "value": {"summary": "data", "description": ""}}).to_string();
    for line in lines {
        body.push('\n');
        body.push_str(&line.to_string());
    }
    let response = server
        .post(&format!("/api/datasets/{repo}/commit/main"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Runs queued jobs until none is left (the server runs no workers in these tests).
pub(crate) async fn run_jobs(server: &TestServer) {
    let hub = server.admin().await;
    while hub.jobs().run_one().await.unwrap() {}
}

async fn viewer(server: &TestServer, token: Option<&str>, path: &str) -> reqwest::Response {
    let request = server.get(&format!("/datasets-server/{path}"));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

async fn viewer_json(server: &TestServer, path: &str) -> Value {
    let response = viewer(server, Some(&server.alice), path).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// A parquet file as `datasets` writes it: a ClassLabel column, a string, and an image.
pub(crate) fn labelled_parquet(rows: usize, png: &[u8]) -> Vec<u8> {
    let image_fields =
        vec![Field::new("bytes", DataType::Binary, true), Field::new("path", DataType::Utf8, true)];
    let schema = Arc::new(Schema::new(vec![
        Field::new("text", DataType::Utf8, true),
        Field::new("label", DataType::Int64, true),
        Field::new("image", DataType::Struct(image_fields.clone().into()), true),
    ]));
    let features: Features = Features(vec![
        (
            "text".into(),
            serde_json::from_value::<Json>(json!({"dtype": "string", "_type": "Value"})).unwrap(),
        ),
        (
            "label".into(),
            serde_json::from_value::<Json>(json!({"names": ["neg", "pos"], "_type": "ClassLabel"})).unwrap(),
        ),
        ("image".into(), serde_json::from_value::<Json>(json!({"_type": "Image"})).unwrap()),
    ]);
    let text: ArrayRef =
        Arc::new(StringArray::from_iter_values((0..rows).map(|i| format!("review number {i}"))));
    let label: ArrayRef = Arc::new(Int64Array::from_iter_values((0..rows).map(|i| (i % 2) as i64)));
    let bytes: ArrayRef = Arc::new(BinaryArray::from_iter_values((0..rows).map(|_| png)));
    let paths: ArrayRef = Arc::new(StringArray::from_iter_values((0..rows).map(|i| format!("{i}.png"))));
    let image: ArrayRef = Arc::new(StructArray::new(image_fields.into(), vec![bytes, paths], None));
    let batch = RecordBatch::try_new(schema.clone(), vec![text, label, image]).unwrap();
    let mut writer: ShardWriter<Vec<u8>> =
        ShardWriter::new(schema, &features, &Limits::default(), Box::new(|| Ok(Vec::new())));
    writer.write(&batch).unwrap();
    writer.finish().unwrap().remove(0).output
}

/// A 3×2 PNG.
pub(crate) fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    png.extend_from_slice(&3u32.to_be_bytes());
    png.extend_from_slice(&2u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    png
}

fn csv_rows(from: usize, to: usize) -> String {
    let mut text = String::from("id,name,score\n");
    for i in from..to {
        text.push_str(&format!("{i},item {i},{}.5\n", i % 7));
    }
    text
}

#[tokio::test]
async fn a_csv_dataset_is_exported_and_served_by_every_endpoint() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/table", false).await;
    let lines = [
        file_line("data/train.csv", csv_rows(0, 250).as_bytes()),
        file_line("data/test.csv", csv_rows(1000, 1010).as_bytes()),
        file_line("README.md", b"---\nlicense: mit\npretty_name: A table\n---\n# A table\n"),
    ];
    commit_dataset(&server, &server.alice, "alice/table", &lines).await;

    // Before the export: not ready, and nothing valid yet.
    let response = viewer(&server, Some(&server.alice), "splits?dataset=alice/table").await;
    assert_eq!(response.status(), 500);
    assert_eq!(header(&response, "x-error-code"), Some("ResponseNotReady"));
    let valid = viewer_json(&server, "is-valid?dataset=alice/table").await;
    assert_eq!(valid["viewer"], json!(false), "{valid}");

    run_jobs(&server).await;
    let info: Value = server.get_json(&server.alice, "/api/datasets/alice/table").await;
    let main = info["sha"].as_str().unwrap().to_owned();

    let response = viewer(&server, None, "splits?dataset=alice/table").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-revision"), Some(main.as_str()));
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    let splits: Value = response.json().await.unwrap();
    assert_eq!(
        splits,
        json!({"splits": [
            {"dataset": "alice/table", "config": "default", "split": "train"},
            {"dataset": "alice/table", "config": "default", "split": "test"}],
            "pending": [], "failed": []})
    );
    let valid = viewer_json(&server, "is-valid?dataset=alice/table").await;
    assert_eq!(
        valid,
        json!({"viewer": true, "preview": true, "search": true, "filter": true, "statistics": true})
    );

    let rows =
        viewer_json(&server, "rows?dataset=alice/table&config=default&split=train&offset=120&length=3").await;
    assert_eq!(rows["num_rows_total"], json!(250));
    assert_eq!(rows["num_rows_per_page"], json!(100));
    assert_eq!(rows["partial"], json!(false));
    assert_eq!(
        rows["rows"][0],
        json!({"row_idx": 120, "row": {"id": 120, "name": "item 120", "score": 1.5}, "truncated_cells": []})
    );
    assert_eq!(rows["rows"].as_array().unwrap().len(), 3);
    let names: Vec<&str> =
        rows["features"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["id", "name", "score"]);
    assert_eq!(rows["features"][1]["type"], json!({"dtype": "string", "_type": "Value"}));
    let end = viewer_json(&server, "rows?dataset=alice/table&config=default&split=train&offset=248").await;
    assert_eq!(end["rows"].as_array().unwrap().len(), 2);
    assert_eq!(end["rows"][1]["row_idx"], json!(249));

    let first = viewer_json(&server, "first-rows?dataset=alice/table&config=default&split=train").await;
    assert_eq!(first["rows"].as_array().unwrap().len(), 100);
    assert_eq!(first["truncated"], json!(true));
    assert_eq!((first["dataset"].as_str(), first["split"].as_str()), (Some("alice/table"), Some("train")));

    let filtered = viewer_json(
        &server,
        "filter?dataset=alice/table&config=default&split=train&where=%22score%22%3E%3D6&orderby=%22id%22%20DESC&length=2",
    )
    .await;
    assert_eq!(filtered["num_rows_total"], json!(35), "{filtered}");
    assert_eq!(filtered["rows"][0]["row"]["id"], json!(244));
    assert_eq!(filtered["rows"][0]["row_idx"], json!(244));
    let found =
        viewer_json(&server, "search?dataset=alice/table&config=default&split=test&query=item%201003").await;
    assert_eq!(found["num_rows_total"], json!(1), "{found}");
    assert_eq!(found["rows"][0]["row"]["id"], json!(1003));

    let size = viewer_json(&server, "size?dataset=alice/table").await;
    assert_eq!(size["size"]["dataset"]["num_rows"], json!(260));
    assert_eq!(size["size"]["splits"][0]["num_columns"], json!(3));
    let info = viewer_json(&server, "info?dataset=alice/table").await;
    assert_eq!(info["partial"], json!(false));
    assert_eq!(info["pending"], json!([]));
    assert_eq!(info["failed"], json!([]));
    assert_eq!(info["dataset_info"]["default"]["splits"]["train"]["num_examples"], json!(250));
    let stats = viewer_json(&server, "statistics?dataset=alice/table&config=default&split=train").await;
    assert_eq!(stats["num_examples"], json!(250));
    let id = stats["statistics"].as_array().unwrap().iter().find(|c| c["column_name"] == "id").unwrap();
    assert_eq!(id["column_type"], json!("int"));
    assert_eq!(id["column_statistics"]["min"], json!(0));
    assert_eq!(id["column_statistics"]["max"], json!(249));
    let croissant = viewer_json(&server, "croissant?dataset=alice/table").await;
    assert_eq!((&croissant["name"], &croissant["alternateName"]), (&json!("table"), &json!(["alice/table"])));
    assert_eq!(croissant["license"], json!("https://choosealicense.com/licenses/mit/"));

    // The export is a real ref with the layout of the Hub, readable with `resolve`.
    let refs: Value = server.get_json(&server.alice, "/api/datasets/alice/table/refs").await;
    assert_eq!(refs["converts"][0]["ref"], json!("refs/convert/parquet"), "{refs}");
    let parquet = viewer_json(&server, "parquet?dataset=alice/table").await;
    let url = parquet["parquet_files"][0]["url"].as_str().unwrap();
    assert!(
        url.ends_with("/datasets/alice/table/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"),
        "{url}"
    );
    let bytes = server.client.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(bytes.len() as u64, parquet["parquet_files"][0]["size"].as_u64().unwrap());
    let listing: Value = server.get_json(&server.alice, "/api/datasets/alice/table/parquet").await;
    let file_url = listing["default"]["train"][0].as_str().unwrap();
    assert!(file_url.ends_with("/api/datasets/alice/table/parquet/default/train/0.parquet"), "{listing}");
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = no_redirect.get(file_url).send().await.unwrap();
    assert_eq!(redirect.status(), 307);
    assert_eq!(header(&redirect, "location"), Some(url));
}

#[tokio::test]
async fn bad_parameters_get_the_viewers_error_codes() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/t", false).await;
    commit_dataset(&server, &server.alice, "alice/t", &[file_line("train.csv", csv_rows(0, 5).as_bytes())])
        .await;
    run_jobs(&server).await;
    let cases = [
        ("rows?config=default&split=train", 422, "MissingRequiredParameter"),
        ("rows?dataset=alice/t&config=default&split=train&length=101", 422, "InvalidParameter"),
        ("rows?dataset=alice/t&config=default&split=train&offset=-1", 422, "InvalidParameter"),
        ("rows?dataset=alice/t&config=default&split=train&offset=x", 422, "InvalidParameter"),
        ("rows?dataset=alice/t&config=nope&split=train", 404, "ResponseNotFound"),
        ("rows?dataset=alice/t&config=default&split=nope", 404, "ResponseNotFound"),
        (
            "filter?dataset=alice/t&config=default&split=train&where=id%3D1%3B%20DROP%20TABLE%20x",
            422,
            "InvalidParameter",
        ),
        ("filter?dataset=alice/t&config=default&split=train&where=%22nope%22%3D1", 422, "InvalidParameter"),
        (
            "filter?dataset=alice/t&config=default&split=train&where=%22id%22%3D1&orderby=id%3B",
            422,
            "InvalidParameter",
        ),
        ("rows?dataset=alice/missing&config=default&split=train", 404, "ExternalAuthenticatedError"),
        ("nope?dataset=alice/t", 404, "ResponseNotFound"),
    ];
    for (path, status, code) in cases {
        let response = viewer(&server, Some(&server.alice), path).await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(header(&response, "x-error-code"), Some(code), "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{path}: {body}");
    }
}

#[tokio::test]
async fn private_datasets_are_viewed_only_by_readers_and_hidden_alike() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/secret", true).await;
    commit_dataset(
        &server,
        &server.alice,
        "alice/secret",
        &[file_line("train.csv", csv_rows(0, 5).as_bytes())],
    )
    .await;
    run_jobs(&server).await;
    let path = "rows?dataset=alice/secret&config=default&split=train";
    assert_eq!(viewer(&server, Some(&server.alice), path).await.status(), 200);
    for (token, missing) in [
        (None, "rows?dataset=alice/none&config=default&split=train"),
        (Some(server.bob.as_str()), "rows?dataset=alice/none&config=default&split=train"),
    ] {
        let hidden = viewer(&server, token, path).await;
        let absent = viewer(&server, token, missing).await;
        let expected = if token.is_none() { 401 } else { 404 };
        assert_eq!((hidden.status().as_u16(), absent.status().as_u16()), (expected, expected));
        assert_eq!(header(&hidden, "x-error-code"), header(&absent, "x-error-code"));
        let (a, b): (Value, Value) = (hidden.json().await.unwrap(), absent.json().await.unwrap());
        assert_eq!(a, b);
    }
    // The export's files are the dataset's: hidden from others too.
    let parquet =
        server.get("/datasets/alice/secret/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet");
    assert_eq!(parquet.bearer_auth(&server.bob).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_parquet_dataset_with_labels_and_images_is_linked_and_its_images_served_signed() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/pics", false).await;
    let png = tiny_png();
    let file = labelled_parquet(30, &png);
    commit_dataset(
        &server,
        &server.alice,
        "alice/pics",
        &[file_line("data/train-00000-of-00001.parquet", &file)],
    )
    .await;
    run_jobs(&server).await;
    let rows =
        viewer_json(&server, "rows?dataset=alice/pics&config=default&split=train&offset=3&length=2").await;
    assert_eq!(
        rows["features"][1]["type"],
        json!({"names": ["neg", "pos"], "_type": "ClassLabel"}),
        "{rows}"
    );
    assert_eq!(rows["rows"][0]["row"]["label"], json!(1));
    assert_eq!(rows["rows"][0]["row"]["text"], json!("review number 3"));
    let image = &rows["rows"][0]["row"]["image"];
    assert_eq!((image["width"].as_u64(), image["height"].as_u64()), (Some(3), Some(2)), "{image}");
    let src = image["src"].as_str().unwrap();
    let served = server.client.get(src).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "content-type"), Some("image/png"));
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());
    // A changed row, column or signature is refused, and so is an expired URL.
    for tampered in [src.replace("/3/image/", "/4/image/"), src.replace("sig=", "sig=00")] {
        assert_eq!(server.client.get(&tampered).send().await.unwrap().status(), 401, "{tampered}");
    }
    server.advance_clock(std::time::Duration::from_secs(3 * 3600));
    assert_eq!(server.client.get(src).send().await.unwrap().status(), 401);

    let stats = viewer_json(&server, "statistics?dataset=alice/pics&config=default&split=train").await;
    let label = stats["statistics"].as_array().unwrap().iter().find(|c| c["column_name"] == "label").unwrap();
    assert_eq!(label["column_type"], json!("class_label"));
    assert_eq!(label["column_statistics"]["frequencies"], json!({"neg": 15, "pos": 15}));
}

#[tokio::test]
async fn broken_data_fails_its_config_with_a_clear_error_and_nothing_else() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/broken", false).await;
    let mut footer = labelled_parquet(3, &tiny_png());
    let (at, end) = (footer.len() - 20, footer.len() - 8);
    footer[at..end].fill(0xff);
    commit_dataset(&server, &server.alice, "alice/broken", &[file_line("train.parquet", &footer)]).await;
    create_dataset(&server, &server.alice, "alice/mixed", false).await;
    commit_dataset(
        &server,
        &server.alice,
        "alice/mixed",
        &[file_line("train.jsonl", b"{\"a\": 1}\n{\"a\": {\"b\": 2}}\n")],
    )
    .await;
    create_dataset(&server, &server.alice, "alice/empty", false).await;
    commit_dataset(&server, &server.alice, "alice/empty", &[file_line("README.md", b"# nothing\n")]).await;
    run_jobs(&server).await;
    for (repo, code) in
        [("alice/broken", "DatasetGenerationError"), ("alice/mixed", "DatasetGenerationError")]
    {
        let response =
            viewer(&server, Some(&server.alice), &format!("rows?dataset={repo}&config=default&split=train"))
                .await;
        assert_eq!(response.status(), 500, "{repo}");
        assert_eq!(header(&response, "x-error-code"), Some(code), "{repo}");
        let splits = viewer_json(&server, &format!("splits?dataset={repo}")).await;
        assert_eq!(splits["failed"][0]["config"], json!("default"), "{splits}");
    }
    let response = viewer(&server, Some(&server.alice), "splits?dataset=alice/empty").await;
    assert_eq!(header(&response, "x-error-code"), Some("EmptyDatasetError"));
    // The job ended (no retry loop), and the hub still works.
    let counts = server.admin().await.jobs().counts().await.unwrap();
    assert_eq!(counts.failed, 0, "{counts:?}");
}

#[tokio::test]
async fn only_kura_writes_the_export_ref() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/own", false).await;
    commit_dataset(&server, &server.alice, "alice/own", &[file_line("train.csv", csv_rows(0, 3).as_bytes())])
        .await;
    run_jobs(&server).await;
    let body = format!(
        "{}\n{}",
        json!({"key": "header", "value": {"summary": "x", "description": ""}}),
        file_line("default/train/0000.parquet", b"not parquet")
    );
    let response = server
        .post("/api/datasets/alice/own/commit/refs%2Fconvert%2Fparquet")
        .bearer_auth(&server.alice)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let rows = viewer_json(&server, "rows?dataset=alice/own&config=default&split=train").await;
    assert_eq!(rows["num_rows_total"], json!(3));
}

#[tokio::test]
async fn the_viewer_answers_at_the_root_of_a_datasets_server_host() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/host", false).await;
    commit_dataset(
        &server,
        &server.alice,
        "alice/host",
        &[file_line("train.csv", csv_rows(0, 3).as_bytes())],
    )
    .await;
    run_jobs(&server).await;
    let response = server
        .get("/info?dataset=alice/host")
        .header("host", "datasets-server.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let info: Value = response.json().await.unwrap();
    assert_eq!(
        info["dataset_info"]["default"]["features"]["id"],
        json!({"dtype": "int64", "_type": "Value"}),
        "{info}"
    );
}

#[tokio::test]
async fn a_split_past_the_size_cap_is_exported_partially_and_said_so() {
    let server = TestServer::start_with(|c| {
        c.job_workers = 0;
        c.limits.viewer_export_max_bytes = 1;
    })
    .await;
    create_dataset(&server, &server.alice, "alice/big", false).await;
    commit_dataset(
        &server,
        &server.alice,
        "alice/big",
        &[file_line("train.csv", csv_rows(0, 30_000).as_bytes())],
    )
    .await;
    run_jobs(&server).await;
    let rows =
        viewer_json(&server, "rows?dataset=alice/big&config=default&split=train&offset=0&length=1").await;
    assert_eq!(rows["partial"], json!(true), "{rows}");
    let total = rows["num_rows_total"].as_u64().unwrap();
    assert!(total > 0 && total < 30_000, "{total}");
    let parquet = viewer_json(&server, "parquet?dataset=alice/big").await;
    assert_eq!(parquet["partial"], json!(true));
    let url = parquet["parquet_files"][0]["url"].as_str().unwrap();
    assert!(url.ends_with("/default/partial-train/0000.parquet"), "{url}");
    assert_eq!(viewer_json(&server, "info?dataset=alice/big").await["partial"], json!(true));
    let splits = viewer_json(&server, "splits?dataset=alice/big").await;
    assert_eq!(splits["splits"][0]["split"], json!("train"));
}

#[tokio::test]
async fn a_new_commit_is_exported_on_top_of_the_previous_export() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/grow", false).await;
    commit_dataset(
        &server,
        &server.alice,
        "alice/grow",
        &[file_line("train.csv", csv_rows(0, 100).as_bytes())],
    )
    .await;
    run_jobs(&server).await;
    let refs: Value = server.get_json(&server.alice, "/api/datasets/alice/grow/refs").await;
    let first = refs["converts"][0]["targetCommit"].as_str().unwrap().to_owned();
    commit_dataset(
        &server,
        &server.alice,
        "alice/grow",
        &[file_line("train.csv", csv_rows(0, 101).as_bytes())],
    )
    .await;
    // Until the new export runs, the viewer says so rather than serving the old commit's rows.
    let response =
        viewer(&server, Some(&server.alice), "rows?dataset=alice/grow&config=default&split=train").await;
    assert_eq!(header(&response, "x-error-code"), Some("ResponseNotReady"));
    run_jobs(&server).await;
    let rows = viewer_json(&server, "rows?dataset=alice/grow&config=default&split=train&offset=100").await;
    assert_eq!(rows["num_rows_total"], json!(101));
    let history: Value =
        server.get_json(&server.alice, "/api/datasets/alice/grow/commits/refs%2Fconvert%2Fparquet").await;
    let ids: Vec<&str> = history.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{history}");
    assert_eq!(ids[1], first);
    assert_eq!(history[0]["title"], json!("Update parquet files"));
    assert_eq!(history[0]["authors"][0]["user"], json!("parquet-converter"), "{history}");
}

#[tokio::test]
async fn config_names_that_cannot_be_folders_fail_alone() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    create_dataset(&server, &server.alice, "alice/names", false).await;
    // A NUL in a config name would end the tree entry's name early and let the rest of the
    // name be read back as entries of the attacker's choosing.
    let readme = "---\nconfigs:\n- config_name: \"x\\0AAAAAAAAAAAAAAAAAAAA100644 leak\"\n  data_files: a.csv\n- config_name: \"..\"\n  data_files: a.csv\n- config_name: \".gitattributes\"\n  data_files: a.csv\n- config_name: good\n  data_files: a.csv\n---\n";
    let lines = [file_line("README.md", readme.as_bytes()), file_line("a.csv", csv_rows(0, 4).as_bytes())];
    commit_dataset(&server, &server.alice, "alice/names", &lines).await;
    run_jobs(&server).await;
    let splits = viewer_json(&server, "splits?dataset=alice/names").await;
    assert_eq!(
        splits["splits"],
        json!([{"dataset": "alice/names", "config": "good", "split": "train"}]),
        "{splits}"
    );
    let failed: Vec<&str> = splits["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["error"]["cause_exception"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["InvalidConfigName"; 3], "{splits}");
    // The export tree holds exactly the good config's file.
    let tree: Value = server
        .get_json(&server.alice, "/api/datasets/alice/names/tree/refs%2Fconvert%2Fparquet?recursive=true")
        .await;
    let mut paths: Vec<&str> = tree.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    paths.sort();
    assert_eq!(paths, [".gitattributes", "good", "good/train", "good/train/0000.parquet"], "{tree}");
}

#[tokio::test]
async fn columns_keep_their_order_from_csv_and_json_to_every_answer() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    // `datasets` reads a whole repo with one builder: one repo per format.
    for (repo, file, bytes) in [
        ("alice/order-csv", "train.csv", &b"zeta,alpha,mid\n1,a,x\n"[..]),
        (
            "alice/order-json",
            "train.jsonl",
            &b"{\"zeta\": 1, \"alpha\": {\"y\": 1, \"b\": 2}, \"mid\": [1]}\n"[..],
        ),
    ] {
        create_dataset(&server, &server.alice, repo, false).await;
        commit_dataset(&server, &server.alice, repo, &[file_line(file, bytes)]).await;
    }
    run_jobs(&server).await;
    for config in ["csv", "json"] {
        let text = server
            .get(&format!("/datasets-server/rows?dataset=alice/order-{config}&config=default&split=train"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = |key: &str| text.find(key).unwrap_or_else(|| panic!("{config}: {key} in {text}"));
        let (zeta, alpha, mid) = (at("\"zeta\":"), at("\"alpha\":"), at("\"mid\":"));
        assert!(zeta < alpha && alpha < mid, "{config}: {text}");
        let info = server
            .get(&format!("/datasets-server/info?dataset=alice/order-{config}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (zeta, alpha) = (info.find("\"zeta\"").unwrap(), info.find("\"alpha\"").unwrap());
        assert!(zeta < alpha, "{config}: {info}");
    }
    let info = server
        .get("/datasets-server/info?dataset=alice/order-json")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        info.find("\"y\"").unwrap() < info.find("\"b\"").unwrap(),
        "struct fields keep their order: {info}"
    );
}
