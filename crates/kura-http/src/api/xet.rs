//! Xet: the hub's token endpoints and the CAS API served under `{public_url}/cas`.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::MerkleHash;
use kura_core::views::{
    EmptyView, ReconstructionV2View, ReconstructionView, ShardUploadView, XetTokenView, XorbUploadView,
};
use kura_model::ByteRange;

use super::json;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::{CasRoute, RepoRef};

/// Largest xorb body accepted: 64 MiB of raw chunks plus headers and an optional footer.
const MAX_XORB_BODY: u64 = 66 << 20;
/// Largest shard body accepted.
const MAX_SHARD_BODY: usize = 64 << 20;

pub(crate) fn cas_url(ctx: &Ctx) -> String {
    format!("{}/cas", ctx.state.public_url)
}

/// `GET /api/{type}s/{repo}/xet-{read|write}-token/{rev}`: JSON for hf_xet, headers for the
/// Python side.
pub(crate) async fn get_xet_token(ctx: &mut Ctx, repo: &RepoRef, write: bool, revision: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    // `None` comes from clients that commit to a PR they have not opened yet.
    if revision != "None" {
        ctx.hub().repos().resolve_revision(&record, revision).await?;
    }
    let pull = ctx.flag("create_pr") || kura_core::pr_number(revision).is_some();
    let (token, expires_at) = ctx.hub().xet().xet_token(&ctx.identity, &record, write, pull).await?;
    let cas = cas_url(ctx);
    let view = XetTokenView { access_token: token.clone(), cas_url: cas.clone(), exp: expires_at };
    let mut response = json(view);
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-xet-access-token", token),
        ("x-xet-cas-url", cas),
        ("x-xet-token-expiration", expires_at.to_string()),
    ] {
        headers.insert(
            name,
            HeaderValue::from_str(&value).map_err(|_| ApiError::bad_request("bad header value"))?,
        );
    }
    Ok(response)
}

fn parse_hash(text: &str) -> ApiResult<MerkleHash> {
    MerkleHash::from_hex(text).map_err(|_| ApiError::bad_request(format!("Invalid Xet hash '{text}'")))
}

/// The `Range` of a CAS request; a malformed one is a 416 (the size is not known here).
fn range_header(ctx: &Ctx) -> ApiResult<Option<ByteRange>> {
    super::resolve::range_header(ctx)
        .map_err(|_| ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "Unsupported range"))
}

/// Every CAS route. Authentication is the Xet token, never a hub token.
pub(crate) async fn cas(ctx: &mut Ctx, route: CasRoute) -> ApiResult {
    let hub = ctx.state.hub.clone();
    let method = ctx.method.clone();
    // Errors go up unsettled: the dispatcher never answers CAS callers as anonymous ones.
    let grant = || hub.xet().check_xet_token(ctx.bearer.as_deref());
    match (method, route) {
        (Method::POST, CasRoute::Xorb { hash }) => {
            let grant = grant()?;
            let hash = parse_hash(&hash)?;
            if ctx.declared_length().is_some_and(|length| length > MAX_XORB_BODY) {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Request body is larger than {MAX_XORB_BODY} bytes"),
                ));
            }
            // Streamed: the validator refuses a body past the largest serialized xorb.
            let inserted = hub.xet().put_xorb(&grant, &hash, ctx.body_stream()).await?;
            Ok(json(XorbUploadView { was_inserted: inserted }))
        }
        (Method::POST, CasRoute::Shard) => {
            let grant = grant()?;
            let body = ctx.body_bytes(MAX_SHARD_BODY).await?;
            let registered = hub.xet().put_shard(&grant, body).await?;
            Ok(json(ShardUploadView { result: u8::from(registered) }))
        }
        (Method::GET, CasRoute::Reconstruction { file, v2 }) => {
            let grant = grant()?;
            let file = parse_hash(&file)?;
            let range = range_header(ctx)?;
            let plan = hub.xet().reconstruction(&grant, &file, range).await?;
            let view = ReconstructionView::new(&cas_url(ctx), &plan);
            Ok(if v2 { json(ReconstructionV2View::from(view)) } else { json(view) })
        }
        (Method::GET, CasRoute::Fetch { token }) => {
            let range = match range_header(ctx)? {
                Some(ByteRange::From { first, last: Some(last) }) => Some((first, last)),
                Some(_) => {
                    return Err(ApiError::new(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "Fetch ranges must be closed",
                    ));
                }
                None => None,
            };
            let (from, to, stream) = hub.xet().fetch_xorb_range(&token, range).await?;
            let mut response = Response::new(Body::from_stream(stream));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(to - from + 1));
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            if range.is_some() {
                *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                let value = format!("bytes {from}-{to}/*");
                response.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&value).map_err(|_| ApiError::bad_request("bad range"))?,
                );
            }
            Ok(response)
        }
        (Method::POST, CasRoute::Telemetry) => Ok(json(EmptyView {})),
        (Method::GET, CasRoute::Chunk { hash }) => {
            let grant = grant()?;
            let hash = parse_hash(&hash)?;
            match hub.xet().dedup_query(&grant, &hash).await? {
                Some(shard) => {
                    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], shard).into_response())
                }
                None => Err(ApiError::new(StatusCode::NOT_FOUND, "No matching chunk")),
            }
        }
        (_, CasRoute::Unsupported) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "Not supported by this CAS; use the v1 routes"))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Xet headers for `resolve` answers of Xet-stored files.
pub(crate) fn resolve_headers(
    ctx: &Ctx,
    repo: &RepoRef,
    repo_id: &str,
    commit: &str,
    xet_hash: &str,
    headers: &mut axum::http::HeaderMap,
) {
    let refresh =
        format!("{}/api/{}/{repo_id}/xet-read-token/{commit}", ctx.state.public_url, repo.repo_type.plural());
    let link = format!(
        "<{refresh}>; rel=\"xet-auth\", <{}/v1/reconstructions/{xet_hash}>; rel=\"xet-reconstruction-info\"",
        cas_url(ctx)
    );
    if let (Ok(hash), Ok(link)) = (HeaderValue::from_str(xet_hash), HeaderValue::from_str(&link)) {
        headers.insert("x-xet-hash", hash);
        headers.insert(header::LINK, link);
    }
}
