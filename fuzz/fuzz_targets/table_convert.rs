//! A dataset file (attacker-chosen bytes) converted as the parquet export converts it, as csv,
//! tsv, JSON lines, text or an Arrow stream by the first byte: schema inference, batches within
//! their byte budget, and parquet shards written to memory; errors are values, nothing panics.
#![no_main]

use kura_dataset::batches::Batches;
use kura_dataset::convert::{Limits, SourceFormat, infer_schema};
use kura_dataset::features::features_of;
use kura_dataset::shards::ShardWriter;
use libfuzzer_sys::fuzz_target;

const FORMATS: [SourceFormat; 5] = [
    SourceFormat::Csv { delimiter: b',' },
    SourceFormat::Csv { delimiter: b'\t' },
    SourceFormat::Json,
    SourceFormat::Text,
    SourceFormat::Arrow,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else { return };
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    let limits = Limits {
        infer_bytes: 64 << 10,
        target_batch_bytes: 16 << 10,
        max_batch_bytes: 256 << 10,
        max_columns: 64,
        row_group_bytes: 1 << 20,
        shard_bytes: 4 << 20,
    };
    let prefix = &file[..file.len().min(limits.infer_bytes)];
    let Ok(schema) = infer_schema(format, prefix, prefix.len() == file.len(), &limits) else { return };
    let features = features_of(&schema.schema);
    let Ok(batches) = Batches::new(format, &schema, file, &limits) else { return };
    let mut writer: ShardWriter<Vec<u8>> =
        ShardWriter::new(schema.schema.clone(), &features, &limits, Box::new(|| Ok(Vec::new())));
    for batch in batches {
        let Ok(batch) = batch else { return };
        if writer.write(&batch).is_err() {
            return;
        }
    }
    let _ = writer.finish();
});
