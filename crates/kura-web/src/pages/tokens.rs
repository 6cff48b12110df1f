//! `/settings/tokens`: the signed-in user's access tokens. A new token's secret is shown once,
//! in the answer to the form (never in a URL or a redirect), as the core never returns it again.

use askama::Template;
use axum::http::StatusCode;
use kura_core::{Authority, CoreError, TokenSpec};
use kura_model::Role;

use super::format;
use super::layout::Layout;
use super::{html, see_other};
use crate::error::{WebError, WebResult};
use crate::request::Req;

/// Most tokens listed (the core lists them all; a user with more sees the newest).
const MAX_LISTED: usize = 500;

pub(crate) struct TokenRow {
    id: i64,
    name: String,
    role: &'static str,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    /// The secret of the token just created (shown once).
    new_token: Option<String>,
    error: Option<String>,
    /// The mirror's upstream hub and whether the user stored a token for it (mirrors only).
    upstream: Option<UpstreamRow>,
}

pub(crate) struct UpstreamRow {
    url: String,
    stored: Option<String>,
}

async fn upstream_row(req: &Req) -> WebResult<Option<UpstreamRow>> {
    let Some(url) = req.hub().mirror_upstream_url() else { return Ok(None) };
    let status = req.hub().mirror().external_token_status(&req.identity, Some(url.clone())).await?;
    Ok(Some(UpstreamRow { url, stored: status.stored_at.map(format::day_of_millis) }))
}

async fn rows(req: &Req, user: &str) -> WebResult<Vec<TokenRow>> {
    let mut tokens = req.hub().accounts().list_tokens(Authority::Caller(&req.identity), user).await?;
    tokens.retain(|t| t.revoked_at.is_none());
    tokens.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    tokens.truncate(MAX_LISTED);
    Ok(tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            role: t.role.as_str(),
            created: format::day_of_millis(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".to_owned(), format::day_of_millis),
        })
        .collect())
}

async fn render(
    req: &Req,
    status: StatusCode,
    new_token: Option<String>,
    error: Option<String>,
) -> WebResult {
    let user = req.require_user()?;
    let page = TokensPage {
        layout: Layout::new(req, "Access tokens"),
        tokens: rows(req, &user).await?,
        new_token,
        error,
        upstream: upstream_row(req).await?,
    };
    Ok(html(status, &page))
}

pub(crate) async fn tokens_page(req: &Req) -> WebResult {
    render(req, StatusCode::OK, None, None).await
}

pub(crate) async fn create(req: &mut Req) -> WebResult {
    let user = req.require_user()?;
    let form = req.form().await?;
    let role = match form.get("role").unwrap_or("read") {
        "read" => Role::Read,
        "write" => Role::Write,
        other => {
            let message = format!("Unknown role '{other}' (read or write)");
            return render(req, StatusCode::BAD_REQUEST, None, Some(message)).await;
        }
    };
    let spec = TokenSpec {
        name: form.get("name").unwrap_or("").trim().to_owned(),
        role,
        expires_at: None,
        scopes: Vec::new(),
    };
    match req.hub().accounts().issue_token(Authority::Caller(&req.identity), &user, spec).await {
        Ok(issued) => render(req, StatusCode::OK, Some(issued.secret), None).await,
        Err(error @ (CoreError::InvalidInput(_) | CoreError::Conflict { .. } | CoreError::TooLarge(_))) => {
            let error = WebError::from(error);
            render(req, error.status(), None, Some(error.message().to_owned())).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Revokes one of the caller's own tokens (an admin's page never revokes another's).
pub(crate) async fn revoke(req: &mut Req, id: &str) -> WebResult {
    let user = req.require_user()?;
    req.form().await?;
    let id: i64 = id.parse().map_err(|_| WebError::not_found())?;
    let own = req.hub().accounts().list_tokens(Authority::Caller(&req.identity), &user).await?;
    if !own.iter().any(|t| t.id == id && t.revoked_at.is_none()) {
        return Err(WebError::not_found());
    }
    req.hub().accounts().revoke_token(Authority::Caller(&req.identity), id).await?;
    see_other("/settings/tokens")
}

/// Stores (or deletes) the caller's token for the mirror's upstream hub.
pub(crate) async fn upstream_token(req: &mut Req, delete: bool) -> WebResult {
    req.require_user()?;
    let form = req.form().await?;
    if delete {
        req.hub().mirror().delete_external_token(&req.identity).await?;
        return see_other("/settings/tokens");
    }
    let token = form.get("token").unwrap_or("").to_owned();
    match req.hub().mirror().set_external_token(&req.identity, &token).await {
        Ok(()) => see_other("/settings/tokens"),
        Err(error @ (CoreError::InvalidInput(_) | CoreError::NotFound(_))) => {
            let error = WebError::from(error);
            render(req, error.status(), None, Some(error.message().to_owned())).await
        }
        Err(error) => Err(error.into()),
    }
}
