//! Unified diffs of two texts as table rows (`similar`'s line diff, three lines of context),
//! with a time limit so a pathological pair of files cannot hold a page.

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Longest a line diff may search before it settles for a coarser answer.
const DIFF_TIMEOUT: Duration = Duration::from_millis(250);

/// What a row of a diff table is (its class: `add`, `del`, `ctx` or `hunk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowKind {
    Add,
    Del,
    Ctx,
    Hunk,
}

impl RowKind {
    pub(crate) fn class(self) -> &'static str {
        match self {
            RowKind::Add => "add",
            RowKind::Del => "del",
            RowKind::Ctx => "ctx",
            RowKind::Hunk => "hunk",
        }
    }

    pub(crate) fn sign(self) -> &'static str {
        match self {
            RowKind::Add => "+",
            RowKind::Del => "-",
            RowKind::Ctx => " ",
            RowKind::Hunk => "",
        }
    }
}

/// One row: line numbers on the old and new side (1-based) and the line's text (escaped by
/// the template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) kind: RowKind,
    pub(crate) old: Option<usize>,
    pub(crate) new: Option<usize>,
    pub(crate) text: String,
}

/// The rows of the unified diff from `old` to `new`; empty when they are equal.
pub(crate) fn unified(old: &str, new: &str) -> Vec<Row> {
    let diff = TextDiff::configure().timeout(DIFF_TIMEOUT).diff_lines(old, new);
    let mut rows = Vec::new();
    for group in diff.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let (old_start, new_start) = (first.old_range().start, first.new_range().start);
        let old_len = last.old_range().end - old_start;
        let new_len = last.new_range().end - new_start;
        rows.push(Row {
            kind: RowKind::Hunk,
            old: None,
            new: None,
            text: format!("@@ -{} +{} @@", span(old_start, old_len), span(new_start, new_len)),
        });
        for op in &group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    ChangeTag::Insert => RowKind::Add,
                    ChangeTag::Delete => RowKind::Del,
                    ChangeTag::Equal => RowKind::Ctx,
                };
                let text = change.value().trim_end_matches(['\n', '\r']).to_owned();
                rows.push(Row {
                    kind,
                    old: change.old_index().map(|i| i + 1),
                    new: change.new_index().map(|i| i + 1),
                    text,
                });
            }
        }
    }
    rows
}

/// `start,len` of a hunk header, as diff prints it (1-based; `0,0` for an empty side).
fn span(start: usize, len: usize) -> String {
    if len == 0 { format!("{start},0") } else { format!("{},{len}", start + 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_a_deletion_and_an_addition_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let rows = unified(old, new);
        assert_eq!(rows[0].kind, RowKind::Hunk);
        assert_eq!(rows[0].text, "@@ -2,7 +2,7 @@");
        let changed: Vec<_> = rows.iter().filter(|r| r.kind != RowKind::Ctx).skip(1).collect();
        assert_eq!(changed.len(), 2);
        assert_eq!((changed[0].kind, changed[0].text.as_str(), changed[0].old), (RowKind::Del, "e", Some(5)));
        assert_eq!((changed[1].kind, changed[1].text.as_str(), changed[1].new), (RowKind::Add, "E", Some(5)));
        assert_eq!(rows.iter().filter(|r| r.kind == RowKind::Ctx).count(), 6);
    }

    #[test]
    fn added_files_far_apart_changes_and_equal_texts() {
        let rows = unified("", "x\ny\n");
        assert_eq!(rows[0].text, "@@ -0,0 +1,2 @@");
        assert!(rows[1..].iter().all(|r| r.kind == RowKind::Add));
        assert!(unified("same\n", "same\n").is_empty());
        let old: String = (0..40).map(|i| format!("{i}\n")).collect();
        let new: String =
            (0..40).map(|i| if i % 30 == 5 { format!("x{i}\n") } else { format!("{i}\n") }).collect();
        let hunks = unified(&old, &new).iter().filter(|r| r.kind == RowKind::Hunk).count();
        assert_eq!(hunks, 2);
    }
}
