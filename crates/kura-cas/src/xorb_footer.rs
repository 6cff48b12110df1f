//! The xorb footer ("XorbObjectInfo" V1, and legacy V0 for reading) that follows the records.

use crate::cursor::Cursor;
use crate::error::CasError;
use crate::hash::MerkleHash;
use crate::xorb::{MAX_XORB_CHUNKS, XorbChunk, XorbInfo};

const IDENT: &[u8; 7] = b"XETBLOB";
const IDENT_HASHES: &[u8; 7] = b"XBLBHSH";
const IDENT_BOUNDARIES: &[u8; 7] = b"XBLBBND";
const HASHES_VERSION: u8 = 0;
const BOUNDARIES_VERSION: u8 = 1;
const BUFFER_LEN: usize = 16;
/// First byte of every footer; chunk records start with version byte 0 instead.
pub(crate) const FOOTER_MAGIC_FIRST_BYTE: u8 = IDENT[0];

/// A parsed footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XorbFooter {
    /// Footer version: 1, or 0 for the legacy layout.
    pub version: u8,
    /// Xorb hash the footer claims.
    pub hash: MerkleHash,
    /// Chunk hashes, in order.
    pub chunk_hashes: Vec<MerkleHash>,
    /// Physical end offset of each record (header included), from the start of the xorb.
    pub record_ends: Vec<u32>,
    /// Cumulative uncompressed end offset of each chunk (empty in V0).
    pub uncompressed_ends: Vec<u32>,
    /// The 4-byte uniqueness nonce (V1), excluded from the xorb hash.
    pub nonce: [u8; 4],
}

impl XorbFooter {
    /// Checks the footer against chunks decoded from the records.
    pub(crate) fn check_against(&self, hash: &MerkleHash, chunks: &[XorbChunk]) -> Result<(), CasError> {
        if &self.hash != hash {
            return Err(CasError::HashMismatch { what: "xorb footer", claimed: self.hash, computed: *hash });
        }
        let malformed = |reason: &str| Err(CasError::malformed("xorb footer", reason));
        if self.chunk_hashes.len() != chunks.len() {
            return malformed("chunk count differs from the records");
        }
        for (claimed, chunk) in self.chunk_hashes.iter().zip(chunks) {
            if claimed != &chunk.hash {
                return Err(CasError::HashMismatch {
                    what: "footer chunk",
                    claimed: *claimed,
                    computed: chunk.hash,
                });
            }
        }
        if self.version >= 1 {
            let ends_match =
                self.record_ends.iter().zip(chunks).all(|(end, chunk)| u64::from(*end) == chunk.record_end);
            let unpacked_match = self.uncompressed_ends.iter().zip(chunks).all(|(end, chunk)| {
                u64::from(*end) == chunk.uncompressed_start + u64::from(chunk.uncompressed_len)
            });
            if !ends_match || !unpacked_match {
                return malformed("boundary offsets differ from the records");
            }
        }
        Ok(())
    }
}

/// Serializes a V1 footer for `info`, including the trailing `info_length`.
pub fn encode_footer(info: &XorbInfo, nonce: [u8; 4]) -> Vec<u8> {
    let count = info.chunks.len() as u32;
    let boundary_from_end = 12 + 8 * count + 12 + BUFFER_LEN as u32;
    let hashes_from_end = 12 + 32 * count + boundary_from_end;
    let mut out = Vec::with_capacity(hashes_from_end as usize + 48);
    out.extend_from_slice(IDENT);
    out.push(1);
    out.extend_from_slice(info.hash.as_bytes());
    out.extend_from_slice(IDENT_HASHES);
    out.push(HASHES_VERSION);
    out.extend_from_slice(&count.to_le_bytes());
    for chunk in &info.chunks {
        out.extend_from_slice(chunk.hash.as_bytes());
    }
    out.extend_from_slice(IDENT_BOUNDARIES);
    out.push(BOUNDARIES_VERSION);
    out.extend_from_slice(&count.to_le_bytes());
    for chunk in &info.chunks {
        out.extend_from_slice(&(chunk.record_end as u32).to_le_bytes());
    }
    for chunk in &info.chunks {
        let end = chunk.uncompressed_start + u64::from(chunk.uncompressed_len);
        out.extend_from_slice(&(end as u32).to_le_bytes());
    }
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&hashes_from_end.to_le_bytes());
    out.extend_from_slice(&boundary_from_end.to_le_bytes());
    let mut buffer = [0u8; BUFFER_LEN];
    buffer[..4].copy_from_slice(&nonce);
    out.extend_from_slice(&buffer);
    let info_length = out.len() as u32;
    out.extend_from_slice(&info_length.to_le_bytes());
    out
}

fn read_count(cursor: &mut Cursor<'_>) -> Result<usize, CasError> {
    let count = cursor.u32()? as usize;
    if count > MAX_XORB_CHUNKS {
        return Err(CasError::LimitExceeded {
            what: "footer chunk count",
            value: count as u64,
            limit: MAX_XORB_CHUNKS as u64,
        });
    }
    Ok(count)
}

fn read_u32s(cursor: &mut Cursor<'_>, count: usize) -> Result<Vec<u32>, CasError> {
    (0..count).map(|_| cursor.u32()).collect()
}

fn read_hashes(cursor: &mut Cursor<'_>, count: usize) -> Result<Vec<MerkleHash>, CasError> {
    (0..count).map(|_| cursor.hash()).collect()
}

fn expect_ident(cursor: &mut Cursor<'_>, ident: &[u8; 7]) -> Result<(), CasError> {
    if cursor.take(7)? != ident {
        return Err(CasError::malformed(
            "xorb footer",
            format!("missing {:?} section", String::from_utf8_lossy(ident)),
        ));
    }
    Ok(())
}

/// Parses a footer that spans all of `bytes` (from `"XETBLOB"` through `info_length`).
pub fn parse_footer(bytes: &[u8]) -> Result<XorbFooter, CasError> {
    let mut cursor = Cursor::new(bytes, "xorb footer");
    expect_ident(&mut cursor, IDENT)?;
    let version = cursor.u8()?;
    let hash = cursor.hash()?;
    let footer = match version {
        0 => {
            let count = read_count(&mut cursor)?;
            let record_ends = read_u32s(&mut cursor, count)?;
            let chunk_hashes = read_hashes(&mut cursor, count)?;
            cursor.take(BUFFER_LEN)?;
            XorbFooter {
                version,
                hash,
                chunk_hashes,
                record_ends,
                uncompressed_ends: Vec::new(),
                nonce: [0; 4],
            }
        }
        1 => {
            expect_ident(&mut cursor, IDENT_HASHES)?;
            if cursor.u8()? != HASHES_VERSION {
                return Err(CasError::malformed("xorb footer", "unknown hashes section version"));
            }
            let count = read_count(&mut cursor)?;
            let chunk_hashes = read_hashes(&mut cursor, count)?;
            expect_ident(&mut cursor, IDENT_BOUNDARIES)?;
            if cursor.u8()? != BOUNDARIES_VERSION {
                return Err(CasError::malformed("xorb footer", "unknown boundaries section version"));
            }
            if read_count(&mut cursor)? != count {
                return Err(CasError::malformed("xorb footer", "sections disagree on the chunk count"));
            }
            let record_ends = read_u32s(&mut cursor, count)?;
            let uncompressed_ends = read_u32s(&mut cursor, count)?;
            if read_count(&mut cursor)? != count {
                return Err(CasError::malformed("xorb footer", "trailer disagrees on the chunk count"));
            }
            let _hashes_from_end = cursor.u32()?;
            let _boundaries_from_end = cursor.u32()?;
            let buffer: [u8; BUFFER_LEN] = cursor.array()?;
            let nonce = [buffer[0], buffer[1], buffer[2], buffer[3]];
            XorbFooter { version, hash, chunk_hashes, record_ends, uncompressed_ends, nonce }
        }
        other => return Err(CasError::malformed("xorb footer", format!("unsupported version {other}"))),
    };
    let info_length = cursor.u32()? as usize;
    if info_length + 4 != bytes.len() || cursor.remaining() != 0 {
        return Err(CasError::malformed("xorb footer", "info_length does not match the footer size"));
    }
    Ok(footer)
}
