//! Paths of files inside a repository, validated once at the edge.

use std::fmt;

/// Why a repo path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid path '{path}': {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: &'static str,
}

/// A relative, normalised file path inside a repo: `/`-separated, no empty, `.` or `..`
/// segments, no `.git` segment, no NUL, at most 1024 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath(String);

impl RepoPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let bad = |reason| Err(PathError { path: text.to_owned(), reason });
        if text.is_empty() {
            return bad("the path is empty");
        }
        if text.len() > 1024 {
            return bad("the path is longer than 1024 bytes");
        }
        if text.starts_with('/') {
            return bad("absolute paths are not allowed");
        }
        if text.contains('\0') || text.contains('\\') {
            return bad("NUL and backslash are not allowed");
        }
        for segment in text.split('/') {
            match segment {
                "" => return bad("empty path segment"),
                "." | ".." => return bad("'.' and '..' segments are not allowed"),
                ".git" => return bad("'.git' segments are not allowed"),
                _ => {}
            }
        }
        Ok(Self(text.to_owned()))
    }

    /// Parses a folder path as sent in `deletedFolder` or tree listings: a trailing `/` is
    /// dropped.
    pub fn parse_folder(text: &str) -> Result<Self, PathError> {
        Self::parse(text.strip_suffix('/').unwrap_or(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// Last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_paths() {
        for ok in ["a", "a/b.txt", "sub dir/file#1.txt", ".gitattributes", "a/.hidden"] {
            assert!(RepoPath::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_traversal_and_oddities() {
        for bad in ["", "/etc/passwd", "a/../b", "..", "a//b", "a/", ".git/config", "a\\b", "a/./b"] {
            assert!(RepoPath::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(RepoPath::parse_folder("dir/").unwrap().as_str(), "dir");
    }
}
