//! Budgets: what one request, one connection or one stored expansion may cost the server.
//!
//! Every route that reads a body, decompresses, or expands stored data takes its bounds from
//! here; `docs/deploy.md` lists each field. The defaults suit a 2-core, 24 GB machine serving
//! the public: no single request may push the server past a few hundred MiB of memory or keep
//! an async worker busy for long. Operators set them in the `[limits]` table of the config file
//! or as `KURA_LIMIT_<FIELD>` variables (e.g. `KURA_LIMIT_LFS_MAX_OBJECT_BYTES`).

use serde::Deserialize;

/// The budgets. Fields are plain numbers so the TOML table and the environment read alike.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest object an LFS batch may announce (a larger `size` is refused per object).
    pub lfs_max_object_bytes: u64,
    /// Most multipart part URLs one LFS batch answer may hold, summed over its objects
    /// (S3 allows 10,000 parts per upload). Objects beyond the budget get a single PUT.
    pub lfs_max_parts_per_batch: u64,
    /// Chunk references the file entries of one Xet shard may make, summed over all terms.
    /// Terms may repeat a range, so this, not the shard's size, is what checking costs.
    pub xet_max_shard_chunk_refs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lfs_max_object_bytes: 50 << 30,
            lfs_max_parts_per_batch: 10_000,
            // 1 TiB at the usual 64 KiB per chunk; checking costs a few seconds of one core.
            xet_max_shard_chunk_refs: 16 << 20,
        }
    }
}
