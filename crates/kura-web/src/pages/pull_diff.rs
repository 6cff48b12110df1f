//! A pull request's "Files changed": `refs/pr/{num}` against `main` from the commit where
//! they meet (their merge base as the core finds it for merges and the API's diff, within
//! `MAX_WALK` commits), diffed as the commit page diffs. The
//! pull request's own commits do not count as meeting points, so a merged pull request still
//! shows what it changed. When no meeting point is found within the walk, the pull request is
//! compared with the head of `main`, and the page says so.

use std::collections::HashSet;

use kura_core::{CoreError, RepoRecord};
use kura_model::ObjectId;

use super::commit::{FileDiffs, diffs};
use crate::error::WebResult;
use crate::request::Req;

/// Commits walked while looking for the meeting point.
const MAX_WALK: usize = 1_000;
/// The branch pull requests merge into.
pub(crate) const TARGET: &str = "main";

/// What a pull request changes.
pub(crate) struct PullChanges {
    /// The head of `refs/pr/{num}` (`None`: the pull request has no ref yet).
    pub(crate) head: Option<ObjectId>,
    /// The commit the diff starts from (`None`: the empty tree).
    pub(crate) from: Option<ObjectId>,
    /// Whether `from` is where the pull request left `main` (else `main`'s head).
    pub(crate) from_merge_base: bool,
    pub(crate) diffs: FileDiffs,
}

/// The changes of pull request `num` of the repo at `base` (its URL); `own` holds the
/// commits its `commit` events name.
pub(crate) async fn changes(
    req: &Req,
    record: &RepoRecord,
    base: &str,
    num: u64,
    own: &HashSet<ObjectId>,
) -> WebResult<PullChanges> {
    let empty = FileDiffs { files: Vec::new(), truncated: false };
    let Some(head) = resolve(req, record, &format!("refs/pr/{num}")).await? else {
        return Ok(PullChanges { head: None, from: None, from_merge_base: false, diffs: empty });
    };
    let target = resolve(req, record, TARGET).await?;
    let meeting = match target {
        Some(target) => meeting_point(req, head, target, own).await?,
        None => None,
    };
    let from = meeting.or(target);
    let diffs = diffs(req, record, base, from, head).await?;
    Ok(PullChanges { head: Some(head), from, from_merge_base: meeting.is_some(), diffs })
}

/// The commit a revision names, `None` when it names none.
async fn resolve(req: &Req, record: &RepoRecord, revision: &str) -> WebResult<Option<ObjectId>> {
    match req.hub().repos().resolve_revision(record, revision).await {
        Ok(resolved) => Ok(Some(resolved.commit)),
        Err(CoreError::RevisionNotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Where the pull request left `main`: the core's merge base of the two, the pull request's
/// own commits excepted; `None` when they do not meet within `MAX_WALK` commits.
async fn meeting_point(
    req: &Req,
    head: ObjectId,
    target: ObjectId,
    own: &HashSet<ObjectId>,
) -> WebResult<Option<ObjectId>> {
    match req.hub().repos().pull_request_base(target, head, own, MAX_WALK).await {
        Ok(base) => Ok(base),
        Err(CoreError::TooLarge(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}
