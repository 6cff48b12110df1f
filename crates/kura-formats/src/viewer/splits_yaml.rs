//! The README's YAML front matter (huggingface_hub's `REGEX_YAML_BLOCK`) and its `configs:` key as
//! `datasets` 5.2.0 reads it (`MetadataConfigs.from_dataset_card_data`, `sanitize_patterns`,
//! `get_default_config_name`): each config has a `config_name`, optional `data_files` (a string,
//! a list of strings, or a list of `{split, path}`), `data_dir`, `default` and builder parameters.

use serde_json::{Map, Value};

use super::SplitsError;

/// Largest YAML block read.
pub(super) const MAX_YAML_BYTES: usize = 1 << 20;

/// One entry of `configs:`.
#[derive(Debug, Clone)]
pub(super) struct MetaConfig {
    pub(super) name: String,
    /// Split → patterns, in YAML order; `None` when `data_files` is absent or null.
    pub(super) data_files: Option<Vec<(String, Vec<String>)>>,
    /// Whether the `data_files` key is present (even as null).
    pub(super) has_data_files_key: bool,
    pub(super) data_dir: Option<String>,
    pub(super) default: bool,
    /// Every other key (builder parameters), as JSON.
    pub(super) params: Map<String, Value>,
}

fn invalid(msg: impl Into<String>) -> SplitsError {
    SplitsError::InvalidConfigs(msg.into())
}

/// The YAML text between the leading `---` line and the closing `---` line, if any.
pub(super) fn front_matter(readme: &str) -> Option<&str> {
    let rest = readme.trim_start();
    let rest = rest.strip_prefix("---")?;
    let body = ["\r\n", "\r", "\n"].iter().find_map(|nl| rest.strip_prefix(nl))?;
    let mut from = 0;
    while let Some(off) = body[from..].find(['\r', '\n']) {
        let p = from + off;
        let after_nl = body[p..].strip_prefix("\r\n").or(Some(&body[p + 1..]));
        if let Some(closing) = after_nl.and_then(|a| a.strip_prefix("---")) {
            let tail = closing.trim_start_matches([' ', '\t']);
            if tail.is_empty() || tail.starts_with('\n') || tail.starts_with("\r\n") {
                return Some(&body[..p]);
            }
        }
        from = p + 1;
    }
    None
}

/// Parses the README's `configs:`; an empty list when there is no front matter or no configs.
pub(super) fn parse_configs(readme: &str) -> Result<Vec<MetaConfig>, SplitsError> {
    let Some(yaml) = front_matter(readme) else {
        return Ok(Vec::new());
    };
    if yaml.len() > MAX_YAML_BYTES {
        return Err(SplitsError::ReadmeTooLarge);
    }
    let doc: Value = match serde_yaml_ng::from_str::<Option<Value>>(yaml) {
        Ok(v) => v.unwrap_or(Value::Object(Map::new())),
        Err(e) => return Err(SplitsError::InvalidYaml(e.to_string())),
    };
    let Value::Object(card) = doc else {
        return Err(SplitsError::InvalidYaml("repo card metadata block should be a dict".into()));
    };
    let configs = match card.get("configs") {
        None => return Ok(Vec::new()),
        Some(v) if !truthy(v) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("Expected configs to be a list")),
    };
    if configs.len() > super::MAX_CONFIGS {
        return Err(SplitsError::TooManyConfigs(configs.len()));
    }
    let mut out: Vec<MetaConfig> = Vec::new();
    for item in configs {
        let config = parse_one(item)?;
        // A repeated name keeps its first position and takes the last value (a Python dict).
        match out.iter_mut().find(|c| c.name == config.name) {
            Some(slot) => *slot = config,
            None => out.push(config),
        }
    }
    Ok(out)
}

fn parse_one(item: &Value) -> Result<MetaConfig, SplitsError> {
    let Value::Object(map) = item else {
        return Err(invalid("Each config must include `config_name` field"));
    };
    let name = match map.get("config_name") {
        None => return Err(invalid("Each config must include `config_name` field")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(SplitsError::TypeError(format!("config_name {other} is not a string"))),
    };
    let data_files = match map.get("data_files") {
        None | Some(Value::Null) => None,
        Some(v) => Some(sanitize_patterns(v)?),
    };
    let data_dir = match map.get("data_dir") {
        Some(v) if truthy(v) => match v {
            Value::String(s) => Some(s.clone()),
            _ => return Err(SplitsError::TypeError("data_dir is not a string".into())),
        },
        _ => None,
    };
    let params = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "config_name" | "data_files" | "data_dir" | "default"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(MetaConfig {
        name,
        data_files,
        has_data_files_key: map.contains_key("data_files"),
        data_dir,
        default: map.get("default").is_some_and(truthy),
        params,
    })
}

/// `_raise_if_data_files_field_not_valid` + `sanitize_patterns`: split → patterns.
fn sanitize_patterns(v: &Value) -> Result<Vec<(String, Vec<String>)>, SplitsError> {
    let bad = || {
        invalid(
            "Expected data_files in YAML to be either a string or a list of strings or a list of dicts with two keys: 'split' and 'path'",
        )
    };
    match v {
        Value::String(s) => Ok(vec![("train".into(), vec![s.clone()])]),
        Value::Array(items) if items.iter().any(Value::is_object) => {
            let mut out: Vec<(String, Vec<String>)> = Vec::new();
            for item in items {
                let Value::Object(m) = item else { return Err(bad()) };
                let (Some(Value::String(split)), Some(path), 2) = (m.get("split"), m.get("path"), m.len())
                else {
                    return Err(bad());
                };
                if !valid_split_name(split) {
                    return Err(bad());
                }
                if out.iter().any(|(s, _)| s == split) {
                    return Err(invalid(format!("Some splits are duplicated in data_files: {split}")));
                }
                out.push((split.clone(), string_list(path).ok_or_else(bad)?));
            }
            Ok(out)
        }
        Value::Array(_) => Ok(vec![("train".into(), string_list(v).ok_or_else(bad)?)]),
        _ => Err(bad()),
    }
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

/// `datasets.naming._split_re`: `^\w+(\.\w+)*$`.
pub(super) fn valid_split_name(s: &str) -> bool {
    s.split('.').all(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// Python truthiness of a YAML value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `MetadataConfigs.get_default_config_name`.
pub(super) fn default_config_name(configs: &[MetaConfig]) -> Result<Option<&str>, SplitsError> {
    let mut found: Option<&str> = None;
    for c in configs {
        if configs.len() == 1 || c.name == "default" || c.default {
            if let Some(first) = found {
                return Err(invalid(format!(
                    "Dataset has several default configs: '{first}' and '{}'.",
                    c.name
                )));
            }
            found = Some(&c.name);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_forms() {
        assert_eq!(front_matter("---\na: 1\n---\nbody"), Some("a: 1"));
        assert_eq!(front_matter("  \n---\r\na: 1\r\n---  \r\n"), Some("a: 1"));
        assert_eq!(front_matter("---\na: 1\n----\n"), None);
        assert_eq!(front_matter("---\na: 1\n---"), Some("a: 1"));
        assert_eq!(front_matter("# title\n---\na: 1\n---\n"), None);
    }

    #[test]
    fn yaml_1_2_and_duplicate_keys() {
        // As PyYAML: a repeated key keeps the last value. Unlike it (YAML 1.1): `no` is a string.
        let dup = "---\nconfigs: 3\nconfigs:\n- config_name: b\n---\n";
        assert_eq!(parse_configs(dup).unwrap()[0].name, "b");
        let no = parse_configs("---\nconfigs:\n- config_name: a\n  default: no\n---\n").unwrap();
        assert!(no[0].default);
    }

    #[test]
    fn split_names() {
        assert!(valid_split_name("train"));
        assert!(valid_split_name("a.b_2"));
        assert!(!valid_split_name("my-split"));
        assert!(!valid_split_name("a..b"));
        assert!(!valid_split_name(""));
    }
}
