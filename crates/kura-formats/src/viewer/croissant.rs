//! The Croissant 1.1 JSON-LD document of a dataset, shaped like Hugging Face's
//! `GET /api/datasets/{id}/croissant`: dataset-viewer's `/croissant-crumbs`
//! (`services/worker/.../dataset/croissant_crumbs.py`, `libcommon/croissant_utils.py`) plus the
//! Hub's `name`, `description`, `alternateName`, `license` and `url`.
//!
//! Layout: `distribution` holds one `cr:FileObject` "repo" (the parquet export's tree,
//! `encodingFormat: git+https`; its `sha256` is the URL HF puts there because Croissant demands a
//! checksum, see mlcommons/croissant#80) and one `cr:FileSet` per config (`includes:
//! "{config}/*/*.parquet"`). HF lists no individual parquet files, so neither does kura. Each
//! config gets a `cr:Split` record set of its split names and a record set with a `split` field
//! (from the file path) and one `cr:Field` per supported column; unsupported columns are named in
//! the record set's description. Ids are escaped (`[^a-zA-Z0-9-_.]` → `_`) and made unique.
//!
//! Decisions where HF's code is odd: HF seeds its id set with the *letters* of "repo"
//! (`set("repo")`); kura seeds it with "repo". HF puts `null` in `subField` for an unsupported
//! struct member; kura leaves the member out. Budgets: 100 configs (the rest are dropped and the
//! descriptions say so, as HF does), 1,000 fields per record set (the rest are listed as
//! skipped), feature nesting depth 32.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

/// Configs described at most.
pub const MAX_CONFIGS: usize = 100;
/// Columns described per config at most.
pub const MAX_COLUMNS: usize = 1000;
const MAX_DEPTH: usize = 32;
const REPO_ID: &str = "repo";

/// What [`croissant`] needs to know about a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct CroissantInput {
    /// `owner/name`.
    pub dataset: String,
    /// The card's description, if any.
    pub description: Option<String>,
    /// A license id from the card (`mit`, `cc-by-4.0`) or a URL.
    pub license: Option<String>,
    /// The dataset's page, e.g. `https://kura.example/datasets/owner/name`.
    pub url: String,
    /// True when only a prefix of the data was converted (adds "(first 5GB)" as HF does).
    pub partial: bool,
    pub configs: Vec<CroissantConfig>,
}

/// One config of the parquet export.
#[derive(Debug, Clone, PartialEq)]
pub struct CroissantConfig {
    pub name: String,
    pub splits: Vec<String>,
    /// `(column name, datasets feature JSON)` in column order.
    pub features: Vec<(String, Value)>,
}

/// Builds the JSON-LD document.
pub fn croissant(input: &CroissantInput) -> Value {
    let mut ids: HashSet<String> = HashSet::from([REPO_ID.to_owned()]);
    let mut distribution = vec![json!({
        "@type": "cr:FileObject",
        "@id": REPO_ID,
        "name": REPO_ID,
        "description": "The Hugging Face git repository.",
        "contentUrl": format!("{}/tree/refs%2Fconvert%2Fparquet", input.url.trim_end_matches('/')),
        "encodingFormat": "git+https",
        "sha256": "https://github.com/mlcommons/croissant/issues/80",
    })];
    let mut record_sets = Vec::new();
    let truncated = input.configs.len() > MAX_CONFIGS;
    for config in input.configs.iter().take(MAX_CONFIGS) {
        let file_set = escape_id(&format!("parquet-files-for-config-{}", config.name), &mut ids);
        distribution.push(json!({
            "@type": "cr:FileSet",
            "@id": file_set,
            "containedIn": {"@id": REPO_ID},
            "encodingFormat": "application/x-parquet",
            "includes": format!("{}/*/*.parquet", config.name),
        }));
        let name = if input.dataset == config.name {
            format!("record_set_{}", config.name)
        } else {
            config.name.clone()
        };
        let record_set = escape_id(&name, &mut ids);
        record_sets.push(splits_record_set(&record_set, &config.splits));
        record_sets.push(config_record_set(input, config, &record_set, &file_set, truncated, &mut ids));
    }
    let mut doc = Map::new();
    doc.insert("@context".into(), context());
    doc.insert("@type".into(), json!("sc:Dataset"));
    doc.insert("conformsTo".into(), json!("http://mlcommons.org/croissant/1.1"));
    doc.insert("distribution".into(), Value::Array(distribution));
    doc.insert("recordSet".into(), Value::Array(record_sets));
    let short = input.dataset.rsplit('/').next().unwrap_or(&input.dataset);
    doc.insert("name".into(), json!(short));
    if let Some(d) = &input.description {
        doc.insert("description".into(), json!(d));
    }
    doc.insert("alternateName".into(), json!([input.dataset]));
    if let Some(l) = &input.license {
        doc.insert("license".into(), json!(license_url(l)));
    }
    doc.insert("url".into(), json!(input.url));
    Value::Object(doc)
}

fn license_url(license: &str) -> String {
    if license.starts_with("http://") || license.starts_with("https://") {
        return license.to_owned();
    }
    format!("https://choosealicense.com/licenses/{license}/")
}

fn splits_record_set(record_set: &str, splits: &[String]) -> Value {
    let id = format!("{record_set}_splits");
    let key = format!("{id}/split_name");
    let data: Vec<Value> = splits.iter().map(|s| json!({ key.clone(): s })).collect();
    json!({
        "@type": "cr:RecordSet",
        "dataType": "cr:Split",
        "key": {"@id": key},
        "@id": id,
        "name": id,
        "description": format!("Splits for the {record_set} config."),
        "field": [{"@type": "cr:Field", "@id": key, "dataType": "sc:Text"}],
        "data": data,
    })
}

fn config_record_set(
    input: &CroissantInput,
    config: &CroissantConfig,
    record_set: &str,
    file_set: &str,
    truncated_configs: bool,
    ids: &mut HashSet<String>,
) -> Value {
    let piped: Vec<String> = config.splits.iter().map(|s| regex_escape(s)).collect();
    let mut fields = vec![json!({
        "@type": "cr:Field",
        "@id": format!("{record_set}/split"),
        "dataType": "sc:Text",
        "source": {
            "fileSet": {"@id": file_set},
            "extract": {"fileProperty": "fullpath"},
            "transform": {"regex": format!("{}/(?:partial-)?({})/.+parquet$", regex_escape(&config.name), piped.join("|"))},
        },
        "references": {"field": {"@id": format!("{record_set}_splits/split_name")}},
    })];
    let mut skipped = Vec::new();
    for (i, (column, feature)) in config.features.iter().enumerate() {
        let id = format!("{record_set}/{}", escape_id(column, &mut HashSet::new()));
        let ctx = FieldCtx { file_set, column };
        match (i < MAX_COLUMNS).then(|| field(&ctx, id, feature, &[], ids, 0)).flatten() {
            Some(f) => fields.push(f),
            None => skipped.push(column.as_str()),
        }
    }
    let mut description = format!("{} - '{}' subset", input.dataset, config.name);
    if input.partial {
        description.push_str(" (first 5GB)");
    }
    if truncated_configs {
        description
            .push_str(&format!(" (only the first {MAX_CONFIGS} subsets are included in this metadata)"));
    }
    let mut body = String::new();
    if config.splits.len() > 1 {
        body.push_str(&format!("\n- {} splits: {}", config.splits.len(), config.splits.join(", ")));
    }
    if !skipped.is_empty() {
        let s = if skipped.len() > 1 { "s" } else { "" };
        body.push_str(&format!("\n- {} skipped column{s}: {}", skipped.len(), skipped.join(", ")));
    }
    if !body.is_empty() {
        description.push_str("\n\nAdditional information:");
        description.push_str(&body);
    }
    json!({"@type": "cr:RecordSet", "@id": record_set, "description": description, "field": fields})
}

struct FieldCtx<'a> {
    file_set: &'a str,
    column: &'a str,
}

fn source(ctx: &FieldCtx<'_>, json_path: &[String]) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("fileSet".into(), json!({"@id": ctx.file_set}));
    s.insert("extract".into(), json!({"column": ctx.column}));
    match json_path {
        [] => {}
        [one] => {
            s.insert("transform".into(), json!({"jsonPath": one}));
        }
        many => {
            let t: Vec<Value> = many.iter().map(|p| json!({"jsonPath": p})).collect();
            s.insert("transform".into(), Value::Array(t));
        }
    }
    s
}

fn leaf(id: String, data_type: &str, source: Map<String, Value>) -> Value {
    json!({"@type": "cr:Field", "@id": id, "dataType": data_type, "source": source})
}

/// The Croissant type of a `Value` dtype, as HF maps it.
pub fn value_data_type(dtype: &str) -> Option<&'static str> {
    Some(match dtype {
        "binary" | "string" | "large_string" => "sc:Text",
        "bool" => "sc:Boolean",
        "date32" | "date64" => "sc:Date",
        "float8" => "sc:Float",
        "float16" => "cr:Float16",
        "float32" => "cr:Float32",
        "float64" => "cr:Float64",
        "int8" => "cr:Int8",
        "int16" => "cr:Int16",
        "int32" => "cr:Int32",
        "int64" => "cr:Int64",
        "uint8" => "cr:UInt8",
        "uint16" => "cr:UInt16",
        "uint32" => "cr:UInt32",
        "uint64" => "cr:UInt64",
        "time32[s]" | "time32[ms]" | "time64[us]" | "time64[ns]" => "sc:Time",
        "timestamp[s]" | "timestamp[ms]" | "timestamp[us]" | "timestamp[ns]" => "sc:DateTime",
        _ => return None,
    })
}

fn field(
    ctx: &FieldCtx<'_>,
    id: String,
    feature: &Value,
    path: &[String],
    ids: &mut HashSet<String>,
    depth: usize,
) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    if let Value::Array(inner) = feature {
        let [inner] = inner.as_slice() else { return None };
        return list_field(ctx, id, inner, &[-1], path, ids, depth);
    }
    let obj = feature.as_object()?;
    let Some(kind) = obj.get("_type").and_then(Value::as_str) else {
        return struct_field(ctx, id, obj, path, ids, depth);
    };
    match kind {
        "Value" => Some(leaf(id, value_data_type(obj.get("dtype")?.as_str()?)?, source(ctx, path))),
        "ClassLabel" => Some(leaf(id, "sc:Integer", source(ctx, path))),
        "Image" => {
            let mut s = source(ctx, path);
            let t = match s.remove("transform") {
                Some(t) => json!([t, {"jsonPath": "bytes"}]),
                None => json!({"jsonPath": "bytes"}),
            };
            s.insert("transform".into(), t);
            Some(leaf(id, "sc:ImageObject", s))
        }
        "Audio" => {
            let mut s = source(ctx, path);
            if let Some(rate) = obj.get("sampling_rate").filter(|r| r.as_u64().is_some_and(|r| r > 0)) {
                s.insert("sampling_rate".into(), rate.clone());
            }
            Some(leaf(id, "sc:AudioObject", s))
        }
        "Video" => Some(leaf(id, "sc:VideoObject", source(ctx, path))),
        "List" | "LargeList" | "Sequence" => {
            let inner = obj.get("feature")?;
            let length = if kind == "LargeList" {
                -1
            } else {
                obj.get("length").and_then(Value::as_i64).unwrap_or(-1)
            };
            if kind == "Sequence" && inner.as_object().is_some_and(|o| !o.contains_key("_type")) {
                // datasets turns Sequence(struct) into a struct of lists
                let members = inner.as_object()?;
                let lists: Map<String, Value> = members
                    .iter()
                    .map(|(k, f)| (k.clone(), json!({"_type": "List", "feature": f, "length": length})))
                    .collect();
                return struct_field(ctx, id, &lists, path, ids, depth);
            }
            list_field(ctx, id, inner, &[length], path, ids, depth)
        }
        _ => None,
    }
}

fn list_field(
    ctx: &FieldCtx<'_>,
    id: String,
    inner: &Value,
    shape: &[i64],
    path: &[String],
    ids: &mut HashSet<String>,
    depth: usize,
) -> Option<Value> {
    let mut shape = shape.to_vec();
    let mut inner = inner;
    while let Some(o) = inner.as_object().filter(|o| o.get("_type").and_then(Value::as_str) == Some("List")) {
        if shape.len() > MAX_DEPTH {
            return None;
        }
        shape.push(o.get("length").and_then(Value::as_i64).unwrap_or(-1));
        inner = o.get("feature")?;
    }
    let mut f = field(ctx, id, inner, path, ids, depth + 1)?;
    let dims: Vec<String> = shape.iter().map(|&d| if d == 0 { -1 } else { d }.to_string()).collect();
    if let Some(o) = f.as_object_mut() {
        o.insert("isArray".into(), json!(true));
        o.insert("arrayShape".into(), json!(dims.join(",")));
    }
    Some(f)
}

fn struct_field(
    ctx: &FieldCtx<'_>,
    id: String,
    members: &Map<String, Value>,
    path: &[String],
    ids: &mut HashSet<String>,
    depth: usize,
) -> Option<Value> {
    let mut sub = Vec::new();
    for (name, feature) in members {
        let sub_id = format!("{id}/{}", escape_id(name, ids));
        let mut sub_path = path.to_vec();
        sub_path.push(escape_json_path_key(name));
        if let Some(f) = field(ctx, sub_id, feature, &sub_path, ids, depth + 1) {
            sub.push(f);
        }
    }
    Some(json!({"@type": "cr:Field", "@id": id, "subField": sub}))
}

/// HF's `escape_ids`: characters outside `[a-zA-Z0-9-_.]` become `_`, then `_0` is appended
/// until the id is new; the id is recorded.
fn escape_id(raw: &str, ids: &mut HashSet<String>) -> String {
    let mut id: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    while ids.contains(&id) {
        id.push_str("_0");
    }
    ids.insert(id.clone());
    id
}

/// A struct member as a JSONPath step: bare when `[a-zA-Z0-9_]+`, else `['…']` with `'`, `[`
/// and `]` backslash-escaped unless already escaped.
fn escape_json_path_key(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return name.to_owned();
    }
    let mut out = String::from("['");
    let mut prev = '\0';
    for c in name.chars() {
        if matches!(c, '\'' | '[' | ']') && prev != '\\' {
            out.push('\\');
        }
        out.push(c);
        prev = c;
    }
    out.push_str("']");
    out
}

/// Python's `re.escape` (3.7+): backslash before regex-special characters and whitespace.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn context() -> Value {
    let mut c = Map::new();
    c.insert("@language".into(), json!("en"));
    c.insert("@vocab".into(), json!("https://schema.org/"));
    c.insert("cr".into(), json!("http://mlcommons.org/croissant/"));
    c.insert("dct".into(), json!("http://purl.org/dc/terms/"));
    c.insert("sc".into(), json!("https://schema.org/"));
    c.insert("conformsTo".into(), json!("dct:conformsTo"));
    c.insert("data".into(), json!({"@id": "cr:data", "@type": "@json"}));
    c.insert("dataType".into(), json!({"@id": "cr:dataType", "@type": "@vocab"}));
    for term in [
        "arrayShape",
        "citeAs",
        "column",
        "containedIn",
        "dataBiases",
        "dataCollection",
        "extract",
        "field",
        "fileProperty",
        "fileObject",
        "fileSet",
        "format",
        "includes",
        "isArray",
        "isLiveDataset",
        "jsonPath",
        "key",
        "md5",
        "parentField",
        "path",
        "personalSensitiveInformation",
        "recordSet",
        "references",
        "regex",
        "repeated",
        "replace",
        "separator",
        "source",
        "subField",
        "transform",
    ] {
        c.insert(term.into(), json!(format!("cr:{term}")));
    }
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(dtype: &str) -> Value {
        json!({"_type": "Value", "dtype": dtype})
    }

    pub(super) fn sample() -> CroissantInput {
        let features = vec![
            ("text".to_string(), v("string")),
            ("label".to_string(), json!({"_type": "ClassLabel", "names": ["neg", "pos"]})),
            ("score".to_string(), v("float32")),
            ("ok".to_string(), v("bool")),
            ("image".to_string(), json!({"_type": "Image"})),
            ("audio".to_string(), json!({"_type": "Audio", "sampling_rate": 16000})),
            ("tokens".to_string(), json!({"_type": "List", "feature": v("int64")})),
            (
                "matrix".to_string(),
                json!({"_type": "List", "feature": {"_type": "List", "feature": v("float64"), "length": 3}}),
            ),
            (
                "meta".to_string(),
                json!({"source": v("string"), "a b'c": {"x": v("int8")}, "blob": {"_type": "Json"}}),
            ),
            ("old".to_string(), json!({"_type": "Sequence", "feature": {"k": v("string")}, "length": -1})),
            ("when".to_string(), v("timestamp[us, tz=UTC]")),
            ("pdf".to_string(), json!({"_type": "Pdf"})),
        ];
        CroissantInput {
            dataset: "alice/demo".into(),
            description: Some("A demo dataset.".into()),
            license: Some("mit".into()),
            url: "https://kura.example/datasets/alice/demo".into(),
            partial: false,
            configs: vec![
                CroissantConfig {
                    name: "default".into(),
                    splits: vec!["train".into(), "test".into()],
                    features,
                },
                CroissantConfig {
                    name: "extra v2".into(),
                    splits: vec!["train.v1".into()],
                    features: vec![("text".into(), v("large_string"))],
                },
            ],
        }
    }

    fn find<'a>(fields: &'a Value, id: &str) -> &'a Value {
        fields
            .as_array()
            .and_then(|a| a.iter().find(|f| f["@id"] == id))
            .unwrap_or_else(|| panic!("no field {id}"))
    }

    #[test]
    fn top_level_and_distribution() {
        let doc = croissant(&sample());
        assert_eq!(doc["@type"], "sc:Dataset");
        assert_eq!(doc["conformsTo"], "http://mlcommons.org/croissant/1.1");
        assert_eq!(doc["@context"]["cr"], "http://mlcommons.org/croissant/");
        assert_eq!(doc["@context"]["subField"], "cr:subField");
        assert_eq!(doc["name"], "demo");
        assert_eq!(doc["alternateName"], json!(["alice/demo"]));
        assert_eq!(doc["license"], "https://choosealicense.com/licenses/mit/");
        assert_eq!(doc["url"], "https://kura.example/datasets/alice/demo");
        let dist = doc["distribution"].as_array().unwrap();
        assert_eq!(dist.len(), 3);
        assert_eq!(
            dist[0]["contentUrl"],
            "https://kura.example/datasets/alice/demo/tree/refs%2Fconvert%2Fparquet"
        );
        assert_eq!(dist[1]["@type"], "cr:FileSet");
        assert_eq!(dist[1]["includes"], "default/*/*.parquet");
        assert_eq!(dist[1]["encodingFormat"], "application/x-parquet");
        assert_eq!(dist[2]["@id"], "parquet-files-for-config-extra_v2");
        assert_eq!(dist[2]["includes"], "extra v2/*/*.parquet");
    }

    #[test]
    fn record_sets_and_fields() {
        let doc = croissant(&sample());
        let rs = doc["recordSet"].as_array().unwrap();
        assert_eq!(rs.len(), 4);
        assert_eq!(rs[0]["@id"], "default_splits");
        assert_eq!(
            rs[0]["data"],
            json!([{"default_splits/split_name": "train"}, {"default_splits/split_name": "test"}])
        );
        let main = &rs[1];
        assert_eq!(main["@id"], "default");
        assert_eq!(
            main["description"],
            "alice/demo - 'default' subset\n\nAdditional information:\n- 2 splits: train, test\n- 2 skipped columns: when, pdf"
        );
        let f = &main["field"];
        assert_eq!(
            find(f, "default/split")["source"]["transform"]["regex"],
            "default/(?:partial-)?(train|test)/.+parquet$"
        );
        assert_eq!(find(f, "default/text")["dataType"], "sc:Text");
        assert_eq!(
            find(f, "default/text")["source"],
            json!({"fileSet": {"@id": "parquet-files-for-config-default"}, "extract": {"column": "text"}})
        );
        assert_eq!(find(f, "default/label")["dataType"], "sc:Integer");
        assert_eq!(find(f, "default/score")["dataType"], "cr:Float32");
        assert_eq!(find(f, "default/ok")["dataType"], "sc:Boolean");
        assert_eq!(find(f, "default/image")["dataType"], "sc:ImageObject");
        assert_eq!(find(f, "default/image")["source"]["transform"], json!({"jsonPath": "bytes"}));
        assert_eq!(find(f, "default/audio")["source"]["sampling_rate"], 16000);
        let tokens = find(f, "default/tokens");
        assert_eq!(
            (tokens["dataType"].clone(), tokens["isArray"].clone(), tokens["arrayShape"].clone()),
            (json!("cr:Int64"), json!(true), json!("-1"))
        );
        assert_eq!(find(f, "default/matrix")["arrayShape"], "-1,3");
        let meta = find(f, "default/meta");
        let sub = &meta["subField"];
        assert_eq!(sub.as_array().map(Vec::len), Some(2), "the Json member is left out");
        assert_eq!(find(sub, "default/meta/source")["source"]["transform"], json!({"jsonPath": "source"}));
        let nested = find(sub, "default/meta/a_b_c");
        assert_eq!(
            find(&nested["subField"], "default/meta/a_b_c/x")["source"]["transform"],
            json!([{"jsonPath": "['a b\\'c']"}, {"jsonPath": "x"}])
        );
        let old = find(f, "default/old");
        assert_eq!(find(&old["subField"], "default/old/k")["isArray"], true);
        // the second config: its split name is regex-escaped, its id escaped
        let extra = &rs[3];
        assert_eq!(extra["@id"], "extra_v2");
        assert_eq!(
            find(&extra["field"], "extra_v2/split")["source"]["transform"]["regex"],
            "extra\\ v2/(?:partial-)?(train\\.v1)/.+parquet$"
        );
        assert_eq!(extra["description"], "alice/demo - 'extra v2' subset");
    }

    #[test]
    fn ids_are_unique_and_budgets_hold() {
        let mut input = sample();
        input.configs = (0..MAX_CONFIGS + 3)
            .map(|i| CroissantConfig {
                name: if i % 2 == 0 { "a/b".into() } else { "a_b".into() },
                splits: vec!["train".into()],
                features: (0..MAX_COLUMNS + 2).map(|c| (format!("c{c}"), v("int32"))).collect(),
            })
            .collect();
        input.partial = true;
        let doc = croissant(&input);
        let rs = doc["recordSet"].as_array().unwrap();
        assert_eq!(rs.len(), 2 * MAX_CONFIGS);
        let mut seen = HashSet::new();
        for d in doc["distribution"].as_array().unwrap() {
            assert!(seen.insert(d["@id"].as_str().unwrap().to_owned()), "duplicate {}", d["@id"]);
        }
        assert_eq!(rs[3]["@id"], "a_b_0");
        let fields = rs[1]["field"].as_array().unwrap();
        assert_eq!(fields.len(), MAX_COLUMNS + 1);
        let desc = rs[1]["description"].as_str().unwrap();
        assert!(
            desc.starts_with("alice/demo - 'a/b' subset (first 5GB) (only the first 100 subsets"),
            "{desc}"
        );
        assert!(desc.ends_with("2 skipped columns: c1000, c1001"), "{desc}");
        // deep nesting does not overflow the stack
        let mut deep = v("int8");
        for _ in 0..1_000 {
            deep = json!({"x": deep});
        }
        let cfg = CroissantConfig { name: "d".into(), splits: vec![], features: vec![("deep".into(), deep)] };
        input.configs = vec![cfg];
        let doc = croissant(&input);
        assert!(doc["recordSet"][1]["field"].as_array().is_some());
    }

    #[test]
    fn record_set_named_like_the_dataset_gets_a_prefix() {
        let mut input = sample();
        input.dataset = "solo".into();
        input.configs[0].name = "solo".into();
        input.license = Some("https://example.org/l".into());
        input.description = None;
        let doc = croissant(&input);
        assert_eq!(doc["recordSet"][1]["@id"], "record_set_solo");
        assert_eq!(doc["license"], "https://example.org/l");
        assert!(doc.get("description").is_none());
    }

    /// Writes the sample document for `scripts/validate_croissant.py`:
    /// `cargo test -p kura-formats -- --ignored write_croissant_sample`.
    #[test]
    #[ignore]
    fn write_croissant_sample() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/viewer/croissant_sample.json");
        let text = serde_json::to_string_pretty(&croissant(&sample())).unwrap();
        std::fs::write(path, text + "\n").unwrap();
    }

    #[test]
    fn committed_sample_is_current() {
        let committed: Value =
            serde_json::from_str(include_str!("../../tests/data/viewer/croissant_sample.json")).unwrap();
        assert_eq!(croissant(&sample()), committed, "re-run the ignored write_croissant_sample test");
    }
}
