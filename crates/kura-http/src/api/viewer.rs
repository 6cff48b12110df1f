//! The dataset viewer API (HF's dataset-viewer, "datasets-server"), under
//! `{public_url}/datasets-server/` and at the root of a `datasets-server.` host: query
//! parameters as HF's, answers with `X-Revision` (the dataset commit), CORS for every origin
//! and the viewer's error codes in `X-Error-Code`. Also the Hub's `/api/datasets/{id}/parquet`
//! listing with its redirecting per-file URLs, and `/api/datasets/{id}/croissant`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use kura_core::{Answer, CoreError, ROWS_PER_PAGE, RepoRecord, RowsQuery};
use kura_model::{RepoId, RepoType};
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::{RepoRef, ViewerAsset};

const NO_ACCESS: &str = "The dataset does not exist, or is not accessible with the current credentials (private or gated). Please check the spelling of the dataset name or retry with other authentication credentials.";

/// A viewer error as HF's viewer answers it.
fn viewer_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    let mut error = ApiError::new(status, message);
    error.code = Some(code);
    error
}

/// The viewer's mapping of domain errors: hidden, gated and missing datasets alike are
/// `ExternalUnauthenticatedError` (401) to anonymous callers and `ExternalAuthenticatedError`
/// (404) to signed-in ones.
fn mapped(error: CoreError, anonymous: bool) -> ApiError {
    match error {
        CoreError::RepoNotFound
        | CoreError::RepoMoved { .. }
        | CoreError::GatedRepo(_)
        | CoreError::Unauthorized(_)
        | CoreError::Forbidden(_) => {
            if anonymous {
                viewer_error(StatusCode::UNAUTHORIZED, "ExternalUnauthenticatedError", NO_ACCESS)
            } else {
                viewer_error(StatusCode::NOT_FOUND, "ExternalAuthenticatedError", NO_ACCESS)
            }
        }
        CoreError::Viewer { code, message } => {
            let status = match code {
                "ResponseNotFound" => StatusCode::NOT_FOUND,
                "InvalidParameter" | "MissingRequiredParameter" => StatusCode::UNPROCESSABLE_ENTITY,
                "SearchFeatureNotAvailableError" => StatusCode::BAD_REQUEST,
                "ExternalUnauthenticatedError" => StatusCode::UNAUTHORIZED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            viewer_error(status, code, message)
        }
        CoreError::Dataset(message) => {
            viewer_error(StatusCode::INTERNAL_SERVER_ERROR, "DatasetGenerationError", message)
        }
        CoreError::InvalidInput(message) => {
            viewer_error(StatusCode::UNPROCESSABLE_ENTITY, "InvalidParameter", message)
        }
        other => ApiError::from(other),
    }
}

/// Headers every viewer answer carries, errors included.
pub(crate) fn viewer_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers
        .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("X-Error-Code, X-Revision"));
    // Answers can be of private datasets: never stored by shared caches.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn answer<T: Serialize>(answer: Answer<T>) -> Response {
    let mut response = axum::Json(answer.body).into_response();
    if let Ok(value) = HeaderValue::from_str(&answer.revision.to_hex()) {
        response.headers_mut().insert("x-revision", value);
    }
    response
}

fn required<'a>(ctx: &'a Ctx, name: &str) -> ApiResult<&'a str> {
    match ctx.param(name) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(viewer_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "MissingRequiredParameter",
            format!("Parameter '{name}' is required"),
        )),
    }
}

fn integer(ctx: &Ctx, name: &str, default: u64) -> ApiResult<u64> {
    let invalid = |why: &str| {
        viewer_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "InvalidParameter",
            format!("Parameter '{name}' {why}"),
        )
    };
    match ctx.param(name) {
        None | Some("") => Ok(default),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n < 0 => Err(invalid("must be positive")),
            Ok(n) => Ok(n as u64),
            Err(_) => Err(invalid("must be integer")),
        },
    }
}

/// The dataset named by `?dataset=`, as the caller may see it.
async fn dataset(ctx: &Ctx) -> ApiResult<RepoRecord> {
    let name = required(ctx, "dataset")?;
    let Ok(repo_id) = RepoId::parse(name) else {
        return Err(mapped(CoreError::RepoNotFound, ctx.anonymous()));
    };
    ctx.hub()
        .repos()
        .find_repo(&ctx.identity, RepoType::Dataset, &repo_id)
        .await
        .map_err(|e| mapped(e, ctx.anonymous()))
}

/// `GET /datasets-server/{endpoint}`.
pub(crate) async fn endpoint(ctx: &mut Ctx, endpoint: &str) -> ApiResult {
    let result = run_endpoint(ctx, endpoint).await;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    viewer_headers(&mut response);
    Ok(response)
}

async fn run_endpoint(ctx: &Ctx, endpoint: &str) -> ApiResult {
    let anonymous = ctx.anonymous();
    let known = [
        "is-valid",
        "splits",
        "first-rows",
        "rows",
        "search",
        "filter",
        "parquet",
        "info",
        "size",
        "statistics",
        "croissant",
        "croissant-crumbs",
    ];
    if !known.contains(&endpoint) {
        return Err(viewer_error(StatusCode::NOT_FOUND, "ResponseNotFound", "Not found."));
    }
    let repo = dataset(ctx).await?;
    let viewer = ctx.hub().viewer();
    let (identity, base) = (&ctx.identity, ctx.state.public_url.as_str());
    let config = ctx.param("config").filter(|c| !c.is_empty());
    let map = |e| mapped(e, anonymous);
    let rows_query = || -> ApiResult<RowsQuery<'_>> {
        Ok(RowsQuery {
            config: required(ctx, "config")?,
            split: required(ctx, "split")?,
            offset: integer(ctx, "offset", 0)?,
            length: integer(ctx, "length", ROWS_PER_PAGE)?,
            base_url: base,
        })
    };
    Ok(match endpoint {
        "is-valid" => answer(viewer.is_valid(identity, &repo).await.map_err(map)?),
        "splits" => answer(viewer.splits(identity, &repo, config).await.map_err(map)?),
        "first-rows" => answer(viewer.first_rows(identity, &repo, &rows_query()?).await.map_err(map)?),
        "rows" => answer(viewer.rows(identity, &repo, &rows_query()?).await.map_err(map)?),
        "search" => {
            let query = required(ctx, "query")?;
            answer(viewer.search(identity, &repo, &rows_query()?, query).await.map_err(map)?)
        }
        "filter" => {
            let clause = required(ctx, "where")?;
            let orderby = ctx.param("orderby");
            answer(viewer.filter(identity, &repo, &rows_query()?, clause, orderby).await.map_err(map)?)
        }
        "parquet" => answer(viewer.parquet(identity, &repo, config, base).await.map_err(map)?),
        "info" => answer(viewer.info(identity, &repo, config).await.map_err(map)?),
        "size" => answer(viewer.size(identity, &repo, config).await.map_err(map)?),
        "statistics" => {
            let (config, split) = (required(ctx, "config")?, required(ctx, "split")?);
            answer(viewer.statistics(identity, &repo, config, split).await.map_err(map)?)
        }
        _ => answer(viewer.croissant(identity, &repo, base).await.map_err(map)?),
    })
}

/// `GET /datasets-server/assets/...`: a media cell, by a signed URL.
pub(crate) async fn asset(ctx: &Ctx, asset: &ViewerAsset) -> ApiResult {
    let expires = ctx.param("expires").and_then(|e| e.parse::<i64>().ok()).unwrap_or(0);
    let sig = ctx.param("sig").unwrap_or_default();
    let dataset = format!("{}/{}", asset.namespace, asset.name);
    let found = ctx
        .hub()
        .viewer()
        .asset(&dataset, &asset.revision, &asset.config, &asset.split, asset.row, &asset.column, expires, sig)
        .await;
    let mut response = match found {
        Ok((bytes, mime)) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            // Bytes of the dataset shown as they are: never sniffed into HTML or script.
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            );
            response
        }
        Err(error) => mapped(error, true).into_response(),
    };
    viewer_headers(&mut response);
    Ok(response)
}

/// `GET /api/datasets/{id}/parquet[/{config}[/{split}[/{n}.parquet]]]`.
pub(crate) async fn parquet_listing(
    ctx: &Ctx,
    repo: &RepoRef,
    config: Option<&str>,
    split: Option<&str>,
    file: Option<&str>,
) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let viewer = ctx.hub().viewer();
    let base = ctx.state.public_url.as_str();
    let map = |e| mapped(e, ctx.anonymous());
    if let (Some(config), Some(split), Some(file)) = (config, split, file) {
        let index = file
            .strip_suffix(".parquet")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| viewer_error(StatusCode::NOT_FOUND, "ResponseNotFound", "Not found."))?;
        let url =
            viewer.parquet_file_url(&ctx.identity, &record, config, split, index, base).await.map_err(map)?;
        return Ok(Redirect::temporary(&url).into_response());
    }
    let urls = viewer.parquet_urls(&ctx.identity, &record, config, split, base).await.map_err(map)?;
    Ok(axum::Json(urls).into_response())
}

/// `GET /api/datasets/{id}/croissant`.
pub(crate) async fn croissant(ctx: &Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let found = ctx.hub().viewer().croissant(&ctx.identity, &record, &ctx.state.public_url).await;
    Ok(answer(found.map_err(|e| mapped(e, ctx.anonymous()))?))
}
