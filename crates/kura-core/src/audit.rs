//! The security audit log: who did what to which account or repo, recorded where it happens
//! and readable by server admins (HTTP) and the operator (admin CLI).

use kura_model::RepoType;
use kura_storage::{AuditRecord, NewAuditEntry, RepoRecord};
use serde_json::Value;

use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::services::Accounts;

/// Who performs an administrative action.
#[derive(Debug, Clone, Copy)]
pub enum Authority<'a> {
    /// A caller over HTTP, checked against the usual rules.
    Caller(&'a Identity),
    /// The operator: the admin CLI on the data directory, trusted like the database itself.
    Operator,
}

impl Authority<'_> {
    /// The user name recorded as actor (`None` for the operator).
    pub(crate) fn actor(&self) -> Option<&str> {
        match self {
            Authority::Caller(identity) => actor(identity),
            Authority::Operator => None,
        }
    }
}

/// The user name of the caller, if any.
pub(crate) fn actor(identity: &Identity) -> Option<&str> {
    identity.principal().map(|p| p.user.name.as_str())
}

/// How a repo is named in audit targets: `model:alice/m`.
pub(crate) fn repo_target(repo_type: RepoType, repo: &impl std::fmt::Display) -> String {
    format!("{}:{repo}", repo_type.as_str())
}

pub(crate) fn record_target(repo: &RepoRecord) -> String {
    repo_target(repo.repo_type, &repo.repo_id)
}

impl Accounts<'_> {
    /// Appends an event. The action already happened, so a failing write is logged (loudly)
    /// rather than turned into an error the caller would retry.
    pub(crate) async fn audit(&self, actor: Option<&str>, action: &str, target: String, details: Value) {
        let entry = NewAuditEntry {
            at: self.now_millis(),
            actor: actor.map(str::to_owned),
            action: action.to_owned(),
            target,
            details: details.to_string(),
        };
        if let Err(error) = self.meta.append_audit(&entry).await {
            tracing::error!(audit.action = %entry.action, audit.target = %entry.target, ?error, "could not write the audit log");
        }
    }

    /// Audit entries, newest first: server admins and the operator only.
    pub async fn audit_log(
        &self,
        authority: Authority<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<AuditRecord>> {
        if let Authority::Caller(identity) = authority {
            match identity.principal() {
                None => return Err(CoreError::Unauthorized("You must be authenticated".to_owned())),
                Some(p) if !p.user.is_admin => {
                    return Err(CoreError::Forbidden(
                        "The audit log is for server administrators".to_owned(),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(self.meta.audit_entries(offset, limit).await?)
    }
}
