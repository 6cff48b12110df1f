//! Read-only metadata: repo info and listing, refs, commit history, whoami, auth checks and
//! README validation.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use kura_core::views::{
    CommitView, EmptyView, RefsView, RepoView, SecurityRepoStatusView, ValidateYamlView, WhoAmIView,
};
use kura_core::{CoreError, RepoQuery, RepoSort, check_card, front_matter};
use kura_model::{ObjectId, RepoType};

use super::{cursor, json, next_link};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// `Limits::max_siblings` as a count.
fn siblings_budget(ctx: &Ctx) -> usize {
    usize::try_from(ctx.hub().config().limits.max_siblings).unwrap_or(usize::MAX)
}

/// A repo at `revision` with everything kura knows of it: the card, the indexer's facts (for
/// models: parameters, library, task, config...; for all: the scan), the Spaces naming a
/// model, `usedStorage`, and `securityRepoStatus` when `security` is asked for.
async fn repo_view(
    ctx: &Ctx,
    record: &kura_core::RepoRecord,
    revision: &str,
    security: bool,
) -> ApiResult<(RepoView, ObjectId)> {
    let resolved = ctx.hub().repos().resolve_revision(record, revision).await?;
    let commit = ctx.hub().repos().commit(&resolved.commit).await?;
    let card = ctx.hub().repos().card_info(commit.tree).await?;
    let mut view = RepoView::info(record, &resolved.commit, commit.committer.time, &card);
    let facts = ctx.hub().index().facts_for(record, &resolved.commit).await?;
    if record.repo_type == RepoType::Model {
        view = view.with_facts(facts.as_ref());
        let spaces = ctx.hub().repos().spaces_using(&ctx.identity, record).await?;
        let ids = spaces.iter().map(|space| serde_json::Value::String(space.repo_id.to_string())).collect();
        view.spaces = Some(serde_json::Value::Array(ids));
    }
    if record.repo_type == RepoType::Space {
        view = view.with_space(&ctx.hub().repos().space_facts(record, &card).await?);
    }
    view.used_storage = Some(ctx.hub().files().used_storage(record).await?);
    if security {
        view.security_repo_status = Some(SecurityRepoStatusView::new(facts.as_ref()));
    }
    Ok((view, commit.tree))
}

pub(crate) async fn get_repo_info(ctx: &mut Ctx, repo: &RepoRef, revision: Option<String>) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let (mut view, tree) =
        repo_view(ctx, &record, revision.as_deref().unwrap_or("main"), ctx.flag("securityStatus")).await?;
    let expand = ctx.params("expand");
    let siblings = if expand.is_empty() || expand.contains(&"siblings") {
        Some(ctx.hub().repos().siblings_json(tree, ctx.flag("blobs"), siblings_budget(ctx)).await?)
    } else {
        None
    };
    if !expand.is_empty() {
        view = view.expanded(&expand);
    }
    super::json_with(&view, "siblings", siblings.as_deref())
}

/// `/api/spaces?models=…` or `?datasets=…`: only Spaces whose card names that repo.
fn linking(ctx: &Ctx, repo_type: RepoType) -> ApiResult<Option<(String, String)>> {
    let models = ctx.param("models").filter(|s| !s.is_empty());
    let datasets = ctx.param("datasets").filter(|s| !s.is_empty());
    match (models, datasets) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::bad_request("Filter by models or by datasets, not both")),
        _ if repo_type != RepoType::Space => {
            Err(ApiError::bad_request("Only Spaces are listed by the models or datasets they use"))
        }
        (Some(id), None) => Ok(Some(("model".to_owned(), id.to_owned()))),
        (None, Some(id)) => Ok(Some(("dataset".to_owned(), id.to_owned()))),
    }
}

fn sort_of(ctx: &Ctx) -> RepoSort {
    match ctx.param("sort") {
        Some("createdAt" | "created_at") => RepoSort::CreatedAt,
        Some("id" | "modelId") => RepoSort::Id,
        Some("likes") => RepoSort::Likes,
        Some("downloads") => RepoSort::Downloads,
        Some("trendingScore" | "trending_score") => RepoSort::Trending,
        _ => RepoSort::LastModified,
    }
}

/// Bytes of cards (`cardData`) one listing page carries; past them, repos come without theirs.
const PAGE_CARD_BYTES: u64 = 8 << 20;

/// Keeps `card` if the page's card budget still holds it.
fn within_card_budget(card: Option<serde_json::Value>, budget: &mut u64) -> Option<serde_json::Value> {
    let card = card?;
    let bytes = kura_core::card_data_bytes(&card);
    (bytes <= *budget).then(|| {
        *budget -= bytes;
        card
    })
}

pub(crate) async fn list_repos(ctx: &mut Ctx, repo_type: RepoType) -> ApiResult {
    // A page with `expand` or `full` reads each repo's head, card and facts: 100 at most per
    // page (the clients follow `Link` for more).
    let heavy = !ctx.params("expand").is_empty() || ctx.flag("full");
    let most = if heavy { 100 } else { 1000 };
    let limit = match ctx.param("limit") {
        Some(l) => l.parse::<usize>().map_err(|_| ApiError::bad_request("Invalid limit"))?.clamp(1, most),
        None => most,
    };
    let offset = cursor(ctx)?;
    let sort = sort_of(ctx);
    let descending =
        !(ctx.param("direction") == Some("1") || (ctx.param("sort").is_none() && sort == RepoSort::Id));
    let query = RepoQuery {
        repo_type,
        search: ctx.params("search").first().filter(|s| !s.is_empty()).map(|s| (*s).to_owned()),
        author: ctx.param("author").filter(|s| !s.is_empty()).map(str::to_owned),
        tags: ctx.params("filter").into_iter().filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        private_namespaces: None,
        private_repos: Vec::new(),
        parameters: ctx.param("num_parameters").map(parameter_range).transpose()?,
        linking: linking(ctx, repo_type)?,
        pipeline_tag: ctx.param("pipeline_tag").filter(|s| !s.is_empty()).map(str::to_owned),
        sort,
        descending,
        offset: offset as u64,
        limit: limit as u64,
    };
    let records = ctx.hub().repos().list_repos(&ctx.identity, query).await?;
    let full = ctx.flag("full");
    // One budget for the whole page: a thousand large repos cost what one does.
    let mut budget = siblings_budget(ctx);
    let mut card_budget = PAGE_CARD_BYTES;
    let mut items = Vec::with_capacity(records.len());
    let expand = ctx.params("expand");
    for record in &records {
        if !expand.is_empty() {
            // As repo info answers it (the head of `main`), keeping the fields asked for.
            let (mut view, tree) = repo_view(ctx, record, "main", false).await?;
            if expand.contains(&"siblings") {
                view.siblings = Some(ctx.hub().repos().siblings(tree, false, &mut budget).await?);
            }
            view.card_data = within_card_budget(view.card_data.take(), &mut card_budget);
            items.push(view.expanded(&expand));
            continue;
        }
        let mut view = RepoView::new(record);
        if full {
            let head = ctx.hub().repos().resolve_revision(record, "main").await?;
            let root = ctx.hub().repos().commit_tree(&head.commit).await?;
            view.sha = Some(head.commit.to_hex());
            view.siblings = Some(ctx.hub().repos().siblings(root, false, &mut budget).await?);
            // The card as in repo info (an app store reads `cardData.short_description`).
            let card = ctx.hub().repos().card_info(root).await?;
            if record.repo_type == RepoType::Space {
                view.sdk = card.card_data.as_ref().and_then(|data| data.get("sdk")).cloned();
            }
            view.card_data = within_card_budget(card.card_data, &mut card_budget);
        }
        items.push(view);
    }
    let mut response = json(items);
    if records.len() == limit {
        let link = next_link(ctx, &format!("/api/{}", repo_type.plural()), offset + limit);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    }
    Ok(response)
}

/// A parameter count as the Hub writes it: digits with an optional `K`, `M`, `B` or `T`
/// (`6B`, `1.5B`, `350M`).
fn parameter_count(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, scale) = match text.char_indices().last()? {
        (at, 'k' | 'K') => (&text[..at], 1e3),
        (at, 'm' | 'M') => (&text[..at], 1e6),
        (at, 'b' | 'B') => (&text[..at], 1e9),
        (at, 't' | 'T') => (&text[..at], 1e12),
        _ => (text, 1.0),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value = number.parse::<f64>().ok()? * scale;
    (0.0..1e19).contains(&value).then_some(value as u64)
}

/// `num_parameters=min:6B,max:128B` (either bound may be left out) as an inclusive range.
fn parameter_range(text: &str) -> Result<(u64, u64), ApiError> {
    let invalid = || {
        ApiError::bad_request(format!("Invalid num_parameters {text:?}: expected min:N,max:N (N like 6B)"))
    };
    let (mut min, mut max) = (0, u64::MAX);
    for part in text.split(',').filter(|part| !part.trim().is_empty()) {
        match part.trim().split_once(':') {
            Some(("min", value)) => min = parameter_count(value).ok_or_else(invalid)?,
            Some(("max", value)) => max = parameter_count(value).ok_or_else(invalid)?,
            _ => return Err(invalid()),
        }
    }
    Ok((min, max))
}

/// `GET /api/models/{repo}/safetensors-metadata/{index file}`: the index's fields and every
/// shard's header, at the default branch.
pub(crate) async fn safetensors_metadata(ctx: &mut Ctx, repo: &RepoRef, filename: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let hub = ctx.state.hub.clone();
    let metadata =
        hub.index().safetensors_metadata(&ctx.identity, &record, filename, ctx.reservation.core()).await?;
    Ok(json(metadata))
}

pub(crate) async fn list_refs(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let refs = ctx.hub().repos().refs(&record).await?;
    Ok(json(RefsView::new(&refs, ctx.flag("include_prs"))))
}

pub(crate) async fn list_commits(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    const PAGE: usize = 100;
    let record = ctx.find_repo(repo).await?;
    let resolved = ctx.hub().repos().resolve_revision(&record, revision).await?;
    // The cursor of a `Link` names where the walk resumes (older links hold an offset).
    let cursor = ctx.param("cursor").map(str::to_owned);
    let page = ctx.hub().repos().history_page(&record, resolved.commit, cursor.as_deref(), PAGE).await?;
    let items: Vec<CommitView> =
        page.commits.iter().map(|(oid, commit)| CommitView::new(oid, commit)).collect();
    let mut response = json(items);
    if let Some(next) = page.next {
        let path = format!(
            "/api/{}/{}/commits/{}",
            repo.repo_type.plural(),
            record.repo_id,
            super::encode(revision)
        );
        let link = next_link(ctx, &path, next);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    }
    Ok(response)
}

pub(crate) async fn whoami(ctx: &mut Ctx) -> ApiResult {
    let Some(principal) = ctx.identity.principal() else {
        return Err(CoreError::Unauthorized("You must be authenticated to call whoami".into()).into());
    };
    let orgs = ctx.hub().accounts().user_orgs(principal).await?;
    let csrf_token = principal.session.as_ref().map(|session| ctx.hub().accounts().csrf_token(session));
    Ok(json(WhoAmIView::new(principal, &orgs, csrf_token)))
}

pub(crate) async fn auth_check(ctx: &mut Ctx, repo: &RepoRef, write: bool) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    if write {
        ctx.hub().accounts().authorize_write(&ctx.identity, &record).await?;
    } else {
        ctx.hub().accounts().authorize_files(&ctx.identity, &record).await?;
    }
    Ok(json(EmptyView {}))
}

/// Largest `validate-yaml` body: a README's text (the Hub's model cards are far smaller).
const VALIDATE_YAML_LIMIT: usize = 1 << 20;

/// Bytes of memory one byte of YAML may take once parsed into JSON values (a list of small
/// numbers: two bytes of text, a 32-byte value).
const YAML_EXPANSION: u64 = 16;

/// The `validate-yaml` body, typed so nothing but the README text is kept.
#[derive(serde::Deserialize)]
struct ValidateYamlBody {
    #[serde(default)]
    content: String,
    /// Sent by `huggingface_hub`; every repo type is checked alike.
    #[serde(default, rename = "repoType")]
    _repo_type: Option<String>,
}

/// Checks README metadata as the Hub does (`kura_core::check_card`): 400 with `errors` for
/// invalid YAML, an unknown license or a malformed `model-index`; `warnings` for empty
/// metadata. Anonymous, so its body is small and typed.
pub(crate) async fn validate_yaml(ctx: &mut Ctx) -> ApiResult {
    let body: ValidateYamlBody = ctx.json_limited(VALIDATE_YAML_LIMIT).await?;
    let yaml = front_matter(&body.content);
    // Parsed YAML takes many times its text in memory: large ones count in the body budget.
    let parsed_bytes = yaml.map_or(0, |yaml| yaml.len() as u64 * YAML_EXPANSION);
    if parsed_bytes > crate::budget::UNCOUNTED_BYTES {
        ctx.reservation.cover(parsed_bytes).await?;
    }
    let check = check_card(&body.content);
    let status = if check.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, axum::Json(ValidateYamlView::new(check))).into_response())
}
