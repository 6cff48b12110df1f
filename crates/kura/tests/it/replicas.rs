//! Two replicas sharing one PostgreSQL database and one S3 bucket behave as one hub.
//! Needs `KURA_TEST_POSTGRES_URL` and `KURA_TEST_S3_*` (set by scripts/test; required in CI).

use kura::config::{Config, Overrides, S3File};
use serde_json::{Value, json};

use crate::support::*;

struct Replicas {
    urls: [String; 2],
    token: String,
    user: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn shared_config() -> Option<(Overrides, tempfile::TempDir)> {
    let Ok(database_url) = std::env::var("KURA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "KURA_TEST_POSTGRES_URL must be set in CI");
        eprintln!("skipping: no PostgreSQL configured");
        return None;
    };
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set for the replica tests"))
    };
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.path().to_owned()),
        database_url: Some(database_url),
        storage: Some(format!("s3://{}/replicas-{:x}", var("KURA_TEST_S3_BUCKET"), rand::random::<u64>())),
        s3: S3File {
            endpoint: Some(var("KURA_TEST_S3_ENDPOINT")),
            region: Some("us-east-1".into()),
            access_key_id: Some(var("KURA_TEST_S3_ACCESS_KEY_ID")),
            secret_access_key: Some(var("KURA_TEST_S3_SECRET_ACCESS_KEY")),
            virtual_hosted: Some(false),
        },
        ..Default::default()
    };
    Some((overrides, dir))
}

async fn start_replicas() -> Option<Replicas> {
    let (overrides, dir) = shared_config()?;
    let user = format!("u{:x}", rand::random::<u32>());
    let mut urls = Vec::new();
    let mut token = String::new();
    for i in 0..2 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config =
            Config::load(&Overrides { public_url: Some(base.clone()), ..overrides.clone() }).unwrap();
        let hub = kura::open_hub(&config).await.unwrap();
        if i == 0 {
            hub.accounts().create_user(&user, false).await.unwrap();
            token = hub.accounts().create_token(&user, "t", kura_model::Role::Write).await.unwrap();
        }
        tokio::spawn(kura::serve(listener, hub, base.clone(), std::future::pending()));
        urls.push(base);
    }
    Some(Replicas {
        urls: [urls[0].clone(), urls[1].clone()],
        token,
        user,
        client: reqwest::Client::new(),
        _dir: dir,
    })
}

impl Replicas {
    async fn commit(
        &self,
        replica: usize,
        repo: &str,
        lines: &[Value],
        parent: Option<&str>,
    ) -> reqwest::Response {
        let mut header = json!({"key": "header", "value": {"summary": "c", "description": ""}});
        if let Some(parent) = parent {
            header["value"]["parentCommit"] = json!(parent);
        }
        let body = std::iter::once(header)
            .chain(lines.iter().cloned())
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        self.client
            .post(format!("{}/api/models/{repo}/commit/main", self.urls[replica]))
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_commit_through_one_replica_is_visible_through_the_other() {
    let Some(replicas) = start_replicas().await else { return };
    let repo = format!("{}/shared", replicas.user);
    let created = replicas
        .client
        .post(format!("{}/api/repos/create", replicas.urls[0]))
        .bearer_auth(&replicas.token)
        .json(&json!({"name": "shared"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let response = replicas.commit(0, &repo, &[file_line("hello.txt", b"from replica 0")], None).await;
    assert_eq!(response.status(), 200);
    let sha: Value = response.json().await.unwrap();
    let file = replicas
        .client
        .get(format!("{}/{repo}/resolve/main/hello.txt", replicas.urls[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&file, "x-repo-commit"), sha["commitOid"].as_str());
    assert_eq!(file.text().await.unwrap(), "from replica 0");
}

#[tokio::test]
async fn lfs_urls_signed_by_one_replica_work_on_the_other() {
    let Some(replicas) = start_replicas().await else { return };
    let repo = format!("{}/lfs", replicas.user);
    replicas
        .client
        .post(format!("{}/api/repos/create", replicas.urls[0]))
        .bearer_auth(&replicas.token)
        .json(&json!({"name": "lfs"}))
        .send()
        .await
        .unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 247) as u8).collect();
    let oid = sha256_hex(&data);
    let plan: Value = replicas
        .client
        .post(format!("{}/{repo}.git/info/lfs/objects/batch", replicas.urls[0]))
        .bearer_auth(&replicas.token)
        .json(&json!({"operation": "upload", "objects": [{"oid": oid, "size": data.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = plan["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .unwrap()
        .replace(&replicas.urls[0], &replicas.urls[1]);
    assert_eq!(replicas.client.put(&href).body(data.clone()).send().await.unwrap().status(), 200);
    let line = json!({"key": "lfsFile", "value": {"path": "w.safetensors", "algo": "sha256", "oid": oid, "size": data.len()}});
    assert_eq!(replicas.commit(1, &repo, &[line], None).await.status(), 200);
    let body = replicas
        .client
        .get(format!("{}/{repo}/resolve/main/w.safetensors", replicas.urls[0]))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&body), oid);
    // LFS content is stored as Xet chunks; git-lfs downloads rebuild it through kura.
    let download: Value = replicas
        .client
        .post(format!("{}/{repo}.git/info/lfs/objects/batch", replicas.urls[1]))
        .json(&json!({"operation": "download", "objects": [{"oid": oid, "size": data.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = download["objects"][0]["actions"]["download"]["href"].as_str().unwrap();
    let rebuilt = replicas.client.get(href).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&rebuilt), oid);
    // Xet clients fetch xorb ranges straight from the bucket through presigned URLs.
    let head = replicas
        .client
        .head(format!("{}/{repo}/resolve/main/w.safetensors", replicas.urls[0]))
        .send()
        .await
        .unwrap();
    let xet_hash = header(&head, "x-xet-hash").expect("LFS uploads are Xet-stored").to_owned();
    let token: Value = replicas
        .client
        .get(format!("{}/api/models/{repo}/xet-read-token/main", replicas.urls[1]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let plan: Value = replicas
        .client
        .get(format!("{}/v1/reconstructions/{xet_hash}", token["casUrl"].as_str().unwrap()))
        .bearer_auth(token["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, fetches) = plan["fetch_info"].as_object().unwrap().iter().next().unwrap();
    let url = fetches[0]["url"].as_str().unwrap();
    assert!(url.starts_with(&std::env::var("KURA_TEST_S3_ENDPOINT").unwrap()), "{url}");
    let range = &fetches[0]["url_range"];
    let part = replicas
        .client
        .get(url)
        .header("range", format!("bytes={}-{}", range["start"], range["end"]))
        .send()
        .await
        .unwrap();
    assert!(part.status().is_success(), "{}", part.status());
    let records = part.bytes().await.unwrap();
    assert!(!kura_cas::decode_records(&records).unwrap().is_empty());
}

#[tokio::test]
async fn racing_commits_on_two_replicas_never_lose_an_update() {
    let Some(replicas) = start_replicas().await else { return };
    let repo = format!("{}/race", replicas.user);
    replicas
        .client
        .post(format!("{}/api/repos/create", replicas.urls[0]))
        .bearer_auth(&replicas.token)
        .json(&json!({"name": "race"}))
        .send()
        .await
        .unwrap();
    let info: Value = replicas
        .client
        .get(format!("{}/api/models/{repo}", replicas.urls[0]))
        .bearer_auth(&replicas.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parent = info["sha"].as_str().unwrap().to_owned();
    let (a_line, b_line) = ([file_line("a.txt", b"a")], [file_line("b.txt", b"b")]);
    let (a, b) = tokio::join!(
        replicas.commit(0, &repo, &a_line, Some(&parent)),
        replicas.commit(1, &repo, &b_line, Some(&parent)),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "exactly one commit wins for a given parent");
    // Without a parent both land, in some order, through either replica.
    let (c_line, d_line) = ([file_line("c.txt", b"c")], [file_line("d.txt", b"d")]);
    let (c, d) =
        tokio::join!(replicas.commit(0, &repo, &c_line, None), replicas.commit(1, &repo, &d_line, None),);
    assert_eq!((c.status().as_u16(), d.status().as_u16()), (200, 200));
    let tree: Value = replicas
        .client
        .get(format!("{}/api/models/{repo}/tree/main", replicas.urls[1]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = tree.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"c.txt") && paths.contains(&"d.txt"), "{paths:?}");
    assert_eq!(paths.len(), 4, "{paths:?}");
}

#[tokio::test]
async fn an_unreachable_object_store_gives_a_clean_503_and_no_partial_repo() {
    let Some((mut overrides, _dir)) = shared_config() else { return };
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    overrides.s3.endpoint = Some(format!("http://{closed}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config::load(&Overrides { public_url: Some(base.clone()), ..overrides }).unwrap();
    let hub = kura::open_hub(&config).await.unwrap();
    let user = format!("u{:x}", rand::random::<u32>());
    hub.accounts().create_user(&user, false).await.unwrap();
    let token = hub.accounts().create_token(&user, "t", kura_model::Role::Write).await.unwrap();
    tokio::spawn(kura::serve(listener, hub, base.clone(), std::future::pending()));
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/api/repos/create"))
        .bearer_auth(&token)
        .json(&json!({"name": "down"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 503);
    assert!(header(&created, "x-request-id").is_some());
    let info = client.get(format!("{base}/api/models/{user}/down")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(info.status(), 404, "nothing half-created");
}
