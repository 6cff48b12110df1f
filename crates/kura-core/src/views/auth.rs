//! Who the caller is: `GET /api/whoami-v2` and the answer of a browser login.

use serde::Serialize;

use super::AccessTokenView;
use crate::{OrgRole, Principal};

/// `GET /api/whoami-v2` for a signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhoAmIView {
    pub auth: AuthView,
    #[serde(rename = "avatarUrl")]
    pub avatar_url: String,
    /// Always `null`: kura keeps no email addresses.
    pub email: Option<String>,
    #[serde(rename = "emailVerified")]
    pub email_verified: bool,
    pub fullname: String,
    pub id: String,
    #[serde(rename = "isAdmin")]
    pub is_admin: bool,
    #[serde(rename = "isPro")]
    pub is_pro: bool,
    pub name: String,
    pub orgs: Vec<OrgMembershipView>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// How the caller authenticated: a token (`accessToken`) or a browser session (`csrfToken`,
/// the token its state-changing requests must carry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthView {
    #[serde(rename = "accessToken", skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessTokenView>,
    #[serde(rename = "csrfToken", skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// An organization the caller belongs to, with the caller's role in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgMembershipView {
    #[serde(rename = "avatarUrl")]
    pub avatar_url: String,
    pub fullname: String,
    pub name: String,
    #[serde(rename = "roleInOrg")]
    pub role_in_org: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl WhoAmIView {
    /// `csrf_token` is set for a caller signed in by a browser session.
    pub fn new(principal: &Principal, orgs: &[(String, OrgRole)], csrf_token: Option<String>) -> Self {
        let user = &principal.user;
        let auth = match csrf_token {
            Some(token) => AuthView { access_token: None, csrf_token: Some(token), kind: "session" },
            None => AuthView {
                access_token: Some(AccessTokenView::new(principal)),
                csrf_token: None,
                kind: "access_token",
            },
        };
        Self {
            auth,
            avatar_url: String::new(),
            email: None,
            email_verified: false,
            fullname: user.name.clone(),
            id: user.id.to_string(),
            is_admin: user.is_admin,
            is_pro: false,
            name: user.name.clone(),
            orgs: orgs
                .iter()
                .map(|(name, role)| OrgMembershipView {
                    avatar_url: String::new(),
                    fullname: name.clone(),
                    name: name.clone(),
                    role_in_org: role.as_str(),
                    kind: "org",
                })
                .collect(),
            kind: "user",
        }
    }
}

/// The answer of `POST /api/login` (the session itself travels in a cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginView {
    #[serde(rename = "csrfToken")]
    pub csrf_token: String,
    pub name: String,
}
