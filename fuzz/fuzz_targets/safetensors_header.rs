//! safetensors headers from uploaded files (attacker-chosen): length prefix and JSON; never a
//! panic or an overflow, whatever the shapes and offsets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(len) = kura_formats::safetensors::header_len(data) {
        let json = data.get(8..).unwrap_or_default();
        let json = &json[..json.len().min(len as usize)];
        if let Ok(header) = kura_formats::safetensors::parse_header(json) {
            let _ = header.parameters();
        }
    }
});
