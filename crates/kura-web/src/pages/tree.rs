//! The file browser: one folder of a revision, 200 entries a page, with sizes, LFS/Xet
//! badges, the last commit of each entry (as far as the core's budget reaches), breadcrumbs
//! and a branch/tag switcher that works without script.

use std::collections::HashMap;

use askama::Template;
use kura_core::{Entry, LastCommit, RepoRecord};
use kura_model::RepoPath;

use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab};
use super::{format, ok};
use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::RepoName;

/// Entries on one page of a folder.
const PAGE_ENTRIES: usize = 200;
/// LFS entries of a page whose Xet storage is looked up (one query each).
const XET_LOOKUPS: usize = 50;
/// Branches and tags listed in the switcher.
const MAX_REFS: usize = 100;

/// One link of the breadcrumbs: a folder of the path.
pub(crate) struct Crumb {
    pub(crate) name: String,
    pub(crate) href: String,
}

/// The crumbs of `path` (the repo root first), each linking to its folder's tree page.
pub(crate) fn crumbs(base: &str, revision: &str, path: &str) -> Vec<Crumb> {
    let mut out = vec![Crumb {
        name: base.rsplit('/').next().unwrap_or(base).to_owned(),
        href: tree_url(base, revision, ""),
    }];
    let mut sofar = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        sofar = if sofar.is_empty() { part.to_owned() } else { format!("{sofar}/{part}") };
        out.push(Crumb { name: part.to_owned(), href: tree_url(base, revision, &sofar) });
    }
    out
}

/// `{base}/tree/{rev}/{path}` with the revision as one segment.
pub(crate) fn tree_url(base: &str, revision: &str, path: &str) -> String {
    let rev = format::segment(revision);
    if path.is_empty() {
        format!("{base}/tree/{rev}")
    } else {
        format!("{base}/tree/{rev}/{}", format::path(path))
    }
}

/// `{base}/{kind}/{rev}/{path}` for blob, resolve and commits pages.
pub(crate) fn file_url(base: &str, kind: &str, revision: &str, path: &str) -> String {
    format!("{base}/{kind}/{}/{}", format::segment(revision), format::path(path))
}

pub(crate) struct Row {
    name: String,
    href: String,
    folder: bool,
    size: String,
    lfs: bool,
    xet: bool,
    /// The pickle scan's level when it flagged the file (`unsafe` or `caution`).
    scan: Option<&'static str>,
    commit: Option<(String, String, String)>,
}

pub(crate) struct RefLink {
    name: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "tree.html")]
struct TreePage {
    layout: Layout,
    header: RepoHeader,
    crumbs: Vec<Crumb>,
    revision: String,
    branches: Vec<RefLink>,
    tags: Vec<RefLink>,
    rows: Vec<Row>,
    parent: Option<String>,
    next: Option<String>,
    upload: String,
    history: String,
}

pub(crate) async fn tree_page(req: &mut Req, name: &RepoName, revision: &str, path: &str) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let repos = req.hub().repos();
    let commit = repos.resolve_revision(&record, revision).await?.commit;
    let root = repos.commit_tree(&commit).await?;
    let dir = match path.trim_matches('/') {
        "" => None,
        trimmed => Some(RepoPath::parse(trimmed).map_err(|_| WebError::not_found())?),
    };
    let header = RepoHeader::new(req, &record, Tab::Files, revision).await;
    if let Some(dir) = &dir {
        match repos.lookup(root, dir).await? {
            Some(Entry::Dir { .. }) => {}
            Some(Entry::File { .. }) => {
                return Err(WebError::redirect_to(file_url(&header.base, "blob", revision, dir.as_str())));
            }
            None => return Err(WebError::not_found()),
        }
    }
    let cursor = req.param("cursor").filter(|c| !c.is_empty());
    let page = repos.list_page(root, dir.as_ref(), false, cursor, PAGE_ENTRIES).await?;
    let paths: Vec<String> = page.entries.iter().map(|e| e.path().to_owned()).collect();
    // The last-commit column is a courtesy within the core's budget: a failure leaves it empty.
    let last = repos.last_commits(commit, &paths).await.unwrap_or_default();
    let mut rows = rows(req, &record, &header.base, revision, &page.entries, &last).await;
    mark_flagged(req, &record, &commit, &page.entries, &mut rows).await;
    let path = dir.as_ref().map_or("", |d| d.as_str()).to_owned();
    let next = page.next.map(|cursor| {
        let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        format!("{}?cursor={encoded}", tree_url(&header.base, revision, &path))
    });
    let parent = (!path.is_empty())
        .then(|| tree_url(&header.base, revision, path.rsplit_once('/').map_or("", |(p, _)| p)));
    let (branches, tags) = ref_links(req, &record, &header.base, revision, &path).await?;
    let page = TreePage {
        layout: Layout::new(req, &format!("{} at {revision}", record.repo_id)),
        crumbs: crumbs(&header.base, revision, &path),
        revision: revision.to_owned(),
        branches,
        tags,
        rows,
        parent,
        next,
        upload: format!("{}/upload/{}", header.base, format::segment(revision)),
        history: if path.is_empty() {
            format!("{}/commits/{}", header.base, format::segment(revision))
        } else {
            file_url(&header.base, "commits", revision, &path)
        },
        header,
    };
    ok(&page)
}

async fn rows(
    req: &Req,
    record: &RepoRecord,
    base: &str,
    revision: &str,
    entries: &[Entry],
    last: &HashMap<String, LastCommit>,
) -> Vec<Row> {
    let mut xet_budget = XET_LOOKUPS;
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        let full = entry.path();
        let name = full.rsplit('/').next().unwrap_or(full).to_owned();
        let commit = last.get(full).map(|c| {
            (format!("{base}/commit/{}", c.id), c.title.clone(), format::day_of_millis(c.time * 1000))
        });
        let row = match entry {
            Entry::Dir { .. } => Row {
                name,
                href: tree_url(base, revision, full),
                folder: true,
                size: String::new(),
                lfs: false,
                xet: false,
                scan: None,
                commit,
            },
            Entry::File { info, .. } => {
                let size = info.lfs.map_or(info.size, |p| p.size);
                let mut xet = false;
                if let Some(pointer) = &info.lfs
                    && xet_budget > 0
                {
                    xet_budget -= 1;
                    xet = matches!(req.hub().files().xet_hash_in(record, &pointer.oid).await, Ok(Some(_)));
                }
                Row {
                    name,
                    href: file_url(base, "blob", revision, full),
                    folder: false,
                    size: format::size(size),
                    lfs: info.lfs.is_some(),
                    xet,
                    scan: None,
                    commit,
                }
            }
        };
        rows.push(row);
    }
    rows
}

/// Badges the files the pickle scan flagged (one batched look-up for the page's entries). The
/// badges are a courtesy: a revision not indexed yet, or a store that fails, shows none.
async fn mark_flagged(
    req: &Req,
    record: &RepoRecord,
    commit: &kura_model::ObjectId,
    entries: &[Entry],
    rows: &mut [Row],
) {
    let listed: Vec<&Entry> = entries.iter().collect();
    let statuses = req.hub().index().file_statuses(record, commit, &listed).await.unwrap_or_default();
    for (row, status) in rows.iter_mut().zip(statuses) {
        row.scan = status.map(|s| s.status).filter(|level| matches!(*level, "unsafe" | "caution"));
    }
}

/// The switcher's links: the same folder at each branch and tag.
async fn ref_links(
    req: &Req,
    record: &RepoRecord,
    base: &str,
    revision: &str,
    path: &str,
) -> WebResult<(Vec<RefLink>, Vec<RefLink>)> {
    let refs = req.hub().repos().refs(record).await?;
    let mut branches = Vec::new();
    let mut tags = Vec::new();
    for r in refs {
        let full = r.name.as_str();
        let list = if full.starts_with("refs/heads/") {
            &mut branches
        } else if full.starts_with("refs/tags/") {
            &mut tags
        } else {
            continue;
        };
        if list.len() < MAX_REFS {
            let name = r.name.short().to_owned();
            list.push(RefLink { href: tree_url(base, &name, path), current: name == revision, name });
        }
    }
    Ok((branches, tags))
}

#[cfg(test)]
mod tests {
    #[test]
    fn crumbs_link_each_folder_and_keep_the_revision_one_segment() {
        let crumbs = super::crumbs("/alice/demo", "release/v1", "a b/c");
        let hrefs: Vec<&str> = crumbs.iter().map(|c| c.href.as_str()).collect();
        assert_eq!(
            hrefs,
            [
                "/alice/demo/tree/release%2Fv1",
                "/alice/demo/tree/release%2Fv1/a%20b",
                "/alice/demo/tree/release%2Fv1/a%20b/c"
            ]
        );
        assert_eq!(crumbs[0].name, "demo");
    }
}
