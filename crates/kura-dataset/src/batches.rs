//! Decoding a source file into Arrow batches, pulled one at a time from a `std::io::Read`.
//! Each batch is bounded in input bytes (`Limits::max_batch_bytes`): a row that alone
//! exceeds it (a 2 GB cell) stops the conversion with an error instead of being buffered.

use std::io::Read;
use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::SchemaRef;

use crate::convert::{Limits, SourceFormat, SourceSchema};
use crate::error::{DatasetError, Result};

/// Bytes read from the source at a time.
const READ_BYTES: usize = 256 << 10;

enum Decoder {
    Csv(Box<arrow_csv::reader::Decoder>),
    Json(arrow_json::reader::Decoder),
    Text { rows: Vec<String>, line: Vec<u8> },
    Arrow(arrow_ipc::reader::StreamDecoder),
}

/// Batches of one source file.
pub struct Batches<R> {
    reader: R,
    decoder: Decoder,
    schema: SchemaRef,
    batch_rows: usize,
    max_batch_bytes: usize,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    finished: bool,
    since_flush: usize,
    /// Line of the file the current batch started on, for error messages (text formats).
    rows_done: u64,
}

impl<R: Read> Batches<R> {
    pub fn new(format: SourceFormat, source: &SourceSchema, reader: R, limits: &Limits) -> Result<Self> {
        let schema = source.schema.clone();
        let decoder = match format {
            SourceFormat::Csv { delimiter } => Decoder::Csv(Box::new(
                arrow_csv::ReaderBuilder::new(schema.clone())
                    .with_header(true)
                    .with_delimiter(delimiter)
                    .with_batch_size(source.batch_rows)
                    .build_decoder(),
            )),
            SourceFormat::Json => Decoder::Json(
                arrow_json::ReaderBuilder::new(schema.clone())
                    .with_batch_size(source.batch_rows)
                    .with_flatten(true)
                    .with_coerce_primitive(true)
                    .build_decoder()?,
            ),
            SourceFormat::Text => Decoder::Text { rows: Vec::new(), line: Vec::new() },
            SourceFormat::Arrow => Decoder::Arrow(arrow_ipc::reader::StreamDecoder::new()),
        };
        Ok(Self {
            reader,
            decoder,
            schema,
            batch_rows: source.batch_rows,
            max_batch_bytes: limits.max_batch_bytes,
            buffer: vec![0; READ_BYTES],
            start: 0,
            end: 0,
            eof: false,
            finished: false,
            since_flush: 0,
            rows_done: 0,
        })
    }

    fn fill(&mut self) -> Result<()> {
        if self.start < self.end || self.eof {
            return Ok(());
        }
        let read = self.reader.read(&mut self.buffer)?;
        self.start = 0;
        self.end = read;
        self.eof = read == 0;
        Ok(())
    }

    fn too_big(&self) -> DatasetError {
        DatasetError::TooBig(format!(
            "a row after row {} is larger than {} bytes, more than kura converts in one piece",
            self.rows_done, self.max_batch_bytes
        ))
    }

    /// The next batch, or `None` at the end of the file.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.finished {
                return Ok(None);
            }
            self.fill()?;
            let input = &self.buffer[self.start..self.end];
            let (consumed, ready) = match &mut self.decoder {
                Decoder::Csv(d) => {
                    let used = d.decode(input)?;
                    (used, d.capacity() == 0 || self.eof)
                }
                Decoder::Json(d) => {
                    let used = d.decode(input)?;
                    let early = self.since_flush + used > self.max_batch_bytes / 2 && !d.has_partial_record();
                    (used, d.len() >= self.batch_rows || self.eof || (early && !d.is_empty()))
                }
                Decoder::Text { rows, line } => {
                    let (used, full) = split_lines(input, rows, line, self.eof, self.batch_rows);
                    (used, full || self.eof)
                }
                Decoder::Arrow(d) => {
                    let mut bytes = arrow_buffer::Buffer::from(input.to_vec());
                    let batch = d.decode(&mut bytes)?;
                    let used = input.len() - bytes.len();
                    self.start += used;
                    self.since_flush += used;
                    if let Some(batch) = batch {
                        self.since_flush = 0;
                        return Ok(Some(batch));
                    }
                    if self.eof {
                        d.finish()?;
                        self.finished = true;
                    } else if self.since_flush > self.max_batch_bytes {
                        return Err(self.too_big());
                    }
                    continue;
                }
            };
            self.start += consumed;
            self.since_flush += consumed;
            if self.since_flush > self.max_batch_bytes || self.text_line_too_long() {
                return Err(self.too_big());
            }
            if !ready {
                continue;
            }
            let batch = self.flush()?;
            self.since_flush = 0;
            if self.eof && self.start >= self.end {
                self.finished = true;
            }
            match batch {
                Some(batch) => {
                    self.rows_done += batch.num_rows() as u64;
                    return Ok(Some(batch));
                }
                None if self.finished => return Ok(None),
                None => continue,
            }
        }
    }

    fn text_line_too_long(&self) -> bool {
        matches!(&self.decoder, Decoder::Text { line, .. } if line.len() > self.max_batch_bytes)
    }

    fn flush(&mut self) -> Result<Option<RecordBatch>> {
        match &mut self.decoder {
            Decoder::Csv(d) => Ok(d.flush()?),
            Decoder::Json(d) => Ok(d.flush()?),
            Decoder::Text { rows, .. } => {
                if rows.is_empty() {
                    return Ok(None);
                }
                let column = StringArray::from(std::mem::take(rows));
                Ok(Some(RecordBatch::try_new(self.schema.clone(), vec![Arc::new(column)])?))
            }
            Decoder::Arrow(_) => Ok(None),
        }
    }
}

/// Moves the complete lines of `input` into `rows` (the partial last one into `line`); at
/// the end of the file the partial line is a row too. Answers the bytes used and whether
/// `rows` is full.
fn split_lines(
    input: &[u8],
    rows: &mut Vec<String>,
    line: &mut Vec<u8>,
    eof: bool,
    max: usize,
) -> (usize, bool) {
    let mut used = 0;
    for (index, byte) in input.iter().enumerate() {
        if *byte == b'\n' {
            line.extend_from_slice(&input[used..index]);
            used = index + 1;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            rows.push(String::from_utf8_lossy(line).into_owned());
            line.clear();
            if rows.len() >= max {
                return (used, true);
            }
        }
    }
    line.extend_from_slice(&input[used..]);
    if eof && !line.is_empty() {
        rows.push(String::from_utf8_lossy(line).into_owned());
        line.clear();
    }
    (input.len(), rows.len() >= max)
}

impl<R: Read> Iterator for Batches<R> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        match self.next_batch() {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => None,
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}
