//! Checks on the history a push brings before any ref moves: every object it references is
//! either in the push or already part of this repo (never borrowed from another repo through
//! the shared object store), trees are well-formed, and every Git LFS pointer names an object
//! this repo holds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kura_git::{Commit, ObjectKind, Tree};
use kura_model::{MAX_PATH_BYTES, ObjectId};
use kura_storage::RepoRecord;
use tokio::sync::OnceCell;

use crate::error::{CoreError, Result};
use crate::git_push_stage::Staged;
use crate::read_proof::PointerCheck;
use crate::services::Git;

/// The objects reachable from a repo's refs before the push, computed on first use (only
/// pushes that lean on existing objects need it).
pub(crate) struct RepoObjects<'a> {
    pub repo: &'a RepoRecord,
    closure: OnceCell<HashSet<ObjectId>>,
}

impl<'a> RepoObjects<'a> {
    pub fn new(repo: &'a RepoRecord) -> Self {
        Self { repo, closure: OnceCell::new() }
    }
}

/// What a push may build on: its own objects and the repo's.
pub(crate) struct Known<'a> {
    pub received: Staged,
    pub repo: RepoObjects<'a>,
}

const MISSING: &str = "missing necessary objects";

/// What a tree expands to: its paths (files and folders) and the length of the longest.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    paths: u64,
    longest: usize,
}

impl Git<'_> {
    /// Whether `id` belongs to the repo: one of its commits, or a tree or blob reachable from
    /// one of its refs.
    pub(crate) async fn in_repo(&self, repo: &RepoObjects<'_>, id: &ObjectId) -> Result<bool> {
        if self.meta.has_commit(repo.repo.id, id).await? {
            return Ok(true);
        }
        let closure = repo.closure.get_or_try_init(|| self.repo_closure(repo.repo)).await?;
        Ok(closure.contains(id))
    }

    /// Trees and blobs of every commit reachable from the repo's refs.
    async fn repo_closure(&self, repo: &RepoRecord) -> Result<HashSet<ObjectId>> {
        let mut commits = HashSet::new();
        let mut objects = HashSet::new();
        let mut stack: Vec<ObjectId> = self.meta.refs(repo.id).await?.into_iter().map(|r| r.target).collect();
        while let Some(oid) = stack.pop() {
            if !commits.insert(oid) {
                continue;
            }
            let commit = self.objects.commit(&oid).await?;
            let mut trees = vec![commit.tree];
            while let Some(tree) = trees.pop() {
                if !objects.insert(tree) {
                    continue;
                }
                for entry in self.objects.tree(&tree).await?.entries() {
                    if entry.mode.is_tree() {
                        trees.push(entry.oid);
                    } else if entry.mode.is_blob() {
                        objects.insert(entry.oid);
                    }
                }
            }
            stack.extend(commit.parents);
        }
        Ok(objects)
    }

    /// Checks the pushed commits reachable from `tip`; `Some(reason)` refuses the update.
    pub(crate) async fn check_history(&self, known: &Known<'_>, tip: ObjectId) -> Result<Option<String>> {
        let mut seen = HashSet::new();
        let mut trees_seen = HashSet::new();
        let mut shapes = HashMap::new();
        let mut stack = vec![tip];
        while let Some(oid) = stack.pop() {
            if !seen.insert(oid) {
                continue;
            }
            match known.received.get(&oid) {
                Some(ObjectKind::Commit) => {}
                Some(_) => return Ok(Some(format!("{oid} is not a commit"))),
                None if self.meta.has_commit(known.repo.repo.id, &oid).await? => continue,
                None => return Ok(Some(MISSING.to_owned())),
            }
            let content = known.received.content(&oid).await?;
            let Ok(commit) = Commit::parse(&content) else {
                return Ok(Some(format!("malformed commit {oid}")));
            };
            if let Some(problem) = self.check_tree(known, commit.tree, &mut trees_seen).await? {
                return Ok(Some(problem));
            }
            let max_paths = self.config().limits.max_repo_paths;
            let shape = self.tree_shape(known, commit.tree, max_paths, &mut shapes).await?;
            if shape.paths > max_paths {
                return Ok(Some(format!(
                    "the tree of commit {oid} holds more than {max_paths} files and folders, the limit of \
                     this server (the Hub advises fewer than 100k files per repo)"
                )));
            }
            if shape.longest > MAX_PATH_BYTES {
                return Ok(Some(format!(
                    "the tree of commit {oid} holds a path longer than {MAX_PATH_BYTES} bytes"
                )));
            }
            stack.extend(commit.parents);
        }
        Ok(None)
    }

    /// Checks a tree and everything under it that the push brought.
    async fn check_tree(
        &self,
        known: &Known<'_>,
        root: ObjectId,
        seen: &mut HashSet<ObjectId>,
    ) -> Result<Option<String>> {
        let mut stack = vec![root];
        while let Some(oid) = stack.pop() {
            if !seen.insert(oid) {
                continue;
            }
            match known.received.get(&oid) {
                Some(ObjectKind::Tree) => {}
                Some(_) => return Ok(Some(format!("{oid} is not a tree"))),
                None if self.in_repo(&known.repo, &oid).await? => continue,
                None => return Ok(Some(MISSING.to_owned())),
            }
            let content = known.received.content(&oid).await?;
            let Ok(tree) = Tree::parse(&content) else {
                return Ok(Some(format!("malformed tree {oid}")));
            };
            for entry in tree.entries() {
                // The same rule as for API paths, so neither way can add what the other refuses.
                if let Err(reason) = kura_model::check_segment(&entry.name) {
                    let name: String = entry.name.chars().take(100).collect();
                    return Ok(Some(format!("tree entry '{}': {reason}", name.escape_debug())));
                }
                if entry.mode.is_tree() {
                    stack.push(entry.oid);
                } else if entry.mode.is_blob()
                    && seen.insert(entry.oid)
                    && let Some(problem) = self.check_blob(known, entry.oid).await?
                {
                    return Ok(Some(problem));
                }
            }
        }
        Ok(None)
    }

    /// How many paths (files and folders) `root` holds and how long the longest is, found
    /// without expanding them: each distinct tree is read once and its shape kept in `shapes`,
    /// so a tree reusing a subtree a thousand times costs one subtree. Counts saturate at
    /// `max + 1` and lengths just past [`MAX_PATH_BYTES`]: past either limit the walk stops.
    /// Every tree it reads has passed `check_tree`.
    async fn tree_shape(
        &self,
        known: &Known<'_>,
        root: ObjectId,
        max: u64,
        shapes: &mut HashMap<ObjectId, Shape>,
    ) -> Result<Shape> {
        enum Step {
            Enter(ObjectId),
            Leave(ObjectId, Arc<Tree>),
        }
        let mut stack = vec![Step::Enter(root)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Enter(oid) => {
                    if shapes.contains_key(&oid) {
                        continue;
                    }
                    let tree = self.pushed_or_stored_tree(known, &oid).await?;
                    let subtrees: Vec<ObjectId> = tree
                        .entries()
                        .iter()
                        .filter(|e| e.mode.is_tree() && !shapes.contains_key(&e.oid))
                        .map(|e| e.oid)
                        .collect();
                    stack.push(Step::Leave(oid, tree));
                    stack.extend(subtrees.into_iter().map(Step::Enter));
                }
                Step::Leave(oid, tree) => {
                    let mut shape = Shape::default();
                    for entry in tree.entries() {
                        let below = if entry.mode.is_tree() {
                            shapes.get(&entry.oid).copied().unwrap_or_default()
                        } else {
                            Shape::default()
                        };
                        shape.paths = shape.paths.saturating_add(1).saturating_add(below.paths);
                        let longest = if below.paths > 0 {
                            entry.name.len() + 1 + below.longest
                        } else {
                            entry.name.len()
                        };
                        shape.longest = shape.longest.max(longest);
                    }
                    shape.paths = shape.paths.min(max.saturating_add(1));
                    shape.longest = shape.longest.min(MAX_PATH_BYTES + 1);
                    shapes.insert(oid, shape);
                    if shape.paths > max || shape.longest > MAX_PATH_BYTES {
                        // The whole tree is over a limit, whatever the rest holds.
                        return Ok(shape);
                    }
                }
            }
        }
        Ok(shapes.get(&root).copied().unwrap_or_default())
    }

    /// A tree the push brought (still staged, not in the store) or one the store holds.
    async fn pushed_or_stored_tree(&self, known: &Known<'_>, oid: &ObjectId) -> Result<Arc<Tree>> {
        if known.received.get(oid).is_none() {
            return self.objects.tree(oid).await;
        }
        let content = known.received.content(oid).await?;
        let tree = Tree::parse(&content).map_err(|_| CoreError::invalid(format!("malformed tree {oid}")))?;
        Ok(Arc::new(tree))
    }

    /// A blob is in the push or the repo; an LFS pointer must name an object the repo holds.
    async fn check_blob(&self, known: &Known<'_>, oid: ObjectId) -> Result<Option<String>> {
        match known.received.get(&oid) {
            Some(ObjectKind::Blob) => {}
            Some(_) => return Ok(Some(format!("{oid} is not a blob"))),
            None if self.in_repo(&known.repo, &oid).await? => return Ok(None),
            None => return Ok(Some(MISSING.to_owned())),
        }
        let Some(pointer) = known.received.lfs_pointer(&oid).await? else {
            return Ok(None);
        };
        Ok(match self.hub.files().check_pointer(known.repo.repo, &pointer.oid, Some(pointer.size)).await? {
            PointerCheck::Held { .. } => None,
            PointerCheck::NotHeld => Some(format!(
                "Git LFS object {} is missing on the server: push it with git-lfs (git lfs push --all) first",
                pointer.oid
            )),
            PointerCheck::WrongSize { stored } => Some(format!(
                "Git LFS pointer for {} says {} bytes, the object has {stored}",
                pointer.oid, pointer.size
            )),
        })
    }
}
