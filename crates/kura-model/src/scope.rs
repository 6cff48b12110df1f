//! Fine-grained token scopes: which repos a token reaches (one repo, a namespace, or every repo
//! its user can reach) and what it may do there, with the Hub's permission names.

use std::fmt;

use crate::{RepoId, RepoType, validate_namespace};

/// At most this many scopes per token.
pub const MAX_SCOPES: usize = 100;

/// A malformed scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScopeError(pub String);

/// What a scope allows, named as the Hub names its fine-grained permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `repo.content.read`: see the repo (even if private) and read its files.
    ContentRead,
    /// `repo.write`: everything `repo.content.read` allows, plus commits, branches, tags,
    /// settings, and creating, moving or deleting repos (namespace and global scopes).
    RepoWrite,
}

impl Permission {
    pub const ALL: [Permission; 2] = [Permission::ContentRead, Permission::RepoWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ContentRead => "repo.content.read",
            Permission::RepoWrite => "repo.write",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        Self::ALL.into_iter().find(|p| p.as_str() == text).ok_or_else(|| {
            ScopeError(format!(
                "Unknown permission '{}' (known: repo.content.read, repo.write)",
                text.chars().take(64).collect::<String>()
            ))
        })
    }
}

/// Where a scope applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScopeTarget {
    /// Every repo the token's user can reach (`*`).
    Global,
    /// Every repo of a user or organization (`alice`).
    Namespace(String),
    /// One repo (`model:alice/m`, `dataset:acme/d`, `space:alice/s`).
    Repo(RepoType, RepoId),
}

impl ScopeTarget {
    /// Parses `*`, `namespace` or `type:namespace/name`.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        if text == "*" {
            return Ok(ScopeTarget::Global);
        }
        if let Some((kind, repo)) = text.split_once(':') {
            let repo_type = RepoType::from_singular(kind)
                .ok_or_else(|| ScopeError(format!("Unknown repo type '{kind}' in scope target")))?;
            let repo_id = RepoId::parse(repo).map_err(|e| ScopeError(e.0))?;
            return Ok(ScopeTarget::Repo(repo_type, repo_id));
        }
        validate_namespace(text).map_err(|e| ScopeError(e.0))?;
        Ok(ScopeTarget::Namespace(text.to_owned()))
    }

    /// Whether the scope covers this repo.
    pub fn covers_repo(&self, repo_type: RepoType, repo_id: &RepoId) -> bool {
        match self {
            ScopeTarget::Global => true,
            ScopeTarget::Namespace(namespace) => namespace == repo_id.namespace(),
            ScopeTarget::Repo(t, id) => *t == repo_type && id == repo_id,
        }
    }

    /// Whether the scope covers the whole namespace (creating or moving repos in it).
    pub fn covers_namespace(&self, namespace: &str) -> bool {
        match self {
            ScopeTarget::Global => true,
            ScopeTarget::Namespace(n) => n == namespace,
            ScopeTarget::Repo(..) => false,
        }
    }
}

impl fmt::Display for ScopeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeTarget::Global => f.write_str("*"),
            ScopeTarget::Namespace(namespace) => f.write_str(namespace),
            ScopeTarget::Repo(repo_type, repo_id) => write!(f, "{}:{repo_id}", repo_type.as_str()),
        }
    }
}

/// One scope of a fine-grained token; written `target=perm,perm` (`model:alice/m=repo.write`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenScope {
    pub target: ScopeTarget,
    /// Sorted, without duplicates, never empty.
    pub permissions: Vec<Permission>,
}

impl TokenScope {
    /// A scope from a target and permission names; at least one permission is required.
    pub fn new(target: ScopeTarget, permissions: &[&str]) -> Result<Self, ScopeError> {
        let mut parsed = permissions.iter().map(|p| Permission::parse(p)).collect::<Result<Vec<_>, _>>()?;
        parsed.sort();
        parsed.dedup();
        if parsed.is_empty() {
            return Err(ScopeError(format!("The scope for '{target}' lists no permission")));
        }
        Ok(Self { target, permissions: parsed })
    }

    /// Parses `target=perm[,perm…]`.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let (target, permissions) = text.split_once('=').ok_or_else(|| {
            ScopeError(format!("Invalid scope '{text}': expected TARGET=PERMISSION[,PERMISSION…]"))
        })?;
        let permissions: Vec<&str> =
            permissions.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        Self::new(ScopeTarget::parse(target.trim())?, &permissions)
    }

    /// Whether the scope lets its token write (otherwise it only reads).
    pub fn writes(&self) -> bool {
        self.permissions.contains(&Permission::RepoWrite)
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let permissions: Vec<&str> = self.permissions.iter().map(|p| p.as_str()).collect();
        write!(f, "{}={}", self.target, permissions.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Result<&str, &str>) {
        match (TokenScope::parse(input), expect) {
            (Ok(scope), Ok(text)) => assert_eq!(scope.to_string(), text, "{input}"),
            (Err(error), Err(fragment)) => assert!(error.0.contains(fragment), "{input}: {error}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn scopes_round_trip_and_reject_malformed_input() {
        check("model:alice/m=repo.write,repo.content.read", Ok("model:alice/m=repo.content.read,repo.write"));
        check("dataset:acme/d=repo.content.read,repo.content.read", Ok("dataset:acme/d=repo.content.read"));
        check("alice=repo.write", Ok("alice=repo.write"));
        check("*=repo.content.read", Ok("*=repo.content.read"));
        check("alice", Err("expected TARGET=PERMISSION"));
        check("alice=", Err("lists no permission"));
        check("alice=repo.delete", Err("Unknown permission"));
        check("bucket:alice/m=repo.write", Err("Unknown repo type"));
        check("model:alice=repo.write", Err("Invalid"));
        check("model:../x=repo.write", Err("Invalid"));
        check("api=repo.write", Err("reserved"));
    }

    #[test]
    fn targets_cover_what_they_name() {
        let repo = RepoId::parse("alice/m").unwrap();
        let other = RepoId::parse("bob/m").unwrap();
        let exact = ScopeTarget::parse("model:alice/m").unwrap();
        assert!(exact.covers_repo(RepoType::Model, &repo));
        assert!(!exact.covers_repo(RepoType::Dataset, &repo), "the type is part of the target");
        assert!(!exact.covers_namespace("alice"), "a repo scope cannot create repos");
        let namespace = ScopeTarget::parse("alice").unwrap();
        assert!(
            namespace.covers_repo(RepoType::Space, &repo) && !namespace.covers_repo(RepoType::Model, &other)
        );
        assert!(namespace.covers_namespace("alice") && !namespace.covers_namespace("bob"));
        assert!(ScopeTarget::Global.covers_repo(RepoType::Model, &other));
    }
}
