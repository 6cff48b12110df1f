//! Git LFS: the batch API and the signed transfer URLs it hands out.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::{Action, CoreError, DownloadPlan, UploadPlan};
use kura_model::Sha256;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

const LFS_JSON: &str = "application/vnd.git-lfs+json";

/// Most objects accepted in one batch request.
const MAX_BATCH: usize = 1000;

#[derive(Deserialize)]
struct BatchObject {
    oid: String,
    size: u64,
}

#[derive(Deserialize)]
struct BatchBody {
    operation: String,
    objects: Vec<BatchObject>,
    #[serde(default)]
    transfers: Vec<String>,
}

/// The per-object error for an oid that is not a SHA-256 hex digest.
fn invalid_object(object: &BatchObject) -> Value {
    let message = "Invalid object id: expected a sha256 hex digest";
    json!({"oid": object.oid, "size": object.size, "error": {"code": 422, "message": message}})
}

/// The per-object error for a declared size above the server's limit.
fn too_large(oid: &str, size: u64, limit: u64) -> Value {
    let message = format!("Object size {size} exceeds the limit of {limit} bytes");
    json!({"oid": oid, "size": size, "error": {"code": 422, "message": message}})
}

fn lfs_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(LFS_JSON));
    response
}

fn plan_json(ctx: &Ctx, oid: &str, size: u64, plan: UploadPlan) -> Value {
    let url = |token: &str| format!("{}/_kura/lfs/{token}", ctx.state.public_url);
    match plan {
        UploadPlan::Present => json!({"oid": oid, "size": size}),
        UploadPlan::TooLarge { limit } => too_large(oid, size, limit),
        UploadPlan::Basic { put, verify } => json!({
            "oid": oid, "size": size, "authenticated": true,
            "actions": {
                "upload": {"href": url(&put), "header": {}, "expires_in": 3600},
                "verify": {"href": url(&verify), "header": {}, "expires_in": 3600},
            }
        }),
        UploadPlan::Multipart { part_size, parts, complete, verify } => {
            let mut header = serde_json::Map::new();
            header.insert("chunk_size".into(), json!(part_size.to_string()));
            for (i, part) in parts.iter().enumerate() {
                header.insert((i + 1).to_string(), json!(url(part)));
            }
            json!({
                "oid": oid, "size": size, "authenticated": true,
                "actions": {
                    "upload": {"href": url(&complete), "header": header, "expires_in": 3600},
                    "verify": {"href": url(&verify), "header": {}, "expires_in": 3600},
                }
            })
        }
    }
}

pub(crate) async fn batch(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: BatchBody = ctx.json().await?;
    if body.objects.len() > MAX_BATCH {
        return Ok(lfs_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"message": format!("At most {MAX_BATCH} objects per batch")}),
        ));
    }
    let mut valid = Vec::new();
    for object in &body.objects {
        if let Ok(oid) = Sha256::from_hex(&object.oid) {
            valid.push((oid, object.size));
        }
    }
    match body.operation.as_str() {
        "upload" if offers(&body, "xet") => {
            return xet_batch(ctx, &record, &body.objects, &valid).await;
        }
        "upload" => {}
        "download" => return download_batch(ctx, &record, &body.objects, &valid).await,
        other => {
            let message = format!("Unknown operation '{other}'");
            return Ok(lfs_response(StatusCode::UNPROCESSABLE_ENTITY, json!({ "message": message })));
        }
    }
    let mut plans = ctx
        .hub()
        .files()
        .plan_uploads(&ctx.identity, &record, &valid, offers(&body, "multipart"))
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter();
    let objects: Vec<Value> = body
        .objects
        .iter()
        .map(|object| match Sha256::from_hex(&object.oid) {
            Ok(_) => {
                plan_json(ctx, &object.oid, object.size, plans.next().expect("one plan per valid object"))
            }
            Err(_) => invalid_object(object),
        })
        .collect();
    Ok(lfs_response(StatusCode::OK, json!({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})))
}

/// Uploads negotiated to Xet (clients that offer `xet`, e.g. huggingface_hub 0.36–1.19,
/// huggingface.js, git-xet): objects the repo lacks get the token refresh URL and the CAS
/// credentials as their upload action.
async fn xet_batch(
    ctx: &Ctx,
    record: &kura_core::RepoRecord,
    objects: &[BatchObject],
    valid: &[(Sha256, u64)],
) -> ApiResult {
    let mut plans = ctx
        .hub()
        .files()
        .plan_uploads(&ctx.identity, record, valid, false)
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter();
    let (token, expires_at) =
        ctx.hub().xet().xet_token(&ctx.identity, record, true).await.map_err(|e| ctx.fail(e))?;
    let refresh = format!(
        "{}/api/{}/{}/xet-write-token/main",
        ctx.state.public_url,
        record.repo_type.plural(),
        record.repo_id
    );
    let cas = super::xet::cas_url(ctx);
    let out: Vec<Value> = objects
        .iter()
        .map(|object| {
            if Sha256::from_hex(&object.oid).is_err() {
                return invalid_object(object);
            }
            match plans.next().expect("one plan per valid object") {
                UploadPlan::Present => json!({"oid": object.oid, "size": object.size}),
                UploadPlan::TooLarge { limit } => too_large(&object.oid, object.size, limit),
                _ => json!({"oid": object.oid, "size": object.size, "authenticated": true, "actions": {"upload": {
                    "href": refresh,
                    "header": {"X-Xet-Cas-Url": cas, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": expires_at.to_string()},
                    "expires_in": 3600,
                }}}),
            }
        })
        .collect();
    Ok(lfs_response(StatusCode::OK, json!({"transfer": "xet", "objects": out, "hash_algo": "sha256"})))
}

async fn download_batch(
    ctx: &Ctx,
    record: &kura_core::RepoRecord,
    objects: &[BatchObject],
    valid: &[(Sha256, u64)],
) -> ApiResult {
    let mut plans = ctx
        .hub()
        .files()
        .plan_downloads(&ctx.identity, record, valid)
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter();
    let out: Vec<Value> = objects
        .iter()
        .map(|object| {
            if Sha256::from_hex(&object.oid).is_err() {
                return invalid_object(object);
            }
            let href = match plans.next().expect("one plan per valid object") {
                DownloadPlan::Direct(url) => url,
                DownloadPlan::Token(token) => format!("{}/_kura/lfs/{token}", ctx.state.public_url),
                DownloadPlan::Missing => {
                    return json!({"oid": object.oid, "size": object.size, "error": {"code": 404, "message": "Object does not exist in this repository"}});
                }
            };
            json!({"oid": object.oid, "size": object.size, "authenticated": true,
                   "actions": {"download": {"href": href, "header": {}, "expires_in": 3600}}})
        })
        .collect();
    Ok(lfs_response(StatusCode::OK, json!({"transfer": "basic", "objects": out, "hash_algo": "sha256"})))
}

#[derive(Deserialize)]
struct VerifyBody {
    oid: String,
    size: u64,
}

/// Signed transfer URLs: whole-object PUT, part PUT, multipart completion, verify.
pub(crate) async fn transfer(ctx: &mut Ctx, token: &str) -> ApiResult {
    let capability = ctx.hub().files().check(token).map_err(|e| ctx.fail(e))?;
    let ok = || lfs_response(StatusCode::OK, json!({}));
    match (&ctx.method, &capability.action) {
        (&Method::PUT, Action::Put) => {
            let body = ctx.body_stream();
            ctx.hub().files().receive_object(&capability, body).await.map_err(|e| ctx.fail(e))?;
            Ok(ok())
        }
        (&Method::PUT, Action::Part { .. }) => {
            let body = ctx.body_stream();
            let etag = ctx.hub().files().receive_part(&capability, body).await.map_err(|e| ctx.fail(e))?;
            let mut response = ok();
            response.headers_mut().insert(
                header::ETAG,
                HeaderValue::from_str(&etag).map_err(|_| ApiError::bad_request("bad etag"))?,
            );
            Ok(response)
        }
        (&Method::POST, Action::Complete { .. }) => {
            let _ = ctx.body_bytes(crate::context::JSON_LIMIT).await?;
            ctx.hub().files().complete_upload(&capability).await.map_err(|e| ctx.fail(e))?;
            Ok(ok())
        }
        (&Method::GET, Action::Download) => {
            let size = capability.size;
            let range = super::resolve::range_header(ctx)
                .map_err(|_| ctx.fail(CoreError::RangeNotSatisfiable { size }))?;
            let (span, stream) =
                ctx.state.hub.files().send_object(&capability, range).await.map_err(|e| ctx.fail(e))?;
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
            ctx.hub().files().verify_object(&capability, oid, body.size).await.map_err(|e| ctx.fail(e))?;
            Ok(ok())
        }
        _ => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "This URL does not allow that method")),
    }
}

/// Whether the batch request lists `transfer` among the transfers the client supports.
fn offers(body: &BatchBody, transfer: &str) -> bool {
    body.transfers.iter().any(|t| t == transfer)
}
