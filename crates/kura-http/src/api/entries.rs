//! Tree listings and paths-info.

use axum::http::header;
use kura_core::views::{LastCommitView, TreeEntryView};
use kura_core::{CoreError, Entry};
use kura_model::{ObjectId, RepoPath};
use serde_json::Value;

use super::next_link;
use crate::context::{Ctx, JSON_LIMIT, query_pairs};
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Tree entries with `xetHash` on Xet-stored files and, when `expand` is given, `lastCommit`
/// (attributed against `commit`) and `securityFileStatus`.
async fn entry_views<'a>(
    ctx: &Ctx,
    record: &kura_core::RepoRecord,
    entries: impl Iterator<Item = &'a Entry>,
    expand: Option<ObjectId>,
) -> ApiResult<Vec<TreeEntryView>> {
    let entries: Vec<&Entry> = entries.collect();
    let last = match expand {
        Some(commit) => {
            let paths: Vec<String> = entries.iter().map(|e| e.path().to_owned()).collect();
            ctx.hub().repos().last_commits(commit, &paths).await?
        }
        None => Default::default(),
    };
    let security = match expand {
        Some(commit) => ctx.hub().index().file_statuses(record, &commit, &entries).await?,
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(entries.len());
    for (at, entry) in entries.into_iter().enumerate() {
        let mut view = TreeEntryView::new(entry);
        view.last_commit = last.get(entry.path()).map(LastCommitView::from);
        view.security_file_status = security.get(at).cloned().flatten();
        if let Entry::File { info: kura_core::BlobInfo { lfs: Some(lfs), .. }, .. } = entry {
            view.xet_hash = ctx.hub().files().xet_hash_in(record, &lfs.oid).await?;
        }
        out.push(view);
    }
    Ok(out)
}

pub(crate) async fn list_repo_tree(
    ctx: &mut Ctx,
    repo: &RepoRef,
    revision: &str,
    path: Option<String>,
) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let resolved = ctx.hub().repos().resolve_revision(&record, revision).await?;
    let dir = match path.as_deref().map(|p| p.trim_matches('/')).filter(|p| !p.is_empty()) {
        Some(p) => Some(RepoPath::parse(p).map_err(|e| ApiError::bad_request(e.to_string()))?),
        None => None,
    };
    let root = ctx.hub().repos().commit_tree(&resolved.commit).await?;
    // The cursor is the path of the last entry of the previous page: each page reads only its
    // own entries, however large the tree.
    let after = ctx.param("cursor").filter(|c| !c.is_empty()).map(str::to_owned);
    let limit = usize::try_from(ctx.hub().config().limits.tree_page_entries).unwrap_or(usize::MAX).max(1);
    let page = ctx
        .hub()
        .repos()
        .list_page(root, dir.as_ref(), ctx.flag("recursive"), after.as_deref(), limit)
        .await
        .map_err(|e| match e {
            CoreError::EntryNotFound { path, .. } => {
                CoreError::EntryNotFound { path, commit: Some(resolved.commit) }
            }
            other => other,
        })?;
    let expand = ctx.flag("expand").then_some(resolved.commit);
    let items = entry_views(ctx, &record, page.entries.iter(), expand).await?;
    let mut response = super::json(items);
    if let Some(next) = page.next {
        let path = format!(
            "/api/{}/{}/tree/{}{}",
            repo.repo_type.plural(),
            record.repo_id,
            super::encode(revision),
            dir.map(|d| format!("/{}", super::encode(d.as_str()))).unwrap_or_default()
        );
        let link = next_link(ctx, &path, next);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    }
    Ok(response)
}

/// Paths from a form body (`paths=a&paths=b`) or a JSON one (`{"paths": [...]}`).
pub(super) fn requested_paths(ctx: &Ctx, body: &[u8]) -> ApiResult<(Vec<String>, bool)> {
    let is_json = ctx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let expand;
    let paths: Vec<String> = if is_json {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))?;
        expand = value["expand"].as_bool().unwrap_or(false);
        value["paths"]
            .as_array()
            .ok_or_else(|| ApiError::bad_request("'paths' must be a list"))?
            .iter()
            .map(|p| {
                p.as_str().map(str::to_owned).ok_or_else(|| ApiError::bad_request("'paths' must be strings"))
            })
            .collect::<ApiResult<_>>()?
    } else {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("Body is not UTF-8"))?;
        let pairs = query_pairs(text);
        expand = pairs.iter().any(|(k, v)| k == "expand" && (v.eq_ignore_ascii_case("true") || v == "1"));
        pairs.into_iter().filter(|(k, _)| k == "paths" || k == "paths[]").map(|(_, v)| v).collect()
    };
    if paths.len() > 1000 {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "At most 1000 paths per request",
        ));
    }
    Ok((paths, expand))
}

pub(crate) async fn get_paths_info(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body = ctx.body_bytes(JSON_LIMIT).await?;
    let (paths, expand) = requested_paths(ctx, &body)?;
    let resolved = ctx.hub().repos().resolve_revision(&record, revision).await?;
    let root = ctx.hub().repos().commit_tree(&resolved.commit).await?;
    let mut found = Vec::new();
    for path in paths {
        let Ok(path) = RepoPath::parse(path.trim_matches('/')) else { continue };
        if let Some(entry) = ctx.hub().repos().lookup(root, &path).await? {
            found.push(entry);
        }
    }
    Ok(super::json(entry_views(ctx, &record, found.iter(), expand.then_some(resolved.commit)).await?))
}
