//! Pull requests: a discussion with a ref, `refs/pr/{num}`, that its author (or a repo writer)
//! adds commits to while it is open, without write access to the repo's branches. Opened
//! empty (`draft`, at the head of `main`) by `POST …/discussions {"pullRequest": true}`, or
//! with a first commit by `create_commit(create_pr=True)`; commits through the commit API or
//! `git push origin HEAD:refs/pr/N`. Merging is in `pull_merge`.

use kura_model::{ObjectId, RefName};
use kura_storage::{DiscussionChange, NewDiscussion, RepoRecord, StorageError};
use serde_json::json;

use crate::auth::Identity;
use crate::commit::CommitRequest;
use crate::discussions::{check_body, check_title, comment_data, event_record, hides_text};
use crate::error::{CoreError, Result};
use crate::services::{Discussions, Repos};

/// The branch pull requests are opened against and merged into.
pub const TARGET_BRANCH: &str = "refs/heads/main";

/// The number of a pull request ref (`refs/pr/7`), as a revision names it.
pub fn pr_number(revision: &str) -> Option<u64> {
    let digits = revision.strip_prefix("refs/pr/")?;
    if digits.starts_with('0')
        || digits.is_empty()
        || digits.len() > 10
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok().filter(|n| *n >= 1)
}

/// The ref of pull request `num`.
pub fn pr_ref(num: u64) -> RefName {
    RefName::from_full(&format!("refs/pr/{num}")).expect("a valid ref name")
}

/// A pull request title from a commit summary: what a title may hold, at most its length.
fn title_from_summary(summary: &str) -> String {
    let clean: String = summary.chars().filter(|c| !hides_text(*c)).collect();
    let title: String = clean.trim().chars().take(crate::discussions::MAX_TITLE_CHARS).collect();
    if title.trim().is_empty() { "Update files".to_owned() } else { title.trim().to_owned() }
}

fn commit_event_data(oid: &ObjectId, subject: &str) -> serde_json::Value {
    let subject: String = subject.lines().next().unwrap_or("").chars().take(200).collect();
    json!({"subject": subject, "oid": oid.to_hex()})
}

impl Discussions<'_> {
    /// Opens an empty pull request (`draft`) whose ref starts at the head of `main`.
    pub(crate) async fn open_pull_request(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        title: &str,
        description: &str,
    ) -> Result<u64> {
        let title = check_title(title)?;
        check_body(description, "description")?;
        self.hub.accounts().authorize_files(identity, repo).await?;
        let principal = self.poster(identity, repo).await?;
        let target = RefName::from_full(TARGET_BRANCH)?;
        let head = self.meta.ref_target(repo.id, &target).await?.ok_or_else(|| {
            CoreError::invalid("This repo has no main branch to open a pull request against")
        })?;
        let now = self.now_millis();
        let first =
            event_record(principal, "comment", &comment_data(description, &principal.user.name, now), now);
        let new = NewDiscussion {
            repo: repo.id,
            title: &title,
            status: "draft",
            is_pull_request: true,
            author: principal.user.id,
            created_at: now,
            pr_head: Some(head),
        };
        self.meta.create_discussion(new, &[first]).await.map_err(numbering)
    }

    /// Whether the caller may add commits to `revision`: write access for a branch; for
    /// `refs/pr/N`, an open (or draft) pull request of which the caller is the author or a
    /// repo writer, and the right to post. Returns the pull request's number.
    pub async fn authorize_ref_write(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        revision: &str,
    ) -> Result<Option<u64>> {
        let Some(num) = pr_number(revision) else {
            self.hub.accounts().authorize_write(identity, repo).await?;
            return Ok(None);
        };
        self.hub.accounts().authorize_files(identity, repo).await?;
        let principal = self.poster(identity, repo).await?;
        let discussion = match self.meta.discussion(repo.id, num).await? {
            Some(d) if d.is_pull_request => d,
            _ => return Err(CoreError::RevisionNotFound { revision: revision.to_owned() }),
        };
        if discussion.author != Some(principal.user.id) && !self.is_writer(identity, repo).await? {
            return Err(CoreError::Forbidden(
                "Only the pull request's author or the repo's maintainers may add commits to it".into(),
            ));
        }
        if !matches!(discussion.status.as_str(), "open" | "draft") {
            return Err(CoreError::invalid(format!(
                "This pull request is {}; commits can only be added to an open pull request",
                discussion.status
            )));
        }
        Ok(Some(num))
    }

    /// Why a push to a `refs/pr/N` ref cannot be applied (`None`: it may, as a branch would):
    /// the ref comes with its pull request and goes only with it, and only its author or a
    /// repo writer adds to it while it is open.
    pub(crate) async fn check_pr_push(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        command: &kura_git::RefUpdate,
    ) -> Result<Option<String>> {
        if command.is_create() {
            return Ok(Some(
                "a pull request ref is made by opening the pull request (create_pull_request); push to it then"
                    .to_owned(),
            ));
        }
        if command.is_delete() {
            return Ok(Some(
                "a pull request ref cannot be deleted; close the pull request instead".to_owned(),
            ));
        }
        match self.authorize_ref_write(identity, repo, &command.name).await {
            Ok(_) => Ok(None),
            Err(CoreError::Forbidden(message) | CoreError::InvalidInput(message)) => Ok(Some(message)),
            Err(CoreError::RevisionNotFound { .. }) => Ok(Some("no such pull request".to_owned())),
            Err(other) => Err(other),
        }
    }

    /// Records commits added to pull request `num` as `commit` events, oldest first; a draft
    /// becomes open with its first commit. A full discussion keeps the commits (they are in
    /// the ref) without their events.
    pub(crate) async fn record_commits(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        commits: &[(ObjectId, String)],
    ) -> Result<()> {
        let Some(principal) = identity.principal() else { return Ok(()) };
        let events: Vec<_> = commits
            .iter()
            .take(crate::discussions::MAX_EVENTS as usize)
            .map(|(oid, subject)| self.event(principal, "commit", commit_event_data(oid, subject)))
            .collect();
        // A draft opens with its first commit, checked in the write (a pull request merged or
        // closed meanwhile keeps its status); otherwise the events go alone.
        let opening = DiscussionChange { title: None, status: Some("open"), from_statuses: Some("draft") };
        let result = match self.append(repo, num, &events, opening).await {
            Err(CoreError::Conflict { .. }) => {
                self.append(repo, num, &events, DiscussionChange::default()).await
            }
            other => other,
        };
        // The commits are in the ref already: their events are best effort.
        if let Err(error) = result {
            tracing::warn!(repo = %repo.repo_id, num, %error, "pull request commits not recorded");
        }
        Ok(())
    }
}

/// A ref already at `refs/pr/{num}` (made before pull requests had discussions) makes the
/// numbering fail: a conflict, not a server error.
fn numbering(error: StorageError) -> CoreError {
    match error {
        StorageError::Conflict | StorageError::AlreadyExists => {
            CoreError::conflict("Could not number the pull request: its ref already exists")
        }
        other => other.into(),
    }
}

impl Repos<'_> {
    /// `create_commit(create_pr=True)`: commits `request` on top of `revision`'s head (or
    /// `parentCommit`) and opens a pull request at that commit, titled by its summary and
    /// described by its description. Returns the commit and the pull request's number.
    pub async fn create_pull_commit(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        revision: &str,
        request: CommitRequest,
    ) -> Result<(ObjectId, u64)> {
        let discussions = self.hub.discussions();
        self.hub.accounts().authorize_files(identity, repo).await?;
        let principal = discussions.poster(identity, repo).await?;
        check_body(&request.description, "description")?;
        let (name, head) = self.writable_ref(repo, revision).await?;
        if pr_number(name.as_str()).is_some() {
            return Err(CoreError::invalid(
                "A pull request is opened against a branch, not another pull request",
            ));
        }
        let base = match &request.parent {
            Some(prefix) => self
                .resolve_commit_prefix(repo, prefix)
                .await?
                .ok_or_else(|| CoreError::invalid(format!("Unknown parent commit '{prefix}'")))?,
            None => head,
        };
        let new = self.build_commit(identity, repo, base, &request).await?;
        self.hub.index().gate_pickles(repo, &[new]).await?;
        self.meta.add_commits(repo.id, &[new]).await?;
        let now = self.now_millis();
        let title = title_from_summary(&request.summary);
        let events = [
            event_record(
                principal,
                "comment",
                &comment_data(&request.description, &principal.user.name, now),
                now,
            ),
            event_record(principal, "commit", &commit_event_data(&new, &request.summary), now),
        ];
        let open = NewDiscussion {
            repo: repo.id,
            title: &title,
            status: "open",
            is_pull_request: true,
            author: principal.user.id,
            created_at: now,
            pr_head: Some(new),
        };
        let num = self.meta.create_discussion(open, &events).await.map_err(numbering)?;
        self.after_branch_update(repo, &pr_ref(num), new).await?;
        Ok((new, num))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_numbers_are_plain_positive_decimals() {
        assert_eq!(pr_number("refs/pr/1"), Some(1));
        assert_eq!(pr_number("refs/pr/1234"), Some(1234));
        for other in [
            "refs/pr/",
            "refs/pr/0",
            "refs/pr/01",
            "refs/pr/+1",
            "refs/pr/1/x",
            "refs/pr/a",
            "main",
            "refs/heads/pr/1",
        ] {
            assert_eq!(pr_number(other), None, "{other}");
        }
        assert_eq!(pr_number("refs/pr/99999999999"), None, "more than 10 digits");
    }

    #[test]
    fn titles_from_summaries_are_bounded_and_visible() {
        assert_eq!(title_from_summary("  Add weights \u{202E}gnp.exe "), "Add weights gnp.exe");
        assert_eq!(title_from_summary("\u{200B}"), "Update files");
        assert_eq!(title_from_summary(&"x".repeat(500)).chars().count(), 200);
    }
}
