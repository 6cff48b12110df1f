//! Store consistency check (`kura fsck`): every index row points at bytes that exist with the
//! recorded sizes, and blobs nothing points at (left by a crash between writing blobs and
//! indexing them) are found and optionally deleted.
//!
//! Uploads write blobs first, then index rows, then the file and large-object records, so a
//! crash leaves at worst unindexed blobs: harmless garbage, reported as orphans, never as
//! problems. Because an upload in flight also has unindexed blobs, orphans are deleted only
//! once older than a grace period.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use kura_cas::MerkleHash;
use kura_model::{Sha256, Timestamp};
use kura_storage::{BlobKey, BlobMeta, XetFileRecord, XorbRecord};

use crate::content::object_key;
use crate::error::Result;
use crate::services::Ops;
use crate::xet::{CHUNK_ENTRY, chunk_table_key, decode_terms, xorb_key};

/// Rows fetched per metadata page.
const PAGE: u64 = 1000;
/// Where xorb blobs and their chunk tables live.
const XORB_PREFIX: &str = "xet/xorbs";

/// What `Ops::fsck` does besides checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsckOptions {
    /// Delete orphan blobs older than `orphan_grace`.
    pub delete_orphans: bool,
    /// How old an orphan must be before it may be deleted: an upload in flight has written
    /// blobs it has not indexed yet, and must not lose them.
    pub orphan_grace: Duration,
}

/// One broken invariant: an index row pointing at missing or mis-sized bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// An indexed xorb's blob (its records, or its chunk table) is missing.
    MissingBlob { xorb: String, key: String },
    /// An indexed xorb's blob has another size than its row says.
    BlobSize { xorb: String, key: String, expected: u64, found: u64 },
    /// A Xet file's term list does not decode.
    BadTerms { file: String },
    /// A Xet file's term names a xorb that is not indexed.
    UnknownXorb { file: String, term: usize, xorb: String },
    /// A Xet file's term reaches outside its xorb's chunks.
    TermOutOfRange { file: String, term: usize, xorb: String, start: u32, end: u32, chunks: u64 },
    /// A Xet file's terms add up to another size than the file's.
    FileSize { file: String, expected: u64, terms: u64 },
    /// A dedup entry points at a file or xorb that is not indexed.
    DanglingDedup { chunk: String, target: String },
    /// A large object that is not Xet-backed has no content blob, or one of the wrong size.
    MissingContent { oid: Sha256, expected: u64, found: Option<u64> },
    /// A Xet file of an older release whose claimed SHA-256 is not the hash of its bytes: it
    /// stays unverified, so no lookup by SHA-256 ever finds it.
    FalseSha256 { file: String, claimed: Sha256, actual: Sha256 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MissingBlob { xorb, key } => write!(f, "xorb {xorb}: blob {key} is missing"),
            Problem::BlobSize { xorb, key, expected, found } => {
                write!(f, "xorb {xorb}: blob {key} has {found} bytes, the index says {expected}")
            }
            Problem::BadTerms { file } => write!(f, "file {file}: the term list does not decode"),
            Problem::UnknownXorb { file, term, xorb } => {
                write!(f, "file {file}: term {term} names xorb {xorb}, which is not indexed")
            }
            Problem::TermOutOfRange { file, term, xorb, start, end, chunks } => write!(
                f,
                "file {file}: term {term} covers chunks {start}..{end} of xorb {xorb}, which has {chunks}"
            ),
            Problem::FileSize { file, expected, terms } => {
                write!(f, "file {file}: the terms hold {terms} bytes, the file has {expected}")
            }
            Problem::DanglingDedup { chunk, target } => {
                write!(f, "dedup entry {chunk}: target {target} is not indexed")
            }
            Problem::MissingContent { oid, expected, found: None } => {
                write!(f, "large object {oid}: content blob ({expected} bytes) is missing")
            }
            Problem::MissingContent { oid, expected, found: Some(found) } => {
                write!(f, "large object {oid}: content blob has {found} bytes, expected {expected}")
            }
            Problem::FalseSha256 { file, claimed, actual } => {
                write!(f, "file {file}: its upload claimed SHA-256 {claimed}, its bytes hash to {actual}")
            }
        }
    }
}

/// A blob under the xorb prefix that no index row points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub key: String,
    pub size: u64,
    /// Last modification, Unix milliseconds.
    pub modified: Timestamp,
    /// Whether this run deleted it.
    pub deleted: bool,
}

/// What `Ops::fsck` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsckReport {
    pub xorbs: u64,
    pub files: u64,
    pub dedup_entries: u64,
    pub lfs_objects: u64,
    /// Files of older releases whose claimed SHA-256 this run recomputed and confirmed.
    pub verified: u64,
    /// Broken invariants; the store is consistent when there are none.
    pub problems: Vec<Problem>,
    /// Unindexed blobs: garbage, not inconsistency.
    pub orphans: Vec<Orphan>,
}

impl FsckReport {
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// State of one run: the xorb blobs listed up front, and what the index walk has seen.
struct Check<'a> {
    hub: Ops<'a>,
    blobs: HashMap<String, BlobMeta>,
    chunks_of: HashMap<String, u64>,
    files: HashSet<String>,
    report: FsckReport,
}

impl Ops<'_> {
    /// Checks the content index against the blob store (see the module docs) and deletes
    /// old orphans when asked. Runs alongside a live server: anything indexed while the
    /// check runs is looked up again rather than reported.
    pub async fn fsck(&self, options: &FsckOptions) -> Result<FsckReport> {
        let mut blobs = HashMap::new();
        let mut listing = self.blobs.list(&BlobKey::new(XORB_PREFIX)).await?;
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            blobs.insert(meta.key.as_str().to_owned(), meta);
        }
        let mut check = Check {
            hub: *self,
            blobs,
            chunks_of: HashMap::new(),
            files: HashSet::new(),
            report: FsckReport::default(),
        };
        check.xorbs().await?;
        check.verify_claims().await?;
        check.files().await?;
        check.dedup().await?;
        check.lfs_objects().await?;
        check.orphans(options).await?;
        Ok(check.report)
    }
}

impl Check<'_> {
    async fn xorbs(&mut self) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let page = self.hub.meta.list_xorbs(after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some(last.hash.clone());
            for xorb in page {
                self.xorb(&xorb).await?;
            }
        }
    }

    async fn xorb(&mut self, xorb: &XorbRecord) -> Result<()> {
        self.report.xorbs += 1;
        self.chunks_of.insert(xorb.hash.clone(), xorb.num_chunks);
        let Ok(hash) = MerkleHash::from_hex(&xorb.hash) else {
            let key = format!("{XORB_PREFIX}/?/{}", xorb.hash);
            self.report.problems.push(Problem::MissingBlob { xorb: xorb.hash.clone(), key });
            return Ok(());
        };
        let expected_table = xorb.num_chunks * CHUNK_ENTRY as u64;
        for (key, expected) in
            [(xorb_key(&hash), xorb.stored_bytes), (chunk_table_key(&hash), expected_table)]
        {
            let found = match self.blobs.remove(key.as_str()) {
                Some(meta) => Some(meta.size),
                // Written after the listing (a concurrent upload), or really missing.
                None => self.hub.blobs.size(&key).await?,
            };
            let (xorb, key) = (xorb.hash.clone(), key.as_str().to_owned());
            match found {
                None => self.report.problems.push(Problem::MissingBlob { xorb, key }),
                Some(found) if found != expected => {
                    self.report.problems.push(Problem::BlobSize { xorb, key, expected, found })
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Recomputes the SHA-256 of files recorded before kura verified every upload's claim;
    /// a true claim makes the file visible again, a false one is reported.
    async fn verify_claims(&mut self) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let page = self.hub.meta.list_unverified_xet_files(after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some(last.file_hash.clone());
            for file in page {
                let actual = match self.hub.hub.xet().xet_sha256(&file).await {
                    Ok(actual) => actual,
                    // Unreadable terms are reported by the file walk.
                    Err(_) => continue,
                };
                if actual == file.sha256 {
                    self.hub.meta.mark_xet_file_verified(&file.file_hash).await?;
                    self.report.verified += 1;
                } else {
                    let problem = Problem::FalseSha256 { file: file.file_hash, claimed: file.sha256, actual };
                    self.report.problems.push(problem);
                }
            }
        }
    }

    async fn files(&mut self) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let page = self.hub.meta.list_xet_files(after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some(last.file_hash.clone());
            for file in page {
                self.file(&file).await?;
            }
        }
    }

    async fn file(&mut self, file: &XetFileRecord) -> Result<()> {
        self.report.files += 1;
        self.files.insert(file.file_hash.clone());
        let name = file.file_hash.clone();
        let Ok(terms) = decode_terms(&file.terms) else {
            self.report.problems.push(Problem::BadTerms { file: name });
            return Ok(());
        };
        let mut total = 0u64;
        for (i, term) in terms.iter().enumerate() {
            total += term.unpacked;
            let xorb = term.xorb.to_hex();
            let Some(chunks) = self.chunk_count(&xorb).await? else {
                self.report.problems.push(Problem::UnknownXorb { file: name.clone(), term: i, xorb });
                continue;
            };
            if term.start >= term.end || u64::from(term.end) > chunks {
                let (start, end) = (term.start, term.end);
                let problem =
                    Problem::TermOutOfRange { file: name.clone(), term: i, xorb, start, end, chunks };
                self.report.problems.push(problem);
            }
        }
        if total != file.size {
            self.report.problems.push(Problem::FileSize { file: name, expected: file.size, terms: total });
        }
        Ok(())
    }

    /// Chunks in an indexed xorb; `None` when it is not indexed. A xorb indexed after the
    /// walk is counted from its chunk table's size.
    async fn chunk_count(&self, xorb: &str) -> Result<Option<u64>> {
        if let Some(&chunks) = self.chunks_of.get(xorb) {
            return Ok(Some(chunks));
        }
        let Ok(hash) = MerkleHash::from_hex(xorb) else { return Ok(None) };
        if !self.hub.meta.xorb_exists(xorb).await? {
            return Ok(None);
        }
        let table = self.hub.blobs.size(&chunk_table_key(&hash)).await?;
        Ok(Some(table.unwrap_or(0) / CHUNK_ENTRY as u64))
    }

    async fn dedup(&mut self) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let page = self.hub.meta.list_dedup_entries(after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some(last.chunk_hash.clone());
            for entry in page {
                self.report.dedup_entries += 1;
                let known = match entry.target.strip_prefix("f:") {
                    Some(file) => self.files.contains(file) || self.hub.meta.xet_file(file).await?.is_some(),
                    None => {
                        self.chunks_of.contains_key(&entry.target)
                            || self.hub.meta.xorb_exists(&entry.target).await?
                    }
                };
                if !known {
                    let problem = Problem::DanglingDedup { chunk: entry.chunk_hash, target: entry.target };
                    self.report.problems.push(problem);
                }
            }
        }
    }

    async fn lfs_objects(&mut self) -> Result<()> {
        let mut after: Option<Sha256> = None;
        loop {
            let page = self.hub.meta.list_lfs_objects(after.as_ref(), PAGE).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some(last.oid);
            for object in page {
                self.report.lfs_objects += 1;
                if self.hub.meta.xet_file_by_sha256(&object.oid).await?.is_some() {
                    continue;
                }
                let found = self.hub.blobs.size(&object_key(&object.oid)).await?;
                if found != Some(object.size) {
                    let problem = Problem::MissingContent { oid: object.oid, expected: object.size, found };
                    self.report.problems.push(problem);
                }
            }
        }
    }

    /// What is left of the listing is unindexed, unless it was indexed during the walk.
    async fn orphans(&mut self, options: &FsckOptions) -> Result<()> {
        let cutoff =
            self.hub.now_millis() - i64::try_from(options.orphan_grace.as_millis()).unwrap_or(i64::MAX);
        let mut left: Vec<BlobMeta> = std::mem::take(&mut self.blobs).into_values().collect();
        left.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        for meta in left {
            if self.indexed_since(meta.key.as_str()).await? {
                continue;
            }
            let deleted = options.delete_orphans && meta.modified <= cutoff;
            if deleted {
                self.hub.blobs.delete(&meta.key).await?;
            }
            let orphan = Orphan {
                key: meta.key.as_str().to_owned(),
                size: meta.size,
                modified: meta.modified,
                deleted,
            };
            self.report.orphans.push(orphan);
        }
        Ok(())
    }

    async fn indexed_since(&self, key: &str) -> Result<bool> {
        let name = key.rsplit('/').next().unwrap_or(key);
        let hash = name.strip_suffix(".chunks").unwrap_or(name);
        Ok(MerkleHash::from_hex(hash).is_ok() && self.hub.meta.xorb_exists(hash).await?)
    }
}
