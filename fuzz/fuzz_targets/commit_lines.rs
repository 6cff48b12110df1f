//! The NDJSON commit-line parser of the commit API (`kura_http::fuzzing::parse_commit_line`),
//! fed the input split into lines as the handler splits a request body: never panics, counts
//! inline bytes exactly, and every path it accepts is one `RepoPath::parse` accepts unchanged.

#![no_main]

use kura_core::{FileContent, Operation};
use kura_http::fuzzing::{CommitLine, CommitLineError, MAX_INLINE_TOTAL, parse_commit_line};
use kura_model::RepoPath;
use libfuzzer_sys::fuzz_target;

fn check_path(path: &RepoPath) {
    assert_eq!(RepoPath::parse(path.as_str()).as_ref(), Ok(path), "accepted path does not re-parse");
}

/// Inline bytes the operation adds to the commit.
fn check_operation(operation: &Operation) -> usize {
    match operation {
        Operation::Put { path, content } => {
            check_path(path);
            match content {
                FileContent::Regular(bytes) => bytes.len(),
                FileContent::Lfs { .. } => 0,
            }
        }
        Operation::Delete { path } | Operation::DeleteFolder { path } => {
            check_path(path);
            0
        }
        Operation::Copy { from, to, .. } => {
            check_path(from);
            check_path(to);
            0
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inline_total = 0;
    for (index, line) in data.split(|&byte| byte == b'\n').enumerate() {
        let before = inline_total;
        match parse_commit_line(line, index + 1, &mut inline_total) {
            Ok(CommitLine::Operation(operation)) => {
                assert_eq!(inline_total - before, check_operation(&operation), "inline bytes miscounted");
            }
            Ok(CommitLine::Blank | CommitLine::Header { .. }) => assert_eq!(inline_total, before),
            Err(CommitLineError::Invalid(message) | CommitLineError::InvalidPath(message)) => {
                assert!(!message.is_empty())
            }
            Err(CommitLineError::TooLarge(_)) => assert!(inline_total > MAX_INLINE_TOTAL),
        }
    }
});
