//! One page request: who is calling (session cookie or bearer token), the query, the form
//! body (bounded) and its CSRF token.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use kura_core::{Hub, Identity};

use crate::WebState;
use crate::error::{WebError, WebResult};

/// Largest url-encoded form body a page accepts (uploads use multipart and their own budget).
const MAX_FORM_BYTES: usize = 64 * 1024;

pub(crate) struct Req {
    pub(crate) state: WebState,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) identity: Identity,
    /// The CSRF token forms of this session carry (`None` without a session).
    pub(crate) csrf: Option<String>,
    /// The client's address as the edge in front determined it (per-address login limits).
    pub(crate) client: Option<std::net::IpAddr>,
    /// Behind a lock so `&Req` is `Send` across awaits (a body is not `Sync`).
    pub(crate) body: std::sync::Mutex<Option<Body>>,
}

impl Req {
    pub(crate) async fn new(state: WebState, request: Request) -> WebResult<Self> {
        let (parts, body) = request.into_parts();
        let query = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
        let identity = identify(&state.hub, &parts.headers).await?;
        let csrf = identity
            .principal()
            .and_then(|p| p.session.as_ref())
            .map(|session| state.hub.accounts().csrf_token(session));
        Ok(Req {
            state,
            method: parts.method,
            headers: parts.headers,
            path: parts.uri.path().to_owned(),
            query,
            identity,
            csrf,
            client: parts.extensions.get::<kura_core::ClientAddress>().map(|a| a.0),
            body: std::sync::Mutex::new(Some(body)),
        })
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.state.hub
    }

    /// The first value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The signed-in user's name, or a redirect to the login page that comes back here.
    pub(crate) fn require_user(&self) -> WebResult<String> {
        match self.identity.principal() {
            Some(principal) => Ok(principal.user.name.clone()),
            None => Err(WebError::login_required(&self.path)),
        }
    }

    /// Reads an url-encoded form (at most `MAX_FORM_BYTES`) and checks its CSRF token.
    pub(crate) async fn form(&mut self) -> WebResult<Form> {
        let form = self.form_unchecked().await?;
        self.hub().accounts().check_csrf(&self.identity, form.get("csrf"))?;
        Ok(form)
    }

    /// Reads an url-encoded form without the CSRF check (the login form has no session yet).
    pub(crate) async fn form_unchecked(&mut self) -> WebResult<Form> {
        let body = self.take_body()?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| WebError::too_large("The form is larger than 64 KiB"))?;
        Ok(Form(form_urlencoded::parse(&bytes).into_owned().collect()))
    }

    /// The request body, once.
    pub(crate) fn take_body(&self) -> WebResult<Body> {
        let taken = self.body.lock().ok().and_then(|mut body| body.take());
        taken.ok_or_else(|| WebError::bad_request("The request body was already read"))
    }

    /// Whether a form post comes from this server's pages: `Origin` (else `Referer`) must
    /// name our origin when present. Browsers send `Origin` on every cross-site POST.
    pub(crate) fn check_origin(&self) -> WebResult<()> {
        let value =
            |name| self.headers.get(name).map(|v: &axum::http::HeaderValue| v.to_str().unwrap_or("?"));
        let Some(claimed) = value(header::ORIGIN).or_else(|| value(header::REFERER)) else {
            return Ok(());
        };
        match (origin_of(claimed), origin_of(&self.state.public_url)) {
            (Some(claimed), Some(ours)) if claimed.eq_ignore_ascii_case(ours) => Ok(()),
            _ => Err(WebError::forbidden("This form was sent from another site than this server")),
        }
    }
}

/// `scheme://host[:port]` of an URL.
fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")? + 3;
    let end = url[scheme_end..].find('/').map_or(url.len(), |i| scheme_end + i);
    Some(&url[..end])
}

/// The caller: a bearer token wins over the session cookie; a stale cookie is anonymous
/// (the page then offers to sign in again) rather than an error page.
async fn identify(hub: &Hub, headers: &HeaderMap) -> WebResult<Identity> {
    if let Some(token) = bearer(headers) {
        return Ok(hub.accounts().authenticate(Some(&token)).await?);
    }
    match session_cookie(headers) {
        Some(secret) => Ok(hub.accounts().authenticate_session(&secret).await.unwrap_or(Identity::Anonymous)),
        None => Ok(Identity::Anonymous),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// The session cookie's value, from any `Cookie` header (the API edge reads it alike).
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    kura_core::session_from_cookies(headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()))
}

/// A decoded url-encoded form.
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A required, non-empty field.
    pub(crate) fn require(&self, name: &str) -> WebResult<&str> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| WebError::bad_request(&format!("The field '{name}' is required")))
    }

    /// A checkbox: present and not "off".
    #[allow(dead_code, reason = "no form of this branch has a checkbox yet; kept for those that will")]
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "off" && v != "false")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn finds_the_session_among_cookies() {
        let mut headers = HeaderMap::new();
        assert_eq!(super::session_cookie(&headers), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; kura_session=abc; b=2"));
        assert_eq!(super::session_cookie(&headers).as_deref(), Some("abc"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(super::origin_of("http://127.0.0.1:8080/login"), Some("http://127.0.0.1:8080"));
        assert_eq!(super::origin_of("https://hub.example"), Some("https://hub.example"));
        assert_eq!(super::origin_of("null"), None);
    }
}
