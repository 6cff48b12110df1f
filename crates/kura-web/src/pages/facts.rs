//! What the indexer learned about a revision, as the repo page shows it: the parameter count
//! (in the Hub's short form and per tensor type), the GGUF summary, library and task (linking to
//! the filtered listing), the weight formats, and the files the pickle scan flagged. Built from
//! `CommitFacts` by pure functions; a revision not indexed yet is a quiet note, never an error.

use kura_core::{CommitFacts, ScanLevel};

use super::format;
use super::tree::file_url;

/// Flagged files listed on the repo page (the rest are counted; the tree shows each one).
pub(crate) const MAX_ISSUES_SHOWN: usize = 50;
/// Tensor types listed (a real model has a handful).
const MAX_DTYPES: usize = 16;
/// The tags that name a weight format, as the indexer writes them, with the names people read.
const FORMATS: [(&str, &str); 10] = [
    ("safetensors", "Safetensors"),
    ("gguf", "GGUF"),
    ("pytorch", "PyTorch"),
    ("onnx", "ONNX"),
    ("tf", "TensorFlow"),
    ("jax", "JAX"),
    ("tflite", "TF Lite"),
    ("coreml", "Core ML"),
    ("rust", "Rust"),
    ("tensorboard", "TensorBoard"),
];

/// A value with the page it links to.
pub(crate) struct Linked {
    pub(crate) value: String,
    pub(crate) href: String,
}

/// Parameters of one tensor type.
pub(crate) struct Dtype {
    pub(crate) name: String,
    pub(crate) count: String,
}

/// The GGUF summary as shown.
pub(crate) struct Gguf {
    pub(crate) architecture: Option<String>,
    pub(crate) context_length: Option<String>,
    pub(crate) parameters: String,
}

/// A file the pickle scan flagged, with its level (`unsafe` or `caution`) and its page.
pub(crate) struct Issue {
    pub(crate) path: String,
    pub(crate) level: &'static str,
    pub(crate) href: String,
}

/// The facts panel of a repo page.
pub(crate) struct FactsPanel {
    /// The revision has been indexed (else the panel says it is being indexed).
    pub(crate) indexed: bool,
    /// The safetensors total, short (`137M`) and exact (`137,022,720`).
    pub(crate) parameters: Option<(String, String)>,
    pub(crate) dtypes: Vec<Dtype>,
    pub(crate) gguf: Option<Gguf>,
    pub(crate) library: Option<Linked>,
    pub(crate) task: Option<Linked>,
    pub(crate) formats: Vec<Linked>,
    pub(crate) issues: Vec<Issue>,
    /// Flagged files past `MAX_ISSUES_SHOWN`.
    pub(crate) issues_more: usize,
    /// Files past the indexer's budget, left unscanned.
    pub(crate) unscanned: u64,
}

impl FactsPanel {
    /// The panel of `facts` (`None`: not indexed yet). `card_library` and `card_task` are the
    /// card's words, shown until the indexer has derived its own. `base` is the repo page,
    /// `listing` the listing of its kind (`/models`).
    pub(crate) fn new(
        facts: Option<&CommitFacts>,
        card_library: Option<&str>,
        card_task: Option<&str>,
        base: &str,
        listing: &str,
    ) -> Self {
        let derived = facts.map(|f| &f.derived);
        let library = derived.and_then(|d| d.library_name.as_deref()).or(card_library);
        let task = derived.and_then(|d| d.pipeline_tag.as_deref()).or(card_task);
        let filter = |key: &str, value: &str| Linked {
            value: value.to_owned(),
            href: format!("{listing}?{key}={}", format::segment(value)),
        };
        let mut panel = FactsPanel {
            indexed: facts.is_some(),
            parameters: None,
            dtypes: Vec::new(),
            gguf: None,
            library: library.map(|l| filter("library", l)),
            task: task.map(|t| filter("pipeline_tag", t)),
            formats: Vec::new(),
            issues: Vec::new(),
            issues_more: 0,
            unscanned: 0,
        };
        let Some(facts) = facts else { return panel };
        if let Some(count) = &facts.safetensors {
            panel.parameters = Some((short_count(count.total), grouped(count.total)));
            panel.dtypes = count
                .parameters
                .iter()
                .take(MAX_DTYPES)
                .map(|(name, n)| Dtype { name: name.clone(), count: short_count(*n) })
                .collect();
        }
        panel.gguf = facts.gguf.as_ref().map(|g| Gguf {
            architecture: g.architecture.clone(),
            context_length: g.context_length.map(grouped),
            parameters: short_count(g.total),
        });
        panel.formats = format_tags(&facts.derived.tags)
            .map(|(tag, name)| Linked { value: name.to_owned(), href: format!("{listing}?other={tag}") })
            .collect();
        panel.issues = issues(facts, base);
        panel.issues_more = facts.files_with_issues.len().saturating_sub(panel.issues.len());
        panel.unscanned = facts.files_skipped;
        panel
    }

    /// Whether any file was flagged unsafe (the warning is then a danger, not a caution).
    pub(crate) fn any_unsafe(&self) -> bool {
        self.issues.iter().any(|issue| issue.level == ScanLevel::Unsafe.as_str())
    }
}

/// The known weight formats among `tags`, in the order of `FORMATS`.
fn format_tags(tags: &[String]) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    FORMATS.into_iter().filter(|(tag, _)| tags.iter().any(|t| t == tag))
}

/// The flagged files shown, each linking to its page at `main`.
fn issues(facts: &CommitFacts, base: &str) -> Vec<Issue> {
    facts
        .files_with_issues
        .iter()
        .take(MAX_ISSUES_SHOWN)
        .map(|issue| Issue {
            path: issue.path.clone(),
            level: issue.level.as_str(),
            href: file_url(base, "blob", "main", &issue.path),
        })
        .collect()
}

/// A count as the Hub writes it: three significant digits and a unit (`137M`, `7.24B`, `11`).
pub(crate) fn short_count(n: u64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")];
    let value = n as f64;
    for (scale, unit) in UNITS {
        // 999,999 is `1M`, not `1000k`: a value that rounds up to the unit takes it.
        if value >= scale * 0.9995 {
            let scaled = value / scale;
            let text = if scaled >= 99.95 {
                format!("{scaled:.0}")
            } else if scaled >= 9.995 {
                format!("{scaled:.1}")
            } else {
                format!("{scaled:.2}")
            };
            let text =
                if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
            return format!("{text}{unit}");
        }
    }
    n.to_string()
}

/// A count with thousands separators (`137,022,720`).
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kura_core::{FileIssue, ParameterCount};

    #[test]
    fn counts_read_like_the_hub() {
        assert_eq!(short_count(0), "0");
        assert_eq!(short_count(11), "11");
        assert_eq!(short_count(999), "999");
        assert_eq!(short_count(1_000), "1k");
        assert_eq!(short_count(137_022_720), "137M");
        assert_eq!(short_count(7_241_732_096), "7.24B");
        assert_eq!(short_count(1_500_000_000), "1.5B");
        assert_eq!(short_count(12_345_678), "12.3M");
        assert_eq!(short_count(999_999), "1M");
        assert_eq!(short_count(99_960), "100k");
        assert_eq!(short_count(u64::MAX), "18446744T");
        assert_eq!(grouped(137_022_720), "137,022,720");
        assert_eq!(grouped(100), "100");
        assert_eq!(grouped(1_000), "1,000");
    }

    #[test]
    fn the_panel_links_filters_and_caps_the_issues() {
        let mut facts = CommitFacts {
            safetensors: Some(ParameterCount {
                parameters: [("F32".to_owned(), 137_022_720)].into_iter().collect(),
                total: 137_022_720,
            }),
            ..CommitFacts::default()
        };
        facts.derived.library_name = Some("transformers".into());
        facts.derived.pipeline_tag = Some("text-generation".into());
        facts.derived.tags = vec!["transformers".into(), "pytorch".into(), "safetensors".into()];
        facts.files_with_issues =
            (0..60).map(|n| FileIssue { path: format!("w/{n} #.pkl"), level: ScanLevel::Caution }).collect();
        let panel = FactsPanel::new(Some(&facts), Some("card-lib"), None, "/a/b", "/models");
        assert!(panel.indexed);
        assert_eq!(panel.parameters, Some(("137M".into(), "137,022,720".into())));
        assert_eq!(panel.dtypes[0].name, "F32");
        let library = panel.library.as_ref().map(|l| (l.value.as_str(), l.href.as_str()));
        assert_eq!(library, Some(("transformers", "/models?library=transformers")));
        let task = panel.task.as_ref().map(|l| l.href.as_str());
        assert_eq!(task, Some("/models?pipeline_tag=text-generation"));
        let formats: Vec<&str> = panel.formats.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(formats, ["Safetensors", "PyTorch"]);
        assert_eq!(panel.issues.len(), MAX_ISSUES_SHOWN);
        assert_eq!(panel.issues_more, 10);
        assert_eq!(panel.issues[0].href, "/a/b/blob/main/w/0%20%23.pkl");
        assert!(!panel.any_unsafe());

        let pending = FactsPanel::new(None, Some("peft"), Some("a b"), "/a/b", "/models");
        assert!(!pending.indexed && pending.parameters.is_none() && pending.issues.is_empty());
        assert_eq!(pending.library.map(|l| l.href), Some("/models?library=peft".into()));
        assert_eq!(pending.task.map(|l| l.href), Some("/models?pipeline_tag=a%20b".into()));
    }

    #[test]
    fn a_gguf_model_shows_its_architecture_and_context() {
        let facts = CommitFacts {
            gguf: Some(kura_core::GgufSummary {
                total: 8_030_261_248,
                architecture: Some("llama".into()),
                context_length: Some(131_072),
                ..kura_core::GgufSummary::default()
            }),
            ..CommitFacts::default()
        };
        let panel = FactsPanel::new(Some(&facts), None, None, "/a/b", "/models");
        let gguf = panel
            .gguf
            .as_ref()
            .map(|g| (g.parameters.as_str(), g.architecture.as_deref(), g.context_length.as_deref()));
        assert_eq!(gguf, Some(("8.03B", Some("llama"), Some("131,072"))));
        assert!(panel.parameters.is_none() && panel.library.is_none() && panel.task.is_none());
    }
}
