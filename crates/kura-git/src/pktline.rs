//! pkt-line framing of the git wire protocol: 4 hex digits of length (including themselves)
//! then the payload; `0000` flush, `0001` delimiter, `0002` response end.

use crate::GitError;

/// Largest payload of one pkt-line.
pub const MAX_PKT_DATA: usize = 65516;

/// One decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkt<'a> {
    Data(&'a [u8]),
    Flush,
    Delim,
    ResponseEnd,
}

/// Appends a data packet.
pub fn pkt(out: &mut Vec<u8>, data: &[u8]) {
    debug_assert!(data.len() <= MAX_PKT_DATA);
    out.extend_from_slice(format!("{:04x}", data.len() + 4).as_bytes());
    out.extend_from_slice(data);
}

/// Appends a text packet (adds the trailing newline).
pub fn pkt_line(out: &mut Vec<u8>, text: &str) {
    let mut data = text.as_bytes().to_vec();
    data.push(b'\n');
    pkt(out, &data);
}

pub fn flush(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0000");
}

pub fn delim(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0001");
}

/// Decodes the packet at the start of `input` and its encoded length; `Ok(None)` when `input`
/// ends before the packet does (read more and call again).
pub fn next_pkt(input: &[u8]) -> Result<Option<(Pkt<'_>, usize)>, GitError> {
    let bad = |why: &str| GitError::malformed("pkt-line", why);
    let Some(header) = input.get(..4) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(header).map_err(|_| bad("length is not hex"))?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("length is not hex"));
    }
    let len = usize::from_str_radix(text, 16).map_err(|_| bad("length is not hex"))?;
    let pkt = match len {
        0 => Pkt::Flush,
        1 => Pkt::Delim,
        2 => Pkt::ResponseEnd,
        3 => return Err(bad("invalid length 3")),
        _ => match input.get(4..len) {
            Some(data) => return Ok(Some((Pkt::Data(data), len))),
            None => return Ok(None),
        },
    };
    Ok(Some((pkt, 4)))
}

/// Splits a whole request body into packets; rejects malformed framing.
pub fn parse_pkts(mut input: &[u8]) -> Result<Vec<Pkt<'_>>, GitError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (pkt, len) =
            next_pkt(input)?.ok_or_else(|| GitError::malformed("pkt-line", "truncated packet"))?;
        out.push(pkt);
        input = &input[len..];
    }
    Ok(out)
}

/// Side-band channel carrying the payload (pack data, or a report-status).
pub const BAND_DATA: u8 = 1;
/// Side-band channel for progress messages shown to the user.
pub const BAND_PROGRESS: u8 = 2;
/// Side-band channel for a fatal error message, sent just before the stream aborts.
pub const BAND_ERROR: u8 = 3;
/// Largest payload of one side-band-64k packet (the band byte takes one of `MAX_PKT_DATA`).
pub const MAX_SIDEBAND_DATA: usize = MAX_PKT_DATA - 1;

/// Appends `data` on side-band channel `band`, split into as many packets as needed.
pub fn sideband(out: &mut Vec<u8>, band: u8, data: &[u8]) {
    for piece in data.chunks(MAX_SIDEBAND_DATA) {
        out.extend_from_slice(format!("{:04x}", piece.len() + 5).as_bytes());
        out.push(band);
        out.extend_from_slice(piece);
    }
}

/// A data packet as text without its trailing newline.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok().map(|t| t.strip_suffix('\n').unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut out = Vec::new();
        pkt_line(&mut out, "command=ls-refs");
        delim(&mut out);
        pkt_line(&mut out, "peel");
        flush(&mut out);
        assert_eq!(&out[..4], b"0014");
        let pkts = parse_pkts(&out).unwrap();
        assert_eq!(pkts, vec![Pkt::Data(b"command=ls-refs\n"), Pkt::Delim, Pkt::Data(b"peel\n"), Pkt::Flush]);
        assert_eq!(text(b"want abc\n"), Some("want abc"));
    }

    #[test]
    fn rejects_malformed_framing() {
        assert!(parse_pkts(b"00").is_err());
        assert!(parse_pkts(b"zzzz").is_err());
        assert!(parse_pkts(b"0003").is_err());
        assert!(parse_pkts(b"0010abc").is_err());
        assert!(parse_pkts(b"+00a").is_err());
    }

    #[test]
    fn next_pkt_waits_for_more_input() {
        assert_eq!(next_pkt(b"00").unwrap(), None);
        assert_eq!(next_pkt(b"0009abc").unwrap(), None);
        assert_eq!(next_pkt(b"0009abcde!").unwrap(), Some((Pkt::Data(b"abcde"), 9)));
        assert_eq!(next_pkt(b"0000rest").unwrap(), Some((Pkt::Flush, 4)));
        assert!(next_pkt(b"0003").is_err());
    }

    #[test]
    fn sideband_splits_large_payloads() {
        let mut out = Vec::new();
        sideband(&mut out, BAND_PROGRESS, b"hi\n");
        assert_eq!(out, b"0008\x02hi\n");
        let big = vec![7u8; MAX_SIDEBAND_DATA + 10];
        let mut out = Vec::new();
        sideband(&mut out, BAND_DATA, &big);
        let pkts = parse_pkts(&out).unwrap();
        assert_eq!(pkts.len(), 2);
        assert_eq!(pkts[0], Pkt::Data(&[&[1u8][..], &big[..MAX_SIDEBAND_DATA]].concat()));
        assert_eq!(&out[..4], b"fff0");
        assert_eq!(pkts[1], Pkt::Data(&[1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]));
    }
}
