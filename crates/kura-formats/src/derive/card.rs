//! Reading fields of a model card's metadata (the README's YAML front matter as JSON), which
//! anyone who can push writes: any field may have any JSON shape, lists may be long and strings
//! huge. Every reader here takes what has the documented shape and skips the rest.

use serde_json::Value;

/// At most this many entries are read from any list of the card or config.
pub const MAX_LIST: usize = 200;
/// Strings longer than this (in bytes) are not used as tags, ids or names.
pub const MAX_STRING: usize = 200;

/// The metadata of a card, or of nothing when the card is absent or not a JSON object.
#[derive(Clone, Copy)]
pub(crate) struct Card<'a> {
    map: Option<&'a serde_json::Map<String, Value>>,
}

impl<'a> Card<'a> {
    pub fn new(card: Option<&'a Value>) -> Self {
        Self { map: card.and_then(Value::as_object) }
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map?.get(key)
    }

    /// A field holding one short, non-empty string.
    pub fn string(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(short_str)
    }

    /// A field holding a string or a list of strings (YAML lets `language: en` and
    /// `language: [en, fr]` mean the same); other entries are skipped.
    pub fn strings(&self, key: &str) -> Vec<&'a str> {
        strings(self.get(key))
    }
}

/// `value` as a string if it is one, non-empty, of at most [`MAX_STRING`] bytes and without
/// control characters (a tag or id is one line of text).
pub(crate) fn short_str(value: &Value) -> Option<&str> {
    let text = value.as_str()?;
    let ok = !text.is_empty() && text.len() <= MAX_STRING && !text.chars().any(char::is_control);
    ok.then_some(text)
}

/// The short strings of a string-or-list value, in order, at most [`MAX_LIST`] of them.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().take(MAX_LIST).filter_map(short_str).collect(),
        Some(other) => short_str(other).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_take_one_or_many_and_skip_the_rest() {
        let card = json!({"language": "en", "tags": ["a", 3, null, "", {"x": 1}, "b"], "license": 7});
        let card = Card::new(Some(&card));
        assert_eq!(card.strings("language"), ["en"]);
        assert_eq!(card.strings("tags"), ["a", "b"]);
        assert_eq!(card.string("license"), None);
        assert!(card.strings("absent").is_empty());
    }

    #[test]
    fn hostile_shapes_read_as_absent() {
        for card in [json!([1, 2]), json!(3), json!("text"), json!(null)] {
            let card = Card::new(Some(&card));
            assert_eq!(card.string("library_name"), None);
            assert!(card.strings("tags").is_empty());
        }
        let long = "x".repeat(MAX_STRING + 1);
        assert_eq!(short_str(&json!(long)), None);
        assert_eq!(short_str(&json!("a\nb")), None);
        let many: Vec<String> = (0..MAX_LIST + 50).map(|i| format!("t{i}")).collect();
        assert_eq!(strings(Some(&json!(many))).len(), MAX_LIST);
    }
}
