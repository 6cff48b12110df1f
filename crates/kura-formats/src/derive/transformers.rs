//! What the Hub reads out of a transformers checkpoint's JSON files: the projection of
//! config.json it returns as `config` (the keys huggingface.js `ModelData.config` names), the
//! projection of tokenizer_config.json inside it, and `transformersInfo` (how transformers
//! loads the model: Auto class, custom class of `auto_map`, task, processor).

use std::cmp::Reverse;

use serde_json::{Map, Value};

use super::TransformersInfo;
use super::card::{short_str, strings};
use super::tables;

/// `auto_map` entries read (real configs have fewer than ten).
const MAX_AUTO_MAP: usize = 64;
/// Special-token texts longer than this are left out of the projection.
const MAX_TOKEN_BYTES: usize = 1_000;
/// Chat templates are returned whole (clients render them) up to this total size.
const MAX_CHAT_TEMPLATE_BYTES: usize = 256 * 1024;
/// Named chat templates read from a list.
const MAX_CHAT_TEMPLATES: usize = 16;
/// The tokenizer attributes the Hub returns (huggingface.js `SPECIAL_TOKENS_ATTRIBUTES`).
const SPECIAL_TOKENS: [&str; 7] =
    ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
/// Processor Auto classes a custom `auto_map` may name, most specific first.
const PROCESSORS: [&str; 4] =
    ["AutoProcessor", "AutoTokenizer", "AutoImageProcessor", "AutoFeatureExtractor"];

/// `config` as the Hub returns it: `architectures`, `auto_map`, `model_type`, the
/// `quantization_config` fields clients read, and `tokenizer_config` (empty until a tokenizer
/// config is merged in). `None` when config.json is not a JSON object.
pub(crate) fn project_config(config: &Value) -> Option<Map<String, Value>> {
    let config = config.as_object()?;
    let mut out = Map::new();
    let architectures = strings(config.get("architectures"));
    if matches!(config.get("architectures"), Some(Value::Array(_))) {
        out.insert("architectures".into(), architectures.into_iter().map(Value::from).collect());
    }
    if let Some(model_type) = config.get("model_type").and_then(short_str) {
        out.insert("model_type".into(), model_type.into());
    }
    if let Some(auto_map) = config.get("auto_map").and_then(Value::as_object) {
        out.insert("auto_map".into(), Value::Object(project_auto_map(auto_map)));
    }
    if let Some(quant) = config.get("quantization_config").and_then(Value::as_object) {
        out.insert("quantization_config".into(), Value::Object(project_quantization(quant)));
    }
    out.insert("tokenizer_config".into(), Value::Object(Map::new()));
    Some(out)
}

/// `auto_map` entries whose value is a class path, or a list of them and nulls (tokenizers
/// name a slow and a fast class).
fn project_auto_map(auto_map: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in auto_map.iter().take(MAX_AUTO_MAP) {
        if key.len() > super::card::MAX_STRING {
            continue;
        }
        let kept = match value {
            Value::Array(items)
                if items.len() <= 4 && items.iter().all(|v| v.is_null() || short_str(v).is_some()) =>
            {
                value.clone()
            }
            other => match short_str(other) {
                Some(path) => Value::from(path),
                None => continue,
            },
        };
        out.insert(key.clone(), kept);
    }
    out
}

fn project_quantization(quant: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(method) = quant.get("quant_method").and_then(short_str) {
        out.insert("quant_method".into(), method.into());
    }
    if let Some(bits) = quant.get("bits").filter(|v| v.is_number()) {
        out.insert("bits".into(), bits.clone());
    }
    for flag in ["load_in_4bit", "load_in_8bit"] {
        if let Some(on) = quant.get(flag).and_then(Value::as_bool) {
            out.insert(flag.into(), on.into());
        }
    }
    out
}

/// The projection of tokenizer_config.json the Hub nests in `config.tokenizer_config`: the
/// special tokens (text, null, or an `AddedToken` object), `chat_template` (a text, or a list of
/// `{name, template}`) and `use_default_system_prompt`.
pub(crate) fn project_tokenizer_config(tokenizer: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(tokenizer) = tokenizer.as_object() else { return out };
    for key in SPECIAL_TOKENS {
        if let Some(token) = tokenizer.get(key).and_then(project_token) {
            out.insert(key.into(), token);
        }
    }
    if let Some(flag) = tokenizer.get("use_default_system_prompt").and_then(Value::as_bool) {
        out.insert("use_default_system_prompt".into(), flag.into());
    }
    if let Some(template) = tokenizer.get("chat_template").and_then(project_chat_template) {
        out.insert("chat_template".into(), template);
    }
    out
}

fn project_token(token: &Value) -> Option<Value> {
    match token {
        Value::Null => Some(Value::Null),
        Value::String(text) if text.len() <= MAX_TOKEN_BYTES => Some(token.clone()),
        Value::Object(added) => {
            let content = added.get("content")?.as_str().filter(|c| c.len() <= MAX_TOKEN_BYTES)?;
            let mut out = Map::new();
            out.insert("__type".into(), "AddedToken".into());
            out.insert("content".into(), content.into());
            for flag in ["lstrip", "normalized", "rstrip", "single_word"] {
                if let Some(on) = added.get(flag).and_then(Value::as_bool) {
                    out.insert(flag.into(), on.into());
                }
            }
            Some(Value::Object(out))
        }
        _ => None,
    }
}

fn project_chat_template(template: &Value) -> Option<Value> {
    match template {
        Value::String(text) if text.len() <= MAX_CHAT_TEMPLATE_BYTES => Some(template.clone()),
        Value::Array(named) => {
            let mut total = 0usize;
            let mut out = Vec::new();
            for entry in named.iter().take(MAX_CHAT_TEMPLATES) {
                let name = entry.get("name").and_then(short_str);
                let text = entry.get("template").and_then(Value::as_str);
                let (Some(name), Some(text)) = (name, text) else { continue };
                total = total.saturating_add(text.len());
                if total > MAX_CHAT_TEMPLATE_BYTES {
                    break;
                }
                out.push(serde_json::json!({"name": name, "template": text}));
            }
            Some(Value::Array(out))
        }
        _ => None,
    }
}

/// The mask token text of a tokenizer config (a text, or an `AddedToken`'s content).
pub(crate) fn mask_token(tokenizer: &Value) -> Option<String> {
    let token = tokenizer.get("mask_token")?;
    let text = token.as_str().or_else(|| token.get("content").and_then(Value::as_str))?;
    (!text.is_empty() && text.len() <= MAX_TOKEN_BYTES).then(|| text.to_owned())
}

/// Whether a tokenizer config carries a chat template.
pub(crate) fn has_chat_template(tokenizer: &Value) -> bool {
    match tokenizer.get("chat_template") {
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(named)) => !named.is_empty(),
        _ => false,
    }
}

/// `transformersInfo` of a config.json: the Auto class transformers maps `architectures[0]`
/// to, or, for custom code transformers does not know, the Auto class of `auto_map` naming that
/// architecture (else the most specific Auto model class it names). `None` when neither tells.
pub(crate) fn transformers_info(config: &Value) -> Option<TransformersInfo> {
    let config = config.as_object()?;
    let arch = config.get("architectures").and_then(|a| a.get(0)).and_then(short_str);
    let auto_map = config.get("auto_map").and_then(Value::as_object);
    let model_type = config.get("model_type").and_then(short_str);
    let mut info = match arch.and_then(tables::architecture) {
        Some(known) => TransformersInfo {
            auto_model: known.auto_model.to_owned(),
            custom_class: auto_map
                .and_then(|m| m.get(known.auto_model))
                .and_then(short_str)
                .map(str::to_owned),
            pipeline_tag: known.task.map(str::to_owned),
            processor: None,
        },
        None => custom_info(auto_map?, arch)?,
    };
    info.processor = auto_map
        .and_then(|m| PROCESSORS.into_iter().find(|p| m.contains_key(*p)))
        .or_else(|| model_type.and_then(tables::processor))
        .map(str::to_owned);
    Some(info)
}

/// How well an `auto_map` entry fits: naming the architecture first, then the more specific
/// head (the lower rank of `auto_tasks.tsv`).
type Score = (bool, Reverse<u32>);

/// The Auto model class of a custom `auto_map`.
fn custom_info(auto_map: &Map<String, Value>, arch: Option<&str>) -> Option<TransformersInfo> {
    let mut best: Option<(Score, &str, &str)> = None;
    for (key, value) in auto_map.iter().take(MAX_AUTO_MAP) {
        let (Some((rank, _)), Some(path)) = (tables::auto_class(key), short_str(value)) else { continue };
        // A class path is `module.Class`, or `repo--module.Class` for code in another repo.
        let class = path.rsplit('.').next().unwrap_or(path);
        let score = (arch == Some(class), Reverse(rank));
        if best.as_ref().is_none_or(|(best_score, ..)| score > *best_score) {
            best = Some((score, key, path));
        }
    }
    let (_, key, path) = best?;
    let task = tables::auto_class(key).and_then(|(_, task)| task);
    Some(TransformersInfo {
        auto_model: key.to_owned(),
        custom_class: Some(path.to_owned()),
        pipeline_tag: task.map(str::to_owned),
        processor: None,
    })
}
