//! Token port: access tokens stored by the hash of their secret, listed per user, revoked by
//! id (revoked rows stay, so the audit trail and a 401 for the old secret both hold).

use kura_model::{Sha256, Timestamp};

use crate::StorageError;
use crate::records::{NewToken, TokenRecord, UserRecord};

type Result<T> = std::result::Result<T, StorageError>;

/// Access tokens; a supertrait of `MetadataStore`, so every engine has it.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + 'static {
    async fn create_token(&self, token: NewToken) -> Result<TokenRecord>;
    /// The token with this secret hash, revoked or not (the caller decides).
    async fn token_by_hash(&self, secret_hash: &Sha256) -> Result<Option<TokenRecord>>;
    /// `token_by_hash` with the token's user, in one read (every authenticated request asks).
    async fn token_with_user(&self, secret_hash: &Sha256) -> Result<Option<(TokenRecord, UserRecord)>>;
    async fn token_by_id(&self, id: i64) -> Result<Option<TokenRecord>>;
    /// The user's tokens that are not revoked, oldest first.
    async fn list_tokens(&self, user: i64) -> Result<Vec<TokenRecord>>;
    /// Records a use of the token.
    async fn touch_token(&self, id: i64, now: Timestamp) -> Result<()>;
    /// Revokes a token; `NotFound` when there is no such token or it is already revoked.
    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<()>;
}
