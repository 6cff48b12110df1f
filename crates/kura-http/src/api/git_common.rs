//! What the git smart HTTP modules share (fetch in `git`, push in `git_push`): finding the
//! repo with git's credential challenge, and the response shape.
//! A leaf: it imports none of them.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use kura_core::{CoreError, RepoRecord};

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Finds the repo for git; hidden repos ask anonymous callers for credentials.
pub(super) async fn git_repo(ctx: &Ctx, repo: &RepoRef) -> ApiResult<RepoRecord> {
    let found = match ctx.repo_id(repo) {
        Ok(id) => ctx.hub().repos().find_repo(&ctx.identity, repo.repo_type, &id).await,
        Err(error) => return Err(error),
    };
    let record = found.map_err(|e| challenge(ctx, e))?;
    ctx.hub().accounts().authorize_files(&ctx.identity, &record).await.map_err(|e| challenge(ctx, e))?;
    Ok(record)
}

/// 401 with `WWW-Authenticate: Basic` for anonymous callers so credential helpers kick in.
pub(super) fn challenge(ctx: &Ctx, error: CoreError) -> ApiError {
    let mut api_error = ApiError::from(error).for_caller(ctx.anonymous());
    if ctx.anonymous() {
        api_error.status = StatusCode::UNAUTHORIZED;
        api_error.headers.push(("www-authenticate", "Basic realm=\"kura\"".to_owned()));
    }
    api_error
}

pub(super) fn git_response(content_type: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
