//! What every repo page shares: finding the repo through the caller's authorization, its URLs,
//! the header with its tabs, and reading a bounded prefix of a file through the read proof.

use futures_util::StreamExt;
use kura_core::{Identity, RepoRecord};
use kura_model::{RepoId, RepoType};

use super::format;
use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::RepoName;

/// Finds a repo the caller may see; a moved repo redirects to its new page, a hidden one
/// is the same 404 as a missing one.
pub(crate) async fn find(req: &Req, name: &RepoName) -> WebResult<RepoRecord> {
    let repo_id = RepoId::new(&name.namespace, &name.name).map_err(|_| WebError::not_found())?;
    match req.hub().repos().find_repo(&req.identity, name.repo_type, &repo_id).await {
        Ok(record) => Ok(record),
        Err(kura_core::CoreError::RepoMoved { from, to }) => {
            let old = base_url(name.repo_type, &from);
            let new = base_url(name.repo_type, &to);
            let rest = req.path.strip_prefix(&old).unwrap_or("");
            Err(WebError::redirect_to(format!("{new}{rest}")))
        }
        Err(error) => Err(error.into()),
    }
}

/// `/{prefix}{namespace}/{name}`: the repo's page, the base of its other pages.
pub(crate) fn base_url(repo_type: RepoType, repo_id: &RepoId) -> String {
    format!(
        "/{}{}/{}",
        repo_type.url_prefix(),
        format::segment(repo_id.namespace()),
        format::segment(repo_id.name())
    )
}

/// The tab a repo page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Card,
    Files,
    Commits,
    Community,
    Settings,
    Viewer,
}

/// The header of every repo page.
pub(crate) struct RepoHeader {
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) base: String,
    pub(crate) private: bool,
    pub(crate) gated: bool,
    pub(crate) tab: Tab,
    /// The revision the Files and Commits tabs open (`main` unless the page names another).
    pub(crate) revision: String,
    pub(crate) can_write: bool,
    pub(crate) likes: u64,
    /// Whether the caller likes it (`None`: nobody signed in, no button).
    pub(crate) liked: Option<bool>,
}

impl RepoHeader {
    pub(crate) async fn new(req: &Req, record: &RepoRecord, tab: Tab, revision: &str) -> Self {
        let can_write = can_write(&req.identity, req, record).await;
        let liked = match req.identity.is_anonymous() {
            true => None,
            false => req.hub().repos().liked(&req.identity, record).await.ok(),
        };
        RepoHeader {
            kind: record.repo_type.as_str(),
            id: record.repo_id.to_string(),
            namespace: record.repo_id.namespace().to_owned(),
            name: record.repo_id.name().to_owned(),
            base: base_url(record.repo_type, &record.repo_id),
            private: record.private,
            gated: record.gating != kura_core::Gating::Off,
            tab,
            revision: format::segment(revision),
            can_write,
            likes: record.likes,
            liked,
        }
    }

    pub(crate) fn is(&self, tab: Tab) -> bool {
        self.tab == tab
    }
}

/// `POST {repo}/like`: likes (`like=1`) or stops liking the repo, then back to its page.
pub(crate) async fn like(req: &mut Req, name: &RepoName) -> WebResult {
    req.require_user()?;
    let form = req.form().await?;
    let record = find(req, name).await?;
    let like = form.require("like")? == "1";
    req.hub().repos().set_like(&req.identity, &record, like, req.client).await?;
    super::see_other(&base_url(record.repo_type, &record.repo_id))
}

/// Whether the caller may write to the repo (shows the upload and settings links; the
/// handlers check again).
async fn can_write(identity: &Identity, req: &Req, record: &RepoRecord) -> bool {
    !identity.is_anonymous() && req.hub().accounts().authorize_write(identity, record).await.is_ok()
}

/// Reads at most `cap` bytes of a file at `revision` through the read proof: `None` when the
/// file does not exist. Also returns the file's full size.
pub(crate) async fn read_prefix(
    req: &Req,
    record: &RepoRecord,
    revision: &str,
    path: &str,
    cap: u64,
) -> WebResult<Option<(Vec<u8>, u64)>> {
    let files = req.hub().files();
    let file = match files.open_file(&req.identity, record, revision, path).await {
        Ok(file) => file,
        Err(kura_core::CoreError::EntryNotFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let want = file.size.min(cap);
    let mut stream = files.read_file(&file, 0, want).await?;
    let mut out = Vec::with_capacity(want as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| WebError::from(kura_core::CoreError::Corrupt("read failed".into())))?;
        out.extend_from_slice(&chunk);
        if out.len() as u64 >= want {
            out.truncate(want as usize);
            break;
        }
    }
    Ok(Some((out, file.size)))
}
