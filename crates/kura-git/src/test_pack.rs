//! Test-only builders: a pack writer that can emit deltas and
//! deliberately broken entries.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use kura_model::ObjectId;
use sha1::{Digest, Sha1};

use crate::ObjectKind;
pub(crate) use crate::delta_encode::{DeltaOp, encode_delta, make_delta};
pub(crate) use crate::pack::ofs_encoding;

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
