//! The mirror's operations: prefetching a repo (`kura mirror pull`), listing what is cached
//! and evicting it. Eviction forgets what a mirrored repo holds and every answer cached for
//! it; the chunks it alone used are freed by the garbage collector (which counts unevicted
//! mirror holdings as live), not here.

use kura_model::{ObjectId, RepoId, RepoType};
use kura_storage::MirrorHolding;

use crate::error::{CoreError, Result};
use crate::mirror::{MirrorFile, MirrorRepo};
use crate::services::Mirror;

/// Most files one pull walks (a tree page holds at most 1,000; this is 1,000 pages).
const MAX_PULL_FILES: usize = 1_000_000;

/// How far a pull got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Files that were held already (nothing fetched).
    pub files_cached: u64,
}

impl Mirror<'_> {
    /// Fetches every file of a mirrored repo at `revision` (matching `include`, when given)
    /// that it does not hold yet, one after the other, reporting each file done.
    pub async fn pull(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
        revision: Option<&str>,
        include: Option<&globset::GlobMatcher>,
        mut progress: impl FnMut(&PullProgress, &str),
    ) -> Result<(ObjectId, PullProgress)> {
        let (repo, commit) = self.open(None, repo_type, repo_id, revision).await?;
        let files = self.all_files(&repo, &commit).await?;
        let files: Vec<MirrorFile> =
            files.into_iter().filter(|f| include.is_none_or(|glob| glob.is_match(&f.path))).collect();
        let mut state = PullProgress {
            files_total: files.len() as u64,
            bytes_total: files.iter().map(|f| f.size).sum(),
            ..PullProgress::default()
        };
        for file in files {
            // The file's own entry is what `resolve` reads, so a pulled file resolves offline.
            self.entry(&repo, &commit, &file.path).await?;
            if self.holds(&repo, &file).await? {
                state.files_cached += 1;
            } else {
                self.fetch_whole(&repo, &commit, &file).await?;
            }
            state.files_done += 1;
            state.bytes_done += file.size;
            progress(&state, &file.path);
        }
        Ok((commit, state))
    }

    /// Every file of the tree at `commit`, page after page.
    async fn all_files(&self, repo: &MirrorRepo, commit: &ObjectId) -> Result<Vec<MirrorFile>> {
        let mut files = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.tree_page(repo, commit, "", true, false, cursor.as_deref()).await?;
            for item in page.body.as_array().into_iter().flatten() {
                if let Some(file) = crate::mirror_docs::file_of(item) {
                    files.push(file);
                }
            }
            if files.len() > MAX_PULL_FILES {
                return Err(CoreError::TooLarge(format!("more than {MAX_PULL_FILES} files to pull")));
            }
            match page.next_cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(files),
            }
        }
    }

    /// What every mirrored repo holds.
    pub async fn holdings(&self) -> Result<Vec<MirrorHolding>> {
        Ok(self.meta.mirror_holdings().await?)
    }

    /// Forgets what one mirrored repo holds and its cached answers; `false` if it was never
    /// mirrored.
    pub async fn evict(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<bool> {
        let Some(record) = self.meta.find_mirror_repo(repo_type, repo_id).await? else { return Ok(false) };
        self.meta.evict_mirror_repo(record.id).await?;
        Ok(true)
    }

    /// Evicts the repos fetched least recently until what stays holds at most `max_bytes`, and
    /// every repo that fetched nothing since `older_than` (milliseconds since the epoch).
    /// Returns the evicted holdings.
    pub async fn evict_by(
        &self,
        max_bytes: Option<u64>,
        older_than: Option<i64>,
    ) -> Result<Vec<MirrorHolding>> {
        let mut holdings: Vec<MirrorHolding> =
            self.holdings().await?.into_iter().filter(|h| h.objects > 0).collect();
        holdings.sort_by_key(|h| h.last_fetched.unwrap_or(i64::MIN));
        let mut total: u64 = holdings.iter().map(|h| h.bytes).sum();
        let mut evicted = Vec::new();
        for holding in holdings {
            let stale = older_than.is_some_and(|t| holding.last_fetched.is_none_or(|at| at < t));
            let over = max_bytes.is_some_and(|max| total > max);
            if stale || over {
                self.meta.evict_mirror_repo(holding.repo.id).await?;
                total -= holding.bytes;
                evicted.push(holding);
            }
        }
        Ok(evicted)
    }
}
