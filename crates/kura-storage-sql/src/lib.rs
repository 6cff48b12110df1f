//! `MetadataStore` on SQL databases through sqlx: SQLite (the embedded default) and
//! PostgreSQL (scale-out), chosen by URL. Queries are written once, with `$n` placeholders that
//! both drivers bind, and run on either engine; each engine has its own versioned migrations,
//! checksummed so an edited one is refused.

mod access;
mod collection_items;
mod collections;
mod discussions;
mod downloads;
mod inventory;
mod jobs;
mod likes;
mod migrate;
#[cfg(test)]
mod migrate_case_tests;
mod mirror;
mod mirror_runs;
mod pool;
mod repos;
mod rows;
mod session;
mod spaces;
mod store;
mod sync_read;
#[cfg(test)]
mod testing;
mod tokens;

pub use pool::SqlStore;
