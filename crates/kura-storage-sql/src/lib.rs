//! `MetadataStore` on SQL databases through sqlx: SQLite (the embedded default) and
//! PostgreSQL (scale-out), chosen by URL. Queries are written once with `?` placeholders and
//! rewritten for PostgreSQL; each engine has its own versioned migrations, never edited once
//! shipped.

mod access;
mod inventory;
mod migrate;
mod pool;
mod rows;
mod session;
mod store;
mod tokens;

pub use pool::SqlStore;
