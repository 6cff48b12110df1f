//! The mirror's file content: a file is fetched from the upstream once, however many callers
//! ask at the same time. The fetch spools the bytes to an anonymous temp file and raises a
//! watermark as they arrive; every waiting caller streams from that file up to the watermark
//! (the first byte goes out before the fetch ends). Meanwhile the bytes are verified by kura
//! (an LFS file is ingested into the chunk store, which checks its SHA-256 and size; a small
//! file is checked against its git blob id) and only then held by the mirrored repo. The last
//! byte is released only after the check passed, so a caller never receives a whole file that
//! failed it. An LFS file is fetched through the upstream's Xet reconstruction first
//! (`mirror_xet.rs`); the rest of a file goes through `resolve`, where an interrupted download
//! resumes with `Range` and an upstream that ignores `Range` is read again from the start, the
//! part already had skipped.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use kura_git::ObjectKind;
use kura_model::{ObjectId, Sha256};
use tokio::sync::watch;

use crate::error::{CoreError, Result};
use crate::mirror::{MirrorFile, MirrorRepo};
use crate::mirror_docs::encode_path;
use crate::services::Mirror;
use crate::{ByteStream, ObjectRead};

/// Largest file the upstream may send as a plain git blob (the Hub's limit for non-LFS files).
pub(crate) const MAX_GIT_FILE_BYTES: u64 = 10 << 20;

/// Attempts of one fetch before it fails (each resumes where the last one stopped).
const FETCH_ATTEMPTS: u32 = 4;

/// Objects remembered as fetched through `resolve` only; past it the set starts over.
const MAX_PLAIN_ONLY: usize = 10_000;

/// Bytes a waiting reader takes from the spool file at once.
const READ_BYTES: u64 = 1 << 20;

/// How far a fetch got.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// Bytes readers may take (all but the last until the file is verified).
    available: u64,
    /// `Some(Ok)` once verified and held; `Some(Err)` when the fetch failed.
    done: Option<std::result::Result<(), Arc<CoreError>>>,
}

/// One fetch in flight: its spool file and progress.
pub(crate) struct Spool {
    file: std::fs::File,
    size: u64,
    progress: watch::Sender<Progress>,
}

/// The fetches in flight, by object key.
#[derive(Default)]
pub(crate) struct Fetches {
    running: Mutex<HashMap<String, Arc<Spool>>>,
}

impl Spool {
    /// `len` bytes from `offset`, as the fetch makes them available.
    fn reader(self: Arc<Self>, offset: u64, len: u64) -> ByteStream {
        let end = offset.saturating_add(len).min(self.size);
        let progress = self.progress.subscribe();
        futures_util::stream::unfold(Some((self, progress, offset)), move |state| async move {
            let (spool, mut progress, pos) = state?;
            if pos >= end {
                return None;
            }
            loop {
                let seen = progress.borrow_and_update().clone();
                if pos < seen.available {
                    let want = (seen.available.min(end) - pos).min(READ_BYTES);
                    let file = spool.file.try_clone();
                    let read = tokio::task::spawn_blocking(move || {
                        let mut buffer = vec![0u8; want as usize];
                        file?.read_exact_at(&mut buffer, pos)?;
                        Ok::<_, std::io::Error>(Bytes::from(buffer))
                    })
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                    let next = read.is_ok().then_some((spool, progress, pos + want));
                    return Some((read, next));
                }
                if let Some(Err(reason)) = seen.done {
                    return Some((Err(std::io::Error::other(reason.to_string())), None));
                }
                if progress.changed().await.is_err() {
                    return Some((Err(std::io::Error::other("the upstream fetch stopped")), None));
                }
            }
        })
        .boxed()
    }
}

/// The key content is held under: `sha256:<hex>` for LFS files, `git:<blob id>` otherwise.
pub(crate) fn object_key(file: &MirrorFile) -> String {
    match &file.sha256 {
        Some(oid) => format!("sha256:{}", oid.to_hex()),
        None => format!("git:{}", file.blob.to_hex()),
    }
}

impl Mirror<'_> {
    /// Whether the mirrored repo already holds the file (fetched and verified).
    pub async fn holds(&self, repo: &MirrorRepo, file: &MirrorFile) -> Result<bool> {
        if is_empty_file(file) {
            return Ok(true);
        }
        Ok(self.meta.mirror_holds(repo.record.id, &object_key(file)).await?)
    }

    /// The Xet file hash kura stores a held LFS file under.
    pub async fn held_xet_hash(&self, repo: &MirrorRepo, file: &MirrorFile) -> Result<Option<String>> {
        let Some(oid) = &file.sha256 else { return Ok(None) };
        if !self.holds(repo, file).await? {
            return Ok(None);
        }
        Ok(self.meta.xet_file_by_sha256(oid).await?.map(|r| r.file_hash))
    }

    /// `len` bytes from `offset` of a file at `commit`: from the store when held, else from
    /// the one upstream fetch of it (started now or joined).
    pub async fn read(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        file: &MirrorFile,
        offset: u64,
        len: u64,
    ) -> Result<ByteStream> {
        if len == 0 || is_empty_file(file) {
            return Ok(futures_util::stream::empty().boxed());
        }
        if self.holds(repo, file).await? {
            self.hub.mirror_state.count_hit();
            return self.read_held(repo, file, offset, len).await;
        }
        if offset > 0 || len < file.size {
            // Only a whole-file download streams before the check (its last byte waits for
            // it); a range is served once the file is verified and held.
            self.fetch_whole(repo, commit, file).await?;
            return self.read_held(repo, file, offset, len).await;
        }
        let spool = self.fetch(repo, commit, file).await?;
        // The answer starts only once the upstream sent something (or the fetch ended), so an
        // upstream that cannot be reached is a 504, not a 200 that breaks off.
        let mut progress = spool.progress.subscribe();
        loop {
            let seen = progress.borrow_and_update().clone();
            if seen.available > 0 {
                break;
            }
            if let Some(done) = seen.done {
                done.map_err(|e| crate::mirror::replay(&e))?;
                break;
            }
            if progress.changed().await.is_err() {
                return Err(CoreError::UpstreamUnavailable("the upstream fetch stopped".to_owned()));
            }
        }
        Ok(spool.reader(offset, len))
    }

    async fn read_held(
        &self,
        repo: &MirrorRepo,
        file: &MirrorFile,
        offset: u64,
        len: u64,
    ) -> Result<ByteStream> {
        match &file.sha256 {
            Some(oid) => {
                let read = self.hub.files().mirror_held_read(repo.record.id, oid, file.size).await?;
                let read =
                    read.ok_or_else(|| CoreError::EntryNotFound { path: file.path.clone(), commit: None })?;
                self.hub.files().read_object(&read, offset, len).await
            }
            None => self.objects.blob_range(&file.blob, file.size, offset, len).await,
        }
    }

    /// Waits until the file is held (fetching it if no one is), for callers that read it
    /// through the store afterwards (Xet reconstructions).
    pub(crate) async fn fetch_whole(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        file: &MirrorFile,
    ) -> Result<()> {
        if self.holds(repo, file).await? {
            return Ok(());
        }
        let spool = self.fetch(repo, commit, file).await?;
        let mut progress = spool.progress.subscribe();
        loop {
            if let Some(done) = progress.borrow_and_update().done.clone() {
                return done.map_err(|e| crate::mirror::replay(&e));
            }
            if progress.changed().await.is_err() {
                return Err(CoreError::UpstreamUnavailable("the upstream fetch stopped".to_owned()));
            }
        }
    }

    /// The fetch of `file` in flight, started if there is none.
    async fn fetch(&self, repo: &MirrorRepo, commit: &ObjectId, file: &MirrorFile) -> Result<Arc<Spool>> {
        if file.sha256.is_none() && file.size > MAX_GIT_FILE_BYTES {
            return Err(CoreError::UpstreamUnavailable(format!(
                "the upstream lists {} as a {}-byte git file; at most {MAX_GIT_FILE_BYTES} bytes are accepted",
                file.path, file.size
            )));
        }
        if self.settings().is_none_or(|s| s.offline) {
            return Err(CoreError::UpstreamUnavailable(format!(
                "{} was never fetched and the mirror is offline",
                file.path
            )));
        }
        let key = format!("{}:{}", repo.record.id, object_key(file));
        let spool = {
            let mut running = self.hub.mirror_state.fetches.running.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(spool) = running.get(&key) {
                self.hub.mirror_state.count_miss(true);
                return Ok(spool.clone());
            }
            let spool = Arc::new(Spool {
                file: tempfile::tempfile()
                    .map_err(|e| CoreError::UpstreamUnavailable(format!("spool file: {e}")))?,
                size: file.size,
                progress: watch::Sender::new(Progress::default()),
            });
            running.insert(key.clone(), spool.clone());
            spool
        };
        self.hub.mirror_state.count_miss(false);
        let hub = self.hub.clone();
        let (repo, commit, file, task_spool) = (repo.clone(), *commit, file.clone(), spool.clone());
        tokio::spawn(async move {
            let outcome = match hub.mirror_state.fetch_slots.acquire().await {
                Ok(_slot) => hub.mirror().download(&repo, &commit, &file, &task_spool).await,
                Err(_) => Err(CoreError::UpstreamUnavailable("the mirror is shutting down".to_owned())),
            };
            if let Err(error) = &outcome {
                tracing::warn!(%error, path = %file.path, repo = %repo.record.repo_id, "mirror fetch failed");
            }
            hub.mirror_state.fetches.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            task_spool.progress.send_modify(|p| {
                if outcome.is_ok() {
                    p.available = task_spool.size;
                }
                p.done = Some(outcome.map_err(Arc::new));
            });
        });
        Ok(spool)
    }

    /// Downloads the file into the spool while it is verified and stored; holds it on success.
    /// An LFS file goes through the upstream's Xet reconstruction when it offers one (chunks
    /// the mirror holds already are rebuilt locally), the rest through `resolve`.
    async fn download(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        file: &MirrorFile,
        spool: &Spool,
    ) -> Result<()> {
        let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
        let body: ByteStream = tokio_stream_of(receiver);
        let hub = self.hub.clone();
        let target = file.clone();
        let verify = tokio::spawn(async move { hub.mirror().verify_and_store(&target, body).await });
        let mut sink = Sink { spool, verifier: sender, written: 0 };
        let mut xet = crate::mirror_xet::XetFetch::default();
        let through_xet = self.xet_eligible(file);
        if through_xet
            && let Err(error) = self.copy_through_xet(repo, commit, file, &mut sink, &mut xet).await
        {
            tracing::info!(
                %error, path = %file.path, written = sink.written,
                "the upstream's Xet reconstruction failed; going on through resolve"
            );
        }
        let copied = match sink.written < file.size {
            true => self.copy_upstream(repo, commit, file, &mut sink).await,
            false => Ok(()),
        };
        drop(sink);
        let verified = verify.await.map_err(|e| CoreError::Corrupt(format!("verification task: {e}")))?;
        if verified.is_err() && through_xet && copied.is_ok() {
            // The whole file arrived and failed: never rebuild it from the upstream's chunks
            // again in this process, and forget the held runs it was rebuilt from.
            {
                let mut plain = self.hub.mirror_state.plain_only.lock().unwrap_or_else(|e| e.into_inner());
                if plain.len() >= MAX_PLAIN_ONLY {
                    plain.clear();
                }
                plain.insert(object_key(file));
            }
            if let Err(error) = self.meta.delete_mirror_runs(&xet.used).await {
                tracing::warn!(%error, "forgetting the runs of a failed rebuild");
            }
        }
        copied?;
        verified?;
        let now = self.now_millis();
        self.meta.put_mirror_object(repo.record.id, &object_key(file), file.size, now).await?;
        if let Err(error) = self.meta.put_mirror_runs(&xet.found).await {
            // The file is held; only later rebuilds from it are lost.
            tracing::warn!(%error, path = %file.path, "recording the file's upstream chunk runs");
        }
        Ok(())
    }

    /// Checks the bytes against what the upstream listed and stores them: LFS files as Xet
    /// chunks under the SHA-256 kura computes, small files as git blobs under their id.
    async fn verify_and_store(&self, file: &MirrorFile, body: ByteStream) -> Result<()> {
        if let Some(oid) = file.sha256 {
            return self.hub.xet().ingest_as_xet(oid, file.size, body).await;
        }
        let mut content = Vec::with_capacity(file.size as usize);
        let mut body = body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| CoreError::UpstreamUnavailable(e.to_string()))?;
            if content.len() as u64 + chunk.len() as u64 > file.size {
                return Err(CoreError::UpstreamUnavailable(
                    "the upstream sent more than the file's size".into(),
                ));
            }
            content.extend_from_slice(&chunk);
        }
        let id = kura_git::hash_object(ObjectKind::Blob, &content);
        if id != file.blob || content.len() as u64 != file.size {
            return Err(CoreError::UpstreamUnavailable(format!(
                "{} from the upstream does not match its listed git blob id",
                file.path
            )));
        }
        self.objects.write(ObjectKind::Blob, &content).await?;
        Ok(())
    }

    /// Copies the upstream's bytes from where the sink stands into the spool and the verifier,
    /// through `resolve`, resuming after breaks.
    async fn copy_upstream(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        file: &MirrorFile,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        let upstream = self.upstream()?;
        let path = format!(
            "/{}{}/resolve/{commit}/{}",
            repo.record.repo_type.url_prefix(),
            repo.record.repo_id,
            encode_path(&file.path)
        );
        let mut last_error = String::new();
        for _ in 0..FETCH_ATTEMPTS {
            let mut answer = match upstream.open(&path, sink.written, repo.token.as_deref()).await {
                Ok(answer) => answer,
                Err(error) => {
                    last_error = error.to_string();
                    continue;
                }
            };
            // An upstream that ignores `Range` starts again from 0: skip what we have.
            let mut skip = match answer.status {
                206 if sink.written > 0 && range_start(&answer) == Some(sink.written) => 0,
                200 => sink.written,
                status @ (401 | 403 | 404) => {
                    let code = answer.header("x-error-code").map(str::to_owned);
                    return Err(fetch_refused(status, code.as_deref(), &file.path));
                }
                status => {
                    last_error = format!("the upstream answered {status}");
                    continue;
                }
            };
            while let Some(chunk) = answer.body.next().await {
                let mut chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(error) => {
                        last_error = error.to_string();
                        break;
                    }
                };
                self.hub.mirror_state.count_upstream_bytes(chunk.len() as u64);
                if skip > 0 {
                    let drop = skip.min(chunk.len() as u64) as usize;
                    chunk = chunk.slice(drop..);
                    skip -= drop as u64;
                }
                if !chunk.is_empty() {
                    sink.push(chunk, &file.path).await?;
                }
            }
            if sink.written == file.size {
                return Ok(());
            }
        }
        Err(CoreError::UpstreamUnavailable(format!(
            "fetching {} from the upstream failed: {last_error}",
            file.path
        )))
    }

    /// The upstream port (a fetch runs only when one is configured).
    pub(crate) fn upstream(&self) -> Result<std::sync::Arc<dyn crate::Upstream>> {
        self.hub
            .mirror_state
            .upstream
            .clone()
            .ok_or_else(|| CoreError::UpstreamUnavailable("no upstream".into()))
    }
}

/// Where a fetch's bytes go, in file order: the spool (for the waiting readers) and the
/// verifier. The last byte is released to readers only once the verifier accepted the file.
pub(crate) struct Sink<'a> {
    spool: &'a Spool,
    verifier: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    /// Bytes of the file pushed so far.
    pub(crate) written: u64,
}

impl Sink<'_> {
    /// Appends the next bytes of the file.
    pub(crate) async fn push(&mut self, chunk: Bytes, path: &str) -> Result<()> {
        let size = self.spool.size;
        if self.written + chunk.len() as u64 > size {
            return Err(CoreError::UpstreamUnavailable("the upstream sent more than the file's size".into()));
        }
        let file = self
            .spool
            .file
            .try_clone()
            .map_err(|e| CoreError::UpstreamUnavailable(format!("spool file: {e}")))?;
        let (bytes, at) = (chunk.clone(), self.written);
        tokio::task::spawn_blocking(move || file.write_all_at(&bytes, at))
            .await
            .map_err(|e| CoreError::UpstreamUnavailable(format!("spool write: {e}")))?
            .map_err(|e| CoreError::UpstreamUnavailable(format!("spool write: {e}")))?;
        self.written += chunk.len() as u64;
        if self.verifier.send(Ok(chunk)).await.is_err() {
            return Err(CoreError::UpstreamUnavailable(format!("{path} failed verification")));
        }
        // The last byte waits for the verification.
        let available = self.written.min(size - 1);
        self.spool.progress.send_modify(|p| p.available = available);
        Ok(())
    }
}

impl Mirror<'_> {
    /// The mirrored repo a CAS token names, checked for its issuer now: a repo restricted
    /// upstream needs the issuer's own upstream token (forwarded, carried sealed in the CAS
    /// token, or stored), confirmed upstream. Misses are fetched with the issuer's own token,
    /// else the mirror's.
    pub(crate) async fn cas_scope(
        &self,
        identity: &crate::Identity,
        forwarded: Option<String>,
        repo_type: kura_model::RepoType,
        repo_id: &kura_model::RepoId,
    ) -> Result<Option<MirrorRepo>> {
        let Some(record) = self.meta.find_mirror_repo(repo_type, repo_id).await? else { return Ok(None) };
        let own = match forwarded {
            Some(token) => Some(token),
            None => self.own_token(identity).await?,
        };
        let token = own.clone().or_else(|| self.settings().and_then(|s| s.token.clone()));
        let repo = MirrorRepo { record, token };
        self.check_access(&repo, own.as_deref()).await?;
        Ok(Some(repo))
    }

    /// The proof for a Xet file of a mirrored repo. A file the repo does not hold yet but
    /// listed with this hash (the client skipped `resolve`) is fetched first.
    pub(crate) async fn xet_file_read(
        &self,
        repo: &MirrorRepo,
        file_hash: &str,
    ) -> Result<Option<ObjectRead>> {
        if let Some(record) = self.meta.xet_file(file_hash).await?
            && let Some(read) =
                self.hub.files().mirror_held_read(repo.record.id, &record.sha256, record.size).await?
        {
            self.hub.mirror_state.count_hit();
            return Ok(Some(read));
        }
        let Some(listed) = self.meta.mirror_file(repo.record.id, file_hash).await? else { return Ok(None) };
        let (Ok(sha256), Ok(commit)) = (Sha256::from_hex(&listed.sha256), ObjectId::from_hex(&listed.commit))
        else {
            return Ok(None);
        };
        let file = MirrorFile {
            path: listed.path,
            size: listed.size,
            blob: ObjectId([0; 20]),
            sha256: Some(sha256),
            xet_hash: Some(listed.xet_hash),
        };
        if is_empty_file(&file) {
            return Ok(None);
        }
        self.fetch_whole(repo, &commit, &file).await?;
        self.hub.files().mirror_held_read(repo.record.id, &sha256, file.size).await
    }
}

/// SHA-256 and git blob id of zero bytes.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const EMPTY_BLOB: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

/// An empty file whose listed id is the id of no bytes: nothing to fetch or hold. (A listing
/// that pairs size 0 with another id is fetched and checked like any file, so it can never
/// stand for a stored object.)
fn is_empty_file(file: &MirrorFile) -> bool {
    file.size == 0
        && match &file.sha256 {
            Some(oid) => oid.to_hex() == EMPTY_SHA256,
            None => file.blob.to_hex() == EMPTY_BLOB,
        }
}

/// The first byte a 206 answer says it holds (`Content-Range: bytes A-B/N`).
fn range_start(answer: &crate::UpstreamBody) -> Option<u64> {
    let value = answer.header("content-range")?.strip_prefix("bytes ")?;
    value.split('-').next()?.trim().parse().ok()
}

/// The Hub error for a download the upstream refused.
fn fetch_refused(status: u16, code: Option<&str>, path: &str) -> CoreError {
    match (status, code) {
        (_, Some("GatedRepo")) | (403, None) => {
            CoreError::GatedRepo(format!("Access to {path} is restricted upstream"))
        }
        (_, Some("EntryNotFound")) => CoreError::EntryNotFound { path: path.to_owned(), commit: None },
        _ => CoreError::RepoNotFound,
    }
}

/// The receiving end of a channel as a byte stream.
fn tokio_stream_of(mut receiver: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>) -> ByteStream {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx)).boxed()
}
