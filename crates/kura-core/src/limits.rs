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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lfs_max_object_bytes: 50 << 30,
            lfs_max_parts_per_batch: 10_000,
            max_repo_paths: 1_000_000,
            max_siblings: 200_000,
            tree_page_entries: 1_000,
            git_fetch_max_wants: 10_000,
            git_fetch_max_haves: 10_000,
            expand_max_tree_entries: 4_000_000,
        }
    }
}
