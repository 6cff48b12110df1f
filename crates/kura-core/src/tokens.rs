//! Access tokens: issued by the operator (CLI) or by users for themselves (HTTP), listed and
//! revoked. Only the SHA-256 of a secret is stored; the secret is shown once, at creation.

use std::sync::PoisonError;

use kura_model::{MAX_SCOPES, Role, Sha256, Timestamp, TokenScope};
use kura_storage::{NewToken, StorageError, TokenRecord, UserRecord};
use rand::Rng;

use crate::audit::Authority;
use crate::error::{CoreError, Result};
use crate::services::Accounts;

/// Longest token name accepted.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;
/// Tokens a user may create in a burst over HTTP, and how fast the allowance comes back.
pub(crate) const MINT_BURST: u32 = 10;
pub(crate) const MINT_REFILL_MS: i64 = 60_000;

/// What a new token should be.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<Timestamp>,
    /// Required for `Role::FineGrained`, refused for the others.
    pub scopes: Vec<TokenScope>,
}

/// A token just created: its record and the secret, which is never available again.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub record: TokenRecord,
    pub secret: String,
}

fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let body: String = (0..34).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("hf_{body}")
}

fn validate(spec: &TokenSpec, now: Timestamp) -> Result<()> {
    let name = spec.name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(CoreError::invalid(format!(
            "A token name must be 1 to {MAX_TOKEN_NAME_CHARS} characters, without control characters"
        )));
    }
    match (spec.role, spec.scopes.len()) {
        (Role::FineGrained, 0) => {
            return Err(CoreError::invalid("A fine-grained token needs at least one scope"));
        }
        (Role::FineGrained, n) if n > MAX_SCOPES => {
            return Err(CoreError::invalid(format!("A token may have at most {MAX_SCOPES} scopes")));
        }
        (Role::Read | Role::Write, n) if n > 0 => {
            return Err(CoreError::invalid("Only fine-grained tokens have scopes"));
        }
        _ => {}
    }
    if spec.expires_at.is_some_and(|at| at <= now) {
        return Err(CoreError::invalid("The expiry date must be in the future"));
    }
    Ok(())
}

impl Accounts<'_> {
    /// Issues a token for `user` as the operator and returns its secret (admin CLI, tests).
    pub async fn create_token(&self, user: &str, name: &str, role: Role) -> Result<String> {
        let spec = TokenSpec { name: name.to_owned(), role, expires_at: None, scopes: Vec::new() };
        Ok(self.issue_token(Authority::Operator, user, spec).await?.secret)
    }

    /// Issues a token. Over HTTP a user creates tokens for themselves only, with a write token
    /// (a read or fine-grained token cannot mint tokens), and at a limited rate.
    pub async fn issue_token(
        &self,
        authority: Authority<'_>,
        user: &str,
        spec: TokenSpec,
    ) -> Result<IssuedToken> {
        let now = self.now_millis();
        let owner = self.token_owner(authority, user, true).await?;
        validate(&spec, now)?;
        if let Authority::Caller(_) = authority {
            let taken = self
                .hub
                .account_state
                .token_mints
                .lock()
                // A poisoned limiter is taken over: at worst one bucket is off by one token,
                // where refusing would fail every later mint with a 500.
                .unwrap_or_else(PoisonError::into_inner)
                .take(owner.id, now);
            if let Err(wait_ms) = taken {
                let retry_after_secs = u64::try_from(wait_ms.max(0)).unwrap_or(0).div_ceil(1000).max(1);
                return Err(CoreError::RateLimited { retry_after_secs });
            }
        }
        let secret = new_secret();
        let record = self
            .meta
            .create_token(NewToken {
                user_id: owner.id,
                name: spec.name.trim().to_owned(),
                role: spec.role,
                secret_hash: Sha256::digest(secret.as_bytes()),
                created_at: now,
                expires_at: spec.expires_at,
                scopes: spec.scopes,
            })
            .await?;
        let scopes: Vec<String> = record.scopes.iter().map(ToString::to_string).collect();
        let details = serde_json::json!({
            "id": record.id, "name": record.name, "role": record.role.as_str(),
            "expiresAt": record.expires_at, "scopes": scopes,
        });
        self.audit(authority.actor(), "token.create", format!("user:{}", owner.name), details).await;
        Ok(IssuedToken { record, secret })
    }

    /// The tokens of `user` that are not revoked (never their secrets).
    pub async fn list_tokens(&self, authority: Authority<'_>, user: &str) -> Result<Vec<TokenRecord>> {
        let owner = self.token_owner(authority, user, false).await?;
        Ok(self.meta.list_tokens(owner.id).await?)
    }

    /// Revokes a token: the caller's own (with a write token), any (server admins, operator).
    /// Anything else is "not found", so ids of other users' tokens reveal nothing.
    pub async fn revoke_token(&self, authority: Authority<'_>, id: i64) -> Result<TokenRecord> {
        let not_found = || CoreError::NotFound("Token not found".to_owned());
        let token =
            self.meta.token_by_id(id).await?.filter(|t| t.revoked_at.is_none()).ok_or_else(not_found)?;
        let owner = self.meta.user_by_id(token.user_id).await?.ok_or_else(not_found)?;
        if let Authority::Caller(identity) = authority {
            let caller = manager(identity, true)?;
            if caller.user.id != owner.id && !caller.user.is_admin {
                return Err(not_found());
            }
        }
        self.meta.revoke_token(id, self.now_millis()).await.map_err(|e| match e {
            StorageError::NotFound => not_found(),
            other => other.into(),
        })?;
        let details = serde_json::json!({"id": id, "name": token.name});
        self.audit(authority.actor(), "token.revoke", format!("user:{}", owner.name), details).await;
        Ok(token)
    }

    /// The user whose tokens are managed: for a caller, only themselves (server admins may
    /// list anyone's); `write` when the action changes tokens.
    async fn token_owner(&self, authority: Authority<'_>, user: &str, write: bool) -> Result<UserRecord> {
        if let Authority::Caller(identity) = authority {
            let caller = manager(identity, write)?;
            let admin_reading = caller.user.is_admin && !write;
            if caller.user.name != user && !admin_reading {
                return Err(CoreError::Forbidden("You can only manage your own tokens".to_owned()));
            }
        }
        let found = self.meta.user_by_name(user).await?;
        found.ok_or_else(|| CoreError::invalid(format!("No user named '{user}'")))
    }
}

/// The caller, if its token may manage tokens: write tokens always, read tokens only to list;
/// fine-grained tokens never (they are for repos).
pub(crate) fn manager(identity: &crate::Identity, write: bool) -> Result<&crate::Principal> {
    let principal = identity
        .principal()
        .ok_or_else(|| CoreError::Unauthorized("You must be authenticated to manage tokens".to_owned()))?;
    match principal.token.role {
        Role::Write => Ok(principal),
        Role::Read if !write => Ok(principal),
        _ => Err(CoreError::Forbidden("Managing tokens needs a token with the write role".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use kura_model::{Role, TokenScope};

    use super::{TokenSpec, new_secret, validate};

    #[test]
    fn secrets_look_like_hub_tokens() {
        let secret = new_secret();
        assert!(secret.starts_with("hf_") && secret.len() == 37);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn specs_are_validated() {
        let scope = TokenScope::parse("alice=repo.write").unwrap();
        let spec = |name: &str, role, expires_at, scopes: Vec<TokenScope>| TokenSpec {
            name: name.into(),
            role,
            expires_at,
            scopes,
        };
        assert!(validate(&spec("ci", Role::Write, Some(11), vec![]), 10).is_ok());
        assert!(validate(&spec("ci", Role::FineGrained, None, vec![scope.clone()]), 10).is_ok());
        for bad in [
            spec(" ", Role::Read, None, vec![]),
            spec(&"x".repeat(101), Role::Read, None, vec![]),
            spec("a\nb", Role::Read, None, vec![]),
            spec("ci", Role::FineGrained, None, vec![]),
            spec("ci", Role::Read, None, vec![scope]),
            spec("ci", Role::Write, Some(10), vec![]),
        ] {
            assert!(validate(&bad, 10).is_err(), "{bad:?}");
        }
    }
}
