//! Writing git delta data (the payload of `OFS_DELTA` entries), the inverse of
//! `delta::apply_delta`: the base and target sizes, then copy and insert instructions.

/// One delta instruction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DeltaOp<'a> {
    Copy { offset: u64, size: u64 },
    Insert(&'a [u8]),
}

/// Appends a size varint (7 bits per byte, least significant first, high bit = more).
fn push_size(out: &mut Vec<u8>, mut size: u64) {
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends one copy opcode of at most 0x10000 bytes; its operand bytes that are zero are left out.
fn push_copy(out: &mut Vec<u8>, offset: u64, size: u64) {
    let at = out.len();
    out.push(0x80);
    for i in 0..4 {
        let byte = (offset >> (8 * i)) as u8;
        if byte != 0 {
            out[at] |= 1 << i;
            out.push(byte);
        }
    }
    // A copy without size bytes means 0x10000.
    let encoded_size = if size == 0x10000 { 0 } else { size };
    for i in 0..3 {
        let byte = (encoded_size >> (8 * i)) as u8;
        if byte != 0 {
            out[at] |= 0x10 << i;
            out.push(byte);
        }
    }
}

/// Encodes `ops` as delta data; copies over 0x10000 bytes and inserts over 127 are split.
pub(crate) fn encode_delta(base_size: u64, target_size: u64, ops: &[DeltaOp<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    push_size(&mut out, base_size);
    push_size(&mut out, target_size);
    for op in ops {
        match *op {
            DeltaOp::Copy { mut offset, size } => {
                let mut left = size;
                while left > 0 {
                    let size = left.min(0x10000);
                    push_copy(&mut out, offset, size);
                    offset += size;
                    left -= size;
                }
            }
            DeltaOp::Insert(data) => {
                for piece in data.chunks(127) {
                    out.push(piece.len() as u8);
                    out.extend_from_slice(piece);
                }
            }
        }
    }
    out
}

/// A delta from `base` to `target`: copy their common prefix and suffix, insert the middle.
/// Small and exact for the usual change between two versions of a tree (an entry's id
/// replaced, an entry added or removed) or of a file edited in one place.
pub fn make_delta(base: &[u8], target: &[u8]) -> Vec<u8> {
    let prefix = base.iter().zip(target).take_while(|(a, b)| a == b).count();
    let room = base.len().min(target.len()) - prefix;
    let suffix = base.iter().rev().zip(target.iter().rev()).take(room).take_while(|(a, b)| a == b).count();
    let middle = &target[prefix..target.len() - suffix];
    let ops = [
        DeltaOp::Copy { offset: 0, size: prefix as u64 },
        DeltaOp::Insert(middle),
        DeltaOp::Copy { offset: (base.len() - suffix) as u64, size: suffix as u64 },
    ];
    encode_delta(base.len() as u64, target.len() as u64, &ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply_delta;

    fn check(base: &[u8], target: &[u8]) -> usize {
        let delta = make_delta(base, target);
        assert_eq!(apply_delta(base, &delta, 1 << 24).unwrap(), target);
        delta.len()
    }

    #[test]
    fn prefix_and_suffix_deltas_rebuild_the_target() {
        assert!(check(b"", b"") <= 2);
        check(b"", b"fresh");
        check(b"stale", b"");
        check(b"same", b"same");
        check(b"abcabc", b"abc");
        check(b"abc", b"abcabc");
        let base = b"The quick brown fox jumps over the lazy dog".repeat(50);
        let mut target = base.clone();
        target.splice(300..310, b"a new bit of text".iter().copied());
        assert!(check(&base, &target) < 40);
    }

    #[test]
    fn long_copies_and_inserts_are_split() {
        let base: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut target = base.clone();
        target[150_000] ^= 1;
        target.extend((0..1000u32).map(|i| i as u8));
        check(&base, &target);
        check(&base, &base);
        // 0x10000 exactly is a copy opcode with no size bytes.
        let delta = encode_delta(0x10000, 0x10000, &[DeltaOp::Copy { offset: 0, size: 0x10000 }]);
        assert_eq!(delta, [0x80, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80]);
    }
}
