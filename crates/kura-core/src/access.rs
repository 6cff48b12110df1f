//! Gated repos: users ask for access to a gated repo's files; with `auto` gating they get it at
//! once, with `manual` the repo's managers (write rights on its namespace) accept or reject.
//! `gate` is the grant lookup behind `Accounts::authorize_files`, so every content path checks it.

use kura_model::{RepoId, RepoType};
use kura_storage::{AccessRequestRecord, AccessStatus, Gating, NewAccessRequest, RepoRecord, StorageError};
use serde_json::{Map, Value, json};

use crate::audit::{Authority, actor, record_target};
use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::services::Accounts;

/// Largest accepted `fields` object, serialized.
pub const MAX_FIELDS_BYTES: usize = 16 * 1024;
/// Largest accepted rejection reason.
pub const MAX_REASON_CHARS: usize = 1000;

/// Which request a manager acts on.
#[derive(Debug, Clone)]
pub enum RequestSelector {
    User(String),
    /// The `requestId` handed out in listings.
    Id(String),
}

/// The public form of a request id (24 hex digits, like the Hub's ids).
pub fn request_id(record: &AccessRequestRecord) -> String {
    format!("{:024x}", record.id)
}

fn parse_request_id(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 24 {
        return None;
    }
    u64::from_str_radix(text, 16).ok().and_then(|id| i64::try_from(id).ok())
}

fn describe(repo: &RepoRecord) -> String {
    format!("{} {}", repo.repo_type.as_str(), repo.repo_id)
}

fn ask_hint(repo: &RepoRecord) -> String {
    format!("POST /api/{}/{}/ask-access", repo.repo_type.plural(), repo.repo_id)
}

impl Accounts<'_> {
    /// Gating part of `authorize_files`, for callers without standing in the namespace:
    /// only an accepted request opens the files.
    pub(crate) async fn gate(&self, identity: &Identity, repo: &RepoRecord) -> Result<()> {
        let what = describe(repo);
        let Some(principal) = identity.principal() else {
            return Err(CoreError::GatedRepo(format!(
                "Access to {what} is restricted. You must be authenticated and request access ({}) to read its files.",
                ask_hint(repo)
            )));
        };
        let found = self.meta.access_request(repo.id, principal.user.id).await?;
        match found.map(|r| r.status) {
            Some(AccessStatus::Accepted) => Ok(()),
            Some(AccessStatus::Pending) => Err(CoreError::GatedRepo(format!(
                "Access to {what} is restricted. Your request for access is awaiting approval by the repo authors."
            ))),
            Some(AccessStatus::Rejected) => Err(CoreError::GatedRepo(format!(
                "Access to {what} is restricted. Your request for access was rejected by the repo authors."
            ))),
            None => Err(CoreError::GatedRepo(format!(
                "Access to {what} is restricted and you are not in the authorized list. Request access with {}.",
                ask_hint(repo)
            ))),
        }
    }

    /// A user asks for access to a gated repo (kura's stand-in for the Hub's web form).
    /// Asking again returns the existing request unchanged.
    pub async fn ask_access(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        fields: Option<Map<String, Value>>,
    ) -> Result<AccessRequestRecord> {
        self.authorize_read(identity, repo).await?;
        let Some(principal) = identity.principal() else {
            return Err(CoreError::Unauthorized("You must be authenticated to request access".to_owned()));
        };
        if !Self::token_reaches(identity, repo) {
            return Err(CoreError::Forbidden(
                "This fine-grained token has no scope on this repository".to_owned(),
            ));
        }
        let status = match repo.gating {
            Gating::Off => return Err(CoreError::invalid("This repository is not gated")),
            Gating::Auto => AccessStatus::Accepted,
            Gating::Manual => AccessStatus::Pending,
        };
        let fields = fields.map(|f| Value::Object(f).to_string());
        if fields.as_ref().is_some_and(|f| f.len() > MAX_FIELDS_BYTES) {
            return Err(CoreError::invalid(format!(
                "'fields' must be at most {MAX_FIELDS_BYTES} bytes of JSON"
            )));
        }
        if let Some(existing) = self.meta.access_request(repo.id, principal.user.id).await? {
            return Ok(existing);
        }
        let new = NewAccessRequest {
            repo_id: repo.id,
            user_id: principal.user.id,
            status,
            fields,
            now: self.now_millis(),
        };
        let created = match self.meta.create_access_request(&new).await {
            Err(StorageError::AlreadyExists) => {
                // A concurrent ask won; answer with its request.
                self.meta.access_request(repo.id, principal.user.id).await?.ok_or(CoreError::RepoNotFound)?
            }
            other => other?,
        };
        let details = json!({"requestId": request_id(&created), "status": created.status.as_str()});
        self.audit(actor(identity), "access.request", record_target(repo), details).await;
        Ok(created)
    }

    /// Managers only: write rights on the namespace (hidden repos stay hidden), and the repo
    /// must be gated.
    async fn authorize_manage(&self, authority: Authority<'_>, repo: &RepoRecord) -> Result<()> {
        if let Authority::Caller(identity) = authority {
            self.authorize_write(identity, repo).await?;
        }
        if repo.gating == Gating::Off {
            return Err(CoreError::invalid("This repository is not gated"));
        }
        Ok(())
    }

    /// Requests of a gated repo with `status`, oldest first.
    pub async fn list_access_requests(
        &self,
        authority: Authority<'_>,
        repo: &RepoRecord,
        status: AccessStatus,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<AccessRequestRecord>> {
        self.authorize_manage(authority, repo).await?;
        Ok(self.meta.list_access_requests(repo.id, status, offset, limit).await?)
    }

    /// Accepts, rejects or (cancel) re-pends a request. Moving a request to the status it
    /// already has is a 404, as on the Hub.
    pub async fn handle_access_request(
        &self,
        authority: Authority<'_>,
        repo: &RepoRecord,
        selector: RequestSelector,
        status: AccessStatus,
        rejection_reason: Option<&str>,
    ) -> Result<AccessRequestRecord> {
        self.authorize_manage(authority, repo).await?;
        if rejection_reason.is_some() && status != AccessStatus::Rejected {
            return Err(CoreError::invalid("'rejectionReason' is only allowed when rejecting"));
        }
        if rejection_reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
            return Err(CoreError::invalid(format!(
                "'rejectionReason' must be at most {MAX_REASON_CHARS} characters"
            )));
        }
        let found = match &selector {
            RequestSelector::User(name) => {
                let user = self.user_named(name).await?;
                self.meta.access_request(repo.id, user.id).await?
            }
            RequestSelector::Id(id) => match parse_request_id(id) {
                Some(id) => self.meta.access_request_by_id(repo.id, id).await?,
                None => None,
            },
        };
        let request = found.ok_or_else(|| CoreError::NotFound("Access request not found".to_owned()))?;
        if request.status == status {
            return Err(CoreError::NotFound(format!(
                "The access request of {} is already in the {} list",
                request.user_name,
                status.as_str()
            )));
        }
        self.meta.set_access_status(request.id, status, rejection_reason, self.now_millis()).await?;
        let details = json!({"user": request.user_name, "from": request.status.as_str(), "status": status.as_str(), "rejectionReason": rejection_reason});
        self.audit(authority.actor(), "access.handle", record_target(repo), details).await;
        self.meta
            .access_request_by_id(repo.id, request.id)
            .await?
            .ok_or_else(|| CoreError::NotFound("Access request not found".to_owned()))
    }

    /// Gives `user` access directly (an accepted request); 400 when they already have it.
    pub async fn grant_access(
        &self,
        authority: Authority<'_>,
        repo: &RepoRecord,
        user: &str,
    ) -> Result<AccessRequestRecord> {
        self.authorize_manage(authority, repo).await?;
        let user = self.user_named(user).await?;
        let now = self.now_millis();
        let granted = match self.meta.access_request(repo.id, user.id).await? {
            Some(existing) if existing.status == AccessStatus::Accepted => {
                return Err(CoreError::invalid(format!(
                    "{} already has access to this repository",
                    user.name
                )));
            }
            Some(existing) => {
                self.meta.set_access_status(existing.id, AccessStatus::Accepted, None, now).await?;
                existing.id
            }
            None => {
                let new = NewAccessRequest {
                    repo_id: repo.id,
                    user_id: user.id,
                    status: AccessStatus::Accepted,
                    fields: None,
                    now,
                };
                self.meta
                    .create_access_request(&new)
                    .await
                    .map_err(|e| match e {
                        StorageError::AlreadyExists => {
                            CoreError::conflict("The request changed concurrently; retry")
                        }
                        other => other.into(),
                    })?
                    .id
            }
        };
        self.audit(authority.actor(), "access.grant", record_target(repo), json!({"user": user.name})).await;
        self.meta
            .access_request_by_id(repo.id, granted)
            .await?
            .ok_or_else(|| CoreError::NotFound("Access request not found".to_owned()))
    }

    /// A repo by id for the operator (admin CLI): no visibility rules apply.
    pub async fn operator_repo(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<RepoRecord> {
        self.meta.repo(repo_type, repo_id).await?.ok_or(CoreError::RepoNotFound)
    }

    pub(crate) async fn user_named(&self, name: &str) -> Result<kura_storage::UserRecord> {
        self.meta
            .user_by_name(name)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("User '{name}' not found")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_round_trip_and_reject_junk() {
        for (text, expected) in [
            ("00000000000000000000002a", Some(42)),
            ("", None),
            ("xyz", None),
            ("1".repeat(25).as_str(), None),
        ] {
            assert_eq!(super::parse_request_id(text), expected, "{text}");
        }
        assert_eq!(super::parse_request_id("ffffffffffffffff"), None, "beyond i64");
    }
}
