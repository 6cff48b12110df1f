//! Tests for range parsing and reconstruction planning.

use super::*;

fn xorb(byte: u8) -> MerkleHash {
    MerkleHash::from_bytes([byte; 32])
}

/// Xorb A: chunks of 10, 20, 30 bytes. Xorb B: chunks of 5, 5, 40.
fn sizes(hash: &MerkleHash) -> Option<Vec<u32>> {
    match hash.as_bytes()[0] {
        1 => Some(vec![10, 20, 30]),
        2 => Some(vec![5, 5, 40]),
        _ => None,
    }
}

/// File: A[0..3) (60 bytes), B[1..3) (45 bytes), A[1..2) (20 bytes) = 125 bytes.
fn terms() -> Vec<FileTerm> {
    let term = |byte, chunk_start, chunk_end, unpacked_len| FileTerm {
        xorb_hash: xorb(byte),
        xorb_flags: 0,
        unpacked_len,
        chunk_start,
        chunk_end,
    };
    vec![term(1, 0, 3, 60), term(2, 1, 3, 45), term(1, 1, 2, 20)]
}

fn planned(byte: u8, chunk_start: u32, chunk_end: u32, unpacked_len: u32) -> PlannedTerm {
    PlannedTerm { xorb_hash: xorb(byte), chunk_start, chunk_end, unpacked_len }
}

fn plan_for(range: &str) -> Result<ReconstructionPlan, CasError> {
    plan_reconstruction(&terms(), Some(RangeRequest::parse_header(range)?), sizes)
}

#[test]
fn parses_range_headers() {
    assert_eq!(
        RangeRequest::parse_header("bytes=0-99").unwrap(),
        RangeRequest::Closed { start: 0, last: 99 }
    );
    assert_eq!(RangeRequest::parse_header("bytes=5-").unwrap(), RangeRequest::From { start: 5 });
    assert_eq!(RangeRequest::parse_header("bytes=-7").unwrap(), RangeRequest::Suffix { len: 7 });
    for bad in ["", "bytes=", "bytes=-", "bytes=5-3", "items=0-1", "bytes=a-b", "bytes=0-1,3-4"] {
        assert!(RangeRequest::parse_header(bad).is_err(), "{bad}");
    }
}

#[test]
fn whole_file_keeps_every_term() {
    let plan = plan_reconstruction(&terms(), None, |_: &MerkleHash| None).unwrap();
    assert_eq!(plan.offset_into_first_range, 0);
    assert_eq!(plan.terms, vec![planned(1, 0, 3, 60), planned(2, 1, 3, 45), planned(1, 1, 2, 20)]);
    assert_eq!(plan_reconstruction(&terms(), Some(RangeRequest::From { start: 0 }), sizes).unwrap(), plan);
}

#[test]
fn range_inside_one_chunk() {
    // Bytes 12..=14 sit in A's chunk 1 (file bytes 10..30).
    let plan = plan_for("bytes=12-14").unwrap();
    assert_eq!(plan.offset_into_first_range, 2);
    assert_eq!(plan.terms, vec![planned(1, 1, 2, 20)]);
}

#[test]
fn range_across_terms_trims_both_ends() {
    // Bytes 35..=66: A chunk 2 (30..60), then B chunk 1 (60..65) and chunk 2 (65..105).
    let plan = plan_for("bytes=35-66").unwrap();
    assert_eq!(plan.offset_into_first_range, 5);
    assert_eq!(plan.terms, vec![planned(1, 2, 3, 30), planned(2, 1, 3, 45)]);
    // Bytes 60..=64 are exactly B's chunk 1.
    let plan = plan_for("bytes=60-64").unwrap();
    assert_eq!((plan.offset_into_first_range, plan.terms), (0, vec![planned(2, 1, 2, 5)]));
}

#[test]
fn end_is_clamped_and_suffixes_work() {
    let plan = plan_for("bytes=110-9999").unwrap();
    assert_eq!((plan.offset_into_first_range, plan.terms), (5, vec![planned(1, 1, 2, 20)]));
    let plan = plan_for("bytes=-20").unwrap();
    assert_eq!((plan.offset_into_first_range, plan.terms), (0, vec![planned(1, 1, 2, 20)]));
    assert_eq!(plan_for("bytes=-1000").unwrap().terms.len(), 3);
}

#[test]
fn past_the_end_is_not_satisfiable() {
    assert!(matches!(plan_for("bytes=125-"), Err(CasError::RangeNotSatisfiable { start: 125, size: 125 })));
    assert!(matches!(plan_for("bytes=-0"), Err(CasError::RangeNotSatisfiable { .. })));
}

#[test]
fn empty_file_gives_an_empty_plan() {
    let plan = plan_reconstruction(&[], Some(RangeRequest::From { start: 0 }), sizes).unwrap();
    assert_eq!(plan, ReconstructionPlan::default());
}

#[test]
fn unknown_xorb_or_inconsistent_sizes_are_errors() {
    let mut bad = terms();
    bad[0].xorb_hash = xorb(9);
    let result = plan_reconstruction(&bad, Some(RangeRequest::Closed { start: 1, last: 2 }), sizes);
    assert!(matches!(result, Err(CasError::UnknownXorb { .. })));
    let mut wrong = terms();
    wrong[0].unpacked_len = 61;
    assert!(plan_reconstruction(&wrong, Some(RangeRequest::Closed { start: 1, last: 2 }), sizes).is_err());
}

#[test]
fn record_ranges_are_inclusive() {
    let chunk = |record_start, record_end| XorbChunk {
        hash: MerkleHash::ZERO,
        uncompressed_len: 1,
        uncompressed_start: 0,
        record_start,
        record_end,
    };
    let chunks = [chunk(0, 100), chunk(100, 250), chunk(250, 300)];
    assert_eq!(record_byte_range(&chunks, 1, 3).unwrap(), (100, 299));
    assert_eq!(record_byte_range(&chunks, 0, 1).unwrap(), (0, 99));
    assert!(record_byte_range(&chunks, 2, 4).is_err());
    assert!(record_byte_range(&chunks, 2, 2).is_err());
}
