//! Likes: `POST|DELETE /api/{type}s/{repo}/like`, `GET …/likers`, `GET /api/users/{user}/likes`,
//! each listing 100 per page with a `Link` to the next.

use axum::http::header;
use kura_core::views::{LikerView, UserLikeView};

use super::{cursor, json, next_link};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// The page a `cursor` names (the listings are paged by the core, 100 at a time).
fn page(ctx: &Ctx) -> ApiResult<u64> {
    Ok(cursor(ctx)? as u64)
}

fn with_next(ctx: &Ctx, body: axum::response::Response, more: bool, path: &str, page: u64) -> ApiResult {
    let mut response = body;
    if more {
        let link = next_link(ctx, path, page + 1);
        let value = link.parse().map_err(|_| ApiError::bad_request("bad link"))?;
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// `POST` (like) or `DELETE` (unlike) `/api/{type}s/{repo}/like`.
pub(crate) async fn like(ctx: &mut Ctx, repo: &RepoRef, like: bool) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    ctx.hub().repos().set_like(&ctx.identity, &record, like, ctx.client_ip).await?;
    Ok(json(serde_json::json!({})))
}

/// `GET /api/{type}s/{repo}/likers`.
pub(crate) async fn likers(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let page = page(ctx)?;
    let (likers, more) = ctx.hub().repos().likers(&ctx.identity, &record, page).await?;
    let body = json(likers.iter().map(LikerView::new).collect::<Vec<_>>());
    let path = format!("/api/{}/{}/likers", record.repo_type.plural(), record.repo_id);
    with_next(ctx, body, more, &path, page)
}

/// `GET /api/users/{user}/likes`.
pub(crate) async fn user_likes(ctx: &mut Ctx, user: &str) -> ApiResult {
    let page = page(ctx)?;
    let (liked, more) = ctx.hub().repos().liked_by(&ctx.identity, user, page).await?;
    let body = json(liked.iter().map(UserLikeView::new).collect::<Vec<_>>());
    with_next(ctx, body, more, &format!("/api/users/{}/likes", super::encode(user)), page)
}
