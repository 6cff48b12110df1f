//! Test-only builders: a tiny delta encoder and a pack writer that can emit deltas and
//! deliberately broken entries.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use kura_model::ObjectId;
use sha1::{Digest, Sha1};

use crate::ObjectKind;

/// One delta instruction.
#[derive(Clone, Copy)]
pub(crate) enum DeltaOp<'a> {
    Copy { offset: u64, size: u64 },
    Insert(&'a [u8]),
}

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

/// Encodes `ops` as delta data; copies over 0x10000 bytes and inserts over 127 are split.
pub(crate) fn encode_delta(base_size: u64, target_size: u64, ops: &[DeltaOp<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    push_size(&mut out, base_size);
    push_size(&mut out, target_size);
    for op in ops {
        match op {
            DeltaOp::Copy { offset, size } => {
                let (mut offset, mut left) = (*offset, *size);
                while left > 0 {
                    let size = left.min(0x10000);
                    let mut opcode = 0x80u8;
                    let mut operands = Vec::new();
                    for i in 0..4 {
                        let byte = (offset >> (8 * i)) as u8;
                        if byte != 0 {
                            opcode |= 1 << i;
                            operands.push(byte);
                        }
                    }
                    let encoded_size = if size == 0x10000 { 0 } else { size };
                    for i in 0..3 {
                        let byte = (encoded_size >> (8 * i)) as u8;
                        if byte != 0 {
                            opcode |= 0x10 << i;
                            operands.push(byte);
                        }
                    }
                    out.push(opcode);
                    out.extend(operands);
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

/// A delta from `base` to `target`: copy the common prefix and suffix, insert the middle.
pub(crate) fn make_delta(base: &[u8], target: &[u8]) -> Vec<u8> {
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

pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

pub(crate) fn type_code(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::Commit => 1,
        ObjectKind::Tree => 2,
        ObjectKind::Blob => 3,
        ObjectKind::Tag => 4,
    }
}

/// Builds a pack entry by entry; `finish` adds the header and the SHA-1 trailer.
#[derive(Default)]
pub(crate) struct TestPack {
    body: Vec<u8>,
    count: u32,
    pub(crate) version: u32,
}

impl TestPack {
    pub(crate) fn new() -> Self {
        Self { version: 2, ..Self::default() }
    }

    /// Offset (from the start of the pack) the next entry will get.
    pub(crate) fn next_offset(&self) -> u64 {
        12 + self.body.len() as u64
    }

    /// Appends an entry from its parts and returns its offset.
    pub(crate) fn raw(&mut self, type_code: u8, size: u64, extra: &[u8], zlib: &[u8]) -> u64 {
        let offset = self.next_offset();
        let mut size_left = size >> 4;
        let mut byte = (type_code << 4) | (size & 0x0f) as u8;
        while size_left > 0 {
            self.body.push(byte | 0x80);
            byte = (size_left & 0x7f) as u8;
            size_left >>= 7;
        }
        self.body.push(byte);
        self.body.extend_from_slice(extra);
        self.body.extend_from_slice(zlib);
        self.count += 1;
        offset
    }

    pub(crate) fn whole(&mut self, kind: ObjectKind, content: &[u8]) -> u64 {
        self.raw(type_code(kind), content.len() as u64, &[], &deflate(content))
    }

    pub(crate) fn ofs_delta(&mut self, base_offset: u64, delta: &[u8]) -> u64 {
        let distance = self.next_offset() - base_offset;
        self.raw(6, delta.len() as u64, &ofs_encoding(distance), &deflate(delta))
    }

    pub(crate) fn ref_delta(&mut self, base: ObjectId, delta: &[u8]) -> u64 {
        self.raw(7, delta.len() as u64, &base.0, &deflate(delta))
    }

    /// The pack with the real entry count.
    pub(crate) fn finish(self) -> Vec<u8> {
        let count = self.count;
        self.finish_with_count(count)
    }

    pub(crate) fn finish_with_count(self, count: u32) -> Vec<u8> {
        let mut pack = b"PACK".to_vec();
        pack.extend_from_slice(&self.version.to_be_bytes());
        pack.extend_from_slice(&count.to_be_bytes());
        pack.extend_from_slice(&self.body);
        seal(pack)
    }
}

/// Appends the SHA-1 trailer of `pack`.
pub(crate) fn seal(mut pack: Vec<u8>) -> Vec<u8> {
    let digest: [u8; 20] = Sha1::digest(&pack).into();
    pack.extend_from_slice(&digest);
    pack
}

/// The negative-offset encoding of `OFS_DELTA`.
pub(crate) fn ofs_encoding(mut distance: u64) -> Vec<u8> {
    let mut bytes = vec![(distance & 0x7f) as u8];
    distance >>= 7;
    while distance > 0 {
        distance -= 1;
        bytes.insert(0, 0x80 | (distance & 0x7f) as u8);
        distance >>= 7;
    }
    bytes
}
