//! HTTP integration tests: the real router and real stores (SQLite, local directory) behind a
//! loopback listener, driven with reqwest.

mod access;
mod attacker;
mod bad_auth_input;
mod bad_input;
mod budget_edge;
mod budget_lfs_xet;
mod budget_push;
mod budget_trees;
mod capped;
mod content_proof;
mod crash;
mod git;
mod git_cache;
mod git_push;
mod history_rewrite;
mod lfs;
mod matrix;
mod matrix_access;
mod matrix_fixture;
mod matrix_manage;
mod matrix_orgs;
mod matrix_routes;
mod matrix_xet;
mod orgs;
mod read;
mod replicas;
mod repo_ids;
mod review_bugs;
mod revocation;
mod security_edges;
mod sessions;
mod support;
mod tokens;
mod write;
mod xet;
