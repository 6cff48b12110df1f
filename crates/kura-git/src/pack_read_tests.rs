//! Tests for pass 1 (indexing and validation) of the pack reader, on packs built in memory.

use std::io::Cursor;

use super::*;
use crate::PackWriter;
use crate::object::hash_object;
use crate::test_pack::{DeltaOp, TestPack, deflate, encode_delta, make_delta, ofs_encoding, seal};

fn limits() -> PackLimits {
    PackLimits { max_objects: 1000, max_object_size: 1 << 20, ..PackLimits::default() }
}

fn index(pack: &[u8]) -> Result<PackIndex, GitError> {
    PackIndex::build(Cursor::new(pack), &limits())
}

fn error(pack: &[u8]) -> String {
    index(pack).unwrap_err().to_string()
}

fn blob_pack() -> Vec<u8> {
    let mut pack = TestPack::new();
    pack.whole(ObjectKind::Blob, b"hello\n");
    pack.whole(ObjectKind::Tree, b"");
    pack.finish()
}

#[test]
fn an_entry_costs_48_bytes_of_index() {
    assert_eq!(std::mem::size_of::<Entry>(), 48);
}

#[test]
fn indexes_a_pack_from_pack_writer() {
    let (mut writer, mut pack) = PackWriter::new(1);
    pack.extend(writer.entry(ObjectKind::Blob, b"hello\n"));
    pack.extend(writer.finish());
    let index = index(&pack).unwrap();
    assert_eq!(index.object_count(), 1);
    assert_eq!(index.pack_len(), pack.len() as u64);
    let id = ObjectId::from_hex("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
    assert_eq!(index.entries[0].kind, EntryKind::Whole { kind: ObjectKind::Blob, id });
    assert_eq!(index.checksum().0[..], pack[pack.len() - 20..]);
    assert!(index.missing_bases().is_empty());
}

#[test]
fn accepts_empty_packs_and_version_3() {
    let empty = TestPack::new().finish();
    assert_eq!(empty.len(), 32);
    assert_eq!(index(&empty).unwrap().object_count(), 0);
    let mut v3 = TestPack::new();
    v3.version = 3;
    v3.whole(ObjectKind::Blob, b"x");
    assert_eq!(index(&v3.finish()).unwrap().object_count(), 1);
    let mut v4 = TestPack::new();
    v4.version = 4;
    assert!(error(&v4.finish()).contains("unsupported version 4"));
    let mut wrong = blob_pack();
    wrong[0] = b'K';
    assert!(error(&wrong).contains("signature"));
}

#[test]
fn records_deltas_and_missing_bases() {
    let mut pack = TestPack::new();
    let base = pack.whole(ObjectKind::Blob, b"version one\n");
    pack.ofs_delta(base, &make_delta(b"version one\n", b"version two\n"));
    let inside = hash_object(ObjectKind::Blob, b"version one\n");
    let outside = hash_object(ObjectKind::Blob, b"not in the pack");
    pack.ref_delta(outside, &make_delta(b"not in the pack", b"derived"));
    pack.ref_delta(inside, &make_delta(b"version one\n", b"v3"));
    pack.ref_delta(outside, &make_delta(b"not in the pack", b"derived again"));
    let index = index(&pack.finish()).unwrap();
    assert_eq!(index.entries[1].kind, EntryKind::OfsDelta { base: 0 });
    assert_eq!(index.missing_bases(), &[outside]);
    assert_eq!(index.ref_children[&outside], vec![2, 4]);
    assert_eq!(index.ref_children[&inside], vec![3]);
}

#[test]
fn every_truncation_is_rejected() {
    let mut pack = TestPack::new();
    let base = pack.whole(ObjectKind::Blob, &b"some content ".repeat(20));
    pack.ofs_delta(base, &make_delta(&b"some content ".repeat(20), b"some content, changed"));
    pack.ref_delta(ObjectId([7; 20]), &[1, 1, 0x01, b'x']);
    let pack = pack.finish();
    assert!(index(&pack).is_ok());
    for len in 0..pack.len() {
        assert!(index(&pack[..len]).is_err(), "prefix of {len} bytes accepted");
    }
}

#[test]
fn every_flipped_byte_is_rejected() {
    let pack = blob_pack();
    for at in 0..pack.len() {
        let mut corrupt = pack.clone();
        corrupt[at] ^= 0x01;
        assert!(index(&corrupt).is_err(), "flip at {at} accepted");
    }
    let mut corrupt = pack.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    assert!(error(&corrupt).contains("trailer checksum"));
}

#[test]
fn rejects_trailing_data_and_wrong_counts() {
    let mut pack = blob_pack();
    pack.push(0);
    assert!(error(&pack).contains("data after the trailer"));
    let mut more = TestPack::new();
    more.whole(ObjectKind::Blob, b"hello\n");
    assert!(index(&more.finish_with_count(2)).is_err());
    let mut fewer = TestPack::new();
    fewer.whole(ObjectKind::Blob, b"hello\n");
    fewer.whole(ObjectKind::Blob, b"again\n");
    assert!(index(&fewer.finish_with_count(1)).is_err());
}

#[test]
fn rejects_bad_zlib_and_size_mismatches() {
    let mut pack = TestPack::new();
    pack.raw(3, 5, &[], b"\x78\x9c\xff\xff\xff\xff\xff\xff");
    assert!(error(&pack.finish()).contains("bad zlib"));
    let mut short = TestPack::new();
    short.raw(3, 7, &[], &deflate(b"hello\n"));
    assert!(error(&short.finish()).contains("inflates to 6 bytes, header declares 7"));
    let mut long = TestPack::new();
    long.raw(3, 5, &[], &deflate(b"hello\n"));
    assert!(error(&long.finish()).contains("beyond its declared 5 bytes"));
    let mut no_zlib_header = TestPack::new();
    no_zlib_header.raw(3, 2, &[], b"\x03\x00");
    assert!(error(&no_zlib_header.finish()).contains("bad zlib"));
}

#[test]
fn zip_bombs_stop_at_the_declared_size() {
    let bomb = deflate(&vec![0u8; 8 << 20]);
    assert!(bomb.len() < 64 << 10);
    let mut pack = TestPack::new();
    pack.raw(3, 100, &[], &bomb);
    assert!(error(&pack.finish()).contains("beyond its declared 100 bytes"));
    let mut big = TestPack::new();
    big.raw(3, 8 << 20, &[], &bomb);
    let refused = index(&big.finish()).unwrap_err();
    assert_eq!(refused, GitError::LimitExceeded { what: "object size", value: 8 << 20, limit: 1 << 20 });
}

#[test]
fn enforces_object_count_and_delta_target_limits() {
    let mut pack = TestPack::new();
    pack.whole(ObjectKind::Blob, b"a");
    let pack = pack.finish_with_count(1001);
    assert!(matches!(index(&pack), Err(GitError::LimitExceeded { what: "pack object count", .. })));
    let mut huge_target = TestPack::new();
    let base = huge_target.whole(ObjectKind::Blob, b"a");
    // Base size 1, target size 2^21 (over the 1 MiB limit), then a single copy.
    huge_target.ofs_delta(base, &[0x01, 0x80, 0x80, 0x80, 0x01, 0x80]);
    let refused = index(&huge_target.finish()).unwrap_err();
    assert!(matches!(refused, GitError::LimitExceeded { what: "delta target size", .. }), "{refused}");
}

#[test]
fn rejects_bogus_ofs_delta_offsets() {
    let delta = make_delta(b"hello\n", b"hello!\n");
    let mut middle = TestPack::new();
    let base = middle.whole(ObjectKind::Blob, b"hello\n");
    middle.ofs_delta(base + 1, &delta);
    assert!(error(&middle.finish()).contains("is not an entry start"));
    let mut before = TestPack::new();
    before.whole(ObjectKind::Blob, b"hello\n");
    let far = before.next_offset() + 1;
    before.raw(6, delta.len() as u64, &ofs_encoding(far), &deflate(&delta));
    assert!(error(&before.finish()).contains("before the pack start"));
    let mut own = TestPack::new();
    own.whole(ObjectKind::Blob, b"hello\n");
    own.raw(6, delta.len() as u64, &ofs_encoding(0), &deflate(&delta));
    assert!(error(&own.finish()).contains("before the pack start"));
    let mut overflow = TestPack::new();
    overflow.raw(6, delta.len() as u64, &[0xff; 11], &deflate(&delta));
    assert!(error(&overflow.finish()).contains("overflows"));
}

#[test]
fn rejects_reserved_types_and_huge_size_fields() {
    for code in [0, 5] {
        let mut pack = TestPack::new();
        pack.raw(code, 1, &[], &deflate(b"x"));
        assert!(error(&pack.finish()).contains(&format!("entry 0: invalid object type {code}")));
    }
    let mut header = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
    header.extend_from_slice(&[0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(error(&seal(header)).contains("does not fit in 64 bits"));
}

#[test]
fn large_objects_cross_buffer_boundaries() {
    let mut seed = 1u32;
    let content: Vec<u8> = (0..300_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b"0123456789abcdef"[(seed >> 16) as usize % 16]
        })
        .collect();
    let mut pack = TestPack::new();
    pack.whole(ObjectKind::Blob, &content);
    pack.whole(ObjectKind::Blob, b"after");
    let index = index(&pack.finish()).unwrap();
    let id = hash_object(ObjectKind::Blob, &content);
    assert_eq!(index.entries[0].kind, EntryKind::Whole { kind: ObjectKind::Blob, id });
    assert_eq!(index.object_count(), 2);
}

/// A delta bomb: one 64 KiB base and `count` deltas, each a few bytes of copy instructions
/// declaring an almost 1 MiB result (distinct, thanks to a final insert).
fn delta_bomb(count: u32) -> Vec<u8> {
    let base = vec![0u8; 0x10000];
    let mut pack = TestPack::new();
    let at = pack.whole(ObjectKind::Blob, &base);
    for n in 0..count {
        let mut ops = vec![DeltaOp::Copy { offset: 0, size: 0x10000 }; 15];
        let tag = n.to_be_bytes();
        ops.push(DeltaOp::Insert(&tag));
        pack.ofs_delta(at, &encode_delta(0x10000, 15 * 0x10000 + 4, &ops));
    }
    pack.finish()
}

#[test]
fn the_inflated_size_is_summed_from_headers_and_budgeted_in_pass_one() {
    let pack = delta_bomb(20);
    assert!(pack.len() < 2000, "{} bytes", pack.len());
    let index = index(&pack).unwrap();
    assert_eq!(index.inflated_bytes(), 0x10000 + 20 * (15 * 0x10000 + 4));
    let tight = PackLimits { max_inflated_bytes: 10 << 20, ..limits() };
    let refused = PackIndex::build(Cursor::new(&pack), &tight).unwrap_err();
    assert!(
        matches!(refused, GitError::LimitExceeded { what: "inflated pack size", limit, .. } if limit == 10 << 20),
        "{refused}"
    );
    let whole_only = PackLimits { max_inflated_bytes: 5, ..limits() };
    let error = PackIndex::build(Cursor::new(&blob_pack()), &whole_only).unwrap_err();
    assert!(matches!(error, GitError::LimitExceeded { value: 6, limit: 5, .. }), "{error}");
}
