//! Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, Garage, s3s) through
//! `object_store`. Large objects go up as multipart uploads; an object becomes visible only when
//! its upload completes, and a failed stream aborts the upload.

use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use kura_storage::{BlobKey, BlobListing, BlobMeta, BlobStore, ByteStream, StorageError};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};

/// Part size of multipart uploads (S3's minimum is 5 MiB).
const PART_SIZE: usize = 16 << 20;
/// Parts in flight per upload.
const PARTS_IN_FLIGHT: usize = 4;

/// Where and how to reach the bucket.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`), may be empty.
    pub prefix: String,
    /// Custom endpoint (`http://127.0.0.1:9000`); `None` for AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Virtual-hosted-style addressing instead of path-style.
    pub virtual_hosted: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// A bucket (with an optional key prefix) as a `BlobStore`.
#[derive(Debug)]
pub struct S3BlobStore {
    store: AmazonS3,
    prefix: String,
}

fn s3_error(error: object_store::Error) -> StorageError {
    match error {
        object_store::Error::NotFound { .. } => StorageError::NotFound,
        other => StorageError::backend(other),
    }
}

impl S3BlobStore {
    pub fn new(settings: &S3Settings) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key)
            .with_virtual_hosted_style_request(settings.virtual_hosted)
            // Fail within seconds when the store is down, so clients get a prompt 503 rather
            // than a request hanging for minutes.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(10),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(StorageError::backend)?;
        Ok(Self { store, prefix: settings.prefix.trim_matches('/').to_owned() })
    }

    fn path(&self, key: &BlobKey) -> Path {
        if self.prefix.is_empty() {
            Path::from(key.as_str())
        } else {
            Path::from(format!("{}/{}", self.prefix, key.as_str()))
        }
    }

    /// Uploads a stream that outgrew one part as a multipart upload; aborts on any error.
    async fn put_multipart(
        &self,
        path: &Path,
        first: BytesMut,
        mut body: ByteStream,
    ) -> Result<u64, StorageError> {
        let upload = self.store.put_multipart(path).await.map_err(s3_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut written = first.len() as u64;
        writer.put(first.freeze());
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(StorageError::Stream(error));
                }
            };
            if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(s3_error(error));
            }
            written += chunk.len() as u64;
            writer.put(chunk);
        }
        writer.finish().await.map_err(s3_error)?;
        Ok(written)
    }
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &BlobKey, mut body: ByteStream) -> Result<u64, StorageError> {
        let path = self.path(key);
        let mut first = BytesMut::new();
        while first.len() < PART_SIZE {
            match body.next().await {
                Some(Ok(chunk)) => first.extend_from_slice(&chunk),
                Some(Err(error)) => return Err(StorageError::Stream(error)),
                None => {
                    let size = first.len() as u64;
                    self.store.put(&path, PutPayload::from(first.freeze())).await.map_err(s3_error)?;
                    return Ok(size);
                }
            }
        }
        self.put_multipart(&path, first, body).await
    }

    async fn put_bytes(&self, key: &BlobKey, data: Bytes) -> Result<(), StorageError> {
        self.store.put(&self.path(key), PutPayload::from(data)).await.map_err(s3_error)?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey, offset: u64, len: Option<u64>) -> Result<ByteStream, StorageError> {
        let range = match len {
            Some(0) => return Ok(Box::pin(futures_util::stream::empty())),
            Some(len) => GetRange::Bounded(offset..offset + len),
            None => GetRange::Offset(offset),
        };
        let options = GetOptions::new().with_range(Some(range));
        let result = self.store.get_opts(&self.path(key), options).await.map_err(s3_error)?;
        Ok(Box::pin(result.into_stream().map_err(std::io::Error::other)))
    }

    async fn get_bytes(&self, key: &BlobKey) -> Result<Bytes, StorageError> {
        let result = self.store.get(&self.path(key)).await.map_err(s3_error)?;
        result.bytes().await.map_err(s3_error)
    }

    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, StorageError> {
        match self.store.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(other) => Err(StorageError::backend(other)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(StorageError::backend(other)),
        }
    }

    async fn list(&self, prefix: &BlobKey) -> Result<BlobListing, StorageError> {
        let strip = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        let listing = self.store.list(Some(&self.path(prefix))).filter_map(move |item| {
            let entry = match item {
                Ok(meta) => {
                    meta.location.as_ref().strip_prefix(strip.as_str()).and_then(BlobKey::parse).map(|key| {
                        Ok(BlobMeta { key, size: meta.size, modified: meta.last_modified.timestamp_millis() })
                    })
                }
                Err(error) => Some(Err(s3_error(error))),
            };
            futures_util::future::ready(entry)
        });
        Ok(Box::pin(listing))
    }

    async fn presigned_get(
        &self,
        key: &BlobKey,
        expires_in: std::time::Duration,
    ) -> Result<Option<String>, StorageError> {
        use object_store::signer::Signer;
        let url = self
            .store
            .signed_url(object_store::signer::Method::GET, &self.path(key), expires_in)
            .await
            .map_err(s3_error)?;
        Ok(Some(url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings from `KURA_TEST_S3_*`, required in CI.
    pub(crate) fn test_settings() -> Option<S3Settings> {
        let Ok(endpoint) = std::env::var("KURA_TEST_S3_ENDPOINT") else {
            assert!(std::env::var("CI").is_err(), "KURA_TEST_S3_ENDPOINT must be set in CI");
            return None;
        };
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set with KURA_TEST_S3_ENDPOINT"))
        };
        Some(S3Settings {
            bucket: var("KURA_TEST_S3_BUCKET"),
            prefix: format!("conformance-{:x}", rand::random::<u64>()),
            endpoint: Some(endpoint),
            region: "us-east-1".into(),
            access_key_id: var("KURA_TEST_S3_ACCESS_KEY_ID"),
            secret_access_key: var("KURA_TEST_S3_SECRET_ACCESS_KEY"),
            virtual_hosted: false,
        })
    }

    #[tokio::test]
    async fn s3_passes_blob_conformance() {
        let Some(settings) = test_settings() else {
            eprintln!("skipping: KURA_TEST_S3_ENDPOINT is not set");
            return;
        };
        let store = S3BlobStore::new(&settings).unwrap();
        kura_storage::conformance::blob_store(&store).await;
        kura_storage::conformance::blob_store_listing(&store).await;
    }

    #[tokio::test]
    async fn s3_presigned_get_serves_the_object_without_credentials() {
        let Some(settings) = test_settings() else { return };
        let store = S3BlobStore::new(&settings).unwrap();
        let key = BlobKey::new("presigned/object");
        store.put_bytes(&key, Bytes::from_static(b"presigned bytes")).await.unwrap();
        let url = store
            .presigned_get(&key, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .expect("S3 presigns");
        let body = reqwest::get(&url).await.unwrap();
        assert_eq!(body.status(), 200);
        assert_eq!(&body.bytes().await.unwrap()[..], b"presigned bytes");
    }

    #[tokio::test]
    async fn s3_multipart_put_round_trips_and_aborts_cleanly() {
        let Some(settings) = test_settings() else { return };
        let store = S3BlobStore::new(&settings).unwrap();
        let data: Vec<u8> = (0..(PART_SIZE * 2 + 123)).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<std::io::Result<Bytes>> =
            data.chunks(1 << 20).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let key = BlobKey::new("multi/part");
        assert_eq!(
            store.put(&key, Box::pin(futures_util::stream::iter(chunks))).await.unwrap(),
            data.len() as u64
        );
        assert_eq!(store.size(&key).await.unwrap(), Some(data.len() as u64));
        let parts: Vec<Bytes> =
            store.get(&key, PART_SIZE as u64, Some(10)).await.unwrap().try_collect().await.unwrap();
        let tail = parts.concat();
        assert_eq!(tail, &data[PART_SIZE..PART_SIZE + 10]);

        let mut failing: Vec<std::io::Result<Bytes>> =
            data.chunks(1 << 20).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        failing.push(Err(std::io::Error::other("client went away")));
        let other = BlobKey::new("multi/failed");
        assert!(store.put(&other, Box::pin(futures_util::stream::iter(failing))).await.is_err());
        assert_eq!(store.size(&other).await.unwrap(), None);
    }
}
