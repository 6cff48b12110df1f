//! Git's object model and wire formats, sans-IO: object hashing, tree and commit encoding and
//! parsing, and Git LFS pointer files. Later also pkt-lines and packs.

mod commit;
mod lfs;
mod object;
mod pack;
pub mod pktline;
mod tree;

pub use commit::{Commit, Signature};
pub use lfs::{LfsPointer, MAX_POINTER_SIZE};
pub use object::{BlobHasher, ObjectKind, hash_object, object_header, split_object};
pub use pack::PackWriter;
pub use tree::{EntryMode, Tree, TreeEntry};

/// Why a git object or LFS pointer could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    #[error("malformed {kind} object: {reason}")]
    Malformed { kind: &'static str, reason: String },
}

impl GitError {
    pub(crate) fn malformed(kind: &'static str, reason: impl Into<String>) -> Self {
        GitError::Malformed { kind, reason: reason.into() }
    }
}
