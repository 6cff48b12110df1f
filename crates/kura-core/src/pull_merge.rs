//! Merging a pull request into `main`: a fast-forward when `main` has not moved since the
//! pull request's base, else a merge commit of the two trees. A path changed differently on
//! both sides is a conflict (409, and `filesWithConflicts` in the details); `main` moves by
//! compare-and-swap, so a commit landing meanwhile makes the merge start over on the new
//! head. Only repo writers merge, and merges are audited.

use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use kura_git::Commit;
use kura_model::{ObjectId, RefName};
use kura_storage::{DiscussionBudget, DiscussionChange, DiscussionRecord, RepoRecord, StorageError};
use serde_json::json;

use crate::audit::{actor, record_target};
use crate::auth::Identity;
use crate::browse::FlatTree;
use crate::discussions::{
    EventDetails, MAX_DISCUSSION_BYTES, MAX_EVENTS, PullDetails, check_body, comment_data,
};
use crate::error::{CoreError, Result};
use crate::pulls::{TARGET_BRANCH, pr_ref};
use crate::repos::signature_for;
use crate::services::{Discussions, Repos};

/// Commits walked to find where a pull request and `main` meet, at most.
const MAX_WALK: usize = 50_000;
/// Commits a read of a pull request's details walks to find its conflicts, at most (past it
/// none are listed: the merge itself walks further).
const DETAILS_WALK: usize = 2_000;
/// Conflicting files a pull request's details list, at most.
const MAX_LISTED_CONFLICTS: usize = 100;
/// Times a merge starts over when `main` moves while it is being made.
const MAX_ATTEMPTS: usize = 8;
/// Room past a discussion's budget for the merge's own events, so a full discussion can still
/// be merged (its status change is not the users' to spend).
const MERGE_BUDGET: DiscussionBudget =
    DiscussionBudget { max_events: MAX_EVENTS + 8, max_bytes: MAX_DISCUSSION_BYTES + (128 << 10) };

/// How a pull request's head joins `main`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergePlan {
    /// `main` already holds the pull request's head.
    UpToDate,
    /// `main` is an ancestor of the pull request's head.
    FastForward,
    /// Both moved: a merge commit of this tree, parents `main` and the pull request's head.
    Commit(Box<FlatTree>),
    /// Both changed these paths differently.
    Conflicts(Vec<String>),
}

/// Merges three flattened trees: a path takes the side that changed it; both sides changing
/// it differently (or one deleting what the other changed) is a conflict, and so is a file
/// where the merge also has a folder.
pub fn merge_trees(
    base: &FlatTree,
    ours: &FlatTree,
    theirs: &FlatTree,
) -> std::result::Result<FlatTree, Vec<String>> {
    let paths: BTreeSet<&String> = base.keys().chain(ours.keys()).chain(theirs.keys()).collect();
    let mut merged = FlatTree::new();
    let mut conflicts = Vec::new();
    for path in paths {
        let (b, o, t) = (base.get(path), ours.get(path), theirs.get(path));
        let take = if o == t || t == b {
            o
        } else if o == b {
            t
        } else {
            conflicts.push(path.clone());
            continue;
        };
        if let Some(entry) = take {
            merged.insert(path.clone(), *entry);
        }
    }
    for path in merged.keys() {
        let mut parent = path.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            if merged.contains_key(up) {
                conflicts.push(path.clone());
                break;
            }
            parent = up;
        }
    }
    if conflicts.is_empty() { Ok(merged) } else { Err(conflicts) }
}

impl Repos<'_> {
    /// Where `ours` and `theirs` meet: the newest commit reachable from both that is not in
    /// `skip`, walking both histories together by commit time (`None`: unrelated histories).
    async fn merge_base(
        &self,
        ours: ObjectId,
        theirs: ObjectId,
        max_walk: usize,
        skip: &HashSet<ObjectId>,
    ) -> Result<Option<ObjectId>> {
        const OURS: u8 = 1;
        const THEIRS: u8 = 2;
        let mut flags: HashMap<ObjectId, u8> = HashMap::new();
        let mut queue = BinaryHeap::new();
        for (oid, flag) in [(ours, OURS), (theirs, THEIRS)] {
            *flags.entry(oid).or_default() |= flag;
            queue.push((self.objects.commit(&oid).await?.committer.time, oid));
        }
        let mut walked = 0;
        while let Some((_, oid)) = queue.pop() {
            let flag = flags[&oid];
            if flag == OURS | THEIRS && !skip.contains(&oid) {
                return Ok(Some(oid));
            }
            walked += 1;
            if walked > max_walk {
                return Err(CoreError::TooLarge(format!(
                    "The pull request and main meet more than {max_walk} commits back; merge it with git"
                )));
            }
            for parent in self.objects.commit(&oid).await?.parents {
                // A commit reached from a new side is walked again, so the side reaches its
                // ancestors too (commits of equal times may come in either order).
                let entry = flags.entry(parent).or_default();
                let before = *entry;
                *entry |= flag;
                if *entry != before {
                    queue.push((self.objects.commit(&parent).await?.committer.time, parent));
                }
            }
        }
        Ok(None)
    }

    /// Where a pull request whose head is `head` left `main` (at `main`): their merge base,
    /// the pull request's `own` commits excepted, so a merged pull request still shows what it
    /// changed; walking at most `max_walk` commits (`TooLarge` past it).
    pub async fn pull_request_base(
        &self,
        main: ObjectId,
        head: ObjectId,
        own: &HashSet<ObjectId>,
        max_walk: usize,
    ) -> Result<Option<ObjectId>> {
        self.merge_base(main, head, max_walk, own).await
    }

    /// How `theirs` (a pull request's head) would join `ours` (`main`'s head).
    pub(crate) async fn plan_merge(
        &self,
        ours: ObjectId,
        theirs: ObjectId,
        max_walk: usize,
    ) -> Result<MergePlan> {
        if ours == theirs {
            return Ok(MergePlan::UpToDate);
        }
        let base = self.merge_base(ours, theirs, max_walk, &HashSet::new()).await?;
        if base == Some(theirs) {
            return Ok(MergePlan::UpToDate);
        }
        if base == Some(ours) {
            return Ok(MergePlan::FastForward);
        }
        let max_paths = self.config.limits.max_repo_paths;
        let base_tree = match base {
            Some(base) => self.flatten(self.commit_tree(&base).await?, max_paths).await?,
            None => FlatTree::new(),
        };
        let ours_tree = self.flatten(self.commit_tree(&ours).await?, max_paths).await?;
        let theirs_tree = self.flatten(self.commit_tree(&theirs).await?, max_paths).await?;
        Ok(match merge_trees(&base_tree, &ours_tree, &theirs_tree) {
            Ok(tree) => MergePlan::Commit(Box::new(tree)),
            Err(conflicts) => MergePlan::Conflicts(conflicts),
        })
    }

    /// Writes the merge commit of a planned tree.
    async fn write_merge(
        &self,
        identity: &Identity,
        tree: &FlatTree,
        parents: [ObjectId; 2],
        message: String,
    ) -> Result<ObjectId> {
        let tree = self.write_flat_tree(tree).await?;
        let signature = signature_for(identity, self.now_millis());
        let commit = Commit {
            tree,
            parents: parents.to_vec(),
            author: signature.clone(),
            committer: signature,
            extra_headers: vec![],
            message,
        };
        self.objects.write_commit(&commit).await
    }
}

fn conflict_error(files: &[String]) -> CoreError {
    let shown: Vec<&str> = files.iter().take(20).map(String::as_str).collect();
    CoreError::conflict(format!(
        "This pull request has conflicts with main in {} file(s): {}",
        files.len(),
        shown.join(", ")
    ))
}

impl Discussions<'_> {
    /// A pull request's standing: its conflicts with `main` now (none listed when finding
    /// them would walk too far) and the merge commit its merge recorded.
    pub(crate) async fn pull_details(
        &self,
        repo: &RepoRecord,
        discussion: &DiscussionRecord,
        events: &[EventDetails],
    ) -> Result<PullDetails> {
        let conflicts = match self.conflicts(repo, discussion.num, &discussion.status).await {
            Err(CoreError::TooLarge(_)) => Vec::new(),
            other => other?,
        };
        let merge_commit = events
            .iter()
            .rev()
            .filter(|e| e.event.kind == "status-change")
            .find_map(|e| e.data["mergeCommitId"].as_str().map(str::to_owned));
        Ok(PullDetails { base: TARGET_BRANCH.to_owned(), conflicts, merge_commit })
    }

    /// The files a pull request conflicts on with `main` now (empty when it merges cleanly or
    /// is no longer open).
    pub async fn conflicts(&self, repo: &RepoRecord, num: u64, status: &str) -> Result<Vec<String>> {
        if !matches!(status, "open" | "draft") {
            return Ok(Vec::new());
        }
        let (Some(ours), Some(theirs)) = (
            self.meta.ref_target(repo.id, &RefName::from_full(TARGET_BRANCH)?).await?,
            self.meta.ref_target(repo.id, &pr_ref(num)).await?,
        ) else {
            return Ok(Vec::new());
        };
        Ok(match self.hub.repos().plan_merge(ours, theirs, DETAILS_WALK).await? {
            MergePlan::Conflicts(mut files) => {
                files.truncate(MAX_LISTED_CONFLICTS);
                files
            }
            _ => Vec::new(),
        })
    }

    /// A repo writer merges pull request `num` into `main`, with an optional comment posted
    /// first. With `expected_head` (what the reviewer saw), a pull request that moved since is
    /// refused (409) rather than merged unseen. Returns the status change (whose data names
    /// the merge commit).
    pub async fn merge(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        comment: Option<&str>,
        expected_head: Option<ObjectId>,
    ) -> Result<EventDetails> {
        if let Some(text) = comment {
            check_body(text, "comment")?;
        }
        let principal = self.poster(identity, repo).await?;
        if !self.is_writer(identity, repo).await? {
            return Err(CoreError::Forbidden("Only the repo's maintainers may merge a pull request".into()));
        }
        let discussion = self.found(repo, num).await?;
        if !discussion.is_pull_request {
            return Err(CoreError::invalid(format!("Discussion #{num} is not a pull request")));
        }
        if !matches!(discussion.status.as_str(), "open" | "draft") {
            return Err(CoreError::invalid(format!("This pull request is {}", discussion.status)));
        }
        let merged = self.move_main(identity, repo, num, &discussion.title, expected_head).await?;
        let mut events = Vec::new();
        if let Some(text) = comment.filter(|t| !t.trim().is_empty()) {
            events.push(self.event(
                principal,
                "comment",
                comment_data(text, &principal.user.name, self.now_millis()),
            ));
        }
        let data = json!({"status": "merged", "mergeCommitId": merged.to_hex()});
        events.push(self.event(principal, "status-change", data));
        let records: Vec<_> = events.iter().map(|e| e.event.clone()).collect();
        // `main` has moved: the pull request is merged whatever status a racing change left.
        let change = DiscussionChange { title: None, status: Some("merged"), from_statuses: None };
        self.meta.add_discussion_events(repo.id, num, &records, change, MERGE_BUDGET).await?;
        let details = json!({"discussion": num, "commit": merged.to_hex()});
        self.hub.accounts().audit(actor(identity), "discussion.merge", record_target(repo), details).await;
        Ok(events.pop().expect("the status change"))
    }

    /// Moves `main` to the pull request's head (a fast-forward) or to a merge commit; returns
    /// where `main` now is.
    async fn move_main(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        title: &str,
        expected_head: Option<ObjectId>,
    ) -> Result<ObjectId> {
        let repos = self.hub.repos();
        let target = RefName::from_full(TARGET_BRANCH)?;
        for _ in 0..MAX_ATTEMPTS {
            let ours = self
                .meta
                .ref_target(repo.id, &target)
                .await?
                .ok_or_else(|| CoreError::invalid("This repo has no main branch to merge into"))?;
            let theirs = self
                .meta
                .ref_target(repo.id, &pr_ref(num))
                .await?
                .ok_or_else(|| CoreError::NotFound("The pull request's ref is gone".into()))?;
            if expected_head.is_some_and(|expected| expected != theirs) {
                return Err(CoreError::conflict(format!(
                    "The pull request changed since it was reviewed (its head is now {}); review it again",
                    &theirs.to_hex()[..7]
                )));
            }
            let new = match repos.plan_merge(ours, theirs, MAX_WALK).await? {
                MergePlan::UpToDate => return Ok(ours),
                MergePlan::FastForward => theirs,
                MergePlan::Conflicts(files) => return Err(conflict_error(&files)),
                MergePlan::Commit(tree) => {
                    let message = format!("Merge refs/pr/{num}: {title}\n");
                    let new = repos.write_merge(identity, &tree, [ours, theirs], message).await?;
                    self.hub.index().gate_pickles(repo, &[new]).await?;
                    self.meta.add_commits(repo.id, &[new]).await?;
                    new
                }
            };
            match self.meta.update_ref(repo.id, &target, Some(ours), Some(new), self.now_millis()).await {
                Ok(()) => {
                    repos.after_branch_update(repo, &target, new).await?;
                    return Ok(new);
                }
                Err(StorageError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CoreError::conflict("main kept moving while the pull request was merged; please retry"))
    }
}

#[cfg(test)]
mod tests {
    use kura_git::EntryMode;

    use super::*;

    fn tree(entries: &[(&str, u8)]) -> FlatTree {
        entries.iter().map(|(p, b)| ((*p).to_owned(), (EntryMode::File, ObjectId([*b; 20])))).collect()
    }

    #[test]
    fn each_side_keeps_its_own_changes() {
        let base = tree(&[("a", 1), ("b", 2), ("c", 3)]);
        let ours = tree(&[("a", 9), ("b", 2), ("c", 3), ("new-ours", 4)]);
        let theirs = tree(&[("a", 1), ("b", 8), ("new-theirs", 5)]);
        let merged = merge_trees(&base, &ours, &theirs).unwrap();
        assert_eq!(merged, tree(&[("a", 9), ("b", 8), ("new-ours", 4), ("new-theirs", 5)]));
    }

    #[test]
    fn the_same_change_on_both_sides_is_not_a_conflict() {
        let base = tree(&[("a", 1)]);
        let both = tree(&[("a", 7), ("b", 2)]);
        assert_eq!(merge_trees(&base, &both, &both).unwrap(), both);
    }

    #[test]
    fn different_changes_to_one_path_conflict() {
        let base = tree(&[("a", 1), ("b", 2), ("d", 4)]);
        let ours = tree(&[("a", 5), ("b", 2), ("d", 6), ("n", 1)]);
        let theirs = tree(&[("a", 6), ("b", 2), ("n", 2)]);
        assert_eq!(merge_trees(&base, &ours, &theirs).unwrap_err(), vec!["a", "d", "n"]);
    }

    #[test]
    fn a_file_where_the_other_side_made_a_folder_conflicts() {
        let base = tree(&[]);
        let ours = tree(&[("x", 1)]);
        let theirs = tree(&[("x/y", 2)]);
        assert_eq!(merge_trees(&base, &ours, &theirs).unwrap_err(), vec!["x/y"]);
    }
}
