//! One commit: its title, message, author, date and parents, and a unified diff of its text
//! files against its first parent (a root commit against the empty tree); `diffs` also gives
//! a pull request its changed files. The core compares the trees within a budget; file
//! contents are read through one files authorization, at commits of this repo only. Large,
//! LFS and binary files show only their size change, and a page diffs at most ~2 MiB of text.

use std::time::Instant;

use askama::Template;
use futures_util::StreamExt;
use kura_core::{ChangedFile, CompareBudget, CoreError, FileSide, FilesAccess, RepoRecord};
use kura_model::ObjectId;

use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab};
use super::tree::{file_url, tree_url};
use super::{format, ok};
use crate::diff::{self, Row};
use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::RepoName;

/// What one commit page may compare.
const BUDGET: CompareBudget = CompareBudget { max_entries: 100_000, max_files: 300 };
/// Largest file whose text is diffed.
const MAX_DIFF_FILE_BYTES: u64 = 256 * 1024;
/// Text diffed on one page, both sides together.
const MAX_DIFF_PAGE_BYTES: u64 = 2 << 20;
/// Time all the diffs of one page may take (each file also stops at its own limit).
const MAX_DIFF_PAGE_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// What a page's diffs may still spend.
struct PageBudget {
    bytes: u64,
    deadline: Instant,
}

pub(crate) struct FileDiff {
    pub(crate) path: String,
    pub(crate) kind: &'static str,
    pub(crate) href: Option<String>,
    pub(crate) sizes: String,
    pub(crate) lfs: bool,
    pub(crate) blobs: String,
    /// Why no line diff is shown.
    pub(crate) note: Option<String>,
    pub(crate) rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "commit.html")]
struct CommitPage {
    layout: Layout,
    header: RepoHeader,
    id: String,
    title: String,
    message: String,
    author: String,
    date: String,
    parents: Vec<(String, String)>,
    browse: String,
    files: Vec<FileDiff>,
    truncated: bool,
}

pub(crate) async fn commit_page(req: &mut Req, name: &RepoName, id: &str) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let repos = req.hub().repos();
    let oid = repos.resolve_revision(&record, id).await?.commit;
    let commit = repos.commit(&oid).await?;
    let header = RepoHeader::new(req, &record, Tab::Commits, &oid.to_hex()).await;
    let diffs = diffs(req, &record, &header.base, commit.parents.first().copied(), oid).await?;
    let parents = commit
        .parents
        .iter()
        .map(|p| (format!("{}/commit/{p}", header.base), p.to_hex()[..7].to_owned()))
        .collect();
    let page = CommitPage {
        layout: Layout::new(req, &format!("{} · {}", commit.title(), record.repo_id)),
        id: oid.to_hex(),
        title: commit.title().to_owned(),
        message: commit.body().to_owned(),
        author: commit.author.name.clone(),
        date: format::day_of_millis(commit.committer.time * 1000),
        parents,
        browse: tree_url(&header.base, &oid.to_hex(), ""),
        files: diffs.files,
        truncated: diffs.truncated,
        header,
    };
    ok(&page)
}

/// The changed files of a page and whether more changed than it lists.
pub(crate) struct FileDiffs {
    pub(crate) files: Vec<FileDiff>,
    pub(crate) truncated: bool,
}

/// The diffs from commit `from` (the empty tree when `None`) to commit `to`, both of this
/// repo, within the page's budgets; `base` is the repo's URL.
pub(crate) async fn diffs(
    req: &Req,
    record: &RepoRecord,
    base: &str,
    from: Option<ObjectId>,
    to: ObjectId,
) -> WebResult<FileDiffs> {
    let repos = req.hub().repos();
    let old_tree = match from {
        Some(from) => Some(repos.commit_tree(&from).await?),
        None => None,
    };
    let comparison = repos.compare(old_tree, repos.commit_tree(&to).await?, BUDGET).await?;
    // Who may see a gated repo's history but not its files sees which files changed.
    let access = match req.hub().accounts().authorize_files(&req.identity, record).await {
        Ok(access) => Some(access),
        Err(CoreError::GatedRepo(_)) => None,
        Err(error) => return Err(error.into()),
    };
    let mut budget = PageBudget { bytes: MAX_DIFF_PAGE_BYTES, deadline: Instant::now() + MAX_DIFF_PAGE_TIME };
    let mut files = Vec::with_capacity(comparison.files.len());
    for changed in &comparison.files {
        files.push(file_diff(req, access.as_ref(), base, to, from, changed, &mut budget).await?);
    }
    Ok(FileDiffs { files, truncated: comparison.truncated })
}

/// The size a side shows (the content's, for LFS files).
fn content_size(side: &FileSide) -> u64 {
    side.info.lfs.map_or(side.info.size, |p| p.size)
}

async fn file_diff(
    req: &Req,
    access: Option<&FilesAccess>,
    base: &str,
    commit: ObjectId,
    parent: Option<ObjectId>,
    changed: &ChangedFile,
    budget: &mut PageBudget,
) -> WebResult<FileDiff> {
    let sides = [changed.old.as_ref(), changed.new.as_ref()];
    let size =
        |side: Option<&FileSide>| side.map_or_else(|| "—".to_owned(), |s| format::size(content_size(s)));
    let blob = |side: Option<&FileSide>| {
        side.map_or_else(|| "0000000".to_owned(), |s| s.blob.to_hex()[..7].to_owned())
    };
    let mut out = FileDiff {
        path: changed.path.clone(),
        kind: changed.kind.as_str(),
        href: changed.new.is_some().then(|| file_url(base, "blob", &commit.to_hex(), &changed.path)),
        sizes: format!("{} → {}", size(sides[0]), size(sides[1])),
        lfs: sides.iter().flatten().any(|s| s.info.lfs.is_some()),
        blobs: format!("{}..{}", blob(sides[0]), blob(sides[1])),
        note: None,
        rows: Vec::new(),
    };
    let total: u64 = sides.iter().flatten().map(|s| s.info.size).sum();
    out.note = if access.is_none() {
        Some("Content hidden: this repo is gated; request access to see its files.".to_owned())
    } else if out.lfs {
        Some("Large file stored with LFS: only its size is compared.".to_owned())
    } else if sides.iter().flatten().any(|s| !s.mode.is_blob()) {
        Some("Submodule or special entry.".to_owned())
    } else if sides.iter().flatten().any(|s| s.info.size > MAX_DIFF_FILE_BYTES) {
        Some("File over 256 KiB: only its size is compared.".to_owned())
    } else if total > budget.bytes {
        Some("Diff not shown: this page already shows as much text as it can.".to_owned())
    } else {
        None
    };
    let Some(access) = access.filter(|_| out.note.is_none()) else { return Ok(out) };
    budget.bytes -= total;
    let old = match (parent, &changed.old) {
        (Some(parent), Some(_)) => read_all(req, access, parent, &changed.path).await?,
        _ => Vec::new(),
    };
    let new = match &changed.new {
        Some(_) => read_all(req, access, commit, &changed.path).await?,
        None => Vec::new(),
    };
    if super::blob::looks_binary(&old, true) || super::blob::looks_binary(&new, true) {
        out.note = Some("Binary file: only its size is compared.".to_owned());
        return Ok(out);
    }
    if Instant::now() > budget.deadline {
        out.note = Some("Diff not shown: this page spent the time it may take.".to_owned());
        return Ok(out);
    }
    let (old, new) = (String::from_utf8_lossy(&old).into_owned(), String::from_utf8_lossy(&new).into_owned());
    let Some(rows) = crate::heavy::run(move || diff::unified(&old, &new)).await else {
        out.note = Some("Diff not shown: the server is busy; reload to try again.".to_owned());
        return Ok(out);
    };
    out.rows = rows;
    if out.rows.is_empty() {
        out.note = Some("Only the file mode changed.".to_owned());
    }
    Ok(out)
}

/// A small file's bytes at a commit of the authorized repo, through the read proof.
async fn read_all(req: &Req, access: &FilesAccess, commit: ObjectId, path: &str) -> WebResult<Vec<u8>> {
    let files = req.hub().files();
    let file = files.open_at(access, commit, path).await?;
    let want = file.size.min(MAX_DIFF_FILE_BYTES);
    let mut stream = files.read_file(&file, 0, want).await?;
    let mut out = Vec::with_capacity(want as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| WebError::from(CoreError::Corrupt("read failed".into())))?;
        out.extend_from_slice(&chunk);
        if out.len() as u64 >= want {
            out.truncate(want as usize);
            break;
        }
    }
    Ok(out)
}
