//! What the Hub derives about a model from its card, its config.json and its file list:
//! `library_name`, `pipeline_tag`, `transformersInfo`, `config`, `tags`, `widgetData`,
//! `baseModels` and `mask_token`. Values in, values out; every input may be hostile (the card
//! is whatever the README's YAML says, the file list may hold 100,000 paths), so every list
//! read and every string used has a bound, and no shape makes it fail.
//!
//! The rules and where each comes from (kura's choices where the Hub does not say):
//! * `library_name`: the card's `library_name`; else the first card tag that is a library id
//!   of huggingface.js `model-libraries.ts`; else from files: `*.nemo` → `nemo`, `*.mlmodel`
//!   or `*.mlpackage` → `coreml` (hub-docs `model-cards.md`), `*.gguf` → `gguf` (hub-docs
//!   `gguf.md` filters GGUF models with `library=gguf`). A config.json alone does not make a
//!   transformers model: the Hub stopped assuming it for repos created after August 2024, and
//!   every repo kura creates is newer than that.
//! * `pipeline_tag`: the card's, when it is one of the Hub's tags (`pipelines.ts`); else, for
//!   transformers models, the task of `transformersInfo` (see `transformers.rs` and
//!   `scripts/gen_arch_tasks.py`).
//! * `mask_token`: the tokenizer config's when given, else the default of the model type's
//!   tokenizer class in transformers.
//! * `baseModels`: the card's `base_model` ids as a list (huggingface_hub types it `list[str]`);
//!   the relation for the `base_model:<relation>:<id>` tags is the card's
//!   `base_model_relation`, else `merge` for several bases, `adapter` with an
//!   `adapter_config.json`, `quantized` with GGUF files or a `quantization_config`, else
//!   `finetune`.

mod card;
mod files;
mod tables;
mod tags;
mod transformers;
mod widgets;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use card::{Card, short_str};
use files::{FileFacts, Format};
use tags::Tags;

pub use card::{MAX_LIST, MAX_STRING};
pub use tags::MAX_TAGS;

/// What the derivation reads about one revision of a model repository.
pub struct Inputs<'a> {
    /// The README's YAML front matter as JSON (`cardData`): any JSON shape.
    pub card: Option<&'a Value>,
    /// The parsed config.json, when present and valid JSON.
    pub config: Option<&'a Value>,
    /// The repository's paths at the revision.
    pub files: &'a [&'a str],
}

/// How transformers loads the model (`transformersInfo`, huggingface_hub `TransformersInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TransformersInfo {
    /// The Auto class, e.g. `AutoModelForCausalLM`.
    pub auto_model: String,
    /// The class `auto_map` names for that Auto class (custom code), e.g. `modeling_x.XModel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    /// The processor Auto class, e.g. `AutoTokenizer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor: Option<String>,
}

/// What the Hub derives (field names are this crate's; the API edge names them on the wire).
/// Stored with the commit's facts (hence `Deserialize`, with defaults for fields added later).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Derived {
    pub library_name: Option<String>,
    pub pipeline_tag: Option<String>,
    pub transformers_info: Option<TransformersInfo>,
    /// The projection of config.json (and of tokenizer_config.json under `tokenizer_config`).
    pub config: Option<Value>,
    /// The computed tags, without `region:*` (the server adds its own).
    pub tags: Vec<String>,
    pub widget_data: Option<Value>,
    /// The base model ids, a JSON list of strings.
    pub base_models: Option<Value>,
    pub mask_token: Option<String>,
}

/// Relations a card may state in `base_model_relation` (hub-docs `model-cards.md`).
const RELATIONS: [&str; 4] = ["adapter", "merge", "quantized", "finetune"];

/// Derives what the Hub computes from a model's card, config.json and file list.
pub fn derive_model(inputs: &Inputs<'_>) -> Derived {
    derive_model_with_tokenizer(inputs, None)
}

/// [`derive_model`] with the parsed tokenizer_config.json too, which gives
/// `config.tokenizer_config`, the mask token and the `conversational` tag of a chat template.
pub fn derive_model_with_tokenizer(inputs: &Inputs<'_>, tokenizer_config: Option<&Value>) -> Derived {
    let card = Card::new(inputs.card);
    let files = FileFacts::scan(inputs.files);
    let config = inputs.config.filter(|c| c.is_object());
    let library_name = library_name(&card, &files);
    let transformers_info = match library_name.as_deref() {
        Some("transformers") => config.and_then(transformers::transformers_info),
        _ => None,
    };
    let pipeline_tag = card
        .string("pipeline_tag")
        .filter(|tag| tables::is_pipeline_tag(tag))
        .map(str::to_owned)
        .or_else(|| transformers_info.as_ref().and_then(|info| info.pipeline_tag.clone()));
    let model_type = config.and_then(|c| c.get("model_type")).and_then(short_str);
    let mask_token = tokenizer_config
        .and_then(transformers::mask_token)
        .or_else(|| model_type.and_then(tables::mask_token).map(str::to_owned));
    let widget_data = widgets::from_card(card.get("widget")).or_else(|| {
        pipeline_tag.as_deref().and_then(|task| widgets::default_for(task, mask_token.as_deref()))
    });
    let bases = BaseModels::read(&card, &files, config);
    let conversational = files.chat_template || tokenizer_config.is_some_and(transformers::has_chat_template);

    let mut tags = Tags::default();
    tags.extend(library_name.as_deref());
    tags.extend(files.formats().map(Format::tag));
    tags.extend(model_type);
    tags.extend(pipeline_tag.as_deref());
    tags.extend(card.strings("tags"));
    tags.extend(conversational.then_some("conversational"));
    tags.extend(card.strings("language"));
    tags.push_prefixed("dataset:", card.strings("datasets"));
    if let Some(bases) = &bases {
        tags.push_prefixed("base_model:", bases.ids.iter().copied());
        tags.push_prefixed(&format!("base_model:{}:", bases.relation), bases.ids.iter().copied());
    }
    tags.push_prefixed("license:", card.strings("license"));
    tags.extend(card.get("model-index").filter(|v| !v.is_null()).map(|_| "model-index"));

    Derived {
        library_name,
        pipeline_tag,
        transformers_info,
        config: project_config(config, tokenizer_config),
        tags: tags.into_vec(),
        widget_data,
        base_models: bases.map(|b| b.ids.into_iter().map(Value::from).collect()),
        mask_token,
    }
}

/// The library: the card's word, then a card tag naming a known library, then the files.
fn library_name(card: &Card<'_>, files: &FileFacts) -> Option<String> {
    if let Some(name) = card.string("library_name") {
        return Some(name.to_owned());
    }
    if let Some(tag) = card.strings("tags").into_iter().find(|tag| tables::is_library(tag)) {
        return Some(tag.to_owned());
    }
    let by_files = if files.nemo {
        "nemo"
    } else if files.has(Format::Coreml) {
        "coreml"
    } else if files.has(Format::Gguf) {
        "gguf"
    } else {
        return None;
    };
    Some(by_files.to_owned())
}

/// `config`: the projection of config.json with the tokenizer config's inside; a tokenizer
/// config alone (a GGUF repo with tokenizer files) gives `{tokenizer_config}`.
fn project_config(config: Option<&Value>, tokenizer_config: Option<&Value>) -> Option<Value> {
    let mut out = match config {
        Some(config) => transformers::project_config(config)?,
        None if tokenizer_config.is_some() => Map::new(),
        None => return None,
    };
    let tokenizer = tokenizer_config.map(transformers::project_tokenizer_config).unwrap_or_default();
    out.insert("tokenizer_config".into(), Value::Object(tokenizer));
    Some(Value::Object(out))
}

/// The card's base models and their relation to this model.
struct BaseModels<'a> {
    ids: Vec<&'a str>,
    relation: &'a str,
}

impl<'a> BaseModels<'a> {
    fn read(card: &Card<'a>, files: &FileFacts, config: Option<&Value>) -> Option<Self> {
        let mut ids: Vec<&str> = Vec::new();
        for id in card.strings("base_model") {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return None;
        }
        let stated = card.string("base_model_relation").filter(|r| RELATIONS.contains(r));
        let quantized = files.has(Format::Gguf)
            || config.and_then(|c| c.get("quantization_config")).is_some_and(Value::is_object);
        let relation = match stated {
            Some(relation) => relation,
            None if ids.len() > 1 => "merge",
            None if files.adapter_config => "adapter",
            None if quantized => "quantized",
            None => "finetune",
        };
        Some(Self { ids, relation })
    }
}
