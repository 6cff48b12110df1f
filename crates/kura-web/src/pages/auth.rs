//! Signing in and out with the browser session the API's login uses (same cookie, same
//! rate limits, same audit events).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use super::html;
use super::layout::Layout;
use crate::error::{WebError, WebResult};
use crate::request::Req;

/// How long a browser session lives (the core expires it; the cookie follows).
const SESSION_MAX_AGE_SECS: i64 = kura_core::SESSION_LIFETIME_MS / 1000;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    error: Option<String>,
}

/// Only local paths are followed after login (no open redirect): a path starting with one
/// `/`, of visible ASCII only. Browsers drop tabs and newlines from URLs, so `/\t/evil` would
/// become `//evil`; a backslash reads as a slash to them.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub(crate) fn login_page(req: &Req, error: Option<(StatusCode, String)>) -> WebResult {
    let status = error.as_ref().map_or(StatusCode::OK, |(status, _)| *status);
    let page = LoginPage {
        layout: Layout::new(req, "Sign in"),
        next: safe_next(req.param("next")),
        error: error.map(|(_, message)| message),
    };
    Ok(html(status, &page))
}

fn cookie(req: &Req, value: &str, max_age: i64) -> WebResult<HeaderValue> {
    let text = kura_core::session_set_cookie(value, max_age, req.state.public_url.starts_with("https://"));
    HeaderValue::from_str(&text).map_err(|_| WebError::bad_request("Invalid session cookie"))
}

pub(crate) async fn login(req: &mut Req) -> WebResult {
    req.check_origin()?;
    let form = req.form_unchecked().await?;
    let (user, password) = (form.get("username").unwrap_or("").trim(), form.get("password").unwrap_or(""));
    match req.hub().accounts().login(user, password, req.client).await {
        Ok(outcome) => {
            let next = safe_next(form.get("next"));
            let cookie = cookie(req, &outcome.secret, SESSION_MAX_AGE_SECS)?;
            Ok((
                StatusCode::SEE_OTHER,
                [
                    (
                        header::LOCATION,
                        HeaderValue::from_str(&next)
                            .map_err(|_| WebError::bad_request("Invalid next page"))?,
                    ),
                    (header::SET_COOKIE, cookie),
                ],
            )
                .into_response())
        }
        Err(kura_core::CoreError::Unauthorized(_)) => {
            login_page(req, Some((StatusCode::UNAUTHORIZED, "Wrong user name or password.".to_owned())))
        }
        Err(error) => {
            let error = WebError::from(error);
            login_page(req, Some((error.status(), "Signing in failed; try again later.".to_owned())))
        }
    }
}

pub(crate) async fn logout(req: &mut Req) -> WebResult {
    req.form().await?;
    if !req.identity.is_anonymous() {
        // A bearer caller has no session to end; that is not an error for a page.
        let _ = req.hub().accounts().logout(&req.identity).await;
    }
    let cookie = cookie(req, "", 0)?;
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static("/")), (header::SET_COOKIE, cookie)],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_pages_follow_a_login() {
        assert_eq!(super::safe_next(Some("/alice/demo")), "/alice/demo");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "/\t/evil.example",
            "/\n/evil",
            "/ /x",
            "/é",
        ] {
            assert_eq!(super::safe_next(Some(bad)), "/", "{bad}");
        }
    }
}
