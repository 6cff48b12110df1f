//! GGUF headers from uploaded files (attacker-chosen): never a panic, a huge allocation or a
//! long loop, whatever the counts and lengths claim.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kura_formats::gguf::parse(data);
});
