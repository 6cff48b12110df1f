//! Access tokens over HTTP: `GET`/`POST /api/settings/tokens`, `DELETE
//! /api/settings/tokens/{id}`. Scopes travel in the Hub's `fineGrained` shape
//! (`scoped[].entity` + `permissions`, `global`; `TokenView` shows them).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use kura_core::views::{EmptyView, TokenView};
use kura_core::{Authority, CoreError, TokenSpec};
use kura_model::{RepoType, Role, ScopeTarget, TokenScope, parse_timestamp};
use serde::Deserialize;

use super::json;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenBody {
    name: String,
    role: String,
    expires_at: Option<String>,
    fine_grained: Option<FineGrainedBody>,
}

#[derive(Deserialize)]
struct FineGrainedBody {
    #[serde(default)]
    scoped: Vec<ScopedBody>,
    #[serde(default)]
    global: Vec<String>,
}

#[derive(Deserialize)]
struct ScopedBody {
    entity: EntityBody,
    permissions: Vec<String>,
}

#[derive(Deserialize)]
struct EntityBody {
    #[serde(rename = "type")]
    kind: String,
    name: String,
}

fn scopes_of(body: FineGrainedBody) -> ApiResult<Vec<TokenScope>> {
    let bad = |e: kura_model::ScopeError| ApiError::bad_request(e.0);
    let mut scopes = Vec::with_capacity(body.scoped.len() + 1);
    for scoped in body.scoped {
        let target = match scoped.entity.kind.as_str() {
            "user" | "org" => ScopeTarget::parse(&scoped.entity.name).map_err(bad)?,
            kind if RepoType::from_singular(kind).is_some() => {
                ScopeTarget::parse(&format!("{kind}:{}", scoped.entity.name)).map_err(bad)?
            }
            _ => {
                return Err(ApiError::bad_request(
                    "A scope entity type must be model, dataset, space, user or org",
                ));
            }
        };
        if matches!(target, ScopeTarget::Global) {
            return Err(ApiError::bad_request("Use `global` for permissions on every repo"));
        }
        let permissions: Vec<&str> = scoped.permissions.iter().map(String::as_str).collect();
        scopes.push(TokenScope::new(target, &permissions).map_err(bad)?);
    }
    if !body.global.is_empty() {
        let permissions: Vec<&str> = body.global.iter().map(String::as_str).collect();
        scopes.push(TokenScope::new(ScopeTarget::Global, &permissions).map_err(bad)?);
    }
    Ok(scopes)
}

fn caller_name(ctx: &Ctx) -> ApiResult<String> {
    match ctx.identity.principal() {
        Some(principal) => Ok(principal.user.name.clone()),
        None => Err(CoreError::Unauthorized("You must be authenticated to manage tokens".to_owned()).into()),
    }
}

/// `GET /api/settings/tokens[?user=NAME]`: the caller's tokens; server admins may name
/// another user.
pub(crate) async fn list_tokens(ctx: &mut Ctx) -> ApiResult {
    let caller = caller_name(ctx)?;
    let user = ctx.param("user").map_or(caller, str::to_owned);
    let tokens = ctx.hub().accounts().list_tokens(Authority::Caller(&ctx.identity), &user).await?;
    Ok(json(tokens.iter().map(|t| TokenView::new(&user, t)).collect::<Vec<_>>()))
}

pub(crate) async fn create_token(ctx: &mut Ctx) -> ApiResult {
    let user = caller_name(ctx)?;
    let body: CreateTokenBody = ctx.json().await?;
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::bad_request("`role` must be read, write or fineGrained"))?;
    let expires_at = match &body.expires_at {
        Some(text) => Some(parse_timestamp(text).ok_or_else(|| {
            ApiError::bad_request("`expiresAt` must be a UTC date like 2030-01-31T00:00:00.000Z")
        })?),
        None => None,
    };
    let scopes = body.fine_grained.map(scopes_of).transpose()?.unwrap_or_default();
    let spec = TokenSpec { name: body.name, role, expires_at, scopes };
    let issued = ctx.hub().accounts().issue_token(Authority::Caller(&ctx.identity), &user, spec).await?;
    let view = TokenView { token: Some(issued.secret), ..TokenView::new(&user, &issued.record) };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

pub(crate) async fn revoke_token(ctx: &mut Ctx, id: &str) -> ApiResult {
    caller_name(ctx)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "Token not found"));
    };
    ctx.hub().accounts().revoke_token(Authority::Caller(&ctx.identity), id).await?;
    Ok(json(EmptyView {}))
}
