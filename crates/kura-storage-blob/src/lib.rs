//! `BlobStore` engines. `LocalBlobStore` keeps objects as files under a directory with
//! crash-safe writes (temp file, fsync, rename, directory fsync). S3 comes with the scale-out
//! work.

mod local;

pub use local::LocalBlobStore;
