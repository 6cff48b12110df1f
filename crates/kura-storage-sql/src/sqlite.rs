//! SQLite engine (WAL mode, so the admin CLI can work while the server runs).

use std::str::FromStr;
use std::time::Duration;

use kura_model::{ObjectId, RefName, RepoId, RepoType, Role, Sha256, Timestamp};
use kura_storage::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row};

use crate::migrate;

type Result<T> = std::result::Result<T, StorageError>;

fn db_error(error: sqlx::Error) -> StorageError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::AlreadyExists,
        sqlx::Error::RowNotFound => StorageError::NotFound,
        _ => StorageError::backend(error),
    }
}

/// Metadata in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const REPO_COLUMNS: &str =
    "id, repo_type, namespace, name, private, gating, created_at, last_modified, tags";

fn repo_from_row(row: &SqliteRow) -> Result<RepoRecord> {
    let corrupt = |what: &str| {
        StorageError::backend(std::io::Error::other(format!(
            "corrupt {what} in repos table"
        )))
    };
    let repo_type: String = row.try_get("repo_type").map_err(db_error)?;
    let namespace: String = row.try_get("namespace").map_err(db_error)?;
    let name: String = row.try_get("name").map_err(db_error)?;
    let gating: String = row.try_get("gating").map_err(db_error)?;
    let tags: String = row.try_get("tags").map_err(db_error)?;
    Ok(RepoRecord {
        id: row.try_get("id").map_err(db_error)?,
        repo_type: RepoType::from_singular(&repo_type).ok_or_else(|| corrupt("repo_type"))?,
        repo_id: RepoId::new(&namespace, &name).map_err(|_| corrupt("repo id"))?,
        private: row.try_get("private").map_err(db_error)?,
        gating: Gating::parse(&gating).ok_or_else(|| corrupt("gating"))?,
        created_at: row.try_get("created_at").map_err(db_error)?,
        last_modified: row.try_get("last_modified").map_err(db_error)?,
        tags: tags.lines().map(str::to_owned).collect(),
    })
}

fn user_from_row(row: &SqliteRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id").map_err(db_error)?,
        name: row.try_get("name").map_err(db_error)?,
        is_admin: row.try_get("is_admin").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
    })
}

fn token_from_row(row: &SqliteRow) -> Result<TokenRecord> {
    let role: String = row.try_get("role").map_err(db_error)?;
    Ok(TokenRecord {
        id: row.try_get("id").map_err(db_error)?,
        user_id: row.try_get("user_id").map_err(db_error)?,
        name: row.try_get("name").map_err(db_error)?,
        role: Role::parse(&role).unwrap_or(Role::Read),
        created_at: row.try_get("created_at").map_err(db_error)?,
        expires_at: row.try_get("expires_at").map_err(db_error)?,
    })
}

fn parse_oid(text: &str) -> Result<ObjectId> {
    ObjectId::from_hex(text).map_err(StorageError::backend)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &std::path::Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options, 8).await
    }

    /// A private in-memory database (tests).
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(db_error)?;
        Self::connect(options, 1).await
    }

    async fn connect(options: SqliteConnectOptions, max: u32) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies every migration not yet recorded.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        for migration in migrate::SQLITE {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            let done = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = ?")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
            if done.is_some() {
                continue;
            }
            for statement in migrate::statements(migration.sql) {
                sqlx::query(statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
            sqlx::query("INSERT INTO schema_migrations (version) VALUES (?)")
                .bind(migration.version)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl MetadataStore for SqliteStore {
    async fn create_user(&self, name: &str, is_admin: bool, now: Timestamp) -> Result<UserRecord> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("INSERT INTO namespaces (name, kind) VALUES (?, 'user')")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let row = sqlx::query(
            "INSERT INTO users (name, is_admin, created_at) VALUES (?, ?, ?) RETURNING id, name, is_admin, created_at",
        )
        .bind(name)
        .bind(is_admin)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        user_from_row(&row)
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>> {
        sqlx::query("SELECT id, name, is_admin, created_at FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .map(|row| user_from_row(&row))
            .transpose()
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        sqlx::query("SELECT id, name, is_admin, created_at FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .map(|row| user_from_row(&row))
            .transpose()
    }

    async fn create_org(&self, name: &str, owner: i64, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("INSERT INTO namespaces (name, kind) VALUES (?, 'org')")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("INSERT INTO orgs (name, created_at) VALUES (?, ?)")
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("INSERT INTO org_members (org, user_id, role) VALUES (?, ?, 'admin')")
            .bind(name)
            .bind(owner)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn namespace_kind(&self, name: &str) -> Result<Option<NamespaceKind>> {
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM namespaces WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(kind.map(|k| {
            if k == "org" {
                NamespaceKind::Org
            } else {
                NamespaceKind::User
            }
        }))
    }

    async fn set_org_member(&self, org: &str, user: i64, role: OrgRole) -> Result<()> {
        sqlx::query(
            "INSERT INTO org_members (org, user_id, role) VALUES (?, ?, ?) ON CONFLICT (org, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(org)
        .bind(user)
        .bind(role.as_str())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn org_role(&self, org: &str, user: i64) -> Result<Option<OrgRole>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM org_members WHERE org = ? AND user_id = ?")
                .bind(org)
                .bind(user)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(role.and_then(|r| OrgRole::parse(&r)))
    }

    async fn user_orgs(&self, user: i64) -> Result<Vec<(String, OrgRole)>> {
        let rows = sqlx::query("SELECT org, role FROM org_members WHERE user_id = ? ORDER BY org")
            .bind(user)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let org: String = row.try_get("org").map_err(db_error)?;
                let role: String = row.try_get("role").map_err(db_error)?;
                Ok((org, OrgRole::parse(&role).unwrap_or(OrgRole::Read)))
            })
            .collect()
    }

    async fn create_token(&self, token: NewToken) -> Result<TokenRecord> {
        let row = sqlx::query(
            "INSERT INTO tokens (user_id, name, role, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) \
             RETURNING id, user_id, name, role, created_at, expires_at",
        )
        .bind(token.user_id)
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(token.secret_hash.to_hex())
        .bind(token.created_at)
        .bind(token.expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        token_from_row(&row)
    }

    async fn token_by_hash(&self, secret_hash: &Sha256) -> Result<Option<TokenRecord>> {
        sqlx::query("SELECT id, user_id, name, role, created_at, expires_at FROM tokens WHERE secret_hash = ?")
            .bind(secret_hash.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .map(|row| token_from_row(&row))
            .transpose()
    }

    async fn touch_token(&self, id: i64, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE tokens SET last_used_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn create_repo(&self, repo: NewRepo) -> Result<RepoRecord> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO repos (repo_type, namespace, name, private, created_at, last_modified) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {REPO_COLUMNS}"
        )))
        .bind(repo.repo_type.as_str())
        .bind(repo.repo_id.namespace())
        .bind(repo.repo_id.name())
        .bind(repo.private)
        .bind(repo.created_at)
        .bind(repo.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let record = repo_from_row(&row)?;
        sqlx::query("INSERT INTO refs (repo_id, name, target) VALUES (?, 'refs/heads/main', ?)")
            .bind(record.id)
            .bind(repo.initial_commit.to_hex())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("INSERT INTO repo_commits (repo_id, oid) VALUES (?, ?)")
            .bind(record.id)
            .bind(repo.initial_commit.to_hex())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(record)
    }

    async fn repo(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<Option<RepoRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {REPO_COLUMNS} FROM repos WHERE repo_type = ? AND namespace = ? AND name = ?"
        )))
        .bind(repo_type.as_str())
        .bind(repo_id.namespace())
        .bind(repo_id.name())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| repo_from_row(&row))
        .transpose()
    }

    async fn delete_repo(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        for table in ["refs", "repo_commits", "repo_lfs_objects"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE repo_id = ?"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        sqlx::query("DELETE FROM repos WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn rename_repo(&self, id: i64, new_id: &RepoId) -> Result<()> {
        sqlx::query("UPDATE repos SET namespace = ?, name = ? WHERE id = ?")
            .bind(new_id.namespace())
            .bind(new_id.name())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn set_repo_private(&self, id: i64, private: bool) -> Result<()> {
        sqlx::query("UPDATE repos SET private = ? WHERE id = ?")
            .bind(private)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn set_repo_gating(&self, id: i64, gating: Gating) -> Result<()> {
        sqlx::query("UPDATE repos SET gating = ? WHERE id = ?")
            .bind(gating.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn set_repo_tags(&self, id: i64, tags: &[String]) -> Result<()> {
        let text = tags
            .iter()
            .map(|t| t.replace('\n', " "))
            .collect::<Vec<_>>()
            .join("\n");
        sqlx::query("UPDATE repos SET tags = ? WHERE id = ?")
            .bind(text)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn list_repos(&self, query: &RepoQuery) -> Result<Vec<RepoRecord>> {
        let mut sql = format!("SELECT {REPO_COLUMNS} FROM repos WHERE repo_type = ?");
        if query.search.is_some() {
            sql.push_str(" AND instr(lower(namespace || '/' || name), lower(?)) > 0");
        }
        if query.author.is_some() {
            sql.push_str(" AND namespace = ?");
        }
        for _ in &query.tags {
            sql.push_str(" AND instr(char(10) || tags || char(10), char(10) || ? || char(10)) > 0");
        }
        if let Some(namespaces) = &query.private_namespaces {
            let marks = vec!["?"; namespaces.len()].join(", ");
            sql.push_str(&format!(" AND (private = 0 OR namespace IN ({marks}))"));
        }
        let order = match query.sort {
            RepoSort::LastModified => "last_modified",
            RepoSort::CreatedAt => "created_at",
            RepoSort::Id => "namespace || '/' || name",
        };
        let direction = if query.descending { "DESC" } else { "ASC" };
        sql.push_str(&format!(
            " ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?"
        ));
        let mut statement = sqlx::query(AssertSqlSafe(sql)).bind(query.repo_type.as_str());
        if let Some(search) = &query.search {
            statement = statement.bind(search);
        }
        if let Some(author) = &query.author {
            statement = statement.bind(author);
        }
        for tag in &query.tags {
            statement = statement.bind(tag);
        }
        for namespace in query.private_namespaces.iter().flatten() {
            statement = statement.bind(namespace);
        }
        let rows = statement
            .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(repo_from_row).collect()
    }

    async fn refs(&self, repo: i64) -> Result<Vec<RefRecord>> {
        let rows = sqlx::query("SELECT name, target FROM refs WHERE repo_id = ? ORDER BY name")
            .bind(repo)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let name: String = row.try_get("name").map_err(db_error)?;
                let target: String = row.try_get("target").map_err(db_error)?;
                Ok(RefRecord {
                    name: RefName::from_full(&name).map_err(StorageError::backend)?,
                    target: parse_oid(&target)?,
                })
            })
            .collect()
    }

    async fn ref_target(&self, repo: i64, name: &RefName) -> Result<Option<ObjectId>> {
        let target: Option<String> =
            sqlx::query_scalar("SELECT target FROM refs WHERE repo_id = ? AND name = ?")
                .bind(repo)
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        target.as_deref().map(parse_oid).transpose()
    }

    async fn update_ref(
        &self,
        repo: i64,
        name: &RefName,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let affected = match (expected, new) {
            (None, Some(new)) => {
                sqlx::query("INSERT INTO refs (repo_id, name, target) VALUES (?, ?, ?)")
                    .bind(repo)
                    .bind(name.as_str())
                    .bind(new.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match db_error(e) {
                        StorageError::AlreadyExists => StorageError::Conflict,
                        other => other,
                    })?
                    .rows_affected()
            }
            (Some(old), Some(new)) => sqlx::query(
                "UPDATE refs SET target = ? WHERE repo_id = ? AND name = ? AND target = ?",
            )
            .bind(new.to_hex())
            .bind(repo)
            .bind(name.as_str())
            .bind(old.to_hex())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected(),
            (Some(old), None) => {
                sqlx::query("DELETE FROM refs WHERE repo_id = ? AND name = ? AND target = ?")
                    .bind(repo)
                    .bind(name.as_str())
                    .bind(old.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected()
            }
            (None, None) => return Ok(()),
        };
        if affected != 1 {
            return Err(StorageError::Conflict);
        }
        sqlx::query("UPDATE repos SET last_modified = ? WHERE id = ?")
            .bind(now)
            .bind(repo)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn add_commits(&self, repo: i64, commits: &[ObjectId]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        for commit in commits {
            sqlx::query("INSERT OR IGNORE INTO repo_commits (repo_id, oid) VALUES (?, ?)")
                .bind(repo)
                .bind(commit.to_hex())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn has_commit(&self, repo: i64, commit: &ObjectId) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM repo_commits WHERE repo_id = ? AND oid = ?")
            .bind(repo)
            .bind(commit.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(found.is_some())
    }

    async fn commits_with_prefix(
        &self,
        repo: i64,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<ObjectId>> {
        let prefix = prefix.to_ascii_lowercase();
        if !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT oid FROM repo_commits WHERE repo_id = ? AND substr(oid, 1, ?) = ? LIMIT ?",
        )
        .bind(repo)
        .bind(prefix.len() as i64)
        .bind(&prefix)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(|r| parse_oid(r)).collect()
    }

    async fn record_lfs_object(&self, oid: &Sha256, size: u64, now: Timestamp) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO lfs_objects (oid, size, created_at) VALUES (?, ?, ?)")
            .bind(oid.to_hex())
            .bind(i64::try_from(size).map_err(StorageError::backend)?)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn lfs_object_size(&self, oid: &Sha256) -> Result<Option<u64>> {
        let size: Option<i64> = sqlx::query_scalar("SELECT size FROM lfs_objects WHERE oid = ?")
            .bind(oid.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(size.map(|s| s as u64))
    }

    async fn link_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO repo_lfs_objects (repo_id, oid) VALUES (?, ?)")
            .bind(repo)
            .bind(oid.to_hex())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn repo_has_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM repo_lfs_objects WHERE repo_id = ? AND oid = ?")
            .bind(repo)
            .bind(oid.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(found.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_metadata_conformance_in_memory() {
        let store = SqliteStore::in_memory().await.unwrap();
        kura_storage::conformance::metadata_store(&store).await;
    }

    #[tokio::test]
    async fn reopening_a_file_keeps_data_and_skips_applied_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kura.db");
        let store = SqliteStore::open(&path).await.unwrap();
        store.create_user("alice", false, 1).await.unwrap();
        drop(store);
        let store = SqliteStore::open(&path).await.unwrap();
        assert!(store.user_by_name("alice").await.unwrap().is_some());
    }
}
