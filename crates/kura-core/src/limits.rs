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
    /// Most client connections open at once. At the cap the server stops accepting: new
    /// connections wait in the kernel's listen queue until a slot frees, so the server's file
    /// descriptors stay bounded. Clamped at startup to what the process's file-descriptor
    /// limit allows (each connection may also hold a file open).
    pub max_connections: u64,
    /// Seconds a client has to send a request's headers, counted from the connection's
    /// opening or the end of the previous response: it also closes idle keep-alive
    /// connections and slow-header ("slowloris") clients.
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may stall (no byte arriving while the server waits for one)
    /// before the request ends with an error. A slow upload that keeps moving is never cut.
    pub body_stall_timeout_secs: u64,
    /// Seconds a response may stall (the client reads nothing while the server waits to
    /// send) before the connection is closed.
    pub send_stall_timeout_secs: u64,
    /// Seconds the server keeps reading (and discarding) the body of a refused request, so a
    /// client or proxy still sending sees the answer instead of a broken pipe; the connection
    /// is then closed. At most 256 MiB are read either way.
    pub drain_timeout_secs: u64,
    /// MiB of request bodies all requests together may hold in memory at once: every body read
    /// whole that is over 1 MiB (xorbs, shards, JSON, git fetch negotiations) and the inline
    /// content of commits. A request that would go
    /// past it waits (at most `body_budget_wait_secs`) for others to finish.
    pub body_budget_mib: u64,
    /// Seconds a request waits for room in `body_budget_mib` before it is answered 503 with
    /// `Retry-After`.
    pub body_budget_wait_secs: u64,
    /// Inline (base64 or UTF-8) file content one NDJSON commit may carry, in bytes; larger
    /// files go through LFS or Xet. Preupload sends files to LFS rather than go past it.
    pub commit_max_inline_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lfs_max_object_bytes: 50 << 30,
            lfs_max_parts_per_batch: 10_000,
            // 1 TiB at the usual 64 KiB per chunk; checking costs a few seconds of one core.
            xet_max_shard_chunk_refs: 16 << 20,
            max_connections: 1000,
            header_read_timeout_secs: 30,
            body_stall_timeout_secs: 60,
            send_stall_timeout_secs: 60,
            drain_timeout_secs: 30,
            body_budget_mib: 256,
            body_budget_wait_secs: 60,
            commit_max_inline_bytes: 64 << 20,
        }
    }
}
