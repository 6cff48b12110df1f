//! The `/filter` endpoint's restricted SQL: a `where` clause (`"col" op value`, `IS [NOT] NULL`,
//! `AND`/`OR`/`NOT`, parentheses) parsed into an [`Expr`] evaluated over JSON rows with SQL's
//! three-valued logic, and an `orderby` clause (`"col" [ASC|DESC]`) with a total order on cells.
//!
//! Hugging Face's viewer checks the clause against a loose regular expression and hands it to
//! DuckDB. kura parses a strict subset instead, so nothing reaches an SQL engine:
//! * operators `=`, `<>`, `!=` (DuckDB's alias of `<>`, let through by HF's pattern), `>`, `>=`,
//!   `<`, `<=`; values: numbers (an optional `-`, digits, optional fraction and exponent),
//!   single-quoted strings (`''` is a quote), `TRUE`, `FALSE`, `NULL`; keywords in any case;
//! * identifiers are double-quoted (`""` is a quote); sub-columns (`"a"."b"`), functions,
//!   `LIKE`, casts, comments and semicolons are rejected with an error naming the byte position.
//!
//! Semantics: a comparison with a NULL or missing cell, with a `NULL` literal, or between
//! different kinds (a string cell against a number, a list against anything) is *unknown*;
//! `NOT unknown` is unknown, `unknown AND false` is false, `unknown OR true` is true; a row
//! matches only when the whole clause is true. (DuckDB would try an implicit cast for mixed kinds
//! and usually fail the query; kura answers "no match" instead.) Numbers compare numerically
//! (integers exactly, an integer against a float too), strings by their UTF-8 bytes, `false <
//! true`.
//!
//! Ordering follows DuckDB's default `NULLS LAST` for both `ASC` and `DESC` (checked with DuckDB
//! 2.0.1, which also accepts `!=`): see [`OrderBy`].

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Longest accepted clause, in bytes.
pub const MAX_INPUT_BYTES: usize = 4096;
/// Deepest nesting of parentheses and `NOT`s.
pub const MAX_DEPTH: usize = 32;
/// Most comparisons (including `IS [NOT] NULL`) in one clause.
pub const MAX_COMPARISONS: usize = 64;

/// Why a `where` or `orderby` clause was rejected; `pos` is a byte offset into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("the clause is empty")]
    Empty,
    #[error("the clause is longer than {MAX_INPUT_BYTES} bytes")]
    TooLong,
    #[error("nesting deeper than {MAX_DEPTH} at position {pos}")]
    TooDeep { pos: usize },
    #[error("more than {MAX_COMPARISONS} comparisons (at position {pos})")]
    TooManyComparisons { pos: usize },
    #[error("{what} at position {pos}")]
    Syntax { pos: usize, what: String },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

/// A parsed `where` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp { column: String, op: CmpOp, value: Literal },
    IsNull { column: String, negated: bool },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A parsed `orderby` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub column: String,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(Literal),
    Word(String),
    Op(CmpOp),
    LParen,
    RParen,
}

fn syntax(pos: usize, what: impl Into<String>) -> FilterError {
    FilterError::Syntax { pos, what: what.into() }
}

/// Reads a quoted run starting at `start` (which holds `quote`); doubled quotes escape one.
fn quoted(input: &str, start: usize, quote: char) -> Result<(String, usize), FilterError> {
    let mut out = String::new();
    let mut chars = input[start + 1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != quote {
            out.push(c);
            continue;
        }
        if chars.peek().map(|&(_, n)| n) == Some(quote) {
            chars.next();
            out.push(quote);
        } else {
            return Ok((out, start + 1 + i + 1));
        }
    }
    let what = if quote == '"' { "identifier" } else { "string" };
    Err(syntax(start, format!("unterminated {what}")))
}

fn number(input: &str, start: usize) -> Result<(Literal, usize), FilterError> {
    let bytes = input.as_bytes();
    let mut end = start + usize::from(bytes[start] == b'-');
    let digits = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let int_end = digits(end);
    if int_end == end {
        return Err(syntax(start, "expected a number"));
    }
    end = int_end;
    let mut is_float = false;
    if end < bytes.len() && bytes[end] == b'.' {
        is_float = true;
        end = digits(end + 1);
    }
    if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
        let mut e = end + 1;
        if e < bytes.len() && (bytes[e] == b'+' || bytes[e] == b'-') {
            e += 1;
        }
        let e_end = digits(e);
        if e_end == e {
            return Err(syntax(end, "malformed exponent"));
        }
        is_float = true;
        end = e_end;
    }
    if end < bytes.len() && (bytes[end].is_ascii_alphabetic() || bytes[end] == b'_') {
        return Err(syntax(end, "unexpected character after a number"));
    }
    let text = &input[start..end];
    let lit = match (is_float, text.parse::<i128>()) {
        (false, Ok(i)) => Literal::Int(i),
        _ => match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Literal::Float(f),
            _ => return Err(syntax(start, "number out of range")),
        },
    };
    Ok((lit, end))
}

fn operator(bytes: &[u8], i: usize) -> Option<(CmpOp, usize)> {
    let next = bytes.get(i + 1).copied();
    match (bytes[i], next) {
        (b'<', Some(b'>')) => Some((CmpOp::Ne, 2)),
        (b'!', Some(b'=')) => Some((CmpOp::Ne, 2)),
        (b'<', Some(b'=')) => Some((CmpOp::Le, 2)),
        (b'>', Some(b'=')) => Some((CmpOp::Ge, 2)),
        (b'<', _) => Some((CmpOp::Lt, 1)),
        (b'>', _) => Some((CmpOp::Gt, 1)),
        (b'=', _) => Some((CmpOp::Eq, 1)),
        _ => None,
    }
}

fn tokenize(input: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let bytes = input.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let tok = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'"' | b'\'' => {
                let (s, end) = quoted(input, i, char::from(b))?;
                i = end;
                if b == b'"' {
                    if s.is_empty() {
                        return Err(syntax(start, "empty identifier"));
                    }
                    Tok::Ident(s)
                } else {
                    Tok::Str(s)
                }
            }
            b'0'..=b'9' | b'-' if !input[i..].starts_with("--") => {
                let (lit, end) = number(input, i)?;
                i = end;
                Tok::Num(lit)
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Tok::Word(input[start..i].to_ascii_uppercase())
            }
            _ => match operator(bytes, i) {
                Some((op, len)) => {
                    i += len;
                    Tok::Op(op)
                }
                None => return Err(unexpected_char(input, i)),
            },
        };
        toks.push((start, tok));
    }
    Ok(toks)
}

fn unexpected_char(input: &str, i: usize) -> FilterError {
    let rest = &input[i..];
    if rest.starts_with("--") || rest.starts_with("/*") {
        return syntax(i, "comments are not allowed");
    }
    if rest.starts_with(';') {
        return syntax(i, "';' is not allowed: only one condition clause");
    }
    let c = rest.chars().next().unwrap_or(' ');
    syntax(i, format!("unexpected character {c:?}"))
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    depth: usize,
    comparisons: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w == word) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect_word(&mut self, word: &str) -> Result<(), FilterError> {
        if self.eat_word(word) {
            return Ok(());
        }
        Err(syntax(self.pos(), format!("expected {word}")))
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::TooDeep { pos: self.pos() });
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and_expr()?;
        while self.eat_word("OR") {
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not_expr()?;
        while self.eat_word("AND") {
            left = Expr::And(Box::new(left), Box::new(self.not_expr()?));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, FilterError> {
        if self.eat_word("NOT") {
            self.enter()?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let pos = self.pos();
        match self.toks.get(self.at).map(|(_, t)| t.clone()) {
            Some(Tok::LParen) => {
                self.at += 1;
                self.enter()?;
                let inner = self.or_expr()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(syntax(self.pos(), "expected ')'"));
                }
                self.at += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(Tok::Ident(column)) => {
                self.at += 1;
                self.comparisons += 1;
                if self.comparisons > MAX_COMPARISONS {
                    return Err(FilterError::TooManyComparisons { pos });
                }
                self.comparison(column)
            }
            Some(Tok::Word(w)) => Err(syntax(
                pos,
                format!(
                    "unexpected word {w}: column names must be double-quoted, functions are not supported"
                ),
            )),
            Some(_) => Err(syntax(pos, "expected a double-quoted column name")),
            None => Err(syntax(pos, "unexpected end of the clause")),
        }
    }

    fn comparison(&mut self, column: String) -> Result<Expr, FilterError> {
        let pos = self.pos();
        match self.toks.get(self.at).map(|(_, t)| t.clone()) {
            Some(Tok::Op(op)) => {
                self.at += 1;
                let value = self.literal()?;
                Ok(Expr::Cmp { column, op, value })
            }
            Some(Tok::Word(w)) if w == "IS" => {
                self.at += 1;
                let negated = self.eat_word("NOT");
                self.expect_word("NULL")?;
                Ok(Expr::IsNull { column, negated })
            }
            Some(Tok::LParen) => Err(syntax(pos, "functions are not supported")),
            _ => Err(syntax(pos, "expected a comparison operator or IS [NOT] NULL")),
        }
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let pos = self.pos();
        let lit = match self.toks.get(self.at).map(|(_, t)| t.clone()) {
            Some(Tok::Num(n)) => n,
            Some(Tok::Str(s)) => Literal::Str(s),
            Some(Tok::Word(w)) if w == "TRUE" => Literal::Bool(true),
            Some(Tok::Word(w)) if w == "FALSE" => Literal::Bool(false),
            Some(Tok::Word(w)) if w == "NULL" => Literal::Null,
            Some(Tok::Ident(_)) => return Err(syntax(pos, "comparing two columns is not supported")),
            _ => return Err(syntax(pos, "expected a number, a quoted string, TRUE, FALSE or NULL")),
        };
        self.at += 1;
        Ok(lit)
    }
}

/// Parses a `where` clause.
pub fn parse_where(input: &str) -> Result<Expr, FilterError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(FilterError::TooLong);
    }
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err(FilterError::Empty);
    }
    let mut p = Parser { toks, at: 0, end: input.len(), depth: 0, comparisons: 0 };
    let expr = p.or_expr()?;
    if p.at < p.toks.len() {
        return Err(syntax(p.pos(), "unexpected text after the condition"));
    }
    Ok(expr)
}

/// Parses an `orderby` clause: a double-quoted column, optionally followed by `ASC` or `DESC`.
pub fn parse_orderby(input: &str) -> Result<OrderBy, FilterError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(FilterError::TooLong);
    }
    let toks = tokenize(input)?;
    let mut it = toks.into_iter();
    let column = match it.next() {
        None => return Err(FilterError::Empty),
        Some((_, Tok::Ident(c))) => c,
        Some((pos, _)) => return Err(syntax(pos, "expected a double-quoted column name")),
    };
    let descending = match it.next() {
        None => false,
        Some((_, Tok::Word(w))) if w == "ASC" => false,
        Some((_, Tok::Word(w))) if w == "DESC" => true,
        Some((pos, _)) => return Err(syntax(pos, "expected ASC, DESC or the end of the clause")),
    };
    if let Some((pos, _)) = it.next() {
        return Err(syntax(pos, "unexpected text after the sort direction"));
    }
    Ok(OrderBy { column, descending })
}

impl Expr {
    /// The column names the clause refers to, in order of appearance, without repeats.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Cmp { column, .. } | Expr::IsNull { column, .. } => {
                if !out.contains(&column.as_str()) {
                    out.push(column);
                }
            }
            Expr::Not(e) => e.collect_columns(out),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_columns(out);
                b.collect_columns(out);
            }
        }
    }

    /// Whether the row satisfies the clause (SQL: the clause is true, not false or unknown).
    pub fn matches(&self, row: &Map<String, Value>) -> bool {
        self.eval(row) == Some(true)
    }

    /// Three-valued evaluation: `None` is SQL's unknown.
    pub fn eval(&self, row: &Map<String, Value>) -> Option<bool> {
        match self {
            Expr::Cmp { column, op, value } => compare_literal(row.get(column)?, *op, value),
            Expr::IsNull { column, negated } => {
                let is_null = row.get(column).is_none_or(Value::is_null);
                Some(is_null != *negated)
            }
            Expr::Not(e) => e.eval(row).map(|b| !b),
            Expr::And(a, b) => match (a.eval(row), b.eval(row)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (a.eval(row), b.eval(row)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        }
    }
}

fn compare_literal(cell: &Value, op: CmpOp, lit: &Literal) -> Option<bool> {
    let ord = match (cell, lit) {
        (Value::Number(n), Literal::Int(i)) => compare_numbers(n, &Num::Int(*i)),
        (Value::Number(n), Literal::Float(f)) => compare_numbers(n, &Num::Float(*f)),
        (Value::String(s), Literal::Str(l)) => Some(s.as_bytes().cmp(l.as_bytes())),
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        _ => None,
    }?;
    Some(match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
    })
}

enum Num {
    Int(i128),
    Float(f64),
}

fn as_num(n: &serde_json::Number) -> Option<Num> {
    if let Some(i) = n.as_i64() {
        return Some(Num::Int(i128::from(i)));
    }
    if let Some(u) = n.as_u64() {
        return Some(Num::Int(i128::from(u)));
    }
    n.as_f64().map(Num::Float)
}

fn compare_numbers(a: &serde_json::Number, b: &Num) -> Option<Ordering> {
    match (as_num(a)?, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(y)),
        (Num::Int(x), Num::Float(y)) => int_vs_float(x, *y),
        (Num::Float(x), Num::Int(y)) => int_vs_float(*y, x).map(Ordering::reverse),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(y),
    }
}

/// Exact comparison of an integer with a float (no rounding of the integer to `f64`), so that
/// [`compare_cells`] stays transitive and sorting never sees an inconsistent order.
fn int_vs_float(x: i128, y: f64) -> Option<Ordering> {
    const LIMIT: f64 = 1.7e38; // below i128::MAX (about 1.7014e38)
    if y.is_nan() {
        return None;
    }
    if y >= LIMIT {
        return Some(Ordering::Less);
    }
    if y <= -LIMIT {
        return Some(Ordering::Greater);
    }
    let floor = y.floor();
    // `floor` is integral and within i128's range, so the conversion is exact.
    let whole = floor as i128;
    Some(x.cmp(&whole).then(if y > floor { Ordering::Less } else { Ordering::Equal }))
}

fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}

/// A total order on cells for sorting: `false < true`, then numbers (numerically), then strings
/// (by bytes), then lists (element-wise), then objects (entry-wise by key order), then NULL
/// last. Columns hold one kind of value, so the order between kinds only matters for robustness.
pub fn compare_cells(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => match as_num(y) {
            Some(ny) => compare_numbers(x, &ny).unwrap_or(Ordering::Equal),
            None => Ordering::Equal,
        },
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Array(x), Value::Array(y)) => {
            for (u, v) in x.iter().zip(y) {
                let o = compare_cells(u, v);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            for ((ku, u), (kv, v)) in x.iter().zip(y) {
                let o = ku.cmp(kv).then_with(|| compare_cells(u, v));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => kind_rank(a).cmp(&kind_rank(b)),
    }
}

impl OrderBy {
    /// Compares two rows on the sort column: NULL (or a missing cell) sorts last whether the
    /// order is ascending or descending, as DuckDB's default `NULLS LAST` does; only the order
    /// among non-null cells is reversed by `DESC`. Use with a stable sort over rows in `row_idx`
    /// order so ties keep their index order.
    pub fn compare(&self, a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
        let null = Value::Null;
        let x = a.get(&self.column).unwrap_or(&null);
        let y = b.get(&self.column).unwrap_or(&null);
        match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if self.descending => compare_cells(y, x),
            (false, false) => compare_cells(x, y),
        }
    }
}

/// Fuzzing entry point: parses arbitrary bytes as a `where` and an `orderby` clause and runs them
/// against a fixed row. Must never panic.
pub fn fuzz_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let row = fuzz_row();
    if let Ok(expr) = parse_where(text) {
        let _ = expr.columns();
        let _ = expr.matches(&row);
    }
    if let Ok(order) = parse_orderby(text) {
        let _ = order.compare(&row, &Map::new());
    }
}

fn fuzz_row() -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("a".into(), Value::from(1));
    row.insert("b".into(), Value::from(2.5));
    row.insert("s".into(), Value::from("x'y"));
    row.insert("t".into(), Value::from(true));
    row.insert("n".into(), Value::Null);
    row.insert("l".into(), serde_json::json!([1, "two", {"k": null}]));
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn m(clause: &str, r: &Map<String, Value>) -> bool {
        parse_where(clause).unwrap_or_else(|e| panic!("{clause}: {e}")).matches(r)
    }

    #[test]
    fn parses_each_operator_and_literal() {
        let r = row(json!({"i": 3, "f": 2.5, "s": "it's", "b": true, "n": null}));
        assert!(m(r#""i" = 3"#, &r));
        assert!(m(r#""i" <> 4"#, &r) && m(r#""i" != 4"#, &r));
        assert!(!m(r#""i" != 3"#, &r));
        assert!(m(r#""i" > 2"#, &r) && !m(r#""i" > 3"#, &r));
        assert!(m(r#""i" >= 3"#, &r) && !m(r#""i" >= 3.5"#, &r));
        assert!(m(r#""i" < 3.01"#, &r) && !m(r#""i" < 3"#, &r));
        assert!(m(r#""i" <= 3"#, &r) && m(r#""f"<=2.5"#, &r));
        assert!(m(r#""f" = 2.5"#, &r) && m(r#""f" > -1e3"#, &r));
        assert!(m(r#""s" = 'it''s'"#, &r));
        assert!(m(r#""b" = TRUE"#, &r) && m(r#""b" > false"#, &r));
        assert!(m(r#""n" IS NULL"#, &r) && m(r#""n" is null"#, &r));
        assert!(m(r#""i" IS NOT NULL"#, &r) && !m(r#""i" IS NULL"#, &r));
        assert!(m(r#""missing" IS NULL"#, &r));
    }

    #[test]
    fn quoted_identifiers_escape_quotes() {
        let r = row(json!({"we\"ird col": 1}));
        assert!(m(r#""we""ird col" = 1"#, &r));
        let e = parse_where(r#""we""ird col" = 1 AND "x" = 2"#).unwrap();
        assert_eq!(e.columns(), vec!["we\"ird col", "x"]);
    }

    #[test]
    fn precedence_and_parentheses() {
        let r = row(json!({"a": 1, "b": 2}));
        // AND binds tighter than OR: true OR (false AND false)
        assert!(m(r#""a" = 1 OR "b" = 0 AND "a" = 0"#, &r));
        assert!(!m(r#"("a" = 1 OR "b" = 0) AND "a" = 0"#, &r));
        assert!(m(r#"NOT "a" = 2 and not ("b" = 3)"#, &r));
        assert!(!m(r#"NOT NOT "a" = 2"#, &r));
        let e = parse_where(r#""a" = 1 OR "b" = 2 AND "a" = 1 OR "b" IS NULL"#).unwrap();
        assert_eq!(e.columns(), vec!["a", "b"]);
    }

    #[test]
    fn three_valued_logic() {
        let r = row(json!({"a": 1, "n": null}));
        // unknown stays unknown under NOT
        assert!(!m(r#""n" = 1"#, &r));
        assert!(!m(r#"NOT "n" = 1"#, &r));
        assert!(!m(r#""missing" > 0"#, &r) && !m(r#"NOT "missing" > 0"#, &r));
        assert!(!m(r#""a" = NULL"#, &r) && !m(r#"NOT "a" = NULL"#, &r));
        // unknown OR true = true; unknown AND false = false; NOT(unknown AND false) = true
        assert!(m(r#""n" = 1 OR "a" = 1"#, &r));
        assert!(!m(r#""n" = 1 AND "a" = 1"#, &r));
        assert!(m(r#"NOT ("n" = 1 AND "a" = 2)"#, &r));
        // NOT(unknown OR false) stays unknown
        assert!(!m(r#"NOT ("n" = 1 OR "a" = 2)"#, &r));
        let e = parse_where(r#""n" = 1 AND "a" = 1"#).unwrap();
        assert_eq!(e.eval(&r), None);
    }

    #[test]
    fn mixed_kinds_never_match() {
        let r = row(json!({"s": "5", "i": 5, "l": [5], "b": true}));
        for c in [r#""s" = 5"#, r#""i" = '5'"#, r#""l" = 5"#, r#""b" = 1"#, r#""i" = TRUE"#] {
            assert!(!m(c, &r), "{c}");
            assert!(!m(&format!("NOT ({c})"), &r), "NOT {c}");
        }
    }

    #[test]
    fn numbers_compare_across_int_and_float_and_big_values() {
        let r = row(json!({"u": u64::MAX, "i": -7, "f": 1.0}));
        assert!(m(r#""u" = 18446744073709551615"#, &r));
        assert!(m(r#""u" > 18446744073709551614"#, &r));
        assert!(m(r#""i" < -6.5"#, &r) && m(r#""i" = -7.0"#, &r));
        assert!(m(r#""f" = 1"#, &r));
    }

    #[test]
    fn strings_compare_by_bytes() {
        let r = row(json!({"s": "apple", "u": "é"}));
        assert!(m(r#""s" < 'b'"#, &r) && m(r#""s" > 'B'"#, &r) && m(r#""s" > 'appl'"#, &r));
        assert!(m(r#""u" > 'z'"#, &r));
    }

    fn err_pos(clause: &str) -> (usize, String) {
        match parse_where(clause) {
            Err(FilterError::Syntax { pos, what }) => (pos, what),
            other => panic!("{clause}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn rejects_everything_else_with_a_position() {
        assert_eq!(err_pos(r#""a" = 1; DROP TABLE x"#).0, 7);
        assert!(err_pos(r#""a" = 1 -- hi"#).1.contains("comment"));
        assert!(err_pos(r#""a" = 1 /* x */"#).1.contains("comment"));
        assert_eq!(err_pos(r#"lower("a") = 'x'"#).0, 0);
        assert_eq!(err_pos(r#""a" LIKE 'x%'"#).0, 4);
        assert_eq!(err_pos(r#""a" = "b""#).0, 6);
        assert_eq!(err_pos(r#""a" = 1 AND"#).0, 11);
        assert_eq!(err_pos(r#""a" = 1 "b" = 2"#).0, 8);
        assert_eq!(err_pos(r#"("a" = 1"#).0, 8);
        assert_eq!(err_pos(r#""a" = 'open"#).0, 6);
        assert_eq!(err_pos(r#""a = 1"#).0, 0);
        assert_eq!(err_pos(r#""a" IS 1"#).0, 7);
        assert_eq!(err_pos(r#""a" = 1x"#).0, 7);
        assert_eq!(err_pos(r#""a"."b" = 1"#).0, 3);
        assert_eq!(err_pos(r#""" = 1"#).0, 0);
        assert_eq!(err_pos("\"a\" = 1 ∧ 2").0, 8);
        assert!(matches!(parse_where("   "), Err(FilterError::Empty)));
    }

    #[test]
    fn budgets() {
        let long = format!(r#""a" = '{}'"#, "x".repeat(MAX_INPUT_BYTES));
        assert_eq!(parse_where(&long), Err(FilterError::TooLong));
        let deep = format!(r#"{}"a" = 1{}"#, "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse_where(&deep).is_ok());
        let deeper = format!(r#"{}"a" = 1{}"#, "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(matches!(parse_where(&deeper), Err(FilterError::TooDeep { .. })));
        let nots = format!(r#"{}"a" = 1"#, "NOT ".repeat(MAX_DEPTH + 1));
        assert!(matches!(parse_where(&nots), Err(FilterError::TooDeep { .. })));
        let many = |n: usize| vec![r#""a" = 1"#; n].join(" OR ");
        assert!(parse_where(&many(MAX_COMPARISONS)).is_ok());
        assert!(matches!(
            parse_where(&many(MAX_COMPARISONS + 1)),
            Err(FilterError::TooManyComparisons { .. })
        ));
    }

    #[test]
    fn orderby_clauses() {
        let o = |s: &str| parse_orderby(s).unwrap();
        assert_eq!(o(r#""a""#), OrderBy { column: "a".into(), descending: false });
        assert_eq!(o(r#""a""b" desc"#), OrderBy { column: "a\"b".into(), descending: true });
        assert!(!o(r#" "a"  ASC "#).descending);
        for bad in ["a", r#""a" DOWN"#, r#""a" ASC, "b""#, r#""a"; "#, ""] {
            assert!(parse_orderby(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorting_puts_nulls_last_in_both_directions() {
        let rows: Vec<Map<String, Value>> =
            [json!({"x": 2}), json!({"x": null}), json!({"x": -1.5}), json!({}), json!({"x": 10})]
                .into_iter()
                .map(row)
                .collect();
        let sorted = |desc: bool| {
            let order = OrderBy { column: "x".into(), descending: desc };
            let mut r = rows.clone();
            r.sort_by(|a, b| order.compare(a, b));
            r.iter().map(|r| r.get("x").cloned().unwrap_or(Value::Null)).collect::<Vec<_>>()
        };
        assert_eq!(sorted(false), vec![json!(-1.5), json!(2), json!(10), json!(null), json!(null)]);
        assert_eq!(sorted(true), vec![json!(10), json!(2), json!(-1.5), json!(null), json!(null)]);
    }

    #[test]
    fn compare_cells_is_a_total_order() {
        let cells = [
            json!(null),
            json!(true),
            json!(false),
            json!(1),
            json!(1.5),
            json!("a"),
            json!("B"),
            json!([1, 2]),
            json!([1]),
            json!({"a": 1}),
            json!({"a": 0, "b": 1}),
            json!(u64::MAX),
            json!(9_007_199_254_740_993_i64),
            json!(9_007_199_254_740_992.0),
            json!(9_007_199_254_740_992_i64),
            json!(-2.5),
            json!(-2),
            json!(-3),
        ];
        for a in &cells {
            assert_eq!(compare_cells(a, a), Ordering::Equal);
            for b in &cells {
                assert_eq!(compare_cells(a, b), compare_cells(b, a).reverse(), "{a} {b}");
                for c in &cells {
                    if compare_cells(a, b) == Ordering::Less && compare_cells(b, c) == Ordering::Less {
                        assert_eq!(compare_cells(a, c), Ordering::Less, "{a} {b} {c}");
                    }
                }
            }
        }
        assert_eq!(compare_cells(&json!(null), &json!("z")), Ordering::Greater);
    }

    #[test]
    fn agrees_with_duckdb() {
        // Generated by scripts/viewer_filter_oracle.py (DuckDB 2.0.1).
        let data: Value =
            serde_json::from_str(include_str!("../../tests/data/viewer/filter_cases.json")).unwrap();
        let rows: Vec<Map<String, Value>> =
            data["rows"].as_array().unwrap().iter().cloned().map(row).collect();
        let cases = data["where"].as_array().unwrap();
        assert!(cases.len() >= 300);
        for case in cases {
            let clause = case["where"].as_str().unwrap();
            let expr = parse_where(clause).unwrap_or_else(|e| panic!("{clause}: {e}"));
            let got: Vec<Value> =
                (0..rows.len()).filter(|&i| expr.matches(&rows[i])).map(Value::from).collect();
            assert_eq!(&Value::Array(got), &case["rows"], "{clause}");
        }
        for case in data["orderby"].as_array().unwrap() {
            let clause = case["orderby"].as_str().unwrap();
            let order = parse_orderby(clause).unwrap();
            let mut idx: Vec<usize> = (0..rows.len()).collect();
            idx.sort_by(|&a, &b| order.compare(&rows[a], &rows[b]));
            let got: Vec<Value> = idx.into_iter().map(Value::from).collect();
            assert_eq!(&Value::Array(got), &case["rows"], "{clause}");
        }
    }

    #[test]
    fn fuzz_entry_survives_odd_input() {
        for s in
            ["", "(((", "\"", "'", "-", "--", "1e", "\"a\" = -", "\"l\" IS NOT NULL OR NOT \"s\" = 'x''y'"]
        {
            fuzz_filter(s.as_bytes());
        }
        fuzz_filter(&[0xff, 0xfe]);
        let mut x: u32 = 7;
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..24)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    b"\"a' ()=<>!NOTANDORIS1.-e;x"[(x >> 16) as usize % 26]
                })
                .collect();
            fuzz_filter(&bytes);
        }
    }
}
