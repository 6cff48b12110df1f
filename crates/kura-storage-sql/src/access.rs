//! `AccessStore` for both engines: access requests to gated repos and the audit log.

use kura_model::Timestamp;
use kura_storage::{
    AccessRequestRecord, AccessStatus, AccessStore, AuditRecord, NewAccessRequest, NewAuditEntry,
    StorageError,
};

use crate::pool::{SqlStore, db_error, with_pool};
use crate::rows::{corrupt, to_i64};

type Result<T> = std::result::Result<T, StorageError>;

/// The select of `RequestRow`, to be followed by a `WHERE` (a macro so queries stay literals).
macro_rules! request_select {
    () => {
        "SELECT r.id, r.repo_id, r.user_id, u.name AS user_name, r.status, r.fields, \
         r.rejection_reason, r.created_at, r.updated_at FROM access_requests r JOIN users u ON u.id = r.user_id"
    };
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    repo_id: i64,
    user_id: i64,
    user_name: String,
    status: String,
    fields: Option<String>,
    rejection_reason: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<RequestRow> for AccessRequestRecord {
    type Error = StorageError;

    fn try_from(row: RequestRow) -> Result<Self> {
        Ok(AccessRequestRecord {
            id: row.id,
            repo_id: row.repo_id,
            user_id: row.user_id,
            user_name: row.user_name,
            status: AccessStatus::parse(&row.status).ok_or_else(|| corrupt("access request status"))?,
            fields: row.fields,
            rejection_reason: row.rejection_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: Timestamp,
    actor: Option<String>,
    action: String,
    target: String,
    details: String,
}

impl From<AuditRow> for AuditRecord {
    fn from(row: AuditRow) -> Self {
        let AuditRow { id, at, actor, action, target, details } = row;
        AuditRecord { id, entry: NewAuditEntry { at, actor, action, target, details } }
    }
}

impl SqlStore {
    /// The request `sql` finds with `$1` and `$2` bound to `first` and `second`.
    async fn one_request(
        &self,
        sql: &'static str,
        first: i64,
        second: i64,
    ) -> Result<Option<AccessRequestRecord>> {
        let row: Option<RequestRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(first).bind(second).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(AccessRequestRecord::try_from).transpose()
    }
}

#[async_trait::async_trait]
impl AccessStore for SqlStore {
    async fn create_access_request(&self, new: &NewAccessRequest) -> Result<AccessRequestRecord> {
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO access_requests (repo_id, user_id, status, fields, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(new.repo_id).bind(new.user_id).bind(new.status.as_str()).bind(new.fields.as_deref()).bind(new.now)
            .fetch_one(pool).await.map_err(db_error)?
        });
        self.access_request_by_id(new.repo_id, id).await?.ok_or(StorageError::NotFound)
    }

    async fn access_request(&self, repo: i64, user: i64) -> Result<Option<AccessRequestRecord>> {
        self.one_request(concat!(request_select!(), " WHERE r.repo_id = $1 AND r.user_id = $2"), repo, user)
            .await
    }

    async fn access_request_by_id(&self, repo: i64, id: i64) -> Result<Option<AccessRequestRecord>> {
        self.one_request(concat!(request_select!(), " WHERE r.repo_id = $1 AND r.id = $2"), repo, id).await
    }

    async fn set_access_status(
        &self,
        id: i64,
        status: AccessStatus,
        rejection_reason: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let reason = rejection_reason.filter(|_| status == AccessStatus::Rejected);
        let affected = with_pool!(self, pool => {
            sqlx::query("UPDATE access_requests SET status = $1, rejection_reason = $2, updated_at = $3 WHERE id = $4")
                .bind(status.as_str()).bind(reason).bind(now).bind(id)
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
        let rows: Vec<RequestRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                request_select!(),
                " WHERE r.repo_id = $1 AND r.status = $2 ORDER BY r.created_at, r.id LIMIT $3 OFFSET $4"
            ))
            .bind(repo).bind(status.as_str()).bind(to_i64(limit)).bind(to_i64(offset))
            .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter().map(AccessRequestRecord::try_from).collect()
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)")
                .bind(entry.at).bind(entry.actor.as_deref()).bind(&entry.action).bind(&entry.target).bind(&entry.details)
                .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn audit_entries(&self, offset: u64, limit: u64) -> Result<Vec<AuditRecord>> {
        let rows: Vec<AuditRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, at, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2")
                .bind(to_i64(limit)).bind(to_i64(offset)).fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }
}
