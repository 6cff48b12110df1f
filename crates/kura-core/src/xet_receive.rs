//! Receiving an uploaded xorb as a stream. Its records go on to the blob store while they are
//! decoded and hashed on the blocking pool, batch by batch, so a xorb (up to 64 MiB) is never gathered into
//! one buffer, and its bytes are never copied for the check. The records stream ends cleanly
//! only after the worker has checked every record, the footer and the hash the upload claims;
//! otherwise it ends with an error, and a blob store stores nothing from a stream that fails.

use bytes::Bytes;
use futures_util::StreamExt;
use kura_cas::{CasError, MerkleHash, XorbInfo, XorbValidator};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::ByteStream;
use crate::content::interrupted;
use crate::error::{CoreError, Result};

/// Body bytes handed to the worker at once (fewer wake-ups than one per socket read).
const BATCH_BYTES: usize = 1 << 20;
/// Batches queued in each direction.
const QUEUE: usize = 4;

type Batch = std::result::Result<Vec<Bytes>, std::io::Error>;

/// Why a received xorb was not accepted.
enum Refusal {
    /// The body is not a valid xorb with the claimed hash.
    Invalid(CasError),
    /// The body broke off.
    Interrupted(std::io::Error),
    /// The check itself stopped (a panic on the blocking pool): kura's fault, not the body's.
    Failed(String),
}

/// A xorb body being received: [`ReceivingXorb::records`] once, then [`ReceivingXorb::finish`].
pub(crate) struct ReceivingXorb {
    records: Option<mpsc::Receiver<Batch>>,
    feeder: JoinHandle<()>,
    worker: JoinHandle<std::result::Result<XorbInfo, Refusal>>,
}

impl ReceivingXorb {
    /// Starts reading `body`, which claims to be the xorb `claimed`.
    pub fn start(body: ByteStream, claimed: MerkleHash) -> Self {
        let (input, batches) = mpsc::channel(QUEUE);
        let (output, records) = mpsc::channel(QUEUE);
        let worker = tokio::spawn(check(batches, output, claimed));
        let feeder = tokio::spawn(feed(body, input));
        Self { records: Some(records), feeder, worker }
    }

    /// The xorb's records (the body without its footer) as they are checked. It ends with an
    /// error unless the whole xorb is valid.
    pub fn records(&mut self) -> ByteStream {
        let records = self.records.take().expect("the records are taken once");
        Box::pin(
            futures_util::stream::unfold(records, |mut records| async move {
                let batch = records.recv().await?;
                Some((batch, records))
            })
            .flat_map(|batch| {
                let items: Vec<std::io::Result<Bytes>> = match batch {
                    Ok(pieces) => pieces.into_iter().map(Ok).collect(),
                    Err(error) => vec![Err(error)],
                };
                futures_util::stream::iter(items)
            }),
        )
    }

    /// Reads the rest of the body only to check it (a xorb the store already holds).
    pub async fn drain(&mut self) {
        let mut records = self.records();
        while records.next().await.is_some() {}
    }

    /// What the check found: the xorb's layout, or why it was refused.
    pub async fn finish(mut self) -> Result<XorbInfo> {
        let outcome =
            (&mut self.worker).await.map_err(|e| CoreError::Corrupt(format!("xorb check failed: {e}")))?;
        match outcome {
            Ok(info) => Ok(info),
            // A body longer than any xorb (it may declare no length) is too large, not malformed.
            Err(Refusal::Invalid(
                error @ CasError::LimitExceeded {
                    what: "serialized xorb length" | "xorb uncompressed length",
                    ..
                },
            )) => Err(CoreError::TooLarge(format!("Rejected xorb: {error}"))),
            Err(Refusal::Invalid(error)) => Err(CoreError::invalid(format!("Rejected xorb: {error}"))),
            Err(Refusal::Interrupted(error)) => Err(interrupted(error)),
            Err(Refusal::Failed(why)) => Err(CoreError::Corrupt(format!("xorb check failed: {why}"))),
        }
    }
}

impl Drop for ReceivingXorb {
    fn drop(&mut self) {
        // An abandoned upload stops reading its body; the worker ends when its queue closes.
        self.feeder.abort();
    }
}

/// Reads the body in batches for the worker; a body error is passed on as the last batch.
async fn feed(mut body: ByteStream, input: mpsc::Sender<Batch>) {
    let mut batch = Vec::new();
    let mut batch_len = 0usize;
    loop {
        let piece = match body.next().await.transpose() {
            Ok(piece) => piece,
            Err(error) => {
                let _ = input.send(Err(error)).await;
                return;
            }
        };
        let done = piece.is_none();
        if let Some(piece) = piece {
            batch_len += piece.len();
            batch.push(piece);
        }
        if (batch_len >= BATCH_BYTES || done) && !batch.is_empty() {
            batch_len = 0;
            // A closed queue means the worker stopped: its own outcome says why.
            if input.send(Ok(std::mem::take(&mut batch))).await.is_err() {
                return;
            }
        }
        if done {
            return;
        }
    }
}

/// The check: validates every batch on the blocking pool (one short trip per batch, so a slow
/// body holds no thread while it waits), passes its record bytes on, and at the end of the
/// body checks the whole xorb. On a refusal the records stream gets an error first.
async fn check(
    mut batches: mpsc::Receiver<Batch>,
    output: mpsc::Sender<Batch>,
    claimed: MerkleHash,
) -> std::result::Result<XorbInfo, Refusal> {
    let refuse = |refusal: Refusal| async {
        let _ = output.send(Err(std::io::Error::other("the xorb was refused"))).await;
        Err(refusal)
    };
    let mut validator = XorbValidator::new();
    while let Some(batch) = batches.recv().await {
        let pieces = match batch {
            Ok(pieces) => pieces,
            Err(error) => return refuse(Refusal::Interrupted(error)).await,
        };
        let pushed = tokio::task::spawn_blocking(move || {
            let records = push(&mut validator, pieces);
            (validator, records)
        })
        .await;
        let (back, records) = match pushed {
            Ok(pushed) => pushed,
            Err(error) => return refuse(Refusal::Failed(error.to_string())).await,
        };
        validator = back;
        match records {
            // A closed output means the store gave up; the check still runs to the end.
            Ok(records) => {
                let _ = output.send(Ok(records)).await;
            }
            Err(error) => return refuse(Refusal::Invalid(error)).await,
        }
    }
    let finished = tokio::task::spawn_blocking(move || validator.finish_expecting(&claimed)).await;
    match finished {
        Ok(Ok(info)) => Ok(info),
        Ok(Err(error)) => refuse(Refusal::Invalid(error)).await,
        Err(error) => refuse(Refusal::Failed(error.to_string())).await,
    }
}

/// Feeds `pieces` to the validator; answers their record bytes (those before the footer).
fn push(validator: &mut XorbValidator, pieces: Vec<Bytes>) -> std::result::Result<Vec<Bytes>, CasError> {
    let mut records = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let at = validator.received();
        validator.push(&piece)?;
        // Bytes from the footer on are checked, not stored.
        let keep = validator.footer_start().map_or(piece.len() as u64, |start| start.saturating_sub(at));
        let keep = (keep as usize).min(piece.len());
        if keep > 0 {
            records.push(piece.slice(..keep));
        }
    }
    Ok(records)
}
