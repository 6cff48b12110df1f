//! Repo maintenance: squashing a branch's history, the repo's large objects (listing,
//! unlinking, server-side copies into another repo) and a namespace's repos with their storage.
//!
//! Squashing and unlinking are history rewrites (`Accounts::may_rewrite_history`): namespace
//! owners and admins only, and recorded in the audit log. Copies go through the content proof:
//! an object is copied only out of a repo that holds it, by a caller who may read that repo's
//! files, so knowing a SHA-256 is never enough to get an object linked.

use std::collections::HashMap;

use kura_git::Commit;
use kura_model::{ObjectId, RefName, RepoType, Sha256, Timestamp};
use kura_storage::{RepoQuery, RepoRecord, StorageError};
use serde_json::json;

use crate::audit::{actor, record_target};
use crate::auth::Identity;
use crate::browse::Entry;
use crate::error::{CoreError, Result};
use crate::repos::signature_for;
use crate::services::{Files, Repos};

/// Most objects one deletion or copy call may name (the client sends at most 1000 and 500).
pub const MAX_LFS_BATCH: usize = 1000;

/// Most tree entries read to name the listed objects after a file of the default branch.
const FILENAME_WALK: usize = 10_000;

/// A large object linked to a repo, as `lfs-files` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfsFile {
    pub oid: Sha256,
    pub size: u64,
    pub pushed_at: Timestamp,
    /// A path of the default branch's head holding the object, when one was found.
    pub filename: Option<String>,
}

/// One object a copy call names.
#[derive(Debug, Clone)]
pub struct DuplicateFile {
    pub sha256: String,
    pub xet_hash: Option<String>,
}

/// An object a copy call did not copy, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateFailure {
    pub sha256: String,
    pub error: String,
}

impl Repos<'_> {
    /// Rewrites `branch` into one parentless commit holding its head's tree, moved by the same
    /// compare-and-swap as commits. The tree is unchanged, so every file stays readable (the
    /// repo's links to its large objects are untouched). The old commits stay stored (and
    /// addressable by id) until a garbage collector exists.
    pub async fn super_squash(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        branch: &str,
        message: &str,
    ) -> Result<ObjectId> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        if let Some(refusal) =
            self.hub.accounts().rewrite_refusal(identity, repo, "Squashing a branch").await?
        {
            return Err(CoreError::Forbidden(refusal));
        }
        let (name, head) = match self.writable_ref(repo, branch).await {
            Ok(found) => found,
            Err(CoreError::RevisionNotFound { .. }) if self.is_tag(repo, branch).await? => {
                return Err(CoreError::invalid(format!(
                    "Invalid reference for a branch: '{branch}' is a tag; only branches can be squashed"
                )));
            }
            Err(other) => return Err(other),
        };
        let tree = self.commit_tree(&head).await?;
        let signature = signature_for(identity, self.now_millis());
        let mut text = message.trim().to_owned();
        if text.is_empty() {
            text = format!("Super-squash branch '{branch}'");
        }
        text.push('\n');
        let commit = Commit {
            tree,
            parents: Vec::new(),
            author: signature.clone(),
            committer: signature,
            extra_headers: Vec::new(),
            message: text,
        };
        let new = self.objects.write_commit(&commit).await?;
        self.meta.add_commits(repo.id, &[new]).await?;
        self.meta.update_ref(repo.id, &name, Some(head), Some(new), self.now_millis()).await.map_err(
            |e| match e {
                StorageError::Conflict => {
                    CoreError::conflict("The branch moved while it was being squashed; please retry")
                }
                other => other.into(),
            },
        )?;
        self.after_branch_update(repo, &name, new).await?;
        let details = json!({"ref": name.as_str(), "from": head.to_hex(), "to": new.to_hex()});
        self.hub.accounts().audit(actor(identity), "repo.squash", record_target(repo), details).await;
        Ok(new)
    }

    async fn is_tag(&self, repo: &RepoRecord, name: &str) -> Result<bool> {
        let Ok(tag) = RefName::tag(name) else { return Ok(false) };
        Ok(self.meta.ref_target(repo.id, &tag).await?.is_some())
    }

    /// A page of the repos of `namespace` (the caller's own when `None`; an org's for its
    /// members), models then datasets then Spaces, each in id order. `cursor` is
    /// `(type index, offset in that type)`; the second value is the next page's cursor.
    pub async fn namespace_repos(
        &self,
        identity: &Identity,
        namespace: Option<&str>,
        cursor: (usize, u64),
        limit: usize,
    ) -> Result<(Vec<RepoRecord>, Option<(usize, u64)>)> {
        let principal = identity
            .principal()
            .ok_or_else(|| CoreError::Unauthorized("You must be authenticated to list your repos".into()))?;
        let namespace = namespace.unwrap_or(&principal.user.name).to_owned();
        if namespace != principal.user.name
            && !principal.user.is_admin
            && self.meta.org_role(&namespace, principal.user.id).await?.is_none()
        {
            return Err(CoreError::Forbidden(format!("Only members of '{namespace}' may list its repos")));
        }
        const TYPES: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];
        let (mut index, mut offset) = cursor;
        let mut out = Vec::new();
        while index < TYPES.len() && out.len() < limit {
            let want = limit - out.len();
            let query = RepoQuery {
                author: Some(namespace.clone()),
                offset,
                limit: want as u64,
                ..RepoQuery::every(TYPES[index])
            };
            let page = self.list_repos(identity, query).await?;
            let got = page.len();
            out.extend(page);
            if got == want {
                return Ok((out, Some((index, offset + want as u64))));
            }
            index += 1;
            offset = 0;
        }
        Ok((out, None))
    }
}

impl Files<'_> {
    /// `usedStorage`: the bytes of the distinct large objects the repo holds, from every
    /// revision and upload still stored (deduplication against other repos does not lower it;
    /// regular git files are not counted), in one query. Callers have already authorized
    /// reading the repo.
    pub async fn used_storage(&self, repo: &RepoRecord) -> Result<u64> {
        self.hub.repos().used_storage(repo).await
    }

    /// A page of the repo's large objects, by SHA-256 after `after`: for writers of the repo
    /// (the Hub's storage settings).
    pub async fn lfs_files(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        after: Option<&Sha256>,
        limit: usize,
    ) -> Result<Vec<LfsFile>> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        let objects = self.meta.repo_lfs_objects(repo.id, after, limit as u64).await?;
        let names = self.object_paths(repo).await?;
        Ok(objects
            .into_iter()
            .map(|o| LfsFile {
                oid: o.oid,
                size: o.size,
                pushed_at: o.stored_at,
                filename: names.get(&o.oid).cloned(),
            })
            .collect())
    }

    /// Paths of LFS files in the head of `main`, by object: a bounded walk (the first
    /// `FILENAME_WALK` entries), so a huge repo names fewer objects rather than costing more.
    async fn object_paths(&self, repo: &RepoRecord) -> Result<HashMap<Sha256, String>> {
        let mut names = HashMap::new();
        let head = match self.hub.repos().resolve_revision(repo, "main").await {
            Ok(head) => head.commit,
            Err(CoreError::RevisionNotFound { .. }) => return Ok(names),
            Err(other) => return Err(other),
        };
        let root = self.hub.repos().commit_tree(&head).await?;
        let mut after: Option<String> = None;
        let mut budget = FILENAME_WALK;
        while budget > 0 {
            let page =
                self.hub.repos().list_page(root, None, true, after.as_deref(), budget.min(1000)).await?;
            budget = budget.saturating_sub(page.entries.len().max(1));
            for entry in page.entries {
                if let Entry::File { path, info: crate::BlobInfo { lfs: Some(pointer), .. }, .. } = entry {
                    names.entry(pointer.oid).or_insert(path);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(names)
    }

    /// Unlinks objects from the repo: its files pointing at them are missing from then on
    /// (the content proof fails), whatever commit they are read at. The bytes stay stored
    /// until a garbage collector exists. A history rewrite: owners and admins only.
    /// Rewriting history to drop the pointers themselves is not supported yet.
    pub async fn delete_lfs_files(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        shas: &[String],
        rewrite_history: bool,
    ) -> Result<u64> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        if let Some(refusal) =
            self.hub.accounts().rewrite_refusal(identity, repo, "Deleting large files").await?
        {
            return Err(CoreError::Forbidden(refusal));
        }
        if rewrite_history {
            return Err(CoreError::invalid(
                "rewriteHistory is not supported by this kura server yet: pass rewrite_history=False \
                 to unlink the files (their pointers stay in the history and read as missing files)",
            ));
        }
        if shas.len() > MAX_LFS_BATCH {
            return Err(CoreError::invalid(format!("At most {MAX_LFS_BATCH} files per call")));
        }
        let oids = shas
            .iter()
            .map(|s| Sha256::from_hex(s).map_err(|_| CoreError::invalid(format!("Invalid sha256 '{s}'"))))
            .collect::<Result<Vec<_>>>()?;
        let removed = self.meta.unlink_lfs_objects(repo.id, &oids).await?;
        let details = json!({"requested": oids.len(), "unlinked": removed});
        self.hub.accounts().audit(actor(identity), "lfs.delete", record_target(repo), details).await;
        Ok(removed)
    }

    /// Copies objects from `source` into `target` without moving bytes: each is linked to the
    /// target only if the source holds it (an `ObjectRead` through the caller's
    /// `FilesAccess` to the source), and the caller may write the target. An object the source
    /// does not hold is a failure, never a link by hash alone.
    pub async fn duplicate_lfs_files(
        &self,
        identity: &Identity,
        source: &RepoRecord,
        target: &RepoRecord,
        files: &[DuplicateFile],
    ) -> Result<Vec<DuplicateFailure>> {
        if files.len() > MAX_LFS_BATCH {
            return Err(CoreError::invalid(format!("At most {MAX_LFS_BATCH} files per call")));
        }
        let access = self.hub.accounts().authorize_files(identity, source).await?;
        self.hub.accounts().authorize_write(identity, target).await?;
        let mut failed = Vec::new();
        let mut linked = 0usize;
        for file in files {
            let fail =
                |error: &str| DuplicateFailure { sha256: file.sha256.clone(), error: error.to_owned() };
            let Ok(oid) = Sha256::from_hex(&file.sha256) else {
                failed.push(fail("Invalid sha256"));
                continue;
            };
            let Some(read) = self.object_read(&access, &oid).await? else {
                failed.push(fail("File not found in the source repository"));
                continue;
            };
            if file.xet_hash.as_deref().is_some_and(|hash| read.xet_hash() != Some(hash)) {
                failed.push(fail("xetHash does not match the file's Xet hash"));
                continue;
            }
            self.meta.link_lfs_object(target.id, &oid).await?;
            linked += 1;
        }
        let details = json!({"from": record_target(source), "linked": linked, "failed": failed.len()});
        self.hub.accounts().audit(actor(identity), "lfs.duplicate", record_target(target), details).await;
        Ok(failed)
    }
}
