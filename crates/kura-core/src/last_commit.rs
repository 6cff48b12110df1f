//! `lastCommit` of tree entries (`expand=true`): for each listed path, the newest commit
//! (following first parents) that changed it. The walk compares only the folders that hold
//! listed paths, skips every folder whose tree did not change, and stops at a budget of tree
//! entries read (`Limits::expand_max_tree_entries`), so one request costs a bounded few
//! milliseconds however long the history or wide the tree; a path it cannot attribute within
//! the budget gets no `lastCommit`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use kura_git::{Tree, TreeEntry};
use kura_model::ObjectId;

use crate::error::Result;
use crate::services::Repos;

/// The commit that last changed a path: id, title and committer time (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCommit {
    pub id: ObjectId,
    pub title: String,
    pub time: i64,
}

/// History depth examined to attribute paths to commits.
const LAST_COMMIT_HORIZON: usize = 1000;

/// Listed names still to attribute, by folder (`""` is the root).
type Pending = BTreeMap<String, HashSet<String>>;

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

/// Git's tree order: names compared bytewise, a folder's name as if it ended with `/`.
fn git_order(a: &TreeEntry, b: &TreeEntry) -> Ordering {
    let (x, y) = (a.name.as_bytes(), b.name.as_bytes());
    let n = x.len().min(y.len());
    x[..n].cmp(&y[..n]).then_with(|| {
        let next =
            |entry: &TreeEntry, bytes: &[u8]| bytes.get(n).copied().or(entry.mode.is_tree().then_some(b'/'));
        next(a, x).cmp(&next(b, y)).then(x.len().cmp(&y.len()))
    })
}

/// The folder entry `name` of a tree in git order (binary search on the `name/` key).
fn find_folder<'t>(tree: &'t Tree, name: &str) -> Option<&'t TreeEntry> {
    let key = TreeEntry { mode: kura_git::EntryMode::Tree, name: name.to_owned(), oid: ObjectId([0; 20]) };
    let entries = tree.entries();
    entries.binary_search_by(|e| git_order(e, &key)).ok().map(|i| &entries[i]).filter(|e| e.mode.is_tree())
}

impl Repos<'_> {
    /// For each path, the newest commit (following first parents from `head`) that changed
    /// it. Paths still unattributed past the horizon get the oldest commit examined; paths
    /// left when the budget runs out get nothing.
    pub async fn last_commits(
        &self,
        head: ObjectId,
        paths: &[String],
    ) -> Result<HashMap<String, LastCommit>> {
        let mut budget = self.config.limits.expand_max_tree_entries;
        let mut pending = Pending::new();
        for path in paths {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            pending.entry(dir.to_owned()).or_default().insert(name.to_owned());
        }
        let mut found = HashMap::new();
        let mut current = head;
        let mut commit = self.objects.commit(&head).await?;
        for _ in 0..LAST_COMMIT_HORIZON {
            if pending.is_empty() {
                return Ok(found);
            }
            let info =
                LastCommit { id: current, title: commit.title().to_owned(), time: commit.committer.time };
            let Some(parent) = commit.parents.first().copied() else {
                // The first commit added whatever is left.
                for (dir, names) in std::mem::take(&mut pending) {
                    for name in names {
                        found.insert(join(&dir, &name), info.clone());
                    }
                }
                return Ok(found);
            };
            let parent_commit = self.objects.commit(&parent).await?;
            if parent_commit.tree != commit.tree {
                let Some(changed) =
                    self.changed_names(commit.tree, parent_commit.tree, &pending, &mut budget).await?
                else {
                    return Ok(found);
                };
                for (dir, name) in changed {
                    if let Some(names) = pending.get_mut(&dir) {
                        names.remove(&name);
                        if names.is_empty() {
                            pending.remove(&dir);
                        }
                    }
                    found.insert(join(&dir, &name), info.clone());
                }
            }
            current = parent;
            commit = parent_commit;
            // Let other requests run between commits.
            tokio::task::yield_now().await;
        }
        let info = LastCommit { id: current, title: commit.title().to_owned(), time: commit.committer.time };
        for (dir, names) in pending {
            for name in names {
                found.insert(join(&dir, &name), info.clone());
            }
        }
        Ok(found)
    }

    /// The pending names whose entry differs between the trees `new` and `old` (added,
    /// removed or changed), or `None` when the budget runs out first.
    async fn changed_names(
        &self,
        new: ObjectId,
        old: ObjectId,
        pending: &Pending,
        budget: &mut u64,
    ) -> Result<Option<Vec<(String, String)>>> {
        // Folder trees on both sides, resolved once per commit pair; parents sort first.
        let mut folders: HashMap<String, (Option<ObjectId>, Option<ObjectId>)> = HashMap::new();
        folders.insert(String::new(), (Some(new), Some(old)));
        let mut changed = Vec::new();
        for (dir, names) in pending {
            let (new_dir, old_dir) = self.folder_pair(&mut folders, dir, budget).await?;
            if new_dir == old_dir {
                continue;
            }
            let new_tree = match new_dir {
                Some(oid) => Some(self.objects.tree(&oid).await?),
                None => None,
            };
            let old_tree = match old_dir {
                Some(oid) => Some(self.objects.tree(&oid).await?),
                None => None,
            };
            let a = new_tree.as_deref().map_or(&[][..], Tree::entries);
            let b = old_tree.as_deref().map_or(&[][..], Tree::entries);
            let cost = (a.len() + b.len()) as u64 + 1;
            if *budget < cost {
                return Ok(None);
            }
            *budget -= cost;
            let mut mark = |name: &str| {
                if names.contains(name) {
                    changed.push((dir.clone(), name.to_owned()));
                }
            };
            let (mut i, mut j) = (0, 0);
            while i < a.len() || j < b.len() {
                let order = match (a.get(i), b.get(j)) {
                    (Some(x), Some(y)) => git_order(x, y),
                    (Some(_), None) => Ordering::Less,
                    _ => Ordering::Greater,
                };
                match order {
                    Ordering::Less => {
                        mark(&a[i].name);
                        i += 1;
                    }
                    Ordering::Greater => {
                        mark(&b[j].name);
                        j += 1;
                    }
                    Ordering::Equal => {
                        if a[i].oid != b[j].oid || a[i].mode != b[j].mode {
                            mark(&a[i].name);
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
        }
        Ok(Some(changed))
    }

    /// The tree of folder `dir` on both sides, resolving (and remembering) its ancestors.
    async fn folder_pair(
        &self,
        folders: &mut HashMap<String, (Option<ObjectId>, Option<ObjectId>)>,
        dir: &str,
        budget: &mut u64,
    ) -> Result<(Option<ObjectId>, Option<ObjectId>)> {
        if let Some(pair) = folders.get(dir) {
            return Ok(*pair);
        }
        let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
        let (new_parent, old_parent) = Box::pin(self.folder_pair(folders, parent, budget)).await?;
        *budget = budget.saturating_sub(1);
        let pair = if new_parent == old_parent {
            // Unchanged above, so unchanged here: only the equality of the pair matters.
            (new_parent, old_parent)
        } else {
            (self.child_folder(new_parent, name).await?, self.child_folder(old_parent, name).await?)
        };
        folders.insert(dir.to_owned(), pair);
        Ok(pair)
    }

    async fn child_folder(&self, parent: Option<ObjectId>, name: &str) -> Result<Option<ObjectId>> {
        let Some(parent) = parent else { return Ok(None) };
        Ok(find_folder(&*self.objects.tree(&parent).await?, name).map(|e| e.oid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kura_git::EntryMode;

    fn entry(name: &str, mode: EntryMode) -> TreeEntry {
        TreeEntry { mode, name: name.to_owned(), oid: ObjectId([1; 20]) }
    }

    #[test]
    fn git_order_sorts_folders_as_if_they_ended_with_a_slash() {
        let names = [
            ("a", EntryMode::File),
            ("a.b", EntryMode::File),
            ("a", EntryMode::Tree),
            ("ab", EntryMode::File),
        ];
        let entries: Vec<TreeEntry> = names.iter().map(|(n, m)| entry(n, *m)).collect();
        let tree = Tree::new(entries.clone());
        for pair in tree.entries().windows(2) {
            assert_eq!(git_order(&pair[0], &pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(find_folder(&tree, "a").map(|e| e.mode), Some(EntryMode::Tree));
        assert!(find_folder(&tree, "ab").is_none());
    }
}
