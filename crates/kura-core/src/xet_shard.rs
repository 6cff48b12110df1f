//! Registering the files of an uploaded Xet shard. Every term is checked against the stored
//! xorbs and the file hash recomputed; the SHA-256 the shard claims is then checked against
//! the file's bytes, read back from the verified chunks, before anything is recorded. A claim
//! kura did not confirm never links content to a repo, skips an ingest or answers a dedup
//! query, so no two byte strings are ever recorded under one SHA-256.

use std::sync::Arc;

use bytes::Bytes;
use kura_cas::{FileEntry, MerkleBuilder, MerkleHash, MerkleNode, parse_shard, verification_range_hash};
use kura_storage::XetFileRecord;

use crate::error::{CoreError, Result};
use crate::services::Xet;
use crate::xet::{StoredChunk, Term, encode_terms};
use crate::xet_token::XetGrant;

/// Largest file a shard may register (the Hub's own per-file limit): reading a file back to
/// hash it costs time in proportion to its size.
pub const MAX_XET_FILE_BYTES: u64 = 50 << 30;

impl Xet<'_> {
    /// Registers the files of an uploaded shard. Each verified file's SHA-256 becomes a large
    /// object of the token's repo, so commits can name it.
    pub async fn put_shard(&self, grant: &XetGrant, body: Bytes) -> Result<bool> {
        if !grant.write {
            return Err(CoreError::Forbidden("This Xet token is read-only".to_owned()));
        }
        let access = self.xet_access(grant).await?;
        let shard = parse_shard(&body).map_err(|e| CoreError::invalid(format!("Rejected shard: {e}")))?;
        // Terms may name the same chunks over and over: what a shard costs to check is the
        // chunks its terms cover, not its size on the wire. Counted before any work.
        let chunk_refs: u64 = (shard.files.iter().flat_map(|file| &file.terms))
            .map(|term| u64::from(term.chunk_end.saturating_sub(term.chunk_start)))
            .sum();
        let limit = self.config.limits.xet_max_shard_chunk_refs;
        if chunk_refs > limit {
            return Err(CoreError::TooLarge(format!(
                "Rejected shard: its terms cover {chunk_refs} chunks, more than the {limit} one shard may; \
                 upload it as several shards"
            )));
        }
        let mut checked = Vec::with_capacity(shard.files.len());
        for file in &shard.files {
            let record = self.check_shard_file(file).await?;
            self.confirm_sha256(&record).await?;
            checked.push(record);
        }
        let now = self.now_millis();
        for record in &checked {
            self.meta.record_xet_file(record, now).await?;
            self.meta.record_lfs_object(&record.sha256, record.size, now).await?;
            self.meta.link_lfs_object(access.hosted()?.id, &record.sha256).await?;
            self.index_file_for_dedup(record).await?;
        }
        Ok(!checked.is_empty())
    }

    /// Checks the SHA-256 a shard claims for a file against the file's bytes. A file already
    /// registered (same file hash, so the same bytes) was hashed then; otherwise its chunks
    /// are read back and hashed now.
    async fn confirm_sha256(&self, record: &XetFileRecord) -> Result<()> {
        let known = self.meta.xet_file(&record.file_hash).await?;
        let actual = match known {
            Some(known) => known.sha256,
            None => self.xet_sha256(record).await?,
        };
        if actual != record.sha256 {
            return Err(CoreError::invalid(format!(
                "Rejected shard: file {}: its SHA-256 metadata ({}) does not match its content",
                record.file_hash, record.sha256
            )));
        }
        Ok(())
    }

    /// Checks one file entry's terms against the stored chunk tables and recomputes its file
    /// hash as the terms are read. Tables are fetched here; the hashing runs on the blocking
    /// pool in batches, so memory stays a few tables and a few nodes per tree level, and the
    /// async workers stay free for other requests.
    async fn check_shard_file(&self, file: &FileEntry) -> Result<XetFileRecord> {
        let hex = file.file_hash.to_hex();
        let bad = |why: String| CoreError::invalid(format!("Rejected shard: file {hex}: {why}"));
        let sha256 = file.sha256.ok_or_else(|| bad("no SHA-256 metadata extension".to_owned()))?;
        if file.size() > MAX_XET_FILE_BYTES {
            return Err(bad(format!("files are limited to {MAX_XET_FILE_BYTES} bytes")));
        }
        let mut nodes = MerkleBuilder::new();
        let mut batch = Vec::new();
        let mut batch_refs = 0;
        let mut terms = Vec::with_capacity(file.terms.len());
        for (i, term) in file.terms.iter().enumerate() {
            let table = self.chunk_table(&term.xorb_hash).await?;
            let range = term.chunk_start as usize..term.chunk_end as usize;
            if range.is_empty() || range.end > table.len() {
                return Err(bad(format!("term {i} is outside xorb {}", term.xorb_hash.to_hex())));
            }
            batch_refs += range.len();
            let expected = file.verification.as_ref().and_then(|v| v.get(i)).copied();
            batch.push(PendingTerm { index: i, table, range, unpacked_len: term.unpacked_len, expected });
            let unpacked = u64::from(term.unpacked_len);
            terms.push(Term { xorb: term.xorb_hash, start: term.chunk_start, end: term.chunk_end, unpacked });
            if batch_refs >= HASH_BATCH_REFS || batch.len() >= HASH_BATCH_TERMS {
                nodes = hash_terms(nodes, std::mem::take(&mut batch)).await?.map_err(bad)?;
                batch_refs = 0;
            }
        }
        let nodes = hash_terms(nodes, batch).await?.map_err(bad)?;
        if nodes.finish_file() != file.file_hash {
            return Err(bad("the terms do not hash to the file hash".to_owned()));
        }
        Ok(XetFileRecord { file_hash: hex, sha256, size: file.size(), terms: encode_terms(&terms) })
    }
}

/// Chunk references hashed per trip to the blocking pool.
const HASH_BATCH_REFS: usize = 1 << 16;
/// Chunk tables (up to 8,192 chunks each) held per trip.
const HASH_BATCH_TERMS: usize = 16;

/// A term whose range lies inside its xorb's chunk table, not yet checked or hashed.
struct PendingTerm {
    index: usize,
    table: Arc<Vec<StoredChunk>>,
    range: std::ops::Range<usize>,
    unpacked_len: u32,
    expected: Option<MerkleHash>,
}

/// Checks the terms' lengths and verification hashes and adds their chunks to `nodes`, on
/// the blocking pool. The inner error says what is wrong with the file.
async fn hash_terms(
    mut nodes: MerkleBuilder,
    batch: Vec<PendingTerm>,
) -> Result<std::result::Result<MerkleBuilder, String>> {
    if batch.is_empty() {
        return Ok(Ok(nodes));
    }
    let work = move || {
        for term in batch {
            let chunks = &term.table[term.range];
            let unpacked: u64 = chunks.iter().map(|c| u64::from(c.len)).sum();
            if unpacked != u64::from(term.unpacked_len) {
                let claims = term.unpacked_len;
                return Err(format!("term {} claims {claims} bytes, the chunks hold {unpacked}", term.index));
            }
            if let Some(expected) = term.expected {
                let hashes: Vec<MerkleHash> = chunks.iter().map(|c| c.hash).collect();
                if verification_range_hash(&hashes) != expected {
                    return Err(format!("term {} has a wrong verification hash", term.index));
                }
            }
            chunks.iter().for_each(|c| nodes.push(MerkleNode::new(c.hash, u64::from(c.len))));
        }
        Ok(nodes)
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CoreError::Corrupt(format!("shard check failed: {e}")))
}
