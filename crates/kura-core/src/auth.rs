//! Identities and the one place that decides who may read or write a repo.

use kura_model::{RepoId, RepoType, Role, ScopeTarget, Sha256, validate_namespace};
use kura_storage::{Gating, NamespaceKind, OrgRole, RepoRecord, TokenRecord, UserRecord};

use crate::error::{CoreError, Result};
use crate::services::Accounts;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRecord,
    pub token: TokenRecord,
    /// Set when the caller authenticated with a browser session (`token` is then a stand-in
    /// with write role).
    pub session: Option<Box<crate::sessions::Session>>,
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

/// Proof that the caller may read a repo's files (visibility and gating checked). Only
/// `Accounts::authorize_files` makes one; every read of file contents needs one, directly or
/// through the proofs derived from it (`ObjectRead`, `OpenFile`).
#[derive(Debug, Clone)]
pub struct FilesAccess {
    repo: RepoRecord,
}

impl FilesAccess {
    pub fn repo(&self) -> &RepoRecord {
        &self.repo
    }

    /// The access of the hub's own background jobs (the indexer) to the repo a job was queued
    /// for: there is no caller to authorize, and what the job computes is shown to callers
    /// only through their own authorization of the repo.
    pub(crate) fn for_job(repo: RepoRecord) -> Self {
        Self { repo }
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

impl Accounts<'_> {
    /// Creates a user (admin CLI).
    pub async fn create_user(&self, name: &str, is_admin: bool) -> Result<UserRecord> {
        validate_namespace(name)?;
        let user = self.meta.create_user(name, is_admin, self.now_millis()).await.map_err(|e| match e {
            kura_storage::StorageError::AlreadyExists => {
                CoreError::conflict(format!("The name '{name}' is already taken"))
            }
            other => other.into(),
        })?;
        self.audit(None, "user.create", format!("user:{name}"), serde_json::json!({"admin": is_admin})).await;
        Ok(user)
    }

    /// Resolves a bearer token. No token is anonymous; an unknown, expired or revoked one is
    /// an error, answered like an unknown one.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Identity> {
        let Some(secret) = bearer else {
            return Ok(Identity::Anonymous);
        };
        let invalid = || CoreError::Unauthorized(INVALID_CREDENTIALS.to_owned());
        let (token, user) =
            self.meta.token_with_user(&Sha256::digest(secret.as_bytes())).await?.ok_or_else(invalid)?;
        self.token_user_identity(token, user).await
    }

    /// The identity a stored token stands for: `Unauthorized` once it is revoked or expired or
    /// its user is gone.
    pub(crate) async fn token_identity(&self, token: TokenRecord) -> Result<Identity> {
        let invalid = || CoreError::Unauthorized(INVALID_CREDENTIALS.to_owned());
        let user = self.meta.user_by_id(token.user_id).await?.ok_or_else(invalid)?;
        self.token_user_identity(token, user).await
    }

    /// `token_identity` with the user already read.
    async fn token_user_identity(&self, token: TokenRecord, user: UserRecord) -> Result<Identity> {
        let invalid = || CoreError::Unauthorized(INVALID_CREDENTIALS.to_owned());
        let now = self.now_millis();
        if token.revoked_at.is_some() || token.expires_at.is_some_and(|at| at <= now) {
            return Err(invalid());
        }
        // One write per token and minute is enough for "last used", and spares a write per request.
        if token.last_used_at.is_none_or(|at| now - at >= TOUCH_INTERVAL_MS) {
            self.meta.touch_token(token.id, now).await?;
        }
        Ok(Identity::User(Principal { user, token, session: None }))
    }

    /// Organizations of the caller with the caller's role in each.
    pub async fn user_orgs(&self, principal: &Principal) -> Result<Vec<(String, OrgRole)>> {
        Ok(self.meta.user_orgs(principal.user.id).await?)
    }

    /// What the user behind the caller may do in `namespace`, whatever the token says.
    /// `own_repo`: the repo in question is one the user created (or is about to create);
    /// org contributors write to those only, as on the Hub.
    async fn user_standing(
        &self,
        principal: &Principal,
        namespace: &str,
        own_repo: bool,
    ) -> Result<Standing> {
        if principal.user.is_admin || principal.user.name == namespace {
            return Ok(Standing::Write);
        }
        Ok(match self.meta.org_role(namespace, principal.user.id).await? {
            Some(OrgRole::Write | OrgRole::Admin) => Standing::Write,
            Some(OrgRole::Contributor) if own_repo => Standing::Write,
            Some(OrgRole::Read | OrgRole::Contributor) => Standing::Read,
            None => Standing::None,
        })
    }

    /// The caller's effective standing on a repo: the user's standing, capped by what the
    /// token grants there.
    async fn repo_standing(&self, identity: &Identity, repo: &RepoRecord) -> Result<Standing> {
        let Some(principal) = identity.principal() else {
            return Ok(Standing::None);
        };
        let grant = token_grant(&principal.token, |t| t.covers_repo(repo.repo_type, &repo.repo_id));
        if grant == Standing::None {
            return Ok(Standing::None);
        }
        let own = created_by(principal, repo);
        Ok(grant.min(self.user_standing(principal, repo.repo_id.namespace(), own).await?))
    }

    /// Whether the caller may see that the repo exists and read its metadata.
    pub async fn can_see(&self, identity: &Identity, repo: &RepoRecord) -> Result<bool> {
        Ok(!repo.private || self.repo_standing(identity, repo).await? >= Standing::Read)
    }

    /// Fails like a missing repo unless the caller may see it.
    pub async fn authorize_read(&self, identity: &Identity, repo: &RepoRecord) -> Result<()> {
        if self.can_see(identity, repo).await? { Ok(()) } else { Err(CoreError::RepoNotFound) }
    }

    /// Reading file contents: like `authorize_read`, plus gating. Every content path (resolve,
    /// LFS download, Xet read token, git fetch) goes through here; members of the namespace
    /// always pass, everyone else needs an accepted access request (`access::gate`). A
    /// fine-grained token not scoped to the repo is anonymous here, so it cannot use its
    /// user's access grants either.
    pub async fn authorize_files(&self, identity: &Identity, repo: &RepoRecord) -> Result<FilesAccess> {
        self.authorize_read(identity, repo).await?;
        if repo.gating != Gating::Off && self.repo_standing(identity, repo).await? < Standing::Read {
            let scoped = Self::token_reaches(identity, repo);
            self.gate(if scoped { identity } else { &Identity::Anonymous }, repo).await?;
        }
        Ok(FilesAccess { repo: repo.clone() })
    }

    /// Whether the caller's token may act on `repo` at all: classic tokens always, fine-grained
    /// ones where a scope covers the repo. Anonymous callers never.
    pub(crate) fn token_reaches(identity: &Identity, repo: &RepoRecord) -> bool {
        identity.principal().is_some_and(|p| {
            token_grant(&p.token, |t| t.covers_repo(repo.repo_type, &repo.repo_id)) >= Standing::Read
        })
    }

    /// Whether the caller's token may write to `repo` (its role, or a fine-grained scope with
    /// write on it), whatever the user's own rights there.
    pub(crate) fn token_writes(identity: &Identity, repo: &RepoRecord) -> bool {
        identity.principal().is_some_and(|p| {
            token_grant(&p.token, |t| t.covers_repo(repo.repo_type, &repo.repo_id)) >= Standing::Write
        })
    }

    /// Contributing to a repo without writing to its branches: opening discussions and pull
    /// requests, commenting, uploading content for a pull request. Anyone signed in who can
    /// see the repo, with a token that writes to it (a read token is 403, as on the Hub).
    pub async fn authorize_contribution<'i>(
        &self,
        identity: &'i Identity,
        repo: &RepoRecord,
    ) -> Result<&'i Principal> {
        self.authorize_read(identity, repo).await?;
        let Some(principal) = identity.principal() else {
            return Err(CoreError::Unauthorized(
                "You must be authenticated to contribute to a repo".to_owned(),
            ));
        };
        if !Self::token_writes(identity, repo) {
            return Err(CoreError::Forbidden(
                "Contributing to a repo needs a token with write access".to_owned(),
            ));
        }
        Ok(principal)
    }

    /// Uploading content (LFS objects, Xet files): write access, or for a pull request the
    /// right to contribute. Uploads only add objects the repo may reference later; moving a
    /// branch is checked when a commit or push does it.
    pub async fn authorize_upload(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        pull_request: bool,
    ) -> Result<()> {
        if !pull_request {
            return self.authorize_write(identity, repo).await;
        }
        let principal = self.authorize_pull_request(identity, repo).await?;
        // Writers upload freely; a contributor's uploads (which need no open pull request)
        // share the per-user rate of posts.
        if self.authorize_write(identity, repo).await.is_err() {
            self.take_post(principal)?;
        }
        Ok(())
    }

    /// Spends one of the user's posts (discussions, comments, likes, a contributor's uploads):
    /// 429 with the wait when the per-user rate is used up (per process).
    /// One like from `address`, within the per-address like rate.
    pub(crate) fn take_like_from(&self, address: std::net::IpAddr) -> Result<()> {
        self.take(&self.hub.account_state.address_likes, crate::likes::address_key(address))
    }

    /// One post (discussions, comments, likes) within the caller's post rate.
    pub(crate) fn take_post(&self, principal: &Principal) -> Result<()> {
        self.take(&self.hub.account_state.posts, principal.user.id)
    }

    /// One change to a collection within the caller's rate of those (a bucket of its own, so
    /// curating a collection does not silence one's discussions, and the other way round).
    pub(crate) fn take_collection_change(&self, principal: &Principal) -> Result<()> {
        self.take(&self.hub.account_state.collection_changes, principal.user.id)
    }

    fn take(&self, limiter: &std::sync::Mutex<crate::rate_limit::RateLimiter>, key: i64) -> Result<()> {
        let now = self.now_millis();
        let limited = limiter.lock().unwrap_or_else(|e| e.into_inner()).take(key, now);
        limited.map_err(|wait_ms| CoreError::RateLimited { retry_after_secs: (wait_ms / 1000 + 1) as u64 })
    }

    /// Contributing content (a pull request's commits, pushes and uploads): the right to
    /// contribute and to read the repo's files. A gated repo's files shape what a commit or a
    /// thin pack may build on, and what the server reports back about them, so a caller the
    /// gate has not let in contributes nothing but discussion.
    pub async fn authorize_pull_request<'i>(
        &self,
        identity: &'i Identity,
        repo: &RepoRecord,
    ) -> Result<&'i Principal> {
        self.authorize_files(identity, repo).await?;
        self.authorize_contribution(identity, repo).await
    }

    /// Writing: hidden repos stay hidden; visible ones give 403 without rights.
    pub async fn authorize_write(&self, identity: &Identity, repo: &RepoRecord) -> Result<()> {
        self.authorize_read(identity, repo).await?;
        let principal = writer(identity)?;
        let target = format!("{}:{}", repo.repo_type.as_str(), repo.repo_id);
        scope_allows_write(principal, |t| t.covers_repo(repo.repo_type, &repo.repo_id), &target)?;
        self.require_user_write(principal, repo.repo_id.namespace(), created_by(principal, repo)).await
    }

    /// Whether the caller may create repos under `namespace` (or move one of theirs there).
    /// Org contributors may: the new repo is their own.
    pub async fn authorize_namespace_write(&self, identity: &Identity, namespace: &str) -> Result<()> {
        let principal = writer(identity)?;
        scope_allows_write(principal, |t| t.covers_namespace(namespace), namespace)?;
        self.require_user_write(principal, namespace, true).await
    }

    /// Managing what the namespace holds as a whole rather than one member's repos (its
    /// collections): like `authorize_namespace_write`, but org contributors may not.
    pub async fn authorize_namespace_manage<'i>(
        &self,
        identity: &'i Identity,
        namespace: &str,
    ) -> Result<&'i Principal> {
        let principal = writer(identity)?;
        scope_allows_write(principal, |t| t.covers_namespace(namespace), namespace)?;
        self.require_user_write(principal, namespace, false).await?;
        Ok(principal)
    }

    async fn require_user_write(&self, principal: &Principal, namespace: &str, own_repo: bool) -> Result<()> {
        if self.user_standing(principal, namespace, own_repo).await? < Standing::Write {
            return Err(CoreError::Forbidden(format!(
                "You don't have the rights to write to the namespace '{namespace}'"
            )));
        }
        Ok(())
    }

    /// Which private repos a listing may show the caller: `None` for every one (admins with
    /// a token that reaches everything), else the namespaces and single repos (of `repo_type`)
    /// the caller reads.
    pub(crate) async fn visible_private(
        &self,
        identity: &Identity,
        repo_type: RepoType,
    ) -> Result<(Option<Vec<String>>, Vec<RepoId>)> {
        let Some(principal) = identity.principal() else {
            return Ok((Some(Vec::new()), Vec::new()));
        };
        let token = &principal.token;
        let global =
            token.role != Role::FineGrained || token.scopes.iter().any(|s| s.target == ScopeTarget::Global);
        if principal.user.is_admin && global {
            return Ok((None, Vec::new()));
        }
        let mut mine = vec![principal.user.name.clone()];
        mine.extend(self.user_orgs(principal).await?.into_iter().map(|(org, _)| org));
        let reaches = |namespace: &str| principal.user.is_admin || mine.iter().any(|m| m == namespace);
        if global {
            return Ok((Some(mine.clone()), Vec::new()));
        }
        let mut namespaces = Vec::new();
        let mut repos = Vec::new();
        for scope in &token.scopes {
            match &scope.target {
                ScopeTarget::Namespace(namespace) if reaches(namespace) => namespaces.push(namespace.clone()),
                ScopeTarget::Repo(t, id) if *t == repo_type && reaches(id.namespace()) => {
                    repos.push(id.clone())
                }
                _ => {}
            }
        }
        Ok((Some(namespaces), repos))
    }

    /// Whether the caller may rewrite history: update a branch to a commit that does not
    /// descend from its head (a forced push), delete a branch or tag, or move a tag. Server
    /// admins, the owner of a user namespace and admins of an org may; plain writers (org
    /// `write` members, contributors on their own repos) may not. Callers check write access
    /// first.
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

    /// `None` when the caller may rewrite history in `repo`, else why not: `what` (such as
    /// "deleting a branch") followed by who may.
    pub(crate) async fn rewrite_refusal(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        what: &str,
    ) -> Result<Option<String>> {
        if self.may_rewrite_history(identity, repo).await? {
            return Ok(None);
        }
        Ok(Some(format!(
            "{what} rewrites history: only the owner or an admin of '{}' (or a server admin) may do that",
            repo.repo_id.namespace()
        )))
    }

    /// Whether `namespace` exists as a user or org.
    pub async fn namespace_exists(&self, namespace: &str) -> Result<bool> {
        Ok(self.meta.namespace_kind(namespace).await?.is_some())
    }

    pub async fn namespace_kind(&self, namespace: &str) -> Result<Option<NamespaceKind>> {
        Ok(self.meta.namespace_kind(namespace).await?)
    }
}

/// Whether the caller's user created `repo`.
fn created_by(principal: &Principal, repo: &RepoRecord) -> bool {
    repo.created_by == Some(principal.user.id)
}

/// Minimum time between two `last_used_at` writes of one token.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// What a token allows where `covers` holds, before the user's own standing is applied:
/// read tokens read, write tokens write, fine-grained ones what their matching scopes list.
fn token_grant(token: &TokenRecord, covers: impl Fn(&ScopeTarget) -> bool) -> Standing {
    match token.role {
        Role::Read => Standing::Read,
        Role::Write => Standing::Write,
        Role::FineGrained => token
            .scopes
            .iter()
            .filter(|scope| covers(&scope.target))
            .map(|scope| if scope.writes() { Standing::Write } else { Standing::Read })
            .max()
            .unwrap_or(Standing::None),
    }
}

/// The caller, if it is authenticated with a token that may write at all.
fn writer(identity: &Identity) -> Result<&Principal> {
    let Some(principal) = identity.principal() else {
        return Err(CoreError::Unauthorized("You must be authenticated to write".to_owned()));
    };
    if principal.token.role == Role::Read {
        return Err(CoreError::Forbidden("This operation needs a token with write access".to_owned()));
    }
    Ok(principal)
}

fn scope_allows_write(
    principal: &Principal,
    covers: impl Fn(&ScopeTarget) -> bool,
    target: &str,
) -> Result<()> {
    if token_grant(&principal.token, covers) < Standing::Write {
        return Err(CoreError::Forbidden(format!(
            "This fine-grained token does not grant repo.write on '{target}'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kura_model::{RepoId, RepoType, Role, ScopeTarget, TokenScope};
    use kura_storage::TokenRecord;

    use super::{Standing, token_grant};

    fn token(role: Role, scopes: &[&str]) -> TokenRecord {
        TokenRecord {
            id: 1,
            user_id: 1,
            name: "t".into(),
            role,
            created_at: 0,
            expires_at: None,
            scopes: scopes.iter().map(|s| TokenScope::parse(s).unwrap()).collect(),
            last_used_at: None,
            revoked_at: None,
        }
    }

    fn check(token: &TokenRecord, repo: &str, expect: Standing) {
        let (kind, id) = repo.split_once(':').unwrap();
        let (repo_type, repo_id) = (RepoType::from_singular(kind).unwrap(), RepoId::parse(id).unwrap());
        let grant = token_grant(token, |t: &ScopeTarget| t.covers_repo(repo_type, &repo_id));
        assert_eq!(grant, expect, "{repo}");
    }

    #[test]
    fn tokens_grant_what_their_role_and_scopes_say() {
        check(&token(Role::Read, &[]), "model:a/m", Standing::Read);
        check(&token(Role::Write, &[]), "dataset:b/d", Standing::Write);
        let fine =
            token(Role::FineGrained, &["model:a/m=repo.write", "a=repo.content.read", "*=repo.content.read"]);
        check(&fine, "model:a/m", Standing::Write);
        check(&fine, "dataset:a/m", Standing::Read);
        check(&fine, "model:z/z", Standing::Read);
        let narrow = token(Role::FineGrained, &["model:a/m=repo.content.read"]);
        check(&narrow, "model:a/m", Standing::Read);
        check(&narrow, "model:a/other", Standing::None);
        check(&token(Role::FineGrained, &[]), "model:a/m", Standing::None);
    }
}
