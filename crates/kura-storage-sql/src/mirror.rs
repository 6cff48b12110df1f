//! `MirrorStore` for both engines: the repos a pull-through mirror answers from the upstream
//! hub, their last-seen refs, cached answers, Xet-listed files and held objects.

use kura_model::{RepoId, RepoType, Timestamp};
use kura_storage::{
    MirrorFileRecord, MirrorHolding, MirrorRefRecord, MirrorRepoRecord, MirrorRun, MirrorStore, StorageError,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{corrupt, to_i64, to_u64};

type Result<T> = std::result::Result<T, StorageError>;

/// Rows per multi-row `INSERT` of `put_mirror_files`: 6 binds each, far below SQLite's
/// bind limit (999 before 3.32).
const FILES_PER_INSERT: usize = 100;

#[derive(sqlx::FromRow)]
struct MirrorRepoRow {
    id: i64,
    repo_type: String,
    repo_id: String,
    created_at: Timestamp,
}

impl MirrorRepoRow {
    fn into_record(self) -> Result<MirrorRepoRecord> {
        Ok(MirrorRepoRecord {
            id: self.id,
            repo_type: RepoType::from_singular(&self.repo_type).ok_or_else(|| corrupt("mirror repo type"))?,
            repo_id: RepoId::parse(&self.repo_id).map_err(|_| corrupt("mirror repo id"))?,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MirrorRefRow {
    commit_id: String,
    fetched_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct MirrorFileRow {
    xet_hash: String,
    sha256: String,
    size: i64,
    commit_id: String,
    path: String,
}

#[derive(sqlx::FromRow)]
struct HoldingRow {
    #[sqlx(flatten)]
    repo: MirrorRepoRow,
    objects: i64,
    bytes: i64,
    last_fetched: Option<i64>,
}

/// The case-insensitive key of a repo id (ids are ASCII).
fn repo_key(repo_id: &RepoId) -> String {
    repo_id.to_string().to_ascii_lowercase()
}

/// One multi-row `INSERT` of `files` (at most `FILES_PER_INSERT`); a hash already recorded
/// for the mirror, or earlier in `files`, keeps its row.
fn files_insert<DB>(mirror: i64, files: &[MirrorFileRecord]) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let mut sql =
        QueryBuilder::new("INSERT INTO mirror_files (mirror_id, xet_hash, sha256, size, commit_id, path) ");
    sql.push_values(files, |mut row, file| {
        row.push_bind(mirror)
            .push_bind(file.xet_hash.clone())
            .push_bind(file.sha256.clone())
            .push_bind(to_i64(file.size))
            .push_bind(file.commit.clone())
            .push_bind(file.path.clone());
    });
    sql.push(" ON CONFLICT (mirror_id, xet_hash) DO NOTHING");
    sql
}

#[async_trait::async_trait]
impl MirrorStore for SqlStore {
    async fn mirror_repo(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
        now: Timestamp,
    ) -> Result<MirrorRepoRecord> {
        let key = repo_key(repo_id);
        // Two callers may record the same new repo at once: the loser's insert does nothing
        // and both read the one row.
        let row: MirrorRepoRow = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO mirror_repos (repo_type, repo_key, repo_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repo_type, repo_key) DO NOTHING",
            )
            .bind(repo_type.as_str()).bind(&key).bind(repo_id.to_string()).bind(now)
            .execute(pool).await.map_err(db_error)?;
            sqlx::query_as(
                "SELECT id, repo_type, repo_id, created_at FROM mirror_repos WHERE repo_type = $1 AND repo_key = $2",
            )
            .bind(repo_type.as_str()).bind(&key)
            .fetch_one(pool).await.map_err(db_error)?
        });
        row.into_record()
    }

    async fn find_mirror_repo(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
    ) -> Result<Option<MirrorRepoRecord>> {
        let row: Option<MirrorRepoRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, repo_type, repo_id, created_at FROM mirror_repos WHERE repo_type = $1 AND repo_key = $2",
            )
            .bind(repo_type.as_str()).bind(repo_key(repo_id))
            .fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(MirrorRepoRow::into_record).transpose()
    }

    async fn mirror_ref(&self, mirror: i64, name: &str) -> Result<Option<MirrorRefRecord>> {
        let row: Option<MirrorRefRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT commit_id, fetched_at FROM mirror_refs WHERE mirror_id = $1 AND ref_name = $2")
                .bind(mirror).bind(name)
                .fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(|row| MirrorRefRecord { commit: row.commit_id, fetched_at: row.fetched_at }))
    }

    async fn put_mirror_ref(&self, mirror: i64, name: &str, record: &MirrorRefRecord) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO mirror_refs (mirror_id, ref_name, commit_id, fetched_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (mirror_id, ref_name) DO UPDATE SET commit_id = excluded.commit_id, \
                 fetched_at = excluded.fetched_at",
            )
            .bind(mirror).bind(name).bind(&record.commit).bind(record.fetched_at)
            .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn mirror_doc(&self, mirror: i64, commit: &str, key: &str) -> Result<Option<String>> {
        with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT body FROM mirror_docs WHERE mirror_id = $1 AND commit_id = $2 AND doc_key = $3",
            )
            .bind(mirror).bind(commit).bind(key)
            .fetch_optional(pool).await.map_err(db_error)
        })
    }

    async fn put_mirror_doc(
        &self,
        mirror: i64,
        commit: &str,
        key: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO mirror_docs (mirror_id, commit_id, doc_key, body, fetched_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (mirror_id, commit_id, doc_key) DO NOTHING",
            )
            .bind(mirror).bind(commit).bind(key).bind(body).bind(now)
            .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn put_mirror_files(&self, mirror: i64, files: &[MirrorFileRecord]) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for chunk in files.chunks(FILES_PER_INSERT) {
                files_insert(mirror, chunk).build().execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn mirror_file(&self, mirror: i64, xet_hash: &str) -> Result<Option<MirrorFileRecord>> {
        let row: Option<MirrorFileRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT xet_hash, sha256, size, commit_id, path FROM mirror_files \
                 WHERE mirror_id = $1 AND xet_hash = $2",
            )
            .bind(mirror).bind(xet_hash)
            .fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(|row| MirrorFileRecord {
            xet_hash: row.xet_hash,
            sha256: row.sha256,
            size: to_u64(row.size),
            commit: row.commit_id,
            path: row.path,
        }))
    }

    async fn mirror_holds(&self, mirror: i64, object_key: &str) -> Result<bool> {
        with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM mirror_objects WHERE mirror_id = $1 AND object_key = $2)",
            )
            .bind(mirror).bind(object_key)
            .fetch_one(pool).await.map_err(db_error)
        })
    }

    async fn put_mirror_object(
        &self,
        mirror: i64,
        object_key: &str,
        size: u64,
        now: Timestamp,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO mirror_objects (mirror_id, object_key, size, fetched_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (mirror_id, object_key) DO UPDATE SET size = excluded.size, \
                 fetched_at = excluded.fetched_at",
            )
            .bind(mirror).bind(object_key).bind(to_i64(size)).bind(now)
            .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn put_mirror_runs(&self, runs: &[MirrorRun]) -> Result<()> {
        self.insert_mirror_runs(runs).await
    }

    async fn mirror_runs(&self, xorb: &str, first: u32, end: u32, limit: u32) -> Result<Vec<MirrorRun>> {
        self.select_mirror_runs(xorb, first, end, limit).await
    }

    async fn delete_mirror_runs(&self, runs: &[MirrorRun]) -> Result<()> {
        self.remove_mirror_runs(runs).await
    }

    async fn mirror_holdings(&self) -> Result<Vec<MirrorHolding>> {
        // Ordered by the lower-cased id, the same on both engines whatever PostgreSQL's collation
        // makes of case. `SUM` of a `BIGINT` is `NUMERIC` in PostgreSQL: cast back.
        let rows: Vec<HoldingRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id, r.repo_type, r.repo_id, r.created_at, COUNT(o.object_key) AS objects, \
                 CAST(COALESCE(SUM(o.size), 0) AS BIGINT) AS bytes, MAX(o.fetched_at) AS last_fetched \
                 FROM mirror_repos r LEFT JOIN mirror_objects o ON o.mirror_id = r.id \
                 GROUP BY r.id ORDER BY r.repo_type, r.repo_key",
            )
            .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(MirrorHolding {
                    repo: row.repo.into_record()?,
                    objects: to_u64(row.objects),
                    bytes: to_u64(row.bytes),
                    last_fetched: row.last_fetched,
                })
            })
            .collect()
    }

    async fn evict_mirror_repo(&self, mirror: i64) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for sql in [
                "DELETE FROM mirror_refs WHERE mirror_id = $1",
                "DELETE FROM mirror_docs WHERE mirror_id = $1",
                "DELETE FROM mirror_files WHERE mirror_id = $1",
                "DELETE FROM mirror_objects WHERE mirror_id = $1",
                "DELETE FROM mirror_runs WHERE mirror_id = $1",
            ] {
                sqlx::query(sql).bind(mirror).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn external_token(&self, user: i64) -> Result<Option<(String, Timestamp)>> {
        let row: Option<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT sealed, created_at FROM external_tokens WHERE user_id = $1")
                .bind(user)
                .fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row)
    }

    async fn put_external_token(&self, user: i64, sealed: &str, now: Timestamp) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO external_tokens (user_id, sealed, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at",
            )
            .bind(user).bind(sealed).bind(now)
            .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn delete_external_token(&self, user: i64) -> Result<bool> {
        let affected = with_pool!(self, pool => {
            sqlx::query("DELETE FROM external_tokens WHERE user_id = $1")
                .bind(user)
                .execute(pool).await.map_err(db_error)?
                .rows_affected()
        });
        Ok(affected > 0)
    }
}
