//! Collections: `GET|POST /api/collections`, `GET|PATCH|DELETE /api/collections/{slug}`,
//! `POST …/items`, `PATCH|DELETE …/items/{item}`, with the bodies `huggingface_hub` sends.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::views::{CollectionExistsView, CollectionUpdatedView, CollectionView, EmptyView};
use kura_core::{
    CollectionCreated, CollectionListing, CollectionSort, CollectionUpdate, DEFAULT_LIST_LIMIT, ItemUpdate,
    NewCollectionInput,
};
use serde::Deserialize;

use super::{cursor, json, next_link};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};

/// Largest body of a collection call: the texts are small (a note is at most 500 characters).
const BODY_LIMIT: usize = 64 << 10;

#[derive(Deserialize)]
struct CreateBody {
    title: String,
    namespace: String,
    #[serde(default)]
    private: bool,
    description: Option<String>,
    #[serde(rename = "resourceGroupId")]
    resource_group_id: Option<String>,
}

#[derive(Deserialize)]
struct UpdateBody {
    title: Option<String>,
    description: Option<String>,
    private: Option<bool>,
    theme: Option<String>,
    position: Option<u64>,
}

#[derive(Deserialize)]
struct ItemName {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct AddItemBody {
    item: ItemName,
    note: Option<String>,
}

#[derive(Deserialize)]
struct ItemBody {
    note: Option<String>,
    position: Option<u64>,
}

fn sort(ctx: &Ctx) -> ApiResult<CollectionSort> {
    match ctx.param("sort") {
        None | Some("lastModified") => Ok(CollectionSort::LastModified),
        Some("trending" | "upvotes") => Ok(CollectionSort::Upvotes),
        Some(_) => Err(ApiError::bad_request("'sort' must be one of lastModified, trending or upvotes")),
    }
}

/// `GET /api/collections?owner=&item=&sort=&limit=`, with a `Link` to the next page.
pub(crate) async fn list_collections(ctx: &mut Ctx) -> ApiResult {
    let limit = match ctx.param("limit") {
        Some(text) => text.parse().map_err(|_| ApiError::bad_request("Invalid limit"))?,
        None => DEFAULT_LIST_LIMIT,
    };
    let offset = cursor(ctx)? as u64;
    let owned = |key: &str| ctx.params(key).into_iter().map(str::to_owned).collect();
    let listing =
        CollectionListing { owners: owned("owner"), items: owned("item"), sort: sort(ctx)?, offset, limit };
    let (found, more) = ctx.hub().collections().list(&ctx.identity, &listing).await?;
    let next = offset + found.len() as u64;
    let mut response = json(found.iter().map(CollectionView::new).collect::<Vec<_>>());
    if more {
        let link = next_link(ctx, "/api/collections", next);
        let value = link.parse().map_err(|_| ApiError::bad_request("bad link"))?;
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// `GET /api/collections/{slug}`.
pub(crate) async fn get_collection(ctx: &mut Ctx, slug: &str) -> ApiResult {
    let details = ctx.hub().collections().get(&ctx.identity, slug).await?;
    Ok(json(CollectionView::new(&details)))
}

/// `POST /api/collections`: the collection, or a 409 naming the one that has the title.
pub(crate) async fn create_collection(ctx: &mut Ctx) -> ApiResult {
    let body: CreateBody = ctx.json_limited(BODY_LIMIT).await?;
    if body.resource_group_id.is_some() {
        return Err(ApiError::bad_request("kura has no resource groups: leave out 'resourceGroupId'"));
    }
    let input = NewCollectionInput {
        namespace: body.namespace,
        title: body.title,
        description: body.description,
        private: body.private,
    };
    match ctx.hub().collections().create(&ctx.identity, input).await? {
        CollectionCreated::New(details) => Ok(json(CollectionView::new(&details))),
        CollectionCreated::TitleTaken { slug } => Ok(title_taken(slug)),
    }
}

fn title_taken(slug: String) -> Response {
    const MESSAGE: &str = "You already have a collection with this title";
    let view = CollectionExistsView { error: MESSAGE.to_owned(), slug };
    let mut response = (StatusCode::CONFLICT, axum::Json(view)).into_response();
    response.headers_mut().insert("x-error-message", HeaderValue::from_static(MESSAGE));
    response
}

/// `PATCH /api/collections/{slug}`: the collection under `data`.
pub(crate) async fn update_collection(ctx: &mut Ctx, slug: &str) -> ApiResult {
    let body: UpdateBody = ctx.json_limited(BODY_LIMIT).await?;
    let update = CollectionUpdate {
        title: body.title,
        description: body.description,
        private: body.private,
        theme: body.theme,
        position: body.position,
    };
    let details = ctx.hub().collections().update(&ctx.identity, slug, update).await?;
    Ok(json(CollectionUpdatedView { data: CollectionView::new(&details) }))
}

/// `DELETE /api/collections/{slug}`.
pub(crate) async fn delete_collection(ctx: &mut Ctx, slug: &str) -> ApiResult {
    ctx.hub().collections().delete(&ctx.identity, slug).await?;
    Ok(json(EmptyView {}))
}

/// `POST /api/collections/{slug}/items`: the collection with the new item last.
pub(crate) async fn add_collection_item(ctx: &mut Ctx, slug: &str) -> ApiResult {
    let body: AddItemBody = ctx.json_limited(BODY_LIMIT).await?;
    let item = (body.item.kind.as_str(), body.item.id.as_str());
    let details = ctx.hub().collections().add_item(&ctx.identity, slug, item, body.note.as_deref()).await?;
    Ok(json(CollectionView::new(&details)))
}

/// `PATCH /api/collections/{slug}/items/{item}`: the collection as it is now.
pub(crate) async fn update_collection_item(ctx: &mut Ctx, slug: &str, item: &str) -> ApiResult {
    let body: ItemBody = ctx.json_limited(BODY_LIMIT).await?;
    let update = ItemUpdate { note: body.note, position: body.position };
    let details = ctx.hub().collections().update_item(&ctx.identity, slug, item, update).await?;
    Ok(json(CollectionView::new(&details)))
}

/// `DELETE /api/collections/{slug}/items/{item}`.
pub(crate) async fn delete_collection_item(ctx: &mut Ctx, slug: &str, item: &str) -> ApiResult {
    ctx.hub().collections().delete_item(&ctx.identity, slug, item).await?;
    Ok(json(EmptyView {}))
}
