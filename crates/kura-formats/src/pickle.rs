//! The imports a pickle stream would perform, found by walking its opcodes without running
//! anything (as `pickletools.genops` does, and as the Hub's and picklescan's scanners do).
//! `GLOBAL`/`INST` name their import inline; `STACK_GLOBAL` takes module and name from the two
//! values pushed before it, which the walk resolves through the memo; anything that is not a
//! string there makes the import `unknown` (treated as dangerous: an attacker hides behind it).
//! Concatenated pickles are all scanned; a malformed one ends the walk with an error, keeping
//! what was found before it.

use std::collections::HashMap;

/// One `module.name` a pickle imports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Import {
    pub module: String,
    pub name: String,
}

/// What a walk found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// Distinct imports, sorted.
    pub imports: Vec<Import>,
    /// Why the walk stopped before the end of the data, if it did.
    pub error: Option<String>,
    /// Complete pickles (ending in `STOP`) seen.
    pub pickles: usize,
    /// Offset just past the last op read (past the `STOP` of the one pickle walked, for
    /// `multiple == false`): where the next pickle of a stream starts.
    pub end: usize,
    /// The walk stopped because the data ended (a longer prefix of the file could go on).
    pub ran_out: bool,
}

/// Memo entries remembered (a pickle may memoize millions of values; only strings matter).
const MAX_MEMO: usize = 1 << 20;
/// Bytes of memoized strings remembered (per memo: the walk keeps two).
const MAX_MEMO_BYTES: usize = 32 << 20;
/// Distinct imports kept (a pickle naming more is reported as an error).
const MAX_IMPORTS: usize = 10_000;
/// Ops looked back through by `STACK_GLOBAL`.
const LOOKBACK: usize = 64;

/// What an op left for a later `STACK_GLOBAL` or memo op to look at.
#[derive(Debug, Clone)]
enum Seen {
    /// A string push (any of the unicode and string opcodes).
    Str(String),
    /// A memo read of this key.
    Get(u64),
    /// A memo write (skipped by `STACK_GLOBAL`'s look back).
    Put,
    /// An op with a non-string argument, kept as text for the memo (picklescan casts it).
    Value(Option<String>),
}

enum Arg<'a> {
    None,
    Bytes(&'a [u8]),
    Line(&'a [u8]),
    Int(u64),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// A read failed for want of data (rather than for a malformed op).
    hit_end: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let n = usize::try_from(n).map_err(|_| "length overflows".to_owned())?;
        let end = self.pos.checked_add(n).filter(|end| *end <= self.data.len());
        let Some(end) = end else {
            self.hit_end = true;
            return Err(format!("truncated: {n} bytes wanted at offset {}", self.pos));
        };
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let bytes = self.take(n as u64)?;
        Ok(bytes.iter().rev().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn line(&mut self) -> Result<&'a [u8], String> {
        let rest = &self.data[self.pos..];
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            self.hit_end = true;
            return Err("no newline at the end of a line argument".to_owned());
        };
        self.pos += end + 1;
        Ok(&rest[..end])
    }
}

/// Reads the argument of `op`; `None` for an unknown opcode.
fn argument<'a>(reader: &mut Reader<'a>, op: u8) -> Result<Option<Arg<'a>>, String> {
    let arg = match op {
        // No argument.
        b'('
        | b'.'
        | b'0'
        | b'1'
        | b'2'
        | b'N'
        | b'Q'
        | b'R'
        | b'a'
        | b'b'
        | b'd'
        | b'}'
        | b'e'
        | b'l'
        | b']'
        | b'o'
        | b's'
        | b't'
        | b')'
        | b'u'
        | 0x81
        | 0x85..=0x89
        | 0x8f..=0x94
        | 0x97
        | 0x98 => Arg::None,
        // Decimal, float, quoted or raw-unicode text up to a newline.
        b'F' | b'I' | b'L' | b'P' | b'S' | b'V' | b'g' | b'p' => Arg::Line(reader.line()?),
        // Two lines: module and name.
        b'c' | b'i' => {
            let start = reader.pos;
            reader.line()?;
            reader.line()?;
            Arg::Line(&reader.data[start..reader.pos - 1])
        }
        b'K' | b'h' | b'q' | 0x80 | 0x82 => Arg::Int(reader.uint(1)?),
        b'M' | 0x83 => Arg::Int(reader.uint(2)?),
        b'J' | b'j' | b'r' | 0x84 => Arg::Int(reader.uint(4)?),
        b'G' => Arg::Bytes(reader.take(8)?),
        0x95 => Arg::Int(reader.uint(8)?),
        // Length-prefixed data.
        b'U' | b'C' | 0x8a | 0x8c => {
            let n = reader.uint(1)?;
            Arg::Bytes(reader.take(n)?)
        }
        b'T' | b'X' | b'B' | 0x8b => {
            let n = reader.uint(4)?;
            Arg::Bytes(reader.take(n)?)
        }
        0x8d | 0x8e | 0x96 => {
            let n = reader.uint(8)?;
            Arg::Bytes(reader.take(n)?)
        }
        _ => return Ok(None),
    };
    Ok(Some(arg))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The string a `STRING` line holds: its quotes removed (escapes are left as they are; names
/// of modules never contain any).
fn quoted(line: &[u8]) -> String {
    let inner = match line {
        [b'\'', inner @ .., b'\''] | [b'"', inner @ .., b'"'] => inner,
        other => other,
    };
    text(inner)
}

/// A `PUT`/`GET` key as the unpickler reads it, with Python's `int()`: surrounding whitespace,
/// an optional `+`, and single underscores between digits (`1_0` is 10; a walk that refused
/// it would stop where `pickle.load` goes on). `None` for anything `int()` refuses, a negative
/// key (which the unpickler refuses too), or a key past `u64`.
fn decimal(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = text.strip_prefix('+').unwrap_or(text);
    let bytes = digits.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.last().is_some_and(u8::is_ascii_digit)
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !digits.contains("__");
    if !well_formed {
        return None;
    }
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// A memo as the unpickler keeps one: every key written (`MEMOIZE` writes at its length),
/// with the string written, if it was one and within the budget.
#[derive(Default)]
struct Memo {
    values: HashMap<u64, Option<String>>,
    bytes: usize,
    /// More keys than `MAX_MEMO` were written: the memo's length is lost, reads are unknown.
    lost: bool,
}

impl Memo {
    /// Writes `value` under `key` (`None`: `MEMOIZE`, at the memo's length).
    fn put(&mut self, key: Option<u64>, value: Option<String>) {
        let key = key.unwrap_or(self.values.len() as u64);
        if self.values.len() >= MAX_MEMO && !self.values.contains_key(&key) {
            self.lost = true;
        }
        if self.lost {
            return;
        }
        let value = value.filter(|v| self.bytes + v.len() <= MAX_MEMO_BYTES);
        self.bytes += value.as_ref().map_or(0, String::len);
        if let Some(Some(old)) = self.values.insert(key, value) {
            self.bytes -= old.len();
        }
    }

    /// The string memoized under `key`, as `STACK_GLOBAL` reads it.
    fn get(&self, key: u64) -> String {
        match self.values.get(&key) {
            Some(Some(value)) if !self.lost => value.clone(),
            _ => "unknown".to_owned(),
        }
    }
}

/// The walk's state across ops and pickles. Two memos: one living as long as the stream (as
/// picklescan keeps it, and as one unpickler loading pickle after pickle does) and one per
/// pickle (as `pickle.load` called once per pickle does); a `STACK_GLOBAL` that reads them
/// differently imports both ways, so neither loader can be fooled.
#[derive(Default)]
struct State {
    recent: Vec<Seen>,
    stream_memo: Memo,
    pickle_memo: Memo,
    imports: std::collections::BTreeSet<Import>,
}

impl State {
    fn remember(&mut self, seen: Seen) {
        if self.recent.len() == LOOKBACK * 2 {
            self.recent.drain(..LOOKBACK);
        }
        self.recent.push(seen);
    }

    /// The value the previous op pushed, as picklescan memoizes it (its argument).
    fn previous_value(&self) -> Option<String> {
        match self.recent.last()? {
            Seen::Str(s) => Some(s.clone()),
            Seen::Value(v) => v.clone(),
            Seen::Get(key) => Some(key.to_string()),
            Seen::Put => None,
        }
    }

    fn memo_put(&mut self, key: Option<u64>) {
        let value = self.previous_value();
        self.stream_memo.put(key, value.clone());
        self.pickle_memo.put(key, value);
        self.remember(Seen::Put);
    }

    fn import(&mut self, module: String, name: String) -> Result<(), String> {
        if self.imports.len() >= MAX_IMPORTS {
            return Err(format!("more than {MAX_IMPORTS} distinct imports"));
        }
        self.imports.insert(Import { module, name });
        Ok(())
    }

    /// Module and name of a `STACK_GLOBAL`: the two values pushed before it, read through
    /// either memo.
    fn stack_global(&mut self) -> Result<(), String> {
        let (mut stream, mut pickle) = (Vec::with_capacity(2), Vec::with_capacity(2));
        for seen in self.recent.iter().rev() {
            let (a, b) = match seen {
                Seen::Put => continue,
                Seen::Str(s) => (s.clone(), s.clone()),
                Seen::Get(key) => (self.stream_memo.get(*key), self.pickle_memo.get(*key)),
                Seen::Value(_) => ("unknown".to_owned(), "unknown".to_owned()),
            };
            stream.push(a);
            pickle.push(b);
            if stream.len() == 2 {
                break;
            }
        }
        let [name, module] = <[String; 2]>::try_from(stream)
            .map_err(|found| format!("found {} values for STACK_GLOBAL instead of 2", found.len()))?;
        if let [other_name, other_module] = pickle.as_slice()
            && (other_name != &name || other_module != &module)
        {
            self.import(other_module.clone(), other_name.clone())?;
        }
        self.import(module, name)
    }

    /// Handles one op; `Ok(true)` at `STOP`.
    fn step(&mut self, op: u8, arg: Arg<'_>) -> Result<bool, String> {
        match (op, arg) {
            (b'.', _) => {
                self.pickle_memo = Memo::default();
                return Ok(true);
            }
            (b'c' | b'i', Arg::Line(line)) => {
                let line = text(line);
                let (module, name) = line.split_once('\n').unwrap_or((line.as_str(), ""));
                let (module, name) = (module.to_owned(), name.to_owned());
                self.import(module, name)?;
                self.remember(Seen::Value(Some(line.replace('\n', " "))));
            }
            (0x93, _) => {
                self.stack_global()?;
                self.remember(Seen::Value(None));
            }
            (0x94, _) => self.memo_put(None),
            (b'p', Arg::Line(line)) => match decimal(line) {
                Some(key) => self.memo_put(Some(key)),
                None => return Err("a PUT key is not a number".to_owned()),
            },
            (b'q' | b'r', Arg::Int(key)) => self.memo_put(Some(key)),
            (b'g', Arg::Line(line)) => match decimal(line) {
                Some(key) => self.remember(Seen::Get(key)),
                None => return Err("a GET key is not a number".to_owned()),
            },
            (b'h' | b'j', Arg::Int(key)) => self.remember(Seen::Get(key)),
            (b'X' | 0x8c | 0x8d | b'T' | b'U', Arg::Bytes(bytes)) => self.remember(Seen::Str(text(bytes))),
            (b'V', Arg::Line(line)) => self.remember(Seen::Str(text(line))),
            (b'S', Arg::Line(line)) => self.remember(Seen::Str(quoted(line))),
            (_, Arg::Int(n)) => self.remember(Seen::Value(Some(n.to_string()))),
            (_, Arg::Line(line)) => self.remember(Seen::Value(Some(text(line)))),
            (_, _) => self.remember(Seen::Value(None)),
        }
        Ok(false)
    }
}

/// Walks every pickle in `data` (or only the first, for `multiple == false`).
pub fn walk(data: &[u8], multiple: bool) -> Walk {
    let mut state = State::default();
    let mut reader = Reader { data, pos: 0, hit_end: false };
    let mut pickles = 0;
    let mut error = None;
    'pickles: while reader.pos < data.len() {
        loop {
            let at = reader.pos;
            let Ok(&[op]) = reader.take(1) else {
                error = Some("the data ends inside a pickle (no STOP)".to_owned());
                break 'pickles;
            };
            let arg = match argument(&mut reader, op) {
                Ok(Some(arg)) => arg,
                Ok(None) => {
                    error = Some(format!("unknown opcode 0x{op:02x} at offset {at}"));
                    break 'pickles;
                }
                Err(why) => {
                    error = Some(why);
                    break 'pickles;
                }
            };
            match state.step(op, arg) {
                Ok(true) => break,
                Ok(false) => {}
                Err(why) => {
                    error = Some(why);
                    break 'pickles;
                }
            }
        }
        pickles += 1;
        if !multiple {
            break;
        }
    }
    let ran_out = error.is_some() && reader.hit_end;
    Walk { imports: state.imports.into_iter().collect(), error, pickles, end: reader.pos, ran_out }
}

/// The value of the first integer op of the first pickle in `data` (an op whose name holds
/// `INT` or `LONG`, as picklescan's `get_magic_number` looks for; the memo ops `LONG_BINGET`
/// and `LONG_BINPUT` count), or `None` when there is none, it does not fit or the data is not
/// a pickle. Legacy PyTorch files start with a pickle of one such number.
pub fn first_int(data: &[u8]) -> Option<u128> {
    let mut reader = Reader { data, pos: 0, hit_end: false };
    loop {
        let [op] = *reader.take(1).ok()? else { return None };
        let arg = argument(&mut reader, op).ok()??;
        match (op, arg) {
            (b'.', _) => return None,
            (b'J' | b'K' | b'M' | b'j' | b'r', Arg::Int(n)) => return Some(u128::from(n)),
            (b'I' | b'L', Arg::Line(line)) => {
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                return std::str::from_utf8(digits).ok()?.trim().parse().ok();
            }
            (0x8a | 0x8b, Arg::Bytes(bytes)) => return little_endian(bytes),
            _ => {}
        }
    }
}

/// A non-negative little-endian two's complement number, if it fits in 128 bits.
fn little_endian(bytes: &[u8]) -> Option<u128> {
    if bytes.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let significant = bytes.get(..end)?;
    if significant.len() > 16 {
        return None;
    }
    Some(significant.iter().rev().fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(walk: &Walk) -> Vec<(String, String)> {
        walk.imports.iter().map(|i| (i.module.clone(), i.name.clone())).collect()
    }

    fn pair(module: &str, name: &str) -> (String, String) {
        (module.to_owned(), name.to_owned())
    }

    #[test]
    fn memo_keys_are_read_as_python_reads_them() {
        // `Np1_0\n0cos\nsystem\n(S'id'\ntR.`: pickle.load runs os.system; a walk that stopped
        // at the PUT key `1_0` (which int() accepts) saw no import at all.
        let walk = walk(b"Np1_0\n0cos\nsystem\n(S'id'\ntR.", true);
        assert_eq!(imports(&walk), vec![pair("os", "system")]);
        assert_eq!(walk.error, None);
        assert_eq!(decimal(b" +1_000 "), Some(1000));
        assert_eq!(decimal(b"007"), Some(7));
        for refused in [&b"1__0"[..], b"_1", b"1_", b"-1", b"", b"1 0", b"0x10", b"99999999999999999999999"] {
            assert_eq!(decimal(refused), None, "{:?}", String::from_utf8_lossy(refused));
        }
    }

    #[test]
    fn protocol_zero_globals_are_read_inline() {
        let walk = walk(b"cos\nsystem\n(S'echo hi'\ntR.", true);
        assert_eq!(imports(&walk), vec![pair("os", "system")]);
        assert_eq!((walk.error, walk.pickles), (None, 1));
    }

    #[test]
    fn stack_global_takes_the_two_strings_before_it_through_the_memo() {
        // What torch.save writes: FRAME, then module and name pushed and memoized.
        let mut data = vec![0x80, 0x04, 0x95];
        data.extend_from_slice(&30u64.to_le_bytes());
        data.extend_from_slice(b"\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93\x94");
        // The same names read back from the memo: BINGET 0, BINGET 1.
        data.extend_from_slice(b"h\x00h\x01\x93.");
        let walk = walk(&data, true);
        assert_eq!(imports(&walk), vec![pair("torch", "FloatStorage")]);
        assert_eq!(walk.error, None);
    }

    #[test]
    fn a_non_string_before_stack_global_is_an_unknown_import() {
        let walk = walk(b"\x80\x04K\x01\x8c\x06system\x93.", true);
        assert_eq!(imports(&walk), vec![pair("unknown", "system")]);
        let walk2 = walk_memo_miss();
        assert_eq!(imports(&walk2), vec![pair("unknown", "unknown")]);
    }

    #[test]
    fn memoize_writes_at_the_memos_length_as_the_unpickler_does() {
        // BINPUT 2 and 3 hold harmless names; MEMOIZE then overwrites them (the memo has two
        // keys, then three after BINPUT 0), so BINGET 2 and 3 read os and system.
        let mut data = b"\x80\x04\x8c\x0bcollectionsq\x02\x8c\x0bOrderedDictq\x03".to_vec();
        data.extend_from_slice(b"\x8c\x02os\x94\x8c\x03padq\x00\x8c\x06system\x94h\x02h\x03\x93.");
        let walk = walk(&data, true);
        assert_eq!(imports(&walk), vec![pair("os", "system")]);
    }

    #[test]
    fn a_later_pickle_is_read_with_its_own_memo_and_with_the_streams() {
        // The first pickle memoizes os and system at 0 and 1 (BINPUT); the second memoizes
        // harmless names (MEMOIZE: keys 2 and 3 in the stream's memo, 0 and 1 in its own) and
        // reads 0 and 1: os.system for one unpickler loading both, the harmless names for
        // pickle.load called twice. Both are reported.
        let mut data = b"\x80\x02\x8c\x02osq\x00\x8c\x06systemq\x01N.".to_vec();
        data.extend_from_slice(b"\x80\x04\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94h\x00h\x01\x93.");
        let both = walk(&data, true);
        assert_eq!(imports(&both), vec![pair("collections", "OrderedDict"), pair("os", "system")]);
        // A second pickle reading its own MEMOIZE keys gets no stale names from the first.
        let mut fresh = b"\x80\x04\x8c\x01a\x94\x8c\x01b\x94N.".to_vec();
        fresh.extend_from_slice(b"\x80\x04\x8c\x05numpy\x94\x8c\x05dtype\x94\x93h\x00\x8c\x07ndarray\x93.");
        let second = walk(&fresh, true);
        let ndarray = Import { module: "numpy".into(), name: "ndarray".into() };
        assert!(second.imports.contains(&ndarray), "{second:?}");
    }

    fn walk_memo_miss() -> Walk {
        walk(b"\x80\x04h\x07h\x08\x93.", true)
    }

    #[test]
    fn every_concatenated_pickle_is_scanned() {
        let mut data = b"\x80\x02K\x01.".to_vec();
        data.extend_from_slice(b"cposix\nsystem\n.");
        let all = walk(&data, true);
        assert_eq!(imports(&all), vec![pair("posix", "system")]);
        assert_eq!(all.pickles, 2);
        assert!(walk(&data, false).imports.is_empty());
    }

    #[test]
    fn one_pickle_at_a_time_says_where_it_ends_and_whether_the_data_ran_out() {
        let data = b"\x80\x02K\x01.cos\nsystem\n.";
        let first = walk(data, false);
        assert_eq!((first.end, first.pickles, first.ran_out), (5, 1, false));
        let second = walk(&data[first.end..], false);
        assert_eq!(imports(&second), vec![pair("os", "system")]);
        assert!(walk(b"\x80\x02X\x05\x00\x00\x00ab", true).ran_out, "a string cut short");
        assert!(walk(b"cos\nsys", true).ran_out, "a line cut short");
        assert!(walk(b"\x80\x02K", true).ran_out);
        assert!(!walk(b"\x80\x02\xff", true).ran_out, "an unknown opcode is not for want of data");
    }

    #[test]
    fn the_first_integer_is_read_as_the_torch_magic_check_reads_it() {
        let magic = 0x1950_a86a_20f9_469c_fc6c_u128;
        assert_eq!(first_int(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."), Some(magic));
        assert_eq!(first_int(b"L119547037146038801333356L\n."), Some(magic));
        assert_eq!(
            first_int(b"\x80\x02\x8a\x0c\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x00\x00."),
            Some(magic)
        );
        assert_eq!(first_int(b"\x80\x02X\x01\x00\x00\x00aK\x07."), Some(7), "after other ops");
        assert_eq!(first_int(b"\x80\x02\x8a\x01\xff."), None, "negative");
        assert_eq!(first_int(b"\x80\x02N.K\x01."), None, "only the first pickle");
        assert_eq!(first_int(b"\x80\x02\xff"), None);
    }

    #[test]
    fn malformed_streams_stop_with_an_error_and_keep_what_was_found() {
        let walk1 = walk(b"cbuiltins\neval\n\xff", true);
        assert_eq!(imports(&walk1), vec![pair("builtins", "eval")]);
        assert!(walk1.error.unwrap().contains("unknown opcode 0xff"));
        let truncated = walk(b"X\xff\xff\xff\x7fabc", true);
        assert!(truncated.error.unwrap().contains("truncated"));
        let no_stop = walk(b"\x80\x02K\x01", true);
        assert!(no_stop.error.unwrap().contains("no STOP"));
        assert_eq!(walk(b"", true), Walk::default());
        let huge = walk(b"\x8e\xff\xff\xff\xff\xff\xff\xff\xff", true);
        assert!(huge.error.is_some());
    }
}
