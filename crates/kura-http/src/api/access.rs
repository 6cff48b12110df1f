//! Gated access: kura's `ask-access` endpoint, the Hub's `user-access-request` endpoints for
//! repo managers, and the admin audit log.

use axum::response::Response;
use kura_core::views::{AccessRequestView, AskAccessView, AuditEntryView};
use kura_core::{AccessStatus, Authority, RequestSelector};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{cursor, json, page, page_limit};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Room for `fields` (bounded again, serialized, by the core) plus some whitespace.
const ASK_BODY_LIMIT: usize = 64 * 1024;

#[derive(Deserialize)]
struct AskBody {
    fields: Option<Map<String, Value>>,
}

/// `POST /api/{type}s/{repo}/ask-access` (kura-specific): `{"fields"?: {...}}`.
pub(crate) async fn ask_access(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    // The body is optional (clients may send none, or a chunked one).
    let bytes = ctx.body_bytes(ASK_BODY_LIMIT).await?;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        AskBody { fields: None }
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))?
    };
    let request = ctx.hub().accounts().ask_access(&ctx.identity, &record, body.fields).await?;
    Ok(json(AskAccessView::new(&request)))
}

/// `GET /api/{type}s/{repo}/user-access-request/{pending|accepted|rejected}`.
pub(crate) async fn list_access_requests(ctx: &mut Ctx, repo: &RepoRef, status: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let status = AccessStatus::parse(status).ok_or_else(|| {
        ApiError::bad_request(format!("Invalid status '{status}' (pending, accepted or rejected)"))
    })?;
    let (offset, limit) = (cursor(ctx)?, page_limit(ctx)?);
    let requests = ctx
        .hub()
        .accounts()
        .list_access_requests(Authority::Caller(&ctx.identity), &record, status, offset as u64, limit as u64)
        .await?;
    let path = format!(
        "/api/{}/{}/user-access-request/{}",
        repo.repo_type.plural(),
        record.repo_id,
        status.as_str()
    );
    page(ctx, &path, requests.iter().map(AccessRequestView::new).collect(), offset, limit)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandleBody {
    user: Option<String>,
    request_id: Option<String>,
    status: String,
    rejection_reason: Option<String>,
}

#[derive(Deserialize)]
struct GrantBody {
    user: String,
}

/// `POST …/user-access-request/handle` and `POST …/user-access-request/grant`.
pub(crate) async fn change_access_request(
    ctx: &mut Ctx,
    repo: &RepoRef,
    action: &str,
) -> ApiResult<Response> {
    let record = ctx.find_repo(repo).await?;
    let changed = match action {
        "handle" => {
            let body: HandleBody = ctx.json().await?;
            let selector = match (body.user, body.request_id) {
                (Some(user), None) => RequestSelector::User(user),
                (None, Some(id)) => RequestSelector::Id(id),
                _ => return Err(ApiError::bad_request("Give exactly one of 'user' and 'requestId'")),
            };
            let status = AccessStatus::parse(&body.status).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid status '{}' (pending, accepted or rejected)",
                    body.status
                ))
            })?;
            let reason = body.rejection_reason.as_deref();
            ctx.hub()
                .accounts()
                .handle_access_request(Authority::Caller(&ctx.identity), &record, selector, status, reason)
                .await
        }
        "grant" => {
            let body: GrantBody = ctx.json().await?;
            ctx.hub().accounts().grant_access(Authority::Caller(&ctx.identity), &record, &body.user).await
        }
        _ => return Err(ApiError::not_found()),
    };
    Ok(json(AccessRequestView::new(&changed?)))
}

/// `GET /api/admin/audit-log` (server admins): newest first, paginated.
pub(crate) async fn list_audit_log(ctx: &mut Ctx) -> ApiResult {
    let (offset, limit) = (cursor(ctx)?, page_limit(ctx)?);
    let entries =
        ctx.hub().accounts().audit_log(Authority::Caller(&ctx.identity), offset as u64, limit as u64).await?;
    let items: Vec<AuditEntryView> = entries.iter().map(AuditEntryView::new).collect();
    page(ctx, "/api/admin/audit-log", items, offset, limit)
}
