//! `GET /api/models/{repo}/safetensors-metadata/{index}` (huggingface_hub's
//! `get_sharded_safetensors_metadata`): the index file's fields besides `weight_map`, and the
//! JSON header of every shard it names, read by ranges through the caller's file access.

use kura_formats::safetensors;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::auth::Identity;
use crate::budget::Reservation;
use crate::error::{CoreError, Result};
use crate::read_proof::OpenFile;
use crate::services::Index;
use kura_storage::RepoRecord;

/// Largest index file read (real ones are a few hundred kilobytes).
const MAX_INDEX_BYTES: u64 = 16 << 20;
/// Most shards one index may name (the Hub's largest checkpoints have a few hundred).
const MAX_SHARDS: usize = 2_000;
/// Memory one byte of the index's JSON may take once parsed.
const JSON_EXPANSION: u64 = 16;
/// Header bytes one answer may hold, over all shards (each header is also capped at the
/// format's 25,000,000 bytes). They are held as text, counted in the request's memory budget.
const MAX_TOTAL_HEADER_BYTES: u64 = 64 << 20;

/// The index's fields (without `weight_map`) and each shard's header, by shard name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SafetensorsMetadata {
    pub headers: std::collections::BTreeMap<String, Box<RawValue>>,
    pub index: Map<String, Value>,
}

fn not_sharded(filename: &str) -> CoreError {
    CoreError::invalid(format!("{filename} is not a safetensors index (a JSON file with a weight_map)"))
}

impl Index<'_> {
    /// Reads the index `filename` at the default branch and the header of every shard it names.
    pub async fn safetensors_metadata(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        filename: &str,
        memory: &mut Reservation,
    ) -> Result<SafetensorsMetadata> {
        let files = self.hub.files();
        // One authorization and one revision for the index and every shard.
        let access = self.hub.accounts().authorize_files(identity, repo).await?;
        let commit = self.hub.repos().resolve_revision(repo, "main").await?.commit;
        let index_file = files.open_at(&access, commit, filename).await?;
        if index_file.size > MAX_INDEX_BYTES {
            return Err(CoreError::TooLarge(format!("{filename} is larger than {MAX_INDEX_BYTES} bytes")));
        }
        let busy = |_| CoreError::RateLimited { retry_after_secs: 2 };
        // `cover` sets the request's total: the index's share, then the headers' as they come.
        let index_share = index_file.size.saturating_mul(JSON_EXPANSION);
        memory.cover(index_share).await.map_err(busy)?;
        let bytes = self.hub.files().read_to_vec(&index_file, 0, index_file.size).await?;
        let Ok(Value::Object(mut index)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(not_sharded(filename));
        };
        let Some(Value::Object(weight_map)) = index.remove("weight_map") else {
            return Err(not_sharded(filename));
        };
        let mut shards: Vec<String> =
            weight_map.values().filter_map(Value::as_str).map(str::to_owned).collect();
        shards.sort();
        shards.dedup();
        if shards.len() > MAX_SHARDS {
            return Err(CoreError::TooLarge(format!("{filename} names more than {MAX_SHARDS} shards")));
        }
        let dir = filename.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default();
        let mut headers = std::collections::BTreeMap::new();
        let mut headers_bytes = 0u64;
        for shard in shards {
            let path = format!("{dir}{shard}");
            let file = files.open_at(&access, commit, &path).await?;
            let header = self.shard_header(&file, &path, (index_share, &mut headers_bytes), memory).await?;
            headers.insert(shard, header);
        }
        Ok(SafetensorsMetadata { headers, index })
    }

    /// One shard's JSON header, counted against the answer's budget.
    async fn shard_header(
        &self,
        file: &OpenFile,
        path: &str,
        (held, total): (u64, &mut u64),
        memory: &mut Reservation,
    ) -> Result<Box<RawValue>> {
        let unreadable =
            |why: String| CoreError::invalid(format!("{path} is not a readable safetensors file: {why}"));
        if file.size < 8 {
            return Err(unreadable("it is shorter than the 8-byte header length".into()));
        }
        let prefix = self.hub.files().read_to_vec(file, 0, 8).await?;
        let len = safetensors::header_len(&prefix).map_err(|e| unreadable(e.to_string()))?;
        if len.saturating_add(8) > file.size {
            return Err(unreadable("its header runs past the end of the file".into()));
        }
        *total = total.saturating_add(len);
        if *total > MAX_TOTAL_HEADER_BYTES {
            return Err(CoreError::TooLarge(format!(
                "the shards' headers hold more than {MAX_TOTAL_HEADER_BYTES} bytes"
            )));
        }
        // The request holds the parsed index and the headers so far; when the server's memory
        // budget is spent, the client retries after a moment.
        let busy = |_| CoreError::RateLimited { retry_after_secs: 2 };
        memory.cover(held.saturating_add(*total)).await.map_err(busy)?;
        let json = self.hub.files().read_to_vec(file, 8, len).await?;
        let text = String::from_utf8(json).map_err(|_| unreadable("its header is not UTF-8".into()))?;
        RawValue::from_string(text).map_err(|e| unreadable(e.to_string()))
    }
}
