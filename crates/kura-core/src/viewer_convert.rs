//! The work of the parquet export on one split: converting text and Arrow files into shards
//! (on the blocking pool, reading the repo's files through its read proof as a `std::io`
//! stream, writing to anonymous temp files hashed on the way), or linking parquet files after
//! checking their footers; and the split's column statistics, over a bounded prefix.

use std::io::{Seek, Write};
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use kura_dataset::RecordBatch;
use kura_dataset::cells::rows_of;
use kura_dataset::convert::{Limits as ConvertLimits, SourceFormat, infer_schema};
use kura_dataset::features::{Features, features_of};
use kura_dataset::read::read_rows;
use kura_dataset::{DatasetError, RangeSource, TableMeta, batches::Batches, shards::ShardWriter};
use kura_formats::viewer::splits::Builder;
use kura_formats::viewer::stats::ColumnStats;
use kura_git::EntryMode;
use kura_model::{ObjectId, Sha256};
use serde_json::{Map, Value};
use sha2::Digest;

use crate::Hub;
use crate::auth::FilesAccess;
use crate::browse::FlatTree;
use crate::error::{CoreError, Result};
use crate::read_proof::OpenFile;
use crate::services::Viewer;
use crate::viewer_export::{BuiltSplit, ExportFile, ExportSplit};

/// Cells the statistics of one split take at most (over all its columns).
const STATS_MAX_CELLS: u64 = 20_000_000;
/// Largest byte range read from a parquet file at once.
const MAX_RANGE_BYTES: u64 = 576 << 20;
/// Rows read at a time for the statistics of a linked parquet file.
const STATS_READ_ROWS: usize = 1_000;
/// Most source files of one split.
const MAX_SPLIT_FILES: usize = 10_000;

impl From<DatasetError> for CoreError {
    fn from(error: DatasetError) -> Self {
        match error {
            DatasetError::Io(io) => CoreError::Storage(kura_storage::StorageError::backend(io)),
            DatasetError::TooBig(message) => CoreError::Viewer { code: "TooBigContentError", message },
            other => CoreError::Dataset(other.to_string()),
        }
    }
}

/// The converter's input format for a builder and its YAML parameters.
pub(crate) fn source_format(builder: &Builder, kwargs: &Map<String, Value>) -> Result<SourceFormat> {
    let separator = kwargs.get("sep").or_else(|| kwargs.get("delimiter")).and_then(Value::as_str);
    Ok(match builder {
        Builder::Csv | Builder::Tsv => {
            let default = if *builder == Builder::Tsv { "\t" } else { "," };
            match separator.unwrap_or(default).as_bytes() {
                [byte] => SourceFormat::Csv { delimiter: *byte },
                _ => return Err(CoreError::Dataset("the csv separator must be one byte".into())),
            }
        }
        Builder::Json if kwargs.contains_key("field") => {
            return Err(CoreError::Dataset("json files read from a `field` are not supported".into()));
        }
        Builder::Json => SourceFormat::Json,
        Builder::Text => SourceFormat::Text,
        Builder::Arrow => SourceFormat::Arrow,
        Builder::Parquet | Builder::Other(_) => {
            return Err(CoreError::Dataset(format!("the {} builder is not converted", builder.module())));
        }
    })
}

/// A repo file read by byte ranges through its read proof.
pub(crate) struct OpenRange {
    pub hub: Hub,
    pub file: OpenFile,
}

impl RangeSource for OpenRange {
    fn size(&self) -> u64 {
        self.file.size
    }

    fn read(&self, range: Range<u64>) -> BoxFuture<'_, std::io::Result<Bytes>> {
        Box::pin(async move {
            let len = range.end.saturating_sub(range.start);
            // The reader asks for footers and column chunks, which `TableMeta` bounds; a larger
            // range is a file lying about its layout.
            if len > MAX_RANGE_BYTES {
                return Err(std::io::Error::other(format!(
                    "a read of {len} bytes (at most {MAX_RANGE_BYTES})"
                )));
            }
            let bytes = self.hub.files().read_to_vec(&self.file, range.start, len).await;
            bytes.map(Bytes::from).map_err(std::io::Error::other)
        })
    }
}

/// A temp file that hashes what is written to it.
struct HashingFile {
    file: std::fs::File,
    hasher: sha2::Sha256,
    size: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Statistics of a split's columns, fed batch by batch until the cell budget is spent.
pub(crate) struct StatsCollector {
    columns: Vec<Option<ColumnStats>>,
    names: Vec<String>,
    features: Features,
    max_rows: u64,
    rows: u64,
    partial: bool,
}

impl StatsCollector {
    pub(crate) fn new(features: &Features) -> Self {
        let columns: Vec<Option<ColumnStats>> =
            features.0.iter().map(|(name, feature)| ColumnStats::new(name, &feature.to_value())).collect();
        let names = features.0.iter().map(|(name, _)| name.clone()).collect();
        let max_rows = STATS_MAX_CELLS / (features.0.len().max(1) as u64);
        Self { columns, names, features: features.clone(), max_rows, rows: 0, partial: false }
    }

    pub(crate) fn full(&self) -> bool {
        self.rows >= self.max_rows
    }

    pub(crate) fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.full() {
            self.partial |= batch.num_rows() > 0;
            return Ok(());
        }
        let room = usize::try_from(self.max_rows - self.rows).unwrap_or(usize::MAX);
        let batch = batch.slice(0, batch.num_rows().min(room));
        let rows = match rows_of(std::slice::from_ref(&batch), &self.features, self.rows, &|_| String::new())
        {
            Ok(rows) => rows,
            // Rows too large to look at end the statistics (they describe the rows before).
            Err(DatasetError::TooBig(_)) => {
                (self.partial, self.max_rows) = (true, self.rows);
                return Ok(());
            }
            Err(other) => return Err(other.into()),
        };
        for row in &rows {
            for (stats, name) in self.columns.iter_mut().zip(&self.names) {
                if let Some(stats) = stats {
                    stats.push(row.get(name).unwrap_or(&Value::Null));
                }
            }
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// The `/statistics` entries, and whether they describe only a prefix.
    pub(crate) fn finish(self) -> (Vec<Value>, bool) {
        let partial = self.partial || self.columns.iter().flatten().any(ColumnStats::is_partial);
        (self.columns.into_iter().flatten().map(ColumnStats::finish).collect(), partial)
    }
}

/// Set when dropped: tells a conversion on the blocking pool that nobody waits for it.
#[derive(Default)]
struct Cancel(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn memory_of(meta: &TableMeta) -> u64 {
    meta.metadata().row_groups().iter().map(|g| u64::try_from(g.total_byte_size()).unwrap_or(0)).sum()
}

impl Viewer<'_> {
    async fn open_split(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        files: &[String],
    ) -> Result<Vec<OpenFile>> {
        if files.len() > MAX_SPLIT_FILES {
            return Err(CoreError::Dataset(format!(
                "a split has {} files; at most {MAX_SPLIT_FILES}",
                files.len()
            )));
        }
        let mut out = Vec::with_capacity(files.len());
        for path in files {
            out.push(self.hub.files().open_in(access, commit, path).await?);
        }
        Ok(out)
    }

    /// Links a split's parquet files into the export after reading their footers.
    pub(crate) async fn link_parquet(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        flat: &FlatTree,
        split: &str,
        files: &[String],
    ) -> Result<BuiltSplit> {
        let opens = self.open_split(access, commit, files).await?;
        let mut built = BuiltSplit { split: empty_split(split, false), entries: Vec::new() };
        let mut stats: Option<StatsCollector> = None;
        for (index, open) in opens.into_iter().enumerate() {
            let size = open.size;
            let (mode, oid) = flat.get(open.path.as_str()).copied().unwrap_or((EntryMode::File, open.blob));
            let source: Arc<dyn RangeSource> = Arc::new(OpenRange { hub: self.hub.clone(), file: open });
            let meta = TableMeta::load(source.clone()).await?;
            if index == 0 {
                built.split.features = meta.features.0.clone();
            }
            let stats = stats.get_or_insert_with(|| StatsCollector::new(&meta.features));
            let mut offset = 0;
            while !stats.full() && offset < meta.num_rows {
                let batches = match read_rows(source.clone(), &meta, offset, STATS_READ_ROWS).await {
                    Ok(batches) => batches,
                    Err(DatasetError::TooBig(_)) => break,
                    Err(other) => return Err(other.into()),
                };
                for batch in batches {
                    stats.push(&batch)?;
                }
                offset += STATS_READ_ROWS as u64;
            }
            if offset < meta.num_rows {
                stats.partial = true;
            }
            let name = format!("{index:04}.parquet");
            built.split.files.push(ExportFile { name: name.clone(), size, rows: meta.num_rows });
            built.split.num_rows += meta.num_rows;
            built.split.original_bytes += size;
            built.split.memory_bytes += memory_of(&meta);
            built.entries.push((
                name,
                if mode == EntryMode::Executable { EntryMode::File } else { mode },
                oid,
            ));
        }
        if let Some(stats) = stats {
            (built.split.statistics, built.split.statistics_partial) = stats.finish();
        }
        Ok(built)
    }

    /// Converts a split's files into parquet shards, stored as the dataset's own objects.
    pub(crate) async fn convert_split(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        split: &str,
        files: &[String],
        format: SourceFormat,
    ) -> Result<BuiltSplit> {
        let opens = self.open_split(access, commit, files).await?;
        let Some(first) = opens.first() else {
            return Err(CoreError::Dataset(format!("the split {split} has no files")));
        };
        let limits = ConvertLimits::default();
        let prefix = self.hub.files().read_to_vec(first, 0, limits.infer_bytes as u64).await?;
        let complete = prefix.len() as u64 >= first.size;
        let schema = infer_schema(format, &prefix, complete, &limits)?;
        drop(prefix);
        let features = features_of(&schema.schema);
        let cap = self.config.limits.viewer_export_max_bytes;
        let original_bytes: u64 = opens.iter().map(|o| o.size).sum();
        let (hub, handle) = (self.hub.clone(), tokio::runtime::Handle::current());
        let conversion_features = features.clone();
        // A job cut short (its timeout drops this future) stops the conversion too.
        let cancel = Cancel::default();
        let cancelled = cancel.0.clone();
        let run = move || -> Result<_> {
            let open_shard = || -> std::io::Result<HashingFile> {
                Ok(HashingFile { file: tempfile::tempfile()?, hasher: sha2::Sha256::new(), size: 0 })
            };
            let mut writer =
                ShardWriter::new(schema.schema.clone(), &conversion_features, &limits, Box::new(open_shard));
            let mut stats = StatsCollector::new(&conversion_features);
            let (mut partial, mut memory) = (false, 0u64);
            'files: for open in &opens {
                let stream = handle.block_on(hub.files().read_file(open, 0, open.size))?;
                let reader = tokio_util::io::StreamReader::new(stream.map_err(std::io::Error::other));
                let reader = tokio_util::io::SyncIoBridge::new_with_handle(reader, handle.clone());
                for batch in Batches::new(format, &schema, std::io::BufReader::new(reader), &limits)? {
                    let batch = batch?;
                    if cancelled.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(CoreError::Corrupt("the conversion was cancelled".into()));
                    }
                    // Past the cap, the rest is left out (a split ending right at it is whole).
                    if writer.bytes() >= cap {
                        partial = true;
                        break 'files;
                    }
                    memory += batch.get_array_memory_size() as u64;
                    stats.push(&batch)?;
                    writer.write(&batch)?;
                }
            }
            Ok((writer.finish()?, stats.finish(), partial, memory))
        };
        let (shards, (statistics, statistics_partial), partial, memory_bytes) =
            tokio::task::spawn_blocking(run)
                .await
                .map_err(|error| CoreError::Corrupt(format!("the parquet conversion failed: {error}")))??;
        drop(cancel);
        let mut built = BuiltSplit { split: empty_split(split, partial), entries: Vec::new() };
        built.split.features = features.0;
        built.split.original_bytes = original_bytes;
        built.split.memory_bytes = memory_bytes;
        (built.split.statistics, built.split.statistics_partial) =
            (statistics, statistics_partial || partial);
        for (index, shard) in shards.into_iter().enumerate() {
            let HashingFile { mut file, hasher, size } = shard.output;
            file.rewind().map_err(|e| CoreError::Storage(kura_storage::StorageError::backend(e)))?;
            let oid = Sha256(hasher.finalize().into());
            let pointer = self.store_shard(access.repo(), tokio::fs::File::from_std(file), oid, size).await?;
            let name = format!("{index:04}.parquet");
            built.split.files.push(ExportFile { name: name.clone(), size, rows: shard.rows });
            built.split.num_rows += shard.rows;
            built.entries.push((name, EntryMode::File, pointer));
        }
        Ok(built)
    }
}

fn empty_split(name: &str, partial: bool) -> ExportSplit {
    ExportSplit {
        name: name.to_owned(),
        dir: if partial { format!("partial-{name}") } else { name.to_owned() },
        partial,
        features: Vec::new(),
        files: Vec::new(),
        num_rows: 0,
        original_bytes: 0,
        memory_bytes: 0,
        statistics: Vec::new(),
        statistics_partial: false,
    }
}
