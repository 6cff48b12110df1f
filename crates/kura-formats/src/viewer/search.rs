//! Full-text matching for `/search`: a query is split into terms, and a row matches when every
//! term occurs among the words of its string cells (strings nested in lists and structs count).
//!
//! Tokenisation: lowercase (Unicode), split on every character that is not alphanumeric
//! (Unicode-aware, so `héllo` and `東京` are words and digits are kept), then stem with the
//! first step of Porter's algorithm ([`stem`]). Hugging Face's viewer runs DuckDB's full-text
//! index with its defaults instead (`stemmer='porter'` over all of Porter's steps, English stop
//! words dropped, accents stripped, anything outside `a-z` treated as a separator) and ranks by
//! BM25 with *any* term matching (`match_bm25`'s default is not conjunctive). kura answers
//! "every term" by [`SearchQuery::matches`]; [`SearchQuery::matching_terms`] counts the terms
//! found, for a caller that wants "any term" or a crude ranking.
//!
//! Budgets: a query of at most 1024 bytes and 32 distinct terms; per row, nesting up to depth 16
//! and at most 1 MiB of text are examined (the rest of the row is not searched).

use serde_json::{Map, Value};

/// Longest accepted query, in bytes.
pub const MAX_QUERY_BYTES: usize = 1024;
/// Most distinct terms in a query.
pub const MAX_TERMS: usize = 32;
/// Deepest list/struct nesting walked in a cell.
pub const MAX_DEPTH: usize = 16;
/// Most bytes of string content examined per row.
pub const MAX_TEXT_BYTES_PER_ROW: usize = 1 << 20;

/// Why a search query was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("the query has no words to search for")]
    Empty,
    #[error("the query is longer than {MAX_QUERY_BYTES} bytes")]
    TooLong,
    #[error("the query has more than {MAX_TERMS} distinct words")]
    TooManyTerms,
}

/// A parsed query: distinct stemmed terms in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<String>,
}

impl SearchQuery {
    /// Tokenises and stems the query.
    pub fn parse(q: &str) -> Result<Self, SearchError> {
        if q.len() > MAX_QUERY_BYTES {
            return Err(SearchError::TooLong);
        }
        let mut terms: Vec<String> = Vec::new();
        for token in tokens(q) {
            if !terms.contains(&token) {
                if terms.len() == MAX_TERMS {
                    return Err(SearchError::TooManyTerms);
                }
                terms.push(token);
            }
        }
        if terms.is_empty() {
            return Err(SearchError::Empty);
        }
        Ok(SearchQuery { terms })
    }

    /// The stemmed terms.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// True when every term occurs in the string content of the given columns.
    pub fn matches(&self, row: &Map<String, Value>, string_columns: &[&str]) -> bool {
        self.matching_terms(row, string_columns) == self.terms.len()
    }

    /// How many distinct terms occur in the string content of the given columns.
    pub fn matching_terms(&self, row: &Map<String, Value>, string_columns: &[&str]) -> usize {
        let mut walk = Walk {
            found: vec![false; self.terms.len()],
            left: self.terms.len(),
            budget: MAX_TEXT_BYTES_PER_ROW,
        };
        for column in string_columns {
            if let Some(cell) = row.get(*column) {
                walk.cell(&self.terms, cell, 0);
            }
            if walk.left == 0 || walk.budget == 0 {
                break;
            }
        }
        self.terms.len() - walk.left
    }
}

struct Walk {
    found: Vec<bool>,
    left: usize,
    budget: usize,
}

impl Walk {
    fn cell(&mut self, terms: &[String], cell: &Value, depth: usize) {
        if self.left == 0 || self.budget == 0 || depth > MAX_DEPTH {
            return;
        }
        match cell {
            Value::String(s) => self.text(terms, s),
            Value::Array(items) => items.iter().for_each(|v| self.cell(terms, v, depth + 1)),
            Value::Object(fields) => fields.values().for_each(|v| self.cell(terms, v, depth + 1)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn text(&mut self, terms: &[String], s: &str) {
        let mut end = s.len().min(self.budget);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.budget -= end;
        for token in tokens(&s[..end]) {
            for (i, term) in terms.iter().enumerate() {
                if !self.found[i] && *term == token {
                    self.found[i] = true;
                    self.left -= 1;
                }
            }
            if self.left == 0 {
                return;
            }
        }
    }
}

/// The stemmed, lowercased words of a text, in order.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| stem(&w.to_lowercase()))
}

/// Step 1 of M. F. Porter's stemmer ("An algorithm for suffix stripping", 1980): 1a plurals
/// (`sses→ss`, `ies→i`, `ss→ss`, `s→`), 1b (`eed→ee` when the measure of the rest is > 0, `ed`
/// and `ing` dropped when the rest has a vowel, then `at→ate`, `bl→ble`, `iz→ize`, a double
/// consonant other than l/s/z undoubled, or `e` added after a short consonant-vowel-consonant
/// stem) and 1c (`y→i` when the rest has a vowel). Applied only to words of three or more ASCII
/// letters `a-z`; other words are returned unchanged.
pub fn stem(word: &str) -> String {
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_owned();
    }
    let mut w = word.as_bytes().to_vec();
    step_1a(&mut w);
    step_1b(&mut w);
    if w.len() > 1 && w.ends_with(b"y") && has_vowel(&w[..w.len() - 1]) {
        let last = w.len() - 1;
        w[last] = b'i';
    }
    // Only ASCII letters were handled, so the bytes are valid UTF-8.
    String::from_utf8(w).unwrap_or_else(|_| word.to_owned())
}

fn step_1a(w: &mut Vec<u8>) {
    if w.ends_with(b"sses") || w.ends_with(b"ies") {
        w.truncate(w.len() - 2);
    } else if w.ends_with(b"s") && !w.ends_with(b"ss") {
        w.truncate(w.len() - 1);
    }
}

fn step_1b(w: &mut Vec<u8>) {
    if w.ends_with(b"eed") {
        if measure(&w[..w.len() - 3]) > 0 {
            w.truncate(w.len() - 1);
        }
        return;
    }
    let suffix = if w.ends_with(b"ed") {
        2
    } else if w.ends_with(b"ing") {
        3
    } else {
        return;
    };
    if !has_vowel(&w[..w.len() - suffix]) {
        return;
    }
    w.truncate(w.len() - suffix);
    if w.ends_with(b"at") || w.ends_with(b"bl") || w.ends_with(b"iz") {
        w.push(b'e');
    } else if ends_double_consonant(w) && !matches!(w.last(), Some(b'l' | b's' | b'z')) {
        w.pop();
    } else if measure(w) == 1 && ends_cvc(w) {
        w.push(b'e');
    }
}

fn is_consonant(w: &[u8], i: usize) -> bool {
    match w[i] {
        b'a' | b'e' | b'i' | b'o' | b'u' => false,
        b'y' => i == 0 || !is_consonant(w, i - 1),
        _ => true,
    }
}

/// Porter's m: the number of vowel-then-consonant runs.
fn measure(w: &[u8]) -> usize {
    let mut m = 0;
    let mut prev_vowel = false;
    for i in 0..w.len() {
        let consonant = is_consonant(w, i);
        if consonant && prev_vowel {
            m += 1;
        }
        prev_vowel = !consonant;
    }
    m
}

fn has_vowel(w: &[u8]) -> bool {
    (0..w.len()).any(|i| !is_consonant(w, i))
}

fn ends_double_consonant(w: &[u8]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

fn ends_cvc(w: &[u8]) -> bool {
    let n = w.len();
    n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w[n - 1], b'w' | b'x' | b'y')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn porter_step_one_examples_from_the_paper() {
        // Porter (1980), step 1 examples.
        let cases = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "ti"),
            ("caress", "caress"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agree"),
            ("plastered", "plaster"),
            ("bled", "bled"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("conflated", "conflate"),
            ("troubled", "trouble"),
            ("sized", "size"),
            ("hopping", "hop"),
            ("tanned", "tan"),
            ("falling", "fall"),
            ("hissing", "hiss"),
            ("fizzed", "fizz"),
            ("failing", "fail"),
            ("filing", "file"),
            ("happy", "happi"),
            ("sky", "sky"),
        ];
        for (word, expected) in cases {
            assert_eq!(stem(word), expected, "{word}");
        }
    }

    #[test]
    fn stemming_leaves_short_and_non_ascii_words_alone() {
        for w in ["is", "as", "42", "héllos", "東京", "abc1s"] {
            assert_eq!(stem(w), w);
        }
    }

    #[test]
    fn tokens_lowercase_split_and_stem() {
        let t: Vec<String> = tokens("The CATS, running-fast; Ünïcode 東京 x2").collect();
        assert_eq!(t, ["the", "cat", "run", "fast", "ünïcode", "東京", "x2"]);
    }

    #[test]
    fn query_parsing_and_budgets() {
        let q = SearchQuery::parse("Running cats, run CAT!").unwrap();
        assert_eq!(q.terms(), ["run", "cat"]);
        assert_eq!(SearchQuery::parse(" ,.;! "), Err(SearchError::Empty));
        assert_eq!(SearchQuery::parse(""), Err(SearchError::Empty));
        assert_eq!(SearchQuery::parse(&"a".repeat(1025)), Err(SearchError::TooLong));
        let words = |n: usize| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert!(SearchQuery::parse(&words(32)).is_ok());
        assert_eq!(SearchQuery::parse(&words(33)), Err(SearchError::TooManyTerms));
        // repeats do not count against the budget
        assert!(SearchQuery::parse(&"cat ".repeat(200)).is_ok());
    }

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_term_must_appear_in_the_string_columns() {
        let r = row(json!({
            "title": "Cats and dogs",
            "body": {"paragraphs": ["The dog was running", {"note": "happily"}]},
            "id": 12,
            "other": "hidden words",
        }));
        let cols = ["title", "body", "id"];
        let m = |q: &str| SearchQuery::parse(q).unwrap_or_else(|e| panic!("{e}")).matches(&r, &cols);
        assert!(m("cat"));
        assert!(m("DOG runs"));
        assert!(!m("ran"), "no irregular forms");
        assert!(m("happily"), "nested struct inside a list");
        assert!(!m("happy"), "step 1 alone keeps happily (happili) apart from happy (happi)");
        assert!(!m("cat hidden"));
        assert!(!m("12"), "numbers are not string cells");
        let q = SearchQuery::parse("cat hidden elephant").unwrap();
        assert_eq!(q.matching_terms(&r, &cols), 1);
        assert_eq!(q.matching_terms(&r, &["title", "other"]), 2);
        assert_eq!(q.matching_terms(&r, &["missing"]), 0);
    }

    #[test]
    fn walk_is_bounded_in_depth_and_text() {
        let mut deep = json!("needle");
        for _ in 0..MAX_DEPTH {
            deep = json!([deep]);
        }
        let q = SearchQuery::parse("needle").unwrap();
        assert!(q.matches(&row(json!({"c": deep.clone()})), &["c"]));
        let deeper = json!([deep]);
        assert!(!q.matches(&row(json!({"c": deeper})), &["c"]));

        let filler = "x ".repeat(MAX_TEXT_BYTES_PER_ROW / 2);
        let r = row(json!({"a": filler, "b": "needle"}));
        assert!(!q.matches(&r, &["a", "b"]), "text after the first MiB is not examined");
        assert!(q.matches(&r, &["b", "a"]));
        // a multi-byte character straddling the budget does not panic
        let r = row(json!({"a": "é".repeat(MAX_TEXT_BYTES_PER_ROW)}));
        assert!(!q.matches(&r, &["a"]));
    }
}
