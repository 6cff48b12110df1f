//! Xet storage: verified xorb uploads, the dedup index and queries, and reconstruction plans
//! with signed fetch URLs (tokens in `xet_token`, shards in `xet_shard`, the bridge that
//! rebuilds files for plain HTTP clients in `xet_read`).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kura_cas::{
    CasError, FileTerm, MerkleHash, XorbChunk, XorbChunkEntry, XorbEntry, XorbInfo, dedup_shard,
    is_global_dedup_eligible, overlapping_terms, plan_reconstruction,
};
use kura_model::{ByteRange, Sha256};
use kura_storage::{BlobKey, RepoRecord, StorageError, XetFileRecord};

use crate::ByteStream;
use crate::error::{CoreError, Result};
use crate::lfs::PRESIGNED_TTL;
use crate::services::Xet;
use crate::xet_receive::ReceivingXorb;
use crate::xet_token::{XetGrant, XetScope};

/// How long the xorbs of a failed conversion are kept before they are deleted (unless indexed
/// by then): as long as `fsck` keeps orphans.
const DISCARD_GRACE_MS: i64 = 24 * 3600 * 1000;

/// One term of a file: chunks `[start, end)` of a xorb holding `unpacked` raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub xorb: MerkleHash,
    pub start: u32,
    pub end: u32,
    pub unpacked: u64,
}

/// A download plan as `/v1/reconstructions` returns it.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    pub offset_into_first_range: u64,
    pub terms: Vec<Term>,
    /// Per term: the inclusive physical byte range and where to fetch it.
    pub fetches: Vec<(u64, u64, Fetch)>,
}

/// Where a client fetches xorb bytes from.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// A presigned storage URL (S3): the client goes straight to the bucket.
    Direct(String),
    /// A kura-signed token for `{cas}/fetch/{token}`.
    Token(String),
}

pub(crate) fn encode_terms(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|t| format!("{}:{}:{}:{}", t.xorb.to_hex(), t.start, t.end, t.unpacked))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn decode_terms(text: &str) -> Result<Vec<Term>> {
    let corrupt = || CoreError::Corrupt("bad Xet term list".to_owned());
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let parts: Vec<&str> = line.split(':').collect();
            let [xorb, start, end, unpacked] = parts[..] else { return Err(corrupt()) };
            Ok(Term {
                xorb: MerkleHash::from_hex(xorb).map_err(|_| corrupt())?,
                start: start.parse().map_err(|_| corrupt())?,
                end: end.parse().map_err(|_| corrupt())?,
                unpacked: unpacked.parse().map_err(|_| corrupt())?,
            })
        })
        .collect()
}

pub(crate) fn xorb_key(hash: &MerkleHash) -> BlobKey {
    let hex = hash.to_hex();
    BlobKey::new(format!("xet/xorbs/{}/{hex}", &hex[..2]))
}

pub(crate) fn chunk_table_key(hash: &MerkleHash) -> BlobKey {
    let hex = hash.to_hex();
    BlobKey::new(format!("xet/xorbs/{}/{hex}.chunks", &hex[..2]))
}

/// Chunk table entry size: hash 32, uncompressed len u32, record start u64, record end u64.
pub(crate) const CHUNK_ENTRY: usize = 52;

fn encode_chunk_table(chunks: &[XorbChunk]) -> Bytes {
    let mut out = BytesMut::with_capacity(chunks.len() * CHUNK_ENTRY);
    for chunk in chunks {
        out.put_slice(chunk.hash.as_bytes());
        out.put_u32_le(chunk.uncompressed_len);
        out.put_u64_le(chunk.record_start);
        out.put_u64_le(chunk.record_end);
    }
    out.freeze()
}

/// A stored chunk: hash, raw length, and its record's physical byte range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredChunk {
    pub(crate) hash: MerkleHash,
    pub(crate) len: u32,
    pub(crate) record_start: u64,
    pub(crate) record_end: u64,
}

fn decode_chunk_table(bytes: &[u8]) -> Result<Vec<StoredChunk>> {
    if !bytes.len().is_multiple_of(CHUNK_ENTRY) {
        return Err(CoreError::Corrupt("bad chunk table".to_owned()));
    }
    Ok(bytes
        .chunks_exact(CHUNK_ENTRY)
        .map(|e| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&e[..32]);
            let u32_at = |i: usize| u32::from_le_bytes(e[i..i + 4].try_into().expect("4 bytes"));
            let u64_at = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().expect("8 bytes"));
            StoredChunk {
                hash: MerkleHash::from_bytes(hash),
                len: u32_at(32),
                record_start: u64_at(36),
                record_end: u64_at(44),
            }
        })
        .collect())
}

impl Xet<'_> {
    /// Verifies and stores an uploaded xorb as it streams in. `Ok(false)` when it was
    /// already stored (the body is still checked). The records blob is published only once
    /// the whole xorb is valid; its chunk table follows, then the index row that makes both
    /// visible.
    pub async fn put_xorb(&self, grant: &XetGrant, hash: &MerkleHash, body: ByteStream) -> Result<bool> {
        if !grant.write {
            return Err(CoreError::Forbidden("This Xet token is read-only".to_owned()));
        }
        self.xet_access(grant).await?;
        let known = self.meta.xorb_exists(&hash.to_hex()).await?;
        let mut receiving = ReceivingXorb::start(body, *hash);
        let stored = if known {
            receiving.drain().await;
            Ok(0)
        } else {
            self.blobs.put(&xorb_key(hash), receiving.records()).await
        };
        // A refused body fails the store too: the refusal is what the client needs to hear.
        let info = receiving.finish().await?;
        stored?;
        if known {
            return Ok(false);
        }
        let table = encode_chunk_table(&info.chunks);
        self.blobs.put_bytes(&chunk_table_key(&info.hash), table).await?;
        self.index_xorb(&info).await
    }

    /// Writes a converted xorb's records and chunk table (chunk table first), as a task that owns
    /// what it needs (to spawn it). Nothing is visible before [`Xet::index_xorb`].
    pub(crate) fn store_xorb_task(
        &self,
        info: &XorbInfo,
        records: Bytes,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let blobs = self.blobs.clone();
        let (table_key, key) = (chunk_table_key(&info.hash), xorb_key(&info.hash));
        let table = encode_chunk_table(&info.chunks);
        async move {
            blobs.put_bytes(&table_key, table).await?;
            blobs.put_bytes(&key, records).await?;
            Ok(())
        }
    }

    /// Queues the removal of a xorb that a failed conversion wrote, for a day later.
    ///
    /// Not at once: conversions of the same bytes write the same xorbs, and another one (any
    /// user's, on any replica) may have written this very blob and be about to index it. The
    /// job deletes it only if it is still unindexed then; until then it is an orphan, as a
    /// crash leaves (`fsck` reports and keeps those for the same day).
    pub(crate) async fn discard_later(&self, hash: &MerkleHash) {
        let due = self.now_millis() + DISCARD_GRACE_MS;
        let queued = self.meta.enqueue_job(crate::jobs::DISCARD_XORB, &hash.to_hex(), "", due, true).await;
        if let Err(error) = queued {
            tracing::warn!(%error, xorb = %hash.to_hex(), "could not queue the removal of a xorb; fsck will find it");
        }
    }

    /// Removes the blobs of a xorb that never got indexed (a failed conversion, a day later).
    pub(crate) async fn discard_xorb_blobs(&self, hash: &MerkleHash) {
        if matches!(self.meta.xorb_exists(&hash.to_hex()).await, Ok(false)) {
            let _ = self.blobs.delete(&xorb_key(hash)).await;
            let _ = self.blobs.delete(&chunk_table_key(hash)).await;
        }
    }

    /// Makes a stored xorb visible: dedup entries, then the xorb row. `Ok(false)` if known.
    pub(crate) async fn index_xorb(&self, info: &XorbInfo) -> Result<bool> {
        let hex = info.hash.to_hex();
        let stored = info.records_len;
        Ok(self
            .meta
            .record_xorb(&hex, info.chunks.len() as u64, info.uncompressed_len(), stored, self.now_millis())
            .await?)
    }

    /// Makes a registered file a dedup target: its first chunk and every eligible chunk of
    /// its terms point at the file, so a query returns all the xorbs it uses (neighbouring
    /// chunks of an edited copy are then found without further queries).
    pub(crate) async fn index_file_for_dedup(&self, record: &XetFileRecord) -> Result<()> {
        let target = format!("f:{}", record.file_hash);
        let mut entries = Vec::new();
        for (i, term) in decode_terms(&record.terms)?.iter().enumerate() {
            let table = self.chunk_table(&term.xorb).await?;
            for (j, chunk) in table.iter().enumerate().take(term.end as usize).skip(term.start as usize) {
                let first = i == 0 && j == term.start as usize;
                if is_global_dedup_eligible(&chunk.hash, first) {
                    entries.push((chunk.hash.to_hex(), target.clone()));
                }
            }
        }
        Ok(self.meta.index_chunks(&entries).await?)
    }

    /// The xorbs a dedup index entry stands for (at most 256). With `reader`, only when the
    /// file is that repo's or a public, ungated repo's: a chunk held only by private or gated
    /// repos is not found (so the dedup query confirms no private content). A miss then asks
    /// the same questions as a hit, against a stand-in, so it costs the same.
    pub(crate) async fn dedup_xorbs(
        &self,
        chunk: &MerkleHash,
        reader: Option<&RepoRecord>,
    ) -> Result<Vec<MerkleHash>> {
        let target = self.meta.xorb_for_chunk(&chunk.to_hex()).await?;
        let file = target.as_deref().and_then(|t| t.strip_prefix("f:"));
        let record = self.meta.xet_file(file.unwrap_or("-")).await?;
        if let Some(repo) = reader {
            let sha256 = record.as_ref().map_or(Sha256([0; 32]), |r| r.sha256);
            let own = self.meta.repo_has_lfs_object(repo.id, &sha256).await?;
            let public = self.meta.public_repo_holds(&sha256).await?;
            if !(own || public) {
                return Ok(Vec::new());
            }
        } else if let (Some(target), None) = (&target, file) {
            // A bare xorb entry (no longer written): only for the server's own conversion.
            let corrupt = || CoreError::Corrupt("bad dedup index entry".to_owned());
            return Ok(vec![MerkleHash::from_hex(target).map_err(|_| corrupt())?]);
        }
        let Some(record) = record else { return Ok(Vec::new()) };
        let mut xorbs: Vec<MerkleHash> = Vec::new();
        for term in decode_terms(&record.terms)? {
            if !xorbs.contains(&term.xorb) && xorbs.len() < 256 {
                xorbs.push(term.xorb);
            }
        }
        Ok(xorbs)
    }

    /// Answers a global dedup query: a keyed shard listing the xorb that holds `chunk`, or
    /// `None` when no indexed chunk matches. Each answer uses a fresh random key.
    pub async fn dedup_query(&self, grant: &XetGrant, chunk: &MerkleHash) -> Result<Option<Vec<u8>>> {
        let access = self.xet_access(grant).await?;
        let xorbs = match &access.scope {
            XetScope::Hosted { repo, .. } => self.dedup_xorbs(chunk, Some(repo)).await?,
            XetScope::Mirror(_) => return Ok(None),
        };
        if xorbs.is_empty() {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(xorbs.len());
        for xorb in xorbs {
            let table = self.chunk_table(&xorb).await?;
            let mut start = 0u32;
            let chunks = table
                .iter()
                .map(|c| {
                    let entry = XorbChunkEntry {
                        hash: c.hash,
                        uncompressed_start: start,
                        uncompressed_len: c.len,
                        flags: 0,
                    };
                    start += c.len;
                    entry
                })
                .collect();
            let stored = table.last().map_or(0, |c| c.record_end) as u32;
            entries.push(XorbEntry {
                xorb_hash: xorb,
                flags: 0,
                uncompressed_len: start,
                bytes_on_disk: stored,
                chunks,
            });
        }
        let mut key: [u8; 32] = rand::random();
        key[0] |= 1;
        let now = (self.now_millis() / 1000) as u64;
        Ok(Some(dedup_shard(&entries, key, now, now + 7 * 24 * 3600)))
    }

    /// Bytes held in xorbs: what content storage costs after deduplication.
    pub async fn stored_xorb_bytes(&self) -> Result<u64> {
        Ok(self.meta.xorb_bytes().await?)
    }

    pub(crate) async fn chunk_table(&self, hash: &MerkleHash) -> Result<Arc<Vec<StoredChunk>>> {
        if let Some(table) = self.hub.xet_state.chunk_tables.get(hash) {
            return Ok(table);
        }
        let bytes = match self.blobs.get_bytes(&chunk_table_key(hash)).await {
            Err(StorageError::NotFound) => {
                return Err(CoreError::invalid(format!("Unknown xorb {}", hash.to_hex())));
            }
            other => other?,
        };
        let table = Arc::new(decode_chunk_table(&bytes)?);
        let bytes = std::mem::size_of_val(table.as_slice()) as u64;
        self.hub.xet_state.chunk_tables.put(*hash, table.clone(), bytes);
        Ok(table)
    }

    /// Plans the download of the bytes `range` asks for (the whole file when `None`) of a file
    /// the token's repo holds (the same proof as every content read: `xet_file_read`), with
    /// kura-cas's planner and a fetch URL per kept term.
    pub async fn reconstruction(
        &self,
        grant: &XetGrant,
        file: &MerkleHash,
        range: Option<ByteRange>,
    ) -> Result<Reconstruction> {
        let access = self.xet_access(grant).await?;
        let missing = || CoreError::EntryNotFound { path: file.to_hex(), commit: None };
        let read = match &access.scope {
            XetScope::Hosted { files, .. } => self.hub.files().xet_file_read(files, &file.to_hex()).await?,
            XetScope::Mirror(mirror) => self.hub.mirror().xet_file_read(mirror, &file.to_hex()).await?,
        };
        let read = read.ok_or_else(missing)?;
        let record = read.xet_record().ok_or_else(missing)?;
        let size = record.size;
        if size == 0 {
            return Ok(Reconstruction { offset_into_first_range: 0, terms: Vec::new(), fetches: Vec::new() });
        }
        let (start, end) = match range {
            None => (0, size - 1),
            Some(range) => range.resolve(size).map_err(|_| CoreError::RangeNotSatisfiable { size })?,
        };
        let corrupt = |what: String| CoreError::Corrupt(format!("Xet file {}: {what}", file.to_hex()));
        let terms = decode_terms(&record.terms)?
            .into_iter()
            .map(|term| {
                Ok(FileTerm {
                    xorb_hash: term.xorb,
                    xorb_flags: 0,
                    unpacked_len: u32::try_from(term.unpacked)
                        .map_err(|_| corrupt("term longer than a xorb".to_owned()))?,
                    chunk_start: term.start,
                    chunk_end: term.end,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The planner is pure: load the chunk tables of the terms it will keep first.
        let span = start..end + 1;
        let mut tables = HashMap::new();
        for (_, term) in overlapping_terms(&terms, span.clone()) {
            if let std::collections::hash_map::Entry::Vacant(slot) = tables.entry(term.xorb_hash) {
                slot.insert(self.chunk_table(&term.xorb_hash).await?);
            }
        }
        let planned = plan_reconstruction(&terms, span, |xorb| {
            tables.get(xorb).map(|table| table.iter().map(|chunk| chunk.len).collect())
        })
        .map_err(|error| match error {
            CasError::RangeNotSatisfiable { .. } => CoreError::RangeNotSatisfiable { size },
            other => corrupt(other.to_string()),
        })?;
        let mut plan = Reconstruction {
            offset_into_first_range: planned.offset_into_first_range,
            terms: Vec::with_capacity(planned.terms.len()),
            fetches: Vec::with_capacity(planned.terms.len()),
        };
        for term in planned.terms {
            let chunks = tables
                .get(&term.xorb_hash)
                .and_then(|table| table.get(term.chunk_start as usize..term.chunk_end as usize))
                .unwrap_or_default();
            let (Some(first), Some(last)) = (chunks.first(), chunks.last()) else {
                return Err(corrupt("term outside its xorb".to_owned()));
            };
            // The physical bytes of those chunks' records, inclusive: the fetch's url_range.
            let (phys_start, phys_end) = (first.record_start, last.record_end - 1);
            let fetch = match self.blobs.presigned_get(&xorb_key(&term.xorb_hash), PRESIGNED_TTL).await? {
                Some(url) => Fetch::Direct(url),
                None => Fetch::Token(self.fetch_token(&access, &term.xorb_hash, phys_start, phys_end)),
            };
            plan.terms.push(Term {
                xorb: term.xorb_hash,
                start: term.chunk_start,
                end: term.chunk_end,
                unpacked: u64::from(term.unpacked_len),
            });
            plan.fetches.push((phys_start, phys_end, fetch));
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_round_trip() {
        let terms = vec![Term { xorb: MerkleHash::from_bytes([7; 32]), start: 0, end: 3, unpacked: 1000 }];
        assert_eq!(decode_terms(&encode_terms(&terms)).unwrap(), terms);
        assert!(decode_terms("zz:1:2").is_err());
    }
}
