//! Tests for reconstruction planning.

use super::*;
use kura_model::ByteRange;

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

/// The plan for a `Range` header value, resolved as the core does (against 125 bytes).
fn plan_for(range: &str) -> Result<ReconstructionPlan, CasError> {
    let (first, last) = ByteRange::parse(range).unwrap().unwrap().resolve(125).unwrap();
    plan_reconstruction(&terms(), first..last + 1, sizes)
}

#[test]
fn whole_file_keeps_every_term() {
    // Whole terms need no chunk table.
    let plan = plan_reconstruction(&terms(), 0..125, |_: &MerkleHash| None).unwrap();
    assert_eq!(plan.offset_into_first_range, 0);
    assert_eq!(plan.terms, vec![planned(1, 0, 3, 60), planned(2, 1, 3, 45), planned(1, 1, 2, 20)]);
    assert_eq!(plan_reconstruction(&terms(), 0..u64::MAX, sizes).unwrap(), plan);
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
fn range_inside_one_chunk_of_a_later_term() {
    // Byte 100 sits in B's chunk 2 (file bytes 65..105); its term starts at 60.
    let plan = plan_for("bytes=100-100").unwrap();
    assert_eq!((plan.offset_into_first_range, plan.terms), (35, vec![planned(2, 2, 3, 40)]));
}

#[test]
fn range_across_three_terms_keeps_the_middle_one_whole() {
    // Bytes 59..=105: A chunk 2 (30..60), all of B (60..105), A chunk 1 again (105..125).
    let plan = plan_for("bytes=59-105").unwrap();
    assert_eq!(plan.offset_into_first_range, 29);
    assert_eq!(plan.terms, vec![planned(1, 2, 3, 30), planned(2, 1, 3, 45), planned(1, 1, 2, 20)]);
}

#[test]
fn past_the_end_is_not_satisfiable() {
    let not_satisfiable = |span: Range<u64>| plan_reconstruction(&terms(), span, sizes);
    assert!(matches!(
        not_satisfiable(125..126),
        Err(CasError::RangeNotSatisfiable { start: 125, size: 125 })
    ));
    assert!(matches!(not_satisfiable(200..300), Err(CasError::RangeNotSatisfiable { .. })));
    assert!(matches!(not_satisfiable(5..5), Err(CasError::RangeNotSatisfiable { .. })));
}

#[test]
fn overlapping_terms_are_those_the_span_touches() {
    let starts = |span: Range<u64>| overlapping_terms(&terms(), span).map(|(at, _)| at).collect::<Vec<_>>();
    assert_eq!(starts(0..125), vec![0, 60, 105]);
    assert_eq!(starts(59..61), vec![0, 60]);
    assert_eq!(starts(60..105), vec![60]);
    assert_eq!(starts(124..9999), vec![105]);
    assert_eq!(starts(125..126), Vec::<u64>::new());
}

#[test]
fn empty_file_gives_an_empty_plan() {
    assert_eq!(plan_reconstruction(&[], 0..1, sizes).unwrap(), ReconstructionPlan::default());
    assert_eq!(plan_reconstruction(&[], 0..u64::MAX, sizes).unwrap(), ReconstructionPlan::default());
}

#[test]
fn unknown_xorb_or_inconsistent_sizes_are_errors() {
    let mut bad = terms();
    bad[0].xorb_hash = xorb(9);
    let result = plan_reconstruction(&bad, 1..3, sizes);
    assert!(matches!(result, Err(CasError::UnknownXorb { .. })));
    let mut wrong = terms();
    wrong[0].unpacked_len = 61;
    assert!(plan_reconstruction(&wrong, 1..3, sizes).is_err());
}
