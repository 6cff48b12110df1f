//! Git LFS batch API (`POST .../info/lfs/objects/batch`): the request and the answer, with
//! the per-object actions for basic, multipart and Xet transfers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DownloadPlan, UploadPlan};

/// Seconds a transfer action is announced to stay valid.
const EXPIRES_IN: u64 = 3600;

/// A batch request.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchRequest {
    pub operation: String,
    pub objects: Vec<BatchRequestObject>,
    /// The transfer adapters the client supports (`basic`, `multipart`, `xet`).
    #[serde(default)]
    pub transfers: Vec<String>,
    /// The ref the objects are for (`{"name": "refs/heads/main"}`); huggingface_hub leaves it
    /// out when it opens a pull request.
    #[serde(default, rename = "ref")]
    pub git_ref: Option<BatchRef>,
}

/// The ref of a batch request.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchRef {
    pub name: String,
}

impl BatchRequest {
    /// Whether the objects are for a pull request: no ref (huggingface_hub's `create_pr`), or
    /// a `refs/pr/N` one.
    pub fn for_pull_request(&self) -> bool {
        self.git_ref.as_ref().is_none_or(|r| crate::pr_number(&r.name).is_some())
    }

    /// Whether the client lists `transfer` among the transfers it supports.
    pub fn offers(&self, transfer: &str) -> bool {
        self.transfers.iter().any(|t| t == transfer)
    }
}

/// One object of a batch request, as the client names it.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchRequestObject {
    pub oid: String,
    pub size: u64,
}

/// A batch answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchResponseView {
    pub hash_algo: &'static str,
    pub objects: Vec<BatchObjectView>,
    pub transfer: &'static str,
}

impl BatchResponseView {
    /// `transfer` is the adapter chosen: `basic` or `xet`.
    pub fn new(transfer: &'static str, objects: Vec<BatchObjectView>) -> Self {
        Self { hash_algo: "sha256", objects, transfer }
    }
}

/// One object of a batch answer: nothing to do, actions, or an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchObjectView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<ActionsView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ObjectErrorView>,
    pub oid: String,
    pub size: u64,
}

/// What the client is to do with an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActionsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<ActionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<ActionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<ActionView>,
}

/// A request to make: the URL and the headers to send with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionView {
    pub expires_in: u64,
    pub header: BTreeMap<String, String>,
    pub href: String,
}

impl ActionView {
    pub fn new(href: String, header: BTreeMap<String, String>) -> Self {
        Self { expires_in: EXPIRES_IN, header, href }
    }

    fn plain(href: String) -> Self {
        Self::new(href, BTreeMap::new())
    }
}

/// Why one object of a batch cannot be transferred (`code` is an HTTP status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectErrorView {
    pub code: u16,
    pub message: String,
}

impl BatchObjectView {
    /// Nothing to transfer: the repo already has it.
    pub fn present(oid: &str, size: u64) -> Self {
        Self { actions: None, authenticated: None, error: None, oid: oid.to_owned(), size }
    }

    fn with_actions(oid: &str, size: u64, actions: ActionsView) -> Self {
        Self { actions: Some(actions), authenticated: Some(true), ..Self::present(oid, size) }
    }

    fn failed(oid: &str, size: u64, code: u16, message: String) -> Self {
        Self { error: Some(ObjectErrorView { code, message }), ..Self::present(oid, size) }
    }

    /// An oid that is not a SHA-256 hex digest.
    pub fn invalid(oid: &str, size: u64) -> Self {
        Self::failed(oid, size, 422, "Invalid object id: expected a sha256 hex digest".to_owned())
    }

    /// A declared size above the server's `limit`.
    pub fn too_large(oid: &str, size: u64, limit: u64) -> Self {
        Self::failed(oid, size, 422, format!("Object size {size} exceeds the limit of {limit} bytes"))
    }

    /// An upload by basic or multipart transfer; `url` turns a capability token into its URL.
    pub fn upload(oid: &str, size: u64, plan: UploadPlan, url: impl Fn(&str) -> String) -> Self {
        let (upload, verify) = match plan {
            UploadPlan::Present => return Self::present(oid, size),
            UploadPlan::TooLarge { limit } => return Self::too_large(oid, size, limit),
            UploadPlan::Basic { put, verify } => (ActionView::plain(url(&put)), verify),
            UploadPlan::Multipart { part_size, parts, complete, verify } => {
                let mut header = BTreeMap::from([("chunk_size".to_owned(), part_size.to_string())]);
                for (i, part) in parts.iter().enumerate() {
                    header.insert((i + 1).to_string(), url(part));
                }
                (ActionView::new(url(&complete), header), verify)
            }
        };
        let actions = ActionsView {
            upload: Some(upload),
            verify: Some(ActionView::plain(url(&verify))),
            download: None,
        };
        Self::with_actions(oid, size, actions)
    }

    /// An upload negotiated to Xet: the action is the token refresh URL, its headers the CAS
    /// credentials. Objects the repo has, or may not take, get what basic transfers get.
    pub fn xet_upload(
        oid: &str,
        size: u64,
        plan: UploadPlan,
        refresh_url: &str,
        header: &BTreeMap<String, String>,
    ) -> Self {
        match plan {
            UploadPlan::Present => Self::present(oid, size),
            UploadPlan::TooLarge { limit } => Self::too_large(oid, size, limit),
            UploadPlan::Basic { .. } | UploadPlan::Multipart { .. } => {
                let upload = ActionView::new(refresh_url.to_owned(), header.clone());
                Self::with_actions(oid, size, ActionsView { upload: Some(upload), ..ActionsView::default() })
            }
        }
    }

    /// A download; `url` turns a capability token into its URL.
    pub fn download(oid: &str, size: u64, plan: DownloadPlan, url: impl Fn(&str) -> String) -> Self {
        let href = match plan {
            DownloadPlan::Direct(href) => href,
            DownloadPlan::Token(token) => url(&token),
            DownloadPlan::Missing => {
                return Self::failed(oid, size, 404, "Object does not exist in this repository".to_owned());
            }
        };
        let download = ActionView::plain(href);
        Self::with_actions(oid, size, ActionsView { download: Some(download), ..ActionsView::default() })
    }
}
