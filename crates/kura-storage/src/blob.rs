//! Content storage port: immutable objects under keys derived from content hashes.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use kura_model::Timestamp;

use crate::StorageError;

/// A stream of body bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// An object key: `/`-separated segments of `[a-z0-9._-]`, never `..`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Builds a key; panics on characters outside the safe alphabet, since keys are only
    /// ever derived from hashes and fixed prefixes inside kura.
    pub fn new(key: impl Into<String>) -> Self {
        let key = key.into();
        assert!(Self::valid(&key), "blob keys are built from hashes and fixed prefixes only: {key:?}");
        Self(key)
    }

    /// A key read back from an engine (a listing); `None` for names kura never writes.
    pub fn parse(key: &str) -> Option<Self> {
        Self::valid(key).then(|| Self(key.to_owned()))
    }

    fn valid(key: &str) -> bool {
        !key.is_empty()
            && key.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/._-".contains(&b))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobKey({})", self.0)
    }
}

/// One object found by `BlobStore::list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub key: BlobKey,
    pub size: u64,
    /// Last modification, Unix milliseconds.
    pub modified: Timestamp,
}

/// The objects under a prefix, in no particular order.
pub type BlobListing = Pin<Box<dyn Stream<Item = Result<BlobMeta, StorageError>> + Send>>;

/// Where object bytes live (a local directory, an S3 bucket, memory).
///
/// Writes are atomic: an object is visible only once `put` has consumed its whole stream
/// without error. Readers never see a partial object.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the stream under `key`, returning the number of bytes written. If the stream
    /// yields an error, nothing is stored and `StorageError::Stream` is returned.
    async fn put(&self, key: &BlobKey, body: ByteStream) -> Result<u64, StorageError>;

    /// Stores a small in-memory object.
    async fn put_bytes(&self, key: &BlobKey, data: Bytes) -> Result<(), StorageError>;

    /// Streams `len` bytes starting at `offset` (or everything from `offset` when `len` is
    /// `None`).
    async fn get(&self, key: &BlobKey, offset: u64, len: Option<u64>) -> Result<ByteStream, StorageError>;

    /// Reads exactly `len` bytes at `offset` into one buffer (a bounded range: callers keep
    /// `len` to a few MiB). Fails with `StorageError::Backend` when the object is shorter.
    async fn get_range(&self, key: &BlobKey, offset: u64, len: u64) -> Result<Bytes, StorageError> {
        use futures_util::StreamExt;
        let mut stream = self.get(key, offset, Some(len)).await?;
        let mut buffer = bytes::BytesMut::with_capacity(usize::try_from(len).unwrap_or(0));
        while let Some(piece) = stream.next().await {
            buffer.extend_from_slice(&piece.map_err(StorageError::Stream)?);
        }
        if buffer.len() as u64 != len {
            return Err(StorageError::backend(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "object shorter than the requested range",
            )));
        }
        Ok(buffer.freeze())
    }

    /// [`BlobStore::get_range`] for a read that will not be repeated soon (content hashed
    /// back after an upload, multipart parts joined once): an engine with a cache may bypass
    /// it. The same bytes and errors as `get_range`, which is the default.
    async fn get_range_once(&self, key: &BlobKey, offset: u64, len: u64) -> Result<Bytes, StorageError> {
        self.get_range(key, offset, len).await
    }

    /// Reads a whole (small) object into memory.
    async fn get_bytes(&self, key: &BlobKey) -> Result<Bytes, StorageError>;

    /// Reads several whole (small) objects; one result per key, in order. The default runs
    /// the reads concurrently (callers keep batches to a few dozen keys); engines with a
    /// cheaper batch override it.
    async fn get_many(&self, keys: &[BlobKey]) -> Vec<Result<Bytes, StorageError>> {
        let mut reads = Vec::with_capacity(keys.len());
        for key in keys {
            reads.push(self.get_bytes(key));
        }
        futures_util::future::join_all(reads).await
    }

    /// Size of the object, or `None` when it does not exist.
    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, StorageError>;

    /// Removes the object; removing a missing object is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError>;

    /// Streams every object whose key lies under `prefix` (`prefix/...`, at any depth).
    /// Objects whose names kura would never write are skipped; temp files are not listed.
    async fn list(&self, prefix: &BlobKey) -> Result<BlobListing, StorageError>;

    /// A URL that lets anyone GET the object directly from the store until it expires, when
    /// the engine can make one (S3 presigned URLs). `None` means "stream it through kura".
    async fn presigned_get(
        &self,
        key: &BlobKey,
        expires_in: std::time::Duration,
    ) -> Result<Option<String>, StorageError> {
        let _ = (key, expires_in);
        Ok(None)
    }
}
