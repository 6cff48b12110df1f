//! Converting a multipart upload while its parts arrive. Parts are stored as before (the
//! completion can always join them); in addition, when a replica receives part 1, then 2, and
//! so on in order, it feeds each part's bytes, as they are stored, into a conversion of the
//! whole object (SHA-256, chunking, xorbs) running in the background. At the completion the
//! conversion only has to end: the parts are not read back. Anything else (parts out of
//! order or on another replica, a failed part, a session gone idle, a busy table) drops the
//! early conversion, and the completion joins the stored parts as it always did.
//!
//! The conversion checks the SHA-256 and size the upload declared, so whatever bytes it was
//! fed, it records only content that matches the oid: correctness never rests on the order
//! checks here, which only decide whether the early work can be used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use kura_model::Sha256;
use tokio::sync::{OwnedMutexGuard, mpsc};
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::{ByteStream, Hub};

/// Early conversions at once in one process: each holds two xorb buffers (64 MiB).
const MAX_LIVE: usize = 2;
/// A conversion not fed for this long is dropped (its upload stalled or went elsewhere).
const IDLE: Duration = Duration::from_secs(300);
/// Body pieces queued between a part's request and its conversion.
const QUEUE: usize = 8;

type Piece = std::io::Result<Bytes>;

/// One upload's conversion in progress.
struct Early {
    oid: Sha256,
    size: u64,
    /// The part whose bytes come next.
    next_part: u32,
    feed: Option<mpsc::Sender<Piece>>,
    conversion: JoinHandle<Result<()>>,
    touched: Instant,
}

impl Drop for Early {
    fn drop(&mut self) {
        // Ending the feed short makes the conversion fail its size check (its xorbs go to the
        // delayed discard).
        if let Some(feed) = self.feed.take() {
            let _ = feed.try_send(Err(std::io::Error::other("the early conversion was dropped")));
        }
    }
}

/// The early conversions of this process, by upload id.
#[derive(Default)]
pub(crate) struct EarlyConversions {
    live: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Early>>>>,
}

/// A part being fed to its upload's conversion: wrap the body with [`PartFeed::tee`], then
/// report how storing the part went with [`PartFeed::stored`].
pub(crate) struct PartFeed {
    early: OwnedMutexGuard<Early>,
    upload: String,
    table: Arc<EarlyConversions>,
    /// Set once the part is stored: a feed dropped before (its request cut short) has fed a
    /// part that may be sent again, so the conversion cannot go on.
    stored: bool,
}

impl Drop for PartFeed {
    fn drop(&mut self) {
        if !self.stored {
            self.table.remove(&self.upload);
        }
    }
}

impl EarlyConversions {
    fn remove(&self, upload: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(upload);
        }
    }

    /// The feed for `part` of `upload`, if its bytes can go to an early conversion: part 1
    /// starts one (when there is room), part n continues one that has had parts 1..n.
    pub(crate) fn feed(
        self: &Arc<Self>,
        hub: &Hub,
        upload: &str,
        part: u32,
        oid: Sha256,
        size: u64,
    ) -> Option<PartFeed> {
        let mut live = self.live.lock().ok()?;
        live.retain(|_, early| early.try_lock().map_or(true, |early| early.touched.elapsed() < IDLE));
        let entry = match live.get(upload) {
            Some(entry) => entry.clone(),
            None if part == 1 && live.len() < MAX_LIVE => {
                let entry = Arc::new(tokio::sync::Mutex::new(start(hub, oid, size)));
                live.insert(upload.to_owned(), entry.clone());
                entry
            }
            None => return None,
        };
        // A part of this upload is being fed right now: this one cannot follow it in order.
        let Ok(early) = entry.try_lock_owned() else {
            live.remove(upload);
            return None;
        };
        if early.next_part != part || early.oid != oid || early.size != size {
            live.remove(upload);
            return None;
        }
        Some(PartFeed { early, upload: upload.to_owned(), table: self.clone(), stored: false })
    }

    /// Ends `upload`'s early conversion, if it has had exactly parts `1..=parts`, and says
    /// how it went; `None` when there is none to use (the caller joins the stored parts).
    pub(crate) async fn finish(
        &self,
        upload: &str,
        parts: u32,
        oid: Sha256,
        size: u64,
    ) -> Option<Result<()>> {
        let entry = self.live.lock().ok()?.remove(upload)?;
        let mut early = entry.try_lock_owned().ok()?;
        if early.next_part != parts + 1 || early.oid != oid || early.size != size {
            return None;
        }
        // The end of the body: the conversion checks size and SHA-256, then records the object.
        drop(early.feed.take());
        let outcome = (&mut early.conversion).await;
        Some(
            outcome
                .unwrap_or_else(|e| Err(crate::error::CoreError::Corrupt(format!("conversion failed: {e}")))),
        )
    }
}

/// Starts the conversion of an object of `size` bytes with SHA-256 `oid`, fed by a channel.
fn start(hub: &Hub, oid: Sha256, size: u64) -> Early {
    let (feed, pieces) = mpsc::channel::<Piece>(QUEUE);
    let body: ByteStream = Box::pin(futures_util::stream::unfold(pieces, |mut pieces| async move {
        let piece = pieces.recv().await?;
        Some((piece, pieces))
    }));
    let hub = hub.clone();
    let conversion = tokio::spawn(async move { hub.xet().ingest_as_xet(oid, size, body).await });
    Early { oid, size, next_part: 1, feed: Some(feed), conversion, touched: Instant::now() }
}

impl PartFeed {
    /// `body`, with every piece also sent to the conversion (which paces the part's upload).
    pub(crate) fn tee(&self, body: ByteStream) -> ByteStream {
        let Some(feed) = self.early.feed.clone() else { return body };
        Box::pin(body.then(move |piece| {
            let feed = feed.clone();
            async move {
                if let Ok(bytes) = &piece {
                    // A conversion that stopped (it found the body too long) says why at the end.
                    let _ = feed.send(Ok(bytes.clone())).await;
                }
                piece
            }
        }))
    }

    /// Records how storing the part went: the conversion moves on to the next part, or is
    /// dropped (the stored parts then hold what the completion joins).
    pub(crate) fn stored(mut self, ok: bool) {
        if ok {
            self.early.next_part += 1;
            self.early.touched = Instant::now();
            self.stored = true;
        }
        // Otherwise dropping the feed drops the conversion.
    }
}
