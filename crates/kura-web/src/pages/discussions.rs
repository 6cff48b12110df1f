//! `{base}/discussions`: a repo's discussions and pull requests, 50 a page (the core's
//! `ListQuery`), filtered by kind and status with the Hub's query names (`type`, `status`,
//! `p` from 0); `{base}/discussions/new`: the form that opens a discussion. The core decides
//! who may post (an account and a token that writes; a browser session does).

use askama::Template;
use kura_core::ListQuery;
use kura_core::views::{DiscussionListView, DiscussionView};

use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab};
use super::{format, html, see_other};
use crate::error::{WebError, WebResult};
use crate::request::{Form, Req};
use crate::route::RepoName;

/// The kinds a listing shows, as `type=` names them, with their labels.
const KINDS: [(&str, &str); 3] =
    [("all", "All"), ("discussion", "Discussions"), ("pull_request", "Pull requests")];
/// The statuses a listing shows, as `status=` names them (open is the default).
const STATUSES: [(&str, &str); 3] = [("open", "Open"), ("closed", "Closed"), ("all", "All")];

/// One discussion in the list.
pub(crate) struct Row {
    num: u64,
    href: String,
    title: String,
    status: String,
    is_pull_request: bool,
    author: Option<String>,
    date: String,
}

impl Row {
    fn of(base: &str, view: DiscussionView) -> Self {
        Row {
            href: format!("{base}/discussions/{}", view.num),
            num: view.num,
            title: view.title,
            status: view.status,
            is_pull_request: view.is_pull_request,
            author: view.author.map(|a| a.name),
            date: format::day(&view.created_at),
        }
    }
}

/// A filter link.
pub(crate) struct Choice {
    label: &'static str,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "discussions.html")]
struct DiscussionsPage {
    layout: Layout,
    header: RepoHeader,
    kinds: Vec<Choice>,
    statuses: Vec<Choice>,
    rows: Vec<Row>,
    total: u64,
    page: u64,
    prev: Option<String>,
    next: Option<String>,
    signed_in: bool,
    login: String,
}

/// The listing's filters as the query names them.
struct Filters {
    kind: &'static str,
    status: &'static str,
    page: u64,
}

impl Filters {
    fn read(req: &Req) -> WebResult<Self> {
        let pick = |name: &str, choices: &[(&'static str, &str)]| -> WebResult<&'static str> {
            match req.param(name).filter(|v| !v.is_empty()) {
                None => Ok(choices[0].0),
                Some(value) => choices
                    .iter()
                    .map(|c| c.0)
                    .find(|c| *c == value)
                    .ok_or_else(|| WebError::bad_request(&format!("Unknown {name} '{value}'"))),
            }
        };
        let page = match req.param("p").filter(|v| !v.is_empty()) {
            None => 0,
            Some(p) => p.parse().map_err(|_| WebError::bad_request("Invalid page number"))?,
        };
        Ok(Filters { kind: pick("type", &KINDS)?, status: pick("status", &STATUSES)?, page })
    }

    /// This listing at another page.
    fn at(&self, base: &str, page: u64) -> String {
        list_url(base, self.kind, self.status, page)
    }

    fn choices(&self, base: &str) -> (Vec<Choice>, Vec<Choice>) {
        let kinds = KINDS
            .iter()
            .map(|(kind, label)| Choice {
                label,
                href: list_url(base, kind, self.status, 0),
                current: *kind == self.kind,
            })
            .collect();
        let statuses = STATUSES
            .iter()
            .map(|(status, label)| Choice {
                label,
                href: list_url(base, self.kind, status, 0),
                current: *status == self.status,
            })
            .collect();
        (kinds, statuses)
    }
}

pub(crate) async fn discussions_page(req: &mut Req, name: &RepoName) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let filters = Filters::read(req)?;
    let query = ListQuery {
        kind: Some(filters.kind.to_owned()),
        status: Some(filters.status.to_owned()),
        author: None,
        page: filters.page,
    };
    let listed = req.hub().discussions().list(&req.identity, &record, &query).await?;
    let view = DiscussionListView::new(&listed, record.repo_type, &record.repo_id);
    let header = RepoHeader::new(req, &record, Tab::Community, "main").await;
    let shown = view.start + view.discussions.len() as u64;
    let (kinds, statuses) = filters.choices(&header.base);
    let page = DiscussionsPage {
        layout: Layout::new(req, &format!("Discussions · {}", record.repo_id)),
        kinds,
        statuses,
        total: view.count,
        page: filters.page,
        prev: (filters.page > 0).then(|| filters.at(&header.base, filters.page - 1)),
        next: (shown < view.count).then(|| filters.at(&header.base, filters.page + 1)),
        rows: view.discussions.into_iter().map(|d| Row::of(&header.base, d)).collect(),
        signed_in: !req.identity.is_anonymous(),
        login: login_url(&format!("{}/discussions/new", header.base)),
        header,
    };
    Ok(html(axum::http::StatusCode::OK, &page))
}

/// The listing of `kind` and `status` at `page`.
fn list_url(base: &str, kind: &str, status: &str, page: u64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("type", kind).append_pair("status", status);
    if page > 0 {
        query.append_pair("p", &page.to_string());
    }
    format!("{base}/discussions?{}", query.finish())
}

/// The login page, coming back to `path`.
pub(crate) fn login_url(path: &str) -> String {
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    format!("/login?next={next}")
}

#[derive(Template)]
#[template(path = "new_discussion.html")]
struct NewDiscussionPage {
    layout: Layout,
    header: RepoHeader,
    title: String,
    description: String,
    error: Option<String>,
    max_title: usize,
}

async fn form_page(req: &Req, name: &RepoName, form: Option<&Form>, error: Option<&WebError>) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let field = |name: &str| form.and_then(|f| f.get(name)).unwrap_or_default().to_owned();
    let page = NewDiscussionPage {
        layout: Layout::new(req, &format!("New discussion · {}", record.repo_id)),
        header: RepoHeader::new(req, &record, Tab::Community, "main").await,
        title: field("title"),
        description: field("description"),
        error: error.map(|e| e.message().to_owned()),
        max_title: kura_core::MAX_TITLE_CHARS,
    };
    let status = error.map_or(axum::http::StatusCode::OK, WebError::status);
    Ok(html(status, &page))
}

pub(crate) async fn new_discussion_page(req: &Req, name: &RepoName) -> WebResult {
    req.require_user()?;
    form_page(req, name, None, None).await
}

/// Opens the discussion the form describes and goes to it; a refusal shows the form again
/// with what was typed and why.
pub(crate) async fn create(req: &mut Req, name: &RepoName) -> WebResult {
    req.require_user()?;
    let form = req.form().await?;
    let record = repo_common::find(req, name).await?;
    let title = form.get("title").unwrap_or_default();
    let description = form.get("description").unwrap_or_default();
    let created = req.hub().discussions().create(&req.identity, &record, title, description, false).await;
    match created {
        Ok(num) => see_other(&format!(
            "{}/discussions/{num}",
            repo_common::base_url(record.repo_type, &record.repo_id)
        )),
        Err(error) => form_page(req, name, Some(&form), Some(&WebError::from(error))).await,
    }
}
