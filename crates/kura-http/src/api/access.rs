//! Gated access: kura's `ask-access` endpoint, the Hub's `user-access-request` endpoints for
//! repo managers, and the admin audit log.

use axum::response::Response;
use kura_core::{AccessRequestRecord, AccessStatus, Authority, RequestSelector, request_id};
use kura_model::format_timestamp;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{cursor, json, page, page_limit};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Room for `fields` (bounded again, serialized, by the core) plus some whitespace.
const ASK_BODY_LIMIT: usize = 64 * 1024;

/// A request as the Hub lists it (`user.user` is what the client reads as the username).
fn request_json(record: &AccessRequestRecord) -> Value {
    let mut item = json!({
        "user": {"user": record.user_name, "fullname": record.user_name},
        "requestId": request_id(record),
        "status": record.status.as_str(),
        "timestamp": format_timestamp(record.created_at),
    });
    if let Some(fields) = record.fields.as_deref().and_then(|f| serde_json::from_str::<Value>(f).ok()) {
        item["fields"] = fields;
    }
    if let Some(reason) = &record.rejection_reason {
        item["rejectionReason"] = json!(reason);
    }
    item
}

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
    let request = ctx
        .hub()
        .accounts()
        .ask_access(&ctx.identity, &record, body.fields)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(json(json!({"requestId": request_id(&request), "status": request.status.as_str()})))
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
        .await
        .map_err(|e| ctx.fail(e))?;
    let path = format!(
        "/api/{}/{}/user-access-request/{}",
        repo.repo_type.plural(),
        record.repo_id,
        status.as_str()
    );
    page(ctx, &path, requests.iter().map(request_json).collect(), offset, limit)
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
    let changed = changed.map_err(|e| ctx.fail(e))?;
    Ok(json(request_json(&changed)))
}

/// `GET /api/admin/audit-log` (server admins): newest first, paginated.
pub(crate) async fn list_audit_log(ctx: &mut Ctx) -> ApiResult {
    let (offset, limit) = (cursor(ctx)?, page_limit(ctx)?);
    let entries = ctx
        .hub()
        .accounts()
        .audit_log(Authority::Caller(&ctx.identity), offset as u64, limit as u64)
        .await
        .map_err(|e| ctx.fail(e))?;
    let items = entries
        .iter()
        .map(|record| {
            let details = serde_json::from_str::<Value>(&record.entry.details).unwrap_or(Value::Null);
            json!({
                "id": record.id,
                "time": format_timestamp(record.entry.at),
                "actor": record.entry.actor,
                "action": record.entry.action,
                "target": record.entry.target,
                "details": details,
            })
        })
        .collect();
    page(ctx, "/api/admin/audit-log", items, offset, limit)
}
