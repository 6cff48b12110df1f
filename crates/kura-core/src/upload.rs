//! Storing a large file that arrives as a plain stream (the web edge's upload form), for a
//! caller who may write to the repo. Unlike an LFS PUT, the client names no oid: kura
//! computes the SHA-256 itself while spooling the stream to an anonymous temp file (never
//! holding the file in memory), then ingests the spooled copy as it ingests any LFS object
//! (which hashes it again and checks it) and links it to the repo.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use kura_model::Sha256;
use kura_storage::{RepoRecord, StorageError};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::ByteStream;
use crate::auth::Identity;
use crate::content::interrupted;
use crate::error::{CoreError, Result};
use crate::services::Files;

/// Bytes read from the spooled copy at a time.
const READ_CHUNK: usize = 256 << 10;

/// A large object stored for an upload: what its commit entry points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredUpload {
    pub oid: Sha256,
    pub size: u64,
}

impl Files<'_> {
    /// Stores `body` (at most `max_bytes`, and never past `lfs_max_object_bytes`) as a large
    /// object of `repo`, hashed by kura. Nothing is committed: the caller's commit points to
    /// the object, and an object no commit points to is what garbage collection removes.
    pub async fn store_upload(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        body: ByteStream,
        max_bytes: u64,
    ) -> Result<StoredUpload> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        let limit = max_bytes.min(self.config.limits.lfs_max_object_bytes);
        let (file, oid, size) = spool_hashed(body, limit).await?;
        self.hub.xet().ingest_as_xet(oid, size, file_stream(file)).await?;
        self.meta.link_lfs_object(repo.id, &oid).await?;
        Ok(StoredUpload { oid, size })
    }
}

fn spool_error(error: std::io::Error) -> CoreError {
    tracing::error!(%error, "spooling an upload to a temp file failed");
    CoreError::Storage(StorageError::backend(error))
}

/// Copies `body` into a new anonymous temp file (removed by the OS however the upload ends),
/// hashing it on the way; refuses it past `limit` bytes. Answers the file, rewound.
pub(crate) async fn spool_hashed(mut body: ByteStream, limit: u64) -> Result<(tokio::fs::File, Sha256, u64)> {
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|e| spool_error(std::io::Error::other(e)))?
        .map_err(spool_error)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(interrupted)?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(CoreError::TooLarge(format!("The file is larger than {limit} bytes")));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(spool_error)?;
    }
    file.flush().await.map_err(spool_error)?;
    file.rewind().await.map_err(spool_error)?;
    Ok((file, Sha256(hasher.finalize().into()), size))
}

/// The spooled copy as a body stream.
pub(crate) fn file_stream(file: tokio::fs::File) -> ByteStream {
    Box::pin(futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buffer = BytesMut::zeroed(READ_CHUNK);
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.truncate(read);
        Ok(Some((Bytes::from(buffer), file)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&'static [u8]]) -> ByteStream {
        let items: Vec<std::io::Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(futures_util::stream::iter(items))
    }

    async fn collect(stream: ByteStream) -> Vec<u8> {
        let chunks: Vec<Bytes> = stream.map(|c| c.unwrap()).collect().await;
        chunks.concat()
    }

    #[tokio::test]
    async fn the_spooled_copy_reads_back_with_the_hash_kura_computed() {
        let (file, oid, size) = spool_hashed(body(&[b"hello ", b"world"]), 11).await.unwrap();
        assert_eq!(size, 11);
        let expected: [u8; 32] = sha2::Sha256::digest(b"hello world").into();
        assert_eq!(oid, Sha256(expected));
        assert_eq!(collect(file_stream(file)).await, b"hello world");
    }

    #[tokio::test]
    async fn a_stream_past_the_limit_is_refused() {
        let refused = spool_hashed(body(&[b"hello ", b"world"]), 10).await;
        assert!(matches!(refused, Err(CoreError::TooLarge(_))), "{refused:?}");
    }

    #[tokio::test]
    async fn a_broken_stream_is_an_error_not_a_short_file() {
        let items: Vec<std::io::Result<Bytes>> =
            vec![Ok(Bytes::from_static(b"abc")), Err(std::io::Error::other("reset"))];
        let refused = spool_hashed(Box::pin(futures_util::stream::iter(items)), 100).await;
        assert!(refused.is_err());
    }

    #[tokio::test]
    async fn an_empty_stream_is_the_empty_object() {
        let (file, oid, size) = spool_hashed(body(&[]), 0).await.unwrap();
        assert_eq!(size, 0);
        let expected: [u8; 32] = sha2::Sha256::digest(b"").into();
        assert_eq!(oid, Sha256(expected));
        assert!(collect(file_stream(file)).await.is_empty());
    }
}
