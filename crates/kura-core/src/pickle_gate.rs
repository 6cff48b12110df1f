//! The optional gate on pickles (`Limits::refuse_unsafe_pickles`): before a branch moves to a
//! new commit, every pickle-bearing file the commit adds or changes is scanned, and a
//! dangerous import refuses the commit with the file and the import named. The scan reads
//! only pickle streams (a PyTorch archive's `data.pkl`, not its tensors), and its facts are
//! stored, so the indexing that follows reads nothing again.

use kura_formats::pickle_policy::Safety;
use kura_model::ObjectId;
use kura_storage::RepoRecord;

use crate::auth::FilesAccess;
use crate::error::{CoreError, Result};
use crate::index::inspectable;
use crate::services::Index;

/// Whether the gate looks at a file: formats whose headers hold no pickle are left to the
/// indexer (a safetensors or GGUF file cannot run code).
fn may_hold_pickle(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    inspectable(path) && !lower.ends_with(".safetensors") && !lower.ends_with(".gguf")
}

impl Index<'_> {
    /// Refuses `new` (a commit of `repo` not yet on any branch; `old` is the branch's head
    /// before) when the policy is on and an added or changed file imports something dangerous.
    pub(crate) async fn gate_pickles(
        &self,
        repo: &RepoRecord,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<()> {
        if !self.config.limits.refuse_unsafe_pickles {
            return Ok(());
        }
        let max_paths = self.config.limits.max_repo_paths;
        let new_tree = self.hub.repos().flatten(self.hub.repos().commit_tree(&new).await?, max_paths).await?;
        let old_tree = match old {
            Some(old) => {
                self.hub.repos().flatten(self.hub.repos().commit_tree(&old).await?, max_paths).await?
            }
            None => Default::default(),
        };
        let access = FilesAccess::for_job(repo.clone());
        for (path, (_, blob)) in &new_tree {
            if !may_hold_pickle(path) || old_tree.get(path).is_some_and(|(_, before)| before == blob) {
                continue;
            }
            let open = self.hub.files().open_at(&access, new, path).await?;
            let (facts, _) = self.file_facts(&open).await?;
            let Some(pickle) = facts.pickle else { continue };
            if let Some(bad) = pickle.imports.iter().find(|import| import.safety == Safety::Dangerous) {
                return Err(CoreError::Forbidden(format!(
                    "{path} was refused: its pickle imports {}.{}, which can run code when the file is loaded \
                     (this server refuses unsafe pickles; publish the weights as safetensors)",
                    bad.module, bad.name
                )));
            }
        }
        Ok(())
    }
}
