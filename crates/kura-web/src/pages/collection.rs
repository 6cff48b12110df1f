//! `/collections/{namespace}/{slug}`: one collection with the items the caller may see, in
//! order (the core leaves out the others), each note rendered as Markdown with raw HTML as
//! text (`markdown::render_texts`); a slug under an old title still finds it. Those who
//! manage the namespace's collections get the forms, which post to
//! `/collections/{namespace}/{slug}/{settings|delete|add|note|move|remove}`; the core checks
//! every right again, and a refusal shows the page with why.

use std::sync::Arc;

use askama::Template;
use axum::http::StatusCode;
use kura_core::{CollectionDetails, CollectionUpdate, CoreError, ItemUpdate, NamespaceKind};

use super::collections::{ItemLink, can_manage, collection_url, namespace_url, private_flag, text};
use super::layout::Layout;
use super::{format, html, see_other};
use crate::error::{WebError, WebResult};
use crate::markdown::{self, LinkBase};
use crate::request::{Form, Req};

/// The kinds of item the add form offers, as the core names them.
const KINDS: [(&str, &str); 4] =
    [("model", "Model"), ("dataset", "Dataset"), ("space", "Space"), ("collection", "Collection")];

/// One item of the collection.
pub(crate) struct ItemRow {
    /// The item's own id (what the forms name).
    id: String,
    link: ItemLink,
    /// The note as stored (the edit form's text).
    note: String,
    /// The note rendered (empty without one).
    note_html: Arc<String>,
    first: bool,
    last: bool,
}

/// What the forms hold: the collection's values, or what was typed when a post came back.
pub(crate) struct Fields {
    title: String,
    description: String,
    private: bool,
    kind: String,
    id: String,
    note: String,
}

#[derive(Template)]
#[template(path = "collection.html")]
struct CollectionPage {
    layout: Layout,
    /// The collection's URL under its current title (the forms' base).
    here: String,
    namespace: String,
    namespace_href: String,
    owner_is_org: bool,
    title: String,
    description: Option<String>,
    private: bool,
    updated: String,
    items: Vec<ItemRow>,
    manage: bool,
    error: Option<String>,
    fields: Fields,
    kinds: [(&'static str, &'static str); 4],
    max_title: usize,
    max_description: usize,
    max_note: usize,
}

/// Where relative links of an item's note lead: into the repo it names (its `main`).
fn note_base(link: &ItemLink) -> LinkBase {
    LinkBase { repo: link.href.clone(), revision: "main".to_owned(), dir: String::new() }
}

async fn item_rows(details: &CollectionDetails, typed: Option<(&str, String)>) -> Vec<ItemRow> {
    let links: Vec<ItemLink> = details.items.iter().map(ItemLink::of).collect();
    let notes: Vec<(String, LinkBase)> = details
        .items
        .iter()
        .zip(&links)
        .filter_map(|(item, link)| Some((item.note.clone()?, note_base(link))))
        .collect();
    let mut rendered = markdown::render_texts(notes).await.into_iter();
    let count = details.items.len();
    let mut rows = Vec::with_capacity(count);
    for (n, (item, link)) in details.items.iter().zip(links).enumerate() {
        let note_html = match &item.note {
            Some(_) => rendered.next().unwrap_or_default(),
            None => Arc::default(),
        };
        let note = match &typed {
            Some((id, text)) if *id == item.public_id => text.clone(),
            _ => item.note.clone().unwrap_or_default(),
        };
        rows.push(ItemRow {
            id: item.public_id.clone(),
            link,
            note,
            note_html,
            first: n == 0,
            last: n + 1 == count,
        });
    }
    rows
}

/// The page, with `error` and the form that caused it when a post was refused.
async fn render(req: &Req, slug: &str, error: Option<WebError>, form: Option<(&str, &Form)>) -> WebResult {
    let details = req.hub().collections().get(&req.identity, slug).await?;
    let collection = &details.collection;
    let manage = can_manage(req, &collection.namespace).await;
    let typed = |action: &str| form.filter(|(a, _)| *a == action).map(|(_, f)| f);
    let (settings, add) = (typed("settings"), typed("add"));
    let note = typed("note").map(|f| (f.get("item").unwrap_or_default(), text(f, "note")));
    let fields = Fields {
        title: settings.map_or(collection.title.clone(), |f| f.get("title").unwrap_or_default().to_owned()),
        description: settings
            .map_or(collection.description.clone().unwrap_or_default(), |f| text(f, "description")),
        private: settings.map_or(collection.private, |f| f.get("visibility") == Some("private")),
        kind: add.and_then(|f| f.get("type")).unwrap_or("model").to_owned(),
        id: add.and_then(|f| f.get("id")).unwrap_or_default().to_owned(),
        note: add.map(|f| text(f, "note")).unwrap_or_default(),
    };
    let page = CollectionPage {
        layout: Layout::new(req, &format!("{} · Collections · {}", collection.title, collection.namespace)),
        here: collection_url(&details.slug()),
        namespace: collection.namespace.clone(),
        namespace_href: format!("/{}", format::segment(&collection.namespace)),
        owner_is_org: details.owner == NamespaceKind::Org,
        title: collection.title.clone(),
        description: collection.description.clone(),
        private: collection.private,
        updated: format::day_of_millis(collection.updated_at),
        items: item_rows(&details, note).await,
        manage,
        fields,
        kinds: KINDS,
        max_title: kura_core::MAX_COLLECTION_TITLE_CHARS,
        max_description: kura_core::MAX_DESCRIPTION_CHARS,
        max_note: kura_core::MAX_NOTE_CHARS,
        error: error.as_ref().map(|e| e.message().to_owned()),
    };
    Ok(html(error.map_or(StatusCode::OK, |e| e.status()), &page))
}

pub(crate) async fn collection_page(req: &Req, namespace: &str, slug: &str) -> WebResult {
    render(req, &format!("{namespace}/{slug}"), None, None).await
}

/// One of the page's forms; answers 303 to the collection (at the item the form changed),
/// or to the namespace's collections once it is deleted.
pub(crate) async fn act(req: &mut Req, namespace: &str, slug: &str, action: &str) -> WebResult {
    req.require_user()?;
    let form = req.form().await?;
    let slug = format!("{namespace}/{slug}");
    let done = match action {
        "settings" | "delete" | "add" | "note" | "move" | "remove" => change(req, &slug, action, &form).await,
        _ => return Err(WebError::not_found()),
    };
    match done {
        Ok(location) => see_other(&location),
        Err(error) => render(req, &slug, Some(error), Some((action, &form))).await,
    }
}

/// Applies one form through the core; answers where to go next.
async fn change(req: &Req, slug: &str, action: &str, form: &Form) -> WebResult<String> {
    let collections = req.hub().collections();
    let identity = &req.identity;
    let at =
        |details: &CollectionDetails, item: &str| format!("{}#item-{item}", collection_url(&details.slug()));
    match action {
        "settings" => {
            let update = CollectionUpdate {
                title: Some(form.get("title").unwrap_or_default().to_owned()),
                description: Some(text(form, "description")),
                private: Some(private_flag(form)?),
                ..CollectionUpdate::default()
            };
            Ok(collection_url(&collections.update(identity, slug, update).await?.slug()))
        }
        "delete" => {
            let details = collections.get(identity, slug).await?;
            if form.get("confirm").map(str::trim) != Some(details.collection.title.as_str()) {
                return Err(WebError::bad_request("Type the collection's title to confirm its deletion."));
            }
            collections.delete(identity, slug).await?;
            Ok(namespace_url(&details.collection.namespace))
        }
        "add" => {
            let (kind, id) = (form.require("type")?, form.require("id")?);
            let note = Some(text(form, "note")).filter(|n| !n.is_empty());
            let added = collections.add_item(identity, slug, (kind, id), note.as_deref()).await;
            let details = added.map_err(|error| missing_target(error, kind, id))?;
            let last = details.items.last().map(|i| i.public_id.as_str()).unwrap_or_default();
            Ok(at(&details, last))
        }
        "note" => {
            let item = form.require("item")?;
            let update = ItemUpdate { note: Some(text(form, "note")), position: None };
            Ok(at(&collections.update_item(identity, slug, item, update).await?, item))
        }
        "move" => {
            let item = form.require("item")?;
            let later = match form.require("direction")? {
                "up" => false,
                "down" => true,
                other => return Err(WebError::bad_request(&format!("Unknown direction '{other}'"))),
            };
            Ok(at(&collections.move_item(identity, slug, item, later).await?, item))
        }
        _ => {
            let item = form.require("item")?;
            collections.delete_item(identity, slug, item).await?;
            Ok(format!("{}#items", collection_url(slug)))
        }
    }
}

/// An added item's target that is missing (or hidden) says which, not "this page".
fn missing_target(error: CoreError, kind: &str, id: &str) -> WebError {
    match error {
        CoreError::RepoNotFound | CoreError::NotFound(_) => {
            WebError::new(StatusCode::NOT_FOUND, &format!("There is no {kind} '{id}' that you may see."))
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sample(manage: bool) -> CollectionPage {
        let link =
            ItemLink { kind: "model", label: "alice/demo".into(), href: "/alice/demo".into(), private: true };
        let note =
            "Uses **this** [config](config.json)\n\n<script>alert(1)</script><img src=x onerror=alert(2)>";
        let rendered = markdown::render_texts(vec![(note.to_owned(), note_base(&link))]).await;
        let here = "/collections/alice/picks-0123456789abcdef01234567".to_owned();
        CollectionPage {
            layout: Layout {
                title: "Picks".into(),
                user: Some("alice".into()),
                csrf: "CSRF".into(),
                css: "/_kura/assets/kura.css",
                js: "/_kura/assets/kura.js",
            },
            here,
            namespace: "alice".into(),
            namespace_href: "/alice".into(),
            owner_is_org: false,
            title: "Picks".into(),
            description: Some("<b>mine</b>".into()),
            private: true,
            updated: "2026-12-04".into(),
            items: vec![ItemRow {
                id: "89abcdef0123456789abcdef".into(),
                link,
                note: note.into(),
                note_html: rendered[0].clone(),
                first: true,
                last: true,
            }],
            manage,
            error: None,
            fields: Fields {
                title: "Picks".into(),
                description: String::new(),
                private: true,
                kind: "dataset".into(),
                id: String::new(),
                note: String::new(),
            },
            kinds: KINDS,
            max_title: 60,
            max_description: 150,
            max_note: 500,
        }
    }

    #[tokio::test]
    async fn notes_render_as_markdown_with_raw_html_as_text() {
        let html = sample(false).await.render().unwrap();
        assert!(html.contains("<strong>this</strong>"), "{html}");
        assert!(html.contains("href=\"/alice/demo/blob/main/config.json\""), "a note links into its repo");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "raw HTML became markup");
        assert!(html.contains("&#60;b&#62;mine&#60;/b&#62;"), "the description is text");
    }

    #[tokio::test]
    async fn only_managers_get_the_forms() {
        let html = sample(false).await.render().unwrap();
        for action in ["/move\"", "/remove\"", "/note\"", "/add\"", "/settings\"", "/delete\""] {
            assert!(!html.contains(action), "{action} offered to a reader");
        }
        let html = sample(true).await.render().unwrap();
        let here = "/collections/alice/picks-0123456789abcdef01234567";
        for action in ["move", "remove", "note", "add", "settings", "delete"] {
            assert!(html.contains(&format!("action=\"{here}/{action}\"")), "{action} missing");
        }
        let forms = html.matches("method=\"post\"").count();
        assert_eq!(forms, 7, "six forms and signing out");
        assert_eq!(
            html.matches("name=\"csrf\" value=\"CSRF\"").count(),
            forms,
            "every form carries the token"
        );
        assert!(html.contains("value=\"up\" disabled") && html.contains("value=\"down\" disabled"));
        assert!(html.contains("<option value=\"dataset\" selected>"), "the typed kind is kept");
    }
}
