//! `kura_cas::parse_shard` on any bytes: never panics; an accepted shard has consistent sizes
//! (summed without overflow), term ranges and verification entries, and re-encodes with
//! `Shard::to_bytes` to bytes that parse to the same files and xorbs.

#![no_main]

use kura_cas::{Shard, parse_shard};
use libfuzzer_sys::fuzz_target;

fn check_sizes(shard: &Shard) {
    for file in &shard.files {
        let size = file
            .terms
            .iter()
            .try_fold(0u64, |sum, term| sum.checked_add(u64::from(term.unpacked_len)))
            .expect("file size overflows u64");
        assert_eq!(size, file.size());
        assert!(file.terms.iter().all(|term| term.chunk_start < term.chunk_end), "empty term accepted");
        if let Some(verification) = &file.verification {
            assert_eq!(verification.len(), file.terms.len(), "one verification hash per term");
        }
    }
    for xorb in &shard.xorbs {
        xorb.chunks
            .iter()
            .try_fold(0u64, |sum, chunk| sum.checked_add(u64::from(chunk.uncompressed_len)))
            .expect("xorb size overflows u64");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(shard) = parse_shard(data) else {
        return;
    };
    check_sizes(&shard);
    let again = parse_shard(&shard.to_bytes()).expect("a re-encoded shard parses");
    assert_eq!(again.files, shard.files);
    assert_eq!(again.xorbs, shard.xorbs);
    match (&again.footer, &shard.footer) {
        (None, None) => {}
        (Some(new), Some(old)) => {
            assert_eq!(
                (new.chunk_hash_key, new.created_at, new.key_expiry),
                (old.chunk_hash_key, old.created_at, old.key_expiry)
            );
        }
        _ => panic!("footer presence changed in the round trip"),
    }
});
