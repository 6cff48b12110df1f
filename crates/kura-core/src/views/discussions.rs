//! Discussions: the listing, a discussion's details with its events, and the answers of the
//! calls that add or change an event (`newMessage`, `newTitle`, `newStatus`,
//! `updatedComment`). A hidden comment's text is never in a view.

use kura_model::{RepoId, RepoType, format_timestamp};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{DiscussionDetails, DiscussionPage, EventDetails};
use kura_storage::DiscussionRecord;

/// The text a hidden comment shows instead of its own.
const HIDDEN_TEXT: &str = "This comment has been hidden";

/// `{"name": …}` of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedView {
    pub name: String,
}

/// The repo a discussion belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscussionRepoView {
    pub name: String,
    #[serde(rename = "type")]
    pub repo_type: &'static str,
}

/// A discussion as listed (`D`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscussionView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<NamedView>,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "isPullRequest")]
    pub is_pull_request: bool,
    pub num: u64,
    pub pinned: bool,
    pub repo: DiscussionRepoView,
    pub status: String,
    pub title: String,
}

impl DiscussionView {
    pub fn new(
        record: &DiscussionRecord,
        author: Option<&str>,
        repo_type: RepoType,
        repo_id: &RepoId,
    ) -> Self {
        Self {
            author: author.map(|name| NamedView { name: name.to_owned() }),
            created_at: format_timestamp(record.created_at),
            is_pull_request: record.is_pull_request,
            num: record.num,
            pinned: false,
            repo: DiscussionRepoView { name: repo_id.to_string(), repo_type: repo_type.as_str() },
            status: record.status.clone(),
            title: record.title.clone(),
        }
    }
}

/// `GET …/discussions`: one page and where it starts in all that pass the filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscussionListView {
    pub count: u64,
    pub discussions: Vec<DiscussionView>,
    pub start: u64,
}

impl DiscussionListView {
    pub fn new(page: &DiscussionPage, repo_type: RepoType, repo_id: &RepoId) -> Self {
        let discussions = page
            .discussions
            .iter()
            .map(|(d, a)| DiscussionView::new(d, a.as_deref(), repo_type, repo_id))
            .collect();
        Self { count: page.total, discussions, start: page.start }
    }
}

/// An event (`E`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<NamedView>,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    pub data: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// The HTML of a comment: its text escaped, paragraphs kept (no markup of the author's runs).
fn comment_html(raw: &str) -> String {
    let escaped = raw.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    escaped
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{p}</p>"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A stored version of a comment (`{raw, updatedAt, author}`) as the Hub shows it.
fn version_view(stored: &Value, hidden: bool) -> Value {
    let raw = if hidden { HIDDEN_TEXT } else { stored["raw"].as_str().unwrap_or_default() };
    let mut view = json!({
        "raw": raw,
        "html": comment_html(raw),
        "updatedAt": format_timestamp(stored["updatedAt"].as_i64().unwrap_or_default()),
    });
    if let Some(name) = stored["author"].as_str() {
        view["author"] = json!({"name": name});
    }
    view
}

impl EventView {
    pub fn new(event: &EventDetails) -> Self {
        let data = match event.event.kind.as_str() {
            "comment" => {
                let hidden = event.data["hidden"].as_bool().unwrap_or(false);
                let history: Vec<Value> = match hidden {
                    true => Vec::new(),
                    false => event.data["history"]
                        .as_array()
                        .map(|h| h.iter().map(|v| version_view(v, false)).collect())
                        .unwrap_or_default(),
                };
                json!({
                    "edited": event.data["edited"].as_bool().unwrap_or(false),
                    "hidden": hidden,
                    "latest": version_view(&event.data["latest"], hidden),
                    "numEdits": history.len(),
                    "history": history,
                })
            }
            _ => event.data.clone(),
        };
        Self {
            author: event.author.as_ref().map(|name| NamedView { name: name.clone() }),
            created_at: format_timestamp(event.event.created_at),
            data,
            id: event.event.id.clone(),
            kind: event.event.kind.clone(),
        }
    }
}

/// `GET …/discussions/{num}`: the discussion and its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscussionDetailsView {
    #[serde(flatten)]
    pub discussion: DiscussionView,
    pub events: Vec<EventView>,
    /// Pull requests: `{"base": "refs/heads/main", "mergeCommitId"?}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Value>,
    #[serde(rename = "filesWithConflicts", skip_serializing_if = "Option::is_none")]
    pub files_with_conflicts: Option<Vec<String>>,
    /// A pull request's unified diff, with `?diff=1` for callers who may read the files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl DiscussionDetailsView {
    pub fn new(details: &DiscussionDetails, repo_type: RepoType, repo_id: &RepoId) -> Self {
        Self {
            discussion: DiscussionView::new(
                &details.discussion,
                details.author.as_deref(),
                repo_type,
                repo_id,
            ),
            events: details.events.iter().map(EventView::new).collect(),
            changes: details.pull.as_ref().map(|pull| match &pull.merge_commit {
                Some(merged) => json!({"base": pull.base, "mergeCommitId": merged}),
                None => json!({"base": pull.base}),
            }),
            files_with_conflicts: details.pull.as_ref().map(|pull| pull.conflicts.clone()),
            diff: None,
        }
    }
}

/// `POST …/discussions`: the new discussion's number (the client then reads its details).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DiscussionCreatedView {
    pub num: u64,
}

/// The answer of a call that added or changed an event, under the key the Hub uses for it.
pub fn event_answer(key: &'static str, event: &EventDetails) -> Value {
    json!({ key: EventView::new(event) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_html_escapes_everything_the_author_wrote() {
        let html = comment_html("<script>alert(1)</script>\n\n\"x\" & <b>y</b>");
        assert_eq!(
            html,
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n<p>&quot;x&quot; &amp; &lt;b&gt;y&lt;/b&gt;</p>"
        );
    }

    #[test]
    fn a_hidden_comment_shows_neither_its_text_nor_its_history() {
        let stored = json!({"edited": true, "hidden": true,
            "latest": {"raw": "secret now", "updatedAt": 5, "author": "eve"},
            "history": [{"raw": "secret before", "updatedAt": 1, "author": "eve"}]});
        let event = EventDetails {
            event: kura_storage::DiscussionEventRecord {
                id: "e".into(),
                kind: "comment".into(),
                author: Some(1),
                created_at: 1,
                data: stored.to_string(),
            },
            author: Some("eve".into()),
            data: stored,
        };
        let text = serde_json::to_string(&EventView::new(&event)).unwrap();
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains(HIDDEN_TEXT));
    }
}
