//! A discussion's events as the page shows them, from the core's views (`EventView`): comments
//! as Markdown with raw HTML as text (`markdown::render_comments`), a hidden comment as a
//! notice without its text (the view holds none; this never reads it either), status and
//! title changes, and commits linking to their commit pages.

use std::sync::Arc;

use kura_core::views::EventView;
use serde_json::Value;

use super::format;
use crate::markdown::{self, LinkBase};

/// What an event says.
pub(crate) enum EventBody {
    Comment {
        html: Arc<String>,
        edited: bool,
    },
    Hidden,
    /// A status change; a merge names its merge commit (page and short id).
    Status {
        status: String,
        merge: Option<(String, String)>,
    },
    Title {
        from: String,
        to: String,
    },
    Commit {
        href: Option<String>,
        short: String,
        subject: String,
    },
    /// A kind this page does not know (shown by name).
    Other {
        kind: String,
    },
}

/// One event of the page.
pub(crate) struct EventRow {
    pub(crate) id: String,
    pub(crate) author: Option<String>,
    pub(crate) date: String,
    pub(crate) body: EventBody,
}

impl EventRow {
    /// The class of the event's list item.
    pub(crate) fn class(&self) -> &'static str {
        match self.body {
            EventBody::Comment { .. } => "comment",
            EventBody::Hidden => "comment hidden",
            EventBody::Status { .. } => "status-change",
            EventBody::Title { .. } => "title-change",
            EventBody::Commit { .. } => "commit",
            EventBody::Other { .. } => "other",
        }
    }
}

/// A string field of an event's data.
fn text(data: &Value, key: &str) -> String {
    data[key].as_str().unwrap_or_default().to_owned()
}

/// Whether a comment event is hidden (anything but an explicit `false` counts as hidden).
fn is_hidden(data: &Value) -> bool {
    data["hidden"].as_bool() != Some(false)
}

/// A commit id's page, when `oid` is a full commit id.
fn commit_href(base: &str, oid: &str) -> Option<String> {
    let valid = oid.len() == 40 && oid.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| format!("{base}/commit/{oid}"))
}

/// A commit event: its short id and subject, linking to its page when the id is one.
fn commit_body(base: &str, data: &Value) -> EventBody {
    let oid = text(data, "oid");
    EventBody::Commit {
        href: commit_href(base, &oid),
        short: oid.chars().take(7).collect(),
        subject: text(data, "subject"),
    }
}

/// A status change, with the merge commit a merge made.
fn status_body(base: &str, data: &Value) -> EventBody {
    let merged = text(data, "mergeCommitId");
    EventBody::Status {
        status: text(data, "status"),
        merge: commit_href(base, &merged).map(|href| (href, merged.chars().take(7).collect())),
    }
}

/// The events of a discussion of the repo at `base` (its URL), comments rendered.
pub(crate) async fn event_rows(base: &str, events: &[EventView]) -> Vec<EventRow> {
    let comments: Vec<String> = events
        .iter()
        .filter(|e| e.kind == "comment" && !is_hidden(&e.data))
        .map(|e| e.data["latest"]["raw"].as_str().unwrap_or_default().to_owned())
        .collect();
    let link_base = LinkBase { repo: base.to_owned(), revision: "main".to_owned(), dir: String::new() };
    let mut rendered = markdown::render_comments(comments, link_base).await.into_iter();
    events.iter().map(|event| row(base, event, &mut rendered)).collect()
}

fn row(base: &str, event: &EventView, rendered: &mut impl Iterator<Item = Arc<String>>) -> EventRow {
    let data = &event.data;
    let body = match event.kind.as_str() {
        "comment" if is_hidden(data) => EventBody::Hidden,
        "comment" => EventBody::Comment {
            html: rendered.next().unwrap_or_default(),
            edited: data["edited"].as_bool().unwrap_or(false),
        },
        "status-change" => status_body(base, data),
        "title-change" => EventBody::Title { from: text(data, "from"), to: text(data, "to") },
        "commit" => commit_body(base, data),
        other => EventBody::Other { kind: other.to_owned() },
    };
    EventRow {
        id: event.id.clone(),
        author: event.author.as_ref().map(|a| a.name.clone()),
        date: format::day(&event.created_at),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, data: Value) -> EventView {
        EventView {
            author: Some(kura_core::views::NamedView { name: "eve".into() }),
            created_at: "2026-12-04T10:00:00.000Z".into(),
            data,
            id: format!("id-{kind}"),
            kind: kind.into(),
        }
    }

    fn comment(raw: &str, hidden: bool) -> Value {
        json!({"edited": false, "hidden": hidden, "latest": {"raw": raw}})
    }

    #[tokio::test]
    async fn comments_render_as_markdown_and_hidden_ones_show_no_text() {
        let events = [
            event("comment", comment("**hi** <script>alert(1)</script>", false)),
            event("comment", comment("the secret", true)),
            event("comment", json!({"latest": {"raw": "no flag, so hidden"}})),
            event("status-change", json!({"status": "closed"})),
        ];
        let rows = event_rows("/alice/demo", &events).await;
        let EventBody::Comment { html, .. } = &rows[0].body else { panic!("a comment") };
        assert!(html.contains("<strong>hi</strong>") && html.contains("&lt;script&gt;"), "{html}");
        assert!(matches!(rows[1].body, EventBody::Hidden));
        assert!(matches!(rows[2].body, EventBody::Hidden));
        assert!(matches!(&rows[3].body, EventBody::Status { status, merge: None } if status == "closed"));
        assert_eq!((rows[0].date.as_str(), rows[0].author.as_deref()), ("2026-12-04", Some("eve")));
    }

    #[tokio::test]
    async fn commits_and_merges_link_to_commit_pages_only_with_a_full_id() {
        let oid = "0123456789abcdef0123456789abcdef01234567";
        let events = [
            event("commit", json!({"oid": oid, "subject": "Add weights"})),
            event("commit", json!({"oid": "../../x", "subject": "odd"})),
            event("status-change", json!({"status": "merged", "mergeCommitId": oid})),
        ];
        let rows = event_rows("/alice/demo", &events).await;
        let EventBody::Commit { href, short, subject } = &rows[0].body else { panic!("a commit") };
        assert_eq!(href.as_deref(), Some(format!("/alice/demo/commit/{oid}").as_str()));
        assert_eq!((short.as_str(), subject.as_str()), ("0123456", "Add weights"));
        assert!(matches!(&rows[1].body, EventBody::Commit { href: None, .. }));
        let EventBody::Status { merge: Some((href, short)), .. } = &rows[2].body else { panic!("a merge") };
        assert_eq!(
            (href.as_str(), short.as_str()),
            (format!("/alice/demo/commit/{oid}").as_str(), "0123456")
        );
    }
}
