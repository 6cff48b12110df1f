//! Discussions, as huggingface_hub calls them: list (`?p=&type=&status=&author=`), create,
//! details, comment, rename, open/close, edit and hide a comment, and pull requests: opened
//! with `pullRequest: true`, merged by `…/merge`.

use kura_core::ListQuery;
use kura_core::views::{DiscussionCreatedView, DiscussionDetailsView, DiscussionListView, event_answer};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::json;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Room for a 64 KiB comment, JSON-escaped, and the other fields.
const BODY_LIMIT: usize = 400 * 1024;

#[derive(Deserialize)]
struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "pullRequest")]
    pull_request: bool,
}

#[derive(Deserialize)]
struct CommentBody {
    comment: String,
}

#[derive(Deserialize)]
struct TitleBody {
    title: String,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
    comment: Option<String>,
}

#[derive(Deserialize, Default)]
struct MergeBody {
    comment: Option<String>,
    /// kura's own: the head the reviewer saw; a pull request that moved since is refused.
    #[serde(rename = "expectedHead")]
    expected_head: Option<String>,
}

#[derive(Deserialize)]
struct EditBody {
    content: String,
}

async fn body<T: DeserializeOwned>(ctx: &mut Ctx) -> Result<T, ApiError> {
    let bytes = ctx.body_bytes(BODY_LIMIT).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

fn number(num: &str) -> Result<u64, ApiError> {
    num.parse::<u64>()
        .ok()
        .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
        .ok_or_else(|| kura_core::CoreError::NotFound("Discussion not found".into()).into())
}

/// `GET /api/{type}s/{repo}/discussions`.
pub(crate) async fn list(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let page = match ctx.param("p") {
        None => 0,
        Some(p) => p.parse::<u64>().map_err(|_| ApiError::bad_request("'p' must be a page number"))?,
    };
    let query = ListQuery {
        kind: ctx.param("type").map(str::to_owned),
        status: ctx.param("status").map(str::to_owned),
        author: ctx.param("author").map(str::to_owned),
        page,
    };
    let found = ctx.hub().discussions().list(&ctx.identity, &record, &query).await?;
    Ok(json(DiscussionListView::new(&found, record.repo_type, &record.repo_id)))
}

/// `POST /api/{type}s/{repo}/discussions` `{"title", "description", "pullRequest"}`.
pub(crate) async fn create(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: CreateBody = body(ctx).await?;
    let num = ctx
        .hub()
        .discussions()
        .create(&ctx.identity, &record, &body.title, &body.description, body.pull_request)
        .await?;
    Ok(json(DiscussionCreatedView { num }))
}

/// `GET /api/{type}s/{repo}/discussions/{num}`.
pub(crate) async fn details(ctx: &mut Ctx, repo: &RepoRef, num: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let num = number(num)?;
    let details = ctx.hub().discussions().get(&ctx.identity, &record, num).await?;
    let mut view = DiscussionDetailsView::new(&details, record.repo_type, &record.repo_id);
    if details.discussion.is_pull_request && ctx.flag("diff") {
        view.diff = ctx.hub().discussions().pull_diff(&ctx.identity, &record, &details).await?;
    }
    Ok(json(view))
}

/// `POST …/discussions/{num}/{comment|title|status|merge}`.
pub(crate) async fn act(ctx: &mut Ctx, repo: &RepoRef, num: &str, action: &str) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let num = number(num)?;
    let hub = ctx.hub().clone();
    let discussions = hub.discussions();
    let answer = match action {
        "comment" => {
            let body: CommentBody = body(ctx).await?;
            event_answer(
                "newMessage",
                &discussions.comment(&ctx.identity, &record, num, &body.comment).await?,
            )
        }
        "title" => {
            let body: TitleBody = body(ctx).await?;
            event_answer("newTitle", &discussions.rename(&ctx.identity, &record, num, &body.title).await?)
        }
        "status" => {
            let body: StatusBody = body(ctx).await?;
            let event = discussions
                .set_status(&ctx.identity, &record, num, &body.status, body.comment.as_deref())
                .await?;
            event_answer("newStatus", &event)
        }
        "merge" => {
            // huggingface_hub sends no body unless there is a comment.
            let bytes = ctx.body_bytes(BODY_LIMIT).await?;
            let body: MergeBody = match bytes.iter().all(u8::is_ascii_whitespace) {
                true => MergeBody::default(),
                false => serde_json::from_slice(&bytes)
                    .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))?,
            };
            let expected = match body.expected_head.as_deref().map(kura_model::ObjectId::from_hex) {
                None => None,
                Some(Ok(oid)) => Some(oid),
                Some(Err(_)) => return Err(ApiError::bad_request("'expectedHead' must be a full commit id")),
            };
            let merged =
                discussions.merge(&ctx.identity, &record, num, body.comment.as_deref(), expected).await?;
            event_answer("newStatus", &merged)
        }
        _ => return Err(ApiError::not_found()),
    };
    Ok(json(answer))
}

/// `POST …/discussions/{num}/comment/{id}/{edit|hide}`.
pub(crate) async fn change_comment(
    ctx: &mut Ctx,
    repo: &RepoRef,
    num: &str,
    id: &str,
    action: &str,
) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let num = number(num)?;
    let hub = ctx.hub().clone();
    let discussions = hub.discussions();
    let event = match action {
        "edit" => {
            let body: EditBody = body(ctx).await?;
            discussions.edit_comment(&ctx.identity, &record, num, id, &body.content).await?
        }
        "hide" => discussions.hide_comment(&ctx.identity, &record, num, id).await?,
        _ => return Err(ApiError::not_found()),
    };
    Ok(json(event_answer("updatedComment", &event)))
}
