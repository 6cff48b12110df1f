//! `SessionStore` for both engines: users' password hashes and browser sessions.

use kura_model::{Sha256, Timestamp};
use kura_storage::{SessionRecord, SessionStore, StorageError};

use crate::pool::{SqlStore, db_error, with_pool};

type Result<T> = std::result::Result<T, StorageError>;

type SessionRow = (String, i64, i64, i64, i64);

fn session((id_hash, user_id, created_at, expires_at, last_seen_at): SessionRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id_hash: Sha256::from_hex(&id_hash).map_err(StorageError::backend)?,
        user_id,
        created_at,
        expires_at,
        last_seen_at,
    })
}

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn set_password_hash(&self, user: i64, hash: Option<&str>) -> Result<()> {
        let sql = self.sql("UPDATE users SET password_hash = ? WHERE id = ?");
        let affected = with_pool!(self, pool => {
            sqlx::query(sql).bind(hash).bind(user).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        if affected == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }

    async fn password_hash(&self, user: i64) -> Result<Option<String>> {
        let sql = self.sql("SELECT password_hash FROM users WHERE id = ?");
        let hash: Option<Option<String>> = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(user).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(hash.flatten())
    }

    async fn create_session(&self, record: &SessionRecord) -> Result<()> {
        let sql = self.sql(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
        );
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(record.id_hash.to_hex()).bind(record.user_id).bind(record.created_at)
                .bind(record.expires_at).bind(record.last_seen_at)
                .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn session(&self, id_hash: &Sha256) -> Result<Option<SessionRecord>> {
        let sql = self.sql(
            "SELECT id_hash, user_id, created_at, expires_at, last_seen_at FROM sessions WHERE id_hash = ?",
        );
        let row: Option<SessionRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id_hash.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(session).transpose()
    }

    async fn touch_session(&self, id_hash: &Sha256, now: Timestamp) -> Result<()> {
        let sql = self.sql("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?");
        with_pool!(self, pool => {
            sqlx::query(sql).bind(now).bind(id_hash.to_hex()).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn delete_session(&self, id_hash: &Sha256) -> Result<bool> {
        let sql = self.sql("DELETE FROM sessions WHERE id_hash = ?");
        let affected = with_pool!(self, pool => {
            sqlx::query(sql).bind(id_hash.to_hex()).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(affected > 0)
    }

    async fn delete_user_sessions(&self, user: i64) -> Result<u64> {
        let sql = self.sql("DELETE FROM sessions WHERE user_id = ?");
        Ok(with_pool!(self, pool => {
            sqlx::query(sql).bind(user).execute(pool).await.map_err(db_error)?.rows_affected()
        }))
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        let sql = self.sql("DELETE FROM sessions WHERE expires_at <= ?");
        Ok(with_pool!(self, pool => {
            sqlx::query(sql).bind(now).execute(pool).await.map_err(db_error)?.rows_affected()
        }))
    }
}
