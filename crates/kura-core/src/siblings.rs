//! A repo's `siblings` (every file of a tree, for repo info) as JSON, built once per tree:
//! a tree id names its whole content, so the list never changes and the same bytes are
//! answered to every caller who asks for that tree.

use std::sync::Arc;

use kura_model::ObjectId;
use serde_json::value::RawValue;

use crate::error::{CoreError, Result};
use crate::services::Repos;
use crate::views::SiblingView;

/// Entries read per step while listing `siblings`.
const SIBLINGS_STEP: usize = 1000;

/// Budget of the cache of `siblings` JSON.
pub(crate) const SIBLINGS_CACHE_BYTES: u64 = 32 << 20;

/// (root tree, with blob facts, entry budget).
pub(crate) type SiblingsKey = (ObjectId, bool, usize);

impl Repos<'_> {
    /// The `siblings` of a tree as a JSON array: its files, walking at most `budget` entries
    /// (files and folders; `Limits::max_siblings`). A bigger tree gets a truncated list, which
    /// clients recognise by its size and then list the tree, which pages.
    pub async fn siblings_json(&self, root: ObjectId, blobs: bool, budget: usize) -> Result<Arc<RawValue>> {
        let cache = &self.hub.repo_state.siblings;
        let key = (root, blobs, budget);
        if let Some(json) = cache.get(&key) {
            return Ok(json);
        }
        let files = self.siblings(root, blobs, &mut budget.clone()).await?;
        let text = serde_json::to_string(&files).map_err(|e| CoreError::Corrupt(format!("siblings: {e}")))?;
        let json: Arc<RawValue> =
            RawValue::from_string(text).map_err(|e| CoreError::Corrupt(format!("siblings: {e}")))?.into();
        cache.put(key, json.clone(), json.get().len() as u64);
        Ok(json)
    }

    /// The `siblings` of a tree as views, walking at most `budget` entries and taking what it
    /// used from it (a listing page shares one budget among its repos).
    pub async fn siblings(
        &self,
        root: ObjectId,
        blobs: bool,
        budget: &mut usize,
    ) -> Result<Vec<SiblingView>> {
        let mut files = Vec::new();
        let mut after: Option<String> = None;
        while *budget > 0 {
            let page =
                self.list_page(root, None, true, after.as_deref(), (*budget).min(SIBLINGS_STEP)).await?;
            *budget = budget.saturating_sub(page.entries.len());
            files.extend(page.entries.iter().filter_map(|entry| SiblingView::of(entry, blobs)));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(files)
    }
}
