//! The repo page: the rendered card with its metadata as chips, a sidebar with what the hub
//! knows of the repo, and "use this repo" snippets that carry this server's URL.

use askama::Template;
use kura_core::RepoRecord;
use kura_core::views::CommitView;
use serde_json::Value;

use super::facts::FactsPanel;
use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab};
use super::viewer::Cell;
use super::{format, ok};
use crate::error::WebResult;
use crate::markdown::{self, LinkBase};
use crate::request::Req;
use crate::route::RepoName;

/// Most of a README rendered as the card (the rest is cut, with a link to the file).
const CARD_MAX_BYTES: u64 = 512 * 1024;
/// Entries walked for the sidebar's file count and size.
const SIZE_WALK_ENTRIES: usize = 10_000;

/// One metadata chip: what it is and its value.
pub(crate) struct Chip {
    pub(crate) label: &'static str,
    pub(crate) value: String,
    pub(crate) link: Option<String>,
}

pub(crate) struct Snippet {
    pub(crate) title: &'static str,
    pub(crate) code: String,
}

#[derive(Template)]
#[template(path = "repo.html")]
struct RepoPage {
    layout: Layout,
    header: RepoHeader,
    card: Option<String>,
    card_cut: bool,
    /// Why the caller may not read this gated repo's files (the core's words), if so.
    gate: Option<String>,
    chips: Vec<Chip>,
    facts: FactsPanel,
    last_commit: CommitView,
    files: usize,
    files_more: bool,
    size: String,
    snippets: Vec<Snippet>,
    /// Datasets: the first rows, from the viewer.
    preview: Option<super::viewer::Preview>,
    /// Spaces: the app, embedded, or why it is not.
    space: Option<SpaceEmbed>,
}

/// A Space's app on its page: the sandboxed frame of its own origin, or the reason there is
/// none (the runtime's stage and message).
pub(crate) struct SpaceEmbed {
    pub(crate) src: Option<String>,
    pub(crate) stage: String,
    pub(crate) message: Option<String>,
}

impl SpaceEmbed {
    /// The app of a Space whose `main` has `card`. Private and gated Spaces are not served on
    /// their host (it reads them as an anonymous visitor), so they get no frame.
    async fn new(req: &Req, record: &RepoRecord, card: &kura_core::CardInfo) -> WebResult<Self> {
        let facts = req.hub().repos().space_facts(record, card).await?;
        let stage = facts.runtime["stage"].as_str().unwrap_or("STOPPED").to_owned();
        let mut message = facts.runtime["errorMessage"].as_str().map(str::to_owned);
        let public = !record.private && record.gating == kura_core::Gating::Off;
        let src = match (&facts.host, stage.as_str()) {
            (Some(host), "RUNNING") if public => Some(format!("{host}/")),
            (Some(_), "RUNNING") => {
                message = Some(
                    "Private and gated Spaces are not served on a Space host: clone this Space to run it"
                        .to_owned(),
                );
                None
            }
            _ => None,
        };
        Ok(Self { src, stage, message })
    }
}

pub(crate) async fn repo_page(req: &mut Req, name: &RepoName) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let repos = req.hub().repos();
    let head = repos.resolve_revision(&record, "main").await?.commit;
    let commit = repos.commit(&head).await?;
    let header = RepoHeader::new(req, &record, Tab::Card, "main").await;
    let gate = match req.hub().accounts().authorize_files(&req.identity, &record).await {
        Err(kura_core::CoreError::GatedRepo(why)) => Some(why),
        Err(error) => return Err(error.into()),
        Ok(_) => None,
    };
    let readme = repo_common::read_prefix(req, &record, &head.to_hex(), "README.md", CARD_MAX_BYTES).await;
    // A gated repo's card is shown only to those who may read its files.
    let (card, card_cut) = match readme {
        Ok(Some((bytes, size))) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let base =
                LinkBase { repo: header.base.clone(), revision: format::segment("main"), dir: String::new() };
            // A server too busy to render it shows the card's text as it is.
            let plain = || format!("<pre class=\"plain\">{}</pre>", crate::highlight::escape(&text));
            let html = match markdown::render_shared(text.clone(), base).await {
                Some(html) => html.as_str().to_owned(),
                None => plain(),
            };
            (Some(html), size > CARD_MAX_BYTES)
        }
        Ok(None) | Err(_) => (None, false),
    };
    let info = repos.card_info(commit.tree).await?;
    let facts = facts_panel(req, &record, &head, &info, &header.base).await;
    let task = facts.task.as_ref().map(|t| t.value.as_str());
    let library = facts.library.as_ref().map(|l| l.value.as_str());
    let chips = chips(&record, info.card_data.as_ref(), task, library);
    let (files, files_more, bytes) = walk_size(req, commit.tree).await?;
    let snippets = snippets(&req.state.public_url, &record, library);
    let space = match record.repo_type {
        kura_model::RepoType::Space => Some(SpaceEmbed::new(req, &record, &info).await?),
        _ => None,
    };
    let frame = space.as_ref().and_then(|s| s.src.clone());
    let preview = match (record.repo_type, &gate) {
        (kura_model::RepoType::Dataset, None) => {
            Some(super::viewer::preview(req, &record, &header.base).await)
        }
        _ => None,
    };
    let page = RepoPage {
        layout: Layout::new(req, &record.repo_id.to_string()),
        header,
        card,
        card_cut,
        gate,
        chips,
        facts,
        last_commit: CommitView::new(&head, &commit),
        files,
        files_more,
        size: format::size(bytes),
        snippets,
        preview,
        space,
    };
    let mut response = ok(&page)?;
    if let Some(src) = frame {
        // The page may frame this Space's origin, and nothing else.
        super::allow_frame(&mut response, &src);
    }
    Ok(response)
}

/// What the indexer knows of the head. The facts are a courtesy: a store that fails to answer
/// leaves the "indexing" note, as a revision not indexed yet does.
async fn facts_panel(
    req: &Req,
    record: &RepoRecord,
    head: &kura_model::ObjectId,
    info: &kura_core::CardInfo,
    base: &str,
) -> FactsPanel {
    let facts = req.hub().index().facts_for(record, head).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "commit facts unavailable");
        None
    });
    let listing = format!("/{}", record.repo_type.plural());
    FactsPanel::new(
        facts.as_ref(),
        info.library_name.as_deref(),
        info.pipeline_tag.as_deref(),
        base,
        &listing,
    )
}

/// Counts files and bytes of a tree, reading at most `SIZE_WALK_ENTRIES` entries.
async fn walk_size(req: &Req, root: kura_model::ObjectId) -> WebResult<(usize, bool, u64)> {
    let page = req.hub().repos().list_page(root, None, true, None, SIZE_WALK_ENTRIES).await?;
    let mut files = 0;
    let mut bytes = 0;
    for entry in &page.entries {
        if let kura_core::Entry::File { info, .. } = entry {
            files += 1;
            bytes += info.size;
        }
    }
    Ok((files, page.next.is_some(), bytes))
}

/// Strings of a metadata field that may be one string or a list.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_owned)).take(20).collect()
        }
        _ => Vec::new(),
    }
}

fn chips(record: &RepoRecord, card: Option<&Value>, task: Option<&str>, library: Option<&str>) -> Vec<Chip> {
    let field = |name: &str| strings(card.and_then(|c| c.get(name)));
    let listing = format!("/{}", record.repo_type.plural());
    let tag_link = |tag: &str| Some(format!("{listing}?other={}", format::segment(tag)));
    let mut chips = Vec::new();
    // Task and library link to the listing filtered on them, as the facts panel does.
    for (label, key, value) in [("Task", "pipeline_tag", task), ("Library", "library", library)] {
        if let Some(value) = value {
            let link = Some(format!("{listing}?{key}={}", format::segment(value)));
            chips.push(Chip { label, link, value: value.to_owned() });
        }
    }
    for (label, key) in [
        ("License", "license"),
        ("Language", "language"),
        ("Base model", "base_model"),
        ("Dataset", "datasets"),
    ] {
        for value in field(key) {
            // Repo ids link to their pages; anything else in those fields links nowhere.
            let repo_link = |repo_type| {
                kura_model::RepoId::parse(&value).ok().map(|id| repo_common::base_url(repo_type, &id))
            };
            let link = match key {
                "base_model" => repo_link(kura_model::RepoType::Model),
                "datasets" => repo_link(kura_model::RepoType::Dataset),
                _ => tag_link(&format!("{key}:{value}")),
            };
            chips.push(Chip { label, value, link });
        }
    }
    for tag in field("tags") {
        chips.push(Chip { label: "Tag", link: tag_link(&tag), value: tag });
    }
    chips
}

fn snippets(public_url: &str, record: &RepoRecord, library: Option<&str>) -> Vec<Snippet> {
    let id = record.repo_id.to_string();
    let kind = record.repo_type.as_str();
    let type_arg = if kind == "model" { String::new() } else { format!(", repo_type=\"{kind}\"") };
    let cli_type = if kind == "model" { String::new() } else { format!(" --repo-type {kind}") };
    let mut out = vec![
        Snippet {
            title: "huggingface_hub",
            code: format!(
                "import os\nos.environ[\"HF_ENDPOINT\"] = \"{public_url}\"\n\nfrom huggingface_hub import snapshot_download\nsnapshot_download(\"{id}\"{type_arg})"
            ),
        },
        Snippet { title: "hf CLI", code: format!("HF_ENDPOINT={public_url} hf download {id}{cli_type}") },
        Snippet {
            title: "git",
            code: format!("git lfs install\ngit clone {public_url}/{}{id}", record.repo_type.url_prefix()),
        },
    ];
    if kind == "model" && library.is_none_or(|l| l == "transformers") {
        out.push(Snippet {
            title: "transformers",
            code: format!(
                "import os\nos.environ[\"HF_ENDPOINT\"] = \"{public_url}\"\n\nfrom transformers import AutoModel\nmodel = AutoModel.from_pretrained(\"{id}\")"
            ),
        });
    }
    if kind == "dataset" {
        out.push(Snippet {
            title: "datasets",
            code: format!(
                "import os\nos.environ[\"HF_ENDPOINT\"] = \"{public_url}\"\n\nfrom datasets import load_dataset\nds = load_dataset(\"{id}\")"
            ),
        });
    }
    out
}

/// A signed-in reader asks for a gated repo's files (accepted at once when gating is
/// automatic, queued for the authors when manual).
pub(crate) async fn ask_access(req: &mut Req, name: &RepoName) -> WebResult {
    let record = repo_common::find(req, name).await?;
    req.form().await?;
    req.hub().accounts().ask_access(&req.identity, &record, None).await?;
    super::see_other(&repo_common::base_url(record.repo_type, &record.repo_id))
}
