//! `GET .../refs`: branches, tags, conversions and pull requests (`GitRefs` in
//! `huggingface_hub`).

use serde::Serialize;

use crate::RefRecord;

/// One ref: its short name, full name and commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitRefView {
    pub name: String,
    #[serde(rename = "ref")]
    pub full_name: String,
    #[serde(rename = "targetCommit")]
    pub target_commit: String,
}

/// A repo's refs by kind; `pullRequests` only when asked for (`include_prs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefsView {
    pub branches: Vec<GitRefView>,
    pub converts: Vec<GitRefView>,
    #[serde(rename = "pullRequests", skip_serializing_if = "Option::is_none")]
    pub pull_requests: Option<Vec<GitRefView>>,
    pub tags: Vec<GitRefView>,
}

impl RefsView {
    /// Sorts `refs` into their kinds; refs of other kinds are not shown.
    pub fn new(refs: &[RefRecord], include_prs: bool) -> Self {
        let mut view = Self::default();
        let mut prs = Vec::new();
        for r in refs {
            let name = r.name.as_str();
            let group = if name.starts_with("refs/heads/") {
                &mut view.branches
            } else if name.starts_with("refs/tags/") {
                &mut view.tags
            } else if name.starts_with("refs/convert/") {
                &mut view.converts
            } else if name.starts_with("refs/pr/") {
                &mut prs
            } else {
                continue;
            };
            group.push(GitRefView {
                name: r.name.short().to_owned(),
                full_name: name.to_owned(),
                target_commit: r.target.to_hex(),
            });
        }
        view.pull_requests = include_prs.then_some(prs);
        view
    }
}
