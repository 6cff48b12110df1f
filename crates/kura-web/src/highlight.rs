//! Source files as highlighted HTML lines: syntect's scopes become CSS classes (the stylesheet
//! colours `.hl .keyword` and friends), so pages carry no inline style and the page CSP holds.
//! Each line is self-contained (spans open at its start are reopened, spans still open at its
//! end are closed), so lines can sit in table rows next to their numbers.

use std::sync::LazyLock;

use syntect::html::{ClassStyle, line_tokens_to_classed_spans};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

/// Largest text highlighted; past it a file is shown as plain text (highlighting with
/// fancy-regex grammars costs about a second per megabyte).
pub(crate) const MAX_HIGHLIGHT_BYTES: usize = 512 * 1024;
/// Most lines highlighted.
pub(crate) const MAX_HIGHLIGHT_LINES: usize = 10_000;

/// The grammars, loaded once (a few milliseconds) on first use.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// The grammar of a file: by extension or file name, then by its first line (`#!/bin/sh`).
fn syntax_for<'s>(set: &'s SyntaxSet, path: &str, text: &str) -> &'s SyntaxReference {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map_or(name, |(_, ext)| ext);
    set.find_syntax_by_extension(extension)
        .or_else(|| set.find_syntax_by_extension(name))
        .or_else(|| set.find_syntax_by_first_line(text.lines().next().unwrap_or("")))
        .unwrap_or_else(|| set.find_syntax_plain_text())
}

/// The opening tags of the spans for the scopes open before a line.
fn reopen(stack: &ScopeStack) -> String {
    let mut out = String::new();
    for scope in stack.as_slice() {
        let classes = scope.build_string().replace('.', " ");
        out.push_str("<span class=\"");
        out.push_str(&crate::highlight::escape(&classes));
        out.push_str("\">");
    }
    out
}

/// HTML-escapes text for element content and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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
    out
}

/// One highlighted HTML fragment per line of `text`, or `None` when the text is over the caps
/// or a grammar fails (the caller shows plain text then).
pub(crate) fn highlight(path: &str, text: &str) -> Option<Vec<String>> {
    if text.len() > MAX_HIGHLIGHT_BYTES || text.lines().count() > MAX_HIGHLIGHT_LINES {
        return None;
    }
    let set = &*SYNTAXES;
    let mut state = ParseState::new(syntax_for(set, path, text));
    let mut stack = ScopeStack::new();
    let mut lines = Vec::new();
    for line in LinesWithEndings::from(text) {
        let prefix = reopen(&stack);
        let ops = state.parse_line(line, set).ok()?;
        let (html, _) = line_tokens_to_classed_spans(line, &ops, ClassStyle::Spaced, &mut stack).ok()?;
        let mut out = prefix;
        out.push_str(&html.replace(['\n', '\r'], ""));
        out.push_str(&"</span>".repeat(stack.len()));
        lines.push(out);
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_keywords_and_strings_get_classes() {
        let lines = highlight("src/main.rs", "fn main() {\n    let s = \"<b>\";\n}\n").unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("<span class=\"storage type function rust\">fn</span>"), "{}", lines[0]);
        assert!(lines[1].contains("string quoted double rust"), "{}", lines[1]);
        assert!(lines[1].contains("&lt;b&gt;") && !lines[1].contains("<b>"), "{}", lines[1]);
    }

    #[test]
    fn every_line_balances_its_spans() {
        let text = "/* a comment\n   over <two> lines */\nint x = 1;\n";
        for line in highlight("a.c", text).unwrap() {
            assert_eq!(line.matches("<span").count(), line.matches("</span>").count(), "{line}");
            assert!(!line.contains('\n'));
        }
        let lines = highlight("a.c", text).unwrap();
        assert!(lines[1].contains("comment"), "{}", lines[1]);
    }

    #[test]
    fn shebang_and_unknown_files_and_caps() {
        let lines = highlight("run", "#!/bin/sh\necho hi\n").unwrap();
        assert!(lines[0].contains("source shell"), "{}", lines[0]);
        let plain = highlight("notes.unknownext", "just <text>").unwrap();
        assert_eq!(plain.len(), 1);
        assert!(plain[0].contains("just &lt;text&gt;"), "{}", plain[0]);
        assert!(highlight("a.txt", &"x\n".repeat(MAX_HIGHLIGHT_LINES + 1)).is_none());
        assert!(highlight("a.txt", &"x".repeat(MAX_HIGHLIGHT_BYTES + 1)).is_none());
    }
}
