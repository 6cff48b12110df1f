//! GGUF headers (llama.cpp's format): magic `GGUF`, a version (1 to 3), tensor and key-value
//! counts, typed key-value pairs, then one info per tensor (name, dims, type, offset). The hub
//! reads a bounded prefix of each stored `.gguf` file and reports what the Hub's `gguf` field
//! holds: the parameter total, the architecture, the context length, the chat template and
//! the BOS/EOS token texts. A prefix too short for the header is `Truncated` with the length
//! wanted, so the caller can read more (up to its cap) and try again.

/// Largest prefix the hub reads for a header (the Hub's JS parser stops at 50 MB).
pub const MAX_HEADER_BYTES: u64 = 50_000_000;
/// Most dimensions a tensor may have (ggml uses 4).
const MAX_DIMS: u32 = 8;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GgufError {
    #[error("not a GGUF file")]
    NotGguf,
    #[error("unsupported GGUF version {0}")]
    Version(u32),
    #[error("the header needs more than the {have} bytes read")]
    Truncated { have: usize },
    #[error("malformed header: {0}")]
    Malformed(String),
}

/// What the Hub reports of a GGUF file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GgufInfo {
    pub version: u32,
    pub total: u64,
    pub tensor_count: u64,
    pub architecture: Option<String>,
    pub context_length: Option<u64>,
    pub chat_template: Option<String>,
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    wide: bool,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], GgufError> {
        let truncated = GgufError::Truncated { have: self.data.len() };
        let n = usize::try_from(n).map_err(|_| truncated.clone())?;
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len()).ok_or(truncated)?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// A count or length: 64 bits from version 2 on, 32 in version 1.
    fn len(&mut self) -> Result<u64, GgufError> {
        if self.wide { self.u64() } else { self.u32().map(u64::from) }
    }

    fn string(&mut self) -> Result<&'a [u8], GgufError> {
        let n = self.len()?;
        self.take(n)
    }
}

/// A scalar value's integer (for counts and token ids), if it is one.
fn integer(cursor: &mut Cursor<'_>, kind: u32) -> Result<Option<u64>, GgufError> {
    let value = match kind {
        0 | 1 | 7 => u64::from(cursor.take(1)?[0]),
        2 | 3 => {
            let b = cursor.take(2)?;
            u64::from(u16::from_le_bytes([b[0], b[1]]))
        }
        4 | 5 => u64::from(cursor.u32()?),
        10 | 11 => cursor.u64()?,
        6 => {
            cursor.take(4)?;
            return Ok(None);
        }
        12 => {
            cursor.take(8)?;
            return Ok(None);
        }
        other => return Err(GgufError::Malformed(format!("unknown value type {other}"))),
    };
    Ok(Some(value))
}

/// Skips (or reads) one value of `kind`; strings are returned.
fn value<'a>(cursor: &mut Cursor<'a>, kind: u32) -> Result<(Option<u64>, Option<&'a [u8]>), GgufError> {
    match kind {
        8 => Ok((None, Some(cursor.string()?))),
        9 => {
            let item = cursor.u32()?;
            let count = cursor.len()?;
            // Every item takes at least a byte: a count past the data is a truncated header.
            if count > (cursor.data.len() - cursor.pos) as u64 {
                return Err(GgufError::Truncated { have: cursor.data.len() });
            }
            if item == 9 {
                return Err(GgufError::Malformed("nested arrays".into()));
            }
            for _ in 0..count {
                value(cursor, item)?;
            }
            Ok((Some(count), None))
        }
        kind => Ok((integer(cursor, kind)?, None)),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The string at `index` of the array of strings that starts at `at`.
fn array_string(data: &[u8], at: usize, wide: bool, index: u64) -> Option<String> {
    let mut cursor = Cursor { data, pos: at, wide };
    let count = cursor.len().ok()?;
    if index >= count {
        return None;
    }
    for _ in 0..index {
        cursor.string().ok()?;
    }
    cursor.string().ok().map(text)
}

/// Parses the header held by `data` (a prefix of the file).
pub fn parse(data: &[u8]) -> Result<GgufInfo, GgufError> {
    if data.len() < 4 {
        return Err(GgufError::Truncated { have: data.len() });
    }
    if &data[..4] != b"GGUF" {
        return Err(GgufError::NotGguf);
    }
    let mut cursor = Cursor { data, pos: 4, wide: true };
    let version = cursor.u32()?;
    if !(1..=3).contains(&version) {
        return Err(GgufError::Version(version));
    }
    cursor.wide = version >= 2;
    let mut info = GgufInfo { version, ..GgufInfo::default() };
    info.tensor_count = cursor.len()?;
    let kv_count = cursor.len()?;
    let (mut bos, mut eos, mut tokens_at, mut lengths) = (None, None, None, Vec::new());
    for _ in 0..kv_count {
        let key = text(cursor.string()?);
        let kind = cursor.u32()?;
        if key == "tokenizer.ggml.tokens" && kind == 9 {
            tokens_at = Some(cursor.pos + 4);
        }
        let (number, string) = value(&mut cursor, kind)?;
        match (key.as_str(), number, string) {
            ("general.architecture", _, Some(s)) => info.architecture = Some(text(s)),
            ("tokenizer.chat_template", _, Some(s)) => info.chat_template = Some(text(s)),
            ("tokenizer.ggml.bos_token_id", Some(n), _) => bos = Some(n),
            ("tokenizer.ggml.eos_token_id", Some(n), _) => eos = Some(n),
            (k, Some(n), None) if k.ends_with(".context_length") && kind != 9 => lengths.push((key, n)),
            _ => {}
        }
    }
    if let Some(arch) = &info.architecture {
        let wanted = format!("{arch}.context_length");
        info.context_length = lengths.iter().find(|(k, _)| *k == wanted).map(|(_, n)| *n);
    }
    if let Some(at) = tokens_at {
        info.bos_token = bos.and_then(|i| array_string(data, at, cursor.wide, i));
        info.eos_token = eos.and_then(|i| array_string(data, at, cursor.wide, i));
    }
    for _ in 0..info.tensor_count {
        cursor.string()?;
        let dims = cursor.u32()?;
        if dims > MAX_DIMS {
            return Err(GgufError::Malformed(format!("a tensor with {dims} dimensions")));
        }
        let mut elements = 1u64;
        for _ in 0..dims {
            let dim = cursor.len()?;
            elements = elements
                .checked_mul(dim)
                .ok_or_else(|| GgufError::Malformed("tensor size overflows".into()))?;
        }
        cursor.u32()?; // ggml type
        cursor.u64()?; // offset in the data section
        info.total = info.total.saturating_add(elements);
    }
    Ok(info)
}

/// Builders of GGUF headers, for tests here and in the crates that index them.
pub mod build {
    /// A version-3 header with string and u32 key-values, a token list and tensors.
    pub fn header(kv: &[(&str, Kv<'_>)], tensors: &[(&str, &[u64])]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(kv.len() as u64).to_le_bytes());
        let string = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        for (key, value) in kv {
            string(&mut out, key);
            match value {
                Kv::Str(s) => {
                    out.extend_from_slice(&8u32.to_le_bytes());
                    string(&mut out, s);
                }
                Kv::U32(n) => {
                    out.extend_from_slice(&4u32.to_le_bytes());
                    out.extend_from_slice(&n.to_le_bytes());
                }
                Kv::Strings(items) => {
                    out.extend_from_slice(&9u32.to_le_bytes());
                    out.extend_from_slice(&8u32.to_le_bytes());
                    out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                    for item in *items {
                        string(&mut out, item);
                    }
                }
            }
        }
        for (name, dims) in tensors {
            string(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for dim in *dims {
                out.extend_from_slice(&dim.to_le_bytes());
            }
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
        }
        out
    }

    pub enum Kv<'a> {
        Str(&'a str),
        U32(u32),
        Strings(&'a [&'a str]),
    }
}

#[cfg(test)]
mod tests {
    use super::build::{Kv, header};
    use super::*;

    fn sample() -> Vec<u8> {
        header(
            &[
                ("general.architecture", Kv::Str("qwen3")),
                ("qwen3.context_length", Kv::U32(40960)),
                ("tokenizer.ggml.tokens", Kv::Strings(&["<unk>", "<s>", "</s>", "hi"])),
                ("tokenizer.ggml.bos_token_id", Kv::U32(1)),
                ("tokenizer.ggml.eos_token_id", Kv::U32(2)),
                ("tokenizer.chat_template", Kv::Str("{{ messages }}")),
            ],
            &[("a", &[4, 8]), ("b", &[16]), ("c", &[])],
        )
    }

    #[test]
    fn reads_what_the_hub_reports() {
        let info = parse(&sample()).unwrap();
        assert_eq!(info.total, 4 * 8 + 16 + 1);
        assert_eq!(info.tensor_count, 3);
        assert_eq!(info.architecture.as_deref(), Some("qwen3"));
        assert_eq!(info.context_length, Some(40960));
        assert_eq!(info.bos_token.as_deref(), Some("<s>"));
        assert_eq!(info.eos_token.as_deref(), Some("</s>"));
        assert_eq!(info.chat_template.as_deref(), Some("{{ messages }}"));
    }

    #[test]
    fn a_short_prefix_asks_for_more_and_junk_is_refused() {
        let full = sample();
        for cut in [0, 3, 10, 40, full.len() - 1] {
            assert!(matches!(parse(&full[..cut]), Err(GgufError::Truncated { .. })), "cut at {cut}");
        }
        assert_eq!(parse(b"GGML\0\0\0\0"), Err(GgufError::NotGguf));
        assert_eq!(parse(b"GGUF\x09\0\0\0"), Err(GgufError::Version(9)));
        let mut huge = b"GGUF\x03\0\0\0".to_vec();
        huge.extend_from_slice(&0u64.to_le_bytes());
        huge.extend_from_slice(&1u64.to_le_bytes());
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(parse(&huge), Err(GgufError::Truncated { .. })), "a key longer than the data");
        let dims = header(&[], &[("x", &[u64::MAX, 2])]);
        assert!(matches!(parse(&dims), Err(GgufError::Malformed(_))));
    }
}
