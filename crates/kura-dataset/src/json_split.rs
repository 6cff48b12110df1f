//! Finds whole JSON records in a prefix of a file, for schema inference: objects at the top
//! level (JSON lines) or the elements of a top-level array (a `.json` file holding a list).
//! A scanner of brackets and strings; the records themselves are parsed by `serde_json`.

/// Byte ranges of the complete records within `prefix`, at most `max` of them.
pub(crate) fn records(prefix: &[u8], max: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // The depth records start at: 0 for JSON lines, 1 inside a top-level array.
    let mut record_depth: Option<usize> = None;
    let mut start = 0usize;
    for (index, &byte) in prefix.iter().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                if record_depth.is_none() {
                    record_depth = Some(if byte == b'[' { 1 } else { 0 });
                }
                if Some(depth) == record_depth && byte == b'{' {
                    start = index;
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if Some(depth) == record_depth && byte == b'}' {
                    out.push(start..index + 1);
                    if out.len() >= max {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::records;

    fn texts(input: &str, max: usize) -> Vec<&str> {
        records(input.as_bytes(), max).into_iter().map(|r| &input[r]).collect()
    }

    #[test]
    fn lines_arrays_and_strings() {
        assert_eq!(
            texts("{\"a\":1}\n{\"a\":{\"b\":2}}\n{\"a\":", 10),
            vec!["{\"a\":1}", "{\"a\":{\"b\":2}}"]
        );
        assert_eq!(
            texts("[{\"a\":\"}{\"}, {\"a\":[1,{}]} ,{\"a\"", 10),
            vec!["{\"a\":\"}{\"}", "{\"a\":[1,{}]}"]
        );
        assert_eq!(texts("{\"a\":\"\\\"}\"}", 10), vec!["{\"a\":\"\\\"}\"}"]);
        assert_eq!(texts("{}{}{}", 2).len(), 2);
        assert!(texts("[[[[", 10).is_empty());
    }
}
