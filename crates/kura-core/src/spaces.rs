//! Spaces: the subdomain each Space is served on, its runtime as the Hub reports it, its
//! variables, and the files a Space host serves. Space hosts serve static Spaces only, to
//! anyone, as an anonymous caller would read them: a private or gated Space is not served
//! there (its page on the hub says so), and no credential ever reaches a Space host.

use kura_model::{ObjectId, RepoPath, RepoType};
use kura_storage::{RepoRecord, SpaceVariable, StorageError};
use serde_json::Value;

use crate::auth::Identity;
use crate::browse::Entry;
use crate::card::CardInfo;
use crate::error::{CoreError, Result};
use crate::read_proof::OpenFile;
use crate::services::Repos;
use crate::space_host::{self, SpaceConfig};

/// Variables a Space may have.
pub const MAX_SPACE_VARIABLES: usize = 100;
const MAX_VARIABLE_KEY: usize = 100;
const MAX_VARIABLE_VALUE: usize = 16 << 10;
const MAX_VARIABLE_DESCRIPTION: usize = 500;
/// Bytes of all keys and values of a Space together.
const MAX_VARIABLES_BYTES: usize = 64 << 10;
/// The ref a Space's build output is served from when it exists (the Hub's `app_build_command`).
const BUILD_REF: &str = "refs/convert/build";

/// Where and how a Space runs, for `space_info` and the Space page.
#[derive(Debug, Clone)]
pub struct SpaceFacts {
    pub subdomain: String,
    /// The Space's origin, when this hub serves Spaces.
    pub host: Option<String>,
    pub runtime: Value,
    pub config: SpaceConfig,
}

/// A file a Space host answers with.
#[derive(Debug, Clone)]
pub struct SpaceFile {
    pub file: OpenFile,
    pub content_type: &'static str,
    /// Allowed `custom_headers` of the Space's card.
    pub headers: Vec<(String, String)>,
    /// For pages: the script giving them `window.huggingface.variables`.
    pub script: Option<String>,
}

fn not_served() -> CoreError {
    CoreError::NotFound("No Space is served here".to_owned())
}

impl Repos<'_> {
    /// The subdomain a Space is served on, given now if it has none yet.
    pub async fn space_subdomain(&self, repo: &RepoRecord) -> Result<String> {
        if let Some(held) = self.meta.space_subdomain(repo.id).await? {
            return Ok(held);
        }
        let candidates = space_host::subdomain_candidates(&repo.repo_id);
        // Two replicas giving out one name at once: the loser retries with what is left.
        for _ in 0..3 {
            match self.meta.assign_space_subdomain(repo.id, &candidates).await {
                Ok(Some(subdomain)) => return Ok(subdomain),
                // Another replica may have given this Space its name meanwhile.
                Ok(None) | Err(StorageError::AlreadyExists) => {
                    if let Some(held) = self.meta.space_subdomain(repo.id).await? {
                        return Ok(held);
                    }
                }
                Err(StorageError::NotFound) => return Err(CoreError::RepoNotFound),
                Err(other) => return Err(other.into()),
            }
        }
        Err(CoreError::conflict(format!("No free subdomain is left for Space '{}'", repo.repo_id)))
    }

    /// The commit a Space is served from: its build output when there is one, else `main`.
    async fn space_commit(&self, repo: &RepoRecord) -> Result<ObjectId> {
        match self.resolve_revision(repo, BUILD_REF).await {
            Ok(resolved) => Ok(resolved.commit),
            Err(CoreError::RevisionNotFound { .. }) => Ok(self.resolve_revision(repo, "main").await?.commit),
            Err(other) => Err(other),
        }
    }

    /// Subdomain, origin and runtime of a Space whose `main` has `card`.
    pub async fn space_facts(&self, repo: &RepoRecord, card: &CardInfo) -> Result<SpaceFacts> {
        let config = SpaceConfig::from_card(card.card_data.as_ref());
        let root = self.commit_tree(&self.space_commit(repo).await?).await?;
        let has_app_file = match RepoPath::parse(&config.app_file) {
            Ok(path) => matches!(self.lookup(root, &path).await?, Some(Entry::File { .. })),
            Err(_) => false,
        };
        let subdomain = self.space_subdomain(repo).await?;
        let hosting = self.config.spaces.as_ref();
        Ok(SpaceFacts {
            host: hosting.map(|h| h.origin(&subdomain)),
            runtime: space_host::runtime(&config, has_app_file, hosting.is_some()),
            subdomain,
            config,
        })
    }

    /// The Space a Space host's subdomain names; any other answer is the same 404.
    pub async fn space_by_subdomain(&self, subdomain: &str) -> Result<RepoRecord> {
        let id = self.meta.space_by_subdomain(subdomain).await?.ok_or_else(not_served)?;
        self.meta.repo(RepoType::Space, &id).await?.ok_or_else(not_served)
    }

    /// The file a Space host answers `request_path` with, read as an anonymous visitor would:
    /// only public, ungated, static Spaces are served. Missing files, folders and everything
    /// refused are the same 404.
    pub async fn open_space_file(&self, repo: &RepoRecord, request_path: &str) -> Result<SpaceFile> {
        let access = self
            .hub
            .accounts()
            .authorize_files(&Identity::Anonymous, repo)
            .await
            .map_err(|_| not_served())?;
        let main = self.resolve_revision(repo, "main").await?.commit;
        let card = self.card_info(self.commit_tree(&main).await?).await?;
        let config = SpaceConfig::from_card(card.card_data.as_ref());
        if !config.is_static() {
            return Err(not_served());
        }
        let path = space_host::file_for(&config, request_path).ok_or_else(not_served)?;
        let commit = self.space_commit(repo).await?;
        let files = self.hub.files();
        let file = match files.open_in(&access, commit, &path).await {
            Ok(file) => file,
            // A folder named without its trailing slash: its index page.
            Err(CoreError::EntryNotFound { .. }) if !path.ends_with(".html") => files
                .open_in(&access, commit, &format!("{path}/index.html"))
                .await
                .map_err(|_| not_served())?,
            Err(_) => return Err(not_served()),
        };
        let content_type = space_host::content_type(file.path.as_str());
        let script = if content_type.starts_with("text/html") {
            let variables = self.meta.space_variables(repo.id).await?;
            let pairs: Vec<(String, String)> = variables.into_iter().map(|v| (v.key, v.value)).collect();
            Some(space_host::variables_script(&pairs))
        } else {
            None
        };
        Ok(SpaceFile { file, content_type, headers: config.headers, script })
    }

    /// A Space's variables, for anyone who may read its files (its pages show them all).
    pub async fn space_variables(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
    ) -> Result<Vec<SpaceVariable>> {
        only_spaces(repo)?;
        self.hub.accounts().authorize_files(identity, repo).await?;
        Ok(self.meta.space_variables(repo.id).await?)
    }

    /// Adds or replaces a variable (repo writers); the variables afterwards.
    pub async fn set_space_variable(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        key: &str,
        value: &str,
        description: Option<&str>,
    ) -> Result<Vec<SpaceVariable>> {
        only_spaces(repo)?;
        self.hub.accounts().authorize_write(identity, repo).await?;
        check_variable(key, value, description)?;
        let variable = SpaceVariable {
            key: key.to_owned(),
            value: value.to_owned(),
            description: description.map(str::to_owned),
            updated_at: self.now_millis(),
        };
        // All values together stay small: every page of the Space carries them.
        let others: usize = self
            .meta
            .space_variables(repo.id)
            .await?
            .iter()
            .filter(|v| v.key != key)
            .map(|v| v.key.len() + v.value.len())
            .sum();
        if others + key.len() + value.len() > MAX_VARIABLES_BYTES {
            return Err(CoreError::invalid(format!(
                "A Space's variables hold at most {MAX_VARIABLES_BYTES} bytes of keys and values in all"
            )));
        }
        if !self.meta.set_space_variable(repo.id, &variable, MAX_SPACE_VARIABLES).await? {
            return Err(CoreError::invalid(format!("A Space has at most {MAX_SPACE_VARIABLES} variables")));
        }
        Ok(self.meta.space_variables(repo.id).await?)
    }

    /// Removes a variable (repo writers); the variables afterwards.
    pub async fn delete_space_variable(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        key: &str,
    ) -> Result<Vec<SpaceVariable>> {
        only_spaces(repo)?;
        self.hub.accounts().authorize_write(identity, repo).await?;
        self.meta.delete_space_variable(repo.id, key).await?;
        Ok(self.meta.space_variables(repo.id).await?)
    }
}

fn only_spaces(repo: &RepoRecord) -> Result<()> {
    match repo.repo_type {
        RepoType::Space => Ok(()),
        _ => Err(CoreError::RepoNotFound),
    }
}

/// Keys are identifiers (letters, digits, `_`, not starting with a digit); values and
/// descriptions have a budget.
pub fn check_variable(key: &str, value: &str, description: Option<&str>) -> Result<()> {
    let valid_key = !key.is_empty()
        && key.len() <= MAX_VARIABLE_KEY
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !key.as_bytes()[0].is_ascii_digit();
    if !valid_key {
        return Err(CoreError::invalid(format!(
            "Invalid variable key '{key}': letters, digits and '_', not starting with a digit, at most {MAX_VARIABLE_KEY}"
        )));
    }
    if value.len() > MAX_VARIABLE_VALUE {
        return Err(CoreError::invalid(format!("A variable's value has at most {MAX_VARIABLE_VALUE} bytes")));
    }
    if description.is_some_and(|d| d.chars().count() > MAX_VARIABLE_DESCRIPTION) {
        return Err(CoreError::invalid(format!(
            "A variable's description has at most {MAX_VARIABLE_DESCRIPTION} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_variable;

    #[test]
    fn variable_keys_and_budgets() {
        assert!(check_variable("MODEL_ID", "x", None).is_ok());
        assert!(check_variable("_a1", "", Some("d")).is_ok());
        for key in ["", "1A", "A-B", "A B", "é"] {
            assert!(check_variable(key, "x", None).is_err(), "{key}");
        }
        assert!(check_variable("K", &"v".repeat(16 << 10), None).is_ok());
        assert!(check_variable("K", &"v".repeat((16 << 10) + 1), None).is_err());
        assert!(check_variable("K", "v", Some(&"d".repeat(501))).is_err());
    }
}
