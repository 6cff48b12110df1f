//! Identifiers and value types shared by every kura crate: repo ids, repo paths, git object
//! ids, content hashes, ref names and timestamps. Pure values and validation; no I/O.

mod hash;
mod path;
mod range;
mod repo;
mod scope;
mod time;

pub use hash::{HashParseError, ObjectId, Sha256};
pub use path::{MAX_PATH_BYTES, PathError, RepoPath, check_segment};
pub use range::{ByteRange, Unsatisfiable};
pub use repo::{
    IdError, RESERVED_NAMESPACES, RefName, RepoId, RepoType, Role, validate_namespace, validate_ref_name,
};
pub use scope::{MAX_SCOPES, Permission, ScopeError, ScopeTarget, TokenScope};
pub use time::{Timestamp, format_timestamp, parse_timestamp};
