//! The write path: apply file operations to a branch head and move the branch with a
//! compare-and-swap. Objects are written before the ref moves, so a crash leaves the branch
//! at the old commit or the new one, never in between.

use std::collections::BTreeMap;

use bytes::Bytes;
use kura_git::{Commit, EntryMode, LfsPointer, ObjectKind, Tree, TreeEntry};
use kura_model::{ObjectId, RefName, RepoPath, Sha256};
use kura_storage::{RepoRecord, StorageError};

use crate::auth::Identity;
use crate::browse::FlatTree;
use crate::error::{CoreError, Result};
use crate::gitattributes::{is_lfs_path, lfs_line_for, lfs_patterns};
use crate::read_proof::PointerCheck;
use crate::repos::signature_for;
use crate::services::Repos;
use crate::tree_edit::TreeEdit;

/// Content of a file being added.
#[derive(Debug, Clone)]
pub enum FileContent {
    /// Bytes stored in git directly.
    Regular(Bytes),
    /// A large object already uploaded; `size` may be omitted (copies) and is looked up.
    Lfs { oid: Sha256, size: Option<u64> },
}

/// One change in a commit, applied in order.
#[derive(Debug, Clone)]
pub enum Operation {
    Put {
        path: RepoPath,
        content: FileContent,
    },
    Delete {
        path: RepoPath,
    },
    DeleteFolder {
        path: RepoPath,
    },
    /// Copies a file as it is at `revision` (default: the branch head).
    Copy {
        from: RepoPath,
        to: RepoPath,
        revision: Option<String>,
    },
}

/// A commit request.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    pub summary: String,
    pub description: String,
    /// Optimistic-concurrency base: 5–40 hex.
    pub parent: Option<String>,
    pub operations: Vec<Operation>,
}

/// A `parentCommit` that is not the branch head, in the Hub's words (its clients show them).
fn stale_parent() -> CoreError {
    CoreError::PreconditionFailed("A commit has happened since. Please refresh and try again.".to_owned())
}

/// How many times a commit without `parentCommit` is re-applied when it loses a race.
const MAX_ATTEMPTS: usize = 32;

impl Repos<'_> {
    /// Applies `request` to branch `revision` and returns the new commit id.
    pub async fn create_commit(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        revision: &str,
        request: CommitRequest,
    ) -> Result<ObjectId> {
        // A branch needs write access; `refs/pr/N` its pull request's author (or a writer).
        let pull_request = self.hub.discussions().authorize_ref_write(identity, repo, revision).await?;
        let expected_parent = match &request.parent {
            // Not a commit of this repo: the Hub answers it like any other stale parent.
            Some(prefix) => Some(self.resolve_commit_prefix(repo, prefix).await?.ok_or_else(stale_parent)?),
            None => None,
        };
        for _ in 0..MAX_ATTEMPTS {
            let (ref_name, head) = self.writable_ref(repo, revision).await?;
            if expected_parent.is_some_and(|p| p != head) {
                return Err(stale_parent());
            }
            let new = self.build_commit(identity, repo, head, &request).await?;
            self.hub.index().gate_pickles(repo, &[new]).await?;
            self.meta.add_commits(repo.id, &[new]).await?;
            match self.meta.update_ref(repo.id, &ref_name, Some(head), Some(new), self.now_millis()).await {
                Ok(()) => {
                    self.after_branch_update(repo, &ref_name, new).await?;
                    if let Some(num) = pull_request {
                        let commits = [(new, request.summary.clone())];
                        self.hub.discussions().record_commits(identity, repo, num, &commits).await?;
                    }
                    return Ok(new);
                }
                Err(StorageError::Conflict) if expected_parent.is_some() => return Err(stale_parent()),
                Err(StorageError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CoreError::conflict("Another commit landed on this branch at the same time; please retry"))
    }

    /// After a ref moved to a new commit (API commit, git push, squash): queues the commit's
    /// indexing and keeps listing metadata in step with the default branch.
    pub(crate) async fn after_branch_update(
        &self,
        repo: &RepoRecord,
        name: &RefName,
        commit: ObjectId,
    ) -> Result<()> {
        if name.as_str() == "refs/heads/main" {
            let info = self.card_info(self.commit_tree(&commit).await?).await?;
            self.meta.set_repo_tags(repo.id, &info.tags).await?;
            if repo.repo_type == kura_model::RepoType::Space {
                for (kind, field) in [("model", "models"), ("dataset", "datasets")] {
                    self.meta
                        .set_repo_links(repo.id, kind, &card_ids(info.card_data.as_ref(), field))
                        .await?;
                }
            }
        }
        // After the card's tags: the indexer replaces them with the enriched ones.
        self.hub.jobs().queue_index_after_commit(repo, &commit).await;
        if name.as_str() == "refs/heads/main" && repo.repo_type == kura_model::RepoType::Dataset {
            self.hub.jobs().queue_export_after_commit(repo, &commit).await;
        }
        Ok(())
    }

    /// The Spaces whose default branch's card names `model` (`models:`), as `identity` may see
    /// them, at most 100.
    pub async fn spaces_using(&self, identity: &Identity, model: &RepoRecord) -> Result<Vec<RepoRecord>> {
        if !self.linked_by_spaces(model).await? {
            return Ok(Vec::new());
        }
        let query = kura_storage::RepoQuery {
            linking: Some(("model".to_owned(), model.repo_id.to_string())),
            limit: MAX_CARD_LINKS as u64,
            ..kura_storage::RepoQuery::every(kura_model::RepoType::Space)
        };
        self.list_repos(identity, query).await
    }

    pub(crate) async fn build_commit(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        head: ObjectId,
        request: &CommitRequest,
    ) -> Result<ObjectId> {
        let head_commit = self.objects.commit(&head).await?;
        let max_paths = self.config.limits.max_repo_paths;
        let shapes = &self.hub.repo_state.shapes;
        let mut files = TreeEdit::open(&self.objects, shapes, head, head_commit.tree, max_paths).await?;
        let mut new_lfs_paths = Vec::new();
        for operation in &request.operations {
            self.apply(repo, head, &mut files, operation, &mut new_lfs_paths).await?;
        }
        self.route_to_lfs(&mut files, &new_lfs_paths).await?;
        let tree = files.write(max_paths).await?;
        let now = self.now_millis();
        let signature = signature_for(identity, now);
        let mut message = request.summary.trim().to_owned();
        if message.is_empty() {
            message = "Update files".to_owned();
        }
        message.push('\n');
        if !request.description.trim().is_empty() {
            message.push('\n');
            message.push_str(request.description.trim_end());
            message.push('\n');
        }
        let commit = Commit {
            tree,
            parents: vec![head],
            author: signature.clone(),
            committer: signature,
            extra_headers: vec![],
            message,
        };
        self.objects.write_commit(&commit).await
    }

    async fn apply(
        &self,
        repo: &RepoRecord,
        head: ObjectId,
        files: &mut TreeEdit<'_>,
        operation: &Operation,
        new_lfs: &mut Vec<String>,
    ) -> Result<()> {
        match operation {
            Operation::Put { path, content } => {
                let oid = self.store_content(repo, content).await?;
                if matches!(content, FileContent::Lfs { .. }) {
                    new_lfs.push(path.to_string());
                }
                files.put(path, EntryMode::File, oid).await
            }
            // A folder named without its trailing slash is deleted as a folder, as on the Hub.
            Operation::Delete { path } => files.delete(path, true).await,
            Operation::DeleteFolder { path } => files.delete(path, false).await,
            Operation::Copy { from, to, revision } => {
                let not_found = || CoreError::EntryNotFound { path: from.to_string(), commit: Some(head) };
                let (mode, oid) = match revision {
                    Some(rev) => {
                        let commit = self.resolve_revision(repo, rev).await?.commit;
                        match self.lookup(self.commit_tree(&commit).await?, from).await? {
                            Some(crate::Entry::File { mode, oid, .. }) => (mode, oid),
                            _ => return Err(not_found()),
                        }
                    }
                    None => files.file(from).await?.ok_or_else(not_found)?,
                };
                files.put(to, mode, oid).await
            }
        }
    }

    /// Writes the git blob for new content: the bytes, or an LFS pointer. Bytes that parse
    /// as a Git LFS pointer make an LFS file too, so they need the same proof as an `lfsFile`
    /// line: this repo uploaded the object (one rule for API commits and pushes).
    async fn store_content(&self, repo: &RepoRecord, content: &FileContent) -> Result<ObjectId> {
        match content {
            FileContent::Regular(bytes) => {
                if let Ok(Some(pointer)) = LfsPointer::parse(bytes) {
                    self.held_object_size(repo, &pointer.oid, Some(pointer.size)).await?;
                }
                self.objects.write(ObjectKind::Blob, bytes).await
            }
            FileContent::Lfs { oid, size } => {
                let size = self.held_object_size(repo, oid, *size).await?;
                let pointer = LfsPointer { oid: *oid, size };
                self.objects.write(ObjectKind::Blob, &pointer.encode()).await
            }
        }
    }

    /// The size of a large object this repo holds (uploaded and verified); an error naming the
    /// object when it does not, or when `size` is given and differs.
    async fn held_object_size(&self, repo: &RepoRecord, oid: &Sha256, size: Option<u64>) -> Result<u64> {
        match self.hub.files().check_pointer(repo, oid, size).await? {
            PointerCheck::Held { size } => Ok(size),
            PointerCheck::NotHeld => Err(CoreError::invalid(format!(
                "LFS object {oid} was not uploaded to this repo; upload it before committing"
            ))),
            PointerCheck::WrongSize { stored } => Err(CoreError::invalid(format!(
                "LFS object {oid} has size {stored}, not {}",
                size.unwrap_or(0)
            ))),
        }
    }

    /// Makes sure `.gitattributes` routes every newly added LFS path to LFS, so a git clone
    /// checks the real content out.
    async fn route_to_lfs(&self, files: &mut TreeEdit<'_>, new_lfs: &[String]) -> Result<()> {
        if new_lfs.is_empty() {
            return Ok(());
        }
        let attributes = RepoPath::parse(".gitattributes").expect("a valid path");
        let mut text = match files.file(&attributes).await? {
            Some((_, oid)) => String::from_utf8_lossy(&self.read_small_blob(&oid).await?).into_owned(),
            None => String::new(),
        };
        let patterns = lfs_patterns(&text);
        let missing: Vec<&String> = new_lfs.iter().filter(|p| !is_lfs_path(&patterns, p)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for path in missing {
            text.push_str(&lfs_line_for(path));
        }
        let oid = self.objects.write(ObjectKind::Blob, text.as_bytes()).await?;
        files.put(&attributes, EntryMode::File, oid).await
    }

    /// Writes the trees for a flat file map, deepest first; returns the root tree id. A map
    /// with more paths (files and folders) than the server allows writes nothing.
    pub(crate) async fn write_flat_tree(&self, files: &FlatTree) -> Result<ObjectId> {
        write_flat_tree(&self.objects, files, self.config.limits.max_repo_paths).await
    }
}

/// [`Repos::write_flat_tree`] with its store and limit.
pub(crate) async fn write_flat_tree(
    objects: &crate::objects::ObjectStore,
    files: &FlatTree,
    max_paths: u64,
) -> Result<ObjectId> {
    let mut dirs: BTreeMap<String, Vec<TreeEntry>> = BTreeMap::new();
    dirs.insert(String::new(), Vec::new());
    for (path, (mode, oid)) in files {
        // Every tree kura writes holds only valid paths: a name with a NUL or `/` in it
        // would be read back as other entries than the ones written.
        kura_model::RepoPath::parse(path).map_err(|e| CoreError::InvalidPath(e.to_string()))?;
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        dirs.entry(dir.to_owned()).or_default().push(TreeEntry {
            mode: *mode,
            name: name.to_owned(),
            oid: *oid,
        });
        let mut parent = dir;
        while !parent.is_empty() {
            let up = parent.rsplit_once('/').map_or("", |(p, _)| p);
            dirs.entry(up.to_owned()).or_default();
            parent = up;
        }
    }
    // Every folder but the root is an entry of its parent.
    if (files.len() + dirs.len() - 1) as u64 > max_paths {
        return Err(crate::browse::too_many_paths(max_paths));
    }
    let mut order: Vec<String> = dirs.keys().cloned().collect();
    order.sort_by_key(|d| std::cmp::Reverse(if d.is_empty() { 0 } else { d.matches('/').count() + 1 }));
    for dir in order {
        let entries = dirs.remove(&dir).unwrap_or_default();
        let oid = objects.write_tree(&Tree::new(entries)).await?;
        if dir.is_empty() {
            return Ok(oid);
        }
        let (parent, name) = dir.rsplit_once('/').unwrap_or(("", &dir));
        dirs.entry(parent.to_owned()).or_default().push(TreeEntry {
            mode: EntryMode::Tree,
            name: name.to_owned(),
            oid,
        });
    }
    unreachable!("the root directory is always processed last")
}

/// Repo ids a card lists under `field` (a Space's `models:` or `datasets:`), at most 100.
const MAX_CARD_LINKS: usize = 100;

fn card_ids(card: Option<&serde_json::Value>, field: &str) -> Vec<String> {
    let listed = card.and_then(|card| card.get(field)).and_then(|value| value.as_array());
    listed
        .into_iter()
        .flatten()
        .filter_map(|value| value.as_str())
        .filter(|id| kura_model::RepoId::parse(id).is_ok())
        .take(MAX_CARD_LINKS)
        .map(str::to_owned)
        .collect()
}
