//! Derivation on hand-built cards, configs and file lists: the gpt2 recording of the contract,
//! task inference through the generated tables, every precedence rule, and hostile shapes.

use serde_json::{Value, json};

use super::*;

const GPT2_FILES: [&str; 12] = [
    ".gitattributes",
    "64-8bits.tflite",
    "README.md",
    "config.json",
    "flax_model.msgpack",
    "generation_config.json",
    "merges.txt",
    "model.safetensors",
    "onnx/decoder_model.onnx",
    "pytorch_model.bin",
    "rust_model.ot",
    "tf_model.h5",
];

fn gpt2_config() -> Value {
    json!({
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_ctx": 1024,
        "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
        "vocab_size": 50257
    })
}

fn derive(card: Option<&Value>, config: Option<&Value>, files: &[&str]) -> Derived {
    derive_model(&Inputs { card, config, files })
}

#[test]
fn gpt2_copy_without_library_name() {
    // The copy of gpt2 recorded in contracts-wave2 §2.2: no library, so no task either.
    let card = json!({"language": "en", "tags": ["exbert"], "license": "mit"});
    let config = gpt2_config();
    let derived = derive(Some(&card), Some(&config), &GPT2_FILES);
    assert_eq!(
        derived.tags,
        [
            "pytorch",
            "tf",
            "jax",
            "tflite",
            "rust",
            "onnx",
            "safetensors",
            "gpt2",
            "exbert",
            "en",
            "license:mit"
        ]
    );
    assert_eq!(
        derived.config,
        Some(json!({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "tokenizer_config": {}}))
    );
    assert_eq!(derived.library_name, None);
    assert_eq!(derived.pipeline_tag, None);
    assert_eq!(derived.transformers_info, None);
    assert_eq!(derived.widget_data, None);
    assert_eq!(derived.base_models, None);
    assert_eq!(derived.mask_token, None);
}

#[test]
fn gpt2_with_transformers_library() {
    let card =
        json!({"language": "en", "tags": ["exbert"], "license": "mit", "library_name": "transformers"});
    let config = gpt2_config();
    let derived = derive(Some(&card), Some(&config), &GPT2_FILES);
    assert_eq!(derived.library_name.as_deref(), Some("transformers"));
    assert_eq!(derived.pipeline_tag.as_deref(), Some("text-generation"));
    assert_eq!(
        derived.transformers_info,
        Some(TransformersInfo {
            auto_model: "AutoModelForCausalLM".into(),
            custom_class: None,
            pipeline_tag: Some("text-generation".into()),
            processor: Some("AutoTokenizer".into()),
        })
    );
    let head: Vec<&str> = derived.tags.iter().map(String::as_str).take(10).collect();
    assert_eq!(
        head,
        [
            "transformers",
            "pytorch",
            "tf",
            "jax",
            "tflite",
            "rust",
            "onnx",
            "safetensors",
            "gpt2",
            "text-generation"
        ]
    );
    let widget = derived.widget_data.unwrap_or_default();
    assert_eq!(widget.get(0), Some(&json!({"text": "My name is Julien and I like to"})));
    let info = serde_json::to_value(&derived.transformers_info).unwrap_or_default();
    assert_eq!(
        info,
        json!({"auto_model": "AutoModelForCausalLM", "pipeline_tag": "text-generation", "processor": "AutoTokenizer"})
    );
}

#[test]
fn bert_for_masked_lm_is_fill_mask() {
    let card = json!({"library_name": "transformers"});
    let config = json!({"architectures": ["BertForMaskedLM"], "model_type": "bert"});
    let derived = derive(Some(&card), Some(&config), &["config.json", "model.safetensors"]);
    assert_eq!(derived.pipeline_tag.as_deref(), Some("fill-mask"));
    let info = derived.transformers_info.unwrap_or_default();
    assert_eq!(info.auto_model, "AutoModelForMaskedLM");
    assert_eq!(info.processor.as_deref(), Some("AutoTokenizer"));
    assert_eq!(derived.mask_token.as_deref(), Some("[MASK]"));
    assert_eq!(
        derived.widget_data,
        Some(json!([{"text": "Paris is the [MASK] of France."}, {"text": "The goal of life is [MASK]."}]))
    );
}

#[test]
fn card_pipeline_tag_wins_over_config() {
    let card = json!({"library_name": "transformers", "pipeline_tag": "text-classification"});
    let config = json!({"architectures": ["BertForMaskedLM"], "model_type": "bert"});
    let derived = derive(Some(&card), Some(&config), &[]);
    assert_eq!(derived.pipeline_tag.as_deref(), Some("text-classification"));
    // transformersInfo still says how transformers loads the weights.
    assert_eq!(derived.transformers_info.and_then(|i| i.pipeline_tag).as_deref(), Some("fill-mask"));
    assert_eq!(derived.widget_data, Some(json!([{"text": "I like you. I love you"}])));
    // A tag the Hub does not know is ignored and the config's task used.
    let card = json!({"library_name": "transformers", "pipeline_tag": "text2text-generation"});
    let derived = derive(Some(&card), Some(&config), &[]);
    assert_eq!(derived.pipeline_tag.as_deref(), Some("fill-mask"));
}

#[test]
fn library_from_card_then_tag_then_files() {
    let card = json!({"library_name": "flair", "tags": ["timm"]});
    assert_eq!(derive(Some(&card), None, &["x.nemo"]).library_name.as_deref(), Some("flair"));
    let card = json!({"tags": ["exbert", "timm", "open_clip"]});
    let derived = derive(Some(&card), None, &["x.nemo"]);
    assert_eq!(derived.library_name.as_deref(), Some("timm"));
    assert_eq!(derived.tags, ["timm", "exbert", "open_clip"]);
    assert_eq!(derive(None, None, &["sub/model.nemo"]).library_name.as_deref(), Some("nemo"));
    assert_eq!(derive(None, None, &["a.mlmodel"]).library_name.as_deref(), Some("coreml"));
    let gguf = derive(None, None, &["model-Q4_K_M.gguf"]);
    assert_eq!(gguf.library_name.as_deref(), Some("gguf"));
    assert_eq!(gguf.tags, ["gguf"]);
    // config.json alone is not transformers (repos created after August 2024).
    let config = gpt2_config();
    assert_eq!(derive(None, Some(&config), &["config.json"]).library_name, None);
}

#[test]
fn custom_code_through_auto_map() {
    let card = json!({"library_name": "transformers"});
    let config = json!({
        "architectures": ["MyForCausalLM"],
        "model_type": "my",
        "auto_map": {
            "AutoConfig": "configuration_my.MyConfig",
            "AutoModel": "modeling_my.MyModel",
            "AutoModelForCausalLM": "modeling_my.MyForCausalLM",
            "AutoTokenizer": ["tokenization_my.MyTokenizer", null]
        }
    });
    let derived = derive(Some(&card), Some(&config), &[]);
    let info = derived.transformers_info.unwrap_or_default();
    assert_eq!(info.auto_model, "AutoModelForCausalLM");
    assert_eq!(info.custom_class.as_deref(), Some("modeling_my.MyForCausalLM"));
    assert_eq!(info.pipeline_tag.as_deref(), Some("text-generation"));
    assert_eq!(info.processor.as_deref(), Some("AutoTokenizer"));
    let projected = derived.config.unwrap_or_default();
    assert_eq!(projected["auto_map"]["AutoTokenizer"], json!(["tokenization_my.MyTokenizer", null]));
}

#[test]
fn base_models_datasets_and_relation() {
    let card = json!({
        "base_model": "mistralai/Mistral-7B-v0.1",
        "datasets": ["HuggingFaceH4/ultrachat_200k"],
        "language": ["en"],
        "license": "mit",
        "model-index": [{"name": "zephyr"}],
        "tags": ["generated_from_trainer"]
    });
    let derived = derive(Some(&card), None, &["chat_template.jinja"]);
    assert_eq!(
        derived.tags,
        [
            "generated_from_trainer",
            "conversational",
            "en",
            "dataset:HuggingFaceH4/ultrachat_200k",
            "base_model:mistralai/Mistral-7B-v0.1",
            "base_model:finetune:mistralai/Mistral-7B-v0.1",
            "license:mit",
            "model-index"
        ]
    );
    assert_eq!(derived.base_models, Some(json!(["mistralai/Mistral-7B-v0.1"])));
    let merge = json!({"base_model": ["a/x", "b/y", "a/x"]});
    let derived = derive(Some(&merge), None, &[]);
    assert_eq!(derived.base_models, Some(json!(["a/x", "b/y"])));
    assert_eq!(
        derived.tags,
        ["base_model:a/x", "base_model:b/y", "base_model:merge:a/x", "base_model:merge:b/y"]
    );
    let adapter = json!({"base_model": "a/x"});
    assert!(
        derive(Some(&adapter), None, &["adapter_config.json"])
            .tags
            .contains(&"base_model:adapter:a/x".into())
    );
    assert!(derive(Some(&adapter), None, &["m.gguf"]).tags.contains(&"base_model:quantized:a/x".into()));
    let stated = json!({"base_model": "a/x", "base_model_relation": "quantized"});
    assert!(derive(Some(&stated), None, &[]).tags.contains(&"base_model:quantized:a/x".into()));
}

#[test]
fn tokenizer_config_gives_mask_template_and_projection() {
    let card = json!({"library_name": "transformers"});
    let config = json!({"architectures": ["RobertaForMaskedLM"], "model_type": "roberta"});
    let tokenizer = json!({
        "mask_token": {"__type": "AddedToken", "content": "<special-mask>", "lstrip": true, "extra": 1},
        "bos_token": "<s>",
        "pad_token": null,
        "chat_template": "{{ messages }}",
        "model_max_length": 512
    });
    let inputs = Inputs { card: Some(&card), config: Some(&config), files: &[] };
    let derived = derive_model_with_tokenizer(&inputs, Some(&tokenizer));
    assert_eq!(derived.mask_token.as_deref(), Some("<special-mask>"));
    assert!(derived.tags.contains(&"conversational".to_owned()));
    assert_eq!(
        derived.config.map(|c| c["tokenizer_config"].clone()),
        Some(json!({
            "bos_token": "<s>",
            "pad_token": null,
            "chat_template": "{{ messages }}",
            "mask_token": {"__type": "AddedToken", "content": "<special-mask>", "lstrip": true}
        }))
    );
    // Without the tokenizer config the model type's default applies.
    assert_eq!(derive_model(&inputs).mask_token.as_deref(), Some("<mask>"));
}

#[test]
fn quantization_config_is_projected() {
    let config = json!({
        "model_type": "llama",
        "quantization_config": {"quant_method": "gptq", "bits": 4, "damp_percent": 0.1, "load_in_4bit": "yes"}
    });
    let derived = derive(None, Some(&config), &[]);
    assert_eq!(
        derived.config,
        Some(
            json!({"model_type": "llama", "quantization_config": {"quant_method": "gptq", "bits": 4}, "tokenizer_config": {}})
        )
    );
}

#[test]
fn hostile_shapes_never_fail() {
    let shapes = [
        json!([1, 2, 3]),
        json!(42),
        json!("card"),
        json!(null),
        json!({"tags": 5, "language": {"en": true}, "license": ["mit", 3], "library_name": 7, "pipeline_tag": [],
               "base_model": {"id": "x"}, "datasets": "one/ds", "widget": "text", "base_model_relation": 1}),
        json!({"architectures": "GPT2LMHeadModel", "model_type": 3, "auto_map": [1], "quantization_config": "q"}),
        json!({"architectures": [[]], "auto_map": {"AutoModel": {"x": 1}, "AutoModelForCausalLM": 3}}),
    ];
    for card in &shapes {
        for config in &shapes {
            let derived = derive(Some(card), Some(config), &["", "/", ".bin", "a//b.safetensors"]);
            assert!(derived.tags.len() <= MAX_TAGS);
            assert!(derived.transformers_info.is_none());
        }
    }
    let card = &shapes[4];
    let derived = derive(Some(card), None, &[]);
    assert_eq!(derived.tags, ["dataset:one/ds", "license:mit"]);
    assert_eq!(derived.library_name, None);
    assert_eq!(derived.widget_data, None);
    assert_eq!(derived.base_models, None);
    let config = &shapes[5];
    assert_eq!(derive(None, Some(config), &[]).config, Some(json!({"tokenizer_config": {}})));
}

#[test]
fn huge_inputs_stay_bounded() {
    let tags: Vec<String> = (0..10_000).map(|i| format!("tag{i}")).collect();
    let card = json!({"tags": tags, "language": "x".repeat(10_000)});
    let paths: Vec<String> = (0..100_000).map(|i| format!("shard-{i}.safetensors")).collect();
    let files: Vec<&str> = paths.iter().map(String::as_str).collect();
    let derived = derive(Some(&card), None, &files);
    assert_eq!(derived.tags.len(), MAX_TAGS);
    assert_eq!(derived.tags.first().map(String::as_str), Some("safetensors"));
    assert!(derived.tags.iter().all(|t| t.len() <= MAX_STRING));
}

#[test]
fn custom_code_choice_among_auto_classes() {
    let card = json!({"library_name": "transformers"});
    let pick = |arch: &str| {
        let config = json!({
            "architectures": [arch],
            "auto_map": {
                "AutoModel": "other--modeling_my.MyModel",
                "AutoModelForCausalLM": "modeling_my.MyForCausalLM",
                "AutoConfig": "configuration_my.MyConfig"
            }
        });
        derive(Some(&card), Some(&config), &[]).transformers_info.map(|i| (i.auto_model, i.pipeline_tag))
    };
    // The entry naming the architecture wins, even a generic one.
    assert_eq!(pick("MyModel"), Some(("AutoModel".into(), Some("feature-extraction".into()))));
    // Else the most specific head.
    assert_eq!(pick("Unlisted"), Some(("AutoModelForCausalLM".into(), Some("text-generation".into()))));
    // A known architecture is not overridden by auto_map's other entries.
    assert_eq!(pick("BertModel"), Some(("AutoModel".into(), Some("feature-extraction".into()))));
    let none = json!({"architectures": ["Unlisted"], "auto_map": {"AutoConfig": "c.C"}});
    assert_eq!(derive(Some(&card), Some(&none), &[]).transformers_info, None);
}
