//! Repo maintenance: super-squash, the repo's large objects (list, unlink, copy) and a
//! namespace's repos with their storage.

use axum::http::header;
use kura_core::views::{DuplicateResultView, EmptyView, LfsFileView, RepoStorageView};
use kura_core::{DuplicateFile, MAX_LFS_BATCH};
use kura_model::{RepoType, Sha256};
use serde::Deserialize;

use super::{json, next_link, page_limit};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Largest body of the batch calls: 1000 entries of a few hundred bytes each, with room.
const BATCH_BODY_LIMIT: usize = 1 << 20;

#[derive(Deserialize)]
struct SquashBody {
    #[serde(default)]
    message: String,
}

pub(crate) async fn super_squash(ctx: &mut Ctx, repo: &RepoRef, branch: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: SquashBody = ctx.json_limited(64 << 10).await?;
    ctx.hub().repos().super_squash(&ctx.identity, &record, branch, &body.message).await?;
    Ok(json(EmptyView {}))
}

/// Sets the `Link` header of a full page.
fn with_next(ctx: &Ctx, mut response: axum::response::Response, path: &str, cursor: &str) -> ApiResult {
    let link = next_link(ctx, path, cursor);
    response.headers_mut().insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    Ok(response)
}

pub(crate) async fn list_lfs_files(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let limit = page_limit(ctx)?;
    let after = match ctx.param("cursor") {
        Some(c) => Some(Sha256::from_hex(c).map_err(|_| ApiError::bad_request("Invalid cursor"))?),
        None => None,
    };
    let files = ctx.hub().files().lfs_files(&ctx.identity, &record, after.as_ref(), limit).await?;
    let views: Vec<LfsFileView> = files.iter().map(LfsFileView::new).collect();
    let last = files.last().map(|f| f.oid.to_hex());
    let response = json(views);
    match last {
        Some(last) if files.len() == limit => {
            let path = format!("/api/{}/{}/lfs-files", repo.repo_type.plural(), record.repo_id);
            with_next(ctx, response, &path, &last)
        }
        _ => Ok(response),
    }
}

#[derive(Deserialize)]
struct DeleteBody {
    deletions: Deletions,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Deletions {
    sha: Vec<String>,
    #[serde(default)]
    rewrite_history: bool,
}

pub(crate) async fn delete_lfs_files(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: DeleteBody = ctx.json_limited(BATCH_BODY_LIMIT).await?;
    let deletions = body.deletions;
    ctx.hub()
        .files()
        .delete_lfs_files(&ctx.identity, &record, &deletions.sha, deletions.rewrite_history)
        .await?;
    Ok(json(EmptyView {}))
}

#[derive(Deserialize)]
struct DuplicateBody {
    target: Target,
    files: Vec<DuplicateEntry>,
}

#[derive(Deserialize)]
struct Target {
    #[serde(rename = "type")]
    repo_type: Option<String>,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DuplicateEntry {
    sha256: String,
    xet_hash: Option<String>,
}

pub(crate) async fn duplicate_lfs_files(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let source = ctx.find_repo(repo).await?;
    let body: DuplicateBody = ctx.json_limited(BATCH_BODY_LIMIT).await?;
    if body.files.len() > MAX_LFS_BATCH {
        return Err(ApiError::bad_request(format!("At most {MAX_LFS_BATCH} files per call")));
    }
    let repo_type = match body.target.repo_type.as_deref() {
        None => RepoType::Model,
        Some(text) => RepoType::from_singular(text)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid target type '{text}'")))?,
    };
    let (namespace, name) = body
        .target
        .name
        .split_once('/')
        .ok_or_else(|| ApiError::bad_request("The target name must be namespace/name"))?;
    let target_ref = RepoRef { repo_type, namespace: namespace.to_owned(), name: name.to_owned() };
    let target = ctx.find_repo(&target_ref).await?;
    let files: Vec<DuplicateFile> =
        body.files.into_iter().map(|f| DuplicateFile { sha256: f.sha256, xet_hash: f.xet_hash }).collect();
    let failed = ctx.hub().files().duplicate_lfs_files(&ctx.identity, &source, &target, &files).await?;
    Ok(json(DuplicateResultView::new(&failed)))
}

/// `{type index}:{offset}`, the cursor of `namespace_repos`.
fn storage_cursor(text: Option<&str>) -> ApiResult<(usize, u64)> {
    let Some(text) = text else { return Ok((0, 0)) };
    let invalid = || ApiError::bad_request("Invalid cursor");
    let (index, offset) = text.split_once(':').ok_or_else(invalid)?;
    Ok((index.parse().map_err(|_| invalid())?, offset.parse().map_err(|_| invalid())?))
}

pub(crate) async fn repo_storage(ctx: &mut Ctx, org: Option<&str>) -> ApiResult {
    let limit = page_limit(ctx)?;
    let cursor = storage_cursor(ctx.param("cursor"))?;
    let (repos, next) = ctx.hub().repos().namespace_repos(&ctx.identity, org, cursor, limit).await?;
    let mut views = Vec::with_capacity(repos.len());
    for repo in &repos {
        views.push(RepoStorageView::new(repo, ctx.hub().files().used_storage(repo).await?));
    }
    let response = json(views);
    match next {
        Some((index, offset)) => {
            let path = match org {
                Some(org) => format!("/api/organizations/{}/settings/repositories", super::encode(org)),
                None => "/api/settings/repositories".to_owned(),
            };
            with_next(ctx, response, &path, &format!("{index}:{offset}"))
        }
        None => Ok(response),
    }
}
