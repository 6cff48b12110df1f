//! Sans-IO core of Xet storage: chunking, hashing, xorb and shard codecs, range planning.
//!
//! Everything here is a pure function over bytes; the async drivers that move data between
//! HTTP and the storage ports live in higher crates. Format facts come from the Xet protocol
//! (see `docs/xet.md` in the shared docs); constants are interoperability facts.

mod chunker;
mod compression;
mod cursor;
mod error;
mod gear_table;
mod hash;
mod merkle;
mod reconstruction;
mod record_stream;
mod shard;
mod shard_verify;
mod shard_write;
mod xorb;
mod xorb_footer;
mod xorb_stream;

#[cfg(test)]
mod reference_tests;

pub use chunker::{
    BOUNDARY_MASK, Chunker, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, TARGET_CHUNK_SIZE, chunk_and_hash,
    chunk_boundaries, hash_file_bytes,
};
pub use compression::{
    CompressionScheme, MAX_COMPRESSED_CHUNK_LEN, bg4_join, bg4_split, compress_chunk, decompress_chunk,
};
pub use error::CasError;
pub use hash::{
    DATA_KEY, FILE_KEY, INTERNAL_NODE_KEY, MerkleHash, VERIFICATION_KEY, chunk_hash, chunk_hash_parts,
    is_global_dedup_eligible, keyed_chunk_hash, keyed_hash, verification_range_hash,
};
pub use merkle::{MerkleBuilder, MerkleNode, file_hash, merkle_root, xorb_hash};
pub use reconstruction::{PlannedTerm, ReconstructionPlan, overlapping_terms, plan_reconstruction};
pub use record_stream::RecordDecoder;
pub use shard::{
    CHUNK_FLAG_GLOBAL_DEDUP, FILE_FLAG_WITH_METADATA_EXT, FILE_FLAG_WITH_VERIFICATION, FileEntry, FileTerm,
    MAX_SHARD_BYTES, SHARD_ENTRY_LEN, SHARD_FOOTER_LEN, SHARD_HEADER_LEN, SHARD_HEADER_TAG, SHARD_VERSION,
    Shard, ShardFooter, XorbChunkEntry, XorbEntry, parse_shard, sha256_from_shard_bytes,
    sha256_to_shard_bytes,
};
pub use shard_verify::{verify_file_entry, verify_xorb_entry};
pub use shard_write::{dedup_shard, shard_hash};
pub use xorb::{
    CHUNK_HEADER_LEN, ChunkHeader, ChunkRecord, ChunkRecords, MAX_SERIALIZED_XORB_BYTES, MAX_XORB_BYTES,
    MAX_XORB_CHUNKS, XorbChunk, XorbInfo, XorbWriter, decode_records, parse_xorb, validate_xorb,
};
pub use xorb_footer::{XorbFooter, encode_footer, parse_footer};
pub use xorb_stream::XorbValidator;
