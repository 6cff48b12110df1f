//! Repository identity: type, `namespace/name` ids, ref names and token roles.

use std::fmt;

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

/// The three kinds of repository the Hub knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    pub const ALL: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];

    /// Singular name as used in JSON bodies (`"type": "dataset"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// Plural segment used in API routes (`/api/datasets/...`).
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// Prefix of file and git routes: empty for models, `datasets/` or `spaces/` otherwise.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }

    pub fn from_singular(text: &str) -> Option<Self> {
        match text {
            "model" => Some(RepoType::Model),
            "dataset" => Some(RepoType::Dataset),
            "space" => Some(RepoType::Space),
            _ => None,
        }
    }

    pub fn from_plural(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.plural() == text)
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Top-level path segments kept for routes, today's and those the next edges need (the web
/// UI's pages and static assets, collections, buckets, the datasets server): no user or
/// organization may take one, compared without case. The route table's test checks that
/// every top-level segment it matches is here.
pub const RESERVED_NAMESPACES: &[&str] = &[
    // Routes served today.
    "api",
    "_kura",
    "cas",
    "health",
    "metrics",
    "datasets",
    "spaces",
    "models",
    // Pages and features of the coming edges.
    "admin",
    "assets",
    "buckets",
    "collections",
    "datasets-server",
    "docs",
    "favicon.ico",
    "join",
    "kernels",
    "login",
    "logout",
    "new",
    "organizations",
    "robots.txt",
    "search",
    "settings",
    "static",
];

/// Checks one segment of a repo id or a user/org name the way the Hub does:
/// 1–96 chars of `[A-Za-z0-9_.-]`, no `--` or `..`, not starting or ending with `-` or `.`,
/// not ending in `.git`.
fn validate_segment(kind: &str, text: &str) -> Result<(), IdError> {
    let bad = |why: &str| Err(IdError(format!("Invalid {kind} '{text}': {why}")));
    if text.is_empty() || text.len() > 96 {
        return bad("must be 1 to 96 characters long");
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return bad("only letters, digits, '-', '_' and '.' are allowed");
    }
    if text.contains("--") || text.contains("..") {
        return bad("'--' and '..' are forbidden");
    }
    if text.starts_with(['-', '.']) || text.ends_with(['-', '.']) {
        return bad("cannot start or end with '-' or '.'");
    }
    if text.ends_with(".git") {
        return bad("cannot end with '.git'");
    }
    Ok(())
}

/// Validates a user or organization name (also a repo namespace).
pub fn validate_namespace(text: &str) -> Result<(), IdError> {
    validate_segment("namespace", text)?;
    if RESERVED_NAMESPACES.contains(&text.to_ascii_lowercase().as_str()) {
        return Err(IdError(format!("Invalid namespace '{text}': the name is reserved")));
    }
    Ok(())
}

/// A repository id `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId {
    namespace: String,
    name: String,
}

impl RepoId {
    pub fn new(namespace: &str, name: &str) -> Result<Self, IdError> {
        validate_namespace(namespace)?;
        validate_segment("repo name", name)?;
        Ok(Self { namespace: namespace.to_owned(), name: name.to_owned() })
    }

    /// Parses `namespace/name`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        match text.split_once('/') {
            Some((namespace, name)) if !name.contains('/') => Self::new(namespace, name),
            _ => Err(IdError(format!("Invalid repo id '{text}': expected 'namespace/name'"))),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A full git ref name such as `refs/heads/main`, `refs/tags/v1` or `refs/pr/3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefName(String);

impl RefName {
    pub fn branch(name: &str) -> Result<Self, IdError> {
        validate_ref_name(name)?;
        Ok(Self(format!("refs/heads/{name}")))
    }

    pub fn tag(name: &str) -> Result<Self, IdError> {
        validate_ref_name(name)?;
        Ok(Self(format!("refs/tags/{name}")))
    }

    pub fn pull_request(number: u64) -> Self {
        Self(format!("refs/pr/{number}"))
    }

    /// Accepts a stored full ref name (as read back from the database).
    pub fn from_full(full: &str) -> Result<Self, IdError> {
        let rest = full.strip_prefix("refs/").ok_or_else(|| IdError(format!("Invalid ref '{full}'")))?;
        validate_ref_name(rest)?;
        Ok(Self(full.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The short name shown by the API (`main` for `refs/heads/main`, `3` for `refs/pr/3`).
    pub fn short(&self) -> &str {
        ["refs/heads/", "refs/tags/", "refs/pr/", "refs/convert/"]
            .iter()
            .find_map(|p| self.0.strip_prefix(p))
            .unwrap_or(&self.0)
    }
}

impl fmt::Display for RefName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates a branch or tag name with the rules of `git check-ref-format`.
pub fn validate_ref_name(name: &str) -> Result<(), IdError> {
    let bad = |why: &str| Err(IdError(format!("Invalid reference name '{name}': {why}")));
    if name.is_empty() || name.len() > 255 {
        return bad("must be 1 to 255 characters long");
    }
    if name.bytes().any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b)) {
        return bad("contains a forbidden character");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return bad("empty path component");
    }
    if name.ends_with('.') || name.contains("..") || name.contains("@{") || name == "@" {
        return bad("forbidden sequence");
    }
    for part in name.split('/') {
        if part.starts_with('.') || part.ends_with(".lock") {
            return bad("a component starts with '.' or ends with '.lock'");
        }
    }
    if ObjectId::looks_like_full(name) {
        return bad("a 40-character hex name would be ambiguous with a commit id");
    }
    Ok(())
}

use crate::ObjectId;

/// What a token allows: everything the user may read, everything the user may do, or only
/// what its scopes list (`TokenScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Read,
    Write,
    FineGrained,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::FineGrained => "fineGrained",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "fineGrained" => Some(Role::FineGrained),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_repo(input: &str, ok: bool) {
        assert_eq!(RepoId::parse(input).is_ok(), ok, "{input}");
    }

    #[test]
    fn repo_ids_follow_hub_rules() {
        check_repo("alice/model", true);
        check_repo("Alice_1/my.model-v2", true);
        check_repo("alice", false);
        check_repo("alice/a/b", false);
        check_repo("alice/..", false);
        check_repo("alice/a..b", false);
        check_repo("alice/a--b", false);
        check_repo("alice/-a", false);
        check_repo("alice/a.git", false);
        check_repo("datasets/x", false);
        check_repo("api/x", false);
        check_repo(&format!("alice/{}", "a".repeat(97)), false);
        check_repo("alice/a b", false);
        check_repo("alice/", false);
    }

    #[test]
    fn reserved_names_are_refused_in_any_case() {
        for name in ["datasets-server", "collections", "buckets", "settings", "new", "login", "logout"]
            .into_iter()
            .chain(["metrics", "cas", "static", "assets", "api", "spaces", "datasets", "models"])
            .chain(["organizations", "docs", "Metrics", "STATIC"])
        {
            let refused = validate_namespace(name).unwrap_err();
            assert!(refused.0.contains("reserved"), "{name}: {refused}");
        }
        for name in ["alice", "metrics-team", "static2", "my-datasets", "cas-lab"] {
            assert!(validate_namespace(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn ref_names_follow_git_rules() {
        assert!(validate_ref_name("main").is_ok());
        assert!(validate_ref_name("feature/x").is_ok());
        for bad in ["", "a..b", "a b", "/a", "a/", "a.lock", ".a", "a:b", "a~1", &"a".repeat(40)] {
            assert!(validate_ref_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_names() {
        assert_eq!(RefName::branch("main").unwrap().short(), "main");
        assert_eq!(RefName::pull_request(3).short(), "3");
        assert_eq!(RefName::tag("v1").unwrap().as_str(), "refs/tags/v1");
    }
}
