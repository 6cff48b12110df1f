//! `kura_cas::parse_xorb` / `validate_xorb` on any bytes: never panics; the streaming validator
//! gives the same answer when the body arrives in three pieces (split where the first two
//! bytes say); an accepted xorb validates against its own hash and decodes to exactly its
//! declared raw length.

#![no_main]

use kura_cas::{CasError, XorbInfo, XorbValidator, decode_records, parse_xorb, validate_xorb};
use libfuzzer_sys::fuzz_target;

fn in_pieces(data: &[u8]) -> Result<XorbInfo, CasError> {
    let len = data.len();
    let first = data.first().map_or(0, |&b| usize::from(b) * len / 255);
    let second = data.get(1).map_or(len, |&b| first + usize::from(b) * (len - first) / 255);
    let mut validator = XorbValidator::new();
    validator.push(&data[..first])?;
    validator.push(&data[first..second])?;
    validator.push(&data[second..])?;
    validator.finish()
}

fuzz_target!(|data: &[u8]| {
    let whole = parse_xorb(data);
    let pieces = in_pieces(data);
    match (&whole, &pieces) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "streamed in pieces, the xorb parses differently"),
        (Err(_), Err(_)) => {}
        _ => panic!("whole: {whole:?}, in pieces: {pieces:?}"),
    }
    let Ok(info) = whole else {
        return;
    };
    assert!(validate_xorb(data, &info.hash).is_ok());
    let records_len = usize::try_from(info.records_len).expect("records fit the input");
    let raw = decode_records(&data[..records_len]).expect("accepted records decode");
    assert_eq!(raw.len() as u64, info.uncompressed_len());
});
