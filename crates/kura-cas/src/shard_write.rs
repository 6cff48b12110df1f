//! Shard serialization: client-style shards (no footer) and dedup shards (keyed, footer).

use crate::hash::{MerkleHash, keyed_chunk_hash};
use crate::shard::{
    SHARD_FOOTER_LEN, SHARD_FOOTER_VERSION, SHARD_HEADER_LEN, SHARD_HEADER_TAG, SHARD_VERSION, Shard,
    ShardFooter, XorbEntry, sha256_to_shard_bytes,
};

const BOOKEND_HASH: [u8; 32] = [0xFF; 32];

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_bookend(out: &mut Vec<u8>) {
    out.extend_from_slice(&BOOKEND_HASH);
    out.extend_from_slice(&[0; 16]);
}

impl Shard {
    /// Serializes the shard. With a footer, its offsets and byte totals are recomputed
    /// (no lookup tables are written, so `file_lookup_offset` marks the end of the CAS
    /// section); its key, creation time and expiry are kept.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&SHARD_HEADER_TAG);
        put_u64(&mut out, SHARD_VERSION);
        put_u64(&mut out, if self.footer.is_some() { SHARD_FOOTER_LEN as u64 } else { 0 });
        for file in &self.files {
            out.extend_from_slice(file.file_hash.as_bytes());
            put_u32(&mut out, file.flags());
            put_u32(&mut out, file.terms.len() as u32);
            out.extend_from_slice(&[0; 8]);
            for term in &file.terms {
                out.extend_from_slice(term.xorb_hash.as_bytes());
                put_u32(&mut out, term.xorb_flags);
                put_u32(&mut out, term.unpacked_len);
                put_u32(&mut out, term.chunk_start);
                put_u32(&mut out, term.chunk_end);
            }
            for hash in file.verification.iter().flatten() {
                out.extend_from_slice(hash.as_bytes());
                out.extend_from_slice(&[0; 16]);
            }
            if let Some(sha256) = &file.sha256 {
                out.extend_from_slice(&sha256_to_shard_bytes(sha256));
                out.extend_from_slice(&[0; 16]);
            }
        }
        put_bookend(&mut out);
        let cas_info_offset = out.len() as u64;
        for xorb in &self.xorbs {
            out.extend_from_slice(xorb.xorb_hash.as_bytes());
            put_u32(&mut out, xorb.flags);
            put_u32(&mut out, xorb.chunks.len() as u32);
            put_u32(&mut out, xorb.uncompressed_len);
            put_u32(&mut out, xorb.bytes_on_disk);
            for chunk in &xorb.chunks {
                out.extend_from_slice(chunk.hash.as_bytes());
                put_u32(&mut out, chunk.uncompressed_start);
                put_u32(&mut out, chunk.uncompressed_len);
                put_u32(&mut out, chunk.flags);
                put_u32(&mut out, 0);
            }
        }
        put_bookend(&mut out);
        if let Some(footer) = &self.footer {
            let end = out.len() as u64;
            let footer = ShardFooter {
                file_info_offset: SHARD_HEADER_LEN as u64,
                cas_info_offset,
                file_lookup_offset: end,
                file_lookup_count: 0,
                xorb_lookup_offset: end,
                xorb_lookup_count: 0,
                chunk_lookup_offset: end,
                chunk_lookup_count: 0,
                stored_bytes_on_disk: self.xorbs.iter().map(|xorb| u64::from(xorb.bytes_on_disk)).sum(),
                materialized_bytes: self.files.iter().map(|file| file.size()).sum(),
                stored_bytes: self.xorbs.iter().map(|xorb| u64::from(xorb.uncompressed_len)).sum(),
                footer_offset: end,
                ..*footer
            };
            write_footer(&mut out, &footer);
        }
        out
    }
}

fn write_footer(out: &mut Vec<u8>, footer: &ShardFooter) {
    let start = out.len();
    put_u64(out, SHARD_FOOTER_VERSION);
    for value in [
        footer.file_info_offset,
        footer.cas_info_offset,
        footer.file_lookup_offset,
        footer.file_lookup_count,
        footer.xorb_lookup_offset,
        footer.xorb_lookup_count,
        footer.chunk_lookup_offset,
        footer.chunk_lookup_count,
    ] {
        put_u64(out, value);
    }
    out.extend_from_slice(&footer.chunk_hash_key);
    put_u64(out, footer.created_at);
    put_u64(out, footer.key_expiry);
    out.extend_from_slice(&[0; 48]);
    for value in
        [footer.stored_bytes_on_disk, footer.materialized_bytes, footer.stored_bytes, footer.footer_offset]
    {
        put_u64(out, value);
    }
    debug_assert_eq!(out.len() - start, SHARD_FOOTER_LEN);
}

/// Builds the reply to a global-dedup query: no files, the given xorbs with every chunk hash
/// replaced by its keyed form under `key` (which should be fresh, random and non-zero), and
/// a footer carrying the key and an expiry in the future.
pub fn dedup_shard(xorbs: &[XorbEntry], key: [u8; 32], created_at: u64, key_expiry: u64) -> Vec<u8> {
    let keyed = xorbs
        .iter()
        .map(|xorb| {
            let mut xorb = xorb.clone();
            for chunk in &mut xorb.chunks {
                chunk.hash = keyed_chunk_hash(&key, &chunk.hash);
            }
            xorb
        })
        .collect();
    let footer = ShardFooter { chunk_hash_key: key, created_at, key_expiry, ..ShardFooter::default() };
    Shard { files: Vec::new(), xorbs: keyed, footer: Some(footer) }.to_bytes()
}

/// Hash clients use to name a shard (keyed BLAKE3 with the data key over its bytes).
pub fn shard_hash(bytes: &[u8]) -> MerkleHash {
    crate::hash::chunk_hash(bytes)
}
