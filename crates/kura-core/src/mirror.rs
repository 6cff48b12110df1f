//! Pull-through mirror: kura answers for repos it does not host from an upstream hub (another
//! kura, or huggingface.co), through the same HTTP API.
//!
//! A mirrored repo is a cache, not a hosted repo: upstream answers addressed by a commit are
//! stored forever (the commit fixes them), a branch or tag resolves to a commit for
//! `ref_ttl_secs` (one upstream request per repo and ref at a time), and file content is
//! fetched once, verified (SHA-256 or git blob id, computed by kura), stored in the one chunk
//! store and held by the mirrored repo (`mirror_fetch`). Answers are parsed JSON re-serialised
//! by kura, never upstream text with its hosts. Without the upstream, what was cached keeps
//! working (the last commit seen per ref); what was not is a 504 that says why.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use kura_model::{ObjectId, RepoId, RepoType};
use kura_storage::{MirrorFileRecord, MirrorRefRecord, MirrorRepoRecord};
use serde_json::Value;

use crate::Hub;
use crate::error::{CoreError, Result};
use crate::mirror_upstream::{MirrorConfig, UpstreamError, UpstreamMethod, UpstreamReply, UpstreamRequest};
use crate::services::Mirror;

/// Largest upstream JSON answer the mirror reads (a tree page of 1,000 entries with
/// `expand` is a few MB).
const MAX_DOC_BYTES: usize = 32 << 20;

/// A mirrored repo opened for a caller: the caller may read it, and `token` is what the
/// mirror sends upstream on the caller's behalf.
#[derive(Clone)]
pub struct MirrorRepo {
    pub(crate) record: MirrorRepoRecord,
    pub(crate) token: Option<String>,
}

impl std::fmt::Debug for MirrorRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorRepo")
            .field("record", &self.record)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl MirrorRepo {
    pub fn repo_type(&self) -> RepoType {
        self.record.repo_type
    }

    pub fn repo_id(&self) -> &RepoId {
        &self.record.repo_id
    }
}

/// An upstream answer as the mirror serves it: JSON, and the upstream cursor of the next page.
#[derive(Debug, Clone)]
pub struct MirrorDoc {
    pub body: Value,
    pub next_cursor: Option<String>,
}

/// A file of a mirrored repo at a commit, as the upstream listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFile {
    pub path: String,
    pub size: u64,
    /// The git blob id (of the pointer, for LFS files).
    pub blob: ObjectId,
    /// The SHA-256 of an LFS file.
    pub sha256: Option<kura_model::Sha256>,
    pub xet_hash: Option<String>,
}

/// What a path names at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorEntry {
    File(MirrorFile),
    Directory,
    Missing,
}

pub(crate) type Flight<T> = Shared<BoxFuture<'static, std::result::Result<T, Arc<CoreError>>>>;

/// One upstream request per key at a time: later callers wait for the first one's answer.
pub(crate) struct Flights<T: Clone> {
    running: std::sync::Mutex<std::collections::HashMap<String, Flight<T>>>,
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    pub(crate) fn new() -> Self {
        Self { running: std::sync::Mutex::default() }
    }

    /// Runs `start()` unless a call under `key` is already running, then waits for its answer.
    /// The second value says whether this caller waited on another's call. The call runs as
    /// its own task, so it finishes (and its answer is stored) even if every caller goes
    /// away; a finished call is never joined: the next caller under its key starts anew.
    pub(crate) async fn run<F>(&self, key: String, start: impl FnOnce() -> F) -> (Result<T>, bool)
    where
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let (flight, joined) = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            match running.get(&key) {
                Some(flight) if flight.peek().is_none() => (flight.clone(), true),
                _ => {
                    if running.len() >= MAX_FLIGHTS {
                        running.retain(|_, flight| flight.peek().is_none());
                    }
                    let task = tokio::spawn(start());
                    let flight = async move {
                        task.await.unwrap_or_else(|e| {
                            Err(CoreError::UpstreamUnavailable(format!("the upstream call stopped: {e}")))
                        })
                    }
                    .map(|r| r.map_err(Arc::new))
                    .boxed()
                    .shared();
                    running.insert(key.clone(), flight.clone());
                    (flight, false)
                }
            }
        };
        let answer = flight.clone().await;
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.get(&key).is_some_and(|current| current.ptr_eq(&flight)) {
            running.remove(&key);
        }
        drop(running);
        (answer.map_err(|e| replay(&e)), joined)
    }
}

/// Calls kept in a `Flights` map at once before finished ones are swept out.
const MAX_FLIGHTS: usize = 10_000;

/// What a cached answer fetched with `token` may be shared with: callers sending the same
/// token (by hash), or none.
pub(crate) fn token_class(token: Option<&str>) -> String {
    use sha2::Digest;
    match token {
        Some(token) => hex::encode(&sha2::Sha256::digest(token.as_bytes())[..8]),
        None => "none".to_owned(),
    }
}

/// The same error for another waiter of a shared call.
pub(crate) fn replay(error: &CoreError) -> CoreError {
    match error {
        CoreError::RepoNotFound => CoreError::RepoNotFound,
        CoreError::GatedRepo(m) => CoreError::GatedRepo(m.clone()),
        CoreError::RevisionNotFound { revision } => {
            CoreError::RevisionNotFound { revision: revision.clone() }
        }
        CoreError::EntryNotFound { path, commit } => {
            CoreError::EntryNotFound { path: path.clone(), commit: *commit }
        }
        CoreError::Unauthorized(m) => CoreError::Unauthorized(m.clone()),
        CoreError::Forbidden(m) => CoreError::Forbidden(m.clone()),
        CoreError::InvalidInput(m) => CoreError::InvalidInput(m.clone()),
        CoreError::UpstreamUnavailable(m) => CoreError::UpstreamUnavailable(m.clone()),
        CoreError::Upstream { status, message } => {
            CoreError::Upstream { status: *status, message: message.clone() }
        }
        other => CoreError::UpstreamUnavailable(other.to_string()),
    }
}

/// The Hub error an upstream error answer stands for; the upstream's codes pass through.
pub(crate) fn upstream_error(reply: &UpstreamReply) -> CoreError {
    let message = reply
        .header("x-error-message")
        .map(str::to_owned)
        .or_else(|| {
            serde_json::from_slice::<Value>(&reply.body).ok()?.get("error")?.as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| format!("upstream answered {}", reply.status));
    match (reply.status, reply.header("x-error-code")) {
        (_, Some("GatedRepo")) => CoreError::GatedRepo(message),
        (_, Some("RepoNotFound")) | (401 | 404, None) => CoreError::RepoNotFound,
        (_, Some("RevisionNotFound")) => CoreError::RevisionNotFound { revision: message },
        (_, Some("EntryNotFound")) => CoreError::EntryNotFound { path: message, commit: None },
        (status @ 400..=499, _) => CoreError::Upstream { status, message },
        (status, _) => {
            CoreError::UpstreamUnavailable(format!("the upstream hub answered {status}: {message}"))
        }
    }
}

pub(crate) fn unreachable(error: UpstreamError) -> CoreError {
    CoreError::UpstreamUnavailable(error.to_string())
}

pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn is_commit_id(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Mirror<'_> {
    pub(crate) fn settings(&self) -> Option<&MirrorConfig> {
        self.hub.mirror_state.upstream.as_ref()?;
        self.config.mirror.as_ref()
    }

    /// Whether a request for this repo is the mirror's: an upstream is configured, the id is
    /// admitted by the allow and deny patterns, and no hosted repo (or redirect) has the id:
    /// a hosted repo always wins a name clash, even one the caller may not see.
    pub async fn answers_for(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<bool> {
        let Some(settings) = self.settings() else { return Ok(false) };
        if !settings.admits(&repo_id.to_string()) {
            return Ok(false);
        }
        if self.meta.repo(repo_type, repo_id).await?.is_some() {
            return Ok(false);
        }
        Ok(self.meta.repo_redirect(repo_type, repo_id).await?.is_none())
    }

    /// Whether a bearer token kura failed to authenticate may go upstream as the caller's own:
    /// only when the operator allows it, and never a token kura issued (even a revoked one).
    pub async fn forwards(&self, secret: &str) -> Result<bool> {
        if !self.settings().is_some_and(|s| s.forward_unknown_tokens) {
            return Ok(false);
        }
        if crate::sessions::is_session_secret(secret) {
            return Ok(false);
        }
        let hash = kura_model::Sha256::digest(secret.as_bytes());
        Ok(self.meta.token_by_hash(&hash).await?.is_none())
    }

    /// Sends a request upstream (never in offline mode), counting it.
    pub(crate) async fn call(&self, request: UpstreamRequest) -> Result<UpstreamReply> {
        let settings = self.settings().ok_or_else(|| CoreError::UpstreamUnavailable("no upstream".into()))?;
        if settings.offline {
            return Err(CoreError::UpstreamUnavailable(
                "the mirror is offline and this was never fetched".to_owned(),
            ));
        }
        let upstream = self.hub.mirror_state.upstream.clone().expect("settings() checked the upstream");
        let reply = upstream.call(request, MAX_DOC_BYTES).await.map_err(unreachable)?;
        self.hub.mirror_state.count_upstream_bytes(reply.body.len() as u64);
        Ok(reply)
    }

    /// An upstream JSON answer and the cursor of its next page, or its error.
    async fn call_json(
        &self,
        path: String,
        token: Option<String>,
        form: Option<String>,
    ) -> Result<MirrorDoc> {
        let method = if form.is_some() { UpstreamMethod::PostForm } else { UpstreamMethod::Get };
        let reply = self.call(UpstreamRequest { method, path, body: form, token }).await?;
        if reply.status != 200 {
            return Err(upstream_error(&reply));
        }
        let body = serde_json::from_slice(&reply.body).map_err(|e| {
            CoreError::UpstreamUnavailable(format!("the upstream answered invalid JSON: {e}"))
        })?;
        Ok(MirrorDoc { body, next_cursor: reply.header("link").and_then(crate::mirror_docs::next_cursor) })
    }

    fn api_path(repo_type: RepoType, repo_id: &str) -> String {
        format!("/api/{}/{}", repo_type.plural(), repo_id)
    }

    /// The commit `revision` names upstream, and the mirrored repo (recorded once the upstream
    /// confirmed it exists). A branch or tag is asked upstream once per `ref_ttl_secs`; without
    /// the upstream, the last commit seen answers.
    pub async fn resolve(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
        revision: Option<&str>,
        token: Option<String>,
    ) -> Result<(MirrorRepo, ObjectId)> {
        let known = self.meta.find_mirror_repo(repo_type, repo_id).await?;
        let name = revision.unwrap_or("HEAD").to_owned();
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.starts_with(':')
            || name.len() > 255
            || name.chars().any(char::is_control)
        {
            return Err(CoreError::RevisionNotFound { revision: name });
        }
        if is_commit_id(&name) {
            let record = match known {
                Some(record) => record,
                None => {
                    // Only a commit the upstream knows in this repo records the repo.
                    let path = format!("{}/revision/{name}", Self::api_path(repo_type, &repo_id.to_string()));
                    self.call_json(path, token.clone(), None).await?;
                    self.meta.mirror_repo(repo_type, repo_id, self.now_millis()).await?
                }
            };
            let commit =
                ObjectId::from_hex(&name).map_err(|_| CoreError::RevisionNotFound { revision: name })?;
            return Ok((MirrorRepo { record, token }, commit));
        }
        let ttl_ms = self.settings().map_or(0, |s| s.ref_ttl_secs.saturating_mul(1000)) as i64;
        let seen = match &known {
            Some(record) => self.meta.mirror_ref(record.id, &name).await?,
            None => None,
        };
        if let (Some(record), Some(seen)) = (&known, &seen)
            && self.now_millis() - seen.fetched_at < ttl_ms
        {
            return Ok((MirrorRepo { record: record.clone(), token }, parse_commit(&seen.commit)?));
        }
        let key = format!(
            "ref:{}:{}:{name}:{}",
            repo_type.as_str(),
            repo_id.to_string().to_ascii_lowercase(),
            token_class(token.as_deref())
        );
        let hub = self.hub.clone();
        let (ask_type, ask_id, ask_name, ask_token) =
            (repo_type, repo_id.clone(), name.clone(), token.clone());
        let (asked, _) =
            self.hub
                .mirror_state
                .refs
                .run(key, move || async move {
                    hub.mirror().ask_ref(ask_type, &ask_id, &ask_name, ask_token).await
                })
                .await;
        match asked {
            Ok((record, commit)) => Ok((MirrorRepo { record, token }, parse_commit(&commit)?)),
            Err(CoreError::UpstreamUnavailable(reason)) => {
                // The default branch, never asked for by that name, falls back to `main`.
                let seen = match (&known, seen) {
                    (Some(record), None) if name == "HEAD" => self.meta.mirror_ref(record.id, "main").await?,
                    (_, seen) => seen,
                };
                match (known, seen) {
                    (Some(record), Some(seen)) => {
                        tracing::info!(%reason, repo = %repo_id, "upstream unavailable; serving the last commit seen");
                        Ok((MirrorRepo { record, token }, parse_commit(&seen.commit)?))
                    }
                    _ => Err(CoreError::UpstreamUnavailable(reason)),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Asks the upstream where a ref is now, and records it (with the answer, which is the
    /// repo's info at that commit).
    async fn ask_ref(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
        name: &str,
        token: Option<String>,
    ) -> Result<(MirrorRepoRecord, String)> {
        let base = Self::api_path(repo_type, &repo_id.to_string());
        let path = if name == "HEAD" { base } else { format!("{base}/revision/{}", encode(name)) };
        let info = self.call_json(path, token, None).await?.body;
        let commit =
            info.get("sha").and_then(Value::as_str).filter(|s| is_commit_id(s)).ok_or_else(|| {
                CoreError::UpstreamUnavailable("the upstream answer names no commit".to_owned())
            })?;
        let now = self.now_millis();
        let record = self.meta.mirror_repo(repo_type, repo_id, now).await?;
        self.meta.put_mirror_doc(record.id, commit, "info", &info.to_string(), now).await?;
        self.record_access(record.id, crate::mirror_docs::Access::of(&info)).await?;
        let seen = MirrorRefRecord { commit: commit.to_owned(), fetched_at: now };
        self.meta.put_mirror_ref(record.id, name, &seen).await?;
        Ok((record, commit.to_owned()))
    }

    /// A cached upstream answer at `commit`, fetched once (concurrent callers wait for it).
    pub(crate) async fn doc(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        key: &str,
        path: String,
        form: Option<String>,
    ) -> Result<Value> {
        let commit_hex = commit.to_hex();
        if let Some(body) = self.meta.mirror_doc(repo.record.id, &commit_hex, key).await? {
            self.hub.mirror_state.count_hit();
            return serde_json::from_str(&body).map_err(|e| CoreError::Corrupt(format!("mirror doc: {e}")));
        }
        let hub = self.hub.clone();
        let (id, token, doc_key) = (repo.record.id, repo.token.clone(), key.to_owned());
        let (answer, joined) = self
            .hub
            .mirror_state
            .docs
            .run(format!("{id}:{commit_hex}:{key}:{}", token_class(token.as_deref())), move || async move {
                let mirror = hub.mirror();
                let answer = mirror.call_json(path, token, form).await?;
                let value = crate::mirror_docs::keep(&doc_key, answer)?;
                // An empty paths-info answer is not kept: a stream of made-up paths leaves
                // no rows behind (it still costs an upstream request each).
                if value.as_array().is_some_and(Vec::is_empty) && doc_key.starts_with("paths") {
                    return Ok(value);
                }
                let now = mirror.now_millis();
                mirror.meta.put_mirror_doc(id, &commit_hex, &doc_key, &value.to_string(), now).await?;
                mirror.record_files(id, &commit_hex, &value).await?;
                Ok(value)
            })
            .await;
        self.hub.mirror_state.count_miss(joined);
        answer
    }

    /// Remembers the files of a listing that carry a Xet hash, so that a reconstruction asked
    /// for one can find what to fetch.
    async fn record_files(&self, id: i64, commit: &str, value: &Value) -> Result<()> {
        let items = match value {
            Value::Array(items) => items.as_slice(),
            Value::Object(page) => page.get("items").and_then(Value::as_array).map_or(&[][..], Vec::as_slice),
            _ => &[],
        };
        let files: Vec<MirrorFileRecord> = items
            .iter()
            .filter_map(|item| {
                let file = crate::mirror_docs::file_of(item)?;
                Some(MirrorFileRecord {
                    xet_hash: file.xet_hash?,
                    sha256: file.sha256?.to_hex(),
                    size: file.size,
                    commit: commit.to_owned(),
                    path: file.path,
                })
            })
            .collect();
        if !files.is_empty() {
            self.meta.put_mirror_files(id, &files).await?;
        }
        Ok(())
    }
}

fn parse_commit(text: &str) -> Result<ObjectId> {
    ObjectId::from_hex(text).map_err(|_| CoreError::Corrupt(format!("mirror ref names '{text}'")))
}

impl Hub {
    /// Whether this hub mirrors an upstream hub.
    pub fn mirror_enabled(&self) -> bool {
        self.mirror().settings().is_some()
    }

    /// The upstream hub's URL, when this hub mirrors one.
    pub fn mirror_upstream_url(&self) -> Option<String> {
        self.mirror().settings().map(|s| s.url.clone())
    }

    /// What the mirror did since the process started (`/metrics`).
    pub fn mirror_counters(&self) -> &crate::MirrorCounters {
        &self.mirror_state.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_call_and_later_ones_start_afresh() {
        let flights: Arc<Flights<u32>> = Arc::new(Flights::new());
        let calls = Arc::new(AtomicU32::new(0));
        let (release, wait) = tokio::sync::watch::channel(false);
        let start = |calls: Arc<AtomicU32>, mut wait: tokio::sync::watch::Receiver<bool>| {
            move || async move {
                let _ = wait.wait_for(|go| *go).await;
                Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
            }
        };
        let first = tokio::spawn({
            let (flights, calls, wait) = (flights.clone(), calls.clone(), wait.clone());
            async move { flights.run("k".into(), start(calls, wait)).await }
        });
        tokio::task::yield_now().await;
        let second = tokio::spawn({
            let (flights, calls, wait) = (flights.clone(), calls.clone(), wait.clone());
            async move { flights.run("k".into(), start(calls, wait)).await }
        });
        tokio::task::yield_now().await;
        release.send(true).unwrap();
        let (a, b) = (first.await.unwrap(), second.await.unwrap());
        assert_eq!((a.0.unwrap(), b.0.unwrap()), (1, 1), "one call answered both");
        assert!(a.1 != b.1, "exactly one of them waited on the other");
        let (again, joined) = flights.run("k".into(), start(calls.clone(), wait.clone())).await;
        assert_eq!((again.unwrap(), joined), (2, false), "a finished call is not reused");
    }

    #[tokio::test]
    async fn a_call_whose_starter_went_away_is_finished_by_the_next_caller_and_cleared() {
        let flights: Arc<Flights<u32>> = Arc::new(Flights::new());
        let (release, wait) = tokio::sync::watch::channel(false);
        let make = |mut wait: tokio::sync::watch::Receiver<bool>, value: u32| {
            move || async move {
                let _ = wait.wait_for(|go| *go).await;
                Ok(value)
            }
        };
        let starter = tokio::spawn({
            let (flights, wait) = (flights.clone(), wait.clone());
            async move { flights.run("k".into(), make(wait, 7)).await }
        });
        tokio::task::yield_now().await;
        starter.abort();
        let _ = starter.await;
        let joiner = tokio::spawn({
            let (flights, wait) = (flights.clone(), wait.clone());
            async move { flights.run("k".into(), make(wait, 8)).await }
        });
        tokio::task::yield_now().await;
        release.send(true).unwrap();
        let (value, joined) = joiner.await.unwrap();
        assert_eq!((value.unwrap(), joined), (7, true), "the running call is joined");
        let (value, joined) = flights.run("k".into(), make(wait, 9)).await;
        assert_eq!((value.unwrap(), joined), (9, false), "and cleared once answered");
    }
}
