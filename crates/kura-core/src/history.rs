//! A revision's history in pages resumed by key: the cursor names the commits the walk has
//! still to visit, so page k costs what page 1 does.
//!
//! The walk is the one [`Repos::history`] does: newest committer date first (ties by id),
//! each commit once. Its state between two pages is the queue of pending commits plus the
//! commits already shown that a pending one could reach again. With committer dates that
//! never go back from child to parent, such a commit has the date of the last one shown and
//! is reached through commits of that date only, so a short walk over those finds them. The
//! cursor names at most [`MAX_CURSOR_COMMITS`] commits; past that (a merge of many branches
//! at once, or a burst of more than [`MAX_TIE_WALK`] commits within one second) it falls back
//! to an offset, whose page costs a walk from the head, and the page after is keyed again.
//! Cursors are signed and bound to the repo: a cursor cannot name another repo's commits.

use std::collections::{BinaryHeap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kura_git::Commit;
use kura_model::ObjectId;
use kura_storage::RepoRecord;

use crate::error::{CoreError, Result};
use crate::services::Repos;

/// Most commits a keyed cursor names (pending and already shown).
pub const MAX_CURSOR_COMMITS: usize = 100;

/// Most commits read to find which shown commits the next cursor must name.
pub const MAX_TIE_WALK: usize = 1000;

/// A page of history and the cursor of the next one, when there is more.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub commits: Vec<(ObjectId, Commit)>,
    pub next: Option<String>,
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resume {
    /// After this many commits of the walk from the head (also what older links hold).
    Offset(usize),
    /// From the pending commits, with `visited` already shown.
    Keyed { offset: usize, pending: Vec<ObjectId>, visited: Vec<ObjectId> },
}

fn bad_cursor() -> CoreError {
    CoreError::invalid("Invalid cursor")
}

const ID_BYTES: usize = 20;

/// The walk's state: commits queued by date, and every commit queued or shown.
#[derive(Default)]
struct Walk {
    queue: BinaryHeap<(i64, ObjectId)>,
    seen: HashSet<ObjectId>,
}

impl Repos<'_> {
    /// The signed text of a keyed cursor: `offset.ids.signature`, the ids in base64url (a count
    /// byte, the pending ids, then the visited ones).
    fn encode_cursor(
        &self,
        repo: &RepoRecord,
        offset: usize,
        pending: &[ObjectId],
        visited: &[ObjectId],
    ) -> String {
        let mut bytes = Vec::with_capacity(1 + (pending.len() + visited.len()) * ID_BYTES);
        bytes.push(u8::try_from(pending.len()).expect("at most MAX_CURSOR_COMMITS pending"));
        for oid in pending.iter().chain(visited) {
            bytes.extend_from_slice(&oid.0);
        }
        let body = format!("{offset}.{}", URL_SAFE_NO_PAD.encode(bytes));
        let signature = self.signer.sign(format!("history-cursor:{}:{body}", repo.id));
        format!("{body}.{signature}")
    }

    fn parse_cursor(&self, repo: &RepoRecord, text: &str) -> Result<Resume> {
        if let Ok(offset) = text.parse::<usize>() {
            return Ok(Resume::Offset(offset));
        }
        let (body, signature) = text.rsplit_once('.').ok_or_else(bad_cursor)?;
        if !self.signer.verify(format!("history-cursor:{}:{body}", repo.id), signature) {
            return Err(bad_cursor());
        }
        let (offset, ids) = body.split_once('.').ok_or_else(bad_cursor)?;
        let offset = offset.parse::<usize>().map_err(|_| bad_cursor())?;
        let bytes = URL_SAFE_NO_PAD.decode(ids).map_err(|_| bad_cursor())?;
        let (&count, ids) = bytes.split_first().ok_or_else(bad_cursor)?;
        if ids.len() % ID_BYTES != 0 || ids.len() / ID_BYTES < usize::from(count) {
            return Err(bad_cursor());
        }
        let mut oids: Vec<ObjectId> = ids
            .chunks(ID_BYTES)
            .map(|chunk| <[u8; ID_BYTES]>::try_from(chunk).map(ObjectId).map_err(|_| bad_cursor()))
            .collect::<Result<_>>()?;
        let visited = oids.split_off(usize::from(count));
        Ok(Resume::Keyed { offset, pending: oids, visited })
    }

    /// Queues `oid` unless the walk has seen it.
    async fn queue(&self, walk: &mut Walk, oid: ObjectId) -> Result<()> {
        if walk.seen.insert(oid) {
            let commit = self.objects.commit(&oid).await?;
            walk.queue.push((commit.committer.time, oid));
        }
        Ok(())
    }

    /// Takes the next commit of the walk and queues its parents.
    async fn step(&self, walk: &mut Walk) -> Result<Option<(ObjectId, Commit)>> {
        let Some((_, oid)) = walk.queue.pop() else {
            return Ok(None);
        };
        let commit = self.objects.commit(&oid).await?;
        for parent in &commit.parents {
            self.queue(walk, *parent).await?;
        }
        Ok(Some((oid, commit)))
    }

    /// Up to `limit` commits of the history of `start` (a commit of `repo`) from `cursor` (a
    /// `next` of an earlier page, or an offset), newest first.
    pub async fn history_page(
        &self,
        repo: &RepoRecord,
        start: ObjectId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let mut walk = Walk::default();
        // Commits shown on earlier pages that this walk knows of.
        let mut shown = HashSet::new();
        let offset = match cursor.map(|text| self.parse_cursor(repo, text)).transpose()? {
            None | Some(Resume::Offset(0)) => {
                self.queue(&mut walk, start).await?;
                0
            }
            Some(Resume::Offset(offset)) => {
                self.queue(&mut walk, start).await?;
                while shown.len() < offset {
                    let Some((oid, _)) = self.step(&mut walk).await? else { break };
                    shown.insert(oid);
                }
                offset
            }
            Some(Resume::Keyed { offset, pending, visited }) => {
                walk.seen.extend(visited.iter().copied());
                shown.extend(visited);
                for oid in pending {
                    // Signed by this server for this repo: a missing commit is history rewritten
                    // and collected since.
                    match self.queue(&mut walk, oid).await {
                        Err(CoreError::Corrupt(_)) => return Err(bad_cursor()),
                        other => other?,
                    }
                }
                offset
            }
        };
        let mut commits = Vec::new();
        while commits.len() < limit {
            let Some((oid, commit)) = self.step(&mut walk).await? else { break };
            shown.insert(oid);
            commits.push((oid, commit));
        }
        let next = match commits.last() {
            Some((_, last)) if !walk.queue.is_empty() => {
                let offset = offset + commits.len();
                let pending: Vec<ObjectId> = walk.queue.iter().map(|(_, oid)| *oid).collect();
                let visited = self.reachable_shown(&pending, &shown, last.committer.time).await?;
                Some(match visited {
                    Some(visited) if pending.len() + visited.len() <= MAX_CURSOR_COMMITS => {
                        self.encode_cursor(repo, offset, &pending, &visited)
                    }
                    _ => offset.to_string(),
                })
            }
            _ => None,
        };
        Ok(HistoryPage { commits, next })
    }

    /// The commits of `shown` that the pending ones reach through commits dated `time` or
    /// later, not shown; `None` past [`MAX_TIE_WALK`] commits read.
    async fn reachable_shown(
        &self,
        pending: &[ObjectId],
        shown: &HashSet<ObjectId>,
        time: i64,
    ) -> Result<Option<Vec<ObjectId>>> {
        let mut found = Vec::new();
        let mut walked: HashSet<ObjectId> = pending.iter().copied().collect();
        let mut stack = pending.to_vec();
        while let Some(oid) = stack.pop() {
            if walked.len() > MAX_TIE_WALK {
                return Ok(None);
            }
            let commit = self.objects.commit(&oid).await?;
            if commit.committer.time < time {
                continue;
            }
            for parent in commit.parents {
                if shown.contains(&parent) {
                    if !found.contains(&parent) {
                        found.push(parent);
                    }
                } else if walked.insert(parent) {
                    stack.push(parent);
                }
            }
        }
        Ok(Some(found))
    }
}
