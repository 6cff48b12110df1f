//! Git LFS uploads: batch planning and the signed capabilities behind self-authorising
//! upload URLs (the client sends those without any Authorization header).

use kura_model::{ByteRange, RepoId, RepoType, Sha256};
use serde::{Deserialize, Serialize};

use kura_storage::RepoRecord;

use crate::ByteStream;
use crate::auth::{FilesAccess, Identity};
use crate::claims::{self, Claim, Kind, text};
use crate::content::ContentStore;
use crate::error::{CoreError, Result};
use crate::issuer::Issuer;
use crate::services::Files;

/// How long upload URLs stay valid. Each use also re-checks the issuer's access.
const CAPABILITY_TTL_MS: i64 = 3600 * 1000;
/// How long a presigned storage URL stays valid: storage cannot re-check the issuer, so this
/// bounds how long a revoked token's download URLs keep working.
pub(crate) const PRESIGNED_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// What a signed URL allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// PUT the whole object.
    Put,
    /// PUT part `n` (1-based) of multipart upload `upload`.
    Part { upload: String, part: u32 },
    /// POST the completion of multipart upload `upload` with `parts` parts.
    Complete { upload: String, parts: u32 },
    /// POST a verify call.
    Verify,
    /// GET the object (git-lfs downloads when storage cannot presign).
    Download,
}

/// A signed permission to touch one object of one repo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    pub action: Action,
    #[serde(with = "text::repo_type")]
    pub repo_type: RepoType,
    #[serde(with = "text::repo_id")]
    pub repo_id: RepoId,
    #[serde(with = "text::sha256")]
    pub oid: Sha256,
    pub size: u64,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// Who it was issued to; every use re-checks that they still have the access.
    pub issuer: Issuer,
}

impl Claim for Capability {
    const KIND: Kind = Kind::LfsCapability;
}

/// Where a git-lfs client fetches one object from.
#[derive(Debug, Clone)]
pub enum DownloadPlan {
    /// A presigned storage URL (used as is).
    Direct(String),
    /// A kura capability token for `GET /_kura/lfs/{token}`.
    Token(String),
    /// The repo does not hold this object.
    Missing,
}

/// The plan for one object of a batch request.
#[derive(Debug, Clone)]
pub enum UploadPlan {
    /// The repo already has it: nothing to send.
    Present,
    /// Single PUT.
    Basic { put: String, verify: String },
    /// Parts of `part_size` bytes, then a completion POST.
    Multipart { part_size: u64, parts: Vec<String>, complete: String, verify: String },
    /// The declared size is above `limit`, the largest object this server accepts.
    TooLarge { limit: u64 },
}

/// Most parts one multipart upload is split into (S3's own limit).
pub const MAX_PARTS_PER_UPLOAD: u64 = 10_000;

fn upload_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Files<'_> {
    /// Encodes a capability as an opaque, signed token.
    pub fn issue(&self, capability: &Capability) -> String {
        claims::seal(&self.signer, capability)
    }

    /// Checks a token's signature, kind and expiry.
    pub fn check(&self, token: &str) -> Result<Capability> {
        let denied = || CoreError::Forbidden("Invalid or expired upload URL".to_owned());
        let capability: Capability = claims::open(&self.signer, token).ok_or_else(denied)?;
        if capability.expires_at <= self.now_millis() {
            return Err(denied());
        }
        Ok(capability)
    }

    /// Plans the upload of each `(oid, size)`; URLs are tokens the HTTP layer turns into links.
    pub async fn plan_uploads(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        objects: &[(Sha256, u64)],
        multipart: bool,
        pull_request: bool,
    ) -> Result<Vec<UploadPlan>> {
        self.hub.accounts().authorize_upload(identity, repo, pull_request).await?;
        let expires_at = self.now_millis() + CAPABILITY_TTL_MS;
        let issuer = Issuer::of(identity);
        let limits = &self.config.limits;
        // Part URLs are what make an answer large: the whole batch shares one budget, and
        // objects past it are PUT whole (clients take what the answer gives).
        let mut parts_left = limits.lfs_max_parts_per_batch;
        let mut plans = Vec::with_capacity(objects.len());
        for &(oid, size) in objects {
            if size > limits.lfs_max_object_bytes {
                plans.push(UploadPlan::TooLarge { limit: limits.lfs_max_object_bytes });
                continue;
            }
            if self.meta.repo_has_lfs_object(repo.id, &oid).await? {
                plans.push(UploadPlan::Present);
                continue;
            }
            let cap = |action| {
                self.issue(&Capability {
                    action,
                    repo_type: repo.repo_type,
                    repo_id: repo.repo_id.clone(),
                    oid,
                    size,
                    expires_at,
                    issuer: issuer.clone(),
                })
            };
            let verify = cap(Action::Verify);
            let part_size = self.part_size(size);
            let count = size.div_ceil(part_size);
            // Only clients that offer the Hub's "multipart" transfer get it; git-lfs (which
            // offers "basic" only) PUTs whole objects.
            if multipart && size > self.config.lfs_multipart_threshold_bytes && count <= parts_left {
                parts_left -= count;
                let upload = upload_id();
                // count <= MAX_PARTS_PER_UPLOAD, so it fits.
                let count = count as u32;
                let parts =
                    (1..=count).map(|part| cap(Action::Part { upload: upload.clone(), part })).collect();
                let complete = cap(Action::Complete { upload, parts: count });
                plans.push(UploadPlan::Multipart { part_size, parts, complete, verify });
            } else {
                plans.push(UploadPlan::Basic { put: cap(Action::Put), verify });
            }
        }
        Ok(plans)
    }

    /// The part size of a multipart upload of `size` bytes: the configured one, or larger when
    /// that would make more than `MAX_PARTS_PER_UPLOAD` parts.
    fn part_size(&self, size: u64) -> u64 {
        self.config.lfs_part_bytes.max(1).max(size.div_ceil(MAX_PARTS_PER_UPLOAD))
    }

    /// Plans git-lfs downloads: only objects this repo holds, for callers who may read files.
    pub async fn plan_downloads(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        objects: &[(Sha256, u64)],
    ) -> Result<Vec<DownloadPlan>> {
        let access = self.hub.accounts().authorize_files(identity, repo).await?;
        let expires_at = self.now_millis() + CAPABILITY_TTL_MS;
        let mut plans = Vec::with_capacity(objects.len());
        for &(oid, _) in objects {
            let Some(read) = self.object_read(&access, &oid).await? else {
                plans.push(DownloadPlan::Missing);
                continue;
            };
            let direct = match read.xet_hash() {
                None => self.content.presigned(&oid, PRESIGNED_TTL).await?,
                Some(_) => None,
            };
            plans.push(match direct {
                Some(url) => DownloadPlan::Direct(url),
                None => DownloadPlan::Token(self.issue(&Capability {
                    action: Action::Download,
                    repo_type: repo.repo_type,
                    repo_id: repo.repo_id.clone(),
                    oid,
                    size: read.size(),
                    expires_at,
                    issuer: Issuer::of(identity),
                })),
            });
        }
        Ok(plans)
    }

    /// Streams an object for a signed download URL, if its issuer may still read it: the bytes
    /// `range` asks for (resolved against the object's size), or all of them. Answers the span
    /// sent (`None` for the whole object) with the stream.
    pub async fn send_object(
        &self,
        capability: &Capability,
        range: Option<ByteRange>,
    ) -> Result<(Option<(u64, u64)>, ByteStream)> {
        if capability.action != Action::Download {
            return Err(CoreError::Forbidden("This URL does not allow downloads".to_owned()));
        }
        let access = self.capability_files(capability).await?;
        let read = self
            .object_read(&access, &capability.oid)
            .await?
            .ok_or_else(|| CoreError::EntryNotFound { path: capability.oid.to_string(), commit: None })?;
        let size = read.size();
        let span = range
            .map(|range| range.resolve(size))
            .transpose()
            .map_err(|_| CoreError::RangeNotSatisfiable { size })?;
        let (offset, len) = span.map_or((0, size), |(first, last)| (first, last - first + 1));
        Ok((span, self.read_object(&read, offset, len).await?))
    }

    /// The repo of a download URL, re-checked against what its issuer may read now.
    async fn capability_files(&self, capability: &Capability) -> Result<FilesAccess> {
        let repo = self.capability_target(capability).await?;
        let identity = self.hub.accounts().reauthenticate(&capability.issuer, url_revoked).await?;
        self.hub.accounts().authorize_files(&identity, &repo).await.map_err(deny_url)
    }

    /// The repo of an upload URL, re-checked against what its issuer may upload now (write
    /// access, or the right to contribute a pull request: the URL does not say which).
    async fn capability_repo(&self, capability: &Capability) -> Result<RepoRecord> {
        let repo = self.capability_target(capability).await?;
        let identity = self.hub.accounts().reauthenticate(&capability.issuer, url_revoked).await?;
        self.hub.accounts().authorize_pull_request(&identity, &repo).await.map_err(deny_url)?;
        Ok(repo)
    }

    async fn capability_target(&self, capability: &Capability) -> Result<RepoRecord> {
        self.meta.repo(capability.repo_type, &capability.repo_id).await?.ok_or(CoreError::RepoNotFound)
    }

    /// Receives a whole object through a signed PUT.
    pub async fn receive_object(&self, capability: &Capability, body: ByteStream) -> Result<()> {
        if capability.action != Action::Put {
            return Err(CoreError::Forbidden("This URL does not allow uploads".to_owned()));
        }
        let repo = self.capability_repo(capability).await?;
        self.hub.xet().ingest_as_xet(capability.oid, capability.size, body).await?;
        Ok(self.meta.link_lfs_object(repo.id, &capability.oid).await?)
    }

    /// Receives one part of a multipart upload; returns its ETag.
    pub async fn receive_part(&self, capability: &Capability, body: ByteStream) -> Result<String> {
        let Action::Part { upload, part } = &capability.action else {
            return Err(CoreError::Forbidden("This URL does not allow part uploads".to_owned()));
        };
        self.capability_repo(capability).await?;
        let early = &self.hub.xet_state.early;
        let feed = early.feed(self.hub, upload, *part, capability.oid, capability.size);
        let body = match &feed {
            Some(feed) => feed.tee(body),
            None => body,
        };
        let stored = self.content.put_part(upload, *part, self.part_size(capability.size), body).await;
        if let Some(feed) = feed {
            feed.stored(stored.is_ok());
        }
        stored
    }

    /// Assembles and verifies a multipart upload.
    pub async fn complete_upload(&self, capability: &Capability) -> Result<()> {
        let Action::Complete { upload, parts } = &capability.action else {
            return Err(CoreError::Forbidden("This URL does not complete uploads".to_owned()));
        };
        let repo = self.capability_repo(capability).await?;
        let early = self.hub.xet_state.early.finish(upload, *parts, capability.oid, capability.size).await;
        let outcome = match early {
            Some(Ok(())) => Ok(()),
            // No early conversion to use, or one that failed: join the stored parts.
            _ => {
                let joined = self.content.joined_parts(upload, *parts).await?;
                self.hub.xet().ingest_as_xet(capability.oid, capability.size, joined).await
            }
        };
        self.content.delete_parts(&ContentStore::part_keys(upload, *parts)).await;
        outcome?;
        Ok(self.meta.link_lfs_object(repo.id, &capability.oid).await?)
    }

    /// Confirms the object is stored, with the size the client declares.
    pub async fn verify_object(&self, capability: &Capability, oid: Sha256, size: u64) -> Result<()> {
        if capability.action != Action::Verify || capability.oid != oid {
            return Err(CoreError::Forbidden("This URL does not verify that object".to_owned()));
        }
        let repo = self.capability_repo(capability).await?;
        let stored = self.stored_object(&oid).await?.map(|s| s.size());
        match stored {
            Some(stored) if stored == size && self.meta.repo_has_lfs_object(repo.id, &oid).await? => Ok(()),
            Some(stored) if stored != size => {
                Err(CoreError::invalid(format!("Object {oid} has size {stored}, not {size}")))
            }
            _ => Err(CoreError::EntryNotFound { path: oid.to_string(), commit: None }),
        }
    }
}

fn url_revoked() -> CoreError {
    CoreError::Forbidden(
        "This URL is no longer valid: its token was revoked or its access removed".to_owned(),
    )
}

/// A capability whose issuer lost access fails as a revoked URL, whatever the reason.
fn deny_url(error: CoreError) -> CoreError {
    match error {
        CoreError::RepoNotFound
        | CoreError::Forbidden(_)
        | CoreError::Unauthorized(_)
        | CoreError::GatedRepo(_) => url_revoked(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Signer;
    use crate::xet_token::XetGrant;

    fn capability(action: Action) -> Capability {
        Capability {
            action,
            repo_type: RepoType::Dataset,
            repo_id: RepoId::parse("alice/data").unwrap(),
            oid: Sha256::digest(b"x"),
            size: 42,
            expires_at: 99,
            issuer: Issuer::Token(7),
        }
    }

    #[test]
    fn capabilities_round_trip() {
        let signer = Signer::new(b"k".to_vec());
        for action in [
            Action::Put,
            Action::Part { upload: "ab12".into(), part: 3 },
            Action::Complete { upload: "ab12".into(), parts: 4 },
            Action::Verify,
            Action::Download,
        ] {
            let cap = capability(action);
            assert_eq!(claims::open(&signer, &claims::seal(&signer, &cap)), Some(cap));
        }
    }

    #[test]
    fn a_capability_is_not_a_xet_token_nor_the_reverse() {
        let signer = Signer::new(b"k".to_vec());
        let lfs = claims::seal(&signer, &capability(Action::Download));
        assert_eq!(claims::open::<XetGrant>(&signer, &lfs), None);
        let grant = XetGrant {
            repo_type: RepoType::Dataset,
            repo_id: RepoId::parse("alice/data").unwrap(),
            write: true,
            expires_at: 99,
            issuer: Issuer::Token(7),
            upstream: None,
        };
        let xet = claims::seal(&signer, &grant);
        assert_eq!(claims::open::<Capability>(&signer, &xet), None);
        assert_eq!(claims::open(&signer, &xet), Some(grant));
    }
}
