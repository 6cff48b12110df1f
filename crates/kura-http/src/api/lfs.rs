//! Git LFS: the batch API and the signed transfer URLs it hands out.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::views::{
    BatchObjectView, BatchRequest, BatchRequestObject, BatchResponseView, EmptyView, LfsMessageView,
};
use kura_core::{Action, CoreError, UploadPlan};
use kura_model::Sha256;
use serde::{Deserialize, Serialize};

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

const LFS_JSON: &str = "application/vnd.git-lfs+json";

/// Most objects accepted in one batch request.
const MAX_BATCH: usize = 1000;

fn lfs_response(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(LFS_JSON));
    response
}

/// A whole-batch refusal.
fn refusal(status: StatusCode, message: String) -> ApiResult {
    Ok(lfs_response(status, LfsMessageView { message }))
}

/// The URL of a signed transfer token.
fn transfer_url(ctx: &Ctx, token: &str) -> String {
    format!("{}/_kura/lfs/{token}", ctx.state.public_url)
}

/// One answer per requested object: invalid oids get their error, the others take the next
/// of `plans` (the core makes one per valid object, in order).
fn answer_each<P>(
    objects: &[BatchRequestObject],
    plans: Vec<P>,
    mut answer: impl FnMut(&BatchRequestObject, P) -> BatchObjectView,
) -> Vec<BatchObjectView> {
    let mut plans = plans.into_iter();
    objects
        .iter()
        .map(|object| match Sha256::from_hex(&object.oid).ok().and_then(|_| plans.next()) {
            Some(plan) => answer(object, plan),
            None => BatchObjectView::invalid(&object.oid, object.size),
        })
        .collect()
}

pub(crate) async fn batch(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: BatchRequest = ctx.json().await?;
    if body.objects.len() > MAX_BATCH {
        return refusal(StatusCode::PAYLOAD_TOO_LARGE, format!("At most {MAX_BATCH} objects per batch"));
    }
    let mut valid = Vec::new();
    for object in &body.objects {
        if let Ok(oid) = Sha256::from_hex(&object.oid) {
            valid.push((oid, object.size));
        }
    }
    let pull = body.for_pull_request();
    match body.operation.as_str() {
        "upload" if body.offers("xet") => {
            return xet_batch(ctx, &record, &body, &valid).await;
        }
        "upload" => {}
        "download" => return download_batch(ctx, &record, &body.objects, &valid).await,
        other => return refusal(StatusCode::UNPROCESSABLE_ENTITY, format!("Unknown operation '{other}'")),
    }
    let plans = ctx
        .hub()
        .files()
        .plan_uploads(&ctx.identity, &record, &valid, body.offers("multipart"), pull)
        .await?;
    let objects = answer_each(&body.objects, plans, |object, plan| {
        BatchObjectView::upload(&object.oid, object.size, plan, |token| transfer_url(ctx, token))
    });
    Ok(lfs_response(StatusCode::OK, BatchResponseView::new("basic", objects)))
}

/// Uploads negotiated to Xet (clients that offer `xet`, e.g. huggingface_hub 0.36–1.19,
/// huggingface.js, git-xet): objects the repo lacks get the token refresh URL and the CAS
/// credentials as their upload action.
async fn xet_batch(
    ctx: &Ctx,
    record: &kura_core::RepoRecord,
    body: &BatchRequest,
    valid: &[(Sha256, u64)],
) -> ApiResult {
    let pull = body.for_pull_request();
    let plans = ctx.hub().files().plan_uploads(&ctx.identity, record, valid, false, pull).await?;
    let (token, expires_at) = ctx.hub().xet().xet_token(&ctx.identity, record, true, pull).await?;
    // The refresh asks for the same kind of token: a pull request's keeps `create_pr`.
    let refresh = format!(
        "{}/api/{}/{}/xet-write-token/main{}",
        ctx.state.public_url,
        record.repo_type.plural(),
        record.repo_id,
        if pull { "?create_pr=1" } else { "" }
    );
    let header = BTreeMap::from([
        ("X-Xet-Access-Token".to_owned(), token),
        ("X-Xet-Cas-Url".to_owned(), super::xet::cas_url(ctx)),
        ("X-Xet-Token-Expiration".to_owned(), expires_at.to_string()),
    ]);
    let out = answer_each(&body.objects, plans, |object, plan: UploadPlan| {
        BatchObjectView::xet_upload(&object.oid, object.size, plan, &refresh, &header)
    });
    Ok(lfs_response(StatusCode::OK, BatchResponseView::new("xet", out)))
}

async fn download_batch(
    ctx: &Ctx,
    record: &kura_core::RepoRecord,
    objects: &[BatchRequestObject],
    valid: &[(Sha256, u64)],
) -> ApiResult {
    let plans = ctx.hub().files().plan_downloads(&ctx.identity, record, valid).await?;
    let out = answer_each(objects, plans, |object, plan| {
        BatchObjectView::download(&object.oid, object.size, plan, |token| transfer_url(ctx, token))
    });
    Ok(lfs_response(StatusCode::OK, BatchResponseView::new("basic", out)))
}

#[derive(Deserialize)]
struct VerifyBody {
    oid: String,
    size: u64,
}

/// Signed transfer URLs: whole-object PUT, part PUT, multipart completion, verify.
pub(crate) async fn transfer(ctx: &mut Ctx, token: &str) -> ApiResult {
    let capability = ctx.hub().files().check(token)?;
    let ok = || lfs_response(StatusCode::OK, EmptyView {});
    match (&ctx.method, &capability.action) {
        (&Method::PUT, Action::Put) => {
            let body = ctx.body_stream();
            ctx.hub().files().receive_object(&capability, body).await?;
            Ok(ok())
        }
        (&Method::PUT, Action::Part { .. }) => {
            let body = ctx.body_stream();
            let etag = ctx.hub().files().receive_part(&capability, body).await?;
            let mut response = ok();
            response.headers_mut().insert(
                header::ETAG,
                HeaderValue::from_str(&etag).map_err(|_| ApiError::bad_request("bad etag"))?,
            );
            Ok(response)
        }
        (&Method::POST, Action::Complete { .. }) => {
            let _ = ctx.body_bytes(crate::context::JSON_LIMIT).await?;
            ctx.hub().files().complete_upload(&capability).await?;
            Ok(ok())
        }
        (&Method::GET, Action::Download) => {
            let size = capability.size;
            let range =
                super::resolve::range_header(ctx).map_err(|_| CoreError::RangeNotSatisfiable { size })?;
            let (span, stream) = ctx.state.hub.files().send_object(&capability, range).await?;
            let mut response = Response::new(axum::body::Body::from_stream(stream));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            match span {
                None => {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
                }
                Some((first, last)) => {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(last - first + 1));
                    let value = HeaderValue::from_str(&format!("bytes {first}-{last}/{size}"))
                        .map_err(|_| ApiError::bad_request("bad range"))?;
                    headers.insert(header::CONTENT_RANGE, value);
                    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                }
            }
            Ok(response)
        }
        (&Method::POST, Action::Verify) => {
            let body: VerifyBody = ctx.json().await?;
            let oid = Sha256::from_hex(&body.oid).map_err(|e| ApiError::bad_request(e.to_string()))?;
            ctx.hub().files().verify_object(&capability, oid, body.size).await?;
            Ok(ok())
        }
        _ => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "This URL does not allow that method")),
    }
}
