//! Paths of files inside a repository, validated once at the edge.

use std::fmt;

/// Why a repo path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid path '{path}': {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: &'static str,
}

/// Why one path segment (a git tree entry name) is refused, if it is: the one rule for API
/// paths (`RepoPath::parse`) and pushed trees (`git_push_check`). Refused are empty names,
/// `.` and `..`, NUL, and every name a checkout could turn into the `.git` directory or a
/// parent directory: git's own `verify_path`/fsck rules (`core.protectNTFS` and `core.protectHFS`,
/// on by default where they matter):
/// - `.git` in any case;
/// - NTFS aliases: `.git` or its 8.3 short name `git~1`, in any case, followed only by dots
///   and spaces (which NTFS drops) and optionally by an alternate data stream (`:...`);
/// - HFS+ aliases: `.git` with code points HFS+ ignores (zero-width joiners, direction
///   marks, U+FEFF) anywhere in it.
///
/// A backslash is an ordinary character, as on the Hub. Windows treats it as a separator,
/// though, so every backslash-separated piece of a name must pass the same rules: `.git\x`,
/// `..\x` and `a\.GIT` are refused, `a\b` is not. Other NTFS 8.3 spellings (`GIT~2` and up)
/// are not refused, as git's `verify_path` does not refuse them either.
pub fn check_segment(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty path segment");
    }
    if name.contains('\0') {
        return Err("NUL is not allowed");
    }
    for piece in name.split('\\') {
        if matches!(piece, "." | "..") {
            return Err("'.' and '..' segments are not allowed");
        }
        if is_git_dir_alias(piece) {
            return Err("'.git' segments (in any case or spelling) are not allowed");
        }
    }
    Ok(())
}

/// Whether a checkout could write `name` into the `.git` directory (see `check_segment`).
fn is_git_dir_alias(name: &str) -> bool {
    let ntfs = |stem: &str| {
        name.get(..stem.len()).is_some_and(|head| head.eq_ignore_ascii_case(stem))
            && name[stem.len()..]
                .split(':')
                .next()
                .is_some_and(|tail| tail.chars().all(|c| c == '.' || c == ' '))
    };
    let hfs_ignorable = |c: &char| matches!(*c, '\u{200C}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{206A}'..='\u{206F}' | '\u{FEFF}');
    let hfs: String = name.chars().filter(|c| !hfs_ignorable(c)).collect();
    ntfs(".git") || ntfs("git~1") || hfs.eq_ignore_ascii_case(".git")
}

/// Longest path (in bytes) a repo may hold, whether it comes through the API or a push.
pub const MAX_PATH_BYTES: usize = 1024;

/// A relative, normalised file path inside a repo: `/`-separated, every segment passing
/// `check_segment` (no empty, `.`, `..` or `.git` segment, also between backslashes; no NUL), at most 1024
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath(String);

impl RepoPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let bad = |reason| Err(PathError { path: text.to_owned(), reason });
        if text.is_empty() {
            return bad("the path is empty");
        }
        if text.len() > MAX_PATH_BYTES {
            return bad("the path is longer than 1024 bytes");
        }
        if text.starts_with('/') {
            return bad("absolute paths are not allowed");
        }
        if let Some(Err(reason)) = text.split('/').map(check_segment).find(Result::is_err) {
            return bad(reason);
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
        for ok in [
            "a",
            "a/b.txt",
            "sub dir/file#1.txt",
            ".gitattributes",
            "a/.hidden",
            "a\\b",
            "dir\\sub\\f.txt",
            "\\",
        ] {
            assert!(RepoPath::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_traversal_and_oddities() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/",
            ".git/config",
            ".git\\config",
            "a\\..\\b",
            "a\\.GIT",
            "a/./b",
            "a\0b",
        ] {
            assert!(RepoPath::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(RepoPath::parse_folder("dir/").unwrap().as_str(), "dir");
    }

    #[test]
    fn git_dir_aliases_are_refused_in_every_spelling() {
        for alias in [
            ".git",
            ".GIT",
            ".Git",
            ".git.",
            ".git ..",
            ".GIT::$INDEX_ALLOCATION",
            "git~1",
            "GIT~1",
            "git~1. ",
            ".g\u{200C}it",
            "\u{FEFF}.GIT",
            ".gi\u{206F}t\u{200D}",
        ] {
            assert!(check_segment(alias).is_err(), "{alias:?}");
            assert!(RepoPath::parse(&format!("a/{alias}/x")).is_err(), "{alias:?}");
        }
        for fine in
            [".gitattributes", ".gitignore", ".gitmodules", ".git-x", "git", "git~2", ".git.x", "x.git"]
        {
            assert_eq!(check_segment(fine), Ok(()), "{fine:?}");
        }
    }
}
