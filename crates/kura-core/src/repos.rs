//! Repo lifecycle: create, find, delete, move, settings, branches and tags, listing,
//! history and card metadata.

use std::collections::{BinaryHeap, HashSet};

use kura_git::{Commit, EntryMode, ObjectKind, Signature, Tree, TreeEntry};
use kura_model::{ObjectId, RefName, RepoId, RepoPath, RepoType};
use kura_storage::{Gating, NewRepo, RefRecord, RepoQuery, RepoRecord, StorageError};

use crate::audit::{actor, record_target, repo_target};
use crate::auth::Identity;
use crate::browse::Entry;
use crate::card::{CardInfo, card_info};
use crate::error::{CoreError, Result};
use crate::gitattributes::DEFAULT_GITATTRIBUTES;
use crate::services::Repos;
use crate::space_card::space_readme;

/// Settings a caller may change.
#[derive(Debug, Clone, Default)]
pub struct RepoSettings {
    pub private: Option<bool>,
    pub gating: Option<Gating>,
}

/// The signature kura writes for a user's commits.
pub(crate) fn signature_for(identity: &Identity, time_ms: i64) -> Signature {
    let name = identity.principal().map_or("kura", |p| p.user.name.as_str()).to_owned();
    Signature {
        email: format!("{name}@users.noreply.kura"),
        name,
        time: time_ms.div_euclid(1000),
        offset_minutes: 0,
    }
}

impl Repos<'_> {
    /// Finds a repo the caller may see, by its id in any case (the record carries the stored
    /// spelling); anything else looks missing. An earlier id of a moved repo the caller may
    /// see is `RepoMoved`; of one they may not see, missing like any other id.
    pub async fn find_repo(
        &self,
        identity: &Identity,
        repo_type: RepoType,
        repo_id: &RepoId,
    ) -> Result<RepoRecord> {
        let Some(repo) = self.meta.repo(repo_type, repo_id).await? else {
            if let Some(moved) = self.meta.repo_redirect(repo_type, repo_id).await? {
                if self.hub.accounts().can_see(identity, &moved).await? {
                    return Err(CoreError::RepoMoved { from: repo_id.clone(), to: moved.repo_id });
                }
                return Err(CoreError::RepoNotFound);
            }
            // Ask the same questions as for a hidden repo, so a missing repo and a hidden one
            // cost the same and cannot be told apart by timing.
            let _ = self.hub.accounts().can_see(identity, &hidden_stand_in(repo_type, repo_id)).await;
            return Err(CoreError::RepoNotFound);
        };
        self.hub.accounts().authorize_read(identity, &repo).await?;
        Ok(repo)
    }

    /// Creates a repo with an initial commit holding the default `.gitattributes`.
    pub async fn create_repo(
        &self,
        identity: &Identity,
        repo_type: RepoType,
        repo_id: &RepoId,
        private: bool,
        space_sdk: Option<&str>,
    ) -> Result<RepoRecord> {
        self.hub.accounts().authorize_namespace_write(identity, repo_id.namespace()).await?;
        // A Space starts with a README naming its SDK, as on the Hub.
        let readme = match (repo_type, space_sdk) {
            (RepoType::Space, Some(sdk)) => Some(space_readme(repo_id, sdk)?),
            _ => None,
        };
        if let Some(existing) = self.meta.repo(repo_type, repo_id).await? {
            let message = if self.hub.accounts().can_see(identity, &existing).await? {
                format!("You already created this {} repo", repo_type.as_str())
            } else {
                "A repo with this name already exists".to_owned()
            };
            return Err(CoreError::conflict(message));
        }
        let now = self.now_millis();
        let blob = self.objects.write(ObjectKind::Blob, DEFAULT_GITATTRIBUTES.as_bytes()).await?;
        let mut entries = vec![TreeEntry { mode: EntryMode::File, name: ".gitattributes".into(), oid: blob }];
        if let Some(readme) = readme {
            let oid = self.objects.write(ObjectKind::Blob, readme.as_bytes()).await?;
            entries.push(TreeEntry { mode: EntryMode::File, name: "README.md".into(), oid });
        }
        let tree = Tree::new(entries);
        let tree_id = self.objects.write_tree(&tree).await?;
        let signature = signature_for(identity, now);
        let commit = Commit {
            tree: tree_id,
            parents: vec![],
            author: signature.clone(),
            committer: signature,
            extra_headers: vec![],
            message: "initial commit\n".into(),
        };
        let initial_commit = self.objects.write_commit(&commit).await?;
        let created_by = identity.principal().map(|p| p.user.id);
        let new = NewRepo {
            repo_type,
            repo_id: repo_id.clone(),
            private,
            created_at: now,
            initial_commit,
            created_by,
        };
        let record = self.meta.create_repo(new).await.map_err(|e| match e {
            StorageError::AlreadyExists => {
                CoreError::conflict(format!("You already created this {} repo", repo_type.as_str()))
            }
            other => other.into(),
        })?;
        if repo_type == RepoType::Space {
            // Named at creation, so a Space's folded name goes to the first Space made with it.
            self.space_subdomain(&record).await?;
        }
        Ok(record)
    }

    pub async fn delete_repo(
        &self,
        identity: &Identity,
        repo_type: RepoType,
        repo_id: &RepoId,
    ) -> Result<()> {
        let repo = self.find_repo(identity, repo_type, repo_id).await?;
        self.hub.accounts().authorize_write(identity, &repo).await?;
        self.meta.delete_repo(repo.id).await?;
        if let Err(error) = self.drop_clone_packs(&repo).await {
            tracing::warn!(repo = %repo.repo_id, ?error, "could not delete the cached clone packs");
        }
        self.hub
            .accounts()
            .audit(actor(identity), "repo.delete", record_target(&repo), serde_json::json!({}))
            .await;
        Ok(())
    }

    pub async fn move_repo(
        &self,
        identity: &Identity,
        repo_type: RepoType,
        from: &RepoId,
        to: &RepoId,
    ) -> Result<()> {
        let repo = self.find_repo(identity, repo_type, from).await?;
        self.hub.accounts().authorize_write(identity, &repo).await?;
        self.hub.accounts().authorize_namespace_write(identity, to.namespace()).await?;
        // Taking a repo out of its namespace is the namespace admins' call, not a writer's.
        if from.namespace() != to.namespace()
            && !self.hub.accounts().may_rewrite_history(identity, &repo).await?
        {
            return Err(CoreError::Forbidden(format!(
                "Moving a repo out of '{}' needs admin rights there",
                from.namespace()
            )));
        }
        // The Hub's wording, which its client's users see.
        let taken =
            || CoreError::conflict(format!("A {} repository called {to} already exists", repo_type.as_str()));
        // Another repo at `to` in any case; the repo itself may change its id's case.
        if self.meta.repo(repo_type, to).await?.is_some_and(|other| other.id != repo.id) {
            return Err(taken());
        }
        self.meta.rename_repo(repo.id, to).await.map_err(|e| match e {
            StorageError::AlreadyExists => taken(),
            other => other.into(),
        })?;
        let details = serde_json::json!({"to": repo_target(repo_type, to)});
        self.hub.accounts().audit(actor(identity), "repo.move", record_target(&repo), details).await;
        Ok(())
    }

    pub async fn update_settings(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        settings: RepoSettings,
    ) -> Result<()> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        if let Some(private) = settings.private {
            self.meta.set_repo_private(repo.id, private).await?;
            if private != repo.private {
                let details = serde_json::json!({"private": private});
                self.hub
                    .accounts()
                    .audit(actor(identity), "repo.visibility", record_target(repo), details)
                    .await;
            }
        }
        if let Some(gating) = settings.gating {
            self.meta.set_repo_gating(repo.id, gating).await?;
            if gating != repo.gating {
                let details = serde_json::json!({"gated": gating.as_str()});
                self.hub.accounts().audit(actor(identity), "repo.gating", record_target(repo), details).await;
            }
        }
        Ok(())
    }

    /// Repos matching `query`, restricted to what the caller may see.
    pub async fn list_repos(&self, identity: &Identity, mut query: RepoQuery) -> Result<Vec<RepoRecord>> {
        (query.private_namespaces, query.private_repos) =
            self.hub.accounts().visible_private(identity, query.repo_type).await?;
        Ok(self.meta.list_repos(&query).await?)
    }

    pub async fn refs(&self, repo: &RepoRecord) -> Result<Vec<RefRecord>> {
        Ok(self.heads(repo).await?.as_ref().clone())
    }

    /// Creates a branch at `start` (a revision; default: head of `main`). An existing branch is
    /// never moved: that is a conflict, as on the Hub (whose client honours `exist_ok` on it).
    pub async fn create_branch(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        branch: &str,
        start: Option<&str>,
    ) -> Result<()> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        let name = RefName::branch(branch)?;
        let target = self.resolve_revision(repo, start.unwrap_or("main")).await?.commit;
        let now = self.now_millis();
        self.meta.update_ref(repo.id, &name, None, Some(target), now).await.map_err(|e| match e {
            StorageError::Conflict => CoreError::conflict(format!("Reference {name} already exists")),
            other => other.into(),
        })
    }

    /// Deletes a branch or tag ref: a history rewrite, for namespace owners and admins only.
    pub async fn delete_ref(&self, identity: &Identity, repo: &RepoRecord, name: &RefName) -> Result<()> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        if name.as_str() == "refs/heads/main" {
            return Err(CoreError::Forbidden(
                "Cannot delete refs/heads/main: it is the default branch".to_owned(),
            ));
        }
        let what =
            if name.as_str().starts_with("refs/tags/") { "Deleting a tag" } else { "Deleting a branch" };
        if let Some(refusal) = self.hub.accounts().rewrite_refusal(identity, repo, what).await? {
            return Err(CoreError::Forbidden(refusal));
        }
        let current = self
            .meta
            .ref_target(repo.id, name)
            .await?
            .ok_or_else(|| CoreError::RevisionNotFound { revision: name.short().to_owned() })?;
        let now = self.now_millis();
        self.meta.update_ref(repo.id, name, Some(current), None, now).await.map_err(|e| match e {
            StorageError::Conflict => CoreError::conflict("The reference changed concurrently"),
            other => other.into(),
        })
    }

    /// Creates tag `tag` at `revision`. An existing tag is never moved: that is a conflict, as
    /// on the Hub.
    pub async fn create_tag(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        revision: &str,
        tag: &str,
    ) -> Result<()> {
        self.hub.accounts().authorize_write(identity, repo).await?;
        // The revision first, as on the Hub: a missing revision is a 404 whatever the tag.
        let target = self.resolve_revision(repo, revision).await?.commit;
        let name = RefName::tag(tag)?;
        let now = self.now_millis();
        self.meta.update_ref(repo.id, &name, None, Some(target), now).await.map_err(|e| match e {
            StorageError::Conflict => CoreError::conflict(format!("Reference {name} already exists")),
            other => other.into(),
        })
    }

    pub async fn commit(&self, oid: &ObjectId) -> Result<Commit> {
        self.objects.commit(oid).await
    }

    /// Commits reachable from `start`, newest first, skipping `offset`; the flag says whether
    /// more remain.
    pub async fn history(
        &self,
        start: ObjectId,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<(ObjectId, Commit)>, bool)> {
        let mut heap = BinaryHeap::new();
        let mut seen = HashSet::new();
        let first = self.objects.commit(&start).await?;
        heap.push((first.committer.time, start));
        seen.insert(start);
        let mut out = Vec::new();
        let mut index = 0;
        while let Some((_, oid)) = heap.pop() {
            let commit = self.objects.commit(&oid).await?;
            for parent in &commit.parents {
                if seen.insert(*parent) {
                    let parent_commit = self.objects.commit(parent).await?;
                    heap.push((parent_commit.committer.time, *parent));
                }
            }
            if index >= offset {
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push((oid, commit));
            }
            index += 1;
        }
        Ok((out, false))
    }

    /// Card metadata of the README at `root`, cached per tree.
    pub async fn card_info(&self, root: ObjectId) -> Result<CardInfo> {
        if let Some(info) = self.hub.repo_state.cards.get(&root) {
            return Ok(info);
        }
        let readme = RepoPath::parse("README.md").expect("constant path is valid");
        let info = match self.lookup(root, &readme).await? {
            Some(Entry::File { oid, info, .. }) if info.lfs.is_none() && info.size <= 1 << 20 => {
                card_info(&String::from_utf8_lossy(&self.read_small_blob(&oid).await?))
            }
            _ => CardInfo::default(),
        };
        self.hub.repo_state.cards.put(root, info.clone(), info.heap_bytes());
        Ok(info)
    }
}

/// A private repo that does not exist, for `find_repo`'s constant-cost miss.
fn hidden_stand_in(repo_type: RepoType, repo_id: &RepoId) -> RepoRecord {
    RepoRecord {
        id: -1,
        repo_type,
        repo_id: repo_id.clone(),
        private: true,
        gating: Gating::Off,
        created_at: 0,
        last_modified: 0,
        tags: Vec::new(),
        created_by: None,
        library_name: None,
        pipeline_tag: None,
        likes: 0,
        downloads: 0,
        downloads_all_time: 0,
        trending: 0,
        state: 0,
    }
}
