//! Incremental xorb validation: feed an upload body piece by piece with bounded memory.

use crate::error::CasError;
use crate::hash::{MerkleHash, chunk_hash};
use crate::merkle::xorb_hash;
use crate::xorb::{
    CHUNK_HEADER_LEN, ChunkHeader, MAX_SERIALIZED_XORB_BYTES, MAX_XORB_BYTES, MAX_XORB_CHUNKS, XorbChunk,
    XorbInfo,
};
use crate::xorb_footer::{FOOTER_MAGIC_FIRST_BYTE, parse_footer};

/// Largest footer: the V1 layout for `MAX_XORB_CHUNKS` chunks plus `info_length`.
const MAX_FOOTER_LEN: usize = 92 + 40 * MAX_XORB_CHUNKS + 4;

/// Validates a serialized xorb as it arrives.
///
/// Only an incomplete record (at most 8 bytes + 256 KiB) or the footer is buffered; every
/// complete record is decoded and hashed at once, so limit and format errors surface as
/// early as possible. [`XorbValidator::finish`] computes the xorb hash and checks the
/// footer, if the body carried one.
#[derive(Debug, Default)]
pub struct XorbValidator {
    /// Bytes of an incomplete record.
    pending: Vec<u8>,
    /// Footer bytes, once the records have ended.
    footer: Option<Vec<u8>>,
    /// Bytes of complete records so far.
    records_len: u64,
    chunks: Vec<XorbChunk>,
    uncompressed_len: u64,
}

impl XorbValidator {
    /// A validator at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes accepted so far.
    pub fn received(&self) -> u64 {
        self.records_len + self.pending.len() as u64 + self.footer.as_ref().map_or(0, |f| f.len() as u64)
    }

    /// Where the footer begins in the body, once it has: every byte before it is a record.
    pub fn footer_start(&self) -> Option<u64> {
        self.footer.as_ref().map(|_| self.records_len)
    }

    /// Feeds the next piece of the body.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), CasError> {
        let total = self.received() + data.len() as u64;
        if total > MAX_SERIALIZED_XORB_BYTES as u64 {
            return Err(CasError::LimitExceeded {
                what: "serialized xorb length",
                value: total,
                limit: MAX_SERIALIZED_XORB_BYTES as u64,
            });
        }
        if !self.pending.is_empty() {
            data = self.fill_pending(data)?;
        }
        while !data.is_empty() {
            if let Some(footer) = &mut self.footer {
                if footer.len() + data.len() > MAX_FOOTER_LEN {
                    return Err(CasError::malformed("xorb footer", "longer than any valid footer"));
                }
                footer.extend_from_slice(data);
                return Ok(());
            }
            if data[0] == FOOTER_MAGIC_FIRST_BYTE {
                self.footer = Some(Vec::new());
                continue;
            }
            let Some(record_len) = self.record_len(data)? else {
                self.pending.extend_from_slice(data);
                return Ok(());
            };
            if data.len() < record_len {
                self.pending.extend_from_slice(data);
                return Ok(());
            }
            let (record, rest) = data.split_at(record_len);
            self.accept_record(record)?;
            data = rest;
        }
        Ok(())
    }

    /// Full length of the record starting at `data`, once its header is available.
    fn record_len(&self, data: &[u8]) -> Result<Option<usize>, CasError> {
        let Some(header) = data.get(..CHUNK_HEADER_LEN) else { return Ok(None) };
        let mut bytes = [0u8; CHUNK_HEADER_LEN];
        bytes.copy_from_slice(header);
        let header = ChunkHeader::parse(bytes, self.records_len as usize)?;
        Ok(Some(CHUNK_HEADER_LEN + header.compressed_len as usize))
    }

    /// Completes the pending record from `data`; returns what is left of `data`.
    fn fill_pending<'a>(&mut self, mut data: &'a [u8]) -> Result<&'a [u8], CasError> {
        if self.pending.len() < CHUNK_HEADER_LEN {
            let take = (CHUNK_HEADER_LEN - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        let Some(record_len) = self.record_len(&self.pending)? else { return Ok(data) };
        let take = (record_len - self.pending.len()).min(data.len());
        self.pending.extend_from_slice(&data[..take]);
        if self.pending.len() == record_len {
            let record = std::mem::take(&mut self.pending);
            self.accept_record(&record)?;
        }
        Ok(&data[take..])
    }

    /// Decodes and hashes one complete record.
    fn accept_record(&mut self, record: &[u8]) -> Result<(), CasError> {
        let index = self.chunks.len();
        if index >= MAX_XORB_CHUNKS {
            return Err(CasError::LimitExceeded {
                what: "xorb chunk count",
                value: index as u64 + 1,
                limit: MAX_XORB_CHUNKS as u64,
            });
        }
        let mut header_bytes = [0u8; CHUNK_HEADER_LEN];
        header_bytes.copy_from_slice(&record[..CHUNK_HEADER_LEN]);
        let header = ChunkHeader::parse(header_bytes, self.records_len as usize)?;
        if header.uncompressed_len == 0 {
            return Err(CasError::malformed("xorb", format!("chunk {index} is empty")));
        }
        let data = crate::compression::decompress_chunk(
            &record[CHUNK_HEADER_LEN..],
            header.scheme,
            header.uncompressed_len as usize,
            index,
        )?;
        let record_start = self.records_len;
        self.records_len += record.len() as u64;
        self.chunks.push(XorbChunk {
            hash: chunk_hash(&data),
            uncompressed_len: header.uncompressed_len,
            uncompressed_start: self.uncompressed_len,
            record_start,
            record_end: self.records_len,
        });
        self.uncompressed_len += u64::from(header.uncompressed_len);
        if self.uncompressed_len > MAX_XORB_BYTES {
            return Err(CasError::LimitExceeded {
                what: "xorb uncompressed length",
                value: self.uncompressed_len,
                limit: MAX_XORB_BYTES,
            });
        }
        Ok(())
    }

    /// Ends the body: checks nothing is left half-read, computes the xorb hash and checks
    /// the footer against the records.
    pub fn finish(self) -> Result<XorbInfo, CasError> {
        if !self.pending.is_empty() {
            return Err(CasError::truncated(
                "chunk record",
                self.records_len as usize,
                self.record_len(&self.pending)?.unwrap_or(CHUNK_HEADER_LEN),
                self.pending.len(),
            ));
        }
        if self.chunks.is_empty() {
            return Err(CasError::malformed("xorb", "no chunks"));
        }
        let info = XorbInfo {
            hash: MerkleHash::ZERO,
            chunks: self.chunks,
            records_len: self.records_len,
            footer: None,
        };
        let hash = xorb_hash(&info.merkle_nodes());
        let footer = match self.footer {
            Some(bytes) => {
                let footer = parse_footer(&bytes)?;
                footer.check_against(&hash, &info.chunks)?;
                Some(footer)
            }
            None => None,
        };
        Ok(XorbInfo { hash, footer, ..info })
    }

    /// [`XorbValidator::finish`], then checks the hash against the one the upload claims.
    pub fn finish_expecting(self, claimed: &MerkleHash) -> Result<XorbInfo, CasError> {
        let info = self.finish()?;
        if &info.hash != claimed {
            return Err(CasError::HashMismatch { what: "xorb", claimed: *claimed, computed: info.hash });
        }
        Ok(info)
    }
}
