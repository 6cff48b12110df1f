//! The read routes of repos kura does not host, answered by the pull-through mirror
//! (`kura_core::Mirror`) under the same URLs: repo info, tree pages, paths-info, `resolve` and
//! the Xet read token. Every URL in an answer names kura (pagination links, `xet-auth`, the CAS
//! URL); nothing of the upstream's headers passes through.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use kura_core::views::XetTokenView;
use kura_core::{CoreError, MirrorEntry, MirrorRepo};
use kura_model::{ObjectId, RepoId, RepoPath};

use super::{encode, json, next_link};
use crate::context::{Ctx, JSON_LIMIT};
use crate::error::{ApiError, ApiResult};
use crate::route::{RepoRef, Route};

/// The repo a route reads, when it is one the mirror may answer.
fn mirrored_repo(route: &Route, method: &Method) -> Option<RepoRef> {
    let read = *method == Method::GET || *method == Method::HEAD;
    match route {
        Route::RepoInfo { repo, .. } | Route::Tree { repo, .. } | Route::Resolve { repo, .. } if read => {
            Some(repo.clone())
        }
        Route::XetToken { repo, write: false, .. } if read => Some(repo.clone()),
        Route::PathsInfo { repo, .. } if *method == Method::POST => Some(repo.clone()),
        _ => None,
    }
}

/// Answers `route` from the mirror when the mirror answers for its repo; `None` otherwise.
pub(crate) async fn answer(ctx: &mut Ctx, route: &Route) -> Option<ApiResult> {
    if !ctx.state.hub.mirror_enabled() {
        return None;
    }
    let repo = mirrored_repo(route, &ctx.method)?;
    let repo_id = RepoId::new(&repo.namespace, &repo.name).ok()?;
    match ctx.state.hub.mirror().answers_for(repo.repo_type, &repo_id).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(error) => return Some(Err(error.into())),
    }
    Some(serve(ctx, route, &repo, &repo_id).await)
}

async fn serve(ctx: &mut Ctx, route: &Route, repo: &RepoRef, repo_id: &RepoId) -> ApiResult {
    let revision = match route {
        Route::RepoInfo { revision, .. } => revision.clone(),
        Route::Tree { revision, .. }
        | Route::Resolve { revision, .. }
        | Route::XetToken { revision, .. }
        | Route::PathsInfo { revision, .. } => Some(revision.clone()),
        _ => None,
    };
    // The caller's own upstream token: forwarded (mirror-only deployments), else stored.
    let own_token = match &ctx.upstream_token {
        Some(token) => Some(token.clone()),
        None => ctx.hub().mirror().own_token(&ctx.identity).await?,
    };
    let opened = ctx.hub().mirror().open(own_token, repo.repo_type, repo_id, revision.as_deref()).await;
    let (mirrored, commit) = match opened {
        Ok(opened) => opened,
        // A file's 404 names the commit when there is one; a repo's never does.
        Err(error) => return Err(error.into()),
    };
    match route {
        Route::RepoInfo { .. } => info(ctx, &mirrored, &commit).await,
        Route::Tree { revision, path, .. } => tree(ctx, &mirrored, &commit, revision, path.as_deref()).await,
        Route::PathsInfo { .. } => paths_info(ctx, &mirrored, &commit).await,
        Route::Resolve { path, .. } => resolve(ctx, repo, &mirrored, &commit, path).await,
        Route::XetToken { .. } => xet_token(ctx, &mirrored),
        _ => Err(ApiError::not_found()),
    }
}

async fn info(ctx: &Ctx, repo: &MirrorRepo, commit: &ObjectId) -> ApiResult {
    let expand: Vec<String> = ctx.params("expand").into_iter().map(str::to_owned).collect();
    if expand.len() > 64 {
        return Err(ApiError::bad_request("Too many expand properties"));
    }
    Ok(json(ctx.hub().mirror().info(repo, commit, &expand).await?))
}

async fn tree(
    ctx: &Ctx,
    repo: &MirrorRepo,
    commit: &ObjectId,
    revision: &str,
    path: Option<&str>,
) -> ApiResult {
    let dir = path.map(|p| p.trim_matches('/')).unwrap_or("");
    if !dir.is_empty() {
        RepoPath::parse(dir).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let (recursive, expand) = (ctx.flag("recursive"), ctx.flag("expand"));
    let cursor = ctx.param("cursor").filter(|c| !c.is_empty());
    let page = ctx.hub().mirror().tree_page(repo, commit, dir, recursive, expand, cursor).await?;
    let mut response = json(page.body);
    if let Some(next) = page.next_cursor {
        let suffix = if dir.is_empty() { String::new() } else { format!("/{}", encode(dir)) };
        let path = format!(
            "/api/{}/{}/tree/{}{suffix}",
            repo.repo_type().plural(),
            repo.repo_id(),
            encode(revision)
        );
        let link = next_link(ctx, &path, next);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    }
    Ok(response)
}

async fn paths_info(ctx: &mut Ctx, repo: &MirrorRepo, commit: &ObjectId) -> ApiResult {
    let body = ctx.body_bytes(JSON_LIMIT).await?;
    let (paths, expand) = super::entries::requested_paths(ctx, &body)?;
    Ok(json(ctx.hub().mirror().paths_info(repo, commit, &paths, expand).await?))
}

fn insert(headers: &mut axum::http::HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

async fn resolve(
    ctx: &Ctx,
    route_repo: &RepoRef,
    repo: &MirrorRepo,
    commit: &ObjectId,
    path: &str,
) -> ApiResult {
    let missing = || CoreError::EntryNotFound { path: path.to_owned(), commit: Some(*commit) };
    let file = match ctx.hub().mirror().entry(repo, commit, path).await {
        Ok(MirrorEntry::File(file)) => file,
        Ok(_) => return Err(missing().into()),
        Err(CoreError::EntryNotFound { .. }) => return Err(missing().into()),
        Err(error) => return Err(with_commit(error.into(), commit)),
    };
    let size = file.size;
    let range = match super::resolve::range_header(ctx).and_then(|r| r.map(|r| r.resolve(size)).transpose()) {
        Ok(range) => range,
        Err(_) => return Err(with_commit(CoreError::RangeNotSatisfiable { size }.into(), commit)),
    };
    let (offset, len) = range.map_or((0, size), |(a, b)| (a, b - a + 1));
    let etag = file.sha256.map_or_else(|| file.blob.to_hex(), |oid| oid.to_hex());
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    insert(headers, "x-repo-commit", &commit.to_hex());
    insert(headers, "etag", &format!("\"{etag}\""));
    insert(headers, "x-linked-etag", &format!("\"{etag}\""));
    insert(headers, "x-linked-size", &size.to_string());
    insert(headers, "accept-ranges", "bytes");
    insert(headers, "content-type", "application/octet-stream");
    insert(headers, "content-length", &len.to_string());
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    insert(
        headers,
        "content-disposition",
        &format!(
            "inline; filename*=UTF-8''{}; filename=\"{}\";",
            encode(name),
            name.replace(['"', '\\'], "_").escape_default()
        ),
    );
    // The upstream's Xet hash is kept: kura computes the same one when it ingests the file,
    // and a reconstruction asked for it before that fetches it first.
    let xet_hash = match ctx.hub().mirror().held_xet_hash(repo, &file).await? {
        Some(hash) => Some(hash),
        None => file.xet_hash.clone(),
    };
    if let Some(xet_hash) = xet_hash {
        let repo_id = repo.repo_id().to_string();
        super::xet::resolve_headers(
            ctx,
            route_repo,
            &repo_id,
            &commit.to_hex(),
            &xet_hash,
            response.headers_mut(),
        );
    }
    if let Some((a, b)) = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        insert(response.headers_mut(), "content-range", &format!("bytes {a}-{b}/{size}"));
    }
    if ctx.method == Method::HEAD || len == 0 {
        return Ok(response);
    }
    let stream = ctx
        .hub()
        .mirror()
        .read(repo, commit, &file, offset, len)
        .await
        .map_err(|e| with_commit(e.into(), commit))?;
    *response.body_mut() = Body::from_stream(stream);
    Ok(response)
}

/// Every `resolve` answer names the commit, errors included.
fn with_commit(mut error: ApiError, commit: &ObjectId) -> ApiError {
    if !error.headers.iter().any(|(name, _)| *name == "x-repo-commit") {
        error.headers.push(("x-repo-commit", commit.to_hex()));
    }
    error
}

fn xet_token(ctx: &Ctx, repo: &MirrorRepo) -> ApiResult {
    let (token, expires_at) =
        ctx.hub().xet().mirror_xet_token(&ctx.identity, repo, ctx.upstream_token.as_deref())?;
    let cas = super::xet::cas_url(ctx);
    let mut response =
        json(XetTokenView { access_token: token.clone(), cas_url: cas.clone(), exp: expires_at });
    let headers = response.headers_mut();
    insert(headers, "x-xet-access-token", &token);
    insert(headers, "x-xet-cas-url", &cas);
    insert(headers, "x-xet-token-expiration", &expires_at.to_string());
    Ok(response)
}

/// `GET /api/settings/upstream-token`: whether the caller stored one (never the token).
pub(crate) async fn get_upstream_token(ctx: &Ctx) -> ApiResult {
    let upstream = ctx.hub().mirror_upstream_url();
    let status = ctx.hub().mirror().external_token_status(&ctx.identity, upstream).await?;
    Ok(json(kura_core::views::UpstreamTokenView::new(&status)))
}

/// `PUT /api/settings/upstream-token` with `{"token": "..."}`.
pub(crate) async fn put_upstream_token(ctx: &mut Ctx) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        token: String,
    }
    let body = ctx.body_bytes(JSON_LIMIT).await?;
    let body: Body = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))?;
    ctx.hub().mirror().set_external_token(&ctx.identity, &body.token).await?;
    get_upstream_token(ctx).await
}

/// `DELETE /api/settings/upstream-token`.
pub(crate) async fn delete_upstream_token(ctx: &Ctx) -> ApiResult {
    if !ctx.hub().mirror().delete_external_token(&ctx.identity).await? {
        return Err(CoreError::NotFound("No upstream token is stored".to_owned()).into());
    }
    get_upstream_token(ctx).await
}
