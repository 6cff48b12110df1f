//! Whole-file uploads (Git LFS today; git push and the mirror later) converted on the server
//! into Xet chunks and xorbs, so every protocol shares one deduplicated store. Chunks already
//! known through the global dedup index are referenced, not stored again. Nothing is indexed
//! before the body's SHA-256 and size are verified; on a mismatch the new xorbs are deleted a
//! day later, unless another conversion of the same bytes indexed them meanwhile.

use std::collections::HashMap;

use bytes::Bytes;
use kura_cas::{MerkleHash, MerkleNode, XorbInfo, XorbWriter, file_hash, is_global_dedup_eligible};
use kura_model::Sha256;
use kura_storage::XetFileRecord;

use crate::ByteStream;
use crate::content::mismatch;
use crate::error::{CoreError, Result};
use crate::ingest_hash::BodyHashing;
use crate::services::Xet;
use crate::xet::{Term, encode_terms};

/// Size of the xorbs this conversion writes: half the protocol's 64 MiB, since one xorb fills
/// while the previous one is written, and both are in memory.
const INGEST_XORB_BYTES: u64 = 32 << 20;

/// Capacity of a xorb's records buffer: the raw bytes plus one 8-byte header per chunk (at
/// least ~8 KiB each; room for 4 KiB ones), so it never grows while filling.
const XORB_BUFFER_BYTES: usize = INGEST_XORB_BYTES as usize + (INGEST_XORB_BYTES as usize / 4096 + 1) * 8;

/// Where a term's chunks live: a stored xorb, or the n-th xorb this upload writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Stored(MerkleHash),
    New(usize),
}

#[derive(Debug)]
struct PendingTerm {
    source: Source,
    start: u32,
    end: u32,
    unpacked: u64,
}

/// State of one upload being converted.
struct Conversion<'a> {
    hub: Xet<'a>,
    nodes: Vec<MerkleNode>,
    terms: Vec<PendingTerm>,
    writer: XorbWriter,
    /// Xorbs written by this upload (blobs stored, not yet indexed).
    written: Vec<XorbInfo>,
    /// Chunks of stored xorbs met through the dedup index.
    known: HashMap<MerkleHash, (MerkleHash, u32)>,
    loaded: Vec<MerkleHash>,
    /// The xorb write in flight, and its records (to reuse their buffer once written).
    storing: Option<(tokio::task::JoinHandle<Result<()>>, Bytes)>,
    /// A records buffer whose xorb is written, for the next xorb: two buffers take turns, so
    /// an upload does not fault in (and the allocator unmap) a fresh 32 MiB buffer per xorb.
    spare: Option<Vec<u8>>,
}

impl Conversion<'_> {
    async fn add_chunk(&mut self, parts: &[Bytes], len: usize, hash: MerkleHash) -> Result<()> {
        let first = self.nodes.is_empty();
        self.nodes.push(MerkleNode::new(hash, len as u64));
        if is_global_dedup_eligible(&hash, first) && !self.known.contains_key(&hash) {
            self.load_known(&hash).await?;
        }
        let (source, index) = match self.known.get(&hash) {
            Some(&(xorb, index)) => (Source::Stored(xorb), index),
            None => {
                if !self.writer.has_room_for(len)
                    || self.writer.uncompressed_len() + len as u64 > INGEST_XORB_BYTES
                {
                    self.flush().await?;
                }
                let index = self.writer.chunk_count() as u32;
                self.writer
                    .add_uncompressed_parts(parts, hash)
                    .map_err(|e| CoreError::Corrupt(e.to_string()))?;
                (Source::New(self.written.len()), index)
            }
        };
        match self.terms.last_mut() {
            Some(term) if term.source == source && term.end == index => {
                term.end += 1;
                term.unpacked += len as u64;
            }
            _ => self.terms.push(PendingTerm { source, start: index, end: index + 1, unpacked: len as u64 }),
        }
        Ok(())
    }

    async fn load_known(&mut self, chunk: &MerkleHash) -> Result<()> {
        for xorb in self.hub.dedup_xorbs(chunk, None).await? {
            if self.loaded.contains(&xorb) {
                continue;
            }
            let table = self.hub.chunk_table(&xorb).await?;
            for (index, stored) in table.iter().enumerate() {
                self.known.entry(stored.hash).or_insert((xorb, index as u32));
            }
            self.loaded.push(xorb);
        }
        Ok(())
    }

    /// Starts writing the open xorb's blobs (not its index rows) in the background; at most
    /// one xorb is being written while the next one fills, so memory stays at two xorbs.
    async fn flush(&mut self) -> Result<()> {
        if self.writer.chunk_count() == 0 {
            return Ok(());
        }
        self.wait_for_store().await?;
        let buffer = self.spare.take().unwrap_or_else(|| Vec::with_capacity(XORB_BUFFER_BYTES));
        let (records, info) = std::mem::replace(&mut self.writer, XorbWriter::with_buffer(buffer)).finish();
        let records = Bytes::from(records);
        self.storing = Some((tokio::spawn(self.hub.store_xorb_task(&info, records.clone())), records));
        self.written.push(info);
        Ok(())
    }

    /// Waits until the xorb being written (if any) is stored, and keeps its buffer.
    async fn wait_for_store(&mut self) -> Result<()> {
        let Some((task, records)) = self.storing.take() else {
            return Ok(());
        };
        let stored = task.await.map_err(|e| CoreError::Corrupt(format!("xorb write failed: {e}")))?;
        // The store dropped its handle on the bytes, so this is their only owner again.
        self.spare = records.try_into_mut().ok().map(Vec::from);
        stored
    }
}

impl Xet<'_> {
    /// Converts a verified whole-file upload into Xet storage and records it as a large object.
    pub(crate) async fn ingest_as_xet(&self, oid: Sha256, size: u64, body: ByteStream) -> Result<()> {
        // Skipping the conversion is safe only because every recorded SHA-256 was computed by
        // kura: the body is still hashed, so the uploader proves it has these bytes.
        if self.hub.files().stored_object(&oid).await?.is_some() {
            return self.content.drain_verified(oid, size, body).await;
        }
        let mut conversion = Conversion {
            hub: *self,
            nodes: Vec::new(),
            terms: Vec::new(),
            writer: XorbWriter::with_buffer(Vec::with_capacity(XORB_BUFFER_BYTES)),
            written: Vec::new(),
            known: HashMap::new(),
            loaded: Vec::new(),
            storing: None,
            spare: None,
        };
        let mut hashing = BodyHashing::start(body, size);
        let outcome: Result<()> = async {
            while let Some(chunks) = hashing.next_chunks().await {
                for chunk in chunks {
                    conversion.add_chunk(&chunk.parts, chunk.len, chunk.hash).await?;
                }
            }
            let digest = hashing.finish().await?;
            if digest.len != size || Sha256(digest.sha256) != oid {
                return Err(mismatch(&oid, size, digest.len));
            }
            conversion.flush().await?;
            conversion.wait_for_store().await
        }
        .await;
        if let Err(error) = outcome {
            conversion.wait_for_store().await.ok();
            for info in &conversion.written {
                self.discard_later(&info.hash).await;
            }
            return Err(error);
        }
        self.commit_conversion(oid, size, conversion).await
    }

    async fn commit_conversion(&self, oid: Sha256, size: u64, conversion: Conversion<'_>) -> Result<()> {
        for info in &conversion.written {
            self.index_xorb(info).await?;
        }
        let terms: Vec<Term> = conversion
            .terms
            .iter()
            .map(|t| Term {
                xorb: match t.source {
                    Source::Stored(hash) => hash,
                    Source::New(n) => conversion.written[n].hash,
                },
                start: t.start,
                end: t.end,
                unpacked: t.unpacked,
            })
            .collect();
        let file = file_hash(&conversion.nodes);

        let record =
            XetFileRecord { file_hash: file.to_hex(), sha256: oid, size, terms: encode_terms(&terms) };
        let now = self.now_millis();
        self.meta.record_xet_file(&record, now).await?;
        self.meta.record_lfs_object(&oid, size, now).await?;
        self.index_file_for_dedup(&record).await?;
        Ok(())
    }
}
