//! `/new`: creating a repo from the browser, through the same core use case as the API
//! (which checks the namespace and writes the audit log).

use askama::Template;
use axum::http::StatusCode;
use kura_core::{CoreError, OrgRole};
use kura_model::{RepoId, RepoType};

use super::layout::Layout;
use super::repo_common::base_url;
use super::{html, see_other};
use crate::error::{WebError, WebResult};
use crate::request::{Form, Req};

/// The SDKs a new Space may declare (the first is the default).
const SPACE_SDKS: [&str; 4] = ["static", "gradio", "docker", "streamlit"];

#[derive(Template)]
#[template(path = "new_repo.html")]
struct NewRepoPage {
    layout: Layout,
    owners: Vec<String>,
    error: Option<String>,
    /// What the user typed, kept when the form comes back with an error.
    kind: String,
    owner: String,
    name: String,
    private: bool,
    sdk: String,
    sdks: [&'static str; 4],
}

/// The user and the orgs they may create repos in (the core checks again on create).
async fn owners(req: &Req) -> WebResult<Vec<String>> {
    let Some(principal) = req.identity.principal() else {
        return Err(WebError::login_required(&req.path));
    };
    let mut owners = vec![principal.user.name.clone()];
    let orgs = req.hub().accounts().user_orgs(principal).await?;
    owners.extend(orgs.into_iter().filter(|(_, role)| *role != OrgRole::Read).map(|(name, _)| name));
    Ok(owners)
}

fn page(req: &Req, owners: Vec<String>, form: Option<&Form>, error: Option<String>) -> NewRepoPage {
    let field =
        |name: &str, default: &str| form.and_then(|f| f.get(name)).unwrap_or(default).trim().to_owned();
    let first = owners.first().cloned().unwrap_or_default();
    NewRepoPage {
        layout: Layout::new(req, "New repository"),
        kind: field("type", req.param("type").unwrap_or("model")),
        owner: field("owner", &first),
        name: field("name", ""),
        private: field("visibility", "public") == "private",
        sdk: field("sdk", SPACE_SDKS[0]),
        sdks: SPACE_SDKS,
        owners,
        error,
    }
}

pub(crate) async fn new_repo_page(req: &Req) -> WebResult {
    req.require_user()?;
    let owners = owners(req).await?;
    Ok(html(StatusCode::OK, &page(req, owners, None, None)))
}

pub(crate) async fn create(req: &mut Req) -> WebResult {
    req.require_user()?;
    let form = req.form().await?;
    let owners = owners(req).await?;
    match create_from(req, &form).await {
        Ok(location) => see_other(&location),
        Err(error) => {
            let message = error.message().to_owned();
            Ok(html(error.status(), &page(req, owners, Some(&form), Some(message))))
        }
    }
}

/// Creates the repo the form describes; answers its page URL.
async fn create_from(req: &Req, form: &Form) -> WebResult<String> {
    let kind = form.require("type")?;
    let repo_type = RepoType::from_singular(kind)
        .ok_or_else(|| WebError::bad_request(&format!("Unknown repository type '{kind}'")))?;
    let repo_id = RepoId::new(form.require("owner")?, form.require("name")?)
        .map_err(|e| WebError::bad_request(&e.0))?;
    let private = match form.get("visibility").unwrap_or("public") {
        "public" => false,
        "private" => true,
        other => return Err(WebError::bad_request(&format!("Unknown visibility '{other}'"))),
    };
    let sdk = match repo_type {
        RepoType::Space => {
            let sdk = form.get("sdk").unwrap_or(SPACE_SDKS[0]);
            if !SPACE_SDKS.contains(&sdk) {
                return Err(WebError::bad_request(&format!("Unknown Space SDK '{sdk}'")));
            }
            Some(sdk)
        }
        _ => None,
    };
    let created = req.hub().repos().create_repo(&req.identity, repo_type, &repo_id, private, sdk).await;
    match created {
        Ok(record) => Ok(base_url(record.repo_type, &record.repo_id)),
        Err(CoreError::Conflict { .. }) => {
            Err(WebError::new(StatusCode::CONFLICT, &format!("The repository {repo_id} already exists.")))
        }
        Err(error) => Err(error.into()),
    }
}
