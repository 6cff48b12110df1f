//! Xet storage: CAS access tokens, verified xorb uploads, reconstruction plans with signed
//! fetch URLs, and the bridge that rebuilds Xet-stored files for plain HTTP clients.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{BufMut, Bytes, BytesMut};
use kura_cas::{
    FileEntry, MerkleHash, MerkleNode, XorbChunk, XorbChunkEntry, XorbEntry, XorbInfo, dedup_shard,
    file_hash, is_global_dedup_eligible, parse_shard, validate_xorb, verification_range_hash,
};
use kura_model::{RepoId, RepoType, Sha256};
use kura_storage::{BlobKey, RepoRecord, StorageError, XetFileRecord};

use crate::auth::Identity;
use crate::clock::now_millis;
use crate::error::{CoreError, Result};
use crate::{ByteStream, Hub};

/// Lifetime of CAS access tokens and fetch URLs, in seconds.
const TOKEN_TTL_SECS: i64 = 3600;

/// What a CAS token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XetGrant {
    pub repo_type: RepoType,
    pub repo_id: RepoId,
    pub write: bool,
    /// Unix seconds.
    pub expires_at: i64,
}

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

impl Hub {
    fn sign_payload(&self, payload: &str) -> String {
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), self.signer.sign(payload))
    }

    fn open_payload(&self, token: &str) -> Option<String> {
        let (encoded, signature) = token.split_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
        self.signer.verify(&payload, signature).then_some(payload)
    }

    /// Issues a CAS token for the repo (read, or write which implies read).
    pub async fn xet_token(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        write: bool,
    ) -> Result<(String, i64)> {
        if write {
            self.authorize_write(identity, repo).await?;
        } else {
            self.authorize_files(identity, repo).await?;
        }
        let expires_at = now_millis() / 1000 + TOKEN_TTL_SECS;
        let scope = if write { "write" } else { "read" };
        let payload = format!("xet|{scope}|{}|{}|{expires_at}", repo.repo_type.as_str(), repo.repo_id);
        Ok((self.sign_payload(&payload), expires_at))
    }

    /// Checks a CAS bearer token: 401 when missing, forged or expired.
    pub fn check_xet_token(&self, bearer: Option<&str>) -> Result<XetGrant> {
        let invalid = || CoreError::Unauthorized("Invalid or expired Xet access token".to_owned());
        let payload = bearer.and_then(|t| self.open_payload(t)).ok_or_else(invalid)?;
        let fields: Vec<&str> = payload.split('|').collect();
        let ["xet", scope, repo_type, repo_id, expires_at] = fields[..] else { return Err(invalid()) };
        let grant = XetGrant {
            repo_type: RepoType::from_singular(repo_type).ok_or_else(invalid)?,
            repo_id: RepoId::parse(repo_id).map_err(|_| invalid())?,
            write: scope == "write",
            expires_at: expires_at.parse().map_err(|_| invalid())?,
        };
        if grant.expires_at <= now_millis() / 1000 {
            return Err(invalid());
        }
        Ok(grant)
    }

    async fn grant_repo(&self, grant: &XetGrant) -> Result<RepoRecord> {
        self.meta.repo(grant.repo_type, &grant.repo_id).await?.ok_or(CoreError::RepoNotFound)
    }

    /// Verifies and stores an uploaded xorb. `Ok(false)` when it was already stored.
    pub async fn put_xorb(&self, grant: &XetGrant, hash: &MerkleHash, body: Bytes) -> Result<bool> {
        if !grant.write {
            return Err(CoreError::Forbidden("This Xet token is read-only".to_owned()));
        }
        // Decoding and hashing up to 64 MiB is CPU work: keep it off the async workers.
        let (checked, expected) = (body.clone(), *hash);
        let info = tokio::task::spawn_blocking(move || validate_xorb(&checked, &expected))
            .await
            .map_err(|e| CoreError::Corrupt(format!("xorb check failed: {e}")))?
            .map_err(|e| CoreError::invalid(format!("Rejected xorb: {e}")))?;
        if self.meta.xorb_exists(&hash.to_hex()).await? {
            return Ok(false);
        }
        self.store_xorb_blobs(&info, body.slice(..info.records_len as usize)).await?;
        self.index_xorb(&info).await
    }

    /// Writes a xorb's records and chunk table (chunk table first: readers look it up first).
    pub(crate) async fn store_xorb_blobs(&self, info: &XorbInfo, records: Bytes) -> Result<()> {
        self.store_xorb_task(info, records).await
    }

    /// The same as [`Hub::store_xorb_blobs`], as a task that owns what it needs (to spawn it).
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

    /// Removes the blobs of a xorb that never got indexed (a rejected upload).
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
            .record_xorb(&hex, info.chunks.len() as u64, info.uncompressed_len(), stored, now_millis())
            .await?)
    }

    /// Registers the files of an uploaded shard after checking every term against the stored
    /// xorbs: chunk ranges, lengths, verification hashes and the recomputed file hash. Each
    /// file's SHA-256 becomes a large object of the token's repo, so commits can name it.
    pub async fn put_shard(&self, grant: &XetGrant, body: Bytes) -> Result<bool> {
        if !grant.write {
            return Err(CoreError::Forbidden("This Xet token is read-only".to_owned()));
        }
        let repo = self.grant_repo(grant).await?;
        let shard = parse_shard(&body).map_err(|e| CoreError::invalid(format!("Rejected shard: {e}")))?;
        let mut checked = Vec::with_capacity(shard.files.len());
        for file in &shard.files {
            checked.push(self.check_shard_file(file).await?);
        }
        let now = now_millis();
        for record in &checked {
            self.meta.record_xet_file(record, now).await?;
            self.meta.record_lfs_object(&record.sha256, record.size, now).await?;
            self.meta.link_lfs_object(repo.id, &record.sha256).await?;
            self.index_file_for_dedup(record).await?;
        }
        Ok(!checked.is_empty())
    }

    async fn check_shard_file(&self, file: &FileEntry) -> Result<XetFileRecord> {
        let hex = file.file_hash.to_hex();
        let bad = |why: String| CoreError::invalid(format!("Rejected shard: file {hex}: {why}"));
        let sha256 = file.sha256.ok_or_else(|| bad("no SHA-256 metadata extension".to_owned()))?;
        let mut nodes = Vec::new();
        let mut terms = Vec::with_capacity(file.terms.len());
        for (i, term) in file.terms.iter().enumerate() {
            let table = self.chunk_table(&term.xorb_hash).await?;
            let chunks = table
                .get(term.chunk_start as usize..term.chunk_end as usize)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| bad(format!("term {i} is outside xorb {}", term.xorb_hash.to_hex())))?;
            let unpacked: u64 = chunks.iter().map(|c| u64::from(c.len)).sum();
            if unpacked != u64::from(term.unpacked_len) {
                return Err(bad(format!(
                    "term {i} claims {} bytes, the chunks hold {unpacked}",
                    term.unpacked_len
                )));
            }
            let hashes: Vec<MerkleHash> = chunks.iter().map(|c| c.hash).collect();
            let expected = file.verification.as_ref().and_then(|v| v.get(i));
            if expected.is_some_and(|e| verification_range_hash(&hashes) != *e) {
                return Err(bad(format!("term {i} has a wrong verification hash")));
            }
            nodes.extend(chunks.iter().map(|c| MerkleNode::new(c.hash, u64::from(c.len))));
            terms.push(Term { xorb: term.xorb_hash, start: term.chunk_start, end: term.chunk_end, unpacked });
        }
        if file_hash(&nodes) != file.file_hash {
            return Err(bad("the terms do not hash to the file hash".to_owned()));
        }
        Ok(XetFileRecord { file_hash: hex, sha256, size: file.size(), terms: encode_terms(&terms) })
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
        let repo = self.grant_repo(grant).await?;
        let xorbs = self.dedup_xorbs(chunk, Some(&repo)).await?;
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
        let now = (now_millis() / 1000) as u64;
        Ok(Some(dedup_shard(&entries, key, now, now + 7 * 24 * 3600)))
    }

    /// Bytes held in xorbs: what content storage costs after deduplication.
    pub async fn stored_xorb_bytes(&self) -> Result<u64> {
        Ok(self.meta.xorb_bytes().await?)
    }

    /// Whether a xorb is stored.
    pub async fn xorb_exists(&self, hash: &MerkleHash) -> Result<bool> {
        Ok(self.meta.xorb_exists(&hash.to_hex()).await?)
    }

    pub(crate) async fn chunk_table(&self, hash: &MerkleHash) -> Result<Arc<Vec<StoredChunk>>> {
        if let Some(table) = self.chunk_tables.lock().expect("chunk table cache lock").get(hash) {
            return Ok(table.clone());
        }
        let bytes = match self.blobs.get_bytes(&chunk_table_key(hash)).await {
            Err(StorageError::NotFound) => {
                return Err(CoreError::invalid(format!("Unknown xorb {}", hash.to_hex())));
            }
            other => other?,
        };
        let table = Arc::new(decode_chunk_table(&bytes)?);
        let mut cache = self.chunk_tables.lock().expect("chunk table cache lock");
        if cache.len() > 4096 {
            cache.clear();
        }
        cache.insert(*hash, table.clone());
        Ok(table)
    }

    /// The Xet file hash of a stored large object, when it is Xet-stored.
    pub async fn xet_hash_of(&self, sha256: &Sha256) -> Result<Option<String>> {
        Ok(self.meta.xet_file_by_sha256(sha256).await?.map(|f| f.file_hash))
    }

    /// Plans the download of `[start, end]` (inclusive; whole file when `None`) of a file the
    /// token's repo holds.
    pub async fn reconstruction(
        &self,
        grant: &XetGrant,
        file: &MerkleHash,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Reconstruction> {
        let repo = self.grant_repo(grant).await?;
        let record = self
            .meta
            .xet_file(&file.to_hex())
            .await?
            .ok_or_else(|| CoreError::EntryNotFound { path: file.to_hex(), commit: None })?;
        if !self.meta.repo_has_lfs_object(repo.id, &record.sha256).await? {
            return Err(CoreError::EntryNotFound { path: file.to_hex(), commit: None });
        }
        let size = record.size;
        let (start, end) = match range {
            None => (0, size.saturating_sub(1)),
            Some((start, end)) => (start, end.unwrap_or(u64::MAX).min(size.saturating_sub(1))),
        };
        if size == 0 {
            return Ok(Reconstruction { offset_into_first_range: 0, terms: Vec::new(), fetches: Vec::new() });
        }
        if start >= size || start > end {
            return Err(CoreError::RangeNotSatisfiable { size });
        }
        let expires_at = now_millis() / 1000 + TOKEN_TTL_SECS;
        let mut plan = Reconstruction { offset_into_first_range: 0, terms: Vec::new(), fetches: Vec::new() };
        let mut position = 0u64;
        for term in decode_terms(&record.terms)? {
            let table = self.chunk_table(&term.xorb).await?;
            let chunks = table
                .get(term.start as usize..term.end as usize)
                .ok_or_else(|| CoreError::Corrupt("term outside its xorb".to_owned()))?;
            let mut kept: Option<(u32, u32, u64)> = None;
            for (i, chunk) in chunks.iter().enumerate() {
                let (chunk_start, chunk_end) = (position, position + u64::from(chunk.len));
                position = chunk_end;
                if chunk_end <= start || chunk_start > end {
                    continue;
                }
                let index = term.start + i as u32;
                kept = Some(match kept {
                    None => {
                        if plan.terms.is_empty() {
                            plan.offset_into_first_range = start - chunk_start;
                        }
                        (index, index + 1, u64::from(chunk.len))
                    }
                    Some((s, _, bytes)) => (s, index + 1, bytes + u64::from(chunk.len)),
                });
            }
            if let Some((s, e, unpacked)) = kept {
                let first = &table[s as usize];
                let last = &table[e as usize - 1];
                let (phys_start, phys_end) = (first.record_start, last.record_end - 1);
                let ttl = std::time::Duration::from_secs(TOKEN_TTL_SECS as u64);
                let fetch = match self.blobs.presigned_get(&xorb_key(&term.xorb), ttl).await? {
                    Some(url) => Fetch::Direct(url),
                    None => Fetch::Token(self.sign_payload(&format!(
                        "fetch|{}|{phys_start}|{phys_end}|{expires_at}",
                        term.xorb.to_hex()
                    ))),
                };
                plan.terms.push(Term { xorb: term.xorb, start: s, end: e, unpacked });
                plan.fetches.push((phys_start, phys_end, fetch));
            }
            if position > end {
                break;
            }
        }
        Ok(plan)
    }

    /// Serves xorb bytes for a signed fetch URL; 403 once expired or when the range strays
    /// outside what was signed.
    pub async fn fetch_xorb_range(
        &self,
        token: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, u64, ByteStream)> {
        let denied = || CoreError::Forbidden("Invalid or expired fetch URL".to_owned());
        let payload = self.open_payload(token).ok_or_else(denied)?;
        let fields: Vec<&str> = payload.split('|').collect();
        let ["fetch", xorb, start, end, expires_at] = fields[..] else { return Err(denied()) };
        let (start, end, expires_at): (u64, u64, i64) = (
            start.parse().map_err(|_| denied())?,
            end.parse().map_err(|_| denied())?,
            expires_at.parse().map_err(|_| denied())?,
        );
        if expires_at <= now_millis() / 1000 {
            return Err(denied());
        }
        let (from, to) = range.unwrap_or((start, end));
        if from < start || to > end || from > to {
            return Err(denied());
        }
        let hash = MerkleHash::from_hex(xorb).map_err(|_| denied())?;
        let stream = self.blobs.get(&xorb_key(&hash), from, Some(to - from + 1)).await?;
        Ok((from, to, stream))
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
