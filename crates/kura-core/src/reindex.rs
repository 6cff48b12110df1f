//! `kura reindex`: indexes every branch head of every repo now, in the calling process (for
//! repos that existed before the indexer, or after an inspector change made facts stale). The
//! work is the indexing job's, so a server running beside it sees the same facts.

use kura_model::{ObjectId, RepoType};
use kura_storage::{RepoQuery, RepoRecord};

use crate::error::Result;
use crate::services::Index;

/// Repos listed per query.
const PAGE: u64 = 200;

/// Progress of a reindex, reported after each branch head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReindexProgress {
    /// Branch heads indexed so far, and how many there are.
    pub done: u64,
    pub total: u64,
    /// Heads whose indexing failed (logged; the rest go on).
    pub failed: u64,
}

impl Index<'_> {
    /// Every repo of every type, by id.
    async fn all_repos(&self) -> Result<Vec<RepoRecord>> {
        let mut repos = Vec::new();
        for repo_type in RepoType::ALL {
            let mut offset = 0;
            loop {
                let query = RepoQuery { offset, limit: PAGE, ..RepoQuery::every(repo_type) };
                let page = self.meta.list_repos(&query).await?;
                let full = page.len() as u64 == PAGE;
                repos.extend(page);
                if !full {
                    break;
                }
                offset += PAGE;
            }
        }
        Ok(repos)
    }

    /// Indexes the head of every branch of every repo, calling `progress` after each.
    pub async fn reindex_all(
        &self,
        mut progress: impl FnMut(&ReindexProgress, &RepoRecord),
    ) -> Result<ReindexProgress> {
        let mut heads: Vec<(RepoRecord, ObjectId)> = Vec::new();
        for repo in self.all_repos().await? {
            for record in self.meta.refs(repo.id).await? {
                if record.name.as_str().starts_with("refs/heads/") {
                    heads.push((repo.clone(), record.target));
                }
            }
        }
        let mut state = ReindexProgress { total: heads.len() as u64, ..Default::default() };
        for (repo, commit) in heads {
            let outcome = match self.index_commit(repo.clone(), commit).await {
                Ok(facts) => self.update_listing(&repo, &commit, &facts).await,
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                tracing::warn!(%error, repo = %repo.repo_id, %commit, "indexing a branch head failed");
                state.failed += 1;
            }
            state.done += 1;
            progress(&state, &repo);
        }
        Ok(state)
    }
}
