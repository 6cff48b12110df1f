//! Serving git clients: the refs to advertise and the objects a fetch needs. Objects are the
//! same git objects the API writes, so a clone sees exactly the commit ids the API reports.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use kura_git::{DeltaLink, ObjectKind};
use kura_model::ObjectId;
use kura_storage::RepoRecord;

use crate::Base;
use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::services::Git;

/// A ref as git sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertisedRef {
    pub name: String,
    pub oid: ObjectId,
    /// For `HEAD`: the branch it points at.
    pub symref_target: Option<String>,
}

/// The objects a fetch may send: made only by [`Git::plan_fetch`] (after the file-read
/// authorization, from commits of the repo), and read only through [`Base::read_planned`], so a
/// pack never carries an object the plan did not reach from the repo's own commits.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlannedObjects(Arc<PackOrder>);

impl PlannedObjects {
    pub(crate) fn len(&self) -> usize {
        self.0.oids.len()
    }

    /// The delta plan of the object at `position`.
    pub(crate) fn link(&self, position: usize) -> DeltaLink {
        self.0.links.get(position).copied().unwrap_or_default()
    }
}

/// Objects in pack order, each linked to the object at the same path in the commit before
/// (newer history first, so an older version becomes a delta of the newer one written before
/// it, as git's own packs do).
#[derive(Debug, Default)]
struct PackOrder {
    oids: Vec<ObjectId>,
    links: Vec<DeltaLink>,
    /// Position of the last object placed at each path (keyed by `path_key`).
    last_at: HashMap<u64, u32>,
}

impl PackOrder {
    /// Appends `oid`; with a path, it is planned as a delta of the last object at that path.
    fn push(&mut self, oid: ObjectId, path: Option<u64>) {
        let position = self.oids.len() as u32;
        let mut link = DeltaLink::default();
        if let Some(base) = path.and_then(|key| self.last_at.insert(key, position)) {
            link.base = Some(base);
            self.links[base as usize].is_base = true;
        }
        self.oids.push(oid);
        self.links.push(link);
    }
}

/// Identifies the path of a tree entry (and whether it is a tree) by a hash: two objects with
/// the same key are versions of the same path, or (rarely) a collision, which only makes a
/// delta larger.
fn path_key(parent: u64, name: &str, is_tree: bool) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    (parent, name, is_tree).hash(&mut hasher);
    hasher.finish()
}

/// The key of every root tree.
const ROOT_KEY: u64 = 0;

/// What to send for a fetch.
#[derive(Debug, Clone, Default)]
pub(crate) struct FetchPlan {
    /// Objects to put in the pack, commits first.
    pub objects: PlannedObjects,
    /// Commits whose parents are cut off by `deepen`.
    pub shallow: Vec<ObjectId>,
    /// Former shallow boundaries of the client whose parents are now sent.
    pub unshallow: Vec<ObjectId>,
    /// Client `have`s this repo knows (to acknowledge).
    pub common: Vec<ObjectId>,
}

impl Git<'_> {
    /// Refs a reader of the repo sees: `HEAD` (→ `refs/heads/main`), branches, tags, PRs.
    pub async fn git_refs(&self, identity: &Identity, repo: &RepoRecord) -> Result<Vec<AdvertisedRef>> {
        self.hub.accounts().authorize_files(identity, repo).await?;
        let refs = self.meta.refs(repo.id).await?;
        let mut out = Vec::with_capacity(refs.len() + 1);
        if let Some(main) = refs.iter().find(|r| r.name.as_str() == "refs/heads/main") {
            out.push(AdvertisedRef {
                name: "HEAD".into(),
                oid: main.target,
                symref_target: Some("refs/heads/main".into()),
            });
        }
        out.extend(refs.into_iter().map(|r| AdvertisedRef {
            name: r.name.as_str().to_owned(),
            oid: r.target,
            symref_target: None,
        }));
        Ok(out)
    }

    /// Objects reachable from `wants` but not from `haves` (commits cut at `depth` when set).
    /// `client_shallow` are the client's shallow boundaries: it has those commits but not their
    /// parents.
    pub(crate) async fn plan_fetch(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        wants: &[ObjectId],
        haves: &[ObjectId],
        client_shallow: &[ObjectId],
        depth: Option<u32>,
    ) -> Result<FetchPlan> {
        self.hub.accounts().authorize_files(identity, repo).await?;
        for want in wants {
            if !self.meta.has_commit(repo.id, want).await? {
                return Err(CoreError::invalid(format!("not our ref {want}")));
            }
        }
        let mut plan = FetchPlan::default();
        for have in haves {
            if self.meta.has_commit(repo.id, have).await? {
                plan.common.push(*have);
            }
        }
        // A set: the walks below ask it once per commit.
        let boundaries: HashSet<ObjectId> = client_shallow.iter().copied().collect();
        let (mut excluded_commits, mut seen) = self.known_to_client(&plan.common, &boundaries).await?;
        // A shallow boundary the client deepens past must be sent again with its parents.
        for boundary in client_shallow {
            if depth.is_some() {
                excluded_commits.remove(boundary);
            }
        }
        let mut queue: VecDeque<(ObjectId, u32)> = wants.iter().map(|w| (*w, 1)).collect();
        let mut commits = Vec::new();
        let mut visited = HashSet::new();
        while let Some((oid, level)) = queue.pop_front() {
            if excluded_commits.contains(&oid) || !visited.insert(oid) {
                continue;
            }
            let commit = self.objects.commit_links(&oid).await?;
            commits.push((oid, commit.tree));
            if depth.is_some_and(|d| level >= d) {
                if !commit.parents.is_empty() {
                    plan.shallow.push(oid);
                }
                continue;
            }
            queue.extend(commit.parents.iter().map(|p| (*p, level + 1)));
        }
        // Boundaries the client already has as shallow are not announced again (as git does).
        plan.shallow.retain(|c| !boundaries.contains(c));
        let new_shallow: HashSet<ObjectId> = plan.shallow.iter().copied().collect();
        plan.unshallow = client_shallow
            .iter()
            .filter(|b| visited.contains(b) && !new_shallow.contains(b) && !excluded_commits.contains(b))
            .copied()
            .collect();
        let mut order = PackOrder::default();
        for (oid, _) in &commits {
            order.push(*oid, None);
        }
        for (_, tree) in &commits {
            self.collect_tree(*tree, &mut seen, &mut order).await?;
        }
        order.last_at = HashMap::new();
        plan.objects = PlannedObjects(Arc::new(order));
        Ok(plan)
    }

    /// Commits the client has (all ancestors of the common haves) and the objects of their
    /// trees' tips.
    async fn known_to_client(
        &self,
        common: &[ObjectId],
        client_shallow: &HashSet<ObjectId>,
    ) -> Result<(HashSet<ObjectId>, HashSet<ObjectId>)> {
        let mut commits = HashSet::new();
        let mut objects = HashSet::new();
        let mut queue: VecDeque<ObjectId> = common.iter().copied().collect();
        while let Some(oid) = queue.pop_front() {
            if !commits.insert(oid) {
                continue;
            }
            if client_shallow.contains(&oid) {
                continue;
            }
            let commit = self.objects.commit_links(&oid).await?;
            queue.extend(commit.parents.iter().copied());
        }
        for have in common {
            let tree = self.objects.commit_links(have).await?.tree;
            self.collect_tree(tree, &mut objects, &mut PackOrder::default()).await?;
        }
        Ok((commits, objects))
    }

    /// Adds `tree` and everything under it that is not in `seen`.
    async fn collect_tree(
        &self,
        tree: ObjectId,
        seen: &mut HashSet<ObjectId>,
        out: &mut PackOrder,
    ) -> Result<()> {
        let mut stack = vec![(tree, ROOT_KEY)];
        while let Some((oid, key)) = stack.pop() {
            if !seen.insert(oid) {
                continue;
            }
            out.push(oid, Some(key));
            for entry in self.objects.tree(&oid).await?.entries() {
                if entry.mode.is_tree() {
                    stack.push((entry.oid, path_key(key, &entry.name, true)));
                } else if entry.mode.is_blob() && seen.insert(entry.oid) {
                    out.push(entry.oid, Some(path_key(key, &entry.name, false)));
                }
            }
        }
        Ok(())
    }
}

/// Pack streaming reads planned objects from the shared storage, without a view of the hub.
impl Base {
    /// Objects `range` of a fetch plan (in order), each verified against its id.
    pub(crate) async fn read_planned(
        &self,
        planned: &PlannedObjects,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<(ObjectKind, Bytes)>> {
        let oids = planned.0.oids.get(range).ok_or_else(|| CoreError::invalid("outside the fetch plan"))?;
        self.objects.read_many(oids).await
    }
}
