//! A revision's history, 50 commits a page; for a path, the commits that changed it, found
//! by comparing the path's entry with the first parent's within a budget of commits walked.

use std::collections::HashMap;

use askama::Template;
use kura_core::views::CommitView;
use kura_model::{ObjectId, RepoPath};

use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab};
use super::tree::{Crumb, crumbs, file_url};
use super::{format, ok};
use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::RepoName;

/// Commits on one page.
const PAGE_COMMITS: usize = 50;
/// Deepest page (the walk to a page costs its offset).
const MAX_PAGE: usize = 1000;
/// Commits examined for a path's history, whatever the page.
const PATH_WALK_COMMITS: usize = 1000;
/// Commits held at a time while walking a path's history.
const WALK_CHUNK: usize = 50;

struct Item {
    href: String,
    title: String,
    author: String,
    date: String,
    short: String,
}

/// A history line, from the commit's typed view.
fn item(base: &str, view: CommitView) -> Item {
    Item {
        href: format!("{base}/commit/{}", view.id),
        author: view.authors.into_iter().next().map(|a| a.user).unwrap_or_default(),
        date: format::day(&view.date),
        short: view.id.get(..7).unwrap_or(&view.id).to_owned(),
        title: view.title,
    }
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    layout: Layout,
    header: RepoHeader,
    crumbs: Vec<Crumb>,
    path: String,
    items: Vec<Item>,
    next: Option<String>,
    prev: Option<String>,
    /// Set when a path's history stopped at the walk budget.
    cut: Option<usize>,
}

fn page_number(req: &Req) -> WebResult<usize> {
    match req.param("p") {
        None | Some("") => Ok(1),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(WebError::bad_request(&format!("The page number must be between 1 and {MAX_PAGE}"))),
        },
    }
}

pub(crate) async fn history_page(req: &mut Req, name: &RepoName, revision: &str, path: &str) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let repos = req.hub().repos();
    let head = repos.resolve_revision(&record, revision).await?.commit;
    let page = page_number(req)?;
    let path = path.trim_matches('/');
    let header = RepoHeader::new(req, &record, Tab::Commits, revision).await;
    let offset = (page - 1) * PAGE_COMMITS;
    let (items, more, cut) = if path.is_empty() {
        let (commits, more) = repos.history(head, offset, PAGE_COMMITS).await?;
        (
            commits.iter().map(|(id, commit)| item(&header.base, CommitView::new(id, commit))).collect(),
            more,
            None,
        )
    } else {
        let repo_path = RepoPath::parse(path).map_err(|_| WebError::not_found())?;
        path_history(req, &header.base, head, &repo_path, offset).await?
    };
    let here = if path.is_empty() {
        format!("{}/commits/{}", header.base, format::segment(revision))
    } else {
        file_url(&header.base, "commits", revision, path)
    };
    let page = HistoryPage {
        layout: Layout::new(req, &format!("History of {}", record.repo_id)),
        crumbs: crumbs(&header.base, revision, path),
        path: path.to_owned(),
        items,
        next: (more && page < MAX_PAGE).then(|| format!("{here}?p={}", page + 1)),
        prev: (page > 1).then(|| format!("{here}?p={}", page - 1)),
        cut,
        header,
    };
    ok(&page)
}

/// The commits among the newest `PATH_WALK_COMMITS` whose entry at `path` differs from their
/// first parent's, skipping `offset` of them; whether more remain; and the budget when the
/// walk stopped at it. The walk holds `WALK_CHUNK` commits at a time (messages can be large).
async fn path_history(
    req: &Req,
    base: &str,
    head: ObjectId,
    path: &RepoPath,
    offset: usize,
) -> WebResult<(Vec<Item>, bool, Option<usize>)> {
    let repos = req.hub().repos();
    let mut entries: HashMap<ObjectId, Option<ObjectId>> = HashMap::new();
    let mut found = Vec::new();
    let mut skipped = 0;
    let mut walked = 0;
    loop {
        let (chunk, more) = repos.history(head, walked, WALK_CHUNK).await?;
        walked += chunk.len();
        for (id, commit) in chunk {
            let here = entry_at(req, &mut entries, id, commit.tree, path).await?;
            let before = match commit.parents.first() {
                Some(parent) => {
                    let tree = repos.commit_tree(parent).await?;
                    entry_at(req, &mut entries, *parent, tree, path).await?
                }
                None => None,
            };
            if here == before {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if found.len() == PAGE_COMMITS {
                return Ok((found, true, None));
            }
            found.push(item(base, CommitView::new(&id, &commit)));
        }
        if !more {
            return Ok((found, false, None));
        }
        if walked >= PATH_WALK_COMMITS {
            return Ok((found, false, Some(walked)));
        }
    }
}

/// The object id at `path` in a commit's tree, remembered per commit.
async fn entry_at(
    req: &Req,
    seen: &mut HashMap<ObjectId, Option<ObjectId>>,
    commit: ObjectId,
    tree: ObjectId,
    path: &RepoPath,
) -> WebResult<Option<ObjectId>> {
    if let Some(known) = seen.get(&commit) {
        return Ok(*known);
    }
    let oid = match req.hub().repos().lookup(tree, path).await? {
        Some(kura_core::Entry::File { oid, .. } | kura_core::Entry::Dir { oid, .. }) => Some(oid),
        None => None,
    };
    seen.insert(commit, oid);
    Ok(oid)
}
