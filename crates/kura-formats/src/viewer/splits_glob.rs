//! The glob dialect `datasets` resolves data-file patterns with (fsspec ≥ 2023.12
//! `glob_translate`): a pattern is split on `/`; a whole `*` component matches one non-empty name,
//! a whole `**` component any number of directories (as the last component: anything), `**`
//! inside a component is an error; within a component `*` is `[^/]*`, `?` is `[^/]`, `[…]` /
//! `[!…]` are character classes. The pattern must match the whole path. Matching runs as a set
//! of states over the tokens (no backtracking), so it is linear in path length × pattern length.
//! Also here: `datasets`' rules that drop hidden files (a component starting with `.`) and
//! special directories (starting with `__`) unless the pattern names them.

/// One compiled token.
#[derive(Debug, Clone)]
enum Token {
    Lit(char),
    /// `[^/]`
    NotSlash,
    /// `[^/]*`
    Star,
    /// A character class: inclusive ranges, possibly negated.
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    /// `(?:.+/)?` — zero or more whole directories.
    Segments,
    /// `.*` — anything, as the last component.
    Tail,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(super) struct Glob {
    tokens: Vec<Token>,
    /// The longest literal run of the pattern: a path without it cannot match (a cheap filter).
    needle: String,
}

/// `**` inside a path component (fsspec raises `ValueError`).
#[derive(Debug)]
pub(super) struct InvalidGlob;

/// Whether a pattern has glob magic (Python's `glob.has_magic`: `*`, `?` or `[`).
pub(super) fn has_magic(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

impl Glob {
    pub(super) fn new(pattern: &str) -> Result<Self, InvalidGlob> {
        let parts: Vec<&str> = pattern.split('/').collect();
        let last = parts.len() - 1;
        let mut tokens = Vec::new();
        for (idx, part) in parts.iter().enumerate() {
            match *part {
                "*" => {
                    tokens.push(Token::NotSlash);
                    tokens.push(Token::Star);
                }
                "**" => {
                    tokens.push(if idx < last { Token::Segments } else { Token::Tail });
                    continue;
                }
                p if p.contains("**") => return Err(InvalidGlob),
                p => translate(p, &mut tokens),
            }
            if idx < last {
                tokens.push(Token::Lit('/'));
            }
        }
        let needle = longest_literal(&tokens);
        Ok(Self { tokens, needle })
    }

    /// A cheap necessary condition: the path contains the pattern's longest literal.
    pub(super) fn could_match(&self, path: &str) -> bool {
        path.contains(self.needle.as_str())
    }

    /// An upper bound of the work [`Glob::matches`] does on `path`.
    pub(super) fn cost(&self, path: &str) -> u64 {
        let len = u64::try_from(path.len()).unwrap_or(u64::MAX);
        let tokens = u64::try_from(self.tokens.len()).unwrap_or(u64::MAX);
        len.saturating_add(1).saturating_mul(tokens.saturating_add(1))
    }

    /// Whether the whole `path` matches.
    pub(super) fn matches(&self, path: &str) -> bool {
        if !self.could_match(path) {
            return false;
        }
        let n = self.tokens.len();
        let mut active = vec![false; n + 1];
        let mut in_segment = vec![false; n + 1];
        active[0] = true;
        self.close(&mut active);
        for c in path.chars() {
            let mut next = vec![false; n + 1];
            let mut next_seg = vec![false; n + 1];
            for i in 0..n {
                if in_segment[i] {
                    next_seg[i] = true;
                    if c == '/' {
                        next[i + 1] = true;
                    }
                }
                if !active[i] {
                    continue;
                }
                match &self.tokens[i] {
                    Token::Lit(x) if *x == c => next[i + 1] = true,
                    Token::NotSlash if c != '/' => next[i + 1] = true,
                    Token::Star if c != '/' => next[i] = true,
                    Token::Class { ranges, negated } => {
                        let inside = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
                        if inside != *negated {
                            next[i + 1] = true;
                        }
                    }
                    Token::Segments => next_seg[i] = true,
                    Token::Tail => next[i] = true,
                    _ => {}
                }
            }
            self.close(&mut next);
            if !next.iter().any(|a| *a) && !next_seg.iter().any(|a| *a) {
                return false;
            }
            active = next;
            in_segment = next_seg;
        }
        active[n]
    }

    /// Epsilon moves: `*`, `**/` and a trailing `**` may match nothing.
    fn close(&self, active: &mut [bool]) {
        for i in 0..self.tokens.len() {
            if active[i] && matches!(self.tokens[i], Token::Star | Token::Segments | Token::Tail) {
                active[i + 1] = true;
            }
        }
    }
}

/// fnmatch's translation of one path component.
fn translate(part: &str, tokens: &mut Vec<Token>) {
    let chars: Vec<char> = part.chars().collect();
    let n = chars.len();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                if !matches!(tokens.last(), Some(Token::Star)) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::NotSlash),
            '[' => {
                let mut j = i;
                if j < n && chars[j] == '!' {
                    j += 1;
                }
                if j < n && chars[j] == ']' {
                    j += 1;
                }
                while j < n && chars[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    tokens.push(Token::Lit('['));
                } else {
                    tokens.push(class(&chars[i..j]));
                    i = j + 1;
                }
            }
            c => tokens.push(Token::Lit(c)),
        }
    }
}

/// The body of `[…]`: `!` negates, `a-b` is a range (empty when reversed), other chars literal.
fn class(stuff: &[char]) -> Token {
    let (negated, body) = match stuff.split_first() {
        Some(('!', rest)) => (true, rest),
        _ => (false, stuff),
    };
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            if body[k] <= body[k + 2] {
                ranges.push((body[k], body[k + 2]));
            }
            k += 3;
        } else {
            ranges.push((body[k], body[k]));
            k += 1;
        }
    }
    Token::Class { ranges, negated }
}

fn longest_literal(tokens: &[Token]) -> String {
    let mut best = String::new();
    let mut run = String::new();
    for t in tokens {
        if let Token::Lit(c) = t {
            run.push(*c);
            if run.len() > best.len() {
                best.clone_from(&run);
            }
        } else {
            run.clear();
        }
    }
    best
}

/// `PurePath(p).parts`, for relative posix paths: empty and `.` components vanish.
fn parts(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|p| !p.is_empty() && *p != ".")
}

fn parent_parts(path: &str) -> Vec<&str> {
    let mut all: Vec<&str> = parts(path).collect();
    all.pop();
    all
}

/// `_is_inside_unrequested_special_dir`: the path's parent has more (or fewer) `__` directories
/// than the pattern's parent.
pub(super) fn inside_unrequested_special_dir(path: &str, pattern: &str) -> bool {
    let count = |p: &str| parent_parts(p).iter().filter(|c| c.starts_with("__")).count();
    count(path) != count(pattern)
}

/// `_is_unrequested_hidden_file_or_is_inside_unrequested_hidden_dir`: components starting with a
/// dot (but not `.`/`..`) counted in the path and in the pattern must agree.
pub(super) fn unrequested_hidden(path: &str, pattern: &str) -> bool {
    let count = |p: &str| parts(p).filter(|c| c.starts_with('.') && c.chars().any(|x| x != '.')).count();
    count(path) != count(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn stars_and_segments() {
        assert!(m("*.csv", "a.csv"));
        assert!(!m("*.csv", "d/a.csv"));
        assert!(m("**", "d/e/a.csv"));
        assert!(m("**/train/**", "train/a.csv"));
        assert!(m("**/train/**", "x/y/train/z/a.csv"));
        assert!(!m("**/train/**", "xtrain/a.csv"));
        assert!(m("**/*[-._ 0-9]test[-._ 0-9]*", "d/my_test.csv"));
        assert!(!m("**/*[-._ 0-9]test[-._ 0-9]*", "latest.csv"));
        assert!(!m("*/a.csv", "/a.csv"));
        assert!(m("data/*-[0-9][0-9]*.*", "data/train-01.parquet"));
        assert!(Glob::new("data/**.csv").is_err());
    }

    #[test]
    fn classes() {
        assert!(m("part[1-2].csv", "part2.csv"));
        assert!(!m("part[1-2].csv", "part3.csv"));
        assert!(m("part[!1-2].csv", "partx.csv"));
        assert!(m("a[.csv", "a[.csv"));
        assert!(m("p?.csv", "p?.csv"));
    }

    #[test]
    fn hidden_and_special() {
        assert!(unrequested_hidden(".hidden.csv", "**"));
        assert!(!unrequested_hidden(".hidden.csv", ".*"));
        assert!(unrequested_hidden(".d/.f", ".d/*"));
        assert!(!unrequested_hidden("../a", "**"));
        assert!(inside_unrequested_special_dir("__pycache__/b.txt", "**"));
        assert!(!inside_unrequested_special_dir("__pycache__/b.txt", "__*/*"));
        assert!(!inside_unrequested_special_dir("__init__.csv", "**"));
    }
}
