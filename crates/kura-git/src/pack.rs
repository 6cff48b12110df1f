//! Pack files, written incrementally: header, zlib-deflated entries, SHA-1 trailer.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use sha1::{Digest, Sha1};

use crate::object::ObjectKind;

fn type_code(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::Commit => 1,
        ObjectKind::Tree => 2,
        ObjectKind::Blob => 3,
        ObjectKind::Tag => 4,
    }
}

/// Produces a pack one object at a time; every returned byte slice is pack data to send.
pub struct PackWriter {
    hasher: Sha1,
    remaining: u32,
}

impl PackWriter {
    /// Starts a pack of `count` objects; returns the writer and the header bytes.
    pub fn new(count: u32) -> (Self, Vec<u8>) {
        let mut header = b"PACK".to_vec();
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&count.to_be_bytes());
        let mut hasher = Sha1::new();
        hasher.update(&header);
        (Self { hasher, remaining: count }, header)
    }

    /// Encodes one whole object (no deltas).
    pub fn entry(&mut self, kind: ObjectKind, content: &[u8]) -> Vec<u8> {
        assert!(self.remaining > 0, "more entries than announced in the pack header");
        self.remaining -= 1;
        let mut size = content.len() as u64;
        let mut out = Vec::with_capacity(content.len() / 2 + 32);
        let mut byte = (type_code(kind) << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            out.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        out.push(byte);
        let mut encoder = ZlibEncoder::new(out, Compression::fast());
        encoder.write_all(content).expect("writing to a Vec cannot fail");
        let out = encoder.finish().expect("writing to a Vec cannot fail");
        self.hasher.update(&out);
        out
    }

    /// The trailing checksum.
    pub fn finish(self) -> [u8; 20] {
        assert_eq!(self.remaining, 0, "fewer entries than announced in the pack header");
        self.hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_well_formed_pack() {
        let (mut writer, mut pack) = PackWriter::new(1);
        pack.extend(writer.entry(ObjectKind::Blob, b"hello\n"));
        // type 3 (blob), size 6: 0b0011_0110
        assert_eq!(pack[12], 0x36);
        let trailer = writer.finish();
        let mut hasher = Sha1::new();
        hasher.update(&pack);
        assert_eq!(<[u8; 20]>::from(hasher.finalize()), trailer);
        assert_eq!(&pack[..8], b"PACK\0\0\0\x02");
    }
}
