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
use crate::thrift_guard::{self, GuardError};

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
        // The footer is checked before the parquet crate decodes it (see `thrift_guard`).
        let bytes = source.read(size - 8 - footer..size - 8).await?;
        if bytes.len() as u64 != footer {
            return Err(DatasetError::Invalid("the Parquet footer is cut short".into()));
        }
        thrift_guard::check(thrift_guard::FILE_META_DATA, &bytes).map_err(|e| refused("footer", e))?;
        thrift_guard::check_schema_tree(&bytes).map_err(|e| refused("footer", e))?;
        let metadata = ParquetMetaDataReader::decode_metadata(&bytes)?;
        drop(bytes);
        let spans = offset_index_spans(&metadata, size)?;
        let mut reader = SourceReader { source, meta: None, guard: Guard::OffsetIndexes(spans) };
        let mut meta_reader = ParquetMetaDataReader::new_with_metadata(metadata)
            .with_offset_index_policy(PageIndexPolicy::Optional)
            .with_column_index_policy(PageIndexPolicy::Skip);
        meta_reader.load_page_index(&mut reader).await?;
        let metadata = Arc::new(meta_reader.finish()?);
        check_index_size(&metadata)?;
        check_layout(&metadata, size)?;
        let natural = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new())?;
        let features = features_of(natural.schema());
        // Strings and bytes are read as views: a dictionary page's values are then shared by
        // the rows that use them instead of copied into each row (one large value used by a
        // million rows must not become a million copies).
        let arrow = match viewed(natural.schema()) {
            Some(hint) => {
                let options = ArrowReaderOptions::new().with_schema(hint);
                ArrowReaderMetadata::try_new(metadata.clone(), options).unwrap_or(natural)
            }
            None => natural,
        };
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

/// Most columns of a table the viewer reads (`datasets` and the Hub's viewer stop at 1,000).
pub const MAX_COLUMNS: usize = 1000;
/// Largest column chunk (compressed, and uncompressed) of a row group the viewer decodes:
/// `datasets` writes row groups of at most 100 MB, so real exports are far below.
pub const MAX_COLUMN_CHUNK_BYTES: i64 = 512 << 20;

fn inconsistent(why: &str) -> DatasetError {
    DatasetError::Invalid(format!("the Parquet file is inconsistent: {why}"))
}

/// Checks what the reader would otherwise trust: every column chunk inside the file and within
/// the decoding budget, and an offset index whose pages lie inside the file and start at
/// non-decreasing rows of their row group. The Arrow reader assumes these (and panics or
/// allocates on a lie).
fn check_layout(metadata: &ParquetMetaData, size: u64) -> Result<()> {
    let columns = metadata.file_metadata().schema_descr().num_columns();
    if columns > MAX_COLUMNS {
        return Err(DatasetError::TooBig(format!(
            "the table has {columns} columns; the viewer reads at most {MAX_COLUMNS}"
        )));
    }
    let inside = |start: i64, len: i64| {
        start >= 0 && len >= 0 && (start as u64).checked_add(len as u64).is_some_and(|end| end <= size)
    };
    for group in metadata.row_groups() {
        if group.num_rows() < 0 || group.num_columns() != columns {
            return Err(inconsistent("a row group's row or column count"));
        }
        for column in group.columns() {
            let start = column.dictionary_page_offset().unwrap_or(column.data_page_offset());
            let data = column.data_page_offset();
            let within =
                data.checked_sub(start).is_some_and(|gap| gap >= 0 && gap < column.compressed_size().max(1));
            if !inside(start, column.compressed_size()) || !within {
                return Err(inconsistent("a column chunk outside the file"));
            }
            if column.compressed_size() > MAX_COLUMN_CHUNK_BYTES
                || column.uncompressed_size() > MAX_COLUMN_CHUNK_BYTES
            {
                return Err(DatasetError::TooBig(format!(
                    "a column chunk holds {} bytes; the viewer decodes chunks of at most {MAX_COLUMN_CHUNK_BYTES} (rewrite the file with smaller row groups)",
                    column.uncompressed_size().max(column.compressed_size())
                )));
            }
        }
    }
    if metadata.page_index().is_none() {
        return Ok(());
    }
    for (number, group) in metadata.row_groups().iter().enumerate() {
        let pages = metadata.page_index_for_row_group(number);
        for column in 0..columns {
            let Some(locations) = pages.page_locations(column) else { continue };
            let chunk = group.column(column);
            let chunk_start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
            let chunk_end = chunk_start + chunk.compressed_size();
            let mut previous: Option<i64> = None;
            // Pages follow each other without overlapping: the reader fetches each page it
            // selects on its own, so overlapping pages would fetch the same bytes many times.
            let mut previous_end = chunk_start;
            for page in locations {
                let first = page.first_row_index;
                let ordered = match previous {
                    None => first == 0,
                    // Writers may emit a page without a row start (a value spanning pages).
                    Some(before) => first >= before && first <= group.num_rows(),
                };
                let in_chunk = page.offset >= chunk_start
                    && page
                        .offset
                        .checked_add(i64::from(page.compressed_page_size))
                        .is_some_and(|end| end <= chunk_end);
                if !ordered || page.compressed_page_size <= 0 || !in_chunk || page.offset < previous_end {
                    return Err(inconsistent("a page of the offset index"));
                }
                previous_end = page.offset + i64::from(page.compressed_page_size);
                previous = Some(first);
            }
        }
    }
    Ok(())
}

fn refused(what: &str, error: GuardError) -> DatasetError {
    DatasetError::Invalid(format!("the Parquet {what} is refused: {error}"))
}

/// Where each column chunk's offset index is, as the footer says: inside the file, and all of
/// them within one read of at most `MAX_FOOTER_BYTES` (the crate fetches them as one range).
fn offset_index_spans(metadata: &ParquetMetaData, size: u64) -> Result<Vec<Range<u64>>> {
    let mut spans = Vec::new();
    for column in metadata.row_groups().iter().flat_map(|group| group.columns()) {
        let (Some(offset), Some(len)) = (column.offset_index_offset(), column.offset_index_length()) else {
            continue;
        };
        let start = u64::try_from(offset).map_err(|_| inconsistent("an offset index before the file"))?;
        let len = u64::try_from(len).map_err(|_| inconsistent("an offset index of negative size"))?;
        let end = start.checked_add(len).filter(|end| *end <= size);
        spans.push(start..end.ok_or_else(|| inconsistent("an offset index past the end of the file"))?);
    }
    let low = spans.iter().map(|span| span.start).min().unwrap_or(0);
    let high = spans.iter().map(|span| span.end).max().unwrap_or(0);
    if high - low > MAX_FOOTER_BYTES {
        return Err(DatasetError::TooBig(format!(
            "the Parquet offset indexes span {} bytes; kura reads at most {MAX_FOOTER_BYTES}",
            high - low
        )));
    }
    Ok(spans)
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
    let reader = SourceReader { source, meta: Some(meta.metadata().clone()), guard: Guard::Pages };
    // `with_offset` and `with_limit` always make a row selection, so the reader fetches whole
    // chunks or the selected pages, each a run of whole pages that `Guard::Pages` walks from
    // its first byte. (Without a selection it would fetch whole chunks but still look pages up
    // by the offset index, at offsets the walk does not check.)
    let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta.arrow.clone())
        .with_row_groups(groups)
        .with_offset(usize::try_from(skip).unwrap_or(usize::MAX))
        .with_limit(limit)
        .with_batch_size(limit.clamp(1, 256))
        .build()?;
    // The decoders of the parquet crate trust page headers more than they should: a page they
    // cannot decode may panic deep inside them (found by fuzzing). The panic is this file's
    // fault and is answered as such.
    let collected = std::panic::AssertUnwindSafe(collect_within_budget(stream)).catch_unwind().await;
    match collected {
        Ok(batches) => batches,
        Err(_) => Err(DatasetError::Invalid("a page of the Parquet file cannot be decoded".into())),
    }
}

/// Bytes the batches of one `read_rows` may hold in memory.
pub const MAX_READ_BYTES: usize = 512 << 20;

async fn collect_within_budget(
    mut stream: parquet::arrow::async_reader::ParquetRecordBatchStream<SourceReader>,
) -> Result<Vec<RecordBatch>> {
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    while let Some(batch) = stream.try_next().await? {
        bytes += batch.get_array_memory_size();
        if bytes > MAX_READ_BYTES {
            return Err(DatasetError::TooBig(format!(
                "these rows take more than {MAX_READ_BYTES} bytes in memory; the viewer shows smaller rows"
            )));
        }
        out.push(batch);
    }
    Ok(out)
}

/// The schema with top-level strings and bytes as views, when there are any.
fn viewed(schema: &SchemaRef) -> Option<SchemaRef> {
    let mut changed = false;
    let fields: Vec<arrow_schema::FieldRef> = schema
        .fields()
        .iter()
        .map(|field| {
            let view = match field.data_type() {
                arrow_schema::DataType::Utf8 | arrow_schema::DataType::LargeUtf8 => {
                    arrow_schema::DataType::Utf8View
                }
                arrow_schema::DataType::Binary | arrow_schema::DataType::LargeBinary => {
                    arrow_schema::DataType::BinaryView
                }
                _ => return field.clone(),
            };
            changed = true;
            Arc::new(field.as_ref().clone().with_data_type(view))
        })
        .collect();
    changed.then(|| Arc::new(arrow_schema::Schema::new_with_metadata(fields, schema.metadata().clone())))
}

/// The Arrow reader's view of a `RangeSource`. Every Thrift structure the parquet crate will
/// decode from the bytes it fetches is checked by `thrift_guard` first.
struct SourceReader {
    source: Arc<dyn RangeSource>,
    meta: Option<Arc<ParquetMetaData>>,
    guard: Guard,
}

/// What the bytes a `SourceReader` fetches hold.
enum Guard {
    /// The offset indexes at these spans (while the footer is loaded).
    OffsetIndexes(Vec<Range<u64>>),
    /// Whole pages, each behind its header: a column chunk, its dictionary page or one page
    /// of its offset index (the ranges the Arrow reader fetches).
    Pages,
}

impl Guard {
    fn check(&self, range: &Range<u64>, bytes: &[u8]) -> Result<()> {
        match self {
            Guard::Pages => thrift_guard::check_pages(bytes).map_err(|e| refused("page header", e)),
            Guard::OffsetIndexes(spans) => {
                for span in spans {
                    if span.end <= range.start || span.start >= range.end {
                        continue;
                    }
                    if span.start < range.start || span.end > range.end {
                        return Err(inconsistent("an offset index read in part"));
                    }
                    let within = (span.start - range.start) as usize..(span.end - range.start) as usize;
                    thrift_guard::check(thrift_guard::OFFSET_INDEX, &bytes[within])
                        .map_err(|e| refused("offset index", e))?;
                }
                Ok(())
            }
        }
    }
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
            let bytes = self.source.read(range.clone()).await.map_err(io)?;
            if bytes.len() as u64 != range.end - range.start {
                return Err(parquet::errors::ParquetError::General(
                    "the file is shorter than it says".into(),
                ));
            }
            self.guard
                .check(&range, &bytes)
                .map_err(|e| parquet::errors::ParquetError::General(e.to_string()))?;
            Ok(bytes)
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
