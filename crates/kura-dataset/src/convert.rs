//! Conversion of a split's source files to Parquet, as `datasets` would export them: the
//! schema inferred from a bounded prefix of the first file, rows decoded in batches whose
//! size is bounded in bytes (a huge row is an error, not an allocation), and shards written
//! with the `huggingface` feature metadata, the page index, row groups of about 100 MB and
//! content-defined chunking with `datasets`' parameters, so an export re-made after an append
//! shares its unchanged pages (and so its Xet chunks) with the previous one.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::{DatasetError, Result};
use crate::json_split;

/// The formats kura converts, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv { delimiter: u8 },
    Json,
    Text,
    Arrow,
}

impl SourceFormat {
    pub fn from_path(path: &str) -> Option<Self> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => SourceFormat::Csv { delimiter: b',' },
            "tsv" => SourceFormat::Csv { delimiter: b'\t' },
            "json" | "jsonl" | "ndjson" => SourceFormat::Json,
            "txt" => SourceFormat::Text,
            "arrow" => SourceFormat::Arrow,
            _ => return None,
        })
    }
}

/// Budgets of a conversion.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Prefix of the first file the schema is inferred from.
    pub infer_bytes: usize,
    /// Input bytes one batch aims at (its row count follows from the prefix's row size).
    pub target_batch_bytes: usize,
    /// Input bytes one batch may take at most: a row larger than this is an error.
    pub max_batch_bytes: usize,
    pub max_columns: usize,
    /// A row group is closed once it holds this many bytes (`datasets`: 100 MB).
    pub row_group_bytes: usize,
    /// A shard is closed once it holds this many bytes (`datasets`: 500 MB).
    pub shard_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            infer_bytes: 16 << 20,
            target_batch_bytes: 8 << 20,
            max_batch_bytes: 128 << 20,
            max_columns: 1000,
            row_group_bytes: 100_000_000,
            shard_bytes: 500_000_000,
        }
    }
}

/// A source's schema and the batch size (rows) to decode it with.
#[derive(Debug, Clone)]
pub struct SourceSchema {
    pub schema: SchemaRef,
    pub batch_rows: usize,
}

/// Infers the schema of a source from `prefix`, the first bytes of its first file (the whole
/// file when shorter than `limits.infer_bytes`; `complete` says which).
pub fn infer_schema(
    format: SourceFormat,
    prefix: &[u8],
    complete: bool,
    limits: &Limits,
) -> Result<SourceSchema> {
    let (schema, rows, used) = match format {
        SourceFormat::Csv { delimiter } => infer_csv(prefix, complete, delimiter)?,
        SourceFormat::Json => infer_json(prefix)?,
        SourceFormat::Text => {
            let rows = prefix.iter().filter(|b| **b == b'\n').count().max(1);
            (Schema::new(vec![Field::new("text", DataType::Utf8, true)]), rows, prefix.len())
        }
        SourceFormat::Arrow => infer_arrow(prefix)?,
    };
    if schema.fields().len() > limits.max_columns {
        return Err(DatasetError::TooBig(format!(
            "the data has {} columns; kura converts at most {}",
            schema.fields().len(),
            limits.max_columns
        )));
    }
    if schema.fields().is_empty() {
        return Err(DatasetError::Invalid("no columns were found in the data".into()));
    }
    let row_bytes = (used / rows.max(1)).max(1);
    let batch_rows = (limits.target_batch_bytes / row_bytes).clamp(1, 8192);
    Ok(SourceSchema { schema: Arc::new(schema), batch_rows })
}

fn infer_csv(prefix: &[u8], complete: bool, delimiter: u8) -> Result<(Schema, usize, usize)> {
    // Only whole records: cut after the last line break unless this is the whole file.
    let used =
        if complete { prefix.len() } else { prefix.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) };
    if used == 0 {
        return Err(DatasetError::TooBig(format!(
            "the first row is larger than the {} bytes kura reads to infer the columns",
            prefix.len()
        )));
    }
    let format = arrow_csv::reader::Format::default().with_header(true).with_delimiter(delimiter);
    let (schema, rows) = format.infer_schema(&prefix[..used], None)?;
    Ok((schema, rows, used))
}

fn infer_json(prefix: &[u8]) -> Result<(Schema, usize, usize)> {
    let ranges = json_split::records(prefix, 100_000);
    let Some(last) = ranges.last() else {
        return Err(DatasetError::Invalid(
            "no JSON object was found at the start of the file (rows must be JSON objects)".into(),
        ));
    };
    let used = last.end;
    let mut values = Vec::with_capacity(ranges.len());
    for range in &ranges {
        let value: serde_json::Value = serde_json::from_slice(&prefix[range.clone()])
            .map_err(|e| DatasetError::Invalid(format!("malformed JSON in row {}: {e}", values.len() + 1)))?;
        values.push(value);
    }
    let schema = arrow_json::reader::infer_json_schema_from_iterator(values.iter().map(Ok))?;
    Ok((schema, values.len(), used))
}

fn infer_arrow(prefix: &[u8]) -> Result<(Schema, usize, usize)> {
    let mut decoder = arrow_ipc::reader::StreamDecoder::new();
    let mut bytes = arrow_buffer::Buffer::from(prefix.to_vec());
    while decoder.schema().is_none() && !bytes.is_empty() {
        decoder.decode(&mut bytes)?;
    }
    let schema = decoder
        .schema()
        .ok_or_else(|| DatasetError::Invalid("no Arrow schema at the start of the file".into()))?;
    // Batches come as the file made them; the row count only sizes text batches.
    Ok((schema.as_ref().clone(), 1, 1))
}
