//! Random operation sets applied both ways, as a flat map of every path (what commits did
//! before) and in place: the trees must come out byte-identical, the errors the same.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kura_git::{EntryMode, ObjectKind};
use kura_model::{ObjectId, RepoPath};
use kura_storage::{BlobKey, BlobListing, BlobStore, ByteStream, StorageError};

use super::{ShapeCache, TreeEdit};
use crate::browse::FlatTree;
use crate::commit::write_flat_tree;
use crate::error::{CoreError, Result};
use crate::objects::ObjectStore;

/// Enough of a blob store for git objects.
#[derive(Default)]
struct MemoryBlobs(Mutex<HashMap<String, Bytes>>);

#[async_trait::async_trait]
impl BlobStore for MemoryBlobs {
    async fn put(&self, _key: &BlobKey, _body: ByteStream) -> Result<u64, StorageError> {
        unimplemented!("git objects are written whole")
    }
    async fn put_bytes(&self, key: &BlobKey, data: Bytes) -> Result<(), StorageError> {
        self.0.lock().unwrap().insert(key.as_str().to_owned(), data);
        Ok(())
    }
    async fn get(&self, _key: &BlobKey, _offset: u64, _len: Option<u64>) -> Result<ByteStream, StorageError> {
        unimplemented!("git objects are read whole")
    }
    async fn get_bytes(&self, key: &BlobKey) -> Result<Bytes, StorageError> {
        self.0.lock().unwrap().get(key.as_str()).cloned().ok_or(StorageError::NotFound)
    }
    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, StorageError> {
        Ok(self.0.lock().unwrap().get(key.as_str()).map(|b| b.len() as u64))
    }
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        self.0.lock().unwrap().remove(key.as_str());
        Ok(())
    }
    async fn list(&self, _prefix: &BlobKey) -> Result<BlobListing, StorageError> {
        unimplemented!("not listed")
    }
}

/// The flat-map commit rules, as `build_commit` applied them before editing trees in place.
mod reference {
    use super::*;

    pub(super) fn insert_file(
        files: &mut FlatTree,
        path: &RepoPath,
        mode: EntryMode,
        oid: ObjectId,
    ) -> Result<()> {
        let prefix = format!("{path}/");
        if files.range(prefix.clone()..).next().is_some_and(|(p, _)| p.starts_with(&prefix)) {
            return Err(CoreError::invalid(format!("'{path}' is a folder and cannot be replaced by a file")));
        }
        let mut parent = path.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            if files.contains_key(up) {
                return Err(CoreError::invalid(format!("'{up}' is a file and cannot contain '{path}'")));
            }
            parent = up;
        }
        files.insert(path.to_string(), (mode, oid));
        Ok(())
    }

    pub(super) fn delete_folder(files: &mut FlatTree, path: &RepoPath, head: ObjectId) -> Result<()> {
        let prefix = format!("{path}/");
        let before = files.len();
        files.retain(|p, _| !p.starts_with(&prefix));
        if files.len() == before {
            return Err(CoreError::EntryNotFound { path: path.to_string(), commit: Some(head) });
        }
        Ok(())
    }

    /// Files and folders of a flat map (what `flatten` counted).
    pub(super) fn paths(files: &FlatTree) -> u64 {
        let mut folders = BTreeSet::new();
        for path in files.keys() {
            let mut rest = path.as_str();
            while let Some((up, _)) = rest.rsplit_once('/') {
                folders.insert(up.to_owned());
                rest = up;
            }
        }
        (files.len() + folders.len()) as u64
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(RepoPath, ObjectId),
    Delete(RepoPath),
    DeleteFolder(RepoPath),
    Copy(RepoPath, RepoPath),
}

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn path(&mut self) -> RepoPath {
        const NAMES: [&str; 6] = ["a", "b", "a.txt", "b-c", "a-", "z"];
        let depth = 1 + self.below(3);
        let segments: Vec<&str> =
            (0..depth).map(|_| NAMES[self.below(NAMES.len() as u64) as usize]).collect();
        RepoPath::parse(&segments.join("/")).expect("valid names")
    }
}

fn apply_flat(files: &mut FlatTree, op: &Op, head: ObjectId) -> Result<()> {
    match op {
        Op::Put(path, oid) => reference::insert_file(files, path, EntryMode::File, *oid),
        Op::Delete(path) => match files.remove(path.as_str()) {
            Some(_) => Ok(()),
            None => reference::delete_folder(files, path, head),
        },
        Op::DeleteFolder(path) => reference::delete_folder(files, path, head),
        Op::Copy(from, to) => {
            let not_found = || CoreError::EntryNotFound { path: from.to_string(), commit: Some(head) };
            let (mode, oid) = *files.get(from.as_str()).ok_or_else(not_found)?;
            reference::insert_file(files, to, mode, oid)
        }
    }
}

async fn apply_edit(edit: &mut TreeEdit<'_>, op: &Op, head: ObjectId) -> Result<()> {
    match op {
        Op::Put(path, oid) => edit.put(path, EntryMode::File, *oid).await,
        Op::Delete(path) => edit.delete(path, true).await,
        Op::DeleteFolder(path) => edit.delete(path, false).await,
        Op::Copy(from, to) => {
            let not_found = || CoreError::EntryNotFound { path: from.to_string(), commit: Some(head) };
            let (mode, oid) = edit.file(from).await?.ok_or_else(not_found)?;
            edit.put(to, mode, oid).await
        }
    }
}

async fn old_way(
    objects: &ObjectStore,
    base: &FlatTree,
    ops: &[Op],
    head: ObjectId,
    max: u64,
) -> Result<(FlatTree, ObjectId)> {
    if reference::paths(base) > max {
        return Err(crate::browse::too_many_paths(max));
    }
    let mut files = base.clone();
    for op in ops {
        apply_flat(&mut files, op, head)?;
    }
    let root = write_flat_tree(objects, &files, max).await?;
    Ok((files, root))
}

async fn new_way(
    objects: &ObjectStore,
    shapes: &ShapeCache,
    root: ObjectId,
    ops: &[Op],
    head: ObjectId,
    max: u64,
) -> Result<ObjectId> {
    let mut edit = TreeEdit::open(objects, shapes, head, root, max).await?;
    for op in ops {
        apply_edit(&mut edit, op, head).await?;
    }
    edit.write(max).await
}

/// Mostly a path the tree holds (or its folder, when `folder`), sometimes any path.
fn existing(rng: &mut Rng, files: &FlatTree, folder: bool) -> RepoPath {
    if files.is_empty() || rng.below(4) == 0 {
        return rng.path();
    }
    let path = files.keys().nth(rng.below(files.len() as u64) as usize).expect("in range");
    let path = if folder { path.rsplit_once('/').map_or(path.as_str(), |(up, _)| up) } else { path };
    RepoPath::parse(path).expect("a stored path")
}

#[tokio::test]
async fn editing_in_place_writes_the_trees_a_flat_rebuild_writes() {
    let objects = ObjectStore::new(Arc::new(MemoryBlobs::default()));
    let shapes = ShapeCache::new(super::TREE_SHAPE_CACHE_BYTES, 64);
    let head = ObjectId::from_hex(&"7".repeat(40)).unwrap();
    let mut blobs = Vec::new();
    for i in 0..4u8 {
        blobs.push(objects.write(ObjectKind::Blob, &[i]).await.unwrap());
    }
    let (mut successes, mut failures) = (0, 0);
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut files = FlatTree::new();
        for _ in 0..rng.below(14) {
            let oid = blobs[rng.below(4) as usize];
            let _ = reference::insert_file(&mut files, &rng.path(), EntryMode::File, oid);
        }
        let mut root = write_flat_tree(&objects, &files, u64::MAX).await.unwrap();
        // Several commits in a row, each starting from the last one's tree.
        for _ in 0..4 {
            let max = 12 + rng.below(40);
            let ops: Vec<Op> = (0..1 + rng.below(4))
                .map(|_| match rng.below(8) {
                    0..=3 => Op::Put(rng.path(), blobs[rng.below(4) as usize]),
                    4 => Op::Delete(existing(&mut rng, &files, false)),
                    5 => Op::DeleteFolder(existing(&mut rng, &files, true)),
                    _ => Op::Copy(existing(&mut rng, &files, false), rng.path()),
                })
                .collect();
            let old = old_way(&objects, &files, &ops, head, max).await;
            let new = new_way(&objects, &shapes, root, &ops, head, max).await;
            match (old, new) {
                (Ok((after, old_root)), Ok(new_root)) => {
                    assert_eq!(old_root, new_root, "seed {seed}: {ops:?} on {files:?}");
                    (files, root) = (after, new_root);
                    successes += 1;
                }
                (Err(old), Err(new)) => {
                    assert_eq!(old.to_string(), new.to_string(), "seed {seed}: {ops:?} on {files:?}");
                    failures += 1;
                }
                (old, new) => panic!("seed {seed}: {ops:?} on {files:?}: {old:?} vs {new:?}"),
            }
        }
    }
    // Both outcomes are exercised.
    assert!(successes > 300 && failures > 300, "{successes} successes, {failures} failures");
}

#[tokio::test]
async fn untouched_folders_are_not_read() {
    let blobs = Arc::new(MemoryBlobs::default());
    let objects = ObjectStore::new(blobs.clone());
    let shapes = ShapeCache::new(super::TREE_SHAPE_CACHE_BYTES, 64);
    let blob = objects.write(ObjectKind::Blob, b"x").await.unwrap();
    let mut files = FlatTree::new();
    for path in ["keep/one", "keep/two", "edit/one"] {
        files.insert(path.to_owned(), (EntryMode::File, blob));
    }
    let root = write_flat_tree(&objects, &files, u64::MAX).await.unwrap();
    let head = ObjectId::from_hex(&"7".repeat(40)).unwrap();
    // Counted once (the first commit after a start reads every tree).
    TreeEdit::open(&objects, &shapes, head, root, 100).await.unwrap();
    // Now `keep/` is gone from the store and still kept as it is by a commit elsewhere.
    let keep = objects.tree(&root).await.unwrap().get("keep").unwrap().oid;
    let fresh = ObjectStore::new(blobs.clone());
    let hex = keep.to_hex();
    blobs.0.lock().unwrap().remove(&format!("git/objects/{}/{}", &hex[..2], &hex[2..]));
    let mut edit = TreeEdit::open(&fresh, &shapes, head, root, 100).await.unwrap();
    edit.put(&RepoPath::parse("edit/two").unwrap(), EntryMode::File, blob).await.unwrap();
    let new_root = edit.write(100).await.unwrap();
    assert_eq!(fresh.tree(&new_root).await.unwrap().get("keep").unwrap().oid, keep);
}
