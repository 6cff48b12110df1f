//! The README a new Space starts with, as the Hub writes it: front matter with a title, an
//! emoji and two colours (picked from the name, so the same name always gets the same look),
//! the SDK and `pinned: false`, then a pointer to the configuration reference.

use kura_model::RepoId;

use crate::error::{CoreError, Result};

/// SDKs a Space may declare (hub-docs `spaces-config-reference`; the client also allows
/// streamlit).
pub const SPACE_SDKS: &[&str] = &["gradio", "docker", "static", "streamlit"];

const EMOJIS: &[&str] = &["🚀", "🐢", "🔥", "🌍", "📚", "🏃", "💻", "🐨", "🦀", "🌖", "🎨", "🤖"];
const COLORS: &[&str] = &["red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"];

/// The initial README of Space `repo_id` with `sdk`; an unknown SDK is refused.
pub fn space_readme(repo_id: &RepoId, sdk: &str) -> Result<String> {
    if !SPACE_SDKS.contains(&sdk) {
        return Err(CoreError::invalid(format!(
            "Invalid Space SDK '{sdk}': use one of {}",
            SPACE_SDKS.join(", ")
        )));
    }
    // FNV-1a of the name: stable across releases, unlike the std hasher.
    let hash = repo_id
        .name()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let pick = |list: &[&'static str], shift: u32| list[((hash >> shift) % list.len() as u64) as usize];
    let from = pick(COLORS, 8);
    let mut to = pick(COLORS, 16);
    if to == from {
        to = COLORS[(COLORS.iter().position(|c| *c == from).unwrap_or(0) + 1) % COLORS.len()];
    }
    Ok(format!(
        "---\ntitle: {title}\nemoji: {emoji}\ncolorFrom: {from}\ncolorTo: {to}\nsdk: {sdk}\npinned: false\n---\n\n\
         Check out the configuration reference at https://huggingface.co/docs/hub/spaces-config-reference\n",
        title = repo_id.name(),
        emoji = pick(EMOJIS, 0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{front_matter, parse_front_matter};

    #[test]
    fn front_matter_names_the_sdk_and_is_stable() {
        let id = RepoId::parse("alice/my-app").unwrap();
        let readme = space_readme(&id, "static").unwrap();
        let data = parse_front_matter(front_matter(&readme).unwrap()).unwrap();
        assert_eq!(data["sdk"], "static");
        assert_eq!(data["title"], "my-app");
        assert_eq!(data["pinned"], false);
        assert_ne!(data["colorFrom"], data["colorTo"]);
        assert!(COLORS.contains(&data["colorFrom"].as_str().unwrap()));
        assert_eq!(readme, space_readme(&id, "static").unwrap());
        assert!(space_readme(&id, "nonsense").is_err());
    }
}
