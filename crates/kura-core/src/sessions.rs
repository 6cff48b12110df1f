//! Password login and browser sessions: argon2id password hashes, random session ids stored
//! only as hashes, CSRF tokens derived from the session, and login rate limits.

use std::net::IpAddr;
use std::time::Instant;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use kura_model::{Role, Sha256, Timestamp};
use kura_storage::{SessionRecord, TokenRecord, UserRecord};
use serde_json::json;

use crate::auth::{Identity, Principal};
use crate::error::{CoreError, Result};
use crate::login_limit::{LoginLimiter, address_key};
use crate::services::Accounts;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "kura_session";

/// The `Set-Cookie` value of a session: `value` lives `max_age_secs` (0 deletes it), never
/// readable by scripts, not sent on cross-site posts, `Secure` when the server is on https.
/// Both edges (API login, page login) set the cookie with this.
pub fn session_set_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// The session cookie's value among the values of a request's `Cookie` headers.
pub fn session_from_cookies<'a>(headers: impl Iterator<Item = &'a str>) -> Option<String> {
    headers
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}
/// How long a session lasts after login.
pub const SESSION_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;
/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in bytes (hashing cost grows with length).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The one answer to a failed login, whichever part was wrong.
pub const LOGIN_FAILED: &str = "Invalid username or password";
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The browser session a caller authenticated with.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: Sha256,
    pub expires_at: Timestamp,
}

/// What a successful login hands the browser.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub user: String,
    /// The cookie value; only its hash is stored.
    pub secret: String,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// Per-hub login state: rate limits and the hash that unknown users are checked against.
#[derive(Debug, Default)]
pub(crate) struct Logins {
    limiter: LoginLimiter,
    dummy_hash: tokio::sync::OnceCell<String>,
}

async fn hash_password(password: String) -> Result<String> {
    let salt: [u8; 16] = rand::random();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| CoreError::Corrupt(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| CoreError::Corrupt(format!("password hashing task: {e}")))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A fresh 256-bit session id, hex.
fn new_session_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub(crate) fn is_session_secret(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn session_expired() -> CoreError {
    CoreError::Unauthorized("Invalid or expired session".to_owned())
}

/// The token a session acts with: write role, as the user would have on the web.
fn session_token(user: &UserRecord, record: &SessionRecord) -> TokenRecord {
    TokenRecord {
        id: 0,
        user_id: user.id,
        name: "web session".to_owned(),
        role: Role::Write,
        created_at: record.created_at,
        expires_at: Some(record.expires_at),
        scopes: Vec::new(),
        last_used_at: Some(record.last_seen_at),
        revoked_at: None,
    }
}

impl Accounts<'_> {
    /// Sets a user's password (admin CLI) and ends their sessions.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<()> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(CoreError::invalid(format!(
                "A password needs at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(CoreError::invalid(format!("A password has at most {MAX_PASSWORD_BYTES} bytes")));
        }
        let user = self
            .meta
            .user_by_name(name)
            .await?
            .ok_or_else(|| CoreError::invalid(format!("No user named '{name}'")))?;
        let hash = hash_password(password.to_owned()).await?;
        self.meta.set_password_hash(user.id, Some(&hash)).await?;
        let ended = self.meta.delete_user_sessions(user.id).await?;
        self.audit(None, "user.password", format!("user:{name}"), json!({"sessions_ended": ended})).await;
        Ok(())
    }

    /// Checks a user name and password and opens a session. Unknown users, users without a
    /// password and wrong passwords fail alike, after the same amount of hashing work.
    pub async fn login(&self, name: &str, password: &str, client: Option<IpAddr>) -> Result<LoginOutcome> {
        let mut keys = vec![format!("user:{}", name.to_lowercase())];
        keys.extend(client.map(address_key));
        if let Err(wait) = self.hub.account_state.logins.limiter.attempt(&keys, Instant::now()) {
            return Err(CoreError::RateLimited { retry_after_secs: wait.as_secs_f64().ceil() as u64 });
        }
        let user = self.meta.user_by_name(name).await?;
        let stored = match &user {
            Some(user) => self.meta.password_hash(user.id).await?,
            None => None,
        };
        let checked = match &stored {
            Some(hash) => hash.clone(),
            None => self.dummy_hash().await?,
        };
        let password_ok = password.len() <= MAX_PASSWORD_BYTES
            && verify_password(password.to_owned(), checked).await
            && stored.is_some();
        let ip = client.map(|ip| ip.to_string());
        let (Some(user), true) = (user, password_ok) else {
            let target: String = name.chars().take(100).collect();
            self.audit(None, "login.failure", format!("user:{target}"), json!({"ip": ip})).await;
            return Err(CoreError::Unauthorized(LOGIN_FAILED.to_owned()));
        };
        let now = self.now_millis();
        let secret = new_session_secret();
        let record = SessionRecord {
            id_hash: Sha256::digest(secret.as_bytes()),
            user_id: user.id,
            created_at: now,
            expires_at: now + SESSION_LIFETIME_MS,
            last_seen_at: now,
        };
        self.meta.create_session(&record).await?;
        // Expired sessions are swept here, a cheap indexed delete, so the table stays small.
        if let Err(error) = self.meta.delete_expired_sessions(now).await {
            tracing::warn!(?error, "could not delete expired sessions");
        }
        self.audit(Some(&user.name), "login", format!("user:{}", user.name), json!({"ip": ip})).await;
        let session = Session { id_hash: record.id_hash, expires_at: record.expires_at };
        Ok(LoginOutcome {
            user: user.name,
            csrf_token: self.csrf_token(&session),
            secret,
            expires_at: record.expires_at,
        })
    }

    async fn dummy_hash(&self) -> Result<String> {
        let hash = self
            .hub
            .account_state
            .logins
            .dummy_hash
            .get_or_try_init(|| hash_password(new_session_secret()))
            .await?;
        Ok(hash.clone())
    }

    /// Resolves a session cookie; an unknown or expired session is an error.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Identity> {
        if !is_session_secret(secret) {
            return Err(session_expired());
        }
        self.session_identity(&Sha256::digest(secret.as_bytes())).await
    }

    /// The identity of a stored session: `Unauthorized` once it expired or ended.
    pub(crate) async fn session_identity(&self, id_hash: &Sha256) -> Result<Identity> {
        let id_hash = *id_hash;
        let record = self.meta.session(&id_hash).await?.ok_or_else(session_expired)?;
        let now = self.now_millis();
        if record.expires_at <= now {
            self.meta.delete_session(&id_hash).await?;
            return Err(session_expired());
        }
        let user = self.meta.user_by_id(record.user_id).await?.ok_or_else(session_expired)?;
        if now - record.last_seen_at >= TOUCH_EVERY_MS {
            self.meta.touch_session(&id_hash, now).await?;
        }
        let token = session_token(&user, &record);
        let session = Some(Box::new(Session { id_hash, expires_at: record.expires_at }));
        Ok(Identity::User(Principal { user, token, session }))
    }

    /// Ends the caller's session (the one it authenticated with).
    pub async fn logout(&self, identity: &Identity) -> Result<()> {
        let Some((principal, session)) = identity.principal().and_then(|p| Some((p, p.session.as_ref()?)))
        else {
            return Err(CoreError::Unauthorized("Not logged in with a session".to_owned()));
        };
        self.meta.delete_session(&session.id_hash).await?;
        let target = format!("user:{}", principal.user.name);
        self.audit(Some(&principal.user.name), "logout", target, json!({})).await;
        Ok(())
    }

    /// The CSRF token of a session: an HMAC of its id hash, so every replica agrees.
    pub fn csrf_token(&self, session: &Session) -> String {
        self.signer.sign(format!("csrf:{}", session.id_hash.to_hex()))
    }

    /// State-changing requests made with a session cookie must echo its CSRF token; other
    /// callers (tokens, anonymous) are not concerned.
    pub fn check_csrf(&self, identity: &Identity, provided: Option<&str>) -> Result<()> {
        let Some(session) = identity.principal().and_then(|p| p.session.as_ref()) else {
            return Ok(());
        };
        let payload = format!("csrf:{}", session.id_hash.to_hex());
        match provided {
            Some(token) if self.signer.verify(&payload, token) => Ok(()),
            _ => Err(CoreError::Forbidden("Missing or invalid X-CSRF-Token header".to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let hash = super::hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(super::verify_password("correct horse".into(), hash.clone()).await);
        assert!(!super::verify_password("correct horsf".into(), hash).await);
        assert!(!super::verify_password("x".into(), "not a hash".into()).await);
    }

    #[test]
    fn session_secrets_are_256_bit_hex() {
        let secret = super::new_session_secret();
        assert!(super::is_session_secret(&secret));
        assert_ne!(secret, super::new_session_secret());
        assert!(!super::is_session_secret("abc"));
        assert!(!super::is_session_secret(&"g".repeat(64)));
    }
}
