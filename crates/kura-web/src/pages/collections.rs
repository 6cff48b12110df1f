//! `/collections/{namespace}`: a user's or org's collections the caller may see (the core
//! leaves out private ones before paging), 30 a page with `p` from 0, each with its first
//! items; `/collections/{namespace}/new`: the form that creates one, offered to those who
//! manage the namespace's collections (the core decides, and checks again on the post).

use askama::Template;
use axum::http::StatusCode;
use kura_core::{CollectionCreated, CollectionItemRecord, CollectionListing, CollectionSort, ItemObject};
use kura_core::{NamespaceKind, NewCollectionInput};

use super::layout::Layout;
use super::{format, html, repo_common, see_other};
use crate::error::{WebError, WebResult};
use crate::request::{Form, Req};

/// Collections per listing page.
const PAGE_SIZE: u64 = 30;

/// `/collections/{namespace}/{rest}` of a slug (`{namespace}/{rest}`).
pub(crate) fn collection_url(slug: &str) -> String {
    let (namespace, rest) = slug.split_once('/').unwrap_or(("", slug));
    format!("/collections/{}/{}", format::segment(namespace), format::segment(rest))
}

/// The listing of a namespace's collections.
pub(crate) fn namespace_url(namespace: &str) -> String {
    format!("/collections/{}", format::segment(namespace))
}

/// What an item points at, as a link.
pub(crate) struct ItemLink {
    /// `model`, `dataset`, `space` or `collection`.
    pub(crate) kind: &'static str,
    /// The repo id, or the collection's title.
    pub(crate) label: String,
    pub(crate) href: String,
    pub(crate) private: bool,
}

impl ItemLink {
    pub(crate) fn of(item: &CollectionItemRecord) -> Self {
        match &item.object {
            ItemObject::Repo(repo) => ItemLink {
                kind: repo.repo_type.as_str(),
                label: repo.repo_id.to_string(),
                href: repo_common::base_url(repo.repo_type, &repo.repo_id),
                private: repo.private,
            },
            ItemObject::Collection(collection) => ItemLink {
                kind: "collection",
                label: collection.title.clone(),
                href: collection_url(&kura_core::slug_of(collection)),
                private: collection.private,
            },
        }
    }
}

/// Whether the caller may manage `namespace`'s collections (shows the forms; the core
/// decides again on every post).
pub(crate) async fn can_manage(req: &Req, namespace: &str) -> bool {
    !req.identity.is_anonymous()
        && req.hub().accounts().authorize_namespace_manage(&req.identity, namespace).await.is_ok()
}

/// Whether `namespace` is an org; a missing namespace is the 404 page.
async fn namespace_kind(req: &Req, namespace: &str) -> WebResult<NamespaceKind> {
    req.hub().accounts().namespace_kind(namespace).await?.ok_or_else(WebError::not_found)
}

/// One collection in the list.
pub(crate) struct Row {
    href: String,
    title: String,
    private: bool,
    description: Option<String>,
    updated: String,
    items: Vec<ItemLink>,
}

#[derive(Template)]
#[template(path = "collections.html")]
struct CollectionsPage {
    layout: Layout,
    namespace: String,
    is_org: bool,
    can_manage: bool,
    rows: Vec<Row>,
    page: u64,
    prev: Option<String>,
    next: Option<String>,
}

pub(crate) async fn collections_page(req: &Req, namespace: &str) -> WebResult {
    let is_org = namespace_kind(req, namespace).await? == NamespaceKind::Org;
    let page = match req.param("p").filter(|p| !p.is_empty()) {
        Some(p) => p.parse::<u64>().map_err(|_| WebError::bad_request("Invalid page number"))?,
        None => 0,
    };
    let offset = page.checked_mul(PAGE_SIZE).ok_or_else(|| WebError::bad_request("Page number too large"))?;
    let listing = CollectionListing {
        owners: vec![namespace.to_owned()],
        items: Vec::new(),
        sort: CollectionSort::LastModified,
        offset,
        limit: PAGE_SIZE,
    };
    let (found, more) = req.hub().collections().list(&req.identity, &listing).await?;
    let rows = found
        .iter()
        .map(|details| Row {
            href: collection_url(&details.slug()),
            title: details.collection.title.clone(),
            private: details.collection.private,
            description: details.collection.description.clone(),
            updated: format::day_of_millis(details.collection.updated_at),
            items: details.items.iter().map(ItemLink::of).collect(),
        })
        .collect();
    let base = namespace_url(namespace);
    let page = CollectionsPage {
        layout: Layout::new(req, &format!("Collections · {namespace}")),
        namespace: namespace.to_owned(),
        is_org,
        can_manage: can_manage(req, namespace).await,
        rows,
        prev: (page > 0).then(|| format!("{base}?p={}", page - 1)),
        next: more.then(|| format!("{base}?p={}", page + 1)),
        page,
    };
    Ok(html(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "new_collection.html")]
struct NewCollectionPage {
    layout: Layout,
    namespace: String,
    title: String,
    description: String,
    private: bool,
    error: Option<String>,
    max_title: usize,
    max_description: usize,
}

/// The creation form, for those who manage the namespace: a missing namespace is the 404
/// page, someone else's the 403 page.
async fn form_page(req: &Req, namespace: &str, form: Option<&Form>, error: Option<&WebError>) -> WebResult {
    req.require_user()?;
    namespace_kind(req, namespace).await?;
    if !can_manage(req, namespace).await {
        return Err(WebError::forbidden(&format!(
            "Only those who manage '{namespace}' may create collections there."
        )));
    }
    let field = |name: &str| form.and_then(|f| f.get(name)).unwrap_or_default().to_owned();
    let page = NewCollectionPage {
        layout: Layout::new(req, &format!("New collection · {namespace}")),
        namespace: namespace.to_owned(),
        title: field("title"),
        description: field("description"),
        private: field("visibility") == "private",
        error: error.map(|e| e.message().to_owned()),
        max_title: kura_core::MAX_COLLECTION_TITLE_CHARS,
        max_description: kura_core::MAX_DESCRIPTION_CHARS,
    };
    Ok(html(error.map_or(StatusCode::OK, WebError::status), &page))
}

pub(crate) async fn new_collection_page(req: &Req, namespace: &str) -> WebResult {
    form_page(req, namespace, None, None).await
}

/// A form's text as typed, with the browser's CRLF line ends made LF.
pub(crate) fn text(form: &Form, name: &str) -> String {
    form.get(name).unwrap_or_default().replace("\r\n", "\n")
}

/// `visibility=public|private` as a flag.
pub(crate) fn private_flag(form: &Form) -> WebResult<bool> {
    match form.get("visibility").unwrap_or("public") {
        "public" => Ok(false),
        "private" => Ok(true),
        other => Err(WebError::bad_request(&format!("Unknown visibility '{other}'"))),
    }
}

/// Creates the collection the form describes and goes to it; a refusal (or a title the
/// namespace already has) shows the form again with what was typed and why.
pub(crate) async fn create(req: &mut Req, namespace: &str) -> WebResult {
    req.require_user()?;
    let form = req.form().await?;
    let created = match private_flag(&form) {
        Ok(private) => {
            let input = NewCollectionInput {
                namespace: namespace.to_owned(),
                title: form.get("title").unwrap_or_default().to_owned(),
                description: Some(text(&form, "description")),
                private,
            };
            req.hub().collections().create(&req.identity, input).await.map_err(WebError::from)
        }
        Err(error) => Err(error),
    };
    let error = match created {
        Ok(CollectionCreated::New(details)) => return see_other(&collection_url(&details.slug())),
        Ok(CollectionCreated::TitleTaken { .. }) => WebError::new(
            StatusCode::CONFLICT,
            &format!("'{namespace}' already has a collection with this title."),
        ),
        Err(error) => error,
    };
    form_page(req, namespace, Some(&form), Some(&error)).await
}
