//! The reads every request makes first (its repo's row, its token and user, the user's
//! organizations), answered on the calling thread from a small pool of plain SQLite connections.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every query and its rows
//! over channels: two thread wake-ups per query, which measured as about half of kura's CPU on
//! the hottest routes. These two reads are point lookups on indexes (microseconds in the page
//! cache), so they run where they are asked. In WAL mode a reader never waits for a writer, and
//! each statement sees everything committed before it began, by this process or another one
//! (the admin CLI), exactly as a query through sqlx does. PostgreSQL and in-memory databases do
//! not use this path.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use kura_model::{RepoId, RepoType, Sha256};
use kura_storage::{RepoRecord, StorageError, TokenRecord, UserRecord};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::rows::{RepoRow, TokenUserRow, repo_columns};

type Result<T> = std::result::Result<T, StorageError>;

/// Connections kept for reuse; more may be open at once under load, and are closed after use.
const KEPT: usize = 8;

pub(crate) struct SyncReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

fn backend(error: rusqlite::Error) -> StorageError {
    StorageError::backend(error)
}

impl SyncReader {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path, idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(backend)?;
        // Readers in WAL mode wait only in rare moments (recovery of the WAL index, a checkpoint
        // that restarts the log): this runs on a runtime thread, so it waits briefly and the
        // caller then asks through sqlx's pool instead.
        conn.busy_timeout(Duration::from_millis(50)).map_err(backend)?;
        // This connection only ever reads.
        conn.pragma_update(None, "query_only", true).map_err(backend)?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (or a new one) and keeps the connection for the next.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = read(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEPT
        {
            idle.push(conn);
        }
        out
    }

    /// The same lookup as `SqlStore::find_repo`: any case, the exact spelling first, then the
    /// oldest of case twins; with its tags in order.
    pub(crate) fn repo(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<Option<RepoRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            repo_columns!(),
            ", t.tag FROM repos LEFT JOIN repo_tags t ON t.repo_id = repos.id \
             WHERE repos.id = (SELECT c.id FROM repos c WHERE c.repo_type = ?1 \
             AND lower(c.namespace) = lower(?2) AND lower(c.name) = lower(?3) \
             ORDER BY CASE WHEN c.namespace = ?2 AND c.name = ?3 THEN 0 ELSE 1 END, c.case_twin LIMIT 1) \
             ORDER BY t.ordinal"
        );
        self.repo_by(SQL, repo_type, repo_id)
    }

    /// The same lookup as `SqlStore::find_redirect`. A missing repo asks this after `repo`:
    /// both on this path, so a missing repo and a hidden one still cost the same.
    pub(crate) fn redirect(&self, repo_type: RepoType, old_id: &RepoId) -> Result<Option<RepoRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            repo_columns!(),
            ", t.tag FROM repos LEFT JOIN repo_tags t ON t.repo_id = repos.id \
             WHERE repos.id = (SELECT r.repo_id FROM repo_redirects r WHERE r.repo_type = ?1 \
             AND lower(r.namespace) = lower(?2) AND lower(r.name) = lower(?3)) ORDER BY t.ordinal"
        );
        self.repo_by(SQL, repo_type, old_id)
    }

    /// One repo with its tags, by a query of `repo_columns!()` and the tag, bound to
    /// (type, namespace, name).
    fn repo_by(&self, sql: &str, repo_type: RepoType, repo_id: &RepoId) -> Result<Option<RepoRecord>> {
        self.with(|conn| {
            let mut statement = conn.prepare_cached(sql).map_err(backend)?;
            let mut rows = statement
                .query(params![repo_type.as_str(), repo_id.namespace(), repo_id.name()])
                .map_err(backend)?;
            let mut record: Option<RepoRecord> = None;
            while let Some(row) = rows.next().map_err(backend)? {
                let tag: Option<String> = row.get(16).map_err(backend)?;
                match &mut record {
                    Some(record) => record.tags.extend(tag),
                    None => {
                        let repo = RepoRow::from_sqlite(row).map_err(backend)?;
                        record = Some(repo.into_record(tag.into_iter().collect())?);
                    }
                }
            }
            Ok(record)
        })
    }

    /// The same read as `MetadataStore::user_orgs` (every authorization of an org's repo
    /// asks it): (org, role) pairs by org name.
    pub(crate) fn user_orgs(&self, user: i64) -> Result<Vec<(String, String)>> {
        self.with(|conn| {
            let mut statement = conn.prepare_cached(crate::store::USER_ORGS).map_err(backend)?;
            let rows =
                statement.query_map(params![user], |row| Ok((row.get(0)?, row.get(1)?))).map_err(backend)?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(backend)
        })
    }

    /// The same read as `TokenStore::token_with_user`.
    pub(crate) fn token_with_user(&self, secret_hash: &Sha256) -> Result<Option<(TokenRecord, UserRecord)>> {
        self.with(|conn| {
            let mut statement = conn.prepare_cached(crate::tokens::TOKEN_WITH_USER).map_err(backend)?;
            let row = statement
                .query_row(params![secret_hash.to_hex()], TokenUserRow::from_sqlite)
                .optional()
                .map_err(backend)?;
            row.map(TokenUserRow::split).transpose()
        })
    }
}
