//! Editing a commit's tree in place: only the folders along the changed paths are read and
//! rewritten; every other subtree keeps its id. What a commit costs grows with the change and
//! the folders it touches, not with the repo. The number of paths a tree holds is found from
//! per-tree counts kept by tree id (trees are immutable), so checking `max_repo_paths` reads
//! only trees not counted before.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kura_git::{EntryMode, Tree, TreeEntry};
use kura_model::{MAX_PATH_BYTES, ObjectId, RepoPath};

use crate::browse::too_many_paths;
use crate::cache::ByteCache;
use crate::error::{CoreError, Result};
use crate::objects::ObjectStore;

/// Budget of the cache of tree shapes (about 60 bytes a tree).
pub(crate) const TREE_SHAPE_CACHE_BYTES: u64 = 4 << 20;

/// How many paths (files and folders) a tree holds below it and how long the longest is,
/// relative to the tree. Counts saturate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TreeShape {
    pub(crate) paths: u64,
    pub(crate) longest: usize,
}

impl TreeShape {
    /// Adds the entry `name`, which holds `below` under it (nothing for a file).
    fn add(&mut self, name: &str, below: TreeShape) {
        self.paths = self.paths.saturating_add(1).saturating_add(below.paths);
        let longest = if below.paths > 0 { name.len() + 1 + below.longest } else { name.len() };
        self.longest = self.longest.max(longest);
    }

    fn over(&self, max_paths: u64) -> bool {
        self.paths > max_paths || self.longest > MAX_PATH_BYTES
    }
}

/// Shapes of trees by id, shared by every commit of the process.
pub(crate) type ShapeCache = ByteCache<ObjectId, TreeShape>;

/// The shape of stored tree `root`: each tree not in `cache` is read once. The walk stops at
/// the first subtree over `max_paths` paths or [`MAX_PATH_BYTES`] (that subtree's shape is
/// returned, already over a limit).
pub(crate) async fn tree_shape(
    objects: &ObjectStore,
    cache: &ShapeCache,
    root: ObjectId,
    max_paths: u64,
) -> Result<TreeShape> {
    enum Step {
        Enter(ObjectId),
        Leave(ObjectId, Arc<Tree>),
    }
    if let Some(shape) = cache.get(&root) {
        return Ok(shape);
    }
    // Shapes found by this walk, and those the cache answered: the cache may evict an entry
    // before its parent is summed, so whatever the walk relies on is copied here first.
    let mut found: HashMap<ObjectId, TreeShape> = HashMap::new();
    let known = |found: &mut HashMap<ObjectId, TreeShape>, oid: &ObjectId| {
        if let Some(shape) = found.get(oid) {
            return Some(*shape);
        }
        let shape = cache.get(oid)?;
        found.insert(*oid, shape);
        Some(shape)
    };
    let mut stack = vec![Step::Enter(root)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Enter(oid) => {
                if known(&mut found, &oid).is_some() {
                    continue;
                }
                let tree = objects.tree(&oid).await?;
                let subtrees: Vec<ObjectId> = tree
                    .entries()
                    .iter()
                    .filter(|e| e.mode.is_tree() && known(&mut found, &e.oid).is_none())
                    .map(|e| e.oid)
                    .collect();
                stack.push(Step::Leave(oid, tree));
                stack.extend(subtrees.into_iter().map(Step::Enter));
            }
            Step::Leave(oid, tree) => {
                let mut shape = TreeShape::default();
                for entry in tree.entries() {
                    let below = if entry.mode.is_tree() {
                        // Every subtree was summed or found before its parent is left.
                        *found.get(&entry.oid).ok_or_else(|| {
                            CoreError::Corrupt(format!("tree {oid}: a folder was not counted"))
                        })?
                    } else {
                        TreeShape::default()
                    };
                    shape.add(&entry.name, below);
                }
                found.insert(oid, shape);
                cache.put(oid, shape, 0);
                if shape.over(max_paths) {
                    return Ok(shape);
                }
            }
        }
    }
    found.get(&root).copied().ok_or_else(|| CoreError::Corrupt(format!("tree {root} was not counted")))
}

/// An entry of a folder being edited.
#[derive(Debug)]
enum Item {
    File(EntryMode, ObjectId),
    /// A folder as stored, not read.
    Stored(ObjectId),
    /// A folder read, perhaps changed.
    Open(Folder),
}

#[derive(Debug, Default)]
struct Folder {
    entries: BTreeMap<String, Item>,
}

impl Folder {
    fn from_tree(tree: &Tree) -> Self {
        let entries = tree
            .entries()
            .iter()
            .map(|e| {
                let item = if e.mode.is_tree() { Item::Stored(e.oid) } else { Item::File(e.mode, e.oid) };
                (e.name.clone(), item)
            })
            .collect();
        Self { entries }
    }

    /// Holds no file at any depth (stored folders always hold one): such a folder is
    /// not written, as git has no empty folders.
    fn is_void(&self) -> bool {
        self.entries.values().all(|item| matches!(item, Item::Open(folder) if folder.is_void()))
    }
}

/// Whether `item` is a folder holding at least one file.
fn is_folder(item: &Item) -> bool {
    match item {
        Item::File(..) => false,
        Item::Stored(_) => true,
        Item::Open(folder) => !folder.is_void(),
    }
}

/// Reads a stored folder so it can be changed.
async fn open(objects: &ObjectStore, item: &mut Item) -> Result<()> {
    if let Item::Stored(oid) = item {
        let tree = objects.tree(oid).await?;
        *item = Item::Open(Folder::from_tree(&tree));
    }
    Ok(())
}

/// A tree being changed by a commit's operations.
pub(crate) struct TreeEdit<'a> {
    objects: &'a ObjectStore,
    shapes: &'a ShapeCache,
    root: Folder,
    /// For the errors naming a missing entry.
    head: ObjectId,
}

impl<'a> TreeEdit<'a> {
    /// Starts from stored tree `root` of commit `head`. Refuses a tree already holding more
    /// than `max_paths` paths or a path longer than [`MAX_PATH_BYTES`].
    pub(crate) async fn open(
        objects: &'a ObjectStore,
        shapes: &'a ShapeCache,
        head: ObjectId,
        root: ObjectId,
        max_paths: u64,
    ) -> Result<Self> {
        let shape = tree_shape(objects, shapes, root, max_paths).await?;
        if shape.paths > max_paths {
            return Err(too_many_paths(max_paths));
        }
        if shape.longest > MAX_PATH_BYTES {
            return Err(CoreError::invalid(format!(
                "the tree holds a path longer than {MAX_PATH_BYTES} bytes; commits to it are refused"
            )));
        }
        let tree = objects.tree(&root).await?;
        Ok(Self { objects, shapes, root: Folder::from_tree(&tree), head })
    }

    fn not_found(&self, path: &RepoPath) -> CoreError {
        CoreError::EntryNotFound { path: path.to_string(), commit: Some(self.head) }
    }

    /// The folder holding `path`'s last segment, reading folders on the way. A missing folder
    /// on the way is created when `create`, else an `Err` with an empty path; a file on the way
    /// is an `Err` with its path.
    async fn parent_of(
        &mut self,
        path: &RepoPath,
        create: bool,
    ) -> Result<std::result::Result<&mut Folder, String>> {
        let segments: Vec<&str> = path.segments().collect();
        let (_, ancestors) = segments.split_last().expect("a repo path has at least one segment");
        let objects = self.objects;
        let mut folder = &mut self.root;
        let mut walked = String::new();
        for segment in ancestors {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(segment);
            let item = if create {
                folder.entries.entry((*segment).to_owned()).or_insert_with(|| Item::Open(Folder::default()))
            } else {
                match folder.entries.get_mut(*segment) {
                    Some(item) => item,
                    None => return Ok(Err(String::new())),
                }
            };
            open(objects, item).await?;
            match item {
                Item::Open(next) => folder = next,
                _ => return Ok(Err(walked)),
            }
        }
        Ok(Ok(folder))
    }

    /// Adds or replaces a file, refusing to turn a folder into a file or nest under a file.
    pub(crate) async fn put(&mut self, path: &RepoPath, mode: EntryMode, oid: ObjectId) -> Result<()> {
        let name = path.segments().last().expect("a repo path has at least one segment").to_owned();
        let folder = match self.parent_of(path, true).await? {
            Ok(folder) => folder,
            Err(file) => {
                return Err(CoreError::invalid(format!("'{file}' is a file and cannot contain '{path}'")));
            }
        };
        if folder.entries.get(&name).is_some_and(is_folder) {
            return Err(CoreError::invalid(format!("'{path}' is a folder and cannot be replaced by a file")));
        }
        folder.entries.insert(name, Item::File(mode, oid));
        Ok(())
    }

    /// The file at `path`, if any.
    pub(crate) async fn file(&mut self, path: &RepoPath) -> Result<Option<(EntryMode, ObjectId)>> {
        let name = path.segments().last().expect("a repo path has at least one segment").to_owned();
        Ok(match self.parent_of(path, false).await? {
            Ok(folder) => match folder.entries.get(&name) {
                Some(Item::File(mode, oid)) => Some((*mode, *oid)),
                _ => None,
            },
            Err(_) => None,
        })
    }

    /// Removes the file or (when `folders`) the folder at `path`; a folder holding no file
    /// is a missing entry.
    pub(crate) async fn delete(&mut self, path: &RepoPath, files: bool) -> Result<()> {
        let name = path.segments().last().expect("a repo path has at least one segment").to_owned();
        let missing = self.not_found(path);
        let Ok(folder) = self.parent_of(path, false).await? else {
            return Err(missing);
        };
        let present = match folder.entries.get(&name) {
            Some(Item::File(..)) => files,
            Some(item) => is_folder(item),
            None => false,
        };
        if !present {
            return Err(missing);
        }
        folder.entries.remove(&name);
        Ok(())
    }

    /// Writes the changed folders, deepest first, and returns the root tree id. A tree with
    /// more paths (files and folders) than `max_paths` writes nothing.
    pub(crate) async fn write(self, max_paths: u64) -> Result<ObjectId> {
        let (_, shape) = settle(self.objects, self.shapes, &self.root, "", false).await?;
        if shape.paths > max_paths {
            return Err(too_many_paths(max_paths));
        }
        let (oid, _) = settle(self.objects, self.shapes, &self.root, "", true).await?;
        Ok(oid.expect("a written folder has an id"))
    }
}

type Settled<'f> = Pin<Box<dyn Future<Output = Result<(Option<ObjectId>, TreeShape)>> + Send + 'f>>;

/// The shape of an edited folder and, when `write`, its written tree (whose shape is cached).
/// Stored subtrees are counted through the cache, never re-read once counted.
fn settle<'f>(
    objects: &'f ObjectStore,
    shapes: &'f ShapeCache,
    folder: &'f Folder,
    dir: &'f str,
    write: bool,
) -> Settled<'f> {
    Box::pin(async move {
        let mut shape = TreeShape::default();
        let mut entries = Vec::with_capacity(folder.entries.len());
        for (name, item) in &folder.entries {
            // Every tree kura writes holds only valid names: a name with a NUL or `/` in it
            // would be read back as other entries than the ones written.
            kura_model::check_segment(name).map_err(|reason| {
                CoreError::InvalidPath(format!("'{}': {reason}", crate::browse::join(dir, name)))
            })?;
            let (mode, oid, below) = match item {
                Item::File(mode, oid) => (*mode, Some(*oid), TreeShape::default()),
                Item::Stored(oid) => {
                    (EntryMode::Tree, Some(*oid), tree_shape(objects, shapes, *oid, u64::MAX).await?)
                }
                Item::Open(sub) if sub.is_void() => continue,
                Item::Open(sub) => {
                    let path = crate::browse::join(dir, name);
                    let (oid, below) = settle(objects, shapes, sub, &path, write).await?;
                    (EntryMode::Tree, oid, below)
                }
            };
            shape.add(name, below);
            if let Some(oid) = oid {
                entries.push(TreeEntry { mode, name: name.clone(), oid });
            }
        }
        if !write {
            return Ok((None, shape));
        }
        let oid = objects.write_tree(&Tree::new(entries)).await?;
        shapes.put(oid, shape, 0);
        Ok((Some(oid), shape))
    })
}

#[cfg(test)]
mod tests;
