//! Comparing two trees: which files were added, modified or deleted, with their blob ids, sizes
//! and LFS pointers (what a commit page shows). The walk enters only folders whose ids differ,
//! so a one-file change in a huge repo reads a handful of trees, and it stops at a budget of
//! tree entries read and of changed files reported, saying so.

use std::collections::BTreeMap;

use kura_git::{EntryMode, Tree, TreeEntry};
use kura_model::ObjectId;

use crate::error::Result;
use crate::objects::BlobInfo;
use crate::services::Repos;

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Modified => "modified",
            ChangeKind::Deleted => "deleted",
        }
    }
}

/// One side of a changed file: its blob (the pointer, for LFS files), mode, size and pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSide {
    pub blob: ObjectId,
    pub mode: EntryMode,
    pub info: BlobInfo,
}

/// A changed file; `old` is set unless it was added, `new` unless it was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    pub kind: ChangeKind,
    pub old: Option<FileSide>,
    pub new: Option<FileSide>,
}

/// What a comparison may cost.
#[derive(Debug, Clone, Copy)]
pub struct CompareBudget {
    /// Tree entries read, on both sides together.
    pub max_entries: usize,
    /// Changed files reported.
    pub max_files: usize,
}

/// The changed files in path order, and whether the budget cut the walk short (then some
/// changes are missing).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comparison {
    pub files: Vec<ChangedFile>,
    pub truncated: bool,
}

/// What differs between one folder's entries on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A file (or submodule) added, modified or deleted: old and new entry.
    File(String, Option<TreeEntry>, Option<TreeEntry>),
    /// A folder to enter: old and new tree ids.
    Folder(String, Option<ObjectId>, Option<ObjectId>),
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

/// The differences of one folder level. An entry that turned from file to folder (or back) is
/// a deleted file plus an added folder.
fn level_steps(prefix: &str, old: &[TreeEntry], new: &[TreeEntry]) -> Vec<Step> {
    let mut names: BTreeMap<&str, (Option<&TreeEntry>, Option<&TreeEntry>)> = BTreeMap::new();
    for entry in old {
        names.entry(&entry.name).or_default().0 = Some(entry);
    }
    for entry in new {
        names.entry(&entry.name).or_default().1 = Some(entry);
    }
    let mut steps = Vec::new();
    for (name, (a, b)) in names {
        if let (Some(a), Some(b)) = (a, b)
            && a.oid == b.oid
            && a.mode == b.mode
        {
            continue;
        }
        let path = join(prefix, name);
        let tree = |e: Option<&TreeEntry>| e.filter(|e| e.mode.is_tree()).map(|e| e.oid);
        let file = |e: Option<&TreeEntry>| e.filter(|e| !e.mode.is_tree()).cloned();
        let (old_file, new_file) = (file(a), file(b));
        if old_file.is_some() || new_file.is_some() {
            steps.push(Step::File(path.clone(), old_file, new_file));
        }
        let (old_tree, new_tree) = (tree(a), tree(b));
        if old_tree.is_some() || new_tree.is_some() {
            steps.push(Step::Folder(path, old_tree, new_tree));
        }
    }
    steps
}

impl Repos<'_> {
    /// The files that differ from tree `from` (the empty tree when `None`, for a root commit)
    /// to tree `to`, within `budget`.
    pub async fn compare(
        &self,
        from: Option<ObjectId>,
        to: ObjectId,
        budget: CompareBudget,
    ) -> Result<Comparison> {
        let mut out = Comparison::default();
        let mut read = 0usize;
        let mut stack = vec![(String::new(), from, Some(to))];
        while let Some((prefix, old, new)) = stack.pop() {
            let (old, new) = (self.maybe_tree(old).await?, self.maybe_tree(new).await?);
            read += old.entries().len() + new.entries().len();
            if read > budget.max_entries {
                out.truncated = true;
                break;
            }
            let mut folders = Vec::new();
            for step in level_steps(&prefix, old.entries(), new.entries()) {
                match step {
                    Step::Folder(path, a, b) => folders.push((path, a, b)),
                    Step::File(path, a, b) => {
                        if out.files.len() >= budget.max_files {
                            out.truncated = true;
                            break;
                        }
                        out.files.push(self.changed_file(path, a, b).await?);
                    }
                }
            }
            if out.truncated {
                break;
            }
            stack.extend(folders.into_iter().rev());
        }
        out.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn maybe_tree(&self, oid: Option<ObjectId>) -> Result<std::sync::Arc<Tree>> {
        match oid {
            Some(oid) => self.objects.tree(&oid).await,
            None => Ok(std::sync::Arc::new(Tree::new(Vec::new()))),
        }
    }

    async fn changed_file(
        &self,
        path: String,
        old: Option<TreeEntry>,
        new: Option<TreeEntry>,
    ) -> Result<ChangedFile> {
        let kind = match (&old, &new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Deleted,
            _ => ChangeKind::Modified,
        };
        let old = match old {
            Some(entry) => Some(self.side(entry).await?),
            None => None,
        };
        let new = match new {
            Some(entry) => Some(self.side(entry).await?),
            None => None,
        };
        Ok(ChangedFile { path, kind, old, new })
    }

    async fn side(&self, entry: TreeEntry) -> Result<FileSide> {
        let info = if entry.mode.is_blob() {
            self.objects.blob_info(&entry.oid).await?
        } else {
            BlobInfo { size: 0, lfs: None }
        };
        Ok(FileSide { blob: entry.oid, mode: entry.mode, info })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, mode: EntryMode, byte: u8) -> TreeEntry {
        TreeEntry { mode, name: name.to_owned(), oid: ObjectId([byte; 20]) }
    }

    #[test]
    fn unchanged_entries_and_folders_are_skipped() {
        let old = [entry("a", EntryMode::File, 1), entry("d", EntryMode::Tree, 2)];
        let new = [entry("a", EntryMode::File, 1), entry("d", EntryMode::Tree, 2)];
        assert!(level_steps("", &old, &new).is_empty());
    }

    #[test]
    fn added_modified_deleted_and_changed_folders() {
        let old =
            [entry("a", EntryMode::File, 1), entry("b", EntryMode::File, 2), entry("d", EntryMode::Tree, 3)];
        let new =
            [entry("a", EntryMode::File, 9), entry("c", EntryMode::File, 4), entry("d", EntryMode::Tree, 5)];
        let steps = level_steps("x", &old, &new);
        assert_eq!(steps.len(), 4, "{steps:?}");
        assert_eq!(steps[0], Step::File("x/a".into(), Some(old[0].clone()), Some(new[0].clone())));
        assert_eq!(steps[1], Step::File("x/b".into(), Some(old[1].clone()), None));
        assert_eq!(steps[2], Step::File("x/c".into(), None, Some(new[1].clone())));
        assert_eq!(steps[3], Step::Folder("x/d".into(), Some(ObjectId([3; 20])), Some(ObjectId([5; 20]))));
    }

    #[test]
    fn a_file_that_became_a_folder_is_a_deletion_and_a_new_folder() {
        let old = [entry("a", EntryMode::File, 1)];
        let new = [entry("a", EntryMode::Tree, 2)];
        let steps = level_steps("", &old, &new);
        assert_eq!(
            steps,
            vec![
                Step::File("a".into(), Some(old[0].clone()), None),
                Step::Folder("a".into(), None, Some(ObjectId([2; 20])))
            ]
        );
    }
}
