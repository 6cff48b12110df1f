//! Organization members: the Hub's listing and role change, plus kura's add and remove.

use axum::response::Response;
use kura_core::views::{EmptyView, MemberRoleView, MemberView};
use kura_core::{Authority, MemberChange, OrgRole};
use serde::Deserialize;

use super::{cursor, json, page, page_limit};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
struct AddBody {
    user: String,
    role: Option<String>,
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

fn role_of(text: &str) -> ApiResult<OrgRole> {
    OrgRole::parse(text)
        .ok_or_else(|| ApiError::bad_request("`role` must be read, contributor, write or admin"))
}

/// `GET /api/organizations/{org}/members` (paginated): `[{"user", "fullname", "type", "role"}]`.
pub(crate) async fn list_members(ctx: &mut Ctx, org: &str) -> ApiResult<Response> {
    let (offset, limit) = (cursor(ctx)?, page_limit(ctx)?);
    let members = ctx.hub().accounts().org_members(Authority::Caller(&ctx.identity), org).await?;
    let items = members
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(user, role)| MemberView::new(&user.name, *role))
        .collect::<Vec<_>>();
    page(ctx, &format!("/api/organizations/{org}/members"), items, offset, limit)
}

/// `POST /api/organizations/{org}/members` `{"user", "role"?}` (kura): adds a member (role
/// `read` unless given) or changes the role of an existing one.
pub(crate) async fn add_member(ctx: &mut Ctx, org: &str) -> ApiResult<Response> {
    let body: AddBody = ctx.json().await?;
    let role = role_of(body.role.as_deref().unwrap_or("read"))?;
    let authority = Authority::Caller(&ctx.identity);
    ctx.hub().accounts().put_org_member(authority, org, &body.user, role, MemberChange::Upsert).await?;
    Ok(json(MemberRoleView::new(&body.user, role)))
}

/// `PUT /api/organizations/{org}/members/{user}/role` `{"role"}`: as on the Hub, the user must
/// already be a member.
pub(crate) async fn set_role(ctx: &mut Ctx, org: &str, user: &str) -> ApiResult<Response> {
    let body: RoleBody = ctx.json().await?;
    let role = role_of(&body.role)?;
    let authority = Authority::Caller(&ctx.identity);
    ctx.hub().accounts().put_org_member(authority, org, user, role, MemberChange::RoleOnly).await?;
    Ok(json(MemberRoleView::new(user, role)))
}

/// `DELETE /api/organizations/{org}/members/{user}` (kura).
pub(crate) async fn remove_member(ctx: &mut Ctx, org: &str, user: &str) -> ApiResult<Response> {
    ctx.hub().accounts().remove_org_member(Authority::Caller(&ctx.identity), org, user).await?;
    Ok(json(EmptyView {}))
}
