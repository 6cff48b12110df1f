//! Content is read through proofs. A large object is stored once, whatever repo brought it,
//! so its bytes must never be reachable by SHA-256 alone: a repo reads an object only if it
//! acquired it itself (its own verified upload, or content kura put there), and a caller reads
//! it only through a repo whose files it may read. `ObjectRead` is that proof: only
//! [`Files::object_read`] makes one, from a [`FilesAccess`] (itself made only by
//! `Accounts::authorize_files`) and the repo's own record of the object; every path that sends
//! large-file bytes (resolve, LFS downloads, Xet reconstruction) takes one.

use futures_util::TryStreamExt;
use kura_git::LfsPointer;
use kura_model::{ObjectId, RepoPath, Sha256};
use kura_storage::{RepoRecord, XetFileRecord};

use crate::ByteStream;
use crate::auth::{FilesAccess, Identity};
use crate::browse::Entry;
use crate::error::{CoreError, Result};
use crate::services::Files;

/// Where a stored large object's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    /// As Xet chunks (every upload since Xet storage).
    Xet(XetFileRecord),
    /// Whole, under its SHA-256 (data of older releases).
    Raw { size: u64 },
}

impl Stored {
    pub(crate) fn size(&self) -> u64 {
        match self {
            Stored::Xet(record) => record.size,
            Stored::Raw { size } => *size,
        }
    }
}

/// What [`Files::check_pointer`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointerCheck {
    Held {
        size: u64,
    },
    /// The repo never uploaded the object (or nothing is stored under it).
    NotHeld,
    WrongSize {
        stored: u64,
    },
}

/// Proof that a large object may be read: the repo holds it and the caller may read the
/// repo's files.
#[derive(Debug, Clone)]
pub struct ObjectRead {
    oid: Sha256,
    stored: Stored,
}

impl ObjectRead {
    pub fn oid(&self) -> &Sha256 {
        &self.oid
    }

    pub fn size(&self) -> u64 {
        self.stored.size()
    }

    /// The Xet file hash, when the object is stored as Xet chunks.
    pub fn xet_hash(&self) -> Option<&str> {
        match &self.stored {
            Stored::Xet(record) => Some(&record.file_hash),
            Stored::Raw { .. } => None,
        }
    }

    pub(crate) fn xet_record(&self) -> Option<&XetFileRecord> {
        match &self.stored {
            Stored::Xet(record) => Some(record),
            Stored::Raw { .. } => None,
        }
    }
}

/// What a file's bytes are read from.
#[derive(Debug, Clone)]
enum FileBody {
    Git { blob: ObjectId, size: u64 },
    Object(ObjectRead),
}

/// A file of a repo at a revision, opened for reading by a caller allowed to read it.
#[derive(Debug, Clone)]
pub struct OpenFile {
    pub commit: ObjectId,
    pub path: RepoPath,
    /// The git blob id (of the pointer, for LFS files).
    pub blob: ObjectId,
    /// Size of the content (not of the pointer).
    pub size: u64,
    /// The Git LFS pointer, for LFS files.
    pub lfs: Option<LfsPointer>,
    body: FileBody,
}

impl OpenFile {
    /// The ETag clients expect: the SHA-256 of LFS files, else the git blob id.
    pub fn etag(&self) -> String {
        match &self.lfs {
            Some(pointer) => pointer.oid.to_hex(),
            None => self.blob.to_hex(),
        }
    }

    pub fn xet_hash(&self) -> Option<&str> {
        match &self.body {
            FileBody::Object(read) => read.xet_hash(),
            FileBody::Git { .. } => None,
        }
    }
}

impl Files<'_> {
    /// Where an object's bytes are, by its SHA-256. Only SHA-256s kura computed count (a Xet
    /// file's claimed hash is verified before it is recorded). Crate-private: callers outside
    /// reach content only through [`Files::object_read`].
    pub(crate) async fn stored_object(&self, oid: &Sha256) -> Result<Option<Stored>> {
        if let Some(size) = self.content.raw_size(oid).await? {
            return Ok(Some(Stored::Raw { size }));
        }
        Ok(self.meta.xet_file_by_sha256(oid).await?.map(Stored::Xet))
    }

    /// `stored_object` for an object `repo` holds, as of the record's state: a Xet record is
    /// kept under `(id, state, oid)` (a change of the record moves the state of every repo
    /// holding the object); bytes stored whole are looked for every time.
    async fn stored_in(&self, repo: &RepoRecord, oid: &Sha256) -> Result<Option<Stored>> {
        let states = &self.hub.repo_state.states;
        let at = (repo.id, repo.state, *oid);
        if let Some(record) = states.xet_files.get(&at) {
            return Ok(Some(Stored::Xet(record)));
        }
        let stored = self.stored_object(oid).await?;
        if let Some(Stored::Xet(record)) = &stored
            && crate::state_cache::keyed(repo)
        {
            // The terms are the record's bulk: a file of many GB has hundreds of KB of them.
            let bytes = (record.terms.len() + record.file_hash.len()) as u64 + 64;
            states.xet_files.put(at, record.clone(), bytes);
        }
        Ok(stored)
    }

    /// Whether a Git LFS pointer may enter this repo's trees: the repo must hold the object
    /// (its own verified upload) with the pointer's size. The one rule for API commits (both
    /// `lfsFile` lines and inline bytes that parse as a pointer) and git pushes.
    pub(crate) async fn check_pointer(
        &self,
        repo: &RepoRecord,
        oid: &Sha256,
        size: Option<u64>,
    ) -> Result<PointerCheck> {
        let stored = match self.stored_object(oid).await? {
            Some(stored) if self.meta.repo_has_lfs_object(repo.id, oid).await? => stored.size(),
            _ => return Ok(PointerCheck::NotHeld),
        };
        Ok(match size {
            Some(size) if size != stored => PointerCheck::WrongSize { stored },
            _ => PointerCheck::Held { size: stored },
        })
    }

    /// The proof that `oid` may be read through `access`'s repo; `None` when the repo never
    /// acquired it or nothing is stored under it.
    pub async fn object_read(&self, access: &FilesAccess, oid: &Sha256) -> Result<Option<ObjectRead>> {
        if !self.hub.repos().holds(access.repo(), oid).await? {
            return Ok(None);
        }
        Ok(self.stored_in(access.repo(), oid).await?.map(|stored| ObjectRead { oid: *oid, stored }))
    }

    /// The proof for an object a mirrored repo holds: it fetched and verified the object itself
    /// (`mirror_objects`), and the stored object has the size the caller expects. `None`
    /// otherwise, as for a hosted repo that never acquired the object.
    pub(crate) async fn mirror_held_read(
        &self,
        mirror: i64,
        oid: &Sha256,
        size: u64,
    ) -> Result<Option<ObjectRead>> {
        if !self.meta.mirror_holds(mirror, &format!("sha256:{}", oid.to_hex())).await? {
            return Ok(None);
        }
        Ok(self
            .stored_object(oid)
            .await?
            .filter(|stored| stored.size() == size)
            .map(|stored| ObjectRead { oid: *oid, stored }))
    }

    /// The proof for a Xet file named by its file hash (Xet reconstruction).
    pub(crate) async fn xet_file_read(
        &self,
        access: &FilesAccess,
        file_hash: &str,
    ) -> Result<Option<ObjectRead>> {
        let Some(record) = self.meta.xet_file(file_hash).await? else { return Ok(None) };
        if !self.meta.repo_has_lfs_object(access.repo().id, &record.sha256).await? {
            return Ok(None);
        }
        Ok(Some(ObjectRead { oid: record.sha256, stored: Stored::Xet(record) }))
    }

    /// Streams `len` bytes from `offset` of an object.
    pub async fn read_object(&self, read: &ObjectRead, offset: u64, len: u64) -> Result<ByteStream> {
        match &read.stored {
            Stored::Xet(record) => Ok(self.hub.xet().read_xet(record.clone(), offset, len)),
            Stored::Raw { .. } => self.content.read_raw(&read.oid, offset, len).await,
        }
    }

    /// Opens `path` at `revision` for a caller: the file-read authorization, the revision
    /// (scoped to the repo), the tree lookup and, for LFS files, the repo's proof that it holds
    /// the object. A pointer to an object the repo does not hold is a missing file.
    pub async fn open_file(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        revision: &str,
        path: &str,
    ) -> Result<OpenFile> {
        let access = self.hub.accounts().authorize_files(identity, repo).await?;
        let commit = self.hub.repos().resolve_revision(repo, revision).await?.commit;
        self.open_in(&access, commit, path).await
    }

    /// Opens `path` at `commit` through an authorization already made (pages that read many
    /// files of one repo, such as a commit's diff). The commit must belong to `access`'s repo,
    /// so the proof never reaches another repo's content.
    pub async fn open_at(&self, access: &FilesAccess, commit: ObjectId, path: &str) -> Result<OpenFile> {
        if !self.meta.has_commit(access.repo().id, &commit).await? {
            return Err(CoreError::RevisionNotFound { revision: commit.to_hex() });
        }
        self.open_in(access, commit, path).await
    }

    /// `open_at` for a commit already known to be the repo's (resolved from its refs, or about
    /// to be recorded: the pickle gate reads a commit before the repo lists it).
    pub(crate) async fn open_in(
        &self,
        access: &FilesAccess,
        commit: ObjectId,
        path: &str,
    ) -> Result<OpenFile> {
        let missing = || CoreError::EntryNotFound { path: path.to_owned(), commit: Some(commit) };
        let path = RepoPath::parse(path).map_err(|_| missing())?;
        let root = self.hub.repos().commit_tree(&commit).await?;
        let Some(Entry::File { oid: blob, info, .. }) = self.hub.repos().lookup(root, &path).await? else {
            return Err(missing());
        };
        let (size, body) = match &info.lfs {
            Some(pointer) => {
                let read = self.object_read(access, &pointer.oid).await?.ok_or_else(missing)?;
                if read.size() != pointer.size {
                    return Err(missing());
                }
                (pointer.size, FileBody::Object(read))
            }
            None => (info.size, FileBody::Git { blob, size: info.size }),
        };
        Ok(OpenFile { commit, path, blob, size, lfs: info.lfs, body })
    }

    /// Streams `len` bytes from `offset` of an opened file.
    pub async fn read_file(&self, file: &OpenFile, offset: u64, len: u64) -> Result<ByteStream> {
        match &file.body {
            FileBody::Git { blob, size } => self.objects.blob_range(blob, *size, offset, len).await,
            FileBody::Object(read) => self.read_object(read, offset, len).await,
        }
    }

    /// Up to `len` bytes from `offset` of an opened file, held in memory (fewer at its end, none
    /// past it): for the small ranges the indexer and the headers route parse. Callers bound
    /// `len`.
    pub(crate) async fn read_to_vec(&self, file: &OpenFile, offset: u64, len: u64) -> Result<Vec<u8>> {
        let len = len.min(file.size.saturating_sub(offset));
        if len == 0 {
            return Ok(Vec::new());
        }
        let limit = usize::try_from(len).unwrap_or(usize::MAX);
        let mut stream = self.read_file(file, offset, len).await?;
        let mut out = Vec::with_capacity(limit);
        while let Some(chunk) = stream.try_next().await.map_err(kura_storage::StorageError::Stream)? {
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        Ok(out)
    }

    /// The Xet file hash of an LFS entry, for listings: only when the repo holds the object.
    pub async fn xet_hash_in(&self, repo: &RepoRecord, oid: &Sha256) -> Result<Option<String>> {
        if !self.hub.repos().holds(repo, oid).await? {
            return Ok(None);
        }
        match self.stored_in(repo, oid).await? {
            Some(Stored::Xet(record)) => Ok(Some(record.file_hash)),
            _ => Ok(None),
        }
    }
}
