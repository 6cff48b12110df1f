//! Discussions: a repo's threads, numbered per repo, with their events (comments, status and
//! title changes). Anyone who may see a repo and holds a token that writes may open one and
//! comment; the author of a discussion or a repo writer renames it and changes its status; only
//! a comment's author edits it; repo writers hide comments (audited). Hidden comments keep
//! their text in the store but no view shows it. Bodies and titles are bounded; posting is
//! rate-limited per user. Pull requests (`refs/pr/N`) come later.

use std::collections::HashMap;

use kura_storage::{
    DiscussionBudget, DiscussionChange, DiscussionEventRecord, DiscussionFilter, DiscussionRecord,
    NewDiscussion, RepoRecord, StorageError,
};
use serde_json::{Value, json};

use crate::audit::{actor, record_target};
use crate::error::{CoreError, Result};
use crate::services::Discussions;
use crate::{Identity, Principal};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Largest comment or description, in bytes.
pub const MAX_COMMENT_BYTES: usize = 64 << 10;
/// Most events one discussion holds (its details list them all).
pub const MAX_EVENTS: u64 = 2_000;
/// Most bytes of event data one discussion holds (its details are a few times that at most).
pub const MAX_DISCUSSION_BYTES: u64 = 2 << 20;
/// Earlier versions of a comment kept in its history.
const MAX_HISTORY: usize = 5;
/// Highest listing page (past it the listing is refused rather than scanned).
const MAX_PAGE: u64 = 2_000;

pub(crate) const BUDGET: DiscussionBudget =
    DiscussionBudget { max_events: MAX_EVENTS, max_bytes: MAX_DISCUSSION_BYTES };
/// Discussions per listing page.
pub const PAGE_SIZE: u64 = 50;
/// Posts (new discussions, comments, edits) a user may make in a burst, and the refill.
pub(crate) const POST_BURST: u32 = 60;
pub(crate) const POST_REFILL_MS: i64 = 500;

/// A discussion with its events, as stored.
#[derive(Debug, Clone)]
pub struct DiscussionDetails {
    pub discussion: DiscussionRecord,
    pub author: Option<String>,
    pub events: Vec<EventDetails>,
    /// For a pull request: where it stands against its target.
    pub pull: Option<PullDetails>,
}

impl DiscussionDetails {
    /// The commits a pull request's `commit` events name.
    pub fn own_commits(&self) -> std::collections::HashSet<kura_model::ObjectId> {
        self.events
            .iter()
            .filter(|e| e.event.kind == "commit")
            .filter_map(|e| kura_model::ObjectId::from_hex(e.data["oid"].as_str()?).ok())
            .collect()
    }
}

/// A pull request's target, its conflicts with it now, and its merge commit once merged.
#[derive(Debug, Clone, Default)]
pub struct PullDetails {
    /// The full ref it merges into (`refs/heads/main`).
    pub base: String,
    pub conflicts: Vec<String>,
    pub merge_commit: Option<String>,
}

/// An event with its author's name.
#[derive(Debug, Clone)]
pub struct EventDetails {
    pub event: DiscussionEventRecord,
    pub author: Option<String>,
    pub data: Value,
}

/// A listing page: the discussions (with their authors' names) and how many pass the filter.
#[derive(Debug, Clone)]
pub struct DiscussionPage {
    pub discussions: Vec<(DiscussionRecord, Option<String>)>,
    pub total: u64,
    pub start: u64,
}

/// What `list` keeps: `type` (`all`, `discussion`, `pull_request`), `status` (`all`, `open`,
/// `closed`) and an author's name, as the Hub's query string says them.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub author: Option<String>,
    pub page: u64,
}

pub(crate) fn new_event_id() -> String {
    format!("{:024x}", rand::random::<u128>() >> 32)
}

pub(crate) fn check_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS || title.chars().any(hides_text) {
        return Err(CoreError::invalid(format!(
            "A title must be 1 to {MAX_TITLE_CHARS} characters, without control or direction characters"
        )));
    }
    Ok(title.to_owned())
}

/// Control characters, and the invisible ones that reorder or hide text (bidirectional
/// overrides and isolates, zero-width characters, the byte order mark).
pub(crate) fn hides_text(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}')
        || matches!(c, '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

pub(crate) fn check_body(body: &str, what: &str) -> Result<()> {
    if body.len() > MAX_COMMENT_BYTES {
        return Err(CoreError::invalid(format!("A {what} must be at most {MAX_COMMENT_BYTES} bytes")));
    }
    Ok(())
}

/// A new event record by `principal` at `now`.
pub(crate) fn event_record(
    principal: &Principal,
    kind: &str,
    data: &Value,
    now: i64,
) -> DiscussionEventRecord {
    DiscussionEventRecord {
        id: new_event_id(),
        kind: kind.into(),
        author: Some(principal.user.id),
        created_at: now,
        data: data.to_string(),
    }
}

/// The data of a new comment event.
pub(crate) fn comment_data(raw: &str, author: &str, now: i64) -> Value {
    json!({"edited": false, "hidden": false, "latest": {"raw": raw, "updatedAt": now, "author": author}, "history": []})
}

impl Discussions<'_> {
    /// The caller as a poster: authenticated, with a token that writes and reaches the repo,
    /// within the per-user rate.
    pub(crate) async fn poster<'i>(
        &self,
        identity: &'i Identity,
        repo: &RepoRecord,
    ) -> Result<&'i Principal> {
        let principal = self.hub.accounts().authorize_contribution(identity, repo).await?;
        self.hub.accounts().take_post(principal)?;
        Ok(principal)
    }

    /// Whether the caller writes to the repo (maintainers).
    pub(crate) async fn is_writer(&self, identity: &Identity, repo: &RepoRecord) -> Result<bool> {
        match self.hub.accounts().authorize_write(identity, repo).await {
            Ok(()) => Ok(true),
            Err(CoreError::Forbidden(_) | CoreError::Unauthorized(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// A user's name, looked up once per call (`names` remembers them).
    async fn name_of(
        &self,
        user: Option<i64>,
        names: &mut HashMap<i64, Option<String>>,
    ) -> Result<Option<String>> {
        let Some(id) = user else { return Ok(None) };
        if let Some(name) = names.get(&id) {
            return Ok(name.clone());
        }
        let name = self.meta.user_by_id(id).await?.map(|u| u.name);
        names.insert(id, name.clone());
        Ok(name)
    }

    /// Opens a discussion with `description` as its first comment.
    pub async fn create(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        title: &str,
        description: &str,
        pull_request: bool,
    ) -> Result<u64> {
        if pull_request {
            return self.open_pull_request(identity, repo, title, description).await;
        }
        let title = check_title(title)?;
        check_body(description, "description")?;
        let principal = self.poster(identity, repo).await?;
        let now = self.now_millis();
        let first =
            event_record(principal, "comment", &comment_data(description, &principal.user.name, now), now);
        let new = NewDiscussion {
            repo: repo.id,
            title: &title,
            status: "open",
            is_pull_request: false,
            author: principal.user.id,
            created_at: now,
            pr_head: None,
        };
        Ok(self.meta.create_discussion(new, &[first]).await?)
    }

    /// A discussion of a repo the caller may see.
    pub async fn get(&self, identity: &Identity, repo: &RepoRecord, num: u64) -> Result<DiscussionDetails> {
        self.hub.accounts().authorize_read(identity, repo).await?;
        let discussion = self.found(repo, num).await?;
        let mut names = HashMap::new();
        let mut events = Vec::new();
        for event in self.meta.discussion_events(repo.id, num, MAX_EVENTS).await? {
            let data = serde_json::from_str(&event.data).unwrap_or(Value::Null);
            events.push(EventDetails { author: self.name_of(event.author, &mut names).await?, data, event });
        }
        let pull = match discussion.is_pull_request {
            true => Some(self.pull_details(repo, &discussion, &events).await?),
            false => None,
        };
        Ok(DiscussionDetails {
            author: self.name_of(discussion.author, &mut names).await?,
            discussion,
            events,
            pull,
        })
    }

    /// The discussion, for a caller who may see the repo (without its events).
    pub async fn head(&self, identity: &Identity, repo: &RepoRecord, num: u64) -> Result<DiscussionRecord> {
        self.hub.accounts().authorize_read(identity, repo).await?;
        self.found(repo, num).await
    }

    pub(crate) async fn found(&self, repo: &RepoRecord, num: u64) -> Result<DiscussionRecord> {
        self.meta
            .discussion(repo.id, num)
            .await?
            .ok_or_else(|| CoreError::NotFound("Discussion not found".into()))
    }

    /// A page of the repo's discussions, newest first.
    pub async fn list(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        query: &ListQuery,
    ) -> Result<DiscussionPage> {
        self.hub.accounts().authorize_read(identity, repo).await?;
        let pull_requests = match query.kind.as_deref() {
            None | Some("all") => None,
            Some("discussion") => Some(false),
            Some("pull_request") => Some(true),
            Some(other) => return Err(CoreError::invalid(format!("Unknown discussion type '{other}'"))),
        };
        let statuses = match query.status.as_deref() {
            None | Some("all") => Vec::new(),
            Some("open") => vec!["open".into(), "draft".into()],
            Some("closed") => vec!["closed".into(), "merged".into()],
            Some(other) => return Err(CoreError::invalid(format!("Unknown discussion status '{other}'"))),
        };
        let mut filter = DiscussionFilter { author: None, pull_requests, statuses };
        if let Some(name) = &query.author {
            match self.meta.user_by_name(name).await? {
                Some(user) => filter.author = Some(user.id),
                None => return Ok(DiscussionPage { discussions: Vec::new(), total: 0, start: 0 }),
            }
        }
        if query.page > MAX_PAGE {
            return Err(CoreError::invalid(format!("'p' must be at most {MAX_PAGE}")));
        }
        let start = query.page * PAGE_SIZE;
        let (page, total) = self.meta.discussions(repo.id, &filter, start, PAGE_SIZE).await?;
        let mut names = HashMap::new();
        let mut discussions = Vec::with_capacity(page.len());
        for discussion in page {
            let author = self.name_of(discussion.author, &mut names).await?;
            discussions.push((discussion, author));
        }
        Ok(DiscussionPage { discussions, total, start })
    }

    /// A new event made by `principal`.
    pub(crate) fn event(&self, principal: &Principal, kind: &str, data: Value) -> EventDetails {
        let event = event_record(principal, kind, &data, self.now_millis());
        EventDetails { author: Some(principal.user.name.clone()), data, event }
    }

    /// Appends events (in one transaction, within the discussion's budget), changing title
    /// or status with them.
    pub(crate) async fn append(
        &self,
        repo: &RepoRecord,
        num: u64,
        events: &[EventDetails],
        change: DiscussionChange<'_>,
    ) -> Result<()> {
        let records: Vec<DiscussionEventRecord> = events.iter().map(|e| e.event.clone()).collect();
        match self.meta.add_discussion_events(repo.id, num, &records, change, BUDGET).await {
            Err(StorageError::NotFound) => Err(CoreError::NotFound("Discussion not found".into())),
            Err(StorageError::Conflict) => {
                Err(CoreError::conflict("The discussion changed meanwhile; read it again"))
            }
            Ok(false) => Err(full()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Adds a comment.
    pub async fn comment(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        text: &str,
    ) -> Result<EventDetails> {
        check_body(text, "comment")?;
        if text.trim().is_empty() {
            return Err(CoreError::invalid("A comment cannot be empty"));
        }
        let principal = self.poster(identity, repo).await?;
        self.found(repo, num).await?;
        let event =
            self.event(principal, "comment", comment_data(text, &principal.user.name, self.now_millis()));
        self.append(repo, num, std::slice::from_ref(&event), DiscussionChange::default()).await?;
        Ok(event)
    }

    /// The discussion's author or a repo writer may rename it and open or close it.
    async fn moderator<'i>(
        &self,
        identity: &'i Identity,
        repo: &RepoRecord,
        num: u64,
    ) -> Result<(&'i Principal, DiscussionRecord)> {
        let principal = self.poster(identity, repo).await?;
        let discussion = self.found(repo, num).await?;
        if discussion.author != Some(principal.user.id) && !self.is_writer(identity, repo).await? {
            return Err(CoreError::Forbidden("Only the author or the repo's maintainers may do this".into()));
        }
        Ok((principal, discussion))
    }

    pub async fn rename(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        title: &str,
    ) -> Result<EventDetails> {
        let title = check_title(title)?;
        let (principal, discussion) = self.moderator(identity, repo, num).await?;
        let event = self.event(principal, "title-change", json!({"from": discussion.title, "to": title}));
        let change = DiscussionChange { title: Some(&title), ..DiscussionChange::default() };
        self.append(repo, num, std::slice::from_ref(&event), change).await?;
        Ok(event)
    }

    /// Opens or closes a discussion, with an optional comment posted first.
    pub async fn set_status(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        status: &str,
        comment: Option<&str>,
    ) -> Result<EventDetails> {
        if !matches!(status, "open" | "closed") {
            return Err(CoreError::invalid("'status' must be 'open' or 'closed'"));
        }
        if let Some(text) = comment {
            check_body(text, "comment")?;
        }
        let (principal, discussion) = self.moderator(identity, repo, num).await?;
        if discussion.status == "merged" {
            return Err(CoreError::invalid("A merged pull request cannot change status"));
        }
        let mut events = Vec::new();
        if let Some(text) = comment.filter(|t| !t.trim().is_empty()) {
            events.push(self.event(
                principal,
                "comment",
                comment_data(text, &principal.user.name, self.now_millis()),
            ));
        }
        events.push(self.event(principal, "status-change", json!({"status": status})));
        // Checked in the write itself: a merge landing meanwhile is not undone.
        let change =
            DiscussionChange { title: None, status: Some(status), from_statuses: Some("open,draft,closed") };
        self.append(repo, num, &events, change).await?;
        Ok(events.pop().expect("the status change"))
    }

    async fn comment_event(
        &self,
        repo: &RepoRecord,
        num: u64,
        id: &str,
    ) -> Result<(DiscussionEventRecord, Value)> {
        let event = self.meta.discussion_event(repo.id, num, id).await?;
        let Some(event) = event.filter(|e| e.kind == "comment") else {
            return Err(CoreError::NotFound("Comment not found".into()));
        };
        let data =
            serde_json::from_str(&event.data).map_err(|_| CoreError::Corrupt("a comment's data".into()))?;
        Ok((event, data))
    }

    /// The comment's author replaces its text; the earlier text goes to its history.
    pub async fn edit_comment(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        id: &str,
        text: &str,
    ) -> Result<EventDetails> {
        check_body(text, "comment")?;
        if text.trim().is_empty() {
            return Err(CoreError::invalid("A comment cannot be empty"));
        }
        let principal = self.poster(identity, repo).await?;
        let (event, mut data) = self.comment_event(repo, num, id).await?;
        if event.author != Some(principal.user.id) {
            return Err(CoreError::Forbidden("Only its author may edit a comment".into()));
        }
        if data["hidden"] == Value::Bool(true) {
            return Err(CoreError::invalid("A hidden comment cannot be edited"));
        }
        let previous = data["latest"].take();
        let history = data["history"].as_array_mut().map(std::mem::take).unwrap_or_default();
        let mut history: Vec<Value> = std::iter::once(previous).chain(history).take(MAX_HISTORY).collect();
        history.truncate(MAX_HISTORY);
        data["history"] = Value::Array(history);
        data["latest"] = json!({"raw": text, "updatedAt": self.now_millis(), "author": principal.user.name});
        data["edited"] = Value::Bool(true);
        self.store_event(repo, num, event, data, Some(principal.user.name.clone())).await
    }

    /// A repo writer hides a comment (its text stays in the store, never in a view); audited.
    pub async fn hide_comment(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        num: u64,
        id: &str,
    ) -> Result<EventDetails> {
        self.poster(identity, repo).await?;
        if !self.is_writer(identity, repo).await? {
            return Err(CoreError::Forbidden("Only the repo's maintainers may hide comments".into()));
        }
        let (event, mut data) = self.comment_event(repo, num, id).await?;
        data["hidden"] = Value::Bool(true);
        let author = self.name_of(event.author, &mut HashMap::new()).await?;
        let hidden = self.store_event(repo, num, event, data, author).await?;
        // Audited once stored: a hide refused (a race, a full discussion) leaves no entry.
        let details = json!({"discussion": num, "comment": id});
        self.hub
            .accounts()
            .audit(actor(identity), "discussion.hide_comment", record_target(repo), details)
            .await;
        Ok(hidden)
    }

    async fn store_event(
        &self,
        repo: &RepoRecord,
        num: u64,
        mut event: DiscussionEventRecord,
        data: Value,
        author: Option<String>,
    ) -> Result<EventDetails> {
        let new = data.to_string();
        match self.meta.update_discussion_event(repo.id, num, &event.id, &event.data, &new, BUDGET).await {
            Ok(true) => {}
            Ok(false) => return Err(full()),
            Err(StorageError::Conflict) => {
                return Err(CoreError::conflict("The comment changed meanwhile; read it again and retry"));
            }
            Err(StorageError::NotFound) => return Err(CoreError::NotFound("Comment not found".into())),
            Err(other) => return Err(other.into()),
        }
        event.data = new;
        Ok(EventDetails { event, author, data })
    }
}

pub(crate) fn full() -> CoreError {
    CoreError::invalid(format!(
        "This discussion is full (at most {MAX_EVENTS} events and {MAX_DISCUSSION_BYTES} bytes); open a new one"
    ))
}
