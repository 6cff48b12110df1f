//! Model cards and Markdown files as HTML: GitHub-flavoured Markdown (comrak) with raw HTML
//! allowed and then sanitised (ammonia), so a card's centred images and badges work and no
//! script, event handler or `javascript:` link survives. Relative links point into the repo
//! at the same revision: links to its file pages, images to its raw content. Discussion
//! comments and collection notes are the same Markdown with raw HTML shown as text
//! (`render_comments`, `render_texts`): a `<script>` someone writes in a comment reads as
//! what they typed.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock};

use comrak::nodes::NodeValue;
use comrak::{Arena, Options};

/// Where relative links in a document lead: `/{prefix}{ns}/{name}`, the revision (one
/// encoded segment) and the folder the document is in.
#[derive(Clone)]
pub(crate) struct LinkBase {
    pub(crate) repo: String,
    pub(crate) revision: String,
    pub(crate) dir: String,
}

impl LinkBase {
    fn resolve(&self, kind: &str, url: &str) -> Option<String> {
        if url.is_empty()
            || url.starts_with('#')
            || url.starts_with('/')
            || url.starts_with("//")
            || has_scheme(url)
        {
            return None;
        }
        let (path, fragment) = match url.split_once('#') {
            Some((path, fragment)) => (path, format!("#{fragment}")),
            None => (url, String::new()),
        };
        let mut parts: Vec<&str> = self.dir.split('/').filter(|s| !s.is_empty()).collect();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        Some(format!("{}/{kind}/{}/{}{fragment}", self.repo, self.revision, parts.join("/")))
    }
}

fn has_scheme(url: &str) -> bool {
    match url.find(':') {
        Some(colon) => {
            url[..colon].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) && colon > 0
        }
        None => false,
    }
}

/// How a document treats raw HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawHtml {
    /// Kept, then sanitised (cards and Markdown files: centred images, badges).
    Sanitised,
    /// Shown as the text it is (comments).
    AsText,
}

fn options(raw_html: RawHtml) -> Options<'static> {
    let mut options = Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    options.extension.tasklist = true;
    options.extension.footnotes = true;
    // A card's YAML header is not shown; a comment has none (its `---` lines are rules).
    if raw_html == RawHtml::Sanitised {
        options.extension.front_matter_delimiter = Some("---".to_owned());
    }
    options.render.r#unsafe = raw_html == RawHtml::Sanitised;
    options.render.escape = raw_html == RawHtml::AsText;
    options
}

/// Bytes of rendered documents kept in memory.
const CACHE_BYTES: u64 = 16 << 20;

type Key = (u64, usize, String);
/// Rendered documents by (keyed hash of the text, its length, the link base): the same bytes
/// at the same place always render the same. Keys are random per process, so nobody can make
/// two texts share an entry on purpose.
static CACHE: LazyLock<(kura_core::ByteCache<Key, Arc<String>>, std::hash::RandomState)> =
    LazyLock::new(|| (kura_core::ByteCache::new(CACHE_BYTES, 8 << 10), std::hash::RandomState::new()));

fn key(text: &str, base: &LinkBase, raw_html: RawHtml) -> Key {
    let (_, keys) = &*CACHE;
    let place = format!("{raw_html:?}\n{}\n{}\n{}", base.repo, base.revision, base.dir);
    (keys.hash_one(text), text.len(), place)
}

/// Renders a document off the async workers (`heavy`), from the cache when it was rendered
/// before; `None` when the server is too busy to render it now.
pub(crate) async fn render_shared(text: String, base: LinkBase) -> Option<Arc<String>> {
    let key = key(&text, &base, RawHtml::Sanitised);
    if let Some(html) = CACHE.0.get(&key) {
        return Some(html);
    }
    let html = crate::heavy::run(move || Arc::new(render(&text, &base))).await?;
    CACHE.0.put(key, html.clone(), html.len() as u64);
    Some(html)
}

/// Renders the comments of a page (raw HTML as text), those not cached in one job off the
/// async workers; when the server is too busy, a comment not rendered before is its text.
pub(crate) async fn render_comments(texts: Vec<String>, base: LinkBase) -> Vec<Arc<String>> {
    render_texts(texts.into_iter().map(|text| (text, base.clone())).collect()).await
}

/// Renders short texts (raw HTML as text), each with its own link base (a collection's notes
/// link into the repo each names), as `render_comments` does.
pub(crate) async fn render_texts(texts: Vec<(String, LinkBase)>) -> Vec<Arc<String>> {
    let keys: Vec<Key> = texts.iter().map(|(text, base)| key(text, base, RawHtml::AsText)).collect();
    let mut out: Vec<Option<Arc<String>>> = keys.iter().map(|key| CACHE.0.get(key)).collect();
    let missing: Vec<(usize, (String, LinkBase))> = out
        .iter()
        .zip(texts)
        .enumerate()
        .filter(|(_, (html, _))| html.is_none())
        .map(|(i, (_, t))| (i, t))
        .collect();
    if missing.is_empty() {
        return out.into_iter().flatten().collect();
    }
    let job: Vec<(String, LinkBase)> = missing.iter().map(|(_, t)| t.clone()).collect();
    let rendered = crate::heavy::run(move || {
        job.iter().map(|(text, base)| Arc::new(render_as(text, base, RawHtml::AsText))).collect::<Vec<_>>()
    })
    .await;
    for (n, (index, (text, _))) in missing.into_iter().enumerate() {
        let html = match rendered.as_ref().and_then(|r| r.get(n)) {
            Some(html) => {
                CACHE.0.put(keys[index].clone(), html.clone(), html.len() as u64);
                html.clone()
            }
            None => Arc::new(plain(&text)),
        };
        out[index] = Some(html);
    }
    out.into_iter().flatten().collect()
}

/// A document as escaped, preformatted text.
fn plain(text: &str) -> String {
    format!("<pre class=\"plain\">{}</pre>", crate::highlight::escape(text))
}

/// Deepest blockquote nesting rendered (parsing and sanitising deep nesting is quadratic:
/// 100,000 levels took over a minute).
const MAX_QUOTE_DEPTH: usize = 32;
/// Most `<` a rendered document may hold (100,000 nested raw `<div>`s took half a minute to
/// sanitise).
const MAX_ANGLE_BRACKETS: usize = 10_000;

/// Whether a document is shaped to make rendering slow; it is then shown as text.
fn too_complex(text: &str) -> bool {
    let quote_depth = |line: &str| {
        line.bytes().take_while(|b| matches!(b, b'>' | b' ' | b'\t')).filter(|b| *b == b'>').count()
    };
    text.bytes().filter(|b| *b == b'<').count() > MAX_ANGLE_BRACKETS
        || text.lines().any(|line| quote_depth(line) > MAX_QUOTE_DEPTH)
}

/// Renders Markdown to sanitised HTML (a document shaped to be slow to render is shown as
/// escaped text instead).
pub(crate) fn render(text: &str, base: &LinkBase) -> String {
    render_as(text, base, RawHtml::Sanitised)
}

/// Renders Markdown to sanitised HTML, its raw HTML kept or shown as text.
pub(crate) fn render_as(text: &str, base: &LinkBase, raw_html: RawHtml) -> String {
    if too_complex(text) {
        return plain(text);
    }
    let arena = Arena::new();
    let options = options(raw_html);
    let root = comrak::parse_document(&arena, text, &options);
    for node in root.descendants() {
        let mut data = node.data.borrow_mut();
        match &mut data.value {
            NodeValue::Link(link) => {
                if let Some(url) = base.resolve("blob", &link.url) {
                    link.url = url;
                }
            }
            NodeValue::Image(image) => {
                if let Some(url) = base.resolve("resolve", &image.url) {
                    image.url = url;
                }
            }
            _ => {}
        }
    }
    let mut html = String::new();
    if comrak::format_html(root, &options, &mut html).is_err() {
        return String::new();
    }
    sanitize(&html, base)
}

/// Cleans HTML: ammonia's allow-list (no scripts, styles, event handlers or unsafe schemes);
/// relative URLs left in raw HTML point at the repo's raw files.
fn sanitize(html: &str, base: &LinkBase) -> String {
    let raw = RawLinks(LinkBase {
        repo: base.repo.clone(),
        revision: base.revision.clone(),
        dir: base.dir.clone(),
    });
    ammonia::Builder::default()
        .url_relative(ammonia::UrlRelative::Custom(Box::new(raw)))
        .add_tag_attributes("img", &["align", "width", "height"])
        .add_tag_attributes("p", &["align"])
        .add_tag_attributes("div", &["align"])
        .clean(html)
        .to_string()
}

/// Relative URLs of raw HTML: into the repo's raw files; absolute paths and fragments stay.
struct RawLinks(LinkBase);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for RawLinks {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        match self.0.resolve("resolve", url) {
            Some(resolved) => Some(Cow::Owned(resolved)),
            None if url.starts_with('/') || url.starts_with('#') => Some(Cow::Borrowed(url)),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> LinkBase {
        LinkBase { repo: "/alice/demo".into(), revision: "main".into(), dir: String::new() }
    }

    #[test]
    fn scripts_handlers_and_javascript_links_do_not_survive() {
        let html = render(
            "# Title\n\n<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n[a](javascript:alert(3))\n<a href=\"javascript:alert(4)\">b</a>\n<iframe src=\"https://evil\"></iframe><svg onload=alert(5)></svg>",
            &base(),
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        // `[a](javascript:...)` stays literal text: harmless, but never a link.
        for bad in ["<script", "onerror", "href=\"javascript:", "<iframe", "onload", "alert(1)"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn relative_links_stay_in_the_repo_at_the_same_revision() {
        let base = LinkBase { repo: "/datasets/a/b".into(), revision: "v1".into(), dir: "docs".into() };
        let html = render(
            "[guide](guide.md#setup) ![plot](../img/p.png) [abs](https://example.org/x)\n\n<img src=\"raw.png\">",
            &base,
        );
        assert!(html.contains("href=\"/datasets/a/b/blob/v1/docs/guide.md#setup\""), "{html}");
        assert!(html.contains("src=\"/datasets/a/b/resolve/v1/img/p.png\""), "{html}");
        assert!(html.contains("href=\"https://example.org/x\""), "{html}");
        assert!(html.contains("src=\"/datasets/a/b/resolve/v1/docs/raw.png\""), "{html}");
    }

    #[test]
    fn documents_shaped_to_be_slow_are_shown_as_text() {
        for text in [">".repeat(100_000), "<div>".repeat(20_000), "> ".repeat(40) + "<script>x</script>"] {
            let started = std::time::Instant::now();
            let html = render(&text, &base());
            assert!(html.starts_with("<pre class=\"plain\">"), "{}", &html[..40]);
            assert!(!html.contains("<div>") && !html.contains("<script"));
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
        }
        assert!(render(&"> ".repeat(8), &base()).contains("<blockquote>"), "ordinary nesting renders");
    }

    #[test]
    fn raw_html_in_comments_reads_as_text() {
        let html = render_as(
            "**bold** <script>alert(1)</script>\n\n<img src=x onerror=alert(2)> [a](javascript:alert(3))",
            &base(),
            RawHtml::AsText,
        );
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"), "{html}");
        for bad in ["<script", "<img", "href=\"javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[tokio::test]
    async fn comments_render_in_order_and_come_back_from_the_cache() {
        let texts = vec!["first <b>x</b>".to_owned(), "second".to_owned(), "first <b>x</b>".to_owned()];
        let html = render_comments(texts.clone(), base()).await;
        assert_eq!(html.len(), 3);
        assert!(html[0].contains("first &lt;b&gt;x&lt;/b&gt;"), "{}", html[0]);
        assert!(html[1].contains("second"));
        assert_eq!(html[0], html[2]);
        let again = render_comments(texts, base()).await;
        assert!(std::sync::Arc::ptr_eq(&html[1], &again[1]), "cached");
    }

    #[test]
    fn gfm_tables_and_front_matter() {
        let html =
            render("---\nlicense: mit\n---\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ - [x] done", &base());
        assert!(!html.contains("license: mit"), "{html}");
        assert!(html.contains("<table>") && html.contains("<td>1</td>"), "{html}");
        assert!(html.contains("<del>old</del>"), "{html}");
    }
}
