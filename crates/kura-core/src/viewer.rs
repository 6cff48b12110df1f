//! The dataset viewer's reads: what the export of a dataset's `main` holds, served as HF's
//! dataset-viewer API answers. Every read starts from the caller's file-read authorization of
//! the dataset (`authorize_files`: private and gated datasets as for their files) and reaches
//! the export's parquet files only through that proof and the export commit the dataset's own
//! facts name. Rows are read by range (`kura_dataset::read`): a page of rows costs its footer
//! (cached) and the pages it touches, never a whole file.

use std::sync::Arc;

use kura_dataset::features::Features;
use kura_dataset::read::read_rows;
use kura_dataset::{RangeSource, RecordBatch, TableMeta};
use kura_model::{ObjectId, RepoType};
use kura_storage::RepoRecord;
use serde_json::{Map, Value};

use crate::Identity;
use crate::auth::FilesAccess;
use crate::error::{CoreError, Result};
use crate::services::Viewer;
use crate::viewer_convert::OpenRange;
use crate::viewer_export::{CONVERT_REF, ExportConfig, ExportFacts, ExportSplit, main_ref};
use crate::views::{
    FailedView, FeatureItemView, IsValidView, ParquetFileView, ParquetView, SplitItemView, SplitsView,
    ViewerErrorView,
};

/// An answer and the dataset commit it was computed on (`X-Revision`).
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub revision: ObjectId,
    pub body: T,
}

/// The export of a dataset's `main`, read through a caller's authorization.
pub(crate) struct Ready {
    pub access: FilesAccess,
    pub main: ObjectId,
    /// The export commit; none when every config failed.
    pub export: Option<ObjectId>,
    pub facts: ExportFacts,
}

/// A viewer error with its `X-Error-Code`.
pub(crate) fn viewer_error(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::Viewer { code, message: message.into() }
}

pub(crate) fn not_ready() -> CoreError {
    viewer_error(
        "ResponseNotReady",
        "The server is busier than usual and the response is not ready yet. Please retry later.",
    )
}

pub(crate) fn not_found() -> CoreError {
    viewer_error("ResponseNotFound", "Not found.")
}

/// Percent-encodes one URL path segment.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) fn feature_items(features: &Features) -> Vec<FeatureItemView> {
    features
        .0
        .iter()
        .enumerate()
        .map(|(feature_idx, (name, feature))| FeatureItemView {
            feature_idx,
            name: name.clone(),
            feature: feature.clone(),
        })
        .collect()
}

fn failed_views(dataset: &str, facts: &ExportFacts, config: Option<&str>) -> Vec<FailedView> {
    facts
        .failed
        .iter()
        .filter(|f| config.is_none() || f.config.as_deref() == config)
        .map(|f| FailedView {
            config: f.config.clone(),
            dataset: dataset.to_owned(),
            error: ViewerErrorView { cause_exception: Some(f.kind.clone()), error: f.error.clone() },
        })
        .collect()
}

impl Ready {
    /// The config and split asked for: a failed config answers its export error, an unknown
    /// one `ResponseNotFound`.
    pub(crate) fn split(&self, config: &str, split: &str) -> Result<(&ExportConfig, &ExportSplit)> {
        let config = self.config(config)?;
        let split = config.splits.iter().find(|s| s.name == split).ok_or_else(not_found)?;
        Ok((config, split))
    }

    pub(crate) fn config(&self, config: &str) -> Result<&ExportConfig> {
        if let Some(failure) = self.facts.failed.iter().find(|f| f.config.as_deref() == Some(config)) {
            return Err(viewer_error("DatasetGenerationError", failure.error.clone()));
        }
        self.facts.configs.iter().find(|c| c.name == config).ok_or_else(not_found)
    }

    /// Configs named by an optional `config` parameter.
    pub(crate) fn configs(&self, config: Option<&str>) -> Result<Vec<&ExportConfig>> {
        match config {
            Some(name) => Ok(vec![self.config(name)?]),
            None => Ok(self.facts.configs.iter().collect()),
        }
    }

    pub(crate) fn partial(&self) -> bool {
        self.facts.configs.iter().flat_map(|c| &c.splits).any(|s| s.partial)
    }
}

impl Viewer<'_> {
    /// The dataset's `main` and its export, if done (queued when missing), for a caller who
    /// may read the dataset's files.
    async fn current(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
    ) -> Result<(FilesAccess, ObjectId, Option<ExportFacts>)> {
        let access = self.hub.accounts().authorize_files(identity, repo).await?;
        if repo.repo_type != RepoType::Dataset {
            return Err(CoreError::RepoNotFound);
        }
        let main = self.meta.ref_target(repo.id, &main_ref()?).await?.ok_or_else(|| {
            viewer_error("EmptyDatasetError", "The dataset has no main branch: it is empty.")
        })?;
        let facts = self.stored_export(repo, &main).await?;
        if facts.is_none() {
            self.hub.jobs().queue_export(repo, &main, false).await?;
        }
        Ok((access, main, facts))
    }

    /// The finished export, or `ResponseNotReady`; a dataset whose export failed as a whole
    /// answers the failure.
    pub(crate) async fn ready(&self, identity: &Identity, repo: &RepoRecord) -> Result<Ready> {
        let (access, main, facts) = self.current(identity, repo).await?;
        let facts = facts.ok_or_else(not_ready)?;
        let export = facts.export_commit.as_deref().and_then(|hex| ObjectId::from_hex(hex).ok());
        let whole = facts.failed.iter().find(|f| f.config.is_none());
        if whole.is_some() || (export.is_none() && facts.failed.is_empty()) {
            let failure = whole;
            let code = match failure.map(|f| f.kind.as_str()) {
                Some("EmptyDatasetError") => "EmptyDatasetError",
                Some("DataFilesNotFoundError") => "DataFilesNotFoundError",
                Some("DatasetWithTooManyConfigsError") => "DatasetWithTooManyConfigsError",
                _ => "ConfigNamesError",
            };
            let message =
                failure.map_or_else(|| "The dataset has no data files.".to_owned(), |f| f.error.clone());
            return Err(viewer_error(code, message));
        }
        Ok(Ready { access, main, export, facts })
    }

    /// `/is-valid`: all false while the export is pending or when it has nothing.
    pub async fn is_valid(&self, identity: &Identity, repo: &RepoRecord) -> Result<Answer<IsValidView>> {
        let (_, main, facts) = self.current(identity, repo).await?;
        let mut view = IsValidView::default();
        if let Some(facts) = facts.filter(|f| f.export_commit.is_some()) {
            let splits: Vec<&ExportSplit> = facts.configs.iter().flat_map(|c| &c.splits).collect();
            let any = !splits.is_empty();
            view = IsValidView {
                viewer: any,
                preview: any,
                filter: any,
                statistics: splits.iter().any(|s| !s.statistics.is_empty()),
                search: splits.iter().any(|s| has_string_column(&s.features())),
            };
        }
        Ok(Answer { revision: main, body: view })
    }

    /// `/splits`.
    pub async fn splits(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        config: Option<&str>,
    ) -> Result<Answer<SplitsView>> {
        let ready = self.ready(identity, repo).await?;
        let dataset = repo.repo_id.to_string();
        let splits = ready
            .configs(config)?
            .into_iter()
            .flat_map(|c| {
                c.splits.iter().map(|s| SplitItemView {
                    config: c.name.clone(),
                    dataset: dataset.clone(),
                    split: s.name.clone(),
                })
            })
            .collect();
        let failed = failed_views(&dataset, &ready.facts, config);
        Ok(Answer { revision: ready.main, body: SplitsView { failed, pending: Vec::new(), splits } })
    }

    /// `/parquet`: the export's files, with `resolve` URLs on `refs/convert/parquet`.
    pub async fn parquet(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        config: Option<&str>,
        base_url: &str,
    ) -> Result<Answer<ParquetView>> {
        let ready = self.ready(identity, repo).await?;
        let dataset = repo.repo_id.to_string();
        let mut files = Vec::new();
        for c in ready.configs(config)? {
            for s in &c.splits {
                for file in &s.files {
                    files.push(ParquetFileView {
                        config: c.name.clone(),
                        dataset: dataset.clone(),
                        filename: file.name.clone(),
                        size: file.size,
                        split: s.name.clone(),
                        url: resolve_url(base_url, &dataset, &c.name, &s.dir, &file.name),
                    });
                }
            }
        }
        let view = ParquetView {
            failed: failed_views(&dataset, &ready.facts, config),
            parquet_files: files,
            partial: ready.partial(),
            pending: Vec::new(),
        };
        Ok(Answer { revision: ready.main, body: view })
    }

    /// `GET /api/datasets/{id}/parquet[/{config}[/{split}]]`: the per-file URLs, nested by
    /// config and split as far as the path does not name them.
    pub async fn parquet_urls(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        config: Option<&str>,
        split: Option<&str>,
        base_url: &str,
    ) -> Result<Value> {
        let ready = self.ready(identity, repo).await?;
        let dataset = repo.repo_id.to_string();
        let urls = |c: &ExportConfig, s: &ExportSplit| -> Value {
            (0..s.files.len())
                .map(|n| {
                    Value::String(format!(
                        "{base_url}/api/datasets/{dataset}/parquet/{}/{}/{n}.parquet",
                        segment(&c.name),
                        segment(&s.name)
                    ))
                })
                .collect()
        };
        Ok(match (config, split) {
            (Some(c), Some(s)) => {
                let (c, s) = ready.split(c, s)?;
                urls(c, s)
            }
            (Some(c), None) => {
                let c = ready.config(c)?;
                Value::Object(c.splits.iter().map(|s| (s.name.clone(), urls(c, s))).collect())
            }
            _ => Value::Object(
                ready
                    .facts
                    .configs
                    .iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            Value::Object(c.splits.iter().map(|s| (s.name.clone(), urls(c, s))).collect()),
                        )
                    })
                    .collect(),
            ),
        })
    }

    /// Where `/api/datasets/{id}/parquet/{config}/{split}/{n}.parquet` redirects to.
    pub async fn parquet_file_url(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        config: &str,
        split: &str,
        index: usize,
        base_url: &str,
    ) -> Result<String> {
        let ready = self.ready(identity, repo).await?;
        let (c, s) = ready.split(config, split)?;
        let file = s.files.get(index).ok_or_else(not_found)?;
        Ok(resolve_url(base_url, &repo.repo_id.to_string(), &c.name, &s.dir, &file.name))
    }

    /// A file of the export, opened through the caller's proof, and its parsed footer.
    pub(crate) async fn table(
        &self,
        ready: &Ready,
        config: &str,
        split: &ExportSplit,
        index: usize,
    ) -> Result<(Arc<dyn RangeSource>, Arc<TableMeta>)> {
        let file = split.files.get(index).ok_or_else(not_found)?;
        let path = format!("{config}/{}/{}", split.dir, file.name);
        let export = ready.export.ok_or_else(not_found)?;
        let open = self.hub.files().open_at(&ready.access, export, &path).await?;
        let key = open.etag();
        let source: Arc<dyn RangeSource> = Arc::new(OpenRange { hub: self.hub.clone(), file: open });
        if let Some(meta) = self.hub.viewer_state.tables.get(&key) {
            return Ok((source, meta));
        }
        let meta = Arc::new(TableMeta::load(source.clone()).await?);
        let weight = meta.memory_size() as u64;
        self.hub.viewer_state.tables.put(key, meta.clone(), weight);
        Ok((source, meta))
    }

    /// Rows `offset..offset + length` of a split as Arrow batches, with the index of the
    /// first row returned; a page across two files reads from both.
    pub(crate) async fn read_split(
        &self,
        ready: &Ready,
        config: &str,
        split: &ExportSplit,
        offset: u64,
        length: usize,
    ) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        let (mut start, mut want) = (0u64, length as u64);
        let mut position = offset;
        for (index, file) in split.files.iter().enumerate() {
            let end = start + file.rows;
            if want > 0 && position < end && position >= start {
                let (source, meta) = self.table(ready, config, split, index).await?;
                let take = want.min(end - position);
                let batches = read_rows(source, &meta, position - start, take as usize).await?;
                let got: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
                out.extend(batches);
                want -= got.min(want);
                position += got;
                if got < take {
                    break;
                }
            }
            start = end;
        }
        Ok(out)
    }
}

/// A `resolve` URL of an export file.
fn resolve_url(base_url: &str, dataset: &str, config: &str, dir: &str, name: &str) -> String {
    format!(
        "{base_url}/datasets/{dataset}/resolve/{}/{}/{}/{}",
        segment(CONVERT_REF),
        segment(config),
        segment(dir),
        segment(name)
    )
}

pub(crate) fn has_string_column(features: &Features) -> bool {
    features.0.iter().any(|(_, f)| is_string(&f.to_value()))
}

pub(crate) fn is_string(feature: &Value) -> bool {
    feature.get("_type").and_then(Value::as_str) == Some("Value")
        && matches!(feature.get("dtype").and_then(Value::as_str), Some("string" | "large_string"))
}

/// The row maps of `batches` (rows of a split from `first_row_idx`) as the viewer's cells.
pub(crate) fn row_maps(
    batches: &[RecordBatch],
    features: &Features,
    first_row_idx: u64,
    media: &dyn Fn(&kura_dataset::cells::MediaCell<'_>) -> String,
) -> Result<Vec<Map<String, Value>>> {
    Ok(kura_dataset::cells::rows_of(batches, features, first_row_idx, media)?)
}
