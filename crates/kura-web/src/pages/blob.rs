//! The file viewer: source with line numbers and class-based highlighting, Markdown rendered
//! (with a link to its source), images previewed from the raw URL, and binary or large files
//! offered for download only. Content is read only through the read proof (`read_prefix`),
//! so a gated repo's files stay closed to callers without access.

use askama::Template;
use kura_core::Entry;
use kura_model::RepoPath;

use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab};
use super::scan::Scan;
use super::tree::{Crumb, crumbs, file_url, tree_url};
use super::{format, ok};
use crate::error::{WebError, WebResult};
use crate::highlight;
use crate::markdown::{self, LinkBase};
use crate::request::Req;
use crate::route::RepoName;

/// Largest file displayed at all (larger ones are offered for download, as Gitea does).
const MAX_DISPLAY_BYTES: u64 = 8 << 20;
/// Most of a text file shown as plain text (the rest is a download away): escaped HTML can
/// be several times its text, and a page holds it until the client has read it.
const PLAIN_SHOWN_BYTES: u64 = 1 << 20;
/// Largest Markdown file rendered (bigger ones are shown as text).
const MARKDOWN_MAX_BYTES: u64 = 512 * 1024;
/// Bytes looked at to tell text from binary.
const SNIFF_BYTES: usize = 8 * 1024;
/// Images shown inline from the raw URL. Never SVG: it can carry script (the raw answer is
/// sandboxed, but an `<img>` is the only safe way to show one, and a preview adds little).
const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "gif", "webp"];

/// How the file is shown.
#[derive(PartialEq, Eq)]
enum Shown {
    Code,
    Plain,
    Markdown,
    Image,
    Binary,
    TooLarge,
}

/// One source line: its number and highlighted HTML.
struct Line {
    number: usize,
    html: String,
}

#[derive(Template)]
#[template(path = "blob.html")]
struct BlobPage {
    layout: Layout,
    header: RepoHeader,
    crumbs: Vec<Crumb>,
    file_name: String,
    size: String,
    lfs: Option<(String, String)>,
    shown: Shown,
    lines: Vec<Line>,
    text: String,
    /// The plain text shown is the start of a longer file.
    cut: bool,
    html: String,
    raw: String,
    history: String,
    /// The other view of a Markdown file (rendered or source).
    toggle: Option<(String, &'static str)>,
    /// What the pickle scan found in this file, if it may hold pickles.
    scan: Option<Scan>,
}

impl BlobPage {
    fn is(&self, shown: Shown) -> bool {
        self.shown == shown
    }
}

fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').map_or(String::new(), |(_, ext)| ext.to_ascii_lowercase())
}

/// NUL bytes, or invalid UTF-8 (other than a sequence cut at the end of a prefix), in the
/// first 8 KiB.
pub(crate) fn looks_binary(bytes: &[u8], whole: bool) -> bool {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if head.contains(&0) {
        return true;
    }
    match std::str::from_utf8(head) {
        Ok(_) => false,
        Err(error) => error.error_len().is_some() || (whole && head.len() == bytes.len()),
    }
}

pub(crate) async fn blob_page(req: &mut Req, name: &RepoName, revision: &str, path: &str) -> WebResult {
    let record = repo_common::find(req, name).await?;
    let repos = req.hub().repos();
    let commit = repos.resolve_revision(&record, revision).await?.commit;
    let repo_path = RepoPath::parse(path).map_err(|_| WebError::not_found())?;
    let header = RepoHeader::new(req, &record, Tab::Files, revision).await;
    let entry = repos.lookup(repos.commit_tree(&commit).await?, &repo_path).await?;
    let info = match &entry {
        Some(Entry::File { info, .. }) => *info,
        Some(Entry::Dir { .. }) => return Err(WebError::redirect_to(tree_url(&header.base, revision, path))),
        None => return Err(WebError::not_found()),
    };
    let size = info.lfs.map_or(info.size, |p| p.size);
    let image = IMAGE_EXTENSIONS.contains(&extension(path).as_str());
    let cap =
        if image || size > MAX_DISPLAY_BYTES { SNIFF_BYTES as u64 } else { size.min(PLAIN_SHOWN_BYTES) };
    let (bytes, _) = repo_common::read_prefix(req, &record, &commit.to_hex(), repo_path.as_str(), cap)
        .await?
        .ok_or_else(WebError::not_found)?;
    let mut page = BlobPage {
        layout: Layout::new(req, &format!("{path} · {}", record.repo_id)),
        crumbs: crumbs(&header.base, revision, path),
        file_name: repo_path.file_name().to_owned(),
        size: format::size(size),
        lfs: info.lfs.map(|p| (p.oid.to_hex(), format::size(p.size))),
        shown: Shown::Binary,
        lines: Vec::new(),
        text: String::new(),
        cut: size > cap,
        html: String::new(),
        raw: file_url(&header.base, "resolve", revision, path),
        history: file_url(&header.base, "commits", revision, path),
        toggle: None,
        scan: None,
        header,
    };
    if let Some(entry) = &entry {
        page.scan = Scan::look_up(req, &record, &commit, entry).await;
    }
    let markdown_file = matches!(extension(path).as_str(), "md" | "markdown");
    let plain_wanted = req.param("plain") == Some("1");
    page.shown = if image {
        Shown::Image
    } else if size > MAX_DISPLAY_BYTES {
        Shown::TooLarge
    } else if looks_binary(&bytes, size <= cap) {
        Shown::Binary
    } else if markdown_file && !plain_wanted && size <= MARKDOWN_MAX_BYTES {
        page.markdown(String::from_utf8_lossy(&bytes).into_owned(), revision, path).await
    } else {
        if markdown_file {
            page.toggle = Some((file_url(&page.header.base, "blob", revision, path), "Rendered"));
        }
        page.source(String::from_utf8_lossy(&bytes).into_owned(), path).await
    };
    ok(&page)
}

impl BlobPage {
    /// Renders a Markdown file, its relative links resolved from its folder at this revision.
    async fn markdown(&mut self, text: String, revision: &str, path: &str) -> Shown {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let base = LinkBase {
            repo: self.header.base.clone(),
            revision: format::segment(revision),
            dir: dir.to_owned(),
        };
        let source = file_url(&self.header.base, "blob", revision, path);
        let Some(html) = markdown::render_shared(text.clone(), base).await else {
            // Too busy to render now: the source, as text.
            self.text = text;
            return Shown::Plain;
        };
        self.html = html.as_str().to_owned();
        self.toggle = Some((format!("{source}?plain=1"), "Source"));
        Shown::Markdown
    }

    /// Highlighted lines within the highlighting caps, plain text past them.
    async fn source(&mut self, text: String, path: &str) -> Shown {
        if text.len() > highlight::MAX_HIGHLIGHT_BYTES {
            self.text = text;
            return Shown::Plain;
        }
        match highlighted(path, text.clone()).await {
            Some(lines) => {
                self.lines = lines
                    .iter()
                    .enumerate()
                    .map(|(i, html)| Line { number: i + 1, html: html.clone() })
                    .collect();
                Shown::Code
            }
            None => {
                self.text = text;
                Shown::Plain
            }
        }
    }
}

/// Highlighted lines: from the cache, else highlighted off the async workers (`heavy`; a
/// large file takes a fraction of a second), else `None` (plain text).
async fn highlighted(path: &str, text: String) -> Option<std::sync::Arc<Vec<String>>> {
    if let Some(lines) = highlight::lookup(path, &text) {
        return Some(lines);
    }
    let path = path.to_owned();
    crate::heavy::run(move || highlight::highlight(&path, &text)).await.flatten()
}

#[cfg(test)]
mod tests {
    use super::looks_binary;

    #[test]
    fn binary_means_nul_or_broken_utf8_early() {
        assert!(!looks_binary("héllo\n".as_bytes(), true));
        assert!(looks_binary(b"PNG\0\x01", true));
        assert!(looks_binary(b"\xff\xfeabc", true));
        // A multi-byte character cut by the sniff window is still text.
        let mut text = vec![b'a'; 8 * 1024 - 1];
        text.extend_from_slice("é and more".as_bytes());
        assert!(!looks_binary(&text, true));
        // A prefix that ends inside a character is text too.
        assert!(!looks_binary(&"é".as_bytes()[..1], false));
    }
}
