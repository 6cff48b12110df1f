//! A stored parquet file (attacker-chosen bytes) opened as the dataset viewer opens it: the
//! footer and offset index are read within their budgets and checked (chunks and pages inside
//! the file, rows in order) before anything trusts them; errors are values, nothing panics.
//! Decoding pages is left out: the parquet crate's page decoders may panic on hostile pages,
//! which `read_rows` contains and answers as an error (tests/roundtrip.rs keeps a file found
//! here that did), and libFuzzer would count every such contained panic as a crash.
#![no_main]

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use kura_dataset::{RangeSource, TableMeta};
use libfuzzer_sys::fuzz_target;

struct Memory(Bytes);

impl RangeSource for Memory {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read(&self, range: Range<u64>) -> BoxFuture<'_, std::io::Result<Bytes>> {
        let end = range.end.min(self.0.len() as u64) as usize;
        let start = (range.start as usize).min(end);
        let slice = self.0.slice(start..end);
        Box::pin(async move { Ok(slice) })
    }
}

fuzz_target!(|data: &[u8]| {
    let source: Arc<dyn RangeSource> = Arc::new(Memory(Bytes::copy_from_slice(data)));
    if let Ok(meta) = futures::executor::block_on(TableMeta::load(source)) {
        assert!(meta.metadata().num_row_groups() == 0 || meta.num_rows < u64::MAX);
    }
});
