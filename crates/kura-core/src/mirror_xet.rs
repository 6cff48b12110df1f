//! Fetching a mirrored LFS file through the upstream's Xet reconstruction, so that a new
//! version of a file costs only its new chunks upstream.
//!
//! The mirror asks the upstream for a CAS token (`xet-read-token`, with the repo's upstream
//! token) and for the file's reconstruction, one block of at most 1 GiB at a time (so the plan
//! of a file of any size stays within a budget). Each term names chunks of an upstream xorb.
//! When a file the mirror holds already contains those chunks (a run recorded when that file
//! was fetched), they are read from kura's own store; otherwise the xorb range is fetched from
//! the URL the upstream gave and decoded as it arrives. Either way the bytes go in file order
//! into the fetch's sink, which kura verifies (SHA-256, its own chunking) before the repo holds
//! the file. Runs are recorded only for a verified file. Any failure here hands over to
//! `resolve` from the byte reached; an object whose rebuild failed verification is fetched
//! through `resolve` only from then on.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::StreamExt;
use kura_cas::{MAX_SERIALIZED_XORB_BYTES, MAX_XORB_BYTES, MAX_XORB_CHUNKS, MerkleHash, RecordDecoder};
use kura_model::{ObjectId, Sha256};
use kura_storage::MirrorRun;

use crate::error::{CoreError, Result};
use crate::mirror::{MirrorFile, MirrorRepo, unreachable};
use crate::mirror_fetch::{Sink, object_key};
use crate::mirror_upstream::{UpstreamMethod, UpstreamRequest};
use crate::services::Mirror;
use crate::views::{FetchInfoView, ReconstructionView, TermView, XetTokenView};

/// Bytes of the file one reconstruction request covers.
const BLOCK_BYTES: u64 = 1 << 30;
/// Largest reconstruction answer read (one block's plan).
const MAX_PLAN_BYTES: usize = 16 << 20;
/// Most terms one block's plan may hold (an honest plan of 1 GiB holds a few hundred).
const MAX_PLAN_TERMS: usize = 65_536;
/// Largest CAS token answer read.
const MAX_TOKEN_BYTES: usize = 64 << 10;
/// Held runs looked at for one part of a term.
const RUNS_PER_LOOKUP: u32 = 4;
/// Chunk lengths one fetch records in runs at most (4 bytes each); past it, no more runs.
const MAX_RUN_CHUNKS: usize = 2 << 20;

fn broken(why: impl Into<String>) -> CoreError {
    CoreError::UpstreamUnavailable(format!("the upstream's Xet reconstruction: {}", why.into()))
}

/// Where the next chunk of a block starts in the file, and where the block ends.
struct Block {
    pos: u64,
    end: u64,
}

impl Block {
    /// Passes on the part of `data` (the file's bytes at `pos`) that the sink lacks, within
    /// the block, and moves past it.
    async fn take(&mut self, data: Bytes, sink: &mut Sink<'_>, path: &str) -> Result<()> {
        let (from, to) = (self.pos, self.pos + data.len() as u64);
        if from > sink.written {
            return Err(broken("its terms leave a gap in the file"));
        }
        let (low, high) = (sink.written.max(from), to.min(self.end));
        if high > low {
            sink.push(data.slice((low - from) as usize..(high - from) as usize), path).await?;
        }
        self.pos = to;
        Ok(())
    }
}

/// What one fetch through the upstream's Xet CAS did.
#[derive(Default)]
pub(crate) struct XetFetch {
    /// Runs of this file, each made only of bytes the file received from it: to record once
    /// the file is verified.
    pub(crate) found: Vec<MirrorRun>,
    /// Held runs the file was rebuilt from: to forget if it fails verification.
    pub(crate) used: Vec<MirrorRun>,
    recorded_chunks: usize,
}

/// One term as the fetch reads it: the plan it is in, its repo, the file's path.
struct TermJob<'t> {
    term: &'t TermView,
    fetch_info: &'t BTreeMap<String, Vec<FetchInfoView>>,
    repo: &'t MirrorRepo,
    path: &'t str,
}

impl Mirror<'_> {
    /// Whether `file` may be fetched through the upstream's Xet reconstruction.
    pub(crate) fn xet_eligible(&self, file: &MirrorFile) -> bool {
        let plain = self.hub.mirror_state.plain_only.lock().unwrap_or_else(|e| e.into_inner());
        self.settings().is_some_and(|s| s.xet)
            && file.sha256.is_some()
            && file.xet_hash.as_deref().is_some_and(|h| MerkleHash::from_hex(h).is_ok())
            && !plain.contains(&object_key(file))
    }

    /// Pushes the file from `sink.written` to its end into the sink. `done` gathers the runs
    /// found and used, also when this fails halfway.
    pub(crate) async fn copy_through_xet(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        file: &MirrorFile,
        sink: &mut Sink<'_>,
        done: &mut XetFetch,
    ) -> Result<()> {
        let (Some(sha256), Some(xet_hash)) = (&file.sha256, file.xet_hash.as_deref()) else {
            return Err(broken("the file has no Xet hash"));
        };
        let token = self.upstream_cas_token(repo, commit).await?;
        let upstream = self.upstream()?;
        let url = format!("{}/v1/reconstructions/{xet_hash}", token.cas_url.trim_end_matches('/'));
        while sink.written < file.size {
            let start = sink.written;
            let end = start.saturating_add(BLOCK_BYTES).min(file.size);
            let reply = upstream
                .call_url(&url, Some((start, end - 1)), &token.access_token, MAX_PLAN_BYTES)
                .await
                .map_err(unreachable)?;
            self.hub.mirror_state.count_upstream_bytes(reply.body.len() as u64);
            if !matches!(reply.status, 200 | 206) {
                return Err(broken(format!("answered {}", reply.status)));
            }
            let plan: ReconstructionView =
                serde_json::from_slice(&reply.body).map_err(|e| broken(format!("unreadable plan: {e}")))?;
            let first_len = plan.terms.first().map_or(0, |t| t.unpacked_length);
            if plan.terms.len() > MAX_PLAN_TERMS || plan.offset_into_first_range >= first_len.max(1) {
                return Err(broken("its plan is out of bounds"));
            }
            let mut block = Block { pos: start - plan.offset_into_first_range.min(start), end };
            for term in merged(checked(plan.terms)?) {
                if block.pos >= end {
                    break;
                }
                // Every term must bring the file forward (no replaying what it has).
                if block.pos + term.unpacked_length <= sink.written {
                    return Err(broken("a term brings nothing new"));
                }
                let job = TermJob { term: &term, fetch_info: &plan.fetch_info, repo, path: &file.path };
                let (file_offset, whole) = (block.pos, block.pos >= sink.written);
                let lengths = self.copy_term(&job, &mut block, sink, done).await?;
                // A run is recorded only if all its bytes went into the file from it.
                if whole && block.pos <= end && done.recorded_chunks + lengths.len() <= MAX_RUN_CHUNKS {
                    done.recorded_chunks += lengths.len();
                    done.found.push(MirrorRun {
                        xorb: term.hash.clone(),
                        first_chunk: term.range.start as u32,
                        mirror: repo.record.id,
                        sha256: sha256.to_hex(),
                        file_offset,
                        chunk_lengths: lengths,
                    });
                }
            }
            if sink.written < end {
                return Err(broken("its plan ends before the block does"));
            }
        }
        Ok(())
    }

    /// The upstream's CAS URL and a read token for it, asked with the repo's upstream token.
    async fn upstream_cas_token(&self, repo: &MirrorRepo, commit: &ObjectId) -> Result<XetTokenView> {
        let path = format!(
            "/api/{}/{}/xet-read-token/{commit}",
            repo.record.repo_type.plural(),
            repo.record.repo_id
        );
        let request =
            UpstreamRequest { method: UpstreamMethod::Get, path, body: None, token: repo.token.clone() };
        let upstream = self.upstream()?;
        let reply = upstream.call(request, MAX_TOKEN_BYTES).await.map_err(unreachable)?;
        self.hub.mirror_state.count_upstream_bytes(reply.body.len() as u64);
        if reply.status != 200 {
            return Err(broken(format!("the CAS token request answered {}", reply.status)));
        }
        serde_json::from_slice(&reply.body).map_err(|e| broken(format!("unreadable CAS token: {e}")))
    }

    /// Pushes one term's chunks, part by part: from a held file that contains them, else
    /// from the upstream's xorb range that does. Returns the chunks' lengths.
    async fn copy_term(
        &self,
        job: &TermJob<'_>,
        block: &mut Block,
        sink: &mut Sink<'_>,
        done: &mut XetFetch,
    ) -> Result<Vec<u32>> {
        let (first, end) = (job.term.range.start, job.term.range.end);
        let mut lengths = Vec::new();
        let mut at = first;
        while at < end {
            if let Some(next) = self.copy_held(job, at, block, sink, &mut lengths, done).await? {
                at = next;
                continue;
            }
            let entry = job
                .fetch_info
                .get(&job.term.hash)
                .and_then(|entries| entries.iter().find(|f| f.range.start <= at && at < f.range.end))
                .ok_or_else(|| broken("no fetch entry covers a term"))?;
            let stop = end.min(entry.range.end);
            self.copy_fetched(entry, at..stop, block, sink, &mut lengths, job.path).await?;
            at = stop;
        }
        let unpacked: u64 = lengths.iter().map(|&n| u64::from(n)).sum();
        if unpacked != job.term.unpacked_length {
            return Err(broken("a term's chunks do not add up to its length"));
        }
        Ok(lengths)
    }

    /// Pushes chunks from `at` of the term from a held file that contains them (of this repo,
    /// or of one the upstream last said is public); the chunk after them, or `None` if no
    /// such file has chunk `at`.
    async fn copy_held(
        &self,
        job: &TermJob<'_>,
        at: u64,
        block: &mut Block,
        sink: &mut Sink<'_>,
        lengths: &mut Vec<u32>,
        done: &mut XetFetch,
    ) -> Result<Option<u64>> {
        let (at, end) = (at as u32, job.term.range.end as u32);
        for held in self.meta.mirror_runs(&job.term.hash, at, at + 1, RUNS_PER_LOOKUP).await? {
            if held.mirror != job.repo.record.id && !self.last_seen_public(held.mirror).await? {
                continue;
            }
            let stop = end.min(held.end_chunk());
            let skip = (at - held.first_chunk) as usize;
            let Some(part) = held.chunk_lengths.get(skip..skip + (stop - at) as usize) else { continue };
            let before: u64 = held.chunk_lengths[..skip].iter().map(|&n| u64::from(n)).sum();
            let len: u64 = part.iter().map(|&n| u64::from(n)).sum();
            let Ok(oid) = Sha256::from_hex(&held.sha256) else { continue };
            let Some(record) = self.meta.xet_file_by_sha256(&oid).await? else { continue };
            let Some(read) = self.hub.files().mirror_held_read(held.mirror, &oid, record.size).await? else {
                continue;
            };
            let offset = held.file_offset + before;
            if offset.checked_add(len).is_none_or(|last| last > record.size) {
                continue;
            }
            done.used.push(held.clone());
            let mut bytes = self.hub.files().read_object(&read, offset, len).await?;
            let mut got = 0u64;
            while let Some(piece) = bytes.next().await {
                let piece =
                    piece.map_err(|e| CoreError::Corrupt(format!("reading a held mirror file: {e}")))?;
                got += piece.len() as u64;
                block.take(piece, sink, job.path).await?;
            }
            if got != len {
                return Err(CoreError::Corrupt("a held mirror file ended early".to_owned()));
            }
            self.hub.mirror_state.count_reused_bytes(len);
            lengths.extend_from_slice(part);
            return Ok(Some(u64::from(stop)));
        }
        Ok(None)
    }

    /// Pushes chunks `chunks` from the xorb range `entry` names, decoded as they arrive.
    async fn copy_fetched(
        &self,
        entry: &FetchInfoView,
        chunks: std::ops::Range<u64>,
        block: &mut Block,
        sink: &mut Sink<'_>,
        lengths: &mut Vec<u32>,
        path: &str,
    ) -> Result<()> {
        let (start, stop) = (entry.url_range.start, entry.url_range.end);
        let expected = stop.checked_sub(start).map(|n| n + 1).unwrap_or(0);
        if expected == 0 || expected > MAX_SERIALIZED_XORB_BYTES as u64 {
            return Err(broken("a fetch range is out of bounds"));
        }
        let mut answer = self.upstream()?.open_url(&entry.url, start, stop).await.map_err(unreachable)?;
        let starts_right = answer
            .header("content-range")
            .and_then(|v| v.strip_prefix("bytes "))
            .and_then(|v| v.split('-').next())
            .is_some_and(|first| first.trim() == start.to_string());
        let whole_from_zero = answer.status == 200 && start == 0;
        if !(answer.status == 206 && starts_right || whole_from_zero) {
            return Err(broken(format!("a xorb range answered {}", answer.status)));
        }
        let (mut decoder, mut index, mut received) = (RecordDecoder::new(), entry.range.start, 0u64);
        while let Some(piece) = answer.body.next().await {
            let piece = piece.map_err(|e| broken(format!("a xorb range broke off: {e}")))?;
            received += piece.len() as u64;
            self.hub.mirror_state.count_upstream_bytes(piece.len() as u64);
            if received > expected {
                return Err(broken("a xorb range is longer than asked"));
            }
            for chunk in decoder.push(&piece).map_err(|e| broken(e.to_string()))? {
                if index >= chunks.start {
                    lengths.push(chunk.len() as u32);
                    block.take(Bytes::from(chunk), sink, path).await?;
                }
                index += 1;
                if index >= chunks.end {
                    return Ok(());
                }
            }
        }
        Err(broken("a xorb range ended before the term's last chunk"))
    }
}

/// The terms, each checked to be within the protocol's bounds.
fn checked(terms: Vec<TermView>) -> Result<Vec<TermView>> {
    for term in &terms {
        let (first, end) = (term.range.start, term.range.end);
        if MerkleHash::from_hex(&term.hash).is_err()
            || first >= end
            || end - first > MAX_XORB_CHUNKS as u64
            || end > u64::from(u32::MAX)
            || term.unpacked_length == 0
            || term.unpacked_length > MAX_XORB_BYTES
        {
            return Err(broken("a term is out of bounds"));
        }
    }
    Ok(terms)
}

/// The terms with neighbours in the same xorb joined (chunks `a..b` then `b..c` become
/// `a..c`), so one fetch entry covering both is read once. The terms are `checked`.
fn merged(terms: Vec<TermView>) -> Vec<TermView> {
    let mut out: Vec<TermView> = Vec::with_capacity(terms.len());
    for term in terms {
        match out.last_mut() {
            Some(last)
                if last.hash == term.hash
                    && last.range.end == term.range.start
                    && term.range.end - last.range.start <= MAX_XORB_CHUNKS as u64
                    && last.unpacked_length + term.unpacked_length <= MAX_XORB_BYTES =>
            {
                last.range.end = term.range.end;
                last.unpacked_length += term.unpacked_length;
            }
            _ => out.push(term),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::RangeView;

    fn term(hash: &str, start: u64, end: u64, len: u64) -> TermView {
        TermView { hash: hash.repeat(64), range: RangeView { start, end }, unpacked_length: len }
    }

    #[test]
    fn neighbouring_terms_of_one_xorb_merge_and_others_do_not() {
        let terms = vec![
            term("a", 0, 3, 30),
            term("a", 3, 5, 20),
            term("b", 5, 6, 1),
            term("a", 5, 7, 2),
            term("a", 9, 10, 4),
        ];
        let out = merged(terms);
        let ranges: Vec<_> = out.iter().map(|t| (t.hash.as_bytes()[0], t.range.start, t.range.end)).collect();
        assert_eq!(ranges, vec![(b'a', 0, 5), (b'b', 5, 6), (b'a', 5, 7), (b'a', 9, 10)]);
        assert_eq!(out[0].unpacked_length, 50);
    }

    #[test]
    fn terms_out_of_the_protocols_bounds_are_refused_before_any_merge() {
        assert!(checked(vec![term("a", 0, 3, 30), term("b", 7, 8, 1)]).is_ok());
        for bad in [
            term("a", 3, 3, 1),
            term("a", 4, 3, 1),
            term("a", 0, 8_193, 1),
            term("a", 0, 1, 0),
            term("a", 0, 1, (64 << 20) + 1),
            term("a", u64::MAX - 1, u64::MAX, 1),
            TermView { hash: "not hex".into(), range: RangeView { start: 0, end: 1 }, unpacked_length: 1 },
        ] {
            assert!(checked(vec![bad.clone()]).is_err(), "{bad:?}");
        }
        let halves = merged(vec![term("a", 0, 4_096, 40 << 20), term("a", 4_096, 8_192, 40 << 20)]);
        assert_eq!(halves.len(), 2, "a merge never makes a term larger than a xorb");
    }
}
