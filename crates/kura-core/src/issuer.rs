//! Who a signed URL or CAS token was issued to. Each use of one re-checks that its issuer still
//! has the access it was issued with, so revoking a token, ending a session or removing a
//! member stops every URL handed out to them at once, not when the URL expires.

use kura_model::Sha256;

use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::services::Accounts;

/// The caller a capability was issued to; inside signed claims in its text form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Issuer {
    Anonymous,
    /// An access token, by id.
    Token(i64),
    /// A browser session, by the hash of its cookie value (never the value itself).
    Session(Sha256),
}

impl Issuer {
    pub fn of(identity: &Identity) -> Self {
        match identity.principal() {
            None => Issuer::Anonymous,
            Some(p) => match &p.session {
                Some(session) => Issuer::Session(session.id_hash),
                None => Issuer::Token(p.token.id),
            },
        }
    }

    /// Text form for signed claims: `-`, `t<id>` or `s<hex>`.
    pub(crate) fn encode(&self) -> String {
        match self {
            Issuer::Anonymous => "-".to_owned(),
            Issuer::Token(id) => format!("t{id}"),
            Issuer::Session(hash) => format!("s{}", hash.to_hex()),
        }
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        if text == "-" {
            return Some(Issuer::Anonymous);
        }
        if let Some(id) = text.strip_prefix('t') {
            return id.parse().ok().map(Issuer::Token);
        }
        text.strip_prefix('s').and_then(|hex| Sha256::from_hex(hex).ok()).map(Issuer::Session)
    }
}

impl From<Issuer> for String {
    fn from(issuer: Issuer) -> String {
        issuer.encode()
    }
}

impl TryFrom<String> for Issuer {
    type Error = &'static str;

    fn try_from(text: String) -> std::result::Result<Self, Self::Error> {
        Issuer::decode(&text).ok_or("not an issuer")
    }
}

impl Accounts<'_> {
    /// The identity behind an issuer as it stands now: a revoked or expired token, an ended
    /// session or a deleted user is `denied`.
    pub(crate) async fn reauthenticate(
        &self,
        issuer: &Issuer,
        denied: fn() -> CoreError,
    ) -> Result<Identity> {
        let identity = match issuer {
            Issuer::Anonymous => return Ok(Identity::Anonymous),
            Issuer::Token(id) => match self.meta.token_by_id(*id).await? {
                Some(token) => self.token_identity(token).await,
                None => return Err(denied()),
            },
            Issuer::Session(hash) => self.session_identity(hash).await,
        };
        identity.map_err(|error| match error {
            CoreError::Unauthorized(_) => denied(),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_round_trip() {
        for issuer in [Issuer::Anonymous, Issuer::Token(42), Issuer::Session(Sha256::digest(b"s"))] {
            assert_eq!(Issuer::decode(&issuer.encode()), Some(issuer));
        }
        for bad in ["", "t", "tx", "s12", "x1", "t-"] {
            assert_eq!(Issuer::decode(bad), None, "{bad}");
        }
    }
}
