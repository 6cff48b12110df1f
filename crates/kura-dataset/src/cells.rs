//! Arrow rows as the viewer's JSON cells: scalars, lists and structs as JSON (non-finite
//! floats as `null`), binary columns as `null`, and image and audio cells as the objects the
//! Hub's viewer returns (`{src, height, width}`; `[{src, type}]`), with `src` made by the
//! caller (a signed URL of kura's asset route) from the cell's position.

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::DataType;
use serde_json::{Map, Value, json};

use crate::error::{DatasetError, Result};
use crate::features::Features;

/// A media cell the caller makes a URL for.
#[derive(Debug, Clone, Copy)]
pub struct MediaCell<'a> {
    /// Index of the row in the split.
    pub row_idx: u64,
    pub column: &'a str,
    pub kind: MediaKind,
    /// The cell's `path` (the original file name), when stored.
    pub path: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
}

impl MediaKind {
    pub fn of(feature: &crate::features::Json) -> Option<Self> {
        match feature.feature_type() {
            Some("Image") => Some(MediaKind::Image),
            Some("Audio") => Some(MediaKind::Audio),
            _ => None,
        }
    }
}

/// The rows of `batches` as JSON objects; the first row is row `first_row_idx` of the split.
pub fn rows_of(
    batches: &[RecordBatch],
    features: &Features,
    first_row_idx: u64,
    media_url: &dyn Fn(&MediaCell<'_>) -> String,
) -> Result<Vec<Map<String, Value>>> {
    let mut out = Vec::new();
    let mut row_idx = first_row_idx;
    let bytes: usize = batches.iter().map(|batch| logical_bytes(batch, features)).sum();
    if bytes > MAX_JSON_BYTES {
        return Err(DatasetError::TooBig(format!(
            "these rows hold {bytes} bytes of values; the viewer answers with at most {MAX_JSON_BYTES}"
        )));
    }
    for batch in batches {
        let mut rows = plain_rows(batch, features)?;
        for (index, field) in batch.schema().fields().iter().enumerate() {
            let column = batch.column(index);
            let media = features.get(field.name()).and_then(MediaKind::of);
            for (offset, row) in rows.iter_mut().enumerate() {
                let value = match media {
                    Some(kind) => media_cell(
                        column.as_ref(),
                        offset,
                        kind,
                        field.name(),
                        row_idx + offset as u64,
                        media_url,
                    ),
                    None if is_binary(field.data_type()) => Value::Null,
                    None => continue,
                };
                row.insert(field.name().clone(), value);
            }
        }
        row_idx += batch.num_rows() as u64;
        out.extend(rows);
    }
    Ok(out)
}

/// Bytes of values the rows of one answer may hold before they are turned into JSON.
pub const MAX_JSON_BYTES: usize = 100 << 20;

/// The bytes of values a batch's rows put into JSON: string and byte views by their lengths
/// (their buffers may be shared by many rows, each of which JSON would copy), other columns by
/// the memory they take; binary and media columns not at all (they become `null` and URLs).
pub fn logical_bytes(batch: &RecordBatch, features: &Features) -> usize {
    batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(field, _)| {
            !is_binary(field.data_type()) && features.get(field.name()).and_then(MediaKind::of).is_none()
        })
        .map(|(_, column)| match column.data_type() {
            DataType::Utf8View => column.as_string_view().lengths().map(|l| l as usize).sum(),
            _ => column.get_array_memory_size(),
        })
        .sum()
}

fn is_binary(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_)
    )
}

/// Every column but the media and binary ones, through Arrow's JSON writer.
fn plain_rows(batch: &RecordBatch, features: &Features) -> Result<Vec<Map<String, Value>>> {
    let keep: Vec<usize> = batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            !is_binary(f.data_type()) && features.get(f.name()).and_then(MediaKind::of).is_none()
        })
        .map(|(i, _)| i)
        .collect();
    let projected = batch.project(&keep)?;
    let mut buffer = Vec::new();
    {
        let mut writer = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow_json::writer::JsonArray>(&mut buffer);
        writer.write(&projected)?;
        writer.finish()?;
    }
    if buffer.is_empty() {
        return Ok(vec![Map::new(); batch.num_rows()]);
    }
    let rows: Vec<Map<String, Value>> = serde_json::from_slice(&buffer)
        .map_err(|e| DatasetError::Invalid(format!("a row could not be turned into JSON: {e}")))?;
    if rows.len() != batch.num_rows() {
        return Ok(vec![Map::new(); batch.num_rows()]);
    }
    Ok(rows)
}

/// An image or audio cell: the bytes of its `{bytes, path}` struct become a URL.
fn media_cell(
    column: &dyn Array,
    row: usize,
    kind: MediaKind,
    name: &str,
    row_idx: u64,
    media_url: &dyn Fn(&MediaCell<'_>) -> String,
) -> Value {
    let Some(structs) = column.as_any().downcast_ref::<StructArray>() else {
        return Value::Null;
    };
    if structs.is_null(row) {
        return Value::Null;
    }
    let Some(bytes) = media_bytes(structs, row) else {
        return Value::Null;
    };
    let path = structs.column_by_name("path").and_then(|p| {
        let strings = p.as_string_opt::<i32>()?;
        (!strings.is_null(row)).then(|| strings.value(row))
    });
    let src = media_url(&MediaCell { row_idx, column: name, kind, path });
    match kind {
        MediaKind::Image => match imagesize::blob_size(bytes) {
            Ok(size) => json!({"src": src, "height": size.height, "width": size.width}),
            Err(_) => json!({"src": src}),
        },
        MediaKind::Audio => json!([{"src": src, "type": audio_mime(path)}]),
    }
}

/// The `bytes` of row `row` of an image or audio struct column.
pub fn media_bytes(structs: &StructArray, row: usize) -> Option<&[u8]> {
    let bytes = structs.column_by_name("bytes")?;
    if bytes.is_null(row) {
        return None;
    }
    match bytes.data_type() {
        DataType::Binary => Some(bytes.as_binary::<i32>().value(row)),
        DataType::LargeBinary => Some(bytes.as_binary::<i64>().value(row)),
        DataType::BinaryView => Some(bytes.as_binary_view().value(row)),
        _ => None,
    }
}

/// The MIME type of an audio cell, from its file name (WAV when unnamed, as the Hub converts).
pub fn audio_mime(path: Option<&str>) -> &'static str {
    let ext = path.and_then(|p| p.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("mp3") => "audio/mpeg",
        Some("flac") => "audio/flac",
        Some("ogg") | Some("opus") => "audio/ogg",
        _ => "audio/wav",
    }
}

/// The MIME type of image bytes, from their header.
pub fn image_mime(bytes: &[u8]) -> &'static str {
    match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Png) => "image/png",
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Gif) => "image/gif",
        Ok(imagesize::ImageType::Webp) => "image/webp",
        Ok(imagesize::ImageType::Bmp) => "image/bmp",
        _ => "application/octet-stream",
    }
}

/// The bytes and MIME type of the media cell in row `row` of `column` (an image or audio
/// struct column of `batch`): what the viewer's asset route serves. `None` for another kind of
/// column or a null cell.
pub fn media_of(
    batch: &RecordBatch,
    column: &str,
    row: usize,
    kind: MediaKind,
) -> Option<(Vec<u8>, &'static str)> {
    let structs = batch.column_by_name(column)?.as_struct_opt()?;
    if row >= structs.len() || structs.is_null(row) {
        return None;
    }
    let bytes = media_bytes(structs, row)?.to_vec();
    let mime = match kind {
        MediaKind::Image => image_mime(&bytes),
        MediaKind::Audio => {
            let path = structs.column_by_name("path").and_then(|p| {
                let strings = p.as_string_opt::<i32>()?;
                (!strings.is_null(row)).then(|| strings.value(row).to_owned())
            });
            audio_mime(path.as_deref())
        }
    };
    Some((bytes, mime))
}
