//! Security II, findings 4 and 7, at the HTTP edge: connections are capped and time out
//! (idle, slow headers, stalled bodies), and request bodies buffered in memory share one
//! global budget (xorbs, shards, commits' inline content, `validate-yaml`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::capped::CappedServer;

fn address(server: &CappedServer) -> &str {
    server.base.trim_start_matches("http://")
}

/// Waits until the server closes `socket` (end of stream or reset), discarding what it sends;
/// `false` when it is still open after `within`.
async fn closed_within(socket: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends a request head and `length` body bytes (repeating `chunk`) on a fresh connection and
/// returns the status of the answer (0 when the connection ended without one).
async fn raw_request(address: String, head: String, length: u64, chunk: Arc<Vec<u8>>) -> u16 {
    let mut socket = TcpStream::connect(&address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut sent = 0u64;
    while sent < length {
        let piece = &chunk[..(length - sent).min(chunk.len() as u64) as usize];
        if socket.write_all(piece).await.is_err() {
            break;
        }
        sent += piece.len() as u64;
    }
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Finding 4: idle connections beyond the cap cost the server no file descriptor (they wait
/// in the listen queue), the header-read timeout closes them, and the server keeps serving.
#[tokio::test]
async fn idle_connections_are_capped_and_closed_by_the_header_timeout() {
    let mut server = CappedServer::start_with(&[
        ("KURA_LIMIT_MAX_CONNECTIONS", "50"),
        ("KURA_LIMIT_HEADER_READ_TIMEOUT_SECS", "1"),
    ])
    .await;
    let baseline = server.open_fds();
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(address(&server)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let open = server.open_fds();
    // 50 connections, and a little slack for the database pool growing meanwhile.
    assert!(open <= baseline + 60, "{open} descriptors open for 200 idle connections (baseline {baseline})");

    // Slots free as the header timeout closes the idle ones, 50 at a time: a real request
    // queued behind all of them is served within a few seconds.
    let started = Instant::now();
    let health =
        server.client.get(format!("{}/health", server.base)).timeout(Duration::from_secs(15)).send().await;
    assert!(health.is_ok_and(|r| r.status() == 200), "/health was not served behind the idle connections");
    assert!(started.elapsed() < Duration::from_secs(10), "/health took {:?}", started.elapsed());
    for socket in &mut idle {
        assert!(closed_within(socket, Duration::from_secs(5)).await, "an idle connection stayed open");
    }
    server.assert_healthy().await;
}

/// Finding 4: one address cannot hold every slot; past its share its connections are closed
/// at once, while another address is still served.
#[tokio::test]
async fn one_address_holds_only_its_share_of_the_connections() {
    let mut server = CappedServer::start_with(&[("KURA_LIMIT_MAX_CONNECTIONS_PER_ADDRESS", "5")]).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(TcpStream::connect(address(&server)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        let mut extra = TcpStream::connect(address(&server)).await.unwrap();
        assert!(
            closed_within(&mut extra, Duration::from_secs(2)).await,
            "a connection past the share stayed open"
        );
    }
    // Another loopback address (all of 127/8 reaches the listener) has its own share.
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let health = other.get(format!("{}/health", server.base)).timeout(Duration::from_secs(5)).send().await;
    assert!(health.is_ok_and(|r| r.status() == 200), "another address was not served");
    // The held connections free their places when they end.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.assert_healthy().await;
}

/// Finding 4: a client sending its headers a byte at a time is closed by the header timeout.
#[tokio::test]
async fn a_slowloris_client_is_closed() {
    let mut server = CappedServer::start_with(&[("KURA_LIMIT_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let socket = TcpStream::connect(address(&server)).await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        for byte in
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa".iter().cycle()
        {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut buffer)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "the slow client was answered or kept: {read:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "closed only after {:?}", started.elapsed());
    trickle.abort();
    server.assert_healthy().await;
}

/// Finding 4: a request body that stops arriving ends the request; one that keeps moving,
/// however slowly, is served.
#[tokio::test]
async fn a_stalled_body_ends_the_request_and_a_slow_one_does_not() {
    let mut server = CappedServer::start_with(&[("KURA_LIMIT_BODY_STALL_TIMEOUT_SECS", "1")]).await;
    let head = "POST /api/validate-yaml HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";

    let mut stalled = TcpStream::connect(address(&server)).await.unwrap();
    stalled.write_all(format!("{head}Content-Length: 1000\r\n\r\n{{\"content\":").as_bytes()).await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut stalled, Duration::from_secs(5)).await, "the stalled request was kept");
    assert!(started.elapsed() < Duration::from_secs(4), "ended only after {:?}", started.elapsed());

    // 14 bytes, one every 250 ms: longer in all than the stall timeout, never stalled.
    let body = br#"{"content":""}"#;
    let mut slow = TcpStream::connect(address(&server)).await.unwrap();
    slow.set_nodelay(true).unwrap();
    let head = format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    slow.write_all(head.as_bytes()).await.unwrap();
    for byte in body {
        tokio::time::sleep(Duration::from_millis(250)).await;
        slow.write_all(&[*byte]).await.unwrap();
    }
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.assert_healthy().await;
}

/// Finding 4: a client that stops reading a response is disconnected once the server has
/// waited `send_stall_timeout_secs` to send more.
#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let mut server = CappedServer::start_with(&[("KURA_LIMIT_SEND_STALL_TIMEOUT_SECS", "1")]).await;
    let alice = server.alice.clone();
    server.create_repo(&alice, "alice/m", false).await;
    // Larger than what the kernel buffers on both sides of a loopback connection.
    let size = 10 << 20;
    let content = base64::engine::general_purpose::STANDARD.encode(vec![b'a'; size]);
    let body = format!(
        "{}\n{}",
        json!({"key": "header", "value": {"summary": "one big file"}}),
        json!({"key": "file", "value": {"path": "big.txt", "content": content}})
    );
    let commit = server
        .client
        .post(format!("{}/api/models/alice/m/commit/main", server.base))
        .bearer_auth(&alice)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(commit.status(), 200);

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut socket = socket.connect(address(&server).parse().unwrap()).await.unwrap();
    let head = "GET /alice/m/resolve/main/big.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut received = 0usize;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => received += n,
            Err(_) => panic!("the connection is still open after {received} bytes"),
        }
    }
    assert!(received < size, "the whole file arrived: the server waited for the reader");
    server.assert_healthy().await;
}

/// The accept loop keeps graceful shutdown: on SIGTERM idle connections close at once, the
/// request in flight is answered, then the server exits.
#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_closes_idle_connections() {
    let mut server = CappedServer::start().await;
    let mut idle = TcpStream::connect(address(&server)).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut answer = [0u8; 512];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));

    let body = br#"{"content":""}"#;
    let mut busy = TcpStream::connect(address(&server)).await.unwrap();
    let head = format!(
        "POST /api/validate-yaml HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).await.unwrap();
    busy.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.terminate();
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await, "the idle connection stayed open");
    assert!(!server.exited_within(Duration::from_millis(500)), "exited with a request in flight");
    busy.write_all(&body[5..]).await.unwrap();
    let mut answer = String::new();
    busy.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.exited_within(Duration::from_secs(10)), "the server did not exit");
}

/// Finding 7: 24 concurrent 64 MiB xorb uploads once each took 64 MiB of memory. Xorbs now
/// stream to the store as they are validated, so none is held whole: all are refused (a bad
/// format is found at its first bytes) and the server stays healthy.
#[tokio::test]
async fn concurrent_xorb_uploads_share_the_body_budget() {
    let mut server = CappedServer::start().await;
    let alice = server.alice.clone();
    server.create_repo(&alice, "alice/m", false).await;
    let (cas_token, _) = server.xet_write_token("alice/m").await;
    let size: u64 = 64 << 20;
    let chunk = Arc::new(vec![0x5au8; 1 << 20]);
    let uploads: Vec<_> = (0..24u8)
        .map(|i| {
            let hash = format!("{:02x}", i).repeat(32);
            let head = format!(
                "POST /cas/v1/xorbs/default/{hash} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \
                 {cas_token}\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
            );
            tokio::spawn(raw_request(address(&server).to_owned(), head, size, chunk.clone()))
        })
        .collect();
    for upload in uploads {
        // Not a xorb: each is read whole, then refused by the format check.
        assert_eq!(upload.await.unwrap(), 400);
    }
    server.assert_healthy().await;
}

/// Finding 7: a commit carrying more inline content than `commit_max_inline_bytes` (64 MiB)
/// is refused with a 413 in the Hub's error format, without holding more than that.
#[tokio::test]
async fn a_commit_with_too_much_inline_content_is_refused() {
    let mut server = CappedServer::start().await;
    let bob = server.bob.clone();
    server.create_repo(&bob, "bob/m", false).await;
    let content = base64::engine::general_purpose::STANDARD.encode(vec![b'a'; 6 << 20]);
    let mut body = json!({"key": "header", "value": {"summary": "big"}}).to_string();
    for i in 0..11 {
        body.push('\n');
        body.push_str(
            &json!({"key": "file", "value": {"path": format!("f{i}.txt"), "content": content}}).to_string(),
        );
    }
    // Each 8 MiB line arrives in many reads: finding its end must not rescan it each time
    // (that cost over 30 s of CPU for this commit).
    let started = Instant::now();
    let response = server
        .client
        .post(format!("{}/api/models/bob/m/commit/main", server.base))
        .bearer_auth(&bob)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(started.elapsed() < Duration::from_secs(10), "refused after {:?}", started.elapsed());
    let message = response.headers()["x-error-message"].to_str().unwrap().to_owned();
    assert!(message.contains("inline content"), "{message}");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], message);
    server.assert_healthy().await;
}

/// Finding 7: preupload sends files to LFS rather than let one commit's inline content go
/// past the budget, so an upload of many small text files still commits.
#[tokio::test]
async fn preupload_sends_files_past_the_inline_budget_to_lfs() {
    let server = CappedServer::start_with(&[("KURA_LIMIT_COMMIT_MAX_INLINE_BYTES", "1000000")]).await;
    let alice = server.alice.clone();
    server.create_repo(&alice, "alice/m", false).await;
    let files: Vec<Value> =
        (0..5).map(|i| json!({"path": format!("t{i}.txt"), "size": 300_000, "sample": ""})).collect();
    let answer: Value = server
        .client
        .post(format!("{}/api/models/alice/m/preupload/main", server.base))
        .bearer_auth(&alice)
        .json(&json!({"files": files}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let modes: Vec<&str> =
        answer["files"].as_array().unwrap().iter().map(|f| f["uploadMode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["regular", "regular", "regular", "lfs", "lfs"]);
}

/// Finding 7: `validate-yaml` (anonymous) reads a small typed body: 16 MiB is refused from
/// its declared length, and a YAML alias bomb within the limit stays cheap.
#[tokio::test]
async fn validate_yaml_takes_a_small_typed_body() {
    let mut server = CappedServer::start().await;
    let url = format!("{}/api/validate-yaml", server.base);
    let huge =
        json!({"content": format!("---\na: {}\n---\n", "x".repeat((16 << 20) - 1000)), "repoType": "model"});
    let started = Instant::now();
    let response = server.client.post(&url).json(&huge).send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.headers().contains_key("x-error-message"));
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    let not_text = server.client.post(&url).json(&json!({"content": [1, 2, 3]})).send().await.unwrap();
    assert_eq!(not_text.status(), 400);

    let mut bomb = String::from("---\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let prev = format!("*a{}", level - 1);
        bomb.push_str(&format!("a{level}: &a{level} [{}]\n", [prev.as_str(); 10].join(", ")));
    }
    bomb.push_str("---\n");
    let response = server.client.post(&url).json(&json!({"content": bomb})).send().await.unwrap();
    assert!(response.status() == 200 || response.status() == 400, "{}", response.status());
    server.assert_healthy().await;
}
