//! The Hub's checks of README metadata (`POST /api/validate-yaml`, which the clients call
//! before every upload that adds a root README): the YAML must parse to a mapping, `license`
//! must be one of the Hub's license ids, and `model-index` must have the shape the Hub's
//! evaluation results use. Missing or empty metadata is a warning, not an error. Messages use
//! the Hub's style (`"license" must be one of [...]`), which the client shows to users.

use serde_json::Value;

use crate::card::{front_matter, parse_front_matter};

/// License ids the Hub accepts in `license:` (hub-docs, "Licenses"), plus `other` and
/// `unknown`.
pub const LICENSES: &[&str] = &[
    "apache-2.0",
    "mit",
    "openrail",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m",
    "afl-3.0",
    "artistic-2.0",
    "bsl-1.0",
    "bsd",
    "bsd-2-clause",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "c-uda",
    "cc",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0",
    "cdla-permissive-1.0",
    "cdla-permissive-2.0",
    "wtfpl",
    "ecl-2.0",
    "epl-1.0",
    "epl-2.0",
    "etalab-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "agpl-3.0",
    "gfdl",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "isc",
    "h-research",
    "intel-research",
    "lppl-1.3c",
    "ms-pl",
    "apple-ascl",
    "apple-amlr",
    "mpl-2.0",
    "odc-by",
    "odbl",
    "openmdw-1.0",
    "openmdw-1.1",
    "openrail++",
    "osl-3.0",
    "postgresql",
    "ofl-1.1",
    "ncsa",
    "unlicense",
    "zlib",
    "pddl",
    "lgpl-lr",
    "deepfloyd-if-license",
    "fair-noncommercial-research-license",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "grok2-community",
    "gemma",
    "unknown",
    "other",
];

/// The Hub's warning for a card without metadata.
pub const EMPTY_METADATA: &str = "Empty or missing yaml metadata in repo card (https://huggingface.co/docs/hub/model-cards#model-card-metadata)";

/// Most problems reported for one card.
const MAX_PROBLEMS: usize = 50;

/// What the checks found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardCheck {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Checks a README's metadata (the whole README text).
pub fn check_card(readme: &str) -> CardCheck {
    let mut check = CardCheck::default();
    let Some(yaml) = front_matter(readme) else {
        check.warnings.push(EMPTY_METADATA.to_owned());
        return check;
    };
    let data = match parse_front_matter(yaml) {
        Ok(data) => data,
        Err(message) => {
            check.errors.push(message);
            return check;
        }
    };
    if data.as_object().is_none_or(serde_json::Map::is_empty) {
        check.warnings.push(EMPTY_METADATA.to_owned());
        return check;
    }
    check_license(data.get("license"), &mut check.errors);
    if let Some(index) = data.get("model-index") {
        check_model_index(index, &mut check.errors);
    }
    check.errors.truncate(MAX_PROBLEMS);
    check
}

fn check_license(license: Option<&Value>, errors: &mut Vec<String>) {
    let one_of = || format!("\"license\" must be one of [{}]", LICENSES.join(", "));
    match license {
        None => {}
        Some(Value::String(id)) if LICENSES.contains(&id.as_str()) => {}
        Some(Value::Array(ids)) => {
            for (at, id) in ids.iter().enumerate() {
                if !id.as_str().is_some_and(|id| LICENSES.contains(&id)) {
                    errors.push(format!("\"license[{at}]\" must be one of [{}]", LICENSES.join(", ")));
                }
            }
        }
        Some(_) => errors.push(one_of()),
    }
}

/// `model-index: [{name, results: [{task: {type}, dataset: {type, name}, metrics: [{type, value}]}]}]`.
fn check_model_index(index: &Value, errors: &mut Vec<String>) {
    let Some(models) = index.as_array() else {
        errors.push("\"model-index\" must be an array".to_owned());
        return;
    };
    for (m, model) in models.iter().enumerate() {
        let at = format!("model-index[{m}]");
        require_string(model, "name", &at, errors);
        let Some(results) = model.get("results").and_then(Value::as_array) else {
            errors.push(format!("\"{at}.results\" must be an array"));
            continue;
        };
        for (r, result) in results.iter().enumerate() {
            let at = format!("{at}.results[{r}]");
            match result.get("task") {
                Some(task) if task.is_object() => require_string(task, "type", &format!("{at}.task"), errors),
                _ => errors.push(format!("\"{at}.task\" is required")),
            }
            match result.get("dataset") {
                Some(dataset) if dataset.is_object() => {
                    require_string(dataset, "type", &format!("{at}.dataset"), errors);
                    require_string(dataset, "name", &format!("{at}.dataset"), errors);
                }
                _ => errors.push(format!("\"{at}.dataset\" is required")),
            }
            let Some(metrics) = result.get("metrics").and_then(Value::as_array) else {
                errors.push(format!("\"{at}.metrics\" must be an array"));
                continue;
            };
            for (k, metric) in metrics.iter().enumerate() {
                let at = format!("{at}.metrics[{k}]");
                require_string(metric, "type", &at, errors);
                if metric.get("value").is_none_or(Value::is_null) {
                    errors.push(format!("\"{at}.value\" is required"));
                }
            }
            if errors.len() > MAX_PROBLEMS {
                return;
            }
        }
    }
}

fn require_string(object: &Value, key: &str, at: &str, errors: &mut Vec<String>) {
    match object.get(key) {
        Some(Value::String(_)) => {}
        Some(_) => errors.push(format!("\"{at}.{key}\" must be a string")),
        None => errors.push(format!("\"{at}.{key}\" is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(yaml: &str) -> String {
        format!("---\n{yaml}\n---\n# Title\n")
    }

    #[test]
    fn known_licenses_pass_and_others_fail() {
        assert_eq!(check_card(&card("license: apache-2.0")), CardCheck::default());
        assert_eq!(check_card(&card("license: [mit, other]")), CardCheck::default());
        let bad = check_card(&card("license: my-own-license"));
        assert_eq!(bad.errors.len(), 1);
        assert!(bad.errors[0].starts_with("\"license\" must be one of [apache-2.0, mit"), "{bad:?}");
        assert_eq!(check_card(&card("license: [mit, nope]")).errors.len(), 1);
    }

    #[test]
    fn model_index_needs_the_hubs_shape() {
        let good = "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n    dataset: {type: imdb, name: IMDB}\n    metrics:\n    - {type: accuracy, value: 0.9}\n";
        assert_eq!(check_card(&card(good)), CardCheck::default());
        let bad = check_card(&card(
            "model-index:\n- name: m\n  results:\n  - task: {}\n    metrics:\n    - {type: accuracy}\n",
        ));
        assert_eq!(
            bad.errors,
            [
                "\"model-index[0].results[0].task.type\" is required",
                "\"model-index[0].results[0].dataset\" is required",
                "\"model-index[0].results[0].metrics[0].value\" is required",
            ]
        );
        assert_eq!(check_card(&card("model-index: yes")).errors, ["\"model-index\" must be an array"]);
    }

    #[test]
    fn empty_metadata_is_a_warning_and_bad_yaml_an_error() {
        for readme in ["# No metadata\n", "---\n---\n# Empty\n"] {
            let check = check_card(readme);
            assert!(check.errors.is_empty());
            assert_eq!(check.warnings, [EMPTY_METADATA]);
        }
        let bad = check_card("---\nlicense: [unclosed\n---\n");
        assert_eq!(bad.errors.len(), 1);
        assert!(bad.warnings.is_empty());
    }
}
