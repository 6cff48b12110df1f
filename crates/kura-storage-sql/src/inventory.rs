//! `InventoryStore` for both engines: keyset-paged walks over xorbs, Xet files, the dedup
//! index and large objects (`kura fsck`).

use kura_model::Sha256;
use kura_storage::{DedupEntry, InventoryStore, LfsObjectRecord, StorageError, XetFileRecord, XorbRecord};

use crate::pool::{SqlStore, db_error, with_pool};

type Result<T> = std::result::Result<T, StorageError>;

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn sha256(hex: &str) -> Result<Sha256> {
    Sha256::from_hex(hex).map_err(StorageError::backend)
}

impl SqlStore {
    /// A page of Xet files ordered by file hash; `filter` adds a condition (`AND ...`).
    async fn xet_files_page(
        &self,
        filter: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<XetFileRecord>> {
        let sql = self.sql(&format!(
            "SELECT file_hash, sha256, size, terms FROM xet_files WHERE file_hash > ? {filter} \
             ORDER BY file_hash LIMIT ?"
        ));
        let rows: Vec<(String, String, i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(after.unwrap_or("")).bind(to_i64(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter()
            .map(|(file_hash, sha, size, terms)| {
                Ok(XetFileRecord { file_hash, sha256: sha256(&sha)?, size: to_u64(size), terms })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl InventoryStore for SqlStore {
    async fn list_xorbs(&self, after: Option<&str>, limit: u64) -> Result<Vec<XorbRecord>> {
        let sql = self.sql(
            "SELECT hash, num_chunks, raw_bytes, stored_bytes, created_at FROM xet_xorbs \
             WHERE hash > ? ORDER BY hash LIMIT ?",
        );
        let rows: Vec<(String, i64, i64, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(after.unwrap_or("")).bind(to_i64(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows
            .into_iter()
            .map(|(hash, num_chunks, raw_bytes, stored_bytes, created_at)| XorbRecord {
                hash,
                num_chunks: to_u64(num_chunks),
                raw_bytes: to_u64(raw_bytes),
                stored_bytes: to_u64(stored_bytes),
                created_at,
            })
            .collect())
    }

    async fn list_xet_files(&self, after: Option<&str>, limit: u64) -> Result<Vec<XetFileRecord>> {
        self.xet_files_page("", after, limit).await
    }

    async fn list_unverified_xet_files(&self, after: Option<&str>, limit: u64) -> Result<Vec<XetFileRecord>> {
        self.xet_files_page("AND verified = 0", after, limit).await
    }

    async fn mark_xet_file_verified(&self, file_hash: &str) -> Result<()> {
        let sql = self.sql("UPDATE xet_files SET verified = 1 WHERE file_hash = ?");
        with_pool!(self, pool => {
            sqlx::query(sql).bind(file_hash).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn list_dedup_entries(&self, after: Option<&str>, limit: u64) -> Result<Vec<DedupEntry>> {
        let sql = self.sql(
            "SELECT chunk_hash, xorb_hash FROM xet_dedup WHERE chunk_hash > ? ORDER BY chunk_hash LIMIT ?",
        );
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(after.unwrap_or("")).bind(to_i64(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows.into_iter().map(|(chunk_hash, target)| DedupEntry { chunk_hash, target }).collect())
    }

    async fn list_lfs_objects(&self, after: Option<&Sha256>, limit: u64) -> Result<Vec<LfsObjectRecord>> {
        let sql = self.sql("SELECT oid, size FROM lfs_objects WHERE oid > ? ORDER BY oid LIMIT ?");
        let after = after.map(Sha256::to_hex).unwrap_or_default();
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(after.as_str()).bind(to_i64(limit))
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
        let Ok(url) = std::env::var("KURA_TEST_POSTGRES_URL") else {
            assert!(std::env::var("CI").is_err(), "KURA_TEST_POSTGRES_URL must be set in CI");
            eprintln!("skipping: KURA_TEST_POSTGRES_URL is not set");
            return;
        };
        let suffix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        let schema = format!("inventory_{suffix:x}");
        let admin = SqlStore::connect(&url).await.unwrap();
        crate::pool::with_pool!(admin, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(pool).await.unwrap();
        });
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        let store = SqlStore::connect(&scoped).await.unwrap();
        kura_storage::conformance::inventory_store(&store).await;
    }
}
