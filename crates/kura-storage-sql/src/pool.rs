//! Connecting to SQLite or PostgreSQL (migrating at connect), and running one body per engine.

use std::str::FromStr;
use std::time::Duration;

use kura_storage::StorageError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Metadata in SQLite or PostgreSQL.
pub struct SqlStore {
    pub(crate) pool: Pool,
    /// The hot point reads of a SQLite file, on the caller's thread (`sync_read`).
    pub(crate) reader: Option<crate::sync_read::SyncReader>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.pool {
            Pool::Sqlite(_) => "SqlStore(sqlite)",
            Pool::Postgres(_) => "SqlStore(postgres)",
        })
    }
}

pub(crate) fn db_error(error: sqlx::Error) -> StorageError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::AlreadyExists,
        sqlx::Error::RowNotFound => StorageError::NotFound,
        _ => StorageError::backend(error),
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool; the body is compiled once per engine.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::pool::Pool::Sqlite($pool) => $body,
            $crate::pool::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl SqlStore {
    /// Connects by URL: `sqlite://PATH` (created if missing), `sqlite::memory:` or
    /// `postgres://...`; applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(db_error)?;
            // No ping before each use: it would double the round trips of every query. A
            // connection the server dropped fails its next query, which is answered as a
            // storage error, and the pool replaces it.
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(db_error)?;
            let store = Self { pool: Pool::Postgres(pool), reader: None };
            store.migrate().await?;
            Ok(store)
        } else if url == "sqlite::memory:" {
            let options = SqliteConnectOptions::from_str(url).map_err(db_error)?;
            Self::sqlite(options, 1).await
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Self::open_sqlite(std::path::Path::new(path)).await
        } else {
            Err(StorageError::backend(std::io::Error::other(format!(
                "unsupported database URL (expected sqlite:// or postgres://): {}",
                url.split('@').next_back().unwrap_or("")
            ))))
        }
    }

    /// Opens (creating if needed) a SQLite file in WAL mode, so the admin CLI can write while
    /// the server runs.
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Self, StorageError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let mut store = Self::sqlite(options, 8).await?;
        store.reader = Some(crate::sync_read::SyncReader::new(path.to_owned()));
        Ok(store)
    }

    /// Opens the pool and migrates. A fresh file is first set up (WAL mode) by one connection
    /// alone: the pool opens connections concurrently, and two of them switching a new file to
    /// WAL at once can fail with "database is locked" without waiting. A failed attempt is
    /// retried a few times (another process may hold the file at start-up).
    async fn sqlite(options: SqliteConnectOptions, max: u32) -> Result<Self, StorageError> {
        let mut attempt: u32 = 1;
        loop {
            match Self::sqlite_once(options.clone(), max).await {
                Err(error) if attempt < 5 => {
                    tracing::warn!(%error, attempt, "opening the SQLite database failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn sqlite_once(options: SqliteConnectOptions, max: u32) -> Result<Self, StorageError> {
        {
            use sqlx::{ConnectOptions, Connection};
            let first = options.connect().await.map_err(db_error)?;
            first.close().await.map_err(db_error)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .test_before_acquire(false)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        let store = Self { pool: Pool::Sqlite(pool), reader: None };
        store.migrate().await?;
        Ok(store)
    }
}

/// Starting a transaction that will write. SQLite takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred transaction that read first cannot take it later while
/// another connection has written (the background worker writes beside every request), and
/// fails with "database is locked" without waiting for the busy timeout. PostgreSQL's plain
/// `BEGIN` needs nothing more.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}
