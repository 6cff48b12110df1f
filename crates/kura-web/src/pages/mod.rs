//! Page handlers, one module per area, and the dispatch from pages to them.

mod auth;
mod blob;
mod collection;
mod collections;
mod commit;
mod discussion;
mod discussion_events;
mod discussions;
mod facts;
mod format;
mod gallery;
mod history;
mod home;
pub(crate) mod layout;
mod new_repo;
mod pull_diff;
mod repo;
mod repo_common;
mod scan;
mod settings;
mod tokens;
mod tree;
mod upload;
pub(crate) mod viewer;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::Page;

pub(crate) async fn run(req: &mut Req, page: Page) -> WebResult {
    match page {
        Page::Asset(name) => crate::assets::serve(&name),
        Page::Home => home::home(req).await,
        Page::Listing(repo_type) => home::listing(req, repo_type).await,
        Page::Profile(name) => home::profile(req, &name).await,
        Page::Login if req.method == axum::http::Method::POST => auth::login(req).await,
        Page::Login => auth::login_page(req, None),
        Page::Logout => auth::logout(req).await,
        Page::Repo(repo) => repo::repo_page(req, &repo).await,
        Page::AskAccess(repo) => repo::ask_access(req, &repo).await,
        Page::NewRepo if req.method == axum::http::Method::POST => new_repo::create(req).await,
        Page::NewRepo => new_repo::new_repo_page(req).await,
        Page::Tokens if req.method == axum::http::Method::POST => tokens::create(req).await,
        Page::Tokens => tokens::tokens_page(req).await,
        Page::RevokeToken(id) => tokens::revoke(req, &id).await,
        Page::UpstreamToken { delete } => tokens::upstream_token(req, delete).await,
        Page::Settings { action: None, .. } if req.method == axum::http::Method::POST => {
            Err(WebError::not_found())
        }
        Page::Settings { repo, action: None } => settings::settings_page(req, &repo).await,
        Page::Settings { repo, action: Some(action) } => settings::change(req, &repo, &action).await,
        Page::Upload { repo, revision } if req.method == axum::http::Method::POST => {
            upload::upload(req, &repo, &revision).await
        }
        Page::Upload { repo, revision } => upload::upload_page(req, &repo, &revision).await,
        Page::Tree { repo, revision, path } => tree::tree_page(req, &repo, &revision, &path).await,
        Page::Blob { repo, revision, path } => blob::blob_page(req, &repo, &revision, &path).await,
        Page::Commits { repo, revision, path } => history::history_page(req, &repo, &revision, &path).await,
        Page::Commit { repo, id } => commit::commit_page(req, &repo, &id).await,
        Page::Like(repo) => repo_common::like(req, &repo).await,
        Page::Discussions(repo) => discussions::discussions_page(req, &repo).await,
        Page::NewDiscussion(repo) if req.method == axum::http::Method::POST => {
            discussions::create(req, &repo).await
        }
        Page::NewDiscussion(repo) => discussions::new_discussion_page(req, &repo).await,
        Page::Discussion { repo, num } => discussion::discussion_page(req, &repo, num).await,
        Page::DiscussionAction { repo, num, action } => discussion::act(req, &repo, num, &action).await,
        Page::Collections(namespace) => collections::collections_page(req, &namespace).await,
        Page::NewCollection(namespace) if req.method == axum::http::Method::POST => {
            collections::create(req, &namespace).await
        }
        Page::NewCollection(namespace) => collections::new_collection_page(req, &namespace).await,
        Page::Collection { namespace, slug } => collection::collection_page(req, &namespace, &slug).await,
        Page::CollectionAction { namespace, slug, action } => {
            collection::act(req, &namespace, &slug, &action).await
        }
        Page::Viewer { repo, split } => {
            let (config, split) = split.map_or((None, None), |(c, s)| (Some(c), Some(s)));
            viewer::viewer_page(req, &repo, config.as_deref(), split.as_deref()).await
        }
    }
}

/// Security headers of every page: scripts and styles only from this server, no framing,
/// no plugins, forms only to this server.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
     media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Lets a page frame `src`'s origin (a Space's app), on top of the page policy.
pub(crate) fn allow_frame(response: &mut Response, src: &str) {
    let origin = src.split('/').take(3).collect::<Vec<_>>().join("/");
    if let Ok(value) = HeaderValue::from_str(&format!("{PAGE_CSP}; frame-src {origin}")) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Renders a template into a page response.
pub(crate) fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// A 200 page.
pub(crate) fn ok<T: Template>(page: &T) -> WebResult {
    Ok(html(StatusCode::OK, page))
}

/// The answer to a form post: 303 to the page that shows its result.
pub(crate) fn see_other(location: &str) -> WebResult {
    let value = HeaderValue::from_str(location).map_err(|_| WebError::bad_request("Invalid redirect"))?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response())
}
