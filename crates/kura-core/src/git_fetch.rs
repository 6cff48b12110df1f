//! Answering a git fetch: the use case the upload-pack edge calls once the request is parsed
//! (`kura_git::FetchRequest`). A full clone that is `done` is served from the clone-pack
//! cache when the repo's refs have not moved; otherwise the fetch is planned, the negotiation
//! answered, and the pack built object by object from the store, in batches read ahead, an
//! older version of a path as a delta of the newer one when that pays
//! (`kura_git::DeltaPackWriter`). Memory stays bounded by the read-ahead, one frame and the
//! bases held for deltas (`DeltaLimits`), whatever the repo size. A full clone's pack is teed
//! into the cache as it streams (`git_pack_cache`).
//!
//! The pack is raw bytes: side-band framing is the protocol edge's business.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use kura_git::{DeltaLimits, DeltaPackWriter, FetchAnswer, FetchRequest, Negotiated};
use kura_storage::{ByteStream, RepoRecord};

use crate::Base;
use crate::auth::Identity;
use crate::error::Result;
use crate::git_pack_cache::PackTee;
use crate::git_serve::PlannedObjects;
use crate::services::Git;

/// Objects read from the store in one batch while a pack is streamed.
const PACK_READ_BATCH: usize = 64;
/// Batches read ahead of the one being sent.
const PACK_READ_AHEAD: usize = 3;
/// Pack bytes gathered before they are handed on (fewer, larger writes than one per object).
const PACK_FRAME: usize = 256 << 10;

/// What a fetch request gets back.
pub enum FetchReply {
    /// These protocol bytes and nothing more (a negotiation round, no pack yet).
    Only(Vec<u8>),
    /// `head` (protocol bytes), then the raw pack.
    Pack { head: Vec<u8>, pack: ByteStream },
}

impl Git<'_> {
    /// Answers `fetch` on `repo` for `identity` (who must be able to read its files).
    pub async fn fetch(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        fetch: &FetchRequest,
    ) -> Result<FetchReply> {
        if fetch.done && fetch.full_clone() {
            let cached = self.cached_clone_pack(identity, repo, &fetch.wants).await?;
            if let Some(pack) = cached {
                return Ok(FetchReply::Pack { head: fetch.cached_pack_head(), pack });
            }
        }
        let plan =
            self.plan_fetch(identity, repo, &fetch.wants, &fetch.haves, &fetch.shallow, fetch.depth).await?;
        let negotiated =
            Negotiated { common: &plan.common, shallow: &plan.shallow, unshallow: &plan.unshallow };
        Ok(match fetch.answer(&negotiated) {
            FetchAnswer::Only(answer) => FetchReply::Only(answer),
            FetchAnswer::Pack(head) => {
                // A full clone's pack depends on the wants alone: keep a copy for the next one.
                let tee = fetch
                    .full_clone()
                    .then(|| PackTee::start(self.hub.base.clone(), repo.clone(), fetch.wants.clone()));
                FetchReply::Pack { head, pack: pack_stream(self.hub.base.clone(), plan.objects, tee) }
            }
        })
    }
}

/// The pack of `objects`, in frames of about `PACK_FRAME` bytes; with `tee`, each frame is
/// also copied to the clone-pack cache.
fn pack_stream(base: Arc<Base>, objects: PlannedObjects, tee: Option<PackTee>) -> ByteStream {
    let (writer, header) = DeltaPackWriter::new(objects.len() as u32, DeltaLimits::default());
    let total = objects.len();
    let plan = objects.clone();
    let batches =
        (0..total).step_by(PACK_READ_BATCH).map(move |start| start..(start + PACK_READ_BATCH).min(total));
    let reads = futures_util::stream::iter(batches)
        .map(move |batch| {
            let (base, objects) = (base.clone(), objects.clone());
            async move { base.read_planned(&objects, batch).await }
        })
        .buffered(PACK_READ_AHEAD)
        .flat_map(|batch| match batch {
            Ok(objects) => futures_util::stream::iter(objects.into_iter().map(Ok).collect::<Vec<_>>()),
            Err(error) => futures_util::stream::iter(vec![Err(error)]),
        })
        .enumerate()
        .map(move |(position, read)| read.map(|(kind, content)| (kind, content, plan.link(position))));
    let mut pending = Vec::with_capacity(PACK_FRAME + (64 << 10));
    pending.extend_from_slice(&header);
    let state = (Box::pin(reads), Some(writer), pending, tee);
    let frames =
        futures_util::stream::unfold(state, |(mut reads, mut writer, mut pending, mut tee)| async move {
            writer.as_ref()?;
            let mut finished = false;
            while pending.len() < PACK_FRAME && !finished {
                match reads.next().await {
                    Some(Ok((kind, content, link))) => pending
                        .extend(writer.as_mut().map(|w| w.entry(kind, &content, link)).unwrap_or_default()),
                    Some(Err(error)) => {
                        let error = std::io::Error::other(error.to_string());
                        return Some((Err(error), (reads, None, pending, None)));
                    }
                    None => {
                        pending.extend(writer.take()?.finish());
                        finished = true;
                    }
                }
            }
            let frame =
                Bytes::from(std::mem::replace(&mut pending, Vec::with_capacity(PACK_FRAME + (64 << 10))));
            if let Some(active) = tee.as_mut()
                && !active.send(frame.clone()).await
            {
                tee = None;
            }
            if finished && let Some(done) = tee.take() {
                done.finish().await;
            }
            Some((Ok(frame), (reads, writer, pending, tee)))
        });
    Box::pin(frames)
}
