//! Source files as highlighted HTML lines. syntect parses the text; each token gets one short
//! class for what it is (`c` comment, `s` string, `k` keyword, ...: the stylesheet colours
//! `.hl .k` and friends per theme), so pages carry no inline style, the page CSP holds and a
//! line costs a few bytes more than its text. Lines are self-contained (every span closes on
//! its line), so they sit in table rows beside their numbers. A file's lines never change for
//! the same bytes, so they are cached, bounded by bytes, keyed by a keyed hash of the text.

use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock};

use kura_core::ByteCache;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

/// Largest text highlighted; past it a file is shown as plain text (highlighting with
/// fancy-regex grammars costs about a second per megabyte).
pub(crate) const MAX_HIGHLIGHT_BYTES: usize = 512 * 1024;
/// Most lines highlighted.
pub(crate) const MAX_HIGHLIGHT_LINES: usize = 10_000;
/// Longest line highlighted (grammars can be slow on one huge line: minified code, JSON).
const MAX_LINE_BYTES: usize = 5_000;
/// Time one file may take; past it the file is shown as plain text.
const MAX_HIGHLIGHT_TIME: std::time::Duration = std::time::Duration::from_secs(1);
/// Bytes of highlighted lines kept in memory.
const CACHE_BYTES: u64 = 32 << 20;

/// The grammars, loaded once (a few milliseconds) on first use.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// Highlighted lines by (keyed hash of the text, its length, the grammar's name). The hash
/// keys are random per process, so nobody can make two texts share an entry on purpose.
type LineCache = ByteCache<(u64, usize, String), Arc<Vec<String>>>;
static CACHE: LazyLock<(LineCache, std::hash::RandomState)> =
    LazyLock::new(|| (ByteCache::new(CACHE_BYTES, 16 << 10), std::hash::RandomState::new()));

/// Token classes by scope prefix, most specific first (the innermost scope that matches wins).
static CLASSES: LazyLock<Vec<(Scope, &'static str)>> = LazyLock::new(|| {
    [
        ("comment", "c"),
        ("string", "s"),
        ("constant.numeric", "n"),
        ("constant.character", "s"),
        ("constant", "n"),
        ("keyword.operator", "o"),
        ("keyword", "k"),
        ("storage", "k"),
        ("entity.name.function", "f"),
        ("support.function", "f"),
        ("entity.name.tag", "t"),
        ("entity.other.attribute-name", "a"),
        ("entity.name", "y"),
        ("support.type", "y"),
        ("support.class", "y"),
        ("variable.parameter", "p"),
        ("markup.heading", "h"),
        ("meta.preprocessor", "o"),
    ]
    .into_iter()
    .filter_map(|(prefix, class)| Scope::new(prefix).ok().map(|scope| (scope, class)))
    .collect()
});

/// The class of a token under `stack`: from its innermost scope that has one.
fn class_of(stack: &ScopeStack) -> Option<&'static str> {
    stack.as_slice().iter().rev().find_map(|scope| {
        CLASSES.iter().find(|(prefix, _)| prefix.is_prefix_of(*scope)).map(|(_, class)| *class)
    })
}

/// The grammar of a file: by extension or file name, then by its first line (`#!/bin/sh`).
fn syntax_for<'s>(set: &'s SyntaxSet, path: &str, text: &str) -> &'s SyntaxReference {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map_or(name, |(_, ext)| ext);
    set.find_syntax_by_extension(extension)
        .or_else(|| set.find_syntax_by_extension(name))
        .or_else(|| set.find_syntax_by_first_line(text.lines().next().unwrap_or("")))
        .unwrap_or_else(|| set.find_syntax_plain_text())
}

/// HTML-escapes text for element content and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// HTML-escapes text for element content and quoted attributes.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Appends `text` under `class`, merging with the span still open when the class is the same.
fn push_token(out: &mut String, open: &mut Option<&'static str>, class: Option<&'static str>, text: &str) {
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() {
        return;
    }
    if *open != class {
        if open.is_some() {
            out.push_str("</span>");
        }
        if let Some(class) = class {
            out.push_str("<span class=\"");
            out.push_str(class);
            out.push_str("\">");
        }
        *open = class;
    }
    escape_into(out, text);
}

/// One line as HTML, the scope stack carried over from the lines before it.
fn line_html(line: &str, state: &mut ParseState, stack: &mut ScopeStack, set: &SyntaxSet) -> Option<String> {
    let ops = state.parse_line(line, set).ok()?;
    let mut out = String::with_capacity(line.len() + 16);
    let mut open = None;
    let mut at = 0;
    for (index, op) in ops {
        if index > at {
            push_token(&mut out, &mut open, class_of(stack), line.get(at..index)?);
            at = index;
        }
        stack.apply(&op).ok()?;
    }
    push_token(&mut out, &mut open, class_of(stack), line.get(at..)?);
    if open.is_some() {
        out.push_str("</span>");
    }
    Some(out)
}

fn highlight_uncached(syntax: &SyntaxReference, text: &str) -> Option<Vec<String>> {
    let set = &*SYNTAXES;
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let started = std::time::Instant::now();
    let mut lines = Vec::new();
    for line in LinesWithEndings::from(text) {
        if started.elapsed() > MAX_HIGHLIGHT_TIME {
            return None;
        }
        lines.push(line_html(line, &mut state, &mut stack, set)?);
    }
    Some(lines)
}

/// Whether a text is within the caps highlighting takes on.
fn within_caps(text: &str) -> bool {
    text.len() <= MAX_HIGHLIGHT_BYTES
        && text.lines().count() <= MAX_HIGHLIGHT_LINES
        && text.lines().all(|line| line.len() <= MAX_LINE_BYTES)
}

fn cache_key(path: &str, text: &str) -> ((u64, usize, String), &'static SyntaxReference) {
    let syntax = syntax_for(&SYNTAXES, path, text);
    let (_, keys) = &*CACHE;
    ((keys.hash_one(text), text.len(), syntax.name.clone()), syntax)
}

/// The highlighted lines of a text highlighted before, from the cache (cheap: no parsing).
pub(crate) fn lookup(path: &str, text: &str) -> Option<Arc<Vec<String>>> {
    CACHE.0.get(&cache_key(path, text).0)
}

/// One highlighted HTML fragment per line of `text`, or `None` when the text is over the caps
/// or a grammar fails (the caller shows plain text then).
pub(crate) fn highlight(path: &str, text: &str) -> Option<Arc<Vec<String>>> {
    if !within_caps(text) {
        return None;
    }
    let (key, syntax) = cache_key(path, text);
    let cache = &CACHE.0;
    if let Some(lines) = cache.get(&key) {
        return Some(lines);
    }
    let lines = Arc::new(highlight_uncached(syntax, text)?);
    let bytes: usize = lines.iter().map(|l| l.len() + 24).sum();
    cache.put(key, lines.clone(), bytes as u64);
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_keywords_and_strings_get_classes() {
        let lines = highlight("src/main.rs", "fn main() {\n    let s = \"<b>\";\n}\n").unwrap();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("<span class=\"k\">fn</span> <span class=\"f\">main</span>"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("<span class=\"s\">&quot;&lt;b&gt;&quot;</span>"), "{}", lines[1]);
        assert!(!lines[1].contains("<b>"), "{}", lines[1]);
    }

    #[test]
    fn every_line_balances_its_spans() {
        let text = "/* a comment\n   over <two> lines */\nint x = 1;\n";
        let lines = highlight("a.c", text).unwrap();
        for line in lines.iter() {
            assert_eq!(line.matches("<span").count(), line.matches("</span>").count(), "{line}");
            assert!(!line.contains('\n'));
        }
        assert!(lines[1].starts_with("<span class=\"c\">"), "the comment goes on: {}", lines[1]);
        assert!(lines[2].contains("<span class=\"n\">1</span>"), "{}", lines[2]);
    }

    #[test]
    fn shebang_and_unknown_files_and_caps() {
        let lines = highlight("run", "#!/bin/sh\necho hi\n").unwrap();
        assert!(lines[0].contains("class=\"c\""), "{}", lines[0]);
        let plain = highlight("notes.unknownext", "just <text>").unwrap();
        assert_eq!(plain.as_slice(), ["just &lt;text&gt;"]);
        assert!(highlight("a.txt", &"x\n".repeat(MAX_HIGHLIGHT_LINES + 1)).is_none());
        assert!(highlight("a.txt", &"x".repeat(MAX_HIGHLIGHT_BYTES + 1)).is_none());
        assert!(highlight("a.json", &"[".repeat(MAX_LINE_BYTES + 1)).is_none(), "one huge line");
    }

    #[test]
    fn the_same_text_is_highlighted_once() {
        let text = "def cached():\n    return 42\n";
        let first = highlight("m.py", text).unwrap();
        let second = highlight("m.py", text).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "the second call is served from the cache");
        assert!(Arc::ptr_eq(&first, &lookup("m.py", text).unwrap()));
        assert!(lookup("m.py", "never highlighted").is_none());
        let other = highlight("m.rb", text).unwrap();
        assert!(!Arc::ptr_eq(&first, &other), "another grammar is another entry");
    }
}
