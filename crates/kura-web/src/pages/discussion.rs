//! `{base}/discussions/{num}`: one discussion or pull request with its events, the comment
//! form, close and reopen for its author and the repo's writers, hiding comments and merging
//! for writers, and a pull request's "Files changed" (`pull_diff`). The forms post to
//! `{base}/discussions/{num}/{comment|status|hide|merge}`; the core checks every right again,
//! and a refusal is the error page.

use askama::Template;
use kura_core::DiscussionDetails;
use kura_core::views::DiscussionDetailsView;
use kura_model::ObjectId;

use super::commit::FileDiff;
use super::discussion_events::{EventBody, EventRow, event_rows};
use super::discussions::login_url;
use super::layout::Layout;
use super::pull_diff::{self, PullChanges};
use super::repo_common::{self, RepoHeader, Tab};
use super::{format, ok, see_other};
use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::RepoName;

/// What the page says about a pull request's branch.
pub(crate) struct Pull {
    head_ref: String,
    target: &'static str,
    /// The head commit's page and short id (`None`: no commits yet).
    head: Option<(String, String)>,
    /// The head the merge form names, so a pull request that moves after the page was read
    /// is not merged unseen.
    head_oid: Option<String>,
    /// The commit the diff starts from, and whether it is where the branch left `main`.
    from: Option<(String, String)>,
    from_merge_base: bool,
    /// Files changed on both sides since the branch left `main` (the merge would refuse).
    conflicts: Vec<String>,
    /// The merge commit, once merged.
    merged_as: Option<(String, String)>,
}

/// What the caller may do here (the core decides again on every post).
pub(crate) struct Rights {
    signed_in: bool,
    /// Author or writer: close and reopen.
    moderate: bool,
    /// Writer: hide comments, merge.
    write: bool,
}

#[derive(Template)]
#[template(path = "discussion.html")]
struct DiscussionPage {
    layout: Layout,
    header: RepoHeader,
    here: String,
    login: String,
    num: u64,
    title: String,
    status: String,
    is_pull_request: bool,
    author: Option<String>,
    date: String,
    events: Vec<EventRow>,
    rights: Rights,
    pull: Option<Pull>,
    files: Vec<FileDiff>,
    truncated: bool,
}

impl DiscussionPage {
    fn noun(&self) -> &'static str {
        if self.is_pull_request { "pull request" } else { "discussion" }
    }

    /// The status the status button sets and its verb (`None`: no button).
    fn next_status(&self) -> Option<(&'static str, &'static str)> {
        match self.status.as_str() {
            _ if !self.rights.moderate => None,
            "open" | "draft" => Some(("closed", "Close")),
            "closed" => Some(("open", "Reopen")),
            _ => None,
        }
    }

    /// Merging is offered to writers while the pull request is open and merges cleanly.
    fn can_merge(&self) -> bool {
        let clean = self.pull.as_ref().is_some_and(|p| p.head.is_some() && p.conflicts.is_empty());
        self.status == "open" && self.rights.write && clean
    }
}

fn commit_link(base: &str, oid: ObjectId) -> (String, String) {
    let hex = oid.to_hex();
    (format!("{base}/commit/{hex}"), hex[..7].to_owned())
}

fn pull_of(base: &str, details: &DiscussionDetails, changes: &PullChanges) -> Pull {
    let pull = details.pull.clone().unwrap_or_default();
    let merged_as = pull.merge_commit.and_then(|hex| ObjectId::from_hex(&hex).ok());
    Pull {
        head_ref: format!("refs/pr/{}", details.discussion.num),
        target: pull_diff::TARGET,
        head: changes.head.map(|oid| commit_link(base, oid)),
        head_oid: changes.head.map(|oid| oid.to_hex()),
        from: changes.from.map(|oid| commit_link(base, oid)),
        from_merge_base: changes.from_merge_base,
        conflicts: pull.conflicts,
        merged_as: merged_as.map(|oid| commit_link(base, oid)),
    }
}

pub(crate) async fn discussion_page(req: &mut Req, name: &RepoName, num: u64) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let details = req.hub().discussions().get(&req.identity, &record, num).await?;
    let header = RepoHeader::new(req, &record, Tab::Community, "main").await;
    let view = DiscussionDetailsView::new(&details, record.repo_type, &record.repo_id);
    let user = req.identity.principal().map(|p| p.user.name.clone());
    let rights = Rights {
        signed_in: user.is_some(),
        moderate: header.can_write || (user.is_some() && user == details.author),
        write: header.can_write,
    };
    let (pull, files, truncated) = if details.discussion.is_pull_request {
        let changes = pull_diff::changes(req, &record, &header.base, num, &details.own_commits()).await?;
        (Some(pull_of(&header.base, &details, &changes)), changes.diffs.files, changes.diffs.truncated)
    } else {
        (None, Vec::new(), false)
    };
    let here = format!("{}/discussions/{num}", header.base);
    let discussion = view.discussion;
    let page = DiscussionPage {
        layout: Layout::new(req, &format!("{} · #{num} · {}", discussion.title, record.repo_id)),
        login: login_url(&here),
        events: event_rows(&header.base, &view.events).await,
        here,
        num,
        title: discussion.title,
        status: discussion.status,
        is_pull_request: discussion.is_pull_request,
        author: discussion.author.map(|a| a.name),
        date: format::day(&discussion.created_at),
        rights,
        pull,
        files,
        truncated,
        header,
    };
    ok(&page)
}

/// One of the page's forms; answers 303 to the event it made or changed.
pub(crate) async fn act(req: &mut Req, name: &RepoName, num: u64, action: &str) -> WebResult {
    req.require_user()?;
    let form = req.form().await?;
    let record = repo_common::find(req, name).await?;
    let discussions = req.hub().discussions();
    let identity = &req.identity;
    let comment = form.get("comment").unwrap_or_default();
    let optional = Some(comment).filter(|c| !c.trim().is_empty());
    let event = match action {
        "comment" => discussions.comment(identity, &record, num, comment).await?,
        "status" => discussions.set_status(identity, &record, num, form.require("status")?, optional).await?,
        "hide" => discussions.hide_comment(identity, &record, num, form.require("event")?).await?,
        "merge" => {
            let head = form.get("head").map(ObjectId::from_hex).transpose();
            let head = head.map_err(|_| WebError::bad_request("The pull request head is not a commit id"))?;
            discussions.merge(identity, &record, num, optional, head).await?
        }
        _ => return Err(WebError::not_found()),
    };
    let base = repo_common::base_url(record.repo_type, &record.repo_id);
    see_other(&format!("{base}/discussions/{num}#{}", event.event.id))
}

#[cfg(test)]
mod tests {
    use kura_core::views::{EventView, NamedView};
    use serde_json::json;

    use super::*;

    fn event(id: &str, kind: &str, data: serde_json::Value) -> EventView {
        EventView {
            author: Some(NamedView { name: "bob".into() }),
            created_at: "2026-12-04T10:00:00.000Z".into(),
            data,
            id: id.into(),
            kind: kind.into(),
        }
    }

    async fn sample() -> DiscussionPage {
        let oid = "0123456789abcdef0123456789abcdef01234567";
        let events = [
            event(
                "e1",
                "comment",
                json!({"hidden": false, "edited": true, "latest": {"raw": "Adds **weights**.\n\n<script>alert(1)</script>"}}),
            ),
            event("e2", "commit", json!({"oid": oid, "subject": "Add <b>weights</b>"})),
            event("e3", "comment", json!({"hidden": true, "latest": {"raw": "the secret text"}})),
            event("e4", "title-change", json!({"from": "old", "to": "Add weights"})),
            event("e5", "status-change", json!({"status": "closed"})),
            event("e6", "status-change", json!({"status": "open"})),
        ];
        let header = RepoHeader {
            kind: "model",
            id: "alice/demo".into(),
            namespace: "alice".into(),
            name: "demo".into(),
            base: "/alice/demo".into(),
            private: false,
            gated: false,
            tab: Tab::Community,
            revision: "main".into(),
            can_write: true,
            likes: 3,
            liked: Some(false),
        };
        let rows = crate::diff::unified("a\nb\n", "a\nB\n");
        let file = FileDiff {
            path: "config.json".into(),
            kind: "modified",
            href: Some("/alice/demo/blob/abc/config.json".into()),
            sizes: "4 Bytes → 4 Bytes".into(),
            lfs: false,
            blobs: "1111111..2222222".into(),
            note: None,
            rows,
        };
        let commit = |hex: &str| (format!("/alice/demo/commit/{hex}"), hex[..7].to_owned());
        DiscussionPage {
            layout: Layout {
                title: "Add weights".into(),
                user: Some("bob".into()),
                csrf: "CSRF".into(),
                css: "/_kura/assets/kura.css",
                js: "/_kura/assets/kura.js",
            },
            here: "/alice/demo/discussions/2".into(),
            login: login_url("/alice/demo/discussions/2"),
            num: 2,
            title: "Add weights".into(),
            status: "open".into(),
            is_pull_request: true,
            author: Some("bob".into()),
            date: "2026-12-04".into(),
            events: event_rows(&header.base, &events).await,
            rights: Rights { signed_in: true, moderate: true, write: true },
            pull: Some(Pull {
                head_ref: "refs/pr/2".into(),
                target: "main",
                head: Some(commit(oid)),
                head_oid: Some(oid.to_owned()),
                from: Some(commit("89abcdef0123456789abcdef0123456789abcdef")),
                from_merge_base: true,
                conflicts: Vec::new(),
                merged_as: None,
            }),
            files: vec![file],
            truncated: false,
            header,
        }
    }

    /// Compares with `snapshots/{name}` (`KURA_UPDATE_SNAPSHOTS=1` rewrites it).
    fn check_snapshot(name: &str, html: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pages/snapshots").join(name);
        if std::env::var_os("KURA_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, html).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (KURA_UPDATE_SNAPSHOTS=1 writes it)", path.display()));
        assert_eq!(html, expected, "{name} differs (KURA_UPDATE_SNAPSHOTS=1 rewrites it)");
    }

    #[tokio::test]
    async fn a_pull_request_page_shows_its_events_forms_and_diff() {
        let html = sample().await.render().unwrap();
        check_snapshot("pull_request.html", &html);
        assert!(!html.contains("secret"), "a hidden comment's text reached the page");
        assert!(html.contains("This comment has been hidden"));
        assert!(html.contains("<strong>weights</strong>") && html.contains("&lt;script&gt;alert(1)"));
        assert!(!html.contains("<script>alert"), "a comment's script is markup");
        assert!(html.contains("Add &#60;b&#62;weights&#60;/b&#62;"), "a commit subject is text");
        assert!(html.contains("href=\"/alice/demo/commit/0123456789abcdef0123456789abcdef01234567\""));
        assert!(html.contains("action=\"/alice/demo/discussions/2/merge\""));
        assert!(html.contains("name=\"head\""), "the merge form names the head it shows");
        assert!(html.contains("value=\"closed\">Close pull request</button>"));
        assert!(html.contains("<tr class=\"add\">"), "the diff is shown");
    }

    #[tokio::test]
    async fn readers_get_no_forms_they_cannot_use() {
        let mut page = sample().await;
        page.layout.user = None;
        page.rights = Rights { signed_in: false, moderate: false, write: false };
        let html = page.render().unwrap();
        for form in ["/comment\"", "/status\"", "/hide\"", "/merge\""] {
            assert!(!html.contains(form), "{form} offered to a reader");
        }
        assert!(html.contains("/login?next=%2Falice%2Fdemo%2Fdiscussions%2F2"));
        page.rights = Rights { signed_in: true, moderate: true, write: false };
        page.status = "closed".into();
        let html = page.render().unwrap();
        assert!(html.contains("value=\"open\">Reopen pull request</button>"));
        assert!(!html.contains("/merge\"") && !html.contains("/hide\""));
    }
}
