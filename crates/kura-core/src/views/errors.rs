//! Error bodies: the Hub's `{"error": ...}` and the Git LFS `{"message": ...}`.

use serde::Serialize;

/// The body of an error answer; `url` names the existing repo on a create conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorView {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A Git LFS batch refusal as a whole (per-object errors are `ObjectErrorView`s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LfsMessageView {
    pub message: String,
}
