//! The front page, the model/dataset/space listings and the profile pages of users and orgs.

use askama::Template;
use kura_core::{RepoQuery, RepoRecord, RepoSort};
use kura_model::RepoType;

use super::layout::Layout;
use super::{format, ok, repo_common};
use crate::error::{WebError, WebResult};
use crate::request::Req;

/// Repos per listing page (Gitea's explore shows 20, the Hub 30).
const PAGE_SIZE: u64 = 30;

/// One repo in a list.
pub(crate) struct RepoItem {
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) private: bool,
    pub(crate) updated: String,
    pub(crate) tags: Vec<String>,
}

impl RepoItem {
    pub(crate) fn of(record: &RepoRecord) -> Self {
        RepoItem {
            kind: record.repo_type.as_str(),
            id: record.repo_id.to_string(),
            url: repo_common::base_url(record.repo_type, &record.repo_id),
            private: record.private,
            updated: format::day_of_millis(record.last_modified),
            tags: record.tags.iter().take(6).cloned().collect(),
        }
    }
}

fn query(repo_type: RepoType, sort: RepoSort, offset: u64, limit: u64) -> RepoQuery {
    RepoQuery {
        repo_type,
        search: None,
        author: None,
        tags: Vec::new(),
        private_namespaces: None,
        private_repos: Vec::new(),
        parameters: None,
        linking: None,
        pipeline_tag: None,
        sort,
        descending: true,
        offset,
        limit,
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    sections: Vec<(&'static str, &'static str, Vec<RepoItem>)>,
}

pub(crate) async fn home(req: &mut Req) -> WebResult {
    let mut sections = Vec::new();
    for (repo_type, title) in
        [(RepoType::Model, "Models"), (RepoType::Dataset, "Datasets"), (RepoType::Space, "Spaces")]
    {
        let records = req
            .hub()
            .repos()
            .list_repos(&req.identity, query(repo_type, RepoSort::LastModified, 0, 8))
            .await?;
        sections.push((title, repo_type.plural(), records.iter().map(RepoItem::of).collect()));
    }
    ok(&HomePage { layout: Layout::new(req, "kura"), sections })
}

#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage {
    layout: Layout,
    title: &'static str,
    plural: &'static str,
    search: String,
    author: String,
    tag: String,
    sort: &'static str,
    repos: Vec<RepoItem>,
    page: u64,
    prev: Option<String>,
    next: Option<String>,
}

pub(crate) async fn listing(req: &mut Req, repo_type: RepoType) -> WebResult {
    let text = |name: &str| req.param(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (search, author, tag) = (text("search"), text("author"), text("other"));
    let (sort, sort_name) = match req.param("sort") {
        Some("created") => (RepoSort::CreatedAt, "created"),
        _ => (RepoSort::LastModified, "updated"),
    };
    let page: u64 = match req.param("p") {
        Some(p) => p.parse().map_err(|_| WebError::bad_request("Invalid page number"))?,
        None => 0,
    };
    let offset = page
        .checked_mul(PAGE_SIZE)
        .filter(|o| *o <= 1_000_000)
        .ok_or_else(|| WebError::bad_request("Page number too large"))?;
    let mut q = query(repo_type, sort, offset, PAGE_SIZE + 1);
    q.search = search.clone();
    q.author = author.clone();
    q.tags = tag.iter().cloned().collect();
    let mut records = req.hub().repos().list_repos(&req.identity, q).await?;
    let more = records.len() as u64 > PAGE_SIZE;
    records.truncate(PAGE_SIZE as usize);
    let link = |p: u64| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("search", &search), ("author", &author), ("other", &tag)] {
            if let Some(value) = value {
                url.append_pair(key, value);
            }
        }
        url.append_pair("sort", sort_name).append_pair("p", &p.to_string());
        format!("/{}?{}", repo_type.plural(), url.finish())
    };
    let title = match repo_type {
        RepoType::Model => "Models",
        RepoType::Dataset => "Datasets",
        RepoType::Space => "Spaces",
    };
    ok(&ListingPage {
        layout: Layout::new(req, title),
        title,
        plural: repo_type.plural(),
        search: search.clone().unwrap_or_default(),
        author: author.clone().unwrap_or_default(),
        tag: tag.clone().unwrap_or_default(),
        sort: sort_name,
        repos: records.iter().map(RepoItem::of).collect(),
        page,
        prev: (page > 0).then(|| link(page - 1)),
        next: more.then(|| link(page + 1)),
    })
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    name: String,
    is_org: bool,
    repos: Vec<RepoItem>,
    members: Vec<(String, String)>,
}

pub(crate) async fn profile(req: &mut Req, name: &str) -> WebResult {
    let accounts = req.hub().accounts();
    let kind = accounts.namespace_kind(name).await?.ok_or_else(WebError::not_found)?;
    let is_org = kind == kura_core::NamespaceKind::Org;
    let mut repos = Vec::new();
    for repo_type in RepoType::ALL {
        let mut q = query(repo_type, RepoSort::LastModified, 0, 100);
        q.author = Some(name.to_owned());
        let records = req.hub().repos().list_repos(&req.identity, q).await?;
        repos.extend(records.iter().map(RepoItem::of));
    }
    let members = if is_org {
        match accounts.org_members(kura_core::Authority::Caller(&req.identity), name).await {
            Ok(members) => {
                members.into_iter().map(|(user, role)| (user.name, role.as_str().to_owned())).collect()
            }
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    ok(&ProfilePage { layout: Layout::new(req, name), name: name.to_owned(), is_org, repos, members })
}
