//! Spaces: `GET /api/spaces/{id}/runtime`, `GET|POST|DELETE /api/spaces/{id}/variables`, and
//! the compute endpoints, which answer 501 (this hub runs no compute).

use kura_core::CoreError;
use kura_core::views::space_variables_view;
use serde::Deserialize;

use super::json;
use crate::context::Ctx;
use crate::error::ApiResult;
use crate::route::RepoRef;

/// Variables bodies are small.
const VARIABLE_BODY_LIMIT: usize = 64 << 10;

/// `GET /api/spaces/{id}/runtime`.
pub(crate) async fn runtime(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let repos = ctx.hub().repos();
    let head = repos.resolve_revision(&record, "main").await?;
    let card = repos.card_info(repos.commit_tree(&head.commit).await?).await?;
    let facts = repos.space_facts(&record, &card).await?;
    Ok(json(facts.runtime))
}

/// `GET /api/spaces/{id}/variables`.
pub(crate) async fn variables(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let variables = ctx.hub().repos().space_variables(&ctx.identity, &record).await?;
    Ok(json(space_variables_view(&variables)))
}

#[derive(Deserialize)]
struct AddVariable {
    key: String,
    value: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct DeleteVariable {
    key: String,
}

/// `POST /api/spaces/{id}/variables` `{key, value, description?}`: the variables afterwards.
pub(crate) async fn add_variable(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: AddVariable = ctx.json_limited(VARIABLE_BODY_LIMIT).await?;
    let variables = ctx
        .hub()
        .repos()
        .set_space_variable(&ctx.identity, &record, &body.key, &body.value, body.description.as_deref())
        .await?;
    Ok(json(space_variables_view(&variables)))
}

/// `DELETE /api/spaces/{id}/variables` `{key}`: the variables afterwards.
pub(crate) async fn delete_variable(ctx: &mut Ctx, repo: &RepoRef) -> ApiResult {
    let record = ctx.find_repo(repo).await?;
    let body: DeleteVariable = ctx.json_limited(VARIABLE_BODY_LIMIT).await?;
    let variables = ctx.hub().repos().delete_space_variable(&ctx.identity, &record, &body.key).await?;
    Ok(json(space_variables_view(&variables)))
}

/// Hardware, secrets, sleep time, pausing, restarts, dev mode, logs, volumes, duplication.
pub(crate) fn compute() -> ApiResult {
    Err(CoreError::NotImplemented(
        "This hub runs no compute: it serves static Spaces only (no hardware, secrets, restarts, logs or volumes)"
            .to_owned(),
    )
    .into())
}
