//! Xet CAS access tokens and signed xorb fetch URLs. Both name the repo and the caller they
//! were issued to, and every use re-checks that caller's access to the repo as it is now: a
//! revoked token or a removed member loses CAS access at once, not when the token expires.

use kura_cas::MerkleHash;
use kura_model::{RepoId, RepoType};
use kura_storage::RepoRecord;
use serde::{Deserialize, Serialize};

use crate::ByteStream;
use crate::auth::{FilesAccess, Identity};
use crate::claims::{self, Claim, Kind, text};
use crate::error::{CoreError, Result};
use crate::issuer::Issuer;
use crate::services::Xet;
use crate::xet::xorb_key;

/// Lifetime of CAS access tokens and fetch URLs, in seconds.
pub(crate) const TOKEN_TTL_SECS: i64 = 3600;

/// What a CAS token allows, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XetGrant {
    #[serde(with = "text::repo_type")]
    pub repo_type: RepoType,
    #[serde(with = "text::repo_id")]
    pub repo_id: RepoId,
    pub write: bool,
    /// Unix seconds.
    pub expires_at: i64,
    pub issuer: Issuer,
    /// For a mirrored repo, the caller's forwarded upstream token, sealed (never readable in
    /// the token): what the CAS asks the upstream with on the caller's behalf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

impl Claim for XetGrant {
    const KIND: Kind = Kind::XetToken;
}

/// What a xorb fetch URL allows, as signed: bytes `start..=end` of one xorb, for the issuer
/// while they may read the repo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct XorbFetch {
    xorb: MerkleHash,
    start: u64,
    end: u64,
    /// Unix seconds.
    expires_at: i64,
    #[serde(with = "text::repo_type")]
    repo_type: RepoType,
    #[serde(with = "text::repo_id")]
    repo_id: RepoId,
    issuer: Issuer,
    /// The grant's sealed upstream token, carried on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upstream: Option<String>,
}

impl Claim for XorbFetch {
    const KIND: Kind = Kind::XorbFetch;
}

/// A CAS token checked against its issuer's access now: the repo and the proof that the
/// issuer may read its files.
#[derive(Debug, Clone)]
pub(crate) struct XetAccess {
    pub(crate) scope: XetScope,
    issuer: Issuer,
    upstream: Option<String>,
}

/// What a CAS token reaches.
#[derive(Debug, Clone)]
pub(crate) enum XetScope {
    /// A hosted repo, with the issuer's proof that it may read its files.
    Hosted { repo: Box<RepoRecord>, files: Box<FilesAccess> },
    /// A mirrored repo (read only): its holdings, and what the mirror fetches on a miss. The
    /// issuer's access to a gated or private upstream repo was confirmed when the token was
    /// issued; the token's life (an hour) is how long that confirmation stands here.
    Mirror(crate::MirrorRepo),
}

impl XetAccess {
    /// The hosted repo of a token that writes (mirrored repos are never written).
    pub(crate) fn hosted(&self) -> Result<&RepoRecord> {
        match &self.scope {
            XetScope::Hosted { repo, .. } => Ok(repo),
            XetScope::Mirror(_) => Err(CoreError::Forbidden("A mirrored repo is read-only".to_owned())),
        }
    }

    fn names(&self) -> (RepoType, RepoId) {
        match &self.scope {
            XetScope::Hosted { repo, .. } => (repo.repo_type, repo.repo_id.clone()),
            XetScope::Mirror(mirror) => (mirror.repo_type(), mirror.repo_id().clone()),
        }
    }
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

impl Xet<'_> {
    /// Issues a CAS token for the repo (read, or write which implies read). A write token for
    /// a pull request needs only the right to contribute.
    pub async fn xet_token(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        write: bool,
        pull_request: bool,
    ) -> Result<(String, i64)> {
        if write {
            self.hub.accounts().authorize_upload(identity, repo, pull_request).await?;
        } else {
            self.hub.accounts().authorize_files(identity, repo).await?;
        }
        let grant = XetGrant {
            repo_type: repo.repo_type,
            repo_id: repo.repo_id.clone(),
            write,
            expires_at: self.now_millis() / 1000 + TOKEN_TTL_SECS,
            issuer: Issuer::of(identity),
            upstream: None,
        };
        Ok((claims::seal(&self.signer, &grant), grant.expires_at))
    }

    /// Issues a read-only CAS token for a mirrored repo a caller opened (`Mirror::open`
    /// checked the caller's access).
    pub fn mirror_xet_token(
        &self,
        identity: &Identity,
        repo: &crate::MirrorRepo,
        forwarded: Option<&str>,
    ) -> Result<(String, i64)> {
        let upstream = forwarded.map(|token| self.hub.mirror().seal_forwarded(token)).transpose()?;
        let grant = XetGrant {
            repo_type: repo.repo_type(),
            repo_id: repo.repo_id().clone(),
            write: false,
            expires_at: self.now_millis() / 1000 + TOKEN_TTL_SECS,
            issuer: Issuer::of(identity),
            upstream,
        };
        Ok((claims::seal(&self.signer, &grant), grant.expires_at))
    }

    /// Checks a CAS bearer token's signature and expiry: 401 when missing, forged or expired.
    pub fn check_xet_token(&self, bearer: Option<&str>) -> Result<XetGrant> {
        let grant: XetGrant = bearer.and_then(|t| claims::open(&self.signer, t)).ok_or_else(invalid_token)?;
        if grant.expires_at <= self.now_millis() / 1000 {
            return Err(invalid_token());
        }
        Ok(grant)
    }

    /// The grant's repo, with the issuer's access re-checked now (uploads too for write grants).
    pub(crate) async fn xet_access(&self, grant: &XetGrant) -> Result<XetAccess> {
        let sealed = grant.upstream.as_deref();
        self.repo_access(grant.repo_type, &grant.repo_id, &grant.issuer, grant.write, sealed, invalid_token)
            .await
    }

    async fn repo_access(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
        issuer: &Issuer,
        write: bool,
        sealed: Option<&str>,
        denied: fn() -> CoreError,
    ) -> Result<XetAccess> {
        let Some(repo) = self.meta.repo(repo_type, repo_id).await? else {
            if write || !self.hub.mirror().answers_for(repo_type, repo_id).await? {
                return Err(denied());
            }
            let identity = self.hub.accounts().reauthenticate(issuer, denied).await?;
            let forwarded =
                sealed.map(|s| self.hub.mirror().unseal_forwarded(s).ok_or_else(denied)).transpose()?;
            let mirror = self.hub.mirror().cas_scope(&identity, forwarded, repo_type, repo_id).await;
            let mirror = mirror.map_err(lost_access(denied))?.ok_or_else(denied)?;
            let upstream = sealed.map(str::to_owned);
            return Ok(XetAccess { scope: XetScope::Mirror(mirror), issuer: issuer.clone(), upstream });
        };
        let identity = self.hub.accounts().reauthenticate(issuer, denied).await?;
        // A write grant uploads content; it never moves a ref. Its issuer must still be able
        // to upload (write access, or contributing a pull request: the grant does not say which).
        if write {
            let accounts = self.hub.accounts();
            accounts.authorize_contribution(&identity, &repo).await.map_err(lost_access(denied))?;
        }
        let files =
            self.hub.accounts().authorize_files(&identity, &repo).await.map_err(lost_access(denied))?;
        Ok(XetAccess {
            scope: XetScope::Hosted { repo: Box::new(repo), files: Box::new(files) },
            issuer: issuer.clone(),
            upstream: None,
        })
    }

    /// A signed URL for bytes `[start, end]` of a xorb, for the issuer of `access`.
    pub(crate) fn fetch_token(&self, access: &XetAccess, xorb: &MerkleHash, start: u64, end: u64) -> String {
        let (repo_type, repo_id) = access.names();
        let fetch = XorbFetch {
            xorb: *xorb,
            start,
            end,
            expires_at: self.now_millis() / 1000 + TOKEN_TTL_SECS,
            repo_type,
            repo_id,
            issuer: access.issuer.clone(),
            upstream: access.upstream.clone(),
        };
        claims::seal(&self.signer, &fetch)
    }

    /// Serves xorb bytes for a signed fetch URL; 403 once expired, when the range strays
    /// outside what was signed, or when the issuer may no longer read the repo.
    pub async fn fetch_xorb_range(
        &self,
        token: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, u64, ByteStream)> {
        let fetch: XorbFetch = claims::open(&self.signer, token).ok_or_else(invalid_fetch)?;
        if fetch.expires_at <= self.now_millis() / 1000 {
            return Err(invalid_fetch());
        }
        let (from, to) = range.unwrap_or((fetch.start, fetch.end));
        if from < fetch.start || to > fetch.end || from > to {
            return Err(invalid_fetch());
        }
        let sealed = fetch.upstream.as_deref();
        self.repo_access(fetch.repo_type, &fetch.repo_id, &fetch.issuer, false, sealed, invalid_fetch)
            .await?;
        let stream = self.blobs.get(&xorb_key(&fetch.xorb), from, Some(to - from + 1)).await?;
        Ok((from, to, stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Capability;
    use crate::signing::Signer;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn fetch() -> XorbFetch {
        XorbFetch {
            xorb: MerkleHash::from_hex(&"ab".repeat(32)).unwrap(),
            start: 10,
            end: 20,
            expires_at: 99,
            repo_type: RepoType::Model,
            repo_id: RepoId::parse("alice/m").unwrap(),
            issuer: Issuer::Anonymous,
            upstream: None,
        }
    }

    #[test]
    fn fetch_urls_round_trip_and_refuse_tampering() {
        let signer = Signer::new(b"k".to_vec());
        let token = claims::seal(&signer, &fetch());
        assert_eq!(claims::open(&signer, &token), Some(fetch()));
        // Widening the signed range by re-encoding the claim breaks the signature.
        let (body, signature) = token.split_once('.').unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
        let widened = json.replace("\"end\":20", "\"end\":2000");
        assert_ne!(widened, json);
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(widened));
        assert_eq!(claims::open::<XorbFetch>(&signer, &forged), None);
    }

    #[test]
    fn fetch_urls_capabilities_and_cas_tokens_do_not_stand_in_for_each_other() {
        let signer = Signer::new(b"k".to_vec());
        let token = claims::seal(&signer, &fetch());
        assert_eq!(claims::open::<XetGrant>(&signer, &token), None);
        assert_eq!(claims::open::<Capability>(&signer, &token), None);
        let grant = XetGrant {
            repo_type: RepoType::Model,
            repo_id: RepoId::parse("alice/m").unwrap(),
            write: false,
            expires_at: 99,
            issuer: Issuer::Anonymous,
            upstream: None,
        };
        assert_eq!(claims::open::<XorbFetch>(&signer, &claims::seal(&signer, &grant)), None);
    }
}
