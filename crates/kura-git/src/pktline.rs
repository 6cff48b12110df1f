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

/// Splits a whole request body into packets; rejects malformed framing.
pub fn parse_pkts(mut input: &[u8]) -> Result<Vec<Pkt<'_>>, GitError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let bad = |why: &str| GitError::malformed("pkt-line", why);
        let header = input.get(..4).ok_or_else(|| bad("truncated length"))?;
        let text = std::str::from_utf8(header).map_err(|_| bad("length is not hex"))?;
        let len = usize::from_str_radix(text, 16).map_err(|_| bad("length is not hex"))?;
        match len {
            0 => out.push(Pkt::Flush),
            1 => out.push(Pkt::Delim),
            2 => out.push(Pkt::ResponseEnd),
            3 => return Err(bad("invalid length 3")),
            _ => {
                let data = input.get(4..len).ok_or_else(|| bad("truncated packet"))?;
                out.push(Pkt::Data(data));
                input = &input[len..];
                continue;
            }
        }
        input = &input[4..];
    }
    Ok(out)
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
    }
}
