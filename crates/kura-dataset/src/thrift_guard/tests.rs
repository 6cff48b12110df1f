//! The guard against files the parquet crate writes (which must pass) and hand-made Thrift
//! bytes (each refusal, and every prefix of a good struct reported as truncated).

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::*;

/// A Parquet file written by the parquet crate, with page statistics in the headers.
fn written(header_statistics: bool) -> Vec<u8> {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values((0..5000).map(|i| i * 7 - 300)));
    let words: ArrayRef = Arc::new(StringArray::from_iter_values((0..5000).map(|i| format!("w{}", i % 37))));
    let batch = RecordBatch::try_from_iter([("id", ids), ("word", words)]).unwrap();
    let props = WriterProperties::builder()
        .set_data_page_row_count_limit(700)
        .set_write_batch_size(100)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_write_page_header_statistics(header_statistics)
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

fn footer(file: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
    &file[file.len() - 8 - len..file.len() - 8]
}

fn metadata(file: &[u8]) -> ParquetMetaData {
    ParquetMetaDataReader::decode_metadata(footer(file)).unwrap()
}

#[test]
fn real_footers_offset_indexes_and_pages_pass() {
    for header_statistics in [false, true] {
        let file = written(header_statistics);
        let meta = footer(&file);
        assert_eq!(check(FILE_META_DATA, meta), Ok(meta.len()));
        let parsed = metadata(&file);
        let mut pages = 0;
        for group in parsed.row_groups() {
            for column in group.columns() {
                let start = column.dictionary_page_offset().unwrap_or(column.data_page_offset()) as usize;
                let chunk = &file[start..start + column.compressed_size() as usize];
                check_pages(chunk).unwrap();
                let mut at = 0;
                while at < chunk.len() {
                    let (header, size) = page_header(&chunk[at..]).unwrap();
                    at += header + size as usize;
                    pages += 1;
                }
                let index = column.offset_index_offset().unwrap() as usize;
                let index = &file[index..index + column.offset_index_length().unwrap() as usize];
                assert_eq!(check(OFFSET_INDEX, index), Ok(index.len()));
            }
        }
        assert!(pages > 10, "only {pages} pages");
    }
}

/// Field header of a field `delta` ids after the previous one.
fn field(delta: u8, wire: u8) -> u8 {
    (delta << 4) | wire
}

/// A long-form list header: `size` elements of `element`.
fn long_list(element: u8, size: u32) -> Vec<u8> {
    let mut out = vec![0xf0 | element];
    let mut size = size as u64;
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn a_list_of_booleans_in_an_unknown_field_is_refused() {
    // FileMetaData { 20: list<bool> of 2^31 - 1 } (the crate skips it without reading a byte
    // per element), nested in lists of lists so the work multiplies.
    let mut bytes = vec![field(0, LIST), 40]; // full field id 20, zigzag
    bytes.extend(long_list(LIST, 200));
    for _ in 0..200 {
        bytes.extend(long_list(BOOL_TRUE, i32::MAX as u32));
    }
    bytes.push(0);
    assert_eq!(check(FILE_META_DATA, &bytes), Err(GuardError::BooleanList));
    // Either boolean element type, in sets too, and in maps as keys or values.
    for element in [BOOL_TRUE, BOOL_FALSE] {
        let mut set = vec![field(15, SET)];
        set.extend(long_list(element, 1000));
        set.push(0);
        assert_eq!(check(FILE_META_DATA, &set), Err(GuardError::BooleanList));
    }
    for kinds in [0x15, 0x51, 0x12, 0x22] {
        let map = [field(15, MAP), 0xff, 0xff, 0x03, kinds, 0];
        assert_eq!(check(FILE_META_DATA, &map), Err(GuardError::BooleanList));
    }
    // An empty one is harmless and passes.
    let empty = [field(15, LIST), 0x01, field(1, MAP), 0x00, 0x00];
    assert_eq!(check(FILE_META_DATA, &empty), Ok(empty.len()));
}

#[test]
fn the_fuzzers_footer_is_refused() {
    let file =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/thrift-bool-list-bomb.parquet"))
            .unwrap();
    let footer = footer(&file);
    assert!(check(FILE_META_DATA, footer).is_err());
}

#[test]
fn a_known_field_with_another_wire_type_is_refused() {
    // row_groups (4) written as an i32: the crate would read a list there regardless.
    let bytes = [field(4, I32), 0x02, 0x00];
    assert_eq!(check(FILE_META_DATA, &bytes), Err(GuardError::WrongType(4)));
    // The same id, reached through a full field id.
    let bytes = [field(0, BINARY), 0x08, 0x00, 0x00];
    assert_eq!(check(FILE_META_DATA, &bytes), Err(GuardError::WrongType(4)));
    // A declared list whose elements are of another type.
    let bytes = [field(4, LIST), 0x15, 0x02, 0x00];
    assert!(matches!(check(FILE_META_DATA, &bytes), Err(GuardError::Malformed(_))));
    // In a nested struct: PageHeader.data_page_header.num_values as a string.
    let bytes = [field(5, STRUCT), field(1, BINARY), 0x00, 0x00, 0x00];
    assert_eq!(check(PAGE_HEADER, &bytes), Err(GuardError::WrongType(1)));
}

#[test]
fn unknown_fields_of_every_other_type_are_walked() {
    let mut bytes = vec![field(10, BYTE), 7, field(1, I16), 0x80, 0x01, field(1, DOUBLE)];
    bytes.extend([0; 8]);
    bytes.extend([field(1, BINARY), 3, b'a', b'b', b'c', field(1, UUID)]);
    bytes.extend([0; 16]);
    bytes.extend([field(1, STRUCT), field(1, BOOL_TRUE), field(1, I64), 0x05, 0x00]);
    bytes.extend([field(1, MAP), 0x02, 0x85, 0x00, 0x03, 0x01, 0x04, 0x06]);
    bytes.push(0);
    assert_eq!(check(FILE_META_DATA, &bytes), Ok(bytes.len()));
    // Cut anywhere, it is truncated, never accepted or hung.
    for cut in 0..bytes.len() {
        assert_eq!(check(FILE_META_DATA, &bytes[..cut]), Err(GuardError::Truncated), "cut {cut}");
    }
}

#[test]
fn nesting_is_bounded() {
    // A list of one list of one list ... (0x19: one element, itself a list).
    let mut bytes = vec![field(15, LIST)];
    bytes.extend([0x19; 100]);
    bytes.push(0x00);
    assert_eq!(check(FILE_META_DATA, &bytes), Err(GuardError::TooDeep));
}

#[test]
fn page_runs_must_be_whole_pages() {
    // PageHeader { type 0, uncompressed 4, compressed 4, data_page_header { .. } } then 4 bytes.
    let header = [
        field(1, I32),
        0,
        field(1, I32),
        8,
        field(1, I32),
        8,
        field(2, STRUCT),
        0x15,
        2,
        0x15,
        0,
        0x15,
        0,
        0x15,
        0,
        0,
        0,
    ];
    let mut pages = header.to_vec();
    pages.extend([1, 2, 3, 4]);
    assert_eq!(page_header(&pages), Ok((header.len(), 4)));
    pages.extend_from_slice(&pages.clone());
    check_pages(&pages).unwrap();
    assert_eq!(check_pages(&pages[..pages.len() - 1]), Err(GuardError::Truncated));
    // A negative size, and a header without one.
    let negative = [field(1, I32), 0, field(1, I32), 8, field(1, I32), 1, 0];
    assert_eq!(page_header(&negative), Err(GuardError::PageTooBig(-1)));
    assert!(matches!(page_header(&[field(1, I32), 0, 0]), Err(GuardError::Malformed(_))));
}

/// A footer whose schema is `elements` (each `Some(n)` a group of n children).
fn schema_footer(elements: &[Option<i32>]) -> Vec<u8> {
    let mut bytes = vec![field(2, LIST)];
    bytes.extend(long_list(STRUCT, elements.len() as u32));
    for children in elements {
        bytes.extend([field(4, BINARY), 1, b'c']);
        if let Some(count) = children {
            bytes.push(field(1, I32));
            let mut zigzag = ((*count << 1) ^ (*count >> 31)) as u32;
            while zigzag >= 0x80 {
                bytes.push((zigzag as u8 & 0x7f) | 0x80);
                zigzag >>= 7;
            }
            bytes.push(zigzag as u8);
        }
        bytes.push(0);
    }
    bytes.push(0);
    bytes
}

#[test]
fn schema_trees_are_bounded_in_depth_and_width() {
    // root { a; g { b; c } }: fine.
    let good = schema_footer(&[Some(2), None, Some(2), None, None]);
    assert_eq!(check(FILE_META_DATA, &good), Ok(good.len()));
    check_schema_tree(&good).unwrap();
    // A chain of 64 groups (the root included) is the deepest accepted.
    for (depth, ok) in [(64, true), (65, false), (5000, false)] {
        let mut elements = vec![Some(1); depth];
        elements.push(None);
        let footer = schema_footer(&elements);
        assert_eq!(check_schema_tree(&footer).is_ok(), ok, "depth {depth}");
    }
    // A group declaring more children than follow it (the crate reserves the count).
    for elements in [vec![Some(i32::MAX), None], vec![Some(2), Some(5), None, None], vec![Some(-1)]] {
        let footer = schema_footer(&elements);
        assert!(matches!(check_schema_tree(&footer), Err(GuardError::Schema(_))), "{elements:?}");
    }
    // A real footer passes.
    check_schema_tree(footer(&written(false))).unwrap();
}

#[test]
fn lists_and_pages_have_budgets() {
    let mut bytes = vec![field(15, LIST)];
    bytes.extend(long_list(I32, (MAX_LIST + 1) as u32));
    assert_eq!(check(FILE_META_DATA, &bytes), Err(GuardError::TooMany(MAX_LIST + 1)));
    // A page announcing 1 GiB uncompressed (zigzag of 2^30 is 2^31).
    let header = [field(1, I32), 0, field(1, I32), 0x80, 0x80, 0x80, 0x80, 0x08, field(1, I32), 8, 0];
    assert_eq!(page_header(&header), Err(GuardError::PageTooBig(1 << 30)));
}
