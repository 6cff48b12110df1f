//! One line of the NDJSON commit body, parsed: bytes in, a header or an operation out. Pure, so
//! the commit handler streams lines through it and the fuzz targets (`fuzz/`) call it directly.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use kura_core::{FileContent, Operation};
use kura_model::{RepoPath, Sha256};
use serde_json::Value;

/// Regular (inline) content accepted in one commit.
pub const MAX_INLINE_TOTAL: usize = 512 << 20;

/// What one line of a commit body says.
#[derive(Debug, Clone)]
pub enum CommitLine {
    /// A blank line, skipped (it still counts in line numbers).
    Blank,
    /// The `header` line: summary, description and the optional `parentCommit`.
    Header { summary: String, description: String, parent: Option<String> },
    /// A file, LFS file, deletion or copy.
    Operation(Operation),
}

/// Why a line was refused; both become 4xx answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitLineError {
    /// Malformed line (400).
    Invalid(String),
    /// A file path the repo cannot hold (422, as on the Hub).
    InvalidPath(String),
    /// The commit carries more inline content than `MAX_INLINE_TOTAL` (413).
    TooLarge(String),
}

impl fmt::Display for CommitLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(message) | Self::InvalidPath(message) | Self::TooLarge(message) => {
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for CommitLineError {}

type LineResult<T> = Result<T, CommitLineError>;

fn invalid(message: impl Into<String>) -> CommitLineError {
    CommitLineError::Invalid(message.into())
}

fn parse_path(path: &str) -> LineResult<RepoPath> {
    RepoPath::parse(path).map_err(|e| CommitLineError::InvalidPath(e.to_string()))
}

fn field<'a>(value: &'a Value, key: &str, line: usize) -> LineResult<&'a str> {
    value[key].as_str().ok_or_else(|| invalid(format!("Line {line}: missing string field '{key}'")))
}

/// Parses line number `line` (1-based) of a commit body, without its `\n`. `inline_total`
/// carries the inline bytes of the lines before it, so one commit stays under
/// `MAX_INLINE_TOTAL`.
pub fn parse_commit_line(bytes: &[u8], line: usize, inline_total: &mut usize) -> LineResult<CommitLine> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(CommitLine::Blank);
    }
    let entry: Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("Line {line}: invalid JSON: {e}")))?;
    if entry["key"] == "header" {
        let value = &entry["value"];
        return Ok(CommitLine::Header {
            summary: value["summary"].as_str().unwrap_or("").to_owned(),
            description: value["description"].as_str().unwrap_or("").to_owned(),
            parent: value["parentCommit"].as_str().map(str::to_owned),
        });
    }
    operation(&entry, line, inline_total).map(CommitLine::Operation)
}

/// Turns one NDJSON object into an operation.
fn operation(entry: &Value, line: usize, inline_total: &mut usize) -> LineResult<Operation> {
    let value = &entry["value"];
    match entry["key"].as_str() {
        Some("file") => {
            let path = parse_path(field(value, "path", line)?)?;
            let content = field(value, "content", line)?;
            let bytes = match value["encoding"].as_str().unwrap_or("base64") {
                "base64" => STANDARD
                    .decode(content)
                    .map_err(|_| invalid(format!("Line {line}: invalid base64 content for '{path}'")))?,
                "utf-8" | "utf8" => content.as_bytes().to_vec(),
                other => return Err(invalid(format!("Line {line}: unknown encoding '{other}'"))),
            };
            *inline_total += bytes.len();
            if *inline_total > MAX_INLINE_TOTAL {
                return Err(CommitLineError::TooLarge(
                    "Too much inline content in one commit; upload large files through LFS".to_owned(),
                ));
            }
            Ok(Operation::Put { path, content: FileContent::Regular(Bytes::from(bytes)) })
        }
        Some("lfsFile") => {
            let path = parse_path(field(value, "path", line)?)?;
            if value["algo"].as_str().is_some_and(|a| a != "sha256") {
                return Err(invalid(format!("Line {line}: only sha256 LFS objects are supported")));
            }
            let oid = Sha256::from_hex(field(value, "oid", line)?)
                .map_err(|e| invalid(format!("Line {line}: {e}")))?;
            let size = match &value["size"] {
                Value::Null => None,
                other => Some(other.as_u64().ok_or_else(|| invalid(format!("Line {line}: invalid size")))?),
            };
            Ok(Operation::Put { path, content: FileContent::Lfs { oid, size } })
        }
        Some("deletedFile") => Ok(Operation::Delete { path: parse_path(field(value, "path", line)?)? }),
        Some("deletedFolder") => {
            let path = RepoPath::parse_folder(field(value, "path", line)?)
                .map_err(|e| CommitLineError::InvalidPath(e.to_string()))?;
            Ok(Operation::DeleteFolder { path })
        }
        Some("copyFile") => Ok(Operation::Copy {
            from: parse_path(field(value, "srcPath", line)?)?,
            to: parse_path(field(value, "destPath", line)?)?,
            revision: value["srcRevision"].as_str().map(str::to_owned),
        }),
        Some(other) => Err(invalid(format!("Line {line}: unknown key '{other}'"))),
        None => Err(invalid(format!("Line {line}: missing 'key'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> LineResult<CommitLine> {
        parse_commit_line(line.as_bytes(), 3, &mut 0)
    }

    #[test]
    fn parses_headers_operations_and_blank_lines() {
        assert!(matches!(parse("  \t"), Ok(CommitLine::Blank)));
        let header = parse(r#"{"key":"header","value":{"summary":"s","parentCommit":"abcdef"}}"#);
        assert!(matches!(
            header,
            Ok(CommitLine::Header { summary, description, parent: Some(parent) })
                if summary == "s" && description.is_empty() && parent == "abcdef"
        ));
        let file = parse(r#"{"key":"file","value":{"path":"a/b.txt","content":"aGk="}}"#);
        assert!(matches!(
            file,
            Ok(CommitLine::Operation(Operation::Put { content: FileContent::Regular(bytes), .. }))
                if bytes.as_ref() == b"hi"
        ));
        let folder = parse(r#"{"key":"deletedFolder","value":{"path":"dir/"}}"#);
        assert!(
            matches!(folder, Ok(CommitLine::Operation(Operation::DeleteFolder { path })) if path.as_str() == "dir")
        );
    }

    #[test]
    fn refuses_bad_lines_with_their_number() {
        let error = |line| parse(line).map(|_| ()).unwrap_err();
        assert!(matches!(error("{"), CommitLineError::Invalid(m) if m.starts_with("Line 3: invalid JSON")));
        assert_eq!(error("{}"), invalid("Line 3: missing 'key'"));
        assert_eq!(error(r#"{"key":"nope"}"#), invalid("Line 3: unknown key 'nope'"));
        assert_eq!(
            error(r#"{"key":"lfsFile","value":{"path":"x","oid":"00","algo":"md5"}}"#),
            invalid("Line 3: only sha256 LFS objects are supported")
        );
    }

    #[test]
    fn caps_inline_content_across_lines() {
        let mut total = MAX_INLINE_TOTAL - 1;
        let line = br#"{"key":"file","value":{"path":"x","content":"ab","encoding":"utf-8"}}"#;
        assert!(matches!(parse_commit_line(line, 1, &mut total), Err(CommitLineError::TooLarge(_))));
    }
}
