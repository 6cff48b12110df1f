//! Hashes and chunk boundaries pinned from stock `hf_xet` 1.8.0 and xet-core's own vectors.
//!
//! How the constants were obtained (2026-11-27): in a throwaway venv
//! (`python3 -m venv /tmp/casvenv && /tmp/casvenv/bin/pip install hf_xet==1.8.0`) a script
//! wrote each file below with the same SplitMix64 generator as [`splitmix_bytes`] and printed
//! `hf_xet.hash_files([paths])` (returns `PyXetUploadInfo { hash, file_size, .. }`). The chunk
//! sizes of `r3m` are the uncompressed lengths of the chunk records in the xorb that
//! `XetSession().new_upload_commit(endpoint=...).start_upload_file` POSTed to a capturing
//! HTTP server (fresh `HF_HOME`, so no dedup), along with that xorb's hash.
//! `XET_CORE_1MB_SEED0` is the boundary list from xet-core's chunker test
//! `test_correctness_1mb_random_data`, which uses the same generator.

use crate::chunker::{Chunker, chunk_and_hash, chunk_boundaries, hash_file_bytes};
use crate::hash::MerkleHash;
use crate::merkle::{file_hash, xorb_hash};

/// SplitMix64 bytes: each step's u64 output appended little-endian, truncated to `len`.
pub(crate) fn splitmix_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The repetitive text file: 40,000 lines cycling through 1,000 distinct ones.
fn text_file(lines: usize) -> Vec<u8> {
    (0..lines).flat_map(|i| format!("kura line {} of repetitive text\n", i % 1000).into_bytes()).collect()
}

fn float_file(count: usize) -> Vec<u8> {
    // Python: struct.pack('<f', math.sin(i / 50.0) * 0.01); computed in f64 then rounded.
    (0..count).map(|i| (((i as f64) / 50.0).sin() * 0.01) as f32).flat_map(f32::to_le_bytes).collect()
}

fn check_file(data: &[u8], expected_hex: &str) {
    assert_eq!(hash_file_bytes(data).to_hex(), expected_hex, "file of {} bytes", data.len());
}

#[test]
fn empty_file_hash_is_zero() {
    check_file(b"", &"0".repeat(64));
    assert!(chunk_boundaries(b"").is_empty());
}

#[test]
fn one_byte_file_matches_hf_xet() {
    check_file(&[0x2a], "ae384a57a204834d303ebcfd58550df360aaf1ae873da93ebc0631b1c8b6c9e4");
}

#[test]
fn random_100k_matches_hf_xet() {
    let data = splitmix_bytes(100_000, 1);
    check_file(&data, "05dc459539d43701083e0e74085f549799643c12e9703f62a131d9d34f7bf53e");
    // Chunk sizes seen in the captured xorb: 25125 + 74875.
    assert_eq!(chunk_boundaries(&data), vec![25_125, 100_000]);
}

#[test]
fn random_1m_matches_hf_xet_and_xet_core_boundaries() {
    const XET_CORE_1MB_SEED0: [u64; 19] = [
        84493, 134421, 144853, 243318, 271793, 336457, 467529, 494581, 582000, 596735, 616815, 653164,
        678202, 724510, 815591, 827760, 958832, 991092, 1000000,
    ];
    let data = splitmix_bytes(1_000_000, 0);
    assert_eq!((data[0], data[127], data[111_111]), (175, 132, 118));
    assert_eq!(chunk_boundaries(&data), XET_CORE_1MB_SEED0);
    check_file(&data, "3d17b2d7d64a0e011b6717a52d9a16bd2c3f05b743fa8adf52a7d75dafab6d89");
}

#[test]
fn random_3m_matches_hf_xet_chunks_xorb_and_file_hash() {
    const SIZES: [u64; 46] = [
        27337, 9821, 91972, 17654, 131072, 131072, 38411, 56012, 53134, 29358, 12657, 13694, 96303, 116130,
        15221, 35882, 46392, 131072, 40119, 20290, 15042, 15430, 41078, 114917, 131072, 67235, 131072, 13977,
        13042, 131072, 68989, 112574, 40522, 59117, 131072, 131072, 41202, 35994, 118336, 77257, 40742,
        131072, 34345, 76196, 85890, 28080,
    ];
    let data = splitmix_bytes(3_000_000, 2);
    let nodes = chunk_and_hash(&data);
    let sizes: Vec<u64> = nodes.iter().map(|node| node.size).collect();
    assert_eq!(sizes, SIZES);
    assert_eq!(
        xorb_hash(&nodes).to_hex(),
        "d419a4a14e57dd91fe1cbca2de1e46cfcc541cf827e10e284d96597aeee9d117"
    );
    assert_eq!(
        file_hash(&nodes).to_hex(),
        "14fde8bcc56fed442ee5f307f1e01ba60a19422fb6c5ac0bb62037fe514f4fb9"
    );
}

#[test]
fn constant_1m_cuts_at_max_size() {
    let data = vec![59u8; 1_000_000];
    assert_eq!(
        chunk_boundaries(&data),
        vec![131072, 262144, 393216, 524288, 655360, 786432, 917504, 1000000]
    );
    check_file(&data, "53f845640fcd1c7440befff65bd93434c83a30c6559a705597d61f2ef64e2f88");
}

#[test]
fn repetitive_text_matches_hf_xet() {
    let data = text_file(40_000);
    assert_eq!(data.len(), 1_315_600);
    check_file(&data, "c29176ac382756112d8b6f515349ea27d5ee7beebcbaf66bdf685c164004adb9");
    let small = text_file(2_000);
    assert_eq!(small.len(), 65_780);
    check_file(&small, "346cb84935639346b63ec3f7b5d151f075ebfb63c23f68205f0037c34dc40735");
}

#[test]
fn float_file_matches_hf_xet() {
    let data = float_file(20_000);
    check_file(&data, "c42fae3db6f04995611b1a28b57e0ac7d0aa6c0a3e47091fa4a9810fc145e239");
}

#[test]
fn boundaries_do_not_depend_on_how_data_is_split() {
    let data = splitmix_bytes(700_000, 7);
    let whole = chunk_boundaries(&data);
    for piece in [1usize, 37, 64, 65, 255, 8127, 8128, 65_536, 131_073] {
        let mut chunker = Chunker::new();
        let mut split = Vec::new();
        for slice in data.chunks(piece) {
            split.extend(chunker.push(slice));
        }
        split.extend(chunker.finish());
        assert_eq!(split, whole, "piece size {piece}");
    }
}

#[test]
fn pinned_hex_parses_back() {
    let hex = "d419a4a14e57dd91fe1cbca2de1e46cfcc541cf827e10e284d96597aeee9d117";
    assert_eq!(MerkleHash::from_hex(hex).unwrap().to_hex(), hex);
}
