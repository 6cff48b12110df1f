//! Hashing an incoming whole-file body off the async runtime and in parallel: SHA-256 on one
//! blocking thread, Xet chunking plus chunk hashing on another. An upload then costs about
//! the slower of the two passes, not their sum. Channels are bounded, so a slow consumer
//! slows the body down instead of buffering it: memory stays within a few MiB per upload.

use bytes::Bytes;
use futures_util::StreamExt;
use kura_cas::{Chunker, MerkleHash, chunk_hash_parts};
use sha2::Digest;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::ByteStream;
use crate::content::{interrupted, too_long};
use crate::error::{CoreError, Result};

/// Body bytes handed to the workers at once (fewer thread wake-ups than one per socket read).
const BATCH_BYTES: usize = 1 << 20;
/// Batches queued per worker.
const QUEUE: usize = 4;

/// One content-defined chunk of the body and its Xet chunk hash. Its bytes are slices of the
/// body's own buffers (a chunk usually spans several socket reads), never copied here: a chunk
/// the store already holds is never copied at all, a new one once, into its xorb.
pub(crate) struct HashedChunk {
    pub parts: Vec<Bytes>,
    pub len: usize,
    pub hash: MerkleHash,
}

/// A body being hashed: chunks arrive in order through [`BodyHashing::next_chunks`].
pub(crate) struct BodyHashing {
    chunks: mpsc::Receiver<Vec<HashedChunk>>,
    feeder: JoinHandle<Result<u64>>,
    sha: JoinHandle<[u8; 32]>,
}

/// What the whole body hashed to.
pub(crate) struct BodyDigest {
    pub sha256: [u8; 32],
    pub len: u64,
}

impl BodyHashing {
    /// Starts reading `body` (at most `limit` bytes, or it fails with "too long").
    pub fn start(body: ByteStream, limit: u64) -> Self {
        let (sha_tx, sha_rx) = mpsc::channel::<Vec<Bytes>>(QUEUE);
        let (piece_tx, piece_rx) = mpsc::channel::<Vec<Bytes>>(QUEUE);
        let (chunk_tx, chunks) = mpsc::channel(QUEUE);
        let sha = tokio::task::spawn_blocking(move || sha_worker(sha_rx));
        tokio::task::spawn_blocking(move || chunk_worker(piece_rx, chunk_tx));
        let feeder = tokio::spawn(feed(body, limit, sha_tx, piece_tx));
        Self { chunks, feeder, sha }
    }

    /// The next chunks in body order; `None` once the body is fully chunked (or failed: then
    /// [`BodyHashing::finish`] says why).
    pub async fn next_chunks(&mut self) -> Option<Vec<HashedChunk>> {
        self.chunks.recv().await
    }

    /// Waits for the end of the body and its SHA-256.
    pub async fn finish(mut self) -> Result<BodyDigest> {
        self.chunks.close();
        let len = (&mut self.feeder)
            .await
            .map_err(|e| CoreError::Corrupt(format!("upload hashing failed: {e}")))??;
        let sha256 =
            (&mut self.sha).await.map_err(|e| CoreError::Corrupt(format!("upload hashing failed: {e}")))?;
        Ok(BodyDigest { sha256, len })
    }
}

impl Drop for BodyHashing {
    fn drop(&mut self) {
        // An abandoned upload stops reading its body; the workers end when their queues close.
        self.feeder.abort();
    }
}

/// Reads the body and hands every batch to both workers.
async fn feed(
    mut body: ByteStream,
    limit: u64,
    sha: mpsc::Sender<Vec<Bytes>>,
    pieces: mpsc::Sender<Vec<Bytes>>,
) -> Result<u64> {
    let mut seen = 0u64;
    let mut batch = Vec::new();
    let mut batch_len = 0usize;
    loop {
        let piece = body.next().await.transpose().map_err(interrupted)?;
        if let Some(piece) = &piece {
            seen += piece.len() as u64;
            if seen > limit {
                return Err(too_long(limit));
            }
            batch_len += piece.len();
            batch.push(piece.clone());
        }
        if batch_len >= BATCH_BYTES || (piece.is_none() && !batch.is_empty()) {
            batch_len = 0;
            let ready = std::mem::take(&mut batch);
            // A closed queue means the consumer gave up; its own error is what matters.
            if sha.send(ready.clone()).await.is_err() || pieces.send(ready).await.is_err() {
                return Ok(seen);
            }
        }
        if piece.is_none() {
            return Ok(seen);
        }
    }
}

fn sha_worker(mut batches: mpsc::Receiver<Vec<Bytes>>) -> [u8; 32] {
    let mut sha = sha2::Sha256::new();
    while let Some(batch) = batches.blocking_recv() {
        for piece in &batch {
            sha.update(piece);
        }
    }
    sha.finalize().into()
}

fn chunk_worker(mut batches: mpsc::Receiver<Vec<Bytes>>, out: mpsc::Sender<Vec<HashedChunk>>) {
    let mut chunker = Chunker::new();
    // The open chunk: slices of the pieces seen since the last boundary.
    let mut open: Vec<Bytes> = Vec::new();
    let mut open_len = 0usize;
    // Absolute offset of the next piece in the body.
    let mut position = 0u64;
    let mut cuts = Vec::new();
    let hashed = |parts: Vec<Bytes>, len: usize| HashedChunk { hash: chunk_hash_parts(&parts), parts, len };
    while let Some(batch) = batches.blocking_recv() {
        let mut ready = Vec::new();
        for piece in batch {
            cuts.clear();
            chunker.push_into(&piece, &mut cuts);
            let mut taken = 0usize;
            for &end in &cuts {
                let end = (end - position) as usize;
                if end > taken {
                    open.push(piece.slice(taken..end));
                    open_len += end - taken;
                }
                taken = end;
                ready.push(hashed(std::mem::take(&mut open), std::mem::take(&mut open_len)));
            }
            if taken < piece.len() {
                open_len += piece.len() - taken;
                open.push(if taken == 0 { piece.clone() } else { piece.slice(taken..) });
            }
            position += piece.len() as u64;
        }
        if !ready.is_empty() && out.blocking_send(ready).is_err() {
            return;
        }
    }
    if open_len > 0 {
        let _ = out.blocking_send(vec![hashed(open, open_len)]);
    }
}
