//! Pack files, written incrementally: header, zlib-compressed entries (whole objects or
//! `OFS_DELTA`s against earlier entries), SHA-1 trailer.

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

/// Payloads shorter than this are stored in their zlib stream, not deflated: deflate would
/// barely shrink them (a tree delta is mostly an object id), and resetting the compressor
/// (which zeroes its 128 KiB hash table) costs more than the whole entry.
const STORED_BELOW: usize = 128;

/// The zlib header of a stream with a 32 KiB window and no preset dictionary
/// (`0x7801` is a multiple of 31, as zlib requires).
const ZLIB_HEADER: [u8; 2] = [0x78, 0x01];

/// Produces a pack one object at a time; every returned byte slice is pack data to send.
pub struct PackWriter {
    hasher: Sha1,
    remaining: u32,
    /// Bytes produced so far: where the next entry starts.
    offset: u64,
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
        let deflate = Compress::new(Compression::fast(), true);
        (Self { hasher, remaining: count, offset: header.len() as u64, deflate }, header)
    }

    /// The pack offset the next entry will start at.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Encodes one whole object.
    pub fn entry(&mut self, kind: ObjectKind, content: &[u8]) -> Vec<u8> {
        self.write(type_code(kind), &[], content)
    }

    /// Encodes an `OFS_DELTA` entry: `delta` rebuilds the object from the entry written at
    /// `base_offset` (an earlier [`PackWriter::offset`]).
    pub fn delta_entry(&mut self, base_offset: u64, delta: &[u8]) -> Vec<u8> {
        assert!(base_offset < self.offset, "a delta base must come earlier in the pack");
        self.write(6, &ofs_encoding(self.offset - base_offset), delta)
    }

    /// Writes the entry header (type, size of `data`), `extra`, then `data` in a zlib stream.
    fn write(&mut self, type_code: u8, extra: &[u8], data: &[u8]) -> Vec<u8> {
        assert!(self.remaining > 0, "more entries than announced in the pack header");
        self.remaining -= 1;
        let mut size = data.len() as u64;
        let mut out = Vec::with_capacity(data.len() / 2 + 32 + extra.len());
        let mut byte = (type_code << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            out.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        out.push(byte);
        out.extend_from_slice(extra);
        if data.len() < STORED_BELOW {
            stored_zlib(data, &mut out);
        } else {
            self.deflate_into(data, &mut out);
        }
        self.hasher.update(&out);
        self.offset += out.len() as u64;
        out
    }

    fn deflate_into(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.deflate.reset();
        let start = self.deflate.total_in();
        loop {
            let consumed = (self.deflate.total_in() - start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(data.len() / 4 + 64);
            }
            let status = self
                .deflate
                .compress_vec(&data[consumed..], out, FlushCompress::Finish)
                .expect("deflating into a Vec cannot fail");
            if status == Status::StreamEnd {
                return;
            }
        }
    }

    /// The trailing checksum.
    pub fn finish(self) -> [u8; 20] {
        assert_eq!(self.remaining, 0, "fewer entries than announced in the pack header");
        self.hasher.finalize().into()
    }
}

/// `data` (under 64 KiB) as a zlib stream of one stored (uncompressed) deflate block.
fn stored_zlib(data: &[u8], out: &mut Vec<u8>) {
    let len = u16::try_from(data.len()).expect("stored entries are small");
    out.extend_from_slice(&ZLIB_HEADER);
    out.push(0x01); // the final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&adler32(data).to_be_bytes());
}

/// zlib's checksum.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that cannot overflow `b` between reductions.
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// The distance back to an `OFS_DELTA` base: big-endian 7-bit groups, one less per
/// continuation byte (git's encoding, so that every distance has exactly one spelling).
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
        let seen = resolve_all(&pack);
        let expected: Vec<_> = objects
            .iter()
            .map(|(kind, content)| (crate::hash_object(*kind, content), content.to_vec()))
            .collect();
        assert_eq!(seen, expected);
    }

    /// Every object of a complete pack, as (id, content), in the order the index resolves them.
    fn resolve_all(pack: &[u8]) -> Vec<(kura_model::ObjectId, Vec<u8>)> {
        let index = crate::PackIndex::build(pack, &crate::PackLimits::default()).unwrap();
        let mut seen = Vec::new();
        index
            .resolve(
                std::io::Cursor::new(pack),
                |_| Ok::<_, crate::GitError>(None),
                |object| {
                    seen.push((object.id, object.content.to_vec()));
                    Ok(())
                },
            )
            .unwrap();
        seen
    }

    #[test]
    fn stored_streams_inflate_and_check_out() {
        use std::io::Read;
        for data in [&b""[..], b"x", &[0xffu8; 127], &(0..127u8).collect::<Vec<_>>()] {
            let mut stream = Vec::new();
            stored_zlib(data, &mut stream);
            let mut back = Vec::new();
            flate2::read::ZlibDecoder::new(&stream[..]).read_to_end(&mut back).unwrap();
            assert_eq!(back, data);
        }
        // Known values (RFC 1950's algorithm; "Wikipedia" is the textbook example).
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(&[0xff; 100_000]), 0x149A_302C);
    }

    #[test]
    fn delta_entries_point_back_at_their_base() {
        let base = b"100644 a\0aaaaaaaaaaaaaaaaaaaa100644 b\0bbbbbbbbbbbbbbbbbbbb".to_vec();
        let mut target = base.clone();
        target[12] = b'z';
        let (mut writer, mut pack) = PackWriter::new(2);
        let at = writer.offset();
        assert_eq!(at, 12);
        pack.extend(writer.entry(ObjectKind::Blob, &base));
        assert_eq!(writer.offset(), pack.len() as u64);
        pack.extend(writer.delta_entry(at, &crate::delta_encode::make_delta(&base, &target)));
        pack.extend(writer.finish());
        let mut seen: Vec<Vec<u8>> = resolve_all(&pack).into_iter().map(|(_, content)| content).collect();
        seen.sort();
        let mut expected = vec![base, target];
        expected.sort();
        assert_eq!(seen, expected);
    }
}
