//! Parquet files whose Thrift structures would keep the parquet crate busy for hours (a list of
//! booleans it skips without reading a byte per element, nested): in the footer, in an offset
//! index and in a page header. Each is refused at once; every check runs on its own thread
//! with a deadline, so a missing guard fails the test instead of hanging it.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kura_dataset::read::read_rows;
use kura_dataset::{DatasetError, RangeSource, TableMeta};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

struct Memory(Bytes);

impl RangeSource for Memory {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }
    fn read(&self, range: Range<u64>) -> BoxFuture<'_, std::io::Result<Bytes>> {
        let slice = self.0.slice(range.start as usize..range.end as usize);
        async move { Ok(slice) }.boxed()
    }
}

/// Loads the file and reads its first rows on another thread: the outcome, or a panic if it
/// takes longer than a generous deadline.
fn load_and_read(file: Vec<u8>) -> Result<usize, DatasetError> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let outcome = runtime.block_on(async {
            let source: Arc<dyn RangeSource> = Arc::new(Memory(Bytes::from(file)));
            let meta = TableMeta::load(source.clone()).await?;
            let batches = read_rows(source, &meta, 0, 100).await?;
            Ok(batches.iter().map(RecordBatch::num_rows).sum())
        });
        let _ = send.send(outcome);
    });
    receive.recv_timeout(Duration::from_secs(20)).expect("reading the file did not finish within 20 s")
}

/// An int64 column in pages of 500 rows, with statistics in every page header.
fn written() -> Vec<u8> {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values((0..4000).map(|i| i * 1_000_003)));
    let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_data_page_row_count_limit(500)
        .set_write_batch_size(100)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_write_page_header_statistics(true)
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

fn footer_range(file: &[u8]) -> Range<usize> {
    let len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
    file.len() - 8 - len..file.len() - 8
}

/// `len` bytes of struct fields: an unknown field (15 ids after the last one) holding lists of
/// 2^31 - 1 booleans, then boolean fields as filler. No stop byte.
fn bomb_fields(len: usize) -> Vec<u8> {
    let bools = [0xf1, 0xff, 0xff, 0xff, 0xff, 0x07];
    let lists = (len - 3) / bools.len();
    let mut out = vec![0xf9, 0xf9, lists as u8];
    for _ in 0..lists {
        out.extend(bools);
    }
    out.resize(len, 0x11);
    out
}

#[test]
fn the_written_file_reads() {
    assert_eq!(load_and_read(written()).unwrap(), 100);
}

#[test]
fn the_footer_found_by_fuzzing_is_refused() {
    let file =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/thrift-bool-list-bomb.parquet"))
            .unwrap();
    let error = load_and_read(file).unwrap_err();
    assert!(matches!(error, DatasetError::Invalid(_)), "{error:?}");
    assert!(error.to_string().contains("footer is refused"), "{error}");
}

#[test]
fn a_bomb_in_the_footer_is_refused() {
    let mut file = written();
    // The footer gains an unknown field in front of its stop byte; the length is fixed up.
    let range = footer_range(&file);
    let mut footer = file[range.clone()].to_vec();
    let stop = footer.pop().unwrap();
    assert_eq!(stop, 0);
    footer.extend(bomb_fields(64));
    footer.push(0);
    file.truncate(range.start);
    file.extend(&footer);
    file.extend((footer.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    let error = load_and_read(file).unwrap_err();
    assert!(error.to_string().contains("footer is refused"), "{error}");
}

#[test]
fn a_bomb_in_an_offset_index_is_refused() {
    let mut file = written();
    let meta = ParquetMetaDataReader::decode_metadata(&file[footer_range(&file)]).unwrap();
    let column = meta.row_group(0).column(0);
    let start = column.offset_index_offset().unwrap() as usize;
    let len = column.offset_index_length().unwrap() as usize;
    // The same number of bytes, now one struct of bomb fields.
    let mut index = bomb_fields(len - 1);
    index.push(0);
    file[start..start + len].copy_from_slice(&index);
    let error = load_and_read(file).unwrap_err();
    assert!(error.to_string().contains("offset index is refused"), "{error}");
}

#[test]
fn a_bomb_in_a_page_header_is_refused() {
    let mut file = written();
    let meta = ParquetMetaDataReader::decode_metadata(&file[footer_range(&file)]).unwrap();
    let start = meta.row_group(0).column(0).data_page_offset() as usize;
    let (header, _) = kura_dataset::thrift_guard::page_header(&file[start..]).unwrap();
    // PageHeader { 1, 2, 3: i32; 5: DataPageHeader { 1, 2, 3, 4: i32; 5: Statistics } }: the
    // statistics (up to the two stop bytes that end the header) become bomb fields.
    let mut at = start;
    let mut i32_fields = 0;
    while i32_fields < 7 {
        match file[at] & 0x0f {
            5 => {
                at += 1;
                while file[at] & 0x80 != 0 {
                    at += 1;
                }
                at += 1;
                i32_fields += 1;
            }
            12 => at += 1,
            other => panic!("unexpected field type {other} at {at}"),
        }
    }
    assert_eq!(file[at], 0x1c, "the statistics field");
    let end = start + header - 2;
    let bomb = bomb_fields(end - at);
    file[at..end].copy_from_slice(&bomb);
    let error = load_and_read(file).unwrap_err();
    assert!(error.to_string().contains("page header is refused"), "{error}");
}

/// Found by fuzzing: a column chunk starting at a negative offset, its data page far past it
/// (the distance overflowed an i64 in the layout check).
#[test]
fn a_chunk_at_a_negative_offset_is_refused() {
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/negative-chunk-start.parquet"))
        .unwrap();
    let error = load_and_read(file).unwrap_err();
    assert!(matches!(error, DatasetError::Invalid(_)), "{error:?}");
}

/// A footer whose schema is a chain of groups `depth` deep: the parquet crate builds the tree
/// with one stack frame per level, so a deep one would overflow the stack and kill the
/// process.
#[test]
fn a_deep_schema_is_refused() {
    let depth = 100_000;
    // FileMetaData { 1: version, 2: schema, 3: num_rows, 4: row_groups (empty) }
    let mut footer = vec![0x15, 0x02, 0x19, 0xfc];
    let mut count = depth + 1;
    while count >= 0x80 {
        footer.push((count as u8 & 0x7f) | 0x80);
        count >>= 7;
    }
    footer.push(count as u8);
    for level in 0..=depth {
        // SchemaElement { 4: name "n", 5: num_children 1 } (the last a leaf of type INT32)
        if level < depth {
            footer.extend([0x48, 1, b'n', 0x15, 0x02, 0x00]);
        } else {
            footer.extend([0x15, 0x02, 0x38, 1, b'n', 0x00]);
        }
    }
    footer.extend([0x16, 0x00, 0x19, 0x0c, 0x00]);
    let mut file = b"PAR1".to_vec();
    file.extend(&footer);
    file.extend((footer.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    let error = load_and_read(file).unwrap_err();
    assert!(error.to_string().contains("nests too deep"), "{error}");
}
