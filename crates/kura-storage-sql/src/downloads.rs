//! `DownloadStore` for both engines: who was counted (one multi-row insert per batch), counts
//! per repo and day, and the sums on the repo row, each repo touched once per batch in id
//! order (so two replicas' batches never lock repos in opposite orders).

use std::collections::BTreeMap;

use kura_storage::{DownloadHit, DownloadStore, StorageError, TRENDING_LIKE_WEIGHT, trending_window};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};

type Result<T> = std::result::Result<T, StorageError>;

/// The trending score of the repos the `WHERE` clause that follows picks: likes since `$1`
/// (milliseconds) times `$2`, plus downloads since day `$3`.
macro_rules! set_trending {
    ($where:literal) => {
        concat!(
            "UPDATE repos SET trending = \
             $2 * (SELECT COUNT(*) FROM repo_likes l WHERE l.repo_id = repos.id AND l.created_at >= $1) \
             + (SELECT COALESCE(SUM(d.count), 0) FROM repo_downloads d WHERE d.repo_id = repos.id AND d.day >= $3) ",
            $where
        )
    };
}
pub(crate) use set_trending;

/// `INSERT … ON CONFLICT DO NOTHING RETURNING` of the clients of a batch: the rows that come
/// back are the downloads counted for the first time.
fn insert_clients<DB>(hits: &[DownloadHit]) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new("INSERT INTO download_clients (repo_id, day, client) ");
    sql.push_values(hits, |mut row, hit| {
        row.push_bind(hit.repo).push_bind(hit.day).push_bind(hit.client.clone());
    });
    sql.push(" ON CONFLICT DO NOTHING RETURNING repo_id, day");
    sql
}

#[async_trait::async_trait]
impl DownloadStore for SqlStore {
    async fn add_downloads(&self, hits: &[DownloadHit], window_start: i64, today: i64) -> Result<()> {
        let (trend_day, trend_ms) = trending_window(today);
        if hits.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let first: Vec<(i64, i64)> =
                insert_clients(hits).build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
            let mut per_day: BTreeMap<(i64, i64), i64> = BTreeMap::new();
            for key in first {
                *per_day.entry(key).or_default() += 1;
            }
            let mut per_repo: BTreeMap<i64, i64> = BTreeMap::new();
            for ((repo, _), n) in &per_day {
                *per_repo.entry(*repo).or_default() += n;
            }
            for (repo, n) in &per_repo {
                // The repo's row first: it is locked from here, and a repo that is gone is
                // skipped (no rows of it are written).
                let live = sqlx::query("UPDATE repos SET downloads_all_time = downloads_all_time + $2 WHERE id = $1")
                    .bind(*repo).bind(*n)
                    .execute(&mut *tx).await.map_err(db_error)?
                    .rows_affected();
                if live == 0 {
                    continue;
                }
                for ((_, day), count) in per_day.range((*repo, i64::MIN)..=(*repo, i64::MAX)) {
                    sqlx::query(
                        "INSERT INTO repo_downloads (repo_id, day, count) VALUES ($1, $2, $3) \
                         ON CONFLICT (repo_id, day) DO UPDATE SET count = repo_downloads.count + excluded.count",
                    )
                    .bind(*repo).bind(*day).bind(*count)
                    .execute(&mut *tx).await.map_err(db_error)?;
                }
                sqlx::query(
                    "UPDATE repos SET downloads = \
                     (SELECT COALESCE(SUM(count), 0) FROM repo_downloads WHERE repo_id = $1 AND day >= $2) \
                     WHERE id = $1",
                )
                .bind(*repo).bind(window_start)
                .execute(&mut *tx).await.map_err(db_error)?;
                sqlx::query(set_trending!("WHERE id = $4"))
                    .bind(trend_ms).bind(TRENDING_LIKE_WEIGHT).bind(trend_day).bind(*repo)
                    .execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn expire_downloads(&self, window_start: i64, today: i64) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            sqlx::query(
                "UPDATE repos SET downloads = \
                 (SELECT COALESCE(SUM(count), 0) FROM repo_downloads WHERE repo_id = repos.id AND day >= $1) \
                 WHERE id IN (SELECT DISTINCT repo_id FROM repo_downloads WHERE day < $1)",
            )
            .bind(window_start).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("DELETE FROM repo_downloads WHERE day < $1")
                .bind(window_start).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("DELETE FROM download_clients WHERE day < $1")
                .bind(today - 1).execute(&mut *tx).await.map_err(db_error)?;
            // Every score moves with the window: yesterday's first day is out.
            let (trend_day, trend_ms) = trending_window(today);
            sqlx::query(set_trending!("WHERE trending > 0"))
                .bind(trend_ms).bind(TRENDING_LIKE_WEIGHT).bind(trend_day)
                .execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }
}
