//! Conversion then reading, end to end over in-memory files: what goes into an export comes
//! back out of `read_rows` at any offset, with the features `datasets` expects.

use std::io::Cursor;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kura_dataset::batches::Batches;
use kura_dataset::cells::rows_of;
use kura_dataset::convert::{Limits, SourceFormat, infer_schema};
use kura_dataset::features::features_of;
use kura_dataset::read::read_rows;
use kura_dataset::shards::ShardWriter;
use kura_dataset::{DatasetError, RangeSource, TableMeta};

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

/// A writer the test can read back after the shard writer has consumed it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn convert(format: SourceFormat, input: &[u8], limits: &Limits) -> Result<Vec<(Bytes, u64)>, DatasetError> {
    let source = infer_schema(
        format,
        &input[..input.len().min(limits.infer_bytes)],
        input.len() <= limits.infer_bytes,
        limits,
    )?;
    let features = features_of(&source.schema);
    let outputs: Arc<Mutex<Vec<Shared>>> = Arc::default();
    let made = outputs.clone();
    let mut writer = ShardWriter::new(
        source.schema.clone(),
        &features,
        limits,
        Box::new(move || {
            let shared = Shared::default();
            made.lock().unwrap().push(shared.clone());
            Ok(shared)
        }),
    );
    for batch in Batches::new(format, &source, Cursor::new(input.to_vec()), limits)? {
        writer.write(&batch?)?;
    }
    let shards = writer.finish()?;
    let outputs = outputs.lock().unwrap();
    Ok(shards
        .iter()
        .zip(outputs.iter())
        .map(|(shard, out)| (Bytes::from(out.0.lock().unwrap().clone()), shard.rows))
        .collect())
}

async fn rows(file: &Bytes, offset: u64, limit: usize) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let source: Arc<dyn RangeSource> = Arc::new(Memory(file.clone()));
    let meta = TableMeta::load(source.clone()).await.unwrap();
    let batches = read_rows(source, &meta, offset, limit).await.unwrap();
    rows_of(&batches, &meta.features, offset, &|_| String::new()).unwrap()
}

#[tokio::test]
async fn csv_rows_come_back_at_any_offset() {
    let mut csv = String::from("id,name,score\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},\"name, {i}\",{}.5\n", i % 7));
    }
    let limits = Limits { row_group_bytes: 20_000, target_batch_bytes: 10_000, ..Limits::default() };
    let shards = convert(SourceFormat::Csv { delimiter: b',' }, csv.as_bytes(), &limits).unwrap();
    assert_eq!(shards.len(), 1);
    let (file, count) = &shards[0];
    assert_eq!(*count, 5000);
    let source: Arc<dyn RangeSource> = Arc::new(Memory(file.clone()));
    let meta = TableMeta::load(source).await.unwrap();
    assert!(meta.metadata().row_groups().len() > 1, "small row groups were asked for");
    assert!(
        meta.metadata().row_group(0).column(0).offset_index_range().is_some(),
        "the page index is written"
    );
    let hf = meta.schema().metadata().get("huggingface").unwrap();
    assert!(hf.contains(r#""id":{"dtype":"int64","_type":"Value"}"#), "{hf}");
    for offset in [0u64, 2500, 4990] {
        let got = rows(file, offset, 20).await;
        assert_eq!(got.len(), (5000 - offset).min(20) as usize);
        assert_eq!(got[0]["id"], serde_json::json!(offset));
        assert_eq!(got[0]["name"], serde_json::json!(format!("name, {offset}")));
        assert_eq!(got[0]["score"], serde_json::json!((offset % 7) as f64 + 0.5));
    }
}

#[tokio::test]
async fn json_lines_and_arrays_with_nested_values() {
    let lines = b"{\"a\": 1, \"tags\": [\"x\", \"y\"], \"m\": {\"k\": true}}\n{\"a\": 2, \"tags\": [], \"m\": {\"k\": false}}\n";
    let array = b"[{\"a\": 1, \"tags\": [\"x\", \"y\"], \"m\": {\"k\": true}}, {\"a\": 2, \"tags\": [], \"m\": {\"k\": false}}]";
    for input in [&lines[..], &array[..]] {
        let shards = convert(SourceFormat::Json, input, &Limits::default()).unwrap();
        let got = rows(&shards[0].0, 0, 10).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["tags"], serde_json::json!(["x", "y"]));
        assert_eq!(got[1]["m"], serde_json::json!({"k": false}));
    }
}

#[tokio::test]
async fn text_lines_become_a_text_column() {
    let shards = convert(SourceFormat::Text, b"first\r\nsecond\nthird", &Limits::default()).unwrap();
    let got = rows(&shards[0].0, 0, 10).await;
    let texts: Vec<_> = got.iter().map(|r| r["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts, ["first", "second", "third"]);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let limits = Limits { max_batch_bytes: 1 << 20, infer_bytes: 4096, ..Limits::default() };
    // A cell far larger than a batch may hold.
    let mut huge = b"a,b\n1,2\n3,\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 3 << 20));
    huge.extend_from_slice(b"\"\n");
    assert!(matches!(
        convert(SourceFormat::Csv { delimiter: b',' }, &huge, &limits),
        Err(DatasetError::TooBig(_))
    ));
    // A value of another type than the prefix showed.
    let mixed = b"a\n1\n2\nnot a number\n";
    let small = Limits { infer_bytes: 4, ..Limits::default() };
    assert!(matches!(
        convert(SourceFormat::Csv { delimiter: b',' }, mixed, &small),
        Err(DatasetError::Invalid(_))
    ));
    // Malformed JSON lines.
    assert!(convert(SourceFormat::Json, b"{\"a\": 1}\n{\"a\": \n", &Limits::default()).is_err());
    assert!(convert(SourceFormat::Json, b"nothing here", &Limits::default()).is_err());
    // Too many columns.
    let header: Vec<String> = (0..1001).map(|i| format!("c{i}")).collect();
    let wide = format!("{}\n", header.join(","));
    assert!(matches!(
        convert(SourceFormat::Csv { delimiter: b',' }, wide.as_bytes(), &Limits::default()),
        Err(DatasetError::TooBig(_))
    ));
}

#[tokio::test]
async fn broken_footers_are_refused() {
    let shards = convert(SourceFormat::Text, b"a\nb\n", &Limits::default()).unwrap();
    let file = shards[0].0.clone();
    for broken in [
        file.slice(..file.len() - 1),
        Bytes::from_static(b"PAR1"),
        {
            let mut v = file.to_vec();
            let n = v.len();
            v[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
            Bytes::from(v)
        },
        {
            let mut v = file.to_vec();
            let n = v.len();
            let len = u32::from_le_bytes(v[n - 8..n - 4].try_into().unwrap()) as usize;
            for b in &mut v[n - 8 - len..n - 8] {
                *b = 0xAB;
            }
            Bytes::from(v)
        },
    ] {
        let source: Arc<dyn RangeSource> = Arc::new(Memory(broken));
        assert!(TableMeta::load(source).await.is_err());
    }
}

/// A file found by fuzzing whose page made the parquet crate's byte-array decoder panic (its
/// footer since rewritten by the crate's own writer, so the footer check passes): the read is
/// an `Invalid` error, never a panic. The page-header check now refuses one of its chunks
/// before the decoder runs; `read_rows` still contains a decoder panic as a second line.
#[tokio::test]
async fn a_page_the_decoder_chokes_on_is_an_error() {
    let bytes = include_bytes!("data/decoder_panic.parquet");
    let source: std::sync::Arc<dyn kura_dataset::RangeSource> =
        std::sync::Arc::new(Memory(bytes::Bytes::from_static(bytes)));
    let meta = kura_dataset::TableMeta::load(source.clone()).await.expect("its footer is consistent");
    let read = kura_dataset::read::read_rows(source, &meta, 0, 20).await;
    assert!(matches!(read, Err(kura_dataset::DatasetError::Invalid(_))), "{read:?}");
}

/// One large value shared by many rows (a dictionary page): reading rows keeps one copy of it
/// (string views), and turning more of them into JSON than an answer may hold is refused
/// instead of copying the value into every row.
#[tokio::test]
async fn a_large_value_shared_by_many_rows_is_not_copied_into_each() {
    let big: String = (0..256 << 10).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "text",
        arrow_schema::DataType::Utf8,
        true,
    )]));
    let column = arrow_array::StringArray::from_iter_values(std::iter::repeat_n(big.as_str(), 1000));
    let batch = arrow_array::RecordBatch::try_new(schema.clone(), vec![Arc::new(column)]).unwrap();
    let features = features_of(&schema);
    let mut writer: ShardWriter<Vec<u8>> =
        ShardWriter::new(schema, &features, &Limits::default(), Box::new(|| Ok(Vec::new())));
    writer.write(&batch).unwrap();
    let file = writer.finish().unwrap().remove(0).output;
    assert!(file.len() < 8 << 20, "the value is stored once: {} bytes", file.len());
    let source: Arc<dyn RangeSource> = Arc::new(Memory(Bytes::from(file)));
    let meta = TableMeta::load(source.clone()).await.unwrap();
    let rows = read_rows(source.clone(), &meta, 0, 1000).await.unwrap();
    let held: usize = rows.iter().map(|b| b.get_array_memory_size()).sum();
    assert!(held < 16 << 20, "1,000 rows of one 256 KiB value hold {held} bytes");
    let few = read_rows(source, &meta, 0, 20).await.unwrap();
    assert_eq!(rows_of(&few, &meta.features, 0, &|_| String::new()).unwrap().len(), 20);
    assert!(matches!(rows_of(&rows, &meta.features, 0, &|_| String::new()), Err(DatasetError::TooBig(_))));
}

/// Image cells become URLs, not JSON copies of their bytes: a page of large images is within
/// the answer's budget, which counts the values that JSON would hold.
#[test]
fn large_images_do_not_count_against_the_json_budget() {
    let png = {
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0, 0, 0, 0, 0]);
        png.resize(1 << 20, 0);
        png
    };
    let fields = vec![
        arrow_schema::Field::new("bytes", arrow_schema::DataType::Binary, true),
        arrow_schema::Field::new("path", arrow_schema::DataType::Utf8, true),
    ];
    let rows = 110;
    let bytes: arrow_array::ArrayRef =
        Arc::new(arrow_array::BinaryArray::from_iter_values(std::iter::repeat_n(png.as_slice(), rows)));
    let paths: arrow_array::ArrayRef =
        Arc::new(arrow_array::StringArray::from_iter_values((0..rows).map(|i| format!("{i}.png"))));
    let image: arrow_array::ArrayRef =
        Arc::new(arrow_array::StructArray::new(fields.clone().into(), vec![bytes, paths], None));
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "image",
        arrow_schema::DataType::Struct(fields.into()),
        true,
    )]));
    let batch = arrow_array::RecordBatch::try_new(schema, vec![image]).unwrap();
    let features: kura_dataset::features::Features = kura_dataset::features::Features(vec![(
        "image".into(),
        serde_json::from_value(serde_json::json!({"_type": "Image"})).unwrap(),
    )]);
    let rows = rows_of(&[batch], &features, 0, &|cell| format!("/img/{}", cell.row_idx)).unwrap();
    assert_eq!(rows.len(), 110);
    assert_eq!(rows[109]["image"], serde_json::json!({"src": "/img/109", "height": 2, "width": 3}));
}
