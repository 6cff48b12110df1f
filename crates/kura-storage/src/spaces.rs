//! Spaces port: the subdomain each Space is served on (unique, kept once given) and the
//! Space's variables (public configuration a static Space's page reads).

use kura_model::{RepoId, Timestamp};

use crate::StorageError;

type Result<T> = std::result::Result<T, StorageError>;

/// One variable of a Space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceVariable {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub updated_at: Timestamp,
}

/// The Spaces tables; a supertrait of `MetadataStore`.
#[async_trait::async_trait]
pub trait SpaceStore: Send + Sync + 'static {
    /// The subdomain a Space holds, if it was given one.
    async fn space_subdomain(&self, repo: i64) -> Result<Option<String>>;
    /// Gives the Space the first of `candidates` no other Space holds, unless it holds one
    /// already (then that one is kept); the subdomain it holds afterwards, or `None` when every
    /// candidate is taken. `NotFound` when the repo is gone.
    async fn assign_space_subdomain(&self, repo: i64, candidates: &[String]) -> Result<Option<String>>;
    /// The Space holding `subdomain` (stored lower-case), by its current id.
    async fn space_by_subdomain(&self, subdomain: &str) -> Result<Option<RepoId>>;
    /// A Space's variables, by key.
    async fn space_variables(&self, repo: i64) -> Result<Vec<SpaceVariable>>;
    /// Adds or replaces a variable; `false` (and nothing written) when it is new and the
    /// Space already has `max` of them. `NotFound` when the repo is gone.
    async fn set_space_variable(&self, repo: i64, variable: &SpaceVariable, max: usize) -> Result<bool>;
    /// Removes a variable; whether there was one.
    async fn delete_space_variable(&self, repo: i64, key: &str) -> Result<bool>;
}
