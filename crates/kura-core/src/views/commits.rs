//! Commits: the history listing (`GitCommitInfo`), the answer of a commit (`CommitInfo`) and
//! of a preupload.

use kura_git::Commit;
use kura_model::{ObjectId, format_timestamp};
use serde::Serialize;

use crate::{Preupload, UploadMode};

/// One commit of `GET .../commits/{revision}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitView {
    pub authors: Vec<CommitAuthorView>,
    pub date: String,
    pub id: String,
    pub message: String,
    pub title: String,
}

/// An author of a commit, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitAuthorView {
    pub user: String,
}

impl CommitView {
    /// `date` is the committer's time; `message` is the body after the title.
    pub fn new(id: &ObjectId, commit: &Commit) -> Self {
        Self {
            authors: vec![CommitAuthorView { user: commit.author.name.clone() }],
            date: format_timestamp(commit.committer.time * 1000),
            id: id.to_hex(),
            message: commit.body().to_owned(),
            title: commit.title().to_owned(),
        }
    }
}

/// The answer of `POST .../commit/{revision}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitResultView {
    #[serde(rename = "commitOid")]
    pub commit_oid: String,
    #[serde(rename = "commitUrl")]
    pub commit_url: String,
    /// With `create_pr=1`: the pull request's page, `…/discussions/{num}` (the client reads
    /// the number off its end).
    #[serde(rename = "pullRequestUrl", skip_serializing_if = "Option::is_none")]
    pub pull_request_url: Option<String>,
    pub success: bool,
}

impl CommitResultView {
    /// The commit `id` in the repo whose page is `repo_url`.
    pub fn new(repo_url: &str, id: &ObjectId) -> Self {
        Self {
            commit_oid: id.to_hex(),
            commit_url: format!("{repo_url}/commit/{id}"),
            pull_request_url: None,
            success: true,
        }
    }

    /// The answer of a commit that opened pull request `num`.
    pub fn with_pull_request(mut self, repo_url: &str, num: u64) -> Self {
        self.pull_request_url = Some(format!("{repo_url}/discussions/{num}"));
        self
    }
}

/// The answer of `POST .../preupload/{revision}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreuploadView {
    #[serde(rename = "commitOid")]
    pub commit_oid: String,
    pub files: Vec<PreuploadFileView>,
}

/// How one file of a preupload is to be sent. `oid` is `null` unless the revision already
/// holds the file in that mode; `shouldIgnore` when the root `.gitignore` excludes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreuploadFileView {
    pub oid: Option<String>,
    pub path: String,
    #[serde(rename = "shouldIgnore")]
    pub should_ignore: bool,
    #[serde(rename = "uploadMode")]
    pub upload_mode: &'static str,
}

/// The Hub's name of an upload mode.
pub fn upload_mode_name(mode: UploadMode) -> &'static str {
    match mode {
        UploadMode::Lfs => "lfs",
        UploadMode::Regular => "regular",
    }
}

impl PreuploadView {
    /// `paths` are the requested paths as the client spelled them, in the plan's order.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>, plan: &Preupload) -> Self {
        let files = paths
            .into_iter()
            .zip(&plan.files)
            .map(|(path, planned)| PreuploadFileView {
                oid: planned.existing.clone(),
                path: path.to_owned(),
                should_ignore: planned.should_ignore,
                upload_mode: upload_mode_name(planned.mode),
            })
            .collect();
        Self { commit_oid: plan.commit.to_hex(), files }
    }
}
