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
/// Largest CAS token answer read.
const MAX_TOKEN_BYTES: usize = 64 << 10;
/// Held runs tried for one term before it is fetched.
const RUNS_PER_TERM: u32 = 4;

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

impl Mirror<'_> {
    /// Whether `file` may be fetched through the upstream's Xet reconstruction.
    pub(crate) fn xet_eligible(&self, _repo: &MirrorRepo, file: &MirrorFile) -> bool {
        let plain = self.hub.mirror_state.plain_only.lock().unwrap_or_else(|e| e.into_inner());
        self.settings().is_some_and(|s| s.xet)
            && file.sha256.is_some()
            && file.xet_hash.as_deref().is_some_and(|h| MerkleHash::from_hex(h).is_ok())
            && !plain.contains(&object_key(file))
    }

    /// Pushes the file from `sink.written` to its end into the sink; returns the runs of
    /// upstream chunks it passed (to record once the file is verified).
    pub(crate) async fn copy_through_xet(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        file: &MirrorFile,
        sink: &mut Sink<'_>,
    ) -> Result<Vec<MirrorRun>> {
        let (Some(sha256), Some(xet_hash)) = (&file.sha256, file.xet_hash.as_deref()) else {
            return Err(broken("the file has no Xet hash"));
        };
        let token = self.upstream_cas_token(repo, commit).await?;
        let upstream = self.upstream()?;
        let url = format!("{}/v1/reconstructions/{xet_hash}", token.cas_url.trim_end_matches('/'));
        let mut runs = Vec::new();
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
            let pos = start.checked_sub(plan.offset_into_first_range).ok_or_else(|| broken("bad offset"))?;
            let mut block = Block { pos, end };
            for term in merged(plan.terms) {
                if block.pos >= end {
                    break;
                }
                let mut run = MirrorRun {
                    xorb: term.hash.clone(),
                    first_chunk: 0,
                    mirror: repo.record.id,
                    sha256: sha256.to_hex(),
                    file_offset: block.pos,
                    chunk_lengths: Vec::new(),
                };
                self.copy_term(&plan.fetch_info, &term, &mut run, &mut block, sink, &file.path).await?;
                runs.push(run);
            }
            if sink.written < end {
                return Err(broken("its plan ends before the block does"));
            }
        }
        Ok(runs)
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

    /// Pushes one term's chunks, from a held file when one contains them, else from the
    /// upstream's xorb range.
    async fn copy_term(
        &self,
        fetch_info: &BTreeMap<String, Vec<FetchInfoView>>,
        term: &TermView,
        run: &mut MirrorRun,
        block: &mut Block,
        sink: &mut Sink<'_>,
        path: &str,
    ) -> Result<()> {
        let (first, end) = (term.range.start, term.range.end);
        if MerkleHash::from_hex(&term.hash).is_err()
            || first >= end
            || end - first > MAX_XORB_CHUNKS as u64
            || end > u64::from(u32::MAX)
            || term.unpacked_length > MAX_XORB_BYTES
        {
            return Err(broken("a term is out of bounds"));
        }
        run.first_chunk = first as u32;
        if !self.copy_term_held(term, run, block, sink, path).await? {
            let entry = fetch_info
                .get(&term.hash)
                .and_then(|entries| entries.iter().find(|f| f.range.start <= first && end <= f.range.end))
                .ok_or_else(|| broken("no fetch entry covers a term"))?;
            self.copy_term_fetched(entry, term, run, block, sink, path).await?;
        }
        let unpacked: u64 = run.chunk_lengths.iter().map(|&n| u64::from(n)).sum();
        if unpacked != term.unpacked_length {
            return Err(broken("a term's chunks do not add up to its length"));
        }
        Ok(())
    }

    /// Pushes the term's chunks from a held file that contains them; `false` if none does.
    async fn copy_term_held(
        &self,
        term: &TermView,
        run: &mut MirrorRun,
        block: &mut Block,
        sink: &mut Sink<'_>,
        path: &str,
    ) -> Result<bool> {
        let (first, end) = (term.range.start as u32, term.range.end as u32);
        for held in self.meta.mirror_runs(&term.hash, first, end, RUNS_PER_TERM).await? {
            let skip = first.saturating_sub(held.first_chunk) as usize;
            let Some(lengths) = held.chunk_lengths.get(skip..skip + (end - first) as usize) else { continue };
            let before: u64 = held.chunk_lengths[..skip].iter().map(|&n| u64::from(n)).sum();
            let len: u64 = lengths.iter().map(|&n| u64::from(n)).sum();
            let Ok(oid) = Sha256::from_hex(&held.sha256) else { continue };
            let Some(record) = self.meta.xet_file_by_sha256(&oid).await? else { continue };
            let Some(read) = self.hub.files().mirror_held_read(held.mirror, &oid, record.size).await? else {
                continue;
            };
            let offset = held.file_offset + before;
            if offset.checked_add(len).is_none_or(|stop| stop > record.size) {
                continue;
            }
            let mut bytes = self.hub.files().read_object(&read, offset, len).await?;
            let mut got = 0u64;
            while let Some(piece) = bytes.next().await {
                let piece =
                    piece.map_err(|e| CoreError::Corrupt(format!("reading a held mirror file: {e}")))?;
                got += piece.len() as u64;
                block.take(piece, sink, path).await?;
            }
            if got != len {
                return Err(CoreError::Corrupt("a held mirror file ended early".to_owned()));
            }
            self.hub.mirror_state.count_reused_bytes(len);
            run.chunk_lengths = lengths.to_vec();
            return Ok(true);
        }
        Ok(false)
    }

    /// Pushes the term's chunks from the xorb range `entry` names, decoded as they arrive.
    async fn copy_term_fetched(
        &self,
        entry: &FetchInfoView,
        term: &TermView,
        run: &mut MirrorRun,
        block: &mut Block,
        sink: &mut Sink<'_>,
        path: &str,
    ) -> Result<()> {
        let (start, stop) = (entry.url_range.start, entry.url_range.end);
        let expected = stop.checked_sub(start).map(|n| n + 1).unwrap_or(0);
        if expected == 0 || expected > MAX_SERIALIZED_XORB_BYTES as u64 {
            return Err(broken("a fetch range is out of bounds"));
        }
        let mut answer = self.upstream()?.open_url(&entry.url, start, stop).await.map_err(unreachable)?;
        if answer.status != 206 && !(answer.status == 200 && start == 0) {
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
                if index >= term.range.start {
                    run.chunk_lengths.push(chunk.len() as u32);
                    block.take(Bytes::from(chunk), sink, path).await?;
                }
                index += 1;
                if index >= term.range.end {
                    return Ok(());
                }
            }
        }
        Err(broken("a xorb range ended before the term's last chunk"))
    }
}

/// The terms with neighbours in the same xorb joined (chunks `a..b` then `b..c` become
/// `a..c`), so one fetch serves them.
fn merged(terms: Vec<TermView>) -> Vec<TermView> {
    let mut out: Vec<TermView> = Vec::with_capacity(terms.len());
    for term in terms {
        match out.last_mut() {
            Some(last)
                if last.hash == term.hash
                    && last.range.end == term.range.start
                    && last.range.end - last.range.start + term.range.end - term.range.start
                        <= MAX_XORB_CHUNKS as u64 =>
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
}
