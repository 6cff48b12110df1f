//! External tokens: a user's own token for the mirror's upstream hub, stored so the mirror can
//! read gated and private upstream repos as that user. kura never shows it again, never sends
//! it anywhere but the upstream, and stores it sealed (ChaCha20-Poly1305 under a key derived
//! from the URL-signing key, bound to the user), so a copy of the table alone reveals nothing.
//! Someone with the whole database (including the signing key) can unseal them; the operator
//! guide says so.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};

use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::services::Mirror;

/// The user id forwarded tokens are sealed for (no user has it).
const FORWARDED: i64 = -1;

/// Longest token accepted (the Hub's are 37 characters; OAuth ones are longer).
const MAX_TOKEN_CHARS: usize = 1024;

/// What the settings API shows of a stored token: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTokenStatus {
    pub upstream: Option<String>,
    pub stored_at: Option<kura_model::Timestamp>,
}

/// The sealing key of a hub.
fn key(mirror: &Mirror<'_>) -> [u8; 32] {
    mirror.signer.derive_key("kura external upstream tokens v1")
}

fn seal(key: &[u8; 32], user: i64, token: &str) -> Result<String> {
    let nonce: [u8; 12] = rand::random();
    let sealed = ChaCha20Poly1305::new(key.into())
        .encrypt(&Nonce::from(nonce), Payload { msg: token.as_bytes(), aad: &user.to_be_bytes() })
        .map_err(|_| CoreError::Corrupt("sealing failed".to_owned()))?;
    Ok(format!("v1.{}", STANDARD.encode([nonce.as_slice(), &sealed].concat())))
}

fn unseal(key: &[u8; 32], user: i64, sealed: &str) -> Option<String> {
    let bytes = STANDARD.decode(sealed.strip_prefix("v1.")?).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, body) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let plain = ChaCha20Poly1305::new(key.into())
        .decrypt(&Nonce::from(nonce), Payload { msg: body, aad: &user.to_be_bytes() })
        .ok()?;
    String::from_utf8(plain).ok()
}

/// The caller's user, if its token may manage tokens (write role to change, any to look).
fn user_of(identity: &Identity, write: bool) -> Result<i64> {
    Ok(crate::tokens::manager(identity, write)?.user.id)
}

impl Mirror<'_> {
    /// Stores the caller's upstream token (replacing any earlier one).
    pub async fn set_external_token(&self, identity: &Identity, token: &str) -> Result<()> {
        let user = user_of(identity, true)?;
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CoreError::invalid(format!(
                "An upstream token is 1 to {MAX_TOKEN_CHARS} printable characters without spaces"
            )));
        }
        if self.settings().is_none() {
            return Err(CoreError::NotFound("This kura server mirrors no upstream hub".to_owned()));
        }
        self.meta.put_external_token(user, &seal(&key(self), user, token)?, self.now_millis()).await?;
        Ok(())
    }

    /// Whether the caller stored an upstream token, and for which upstream.
    pub async fn external_token_status(
        &self,
        identity: &Identity,
        upstream: Option<String>,
    ) -> Result<ExternalTokenStatus> {
        let user = user_of(identity, false)?;
        let stored = self.meta.external_token(user).await?;
        Ok(ExternalTokenStatus { upstream, stored_at: stored.map(|(_, at)| at) })
    }

    /// Deletes the caller's upstream token; `false` if there was none.
    pub async fn delete_external_token(&self, identity: &Identity) -> Result<bool> {
        Ok(self.meta.delete_external_token(user_of(identity, true)?).await?)
    }

    /// A forwarded upstream token sealed for a CAS token (which is signed, not secret), bound
    /// to no user (the id -1 is nobody's).
    pub(crate) fn seal_forwarded(&self, token: &str) -> Result<String> {
        seal(&key(self), FORWARDED, token)
    }

    /// The forwarded token a CAS token carries; `None` if it does not open.
    pub(crate) fn unseal_forwarded(&self, sealed: &str) -> Option<String> {
        unseal(&key(self), FORWARDED, sealed)
    }

    /// The caller's own upstream token: the one they stored, if any. A sealed token that no
    /// longer opens (the signing key changed) counts as none.
    pub async fn own_token(&self, identity: &Identity) -> Result<Option<String>> {
        // A fine-grained token reaches only the repos it names here; it never acts with the
        // user's whole upstream identity.
        let Some(principal) = identity.principal() else { return Ok(None) };
        if principal.token.role == kura_model::Role::FineGrained {
            return Ok(None);
        }
        let user = principal.user.id;
        let Some((sealed, _)) = self.meta.external_token(user).await? else { return Ok(None) };
        Ok(unseal(&key(self), user, &sealed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_for_their_user_and_key() {
        let (one, other) = ([1u8; 32], [2u8; 32]);
        let sealed = seal(&one, 7, "hf_secret").unwrap();
        assert!(!sealed.contains("hf_secret"));
        assert_eq!(unseal(&one, 7, &sealed).as_deref(), Some("hf_secret"));
        assert_eq!(unseal(&one, 8, &sealed), None, "bound to the user");
        assert_eq!(unseal(&other, 7, &sealed), None, "and to the key");
        assert_ne!(seal(&one, 7, "hf_secret").unwrap(), sealed, "a fresh nonce each time");
        assert_eq!(unseal(&one, 7, "v1.AAAA"), None);
        assert_eq!(unseal(&one, 7, "garbage"), None);
    }
}
