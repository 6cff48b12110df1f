//! Reading trees at a commit: path lookup, directory listings, flattening.

use std::collections::BTreeMap;

use kura_git::EntryMode;
use kura_model::{MAX_PATH_BYTES, ObjectId, RepoPath};

use crate::error::{CoreError, Result};
use crate::objects::BlobInfo;
use crate::services::Repos;

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

/// A page of a tree listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub entries: Vec<Entry>,
    /// The cursor of the next page (the path of the last entry here), when there is more.
    pub next: Option<String>,
}

/// A folder the listing walk still has to read, from after the entry `after` when set.
struct Frame {
    oid: ObjectId,
    prefix: String,
    after: Option<String>,
}

fn bad_cursor() -> CoreError {
    CoreError::invalid("Invalid cursor")
}

/// The refusal of a tree with more paths than the server allows.
pub(crate) fn too_many_paths(max_paths: u64) -> CoreError {
    CoreError::TooLarge(format!(
        "the tree would hold more than {max_paths} files and folders, the limit of this server \
         (the Hub advises fewer than 100k files per repo: merge small files, or split the repo)"
    ))
}

/// Every blob-like entry of a tree, by full path: what commits edit.
pub type FlatTree = BTreeMap<String, (EntryMode, ObjectId)>;

pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

impl Repos<'_> {
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

    /// One page of the entries under `dir` (the root when `None`): direct children, or all
    /// descendants when `recursive` (each folder's entries, then the contents of its
    /// subfolders in order; a folder is listed before its contents). `after` is the path of
    /// the last entry of the previous page; at most `limit` entries are read, so a listing costs
    /// the same on any tree, however large.
    pub async fn list_page(
        &self,
        root: ObjectId,
        dir: Option<&RepoPath>,
        recursive: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage> {
        let (start, prefix) = match dir {
            None => (root, String::new()),
            Some(path) => match self.lookup(root, path).await? {
                Some(Entry::Dir { oid, .. }) => (oid, path.as_str().to_owned()),
                Some(file @ Entry::File { .. }) => {
                    let entries = if after.is_some() { Vec::new() } else { vec![file] };
                    return Ok(ListPage { entries, next: None });
                }
                None => {
                    return Err(CoreError::EntryNotFound { path: path.to_string(), commit: None });
                }
            },
        };
        let mut stack = match after {
            None => vec![Frame { oid: start, prefix, after: None }],
            Some(cursor) => self.resume(start, prefix, cursor, recursive).await?,
        };
        let mut entries = Vec::new();
        while let Some(frame) = stack.pop() {
            let tree = self.objects.tree(&frame.oid).await?;
            let items = tree.entries();
            let from = match &frame.after {
                // The last entry of that name: a (malformed) duplicate cannot loop a client.
                Some(name) => items.iter().rposition(|e| &e.name == name).ok_or_else(bad_cursor)? + 1,
                None => 0,
            };
            // Paths over the length limit (older data) are neither listed nor entered.
            let fits = |name: &str| frame.prefix.len() + 1 + name.len() <= MAX_PATH_BYTES;
            for item in items[from..].iter().filter(|e| fits(&e.name)) {
                if entries.len() >= limit {
                    let next = entries.last().map(|e: &Entry| e.path().to_owned());
                    return Ok(ListPage { entries, next });
                }
                entries.push(self.entry(&frame.prefix, item.mode, &item.name, item.oid).await?);
            }
            if recursive {
                for item in items.iter().rev().filter(|e| e.mode.is_tree() && fits(&e.name)) {
                    stack.push(Frame { oid: item.oid, prefix: join(&frame.prefix, &item.name), after: None });
                }
            }
        }
        Ok(ListPage { entries, next: None })
    }

    /// The walk's pending folders right after the entry at `cursor` was listed: the rest of
    /// its folder, then (when `recursive`) that folder's subfolders, then each ancestor's
    /// subfolders that come after the path down to it.
    async fn resume(
        &self,
        start: ObjectId,
        prefix: String,
        cursor: &str,
        recursive: bool,
    ) -> Result<Vec<Frame>> {
        let relative = if prefix.is_empty() {
            cursor
        } else {
            cursor.strip_prefix(prefix.as_str()).and_then(|r| r.strip_prefix('/')).ok_or_else(bad_cursor)?
        };
        let segments: Vec<&str> = relative.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) || (!recursive && segments.len() > 1) {
            return Err(bad_cursor());
        }
        let (last, ancestors) = segments.split_last().ok_or_else(bad_cursor)?;
        let mut stack = Vec::new();
        let (mut current, mut current_prefix) = (start, prefix);
        for segment in ancestors {
            let tree = self.objects.tree(&current).await?;
            let items = tree.entries();
            let index =
                items.iter().rposition(|e| e.name == *segment && e.mode.is_tree()).ok_or_else(bad_cursor)?;
            for item in items[index + 1..].iter().rev().filter(|e| e.mode.is_tree()) {
                stack.push(Frame { oid: item.oid, prefix: join(&current_prefix, &item.name), after: None });
            }
            current_prefix = join(&current_prefix, segment);
            current = items[index].oid;
        }
        stack.push(Frame { oid: current, prefix: current_prefix, after: Some((*last).to_owned()) });
        Ok(stack)
    }

    /// All non-directory entries under `root`, by full path; an error past `max_paths` paths
    /// (files and folders), before they are all in memory.
    pub async fn flatten(&self, root: ObjectId, max_paths: u64) -> Result<FlatTree> {
        let mut flat = FlatTree::new();
        let mut paths: u64 = 0;
        let mut stack = vec![(root, String::new())];
        while let Some((oid, prefix)) = stack.pop() {
            let tree = self.objects.tree(&oid).await?;
            paths += tree.entries().len() as u64;
            if paths > max_paths {
                return Err(too_many_paths(max_paths));
            }
            for item in tree.entries() {
                let path = join(&prefix, &item.name);
                if path.len() > MAX_PATH_BYTES {
                    return Err(CoreError::invalid(format!(
                        "the tree holds a path longer than {MAX_PATH_BYTES} bytes; commits to it are refused"
                    )));
                }
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
