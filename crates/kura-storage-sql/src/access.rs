//! `AccessStore` for both engines: access requests to gated repos and the audit log.

use kura_model::Timestamp;
use kura_storage::{
    AccessRequestRecord, AccessStatus, AccessStore, AuditRecord, NewAccessRequest, NewAuditEntry,
    StorageError,
};

use crate::pool::{SqlStore, db_error, with_pool};

type Result<T> = std::result::Result<T, StorageError>;

const REQUEST_SELECT: &str = "SELECT r.id, r.repo_id, r.user_id, u.name, r.status, r.fields, r.rejection_reason, \
     r.created_at, r.updated_at FROM access_requests r JOIN users u ON u.id = r.user_id";

type RequestRow = (i64, i64, i64, String, String, Option<String>, Option<String>, i64, i64);

fn request(row: RequestRow) -> Result<AccessRequestRecord> {
    let (id, repo_id, user_id, user_name, status, fields, rejection_reason, created_at, updated_at) = row;
    let status = AccessStatus::parse(&status).ok_or_else(|| {
        StorageError::backend(std::io::Error::other("corrupt access request status in the database"))
    })?;
    Ok(AccessRequestRecord {
        id,
        repo_id,
        user_id,
        user_name,
        status,
        fields,
        rejection_reason,
        created_at,
        updated_at,
    })
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl SqlStore {
    async fn one_request(&self, sql: &str, first: i64, second: i64) -> Result<Option<AccessRequestRecord>> {
        let sql = self.sql(sql);
        let row: Option<RequestRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(first).bind(second).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(request).transpose()
    }
}

#[async_trait::async_trait]
impl AccessStore for SqlStore {
    async fn create_access_request(&self, new: &NewAccessRequest) -> Result<AccessRequestRecord> {
        let sql = self.sql(
            "INSERT INTO access_requests (repo_id, user_id, status, fields, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        );
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(sql)
                .bind(new.repo_id).bind(new.user_id).bind(new.status.as_str()).bind(new.fields.as_deref())
                .bind(new.now).bind(new.now)
                .fetch_one(pool).await.map_err(db_error)?
        });
        self.access_request_by_id(new.repo_id, id).await?.ok_or(StorageError::NotFound)
    }

    async fn access_request(&self, repo: i64, user: i64) -> Result<Option<AccessRequestRecord>> {
        self.one_request(&format!("{REQUEST_SELECT} WHERE r.repo_id = ? AND r.user_id = ?"), repo, user).await
    }

    async fn access_request_by_id(&self, repo: i64, id: i64) -> Result<Option<AccessRequestRecord>> {
        self.one_request(&format!("{REQUEST_SELECT} WHERE r.repo_id = ? AND r.id = ?"), repo, id).await
    }

    async fn set_access_status(
        &self,
        id: i64,
        status: AccessStatus,
        rejection_reason: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let reason = rejection_reason.filter(|_| status == AccessStatus::Rejected);
        let sql = self
            .sql("UPDATE access_requests SET status = ?, rejection_reason = ?, updated_at = ? WHERE id = ?");
        let affected = with_pool!(self, pool => {
            sqlx::query(sql).bind(status.as_str()).bind(reason).bind(now).bind(id)
                .execute(pool).await.map_err(db_error)?.rows_affected()
        });
        if affected == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }

    async fn list_access_requests(
        &self,
        repo: i64,
        status: AccessStatus,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<AccessRequestRecord>> {
        let sql = self.sql(&format!(
            "{REQUEST_SELECT} WHERE r.repo_id = ? AND r.status = ? ORDER BY r.created_at, r.id LIMIT ? OFFSET ?"
        ));
        let rows: Vec<RequestRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(repo).bind(status.as_str()).bind(to_i64(limit)).bind(to_i64(offset))
                .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter().map(request).collect()
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<()> {
        let sql =
            self.sql("INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)");
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(entry.at).bind(entry.actor.as_deref()).bind(&entry.action).bind(&entry.target).bind(&entry.details)
                .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn audit_entries(&self, offset: u64, limit: u64) -> Result<Vec<AuditRecord>> {
        let sql = self.sql(
            "SELECT id, at, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
        );
        let rows: Vec<(i64, i64, Option<String>, String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(to_i64(limit)).bind(to_i64(offset)).fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows
            .into_iter()
            .map(|(id, at, actor, action, target, details)| AuditRecord {
                id,
                entry: NewAuditEntry { at, actor, action, target, details },
            })
            .collect())
    }
}
