//! Rebuilding Xet-stored files for plain HTTP clients (the "bridge"): xorb records are read in
//! bounded groups and sent chunk by chunk.

use bytes::Bytes;
use futures_util::StreamExt;
use kura_cas::{CHUNK_HEADER_LEN, ChunkRecords, CompressionScheme, MerkleHash};
use kura_model::Sha256;
use kura_storage::XetFileRecord;
use sha2::Digest;

use crate::ByteStream;
use crate::error::{CoreError, Result};
use crate::services::Xet;
use crate::xet::{decode_terms, xorb_key};

/// Largest run of xorb records read at once when rebuilding a file.
const READ_GROUP: u64 = 8 << 20;
/// Groups in flight per download (one being sent, the next being read): memory per download
/// stays within `READ_AHEAD * READ_GROUP`.
const READ_AHEAD: usize = 2;

/// A contiguous run of records of one xorb, starting at file offset `file_at`.
#[derive(Debug, Clone, Copy)]
struct ReadGroup {
    xorb: MerkleHash,
    start: u64,
    end: u64,
    file_at: u64,
}

impl Xet<'_> {
    /// Rebuilds `len` bytes from `offset` of a Xet-stored file. Records are read in groups of
    /// at most `READ_GROUP` physical bytes and sent chunk by chunk; stored (uncompressed) chunks
    /// are sliced out of the read buffer without copying. Memory is bounded by `READ_AHEAD` groups.
    pub(crate) fn read_xet(&self, record: XetFileRecord, offset: u64, len: u64) -> ByteStream {
        let hub = self.hub.clone();
        let end = offset + len;
        let stream = futures_util::stream::once(async move {
            let groups = hub.xet().read_groups(&record, offset, end).await;
            (hub, groups)
        })
        .flat_map(move |(hub, groups)| {
            let groups = match groups {
                Ok(groups) => groups,
                Err(error) => return futures_util::stream::iter(vec![Err(error)]).left_stream(),
            };
            futures_util::stream::iter(groups)
                .map(move |group| {
                    let hub = hub.clone();
                    async move { hub.xet().read_group(group, offset, end).await }
                })
                // Read the next group while the current one is being sent.
                .buffered(READ_AHEAD)
                .flat_map(|pieces| match pieces {
                    Ok(pieces) => futures_util::stream::iter(pieces.into_iter().map(Ok).collect::<Vec<_>>()),
                    Err(error) => futures_util::stream::iter(vec![Err(error)]),
                })
                .right_stream()
        })
        .map(|r: Result<Bytes>| r.map_err(std::io::Error::other));
        Box::pin(stream)
    }

    /// Splits the terms overlapping `[offset, end)` into contiguous record groups.
    async fn read_groups(&self, record: &XetFileRecord, offset: u64, end: u64) -> Result<Vec<ReadGroup>> {
        let mut groups = Vec::new();
        let mut position = 0u64;
        for term in decode_terms(&record.terms)? {
            let term_start = position;
            position += term.unpacked;
            if position <= offset || term_start >= end {
                continue;
            }
            let table = self.chunk_table(&term.xorb).await?;
            let chunks = table
                .get(term.start as usize..term.end as usize)
                .ok_or_else(|| CoreError::Corrupt("term outside its xorb".to_owned()))?;
            let mut at = term_start;
            let mut group: Option<ReadGroup> = None;
            for chunk in chunks {
                let (chunk_start, chunk_end) = (at, at + u64::from(chunk.len));
                at = chunk_end;
                if chunk_end <= offset || chunk_start >= end {
                    continue;
                }
                match &mut group {
                    Some(g) if chunk.record_end - g.start <= READ_GROUP => g.end = chunk.record_end,
                    _ => {
                        groups.extend(group.take());
                        group = Some(ReadGroup {
                            xorb: term.xorb,
                            start: chunk.record_start,
                            end: chunk.record_end,
                            file_at: chunk_start,
                        });
                    }
                }
            }
            groups.extend(group);
        }
        Ok(groups)
    }

    /// Reads one record group and returns its chunks' bytes trimmed to `[offset, end)`.
    async fn read_group(&self, group: ReadGroup, offset: u64, end: u64) -> Result<Vec<Bytes>> {
        let buffer =
            self.blobs.get_range(&xorb_key(&group.xorb), group.start, group.end - group.start).await?;
        decode_group(&buffer, group, offset, end)
    }

    /// Computes the SHA-256 of a Xet file from its stored chunks: groups are read in turn while
    /// the previous one is decoded and hashed on the blocking pool, so the async workers never
    /// hash. This is how kura learns a Xet upload's SHA-256 instead of trusting the shard.
    pub(crate) async fn xet_sha256(&self, record: &XetFileRecord) -> Result<Sha256> {
        let end = record.size;
        let mut hasher = Some(sha2::Sha256::new());
        let mut hashing: Option<tokio::task::JoinHandle<Result<sha2::Sha256>>> = None;
        for group in self.read_groups(record, 0, end).await? {
            // Read once (an upload checked, or fsck): past the cache, which it would only churn.
            let buffer = self
                .blobs
                .get_range_once(&xorb_key(&group.xorb), group.start, group.end - group.start)
                .await?;
            let mut state = match hashing.take() {
                Some(task) => join_hash(task).await?,
                None => hasher.take().unwrap_or_default(),
            };
            hashing = Some(tokio::task::spawn_blocking(move || {
                for piece in decode_group(&buffer, group, 0, end)? {
                    state.update(&piece);
                }
                Ok(state)
            }));
        }
        let state = match hashing {
            Some(task) => join_hash(task).await?,
            None => hasher.unwrap_or_default(),
        };
        Ok(Sha256(state.finalize().into()))
    }
}

async fn join_hash(task: tokio::task::JoinHandle<Result<sha2::Sha256>>) -> Result<sha2::Sha256> {
    task.await.map_err(|e| CoreError::Corrupt(format!("hashing failed: {e}")))?
}

/// The bytes of a group's chunks, decoded and trimmed to `[offset, end)` of the file.
fn decode_group(buffer: &Bytes, group: ReadGroup, offset: u64, end: u64) -> Result<Vec<Bytes>> {
    let corrupt =
        |e: kura_cas::CasError| CoreError::Corrupt(format!("stored xorb {}: {e}", group.xorb.to_hex()));
    let mut out = Vec::new();
    let mut at = group.file_at;
    for (index, record) in ChunkRecords::new(buffer).enumerate() {
        let record = record.map_err(corrupt)?;
        let len = u64::from(record.header.uncompressed_len);
        let (chunk_start, chunk_end) = (at, at + len);
        at = chunk_end;
        if chunk_end <= offset || chunk_start >= end {
            continue;
        }
        let data = if record.header.scheme == CompressionScheme::None {
            let payload = record.offset + CHUNK_HEADER_LEN;
            buffer.slice(payload..payload + record.payload.len())
        } else {
            Bytes::from(record.decode(index).map_err(corrupt)?)
        };
        let from = offset.saturating_sub(chunk_start) as usize;
        let to = (end.min(chunk_end) - chunk_start) as usize;
        out.push(data.slice(from..to));
    }
    Ok(out)
}
