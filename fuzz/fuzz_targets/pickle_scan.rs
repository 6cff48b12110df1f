//! Pickle streams from uploaded files (attacker-chosen) walked for their imports: never a
//! panic, and every import found gets a verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let walk = kura_formats::pickle::walk(data, true);
    let _ = kura_formats::pickle_policy::highest(&walk.imports);
});
