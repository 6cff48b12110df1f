//! `TokenStore` for both engines: tokens by secret hash, per user, and revocation.

use kura_model::{Sha256, Timestamp};
use kura_storage::{NewToken, StorageError, TokenRecord, TokenStore, UserRecord};

use crate::pool::{SqlStore, db_error, with_pool};
use crate::rows::{TokenRow, TokenUserRow, token_columns};

/// A token with its user, by secret hash (`$1` reads as `?1` in SQLite too).
pub(crate) const TOKEN_WITH_USER: &str = "SELECT t.id, t.user_id, t.name, t.role, t.created_at, t.expires_at, \
     t.scopes, t.last_used_at, t.revoked_at, u.name AS user_name, u.is_admin AS user_is_admin, \
     u.created_at AS user_created_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = $1";

type Result<T> = std::result::Result<T, StorageError>;

#[async_trait::async_trait]
impl TokenStore for SqlStore {
    async fn create_token(&self, token: NewToken) -> Result<TokenRecord> {
        let scopes: Vec<String> = token.scopes.iter().map(ToString::to_string).collect();
        let scopes = serde_json::to_string(&scopes).map_err(StorageError::backend)?;
        let row: TokenRow = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "INSERT INTO tokens (user_id, name, role, secret_hash, created_at, expires_at, scopes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ", token_columns!()
            ))
            .bind(token.user_id).bind(&token.name).bind(token.role.as_str()).bind(token.secret_hash.to_hex())
            .bind(token.created_at).bind(token.expires_at).bind(&scopes)
            .fetch_one(pool).await.map_err(db_error)?
        });
        row.try_into()
    }

    async fn token_by_hash(&self, secret_hash: &Sha256) -> Result<Option<TokenRecord>> {
        let row: Option<TokenRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", token_columns!(), " FROM tokens WHERE secret_hash = $1"))
                .bind(secret_hash.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(TokenRecord::try_from).transpose()
    }

    async fn token_with_user(&self, secret_hash: &Sha256) -> Result<Option<(TokenRecord, UserRecord)>> {
        if let Some(Ok(found)) = self.reader.as_ref().map(|reader| reader.token_with_user(secret_hash)) {
            return Ok(found);
        }
        let row: Option<TokenUserRow> = with_pool!(self, pool => {
            sqlx::query_as(TOKEN_WITH_USER)
                .bind(secret_hash.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(TokenUserRow::split).transpose()
    }

    async fn token_by_id(&self, id: i64) -> Result<Option<TokenRecord>> {
        let row: Option<TokenRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", token_columns!(), " FROM tokens WHERE id = $1"))
                .bind(id).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(TokenRecord::try_from).transpose()
    }

    async fn list_tokens(&self, user: i64) -> Result<Vec<TokenRecord>> {
        let rows: Vec<TokenRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", token_columns!(), " FROM tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id"
            ))
            .bind(user).fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter().map(TokenRecord::try_from).collect()
    }

    async fn touch_token(&self, id: i64, now: Timestamp) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<()> {
        let affected = with_pool!(self, pool => {
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now).bind(id).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        if affected == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }
}
