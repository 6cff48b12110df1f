//! Login port: users' password hashes and browser sessions (stored by the hash of their id).

use kura_model::{Sha256, Timestamp};

use crate::StorageError;

type Result<T> = std::result::Result<T, StorageError>;

/// A browser session as stored: the cookie value itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: Sha256,
    pub user_id: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// Password hashes and sessions; a supertrait of `MetadataStore`, so every engine has it.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Sets (or with `None` clears) a user's password hash (a PHC string); `NotFound` when
    /// there is no such user.
    async fn set_password_hash(&self, user: i64, hash: Option<&str>) -> Result<()>;
    async fn password_hash(&self, user: i64) -> Result<Option<String>>;
    /// Records a session; `AlreadyExists` when the id hash is taken.
    async fn create_session(&self, session: &SessionRecord) -> Result<()>;
    async fn session(&self, id_hash: &Sha256) -> Result<Option<SessionRecord>>;
    async fn touch_session(&self, id_hash: &Sha256, now: Timestamp) -> Result<()>;
    /// Deletes one session; `Ok(false)` when there was none.
    async fn delete_session(&self, id_hash: &Sha256) -> Result<bool>;
    /// Deletes every session of a user (after a password change); returns how many.
    async fn delete_user_sessions(&self, user: i64) -> Result<u64>;
    /// Deletes sessions that expired at or before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64>;
}
