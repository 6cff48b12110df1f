//! Repo management: create, delete, move, settings, branches and tags.

use kura_core::views::{EmptyView, RepoCreatedView, RepoUrlView};
use kura_core::{CoreError, Gating, RepoSettings};
use kura_model::{RefName, RepoId, RepoType};
use serde::Deserialize;
use serde_json::Value;

use super::json;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    name: String,
    organization: Option<String>,
    #[serde(rename = "type")]
    repo_type: Option<String>,
    private: Option<bool>,
    visibility: Option<String>,
    /// A Space's SDK (`gradio`, `docker`, `static`, `streamlit`).
    sdk: Option<String>,
}

fn repo_type_of(text: Option<&str>) -> ApiResult<RepoType> {
    match text {
        None => Ok(RepoType::Model),
        Some(t) => RepoType::from_singular(t)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid repo type '{t}'"))),
    }
}

fn private_of(private: Option<bool>, visibility: Option<&str>) -> ApiResult<Option<bool>> {
    match visibility {
        Some("private" | "protected") => Ok(Some(true)),
        Some("public") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(format!("Invalid visibility '{other}'"))),
        None => Ok(private),
    }
}

/// `namespace/name` from a body that may split it over `organization` and `name`.
fn body_repo_id(ctx: &Ctx, name: &str, organization: Option<&str>) -> ApiResult<RepoId> {
    let full = match (organization, name.contains('/')) {
        (Some(org), false) => format!("{org}/{name}"),
        (_, true) => name.to_owned(),
        (None, false) => match ctx.identity.principal() {
            Some(p) => format!("{}/{name}", p.user.name),
            None => {
                return Err(
                    CoreError::Unauthorized("You must be authenticated to create a repo".into()).into()
                );
            }
        },
    };
    RepoId::parse(&full).map_err(|e| ApiError::bad_request(e.0))
}

pub(crate) async fn create_repo(ctx: &mut Ctx) -> ApiResult {
    let body: CreateBody = ctx.json().await?;
    let repo_type = repo_type_of(body.repo_type.as_deref())?;
    let repo_id = body_repo_id(ctx, &body.name, body.organization.as_deref())?;
    let private = private_of(body.private, body.visibility.as_deref())?.unwrap_or(false);
    let url = ctx.repo_url(repo_type, &repo_id);
    match ctx
        .hub()
        .repos()
        .create_repo(&ctx.identity, repo_type, &repo_id, private, body.sdk.as_deref())
        .await
    {
        Ok(_) => Ok(json(RepoCreatedView { id: repo_id.to_string(), name: repo_id.to_string(), url })),
        Err(CoreError::Conflict { message, .. }) => {
            // The existing repo's own spelling when the caller may see it (ids match in any case).
            let url = match ctx.hub().repos().find_repo(&ctx.identity, repo_type, &repo_id).await {
                Ok(existing) => ctx.repo_url(repo_type, &existing.repo_id),
                Err(_) => url,
            };
            Err(CoreError::Conflict { message, url: Some(url) }.into())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct DeleteBody {
    name: String,
    organization: Option<String>,
    #[serde(rename = "type")]
    repo_type: Option<String>,
}

pub(crate) async fn delete_repo(ctx: &mut Ctx) -> ApiResult {
    let body: DeleteBody = ctx.json().await?;
    let repo_type = repo_type_of(body.repo_type.as_deref())?;
    let repo_id = body_repo_id(ctx, &body.name, body.organization.as_deref())?;
    ctx.hub().repos().delete_repo(&ctx.identity, repo_type, &repo_id).await?;
    Ok(json(EmptyView {}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoveBody {
    from_repo: String,
    to_repo: String,
    #[serde(rename = "type")]
    repo_type: Option<String>,
}

pub(crate) async fn move_repo(ctx: &mut Ctx) -> ApiResult {
    let body: MoveBody = ctx.json().await?;
    let repo_type = repo_type_of(body.repo_type.as_deref())?;
    let from = RepoId::parse(&body.from_repo).map_err(|e| ApiError::bad_request(e.0))?;
    let to = RepoId::parse(&body.to_repo).map_err(|e| ApiError::bad_request(e.0))?;
    ctx.hub().repos().move_repo(&ctx.identity, repo_type, &from, &to).await?;
    Ok(json(RepoUrlView { url: ctx.repo_url(repo_type, &to) }))
}

pub(crate) async fn update_settings(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: Value = ctx.json().await?;
    let gating = match &body["gated"] {
        Value::Null => None,
        Value::Bool(false) => Some(Gating::Off),
        Value::String(s) => Some(
            Gating::parse(s)
                .filter(|g| *g != Gating::Off)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid gated value '{s}'")))?,
        ),
        other => {
            return Err(ApiError::bad_request(format!("Invalid gated value {other}")));
        }
    };
    let private = private_of(body["private"].as_bool(), body["visibility"].as_str())?;
    let settings = RepoSettings { private, gating };
    ctx.hub().repos().update_settings(&ctx.identity, &record, settings).await?;
    Ok(json(EmptyView {}))
}

pub(crate) async fn create_branch(ctx: &mut Ctx, repo: &RepoRef, branch: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: Value = if ctx.headers.get("content-length").is_some_and(|v| v != "0") {
        ctx.json().await?
    } else {
        Value::Null
    };
    let start = body["startingPoint"].as_str();
    ctx.hub().repos().create_branch(&ctx.identity, &record, branch, start).await?;
    Ok(json(EmptyView {}))
}

pub(crate) async fn delete_branch(ctx: &mut Ctx, repo: &RepoRef, branch: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let name = RefName::branch(branch).map_err(|e| ApiError::bad_request(e.0))?;
    ctx.hub().repos().delete_ref(&ctx.identity, &record, &name).await?;
    Ok(json(EmptyView {}))
}

pub(crate) async fn create_tag(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: Value = ctx.json().await?;
    let tag = body["tag"].as_str().ok_or_else(|| ApiError::bad_request("Missing 'tag'"))?;
    ctx.hub().repos().create_tag(&ctx.identity, &record, revision, tag).await?;
    Ok(json(EmptyView {}))
}

pub(crate) async fn delete_tag(ctx: &mut Ctx, repo: &RepoRef, tag: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let name = RefName::tag(tag).map_err(|e| ApiError::bad_request(e.0))?;
    ctx.hub().repos().delete_ref(&ctx.identity, &record, &name).await?;
    Ok(json(EmptyView {}))
}
