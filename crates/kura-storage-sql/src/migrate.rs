//! Versioned migrations, compiled in and applied by sqlx's migrator: each applied one is recorded
//! with its checksum in `_sqlx_migrations`, and a database whose applied migration was since
//! edited refuses to open. Databases of earlier releases (versions only, in
//! `schema_migrations`) are taken over on their first start.

use std::borrow::Cow;

use kura_storage::StorageError;
use sqlx::SqlSafeStr;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

use crate::pool::{Pool, SqlStore, db_error, with_pool};

/// One schema step: version, description, SQL.
pub(crate) type Step = (i64, &'static str, &'static str);

pub(crate) const SQLITE: &[Step] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "server secrets", include_str!("../migrations/sqlite/0002_server_secrets.sql")),
    (3, "xet", include_str!("../migrations/sqlite/0003_xet.sql")),
    (4, "access", include_str!("../migrations/sqlite/0004_access.sql")),
    (5, "tokens", include_str!("../migrations/sqlite/0005_tokens.sql")),
    (6, "sessions", include_str!("../migrations/sqlite/0006_sessions.sql")),
    (7, "repo creator", include_str!("../migrations/sqlite/0007_repo_creator.sql")),
    (8, "verified sha256", include_str!("../migrations/sqlite/0008_verified_sha256.sql")),
    (9, "repo tags", include_str!("../migrations/sqlite/0009_repo_tags.sql")),
    (10, "case-insensitive ids", include_str!("../migrations/sqlite/0010_case_insensitive_ids.sql")),
    (11, "jobs", include_str!("../migrations/sqlite/0011_jobs.sql")),
    (12, "mirror", include_str!("../migrations/sqlite/0012_mirror.sql")),
    (13, "mirror_runs", include_str!("../migrations/sqlite/0013_mirror_runs.sql")),
    (14, "discussions", include_str!("../migrations/sqlite/0014_discussions.sql")),
    (15, "likes", include_str!("../migrations/sqlite/0015_likes.sql")),
    (16, "downloads", include_str!("../migrations/sqlite/0016_downloads.sql")),
    (17, "collections", include_str!("../migrations/sqlite/0017_collections.sql")),
    (18, "spaces", include_str!("../migrations/sqlite/0018_spaces.sql")),
    (19, "trending", include_str!("../migrations/sqlite/0019_trending.sql")),
    (20, "collection owner index", include_str!("../migrations/sqlite/0020_collection_owner_index.sql")),
    (21, "repo state", include_str!("../migrations/sqlite/0021_repo_state.sql")),
];

pub(crate) const POSTGRES: &[Step] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "server secrets", include_str!("../migrations/postgres/0002_server_secrets.sql")),
    (3, "xet", include_str!("../migrations/postgres/0003_xet.sql")),
    (4, "access", include_str!("../migrations/postgres/0004_access.sql")),
    (5, "tokens", include_str!("../migrations/postgres/0005_tokens.sql")),
    (6, "sessions", include_str!("../migrations/postgres/0006_sessions.sql")),
    (7, "repo creator", include_str!("../migrations/postgres/0007_repo_creator.sql")),
    (8, "verified sha256", include_str!("../migrations/postgres/0008_verified_sha256.sql")),
    (9, "repo tags", include_str!("../migrations/postgres/0009_repo_tags.sql")),
    (10, "case-insensitive ids", include_str!("../migrations/postgres/0010_case_insensitive_ids.sql")),
    (11, "jobs", include_str!("../migrations/postgres/0011_jobs.sql")),
    (12, "mirror", include_str!("../migrations/postgres/0012_mirror.sql")),
    (13, "mirror_runs", include_str!("../migrations/postgres/0013_mirror_runs.sql")),
    (14, "discussions", include_str!("../migrations/postgres/0014_discussions.sql")),
    (15, "likes", include_str!("../migrations/postgres/0015_likes.sql")),
    (16, "downloads", include_str!("../migrations/postgres/0016_downloads.sql")),
    (17, "collections", include_str!("../migrations/postgres/0017_collections.sql")),
    (18, "spaces", include_str!("../migrations/postgres/0018_spaces.sql")),
    (19, "trending", include_str!("../migrations/postgres/0019_trending.sql")),
    (20, "collection owner index", include_str!("../migrations/postgres/0020_collection_owner_index.sql")),
    (21, "repo state", include_str!("../migrations/postgres/0021_repo_state.sql")),
];

/// The migrator for `steps`. It takes no lock of its own: `SqlStore::migrate` runs it inside a
/// transaction that already holds one.
pub(crate) fn migrator(steps: &[Step]) -> Migrator {
    let migrations = steps
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.set_locking(false);
    migrator
}

/// The last version an earlier release recorded in `schema_migrations`; they applied versions
/// in order from 1, so anything else is not a database they made.
fn last_old_version(versions: &[i64]) -> Result<Option<i64>, StorageError> {
    if versions.iter().zip(1..).any(|(&version, expected)| version != expected) {
        return Err(StorageError::backend(std::io::Error::other(format!(
            "schema_migrations lists versions {versions:?}, not 1, 2, 3...: not a database kura made"
        ))));
    }
    Ok(versions.last().copied())
}

fn migrate_error(error: MigrateError) -> StorageError {
    let hint = match error {
        MigrateError::VersionMismatch(_) => " (a shipped migration never changes: restore it, add a new one)",
        _ => "",
    };
    StorageError::backend(std::io::Error::other(format!("migrating the database: {error}{hint}")))
}

impl SqlStore {
    fn steps(&self) -> &'static [Step] {
        match self.pool {
            Pool::Sqlite(_) => SQLITE,
            Pool::Postgres(_) => POSTGRES,
        }
    }

    /// Applies every pending migration after checking the applied ones are unchanged.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        self.migrate_with(&migrator(self.steps())).await
    }

    /// Runs `migrator` in one transaction that holds the migration lock: on PostgreSQL an
    /// advisory lock (the one earlier releases took, so old and new replicas starting together
    /// do not race); on SQLite the write lock, taken up front (`BEGIN IMMEDIATE`) so a second
    /// process waits for the busy timeout instead of failing on a read-to-write upgrade.
    pub(crate) async fn migrate_with(&self, migrator: &Migrator) -> Result<(), StorageError> {
        let (begin, lock, has_old_table) = match self.pool {
            Pool::Sqlite(_) => (
                "BEGIN IMMEDIATE",
                None,
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
            ),
            Pool::Postgres(_) => (
                "BEGIN",
                Some("SELECT pg_advisory_xact_lock(7283401)"),
                "SELECT to_regclass('schema_migrations') IS NOT NULL",
            ),
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await.map_err(db_error)?;
            if let Some(lock) = lock {
                sqlx::query(lock).execute(&mut *tx).await.map_err(db_error)?;
            }
            let old: bool = sqlx::query_scalar(has_old_table).fetch_one(&mut *tx).await.map_err(db_error)?;
            if old {
                let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                    .fetch_all(&mut *tx).await.map_err(db_error)?;
                if let Some(last) = last_old_version(&versions)? {
                    migrator.skip(&mut *tx, Some(last)).await.map_err(migrate_error)?;
                }
            }
            migrator.run(&mut *tx).await.map_err(migrate_error)?;
            tx.commit().await.map_err(db_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use kura_model::{RepoId, RepoType};
    use kura_storage::{MetadataStore, RepoQuery, RepoSort};
    use sqlx::{ConnectOptions, Connection, PgConnection};

    use super::*;

    /// Sets a database up as a release before checksums left it: migrations `1..=last` applied
    /// and listed in `schema_migrations`, and a repo whose tags are newline-joined text (with a
    /// duplicate and an empty line).
    macro_rules! old_release {
        ($conn:expr, $steps:expr, $last:expr) => {{
            let conn = $conn;
            for &(_, _, sql) in $steps.iter().take($last) {
                sqlx::raw_sql(sql).execute(&mut *conn).await.unwrap();
            }
            sqlx::query("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)")
                .execute(&mut *conn)
                .await
                .unwrap();
            for version in 1..=$last as i64 {
                sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                    .bind(version)
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            sqlx::query(
                "INSERT INTO repos (repo_type, namespace, name, private, created_at, last_modified, tags) \
                 VALUES ('model', 'alice', 'old', $1, 1, 1, $2)",
            )
            .bind(false)
            .bind("a\nab\n\nlicense:mit\na")
            .execute(&mut *conn)
            .await
            .unwrap();
        }};
    }

    async fn assert_taken_over(store: &SqlStore) {
        let id = RepoId::parse("alice/old").unwrap();
        let repo = store.repo(RepoType::Model, &id).await.unwrap().expect("the old repo");
        assert_eq!(repo.tags, ["a", "ab", "license:mit"], "split, in order, once each");
        let query = |tag: &str| RepoQuery {
            repo_type: RepoType::Model,
            search: None,
            author: None,
            tags: vec![tag.to_owned()],
            private_namespaces: None,
            private_repos: vec![],
            parameters: None,
            linking: None,
            pipeline_tag: None,
            sort: RepoSort::Id,
            descending: false,
            offset: 0,
            limit: 10,
        };
        assert_eq!(store.list_repos(&query("ab")).await.unwrap().len(), 1);
        assert!(store.list_repos(&query("b")).await.unwrap().is_empty());
        let user = store.create_user("bob", false, 2).await.expect("the schema is current");
        assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap().name, "bob");
        store.migrate().await.expect("migrating again is a no-op");
    }

    async fn sqlite_takeover(last: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kura.db");
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let mut conn = options.connect().await.unwrap();
        old_release!(&mut conn, SQLITE, last);
        conn.close().await.unwrap();
        let store = SqlStore::open_sqlite(&path).await.expect("an old database opens");
        assert_taken_over(&store).await;
        let recorded: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
                .fetch_all(match &store.pool {
                    Pool::Sqlite(pool) => pool,
                    Pool::Postgres(_) => unreachable!(),
                })
                .await
                .unwrap();
        let expected: Vec<(i64, Vec<u8>)> =
            migrator(SQLITE).iter().map(|m| (m.version, m.checksum.to_vec())).collect();
        assert_eq!(recorded, expected, "every version recorded with today's checksum");
    }

    #[tokio::test]
    async fn sqlite_databases_of_earlier_releases_are_taken_over() {
        sqlite_takeover(8).await;
        sqlite_takeover(5).await;
    }

    #[tokio::test]
    async fn postgres_databases_of_earlier_releases_are_taken_over() {
        for last in [8, 5] {
            let Some(url) = crate::testing::postgres_url("takeover").await else { return };
            let mut conn = PgConnection::connect(&url).await.unwrap();
            old_release!(&mut conn, POSTGRES, last);
            conn.close().await.unwrap();
            let store = SqlStore::connect(&url).await.expect("an old database opens");
            assert_taken_over(&store).await;
        }
    }

    #[tokio::test]
    async fn an_edited_migration_is_refused() {
        let store = SqlStore::connect("sqlite::memory:").await.unwrap();
        let mut edited = SQLITE.to_vec();
        edited[2].2 = "CREATE TABLE xet_xorbs (hash TEXT PRIMARY KEY);";
        let error = store.migrate_with(&migrator(&edited)).await.expect_err("an edited migration");
        assert!(
            error.to_string().contains("migration 3 was previously applied but has been modified"),
            "{error}"
        );
        store.migrate().await.expect("the shipped files still pass");
    }

    #[test]
    fn old_versions_must_run_from_one_without_gaps() {
        assert_eq!(last_old_version(&[]).unwrap(), None);
        assert_eq!(last_old_version(&[1, 2, 3]).unwrap(), Some(3));
        assert!(last_old_version(&[1, 3]).is_err());
        assert!(last_old_version(&[2, 3]).is_err());
    }

    /// Every file in `migrations/<engine>` is listed, in order, under its own number.
    #[test]
    fn every_migration_file_is_listed() {
        for (engine, steps) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(engine);
            let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
            files.sort();
            assert_eq!(files.len(), steps.len(), "{engine}");
            for (file, &(version, _, sql)) in files.iter().zip(steps) {
                let name = file.file_name().unwrap().to_string_lossy().into_owned();
                assert!(
                    name.starts_with(&format!("{version:04}_")),
                    "{engine}: {name} is not version {version}"
                );
                assert_eq!(std::fs::read_to_string(file).unwrap(), sql, "{engine}: {name}");
            }
        }
    }
}
