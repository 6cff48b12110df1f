//! Issue 16's fixture: a header shaped like gpt2's `model.safetensors` (its 148 tensors with
//! their real shapes, including the 12 `attn.bias` buffers of 1024×1024) counts 137,022,720
//! F32 values, as the Hub reports for gpt2. The inspector reads the header only: the 548 MB of
//! data after it are never asked for, so the test serves ranges of a virtual file.

use kura_formats::inspect::{Inspector, Step};
use serde_json::{Map, Value, json};

/// The tensors of gpt2 (name, shape).
fn gpt2_tensors() -> Vec<(String, Vec<u64>)> {
    let mut tensors =
        vec![("wte.weight".to_owned(), vec![50257, 768]), ("wpe.weight".to_owned(), vec![1024, 768])];
    for layer in 0..12 {
        let layer_tensors: [(&str, Vec<u64>); 13] = [
            ("ln_1.weight", vec![768]),
            ("ln_1.bias", vec![768]),
            ("attn.bias", vec![1, 1, 1024, 1024]),
            ("attn.c_attn.weight", vec![768, 2304]),
            ("attn.c_attn.bias", vec![2304]),
            ("attn.c_proj.weight", vec![768, 768]),
            ("attn.c_proj.bias", vec![768]),
            ("ln_2.weight", vec![768]),
            ("ln_2.bias", vec![768]),
            ("mlp.c_fc.weight", vec![768, 3072]),
            ("mlp.c_fc.bias", vec![3072]),
            ("mlp.c_proj.weight", vec![3072, 768]),
            ("mlp.c_proj.bias", vec![768]),
        ];
        tensors.extend(layer_tensors.into_iter().map(|(name, shape)| (format!("h.{layer}.{name}"), shape)));
    }
    tensors.push(("ln_f.weight".to_owned(), vec![768]));
    tensors.push(("ln_f.bias".to_owned(), vec![768]));
    tensors
}

#[test]
fn a_gpt2_shaped_header_counts_137_022_720_f32_values() {
    let mut header = Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut offset = 0u64;
    for (name, shape) in gpt2_tensors() {
        let bytes = shape.iter().product::<u64>() * 4;
        header
            .insert(name, json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]}));
        offset += bytes;
    }
    let text = serde_json::to_vec(&Value::Object(header)).unwrap();
    let mut prefix = (text.len() as u64).to_le_bytes().to_vec();
    prefix.extend_from_slice(&text);
    let size = prefix.len() as u64 + offset;

    let mut inspector = Inspector::for_path("model.safetensors", size).expect("safetensors are read");
    let mut asked_past_header = false;
    let facts = loop {
        match inspector.step() {
            Step::Read { offset, len } => {
                let end = (offset + len).min(size);
                asked_past_header |= end > prefix.len() as u64 + 64 * 1024;
                // Header bytes as they are; the (virtual) tensor data reads as zeros.
                let data: Vec<u8> =
                    (offset..end).map(|at| prefix.get(at as usize).copied().unwrap_or(0)).collect();
                inspector.feed(&data);
            }
            Step::Done(facts) => break facts,
        }
    };
    assert!(!asked_past_header, "only the header is read");
    let counted = facts.safetensors.expect("a safetensors header");
    assert_eq!(counted.total, 137_022_720);
    assert_eq!(counted.parameters.get("F32"), Some(&137_022_720));
    assert_eq!(counted.parameters.len(), 1);
}
