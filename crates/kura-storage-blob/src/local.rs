//! Objects as files under a root directory.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use kura_storage::{BlobKey, BlobListing, BlobMeta, BlobStore, ByteStream, StorageError};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::direct::{self, TempWriter};

/// Read buffer for streaming objects out; large enough to amortise blocking-pool hops.
const READ_BUFFER: usize = 1 << 20;
/// Bytes gathered from an incoming stream before one blocking write.
const WRITE_BATCH: usize = 4 << 20;

/// A directory of immutable objects. Keys map to relative paths; temp files live in
/// `<root>/.tmp` on the same filesystem so renames are atomic.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
    /// Whether new objects are written past the page cache (see [`crate::direct`]).
    direct: bool,
}

fn io_error(error: std::io::Error) -> StorageError {
    if error.kind() == std::io::ErrorKind::NotFound {
        StorageError::NotFound
    } else {
        StorageError::backend(error)
    }
}

impl LocalBlobStore {
    /// Opens (and creates) the store at `root`. Temp files are left alone: a server may be
    /// writing them right now (an admin command opens the same directory); only `serve`
    /// sweeps the stale ones, with [`Self::sweep_temp`].
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        let tmp = root.join(".tmp");
        fs::create_dir_all(&tmp).await.map_err(io_error)?;
        let direct = tokio::task::spawn_blocking(move || direct::probe(&tmp)).await.unwrap_or(false);
        tracing::debug!(root = %root.display(), direct, "blob store opened");
        Ok(Self { root, direct })
    }

    /// Deletes the temp files not written to for `grace` or longer (left by a crash or a
    /// stalled upload) and returns how many went. A write in flight touches its file with
    /// every batch, so one younger than `grace` is kept even if another server owns it.
    pub async fn sweep_temp(&self, grace: Duration) -> Result<usize, StorageError> {
        let tmp = self.root.join(".tmp");
        let work = move || -> std::io::Result<usize> {
            let now = SystemTime::now();
            let mut removed = 0;
            for entry in std::fs::read_dir(&tmp)? {
                let entry = entry?;
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    // Published or removed by its writer since the directory was read.
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error),
                };
                // A clock set back makes every file look fresh: keep them rather than guess.
                let idle = meta.modified().ok().and_then(|m| now.duration_since(m).ok());
                if !meta.is_file() || idle.is_none_or(|idle| idle < grace) {
                    continue;
                }
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(removed)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| StorageError::backend(std::io::Error::other(e)))?
            .map_err(io_error)
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn temp_path(&self) -> PathBuf {
        let name: u128 = rand::random();
        self.root.join(".tmp").join(format!("{name:032x}"))
    }

    /// Moves a complete temp file into place and makes the rename durable.
    async fn publish(&self, temp: &Path, key: &BlobKey) -> Result<(), StorageError> {
        let target = self.path(key);
        let parent = target.parent().expect("object paths have a parent").to_owned();
        fs::create_dir_all(&parent).await.map_err(io_error)?;
        fs::rename(temp, &target).await.map_err(io_error)?;
        let dir = fs::File::open(&parent).await.map_err(io_error)?;
        dir.sync_all().await.map_err(io_error)
    }

    /// Streams `body` into a new temp file and fsyncs it. Pieces are gathered into batches of
    /// about `WRITE_BATCH` bytes, each written with plain blocking writes straight from the
    /// pieces (tokio's `File` would copy every byte into its own 2 MiB buffer first); one batch
    /// is written while the next is gathered.
    async fn write_temp(&self, temp: &Path, mut body: ByteStream) -> Result<u64, StorageError> {
        let (path, direct) = (temp.to_owned(), self.direct);
        let file = join(tokio::task::spawn_blocking(move || TempWriter::create(&path, direct, None))).await?;
        let mut writing: Option<tokio::task::JoinHandle<std::io::Result<TempWriter>>> = None;
        let mut file = Some(file);
        let mut batch = Vec::new();
        let mut batch_len = 0usize;
        let mut written = 0u64;
        loop {
            let piece = body.next().await.transpose().map_err(StorageError::Stream)?;
            if let Some(piece) = piece.as_ref() {
                batch_len += piece.len();
                written += piece.len() as u64;
            }
            let done = piece.is_none();
            batch.extend(piece);
            if batch_len >= WRITE_BATCH || (done && !batch.is_empty()) {
                let mut out = match writing.take() {
                    Some(task) => join(task).await?,
                    None => file.take().expect("the file is here when no write is in flight"),
                };
                let pieces = std::mem::take(&mut batch);
                batch_len = 0;
                writing = Some(tokio::task::spawn_blocking(move || {
                    for piece in &pieces {
                        out.write_all(piece)?;
                    }
                    Ok(out)
                }));
            }
            if done {
                break;
            }
        }
        let out = match writing.take() {
            Some(task) => join(task).await?,
            None => file.take().expect("the file is here when no write is in flight"),
        };
        tokio::task::spawn_blocking(move || out.finish())
            .await
            .map_err(StorageError::backend)?
            .map_err(io_error)?;
        Ok(written)
    }
}

/// The result of a blocking file task.
async fn join<T>(task: tokio::task::JoinHandle<std::io::Result<T>>) -> Result<T, StorageError> {
    task.await.map_err(StorageError::backend)?.map_err(io_error)
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, key: &BlobKey, body: ByteStream) -> Result<u64, StorageError> {
        let temp = self.temp_path();
        let result = match self.write_temp(&temp, body).await {
            Ok(written) => self.publish(&temp, key).await.map(|()| written),
            Err(error) => Err(error),
        };
        if result.is_err() {
            let _ = fs::remove_file(&temp).await;
        }
        result
    }

    /// One trip to the blocking pool: write, fsync, rename, fsync the directory (the same
    /// steps as `put`, without streaming the bytes through tokio's file buffer).
    async fn put_bytes(&self, key: &BlobKey, data: Bytes) -> Result<(), StorageError> {
        let temp = self.temp_path();
        let (target, direct) = (self.path(key), self.direct);
        let write = move || -> std::io::Result<()> {
            let written = (|| {
                let mut file = TempWriter::create(&temp, direct, Some(data.len()))?;
                file.write_all(&data)?;
                file.finish()?;
                let parent = target.parent().expect("object paths have a parent");
                std::fs::create_dir_all(parent)?;
                std::fs::rename(&temp, &target)?;
                std::fs::File::open(parent)?.sync_all()
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            written
        };
        join(tokio::task::spawn_blocking(write)).await
    }

    async fn get(&self, key: &BlobKey, offset: u64, len: Option<u64>) -> Result<ByteStream, StorageError> {
        let mut file = fs::File::open(self.path(key)).await.map_err(io_error)?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset)).await.map_err(io_error)?;
        }
        let reader = file.take(len.unwrap_or(u64::MAX));
        Ok(Box::pin(ReaderStream::with_capacity(reader, READ_BUFFER)))
    }

    /// One blocking positioned read into a fresh buffer: no per-64-KiB hops to the blocking
    /// pool, and `read_to_end` fills the buffer without zeroing it first.
    async fn get_range(&self, key: &BlobKey, offset: u64, len: u64) -> Result<Bytes, StorageError> {
        let path = self.path(key);
        let read = move || -> std::io::Result<Vec<u8>> {
            use std::io::{Read, Seek};
            let mut file = std::fs::File::open(path)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut buffer = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            file.take(len).read_to_end(&mut buffer)?;
            if buffer.len() as u64 != len {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "object shorter than the requested range",
                ));
            }
            Ok(buffer)
        };
        match tokio::task::spawn_blocking(read).await {
            Ok(result) => result.map(Bytes::from).map_err(io_error),
            Err(join) => Err(StorageError::backend(join)),
        }
    }

    /// Past the page cache: the bytes go from the device into the returned buffer, without
    /// the kernel's copy into (and later eviction from) cache pages no one will read again.
    async fn get_range_once(&self, key: &BlobKey, offset: u64, len: u64) -> Result<Bytes, StorageError> {
        let (path, direct) = (self.path(key), self.direct);
        join(tokio::task::spawn_blocking(move || direct::read_range(&path, offset, len, direct))).await
    }

    /// All reads in one trip to the blocking pool (git packs read thousands of small objects).
    async fn get_many(&self, keys: &[BlobKey]) -> Vec<Result<Bytes, StorageError>> {
        let paths: Vec<PathBuf> = keys.iter().map(|key| self.path(key)).collect();
        let count = paths.len();
        let read = move || -> Vec<Result<Bytes, StorageError>> {
            paths.iter().map(|path| std::fs::read(path).map(Bytes::from).map_err(io_error)).collect()
        };
        match tokio::task::spawn_blocking(read).await {
            Ok(results) => results,
            Err(join) => {
                let message = join.to_string();
                (0..count)
                    .map(|_| Err(StorageError::backend(std::io::Error::other(message.clone()))))
                    .collect()
            }
        }
    }

    async fn get_bytes(&self, key: &BlobKey) -> Result<Bytes, StorageError> {
        fs::read(self.path(key)).await.map(Bytes::from).map_err(io_error)
    }

    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, StorageError> {
        match fs::metadata(self.path(key)).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StorageError::backend(error)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        match fs::remove_file(self.path(key)).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(StorageError::backend(error)),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &BlobKey) -> Result<BlobListing, StorageError> {
        let walk = Walk { root: self.root.clone(), dirs: vec![self.path(prefix)], found: Vec::new() };
        Ok(Box::pin(futures_util::stream::unfold(walk, |mut walk| async move {
            let item = walk.next().await?;
            Some((item, walk))
        })))
    }
}

/// A depth-first walk that reads one directory at a time, so listing a large store holds
/// one directory's entries in memory, not the whole tree.
struct Walk {
    root: PathBuf,
    dirs: Vec<PathBuf>,
    found: Vec<BlobMeta>,
}

impl Walk {
    async fn next(&mut self) -> Option<Result<BlobMeta, StorageError>> {
        loop {
            if let Some(meta) = self.found.pop() {
                return Some(Ok(meta));
            }
            let dir = self.dirs.pop()?;
            if let Err(error) = self.read_dir(&dir).await {
                return Some(Err(error));
            }
        }
    }

    async fn read_dir(&mut self, dir: &Path) -> Result<(), StorageError> {
        let mut entries = match fs::read_dir(dir).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(StorageError::backend(error)),
        };
        while let Some(entry) = entries.next_entry().await.map_err(StorageError::backend)? {
            let path = entry.path();
            let file_type = entry.file_type().await.map_err(StorageError::backend)?;
            if file_type.is_dir() {
                if path != self.root.join(".tmp") {
                    self.dirs.push(path);
                }
                continue;
            }
            let Some(key) = self.key_of(&path) else { continue };
            let meta = match entry.metadata().await {
                Ok(meta) => meta,
                // Deleted since the directory was read.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(StorageError::backend(error)),
            };
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            self.found.push(BlobMeta { key, size: meta.len(), modified });
        }
        Ok(())
    }

    fn key_of(&self, path: &Path) -> Option<BlobKey> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let segments: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
        BlobKey::parse(&segments?.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_blob_conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).await.unwrap();
        kura_storage::conformance::blob_store(&store).await;
        kura_storage::conformance::blob_store_listing(&store).await;
        let leftovers = std::fs::read_dir(dir.path().join(".tmp")).unwrap().count();
        assert_eq!(leftovers, 0, "failed writes leave no temp files");
    }

    /// Both ways of writing and reading keep the store's contract: through the page cache
    /// (where a filesystem refuses `O_DIRECT`) and past it (the build's disk takes it).
    #[tokio::test]
    async fn plain_and_direct_io_both_pass_conformance() {
        let disk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
        std::fs::create_dir_all(&disk).unwrap();
        let big: Vec<u8> = (0..(9 << 20) + 5).map(|i: u32| (i % 251) as u8).collect();
        let key = BlobKey::new("test/big");
        for direct in [false, true] {
            let dir = tempfile::tempdir_in(&disk).unwrap();
            let mut store = LocalBlobStore::open(dir.path()).await.unwrap();
            assert!(store.direct, "the build's disk takes O_DIRECT");
            store.direct = direct;
            kura_storage::conformance::blob_store(&store).await;
            store.put_bytes(&key, Bytes::from(big.clone())).await.unwrap();
            assert_eq!(store.get_bytes(&key).await.unwrap(), big, "direct {direct}");
            let tail = store.get_range_once(&key, 3, big.len() as u64 - 3).await.unwrap();
            assert_eq!(&tail[..], &big[3..], "direct {direct}");
            let odd = store.get_range_once(&key, 4095, 4098).await.unwrap();
            assert_eq!(&odd[..], &big[4095..8193], "direct {direct}");
        }
    }

    fn temp_file(dir: &Path, name: &str, age: Duration) -> PathBuf {
        let path = dir.join(".tmp").join(name);
        let file = std::fs::File::create(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    #[tokio::test]
    async fn open_keeps_temp_files_and_the_sweep_takes_only_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        LocalBlobStore::open(dir.path()).await.unwrap();
        let fresh = temp_file(dir.path(), "fresh", Duration::from_secs(60));
        let stale = temp_file(dir.path(), "stale", Duration::from_secs(2 * 3600));

        // Another process (an admin command) opening the store touches neither.
        let store = LocalBlobStore::open(dir.path()).await.unwrap();
        assert!(fresh.exists() && stale.exists(), "open deletes no temp file");

        let removed = store.sweep_temp(Duration::from_secs(3600)).await.unwrap();
        assert_eq!(removed, 1);
        assert!(fresh.exists(), "a temp file written to within the grace period is kept");
        assert!(!stale.exists(), "a temp file idle past the grace period is swept");
    }
}
