//! Organizations: creation, membership and who may manage it.
//!
//! Members are managed by the org's admins and by server admins, with a classic write token
//! or a browser session; fine-grained tokens carry no org-management permission. An org always
//! keeps at least one admin (the store refuses the change that would remove the last one).

use kura_model::{Role, validate_namespace};
use kura_storage::{NamespaceKind, OrgRole, StorageError, UserRecord};

use crate::audit::Authority;
use crate::error::{CoreError, Result};
use crate::services::Accounts;

/// How `put_org_member` treats someone who is not a member yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Add them, or change the role of an existing member.
    Upsert,
    /// Change the role of an existing member only (the Hub's `.../role` endpoint).
    RoleOnly,
}

impl Accounts<'_> {
    /// Creates an organization owned by `owner` (admin CLI).
    pub async fn create_org(&self, name: &str, owner: &str) -> Result<()> {
        validate_namespace(name)?;
        let owner = self.user_named(owner).await?;
        self.meta.create_org(name, owner.id, self.now_millis()).await.map_err(|e| match e {
            StorageError::AlreadyExists => CoreError::conflict(format!("The name '{name}' is already taken")),
            other => other.into(),
        })?;
        let details = serde_json::json!({"member": owner.name, "role": "admin"});
        self.audit(None, "org.create", format!("org:{name}"), details).await;
        Ok(())
    }

    /// Adds `user` to `org` with `role`, or changes their role (operator).
    pub async fn set_org_member(&self, org: &str, user: &str, role: OrgRole) -> Result<()> {
        self.put_org_member(Authority::Operator, org, user, role, MemberChange::Upsert).await
    }

    /// Adds a member or changes a role, as `authority` allows.
    pub async fn put_org_member(
        &self,
        authority: Authority<'_>,
        org: &str,
        user: &str,
        role: OrgRole,
        change: MemberChange,
    ) -> Result<()> {
        self.authorize_org_admin(authority, org).await?;
        let member = self.user_named(user).await?;
        let before = self.meta.org_role(org, member.id).await?;
        if before.is_none() && change == MemberChange::RoleOnly {
            return Err(CoreError::NotFound(format!("'{user}' is not a member of '{org}'")));
        }
        self.meta.set_org_member(org, member.id, role).await.map_err(last_admin)?;
        let details = serde_json::json!({
            "member": member.name,
            "role": role.as_str(),
            "previous": before.map(OrgRole::as_str),
        });
        let action = if before.is_some() { "org.member.role" } else { "org.member.add" };
        self.audit(authority.actor(), action, format!("org:{org}"), details).await;
        Ok(())
    }

    /// Removes `user` from `org`.
    pub async fn remove_org_member(&self, authority: Authority<'_>, org: &str, user: &str) -> Result<()> {
        self.authorize_org_admin(authority, org).await?;
        let member = self.user_named(user).await?;
        self.meta.remove_org_member(org, member.id).await.map_err(|e| match e {
            StorageError::NotFound => CoreError::NotFound(format!("'{user}' is not a member of '{org}'")),
            other => last_admin(other),
        })?;
        let details = serde_json::json!({"member": member.name});
        self.audit(authority.actor(), "org.member.remove", format!("org:{org}"), details).await;
        Ok(())
    }

    /// The members of `org` and their roles: for its members and server admins only, so an
    /// org's membership is not public.
    pub async fn org_members(
        &self,
        authority: Authority<'_>,
        org: &str,
    ) -> Result<Vec<(UserRecord, OrgRole)>> {
        self.require_org(org).await?;
        let Authority::Caller(identity) = authority else {
            return Ok(self.meta.org_members(org).await?);
        };
        let Some(principal) = identity.principal() else {
            return Err(CoreError::Unauthorized("You must be authenticated to list members".to_owned()));
        };
        if principal.token.role == Role::FineGrained {
            return Err(CoreError::Forbidden("Fine-grained tokens cannot list org members".to_owned()));
        }
        if !principal.user.is_admin && self.meta.org_role(org, principal.user.id).await?.is_none() {
            return Err(CoreError::Forbidden(format!("Only members of '{org}' can list its members")));
        }
        Ok(self.meta.org_members(org).await?)
    }

    /// Org admins and server admins, with a token that may write (not a fine-grained one).
    async fn authorize_org_admin(&self, authority: Authority<'_>, org: &str) -> Result<()> {
        self.require_org(org).await?;
        let Authority::Caller(identity) = authority else {
            return Ok(());
        };
        let Some(principal) = identity.principal() else {
            return Err(CoreError::Unauthorized("You must be authenticated to manage members".to_owned()));
        };
        if principal.token.role != Role::Write {
            return Err(CoreError::Forbidden("Managing members needs a write token".to_owned()));
        }
        if principal.user.is_admin
            || self.meta.org_role(org, principal.user.id).await? == Some(OrgRole::Admin)
        {
            return Ok(());
        }
        Err(CoreError::Forbidden(format!("Only admins of '{org}' can manage its members")))
    }

    async fn require_org(&self, org: &str) -> Result<()> {
        if self.meta.namespace_kind(org).await? != Some(NamespaceKind::Org) {
            return Err(CoreError::NotFound(format!("No organization named '{org}'")));
        }
        Ok(())
    }
}

fn last_admin(error: StorageError) -> CoreError {
    match error {
        StorageError::Conflict => {
            CoreError::conflict("An organization must keep at least one admin; promote another member first")
        }
        other => other.into(),
    }
}
