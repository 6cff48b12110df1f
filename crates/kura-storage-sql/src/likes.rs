//! `LikeStore` for both engines: a like row and the repo's count, changed together.

use kura_model::Timestamp;
use kura_storage::{LikeStore, LikedRepo, Liker, StorageError, TRENDING_LIKE_WEIGHT, trending_window};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{RepoRow, repo_columns, to_i64};

#[derive(sqlx::FromRow)]
struct LikedRow {
    #[sqlx(flatten)]
    repo: RepoRow,
    liked_at: Timestamp,
}

type Result<T> = std::result::Result<T, StorageError>;

#[async_trait::async_trait]
impl LikeStore for SqlStore {
    async fn set_like(&self, repo: i64, user: i64, like: bool, at: Timestamp) -> Result<bool> {
        let delta: i64 = if like { 1 } else { -1 };
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            // The repo's row first: it must exist, and a deletion holding it goes first.
            let (exists,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM repos WHERE id = $1)")
                .bind(repo).fetch_one(&mut *tx).await.map_err(db_error)?;
            if !exists {
                return Err(StorageError::NotFound);
            }
            let statement = match like {
                true => sqlx::query(
                    "INSERT INTO repo_likes (repo_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(repo).bind(user).bind(at),
                false => sqlx::query("DELETE FROM repo_likes WHERE repo_id = $1 AND user_id = $2").bind(repo).bind(user),
            };
            let changed = statement.execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            let counted = sqlx::query("UPDATE repos SET likes = likes + $1 WHERE id = $2")
                .bind(delta).bind(repo)
                .execute(&mut *tx).await.map_err(db_error)?
                .rows_affected();
            if counted != 1 {
                return Err(StorageError::NotFound);
            }
            let (trend_day, trend_ms) = trending_window(at.div_euclid(86_400_000));
            sqlx::query(crate::downloads::set_trending!("WHERE id = $4"))
                .bind(trend_ms).bind(TRENDING_LIKE_WEIGHT).bind(trend_day).bind(repo)
                .execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(true)
        })
    }

    async fn liked_repos(
        &self,
        user: i64,
        public_only: bool,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<LikedRepo>> {
        let rows: Vec<LikedRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", repo_columns!(), ", repo_likes.created_at AS liked_at \
                 FROM repo_likes JOIN repos ON repos.id = repo_likes.repo_id \
                 WHERE repo_likes.user_id = $1 AND ($2 = FALSE OR repos.private = FALSE) \
                 ORDER BY repo_likes.created_at DESC, repo_likes.repo_id DESC LIMIT $3 OFFSET $4"
            ))
            .bind(user).bind(public_only).bind(to_i64(limit)).bind(to_i64(offset))
            .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter()
            .map(|row| Ok(LikedRepo { liked_at: row.liked_at, repo: row.repo.into_record(Vec::new())? }))
            .collect()
    }

    async fn likes_repo(&self, repo: i64, user: i64) -> Result<bool> {
        let (liked,): (bool,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM repo_likes WHERE repo_id = $1 AND user_id = $2)")
                .bind(repo).bind(user)
                .fetch_one(pool).await.map_err(db_error)?
        });
        Ok(liked)
    }

    async fn repo_likers(&self, repo: i64, offset: u64, limit: u64) -> Result<Vec<Liker>> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT users.name, repo_likes.created_at FROM repo_likes \
                 JOIN users ON users.id = repo_likes.user_id WHERE repo_likes.repo_id = $1 \
                 ORDER BY repo_likes.created_at DESC, repo_likes.user_id DESC LIMIT $2 OFFSET $3",
            )
            .bind(repo).bind(to_i64(limit)).bind(to_i64(offset))
            .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows.into_iter().map(|(name, liked_at)| Liker { name, liked_at }).collect())
    }
}
