//! Git objects (blobs, trees, commits) kept in the blob store, framed exactly as git hashes
//! them (`<kind> <size>\0<content>`, uncompressed), under keys derived from their ids.
//! Objects are immutable, so decoded trees and commits and blob facts are cached in memory.

use std::sync::Arc;

use bytes::Bytes;
use kura_git::{
    Commit, LfsPointer, MAX_POINTER_SIZE, ObjectKind, Tree, hash_object, object_header, split_object,
};
use kura_model::ObjectId;
use kura_storage::{BlobKey, BlobStore, ByteStream, StorageError};

use crate::cache::{
    BLOB_INFO_CACHE_BYTES, ByteCache, COMMIT_CACHE_BYTES, COMMIT_LINKS_CACHE_BYTES, SMALL_BLOB_CACHE_BYTES,
    TREE_CACHE_BYTES,
};
use crate::error::{CoreError, Result};

/// What tree listings need to know about a blob without reading it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobInfo {
    /// Size of the git blob (the pointer file for LFS files).
    pub size: u64,
    /// Set when the blob is a Git LFS pointer.
    pub lfs: Option<LfsPointer>,
}

/// What history walks need of a commit (git keeps the same in its commit-graph file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitLinks {
    pub(crate) tree: ObjectId,
    pub(crate) parents: Arc<[ObjectId]>,
}

/// Bytes a decoded tree holds: its entries and their names.
fn tree_bytes(tree: &Tree) -> u64 {
    let names: usize = tree.entries().iter().map(|entry| entry.name.len()).sum();
    (std::mem::size_of_val(tree.entries()) + names) as u64
}

/// Reads and writes git objects.
pub struct ObjectStore {
    blobs: Arc<dyn BlobStore>,
    trees: ByteCache<ObjectId, Arc<Tree>>,
    links: ByteCache<ObjectId, CommitLinks>,
    infos: ByteCache<ObjectId, BlobInfo>,
    commits: ByteCache<ObjectId, Arc<Commit>>,
    small_blobs: ByteCache<ObjectId, Bytes>,
}

/// Blobs up to this size are kept in memory once read (`SMALL_BLOB_CACHE_BYTES` in all).
const SMALL_BLOB_BYTES: u64 = 64 << 10;

fn key(oid: &ObjectId) -> BlobKey {
    let hex = oid.to_hex();
    BlobKey::new(format!("git/objects/{}/{}", &hex[..2], &hex[2..]))
}

/// Splits a stored object and checks that it hashes to its id.
fn verified(oid: &ObjectId, framed: std::result::Result<Bytes, StorageError>) -> Result<(ObjectKind, Bytes)> {
    let framed = match framed {
        Err(StorageError::NotFound) => return Err(CoreError::Corrupt(format!("missing object {oid}"))),
        other => other?,
    };
    let (kind, content) = split_object(&framed).map_err(|e| CoreError::Corrupt(format!("{oid}: {e}")))?;
    if hash_object(kind, content) != *oid {
        return Err(CoreError::Corrupt(format!("object {oid} does not match its id")));
    }
    let start = framed.len() - content.len();
    Ok((kind, framed.slice(start..)))
}

fn header_len(kind: ObjectKind, size: u64) -> u64 {
    object_header(kind, size).len() as u64
}

impl ObjectStore {
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        Self {
            blobs,
            trees: ByteCache::new(TREE_CACHE_BYTES, 4096),
            links: ByteCache::new(COMMIT_LINKS_CACHE_BYTES, 64),
            infos: ByteCache::new(BLOB_INFO_CACHE_BYTES, 128),
            commits: ByteCache::new(COMMIT_CACHE_BYTES, 512),
            small_blobs: ByteCache::new(SMALL_BLOB_CACHE_BYTES, 4096),
        }
    }

    /// Stores an object and returns its id. Idempotent.
    pub async fn write(&self, kind: ObjectKind, content: &[u8]) -> Result<ObjectId> {
        let oid = hash_object(kind, content);
        let key = key(&oid);
        if self.blobs.size(&key).await?.is_none() {
            let mut framed = object_header(kind, content.len() as u64);
            framed.extend_from_slice(content);
            self.blobs.put_bytes(&key, Bytes::from(framed)).await?;
        }
        Ok(oid)
    }

    pub async fn write_tree(&self, tree: &Tree) -> Result<ObjectId> {
        let oid = self.write(ObjectKind::Tree, &tree.encode()).await?;
        self.trees.put(oid, Arc::new(tree.clone()), tree_bytes(tree));
        Ok(oid)
    }

    pub async fn write_commit(&self, commit: &Commit) -> Result<ObjectId> {
        let oid = self.write(ObjectKind::Commit, &commit.encode()).await?;
        self.remember_links(oid, commit);
        Ok(oid)
    }

    /// Reads a whole object, checking that it hashes to its id.
    pub async fn read(&self, oid: &ObjectId) -> Result<(ObjectKind, Bytes)> {
        verified(oid, self.blobs.get_bytes(&key(oid)).await)
    }

    /// Reads several objects in one batch, each checked like [`ObjectStore::read`]. Trees
    /// decoded in memory are encoded again instead (and hashed: a tree git wrote in a
    /// non-canonical spelling does not match its id and is read from the store).
    pub async fn read_many(&self, oids: &[ObjectId]) -> Result<Vec<(ObjectKind, Bytes)>> {
        let mut found: Vec<Option<(ObjectKind, Bytes)>> =
            oids.iter().map(|oid| self.encoded_tree(oid)).collect();
        let missing: Vec<usize> = (0..oids.len()).filter(|&i| found[i].is_none()).collect();
        if !missing.is_empty() {
            let keys: Vec<BlobKey> = missing.iter().map(|&i| key(&oids[i])).collect();
            let results = self.blobs.get_many(&keys).await;
            for (i, framed) in missing.into_iter().zip(results) {
                found[i] = Some(verified(&oids[i], framed)?);
            }
        }
        Ok(found.into_iter().map(|object| object.expect("every object was found or read")).collect())
    }

    /// The content of the tree `oid` from the decoded-tree cache, if it encodes back to `oid`.
    fn encoded_tree(&self, oid: &ObjectId) -> Option<(ObjectKind, Bytes)> {
        let content = self.trees.get(oid)?.encode();
        (hash_object(ObjectKind::Tree, &content) == *oid).then(|| (ObjectKind::Tree, Bytes::from(content)))
    }

    async fn read_kind(&self, oid: &ObjectId, want: ObjectKind) -> Result<Bytes> {
        let (kind, content) = self.read(oid).await?;
        if kind != want {
            return Err(CoreError::Corrupt(format!("{oid} is a {}, not a {}", kind.as_str(), want.as_str())));
        }
        Ok(content)
    }

    pub async fn tree(&self, oid: &ObjectId) -> Result<Arc<Tree>> {
        if let Some(tree) = self.trees.get(oid) {
            return Ok(tree);
        }
        let content = self.read_kind(oid, ObjectKind::Tree).await?;
        let tree = Arc::new(Tree::parse(&content).map_err(|e| CoreError::Corrupt(e.to_string()))?);
        self.trees.put(*oid, tree.clone(), tree_bytes(&tree));
        Ok(tree)
    }

    pub async fn commit(&self, oid: &ObjectId) -> Result<Commit> {
        if let Some(commit) = self.commits.get(oid) {
            return Ok(commit.as_ref().clone());
        }
        let content = self.read_kind(oid, ObjectKind::Commit).await?;
        let commit = Commit::parse(&content).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        self.commits.put(*oid, Arc::new(commit.clone()), content.len() as u64);
        self.remember_links(*oid, &commit);
        Ok(commit)
    }

    /// The tree and parents of a commit, from memory when a walk or a write saw it before.
    pub(crate) async fn commit_links(&self, oid: &ObjectId) -> Result<CommitLinks> {
        if let Some(links) = self.links.get(oid) {
            return Ok(links);
        }
        let commit = self.commit(oid).await?;
        Ok(CommitLinks { tree: commit.tree, parents: commit.parents.into() })
    }

    fn remember_links(&self, oid: ObjectId, commit: &Commit) {
        let links = CommitLinks { tree: commit.tree, parents: commit.parents.as_slice().into() };
        self.links.put(oid, links, 20 * commit.parents.len() as u64);
    }

    /// Size and LFS pointer of a blob, reading at most its header or a pointer-sized object.
    pub async fn blob_info(&self, oid: &ObjectId) -> Result<BlobInfo> {
        if let Some(info) = self.infos.get(oid) {
            return Ok(info);
        }
        let total = self
            .blobs
            .size(&key(oid))
            .await?
            .ok_or_else(|| CoreError::Corrupt(format!("missing object {oid}")))?;
        let info = if total <= (MAX_POINTER_SIZE + 32) as u64 {
            let content = self.read_kind(oid, ObjectKind::Blob).await?;
            let lfs = LfsPointer::parse(&content).ok().flatten();
            BlobInfo { size: content.len() as u64, lfs }
        } else {
            let size = self.blob_size_from_header(oid, total).await?;
            BlobInfo { size, lfs: None }
        };
        self.infos.put(*oid, info, 0);
        Ok(info)
    }

    async fn blob_size_from_header(&self, oid: &ObjectId, total: u64) -> Result<u64> {
        // "blob <n>\0": the size follows from the stored length and the header's own length.
        for digits in 1..=20u32 {
            let size = total.saturating_sub(u64::from(6 + digits));
            if size.to_string().len() as u32 == digits && header_len(ObjectKind::Blob, size) + size == total {
                return Ok(size);
            }
        }
        Err(CoreError::Corrupt(format!("object {oid} has an impossible length")))
    }

    /// Streams `len` bytes of a blob's content from `offset`.
    pub async fn blob_range(&self, oid: &ObjectId, size: u64, offset: u64, len: u64) -> Result<ByteStream> {
        if size <= SMALL_BLOB_BYTES {
            let content = self.small_blob(oid).await?;
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(content.len());
            let end = usize::try_from(offset.saturating_add(len)).unwrap_or(usize::MAX).min(content.len());
            let part = content.slice(start..end);
            return Ok(Box::pin(futures_util::stream::once(async move { Ok(part) })));
        }
        let start = header_len(ObjectKind::Blob, size) + offset;
        Ok(self.blobs.get(&key(oid), start, Some(len)).await?)
    }

    /// A small blob's content, verified against its id when read and then kept: the files
    /// every client asks for first (`config.json`, tokenizer files, cards) are of this size.
    async fn small_blob(&self, oid: &ObjectId) -> Result<Bytes> {
        if let Some(content) = self.small_blobs.get(oid) {
            return Ok(content);
        }
        let content = self.read_kind(oid, ObjectKind::Blob).await?;
        self.small_blobs.put(*oid, content.clone(), content.len() as u64);
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_weighs_its_entries_and_names() {
        let entry = |name: &str| kura_git::TreeEntry {
            mode: kura_git::EntryMode::File,
            name: name.to_owned(),
            oid: ObjectId([1; 20]),
        };
        let small = Tree::new(vec![entry("a")]);
        let large = Tree::new((0..1000).map(|n| entry(&format!("file-{n:04}.bin"))).collect());
        assert!(tree_bytes(&large) >= 1000 * (std::mem::size_of::<kura_git::TreeEntry>() as u64 + 13));
        assert!(tree_bytes(&small) < 100);
    }
}
