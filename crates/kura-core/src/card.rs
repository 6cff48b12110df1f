//! Repo cards: the YAML front matter of `README.md`, turned into `cardData` and tags.

use serde_json::Value;

/// What the API derives from a README.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardInfo {
    pub card_data: Option<Value>,
    pub tags: Vec<String>,
    pub pipeline_tag: Option<String>,
    pub library_name: Option<String>,
}

impl CardInfo {
    /// Bytes held on the heap (what a cache of cards weighs).
    pub(crate) fn heap_bytes(&self) -> u64 {
        let strings = self.tags.iter().chain(&self.pipeline_tag).chain(&self.library_name);
        let strings: usize = strings.map(|s| std::mem::size_of::<String>() + s.len()).sum();
        (strings + self.card_data.as_ref().map_or(0, value_bytes)) as u64
    }
}

/// Bytes a card's data holds in memory (what a listing that carries cards budgets).
pub fn card_data_bytes(value: &Value) -> u64 {
    value_bytes(value) as u64
}

/// Bytes a JSON value holds: a node per value, plus its strings and keys.
fn value_bytes(value: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match value {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(value_bytes).sum(),
            Value::Object(map) => map.iter().map(|(k, v)| 48 + k.len() + value_bytes(v)).sum(),
            _ => 0,
        }
}

/// The front matter block, if the text starts with one.
pub fn front_matter(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some(&rest[..offset]);
        }
        offset += line.len();
    }
    None
}

/// Parses front matter YAML into JSON; `Err` with a message when it is not valid YAML or not
/// a mapping.
pub fn parse_front_matter(yaml: &str) -> Result<Value, String> {
    if yaml.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value =
        serde_yaml_ng::from_str(yaml).map_err(|e| format!("Invalid YAML in README front matter: {e}"))?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Default::default())),
        _ => Err("README front matter must be a YAML mapping".to_owned()),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// Card info from a README's full text. Invalid front matter yields no card data.
pub fn card_info(readme: &str) -> CardInfo {
    let Some(Ok(data)) = front_matter(readme).map(parse_front_matter) else {
        return CardInfo::default();
    };
    let library_name = data.get("library_name").and_then(Value::as_str).map(str::to_owned);
    let pipeline_tag = data.get("pipeline_tag").and_then(Value::as_str).map(str::to_owned);
    let mut tags = strings(data.get("tags"));
    tags.extend(library_name.iter().cloned());
    tags.extend(strings(data.get("language")));
    tags.extend(strings(data.get("license")).into_iter().map(|l| format!("license:{l}")));
    tags.extend(strings(data.get("datasets")).into_iter().map(|d| format!("dataset:{d}")));
    tags.extend(pipeline_tag.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    tags.retain(|t| seen.insert(t.clone()));
    CardInfo { card_data: Some(data), tags, pipeline_tag, library_name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_front_matter() {
        let readme = "---\nlicense: mit\ntags:\n- text\nlibrary_name: transformers\npipeline_tag: fill-mask\n---\n# Title\n";
        let info = card_info(readme);
        assert_eq!(info.library_name.as_deref(), Some("transformers"));
        assert_eq!(info.pipeline_tag.as_deref(), Some("fill-mask"));
        assert_eq!(info.tags, ["text", "transformers", "license:mit", "fill-mask"]);
        assert_eq!(info.card_data.unwrap()["license"], "mit");
    }

    #[test]
    fn tolerates_missing_or_broken_front_matter() {
        assert_eq!(card_info("# no front matter"), CardInfo::default());
        assert_eq!(card_info("---\n: : [\n---\n"), CardInfo::default());
        assert!(parse_front_matter("a: [1, 2").is_err());
        assert!(parse_front_matter("- a\n- b").is_err());
    }
}
