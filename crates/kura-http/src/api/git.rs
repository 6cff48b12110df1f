//! git smart HTTP, fetch side: ref advertisement and upload-pack, protocol v2 and v0. The
//! protocol itself (advertisements, request parsing within `Limits`, negotiation answers) is
//! `kura_git::upload`; this module reads the body, calls the core's fetch use case
//! (`Git::fetch`, which plans, answers and builds or replays the pack) and frames the pack.

use std::io::Read;

use axum::body::Body;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use futures_util::StreamExt;
use kura_core::{ByteStream, FetchReply};
use kura_git::pktline::{BAND_DATA, flush, sideband as pack_frame_into};
use kura_git::{
    UploadLimits, UploadProtocol, UploadRequest, parse_upload_request, upload_pack_advertisement,
    upload_pack_advertisement_v2,
};

use super::git_common::{git_repo, git_response};
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
        let refs = ctx.hub().git().git_refs(&ctx.identity, &record).await?;
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
            let refs = ctx.hub().git().git_refs(&ctx.identity, &record).await?;
            let answer =
                ls_refs.answer(refs.iter().map(|r| (r.oid, r.name.as_str(), r.symref_target.as_deref())));
            return Ok(git_response(RESULT, Body::from(answer)));
        }
        UploadRequest::Fetch(fetch) => fetch,
    };
    match ctx.state.hub.git().fetch(&ctx.identity, &record, &fetch).await? {
        FetchReply::Only(answer) => Ok(git_response(RESULT, Body::from(answer))),
        FetchReply::Pack { head, pack } => Ok(git_response(RESULT, pack_body(head, pack, fetch.sideband))),
    }
}

/// `head`, then the pack (in side-band 1 packets when the client asked for side-band), then a
/// flush to end the side-band stream.
fn pack_body(head: Vec<u8>, pack: ByteStream, sideband: bool) -> Body {
    let framed = pack
        .map(move |piece| piece.map(|bytes| if sideband { Bytes::from(pack_frame(&bytes)) } else { bytes }));
    let tail = futures_util::stream::once(async move {
        let mut out = Vec::new();
        if sideband {
            flush(&mut out);
        }
        Ok::<_, std::io::Error>(Bytes::from(out))
    });
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
        .chain(framed)
        .chain(tail);
    Body::from_stream(stream)
}

/// Pack bytes in side-band 1 packets.
fn pack_frame(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / kura_git::pktline::MAX_SIDEBAND_DATA * 5 + 5);
    pack_frame_into(&mut out, BAND_DATA, data);
    out
}
