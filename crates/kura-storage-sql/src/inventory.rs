//! `InventoryStore` for both engines: keyset-paged walks over xorbs, Xet files, the dedup
//! index and large objects (`kura fsck`).

use kura_model::Sha256;
use kura_storage::{DedupEntry, InventoryStore, LfsObjectRecord, StorageError, XetFileRecord, XorbRecord};

use crate::pool::{SqlStore, db_error, with_pool};
use crate::rows::{XetFileRow, sha256, to_i64, to_u64};

type Result<T> = std::result::Result<T, StorageError>;

#[derive(sqlx::FromRow)]
struct XorbRow {
    hash: String,
    num_chunks: i64,
    raw_bytes: i64,
    stored_bytes: i64,
    created_at: i64,
}

impl From<XorbRow> for XorbRecord {
    fn from(row: XorbRow) -> Self {
        XorbRecord {
            hash: row.hash,
            num_chunks: to_u64(row.num_chunks),
            raw_bytes: to_u64(row.raw_bytes),
            stored_bytes: to_u64(row.stored_bytes),
            created_at: row.created_at,
        }
    }
}

impl SqlStore {
    /// A page of Xet files ordered by file hash, from `sql` (which binds the last hash seen and
    /// the limit).
    async fn xet_files_page(
        &self,
        sql: &'static str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<XetFileRecord>> {
        let rows: Vec<XetFileRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(after.unwrap_or("")).bind(to_i64(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter().map(XetFileRecord::try_from).collect()
    }
}

#[async_trait::async_trait]
impl InventoryStore for SqlStore {
    async fn list_xorbs(&self, after: Option<&str>, limit: u64) -> Result<Vec<XorbRecord>> {
        let rows: Vec<XorbRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT hash, num_chunks, raw_bytes, stored_bytes, created_at FROM xet_xorbs \
                 WHERE hash > $1 ORDER BY hash LIMIT $2",
            )
            .bind(after.unwrap_or("")).bind(to_i64(limit))
            .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows.into_iter().map(XorbRecord::from).collect())
    }

    async fn list_xet_files(&self, after: Option<&str>, limit: u64) -> Result<Vec<XetFileRecord>> {
        self.xet_files_page(
            "SELECT file_hash, sha256, size, terms FROM xet_files WHERE file_hash > $1 ORDER BY file_hash LIMIT $2",
            after,
            limit,
        )
        .await
    }

    async fn list_unverified_xet_files(&self, after: Option<&str>, limit: u64) -> Result<Vec<XetFileRecord>> {
        self.xet_files_page(
            "SELECT file_hash, sha256, size, terms FROM xet_files WHERE file_hash > $1 AND verified = 0 \
             ORDER BY file_hash LIMIT $2",
            after,
            limit,
        )
        .await
    }

    async fn mark_xet_file_verified(&self, file_hash: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE xet_files SET verified = 1 WHERE file_hash = $1")
                .bind(file_hash).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn list_dedup_entries(&self, after: Option<&str>, limit: u64) -> Result<Vec<DedupEntry>> {
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT chunk_hash, xorb_hash FROM xet_dedup WHERE chunk_hash > $1 ORDER BY chunk_hash LIMIT $2")
                .bind(after.unwrap_or("")).bind(to_i64(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows.into_iter().map(|(chunk_hash, target)| DedupEntry { chunk_hash, target }).collect())
    }

    async fn list_lfs_objects(&self, after: Option<&Sha256>, limit: u64) -> Result<Vec<LfsObjectRecord>> {
        let after = after.map(Sha256::to_hex).unwrap_or_default();
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT oid, size FROM lfs_objects WHERE oid > $1 ORDER BY oid LIMIT $2")
                .bind(after.as_str()).bind(to_i64(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter()
            .map(|(oid, size)| Ok(LfsObjectRecord { oid: sha256(&oid)?, size: to_u64(size) }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::SqlStore;

    #[tokio::test]
    async fn sqlite_passes_inventory_conformance() {
        let store = SqlStore::connect("sqlite::memory:").await.unwrap();
        kura_storage::conformance::inventory_store(&store).await;
    }

    /// PostgreSQL: required in CI; a fresh schema per run.
    #[tokio::test]
    async fn postgres_passes_inventory_conformance() {
        let Some(url) = crate::testing::postgres_url("inventory").await else { return };
        let store = SqlStore::connect(&url).await.unwrap();
        kura_storage::conformance::inventory_store(&store).await;
    }
}
