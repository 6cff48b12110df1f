//! Stored files (attacker-chosen) inspected as the indexer inspects them, under a name the
//! first byte picks: every read asked for lies inside the file and within the budget, the
//! inspector finishes, and nothing panics whatever the archive, header or pickle claims.
#![no_main]

use kura_formats::inspect::{Inspector, MAX_READ_BYTES, Step};
use libfuzzer_sys::fuzz_target;

/// One name per reader: safetensors, GGUF, PyTorch (zip or legacy), numpy, pickle, archives.
const NAMES: [&str; 7] =
    ["model.safetensors", "model.gguf", "pytorch_model.bin", "array.npy", "data.pkl", "arrays.npz", "old.pt"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else { return };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let Some(mut inspector) = Inspector::for_path(name, file.len() as u64) else { return };
    let mut read = 0u64;
    for _ in 0..1_000_000 {
        match inspector.step() {
            Step::Read { offset, len } => {
                let end = offset.checked_add(len).filter(|end| *end <= file.len() as u64);
                let end = end.expect("a read inside the file") as usize;
                read += len;
                assert!(read <= MAX_READ_BYTES, "within the read budget");
                inspector.feed(&file[offset as usize..end]);
            }
            Step::Done(facts) => {
                let json = serde_json::to_vec(&facts).expect("facts serialize");
                assert!(json.len() < 1 << 20, "facts stay small");
                return;
            }
        }
    }
    panic!("the inspector never finished");
});
