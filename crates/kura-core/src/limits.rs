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
    /// Most connections open at once from one client address (an IPv4 address, an IPv6 /64),
    /// so one host cannot hold every slot; trusted proxies are exempt. Past it, a new
    /// connection is closed at once.
    pub max_connections_per_address: u64,
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
    /// Largest `git-receive-pack` request body, as spooled to a temp file (gunzipped when the
    /// client compressed it). Packs carry git objects only; large files go through LFS.
    pub git_push_max_body_bytes: u64,
    /// A gzip-encoded push body may inflate to at most this many times its compressed size,
    /// counting a body under 1 MiB as 1 MiB (git only compresses requests it holds in memory,
    /// and a pack is mostly zlib data already: real bodies inflate about 1:1).
    pub git_push_max_gzip_ratio: u64,
    /// Most bytes the objects of one push may add up to once inflated and resolved (whole
    /// objects plus the declared results of deltas), summed from the pack's headers and
    /// refused before any delta is applied.
    pub git_push_max_inflated_bytes: u64,
    /// The objects of one push may also add up to at most this many times the pack's size,
    /// counting a pack under 1 MiB as 1 MiB: a thin push of a few edits to large files
    /// passes, a delta bomb (a few KiB declaring GiBs) does not.
    pub git_push_max_inflation_ratio: u64,
    /// Most paths (files, and folders: git trees) the tree of one revision may hold. A push or
    /// API commit that would make a bigger tree is refused; pushed trees are counted while they
    /// are walked (each distinct subtree once, times how often it is used), so a small pack
    /// that reuses subtrees cannot expand to billions of paths.
    pub max_repo_paths: u64,
    /// Most tree entries (files and folders) repo info walks to list `siblings`, also the
    /// budget of one `?full=1` repo listing page, summed over its repos. A bigger tree gets a
    /// truncated list; clients then list the tree, which pages.
    pub max_siblings: u64,
    /// Entries per page of a tree listing (`/tree/{rev}/{path}`, recursive or not).
    pub tree_page_entries: u64,
    /// Most distinct `want` (and, separately, `shallow`) lines one git fetch request may send;
    /// more are refused. Git sends one want per ref it fetches.
    pub git_fetch_max_wants: u64,
    /// Most distinct `have` lines of one git fetch request that are looked up; the rest are
    /// ignored (the pack can only get bigger). Git sends haves in rounds of a few dozen to a
    /// few thousand.
    pub git_fetch_max_haves: u64,
    /// Most tree entries one `expand=true` tree listing or paths-info request reads to find
    /// each path's `lastCommit`; paths not attributed within it get none.
    pub expand_max_tree_entries: u64,
    /// Largest upload through the web page's form (the whole multipart body, all its files);
    /// each file past the inline rules is spooled to a temp file, so this bounds temp space.
    pub web_upload_max_bytes: u64,
    /// Policy rather than budget: refuse commits and pushes that add a file whose pickle scan
    /// finds a dangerous import (the error names the file and the import). The scan then runs
    /// before the branch moves, reading only the pickle streams of the added files.
    pub refuse_unsafe_pickles: bool,
    /// Parquet bytes the export of one dataset split may write; past it, the rest of the
    /// split is left out and the export is `partial-{split}` (the viewer says `partial`).
    pub viewer_export_max_bytes: u64,
    /// Rows a `/filter` or `/search` request scans at most; beyond, its answer covers the
    /// scanned prefix and says `partial`.
    pub viewer_scan_max_rows: u64,
}

/// Bodies and packs smaller than this count as this large for the ratio budgets.
const RATIO_FLOOR_BYTES: u64 = 1 << 20;

impl Limits {
    /// How far a gzip push body of `compressed` bytes may inflate.
    pub fn git_push_gzip_budget(&self, compressed: u64) -> u64 {
        let ratio_bound = compressed.max(RATIO_FLOOR_BYTES).saturating_mul(self.git_push_max_gzip_ratio);
        ratio_bound.min(self.git_push_max_body_bytes)
    }

    /// How many bytes the objects of a pack of `pack_bytes` may resolve to.
    pub fn git_push_inflated_budget(&self, pack_bytes: u64) -> u64 {
        let ratio_bound = pack_bytes.max(RATIO_FLOOR_BYTES).saturating_mul(self.git_push_max_inflation_ratio);
        ratio_bound.min(self.git_push_max_inflated_bytes)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lfs_max_object_bytes: 50 << 30,
            lfs_max_parts_per_batch: 10_000,
            // 1 TiB at the usual 64 KiB per chunk; checking costs a few seconds of one core.
            xet_max_shard_chunk_refs: 16 << 20,
            max_connections: 1000,
            max_connections_per_address: 128,
            header_read_timeout_secs: 30,
            body_stall_timeout_secs: 60,
            send_stall_timeout_secs: 60,
            drain_timeout_secs: 30,
            body_budget_mib: 256,
            body_budget_wait_secs: 60,
            commit_max_inline_bytes: 64 << 20,
            git_push_max_body_bytes: 2 << 30,
            git_push_max_gzip_ratio: 64,
            git_push_max_inflated_bytes: 2 << 30,
            git_push_max_inflation_ratio: 256,
            max_repo_paths: 1_000_000,
            max_siblings: 200_000,
            tree_page_entries: 1_000,
            git_fetch_max_wants: 10_000,
            git_fetch_max_haves: 10_000,
            expand_max_tree_entries: 4_000_000,
            web_upload_max_bytes: 5 << 30,
            refuse_unsafe_pickles: false,
            viewer_export_max_bytes: 2 << 30,
            viewer_scan_max_rows: 1_000_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_budgets_scale_with_the_input_between_a_floor_and_a_cap() {
        let limits = Limits::default();
        assert_eq!(limits.git_push_gzip_budget(1000), 64 << 20);
        assert_eq!(limits.git_push_gzip_budget(2 << 20), 128 << 20);
        assert_eq!(limits.git_push_gzip_budget(1 << 30), 2 << 30);
        assert_eq!(limits.git_push_inflated_budget(10_000), 256 << 20);
        assert_eq!(limits.git_push_inflated_budget(4 << 20), 1 << 30);
        assert_eq!(limits.git_push_inflated_budget(u64::MAX), 2 << 30);
    }
}
