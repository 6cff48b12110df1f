//! Xorb uploads received as a stream: only a whole, valid xorb is ever stored (its records,
//! without the footer); a refused or broken-off body leaves nothing behind, not even a temp
//! file; and the body of a xorb the store already holds is still checked.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kura_cas::{encode_footer, parse_xorb};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;
use crate::xet::{pack, write_token};

/// `bytes` as a streamed body of `piece`-byte pieces (no Content-Length).
fn streamed(bytes: &[u8], piece: usize) -> reqwest::Body {
    let pieces: Vec<Result<Bytes, std::io::Error>> =
        bytes.chunks(piece).map(|p| Ok(Bytes::copy_from_slice(p))).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

/// Waits (bounded) until the blob store holds no temp file.
async fn assert_no_temp_files(server: &TestServer) {
    let tmp = server.data_dir().join("blobs/.tmp");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !files_under(&tmp).is_empty() {
        assert!(Instant::now() < deadline, "temp files left: {:?}", files_under(&tmp));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_streamed_xorb_is_stored_only_whole_valid_and_without_its_footer() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/x", false).await;
    let (cas_token, cas) = write_token(&server, "alice/x").await;
    // Several MiB, so the body crosses the receiver's batches.
    let packed = pack((0..3_300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect());
    let url = format!("{cas}/v1/xorbs/default/{}", packed.xorb_hash.to_hex());
    let xorbs = server.data_dir().join("blobs/xet/xorbs");
    let post = |body: reqwest::Body| server.client.post(&url).bearer_auth(&cas_token).body(body).send();

    // The last byte flipped: only the final hash check can tell, after every byte was written.
    let mut late = packed.xorb.clone();
    *late.last_mut().unwrap() ^= 1;
    assert_eq!(post(streamed(&late, 65_537)).await.unwrap().status(), 400);
    assert!(files_under(&xorbs).is_empty(), "a refused xorb was stored");
    assert_no_temp_files(&server).await;

    // A body that breaks off half way (declared length, then the connection closes).
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let path = url.trim_start_matches(&server.base);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {cas_token}\r\nContent-Length: {}\r\n\r\n",
        packed.xorb.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&packed.xorb[..packed.xorb.len() / 2]).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(!String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "a broken-off body was accepted");
    assert!(files_under(&xorbs).is_empty(), "a broken-off xorb was stored");
    assert_no_temp_files(&server).await;

    // The whole xorb with a footer, in odd pieces: stored, records only.
    let info = parse_xorb(&packed.xorb).unwrap();
    let mut with_footer = packed.xorb.clone();
    with_footer.extend_from_slice(&encode_footer(&info, [1, 2, 3, 4]));
    let answer = post(streamed(&with_footer, 4_099)).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["was_inserted"], true);
    let stored = files_under(&xorbs);
    assert_eq!(stored.len(), 2, "the records and the chunk table: {stored:?}");
    let stored: Vec<PathBuf> = stored.into_iter().filter(|p| p.extension().is_none()).collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), packed.xorb, "the stored blob is the records");

    // The same hash again: a corrupted body is still refused, and the stored xorb is unchanged.
    let mut flipped = with_footer.clone();
    flipped[packed.xorb.len() / 3] ^= 0x10;
    assert_eq!(post(streamed(&flipped, 1 << 20)).await.unwrap().status(), 400);
    let again = post(streamed(&with_footer, 1 << 20)).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["was_inserted"], false);
    assert_eq!(std::fs::read(&stored[0]).unwrap(), packed.xorb);
    assert_no_temp_files(&server).await;

    // And the shard naming it registers the file (its chunk table was written).
    let shard = packed.shard.to_bytes();
    let registered = server.client.post(format!("{cas}/v1/shards")).bearer_auth(&cas_token).body(shard);
    assert_eq!(registered.send().await.unwrap().status(), 200);
}

/// A body of valid records that never ends (no declared length) is refused as too large once
/// it passes the largest xorb, with a 413, and nothing is stored.
#[tokio::test]
async fn an_endless_streamed_xorb_is_too_large() {
    let server = TestServer::start().await;
    server.create_repo(&server.alice, "alice/x", false).await;
    let (cas_token, cas) = write_token(&server, "alice/x").await;
    let packed = pack((0..3_300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect());
    let url = format!("{cas}/v1/xorbs/default/{}", packed.xorb_hash.to_hex());
    // Records are self-contained: the same ones over and over are a well-formed, endless xorb.
    let records = Bytes::from(packed.xorb.clone());
    let endless = futures_util::stream::iter(std::iter::repeat_n(records, 30).map(Ok::<_, std::io::Error>));
    let response = server
        .client
        .post(&url)
        .bearer_auth(&cas_token)
        .body(reqwest::Body::wrap_stream(endless))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(files_under(&server.data_dir().join("blobs/xet/xorbs")).is_empty());
    assert_no_temp_files(&server).await;
}
