//! The dataset viewer page (`/datasets/{id}/viewer/{config}/{split}?p=N&row=M`): the split as a
//! table of 100 rows a page, with search (`q=`), filter (`where=`, `orderby=`), a histogram of
//! each column as inline SVG, and a link to every row. Everything comes from the viewer
//! service's typed answers (the same ones the viewer API sends), through the caller's
//! authorization; no script is needed.

use askama::Template;
use kura_core::views::{RowItem, RowsView};
use kura_core::{CoreError, RepoRecord, RowsQuery};
use serde_json::Value;

use super::layout::Layout;
use super::repo_common::{self, RepoHeader, Tab};
use super::{format, ok};
use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::RepoName;

/// Characters of a cell shown before it is cut.
const CELL_CHARS: usize = 300;
/// Bars of a frequency histogram.
const MAX_BARS: usize = 10;

/// A split, as a link of the split picker.
pub(crate) struct SplitLink {
    pub(crate) config: String,
    pub(crate) split: String,
    pub(crate) href: String,
    pub(crate) current: bool,
}

/// One bar of a column histogram, in the SVG's units (100 × 40).
pub(crate) struct Bar {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) height: u32,
    pub(crate) label: String,
}

pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) bars: Vec<Bar>,
    pub(crate) bar_width: u32,
    pub(crate) summary: String,
}

/// A cell as shown.
pub(crate) enum Cell {
    Null,
    Text { text: String, cut: bool },
    Image { src: String },
    Audio { src: String },
}

pub(crate) struct Row {
    pub(crate) idx: u64,
    pub(crate) href: String,
    pub(crate) selected: bool,
    pub(crate) cells: Vec<Cell>,
}

/// The table of a page of rows (also the dataset page's preview).
pub(crate) struct Table {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "viewer.html")]
struct ViewerPage {
    layout: Layout,
    header: RepoHeader,
    /// Why there is no table (export pending or failed, bad filter), if so.
    notice: Option<String>,
    splits: Vec<SplitLink>,
    table: Option<Table>,
    here: String,
    total: u64,
    page: u64,
    pages: u64,
    prev: Option<String>,
    next: Option<String>,
    query: String,
    where_clause: String,
    orderby: String,
    partial: bool,
}

fn notice_of(error: &CoreError) -> Option<String> {
    match error {
        CoreError::Viewer { code: "ResponseNotReady", .. } => Some(
            "The dataset viewer is being prepared: the data is being converted. Reload in a moment.".into(),
        ),
        CoreError::Viewer { message, .. } | CoreError::Dataset(message) => {
            Some(format!("The dataset viewer is not available for this split: {message}"))
        }
        _ => None,
    }
}

pub(crate) async fn viewer_page(
    req: &mut Req,
    name: &RepoName,
    config: Option<&str>,
    split: Option<&str>,
) -> WebResult {
    let record = repo_common::find(req, name).await?;
    if record.repo_type != kura_model::RepoType::Dataset {
        return Err(WebError::not_found());
    }
    let header = RepoHeader::new(req, &record, Tab::Viewer, "main").await;
    let mut page = ViewerPage {
        layout: Layout::new(req, &record.repo_id.to_string()),
        here: String::new(),
        header,
        notice: None,
        splits: Vec::new(),
        table: None,
        total: 0,
        page: 0,
        pages: 0,
        prev: None,
        next: None,
        query: req.param("q").unwrap_or_default().to_owned(),
        where_clause: req.param("where").unwrap_or_default().to_owned(),
        orderby: req.param("orderby").unwrap_or_default().to_owned(),
        partial: false,
    };
    let viewer = req.hub().viewer();
    let splits = match viewer.splits(&req.identity, &record, None).await {
        Ok(answer) => answer.body.splits,
        Err(error) => {
            page.notice = Some(notice_of(&error).ok_or(error)?);
            return ok(&page);
        }
    };
    let Some(first) = splits.first() else {
        page.notice = Some("This dataset has no data the viewer can show.".into());
        return ok(&page);
    };
    let (config, split) = match (config, split) {
        (Some(c), Some(s)) => (c.to_owned(), s.to_owned()),
        _ => (first.config.clone(), first.split.clone()),
    };
    let base = page.header.base.clone();
    page.here = format!("{base}/viewer/{}/{}", format::segment(&config), format::segment(&split));
    page.splits = splits
        .iter()
        .map(|s| SplitLink {
            href: format!("{base}/viewer/{}/{}", format::segment(&s.config), format::segment(&s.split)),
            current: s.config == config && s.split == split,
            config: s.config.clone(),
            split: s.split.clone(),
        })
        .collect();
    if let Err(error) = fill(req, &record, &mut page, &config, &split).await {
        page.notice = Some(notice_of(&error).ok_or(error)?);
    }
    ok(&page)
}

async fn fill(
    req: &Req,
    record: &RepoRecord,
    page: &mut ViewerPage,
    config: &str,
    split: &str,
) -> Result<(), CoreError> {
    let per_page = kura_core::ROWS_PER_PAGE;
    let number: u64 = req.param("p").and_then(|p| p.parse().ok()).unwrap_or(0).min(u64::MAX / per_page - 1);
    let selected: Option<u64> = req.param("row").and_then(|r| r.parse().ok());
    let base_url = req.state.public_url.clone();
    let query = RowsQuery { config, split, offset: number * per_page, length: per_page, base_url: &base_url };
    let viewer = req.hub().viewer();
    let view: RowsView = if !page.query.trim().is_empty() {
        viewer.search(&req.identity, record, &query, &page.query).await?.body
    } else if !page.where_clause.trim().is_empty() {
        let orderby = Some(page.orderby.as_str()).filter(|o| !o.trim().is_empty());
        viewer.filter(&req.identity, record, &query, &page.where_clause, orderby).await?.body
    } else {
        viewer.rows(&req.identity, record, &query).await?.body
    };
    let stats = viewer.statistics(&req.identity, record, config, split).await.map(|a| a.body).ok();
    page.total = view.num_rows_total;
    page.partial = view.partial;
    page.page = number;
    page.pages = view.num_rows_total.div_ceil(per_page);
    let filters = filter_params(page);
    let link = |n: u64| format!("{}?p={n}{filters}", page.here);
    page.prev = (number > 0).then(|| link(number - 1));
    page.next = (number + 1 < page.pages).then(|| link(number + 1));
    let here = page.here.clone();
    page.table =
        Some(table(&view, stats.as_ref(), |row| format!("{here}?p={number}&row={row}{filters}"), selected));
    Ok(())
}

/// The search and filter parameters of the page, to keep across its links.
fn filter_params(page: &ViewerPage) -> String {
    let mut out = String::new();
    for (key, value) in [("q", &page.query), ("where", &page.where_clause), ("orderby", &page.orderby)] {
        if !value.is_empty() {
            out.push_str(&format!("&{key}={}", format::segment(value)));
        }
    }
    out
}

/// The table of `view`, with histograms from `stats` (the `/statistics` answer) when known.
pub(crate) fn table(
    view: &RowsView,
    stats: Option<&Value>,
    href: impl Fn(u64) -> String,
    selected: Option<u64>,
) -> Table {
    let columns = view
        .features
        .iter()
        .map(|f| {
            let feature = f.feature.to_value();
            let column_stats =
                stats.and_then(|s| s.get("statistics")).and_then(Value::as_array).and_then(|all| {
                    all.iter().find(|c| c.get("column_name").and_then(Value::as_str) == Some(&f.name))
                });
            let (bars, bar_width, summary) = histogram(column_stats);
            Column { name: f.name.clone(), kind: kind_of(&feature), bars, bar_width, summary }
        })
        .collect::<Vec<_>>();
    let rows = view.rows.iter().map(|item| row(item, view, &href, selected)).collect();
    Table { columns, rows }
}

fn row(item: &RowItem, view: &RowsView, href: &impl Fn(u64) -> String, selected: Option<u64>) -> Row {
    let cells = view
        .features
        .iter()
        .map(|f| cell(item.row.get(&f.name).unwrap_or(&Value::Null), &f.feature.to_value()))
        .collect();
    Row { idx: item.row_idx, href: href(item.row_idx), selected: selected == Some(item.row_idx), cells }
}

/// A short name of a feature's type for the column header.
fn kind_of(feature: &Value) -> String {
    match feature.get("_type").and_then(Value::as_str) {
        Some("Value") => feature.get("dtype").and_then(Value::as_str).unwrap_or("value").to_owned(),
        Some("ClassLabel") => "class label".into(),
        Some(other) => other.to_ascii_lowercase(),
        None => "struct".into(),
    }
}

fn cell(value: &Value, feature: &Value) -> Cell {
    let src = |v: &Value| v.get("src").and_then(Value::as_str).map(str::to_owned);
    match (feature.get("_type").and_then(Value::as_str), value) {
        (_, Value::Null) => Cell::Null,
        (Some("Image"), v) => src(v).map_or(Cell::Null, |src| Cell::Image { src }),
        (Some("Audio"), Value::Array(items)) => {
            items.first().and_then(src).map_or(Cell::Null, |src| Cell::Audio { src })
        }
        (Some("ClassLabel"), Value::Number(n)) => {
            let name = n.as_u64().and_then(|i| feature.get("names")?.get(usize::try_from(i).ok()?)?.as_str());
            Cell::Text {
                text: name.map_or_else(|| n.to_string(), |name| format!("{name} ({n})")),
                cut: false,
            }
        }
        (_, Value::String(s)) => cut(s),
        (_, other) => cut(&other.to_string()),
    }
}

fn cut(text: &str) -> Cell {
    match text.char_indices().nth(CELL_CHARS) {
        Some((end, _)) => Cell::Text { text: format!("{}…", &text[..end]), cut: true },
        None => Cell::Text { text: text.to_owned(), cut: false },
    }
}

/// Bars (in a 100 × 40 box) and a one-line summary of a column's statistics.
fn histogram(stats: Option<&Value>) -> (Vec<Bar>, u32, String) {
    let Some(column) = stats.and_then(|s| s.get("column_statistics")) else {
        return (Vec::new(), 0, String::new());
    };
    let counts: Vec<(String, f64)> = if let Some(hist) = column.get("histogram") {
        let edges: Vec<String> = hist
            .get("bin_edges")
            .and_then(Value::as_array)
            .map(|e| e.iter().map(|v| v.to_string()).collect())
            .unwrap_or_default();
        let values = hist.get("hist").and_then(Value::as_array).cloned().unwrap_or_default();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let range = match (edges.get(i), edges.get(i + 1)) {
                    (Some(lo), Some(hi)) => format!("{lo} – {hi}"),
                    _ => String::new(),
                };
                (range, v.as_f64().unwrap_or(0.0))
            })
            .collect()
    } else if let Some(freq) = column.get("frequencies").and_then(Value::as_object) {
        let mut pairs: Vec<(String, f64)> =
            freq.iter().map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0))).collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
        pairs.truncate(MAX_BARS);
        pairs
    } else {
        Vec::new()
    };
    let summary = match (column.get("min"), column.get("max")) {
        (Some(min), Some(max)) if !min.is_null() => format!("{min} – {max}"),
        _ => column.get("n_unique").map(|n| format!("{n} values")).unwrap_or_default(),
    };
    let top = counts.iter().map(|(_, c)| *c).fold(0.0, f64::max);
    if counts.is_empty() || top <= 0.0 {
        return (Vec::new(), 0, summary);
    }
    let width = 100 / counts.len() as u32;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (label, count))| {
            let height = ((count / top) * 40.0).round().max(if *count > 0.0 { 1.0 } else { 0.0 }) as u32;
            Bar { x: i as u32 * width, y: 40 - height, height, label: format!("{label}: {count}") }
        })
        .collect();
    (bars, width.saturating_sub(1).max(1), summary)
}

/// The dataset page's preview: the first rows of the first split, or why there are none yet.
pub(crate) struct Preview {
    pub(crate) table: Option<Table>,
    pub(crate) notice: Option<String>,
    pub(crate) href: String,
}

pub(crate) async fn preview(req: &Req, record: &RepoRecord, base: &str) -> Preview {
    const PREVIEW_ROWS: u64 = 10;
    let viewer = req.hub().viewer();
    let mut preview = Preview { table: None, notice: None, href: format!("{base}/viewer") };
    let first = match viewer.splits(&req.identity, record, None).await {
        Ok(answer) => answer.body.splits.into_iter().next(),
        Err(error) => {
            preview.notice = notice_of(&error);
            return preview;
        }
    };
    let Some(first) = first else { return preview };
    let split_page =
        format!("{base}/viewer/{}/{}", format::segment(&first.config), format::segment(&first.split));
    let base_url = req.state.public_url.clone();
    let query = RowsQuery {
        config: &first.config,
        split: &first.split,
        offset: 0,
        length: PREVIEW_ROWS,
        base_url: &base_url,
    };
    match viewer.rows(&req.identity, record, &query).await {
        Ok(answer) => {
            preview.table =
                Some(table(&answer.body, None, |row| format!("{split_page}?p=0&row={row}"), None));
            preview.href = split_page;
        }
        Err(error) => preview.notice = notice_of(&error),
    }
    preview
}
