//! The data tables the derivation reads: generated from transformers by
//! `scripts/gen_arch_tasks.py` (`*.tsv`) or taken from huggingface.js (`*.txt`). Each file is
//! sorted by its first column in byte order, so a lookup is a binary search over the lines,
//! split once on first use.

use std::sync::OnceLock;

/// One table: its rows, each split into columns; `#` lines are comments.
struct Table {
    rows: Vec<Vec<&'static str>>,
}

impl Table {
    fn parse(text: &'static str) -> Self {
        let mut rows: Vec<Vec<&'static str>> = text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| line.split('\t').collect())
            .collect();
        // The files are generated sorted; sorting again keeps the search right if one is edited
        // by hand (the unit tests check the files are already in order).
        rows.sort_by(|a, b| a.first().cmp(&b.first()));
        Self { rows }
    }

    /// The row whose first column is `key`.
    fn get(&self, key: &str) -> Option<&[&'static str]> {
        let at = self.rows.binary_search_by(|row| row.first().copied().unwrap_or("").cmp(key)).ok()?;
        self.rows.get(at).map(Vec::as_slice)
    }

    /// Column `n` of the row for `key`; `-` (the files' "none") reads as `None`.
    fn column(&self, key: &str, n: usize) -> Option<&'static str> {
        self.get(key)?.get(n).copied().filter(|cell| *cell != "-" && !cell.is_empty())
    }
}

macro_rules! table {
    ($name:ident, $file:literal) => {
        fn $name() -> &'static Table {
            static TABLE: OnceLock<Table> = OnceLock::new();
            TABLE.get_or_init(|| Table::parse(include_str!($file)))
        }
    };
}

table!(arch_table, "arch_tasks.tsv");
table!(auto_table, "auto_tasks.tsv");
table!(model_type_table, "model_types.tsv");
table!(library_table, "libraries.txt");
table!(pipeline_table, "pipeline_tags.txt");

/// How transformers loads an architecture class: its Auto class and the Hub task of that class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArchInfo {
    pub auto_model: &'static str,
    pub task: Option<&'static str>,
}

/// The Auto class and task of a transformers model class (`architectures[0]` of config.json).
pub(crate) fn architecture(class: &str) -> Option<ArchInfo> {
    let table = arch_table();
    let auto_model = table.column(class, 1)?;
    Some(ArchInfo { auto_model, task: table.column(class, 2) })
}

/// The priority and Hub task of an Auto model class, for classes only named by `auto_map`.
pub(crate) fn auto_class(name: &str) -> Option<(u32, Option<&'static str>)> {
    let table = auto_table();
    let rank = table.column(name, 1)?.parse().ok()?;
    Some((rank, table.column(name, 2)))
}

/// The processor Auto class transformers uses for a `model_type`.
pub(crate) fn processor(model_type: &str) -> Option<&'static str> {
    model_type_table().column(model_type, 1)
}

/// The default mask token of a `model_type`'s tokenizer class.
pub(crate) fn mask_token(model_type: &str) -> Option<&'static str> {
    model_type_table().column(model_type, 2)
}

/// Whether `id` is a library id the Hub knows (`model-libraries.ts`).
pub(crate) fn is_library(id: &str) -> bool {
    library_table().get(id).is_some()
}

/// Whether `tag` is one of the Hub's pipeline tags (`pipelines.ts`).
pub(crate) fn is_pipeline_tag(tag: &str) -> bool {
    pipeline_table().get(tag).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split('\t').next().unwrap_or(""))
            .collect()
    }

    #[test]
    fn files_are_sorted_without_duplicates() {
        for (name, text) in [
            ("arch_tasks.tsv", include_str!("arch_tasks.tsv")),
            ("auto_tasks.tsv", include_str!("auto_tasks.tsv")),
            ("model_types.tsv", include_str!("model_types.tsv")),
            ("libraries.txt", include_str!("libraries.txt")),
            ("pipeline_tags.txt", include_str!("pipeline_tags.txt")),
        ] {
            let keys = keys(text);
            assert!(keys.len() > 40, "{name} has {} rows", keys.len());
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{name} is not strictly sorted");
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(
            architecture("BertForMaskedLM"),
            Some(ArchInfo { auto_model: "AutoModelForMaskedLM", task: Some("fill-mask") })
        );
        assert_eq!(architecture("BertForPreTraining").map(|a| a.task), Some(None));
        assert_eq!(architecture("NoSuchModel"), None);
        assert_eq!(auto_class("AutoModelForCausalLM").map(|a| a.1), Some(Some("text-generation")));
        assert_eq!(processor("vit"), Some("AutoImageProcessor"));
        assert_eq!(mask_token("roberta"), Some("<mask>"));
        assert_eq!(mask_token("gpt2"), None);
        assert!(is_library("nemo") && is_library("transformers") && !is_library("exbert"));
        assert!(is_pipeline_tag("fill-mask") && !is_pipeline_tag("text2text-generation"));
    }
}
