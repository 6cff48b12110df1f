//! `widgetData`: the example inputs of the model page's widget. The card's `widget` list when it
//! has one, else the Hub's defaults for the model's task (English examples of huggingface.js
//! `default-widget-inputs.ts`, kept in `default_widgets.json`), where `<mask>` stands for the
//! model's mask token.

use std::sync::OnceLock;

use serde_json::Value;

use super::card::MAX_LIST;

/// Total bytes of text the card's examples may hold; past it the list is cut.
const MAX_CARD_WIDGET_BYTES: usize = 64 * 1024;

fn defaults() -> &'static Value {
    static DEFAULTS: OnceLock<Value> = OnceLock::new();
    DEFAULTS.get_or_init(|| serde_json::from_str(include_str!("default_widgets.json")).unwrap_or(Value::Null))
}

/// The card's `widget` examples: objects kept as written, bare strings as `{text}` (the shape
/// the Hub's widgets take), anything else skipped. `None` when the card has no such list.
pub(crate) fn from_card(widget: Option<&Value>) -> Option<Value> {
    let items = widget?.as_array()?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for item in items.iter().take(MAX_LIST) {
        let example = match item {
            Value::Object(_) => item.clone(),
            Value::String(text) => serde_json::json!({ "text": text }),
            _ => continue,
        };
        bytes = bytes.saturating_add(example.to_string().len());
        if bytes > MAX_CARD_WIDGET_BYTES {
            break;
        }
        out.push(example);
    }
    Some(Value::Array(out))
}

/// The default examples for a pipeline tag, `<mask>` replaced by `mask_token` when known.
pub(crate) fn default_for(task: &str, mask_token: Option<&str>) -> Option<Value> {
    let mut examples = defaults().get(task).filter(|v| v.is_array())?.clone();
    if let (Some(mask), Value::Array(items)) = (mask_token, &mut examples) {
        for item in items {
            if let Some(Value::String(text)) = item.get_mut("text") {
                *text = text.replace("<mask>", mask);
            }
        }
    }
    Some(examples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_parse_and_mask_is_replaced() {
        assert!(defaults().is_object());
        let fill = default_for("fill-mask", Some("[MASK]"));
        assert_eq!(
            fill,
            Some(
                json!([{"text": "Paris is the [MASK] of France."}, {"text": "The goal of life is [MASK]."}])
            )
        );
        let kept = default_for("fill-mask", None);
        assert_eq!(
            kept.and_then(|v| v.get(0).cloned()),
            Some(json!({"text": "Paris is the <mask> of France."}))
        );
        assert_eq!(default_for("image-classification", None), None);
        assert_eq!(default_for("_source", None), None);
    }

    #[test]
    fn card_examples() {
        let widget = json!(["Hello", {"text": "Hi", "example_title": "greeting"}, 3, null]);
        assert_eq!(
            from_card(Some(&widget)),
            Some(json!([{"text": "Hello"}, {"text": "Hi", "example_title": "greeting"}]))
        );
        assert_eq!(from_card(Some(&json!({"text": "x"}))), None);
        assert_eq!(from_card(None), None);
        let huge: Vec<String> = (0..MAX_LIST).map(|_| "y".repeat(1000)).collect();
        let cut = from_card(Some(&json!(huge))).and_then(|v| v.as_array().map(Vec::len));
        assert!(cut.is_some_and(|n| n < 70), "{cut:?}");
    }
}
