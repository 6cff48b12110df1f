//! Whole-file uploads (Git LFS today; git push and the mirror later) converted on the server
//! into Xet chunks and xorbs, so every protocol shares one deduplicated store. Chunks already
//! known through the global dedup index are referenced, not stored again. Nothing is indexed
//! before the body's SHA-256 and size are verified; on a mismatch the new xorbs are deleted.

use std::collections::HashMap;

use kura_cas::{
    CompressionScheme, MerkleHash, MerkleNode, XorbInfo, XorbWriter, file_hash, is_global_dedup_eligible,
};
use kura_model::Sha256;
use kura_storage::XetFileRecord;

use crate::clock::now_millis;
use crate::content::mismatch;
use crate::error::{CoreError, Result};
use crate::ingest_hash::BodyHashing;
use crate::xet::{Term, encode_terms};
use crate::{ByteStream, Hub};

/// Size of the xorbs this conversion writes: half the protocol's 64 MiB, since one xorb fills
/// while the previous one is written, and both are in memory.
const INGEST_XORB_BYTES: u64 = 32 << 20;

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
    hub: &'a Hub,
    nodes: Vec<MerkleNode>,
    terms: Vec<PendingTerm>,
    writer: XorbWriter,
    /// Xorbs written by this upload (blobs stored, not yet indexed).
    written: Vec<XorbInfo>,
    /// Chunks of stored xorbs met through the dedup index.
    known: HashMap<MerkleHash, (MerkleHash, u32)>,
    loaded: Vec<MerkleHash>,
    /// The xorb write in flight.
    storing: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl Conversion<'_> {
    async fn add_chunk(&mut self, data: &[u8], hash: MerkleHash) -> Result<()> {
        let first = self.nodes.is_empty();
        self.nodes.push(MerkleNode::new(hash, data.len() as u64));
        if is_global_dedup_eligible(&hash, first) && !self.known.contains_key(&hash) {
            self.load_known(&hash).await?;
        }
        let (source, index) = match self.known.get(&hash) {
            Some(&(xorb, index)) => (Source::Stored(xorb), index),
            None => {
                if !self.writer.has_room_for(data.len())
                    || self.writer.uncompressed_len() + data.len() as u64 > INGEST_XORB_BYTES
                {
                    self.flush().await?;
                }
                let index = self.writer.chunk_count() as u32;
                self.writer
                    .add_chunk(data, CompressionScheme::None)
                    .map_err(|e| CoreError::Corrupt(e.to_string()))?;
                (Source::New(self.written.len()), index)
            }
        };
        match self.terms.last_mut() {
            Some(term) if term.source == source && term.end == index => {
                term.end += 1;
                term.unpacked += data.len() as u64;
            }
            _ => self.terms.push(PendingTerm {
                source,
                start: index,
                end: index + 1,
                unpacked: data.len() as u64,
            }),
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
        let (records, info) = std::mem::take(&mut self.writer).finish();
        self.storing = Some(tokio::spawn(self.hub.store_xorb_task(&info, bytes::Bytes::from(records))));
        self.written.push(info);
        Ok(())
    }

    /// Waits until the xorb being written (if any) is stored.
    async fn wait_for_store(&mut self) -> Result<()> {
        match self.storing.take() {
            Some(task) => task.await.map_err(|e| CoreError::Corrupt(format!("xorb write failed: {e}")))?,
            None => Ok(()),
        }
    }
}

impl Hub {
    /// Converts a verified whole-file upload into Xet storage and records it as a large object.
    pub(crate) async fn ingest_as_xet(&self, oid: Sha256, size: u64, body: ByteStream) -> Result<()> {
        if self.content.size(&oid).await?.is_some() {
            return self.content.drain_verified(oid, size, body).await;
        }
        let mut conversion = Conversion {
            hub: self,
            nodes: Vec::new(),
            terms: Vec::new(),
            writer: XorbWriter::new(),
            written: Vec::new(),
            known: HashMap::new(),
            loaded: Vec::new(),
            storing: None,
        };
        let mut hashing = BodyHashing::start(body, size);
        let outcome: Result<()> = async {
            while let Some(chunks) = hashing.next_chunks().await {
                for chunk in chunks {
                    conversion.add_chunk(&chunk.data, chunk.hash).await?;
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
                self.discard_xorb_blobs(&info.hash).await;
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
        let now = now_millis();
        self.meta.record_xet_file(&record, now).await?;
        self.meta.record_lfs_object(&oid, size, now).await?;
        self.index_file_for_dedup(&record).await?;
        Ok(())
    }
}
