//! Turning a revision string into a commit of one repo.

use kura_model::{ObjectId, RefName};
use kura_storage::RepoRecord;

use crate::error::{CoreError, Result};
use crate::services::Repos;

/// A revision resolved at request time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub commit: ObjectId,
    /// The ref it came from, when it was not a commit id.
    pub ref_name: Option<RefName>,
}

/// Shortest abbreviated commit id accepted as a revision (git's default abbreviation).
const MIN_ABBREVIATION: usize = 7;

impl Repos<'_> {
    /// Resolves a branch, tag, full ref (`refs/pr/1`) or commit id of this repo: 40 hex, or
    /// an unambiguous abbreviation of at least 7 (as the Hub accepts), tried after the refs
    /// so a branch named like hex still wins.
    pub async fn resolve_revision(&self, repo: &RepoRecord, revision: &str) -> Result<Resolved> {
        let not_found = || CoreError::RevisionNotFound { revision: revision.to_owned() };
        if ObjectId::looks_like_full(revision) {
            let oid = ObjectId::from_hex(&revision.to_ascii_lowercase()).map_err(|_| not_found())?;
            if self.meta.has_commit(repo.id, &oid).await? {
                return Ok(Resolved { commit: oid, ref_name: None });
            }
            return Err(not_found());
        }
        let candidates: Vec<RefName> = if revision.starts_with("refs/") {
            RefName::from_full(revision).into_iter().collect()
        } else {
            [RefName::branch(revision), RefName::tag(revision)].into_iter().flatten().collect()
        };
        for name in candidates {
            if let Some(commit) = self.head(repo, &name).await? {
                return Ok(Resolved { commit, ref_name: Some(name) });
            }
        }
        if revision.len() >= MIN_ABBREVIATION
            && let Some(commit) = self.resolve_commit_prefix(repo, &revision.to_ascii_lowercase()).await?
        {
            return Ok(Resolved { commit, ref_name: None });
        }
        Err(not_found())
    }

    /// Resolves a possibly abbreviated (5–40 hex) commit id of this repo.
    pub async fn resolve_commit_prefix(&self, repo: &RepoRecord, prefix: &str) -> Result<Option<ObjectId>> {
        if prefix.len() < 5 || prefix.len() > 40 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let found = self.meta.commits_with_prefix(repo.id, prefix, 2).await?;
        Ok(if found.len() == 1 { Some(found[0]) } else { None })
    }

    /// The branch ref a write to `revision` goes to: a branch name, `refs/heads/x` or
    /// `refs/pr/N`.
    pub async fn writable_ref(&self, repo: &RepoRecord, revision: &str) -> Result<(RefName, ObjectId)> {
        let name = if revision.starts_with("refs/heads/") || revision.starts_with("refs/pr/") {
            RefName::from_full(revision)?
        } else {
            RefName::branch(revision)
                .map_err(|_| CoreError::RevisionNotFound { revision: revision.to_owned() })?
        };
        match self.meta.ref_target(repo.id, &name).await? {
            Some(head) => Ok((name, head)),
            None => Err(CoreError::RevisionNotFound { revision: revision.to_owned() }),
        }
    }
}
