//! The parquet export of a dataset (`refs/convert/parquet`), made by the `export-parquet` job
//! after `main` moves: configs and splits inferred as `datasets` does, csv/tsv/json/jsonl/txt/
//! arrow files converted (`viewer_convert`), parquet files linked as they are, the result
//! committed by kura alone to `refs/convert/parquet` as `{config}/{split}/NNNN.parquet`, and
//! what the viewer needs (files, row counts, features, statistics, failures) stored as facts of
//! the source commit. Converted shards are hashed by kura, stored through Xet (their
//! content-defined pages dedupe against earlier exports) and held by the dataset like any of
//! its uploads, so they are read through the same authorization proof.

use std::collections::BTreeMap;

use kura_dataset::features::{Features, Json};
use kura_formats::viewer::splits::{Builder, ConfigSpec, RepoFile, SplitsError, infer_configs};
use kura_git::{Commit, EntryMode, LfsPointer, ObjectKind, Signature};
use kura_model::{ObjectId, RefName, RepoType, Sha256};
use kura_storage::{FactRecord, FactTable, RepoRecord, StorageError};
use serde::{Deserialize, Serialize};

use crate::auth::FilesAccess;
use crate::browse::FlatTree;
use crate::error::{CoreError, Result};
use crate::jobs::IndexCommit;
use crate::services::Viewer;

/// The ref only kura writes.
pub const CONVERT_REF: &str = "refs/convert/parquet";
/// Version of the export facts: a change of the conversion makes older exports stale.
pub(crate) const EXPORT_FACTS_VERSION: u32 = 1;
/// Largest README read for its `configs:`.
const MAX_README_BYTES: u64 = 1 << 20;
/// Most files of a revision the split inference looks at.
const MAX_DATASET_FILES: usize = 100_000;
/// Most configs exported (more is `DatasetWithTooManyConfigsError` in the inference already).
const MAX_EXPORT_CONFIGS: usize = 64;
/// Attempts to move `refs/convert/parquet` when another export moves it at the same time.
const REF_ATTEMPTS: usize = 8;

/// What the export of one source commit produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ExportFacts {
    /// The `refs/convert/parquet` commit holding the files (none when nothing was exported).
    pub export_commit: Option<String>,
    pub configs: Vec<ExportConfig>,
    /// Configs (or the whole dataset, `config: None`) that could not be exported.
    pub failed: Vec<ExportFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExportConfig {
    pub name: String,
    pub default: bool,
    pub splits: Vec<ExportSplit>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExportSplit {
    pub name: String,
    /// `{split}`, or `partial-{split}` when only a prefix was exported.
    pub dir: String,
    pub partial: bool,
    pub features: Vec<(String, Json)>,
    pub files: Vec<ExportFile>,
    pub num_rows: u64,
    /// Bytes of the source files (of the linked parquet files for parquet splits).
    pub original_bytes: u64,
    /// Uncompressed size of the exported columns (the viewer's `num_bytes_memory`).
    pub memory_bytes: u64,
    pub statistics: Vec<serde_json::Value>,
    pub statistics_partial: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExportFile {
    /// Name in the split's folder of the export tree (`{config}/{dir}/NNNN.parquet`).
    pub name: String,
    pub size: u64,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExportFailure {
    pub config: Option<String>,
    /// The viewer's error code (`EmptyDatasetError`, `DatasetGenerationError`, ...).
    pub kind: String,
    pub error: String,
}

impl ExportSplit {
    pub(crate) fn features(&self) -> Features {
        Features(self.features.clone())
    }
}

/// The fact key of a source commit's export.
pub(crate) fn export_key(repo: &RepoRecord, commit: &ObjectId) -> String {
    format!("parquet:{}:{}", repo.id, commit.to_hex())
}

/// A split as converted or linked, before it is committed: its tree entries by file name.
pub(crate) struct BuiltSplit {
    pub split: ExportSplit,
    pub entries: Vec<(String, EntryMode, ObjectId)>,
}

fn failure(config: Option<&str>, kind: &str, error: impl Into<String>) -> ExportFailure {
    ExportFailure { config: config.map(str::to_owned), kind: kind.to_owned(), error: error.into() }
}

impl Viewer<'_> {
    /// Runs an `export-parquet` job: exports the commit when it is still the head of `main`.
    pub(crate) async fn run_export_job(&self, task: &IndexCommit) -> Result<()> {
        let Some((repo, commit)) = self.hub.jobs().job_target(task).await? else { return Ok(()) };
        if repo.repo_type != RepoType::Dataset || self.stored_export(&repo, &commit).await?.is_some() {
            return Ok(());
        }
        // A commit `main` has moved past is not exported: the newer one's job does it.
        if self.meta.ref_target(repo.id, &main_ref()?).await? != Some(commit) {
            return Ok(());
        }
        let facts = self.export(&repo, commit).await?;
        let json =
            serde_json::to_string(&facts).map_err(|e| CoreError::Corrupt(format!("export facts: {e}")))?;
        let record =
            FactRecord { key: export_key(&repo, &commit), version: EXPORT_FACTS_VERSION, facts: json };
        self.meta.put_facts(FactTable::Commit, &record, self.now_millis()).await?;
        Ok(())
    }

    /// The stored export of `commit`, if a current one exists.
    pub(crate) async fn stored_export(
        &self,
        repo: &RepoRecord,
        commit: &ObjectId,
    ) -> Result<Option<ExportFacts>> {
        let found = self.meta.facts(FactTable::Commit, &[export_key(repo, commit)]).await?;
        Ok(found
            .into_iter()
            .find(|record| record.version == EXPORT_FACTS_VERSION)
            .and_then(|record| serde_json::from_str(&record.facts).ok()))
    }

    async fn export(&self, repo: &RepoRecord, commit: ObjectId) -> Result<ExportFacts> {
        let started = std::time::Instant::now();
        let access = FilesAccess::for_job(repo.clone());
        let root = self.hub.repos().commit_tree(&commit).await?;
        let flat = self.hub.repos().flatten(root, self.config.limits.max_repo_paths).await?;
        let mut facts = ExportFacts::default();
        let configs = match self.plan(&access, commit, &flat).await? {
            Ok(configs) => configs,
            Err(error) => {
                facts.failed.push(failure(None, error.kind(), error.to_string()));
                return Ok(facts);
            }
        };
        let mut tree: FlatTree = BTreeMap::new();
        for spec in configs.iter().take(MAX_EXPORT_CONFIGS) {
            if let Some(bad) =
                std::iter::once(&spec.name).chain(spec.splits.iter().map(|s| &s.name)).find(|n| !safe_name(n))
            {
                let why = format!(
                    "{bad:?} cannot name a folder of the export (control characters, '/', a leading '.', or over 128 bytes)"
                );
                facts.failed.push(failure(Some(&spec.name), "InvalidConfigName", why));
                continue;
            }
            match self.export_config(&access, commit, &flat, spec).await {
                Ok(built) => {
                    let mut splits = Vec::new();
                    for BuiltSplit { split, entries } in built {
                        for (name, mode, oid) in entries {
                            tree.insert(format!("{}/{}/{name}", spec.name, split.dir), (mode, oid));
                        }
                        splits.push(split);
                    }
                    facts.configs.push(ExportConfig {
                        name: spec.name.clone(),
                        default: spec.default,
                        splits,
                    });
                }
                Err(CoreError::Dataset(error) | CoreError::Viewer { message: error, .. }) => {
                    facts.failed.push(failure(Some(&spec.name), "DatasetGenerationError", error));
                }
                // A data file whose large object was unlinked (a history rewrite): the config
                // fails for good rather than the job retrying what cannot change.
                Err(CoreError::EntryNotFound { path, .. }) => {
                    let why = format!("{path}: the dataset no longer holds this file's content");
                    facts.failed.push(failure(Some(&spec.name), "FileNotFoundError", why));
                }
                Err(other) => return Err(other),
            }
        }
        if !facts.configs.is_empty() {
            facts.export_commit = Some(self.commit_export(repo, tree).await?.to_hex());
        }
        tracing::info!(repo = %repo.repo_id, %commit, configs = facts.configs.len(), failed = facts.failed.len(), elapsed_ms = started.elapsed().as_millis() as u64, "exported a dataset to parquet");
        Ok(facts)
    }

    /// The configs of the revision, or why there are none (the inference's own errors are the
    /// dataset's fault, not the job's).
    async fn plan(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        flat: &FlatTree,
    ) -> Result<std::result::Result<Vec<ConfigSpec>, SplitsError>> {
        if flat.len() > MAX_DATASET_FILES {
            return Ok(Err(SplitsError::TooManyFiles(flat.len())));
        }
        let files: Vec<RepoFile<'_>> = flat
            .iter()
            .filter(|(_, (mode, _))| matches!(mode, EntryMode::File | EntryMode::Executable))
            .map(|(path, _)| RepoFile { path, size: 0 })
            .collect();
        let readme = match flat.get("README.md") {
            Some(_) => {
                let open = self.hub.files().open_in(access, commit, "README.md").await?;
                let bytes = self.hub.files().read_to_vec(&open, 0, open.size.min(MAX_README_BYTES)).await?;
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            None => None,
        };
        Ok(infer_configs(&files, readme.as_deref()))
    }

    async fn export_config(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        flat: &FlatTree,
        spec: &ConfigSpec,
    ) -> Result<Vec<BuiltSplit>> {
        let mut out = Vec::new();
        for split in &spec.splits {
            let built = match &spec.builder {
                Builder::Parquet => {
                    self.link_parquet(access, commit, flat, &split.name, &split.files).await?
                }
                Builder::Other(name) => {
                    return Err(CoreError::Dataset(format!(
                        "the {name} builder is not supported by kura's parquet export"
                    )));
                }
                builder => {
                    let format = crate::viewer_convert::source_format(builder, &spec.builder_kwargs)?;
                    self.convert_split(access, commit, &split.name, &split.files, format).await?
                }
            };
            out.push(built);
        }
        Ok(out)
    }

    /// Commits `tree` (plus a `.gitattributes` routing parquet to LFS) on top of the export
    /// ref, retrying when another export moved it meanwhile.
    async fn commit_export(&self, repo: &RepoRecord, mut tree: FlatTree) -> Result<ObjectId> {
        let attributes = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n";
        let oid = self.objects.write(ObjectKind::Blob, attributes).await?;
        tree.insert(".gitattributes".to_owned(), (EntryMode::File, oid));
        let root = self.hub.repos().write_flat_tree(&tree).await?;
        let name =
            RefName::from_full(CONVERT_REF).map_err(|e| CoreError::Corrupt(format!("{CONVERT_REF}: {e}")))?;
        for _ in 0..REF_ATTEMPTS {
            let head = self.meta.ref_target(repo.id, &name).await?;
            if let Some(head) = head
                && self.objects.commit(&head).await?.tree == root
            {
                return Ok(head);
            }
            let seconds = self.now_millis() / 1000;
            let signature = Signature {
                name: "parquet-converter".into(),
                email: "parquet-converter@kura.invalid".into(),
                time: seconds,
                offset_minutes: 0,
            };
            let new = self
                .objects
                .write_commit(&Commit {
                    tree: root,
                    parents: head.into_iter().collect(),
                    author: signature.clone(),
                    committer: signature,
                    extra_headers: vec![],
                    message: "Update parquet files\n".into(),
                })
                .await?;
            self.meta.add_commits(repo.id, &[new]).await?;
            match self.meta.update_ref(repo.id, &name, head, Some(new), self.now_millis()).await {
                Ok(()) => return Ok(new),
                Err(StorageError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CoreError::conflict("refs/convert/parquet kept moving during the export"))
    }

    /// Stores a shard kura wrote (already hashed) as a large object of `repo`, and answers the
    /// LFS pointer blob the export tree points to.
    pub(crate) async fn store_shard(
        &self,
        repo: &RepoRecord,
        file: tokio::fs::File,
        oid: Sha256,
        size: u64,
    ) -> Result<ObjectId> {
        self.hub.xet().ingest_as_xet(oid, size, crate::upload::file_stream(file)).await?;
        self.meta.link_lfs_object(repo.id, &oid).await?;
        self.objects.write(ObjectKind::Blob, &LfsPointer { oid, size }.encode()).await
    }
}

/// Whether a config or split name can be a folder of the export tree (and a URL segment).
fn safe_name(name: &str) -> bool {
    name.len() <= 128
        && !name.starts_with('.')
        && !name.contains('/')
        && !name.chars().any(char::is_control)
        && kura_model::check_segment(name).is_ok()
}

pub(crate) fn main_ref() -> Result<RefName> {
    RefName::from_full("refs/heads/main")
        .map_err(|e| CoreError::Corrupt(format!("the default branch name: {e}")))
}
