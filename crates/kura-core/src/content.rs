//! Whole-object storage under SHA-256 (data of older releases, multipart parts) and the
//! verifying stream: every byte is checked against its declared hash and size while it
//! streams in; nothing becomes visible before that. Reads need the proof of `read_proof`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use kura_model::Sha256;
use kura_storage::{BlobKey, BlobStore, ByteStream, StorageError};
use sha2::Digest;

use crate::error::{CoreError, Result};

/// Bytes of a multipart part read at once when the parts are joined. The hashing queues hold
/// a few of these, and a chunk spanning two of them keeps both alive: small keeps memory low.
const PART_READ_BYTES: u64 = 2 << 20;
/// Windows read ahead of the one being consumed.
const PART_READ_AHEAD: usize = 3;

/// Why a verifying stream rejected its input.
#[derive(Debug, thiserror::Error)]
enum VerifyError {
    #[error("the upload is larger than the declared size of {0} bytes")]
    TooLong(u64),
    #[error("the upload has {got} bytes but {expected} were declared")]
    WrongSize { got: u64, expected: u64 },
    #[error("the uploaded content does not match sha256 {0}")]
    WrongHash(Sha256),
}

/// Hashes and counts a byte stream, failing at the end (or as soon as it runs long) unless
/// it matches the expected digest and size.
struct Verify {
    inner: ByteStream,
    hasher: sha2::Sha256,
    seen: u64,
    oid: Sha256,
    size: u64,
    finished: bool,
}

impl Stream for Verify {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen += chunk.len() as u64;
                if self.seen > self.size {
                    self.finished = true;
                    return Poll::Ready(Some(Err(std::io::Error::other(VerifyError::TooLong(self.size)))));
                }
                self.hasher.update(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                self.finished = true;
                let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
                let verdict = if self.seen != self.size {
                    Some(VerifyError::WrongSize { got: self.seen, expected: self.size })
                } else if Sha256(digest) != self.oid {
                    Some(VerifyError::WrongHash(self.oid))
                } else {
                    None
                };
                Poll::Ready(verdict.map(|v| Err(std::io::Error::other(v))))
            }
            other => other,
        }
    }
}

fn verified(inner: ByteStream, oid: Sha256, size: u64) -> ByteStream {
    Box::pin(Verify { inner, hasher: sha2::Sha256::new(), seen: 0, oid, size, finished: false })
}

/// Turns a stream failure into the right domain error: a verification verdict is the
/// client's fault (400); anything else is the stream dying (also the client's side).
fn stream_failure(error: std::io::Error) -> CoreError {
    match error.get_ref().and_then(|e| e.downcast_ref::<VerifyError>()) {
        Some(verdict) => CoreError::InvalidInput(verdict.to_string()),
        None => CoreError::InvalidInput(format!("the upload was interrupted: {error}")),
    }
}

pub(crate) fn object_key(oid: &Sha256) -> BlobKey {
    let hex = oid.to_hex();
    BlobKey::new(format!("lfs/objects/{}/{}/{}", &hex[..2], &hex[2..4], hex))
}

fn part_key(upload_id: &str, part: u32) -> BlobKey {
    BlobKey::new(format!("lfs/uploads/{upload_id}/{part:05}"))
}

/// Large-object storage.
pub struct ContentStore {
    blobs: Arc<dyn BlobStore>,
}

impl ContentStore {
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        Self { blobs }
    }

    /// Size of an object stored whole under its SHA-256 (data of older releases); `None` when
    /// it is not stored that way. Only [`crate::read_proof`] looks objects up by hash.
    pub(crate) async fn raw_size(&self, oid: &Sha256) -> Result<Option<u64>> {
        Ok(self.blobs.size(&object_key(oid)).await?)
    }

    /// Streams `len` bytes of a whole stored object from `offset`; callers hold the proof.
    pub(crate) async fn read_raw(&self, oid: &Sha256, offset: u64, len: u64) -> Result<ByteStream> {
        match self.blobs.get(&object_key(oid), offset, Some(len)).await {
            Err(StorageError::NotFound) => {
                Err(CoreError::Corrupt(format!("content {oid} is indexed but missing")))
            }
            other => Ok(other?),
        }
    }

    /// A direct download URL from the storage engine, when it can make one.
    pub(crate) async fn presigned(
        &self,
        oid: &Sha256,
        expires_in: std::time::Duration,
    ) -> Result<Option<String>> {
        Ok(self.blobs.presigned_get(&object_key(oid), expires_in).await?)
    }

    /// Stores one part of a multipart upload; returns its ETag.
    pub async fn put_part(&self, upload_id: &str, part: u32, max: u64, body: ByteStream) -> Result<String> {
        let limited = Box::pin(body.scan(0u64, move |seen, chunk| {
            let item = chunk.and_then(|c| {
                *seen += c.len() as u64;
                if *seen > max { Err(std::io::Error::other(VerifyError::TooLong(max))) } else { Ok(c) }
            });
            futures_util::future::ready(Some(item))
        }));
        match self.blobs.put(&part_key(upload_id, part), limited).await {
            Ok(written) => Ok(format!("\"{part}-{written}\"")),
            Err(StorageError::Stream(error)) => Err(stream_failure(error)),
            Err(other) => Err(other.into()),
        }
    }

    /// Streams parts `1..=parts` in order as one body ([`ContentStore::part_keys`] names them
    /// for deletion afterwards). Each part is read once, in windows of `PART_READ_BYTES` past any cache, the next window
    /// read while the current one is consumed.
    pub(crate) async fn joined_parts(&self, upload_id: &str, parts: u32) -> Result<ByteStream> {
        let mut windows = Vec::new();
        for (part, key) in (1..).zip(Self::part_keys(upload_id, parts)) {
            let Some(size) = self.blobs.size(&key).await? else {
                return Err(CoreError::invalid(format!("part {part} was never uploaded")));
            };
            windows.extend(
                (0..size)
                    .step_by(PART_READ_BYTES as usize)
                    .map(|at| (key.clone(), at, PART_READ_BYTES.min(size - at))),
            );
        }
        let blobs = self.blobs.clone();
        let joined: ByteStream = Box::pin(
            futures_util::stream::iter(windows)
                .map(move |(key, at, len)| {
                    let blobs = blobs.clone();
                    async move { blobs.get_range_once(&key, at, len).await.map_err(std::io::Error::other) }
                })
                .buffered(PART_READ_AHEAD + 1),
        );
        Ok(joined)
    }

    /// The keys of parts `1..=parts` of an upload (to delete them once it is complete).
    pub(crate) fn part_keys(upload_id: &str, parts: u32) -> Vec<BlobKey> {
        (1..=parts).map(|part| part_key(upload_id, part)).collect()
    }

    pub(crate) async fn delete_parts(&self, keys: &[BlobKey]) {
        for key in keys {
            let _ = self.blobs.delete(key).await;
        }
    }

    /// Consumes a body only to check it (proof of possession of stored content).
    pub(crate) async fn drain_verified(&self, oid: Sha256, size: u64, body: ByteStream) -> Result<()> {
        let mut checked = verified(body, oid, size);
        while let Some(chunk) = checked.next().await {
            chunk.map_err(stream_failure)?;
        }
        Ok(())
    }
}

/// The error for a body whose SHA-256 or size does not match its declaration.
pub(crate) fn mismatch(oid: &Sha256, size: u64, got_size: u64) -> CoreError {
    if got_size != size {
        CoreError::InvalidInput(VerifyError::WrongSize { got: got_size, expected: size }.to_string())
    } else {
        CoreError::InvalidInput(VerifyError::WrongHash(*oid).to_string())
    }
}

/// The error for a body longer than declared.
pub(crate) fn too_long(size: u64) -> CoreError {
    CoreError::InvalidInput(VerifyError::TooLong(size).to_string())
}

/// The error for a body stream that broke off.
pub(crate) fn interrupted(error: std::io::Error) -> CoreError {
    stream_failure(error)
}
