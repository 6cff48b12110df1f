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
    pub(crate) likes: u64,
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
            likes: record.likes,
        }
    }
}

fn query(repo_type: RepoType, sort: RepoSort, offset: u64, limit: u64) -> RepoQuery {
    RepoQuery { sort, descending: true, offset, limit, ..RepoQuery::every(repo_type) }
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

/// Libraries offered as filters (any other can be typed): the Hub's most used.
const LIBRARIES: [&str; 10] = [
    "transformers",
    "sentence-transformers",
    "diffusers",
    "gguf",
    "peft",
    "timm",
    "onnx",
    "safetensors",
    "mlx",
    "adapter-transformers",
];
/// Tasks offered as filters (any other can be typed).
const TASKS: [&str; 12] = [
    "text-generation",
    "text-classification",
    "token-classification",
    "fill-mask",
    "question-answering",
    "summarization",
    "translation",
    "feature-extraction",
    "sentence-similarity",
    "text-to-image",
    "image-classification",
    "automatic-speech-recognition",
];

/// The listing's filters as the query names them. `library` and `pipeline_tag` are tags the
/// indexer writes into the listing (with the formats and the card's tags), so each is one more
/// tag every listed repo must carry.
struct Filters {
    search: Option<String>,
    author: Option<String>,
    tag: Option<String>,
    library: Option<String>,
    task: Option<String>,
}

/// An active filter and the listing without it.
pub(crate) struct ActiveFilter {
    label: &'static str,
    value: String,
    remove: String,
}

impl Filters {
    fn read(req: &Req) -> Self {
        let text = |name: &str| req.param(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Filters {
            search: text("search"),
            author: text("author"),
            tag: text("other"),
            library: text("library"),
            task: text("pipeline_tag"),
        }
    }

    /// Each filter with its query key and label.
    fn named(&self) -> [(&'static str, &'static str, &Option<String>); 5] {
        [
            ("search", "Name", &self.search),
            ("author", "Author", &self.author),
            ("other", "Tag", &self.tag),
            ("library", "Library", &self.library),
            ("pipeline_tag", "Task", &self.task),
        ]
    }

    fn tags(&self) -> Vec<String> {
        [&self.tag, &self.library, &self.task].into_iter().flatten().cloned().collect()
    }

    /// The listing's URL with these filters (but `skip`), a sort and a page.
    fn url(&self, plural: &str, skip: &str, sort: &str, page: u64) -> String {
        let mut url = form_urlencoded::Serializer::new(String::new());
        for (key, _, value) in self.named() {
            if let Some(value) = value.as_ref().filter(|_| key != skip) {
                url.append_pair(key, value);
            }
        }
        url.append_pair("sort", sort).append_pair("p", &page.to_string());
        format!("/{plural}?{}", url.finish())
    }

    fn active(&self, plural: &str, sort: &str) -> Vec<ActiveFilter> {
        self.named()
            .into_iter()
            .filter_map(|(key, label, value)| {
                let value = value.clone()?;
                Some(ActiveFilter { label, value, remove: self.url(plural, key, sort, 0) })
            })
            .collect()
    }
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
    library: String,
    task: String,
    libraries: &'static [&'static str],
    tasks: &'static [&'static str],
    active: Vec<ActiveFilter>,
    sort: &'static str,
    repos: Vec<RepoItem>,
    /// Spaces: the gallery's cards (for the same repos).
    cards: Option<Vec<super::gallery::SpaceCard>>,
    page: u64,
    prev: Option<String>,
    next: Option<String>,
}

pub(crate) async fn listing(req: &mut Req, repo_type: RepoType) -> WebResult {
    let filters = Filters::read(req);
    let (sort, sort_name) = match req.param("sort") {
        Some("created") => (RepoSort::CreatedAt, "created"),
        Some("likes") => (RepoSort::Likes, "likes"),
        Some("trending") => (RepoSort::Trending, "trending"),
        Some("downloads") => (RepoSort::Downloads, "downloads"),
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
    q.search = filters.search.clone();
    q.author = filters.author.clone();
    q.tags = filters.tags();
    let mut records = req.hub().repos().list_repos(&req.identity, q).await?;
    let more = records.len() as u64 > PAGE_SIZE;
    records.truncate(PAGE_SIZE as usize);
    let plural = repo_type.plural();
    let title = match repo_type {
        RepoType::Model => "Models",
        RepoType::Dataset => "Datasets",
        RepoType::Space => "Spaces",
    };
    let models = repo_type == RepoType::Model;
    let cards = match repo_type {
        RepoType::Space => Some(super::gallery::SpaceCard::of_page(req, &records).await),
        _ => None,
    };
    ok(&ListingPage {
        layout: Layout::new(req, title),
        title,
        plural,
        active: filters.active(plural, sort_name),
        prev: (page > 0).then(|| filters.url(plural, "", sort_name, page - 1)),
        next: more.then(|| filters.url(plural, "", sort_name, page + 1)),
        search: filters.search.unwrap_or_default(),
        author: filters.author.unwrap_or_default(),
        tag: filters.tag.unwrap_or_default(),
        library: filters.library.unwrap_or_default(),
        task: filters.task.unwrap_or_default(),
        libraries: if models { &LIBRARIES } else { &[] },
        tasks: if models { &TASKS } else { &[] },
        sort: sort_name,
        repos: records.iter().map(RepoItem::of).collect(),
        cards,
        page,
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
