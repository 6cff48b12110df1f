//! Access tokens: `GET`/`POST /api/settings/tokens` and `auth.accessToken` of whoami-v2.
//! Scopes travel in the Hub's `fineGrained` shape (`scoped[].entity` + `permissions`,
//! `global`).

use kura_model::{Role, ScopeTarget, TokenScope, format_timestamp};
use serde::Serialize;

use crate::{Principal, TokenRecord};

/// A token as its owner lists it. `token`, the secret, only in the answer that creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
    #[serde(rename = "expiresAt")]
    pub expires_at: Option<String>,
    #[serde(rename = "fineGrained", skip_serializing_if = "Option::is_none")]
    pub fine_grained: Option<FineGrainedView>,
    pub id: String,
    #[serde(rename = "lastUsedAt")]
    pub last_used_at: Option<String>,
    pub name: String,
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl TokenView {
    /// `owner` is the name of the token's user (scopes on its own namespace are `user` ones).
    pub fn new(owner: &str, token: &TokenRecord) -> Self {
        Self {
            created_at: format_timestamp(token.created_at),
            display_name: token.name.clone(),
            expires_at: token.expires_at.map(format_timestamp),
            fine_grained: fine_grained(owner, token),
            id: token.id.to_string(),
            last_used_at: token.last_used_at.map(format_timestamp),
            name: token.name.clone(),
            role: token.role.as_str(),
            token: None,
        }
    }
}

/// `auth.accessToken` of whoami-v2: the token the caller used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessTokenView {
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
    #[serde(rename = "expiresAt", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(rename = "fineGrained", skip_serializing_if = "Option::is_none")]
    pub fine_grained: Option<FineGrainedView>,
    pub role: &'static str,
}

impl AccessTokenView {
    pub fn new(principal: &Principal) -> Self {
        let token = &principal.token;
        Self {
            created_at: format_timestamp(token.created_at),
            display_name: token.name.clone(),
            expires_at: token.expires_at.map(format_timestamp),
            fine_grained: fine_grained(&principal.user.name, token),
            role: token.role.as_str(),
        }
    }
}

/// The Hub's `fineGrained` object: permissions per entity, and on every repo (`global`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FineGrainedView {
    pub global: Vec<&'static str>,
    pub scoped: Vec<ScopedView>,
}

/// Permissions on one user, organization or repo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopedView {
    pub entity: EntityView,
    pub permissions: Vec<&'static str>,
}

/// What a scope is on: `type` is `user`, `org`, or a repo type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `fineGrained` of a fine-grained token; `None` for the other roles.
fn fine_grained(owner: &str, token: &TokenRecord) -> Option<FineGrainedView> {
    (token.role == Role::FineGrained).then(|| FineGrainedView::new(owner, &token.scopes))
}

impl FineGrainedView {
    pub fn new(owner: &str, scopes: &[TokenScope]) -> Self {
        let names = |scope: &TokenScope| scope.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>();
        let mut view = Self::default();
        for scope in scopes {
            let entity = match &scope.target {
                ScopeTarget::Global => {
                    view.global.extend(names(scope));
                    continue;
                }
                ScopeTarget::Namespace(namespace) => EntityView {
                    name: namespace.clone(),
                    kind: if namespace == owner { "user" } else { "org" },
                },
                ScopeTarget::Repo(repo_type, repo_id) => {
                    EntityView { name: repo_id.to_string(), kind: repo_type.as_str() }
                }
            };
            view.scoped.push(ScopedView { entity, permissions: names(scope) });
        }
        view
    }
}

/// `GET /api/settings/upstream-token`: whether the caller stored a token for the mirror's
/// upstream hub, and when (the token itself is never shown again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamTokenView {
    pub stored: bool,
    #[serde(rename = "storedAt")]
    pub stored_at: Option<String>,
    pub upstream: Option<String>,
}

impl UpstreamTokenView {
    pub fn new(status: &crate::ExternalTokenStatus) -> Self {
        Self {
            stored: status.stored_at.is_some(),
            stored_at: status.stored_at.map(format_timestamp),
            upstream: status.upstream.clone(),
        }
    }
}
