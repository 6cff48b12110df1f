//! Git's object model and wire formats, sans-IO: object hashing, tree and commit encoding and
//! parsing, Git LFS pointer files, pkt-lines, pack writing and reading (with deltas), and the
//! request and response sides of receive-pack and upload-pack.

mod commit;
mod delta;
mod delta_encode;
mod lfs;
mod object;
mod pack;
mod pack_delta;
mod pack_input;
mod pack_read;
mod pack_resolve;
pub mod pktline;
mod receive;
mod refname;
#[cfg(test)]
mod test_pack;
mod tree;
mod upload;

pub use commit::{Commit, Signature};
pub use delta::apply_delta;
pub use delta_encode::make_delta;
pub use lfs::{LfsPointer, MAX_POINTER_SIZE};
pub use object::{BlobHasher, ObjectKind, hash_object, object_header, split_object};
pub use pack::PackWriter;
pub use pack_delta::{DeltaLimits, DeltaLink, DeltaPackWriter};
pub use pack_read::{PackIndex, PackLimits};
pub use pack_resolve::PackObject;
pub use receive::{
    RECEIVE_PACK_CAPABILITIES, ReceiveCapabilities, ReceiveRequest, RefUpdate, RefUpdateResult,
    parse_receive_request, receive_pack_advertisement, report_status,
};
pub use refname::check_ref_format;
pub use tree::{EntryMode, Tree, TreeEntry};
pub use upload::{
    FetchAnswer, FetchRequest, LsRefs, Negotiated, UPLOAD_PACK_CAPABILITIES, UploadError, UploadLimits,
    UploadProtocol, UploadRequest, parse_upload_request, upload_pack_advertisement,
    upload_pack_advertisement_v2,
};

use kura_model::ObjectId;

/// Why git data (an object, a pack, a protocol request, a ref name) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    #[error("malformed {kind}: {reason}")]
    Malformed { kind: &'static str, reason: String },
    /// A caller-given bound (object count, object size, delta depth) was exceeded.
    #[error("{what} exceeds the limit: {value} > {limit}")]
    LimitExceeded { what: &'static str, value: u64, limit: u64 },
    /// A delta's base is neither in the pack nor provided by the caller (or the deltas form a
    /// cycle, which looks the same).
    #[error("delta base {base} is missing")]
    MissingDeltaBase { base: ObjectId },
    #[error("invalid ref name {name:?}: {reason}")]
    InvalidRefName { name: String, reason: &'static str },
    /// Reading the (spooled) pack failed. Kept as kind and text so the enum stays `Clone + Eq`.
    #[error("reading the pack failed: {message}")]
    Io { kind: std::io::ErrorKind, message: String },
}

impl GitError {
    pub(crate) fn malformed(kind: &'static str, reason: impl Into<String>) -> Self {
        GitError::Malformed { kind, reason: reason.into() }
    }

    pub(crate) fn limit(what: &'static str, value: u64, limit: u64) -> Self {
        GitError::LimitExceeded { what, value, limit }
    }
}

impl From<std::io::Error> for GitError {
    fn from(error: std::io::Error) -> Self {
        GitError::Io { kind: error.kind(), message: error.to_string() }
    }
}
