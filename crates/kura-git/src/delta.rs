//! Git delta data (the payload of `OFS_DELTA` and `REF_DELTA` pack entries): the base and
//! target sizes, then copy-from-base and insert instructions that rebuild the target.

use crate::GitError;

fn bad(reason: &str) -> GitError {
    GitError::malformed("delta", reason)
}

/// Reads one size varint (7 bits per byte, least significant first, high bit = more).
fn read_size(data: &[u8], pos: &mut usize) -> Result<u64, GitError> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *data.get(*pos).ok_or_else(|| bad("truncated size"))?;
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        if shift > 63 || (shift > 0 && bits >> (64 - shift) != 0) {
            return Err(bad("size does not fit in 64 bits"));
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

/// The sizes a delta declares up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeltaHeader {
    pub(crate) base_size: u64,
    pub(crate) target_size: u64,
    /// Where the instructions start.
    pub(crate) instructions_at: usize,
}

/// Parses the two sizes at the start of `delta`.
pub(crate) fn delta_header(delta: &[u8]) -> Result<DeltaHeader, GitError> {
    let mut pos = 0;
    let base_size = read_size(delta, &mut pos)?;
    let target_size = read_size(delta, &mut pos)?;
    Ok(DeltaHeader { base_size, target_size, instructions_at: pos })
}

/// Rebuilds the target of `delta` from `base`.
///
/// Strict: the declared base size must equal `base.len()`, every copy must stay inside the
/// base, the target must come out at exactly its declared size, the reserved opcode 0 and
/// truncated instructions are rejected, and a declared target size over `max_size` is refused
/// before anything is allocated.
pub fn apply_delta(base: &[u8], delta: &[u8], max_size: u64) -> Result<Vec<u8>, GitError> {
    let header = delta_header(delta)?;
    if header.base_size != base.len() as u64 {
        return Err(bad(&format!("base is {} bytes, delta expects {}", base.len(), header.base_size)));
    }
    if header.target_size > max_size {
        return Err(GitError::limit("delta target size", header.target_size, max_size));
    }
    let target_size = usize::try_from(header.target_size).map_err(|_| bad("target too large"))?;
    let mut out = Vec::with_capacity(target_size);
    let mut pos = header.instructions_at;
    while let Some(&opcode) = delta.get(pos) {
        pos += 1;
        let piece = if opcode & 0x80 != 0 {
            let (offset, size) = copy_operands(opcode, delta, &mut pos)?;
            offset
                .checked_add(size)
                .and_then(|end| base.get(offset..end))
                .ok_or_else(|| bad("copy outside the base"))?
        } else if opcode != 0 {
            let len = usize::from(opcode);
            let data = delta.get(pos..pos + len).ok_or_else(|| bad("truncated insert"))?;
            pos += len;
            data
        } else {
            return Err(bad("reserved opcode 0"));
        };
        if out.len() + piece.len() > target_size {
            return Err(bad("instructions overflow the declared target size"));
        }
        out.extend_from_slice(piece);
    }
    if out.len() != target_size {
        return Err(bad(&format!("result is {} bytes, delta declares {target_size}", out.len())));
    }
    Ok(out)
}

/// Reads the optional little-endian offset (4 bytes) and size (3 bytes) of a copy opcode.
fn copy_operands(opcode: u8, delta: &[u8], pos: &mut usize) -> Result<(usize, usize), GitError> {
    let mut operand = |bit: u8, shift: u32| -> Result<usize, GitError> {
        if opcode & bit == 0 {
            return Ok(0);
        }
        let byte = *delta.get(*pos).ok_or_else(|| bad("truncated copy"))?;
        *pos += 1;
        Ok(usize::from(byte) << shift)
    };
    let offset = operand(0x01, 0)? | operand(0x02, 8)? | operand(0x04, 16)? | operand(0x08, 24)?;
    let size = operand(0x10, 0)? | operand(0x20, 8)? | operand(0x40, 16)?;
    Ok((offset, if size == 0 { 0x10000 } else { size }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pack::{DeltaOp, encode_delta, make_delta};

    fn apply(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, GitError> {
        apply_delta(base, delta, 1 << 20)
    }

    #[test]
    fn applies_copies_and_inserts() {
        let base = b"hello, world";
        let ops = [
            DeltaOp::Copy { offset: 7, size: 5 },
            DeltaOp::Insert(b", "),
            DeltaOp::Copy { offset: 0, size: 5 },
        ];
        let delta = encode_delta(12, 12, &ops);
        assert_eq!(apply(base, &delta).unwrap(), b"world, hello");
    }

    #[test]
    fn known_bytes_with_sparse_operands() {
        // Sizes 0x10 and 3; copy with only offset1 (0x04) and size1 (0x03): 0x91 0x04 0x03.
        let base = b"0123456789abcdef";
        assert_eq!(apply(base, &[0x10, 0x03, 0x91, 0x04, 0x03]).unwrap(), b"456");
        // Only offset2 present (0x82): offset 0x0100 into a 0x200-byte base, size 2 (0x10).
        let mut big = vec![0u8; 0x200];
        big[0x100] = b'x';
        big[0x101] = b'y';
        assert_eq!(apply(&big, &[0x80, 0x04, 0x02, 0x92, 0x01, 0x02]).unwrap(), b"xy");
    }

    #[test]
    fn copy_size_zero_means_0x10000() {
        let base: Vec<u8> = (0..0x10010u32).map(|i| i as u8).collect();
        // Base size 0x10010, target size 0x10000, then a bare copy opcode with offset 0.
        let delta = [0x90, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80];
        assert_eq!(apply(&base, &delta).unwrap(), &base[..0x10000]);
        let encoded = encode_delta(base.len() as u64, 0x10000, &[DeltaOp::Copy { offset: 0, size: 0x10000 }]);
        assert_eq!(encoded, delta);
    }

    #[test]
    fn make_delta_round_trips() {
        let base = b"The quick brown fox jumps over the lazy dog".repeat(50);
        let mut target = base.clone();
        target.splice(300..310, b"a new bit of text".iter().copied());
        let delta = make_delta(&base, &target);
        assert!(delta.len() < 100);
        assert_eq!(apply(&base, &delta).unwrap(), target);
        assert_eq!(apply(b"", &make_delta(b"", b"fresh")).unwrap(), b"fresh");
    }

    #[test]
    fn rejects_bad_deltas() {
        let base = b"0123456789";
        let check = |delta: &[u8], why: &str| {
            let error = apply(base, delta).unwrap_err();
            assert!(error.to_string().contains(why), "{error} should mention {why}");
        };
        check(&[9, 1, 0x01, b'x'], "delta expects 9");
        check(&[10, 4, 0x91, 8, 4], "copy outside the base");
        check(&[10, 4, 0x9f, 0xff, 0xff, 0xff, 0xff, 0x01], "copy outside the base");
        check(&[10, 3, 0x02, b'a', b'b'], "result is 2 bytes");
        check(&[10, 1, 0x02, b'a', b'b'], "overflow the declared target size");
        check(&[10, 1, 0x00], "reserved opcode 0");
        check(&[10, 3, 0x03, b'a'], "truncated insert");
        check(&[10, 3, 0x91], "truncated copy");
        check(&[10], "truncated size");
        check(&[10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], "64 bits");
        let limited = apply_delta(base, &[10, 0x80, 0x80, 0x40], 1000).unwrap_err();
        assert!(matches!(limited, GitError::LimitExceeded { limit: 1000, .. }));
    }
}
