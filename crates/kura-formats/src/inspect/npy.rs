//! numpy `.npy` headers: magic `\x93NUMPY`, a version, a header length, then a Python dict
//! literal `{'descr': ..., 'fortran_order': ..., 'shape': (...)}`. An array whose dtype holds
//! objects stores them as a pickle after the header (what `numpy.load(allow_pickle=True)`
//! runs); any other array is plain data. The header is read as numpy reads it (through
//! `ast.literal_eval`, at most 10,000 bytes), with a small parser of the literals it may hold.

pub(crate) const MAGIC: &[u8] = b"\x93NUMPY";
/// numpy refuses longer headers by default (`max_header_size`), so picklescan fails on them.
pub(crate) const MAX_HEADER: u64 = 10_000;
/// Nesting accepted in a header literal.
const MAX_DEPTH: usize = 32;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// The header needs this many bytes of the stream.
    Need(u64),
    /// Plain data follows.
    Plain,
    /// Objects follow, pickled from this offset.
    Object(usize),
}

/// Reads the header at the start of `data` (which begins with `MAGIC`); `complete`: `data`
/// is the whole stream.
pub(crate) fn head(data: &[u8], complete: bool) -> Result<Head, String> {
    let Some(&[major, minor]) = data.get(6..8) else { return need(10, complete) };
    let (len, start) = match (major, minor) {
        (1, 0) => match data.get(8..10) {
            Some(b) => (u64::from(u16::from_le_bytes([b[0], b[1]])), 10u64),
            None => return need(10, complete),
        },
        (2, 0) | (3, 0) => match data.get(8..12) {
            Some(b) => (u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])), 12u64),
            None => return need(12, complete),
        },
        _ => return Err(format!("unsupported npy version {major}.{minor}")),
    };
    if len > MAX_HEADER {
        return Err(format!("an npy header of {len} bytes, over numpy's limit of {MAX_HEADER}"));
    }
    let end = (start + len) as usize;
    let Some(text) = data.get(start as usize..end) else { return need(start + len, complete) };
    let mut parser = Parser { text, at: 0 };
    let value = parser.value(0)?;
    let Lit::Dict(entries) = value else { return Err("the npy header is not a dict".into()) };
    let mut keys: Vec<&str> = entries.iter().filter_map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if keys != ["descr", "fortran_order", "shape"] || entries.len() != 3 {
        return Err("the npy header does not hold exactly descr, fortran_order and shape".into());
    }
    let descr = entries.iter().find(|(k, _)| k.as_str() == Some("descr")).map(|(_, v)| v);
    match descr.map(has_object) {
        Some(Ok(true)) => Ok(Head::Object(end)),
        Some(Ok(false)) => Ok(Head::Plain),
        Some(Err(why)) => Err(why),
        None => Err("no descr".into()),
    }
}

fn need(len: u64, complete: bool) -> Result<Head, String> {
    if complete { Err("the npy header is truncated".into()) } else { Ok(Head::Need(len)) }
}

/// Whether a dtype description (as `numpy.lib.format.descr_to_dtype` reads it) holds
/// objects. Type strings name objects with `O` (`|O`, `O8`, `i4,O`) or `object`; field names
/// (the first item of each field of a structured dtype) are not looked at.
fn has_object(descr: &Lit) -> Result<bool, String> {
    match descr {
        Lit::Str(s) => Ok(s.contains('O') || s.to_ascii_lowercase().contains("object")),
        Lit::Tuple(items) => items.first().map_or(Ok(false), has_object),
        Lit::List(fields) => {
            for field in fields {
                let (Lit::Tuple(parts) | Lit::List(parts)) = field else {
                    return Err("a field of the npy dtype is not a tuple".into());
                };
                if parts.len() < 2 || parts.len() > 3 {
                    return Err("a field of the npy dtype has the wrong length".into());
                }
                if has_object(&parts[1])? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => Err("the npy dtype is neither a string nor a list".into()),
    }
}

#[derive(Debug)]
enum Lit {
    Str(String),
    Atom,
    List(Vec<Lit>),
    Tuple(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    fn as_str(&self) -> Option<&str> {
        if let Lit::Str(s) = self { Some(s) } else { None }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&mut self) -> Option<u8> {
        while self.text.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
        self.text.get(self.at).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err("the npy header nests too deeply".into());
        }
        match self.peek().ok_or("the npy header ends early")? {
            b'{' => self.items(b'}', depth).map(|items| {
                Lit::Dict(items.into_iter().map(|(k, v)| (k, v.unwrap_or(Lit::Atom))).collect())
            }),
            b'[' => {
                self.items(b']', depth).map(|items| Lit::List(items.into_iter().map(|(k, _)| k).collect()))
            }
            b'(' => {
                self.items(b')', depth).map(|items| Lit::Tuple(items.into_iter().map(|(k, _)| k).collect()))
            }
            quote @ (b'\'' | b'"') => self.string(quote),
            _ => self.atom(),
        }
    }

    /// Items up to `close`, comma-separated (a trailing comma allowed); dict items are pairs.
    fn items(&mut self, close: u8, depth: usize) -> Result<Vec<(Lit, Option<Lit>)>, String> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok(items);
            }
            let key = self.value(depth + 1)?;
            let value = if close == b'}' {
                if self.peek() != Some(b':') {
                    return Err("a dict item of the npy header has no ':'".into());
                }
                self.at += 1;
                Some(self.value(depth + 1)?)
            } else {
                None
            };
            items.push((key, value));
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(c) if c == close => {}
                _ => return Err("malformed npy header".into()),
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<Lit, String> {
        let start = self.at + 1;
        let mut at = start;
        loop {
            match self.text.get(at) {
                None => return Err("an unterminated string in the npy header".into()),
                Some(b'\\') => at += 2,
                Some(c) if *c == quote => break,
                Some(_) => at += 1,
            }
        }
        self.at = at + 1;
        Ok(Lit::Str(String::from_utf8_lossy(&self.text[start..at]).into_owned()))
    }

    /// A number, `True`, `False` or `None` (their values do not matter here).
    fn atom(&mut self) -> Result<Lit, String> {
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
        {
            self.at += 1;
        }
        let word = &self.text[start..self.at];
        let number = word.iter().all(|b| b.is_ascii_digit() || matches!(b, b'L' | b'l' | b'-' | b'+'));
        if word.is_empty() || !(number || matches!(word, b"True" | b"False" | b"None")) {
            return Err("an unexpected value in the npy header".into());
        }
        Ok(Lit::Atom)
    }
}
