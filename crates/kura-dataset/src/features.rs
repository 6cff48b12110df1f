//! The `datasets` feature JSON of a table: read from the `huggingface` key of a Parquet file's
//! metadata when `datasets` (or kura) wrote it, else derived from the Arrow types the way
//! `datasets.Features.from_arrow_schema` does. Feature JSON is kept as an order-preserving
//! tree (`Json`): the order of struct fields is the order of the columns in the file, and a
//! `datasets` reader casts to it.

use std::fmt::Write as _;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// The Parquet metadata key `datasets` stores its features under.
pub const HF_METADATA_KEY: &str = "huggingface";
/// Deepest feature nesting kura reads or writes.
const MAX_DEPTH: usize = 64;

/// A JSON value whose objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The feature's `_type` (`Value`, `ClassLabel`, `List`, `Image`...); `None` for a struct.
    pub fn feature_type(&self) -> Option<&str> {
        self.get("_type").and_then(Json::as_str)
    }

    /// The same value as plain `serde_json` (object keys sorted).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => serde_json::Value::Number(n.clone()),
            Json::String(s) => serde_json::Value::String(s.clone()),
            Json::Array(items) => serde_json::Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(entries) => {
                serde_json::Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }

    fn memory_size(&self) -> usize {
        std::mem::size_of::<Json>()
            + match self {
                Json::String(s) => s.len(),
                Json::Array(items) => items.iter().map(Json::memory_size).sum(),
                Json::Object(entries) => entries.iter().map(|(k, v)| k.len() + v.memory_size()).sum(),
                _ => 0,
            }
    }

    fn typed(kind: &str, rest: Vec<(String, Json)>) -> Json {
        let mut entries = rest;
        entries.push(("_type".to_owned(), Json::String(kind.to_owned())));
        Json::Object(entries)
    }

    fn value(dtype: String) -> Json {
        Json::typed("Value", vec![("dtype".to_owned(), Json::String(dtype))])
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry()? {
            entries.push((k, v));
        }
        Ok(Json::Object(entries))
    }
}

/// A table's columns and their features, in column order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features(pub Vec<(String, Json)>);

impl Features {
    pub fn get(&self, column: &str) -> Option<&Json> {
        self.0.iter().find(|(name, _)| name == column).map(|(_, f)| f)
    }

    pub fn memory_size(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.memory_size()).sum()
    }

    /// The features as one JSON object (`{column: feature}`), in column order.
    pub fn to_json(&self) -> Json {
        Json::Object(self.0.clone())
    }

    /// The value of the `huggingface` Parquet metadata key that `datasets` writes.
    pub fn hf_metadata(&self) -> String {
        let info = Json::Object(vec![(
            "info".to_owned(),
            Json::Object(vec![("features".to_owned(), self.to_json())]),
        )]);
        serde_json::to_string(&info).unwrap_or_default()
    }
}

/// The features of a table with `schema`: those its `huggingface` metadata names for each
/// column (when present and well formed), else derived from the column's Arrow type.
pub fn features_of(schema: &Schema) -> Features {
    let stored = schema
        .metadata()
        .get(HF_METADATA_KEY)
        .filter(|text| text.len() <= 16 << 20)
        .and_then(|text| serde_json::from_str::<Json>(text).ok())
        .and_then(|json| json.get("info").and_then(|i| i.get("features")).cloned());
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let feature = stored
                .as_ref()
                .and_then(|f| f.get(field.name()))
                .filter(|f| depth(f) <= MAX_DEPTH)
                .cloned()
                .unwrap_or_else(|| feature_of_type(field.data_type(), 0));
            (field.name().clone(), feature)
        })
        .collect();
    Features(columns)
}

fn depth(json: &Json) -> usize {
    match json {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(entries) => 1 + entries.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// The feature `datasets` derives from an Arrow type.
pub fn feature_of_type(data_type: &DataType, level: usize) -> Json {
    if level > MAX_DEPTH {
        return Json::value("null".to_owned());
    }
    let list = |kind: &str, item: &Field, length: Option<i32>| {
        let mut rest = vec![("feature".to_owned(), feature_of_type(item.data_type(), level + 1))];
        if let Some(n) = length {
            rest.push(("length".to_owned(), Json::Number(n.into())));
        }
        Json::typed(kind, rest)
    };
    match data_type {
        DataType::List(item) | DataType::ListView(item) => list("List", item, None),
        DataType::LargeList(item) | DataType::LargeListView(item) => list("LargeList", item, None),
        DataType::FixedSizeList(item, n) => list("List", item, Some(*n)),
        DataType::Struct(fields) => Json::Object(
            fields.iter().map(|f| (f.name().clone(), feature_of_type(f.data_type(), level + 1))).collect(),
        ),
        DataType::Dictionary(_, value) => feature_of_type(value, level + 1),
        other => Json::value(dtype_of(other)),
    }
}

/// The `Value.dtype` string of a scalar Arrow type, as `datasets` spells it.
pub fn dtype_of(data_type: &DataType) -> String {
    let unit = |u: &TimeUnit| match u {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    };
    match data_type {
        DataType::Null => "null".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float16 => "float16".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Utf8 | DataType::Utf8View => "string".into(),
        DataType::LargeUtf8 => "large_string".into(),
        DataType::Binary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "binary".into(),
        DataType::LargeBinary => "large_binary".into(),
        DataType::Date32 => "date32".into(),
        DataType::Date64 => "date64".into(),
        DataType::Time32(u) => format!("time32[{}]", unit(u)),
        DataType::Time64(u) => format!("time64[{}]", unit(u)),
        DataType::Duration(u) => format!("duration[{}]", unit(u)),
        DataType::Timestamp(u, None) => format!("timestamp[{}]", unit(u)),
        DataType::Timestamp(u, Some(tz)) => format!("timestamp[{}, tz={tz}]", unit(u)),
        DataType::Decimal128(p, s) => format!("decimal128({p}, {s})"),
        DataType::Decimal256(p, s) => format!("decimal256({p}, {s})"),
        other => {
            let mut text = String::new();
            let _ = write!(text, "{other}");
            text.to_lowercase()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn derived_features_follow_datasets_names() {
        let schema = Schema::new(vec![
            Field::new("text", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new_list("tags", Field::new("item", DataType::Utf8, true), true),
            Field::new_struct(
                "meta",
                vec![Field::new("z", DataType::Float32, true), Field::new("a", DataType::Boolean, true)],
                true,
            ),
        ]);
        let features = features_of(&schema);
        let text = serde_json::to_string(&features.to_json()).unwrap();
        assert_eq!(
            text,
            r#"{"text":{"dtype":"string","_type":"Value"},"n":{"dtype":"int64","_type":"Value"},"tags":{"feature":{"dtype":"string","_type":"Value"},"_type":"List"},"meta":{"z":{"dtype":"float32","_type":"Value"},"a":{"dtype":"bool","_type":"Value"}}}"#
        );
    }

    #[test]
    fn stored_features_win_and_keep_their_order() {
        let stored = r#"{"info":{"features":{"label":{"names":["neg","pos"],"_type":"ClassLabel"},"img":{"_type":"Image"}}}}"#;
        let schema = Schema::new_with_metadata(
            vec![
                Field::new("img", DataType::Struct(Default::default()), true),
                Field::new("label", DataType::Int64, true),
            ],
            HashMap::from([(HF_METADATA_KEY.to_owned(), stored.to_owned())]),
        );
        let features = features_of(&schema);
        assert_eq!(features.0[0].0, "img");
        assert_eq!(features.get("img").unwrap().feature_type(), Some("Image"));
        assert_eq!(features.get("label").unwrap().feature_type(), Some("ClassLabel"));
        // A broken key falls back to the Arrow types.
        let broken = Schema::new_with_metadata(
            vec![Field::new("x", DataType::Int8, true)],
            HashMap::from([(HF_METADATA_KEY.to_owned(), "{not json".to_owned())]),
        );
        assert_eq!(features_of(&broken).get("x").unwrap().get("dtype").unwrap().as_str(), Some("int8"));
        let _ = Arc::new(0);
    }
}
