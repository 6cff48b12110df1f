//! The received-pack reader (`PackIndex::build`, then `resolve`) on any pack body: never
//! panics, and every object it yields hashes to its id. The input is the pack without its
//! trailer; the target appends the SHA-1 so mutations get past the checksum. Limits are small
//! so a forged size cannot make one run slow.

#![no_main]

use std::io::Cursor;

use kura_git::{GitError, PackIndex, PackLimits, hash_object};
use libfuzzer_sys::fuzz_target;
use sha1::{Digest, Sha1};

const LIMITS: PackLimits = PackLimits {
    max_objects: 1024,
    max_object_size: 1 << 20,
    delta_cache_bytes: 1 << 20,
    max_delta_depth: 64,
    max_inflated_bytes: 4 << 20,
};

fuzz_target!(|data: &[u8]| {
    let mut pack = data.to_vec();
    pack.extend_from_slice(&Sha1::digest(data));
    let Ok(index) = PackIndex::build(pack.as_slice(), &LIMITS) else {
        return;
    };
    let _ = index.resolve(
        Cursor::new(&pack),
        |_id| Ok::<_, GitError>(None),
        |object| {
            assert_eq!(hash_object(object.kind, object.content), object.id, "object id is not its hash");
            Ok(())
        },
    );
});
