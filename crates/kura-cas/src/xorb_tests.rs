//! Tests for the xorb codec, including a xorb captured from stock hf_xet 1.8.0.

use super::*;
use crate::reference_tests::splitmix_bytes;
use crate::xorb_footer::{encode_footer, parse_footer};
use crate::xorb_stream::XorbValidator;

/// The body hf_xet 1.8.0 POSTed to `/v1/xorbs/default/{hash}` when uploading `one.bin`
/// (1 byte), `text_small.bin` (2,000 text lines) and `floats_small.bin` (20,000 f32) to a
/// capturing server: 4 LZ4 chunks, 2 BG4+LZ4 chunks, 1 raw chunk, no footer.
const HF_XET_XORB: &[u8] = include_bytes!("../tests/data/hf_xet_1_8_d6e3c74d.xorb");
const HF_XET_XORB_HASH: &str = "d6e3c74d94c17d650fd0247c8edd50dd06852a61355d72a8c65efedc56a17116";

fn hf_xet_hash() -> MerkleHash {
    MerkleHash::from_hex(HF_XET_XORB_HASH).unwrap()
}

#[test]
fn hf_xet_xorb_validates() {
    let info = validate_xorb(HF_XET_XORB, &hf_xet_hash()).unwrap();
    assert_eq!(info.chunks.len(), 7);
    assert_eq!(info.uncompressed_len(), 126_603);
    assert_eq!(info.records_len, HF_XET_XORB.len() as u64);
    assert!(info.footer.is_none());
    let schemes: Vec<CompressionScheme> =
        ChunkRecords::new(HF_XET_XORB).map(|record| record.unwrap().header.scheme).collect();
    use CompressionScheme::{ByteGrouping4Lz4 as Bg4, Lz4, None as Raw};
    assert_eq!(schemes, vec![Lz4, Lz4, Lz4, Lz4, Bg4, Bg4, Raw]);
    // The last chunk is the one-byte file.
    let last = info.chunks[6];
    let bytes = &HF_XET_XORB[last.record_start as usize..last.record_end as usize];
    assert_eq!(decode_records(bytes).unwrap(), vec![0x2a]);
}

#[test]
fn wrong_claimed_hash_is_rejected() {
    let error = validate_xorb(HF_XET_XORB, &MerkleHash::ZERO).unwrap_err();
    assert!(matches!(error, CasError::HashMismatch { what: "xorb", .. }), "{error}");
}

#[test]
fn every_truncation_is_rejected() {
    let info = parse_xorb(HF_XET_XORB).unwrap();
    let record_ends: Vec<u64> = info.chunks.iter().map(|chunk| chunk.record_end).collect();
    for len in (0..HF_XET_XORB.len()).step_by(149).chain([1, 7, 8, 9]) {
        let result = validate_xorb(&HF_XET_XORB[..len], &hf_xet_hash());
        assert!(result.is_err(), "truncated to {len}");
        if !record_ends.contains(&(len as u64)) && len > 0 {
            assert!(parse_xorb(&HF_XET_XORB[..len]).is_err(), "parse of {len} bytes");
        }
    }
}

#[test]
fn bit_flips_are_rejected() {
    for position in (0..HF_XET_XORB.len()).step_by(211).chain(0..8) {
        for bit in [0u8, 5] {
            let mut corrupt = HF_XET_XORB.to_vec();
            corrupt[position] ^= 1 << bit;
            assert!(
                validate_xorb(&corrupt, &hf_xet_hash()).is_err(),
                "flip of bit {bit} at {position} accepted"
            );
        }
    }
}

fn sample_xorb() -> (Vec<u8>, XorbInfo, Vec<Vec<u8>>) {
    let random = splitmix_bytes(40_000, 9);
    let text: Vec<u8> = (0..30_000u32).map(|i| b"abcabcxyz"[(i % 9) as usize]).collect();
    let floats: Vec<u8> = (0..15_000u32).flat_map(|i| (i as f32 * 0.5).to_le_bytes()).collect();
    let chunks = vec![random, text, floats];
    let mut writer = XorbWriter::new();
    let schemes = [CompressionScheme::Lz4, CompressionScheme::Lz4, CompressionScheme::ByteGrouping4Lz4];
    for (data, scheme) in chunks.iter().zip(schemes) {
        writer.add_chunk(data, scheme).unwrap();
    }
    let (records, info) = writer.finish();
    (records, info, chunks)
}

#[test]
fn writer_output_round_trips_with_each_scheme() {
    let (records, written, chunks) = sample_xorb();
    let schemes: Vec<CompressionScheme> =
        ChunkRecords::new(&records).map(|record| record.unwrap().header.scheme).collect();
    assert_eq!(
        schemes,
        vec![CompressionScheme::None, CompressionScheme::Lz4, CompressionScheme::ByteGrouping4Lz4]
    );
    let parsed = validate_xorb(&records, &written.hash).unwrap();
    assert_eq!(parsed, written);
    assert_eq!(decode_records(&records).unwrap(), chunks.concat());
}

#[test]
fn footer_round_trips_and_is_checked() {
    let (records, info, _) = sample_xorb();
    let footer = encode_footer(&info, [1, 2, 3, 4]);
    let parsed_footer = parse_footer(&footer).unwrap();
    assert_eq!(parsed_footer.nonce, [1, 2, 3, 4]);
    assert_eq!(parsed_footer.chunk_hashes.len(), 3);
    // boundary_section_offset_from_end = 40 + 8n, hashes = 12 + 32n + that.
    let tail = &footer[footer.len() - 4 - 16 - 8..footer.len() - 4 - 16];
    assert_eq!(u32::from_le_bytes(tail[4..8].try_into().unwrap()), 40 + 8 * 3);
    assert_eq!(u32::from_le_bytes(tail[..4].try_into().unwrap()), 12 + 32 * 3 + 40 + 8 * 3);

    let full = [records.clone(), footer.clone()].concat();
    let parsed = validate_xorb(&full, &info.hash).unwrap();
    assert_eq!(parsed.records_len, records.len() as u64);
    assert_eq!(parsed.footer, Some(parsed_footer));

    // A footer naming another hash, or cut short, is rejected.
    let mut wrong = full.clone();
    wrong[records.len() + 8] ^= 1;
    assert!(validate_xorb(&wrong, &info.hash).is_err());
    assert!(validate_xorb(&full[..full.len() - 1], &info.hash).is_err());
}

#[test]
fn bad_headers_are_rejected() {
    let (records, info, _) = sample_xorb();
    let mut version = records.clone();
    version[0] = 1;
    assert!(matches!(parse_xorb(&version), Err(CasError::UnsupportedChunkVersion { .. })));
    let mut scheme = records.clone();
    scheme[4] = 7;
    assert!(matches!(parse_xorb(&scheme), Err(CasError::UnknownCompressionScheme { .. })));
    let mut oversized = records.clone();
    oversized[5..8].copy_from_slice(&[0x01, 0x00, 0x02]); // 131073
    assert!(matches!(parse_xorb(&oversized), Err(CasError::LimitExceeded { .. })));
    assert!(parse_xorb(&[]).is_err());
    assert!(parse_xorb(&[0, 0, 0, 0, 0, 0, 0, 0]).is_err(), "empty chunk");
    assert!(validate_xorb(&records, &info.hash).is_ok());
}

#[test]
fn writer_enforces_limits() {
    let mut writer = XorbWriter::new();
    assert!(writer.add_chunk(&[], CompressionScheme::None).is_err());
    assert!(writer.add_chunk(&vec![0; MAX_CHUNK_SIZE + 1], CompressionScheme::None).is_err());
    assert!(writer.add_chunk(&vec![0; MAX_CHUNK_SIZE], CompressionScheme::Lz4).is_ok());
    assert!(writer.has_room_for(MAX_CHUNK_SIZE));
}

#[test]
fn streaming_validation_matches_whole_body_for_any_split() {
    let whole = parse_xorb(HF_XET_XORB).unwrap();
    let (records, info, _) = sample_xorb();
    let with_footer = [records, encode_footer(&info, [9, 9, 9, 9])].concat();
    for body in [HF_XET_XORB, &with_footer[..]] {
        let expected = parse_xorb(body).unwrap();
        for piece in [1usize, 3, 8, 9, 1000, 65_536] {
            let mut validator = XorbValidator::new();
            // What a streaming receiver keeps of each piece: the bytes before the footer.
            let mut kept = Vec::new();
            for slice in body.chunks(piece) {
                let at = validator.received();
                validator.push(slice).unwrap();
                let keep =
                    validator.footer_start().map_or(slice.len() as u64, |start| start.saturating_sub(at));
                kept.extend_from_slice(&slice[..(keep as usize).min(slice.len())]);
            }
            assert_eq!(kept.len() as u64, expected.records_len, "piece size {piece}");
            assert_eq!(kept, body[..kept.len()], "piece size {piece}");
            assert_eq!(validator.finish().unwrap(), expected, "piece size {piece}");
        }
    }
    let mut validator = XorbValidator::new();
    validator.push(HF_XET_XORB).unwrap();
    assert_eq!(validator.finish_expecting(&hf_xet_hash()).unwrap(), whole);
}

#[test]
fn streaming_validation_rejects_a_truncated_body() {
    let mut validator = XorbValidator::new();
    validator.push(&HF_XET_XORB[..HF_XET_XORB.len() - 1]).unwrap();
    assert!(matches!(validator.finish(), Err(CasError::Truncated { .. })));
    let mut early = XorbValidator::new();
    let mut corrupt = HF_XET_XORB.to_vec();
    corrupt[4] = 9;
    assert!(early.push(&corrupt[..100]).is_err(), "bad scheme is reported before the body ends");
}

#[test]
fn uncompressed_parts_match_add_chunk_with_no_compression() {
    let data = splitmix_bytes(200_000, 11);
    let chunks = [&data[..70_000], &data[70_000..70_001], &data[70_001..]];
    let mut plain = XorbWriter::new();
    // A reused buffer with stale bytes in it: they must not leak into the records.
    let mut parted = XorbWriter::with_buffer(vec![0xAB; 1000]);
    for chunk in chunks {
        plain.add_chunk(chunk, CompressionScheme::None).unwrap();
        let parts: Vec<&[u8]> = chunk.chunks(4096 + 17).collect();
        parted.add_uncompressed_parts(&parts, crate::hash::chunk_hash_parts(&parts)).unwrap();
        assert_eq!(crate::hash::chunk_hash_parts(&parts), chunk_hash(chunk));
    }
    assert_eq!(plain.finish(), parted.finish());
    let mut empty = XorbWriter::new();
    assert!(empty.add_uncompressed_parts::<&[u8]>(&[], chunk_hash(b"")).is_err());
}
