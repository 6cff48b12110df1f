//! Handlers, grouped by API area, and the dispatch from routes to them.

mod access;
mod collections;
mod commit;
pub(crate) mod commit_line;
mod discussions;
mod entries;
mod git;
mod git_common;
mod git_push;
mod info;
mod lfs;
mod likes;
mod maintenance;
mod manage;
mod metrics;
mod mirror;
mod orgs;
mod resolve;
mod session;
mod spaces;
mod tokens;
mod viewer;
mod xet;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use serde::Serialize;

use crate::AppState;
use crate::budget::Reservation;
use crate::context::{Ctx, query_pairs};
use crate::error::{ApiError, ApiResult};
use crate::route::{self, Route};

/// The token from `Authorization` (Bearer, or Basic with the token as password): `Ok(None)`
/// without the header, `Err(())` for a header that carries no token kura can read (answered
/// 401 like a wrong token, never served as anonymous).
fn bearer(request: &Request) -> Result<Option<String>, ()> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(())?;
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).map_err(|_| ())?;
        let text = String::from_utf8(decoded).map_err(|_| ())?;
        text.split_once(':').map(|(_, password)| password.to_owned()).ok_or(())?
    } else {
        return Err(());
    };
    if token.is_empty() { Err(()) } else { Ok(Some(token)) }
}

/// Routes a request and turns any error into the Hub's error response.
pub(crate) async fn handle(state: AppState, request: Request) -> Response {
    let route = route::parse(request.uri().path());
    let (token, bad_credentials) = match bearer(&request) {
        Ok(token) => (token, false),
        Err(()) => (None, true),
    };
    let query = query_pairs(request.uri().query().unwrap_or(""));
    let (path, raw_query) = (request.uri().path().to_owned(), request.uri().query().map(str::to_owned));
    let drain = Duration::from_secs(state.hub.config().limits.drain_timeout_secs);
    let (parts, body) = request.into_parts();
    // A bearer token wins over a session cookie; login ignores a stale cookie.
    let cookie =
        if token.is_none() && route != Route::Login { session::session_cookie(&parts.headers) } else { None };
    let client_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| {
        let values: Vec<&[u8]> =
            parts.headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()).collect();
        crate::client_ip::client_address(info.0.ip(), values.into_iter(), &state.trusted_proxies)
    });
    // Signed transfer URLs carry their own authority; a stray header must not break them.
    // The metrics token is no hub token: `/metrics` checks it itself.
    let metrics_token = route == Route::Metrics && metrics::is_metrics_token(&state, token.as_deref());
    let access = route.access(&parts.method);
    let identity = if metrics_token || access.own_credential() || route == Route::Health {
        Ok(kura_core::Identity::Anonymous)
    } else if bad_credentials {
        Err(kura_core::CoreError::Unauthorized(kura_core::INVALID_CREDENTIALS.to_owned()))
    } else if let Some(secret) = &cookie {
        state.hub.accounts().authenticate_session(secret).await
    } else {
        state.hub.accounts().authenticate(token.as_deref()).await
    };
    // A mirror-only deployment may forward a bearer token kura never issued to the upstream
    // as the caller's own; the caller is anonymous here.
    let mut upstream_token = None;
    let identity = match identity {
        Err(kura_core::CoreError::Unauthorized(_)) if !bad_credentials && cookie.is_none() => {
            match token.as_deref() {
                Some(secret)
                    if !metrics::is_metrics_token(&state, Some(secret))
                        && state.hub.mirror().forwards(secret).await.unwrap_or(false) =>
                {
                    upstream_token = Some(secret.to_owned());
                    Ok(kura_core::Identity::Anonymous)
                }
                _ => identity,
            }
        }
        other => other,
    };
    let identity = match identity {
        Ok(identity) => identity,
        Err(error) => return answered(ApiError::from_core(error, true).into_response(), Some(body), drain),
    };
    if access.needs_user() && identity.is_anonymous() && !metrics_token {
        let error = kura_core::CoreError::Unauthorized(
            "You must be authenticated to call this endpoint: send a token in the Authorization header"
                .to_owned(),
        );
        return answered(ApiError::from_core(error, true).into_response(), Some(body), drain);
    }
    if let Err(error) = session::check_csrf(&state, &identity, &parts.method, &parts.headers) {
        return answered(ApiError::from_core(error, false).into_response(), Some(body), drain);
    }
    let reservation = Reservation::new(&state.body_budget);
    let mut ctx = Ctx {
        state,
        method: parts.method,
        headers: parts.headers,
        query,
        body: std::sync::Mutex::new(Some(body)),
        identity,
        bearer: token,
        client_ip,
        reservation,
        upstream_token,
    };
    // The one place a handler's error meets the caller: CAS routes authenticate by Xet
    // token, never as a hub user, so their errors are never the anonymous 401.
    let anonymous = ctx.anonymous() && !matches!(route, Route::Cas(_));
    let raw_content = matches!(route, Route::Resolve { .. });
    let mut response = match run(&mut ctx, route).await {
        Ok(response) => response,
        Err(error) => {
            let moved = error.moved.as_deref().and_then(|(from, to)| {
                crate::moved::redirect(&crate::moved::location(&path, raw_query.as_deref(), from, to)?)
            });
            moved.unwrap_or_else(|| error.for_caller(anonymous).into_response())
        }
    };
    if raw_content {
        resolve::sandbox(response.headers_mut());
    }
    let unread = ctx.body.lock().ok().and_then(|mut body| body.take());
    answered(response, unread, drain)
}

/// Most of a request body a refused request may still send; past it the connection closes.
const DRAIN_LIMIT: u64 = 256 << 20;

/// Sends `response`, and reads what is left of a request body the handler did not consume
/// (a refusal before reading it, a 404 for a route clients probe with a body, such as
/// `/cas/v2/shards`). Left unread, the connection would be closed while the client, or a
/// reverse proxy, is still sending: nginx then sees a broken pipe and marks the replica down.
/// The drain stops after `DRAIN_LIMIT` bytes or `deadline`, whichever comes first (a stalled
/// body also ends it): dropping the body then closes the connection.
fn answered(response: Response, unread: Option<axum::body::Body>, deadline: Duration) -> Response {
    use axum::body::HttpBody;
    if let Some(body) = unread.filter(|b| !b.is_end_stream()) {
        tokio::spawn(async move {
            let drain = async {
                let mut stream = body.into_data_stream();
                let mut seen = 0u64;
                while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut stream).await {
                    seen += chunk.len() as u64;
                    if seen > DRAIN_LIMIT {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(deadline, drain).await;
        });
    }
    response
}

async fn run(ctx: &mut Ctx, route: Route) -> ApiResult {
    if let Some(answer) = mirror::answer(ctx, &route).await {
        return answer;
    }
    let method = ctx.method.clone();
    match (method, route) {
        (Method::GET, Route::Health) => Ok((StatusCode::OK, "ok").into_response()),
        (Method::GET, Route::Metrics) => metrics::get_metrics(ctx).await,
        (Method::GET, Route::WhoAmI) => info::whoami(ctx).await,
        (Method::POST, Route::Login) => session::login(ctx).await,
        (Method::POST, Route::Logout) => session::logout(ctx).await,
        (Method::POST, Route::ValidateYaml) => info::validate_yaml(ctx).await,
        (Method::POST, Route::CreateRepo) => manage::create_repo(ctx).await,
        (Method::DELETE, Route::DeleteRepo) => manage::delete_repo(ctx).await,
        (Method::POST, Route::MoveRepo) => manage::move_repo(ctx).await,
        (Method::GET, Route::ListRepos(repo_type)) => info::list_repos(ctx, repo_type).await,
        (Method::GET, Route::RepoInfo { repo, revision }) => info::get_repo_info(ctx, &repo, revision).await,
        (Method::GET, Route::SafetensorsMetadata { repo, filename }) => {
            info::safetensors_metadata(ctx, &repo, &filename).await
        }
        (Method::GET, Route::Tree { repo, revision, path }) => {
            entries::list_repo_tree(ctx, &repo, &revision, path).await
        }
        (Method::POST, Route::PathsInfo { repo, revision }) => {
            entries::get_paths_info(ctx, &repo, &revision).await
        }
        (Method::GET, Route::Refs { repo }) => info::list_refs(ctx, &repo).await,
        (Method::GET, Route::Commits { repo, revision }) => info::list_commits(ctx, &repo, &revision).await,
        (Method::POST, Route::Preupload { repo, revision }) => commit::preupload(ctx, &repo, &revision).await,
        (Method::POST, Route::Commit { repo, revision }) => {
            commit::create_commit(ctx, &repo, &revision).await
        }
        (Method::POST, Route::Branch { repo, branch }) => manage::create_branch(ctx, &repo, &branch).await,
        (Method::DELETE, Route::Branch { repo, branch }) => manage::delete_branch(ctx, &repo, &branch).await,
        (Method::POST, Route::Tag { repo, value }) => manage::create_tag(ctx, &repo, &value).await,
        (Method::DELETE, Route::Tag { repo, value }) => manage::delete_tag(ctx, &repo, &value).await,
        (Method::PUT, Route::Settings { repo }) => manage::update_settings(ctx, &repo).await,
        (Method::POST, Route::SuperSquash { repo, branch }) => {
            maintenance::super_squash(ctx, &repo, &branch).await
        }
        (Method::GET, Route::LfsFiles { repo }) => maintenance::list_lfs_files(ctx, &repo).await,
        (Method::POST, Route::LfsFilesBatch { repo }) => maintenance::delete_lfs_files(ctx, &repo).await,
        (Method::POST, Route::LfsFilesDuplicate { repo }) => {
            maintenance::duplicate_lfs_files(ctx, &repo).await
        }
        (Method::GET, Route::RepoStorage { org }) => maintenance::repo_storage(ctx, org.as_deref()).await,
        (Method::GET, Route::AuthCheck { repo, write }) => info::auth_check(ctx, &repo, write).await,
        (Method::POST, Route::AskAccess { repo }) => access::ask_access(ctx, &repo).await,
        (Method::GET, Route::UserAccessRequest { repo, action }) => {
            access::list_access_requests(ctx, &repo, &action).await
        }
        (Method::POST, Route::UserAccessRequest { repo, action }) => {
            access::change_access_request(ctx, &repo, &action).await
        }
        (Method::GET, Route::AuditLog) => access::list_audit_log(ctx).await,
        (Method::GET, Route::OrgMembers { org }) => orgs::list_members(ctx, &org).await,
        (Method::POST, Route::OrgMembers { org }) => orgs::add_member(ctx, &org).await,
        (Method::DELETE, Route::OrgMember { org, user }) => orgs::remove_member(ctx, &org, &user).await,
        (Method::PUT, Route::OrgMemberRole { org, user }) => orgs::set_role(ctx, &org, &user).await,
        (Method::GET, Route::Tokens) => tokens::list_tokens(ctx).await,
        (Method::POST, Route::Tokens) => tokens::create_token(ctx).await,
        (Method::DELETE, Route::Token { id }) => tokens::revoke_token(ctx, &id).await,
        (Method::GET, Route::UpstreamToken) => mirror::get_upstream_token(ctx).await,
        (Method::PUT, Route::UpstreamToken) => mirror::put_upstream_token(ctx).await,
        (Method::DELETE, Route::UpstreamToken) => mirror::delete_upstream_token(ctx).await,
        (Method::GET, Route::Collections) => collections::list_collections(ctx).await,
        (Method::POST, Route::Collections) => collections::create_collection(ctx).await,
        (Method::GET, Route::Collection { slug }) => collections::get_collection(ctx, &slug).await,
        (Method::PATCH, Route::Collection { slug }) => collections::update_collection(ctx, &slug).await,
        (Method::DELETE, Route::Collection { slug }) => collections::delete_collection(ctx, &slug).await,
        (Method::POST, Route::CollectionItems { slug }) => collections::add_collection_item(ctx, &slug).await,
        (Method::PATCH, Route::CollectionItem { slug, item }) => {
            collections::update_collection_item(ctx, &slug, &item).await
        }
        (Method::DELETE, Route::CollectionItem { slug, item }) => {
            collections::delete_collection_item(ctx, &slug, &item).await
        }
        (Method::POST, Route::Like { repo }) => likes::like(ctx, &repo, true).await,
        (Method::DELETE, Route::Like { repo }) => likes::like(ctx, &repo, false).await,
        (Method::GET, Route::Likers { repo }) => likes::likers(ctx, &repo).await,
        (Method::GET, Route::UserLikes { user }) => likes::user_likes(ctx, &user).await,
        (Method::GET, Route::SpaceRuntime { repo }) => spaces::runtime(ctx, &repo).await,
        (Method::GET, Route::SpaceVariables { repo }) => spaces::variables(ctx, &repo).await,
        (Method::POST, Route::SpaceVariables { repo }) => spaces::add_variable(ctx, &repo).await,
        (Method::DELETE, Route::SpaceVariables { repo }) => spaces::delete_variable(ctx, &repo).await,
        (_, Route::SpaceCompute) => spaces::compute(),
        (Method::GET, Route::Discussions { repo }) => discussions::list(ctx, &repo).await,
        (Method::POST, Route::Discussions { repo }) => discussions::create(ctx, &repo).await,
        (Method::GET, Route::Discussion { repo, num }) => discussions::details(ctx, &repo, &num).await,
        (Method::POST, Route::DiscussionAction { repo, num, action }) => {
            discussions::act(ctx, &repo, &num, &action).await
        }
        (Method::POST, Route::DiscussionComment { repo, num, comment, action }) => {
            discussions::change_comment(ctx, &repo, &num, &comment, &action).await
        }
        (Method::GET | Method::HEAD, Route::Resolve { repo, revision, path }) => {
            resolve::resolve_file(ctx, &repo, &revision, &path).await
        }
        (Method::POST, Route::LfsBatch { repo }) => lfs::batch(ctx, &repo).await,
        (Method::GET, Route::GitInfoRefs { repo }) => git::info_refs(ctx, &repo).await,
        (Method::POST, Route::GitUploadPack { repo }) => git::upload_pack(ctx, &repo).await,
        (Method::POST, Route::GitReceivePack { repo }) => git_push::receive(ctx, &repo).await,
        (Method::PUT | Method::POST | Method::GET, Route::LfsTransfer { token }) => {
            lfs::transfer(ctx, &token).await
        }
        (Method::GET, Route::XetToken { repo, write, revision }) => {
            xet::get_xet_token(ctx, &repo, write, &revision).await
        }
        (_, Route::Cas(route)) => xet::cas(ctx, route).await,
        (Method::GET, Route::Viewer { endpoint }) => viewer::endpoint(ctx, &endpoint).await,
        (Method::GET, Route::ViewerAsset(asset)) => viewer::asset(ctx, &asset).await,
        (Method::GET, Route::DatasetParquet { repo, config, split, file }) => {
            viewer::parquet_listing(ctx, &repo, config.as_deref(), split.as_deref(), file.as_deref()).await
        }
        (Method::GET, Route::DatasetCroissant { repo }) => viewer::croissant(ctx, &repo).await,
        (_, Route::RepoWithoutNamespace) => Err(kura_core::CoreError::RepoNotFound.into()),
        (_, Route::NotFound) => Err(ApiError::not_found()),
        _ => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")),
    }
}

/// A JSON response.
pub(crate) fn json(view: impl Serialize) -> Response {
    axum::Json(view).into_response()
}

/// `view` (a JSON object without `key`) with `key` set to JSON already serialised (and
/// cached) elsewhere, when there is one: the object's bytes get `"key":value` before the
/// closing brace.
pub(crate) fn json_with(
    view: &impl Serialize,
    key: &str,
    value: Option<&serde_json::value::RawValue>,
) -> ApiResult {
    let mut body = serde_json::to_vec(view)
        .map_err(|e| ApiError::from(kura_core::CoreError::Corrupt(format!("a JSON answer: {e}"))))?;
    if let Some(value) = value {
        if body.pop() != Some(b'}') {
            return Err(ApiError::from(kura_core::CoreError::Corrupt(
                "a JSON answer that is not an object".into(),
            )));
        }
        if body.len() > 1 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, key)
            .map_err(|e| ApiError::from(kura_core::CoreError::Corrupt(format!("a JSON key: {e}"))))?;
        body.push(b':');
        body.extend_from_slice(value.get().as_bytes());
        body.push(b'}');
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Pagination: the `Link` header for the next page, built on the public URL.
pub(crate) fn next_link(ctx: &Ctx, path: &str, cursor: impl std::fmt::Display) -> String {
    let mut pairs: Vec<String> = ctx
        .query
        .iter()
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    pairs.push(format!("cursor={}", encode(&cursor.to_string())));
    format!("<{}{}?{}>; rel=\"next\"", ctx.state.public_url, path, pairs.join("&"))
}

pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Offset from the opaque `cursor` parameter.
pub(crate) fn cursor(ctx: &Ctx) -> ApiResult<usize> {
    match ctx.param("cursor") {
        None => Ok(0),
        Some(c) => c.parse().map_err(|_| ApiError::bad_request("Invalid cursor")),
    }
}

/// Default and largest page of the listings with `limit` and `cursor`.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

pub(crate) fn page_limit(ctx: &Ctx) -> ApiResult<usize> {
    match ctx.param("limit") {
        Some(l) => {
            Ok(l.parse::<usize>().map_err(|_| ApiError::bad_request("Invalid limit"))?.clamp(1, MAX_PAGE))
        }
        None => Ok(DEFAULT_PAGE),
    }
}

/// A JSON array with a `Link` to the next page when this one is full.
pub(crate) fn page<T: Serialize>(
    ctx: &Ctx,
    path: &str,
    items: Vec<T>,
    offset: usize,
    limit: usize,
) -> ApiResult {
    let full = items.len() == limit;
    let mut response = json(items);
    if full {
        let link = next_link(ctx, path, offset + limit);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().map_err(|_| ApiError::bad_request("bad link"))?);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::json_with;

    async fn body_of(response: axum::response::Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("a body");
        serde_json::from_slice(&bytes).expect("valid JSON")
    }

    #[tokio::test]
    async fn a_cached_field_joins_the_object_whatever_it_held() {
        let raw = serde_json::value::RawValue::from_string(r#"[{"rfilename":"a\"b"}]"#.into()).unwrap();
        let full = json_with(&serde_json::json!({"id": "x/y", "n": 1}), "siblings", Some(&raw)).unwrap();
        assert_eq!(
            body_of(full).await,
            serde_json::json!({"id": "x/y", "n": 1, "siblings": [{"rfilename": "a\"b"}]})
        );
        let empty = json_with(&serde_json::json!({}), "siblings", Some(&raw)).unwrap();
        assert_eq!(body_of(empty).await, serde_json::json!({"siblings": [{"rfilename": "a\"b"}]}));
        let none = json_with(&serde_json::json!({"id": 1}), "siblings", None).unwrap();
        assert_eq!(body_of(none).await, serde_json::json!({"id": 1}));
        assert!(
            json_with(&serde_json::json!([1]), "siblings", Some(&raw)).is_err(),
            "only objects take fields"
        );
    }
}
