//! Organization members: `GET /api/organizations/{org}/members` and the answers of kura's
//! member changes.

use serde::Serialize;

use crate::OrgRole;

/// One member of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberView {
    #[serde(rename = "avatarUrl")]
    pub avatar_url: String,
    pub fullname: String,
    pub role: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub user: String,
}

impl MemberView {
    pub fn new(user: &str, role: OrgRole) -> Self {
        Self {
            avatar_url: String::new(),
            fullname: user.to_owned(),
            role: role.as_str(),
            kind: "user",
            user: user.to_owned(),
        }
    }
}

/// A member's role after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRoleView {
    pub role: &'static str,
    pub user: String,
}

impl MemberRoleView {
    pub fn new(user: &str, role: OrgRole) -> Self {
        Self { role: role.as_str(), user: user.to_owned() }
    }
}
