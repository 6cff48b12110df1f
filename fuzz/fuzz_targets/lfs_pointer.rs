//! `LfsPointer::parse` on any bytes: never panics, and a pointer it accepts re-encodes to
//! canonical text that parses back to the same pointer.

#![no_main]

use kura_git::{LfsPointer, MAX_POINTER_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(pointer)) = LfsPointer::parse(data) else {
        return;
    };
    let text = pointer.encode();
    assert!(text.len() <= MAX_POINTER_SIZE, "canonical pointer too long: {} bytes", text.len());
    let again = LfsPointer::parse(&text);
    assert!(matches!(again, Ok(Some(p)) if p == pointer), "{pointer:?} re-encoded to {again:?}");
});
