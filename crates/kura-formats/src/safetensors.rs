//! safetensors headers: 8 bytes of little-endian header length N, then N bytes of JSON
//! mapping tensor names to `{dtype, shape, data_offsets}` (and an optional `__metadata__` of
//! strings). The hub reads the header of every stored safetensors file once and counts
//! parameters per dtype, as `huggingface_hub.get_safetensors_metadata` does client-side.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Largest header accepted (the client's `SAFETENSORS_MAX_HEADER_LENGTH`).
pub const MAX_HEADER_BYTES: u64 = 25_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SafetensorsError {
    #[error("the file is shorter than the 8-byte header length")]
    TooShort,
    #[error("the header is {0} bytes, over the limit of {MAX_HEADER_BYTES}")]
    HeaderTooLarge(u64),
    #[error("the header is not valid JSON: {0}")]
    Json(String),
    #[error("tensor {0}: {1}")]
    Tensor(String, String),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TensorInfo {
    pub dtype: String,
    pub shape: Vec<u64>,
    pub data_offsets: [u64; 2],
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub metadata: BTreeMap<String, String>,
    pub tensors: BTreeMap<String, TensorInfo>,
}

/// The header length the first 8 bytes announce, checked against the limit.
pub fn header_len(first: &[u8]) -> Result<u64, SafetensorsError> {
    let bytes: [u8; 8] = first.get(..8).and_then(|b| b.try_into().ok()).ok_or(SafetensorsError::TooShort)?;
    let len = u64::from_le_bytes(bytes);
    if len > MAX_HEADER_BYTES {
        return Err(SafetensorsError::HeaderTooLarge(len));
    }
    Ok(len)
}

/// Parses the JSON header (the N bytes after the length).
pub fn parse_header(json: &[u8]) -> Result<Header, SafetensorsError> {
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(json).map_err(|e| SafetensorsError::Json(e.to_string()))?;
    let mut header = Header::default();
    for (name, value) in raw {
        if name == "__metadata__" {
            header.metadata = serde_json::from_value(value)
                .map_err(|e| SafetensorsError::Json(format!("__metadata__: {e}")))?;
            continue;
        }
        let info: TensorInfo = serde_json::from_value(value)
            .map_err(|e| SafetensorsError::Tensor(name.clone(), e.to_string()))?;
        if info.data_offsets[0] > info.data_offsets[1] {
            return Err(SafetensorsError::Tensor(name, "data_offsets end before they begin".into()));
        }
        elements(&info).ok_or_else(|| SafetensorsError::Tensor(name.clone(), "shape overflows".into()))?;
        header.tensors.insert(name, info);
    }
    Ok(header)
}

/// Number of values of a tensor (a scalar holds one); `None` on overflow.
pub fn elements(info: &TensorInfo) -> Option<u64> {
    info.shape.iter().try_fold(1u64, |acc, d| acc.checked_mul(*d))
}

impl Header {
    /// Parameters per dtype (dtype names kept as the file spells them).
    pub fn parameters(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for info in self.tensors.values() {
            let count = elements(info).unwrap_or(0);
            let entry = out.entry(info.dtype.clone()).or_insert(0u64);
            *entry = entry.saturating_add(count);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parameters_per_dtype() {
        let json = br#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[],"data_offsets":[24,26]},"c":{"dtype":"F32","shape":[4],"data_offsets":[26,42]}}"#;
        let header = parse_header(json).unwrap();
        assert_eq!(header.metadata["format"], "pt");
        let params = header.parameters();
        assert_eq!(params["F32"], 10);
        assert_eq!(params["BF16"], 1);
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(header_len(b"\x01\x00"), Err(SafetensorsError::TooShort));
        assert_eq!(header_len(&u64::MAX.to_le_bytes()), Err(SafetensorsError::HeaderTooLarge(u64::MAX)));
        assert_eq!(header_len(&100u64.to_le_bytes()), Ok(100));
        assert!(matches!(parse_header(b"{"), Err(SafetensorsError::Json(_))));
        assert!(matches!(parse_header(br#"{"a":{"dtype":"F32"}}"#), Err(SafetensorsError::Tensor(..))));
        let overflow = br#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#;
        assert!(matches!(parse_header(overflow), Err(SafetensorsError::Tensor(..))));
        let backwards = br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#;
        assert!(matches!(parse_header(backwards), Err(SafetensorsError::Tensor(..))));
    }
}
