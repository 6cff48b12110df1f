//! Sans-IO readers of the model formats the hub looks into: safetensors headers, GGUF headers
//! and pickle opcode streams (for the import scan), and `inspect`, which drives them over one
//! stored file by byte ranges (zip archives, numpy arrays and legacy torch files included). Bytes in, values out; no I/O, no async.
//! Every reader has a budget and reports malformed input as an error, never a panic; the
//! callers (the indexer) read bounded prefixes of stored files and hand them over.

pub mod derive;
pub mod gguf;
pub mod inspect;
pub mod pickle;
pub mod pickle_policy;
pub mod safetensors;
pub mod viewer;
