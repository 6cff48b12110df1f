//! `BlobStore` engines. `LocalBlobStore` keeps objects as files under a directory with
//! crash-safe writes (temp file, fsync, rename, directory fsync); `S3BlobStore` keeps them in
//! an S3-compatible bucket.

mod direct;
mod local;
mod s3;

pub use local::LocalBlobStore;
pub use s3::{S3BlobStore, S3Settings};
