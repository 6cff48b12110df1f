//! The Spaces listing as an app gallery: a card per Space with its emoji, title, short
//! description, colours and likes, from the card of its `main`. Filtered by tag like every
//! listing (`/spaces?other=reachy_mini_python_app&sort=likes` is a robot app store).

use kura_core::RepoRecord;
use serde_json::Value;

use super::repo_common;
use crate::request::Req;

/// The colours a Space's card may name (`colorFrom`, `colorTo`); anything else is gray.
const COLORS: [&str; 8] = ["red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"];
const MAX_TITLE: usize = 80;
const MAX_DESCRIPTION: usize = 160;

/// One Space in the gallery.
pub(crate) struct SpaceCard {
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) emoji: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) from: &'static str,
    pub(crate) to: &'static str,
    pub(crate) likes: u64,
    pub(crate) private: bool,
    pub(crate) sdk: String,
}

fn clipped(text: &str, most: usize) -> String {
    let mut out: String = text.chars().take(most).collect();
    if text.chars().count() > most {
        out.push('…');
    }
    out
}

fn color(card: Option<&Value>, field: &str) -> &'static str {
    let named = card.and_then(|c| c.get(field)).and_then(Value::as_str).unwrap_or("gray");
    COLORS.iter().find(|c| **c == named).copied().unwrap_or("gray")
}

impl SpaceCard {
    /// The card of a Space whose `main` has `card` (its README's front matter).
    pub(crate) fn new(record: &RepoRecord, card: Option<&Value>) -> Self {
        let field = |name: &str| card.and_then(|c| c.get(name)).and_then(Value::as_str).map(str::trim);
        // An emoji is a few characters at most; a long value is not one.
        let emoji = field("emoji").filter(|e| !e.is_empty() && e.chars().count() <= 8).unwrap_or("🚀");
        let title = field("title").filter(|t| !t.is_empty()).unwrap_or(record.repo_id.name());
        Self {
            id: record.repo_id.to_string(),
            url: repo_common::base_url(record.repo_type, &record.repo_id),
            emoji: emoji.to_owned(),
            title: clipped(title, MAX_TITLE),
            description: clipped(field("short_description").unwrap_or(""), MAX_DESCRIPTION),
            from: color(card, "colorFrom"),
            to: color(card, "colorTo"),
            likes: record.likes,
            private: record.private,
            sdk: field("sdk").unwrap_or("").chars().take(20).collect(),
        }
    }

    /// The cards of a page of Spaces; a Space whose card cannot be read shows its id alone.
    pub(crate) async fn of_page(req: &Req, records: &[RepoRecord]) -> Vec<Self> {
        let repos = req.hub().repos();
        let mut cards = Vec::with_capacity(records.len());
        for record in records {
            let card = async {
                let head = repos.resolve_revision(record, "main").await?;
                repos.card_info(repos.commit_tree(&head.commit).await?).await
            };
            let card = card.await.ok().and_then(|info| info.card_data);
            cards.push(Self::new(record, card.as_ref()));
        }
        cards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RepoRecord {
        RepoRecord {
            id: 1,
            repo_type: kura_model::RepoType::Space,
            repo_id: kura_model::RepoId::parse("alice/robot-dance").unwrap(),
            private: false,
            gating: kura_core::Gating::Off,
            created_at: 0,
            last_modified: 0,
            tags: vec![],
            created_by: None,
            library_name: None,
            pipeline_tag: None,
            likes: 3,
            downloads: 0,
            downloads_all_time: 0,
            trending: 0,
            state: 0,
        }
    }

    #[test]
    fn cards_take_the_front_matter_with_fallbacks() {
        let card = serde_json::json!({
            "title": "Robot dance", "emoji": "🤖", "colorFrom": "purple", "colorTo": "evil; background: url(x)",
            "short_description": "x".repeat(300), "sdk": "static",
        });
        let space = SpaceCard::new(&record(), Some(&card));
        assert_eq!((space.title.as_str(), space.emoji.as_str()), ("Robot dance", "🤖"));
        assert_eq!((space.from, space.to), ("purple", "gray"));
        assert_eq!(space.description.chars().count(), MAX_DESCRIPTION + 1);
        let bare = SpaceCard::new(&record(), None);
        assert_eq!((bare.title.as_str(), bare.emoji.as_str(), bare.from), ("robot-dance", "🚀", "gray"));
        let long_emoji = serde_json::json!({"emoji": "not an emoji at all"});
        assert_eq!(SpaceCard::new(&record(), Some(&long_emoji)).emoji, "🚀");
    }
}
