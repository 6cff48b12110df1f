//! Reading trees at a commit: path lookup, directory listings, flattening.

use std::collections::{BTreeMap, HashMap};

use kura_git::EntryMode;
use kura_model::{ObjectId, RepoPath};

use crate::Hub;
use crate::error::{CoreError, Result};
use crate::objects::BlobInfo;

/// A file or directory at some commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File { path: String, oid: ObjectId, mode: EntryMode, info: BlobInfo },
    Dir { path: String, oid: ObjectId },
}

impl Entry {
    pub fn path(&self) -> &str {
        match self {
            Entry::File { path, .. } | Entry::Dir { path, .. } => path,
        }
    }
}

/// Every blob-like entry of a tree, by full path: what commits edit.
pub type FlatTree = BTreeMap<String, (EntryMode, ObjectId)>;

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

impl Hub {
    /// Root tree of a commit.
    pub async fn commit_tree(&self, commit: &ObjectId) -> Result<ObjectId> {
        Ok(self.objects.commit(commit).await?.tree)
    }

    async fn entry(&self, dir: &str, mode: EntryMode, name: &str, oid: ObjectId) -> Result<Entry> {
        let path = join(dir, name);
        Ok(if mode.is_tree() {
            Entry::Dir { path, oid }
        } else if mode.is_blob() {
            Entry::File { path, oid, mode, info: self.objects.blob_info(&oid).await? }
        } else {
            Entry::File { path, oid, mode, info: BlobInfo { size: 0, lfs: None } }
        })
    }

    /// The entry at `path` under `root`, if any.
    pub async fn lookup(&self, root: ObjectId, path: &RepoPath) -> Result<Option<Entry>> {
        let mut tree = self.objects.tree(&root).await?;
        let segments: Vec<&str> = path.segments().collect();
        let mut dir = String::new();
        for (i, segment) in segments.iter().enumerate() {
            let Some(found) = tree.get(segment).cloned() else {
                return Ok(None);
            };
            if i + 1 == segments.len() {
                return Ok(Some(self.entry(&dir, found.mode, &found.name, found.oid).await?));
            }
            if !found.mode.is_tree() {
                return Ok(None);
            }
            dir = join(&dir, segment);
            tree = self.objects.tree(&found.oid).await?;
        }
        Ok(None)
    }

    /// Entries under `dir` (the root when `None`): direct children, or all descendants with
    /// directories listed before their contents when `recursive`.
    pub async fn list(&self, root: ObjectId, dir: Option<&RepoPath>, recursive: bool) -> Result<Vec<Entry>> {
        let (start, prefix) = match dir {
            None => (root, String::new()),
            Some(path) => match self.lookup(root, path).await? {
                Some(Entry::Dir { oid, .. }) => (oid, path.as_str().to_owned()),
                Some(file @ Entry::File { .. }) => return Ok(vec![file]),
                None => {
                    return Err(CoreError::EntryNotFound { path: path.to_string(), commit: None });
                }
            },
        };
        let mut out = Vec::new();
        let mut stack = vec![(start, prefix)];
        while let Some((oid, prefix)) = stack.pop() {
            let tree = self.objects.tree(&oid).await?;
            let mut subdirs = Vec::new();
            for item in tree.entries() {
                let entry = self.entry(&prefix, item.mode, &item.name, item.oid).await?;
                if recursive && item.mode.is_tree() {
                    subdirs.push((item.oid, entry.path().to_owned()));
                }
                out.push(entry);
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(out)
    }

    /// All non-directory entries under `root`, by full path.
    pub async fn flatten(&self, root: ObjectId) -> Result<FlatTree> {
        let mut flat = FlatTree::new();
        let mut stack = vec![(root, String::new())];
        while let Some((oid, prefix)) = stack.pop() {
            let tree = self.objects.tree(&oid).await?;
            for item in tree.entries() {
                let path = join(&prefix, &item.name);
                if item.mode.is_tree() {
                    stack.push((item.oid, path));
                } else {
                    flat.insert(path, (item.mode, item.oid));
                }
            }
        }
        Ok(flat)
    }

    /// Reads a small blob completely (README, .gitattributes).
    pub async fn read_small_blob(&self, oid: &ObjectId) -> Result<bytes::Bytes> {
        Ok(self.objects.read(oid).await?.1)
    }
}

/// The commit that last changed a path: id, title and committer time (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCommit {
    pub id: ObjectId,
    pub title: String,
    pub time: i64,
}

/// History depth examined to attribute paths to commits.
const LAST_COMMIT_HORIZON: usize = 1000;

impl Hub {
    /// The id of the object at `path` under `root`, without reading blobs.
    async fn path_oid(&self, root: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let mut current = root;
        for segment in path.split('/') {
            let tree = self.objects.tree(&current).await?;
            match tree.get(segment) {
                Some(entry) => current = entry.oid,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// For each path, the newest commit (following first parents from `head`) that changed
    /// it. Paths still unattributed past the horizon get the oldest commit examined.
    pub async fn last_commits(
        &self,
        head: ObjectId,
        paths: &[String],
    ) -> Result<HashMap<String, LastCommit>> {
        let mut found = HashMap::new();
        let mut pending: Vec<(String, Option<ObjectId>)> = Vec::new();
        let head_tree = self.objects.commit(&head).await?.tree;
        for path in paths {
            pending.push((path.clone(), self.path_oid(head_tree, path).await?));
        }
        let mut current = head;
        for _ in 0..LAST_COMMIT_HORIZON {
            if pending.is_empty() {
                break;
            }
            let commit = self.objects.commit(&current).await?;
            let info =
                LastCommit { id: current, title: commit.title().to_owned(), time: commit.committer.time };
            let Some(parent) = commit.parents.first().copied() else {
                for (path, _) in pending.drain(..) {
                    found.insert(path, info.clone());
                }
                break;
            };
            let parent_tree = self.objects.commit(&parent).await?.tree;
            let mut still = Vec::with_capacity(pending.len());
            for (path, oid) in pending {
                if self.path_oid(parent_tree, &path).await? == oid {
                    still.push((path, oid));
                } else {
                    found.insert(path, info.clone());
                }
            }
            pending = still;
            current = parent;
        }
        if !pending.is_empty() {
            let commit = self.objects.commit(&current).await?;
            let info =
                LastCommit { id: current, title: commit.title().to_owned(), time: commit.committer.time };
            for (path, _) in pending {
                found.insert(path, info.clone());
            }
        }
        Ok(found)
    }
}
