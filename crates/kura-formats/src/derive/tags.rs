//! The Hub's tag list: what the card says plus what the Hub computes, in the order the Hub
//! lists them (gpt2: `transformers, pytorch, tf, …, safetensors, gpt2, text-generation, exbert,
//! en, …, license:mit`; zephyr-7b-beta: `… conversational, en, dataset:…, base_model:…,
//! base_model:finetune:…, license:mit, model-index`). Duplicates keep their first place.

use std::collections::HashSet;

use super::card::{MAX_LIST, MAX_STRING};

/// The longest tag list returned; a card with more tags is cut there.
pub const MAX_TAGS: usize = 200;

/// A tag list being built: ordered, without duplicates, bounded in count and length.
#[derive(Default)]
pub(crate) struct Tags {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl Tags {
    /// Adds `tag` unless it is empty, too long, already listed, or the list is full.
    pub fn push(&mut self, tag: &str) {
        if tag.is_empty() || tag.len() > MAX_STRING || self.list.len() >= MAX_TAGS || self.seen.contains(tag)
        {
            return;
        }
        self.seen.insert(tag.to_owned());
        self.list.push(tag.to_owned());
    }

    /// Adds `prefix` + each entry (`license:`, `dataset:`, …).
    pub fn push_prefixed<'a>(&mut self, prefix: &str, entries: impl IntoIterator<Item = &'a str>) {
        for entry in entries.into_iter().take(MAX_LIST) {
            self.push(&format!("{prefix}{entry}"));
        }
    }

    pub fn extend<'a>(&mut self, tags: impl IntoIterator<Item = &'a str>) {
        for tag in tags.into_iter().take(MAX_LIST) {
            self.push(tag);
        }
    }

    pub fn into_vec(self) -> Vec<String> {
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_first_and_caps() {
        let mut tags = Tags::default();
        tags.extend(["a", "b", "a", ""]);
        tags.push_prefixed("license:", ["mit"]);
        tags.push("license:mit");
        assert_eq!(tags.into_vec(), ["a", "b", "license:mit"]);

        let mut tags = Tags::default();
        let many: Vec<String> = (0..3 * MAX_TAGS).map(|i| format!("t{i}")).collect();
        for tag in &many {
            tags.push(tag);
        }
        tags.push(&"x".repeat(MAX_STRING + 1));
        let list = tags.into_vec();
        assert_eq!(list.len(), MAX_TAGS);
        assert_eq!(list.last().map(String::as_str), Some("t199"));
    }

    #[test]
    fn prefixed_entries_past_the_length_limit_are_dropped() {
        let mut tags = Tags::default();
        let id = "o/".to_owned() + &"n".repeat(MAX_STRING - 4);
        tags.push_prefixed("dataset:", [id.as_str(), "ok"]);
        assert_eq!(tags.into_vec(), ["dataset:ok"]);
    }
}
