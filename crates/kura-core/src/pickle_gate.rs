//! The optional gate on pickles (`Limits::refuse_unsafe_pickles`): before a branch moves,
//! every pickle-bearing file that any new commit adds or changes (against its first parent) is
//! scanned, and a dangerous import refuses the whole commit or push, naming the file and the
//! import. It runs before the new commits are recorded as the repo's, so a refused commit is
//! not reachable even by its id. The scan reads only pickle streams (a PyTorch archive's
//! `data.pkl`, not its tensors), and its facts are stored, so the indexing that follows reads
//! nothing again.

use kura_formats::pickle_policy::Safety;
use kura_model::ObjectId;
use kura_storage::RepoRecord;

use crate::auth::FilesAccess;
use crate::compare::CompareBudget;
use crate::error::{CoreError, Result};
use crate::index::inspectable;
use crate::index_facts::incomplete;
use crate::services::Index;

/// Changed files one commit may have for the gate to check it.
const MAX_CHANGED_FILES: usize = 100_000;

/// Whether the gate looks at a file: formats whose headers hold no pickle are left to the
/// indexer (a safetensors or GGUF file cannot run code).
fn may_hold_pickle(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    inspectable(path) && !lower.ends_with(".safetensors") && !lower.ends_with(".gguf")
}

impl Index<'_> {
    /// Refuses `commits` (new commits of `repo`, not yet recorded) when the policy is on and
    /// one of them adds or changes a file with a dangerous import.
    pub(crate) async fn gate_pickles(&self, repo: &RepoRecord, commits: &[ObjectId]) -> Result<()> {
        if !self.config.limits.refuse_unsafe_pickles {
            return Ok(());
        }
        let access = FilesAccess::for_job(repo.clone());
        for commit in commits {
            self.gate_commit(&access, *commit).await?;
        }
        Ok(())
    }

    async fn gate_commit(&self, access: &FilesAccess, commit: ObjectId) -> Result<()> {
        let repos = self.hub.repos();
        let parent = match self.objects.commit(&commit).await?.parents.first() {
            Some(parent) => Some(repos.commit_tree(parent).await?),
            None => None,
        };
        let max_entries =
            usize::try_from(self.config.limits.max_repo_paths).unwrap_or(usize::MAX).saturating_mul(2);
        let budget = CompareBudget { max_entries, max_files: MAX_CHANGED_FILES };
        let changes = repos.compare(parent, repos.commit_tree(&commit).await?, budget).await?;
        if changes.truncated {
            return Err(CoreError::Forbidden(format!(
                "commit {commit} changes too many files for this server's pickle scan; split it into smaller commits"
            )));
        }
        for change in
            changes.files.iter().filter(|change| change.new.is_some() && may_hold_pickle(&change.path))
        {
            if change.new.as_ref().is_some_and(|side| side.mode == kura_git::EntryMode::Symlink) {
                return Err(CoreError::Forbidden(format!(
                    "{} was refused: a symbolic link named like a model file (a loader would read its \
                     target, which the pickle scan does not)",
                    change.path
                )));
            }
            let open = self.hub.files().open_in(access, commit, &change.path).await?;
            let (facts, _) = self.file_facts(&open).await?;
            let dangerous = facts
                .pickle
                .as_ref()
                .and_then(|pickle| pickle.imports.iter().find(|import| import.safety == Safety::Dangerous));
            if let Some(bad) = dangerous {
                return Err(CoreError::Forbidden(format!(
                    "{} was refused: its pickle imports {}.{}, which can run code when the file is loaded \
                     (this server refuses unsafe pickles; publish the weights as safetensors)",
                    change.path, bad.module, bad.name
                )));
            }
            // A file the scan could not read to its end may hide anything past that point.
            if incomplete(&facts) {
                let why =
                    facts.error.or_else(|| facts.pickle.and_then(|pickle| pickle.error)).unwrap_or_default();
                return Err(CoreError::Forbidden(format!(
                    "{} was refused: it could not be scanned to its end ({why}); this server refuses \
                     pickle-bearing files it cannot check (publish the weights as safetensors)",
                    change.path
                )));
            }
        }
        Ok(())
    }
}
