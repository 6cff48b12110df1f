//! The viewer's row endpoints (`/first-rows`, `/rows`, `/filter`, `/search`), the documents
//! built from the export's facts (`/size`, `/info`, `/statistics`, `/croissant`) and the media
//! cells' signed asset URLs.

use kura_dataset::cells::{MediaCell, MediaKind, media_of};
use kura_formats::viewer::filter::{OrderBy, parse_orderby, parse_where};
use kura_formats::viewer::search::SearchQuery;
use kura_formats::viewer::truncate::{RowItem, TruncateLimits, json_size, truncate_rows};
use kura_model::{ObjectId, RepoId, RepoType};
use kura_storage::RepoRecord;
use serde_json::{Map, Value, json};

use crate::Identity;
use crate::auth::FilesAccess;
use crate::error::Result;
use crate::services::Viewer;
use crate::viewer::{
    Answer, Ready, feature_items, is_string, not_found, not_ready, row_maps, segment, viewer_error,
};
use crate::viewer_export::ExportSplit;
use crate::views::{FirstRowsView, RowsView};

/// Rows per page of `/rows`, `/filter` and `/search`.
pub const ROWS_PER_PAGE: u64 = 100;
/// Rows read per step of a scan.
const SCAN_STEP: usize = 500;
/// Rows an ordered `/filter` page may start at most at (its candidates are held in memory).
const MAX_ORDERED_OFFSET: u64 = 10_000;
/// Lifetime of a media URL.
const ASSET_SECONDS: i64 = 3600;

/// Where and how a page of rows is asked for.
#[derive(Debug, Clone)]
pub struct RowsQuery<'a> {
    pub config: &'a str,
    pub split: &'a str,
    pub offset: u64,
    pub length: u64,
    /// The server's public URL, for media cells.
    pub base_url: &'a str,
}

/// What a scan keeps: a row and its sort position.
struct Candidate {
    item: RowItem,
}

fn signed_payload(
    repo: &RepoRecord,
    main: &ObjectId,
    config: &str,
    split: &str,
    row: u64,
    column: &str,
    expires: i64,
) -> String {
    format!("viewer-asset\n{}\n{main}\n{config}\n{split}\n{row}\n{column}\n{expires}", repo.id)
}

impl Viewer<'_> {
    fn media_url<'r>(
        &'r self,
        ready: &'r Ready,
        repo: &'r RepoRecord,
        config: &'r str,
        split: &'r str,
        base_url: &'r str,
    ) -> impl Fn(&MediaCell<'_>) -> String + 'r {
        // Rounded up to ten minutes, so the URLs of a page stay the same for a while (caches).
        let expires = (self.now_millis() / 1000 + ASSET_SECONDS + 599) / 600 * 600;
        move |cell: &MediaCell<'_>| {
            let payload =
                signed_payload(repo, &ready.main, config, split, cell.row_idx, cell.column, expires);
            let sig = self.signer.sign(payload);
            let file = match cell.kind {
                MediaKind::Image => "image",
                MediaKind::Audio => "audio",
            };
            format!(
                "{base_url}/datasets-server/assets/{}/--/{}/--/{}/{}/{}/{}/{file}?expires={expires}&sig={sig}",
                repo.repo_id,
                ready.main,
                segment(config),
                segment(split),
                cell.row_idx,
                segment(cell.column)
            )
        }
    }

    async fn page(
        &self,
        ready: &Ready,
        repo: &RepoRecord,
        q: &RowsQuery<'_>,
        split: &ExportSplit,
        offset: u64,
        length: u64,
    ) -> Result<Vec<RowItem>> {
        let batches = self.hub.viewer().read_split(ready, q.config, split, offset, length as usize).await?;
        let media = self.media_url(ready, repo, q.config, q.split, q.base_url);
        let rows = row_maps(&batches, &split.features(), offset, &media)?;
        Ok(rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| RowItem { row_idx: offset + i as u64, row, truncated_cells: Vec::new() })
            .collect())
    }

    /// `/rows`.
    pub async fn rows(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        q: &RowsQuery<'_>,
    ) -> Result<Answer<RowsView>> {
        check_length(q.length)?;
        let ready = self.ready(identity, repo).await?;
        let (_, split) = ready.split(q.config, q.split)?;
        let rows = self.page(&ready, repo, q, split, q.offset, q.length).await?;
        let view = RowsView {
            features: feature_items(&split.features()),
            num_rows_per_page: ROWS_PER_PAGE,
            num_rows_total: split.num_rows,
            partial: split.partial,
            rows,
        };
        Ok(Answer { revision: ready.main, body: view })
    }

    /// `/first-rows`: up to 100 rows within the Hub's byte budget, cells cut when needed.
    pub async fn first_rows(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        q: &RowsQuery<'_>,
    ) -> Result<Answer<FirstRowsView>> {
        let ready = self.ready(identity, repo).await?;
        let (_, split) = ready.split(q.config, q.split)?;
        let features = feature_items(&split.features());
        let dataset = repo.repo_id.to_string();
        let mut view = FirstRowsView {
            config: q.config.to_owned(),
            dataset,
            features,
            rows: Vec::new(),
            split: q.split.to_owned(),
            truncated: false,
        };
        let limits = TruncateLimits::for_response(view.features.len(), json_size(&view))
            .map_err(|e| viewer_error("TooBigContentError", e.to_string()))?;
        let read = self.page(&ready, repo, q, split, 0, limits.max_rows as u64 + 1).await?;
        let more = read.len() > limits.max_rows;
        let keep: Vec<&str> = split
            .features
            .iter()
            .filter(|(_, f)| MediaKind::of(f).is_some())
            .map(|(name, _)| name.as_str())
            .collect();
        let (rows, truncated) = truncate_rows(read, &limits, &keep);
        view.rows = rows;
        view.truncated = truncated || more;
        Ok(Answer { revision: ready.main, body: view })
    }

    /// `/filter`: rows matching the WHERE clause (parsed by kura), optionally ordered.
    pub async fn filter(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        q: &RowsQuery<'_>,
        where_clause: &str,
        orderby: Option<&str>,
    ) -> Result<Answer<RowsView>> {
        check_length(q.length)?;
        let expr = parse_where(where_clause)
            .map_err(|e| viewer_error("InvalidParameter", format!("Parameter 'where' is invalid: {e}")))?;
        let order = match orderby.filter(|o| !o.trim().is_empty()) {
            Some(text) => Some(parse_orderby(text).map_err(|e| {
                viewer_error("InvalidParameter", format!("Parameter 'orderby' is invalid: {e}"))
            })?),
            None => None,
        };
        let ready = self.ready(identity, repo).await?;
        let (_, split) = ready.split(q.config, q.split)?;
        let features = split.features();
        for column in expr.columns() {
            if features.get(column).is_none() {
                return Err(viewer_error(
                    "InvalidParameter",
                    format!("Parameter 'where' is invalid: no column named {column:?}"),
                ));
            }
        }
        if let Some(order) = &order
            && features.get(&order.column).is_none()
        {
            return Err(viewer_error(
                "InvalidParameter",
                format!("Parameter 'orderby' is invalid: no column named {:?}", order.column),
            ));
        }
        let matches = |row: &Map<String, Value>| expr.matches(row);
        self.scan(&ready, repo, q, split, &matches, order.as_ref()).await
    }

    /// `/search`: rows whose string columns hold every term of the query (stemmed, English).
    pub async fn search(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        q: &RowsQuery<'_>,
        query: &str,
    ) -> Result<Answer<RowsView>> {
        check_length(q.length)?;
        let parsed = SearchQuery::parse(query)
            .map_err(|e| viewer_error("InvalidParameter", format!("Parameter 'query' is invalid: {e}")))?;
        let ready = self.ready(identity, repo).await?;
        let (_, split) = ready.split(q.config, q.split)?;
        let columns: Vec<String> =
            split.features.iter().filter(|(_, f)| is_string(&f.to_value())).map(|(n, _)| n.clone()).collect();
        if columns.is_empty() {
            return Err(viewer_error(
                "SearchFeatureNotAvailableError",
                "The split has no string columns to search.",
            ));
        }
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let matches = |row: &Map<String, Value>| parsed.matches(row, &names);
        self.scan(&ready, repo, q, split, &matches, None).await
    }

    /// Reads the split from its start, at most `viewer_scan_max_rows` rows, keeping the
    /// matching rows of the page asked for (all candidates up to the page's end when ordered).
    async fn scan(
        &self,
        ready: &Ready,
        repo: &RepoRecord,
        q: &RowsQuery<'_>,
        split: &ExportSplit,
        matches: &(dyn Fn(&Map<String, Value>) -> bool + Sync),
        order: Option<&OrderBy>,
    ) -> Result<Answer<RowsView>> {
        if order.is_some() && q.offset > MAX_ORDERED_OFFSET {
            return Err(viewer_error(
                "InvalidParameter",
                format!("Parameter 'offset' must not be greater than {MAX_ORDERED_OFFSET} with 'orderby'"),
            ));
        }
        // Scans are the viewer's expensive reads: two at a time per process, the rest queue.
        let _turn = self.hub.viewer_state.scans.acquire().await.map_err(|_| not_ready())?;
        let budget = self.config.limits.viewer_scan_max_rows.min(split.num_rows);
        let keep = (q.offset + q.length) as usize;
        let (mut kept, mut total, mut position) = (Vec::<Candidate>::new(), 0u64, 0u64);
        while position < budget {
            let step = (budget - position).min(SCAN_STEP as u64);
            let items = self.page(ready, repo, q, split, position, step).await?;
            if items.is_empty() {
                break;
            }
            position += items.len() as u64;
            for item in items.into_iter().filter(|item| matches(&item.row)) {
                total += 1;
                match order {
                    None if total > q.offset && total <= q.offset + q.length => kept.push(Candidate { item }),
                    None => {}
                    Some(order) => {
                        kept.push(Candidate { item });
                        if kept.len() >= 2 * keep.max(1) {
                            kept.sort_by(|a, b| {
                                order
                                    .compare(&a.item.row, &b.item.row)
                                    .then(a.item.row_idx.cmp(&b.item.row_idx))
                            });
                            kept.truncate(keep);
                        }
                    }
                }
            }
        }
        let rows: Vec<RowItem> = match order {
            Some(order) => {
                kept.sort_by(|a, b| {
                    order.compare(&a.item.row, &b.item.row).then(a.item.row_idx.cmp(&b.item.row_idx))
                });
                kept.into_iter().skip(q.offset as usize).take(q.length as usize).map(|c| c.item).collect()
            }
            None => kept.into_iter().map(|c| c.item).collect(),
        };
        let view = RowsView {
            features: feature_items(&split.features()),
            num_rows_per_page: ROWS_PER_PAGE,
            num_rows_total: total,
            partial: split.partial || position < split.num_rows,
            rows,
        };
        Ok(Answer { revision: ready.main, body: view })
    }

    /// `/statistics`.
    pub async fn statistics(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        config: &str,
        split: &str,
    ) -> Result<Answer<Value>> {
        let ready = self.ready(identity, repo).await?;
        let (_, s) = ready.split(config, split)?;
        let body = json!({
            "num_examples": s.num_rows,
            "statistics": s.statistics,
            "partial": s.partial || s.statistics_partial,
        });
        Ok(Answer { revision: ready.main, body })
    }

    /// `/size`.
    pub async fn size(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        config: Option<&str>,
    ) -> Result<Answer<Value>> {
        let ready = self.ready(identity, repo).await?;
        let dataset = repo.repo_id.to_string();
        let (mut configs, mut splits) = (Vec::new(), Vec::new());
        let mut totals = [0u64; 4];
        for c in ready.configs(config)? {
            let mut sums = [0u64; 4];
            let columns = c.splits.first().map_or(0, |s| s.features.len());
            for s in &c.splits {
                let parquet: u64 = s.files.iter().map(|f| f.size).sum();
                let row = [s.original_bytes, parquet, s.memory_bytes, s.num_rows];
                splits.push(json!({
                    "dataset": dataset, "config": c.name, "split": s.name,
                    "num_bytes_parquet_files": row[1], "num_bytes_memory": row[2],
                    "num_rows": row[3], "num_columns": s.features.len(),
                }));
                for (sum, value) in sums.iter_mut().zip(row) {
                    *sum += value;
                }
            }
            configs.push(json!({
                "dataset": dataset, "config": c.name,
                "num_bytes_original_files": sums[0], "num_bytes_parquet_files": sums[1],
                "num_bytes_memory": sums[2], "num_rows": sums[3], "num_columns": columns,
            }));
            for (total, value) in totals.iter_mut().zip(sums) {
                *total += value;
            }
        }
        let mut size = Map::new();
        if config.is_none() {
            size.insert(
                "dataset".into(),
                json!({"dataset": dataset, "num_bytes_original_files": totals[0], "num_bytes_parquet_files": totals[1], "num_bytes_memory": totals[2], "num_rows": totals[3]}),
            );
            size.insert("configs".into(), Value::Array(configs));
        } else {
            size.insert("config".into(), configs.into_iter().next().unwrap_or(Value::Null));
        }
        size.insert("splits".into(), Value::Array(splits));
        let body = json!({"size": size, "pending": [], "failed": [], "partial": ready.partial()});
        Ok(Answer { revision: ready.main, body })
    }

    /// `/info`: the `datasets.DatasetInfo` of each config, as `datasets` checks it.
    pub async fn info(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        config: Option<&str>,
    ) -> Result<Answer<Value>> {
        let ready = self.ready(identity, repo).await?;
        let dataset_name = repo.repo_id.to_string().rsplit('/').next().unwrap_or_default().to_owned();
        let mut infos = Map::new();
        for c in ready.configs(config)? {
            let features = c.splits.first().map(|s| s.features().to_json().to_value()).unwrap_or(json!({}));
            let mut splits = Map::new();
            let (mut dataset_size, mut download_size) = (0u64, 0u64);
            for s in &c.splits {
                dataset_size += s.memory_bytes;
                download_size += s.original_bytes;
                splits.insert(s.name.clone(), json!({"name": s.name, "num_bytes": s.memory_bytes, "num_examples": s.num_rows, "dataset_name": dataset_name}));
            }
            infos.insert(
                c.name.clone(),
                json!({
                    "description": "", "citation": "", "homepage": "", "license": "",
                    "features": features, "builder_name": "parquet", "dataset_name": dataset_name,
                    "config_name": c.name,
                    "version": {"version_str": "0.0.0", "major": 0, "minor": 0, "patch": 0},
                    "splits": splits, "download_size": download_size, "dataset_size": dataset_size,
                }),
            );
        }
        let body = match config {
            Some(name) => {
                json!({"dataset_info": infos.remove(name).unwrap_or(Value::Null), "partial": ready.partial()})
            }
            None => json!({"dataset_info": infos, "pending": [], "failed": [], "partial": ready.partial()}),
        };
        Ok(Answer { revision: ready.main, body })
    }

    /// `/croissant`: the Croissant JSON-LD description of the export.
    pub async fn croissant(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        base_url: &str,
    ) -> Result<Answer<Value>> {
        use kura_formats::viewer::croissant::{CroissantConfig, CroissantInput, croissant};
        let ready = self.ready(identity, repo).await?;
        let root = self.hub.repos().commit_tree(&ready.main).await?;
        let card = self.hub.repos().card_info(root).await?.card_data;
        let text =
            |key: &str| card.as_ref().and_then(|c| c.get(key)).and_then(Value::as_str).map(str::to_owned);
        let configs = ready
            .facts
            .configs
            .iter()
            .map(|c| CroissantConfig {
                name: c.name.clone(),
                splits: c.splits.iter().map(|s| s.name.clone()).collect(),
                features: c
                    .splits
                    .first()
                    .map(|s| s.features.iter().map(|(n, f)| (n.clone(), f.to_value())).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let input = CroissantInput {
            dataset: repo.repo_id.to_string(),
            description: text("description").or_else(|| text("pretty_name")),
            license: text("license"),
            url: format!("{base_url}/datasets/{}", repo.repo_id),
            partial: ready.partial(),
            configs,
        };
        Ok(Answer { revision: ready.main, body: croissant(&input) })
    }

    /// The bytes and MIME type of a media cell, for a signed asset URL (no hub identity: the
    /// signature, made for a caller who could read the dataset, is the authority, until it
    /// expires).
    #[allow(clippy::too_many_arguments)]
    pub async fn asset(
        &self,
        dataset: &str,
        main: &str,
        config: &str,
        split: &str,
        row: u64,
        column: &str,
        expires: i64,
        sig: &str,
    ) -> Result<(Vec<u8>, &'static str)> {
        let denied = || {
            viewer_error(
                "ExternalUnauthenticatedError",
                "The media URL is invalid or has expired: ask the viewer for the rows again.",
            )
        };
        if expires < self.now_millis() / 1000 {
            return Err(denied());
        }
        let repo_id = RepoId::parse(dataset).map_err(|_| denied())?;
        let repo = self.meta.repo(RepoType::Dataset, &repo_id).await?.ok_or_else(denied)?;
        let main = ObjectId::from_hex(main).map_err(|_| denied())?;
        if !self.signer.verify(signed_payload(&repo, &main, config, split, row, column, expires), sig) {
            return Err(denied());
        }
        let facts = self.stored_export(&repo, &main).await?.ok_or_else(not_found)?;
        let export = facts.export_commit.as_deref().and_then(|h| ObjectId::from_hex(h).ok());
        let ready = Ready { access: FilesAccess::for_job(repo), main, export, facts };
        let (_, s) = ready.split(config, split)?;
        let kind = s.features().get(column).and_then(MediaKind::of).ok_or_else(not_found)?;
        let batches = self.read_split(&ready, config, s, row, 1).await?;
        let batch = batches.first().ok_or_else(not_found)?;
        media_of(batch, column, 0, kind).ok_or_else(not_found)
    }
}

fn check_length(length: u64) -> Result<()> {
    if length > ROWS_PER_PAGE {
        return Err(viewer_error("InvalidParameter", "Parameter 'length' must not be greater than 100"));
    }
    Ok(())
}
