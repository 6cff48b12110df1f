//! git smart HTTP, fetch side: ref advertisement and upload-pack, protocol v2 and v0. The
//! protocol itself (advertisements, request parsing within `Limits`, negotiation answers) is
//! `kura_git::upload`; this module reads the body, calls the core's planner and streams the
//! pack (`git_pack`).

use std::io::Read;

use axum::body::Body;
use axum::http::{StatusCode, header};
use kura_git::{
    FetchAnswer, Negotiated, UploadLimits, UploadProtocol, UploadRequest, parse_upload_request,
    upload_pack_advertisement, upload_pack_advertisement_v2,
};

use super::git_common::{git_repo, git_response};
use super::git_pack::{CacheTarget, cached_pack_response, pack_response};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Largest upload-pack request accepted (wants and haves).
const MAX_REQUEST: usize = 32 << 20;
const RESULT: &str = "application/x-git-upload-pack-result";

fn protocol_v2(ctx: &Ctx) -> bool {
    ctx.headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(':').any(|p| p == "version=2"))
}

pub(crate) async fn info_refs(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    match ctx.param("service") {
        Some("git-upload-pack") => {}
        Some("git-receive-pack") => return super::git_push::advertise(ctx, repo).await,
        _ => {
            return Err(ApiError::bad_request(
                "Only the smart HTTP protocol is supported (service=git-upload-pack)",
            ));
        }
    }
    let record = git_repo(ctx, repo).await?;
    let out = if protocol_v2(ctx) {
        upload_pack_advertisement_v2()
    } else {
        let refs = ctx.hub().git_refs(&ctx.identity, &record).await.map_err(|e| ctx.fail(e))?;
        upload_pack_advertisement(refs.iter().map(|r| (r.oid, r.name.as_str())))
    };
    Ok(git_response("application/x-git-upload-pack-advertisement", Body::from(out)))
}

/// The request body, gunzipped when git compressed it.
async fn request_body(ctx: &mut Ctx) -> ApiResult<Vec<u8>> {
    let raw = ctx.body_bytes(MAX_REQUEST).await?;
    let gzip = ctx.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) == Some("gzip");
    if !gzip {
        return Ok(raw.to_vec());
    }
    // Inflating up to MAX_REQUEST bytes takes a while: off the async workers.
    let inflated = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).take(MAX_REQUEST as u64 + 1).read_to_end(&mut out).map(|_| out)
    })
    .await
    .map_err(|_| ApiError::bad_request("Malformed gzip request body"))?;
    let out = inflated.map_err(|_| ApiError::bad_request("Malformed gzip request body"))?;
    if out.len() > MAX_REQUEST {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request too large"));
    }
    Ok(out)
}

/// Where the request's limits come from.
fn upload_limits(ctx: &Ctx) -> UploadLimits {
    let limits = &ctx.hub().config().limits;
    UploadLimits {
        max_wants: usize::try_from(limits.git_fetch_max_wants).unwrap_or(usize::MAX),
        max_haves: usize::try_from(limits.git_fetch_max_haves).unwrap_or(usize::MAX),
    }
}

pub(crate) async fn upload_pack(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = git_repo(ctx, repo).await?;
    let body = request_body(ctx).await?;
    let protocol = if protocol_v2(ctx) { UploadProtocol::V2 } else { UploadProtocol::V0 };
    let request = parse_upload_request(&body, protocol, upload_limits(ctx))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fetch = match request {
        UploadRequest::LsRefs(ls_refs) => {
            let refs = ctx.hub().git_refs(&ctx.identity, &record).await.map_err(|e| ctx.fail(e))?;
            let answer =
                ls_refs.answer(refs.iter().map(|r| (r.oid, r.name.as_str(), r.symref_target.as_deref())));
            return Ok(git_response(RESULT, Body::from(answer)));
        }
        UploadRequest::Fetch(fetch) => fetch,
    };
    if fetch.done && fetch.full_clone() {
        let cached = ctx
            .hub()
            .cached_clone_pack(&ctx.identity, &record, &fetch.wants)
            .await
            .map_err(|e| ctx.fail(e))?;
        if let Some(pack) = cached {
            return Ok(cached_pack_response(fetch.cached_pack_head(), pack, fetch.sideband));
        }
    }
    let plan = ctx
        .hub()
        .plan_fetch(&ctx.identity, &record, &fetch.wants, &fetch.haves, &fetch.shallow, fetch.depth)
        .await
        .map_err(|e| ctx.fail(e))?;
    let negotiated = Negotiated { common: &plan.common, shallow: &plan.shallow, unshallow: &plan.unshallow };
    match fetch.answer(&negotiated) {
        FetchAnswer::Only(answer) => Ok(git_response(RESULT, Body::from(answer))),
        FetchAnswer::Pack(head) => {
            // A full clone's pack depends on the wants alone: keep a copy for the next one.
            let cache = fetch.full_clone().then(|| CacheTarget {
                hub: ctx.state.hub.clone(),
                repo: record.clone(),
                wants: fetch.wants.clone(),
            });
            Ok(pack_response(ctx.state.hub.clone(), head, plan.objects, fetch.sideband, cache))
        }
    }
}
