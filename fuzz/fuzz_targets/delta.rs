//! Delta application (`kura_git::apply_delta`, the payload of `OFS_DELTA` / `REF_DELTA` pack
//! entries) on a fuzzed base and delta, with a small result budget: never panics, never builds
//! a result over the budget, and an accepted result has exactly the size the delta declares.
//! Input: two bytes of base length (little-endian, capped by what is there), the base, then
//! the delta.

#![no_main]

use kura_git::apply_delta;
use libfuzzer_sys::fuzz_target;

/// Largest result the target lets a delta declare.
const BUDGET: u64 = 64 << 10;

/// The delta's two leading size varints (base, target), if it has them.
fn declared_sizes(delta: &[u8]) -> Option<(u64, u64)> {
    let mut pos = 0;
    let mut read = || {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *delta.get(pos)?;
            pos += 1;
            value |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    };
    Some((read()?, read()?))
}

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else { return };
    let base_len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (base, delta) = rest.split_at(base_len);
    let Ok(result) = apply_delta(base, delta, BUDGET) else { return };
    assert!(result.len() as u64 <= BUDGET, "result over the budget");
    let (base_size, target_size) = declared_sizes(delta).expect("an applied delta has both sizes");
    assert_eq!(base_size, base.len() as u64, "the declared base size was checked");
    assert_eq!(result.len() as u64, target_size, "the result has the declared size");
    // Applying is deterministic (no state carried between calls).
    assert_eq!(apply_delta(base, delta, BUDGET).ok(), Some(result));
});
