//! Which configs and splits a dataset repo without a loading script has, and which files each
//! split reads, decided exactly as the Python `datasets` 5.2.0 library decides it
//! (`HubDatasetModuleFactory.get_module`, `data_files.py`, `utils/metadata.py`):
//!
//! 1. README YAML `configs:` wins: each config's `data_files` patterns (or, without them, the
//!    default patterns below under its `data_dir`) are resolved against the repo's files.
//! 2. Else the default patterns: `data/{split}-NNNNN-of-NNNNN*.*` shards; else `**/*.eval` →
//!    `logs`; else `task.toml`/`instruction.md` → `test`; else split keywords in directory names,
//!    then in file names (train|training, validation|valid|dev|val, test|testing|eval|evaluation,
//!    delimited by `-._ 0-9` or `/`); else everything is `train`.
//! 3. One builder for the whole repo, from the most common extension of the first config's files
//!    (see `splits_formats`); inferred (non-YAML) files of other formats are dropped.
//!
//! Deliberate deviations (documented, not modelled):
//! - `.huggingface.yaml` (a standalone YAML whose keys, `configs` included, override the
//!   README's) is not read; legacy `dataset_infos.json` and the README `dataset_info` key are not
//!   read either (they only pick the default of multi-config YAML repos without a marked one);
//! - a winning `.zip` is an error ([`SplitsError::ZipArchive`]): `datasets` opens the archives
//!   to choose the builder;
//! - absolute patterns and URLs match nothing;
//! - YAML is parsed as YAML 1.2 by `serde_yaml_ng` where PyYAML reads 1.1 (`default: no` is a
//!   boolean there, a string here);
//! - builder parameters of builders other than csv/json/parquet/arrow/text/conll are passed
//!   through unfiltered; a YAML `split` that is not a string is a `ValueError` here, a
//!   `TypeError` there.
//!
//! The oracle (`scripts/gen_split_cases.py`) runs `datasets` on a local directory: the code path
//! of a Hub repo, with another fsspec file system under the same glob.
//! Pure: no I/O; every input has a budget (files, configs, patterns and their length, the YAML
//! size, and the total glob-matching work).

use serde_json::{Map, Value};

#[path = "splits_formats.rs"]
mod formats;
#[path = "splits_glob.rs"]
mod glob;
#[path = "splits_resolve.rs"]
mod resolve;
#[path = "splits_yaml.rs"]
mod yaml;

pub use resolve::RepoFile;

/// Most files considered in one repo.
pub const MAX_FILES: usize = 100_000;
/// Most configs a repo may declare (HF's `DatasetWithTooManyConfigsError` beyond).
pub const MAX_CONFIGS: usize = 64;
/// Most data-file patterns over all YAML configs.
pub const MAX_PATTERNS: usize = 1_000;

/// The `datasets` packaged builder that reads a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builder {
    Csv,
    /// The csv builder with `sep: "\t"`, chosen because `.tsv` was the winning extension.
    Tsv,
    Json,
    Parquet,
    Arrow,
    Text,
    /// Any other packaged module (`imagefolder`, `webdataset`, `conll`, `harbor`, …), by name.
    Other(String),
}

impl Builder {
    /// The `datasets` module name (`csv` for both [`Builder::Csv`] and [`Builder::Tsv`]).
    pub fn module(&self) -> &str {
        match self {
            Self::Csv | Self::Tsv => "csv",
            Self::Json => "json",
            Self::Parquet => "parquet",
            Self::Arrow => "arrow",
            Self::Text => "text",
            Self::Other(name) => name,
        }
    }

    fn from_module(module: &str, ext: &str) -> Self {
        match module {
            "csv" if ext == ".tsv" => Self::Tsv,
            "csv" => Self::Csv,
            "json" => Self::Json,
            "parquet" => Self::Parquet,
            "arrow" => Self::Arrow,
            "text" => Self::Text,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One config of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSpec {
    pub name: String,
    /// The default config (the only inferred one, or the YAML one marked / named `default`).
    pub default: bool,
    pub builder: Builder,
    pub splits: Vec<SplitSpec>,
    /// Builder parameters: the extension's defaults (`sep` for `.tsv`) and the YAML ones the
    /// builder knows (`sep`, `delimiter`, `field`, `features` …).
    pub builder_kwargs: Map<String, Value>,
}

/// One split of a config: its repo paths in the order `datasets` reads them (per pattern, sorted
/// by path; a file matched by two patterns appears twice, as in `datasets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitSpec {
    pub name: String,
    pub files: Vec<String>,
}

/// Why no configs could be inferred; [`SplitsError::kind`] names the matching Python exception.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplitsError {
    #[error("too many files in the repo ({0})")]
    TooManyFiles(usize),
    #[error("too many configs ({0}, at most {MAX_CONFIGS})")]
    TooManyConfigs(usize),
    #[error("too many data_files patterns (at most {MAX_PATTERNS})")]
    TooManyPatterns,
    #[error("a data_files pattern is {0} bytes long (at most 1024)")]
    PatternTooLong(usize),
    #[error("matching the data_files patterns against the repo's files takes too long")]
    TooMuchWork,
    #[error("the README's YAML block is larger than 1 MiB")]
    ReadmeTooLarge,
    #[error("invalid README YAML: {0}")]
    InvalidYaml(String),
    #[error("invalid `configs` in the README: {0}")]
    InvalidConfigs(String),
    #[error("{0}")]
    TypeError(String),
    #[error("bad characters in config name '{0}'")]
    InvalidConfigName(String),
    #[error("invalid pattern '{0}': '**' can only be an entire path component")]
    InvalidPattern(String),
    #[error("split name should match '^\\w+(\\.\\w+)*$' but got '{0}'")]
    InvalidSplitName(String),
    #[error("unable to find '{0}'")]
    FileNotFound(String),
    #[error("the repo doesn't contain any data files{0}")]
    EmptyDataset(String),
    #[error("no (supported) data files found")]
    DataFilesNotFound,
    #[error("couldn't infer the same data file format for all splits")]
    MixedFormats,
    #[error("the data files are zip archives; their content decides the builder")]
    ZipArchive,
}

impl SplitsError {
    /// The class of the exception `datasets` raises in the same situation.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooManyFiles(_)
            | Self::TooManyPatterns
            | Self::PatternTooLong(_)
            | Self::TooMuchWork
            | Self::ReadmeTooLarge
            | Self::ZipArchive => "Unsupported",
            Self::TooManyConfigs(_) => "DatasetWithTooManyConfigsError",
            Self::InvalidYaml(_) => "YAMLError",
            Self::InvalidConfigs(_)
            | Self::InvalidPattern(_)
            | Self::InvalidSplitName(_)
            | Self::MixedFormats => "ValueError",
            Self::TypeError(_) => "TypeError",
            Self::InvalidConfigName(_) => "InvalidConfigName",
            Self::FileNotFound(_) => "FileNotFoundError",
            Self::EmptyDataset(_) => "EmptyDatasetError",
            Self::DataFilesNotFound => "DataFilesNotFoundError",
        }
    }
}

/// Infers the configs of a dataset repo from its file list and its README.md text.
pub fn infer_configs(files: &[RepoFile<'_>], readme: Option<&str>) -> Result<Vec<ConfigSpec>, SplitsError> {
    if files.len() > MAX_FILES {
        return Err(SplitsError::TooManyFiles(files.len()));
    }
    let repo = resolve::Repo::new(files);
    let configs = match readme {
        Some(text) => yaml::parse_configs(text)?,
        None => Vec::new(),
    };
    let patterns: usize =
        configs.iter().flat_map(|c| c.data_files.iter().flatten()).map(|(_, p)| p.len()).sum();
    if patterns > MAX_PATTERNS {
        return Err(SplitsError::TooManyPatterns);
    }
    // The builder is chosen once, from the first config's data_files or the default patterns.
    let first_patterns = match configs.first() {
        Some(c) if c.has_data_files_key => match &c.data_files {
            Some(p) => p.clone(),
            None => return Err(SplitsError::TypeError("data_files is null".into())),
        },
        _ => repo.data_patterns("")?,
    };
    let inferred = repo.resolve_splits("", &first_patterns)?;
    let (module, ext) = infer_module_for_splits(&inferred)?;
    let builder = Builder::from_module(module, &ext);
    let default_kwargs = formats::default_kwargs(&ext);
    if configs.is_empty() {
        let splits = inferred
            .into_iter()
            .map(|s| SplitSpec {
                files: s.files.into_iter().filter(|f| formats::keep_for_module(module, f)).collect(),
                name: s.name,
            })
            .collect();
        let config = ConfigSpec {
            name: "default".into(),
            default: true,
            builder,
            splits,
            builder_kwargs: default_kwargs,
        };
        return Ok(vec![config]);
    }
    let default_name = yaml::default_config_name(&configs)?.map(str::to_owned);
    let mut planned = Vec::with_capacity(configs.len());
    for c in &configs {
        let base = c.data_dir.as_deref().unwrap_or("");
        let patterns = match &c.data_files {
            Some(p) => p.clone(),
            None => repo.data_patterns(base).map_err(|_| {
                SplitsError::EmptyDataset(format!(" matching the patterns for config '{}'", c.name))
            })?,
        };
        if c.name.contains(['<', '>', ':', '/', '\\', '|', '?', '*']) {
            return Err(SplitsError::InvalidConfigName(c.name.clone()));
        }
        planned.push((c, base, patterns));
    }
    let mut out = Vec::with_capacity(planned.len());
    for (c, base, patterns) in planned {
        out.push(ConfigSpec {
            name: c.name.clone(),
            default: default_name.as_deref() == Some(c.name.as_str()),
            builder: builder.clone(),
            splits: repo.resolve_splits(base, &patterns)?,
            builder_kwargs: config_kwargs(module, &default_kwargs, &c.params),
        });
    }
    Ok(out)
}

/// `infer_module_for_data_files`: every split must agree on (module, default kwargs).
fn infer_module_for_splits(splits: &[SplitSpec]) -> Result<(&'static str, String), SplitsError> {
    let mut chosen: Option<Option<(&'static str, String)>> = None;
    for split in splits {
        let files: Vec<&str> = split.files.iter().map(String::as_str).collect();
        let this = formats::infer_module(&files);
        let key =
            |m: &Option<(&'static str, String)>| m.as_ref().map(|(m, e)| (*m, formats::default_kwargs(e)));
        match &chosen {
            None => chosen = Some(this),
            Some(first) if key(first) != key(&this) => return Err(SplitsError::MixedFormats),
            Some(_) => {}
        }
    }
    match chosen.flatten() {
        Some(("zip", _)) => Err(SplitsError::ZipArchive),
        Some(found) => Ok(found),
        None => Err(SplitsError::DataFilesNotFound),
    }
}

/// `{**default_builder_kwargs, **config_params}` restricted to the builder config's fields.
fn config_kwargs(
    module: &str,
    defaults: &Map<String, Value>,
    params: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = defaults.clone();
    for (k, v) in params {
        if builder_knows(module, k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Whether the module's `BuilderConfig` class has the attribute (`hasattr` in `datasets`).
fn builder_knows(module: &str, param: &str) -> bool {
    const COMMON: &[&str] = &["description", "features", "version"];
    const CSV: &[&str] = &[
        "chunksize",
        "column_names",
        "comment",
        "converters",
        "date_format",
        "decimal",
        "delimiter",
        "dialect",
        "doublequote",
        "encoding",
        "encoding_errors",
        "engine",
        "error_bad_lines",
        "escapechar",
        "false_values",
        "float_precision",
        "header",
        "index_col",
        "keep_default_na",
        "lineterminator",
        "mangle_dupe_cols",
        "memory_map",
        "na_filter",
        "na_values",
        "names",
        "nrows",
        "on_bad_lines",
        "pd_read_csv_kwargs",
        "prefix",
        "quotechar",
        "quoting",
        "sep",
        "skip_blank_lines",
        "skipfooter",
        "skipinitialspace",
        "skiprows",
        "thousands",
        "true_values",
        "usecols",
        "verbose",
        "warn_bad_lines",
    ];
    const JSON: &[&str] = &[
        "block_size",
        "chunksize",
        "encoding",
        "encoding_errors",
        "field",
        "newlines_in_values",
        "on_mixed_types",
        "parse_agent_traces",
        "use_threads",
    ];
    const PARQUET: &[&str] = &["batch_size", "columns", "filters", "fragment_scan_options", "on_bad_files"];
    const TEXT: &[&str] = &["chunksize", "encoding", "encoding_errors", "keep_linebreaks", "sample_by"];
    const CONLL: &[&str] = &["comment_prefix", "delimiter", "encoding", "encoding_errors", "skip_docstart"];
    let fields: &[&str] = match module {
        "csv" => CSV,
        "json" => JSON,
        "parquet" => PARQUET,
        "arrow" => &[],
        "text" => TEXT,
        "conll" => CONLL,
        _ => return true,
    };
    COMMON.contains(&param) || fields.contains(&param)
}

#[cfg(test)]
mod tests {
    //! Oracle cases generated by `scripts/gen_split_cases.py` with the real `datasets` 5.2.0.
    use super::*;
    use serde_json::json;

    const CASES: &str = include_str!("../../tests/data/splits/cases.json");

    fn actual(case: &Value) -> Value {
        let paths: Vec<&str> =
            case["files"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        let mut files: Vec<RepoFile<'_>> = paths.iter().map(|path| RepoFile { path, size: 1 }).collect();
        let readme = case["readme"].as_str();
        if readme.is_some() && !paths.contains(&"README.md") {
            files.push(RepoFile { path: "README.md", size: 1 });
        }
        match infer_configs(&files, readme) {
            Err(e) => json!({ "error": e.kind() }),
            Ok(configs) => json!({ "configs": configs.iter().map(|c| {
                let mut kwargs = c.builder_kwargs.clone();
                kwargs.remove("features");
                json!({
                    "name": c.name,
                    "default": c.default,
                    "builder": c.builder.module(),
                    "builder_kwargs": kwargs,
                    "splits": c.splits.iter().map(|s| json!({"name": s.name, "files": s.files})).collect::<Vec<_>>(),
                })
            }).collect::<Vec<_>>() }),
        }
    }

    fn expected(case: &Value) -> Value {
        match case.get("error") {
            Some(e) => json!({ "error": e }),
            None => json!({ "configs": case["configs"] }),
        }
    }

    #[test]
    fn matches_the_datasets_library() {
        let doc: Value = serde_json::from_str(CASES).unwrap();
        assert_eq!(doc["datasets_version"], "5.2.0");
        let cases = doc["cases"].as_array().unwrap();
        assert!(cases.len() >= 30);
        let mut failures = Vec::new();
        for case in cases {
            let (got, want) = (actual(case), expected(case));
            if got != want {
                failures.push(format!("{}:\n  got  {got}\n  want {want}", case["name"]));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases differ:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn tsv_builder_and_kwargs() {
        let files = [RepoFile { path: "train.tsv", size: 3 }];
        let configs = infer_configs(&files, None).unwrap();
        assert_eq!(configs[0].builder, Builder::Tsv);
        assert_eq!(configs[0].builder_kwargs.get("sep"), Some(&json!("\t")));
    }

    #[test]
    fn budgets() {
        let many: Vec<String> = (0..=MAX_FILES).map(|i| format!("f{i}.csv")).collect();
        let files: Vec<RepoFile<'_>> = many.iter().map(|p| RepoFile { path: p, size: 1 }).collect();
        assert_eq!(infer_configs(&files, None), Err(SplitsError::TooManyFiles(MAX_FILES + 1)));
        let configs: String =
            (0..=MAX_CONFIGS).map(|i| format!("- config_name: c{i}\n  data_files: a.csv\n")).collect();
        let readme = format!("---\nconfigs:\n{configs}---\n");
        let files = [RepoFile { path: "a.csv", size: 1 }];
        assert_eq!(infer_configs(&files, Some(&readme)), Err(SplitsError::TooManyConfigs(MAX_CONFIGS + 1)));
        let big = format!("---\nx: \"{}\"\n---\n", "a".repeat(yaml::MAX_YAML_BYTES));
        assert_eq!(infer_configs(&files, Some(&big)), Err(SplitsError::ReadmeTooLarge));
    }

    #[test]
    fn hostile_patterns_hit_a_budget() {
        let files = [RepoFile { path: "a.csv", size: 1 }];
        let long = format!("---\nconfigs:\n- config_name: x\n  data_files: \"{}*\"\n---\n", "a".repeat(2000));
        assert_eq!(infer_configs(&files, Some(&long)), Err(SplitsError::PatternTooLong(2001)));
        let paths: Vec<String> = (0..2100).map(|i| format!("x/{i}/{}", "a".repeat(990))).collect();
        let files: Vec<RepoFile<'_>> = paths.iter().map(|p| RepoFile { path: p, size: 1 }).collect();
        let slow = format!("---\nconfigs:\n- config_name: x\n  data_files: \"x{}\"\n---\n", "?".repeat(1000));
        assert_eq!(infer_configs(&files, Some(&slow)), Err(SplitsError::TooMuchWork));
    }

    #[test]
    fn large_repo_is_fast_enough() {
        let many: Vec<String> = (0..MAX_FILES).map(|i| format!("dir{}/part-{i}.parquet", i % 100)).collect();
        let files: Vec<RepoFile<'_>> = many.iter().map(|p| RepoFile { path: p, size: 1 }).collect();
        let configs = infer_configs(&files, None).unwrap();
        assert_eq!(configs[0].splits[0].files.len(), MAX_FILES);
    }
}
