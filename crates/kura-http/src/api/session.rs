//! Browser sessions: `POST /api/login` (JSON or form body) sets the session cookie,
//! `POST /api/logout` ends it. The cookie is read in `api::handle`, which also enforces CSRF.
//! Login itself has no session to derive a CSRF token from: a browser's login must come from
//! this server's own origin (login CSRF would sign the victim in as the attacker).

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_core::views::{EmptyView, LoginView};
use kura_core::{Identity, SESSION_LIFETIME_MS};
use serde::Deserialize;

use crate::AppState;
use crate::context::{Ctx, query_pairs};
use crate::error::{ApiError, ApiResult};

/// Login bodies are small; anything larger is not a login form.
const LOGIN_BODY_LIMIT: usize = 64 << 10;

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// The session cookie's value, from any `Cookie` header.
pub(super) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    kura_core::session_from_cookies(headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()))
}

/// State-changing requests authenticated by the session cookie must carry its CSRF token in
/// `X-CSRF-Token`; safe methods, token callers and anonymous callers pass.
pub(super) fn check_csrf(
    state: &AppState,
    identity: &Identity,
    method: &Method,
    headers: &HeaderMap,
) -> kura_core::Result<()> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let provided = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    state.hub.accounts().check_csrf(identity, provided)
}

/// `Set-Cookie` for the session: `value` lives `max_age_secs` (0 deletes it). `Secure` is
/// added when the server is reached over https.
fn set_cookie(ctx: &Ctx, value: &str, max_age_secs: i64) -> ApiResult<HeaderValue> {
    let cookie = cookie_text(value, max_age_secs, ctx.state.public_url.starts_with("https://"));
    HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("Invalid session cookie"))
}

fn cookie_text(value: &str, max_age_secs: i64, secure: bool) -> String {
    kura_core::session_set_cookie(value, max_age_secs, secure)
}

async fn read_form(ctx: &mut Ctx) -> ApiResult<LoginForm> {
    let form_encoded = ctx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let bytes = ctx.body_bytes(LOGIN_BODY_LIMIT).await?;
    if !form_encoded {
        return serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad_request("Invalid form body"))?;
    let pairs = query_pairs(text);
    let field = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    match (field("username"), field("password")) {
        (Some(username), Some(password)) => Ok(LoginForm { username, password }),
        _ => Err(ApiError::bad_request("The form needs 'username' and 'password'")),
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, without a default port (`:80` for http,
/// `:443` for https), as browsers write `Origin`. `None` for anything without a scheme and host.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Userinfo never belongs to an origin.
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let (scheme, host) = (scheme.to_ascii_lowercase(), host.to_ascii_lowercase());
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let host = host.strip_suffix(default_port).filter(|_| !default_port.is_empty()).unwrap_or(&host);
    (!scheme.is_empty() && !host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// Refuses a login whose `Origin` (else `Referer`) is not this server's public origin. A
/// request with neither header (the CLI, curl, the Python client) passes: browsers always send
/// `Origin` on cross-site POSTs (`null` when hidden, which is refused).
fn check_login_origin(ctx: &Ctx) -> ApiResult<()> {
    // A header that is not text claims no origin we serve.
    let value = |name: header::HeaderName| ctx.headers.get(name).map(|v| v.to_str().unwrap_or_default());
    let Some(claimed) = value(header::ORIGIN).or_else(|| value(header::REFERER)) else {
        return Ok(());
    };
    match (origin_of(claimed), origin_of(&ctx.state.public_url)) {
        (Some(claimed), Some(ours)) if claimed == ours => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Login refused: the request comes from another site than this server",
        )),
    }
}

/// A 401 without the `WWW-Authenticate` challenge, which would make a browser prompt.
fn without_challenge(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().remove(header::WWW_AUTHENTICATE);
    response
}

pub(crate) async fn login(ctx: &mut Ctx) -> ApiResult {
    check_login_origin(ctx)?;
    let form = read_form(ctx).await?;
    let outcome = match ctx.hub().accounts().login(&form.username, &form.password, ctx.client_ip).await {
        Ok(outcome) => outcome,
        Err(error) => return Ok(without_challenge(error.into())),
    };
    let cookie = set_cookie(ctx, &outcome.secret, SESSION_LIFETIME_MS / 1000)?;
    let body = LoginView { csrf_token: outcome.csrf_token, name: outcome.user };
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(body)).into_response())
}

pub(crate) async fn logout(ctx: &mut Ctx) -> ApiResult {
    if let Err(error) = ctx.hub().accounts().logout(&ctx.identity).await {
        return Ok(without_challenge(error.into()));
    }
    let cookie = set_cookie(ctx, "", 0)?;
    Ok((StatusCode::OK, [(header::SET_COOKIE, cookie)], axum::Json(EmptyView {})).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn cookies_are_secure_only_over_https() {
        assert_eq!(
            super::cookie_text("abc", 60, true),
            "kura_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!super::cookie_text("abc", 60, false).contains("Secure"));
    }

    #[test]
    fn origins_as_browsers_write_them() {
        for (url, origin) in [
            ("https://hub.example.com", Some("https://hub.example.com")),
            ("https://Hub.Example.com:443/login?next=/", Some("https://hub.example.com")),
            ("http://127.0.0.1:8080/", Some("http://127.0.0.1:8080")),
            ("http://hub.example.com:80", Some("http://hub.example.com")),
            ("https://hub.example.com:8443#x", Some("https://hub.example.com:8443")),
            ("http://[::1]:8080/a", Some("http://[::1]:8080")),
            ("https://user:pw@hub.example.com/", Some("https://hub.example.com")),
            ("null", None),
            ("", None),
            ("https://", None),
        ] {
            assert_eq!(super::origin_of(url).as_deref(), origin, "{url}");
        }
    }

    #[test]
    fn finds_the_session_among_cookies() {
        let mut headers = HeaderMap::new();
        assert_eq!(super::session_cookie(&headers), None);
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; kura_sessionx=2"));
        assert_eq!(super::session_cookie(&headers), None);
        headers.append(header::COOKIE, HeaderValue::from_static("b=2;kura_session=abc ; c=3"));
        assert_eq!(super::session_cookie(&headers).as_deref(), Some("abc"));
    }
}
