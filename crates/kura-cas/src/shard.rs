//! MDB shard format: types and parser for the header, file-info, CAS-info and footer.

use kura_model::Sha256;

use crate::cursor::Cursor;
use crate::error::CasError;
use crate::hash::MerkleHash;

/// The 32-byte tag at the start of every shard.
pub const SHARD_HEADER_TAG: [u8; 32] = [
    b'H', b'F', b'R', b'e', b'p', b'o', b'M', b'e', b't', b'a', b'D', b'a', b't', b'a', 0, 85, 105, 103, 69,
    106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169,
];
/// Shard header version.
pub const SHARD_VERSION: u64 = 2;
/// Length of the header.
pub const SHARD_HEADER_LEN: usize = 48;
/// Length of the footer, when present.
pub const SHARD_FOOTER_LEN: usize = 200;
/// Footer version.
pub const SHARD_FOOTER_VERSION: u64 = 1;
/// Length of every entry in the file-info and CAS-info sections.
pub const SHARD_ENTRY_LEN: usize = 48;
/// Largest shard accepted (clients split bigger batches).
pub const MAX_SHARD_BYTES: usize = 64 * 1024 * 1024;
/// File flag: one verification entry per term follows the terms.
pub const FILE_FLAG_WITH_VERIFICATION: u32 = 1 << 31;
/// File flag: a metadata extension (SHA-256) follows.
pub const FILE_FLAG_WITH_METADATA_EXT: u32 = 1 << 30;
/// CAS chunk flag: the chunk is a global-dedup candidate.
pub const CHUNK_FLAG_GLOBAL_DEDUP: u32 = 1 << 31;

/// One reconstruction term: a chunk range of a xorb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileTerm {
    /// Xorb holding the chunks.
    pub xorb_hash: MerkleHash,
    /// Xorb flags (0 in practice).
    pub xorb_flags: u32,
    /// Raw bytes of the chunk range.
    pub unpacked_len: u32,
    /// First chunk index.
    pub chunk_start: u32,
    /// Chunk index past the last one (exclusive).
    pub chunk_end: u32,
}

/// A file's reconstruction, as carried in the file-info section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Xet file hash.
    pub file_hash: MerkleHash,
    /// Terms in file order.
    pub terms: Vec<FileTerm>,
    /// One verification (range) hash per term, when the shard carries them.
    pub verification: Option<Vec<MerkleHash>>,
    /// SHA-256 of the file's bytes, from the metadata extension.
    pub sha256: Option<Sha256>,
}

impl FileEntry {
    /// File size: the sum of the terms' raw lengths.
    pub fn size(&self) -> u64 {
        self.terms.iter().map(|term| u64::from(term.unpacked_len)).sum()
    }

    /// File flags implied by the optional parts.
    pub fn flags(&self) -> u32 {
        let mut flags = 0;
        if self.verification.is_some() {
            flags |= FILE_FLAG_WITH_VERIFICATION;
        }
        if self.sha256.is_some() {
            flags |= FILE_FLAG_WITH_METADATA_EXT;
        }
        flags
    }
}

/// One chunk of a xorb listed in the CAS-info section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XorbChunkEntry {
    /// Chunk hash (or its keyed form in dedup shards).
    pub hash: MerkleHash,
    /// Cumulative raw offset of the chunk in its xorb (not a physical offset).
    pub uncompressed_start: u32,
    /// Raw length.
    pub uncompressed_len: u32,
    /// Flags; bit 31 marks a global-dedup candidate.
    pub flags: u32,
}

/// A xorb and its chunk list, from the CAS-info section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XorbEntry {
    /// Xorb hash.
    pub xorb_hash: MerkleHash,
    /// Xorb flags.
    pub flags: u32,
    /// Sum of raw chunk lengths.
    pub uncompressed_len: u32,
    /// Serialized size (clients send 0).
    pub bytes_on_disk: u32,
    /// Chunks in order.
    pub chunks: Vec<XorbChunkEntry>,
}

/// The 200-byte shard footer. Offsets are filled in by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShardFooter {
    /// Start of the file-info section.
    pub file_info_offset: u64,
    /// Start of the CAS-info section.
    pub cas_info_offset: u64,
    /// File lookup table offset; clients also read it as the end of the CAS section.
    pub file_lookup_offset: u64,
    /// File lookup table entries.
    pub file_lookup_count: u64,
    /// Xorb lookup table offset.
    pub xorb_lookup_offset: u64,
    /// Xorb lookup table entries.
    pub xorb_lookup_count: u64,
    /// Chunk lookup table offset.
    pub chunk_lookup_offset: u64,
    /// Chunk lookup table entries.
    pub chunk_lookup_count: u64,
    /// Key of the keyed chunk hashes; all zeros means raw hashes.
    pub chunk_hash_key: [u8; 32],
    /// Creation time, unix seconds.
    pub created_at: u64,
    /// Time after which clients stop using the shard for dedup, unix seconds.
    pub key_expiry: u64,
    /// Sum of the xorbs' serialized sizes.
    pub stored_bytes_on_disk: u64,
    /// Sum of the files' sizes.
    pub materialized_bytes: u64,
    /// Sum of the xorbs' raw sizes.
    pub stored_bytes: u64,
    /// Start of the footer.
    pub footer_offset: u64,
}

/// A parsed (or to-be-written) shard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shard {
    /// File reconstructions.
    pub files: Vec<FileEntry>,
    /// Xorb chunk lists.
    pub xorbs: Vec<XorbEntry>,
    /// Footer; `None` for shards uploaded by clients.
    pub footer: Option<ShardFooter>,
}

/// SHA-256 from its shard form (each 8-byte group reversed) to digest order.
pub fn sha256_from_shard_bytes(raw: [u8; 32]) -> Sha256 {
    let mut bytes = raw;
    for word in bytes.chunks_exact_mut(8) {
        word.reverse();
    }
    Sha256(bytes)
}

/// SHA-256 from digest order to its shard form.
pub fn sha256_to_shard_bytes(sha256: &Sha256) -> [u8; 32] {
    sha256_from_shard_bytes(sha256.0).0
}

fn is_bookend(hash: &MerkleHash) -> bool {
    hash.as_bytes() == &[0xFF; 32]
}

/// Reads a count and checks that `count` entries of `entry_len` bytes can fit in the rest of
/// the input, so a forged count cannot make us allocate.
fn bounded_count(cursor: &mut Cursor<'_>, entry_len: usize) -> Result<usize, CasError> {
    let count = cursor.u32()? as usize;
    if count.saturating_mul(entry_len) > cursor.remaining() {
        return Err(CasError::truncated(
            "shard entries",
            cursor.position(),
            count.saturating_mul(entry_len),
            cursor.remaining(),
        ));
    }
    Ok(count)
}

fn parse_file(cursor: &mut Cursor<'_>, file_hash: MerkleHash) -> Result<FileEntry, CasError> {
    let flags = cursor.u32()?;
    let count = bounded_count(cursor, SHARD_ENTRY_LEN)?;
    cursor.take(8)?;
    let mut terms = Vec::with_capacity(count);
    for _ in 0..count {
        let term = FileTerm {
            xorb_hash: cursor.hash()?,
            xorb_flags: cursor.u32()?,
            unpacked_len: cursor.u32()?,
            chunk_start: cursor.u32()?,
            chunk_end: cursor.u32()?,
        };
        if term.chunk_start >= term.chunk_end {
            return Err(CasError::malformed(
                "shard file term",
                format!("empty chunk range in file {file_hash}"),
            ));
        }
        terms.push(term);
    }
    let verification = if flags & FILE_FLAG_WITH_VERIFICATION != 0 {
        let mut hashes = Vec::with_capacity(count);
        for _ in 0..count {
            hashes.push(cursor.hash()?);
            cursor.take(16)?;
        }
        Some(hashes)
    } else {
        None
    };
    let sha256 = if flags & FILE_FLAG_WITH_METADATA_EXT != 0 {
        let raw: [u8; 32] = cursor.array()?;
        cursor.take(16)?;
        Some(sha256_from_shard_bytes(raw))
    } else {
        None
    };
    Ok(FileEntry { file_hash, terms, verification, sha256 })
}

fn parse_xorb_entry(cursor: &mut Cursor<'_>, xorb_hash: MerkleHash) -> Result<XorbEntry, CasError> {
    let flags = cursor.u32()?;
    let count = bounded_count(cursor, SHARD_ENTRY_LEN)?;
    let uncompressed_len = cursor.u32()?;
    let bytes_on_disk = cursor.u32()?;
    let mut chunks = Vec::with_capacity(count);
    for _ in 0..count {
        let chunk = XorbChunkEntry {
            hash: cursor.hash()?,
            uncompressed_start: cursor.u32()?,
            uncompressed_len: cursor.u32()?,
            flags: cursor.u32()?,
        };
        cursor.take(4)?;
        chunks.push(chunk);
    }
    Ok(XorbEntry { xorb_hash, flags, uncompressed_len, bytes_on_disk, chunks })
}

fn parse_footer_fields(bytes: &[u8]) -> Result<ShardFooter, CasError> {
    let mut cursor = Cursor::new(bytes, "shard footer");
    if cursor.u64()? != SHARD_FOOTER_VERSION {
        return Err(CasError::malformed("shard footer", "unsupported footer version"));
    }
    let mut footer = ShardFooter {
        file_info_offset: cursor.u64()?,
        cas_info_offset: cursor.u64()?,
        file_lookup_offset: cursor.u64()?,
        file_lookup_count: cursor.u64()?,
        xorb_lookup_offset: cursor.u64()?,
        xorb_lookup_count: cursor.u64()?,
        chunk_lookup_offset: cursor.u64()?,
        chunk_lookup_count: cursor.u64()?,
        chunk_hash_key: cursor.array()?,
        created_at: cursor.u64()?,
        key_expiry: cursor.u64()?,
        ..ShardFooter::default()
    };
    cursor.take(48)?;
    footer.stored_bytes_on_disk = cursor.u64()?;
    footer.materialized_bytes = cursor.u64()?;
    footer.stored_bytes = cursor.u64()?;
    footer.footer_offset = cursor.u64()?;
    Ok(footer)
}

/// Parses a shard, with the footer (`footer_size` 200) or without it (0, as clients send).
/// Lookup tables between the CAS section and the footer are skipped, not parsed.
pub fn parse_shard(bytes: &[u8]) -> Result<Shard, CasError> {
    if bytes.len() > MAX_SHARD_BYTES {
        return Err(CasError::LimitExceeded {
            what: "shard length",
            value: bytes.len() as u64,
            limit: MAX_SHARD_BYTES as u64,
        });
    }
    let mut header = Cursor::new(bytes, "shard header");
    if header.array::<32>()? != SHARD_HEADER_TAG {
        return Err(CasError::malformed("shard header", "wrong tag"));
    }
    if header.u64()? != SHARD_VERSION {
        return Err(CasError::malformed("shard header", "unsupported version"));
    }
    let footer_size = header.u64()?;
    let (body_end, footer) = match footer_size {
        0 => (bytes.len(), None),
        200 if bytes.len() >= SHARD_HEADER_LEN + SHARD_FOOTER_LEN => {
            let start = bytes.len() - SHARD_FOOTER_LEN;
            let footer = parse_footer_fields(&bytes[start..])?;
            if footer.footer_offset != start as u64 {
                return Err(CasError::malformed(
                    "shard footer",
                    "footer_offset does not point at the footer",
                ));
            }
            (start, Some(footer))
        }
        200 => {
            return Err(CasError::truncated(
                "shard footer",
                SHARD_HEADER_LEN,
                SHARD_FOOTER_LEN,
                bytes.len() - SHARD_HEADER_LEN,
            ));
        }
        other => return Err(CasError::malformed("shard header", format!("footer size {other}"))),
    };
    let mut cursor = Cursor::new(&bytes[..body_end], "shard file section");
    cursor.take(SHARD_HEADER_LEN)?;
    let mut files = Vec::new();
    loop {
        let hash = cursor.hash()?;
        if is_bookend(&hash) {
            cursor.take(16)?;
            break;
        }
        files.push(parse_file(&mut cursor, hash)?);
    }
    let cas_info_offset = cursor.position() as u64;
    cursor.set_what("shard CAS section");
    let mut xorbs = Vec::new();
    loop {
        let hash = cursor.hash()?;
        if is_bookend(&hash) {
            cursor.take(16)?;
            break;
        }
        xorbs.push(parse_xorb_entry(&mut cursor, hash)?);
    }
    match &footer {
        None if cursor.remaining() != 0 => {
            return Err(CasError::malformed("shard", "bytes after the CAS section"));
        }
        Some(footer)
            if footer.cas_info_offset != cas_info_offset
                || footer.file_info_offset != SHARD_HEADER_LEN as u64 =>
        {
            return Err(CasError::malformed("shard footer", "section offsets do not match the sections"));
        }
        _ => {}
    }
    Ok(Shard { files, xorbs, footer })
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
