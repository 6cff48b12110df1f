//! Writing a split as Parquet shards the way `datasets` does: the `huggingface` metadata
//! key, page statistics and the offset index (the page index the viewer seeks with), row
//! groups of at most `Limits::row_group_bytes`, a new shard past `Limits::shard_bytes`, and
//! content-defined chunking of pages with `datasets`' parameters (256 KiB to 1 MiB, norm 0).

use std::io::Write;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{CdcOptions, EnabledStatistics, WriterProperties};

use crate::convert::Limits;
use crate::error::Result;
use crate::features::{Features, HF_METADATA_KEY};

/// One written shard.
#[derive(Debug)]
pub struct Shard<W> {
    pub output: W,
    pub rows: u64,
}

/// Writes batches of one schema into shards made by `open`.
pub struct ShardWriter<W: Write + Send> {
    schema: SchemaRef,
    props: WriterProperties,
    open: Box<dyn FnMut() -> std::io::Result<W> + Send>,
    current: Option<(ArrowWriter<W>, u64)>,
    done: Vec<Shard<W>>,
    done_bytes: u64,
    row_group_bytes: usize,
    shard_bytes: u64,
}

/// The writer properties of an export.
pub fn export_properties(features: &Features, limits: &Limits) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_bytes(Some(limits.row_group_bytes))
        .set_content_defined_chunking(Some(CdcOptions {
            min_chunk_size: 256 << 10,
            max_chunk_size: 1 << 20,
            norm_level: 0,
        }))
        .set_key_value_metadata(Some(vec![KeyValue::new(HF_METADATA_KEY.to_owned(), features.hf_metadata())]))
        .build()
}

impl<W: Write + Send> ShardWriter<W> {
    pub fn new(
        schema: SchemaRef,
        features: &Features,
        limits: &Limits,
        open: Box<dyn FnMut() -> std::io::Result<W> + Send>,
    ) -> Self {
        Self {
            schema,
            props: export_properties(features, limits),
            open,
            current: None,
            done: Vec::new(),
            done_bytes: 0,
            row_group_bytes: limits.row_group_bytes,
            shard_bytes: limits.shard_bytes,
        }
    }

    /// Bytes written so far, over every shard (the open one's buffered rows included).
    pub fn bytes(&self) -> u64 {
        let open =
            self.current.as_ref().map_or(0, |(w, _)| (w.bytes_written() + w.in_progress_size()) as u64);
        self.done_bytes + open
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.current.is_none() {
            let output = (self.open)()?;
            let writer = ArrowWriter::try_new(output, self.schema.clone(), Some(self.props.clone()))?;
            self.current = Some((writer, 0));
        }
        let Some((writer, rows)) = self.current.as_mut() else { return Ok(()) };
        writer.write(batch)?;
        *rows += batch.num_rows() as u64;
        if writer.in_progress_size() >= self.row_group_bytes {
            writer.flush()?;
        }
        if (writer.bytes_written() + writer.in_progress_size()) as u64 >= self.shard_bytes {
            self.close_current()?;
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some((writer, rows)) = self.current.take() {
            self.done_bytes += writer.bytes_written() as u64;
            let output = writer.into_inner()?;
            self.done.push(Shard { output, rows });
        }
        Ok(())
    }

    /// Closes the last shard; a split without rows still gets one (empty) shard.
    pub fn finish(mut self) -> Result<Vec<Shard<W>>> {
        if self.current.is_none() && self.done.is_empty() {
            self.write(&RecordBatch::new_empty(self.schema.clone()))?;
        }
        self.close_current()?;
        Ok(self.done)
    }
}
