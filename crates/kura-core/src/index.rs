//! The indexer: what the hub learns from a commit's files, computed off the request path by the
//! `index-commit` job and read by `model_info`, the tree listings and the web UI.
//!
//! Facts are content-keyed: a file's facts are stored under its content (SHA-256 for large
//! files, the git blob id otherwise) and its extension (which decides how it is read), so a
//! file that already exists anywhere costs nothing; a commit's facts are stored under its id,
//! which fixes every byte of its tree. Files are read only through a `FilesAccess` of the repo
//! the job was queued for, by byte ranges: a header never loads a whole file.

use std::collections::BTreeMap;
use std::sync::Arc;

use kura_formats::derive::{Inputs, derive_model_with_tokenizer};
use kura_formats::inspect::{self, FileFacts, Inspector, Step};
use kura_model::{ObjectId, RepoType};
use kura_storage::{FactRecord, FactTable, MAX_FACT_KEYS, RepoRecord};

use crate::auth::FilesAccess;
use crate::browse::Entry;
use crate::error::{CoreError, Result};
use crate::index_facts::{self, CommitFacts};
use crate::jobs::IndexCommit;
use crate::read_proof::OpenFile;
use crate::services::Index;
use crate::views::SecurityFileStatusView;

/// Version of the commit facts: a change of the file inspector or of the folding rules makes
/// older facts stale (they are recomputed when next asked for).
pub(crate) const COMMIT_FACTS_VERSION: u32 = inspect::VERSION * 100 + 1;
/// Distinct file contents inspected per commit; the rest are counted as skipped (unscanned).
const MAX_INSPECTED_FILES: usize = 2000;
/// Candidate paths looked at per commit (copies of one content included).
const MAX_OPENED_FILES: usize = 20_000;
/// Largest JSON file read whole (`config.json`, a safetensors index).
const MAX_JSON_BYTES: u64 = 16 << 20;
/// Largest single range the indexer reads at once (the inspector's own budgets are smaller).
const MAX_READ_BYTES: u64 = 64 << 20;

/// The key a file's facts are stored under: its content and the extension that decides how it
/// is read.
pub(crate) fn fact_key(path: &str, blob: &ObjectId, lfs: Option<&kura_git::LfsPointer>) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext: String = match name.rsplit_once('.') {
        Some((_, ext)) => ext.chars().take(16).collect::<String>().to_ascii_lowercase(),
        None => String::new(),
    };
    match lfs {
        Some(pointer) => format!("sha256:{}.{ext}", pointer.oid.to_hex()),
        None => format!("git:{}.{ext}", blob.to_hex()),
    }
}

/// Whether the inspector reads files of this name at all.
pub(crate) fn inspectable(path: &str) -> bool {
    Inspector::for_path(path, u64::MAX).is_some()
}

impl Index<'_> {
    /// Runs an `index-commit` job: finds the repo (by id, following a rename), then indexes.
    pub(crate) async fn run_job(&self, task: &IndexCommit) -> Result<()> {
        let Some((repo, commit)) = self.hub.jobs().job_target(task).await? else { return Ok(()) };
        let facts = self.index_commit(repo.clone(), commit).await?;
        self.update_listing(&repo, &commit, &facts).await
    }

    /// When `commit` is the head of the default branch, the listing's tags and parameter
    /// count follow its facts (the card's tags were set when the branch moved).
    pub(crate) async fn update_listing(
        &self,
        repo: &RepoRecord,
        commit: &ObjectId,
        facts: &CommitFacts,
    ) -> Result<()> {
        let main = kura_model::RefName::from_full("refs/heads/main")
            .map_err(|e| CoreError::Corrupt(format!("the default branch name: {e}")))?;
        // What `derive` computes is the Hub's model metadata: datasets and Spaces keep their
        // card's tags.
        if repo.repo_type != RepoType::Model
            || self.meta.ref_target(repo.id, &main).await?.as_ref() != Some(commit)
        {
            return Ok(());
        }
        if !facts.derived.tags.is_empty() {
            self.meta.set_repo_tags(repo.id, &facts.derived.tags).await?;
        }
        let listing = kura_storage::ListingFacts {
            parameters: facts
                .safetensors
                .as_ref()
                .map(|count| count.total)
                .or(facts.gguf.as_ref().map(|g| g.total)),
            library_name: facts.derived.library_name.clone(),
            pipeline_tag: facts.derived.pipeline_tag.clone(),
        };
        self.meta.set_listing_facts(repo.id, &listing).await?;
        Ok(())
    }

    /// `securityFileStatus` of listed entries at `commit` (folders get `None`): unscanned
    /// until the revision is indexed, then from each file's stored facts.
    pub async fn file_statuses(
        &self,
        repo: &RepoRecord,
        commit: &ObjectId,
        entries: &[&Entry],
    ) -> Result<Vec<Option<SecurityFileStatusView>>> {
        let indexed = self.facts_for(repo, commit).await?;
        let keys: Vec<Option<String>> = entries
            .iter()
            .map(|entry| match entry {
                Entry::File { path, oid, info, .. } if inspectable(path) => {
                    Some(fact_key(path, oid, info.lfs.as_ref()))
                }
                _ => None,
            })
            .collect();
        let wanted: Vec<String> = keys.iter().flatten().cloned().collect();
        let stored = if indexed.is_some() { self.stored_file_facts(&wanted).await? } else { BTreeMap::new() };
        Ok(entries
            .iter()
            .zip(&keys)
            .map(|(entry, key)| match (entry, key) {
                (Entry::Dir { .. }, _) => None,
                _ if indexed.is_none() => Some(SecurityFileStatusView::unscanned()),
                (_, None) => Some(SecurityFileStatusView::of(None)),
                (_, Some(key)) => Some(match stored.get(key) {
                    Some(facts) => SecurityFileStatusView::of(Some(facts)),
                    // Past the indexer's per-commit budget.
                    None => SecurityFileStatusView::unscanned(),
                }),
            })
            .collect())
    }

    /// Computes and stores the facts of `commit` (a commit of `repo`), unless current ones exist.
    pub async fn index_commit(&self, repo: RepoRecord, commit: ObjectId) -> Result<CommitFacts> {
        if let Some(facts) = self.commit_facts(&commit).await? {
            return Ok(facts);
        }
        let started = std::time::Instant::now();
        let access = FilesAccess::for_job(repo);
        let root = self.hub.repos().commit_tree(&commit).await?;
        let flat = self.hub.repos().flatten(root, self.config.limits.max_repo_paths).await?;
        let paths: Vec<&str> = flat.keys().map(String::as_str).collect();
        let candidates: Vec<&str> = paths.iter().copied().filter(|path| inspectable(path)).collect();
        let (files, skipped, bytes_read) = self.inspect_all(&access, commit, &flat, &candidates).await?;
        let card = self.hub.repos().card_info(root).await?;
        let config = self.read_json(&access, commit, &flat, "config.json").await?;
        let index = self.read_json(&access, commit, &flat, "model.safetensors.index.json").await?;
        let shards = index.as_ref().map(shard_names);
        let tokenizer = self.read_json(&access, commit, &flat, "tokenizer_config.json").await?;
        let inputs = Inputs { card: card.card_data.as_ref(), config: config.as_ref(), files: &paths };
        let derived = derive_model_with_tokenizer(&inputs, tokenizer.as_ref());
        let facts = CommitFacts {
            safetensors: index_facts::safetensors_count(&files, shards.as_deref()),
            gguf: index_facts::gguf_summary(&files),
            files_with_issues: index_facts::issues(&files),
            files_inspected: files.len() as u64,
            files_skipped: skipped as u64,
            derived,
        };
        let json =
            serde_json::to_string(&facts).map_err(|e| CoreError::Corrupt(format!("commit facts: {e}")))?;
        let record = FactRecord { key: commit.to_hex(), version: COMMIT_FACTS_VERSION, facts: json };
        self.meta.put_facts(FactTable::Commit, &record, self.now_millis()).await?;
        tracing::info!(%commit, files = files.len(), skipped, bytes_read, elapsed_ms = started.elapsed().as_millis() as u64, "indexed a commit");
        Ok(facts)
    }

    /// The facts of each candidate file, by path. The budget counts distinct contents, so copies
    /// of one file (decoys) cost nothing and cannot push another file out of the scan; past it,
    /// files are skipped (unscanned). A symbolic link is not followed: a loader that follows it
    /// reads a file the scan never saw, so it is reported as not scanned.
    async fn inspect_all(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        flat: &crate::browse::FlatTree,
        candidates: &[&str],
    ) -> Result<(BTreeMap<String, FileFacts>, usize, u64)> {
        let mut files = BTreeMap::new();
        let mut by_key: std::collections::HashMap<String, FileFacts> = std::collections::HashMap::new();
        let (mut skipped, mut bytes_read) = (0usize, 0u64);
        for path in candidates {
            if flat.get(*path).is_some_and(|(mode, _)| *mode == kura_git::EntryMode::Symlink) {
                let facts = FileFacts {
                    error: Some("a symbolic link: its target is not scanned".into()),
                    ..Default::default()
                };
                files.insert((*path).to_owned(), facts);
                continue;
            }
            if files.len() >= MAX_OPENED_FILES {
                skipped += 1;
                continue;
            }
            let open = self.hub.files().open_at(access, commit, path).await?;
            let key = fact_key(open.path.as_str(), &open.blob, open.lfs.as_ref());
            if let Some(facts) = by_key.get(&key) {
                files.insert((*path).to_owned(), facts.clone());
                continue;
            }
            if by_key.len() >= MAX_INSPECTED_FILES {
                skipped += 1;
                continue;
            }
            let (facts, read) = self.file_facts(&open).await?;
            bytes_read += read;
            by_key.insert(key, facts.clone());
            files.insert((*path).to_owned(), facts);
        }
        Ok((files, skipped, bytes_read))
    }

    /// The stored facts of `commit`, if current ones exist.
    pub async fn commit_facts(&self, commit: &ObjectId) -> Result<Option<CommitFacts>> {
        // Facts of this version are a function of the commit's content alone: once found,
        // they are kept (a commit without them yet is asked again).
        let cache = &self.hub.repo_state.facts;
        if let Some(facts) = cache.get(commit) {
            return Ok(Some(facts.as_ref().clone()));
        }
        let found = self.meta.facts(FactTable::Commit, &[commit.to_hex()]).await?;
        let Some(record) = found.into_iter().find(|record| record.version == COMMIT_FACTS_VERSION) else {
            return Ok(None);
        };
        let Ok(facts) = serde_json::from_str::<CommitFacts>(&record.facts) else { return Ok(None) };
        cache.put(*commit, Arc::new(facts.clone()), record.facts.len() as u64);
        Ok(Some(facts))
    }

    /// `commit_facts` for a reader: when there are none yet (the job was lost in a crash, or
    /// the facts are of an older version) and the commit is the head of a branch or tag, the
    /// indexing is queued again. Older commits are not: readers naming every commit of a long
    /// history would otherwise fill the queue ahead of everyone's new commits.
    pub async fn facts_for(&self, repo: &RepoRecord, commit: &ObjectId) -> Result<Option<CommitFacts>> {
        let facts = self.commit_facts(commit).await?;
        if facts.is_none() && self.hub.repos().heads(repo).await?.iter().any(|head| head.target == *commit) {
            self.hub.jobs().queue_index(repo, commit, false).await?;
        }
        Ok(facts)
    }

    /// Stored facts of files by key (current versions only), batched.
    pub async fn stored_file_facts(&self, keys: &[String]) -> Result<BTreeMap<String, FileFacts>> {
        let mut out = BTreeMap::new();
        for batch in keys.chunks(MAX_FACT_KEYS) {
            for record in self.meta.facts(FactTable::Blob, batch).await? {
                if record.version != inspect::VERSION {
                    continue;
                }
                if let Ok(facts) = serde_json::from_str::<FileFacts>(&record.facts) {
                    out.insert(record.key, facts);
                }
            }
        }
        Ok(out)
    }

    /// A file's facts: stored ones, else read from the file and stored. Returns the bytes read.
    pub(crate) async fn file_facts(&self, open: &OpenFile) -> Result<(FileFacts, u64)> {
        let key = fact_key(open.path.as_str(), &open.blob, open.lfs.as_ref());
        if let Some(facts) = self.stored_file_facts(std::slice::from_ref(&key)).await?.remove(&key) {
            return Ok((facts, 0));
        }
        let Some(inspector) = Inspector::for_path(open.path.as_str(), open.size) else {
            return Ok((FileFacts::default(), 0));
        };
        let (facts, read) = self.inspect(open, inspector).await?;
        let json =
            serde_json::to_string(&facts).map_err(|e| CoreError::Corrupt(format!("file facts: {e}")))?;
        let record = FactRecord { key, version: inspect::VERSION, facts: json };
        self.meta.put_facts(FactTable::Blob, &record, self.now_millis()).await?;
        Ok((facts, read))
    }

    /// Drives an inspector over a file's bytes, range by range.
    pub(crate) async fn inspect(
        &self,
        open: &OpenFile,
        mut inspector: Inspector,
    ) -> Result<(FileFacts, u64)> {
        let mut read = 0u64;
        // Inflating and walking a stream is CPU work of up to hundreds of MiB: it runs on the
        // blocking pool, never on an async worker.
        let mut fed: Option<Vec<u8>> = None;
        loop {
            let (back, step) = tokio::task::spawn_blocking(move || {
                if let Some(bytes) = fed {
                    inspector.feed(&bytes);
                }
                let step = inspector.step();
                (inspector, step)
            })
            .await
            .map_err(|error| CoreError::Corrupt(format!("the file inspector failed: {error}")))?;
            inspector = back;
            match step {
                Step::Done(facts) => return Ok((facts, read)),
                Step::Read { offset, len } => {
                    let bytes = self.hub.files().read_to_vec(open, offset, len.min(MAX_READ_BYTES)).await?;
                    read += bytes.len() as u64;
                    fed = Some(bytes);
                }
            }
        }
    }

    /// A small JSON file at the root of the commit, parsed; `None` when absent, too large or
    /// not JSON (the facts then say nothing about it).
    async fn read_json(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        flat: &crate::browse::FlatTree,
        path: &str,
    ) -> Result<Option<serde_json::Value>> {
        if !flat.contains_key(path) {
            return Ok(None);
        }
        let open = self.hub.files().open_at(access, commit, path).await?;
        if open.size > MAX_JSON_BYTES {
            return Ok(None);
        }
        let bytes = self.hub.files().read_to_vec(&open, 0, open.size).await?;
        Ok(serde_json::from_slice(&bytes).ok())
    }
}

/// The distinct shard files a `model.safetensors.index.json` maps tensors to, in order.
fn shard_names(index: &serde_json::Value) -> Vec<String> {
    let mut shards: Vec<String> = match index.get("weight_map").and_then(|map| map.as_object()) {
        Some(map) => map.values().filter_map(|v| v.as_str()).map(str::to_owned).collect(),
        None => Vec::new(),
    };
    shards.sort();
    shards.dedup();
    shards
}
