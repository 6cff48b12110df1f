//! Tests for the shard codec and checks, including a shard captured from stock hf_xet 1.8.0.

use super::*;
use crate::merkle::MerkleNode;
use crate::shard_verify::{verify_file_entry, verify_xorb_entry};
use crate::shard_write::dedup_shard;
use crate::xorb::parse_xorb;

/// The body hf_xet 1.8.0 POSTed to `/v1/shards` in the same upload as the xorb fixture in
/// `xorb_tests.rs` (after a 404 from `/v2/shards`): three files, one new xorb, no footer.
const HF_XET_SHARD: &[u8] = include_bytes!("../tests/data/hf_xet_1_8_upload.shard");
const HF_XET_XORB: &[u8] = include_bytes!("../tests/data/hf_xet_1_8_d6e3c74d.xorb");

fn hash(hex: &str) -> MerkleHash {
    MerkleHash::from_hex(hex).unwrap()
}

fn xorb_table() -> (crate::xorb::XorbInfo, Vec<MerkleNode>) {
    let info = parse_xorb(HF_XET_XORB).unwrap();
    let nodes = info.merkle_nodes();
    (info, nodes)
}

#[test]
fn hf_xet_shard_parses() {
    let shard = parse_shard(HF_XET_SHARD).unwrap();
    assert!(shard.footer.is_none());
    let files: Vec<(String, u64, usize, String)> = shard
        .files
        .iter()
        .map(|file| (file.file_hash.to_hex(), file.size(), file.terms.len(), file.sha256.unwrap().to_hex()))
        .collect();
    assert_eq!(
        files,
        vec![
            (
                "346cb84935639346b63ec3f7b5d151f075ebfb63c23f68205f0037c34dc40735".into(),
                65_780,
                3,
                "836862389ae831cbc1f1da0e3f3bffc6378220c7c4ccb84d6ab111da1ed7fde1".into()
            ),
            (
                "ae384a57a204834d303ebcfd58550df360aaf1ae873da93ebc0631b1c8b6c9e4".into(),
                1,
                1,
                "684888c0ebb17f374298b65ee2807526c066094c701bcc7ebbe1c1095f494fc1".into()
            ),
            (
                "c42fae3db6f04995611b1a28b57e0ac7d0aa6c0a3e47091fa4a9810fc145e239".into(),
                80_000,
                1,
                "5c5deddfa937639714f12725e012a30ce7ba5e7206d4ba14f5058e86ec7fb302".into()
            ),
        ]
    );
    assert!(shard.files.iter().all(|file| file.flags() == 0xC000_0000));
    let xorb = &shard.xorbs[0];
    assert_eq!(shard.xorbs.len(), 1);
    assert_eq!(xorb.xorb_hash, hash("d6e3c74d94c17d650fd0247c8edd50dd06852a61355d72a8c65efedc56a17116"));
    assert_eq!((xorb.chunks.len(), xorb.uncompressed_len, xorb.bytes_on_disk), (7, 126_603, 0));
    assert!(xorb.chunks.iter().all(|chunk| chunk.flags == 0));
}

#[test]
fn hf_xet_shard_reserializes_byte_for_byte() {
    assert_eq!(parse_shard(HF_XET_SHARD).unwrap().to_bytes(), HF_XET_SHARD);
}

#[test]
fn hf_xet_shard_verifies_against_its_xorb() {
    let shard = parse_shard(HF_XET_SHARD).unwrap();
    let (info, nodes) = xorb_table();
    let lookup = |wanted: &MerkleHash| (wanted == &info.hash).then(|| nodes.clone());
    for file in &shard.files {
        verify_file_entry(file, true, lookup).unwrap();
    }
    verify_xorb_entry(&shard.xorbs[0], &info).unwrap();
}

#[test]
fn forged_file_entries_are_rejected() {
    let shard = parse_shard(HF_XET_SHARD).unwrap();
    let (info, nodes) = xorb_table();
    let lookup = |wanted: &MerkleHash| (wanted == &info.hash).then(|| nodes.clone());
    let original = shard.files[0].clone();

    let mut wrong_hash = original.clone();
    wrong_hash.file_hash = MerkleHash::ZERO;
    assert!(matches!(
        verify_file_entry(&wrong_hash, true, lookup),
        Err(CasError::HashMismatch { what: "file", .. })
    ));

    let mut wrong_verification = original.clone();
    wrong_verification.verification.as_mut().unwrap()[1] = MerkleHash::ZERO;
    assert!(matches!(
        verify_file_entry(&wrong_verification, true, lookup),
        Err(CasError::HashMismatch { what: "term verification", .. })
    ));

    let mut no_verification = original.clone();
    no_verification.verification = None;
    assert!(verify_file_entry(&no_verification, true, lookup).is_err());
    assert!(verify_file_entry(&no_verification, false, lookup).is_ok());

    let mut wrong_length = original.clone();
    wrong_length.terms[0].unpacked_len += 1;
    assert!(matches!(verify_file_entry(&wrong_length, true, lookup), Err(CasError::InvalidTerm { .. })));

    let mut past_end = original.clone();
    past_end.terms[0].chunk_end = 8;
    assert!(matches!(verify_file_entry(&past_end, true, lookup), Err(CasError::InvalidTerm { .. })));

    assert!(matches!(
        verify_file_entry(&original, true, |_: &MerkleHash| None),
        Err(CasError::UnknownXorb { .. })
    ));
}

#[test]
fn truncated_and_malformed_shards_are_rejected() {
    for len in 0..HF_XET_SHARD.len() {
        assert!(parse_shard(&HF_XET_SHARD[..len]).is_err(), "truncated to {len}");
    }
    let mut trailing = HF_XET_SHARD.to_vec();
    trailing.push(0);
    assert!(parse_shard(&trailing).is_err());
    let mut tag = HF_XET_SHARD.to_vec();
    tag[0] = b'X';
    assert!(parse_shard(&tag).is_err());
    let mut version = HF_XET_SHARD.to_vec();
    version[32] = 3;
    assert!(parse_shard(&version).is_err());
    let mut footer_size = HF_XET_SHARD.to_vec();
    footer_size[40] = 7;
    assert!(parse_shard(&footer_size).is_err());
    let mut huge_count = HF_XET_SHARD.to_vec();
    huge_count[0x54..0x58].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parse_shard(&huge_count), Err(CasError::Truncated { .. })));
    let mut empty_range = HF_XET_SHARD.to_vec();
    empty_range[0x88..0x8c].copy_from_slice(&3u32.to_le_bytes());
    assert!(parse_shard(&empty_range).is_err());
}

#[test]
fn bit_flips_never_panic_and_hash_flips_fail_verification() {
    let (info, nodes) = xorb_table();
    let lookup = |wanted: &MerkleHash| (wanted == &info.hash).then(|| nodes.clone());
    for position in 0..HF_XET_SHARD.len() {
        let mut corrupt = HF_XET_SHARD.to_vec();
        corrupt[position] ^= 0x10;
        let Ok(shard) = parse_shard(&corrupt) else { continue };
        // Flips inside the first file's hash, term hashes or verification hashes must be caught.
        if (0x30..0x50).contains(&position)
            || (0x60..0x80).contains(&position)
            || (0xf0..0x110).contains(&position)
        {
            assert!(verify_file_entry(&shard.files[0], true, lookup).is_err(), "flip at {position:#x}");
        }
    }
}

#[test]
fn dedup_shard_has_keyed_hashes_and_a_footer() {
    let shard = parse_shard(HF_XET_SHARD).unwrap();
    let key = [7u8; 32];
    let bytes = dedup_shard(&shard.xorbs, key, 1_000, 2_000);
    let parsed = parse_shard(&bytes).unwrap();
    assert!(parsed.files.is_empty());
    let footer = parsed.footer.unwrap();
    assert_eq!((footer.chunk_hash_key, footer.created_at, footer.key_expiry), (key, 1_000, 2_000));
    assert_eq!(footer.footer_offset as usize, bytes.len() - SHARD_FOOTER_LEN);
    assert_eq!(footer.file_lookup_offset, footer.footer_offset);
    assert_eq!(footer.cas_info_offset, SHARD_HEADER_LEN as u64 + SHARD_ENTRY_LEN as u64);
    assert_eq!(footer.stored_bytes, 126_603);
    let original = &shard.xorbs[0].chunks[0];
    let keyed = &parsed.xorbs[0].chunks[0];
    assert_eq!(keyed.hash, crate::hash::keyed_chunk_hash(&key, &original.hash));
    assert_ne!(keyed.hash, original.hash);
    assert_eq!(parsed.to_bytes(), bytes);
}
