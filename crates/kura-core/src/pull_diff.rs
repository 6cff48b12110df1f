//! A pull request's `diff` (the details' `?diff=1`): a git-style unified diff of
//! `refs/pr/N` against `main` from their merge base, for callers who may read the files.
//! Bounded: at most 100 files, text blobs of at most 256 KiB each, 1 MiB of diff in all;
//! large (LFS) files and binary ones are named, not shown.

use std::fmt::Write as _;

use kura_model::{ObjectId, RefName};
use kura_storage::RepoRecord;
use similar::TextDiff;

use crate::auth::Identity;
use crate::compare::{ChangedFile, CompareBudget};
use crate::discussions::DiscussionDetails;
use crate::error::Result;
use crate::pulls::{TARGET_BRANCH, pr_ref};
use crate::services::Discussions;

const BUDGET: CompareBudget = CompareBudget { max_entries: 20_000, max_files: 100 };
const MAX_BLOB: u64 = 256 << 10;
const MAX_DIFF: usize = 1 << 20;
/// Commits walked to find where the pull request left `main`.
const WALK: usize = 2_000;

impl Discussions<'_> {
    /// The unified diff of the pull request `details` shows, from where it left `main` (its
    /// own commits excepted, so a merged one still shows its changes), or `None` when the
    /// caller may not read the repo's files or the pull request has no ref.
    pub async fn pull_diff(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        details: &DiscussionDetails,
    ) -> Result<Option<String>> {
        if self.hub.accounts().authorize_files(identity, repo).await.is_err() {
            return Ok(None);
        }
        let num = details.discussion.num;
        let Some(head) = self.meta.ref_target(repo.id, &pr_ref(num)).await? else { return Ok(None) };
        let main = self.meta.ref_target(repo.id, &RefName::from_full(TARGET_BRANCH)?).await?;
        let repos = self.hub.repos();
        let from = match main {
            Some(main) => {
                let own = details.own_commits();
                let base = repos.pull_request_base(main, head, &own, WALK).await;
                Some(base.ok().flatten().unwrap_or(main))
            }
            None => None,
        };
        let from_tree = match from {
            Some(commit) => Some(repos.commit_tree(&commit).await?),
            None => None,
        };
        let comparison = repos.compare(from_tree, repos.commit_tree(&head).await?, BUDGET).await?;
        let mut out = String::new();
        for file in &comparison.files {
            if out.len() > MAX_DIFF {
                out.push_str("(diff truncated)\n");
                break;
            }
            self.file_diff(file, &mut out).await?;
        }
        if comparison.truncated {
            out.push_str("(more files changed than listed)\n");
        }
        Ok(Some(out))
    }

    async fn file_diff(&self, file: &ChangedFile, out: &mut String) -> Result<()> {
        let path = &file.path;
        let _ = writeln!(out, "diff --git a/{path} b/{path}");
        let text = |side: Option<&crate::compare::FileSide>| {
            side.map(|s| (s.blob, s.info.size, s.info.lfs.is_some()))
        };
        let (old, new) = (text(file.old.as_ref()), text(file.new.as_ref()));
        let showable =
            |s: Option<(ObjectId, u64, bool)>| s.is_none_or(|(_, size, lfs)| !lfs && size <= MAX_BLOB);
        if !showable(old) || !showable(new) {
            let _ = writeln!(out, "Binary files a/{path} and b/{path} differ");
            return Ok(());
        }
        let (Some(before), Some(after)) = (self.blob_text(old).await?, self.blob_text(new).await?) else {
            let _ = writeln!(out, "Binary files a/{path} and b/{path} differ");
            return Ok(());
        };
        let (a, b) = match (old, new) {
            (None, _) => ("/dev/null".to_owned(), format!("b/{path}")),
            (_, None) => (format!("a/{path}"), "/dev/null".to_owned()),
            _ => (format!("a/{path}"), format!("b/{path}")),
        };
        let diff = TextDiff::from_lines(&before, &after);
        let _ = write!(out, "{}", diff.unified_diff().context_radius(3).header(&a, &b));
        Ok(())
    }

    /// A side's text (empty for a missing side); `None` when it is not UTF-8.
    async fn blob_text(&self, side: Option<(ObjectId, u64, bool)>) -> Result<Option<String>> {
        let Some((oid, _, _)) = side else { return Ok(Some(String::new())) };
        let bytes = self.hub.repos().read_small_blob(&oid).await?;
        Ok(String::from_utf8(bytes.to_vec()).ok())
    }
}
