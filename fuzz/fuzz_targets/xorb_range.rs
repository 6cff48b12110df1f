//! `kura_cas::RecordDecoder` on any bytes, pushed in three pieces (split where the first two
//! bytes say): never panics, and yields exactly what `decode_records` yields for the whole
//! input (the same chunks, or an error for both).

#![no_main]

use kura_cas::{CasError, RecordDecoder, decode_records};
use libfuzzer_sys::fuzz_target;

fn in_pieces(data: &[u8]) -> Result<Vec<u8>, CasError> {
    let len = data.len();
    let first = data.first().map_or(0, |&b| usize::from(b) * len / 255);
    let second = data.get(1).map_or(len, |&b| first + usize::from(b) * (len - first) / 255);
    let mut decoder = RecordDecoder::new();
    let mut out = Vec::new();
    for piece in [&data[..first], &data[first..second], &data[second..]] {
        for chunk in decoder.push(piece)? {
            out.extend_from_slice(&chunk);
        }
    }
    decoder.finish()?;
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let whole = decode_records(data);
    let pieces = in_pieces(data);
    match (&whole, &pieces) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "decoded in pieces, the records differ"),
        (Err(_), Err(_)) => {}
        _ => panic!("whole: {whole:?}, in pieces: {pieces:?}"),
    }
});
