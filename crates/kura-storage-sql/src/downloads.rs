//! `DownloadStore` for both engines: counts per repo and day, summed onto the repo row.

use kura_storage::{DownloadHit, DownloadStore, StorageError};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};

type Result<T> = std::result::Result<T, StorageError>;

#[async_trait::async_trait]
impl DownloadStore for SqlStore {
    async fn add_downloads(&self, hits: &[DownloadHit], window_start: i64) -> Result<()> {
        if hits.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for hit in hits {
                let first = sqlx::query(
                    "INSERT INTO download_clients (repo_id, day, client) \
                     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM repos WHERE id = $1) ON CONFLICT DO NOTHING",
                )
                .bind(hit.repo).bind(hit.day).bind(&hit.client)
                .execute(&mut *tx).await.map_err(db_error)?
                .rows_affected();
                if first == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO repo_downloads (repo_id, day, count) VALUES ($1, $2, 1) \
                     ON CONFLICT (repo_id, day) DO UPDATE SET count = repo_downloads.count + 1",
                )
                .bind(hit.repo).bind(hit.day)
                .execute(&mut *tx).await.map_err(db_error)?;
                sqlx::query(
                    "UPDATE repos SET downloads_all_time = downloads_all_time + 1, downloads = \
                     (SELECT COALESCE(SUM(count), 0) FROM repo_downloads WHERE repo_id = $1 AND day >= $2) \
                     WHERE id = $1",
                )
                .bind(hit.repo).bind(window_start)
                .execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn expire_downloads(&self, window_start: i64) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            sqlx::query("DELETE FROM repo_downloads WHERE day < $1")
                .bind(window_start).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("DELETE FROM download_clients WHERE day < (SELECT COALESCE(MAX(day), 0) - 1 FROM download_clients)")
                .execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query(
                "UPDATE repos SET downloads = \
                 (SELECT COALESCE(SUM(count), 0) FROM repo_downloads WHERE repo_id = repos.id) \
                 WHERE downloads > 0",
            )
            .execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }
}
