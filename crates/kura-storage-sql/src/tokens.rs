//! `TokenStore` for both engines: tokens by secret hash, per user, and revocation.

use kura_model::{Sha256, Timestamp};
use kura_storage::{NewToken, StorageError, TokenRecord, TokenStore};

use crate::pool::{SqlStore, db_error, with_pool};
use crate::rows::{self, TOKEN_COLUMNS};

type Result<T> = std::result::Result<T, StorageError>;

#[async_trait::async_trait]
impl TokenStore for SqlStore {
    async fn create_token(&self, token: NewToken) -> Result<TokenRecord> {
        let scopes: Vec<String> = token.scopes.iter().map(ToString::to_string).collect();
        let scopes = serde_json::to_string(&scopes).map_err(StorageError::backend)?;
        let sql = self.sql(&format!(
            "INSERT INTO tokens (user_id, name, role, secret_hash, created_at, expires_at, scopes) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {TOKEN_COLUMNS}"
        ));
        with_pool!(self, pool => {
            let row = sqlx::query(sql)
                .bind(token.user_id).bind(&token.name).bind(token.role.as_str()).bind(token.secret_hash.to_hex())
                .bind(token.created_at).bind(token.expires_at).bind(&scopes)
                .fetch_one(pool).await.map_err(db_error)?;
            rows::token(&row)
        })
    }

    async fn token_by_hash(&self, secret_hash: &Sha256) -> Result<Option<TokenRecord>> {
        let sql = self.sql(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?"));
        with_pool!(self, pool => {
            let row = sqlx::query(sql).bind(secret_hash.to_hex()).fetch_optional(pool).await.map_err(db_error)?;
            row.map(|r| rows::token(&r)).transpose()
        })
    }

    async fn token_by_id(&self, id: i64) -> Result<Option<TokenRecord>> {
        let sql = self.sql(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?"));
        with_pool!(self, pool => {
            let row = sqlx::query(sql).bind(id).fetch_optional(pool).await.map_err(db_error)?;
            row.map(|r| rows::token(&r)).transpose()
        })
    }

    async fn list_tokens(&self, user: i64) -> Result<Vec<TokenRecord>> {
        let sql = self.sql(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at, id"
        ));
        with_pool!(self, pool => {
            let found = sqlx::query(sql).bind(user).fetch_all(pool).await.map_err(db_error)?;
            found.iter().map(rows::token).collect()
        })
    }

    async fn touch_token(&self, id: i64, now: Timestamp) -> Result<()> {
        let sql = self.sql("UPDATE tokens SET last_used_at = ? WHERE id = ?");
        with_pool!(self, pool => {
            sqlx::query(sql).bind(now).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<()> {
        let sql = self.sql("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
        let affected = with_pool!(self, pool => {
            sqlx::query(sql).bind(now).bind(id).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        if affected == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }
}
