//! Tree objects: entries with modes, names and ids, in git's canonical order.

use kura_model::ObjectId;

use crate::GitError;
use crate::object::{ObjectKind, hash_object};

/// The entry modes kura writes and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryMode {
    File,
    Executable,
    Symlink,
    Tree,
    Submodule,
}

impl EntryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryMode::File => "100644",
            EntryMode::Executable => "100755",
            EntryMode::Symlink => "120000",
            EntryMode::Tree => "40000",
            EntryMode::Submodule => "160000",
        }
    }

    fn parse(text: &[u8]) -> Option<Self> {
        match text {
            b"100644" | b"100664" => Some(EntryMode::File),
            b"100755" => Some(EntryMode::Executable),
            b"120000" => Some(EntryMode::Symlink),
            b"40000" | b"040000" => Some(EntryMode::Tree),
            b"160000" => Some(EntryMode::Submodule),
            _ => None,
        }
    }

    pub fn is_tree(self) -> bool {
        self == EntryMode::Tree
    }

    /// Blob-backed entries (regular, executable, symlink).
    pub fn is_blob(self) -> bool {
        matches!(self, EntryMode::File | EntryMode::Executable | EntryMode::Symlink)
    }
}

/// One tree entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub mode: EntryMode,
    pub name: String,
    pub oid: ObjectId,
}

/// A decoded tree. Entries are kept in git order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    entries: Vec<TreeEntry>,
}

/// Git compares names as if directories had a trailing `/`.
fn sort_key(entry: &TreeEntry) -> Vec<u8> {
    let mut key = entry.name.as_bytes().to_vec();
    if entry.mode.is_tree() {
        key.push(b'/');
    }
    key
}

impl Tree {
    /// Builds a tree from entries in any order; names must be unique.
    pub fn new(mut entries: Vec<TreeEntry>) -> Self {
        entries.sort_by_key(sort_key);
        Self { entries }
    }

    pub fn entries(&self) -> &[TreeEntry] {
        &self.entries
    }

    pub fn get(&self, name: &str) -> Option<&TreeEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 40);
        for entry in &self.entries {
            out.extend_from_slice(entry.mode.as_str().as_bytes());
            out.push(b' ');
            out.extend_from_slice(entry.name.as_bytes());
            out.push(0);
            out.extend_from_slice(&entry.oid.0);
        }
        out
    }

    pub fn id(&self) -> ObjectId {
        hash_object(ObjectKind::Tree, &self.encode())
    }

    pub fn parse(mut data: &[u8]) -> Result<Self, GitError> {
        let mut entries = Vec::new();
        while !data.is_empty() {
            let space = data
                .iter()
                .position(|&b| b == b' ')
                .ok_or_else(|| GitError::malformed("tree", "entry without mode"))?;
            let mode = EntryMode::parse(&data[..space])
                .ok_or_else(|| GitError::malformed("tree", "unknown entry mode"))?;
            let rest = &data[space + 1..];
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| GitError::malformed("tree", "entry without name end"))?;
            let name = std::str::from_utf8(&rest[..nul])
                .map_err(|_| GitError::malformed("tree", "entry name is not UTF-8"))?;
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(GitError::malformed("tree", "invalid entry name"));
            }
            let id_bytes = rest
                .get(nul + 1..nul + 21)
                .ok_or_else(|| GitError::malformed("tree", "truncated entry id"))?;
            let mut oid = [0u8; 20];
            oid.copy_from_slice(id_bytes);
            entries.push(TreeEntry { mode, name: name.to_owned(), oid: ObjectId(oid) });
            data = &rest[nul + 21..];
        }
        Ok(Self { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_directories_like_git() {
        let oid = hash_object(ObjectKind::Blob, b"x");
        let tree = Tree::new(vec![
            TreeEntry { mode: EntryMode::File, name: "a.txt".into(), oid },
            TreeEntry { mode: EntryMode::Tree, name: "a".into(), oid },
            TreeEntry { mode: EntryMode::File, name: "a-b".into(), oid },
        ]);
        let names: Vec<_> = tree.entries().iter().map(|e| e.name.as_str()).collect();
        // "a-b" < "a.txt" < "a/" in byte order.
        assert_eq!(names, ["a-b", "a.txt", "a"]);
        assert_eq!(Tree::parse(&tree.encode()).unwrap(), tree);
    }

    #[test]
    fn known_tree_id() {
        // A tree holding one file "hello.txt" with content "hello\n", as `git write-tree` gives.
        let blob = hash_object(ObjectKind::Blob, b"hello\n");
        let tree = Tree::new(vec![TreeEntry { mode: EntryMode::File, name: "hello.txt".into(), oid: blob }]);
        assert_eq!(tree.id().to_hex(), "aaa96ced2d9a1c8e72c56b253a0e2fe78393feb7");
    }

    #[test]
    fn rejects_garbage() {
        assert!(Tree::parse(b"100644 a\0short").is_err());
        assert!(Tree::parse(b"999 a\0aaaaaaaaaaaaaaaaaaaa").is_err());
        assert!(Tree::parse(b"100644 ..\0aaaaaaaaaaaaaaaaaaaa").is_err());
    }
}
