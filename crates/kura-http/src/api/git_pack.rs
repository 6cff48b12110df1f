//! Streaming a pack to a git client: built object by object from the store, or replayed from
//! the clone-pack cache (`kura_core::git_pack_cache`), which a full clone fills as it streams.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use kura_core::{ByteStream, Hub, PlannedObjects, RepoRecord};
use kura_git::PackWriter;
use kura_git::pktline::{flush, pkt};
use kura_model::ObjectId;
use tokio::sync::mpsc;

use super::git_common::git_response;

/// Sideband data per packet (65520 minus the length and band bytes).
const SIDEBAND_DATA: usize = 65515;
/// Objects read from the store in one batch while a pack is streamed.
const PACK_READ_BATCH: usize = 64;
/// Batches read ahead of the one being sent.
const PACK_READ_AHEAD: usize = 3;
/// Pack bytes gathered before they are sent (fewer, larger writes than one per object).
const PACK_FRAME: usize = 256 << 10;
/// Packs larger than this are sent but not cached.
const MAX_CACHED_PACK: u64 = 2 << 30;

/// Wraps pack bytes in sideband-1 packets (or passes them raw without side-band).
fn frame(data: &[u8], sideband: bool) -> Vec<u8> {
    if !sideband {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / SIDEBAND_DATA * 5 + 5);
    for piece in data.chunks(SIDEBAND_DATA) {
        let mut band = Vec::with_capacity(piece.len() + 1);
        band.push(1);
        band.extend_from_slice(piece);
        pkt(&mut out, &band);
    }
    out
}

/// Where a full clone's pack is copied while it streams.
pub(crate) struct CacheTarget {
    pub(crate) hub: Arc<Hub>,
    pub(crate) repo: RepoRecord,
    pub(crate) wants: Vec<ObjectId>,
}

enum Piece {
    Data(Bytes),
    End,
}

/// The sending half of a pack being stored; dropped without `End`, the store keeps nothing.
struct PackSink {
    tx: mpsc::Sender<Piece>,
    sent: u64,
}

impl PackSink {
    fn start(target: CacheTarget) -> Self {
        let (tx, rx) = mpsc::channel::<Piece>(8);
        let pieces = futures_util::stream::unfold(Some(rx), |rx| async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(Piece::Data(bytes)) => Some((Ok(bytes), Some(rx))),
                Some(Piece::End) => None,
                None => Some((Err(std::io::Error::other("the pack was not finished")), None)),
            }
        });
        tokio::spawn(async move {
            let CacheTarget { hub, repo, wants } = target;
            if let Err(error) = hub.store_clone_pack(&repo, &wants, Box::pin(pieces)).await {
                tracing::debug!(repo = %repo.repo_id, %error, "clone pack not cached");
            }
        });
        Self { tx, sent: 0 }
    }

    /// Copies `data` to the store; `false` once the copy is abandoned.
    async fn send(&mut self, data: &[u8]) -> bool {
        self.sent += data.len() as u64;
        self.sent <= MAX_CACHED_PACK && self.tx.send(Piece::Data(Bytes::copy_from_slice(data))).await.is_ok()
    }
}

/// Streams `head`, then a pack of `objects`, then a flush (sideband). Objects are read in
/// batches, a few batches ahead, in order, and entries are sent in frames of about `PACK_FRAME`
/// bytes, so memory stays bounded by the read-ahead and one frame whatever the repo size.
/// With `cache`, the raw pack is also stored for the next clone of the same refs.
pub(crate) fn pack_response(
    hub: Arc<Hub>,
    head: Vec<u8>,
    objects: PlannedObjects,
    sideband: bool,
    cache: Option<CacheTarget>,
) -> Response {
    let (writer, header) = PackWriter::new(objects.len() as u32);
    let total = objects.len();
    let batches =
        (0..total).step_by(PACK_READ_BATCH).map(move |start| start..(start + PACK_READ_BATCH).min(total));
    let reads = futures_util::stream::iter(batches)
        .map(move |batch| {
            let (hub, objects) = (hub.clone(), objects.clone());
            async move { hub.read_planned(&objects, batch).await }
        })
        .buffered(PACK_READ_AHEAD)
        .flat_map(|batch| match batch {
            Ok(objects) => futures_util::stream::iter(objects.into_iter().map(Ok).collect::<Vec<_>>()),
            Err(error) => futures_util::stream::iter(vec![Err(error)]),
        });
    let mut pending = Vec::with_capacity(PACK_FRAME + (64 << 10));
    pending.extend_from_slice(&header);
    let sink = cache.map(PackSink::start);
    let state = (Box::pin(reads), Some(writer), pending, sink);
    let frames = futures_util::stream::unfold(
        state,
        move |(mut reads, mut writer, mut pending, mut sink)| async move {
            writer.as_ref()?;
            let mut finished = false;
            while pending.len() < PACK_FRAME && !finished {
                match reads.next().await {
                    Some(Ok((kind, content))) => {
                        pending.extend(writer.as_mut().map(|w| w.entry(kind, &content)).unwrap_or_default())
                    }
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
            if let Some(active_sink) = sink.as_mut()
                && !active_sink.send(&pending).await
            {
                sink = None;
            }
            let mut out = frame(&pending, sideband);
            pending.clear();
            if finished {
                if let Some(done) = sink.take() {
                    let _ = done.tx.send(Piece::End).await;
                }
                if sideband {
                    flush(&mut out);
                }
            }
            Some((Ok(Bytes::from(out)), (reads, writer, pending, sink)))
        },
    );
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) }).chain(frames);
    git_response("application/x-git-upload-pack-result", Body::from_stream(stream))
}

/// Streams `head`, then a stored pack as it is, then a flush (sideband).
pub(crate) fn cached_pack_response(head: Vec<u8>, pack: ByteStream, sideband: bool) -> Response {
    let body = pack.map(move |piece| piece.map(|bytes| Bytes::from(frame(&bytes, sideband))));
    let tail = futures_util::stream::once(async move {
        let mut out = Vec::new();
        if sideband {
            flush(&mut out);
        }
        Ok::<_, std::io::Error>(Bytes::from(out))
    });
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
        .chain(body)
        .chain(tail);
    git_response("application/x-git-upload-pack-result", Body::from_stream(stream))
}
