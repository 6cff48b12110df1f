//! Repo objects (`GET /api/{type}s/{repo}` and the listings), their `siblings`, and the
//! answers of repo creation, moves and README validation.

use kura_model::{ObjectId, RepoType, format_timestamp};
use kura_storage::{Gating, RepoRecord};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::index_facts::CommitFacts;
use crate::{BlobInfo, CardInfo, Entry};

/// A fact as a JSON value (facts are plain data: this does not fail).
fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `gated`: `false`, or the gating mode (`"auto"`, `"manual"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatedView(pub Gating);

impl Serialize for GatedView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Gating::Off => serializer.serialize_bool(false),
            other => serializer.serialize_str(other.as_str()),
        }
    }
}

/// A repo as repo info and the listings show it (`ModelInfo`, `DatasetInfo`, `SpaceInfo` in
/// `huggingface_hub`). `_id` and `id` are always there; the rest may be left out by `expand`.
/// Fields are declared in the byte order of their JSON names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoView {
    #[serde(rename = "_id")]
    pub object_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Models: the `base_model` of the card, as the Hub shapes it.
    #[serde(rename = "baseModels", skip_serializing_if = "Option::is_none")]
    pub base_models: Option<Value>,
    #[serde(rename = "cardData", skip_serializing_if = "Option::is_none")]
    pub card_data: Option<Value>,
    #[serde(rename = "childrenModelCount", skip_serializing_if = "Option::is_none")]
    pub children_model_count: Option<u64>,
    /// Datasets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation: Option<Value>,
    /// Models: the projection of `config.json` the Hub returns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasets: Option<Value>,
    /// Datasets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloads: Option<u64>,
    #[serde(rename = "downloadsAllTime", skip_serializing_if = "Option::is_none")]
    pub downloads_all_time: Option<u64>,
    #[serde(rename = "evalResults", skip_serializing_if = "Option::is_none")]
    pub eval_results: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gated: Option<GatedView>,
    /// Models with GGUF files: totals and tokenizer facts from the header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gguf: Option<Value>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<Value>,
    #[serde(rename = "inferenceProviderMapping", skip_serializing_if = "Option::is_none")]
    pub inference_provider_mapping: Option<Value>,
    #[serde(rename = "lastModified", skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likes: Option<u64>,
    /// Datasets.
    #[serde(rename = "mainSize", skip_serializing_if = "Option::is_none")]
    pub main_size: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_token: Option<Value>,
    /// Models: the card's `model-index`.
    #[serde(rename = "model-index", skip_serializing_if = "Option::is_none")]
    pub model_index: Option<Value>,
    /// Models only.
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Value>,
    /// Datasets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paperswithcode_id: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Value>,
    #[serde(rename = "resourceGroup", skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<Value>,
    /// Spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Value>,
    /// Models: parameters per dtype, once the revision is indexed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safetensors: Option<Value>,
    /// Spaces only, from the card's `sdk`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<Value>,
    /// Only with `securityStatus=true`: the pickle scan's verdicts.
    #[serde(rename = "securityRepoStatus", skip_serializing_if = "Option::is_none")]
    pub security_repo_status: Option<crate::views::SecurityRepoStatusView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub siblings: Option<Vec<SiblingView>>,
    /// Models: Spaces whose card names the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spaces: Option<Value>,
    /// Spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<Value>,
    /// Spaces: the origin the Space is served on, when this hub serves Spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(rename = "transformersInfo", skip_serializing_if = "Option::is_none")]
    pub transformers_info: Option<Value>,
    #[serde(rename = "trendingScore", skip_serializing_if = "Option::is_none")]
    pub trending_score: Option<u64>,
    #[serde(rename = "usedStorage", skip_serializing_if = "Option::is_none")]
    pub used_storage: Option<u64>,
    #[serde(rename = "widgetData", skip_serializing_if = "Option::is_none")]
    pub widget_data: Option<Value>,
    #[serde(rename = "xetEnabled", skip_serializing_if = "Option::is_none")]
    pub xet_enabled: Option<bool>,
    /// The all-time downloads, shown when `expand` asks for `downloadsAllTime`.
    #[serde(skip)]
    pub all_time_downloads: u64,
    /// The trending score, shown when `expand` asks for `trendingScore`.
    #[serde(skip)]
    pub trending: u64,
}

impl RepoView {
    /// The fields every repo object carries, in listings and in repo info.
    pub fn new(record: &RepoRecord) -> Self {
        let id = record.repo_id.to_string();
        Self {
            object_id: format!("{:024x}", record.id),
            author: Some(record.repo_id.namespace().to_owned()),
            card_data: None,
            created_at: Some(format_timestamp(record.created_at)),
            disabled: Some(false),
            downloads: Some(record.downloads),
            gated: Some(GatedView(record.gating)),
            model_id: (record.repo_type == RepoType::Model).then(|| id.clone()),
            id,
            last_modified: Some(format_timestamp(record.last_modified)),
            library_name: record.library_name.clone(),
            likes: Some(record.likes),
            pipeline_tag: record.pipeline_tag.clone(),
            private: Some(record.private),
            sdk: None,
            sha: None,
            siblings: None,
            tags: Some(record.tags.clone()),
            used_storage: None,
            xet_enabled: None,
            all_time_downloads: record.downloads_all_time,
            trending: record.trending,
            base_models: None,
            children_model_count: None,
            citation: None,
            config: None,
            datasets: None,
            description: None,
            downloads_all_time: None,
            eval_results: None,
            gguf: None,
            inference: None,
            inference_provider_mapping: None,
            main_size: None,
            mask_token: None,
            model_index: None,
            models: None,
            paperswithcode_id: None,
            region: None,
            resource_group: None,
            runtime: None,
            safetensors: None,
            security_repo_status: None,
            spaces: None,
            subdomain: None,
            host: None,
            transformers_info: None,
            trending_score: None,
            widget_data: None,
        }
    }

    /// Repo info at `commit` (committed at `committed_at`, seconds since the epoch), with the
    /// fields of its README card. `siblings` stay for the caller to fill.
    pub fn info(record: &RepoRecord, commit: &ObjectId, committed_at: i64, card: &CardInfo) -> Self {
        let mut view = Self::new(record);
        view.sha = Some(commit.to_hex());
        view.last_modified = Some(format_timestamp(committed_at * 1000));
        view.tags = Some(card.tags.clone());
        if let Some(data) = &card.card_data {
            view.card_data = Some(data.clone());
            if record.repo_type == RepoType::Space {
                view.sdk = data.get("sdk").cloned();
                // The repos a Space's card says it uses (strings only, as the card lists them).
                let ids = |field: &str| {
                    let listed = data.get(field).and_then(Value::as_array).into_iter().flatten();
                    let ids: Vec<Value> = listed.filter(|id| id.is_string()).take(100).cloned().collect();
                    (!ids.is_empty()).then_some(Value::Array(ids))
                };
                view.models = ids("models");
                view.datasets = ids("datasets");
            }
        }
        view.pipeline_tag = card.pipeline_tag.clone();
        view.library_name = card.library_name.clone();
        view.xet_enabled = Some(true);
        view.used_storage = Some(0);
        view
    }

    /// Adds what the indexer computed about the revision (models): parameters, GGUF facts,
    /// library, task, config, enriched tags, widget inputs and base models; the card's values
    /// stay where the revision is not indexed yet. `model-index` comes from the card.
    /// Adds where and how a Space runs.
    pub fn with_space(mut self, facts: &crate::SpaceFacts) -> Self {
        self.subdomain = Some(Value::String(facts.subdomain.clone()));
        self.host = facts.host.clone().map(Value::String);
        self.runtime = Some(facts.runtime.clone());
        self
    }

    pub fn with_facts(mut self, facts: Option<&CommitFacts>) -> Self {
        if let Some(index) = self.card_data.as_ref().and_then(|card| card.get("model-index")) {
            self.model_index = Some(index.clone());
        }
        let Some(facts) = facts else { return self };
        self.safetensors = facts.safetensors.as_ref().map(json);
        self.gguf = facts.gguf.as_ref().map(json);
        let derived = &facts.derived;
        if derived.library_name.is_some() {
            self.library_name = derived.library_name.clone();
        }
        if derived.pipeline_tag.is_some() {
            self.pipeline_tag = derived.pipeline_tag.clone();
        }
        self.transformers_info = derived.transformers_info.as_ref().map(json);
        self.config = derived.config.clone();
        if !derived.tags.is_empty() {
            self.tags = Some(derived.tags.clone());
        }
        self.widget_data = derived.widget_data.clone();
        self.base_models = derived.base_models.clone();
        self.mask_token = derived.mask_token.clone().map(Value::String);
        self
    }

    /// Keeps only the fields named in `expand` (`expand[]=...`), besides `_id` and `id`, as the
    /// Hub does when a client asks for some fields. Every value `huggingface_hub` may ask for
    /// is answered, with zero, an empty list or null where kura has nothing.
    pub fn expanded(self, expand: &[&str]) -> Self {
        let asked = |name: &str| expand.contains(&name);
        fn keep<T>(asked: bool, value: Option<T>) -> Option<T> {
            value.filter(|_| asked)
        }
        fn keep_or<T>(asked: bool, value: Option<T>, empty: T) -> Option<T> {
            if asked { value.or(Some(empty)) } else { None }
        }
        let list = || Value::Array(Vec::new());
        Self {
            object_id: self.object_id,
            author: keep(asked("author"), self.author),
            base_models: keep_or(asked("baseModels"), self.base_models, Value::Null),
            card_data: keep(asked("cardData"), self.card_data),
            children_model_count: keep_or(asked("childrenModelCount"), self.children_model_count, 0),
            citation: keep_or(asked("citation"), self.citation, Value::Null),
            config: keep_or(asked("config"), self.config, Value::Null),
            created_at: keep(asked("createdAt"), self.created_at),
            datasets: keep_or(asked("datasets"), self.datasets, list()),
            description: keep_or(asked("description"), self.description, Value::Null),
            disabled: keep(asked("disabled"), self.disabled),
            downloads: keep(asked("downloads"), self.downloads),
            downloads_all_time: keep_or(
                asked("downloadsAllTime"),
                self.downloads_all_time.or(Some(self.all_time_downloads)),
                0,
            ),
            all_time_downloads: self.all_time_downloads,
            eval_results: keep_or(asked("evalResults"), self.eval_results, list()),
            gated: keep(asked("gated"), self.gated),
            gguf: keep_or(asked("gguf"), self.gguf, Value::Null),
            id: self.id,
            inference: keep_or(asked("inference"), self.inference, Value::Null),
            inference_provider_mapping: keep_or(
                asked("inferenceProviderMapping"),
                self.inference_provider_mapping,
                list(),
            ),
            last_modified: keep(asked("lastModified"), self.last_modified),
            library_name: keep(asked("library_name"), self.library_name),
            likes: keep(asked("likes"), self.likes),
            main_size: keep_or(asked("mainSize"), self.main_size, Value::Null),
            mask_token: keep_or(asked("mask_token"), self.mask_token, Value::Null),
            model_index: keep_or(asked("model-index"), self.model_index, Value::Null),
            model_id: keep(asked("modelId"), self.model_id),
            models: keep_or(asked("models"), self.models, list()),
            paperswithcode_id: keep_or(asked("paperswithcode_id"), self.paperswithcode_id, Value::Null),
            pipeline_tag: keep(asked("pipeline_tag"), self.pipeline_tag),
            private: keep(asked("private"), self.private),
            region: keep_or(asked("region"), self.region, Value::Null),
            resource_group: keep_or(asked("resourceGroup"), self.resource_group, Value::Null),
            runtime: keep_or(asked("runtime"), self.runtime, Value::Null),
            safetensors: keep_or(asked("safetensors"), self.safetensors, Value::Null),
            sdk: keep(asked("sdk"), self.sdk),
            security_repo_status: self.security_repo_status,
            sha: keep(asked("sha"), self.sha),
            siblings: keep(asked("siblings"), self.siblings),
            spaces: keep_or(asked("spaces"), self.spaces, list()),
            subdomain: keep_or(asked("subdomain"), self.subdomain, Value::Null),
            host: keep(asked("host"), self.host),
            tags: keep(asked("tags"), self.tags),
            transformers_info: keep_or(asked("transformersInfo"), self.transformers_info, Value::Null),
            trending_score: keep_or(asked("trendingScore"), self.trending_score.or(Some(self.trending)), 0),
            trending: self.trending,
            used_storage: keep(asked("usedStorage"), self.used_storage),
            widget_data: keep_or(asked("widgetData"), self.widget_data, Value::Null),
            xet_enabled: keep(asked("xetEnabled"), self.xet_enabled),
        }
    }
}

/// A file of a repo in `siblings`. With `blobs`, also its blob id, size and LFS facts
/// (`lfs.sha256` here, where tree entries say `lfs.oid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiblingView {
    #[serde(rename = "blobId", skip_serializing_if = "Option::is_none")]
    pub blob_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lfs: Option<SiblingLfsView>,
    pub rfilename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// `lfs` of a sibling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiblingLfsView {
    #[serde(rename = "pointerSize")]
    pub pointer_size: u64,
    pub sha256: String,
    pub size: u64,
}

impl SiblingView {
    /// The sibling of a listed file; `None` for a folder.
    pub fn of(entry: &Entry, blobs: bool) -> Option<Self> {
        let Entry::File { path, oid, info, .. } = entry else { return None };
        Some(Self::file(path, oid, info, blobs))
    }

    pub fn file(path: &str, oid: &ObjectId, info: &BlobInfo, blobs: bool) -> Self {
        if !blobs {
            return Self { blob_id: None, lfs: None, rfilename: path.to_owned(), size: None };
        }
        Self {
            blob_id: Some(oid.to_hex()),
            lfs: info.lfs.map(|lfs| SiblingLfsView {
                pointer_size: info.size,
                sha256: lfs.oid.to_hex(),
                size: lfs.size,
            }),
            rfilename: path.to_owned(),
            size: Some(info.lfs.map_or(info.size, |lfs| lfs.size)),
        }
    }
}

/// The answer of `POST /api/repos/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoCreatedView {
    pub id: String,
    pub name: String,
    pub url: String,
}

/// A repo's page URL: the answer of `POST /api/repos/move`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoUrlView {
    pub url: String,
}

/// The answer of `POST /api/validate-yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidateYamlView {
    pub errors: Vec<YamlMessageView>,
    pub warnings: Vec<YamlMessageView>,
}

/// One error or warning of a README check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YamlMessageView {
    pub message: String,
}

impl ValidateYamlView {
    /// The answer for what the card checks found.
    pub fn new(check: crate::CardCheck) -> Self {
        let messages =
            |all: Vec<String>| all.into_iter().map(|message| YamlMessageView { message }).collect();
        Self { errors: messages(check.errors), warnings: messages(check.warnings) }
    }
}
