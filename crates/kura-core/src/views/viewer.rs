//! The dataset viewer's answers, shaped as HF's dataset-viewer (`/splits`, `/first-rows`,
//! `/rows`, `/filter`, `/search`, `/parquet`, `/is-valid`). `/info`, `/size`, `/statistics` and
//! `/croissant` are JSON documents built in the service, since their shape is the `datasets`
//! library's own dicts.

use kura_dataset::features::Json;
use serde::Serialize;

pub use kura_formats::viewer::truncate::RowItem;

/// `/is-valid`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IsValidView {
    pub filter: bool,
    pub preview: bool,
    pub search: bool,
    pub statistics: bool,
    pub viewer: bool,
}

/// A split of a config, in `/splits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitItemView {
    pub config: String,
    pub dataset: String,
    pub split: String,
}

/// A config whose export has not run yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingView {
    pub config: Option<String>,
    pub dataset: String,
}

/// The viewer's error body (`CustomError`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewerErrorView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_exception: Option<String>,
    pub error: String,
}

/// A config (or the whole dataset, `config: null`) the export failed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedView {
    pub config: Option<String>,
    pub dataset: String,
    pub error: ViewerErrorView,
}

/// `/splits`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitsView {
    pub failed: Vec<FailedView>,
    pub pending: Vec<PendingView>,
    pub splits: Vec<SplitItemView>,
}

/// A column: its index, name and `datasets` feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureItemView {
    pub feature_idx: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub feature: Json,
}

/// `/first-rows`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstRowsView {
    pub config: String,
    pub dataset: String,
    pub features: Vec<FeatureItemView>,
    pub rows: Vec<RowItem>,
    pub split: String,
    pub truncated: bool,
}

/// `/rows`, `/filter` and `/search`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowsView {
    pub features: Vec<FeatureItemView>,
    pub num_rows_per_page: u64,
    pub num_rows_total: u64,
    pub partial: bool,
    pub rows: Vec<RowItem>,
}

/// A file of the export, in `/parquet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParquetFileView {
    pub config: String,
    pub dataset: String,
    pub filename: String,
    pub size: u64,
    pub split: String,
    pub url: String,
}

/// `/parquet`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParquetView {
    pub failed: Vec<FailedView>,
    pub parquet_files: Vec<ParquetFileView>,
    pub partial: bool,
    pub pending: Vec<PendingView>,
}
