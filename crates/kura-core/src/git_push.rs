//! Receiving `git push`: the pack is indexed and resolved off the async runtime within the
//! push's budgets (`Limits::git_push_*`), its objects are staged in a temp file under the ids
//! they hash to, the new history is checked (connected to this repo, LFS objects present, no
//! oversized plain files), history rewrites (a forced branch update, deleting a branch or tag,
//! moving a tag) are left to namespace owners and admins (`Accounts::may_rewrite_history`), and
//! then each ref moves through the same compare-and-swap as the commit API. The staged objects
//! reach the object store only when some ref update is going to be applied, and before any ref
//! moves: a refused push stores nothing, a failed or interrupted one leaves every ref where it
//! was (see `git_push_stage`).

use std::collections::HashSet;
use std::io::{Read, Seek};
use std::sync::Arc;

use kura_git::{GitError, ObjectKind, PackIndex, PackLimits, RefUpdate, RefUpdateResult};
use kura_model::{ObjectId, RefName};
use kura_storage::{RepoRecord, StorageError};

use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::git_push_check::{Known, RepoObjects};
use crate::git_push_stage::{StageWriter, Staged, stage_error};
use crate::objects::ObjectStore;
use crate::services::Git;

/// Largest git object a push may carry: bigger files belong in Git LFS, as on the Hub.
pub const MAX_PUSHED_OBJECT: u64 = 10 << 20;
/// Most objects one push may carry.
const MAX_PUSHED_OBJECTS: u32 = 1 << 20;

/// What happened to a push: the unpack status and one result per command, in order.
#[derive(Debug, Clone)]
pub struct PushReport {
    pub unpack: std::result::Result<(), String>,
    pub results: Vec<RefUpdateResult>,
}

impl PushReport {
    fn rejected(commands: &[RefUpdate], unpack: String) -> Self {
        let results = commands
            .iter()
            .map(|c| RefUpdateResult { name: c.name.clone(), error: Some("unpacker error".to_owned()) })
            .collect();
        Self { unpack: Err(unpack), results }
    }
}

/// Why resolving a pack into the staging file stopped.
enum UnpackError {
    Git(GitError),
    Stage(std::io::Error),
    /// Reading a thin-pack base from the object store failed.
    Store(CoreError),
}

impl From<GitError> for UnpackError {
    fn from(error: GitError) -> Self {
        UnpackError::Git(error)
    }
}

/// A pushed pack, waiting wherever the edge chose to keep it (a temp file, say). The core reads
/// it twice, indexing and then resolving, each time from its first byte, on the blocking pool.
pub trait PushedPack: Send + Sync + 'static {
    /// Its length in bytes.
    fn byte_len(&self) -> u64;
    /// A fresh reader at the pack's first byte; its seeks are relative to that byte.
    fn open(&self) -> std::io::Result<Box<dyn PackReader>>;
}

/// Why a contributor's update of a branch or tag is refused.
const NOT_A_WRITER: &str = "no write access to this repo: push to the pull request you opened (refs/pr/N)";

/// What the pack reader needs: reads and seeks, from a blocking thread.
pub trait PackReader: Read + Seek + Send {}

impl<T: Read + Seek + Send> PackReader for T {}

impl Git<'_> {
    /// Applies a push. `pack` is the pushed pack (absent when every command deletes).
    /// Authorization failures are errors; everything git can report is in the [`PushReport`].
    pub async fn receive_push(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        commands: &[RefUpdate],
        atomic: bool,
        pack: Option<Arc<dyn PushedPack>>,
    ) -> Result<PushReport> {
        // Writers push branches and tags; anyone who may contribute pushes to the pull
        // requests they opened (`refs/pr/N`, checked per command).
        let accounts = self.hub.accounts();
        let writer = match accounts.authorize_write(identity, repo).await {
            Ok(()) => true,
            Err(CoreError::Forbidden(_)) => false,
            Err(other) => return Err(other),
        };
        if !writer {
            accounts.authorize_pull_request(identity, repo).await?;
            // Every ref a contributor names is checked before the pack is unpacked, so a
            // push that could not land costs no unpacking or history walk.
            for command in commands {
                let problem = match command.name.starts_with("refs/pr/") {
                    true => self.hub.discussions().check_pr_push(identity, repo, command).await?,
                    false => Some(NOT_A_WRITER.to_owned()),
                };
                if let Some(problem) = problem {
                    return Ok(PushReport::rejected(commands, problem));
                }
            }
        }
        let repo_objects = RepoObjects::new(repo);
        let received = match pack {
            Some(pack) => match self.unpack(&repo_objects, pack).await {
                Ok(received) => received,
                Err(CoreError::InvalidInput(message)) => return Ok(PushReport::rejected(commands, message)),
                Err(other) => return Err(other),
            },
            None => Staged::empty(),
        };
        let known = Known { received, repo: repo_objects };
        let mut checks = Vec::with_capacity(commands.len());
        for command in commands {
            checks.push(self.check_command(identity, repo, command, &known, writer).await?);
        }
        if atomic && checks.iter().any(Option::is_some) {
            let results = commands
                .iter()
                .zip(&checks)
                .map(|(c, e)| RefUpdateResult {
                    name: c.name.clone(),
                    error: Some(e.clone().unwrap_or_else(|| "atomic push failed".to_owned())),
                })
                .collect();
            return Ok(PushReport { unpack: Ok(()), results });
        }
        if checks.iter().any(Option::is_none) {
            // Some update will be applied: the pushed objects go to the store first.
            self.promote(&known.received).await?;
        }
        let mut results = Vec::with_capacity(commands.len());
        for (command, check) in commands.iter().zip(checks) {
            let error = match check {
                Some(error) => Some(error),
                None => self.apply_command(identity, repo, command, &known.received).await?,
            };
            results.push(RefUpdateResult { name: command.name.clone(), error });
        }
        Ok(PushReport { unpack: Ok(()), results })
    }

    /// Indexes the pack, resolves it within the inflated budget and stages its objects.
    async fn unpack(&self, repo: &RepoObjects<'_>, pack: Arc<dyn PushedPack>) -> Result<Staged> {
        let pack_bytes = pack.byte_len();
        let limits = PackLimits {
            max_objects: MAX_PUSHED_OBJECTS,
            max_object_size: MAX_PUSHED_OBJECT,
            max_inflated_bytes: self.config.limits.git_push_inflated_budget(pack_bytes),
            ..PackLimits::default()
        };
        let index_pack = pack.clone();
        let index = blocking(move || PackIndex::build(index_pack.open()?, &limits)).await?;
        let mut bases = HashSet::new();
        for id in index.missing_bases() {
            // Thin-pack bases must be objects of this repo, never of another one.
            if self.in_repo(repo, id).await? {
                bases.insert(*id);
            }
        }
        // Bases are read from the store when the resolver needs them (one at a time, again
        // after a cache eviction), not gathered up front: many large bases would not fit.
        let store = ObjectStore::new(self.blobs.clone());
        let runtime = tokio::runtime::Handle::current();
        let base = move |id: &ObjectId| -> std::result::Result<_, UnpackError> {
            if !bases.contains(id) {
                return Ok(None);
            }
            let (kind, content) = runtime.block_on(store.read(id)).map_err(UnpackError::Store)?;
            Ok(Some((kind, content.to_vec())))
        };
        let resolve = move || -> std::result::Result<Staged, UnpackError> {
            let mut stage = StageWriter::new().map_err(UnpackError::Stage)?;
            index.resolve(pack.open().map_err(GitError::from)?, base, |object| {
                stage.add(object.id, object.kind, object.content).map_err(UnpackError::Stage)
            })?;
            stage.finish().map_err(UnpackError::Stage)
        };
        match tokio::task::spawn_blocking(resolve)
            .await
            .map_err(|e| CoreError::Corrupt(format!("pack resolver failed: {e}")))?
        {
            Ok(staged) => Ok(staged),
            Err(UnpackError::Git(error)) => Err(pack_error(error)),
            Err(UnpackError::Stage(error)) => Err(stage_error(error)),
            Err(UnpackError::Store(error)) => Err(error),
        }
    }

    /// Why `command` cannot be applied, or `None` when it can (the ref CAS may still lose).
    async fn check_command(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        command: &RefUpdate,
        known: &Known<'_>,
        writer: bool,
    ) -> Result<Option<String>> {
        let received = &known.received;
        let Ok(name) = RefName::from_full(&command.name) else {
            return Ok(Some("invalid ref name".to_owned()));
        };
        let pull_request = command.name.starts_with("refs/pr/");
        let branch = command.name.starts_with("refs/heads/") || pull_request;
        if pull_request {
            let check = self.hub.discussions().check_pr_push(identity, repo, command).await?;
            if check.is_some() {
                return Ok(check);
            }
        } else if !writer {
            return Ok(Some(NOT_A_WRITER.to_owned()));
        } else if !branch && !command.name.starts_with("refs/tags/") {
            return Ok(Some("only branches (refs/heads/) and tags (refs/tags/) can be pushed".to_owned()));
        }
        let current = self.meta.ref_target(repo.id, &name).await?;
        let old = (!command.is_create()).then_some(command.old);
        if current != old {
            return Ok(Some("stale info: the ref changed since you fetched; fetch first".to_owned()));
        }
        if command.is_delete() {
            if command.name == "refs/heads/main" {
                return Ok(Some("refusing to delete the current branch: refs/heads/main".to_owned()));
            }
            let what = if branch { "deleting a branch" } else { "deleting a tag" };
            return self.hub.accounts().rewrite_refusal(identity, repo, what).await;
        }
        let new_is_commit = match received.get(&command.new) {
            Some(kind) => kind == ObjectKind::Commit,
            None => self.meta.has_commit(repo.id, &command.new).await?,
        };
        if !new_is_commit {
            return Ok(Some(if received.contains_key(&command.new) {
                "only commits can be pushed to refs (annotated tags are not supported; use a lightweight tag)"
                    .to_owned()
            } else {
                "missing necessary objects".to_owned()
            }));
        }
        if let Some(problem) = self.check_history(known, command.new).await? {
            return Ok(Some(problem));
        }
        match old {
            // A tag that exists points somewhere already: any other target is a move.
            Some(old) if !branch && old != command.new => {
                self.hub.accounts().rewrite_refusal(identity, repo, "moving a tag").await
            }
            Some(old)
                if branch
                    && !self.is_ancestor(known, old, command.new).await?
                    && !self.hub.accounts().may_rewrite_history(identity, repo).await? =>
            {
                Ok(Some("non-fast-forward".to_owned()))
            }
            _ => Ok(None),
        }
    }

    /// Moves one ref, after recording the pushed commits it makes reachable.
    async fn apply_command(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        command: &RefUpdate,
        received: &Staged,
    ) -> Result<Option<String>> {
        let name = RefName::from_full(&command.name).map_err(|e| CoreError::invalid(e.to_string()))?;
        let old = (!command.is_create()).then_some(command.old);
        let new = (!command.is_delete()).then_some(command.new);
        let mut pushed = Vec::new();
        if let Some(new) = new {
            let commits = self.new_commits(repo, new, received).await?;
            match self.hub.index().gate_pickles(repo, &commits).await {
                Err(CoreError::Forbidden(refusal)) => return Ok(Some(refusal)),
                other => other?,
            }
            self.meta.add_commits(repo.id, &commits).await?;
            pushed = commits;
        }
        match self.meta.update_ref(repo.id, &name, old, new, self.now_millis()).await {
            Ok(()) => {
                if let Some(new) = new {
                    self.hub.repos().after_branch_update(repo, &name, new).await?;
                }
                if let Some(num) = crate::pulls::pr_number(name.as_str()) {
                    self.record_pushed(identity, repo, num, &pushed).await?;
                }
                Ok(None)
            }
            Err(StorageError::Conflict) => {
                Ok(Some("stale info: the ref changed while the push was applied; fetch first".to_owned()))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Records commits pushed to pull request `num` as its events, oldest first (at most the
    /// newest 100 of one push).
    async fn record_pushed(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        pushed: &[ObjectId],
    ) -> Result<()> {
        let mut commits = Vec::new();
        for oid in pushed.iter().take(100) {
            let message = self.objects.commit(oid).await?.message;
            commits.push((*oid, message.lines().next().unwrap_or_default().to_owned()));
        }
        commits.reverse();
        self.hub.discussions().record_commits(identity, repo, num, &commits).await
    }

    /// Pushed commits reachable from `tip` that the repo does not know yet.
    async fn new_commits(
        &self,
        repo: &RepoRecord,
        tip: ObjectId,
        received: &Staged,
    ) -> Result<Vec<ObjectId>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![tip];
        while let Some(oid) = stack.pop() {
            if !seen.insert(oid) || received.get(&oid) != Some(ObjectKind::Commit) {
                continue;
            }
            if self.meta.has_commit(repo.id, &oid).await? {
                continue;
            }
            out.push(oid);
            stack.extend(self.objects.commit(&oid).await?.parents);
        }
        Ok(out)
    }

    /// Whether `ancestor` is reachable from `tip` (every commit walked is pushed or stored).
    async fn is_ancestor(&self, known: &Known<'_>, ancestor: ObjectId, tip: ObjectId) -> Result<bool> {
        let mut seen = HashSet::new();
        let mut stack = vec![tip];
        while let Some(oid) = stack.pop() {
            if oid == ancestor {
                return Ok(true);
            }
            if !seen.insert(oid) {
                continue;
            }
            stack.extend(self.pushed_or_stored_commit(known, &oid).await?.parents);
        }
        Ok(false)
    }
}

/// Runs pack parsing on the blocking pool; git-level problems become bad input.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::result::Result<T, GitError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CoreError::Corrupt(format!("pack reader failed: {e}")))?
        .map_err(pack_error)
}

fn pack_error(error: GitError) -> CoreError {
    match error {
        GitError::LimitExceeded { what: "inflated pack size" | "bytes produced by deltas", .. } => {
            CoreError::invalid(format!("{error}: the push's objects inflate too far; push in smaller parts"))
        }
        GitError::LimitExceeded { .. } => CoreError::invalid(format!(
            "{error}; files over {} MiB must be pushed with Git LFS",
            MAX_PUSHED_OBJECT >> 20
        )),
        other => CoreError::invalid(other.to_string()),
    }
}
