//! Identities and the one place that decides who may read or write a repo.

use kura_model::{Role, Sha256, validate_namespace};
use kura_storage::{Gating, NamespaceKind, NewToken, OrgRole, RepoRecord, TokenRecord, UserRecord};
use rand::Rng;

use crate::Hub;
use crate::clock::now_millis;
use crate::error::{CoreError, Result};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRecord,
    pub token: TokenRecord,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Identity {
    Anonymous,
    User(Principal),
}

impl Identity {
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Identity::User(p) => Some(p),
            Identity::Anonymous => None,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Identity::Anonymous)
    }
}

/// What the caller may do in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Standing {
    None,
    Read,
    Write,
}

/// The message the client recognises as a bad token (it then does not claim "repo not found").
pub const INVALID_CREDENTIALS: &str = "Invalid credentials in Authorization header";

fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let body: String = (0..34).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("hf_{body}")
}

impl Hub {
    /// Creates a user (admin CLI).
    pub async fn create_user(&self, name: &str, is_admin: bool) -> Result<UserRecord> {
        validate_namespace(name)?;
        let user = self.meta.create_user(name, is_admin, now_millis()).await.map_err(|e| match e {
            kura_storage::StorageError::AlreadyExists => {
                CoreError::conflict(format!("The name '{name}' is already taken"))
            }
            other => other.into(),
        })?;
        self.audit(None, "user.create", format!("user:{name}"), serde_json::json!({"admin": is_admin})).await;
        Ok(user)
    }

    /// Creates an organization owned by `owner` (admin CLI).
    pub async fn create_org(&self, name: &str, owner: &str) -> Result<()> {
        validate_namespace(name)?;
        let owner = self
            .meta
            .user_by_name(owner)
            .await?
            .ok_or_else(|| CoreError::invalid(format!("No user named '{owner}'")))?;
        self.meta.create_org(name, owner.id, now_millis()).await.map_err(|e| match e {
            kura_storage::StorageError::AlreadyExists => {
                CoreError::conflict(format!("The name '{name}' is already taken"))
            }
            other => other.into(),
        })?;
        let details = serde_json::json!({"member": owner.name, "role": "admin"});
        self.audit(None, "org.create", format!("org:{name}"), details).await;
        Ok(())
    }

    /// Adds `user` to `org` with `role`, or changes their role (admin CLI).
    pub async fn set_org_member(&self, org: &str, user: &str, role: OrgRole) -> Result<()> {
        if self.meta.namespace_kind(org).await? != Some(NamespaceKind::Org) {
            return Err(CoreError::invalid(format!("No organization named '{org}'")));
        }
        let member = self
            .meta
            .user_by_name(user)
            .await?
            .ok_or_else(|| CoreError::invalid(format!("No user named '{user}'")))?;
        self.meta.set_org_member(org, member.id, role).await?;
        let details = serde_json::json!({"member": member.name, "role": role.as_str()});
        self.audit(None, "org.member", format!("org:{org}"), details).await;
        Ok(())
    }

    /// Issues a token and returns its secret; only its hash is stored.
    pub async fn create_token(&self, user: &str, name: &str, role: Role) -> Result<String> {
        let user = self
            .meta
            .user_by_name(user)
            .await?
            .ok_or_else(|| CoreError::invalid(format!("No user named '{user}'")))?;
        let secret = new_secret();
        self.meta
            .create_token(NewToken {
                user_id: user.id,
                name: name.to_owned(),
                role,
                secret_hash: Sha256::digest(secret.as_bytes()),
                created_at: now_millis(),
                expires_at: None,
            })
            .await?;
        let details = serde_json::json!({"name": name, "role": role.as_str()});
        self.audit(None, "token.create", format!("user:{}", user.name), details).await;
        Ok(secret)
    }

    /// Resolves a bearer token. No token is anonymous; an unknown or expired one is an error.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Identity> {
        let Some(secret) = bearer else {
            return Ok(Identity::Anonymous);
        };
        let token = self
            .meta
            .token_by_hash(&Sha256::digest(secret.as_bytes()))
            .await?
            .ok_or_else(|| CoreError::Unauthorized(INVALID_CREDENTIALS.to_owned()))?;
        let now = now_millis();
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(CoreError::Unauthorized(INVALID_CREDENTIALS.to_owned()));
        }
        let user = self
            .meta
            .user_by_id(token.user_id)
            .await?
            .ok_or_else(|| CoreError::Unauthorized(INVALID_CREDENTIALS.to_owned()))?;
        self.meta.touch_token(token.id, now).await?;
        Ok(Identity::User(Principal { user, token }))
    }

    /// Organizations of the caller with the caller's role in each.
    pub async fn user_orgs(&self, principal: &Principal) -> Result<Vec<(String, OrgRole)>> {
        Ok(self.meta.user_orgs(principal.user.id).await?)
    }

    async fn standing(&self, identity: &Identity, namespace: &str) -> Result<Standing> {
        let Some(principal) = identity.principal() else {
            return Ok(Standing::None);
        };
        if principal.user.is_admin || principal.user.name == namespace {
            return Ok(Standing::Write);
        }
        Ok(match self.meta.org_role(namespace, principal.user.id).await? {
            Some(OrgRole::Write | OrgRole::Admin) => Standing::Write,
            Some(OrgRole::Read | OrgRole::Contributor) => Standing::Read,
            None => Standing::None,
        })
    }

    /// Whether the caller may see that the repo exists and read its metadata.
    pub async fn can_see(&self, identity: &Identity, repo: &RepoRecord) -> Result<bool> {
        Ok(!repo.private || self.standing(identity, repo.repo_id.namespace()).await? >= Standing::Read)
    }

    /// Fails like a missing repo unless the caller may see it.
    pub async fn authorize_read(&self, identity: &Identity, repo: &RepoRecord) -> Result<()> {
        if self.can_see(identity, repo).await? { Ok(()) } else { Err(CoreError::RepoNotFound) }
    }

    /// Reading file contents: like `authorize_read`, plus gating. Every content path (resolve,
    /// LFS download, Xet read token, git fetch) goes through here; members of the namespace
    /// always pass, everyone else needs an accepted access request (`access::gate`).
    pub async fn authorize_files(&self, identity: &Identity, repo: &RepoRecord) -> Result<()> {
        self.authorize_read(identity, repo).await?;
        if repo.gating != Gating::Off
            && self.standing(identity, repo.repo_id.namespace()).await? < Standing::Read
        {
            return self.gate(identity, repo).await;
        }
        Ok(())
    }

    /// Writing: hidden repos stay hidden; visible ones give 403 without rights.
    pub async fn authorize_write(&self, identity: &Identity, repo: &RepoRecord) -> Result<()> {
        self.authorize_read(identity, repo).await?;
        self.authorize_namespace_write(identity, repo.repo_id.namespace()).await
    }

    /// Whether the caller may create or change repos under `namespace`.
    pub async fn authorize_namespace_write(&self, identity: &Identity, namespace: &str) -> Result<()> {
        let Some(principal) = identity.principal() else {
            return Err(CoreError::Unauthorized("You must be authenticated to write".to_owned()));
        };
        if principal.token.role != Role::Write {
            return Err(CoreError::Forbidden("This operation needs a token with write access".to_owned()));
        }
        if self.standing(identity, namespace).await? < Standing::Write {
            return Err(CoreError::Forbidden(format!(
                "You don't have the rights to write to the namespace '{namespace}'"
            )));
        }
        Ok(())
    }

    /// Whether the caller may rewrite a branch's history (a forced, non-fast-forward push):
    /// server admins, the owner of a user namespace and admins of an org.
    pub async fn may_rewrite_history(&self, identity: &Identity, repo: &RepoRecord) -> Result<bool> {
        let Some(principal) = identity.principal() else {
            return Ok(false);
        };
        let namespace = repo.repo_id.namespace();
        if principal.user.is_admin || principal.user.name == namespace {
            return Ok(true);
        }
        Ok(self.meta.org_role(namespace, principal.user.id).await? == Some(OrgRole::Admin))
    }

    /// Whether `namespace` exists as a user or org.
    pub async fn namespace_exists(&self, namespace: &str) -> Result<bool> {
        Ok(self.meta.namespace_kind(namespace).await?.is_some())
    }

    pub async fn namespace_kind(&self, namespace: &str) -> Result<Option<NamespaceKind>> {
        Ok(self.meta.namespace_kind(namespace).await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_look_like_hub_tokens() {
        let secret = super::new_secret();
        assert!(secret.starts_with("hf_") && secret.len() == 37);
        assert_ne!(secret, super::new_secret());
    }
}
