//! `SessionStore` for both engines: users' password hashes and browser sessions.

use kura_model::{Sha256, Timestamp};
use kura_storage::{SessionRecord, SessionStore, StorageError};

use crate::pool::{SqlStore, db_error, with_pool};
use crate::rows::sha256;

type Result<T> = std::result::Result<T, StorageError>;

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: String,
    user_id: i64,
    created_at: Timestamp,
    expires_at: Timestamp,
    last_seen_at: Timestamp,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StorageError;

    fn try_from(row: SessionRow) -> Result<Self> {
        Ok(SessionRecord {
            id_hash: sha256(&row.id_hash)?,
            user_id: row.user_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_seen_at: row.last_seen_at,
        })
    }
}

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn set_password_hash(&self, user: i64, hash: Option<&str>) -> Result<()> {
        let affected = with_pool!(self, pool => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash).bind(user).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        if affected == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }

    async fn password_hash(&self, user: i64) -> Result<Option<String>> {
        let hash: Option<Option<String>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(hash.flatten())
    }

    async fn create_session(&self, record: &SessionRecord) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(record.id_hash.to_hex()).bind(record.user_id).bind(record.created_at)
            .bind(record.expires_at).bind(record.last_seen_at)
            .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn session(&self, id_hash: &Sha256) -> Result<Option<SessionRecord>> {
        let row: Option<SessionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id_hash, user_id, created_at, expires_at, last_seen_at FROM sessions WHERE id_hash = $1",
            )
            .bind(id_hash.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(SessionRecord::try_from).transpose()
    }

    async fn touch_session(&self, id_hash: &Sha256, now: Timestamp) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now).bind(id_hash.to_hex()).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn delete_session(&self, id_hash: &Sha256) -> Result<bool> {
        let affected = with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash.to_hex()).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(affected > 0)
    }

    async fn delete_user_sessions(&self, user: i64) -> Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user).execute(pool).await.map_err(db_error)?.rows_affected()
        }))
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now).execute(pool).await.map_err(db_error)?.rows_affected()
        }))
    }
}
