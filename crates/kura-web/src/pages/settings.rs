//! `{base}/settings`: what a repo's writers may change (visibility, gating and the access
//! queue, rename or move, delete, branches and tags). Each form posts to
//! `{base}/settings/{action}` and goes through the core use case the API uses, which checks
//! the caller's rights again (protected refs, history rules) and writes the audit log.

use askama::Template;
use axum::http::StatusCode;
use kura_core::{AccessStatus, Authority, Gating, RepoRecord, RepoSettings, RequestSelector};
use kura_model::{RefName, RepoId};

use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab, base_url};
use super::{format, html, see_other};
use crate::error::{WebError, WebResult};
use crate::request::{Form, Req};
use crate::route::RepoName;

/// Access requests shown per status (the API pages through the rest).
const MAX_REQUESTS: u64 = 100;
/// Branches and tags listed (each is a small row; a repo with more shows the first ones).
const MAX_REFS: usize = 500;

pub(crate) struct RequestRow {
    user: String,
    status: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    header: RepoHeader,
    gating: &'static str,
    /// `None` when the caller may write but not manage access (the core decides).
    requests: Option<Vec<RequestRow>>,
    branches: Vec<String>,
    tags: Vec<String>,
}

/// The repo, for callers who may write to it: 404 when they cannot see it, 403 otherwise.
pub(crate) async fn writable(req: &Req, name: &RepoName) -> WebResult<RepoRecord> {
    req.require_user()?;
    let record = repo_common::find(req, name).await?;
    if req.hub().accounts().authorize_write(&req.identity, &record).await.is_err() {
        return Err(WebError::forbidden(
            "Only those who may write to this repository can change its settings.",
        ));
    }
    Ok(record)
}

pub(crate) async fn settings_page(req: &Req, name: &RepoName) -> WebResult {
    let record = writable(req, name).await?;
    let accounts = req.hub().accounts();
    let mut requests = Some(Vec::new());
    for status in [AccessStatus::Pending, AccessStatus::Accepted, AccessStatus::Rejected] {
        let listed = accounts
            .list_access_requests(Authority::Caller(&req.identity), &record, status, 0, MAX_REQUESTS)
            .await;
        match (listed, requests.as_mut()) {
            (Ok(list), Some(rows)) => rows.extend(list.into_iter().map(|r| RequestRow {
                user: r.user_name,
                status: r.status.as_str(),
                created: format::day_of_millis(r.created_at),
            })),
            _ => requests = None,
        }
    }
    let mut branches = Vec::new();
    let mut tags = Vec::new();
    for record in req.hub().repos().refs(&record).await?.into_iter().take(MAX_REFS) {
        let full = record.name.as_str();
        if full.starts_with("refs/heads/") {
            branches.push(record.name.short().to_owned());
        } else if full.starts_with("refs/tags/") {
            tags.push(record.name.short().to_owned());
        }
    }
    let page = SettingsPage {
        layout: Layout::new(req, &format!("Settings · {}", record.repo_id)),
        header: RepoHeader::new(req, &record, Tab::Settings, "main").await,
        gating: record.gating.as_str(),
        requests,
        branches,
        tags,
    };
    Ok(html(StatusCode::OK, &page))
}

/// One settings form; answers 303 to the settings page (or where the repo went).
pub(crate) async fn change(req: &mut Req, name: &RepoName, action: &str) -> WebResult {
    let form = req.form().await?;
    let record = writable(req, name).await?;
    let base = base_url(record.repo_type, &record.repo_id);
    let repos = req.hub().repos();
    let identity = &req.identity;
    match action {
        "visibility" => {
            let private = match form.require("visibility")? {
                "public" => false,
                "private" => true,
                other => return Err(WebError::bad_request(&format!("Unknown visibility '{other}'"))),
            };
            repos
                .update_settings(identity, &record, RepoSettings { private: Some(private), gating: None })
                .await?;
        }
        "gating" => {
            let gated = form.require("gated")?;
            let gating = Gating::parse(gated).ok_or_else(|| {
                WebError::bad_request(&format!("Unknown gating '{gated}' (off, auto or manual)"))
            })?;
            repos
                .update_settings(identity, &record, RepoSettings { private: None, gating: Some(gating) })
                .await?;
        }
        "access" => handle_access(req, &record, &form).await?,
        "move" => {
            let to = RepoId::parse(form.require("new_id")?).map_err(|e| WebError::bad_request(&e.0))?;
            repos.move_repo(identity, record.repo_type, &record.repo_id, &to).await?;
            return see_other(&format!("{}/settings", base_url(record.repo_type, &to)));
        }
        "delete" => {
            if form.get("confirm").map(str::trim) != Some(record.repo_id.to_string().as_str()) {
                return Err(WebError::bad_request(&format!(
                    "Type {} to confirm the deletion; nothing was deleted.",
                    record.repo_id
                )));
            }
            repos.delete_repo(identity, record.repo_type, &record.repo_id).await?;
            return see_other(&format!("/{}", format::segment(record.repo_id.namespace())));
        }
        "branch" => {
            let start = form.get("revision").map(str::trim).filter(|r| !r.is_empty());
            repos.create_branch(identity, &record, form.require("name")?, start).await?;
        }
        "tag" => {
            let revision = form.get("revision").map(str::trim).filter(|r| !r.is_empty()).unwrap_or("main");
            repos.create_tag(identity, &record, revision, form.require("name")?).await?;
        }
        "delete-branch" | "delete-tag" => {
            let name = form.require("name")?;
            let name = if action == "delete-branch" { RefName::branch(name) } else { RefName::tag(name) };
            let name = name.map_err(|e| WebError::bad_request(&e.0))?;
            repos.delete_ref(identity, &record, &name).await?;
        }
        _ => return Err(WebError::not_found()),
    }
    see_other(&format!("{base}/settings"))
}

async fn handle_access(req: &Req, record: &RepoRecord, form: &Form) -> WebResult<()> {
    let user = form.require("user")?.to_owned();
    let status = form.require("status")?;
    let status = AccessStatus::parse(status).ok_or_else(|| {
        WebError::bad_request(&format!("Unknown status '{status}' (pending, accepted or rejected)"))
    })?;
    let reason = form.get("reason").map(str::trim).filter(|r| !r.is_empty());
    req.hub()
        .accounts()
        .handle_access_request(
            Authority::Caller(&req.identity),
            record,
            RequestSelector::User(user),
            status,
            reason,
        )
        .await?;
    Ok(())
}
