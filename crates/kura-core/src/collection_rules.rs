//! What a collection may hold and how it is named: slugs (`{namespace}/{title-slug}-{id}`, the
//! trailing 24 hex digits identify it, so a renamed collection keeps answering its old slug),
//! the budgets on titles, descriptions, notes and counts, themes and item types.

use kura_model::RepoType;

use crate::error::{CoreError, Result};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 60;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 150;
/// Longest note of an item, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Most items of one collection.
pub const MAX_ITEMS: u64 = 1_000;
/// Most collections of one user or organization.
pub const MAX_COLLECTIONS: u64 = 1_000;
/// The themes the Hub offers.
pub const THEMES: [&str; 6] = ["orange", "blue", "green", "purple", "pink", "indigo"];

/// What an item names, as the client sends `item.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Repo(RepoType),
    Collection,
}

impl ItemKind {
    /// Parses `model`, `dataset`, `space` or `collection`; papers and buckets are clear
    /// refusals (kura has neither).
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "collection" => Ok(ItemKind::Collection),
            "paper" => Err(CoreError::invalid(
                "kura has no papers: a collection holds models, datasets, Spaces and collections",
            )),
            "bucket" => Err(CoreError::invalid(
                "kura has no buckets: a collection holds models, datasets, Spaces and collections",
            )),
            other => RepoType::from_singular(other).map(ItemKind::Repo).ok_or_else(|| {
                CoreError::invalid("'item.type' must be one of model, dataset, space or collection")
            }),
        }
    }
}

/// A slug's parts: the namespace and the public id.
pub fn parse_slug(slug: &str) -> Option<(&str, &str)> {
    let (namespace, rest) = slug.split_once('/')?;
    if namespace.is_empty()
        || rest.contains('/')
        || rest.len() < 24
        || !rest.is_char_boundary(rest.len() - 24)
    {
        return None;
    }
    let (head, id) = rest.split_at(rest.len() - 24);
    let hex = id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (hex && (head.is_empty() || head.ends_with('-'))).then_some((namespace, id))
}

/// The slug of a collection: its title lowercased, ASCII letters and digits kept and every
/// other run turned into one `-`, then its id.
pub fn make_slug(namespace: &str, title: &str, public_id: &str) -> String {
    let mut words = String::with_capacity(title.len());
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            words.push(c.to_ascii_lowercase());
        } else if !words.is_empty() && !words.ends_with('-') {
            words.push('-');
        }
    }
    let words = words.trim_end_matches('-');
    if words.is_empty() {
        format!("{namespace}/{public_id}")
    } else {
        format!("{namespace}/{words}-{public_id}")
    }
}

/// A new public id: 24 hex digits, like the Hub's object ids.
pub(crate) fn new_public_id() -> String {
    format!("{:024x}", rand::random::<u128>() >> 32)
}

/// A text no database refuses (PostgreSQL stores no NUL).
fn storable(field: &str, text: &str) -> Result<()> {
    if text.contains('\0') {
        return Err(CoreError::invalid(format!("'{field}' must not contain NUL characters")));
    }
    Ok(())
}

fn at_most(field: &str, text: &str, max: usize) -> Result<()> {
    storable(field, text)?;
    if text.chars().count() > max {
        return Err(CoreError::invalid(format!("'{field}' must be at most {max} characters")));
    }
    Ok(())
}

/// A title: trimmed, 1 to 60 characters, no control characters.
pub fn check_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() {
        return Err(CoreError::invalid("'title' must not be empty"));
    }
    if title.chars().any(char::is_control) {
        return Err(CoreError::invalid("'title' must not contain control characters"));
    }
    at_most("title", title, MAX_TITLE_CHARS)?;
    Ok(title.to_owned())
}

/// A description: at most 150 characters; empty is none.
pub fn check_description(description: &str) -> Result<Option<String>> {
    at_most("description", description, MAX_DESCRIPTION_CHARS)?;
    Ok((!description.trim().is_empty()).then(|| description.to_owned()))
}

/// A note, stored as given: at most 500 characters; empty is none.
pub fn check_note(note: &str) -> Result<Option<String>> {
    at_most("note", note, MAX_NOTE_CHARS)?;
    Ok((!note.is_empty()).then(|| note.to_owned()))
}

pub fn check_theme(theme: &str) -> Result<String> {
    if THEMES.contains(&theme) {
        return Ok(theme.to_owned());
    }
    Err(CoreError::invalid(format!("'theme' must be one of {}", THEMES.join(", "))))
}

/// An item's public id as it appears in a URL: 24 lowercase hex digits.
pub fn is_public_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "64f9a55bb3115b4f513ec026";

    fn check(slug: &str, expect: Option<(&str, &str)>) {
        assert_eq!(parse_slug(slug), expect, "{slug}");
    }

    #[test]
    fn slugs_are_read_by_their_trailing_id() {
        check(&format!("TheBloke/recent-models-{ID}"), Some(("TheBloke", ID)));
        check(&format!("alice/{ID}"), Some(("alice", ID)));
        check(&format!("alice/an-old-title-{ID}"), Some(("alice", ID)));
        check(&format!("alice/x{ID}"), None);
        check(&format!("alice/x-{}", ID.to_uppercase()), None);
        check(&format!("/x-{ID}"), None);
        check(&format!("alice/a/b-{ID}"), None);
        check("alice/short-64f9a55b", None);
        check(&format!("alice-{ID}"), None);
        check(&format!("alice/é{}", &ID[1..]), None);
        check(&format!("alice/ééééééééééééé-{}", &ID[..23]), None);
    }

    #[test]
    fn slugs_are_made_from_titles() {
        assert_eq!(make_slug("alice", "Recent models", ID), format!("alice/recent-models-{ID}"));
        assert_eq!(make_slug("alice", "ICCV 2023!", ID), format!("alice/iccv-2023-{ID}"));
        assert_eq!(make_slug("alice", "  --Üpper  & lower__ ", ID), format!("alice/pper-lower-{ID}"));
        assert_eq!(make_slug("alice", "日本語", ID), format!("alice/{ID}"));
        for title in ["Recent models", "日本語", "a/b", "x-y"] {
            let slug = make_slug("alice", title, ID);
            assert_eq!(parse_slug(&slug), Some(("alice", ID)), "{slug}");
        }
        let id = new_public_id();
        assert!(is_public_id(&id), "{id}");
        assert!(!is_public_id(&ID.to_uppercase()) && !is_public_id(&ID[1..]));
    }

    #[test]
    fn inputs_are_bounded() {
        assert_eq!(check_title("  Models ").unwrap(), "Models");
        assert!(check_title("   ").is_err());
        assert!(check_title("a\nb").is_err());
        assert!(check_title(&"é".repeat(60)).is_ok());
        assert!(check_title(&"é".repeat(61)).is_err());
        assert_eq!(check_description("").unwrap(), None);
        assert!(check_description(&"d".repeat(151)).is_err());
        assert_eq!(check_note("<script>x</script>").unwrap().as_deref(), Some("<script>x</script>"));
        assert!(check_note(&"n".repeat(501)).is_err());
        assert!(check_note("a\0b").is_err());
        assert!(check_description("a\0b").is_err());
        assert_eq!(check_theme("pink").unwrap(), "pink");
        assert!(check_theme("red").is_err());
    }

    #[test]
    fn item_types_are_the_hubs_but_papers_are_refused_clearly() {
        assert_eq!(ItemKind::parse("model").unwrap(), ItemKind::Repo(RepoType::Model));
        assert_eq!(ItemKind::parse("space").unwrap(), ItemKind::Repo(RepoType::Space));
        assert_eq!(ItemKind::parse("collection").unwrap(), ItemKind::Collection);
        let paper = ItemKind::parse("paper").unwrap_err().to_string();
        assert!(paper.contains("no papers"), "{paper}");
        assert!(ItemKind::parse("models").is_err());
    }
}
