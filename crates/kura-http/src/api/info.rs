//! Read-only metadata: repo info and listing, refs, commit history, whoami, auth checks and
//! README validation.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use kura_core::{
    CardInfo, CoreError, Entry, Gating, RepoQuery, RepoRecord, RepoSort, front_matter, parse_front_matter,
};
use kura_model::{ObjectId, RepoType, format_timestamp};
use serde_json::{Map, Value, json};

use super::{cursor, json, next_link};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

fn gated_json(gating: Gating) -> Value {
    match gating {
        Gating::Off => json!(false),
        other => json!(other.as_str()),
    }
}

/// Fields every repo object carries, in listings and in repo info.
fn base_info(record: &RepoRecord) -> Map<String, Value> {
    let id = record.repo_id.to_string();
    let mut map = Map::new();
    map.insert("_id".into(), json!(format!("{:024x}", record.id)));
    map.insert("id".into(), json!(id));
    if record.repo_type == RepoType::Model {
        map.insert("modelId".into(), json!(id));
    }
    map.insert("author".into(), json!(record.repo_id.namespace()));
    map.insert("private".into(), json!(record.private));
    map.insert("gated".into(), gated_json(record.gating));
    map.insert("disabled".into(), json!(false));
    map.insert("downloads".into(), json!(0));
    map.insert("likes".into(), json!(0));
    map.insert("lastModified".into(), json!(format_timestamp(record.last_modified)));
    map.insert("createdAt".into(), json!(format_timestamp(record.created_at)));
    map.insert("tags".into(), json!(record.tags));
    map
}

fn add_card(map: &mut Map<String, Value>, card: &CardInfo, repo_type: RepoType) {
    map.insert("tags".into(), json!(card.tags));
    if let Some(data) = &card.card_data {
        map.insert("cardData".into(), data.clone());
        if let Some(sdk) = data.get("sdk").filter(|_| repo_type == RepoType::Space) {
            map.insert("sdk".into(), sdk.clone());
        }
    }
    if let Some(tag) = &card.pipeline_tag {
        map.insert("pipeline_tag".into(), json!(tag));
    }
    if let Some(library) = &card.library_name {
        map.insert("library_name".into(), json!(library));
    }
}

/// Entries read per step while listing `siblings`.
const SIBLINGS_STEP: usize = 1000;

/// The `siblings` of a tree: its files, walking at most `budget` entries (files and folders;
/// `Limits::max_siblings`) and taking what it used from it. A bigger tree gets a truncated
/// list, which clients recognise by its size and then list the tree, which pages.
async fn siblings(ctx: &Ctx, root: ObjectId, blobs: bool, budget: &mut usize) -> ApiResult<Value> {
    let mut files = Vec::new();
    let mut after: Option<String> = None;
    while *budget > 0 {
        let page = ctx
            .hub()
            .repos()
            .list_page(root, None, true, after.as_deref(), (*budget).min(SIBLINGS_STEP))
            .await
            .map_err(|e| ctx.fail(e))?;
        *budget = budget.saturating_sub(page.entries.len());
        for entry in &page.entries {
            let Entry::File { path, oid, info, .. } = entry else { continue };
            let mut file = json!({"rfilename": path});
            if blobs {
                file["blobId"] = json!(oid.to_hex());
                file["size"] = json!(info.lfs.map_or(info.size, |l| l.size));
                if let Some(lfs) = info.lfs {
                    file["lfs"] =
                        json!({"size": lfs.size, "sha256": lfs.oid.to_hex(), "pointerSize": info.size});
                }
            }
            files.push(file);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(Value::Array(files))
}

/// `Limits::max_siblings` as a count.
fn siblings_budget(ctx: &Ctx) -> usize {
    usize::try_from(ctx.hub().config().limits.max_siblings).unwrap_or(usize::MAX)
}

pub(crate) async fn get_repo_info(ctx: &mut Ctx, repo: &RepoRef, revision: Option<String>) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let resolved = ctx
        .hub()
        .repos()
        .resolve_revision(&record, revision.as_deref().unwrap_or("main"))
        .await
        .map_err(|e| ctx.fail(e))?;
    let commit = ctx.hub().repos().commit(&resolved.commit).await.map_err(|e| ctx.fail(e))?;
    let mut map = base_info(&record);
    map.insert("sha".into(), json!(resolved.commit.to_hex()));
    map.insert("lastModified".into(), json!(format_timestamp(commit.committer.time * 1000)));
    let card = ctx.hub().repos().card_info(commit.tree).await.map_err(|e| ctx.fail(e))?;
    add_card(&mut map, &card, record.repo_type);
    let expand: Vec<String> = ctx.params("expand").into_iter().map(str::to_owned).collect();
    if expand.is_empty() || expand.iter().any(|e| e == "siblings") {
        let mut budget = siblings_budget(ctx);
        map.insert("siblings".into(), siblings(ctx, commit.tree, ctx.flag("blobs"), &mut budget).await?);
    }
    map.insert("xetEnabled".into(), json!(true));
    map.insert("usedStorage".into(), json!(0));
    if !expand.is_empty() {
        map.retain(|key, _| key == "id" || key == "_id" || expand.iter().any(|e| e == key));
    }
    Ok(json(Value::Object(map)))
}

fn sort_of(ctx: &Ctx) -> RepoSort {
    match ctx.param("sort") {
        Some("createdAt" | "created_at") => RepoSort::CreatedAt,
        Some("id" | "modelId") => RepoSort::Id,
        _ => RepoSort::LastModified,
    }
}

pub(crate) async fn list_repos(ctx: &mut Ctx, repo_type: RepoType) -> ApiResult {
    let limit = match ctx.param("limit") {
        Some(l) => l.parse::<usize>().map_err(|_| ApiError::bad_request("Invalid limit"))?.clamp(1, 1000),
        None => 1000,
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
        sort,
        descending,
        offset: offset as u64,
        limit: limit as u64,
    };
    let records = ctx.hub().repos().list_repos(&ctx.identity, query).await.map_err(|e| ctx.fail(e))?;
    let full = ctx.flag("full");
    // One budget for the whole page: a thousand large repos cost what one does.
    let mut budget = siblings_budget(ctx);
    let mut items = Vec::with_capacity(records.len());
    for record in &records {
        let mut map = base_info(record);
        if full {
            let head = ctx.hub().repos().resolve_revision(record, "main").await.map_err(|e| ctx.fail(e))?;
            let root = ctx.hub().repos().commit_tree(&head.commit).await.map_err(|e| ctx.fail(e))?;
            map.insert("sha".into(), json!(head.commit.to_hex()));
            map.insert("siblings".into(), siblings(ctx, root, false, &mut budget).await?);
        }
        items.push(Value::Object(map));
    }
    let mut response = json(Value::Array(items)).into_response();
    if records.len() == limit {
        let link = next_link(ctx, &format!("/api/{}", repo_type.plural()), offset + limit);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    }
    Ok(response)
}

pub(crate) async fn list_refs(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let refs = ctx.hub().repos().refs(&record).await.map_err(|e| ctx.fail(e))?;
    let mut groups: [Vec<Value>; 4] = Default::default();
    for r in refs {
        let index = match r.name.as_str() {
            n if n.starts_with("refs/heads/") => 0,
            n if n.starts_with("refs/tags/") => 1,
            n if n.starts_with("refs/convert/") => 2,
            n if n.starts_with("refs/pr/") => 3,
            _ => continue,
        };
        groups[index]
            .push(json!({"name": r.name.short(), "ref": r.name.as_str(), "targetCommit": r.target.to_hex()}));
    }
    let [branches, tags, converts, prs] = groups;
    let mut body = json!({"branches": branches, "tags": tags, "converts": converts});
    if ctx.flag("include_prs") {
        body["pullRequests"] = json!(prs);
    }
    Ok(json(body))
}

pub(crate) async fn list_commits(ctx: &mut Ctx, repo: &RepoRef, revision: &str) -> ApiResult {
    const PAGE: usize = 100;
    let record = ctx.find_repo(repo).await?;
    let resolved = ctx.hub().repos().resolve_revision(&record, revision).await.map_err(|e| ctx.fail(e))?;
    let offset = cursor(ctx)?;
    let (commits, more) =
        ctx.hub().repos().history(resolved.commit, offset, PAGE).await.map_err(|e| ctx.fail(e))?;
    let items: Vec<Value> = commits
        .iter()
        .map(|(oid, commit)| {
            json!({
                "id": oid.to_hex(),
                "authors": [{"user": commit.author.name}],
                "date": format_timestamp(commit.committer.time * 1000),
                "title": commit.title(),
                "message": commit.body(),
            })
        })
        .collect();
    let mut response = json(Value::Array(items)).into_response();
    if more {
        let path = format!(
            "/api/{}/{}/commits/{}",
            repo.repo_type.plural(),
            record.repo_id,
            super::encode(revision)
        );
        let link = next_link(ctx, &path, offset + PAGE);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    }
    Ok(response)
}

pub(crate) async fn whoami(ctx: &mut Ctx) -> ApiResult {
    let Some(principal) = ctx.identity.principal() else {
        return Err(ApiError::from_core(
            CoreError::Unauthorized("You must be authenticated to call whoami".into()),
            true,
        ));
    };
    let orgs = ctx.hub().accounts().user_orgs(principal).await.map_err(|e| ctx.fail(e))?;
    let orgs: Vec<Value> = orgs
        .iter()
        .map(|(name, role)| json!({"type": "org", "name": name, "fullname": name, "avatarUrl": "", "roleInOrg": role.as_str()}))
        .collect();
    let mut body = json!({
        "type": "user",
        "id": principal.user.id.to_string(),
        "name": principal.user.name,
        "fullname": principal.user.name,
        "email": null,
        "emailVerified": false,
        "avatarUrl": "",
        "isPro": false,
        "isAdmin": principal.user.is_admin,
        "orgs": orgs,
        "auth": {"type": "access_token", "accessToken": super::tokens::access_token_json(principal)},
    });
    if let Some(session) = &principal.session {
        body["auth"] = json!({"type": "session", "csrfToken": ctx.hub().accounts().csrf_token(session)});
    }
    Ok(json(body))
}

pub(crate) async fn auth_check(ctx: &mut Ctx, repo: &RepoRef, write: bool) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    if write {
        ctx.hub().accounts().authorize_write(&ctx.identity, &record).await.map_err(|e| ctx.fail(e))?;
    } else {
        ctx.hub().accounts().authorize_files(&ctx.identity, &record).await.map_err(|e| ctx.fail(e))?;
    }
    Ok(json(json!({})))
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

/// Checks README front matter; 400 with `errors` when it is not valid YAML. Anonymous, so
/// its body is small and typed.
pub(crate) async fn validate_yaml(ctx: &mut Ctx) -> ApiResult {
    let body: ValidateYamlBody = ctx.json_limited(VALIDATE_YAML_LIMIT).await?;
    let yaml = front_matter(&body.content);
    // Parsed YAML takes many times its text in memory: large ones count in the body budget.
    let parsed_bytes = yaml.map_or(0, |yaml| yaml.len() as u64 * YAML_EXPANSION);
    if parsed_bytes > crate::budget::UNCOUNTED_BYTES {
        ctx.reservation.cover(parsed_bytes).await?;
    }
    let result = yaml.map(parse_front_matter);
    match result {
        Some(Err(message)) => Ok((
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"errors": [{"message": message}], "warnings": []})),
        )
            .into_response()),
        _ => Ok(json(json!({"errors": [], "warnings": []}))),
    }
}
