//! `MetadataStore` on SQL databases through sqlx. SQLite is the embedded default; PostgreSQL
//! arrives with the scale-out work. Each engine has its own migration directory; shipped
//! migrations are never edited.

mod migrate;
mod sqlite;

pub use sqlite::SqliteStore;
