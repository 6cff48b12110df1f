//! Pack files, written incrementally: header, zlib-deflated entries, SHA-1 trailer.

use flate2::{Compress, Compression, FlushCompress, Status};
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
    /// One zlib state for every entry (reset between them): setting up a fresh one per object
    /// costs more than compressing a small object.
    deflate: Compress,
}

impl PackWriter {
    /// Starts a pack of `count` objects; returns the writer and the header bytes.
    pub fn new(count: u32) -> (Self, Vec<u8>) {
        let mut header = b"PACK".to_vec();
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&count.to_be_bytes());
        let mut hasher = Sha1::new();
        hasher.update(&header);
        (Self { hasher, remaining: count, deflate: Compress::new(Compression::fast(), true) }, header)
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
        self.deflate.reset();
        let start = self.deflate.total_in();
        loop {
            let consumed = (self.deflate.total_in() - start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(content.len() / 4 + 64);
            }
            let status = self
                .deflate
                .compress_vec(&content[consumed..], &mut out, FlushCompress::Finish)
                .expect("deflating into a Vec cannot fail");
            if status == Status::StreamEnd {
                break;
            }
        }
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

    #[test]
    fn packs_read_back_with_one_reused_compressor() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
        let objects: [(ObjectKind, &[u8]); 4] = [
            (ObjectKind::Blob, b""),
            (ObjectKind::Blob, &big),
            (ObjectKind::Blob, b"hello\n"),
            (ObjectKind::Tree, b""),
        ];
        let (mut writer, mut pack) = PackWriter::new(objects.len() as u32);
        for (kind, content) in objects {
            pack.extend(writer.entry(kind, content));
        }
        pack.extend(writer.finish());
        let index = crate::PackIndex::build(&pack[..], &crate::PackLimits::default()).unwrap();
        let mut seen = Vec::new();
        index
            .resolve(
                std::io::Cursor::new(&pack),
                |_| Ok::<_, crate::GitError>(None),
                |object| {
                    seen.push((object.id, object.content.to_vec()));
                    Ok(())
                },
            )
            .unwrap();
        let expected: Vec<_> = objects
            .iter()
            .map(|(kind, content)| (crate::hash_object(*kind, content), content.to_vec()))
            .collect();
        assert_eq!(seen, expected);
    }
}
