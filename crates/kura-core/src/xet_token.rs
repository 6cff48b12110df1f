//! Xet CAS access tokens and signed xorb fetch URLs. Both name the repo and the caller they
//! were issued to, and every use re-checks that caller's access to the repo as it is now: a
//! revoked token or a removed member loses CAS access at once, not when the token expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kura_cas::MerkleHash;
use kura_model::{RepoId, RepoType};
use kura_storage::RepoRecord;

use crate::auth::{FilesAccess, Identity};
use crate::clock::now_millis;
use crate::error::{CoreError, Result};
use crate::issuer::Issuer;
use crate::xet::xorb_key;
use crate::{ByteStream, Hub};

/// Lifetime of CAS access tokens and fetch URLs, in seconds.
pub(crate) const TOKEN_TTL_SECS: i64 = 3600;

/// What a CAS token allows, as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XetGrant {
    pub repo_type: RepoType,
    pub repo_id: RepoId,
    pub write: bool,
    /// Unix seconds.
    pub expires_at: i64,
    pub issuer: Issuer,
}

/// A CAS token checked against its issuer's access now: the repo and the proof that the
/// issuer may read its files.
#[derive(Debug, Clone)]
pub(crate) struct XetAccess {
    pub(crate) repo: RepoRecord,
    pub(crate) files: FilesAccess,
    issuer: Issuer,
}

fn invalid_token() -> CoreError {
    CoreError::Unauthorized("Invalid or expired Xet access token".to_owned())
}

fn invalid_fetch() -> CoreError {
    CoreError::Forbidden("Invalid or expired fetch URL".to_owned())
}

/// Fails a re-check as `denied` when the issuer lost access, whatever the reason.
fn lost_access(denied: fn() -> CoreError) -> impl Fn(CoreError) -> CoreError {
    move |error| match error {
        CoreError::RepoNotFound
        | CoreError::Forbidden(_)
        | CoreError::Unauthorized(_)
        | CoreError::GatedRepo(_) => denied(),
        other => other,
    }
}

impl Hub {
    pub(crate) fn sign_payload(&self, payload: &str) -> String {
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), self.signer.sign(payload))
    }

    pub(crate) fn open_payload(&self, token: &str) -> Option<String> {
        let (encoded, signature) = token.split_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
        self.signer.verify(&payload, signature).then_some(payload)
    }

    /// Issues a CAS token for the repo (read, or write which implies read).
    pub async fn xet_token(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        write: bool,
    ) -> Result<(String, i64)> {
        if write {
            self.authorize_write(identity, repo).await?;
        } else {
            self.authorize_files(identity, repo).await?;
        }
        let expires_at = now_millis() / 1000 + TOKEN_TTL_SECS;
        let scope = if write { "write" } else { "read" };
        let payload = format!(
            "xet|{scope}|{}|{}|{expires_at}|{}",
            repo.repo_type.as_str(),
            repo.repo_id,
            Issuer::of(identity).encode()
        );
        Ok((self.sign_payload(&payload), expires_at))
    }

    /// Checks a CAS bearer token's signature and expiry: 401 when missing, forged or expired.
    pub fn check_xet_token(&self, bearer: Option<&str>) -> Result<XetGrant> {
        let payload = bearer.and_then(|t| self.open_payload(t)).ok_or_else(invalid_token)?;
        let fields: Vec<&str> = payload.split('|').collect();
        let ["xet", scope, repo_type, repo_id, expires_at, issuer] = fields[..] else {
            return Err(invalid_token());
        };
        let grant = XetGrant {
            repo_type: RepoType::from_singular(repo_type).ok_or_else(invalid_token)?,
            repo_id: RepoId::parse(repo_id).map_err(|_| invalid_token())?,
            write: scope == "write",
            expires_at: expires_at.parse().map_err(|_| invalid_token())?,
            issuer: Issuer::decode(issuer).ok_or_else(invalid_token)?,
        };
        if grant.expires_at <= now_millis() / 1000 {
            return Err(invalid_token());
        }
        Ok(grant)
    }

    /// The grant's repo, with the issuer's access re-checked now (write too for write grants).
    pub(crate) async fn xet_access(&self, grant: &XetGrant) -> Result<XetAccess> {
        self.repo_access(grant.repo_type, &grant.repo_id, &grant.issuer, grant.write, invalid_token).await
    }

    async fn repo_access(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
        issuer: &Issuer,
        write: bool,
        denied: fn() -> CoreError,
    ) -> Result<XetAccess> {
        let repo = self.meta.repo(repo_type, repo_id).await?.ok_or_else(denied)?;
        let identity = self.reauthenticate(issuer, denied).await?;
        if write {
            self.authorize_write(&identity, &repo).await.map_err(lost_access(denied))?;
        }
        let files = self.authorize_files(&identity, &repo).await.map_err(lost_access(denied))?;
        Ok(XetAccess { repo, files, issuer: issuer.clone() })
    }

    /// A signed URL for bytes `[start, end]` of a xorb, for the issuer of `access`.
    pub(crate) fn fetch_token(&self, access: &XetAccess, xorb: &MerkleHash, start: u64, end: u64) -> String {
        let expires_at = now_millis() / 1000 + TOKEN_TTL_SECS;
        self.sign_payload(&format!(
            "fetch|{}|{start}|{end}|{expires_at}|{}|{}|{}",
            xorb.to_hex(),
            access.repo.repo_type.as_str(),
            access.repo.repo_id,
            access.issuer.encode()
        ))
    }

    /// Serves xorb bytes for a signed fetch URL; 403 once expired, when the range strays
    /// outside what was signed, or when the issuer may no longer read the repo.
    pub async fn fetch_xorb_range(
        &self,
        token: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, u64, ByteStream)> {
        let payload = self.open_payload(token).ok_or_else(invalid_fetch)?;
        let fields: Vec<&str> = payload.split('|').collect();
        let ["fetch", xorb, start, end, expires_at, repo_type, repo_id, issuer] = fields[..] else {
            return Err(invalid_fetch());
        };
        let parse = |text: &str| text.parse::<u64>().map_err(|_| invalid_fetch());
        let (start, end, expires_at) = (parse(start)?, parse(end)?, parse(expires_at)?);
        if expires_at <= (now_millis() / 1000) as u64 {
            return Err(invalid_fetch());
        }
        let (from, to) = range.unwrap_or((start, end));
        if from < start || to > end || from > to {
            return Err(invalid_fetch());
        }
        let hash = MerkleHash::from_hex(xorb).map_err(|_| invalid_fetch())?;
        let repo_type = RepoType::from_singular(repo_type).ok_or_else(invalid_fetch)?;
        let repo_id = RepoId::parse(repo_id).map_err(|_| invalid_fetch())?;
        let issuer = Issuer::decode(issuer).ok_or_else(invalid_fetch)?;
        self.repo_access(repo_type, &repo_id, &issuer, false, invalid_fetch).await?;
        let stream = self.blobs.get(&xorb_key(&hash), from, Some(to - from + 1)).await?;
        Ok((from, to, stream))
    }
}
