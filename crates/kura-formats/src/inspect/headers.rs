//! The header formats: safetensors (8 bytes of length, then the JSON header, checked against
//! the file: offsets inside the data, sizes that match shape and dtype) and GGUF (growing
//! prefixes until the header parses, up to `gguf::MAX_HEADER_BYTES`).

use super::source::Source;
use super::{
    Advance, GgufFacts, Inspector, MAX_DTYPE_BYTES, MAX_DTYPES, MAX_TEMPLATE_BYTES, MAX_TOKEN_BYTES,
};
use super::{GGUF_STEP, SAFETENSORS_FIRST, SafetensorsFacts, kept, need};
use crate::gguf::{self, GgufError};
use crate::safetensors::{self, Header};

/// Bytes per value of the dtypes whose size is a whole number of bytes (others, such as the
/// 4- and 6-bit floats, are not checked).
fn dtype_bytes(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 1,
        "U16" | "I16" | "F16" | "BF16" => 2,
        "U32" | "I32" | "F32" => 4,
        "U64" | "I64" | "F64" | "C64" => 8,
        _ => return None,
    })
}

/// Why a parsed header does not describe the file's `data_len` bytes of data, if it does not.
fn lies(header: &Header, data_len: u64) -> Option<String> {
    for (name, info) in &header.tensors {
        let [begin, end] = info.data_offsets;
        if end > data_len {
            return Some(format!("tensor {name}: data ends at {end}, past the {data_len} bytes of data"));
        }
        let elements = safetensors::elements(info).unwrap_or(u64::MAX);
        let expected = dtype_bytes(&info.dtype).and_then(|b| b.checked_mul(elements));
        if dtype_bytes(&info.dtype).is_some() && expected != Some(end - begin) {
            return Some(format!("tensor {name}: {} bytes of data for its shape and dtype", end - begin));
        }
        if info.dtype.len() > MAX_DTYPE_BYTES {
            return Some(format!("tensor {name}: a dtype name of {} bytes", info.dtype.len()));
        }
    }
    None
}

impl Inspector {
    pub(super) fn safetensors(&mut self, source: &mut Source) -> Advance {
        if source.data().len() < 8 && !source.settled() {
            return need(source, SAFETENSORS_FIRST);
        }
        let len = match safetensors::header_len(source.data()) {
            Ok(len) if 8 + len <= self.size => len,
            Ok(len) => {
                self.scan.fail(format!("a safetensors header of {len} bytes in a file of {}", self.size));
                return Advance::Finish;
            }
            Err(e) => {
                self.scan.fail(e.to_string());
                return Advance::Finish;
            }
        };
        if (source.data().len() as u64) < 8 + len && !source.settled() {
            return need(source, 8 + len);
        }
        let json = source.data().get(8..8 + len as usize);
        let header = match json.map(safetensors::parse_header) {
            Some(Ok(header)) => header,
            Some(Err(e)) => {
                self.scan.fail(e.to_string());
                return Advance::Finish;
            }
            None => {
                let why =
                    source.error.clone().unwrap_or_else(|| "the safetensors header is truncated".into());
                self.scan.fail(why);
                return Advance::Finish;
            }
        };
        let parameters = header.parameters();
        if let Some(why) = lies(&header, self.size - 8 - len) {
            self.scan.fail(why);
        } else if parameters.len() > MAX_DTYPES {
            self.scan.fail(format!("{} distinct dtypes in a safetensors header", parameters.len()));
        } else {
            let total = parameters.values().fold(0u64, |sum, n| sum.saturating_add(*n));
            self.facts.safetensors = Some(SafetensorsFacts { parameters, total, header_len: len });
        }
        Advance::Finish
    }

    pub(super) fn gguf(&mut self, source: &mut Source) -> Advance {
        match gguf::parse(source.data()) {
            Err(GgufError::Truncated { have }) if !source.settled() => {
                let have = have as u64;
                need(source, have.saturating_add(GGUF_STEP.max(have / 2)))
            }
            Ok(info) => {
                self.facts.gguf = Some(GgufFacts {
                    total: info.total,
                    architecture: kept(info.architecture, MAX_TOKEN_BYTES),
                    context_length: info.context_length,
                    chat_template: kept(info.chat_template, MAX_TEMPLATE_BYTES),
                    bos_token: kept(info.bos_token, MAX_TOKEN_BYTES),
                    eos_token: kept(info.eos_token, MAX_TOKEN_BYTES),
                });
                Advance::Finish
            }
            Err(GgufError::Truncated { have }) => {
                let why = match &source.error {
                    Some(why) => why.clone(),
                    None if have as u64 >= gguf::MAX_HEADER_BYTES => {
                        format!("the GGUF header is larger than the {} bytes read", gguf::MAX_HEADER_BYTES)
                    }
                    None => "the file ends inside its GGUF header".into(),
                };
                self.scan.fail(why);
                Advance::Finish
            }
            Err(e) => {
                self.scan.fail(e.to_string());
                Advance::Finish
            }
        }
    }
}
