//! The dataset viewer's pure logic: which configs and splits a dataset repo has (`splits`), the
//! restricted `where`/`orderby` grammar of `/filter` (`filter`), full-text matching of `/search`
//! (`search`), the `/first-rows` truncation rules (`truncate`), per-column `/statistics`
//! (`stats`) and the Croissant JSON-LD document (`croissant`). Rows are JSON objects
//! (`serde_json::Map`) and features are the `datasets` feature JSON; reading parquet pages and
//! turning Arrow batches into such rows is the caller's job.

pub mod croissant;
pub mod filter;
pub mod search;
pub mod splits;
pub mod stats;
pub mod truncate;
