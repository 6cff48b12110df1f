//! The objects of a push, staged outside the object store until the push is accepted.
//!
//! The resolved pack goes into an anonymous temp file next to the spooled request (object
//! contents back to back, with an in-memory index of id, kind, offset and length). The push's
//! checks read the received objects from there; only once at least one ref update is going to
//! be applied are the objects copied into the object store. A refused push (a bad pack, one
//! over its budget, failed checks, an atomic push with one refused update) therefore leaves
//! nothing in the store, and nothing is ever deleted from the store: its content-addressed
//! dedup means an object may already be there for another repo or a concurrent push, and
//! deleting "our" copy would break them. The temp file has no name, so it is gone when the
//! push ends, however it ends (the process dying included).
//!
//! Cost: the accepted objects are written twice (temp file, then store), and up to
//! `Limits::git_push_max_inflated_bytes` of temp space per push in flight; memory is about 50
//! bytes of index per object.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kura_git::{Commit, LfsPointer, MAX_POINTER_SIZE, ObjectKind};
use kura_model::ObjectId;
use kura_storage::StorageError;
use tokio::sync::mpsc;

use crate::error::{CoreError, Result};
use crate::git_push_check::Known;
use crate::services::Git;

/// Objects copied to the store at once.
const WRITE_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Slot {
    kind: ObjectKind,
    offset: u64,
    len: u64,
}

/// The objects a push brought, readable by id, not yet in the object store.
pub(crate) struct Staged {
    file: Option<Arc<Mutex<File>>>,
    slots: HashMap<ObjectId, Slot>,
}

/// Fills a [`Staged`] set, on a blocking thread (it writes to a file).
pub(crate) struct StageWriter {
    out: BufWriter<File>,
    position: u64,
    slots: HashMap<ObjectId, Slot>,
}

pub(crate) fn stage_error(error: std::io::Error) -> CoreError {
    tracing::error!(%error, "staging pushed objects in a temp file failed");
    CoreError::Storage(StorageError::backend(error))
}

impl StageWriter {
    /// A writer over a new anonymous temp file in the system temp directory (removed by the OS
    /// when closed, however the push ends).
    pub(crate) fn new() -> std::io::Result<Self> {
        let file = tempfile::tempfile()?;
        Ok(Self { out: BufWriter::with_capacity(1 << 16, file), position: 0, slots: HashMap::new() })
    }

    /// Stages one object (a second copy of the same id is skipped).
    pub(crate) fn add(&mut self, id: ObjectId, kind: ObjectKind, content: &[u8]) -> std::io::Result<()> {
        if self.slots.contains_key(&id) {
            return Ok(());
        }
        self.out.write_all(content)?;
        let len = content.len() as u64;
        self.slots.insert(id, Slot { kind, offset: self.position, len });
        self.position += len;
        Ok(())
    }

    pub(crate) fn finish(self) -> std::io::Result<Staged> {
        let file = self.out.into_inner().map_err(|error| error.into_error())?;
        Ok(Staged { file: Some(Arc::new(Mutex::new(file))), slots: self.slots })
    }
}

impl Staged {
    /// No objects (a push that only deletes refs).
    pub(crate) fn empty() -> Self {
        Self { file: None, slots: HashMap::new() }
    }

    /// The kind of a pushed object, `None` when the push did not bring it.
    pub(crate) fn get(&self, id: &ObjectId) -> Option<ObjectKind> {
        self.slots.get(id).map(|slot| slot.kind)
    }

    pub(crate) fn contains_key(&self, id: &ObjectId) -> bool {
        self.slots.contains_key(id)
    }

    /// The content of a pushed object (an error when the push did not bring it).
    pub(crate) async fn content(&self, id: &ObjectId) -> Result<Bytes> {
        let (Some(file), Some(slot)) = (&self.file, self.slots.get(id).copied()) else {
            return Err(CoreError::Corrupt(format!("{id} is not among the pushed objects")));
        };
        let file = file.clone();
        let read = move || -> std::io::Result<Vec<u8>> {
            let mut file = file.lock().map_err(|_| std::io::Error::other("staging file lock poisoned"))?;
            file.seek(SeekFrom::Start(slot.offset))?;
            let mut content = vec![0; usize::try_from(slot.len).map_err(std::io::Error::other)?];
            file.read_exact(&mut content)?;
            Ok(content)
        };
        let content = tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| CoreError::Corrupt(format!("reading a staged object failed: {e}")))?
            .map_err(stage_error)?;
        Ok(Bytes::from(content))
    }

    /// The Git LFS pointer a pushed blob holds, if it is one.
    pub(crate) async fn lfs_pointer(&self, id: &ObjectId) -> Result<Option<LfsPointer>> {
        match self.slots.get(id) {
            Some(slot) if slot.len <= MAX_POINTER_SIZE as u64 => {
                Ok(LfsPointer::parse(&self.content(id).await?).ok().flatten())
            }
            _ => Ok(None),
        }
    }
}

impl Git<'_> {
    /// A commit the push brought, or else one of the store.
    pub(crate) async fn pushed_or_stored_commit(&self, known: &Known<'_>, id: &ObjectId) -> Result<Commit> {
        if known.received.get(id) != Some(ObjectKind::Commit) {
            return self.objects.commit(id).await;
        }
        let content = known.received.content(id).await?;
        Commit::parse(&content).map_err(|e| CoreError::invalid(format!("malformed commit {id}: {e}")))
    }

    /// Copies every staged object into the object store (reading the temp file front to back
    /// on a blocking thread, writing a few objects at a time).
    pub(crate) async fn promote(&self, staged: &Staged) -> Result<()> {
        use futures_util::StreamExt;
        let Some(file) = staged.file.clone() else { return Ok(()) };
        let mut slots: Vec<Slot> = staged.slots.values().copied().collect();
        slots.sort_by_key(|slot| slot.offset);
        let (tx, mut rx) = mpsc::channel::<(ObjectKind, Vec<u8>)>(WRITE_CONCURRENCY * 2);
        let reader = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = file.lock().map_err(|_| std::io::Error::other("staging file lock poisoned"))?;
            file.seek(SeekFrom::Start(0))?;
            let mut input = BufReader::with_capacity(1 << 16, &mut *file);
            let mut position = 0;
            for slot in slots {
                // Duplicates were skipped when staging, so the contents are contiguous.
                debug_assert_eq!(slot.offset, position);
                let mut content = vec![0; usize::try_from(slot.len).map_err(std::io::Error::other)?];
                input.read_exact(&mut content)?;
                position += slot.len;
                if tx.blocking_send((slot.kind, content)).is_err() {
                    // The writer failed; its error is reported.
                    break;
                }
            }
            Ok(())
        });
        let incoming = futures_util::stream::poll_fn(|cx| rx.poll_recv(cx));
        let mut writes = incoming
            .map(|(kind, content)| async move { self.objects.write(kind, &content).await })
            .buffer_unordered(WRITE_CONCURRENCY);
        let mut written = Ok(());
        while let Some(result) = writes.next().await {
            if let Err(error) = result {
                written = Err(error);
                break;
            }
        }
        drop(writes);
        drop(rx);
        let read =
            reader.await.map_err(|e| CoreError::Corrupt(format!("reading staged objects failed: {e}")))?;
        written?;
        read.map_err(stage_error)
    }
}
