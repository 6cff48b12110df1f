//! Rows of a Parquet file, read by byte ranges. `TableMeta::load` reads the footer and the
//! page index (offset index: where each page starts and its first row) with a budget on their
//! size; `read_rows` maps a row range to the row groups it touches and lets the Arrow reader
//! skip every page outside the range, so a page of rows at any offset costs a few ranged
//! reads, never the whole file.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, TryStreamExt};
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};

use crate::error::{DatasetError, Result};
use crate::features::{Features, features_of};

/// The largest footer (metadata and page index) kura reads: a file whose metadata is larger
/// is refused instead of being held in memory.
pub const MAX_FOOTER_BYTES: u64 = 64 << 20;
/// Most rows one `read_rows` call returns.
pub const MAX_READ_ROWS: usize = 10_000;

/// Where a table's bytes are: ranged reads of a file of known size.
pub trait RangeSource: Send + Sync {
    fn size(&self) -> u64;
    fn read(&self, range: Range<u64>) -> BoxFuture<'_, std::io::Result<Bytes>>;
}

/// What kura knows of a Parquet file once its footer is read: shared and cached by callers.
#[derive(Debug, Clone)]
pub struct TableMeta {
    pub arrow: ArrowReaderMetadata,
    pub features: Features,
    pub num_rows: u64,
}

impl TableMeta {
    /// Reads and checks the footer of `source` (with its page index when it has one).
    pub async fn load(source: Arc<dyn RangeSource>) -> Result<Self> {
        let size = source.size();
        if size < 12 {
            return Err(DatasetError::Invalid("the file is too small to be Parquet".into()));
        }
        let tail = source.read(size - 8..size).await?;
        if tail.len() != 8 || &tail[4..] != b"PAR1" {
            return Err(DatasetError::Invalid("the file does not end with the Parquet magic bytes".into()));
        }
        let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
        if footer > MAX_FOOTER_BYTES || footer + 8 > size {
            return Err(DatasetError::TooBig(format!(
                "the Parquet footer is {footer} bytes; kura reads footers of at most {MAX_FOOTER_BYTES} bytes"
            )));
        }
        let mut reader = SourceReader { source, meta: None };
        let mut meta_reader = ParquetMetaDataReader::new()
            .with_offset_index_policy(PageIndexPolicy::Optional)
            .with_column_index_policy(PageIndexPolicy::Skip)
            .with_prefetch_hint(Some(usize::try_from(footer + 8).unwrap_or(usize::MAX)));
        meta_reader.try_load(&mut reader, size).await?;
        let metadata = Arc::new(meta_reader.finish()?);
        check_index_size(&metadata)?;
        let arrow = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new())?;
        let features = features_of(arrow.schema());
        let num_rows = u64::try_from(metadata.file_metadata().num_rows()).unwrap_or(0);
        Ok(Self { arrow, features, num_rows })
    }

    pub fn schema(&self) -> &SchemaRef {
        self.arrow.schema()
    }

    pub fn metadata(&self) -> &Arc<ParquetMetaData> {
        self.arrow.metadata()
    }

    /// Bytes this entry holds in memory, for a cache's weigher.
    pub fn memory_size(&self) -> usize {
        self.metadata().memory_size() + self.features.memory_size()
    }
}

/// The page index of a file can be far larger than its footer suggests; bound it too.
fn check_index_size(metadata: &ParquetMetaData) -> Result<()> {
    let size = metadata.memory_size() as u64;
    if size > 4 * MAX_FOOTER_BYTES {
        return Err(DatasetError::TooBig(format!("the Parquet metadata takes {size} bytes in memory")));
    }
    Ok(())
}

/// Rows `offset..offset + limit` of the file (fewer at its end), as Arrow batches.
pub async fn read_rows(
    source: Arc<dyn RangeSource>,
    meta: &TableMeta,
    offset: u64,
    limit: usize,
) -> Result<Vec<RecordBatch>> {
    let limit = limit.min(MAX_READ_ROWS);
    if limit == 0 || offset >= meta.num_rows {
        return Ok(Vec::new());
    }
    // The row groups the range touches, and the offset within the first of them.
    let mut groups = Vec::new();
    let mut start = 0u64;
    let mut skip = 0u64;
    let end = offset + limit as u64;
    for (index, group) in meta.metadata().row_groups().iter().enumerate() {
        let rows = u64::try_from(group.num_rows()).unwrap_or(0);
        if start + rows > offset && start < end {
            if groups.is_empty() {
                skip = offset - start;
            }
            groups.push(index);
        }
        start += rows;
    }
    let reader = SourceReader { source, meta: Some(meta.metadata().clone()) };
    let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta.arrow.clone())
        .with_row_groups(groups)
        .with_offset(usize::try_from(skip).unwrap_or(usize::MAX))
        .with_limit(limit)
        .with_batch_size(limit.clamp(1, 1024))
        .build()?;
    Ok(stream.try_collect().await?)
}

/// The Arrow reader's view of a `RangeSource`.
struct SourceReader {
    source: Arc<dyn RangeSource>,
    meta: Option<Arc<ParquetMetaData>>,
}

fn io(error: std::io::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(error))
}

impl AsyncFileReader for SourceReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let size = self.source.size();
        async move {
            if range.start > range.end || range.end > size {
                return Err(parquet::errors::ParquetError::General(format!(
                    "the file names bytes {range:?} past its end ({size})"
                )));
            }
            self.source.read(range).await.map_err(io)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        let meta = self.meta.clone();
        async move { meta.ok_or_else(|| parquet::errors::ParquetError::General("metadata not loaded".into())) }
            .boxed()
    }
}
