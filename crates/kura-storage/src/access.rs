//! Gated-access port: users' requests for a gated repo's files, and the security audit log.

use kura_model::Timestamp;

use crate::StorageError;
use crate::records::{AccessRequestRecord, AccessStatus, AuditRecord, NewAccessRequest, NewAuditEntry};

type Result<T> = std::result::Result<T, StorageError>;

/// Access requests and the audit log; a supertrait of `MetadataStore`, so every engine has it.
/// `MetadataStore::delete_repo` also deletes the repo's requests (ids may be reused).
#[async_trait::async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Records a request; `AlreadyExists` when the user already has one for the repo.
    async fn create_access_request(&self, request: &NewAccessRequest) -> Result<AccessRequestRecord>;
    async fn access_request(&self, repo: i64, user: i64) -> Result<Option<AccessRequestRecord>>;
    async fn access_request_by_id(&self, repo: i64, id: i64) -> Result<Option<AccessRequestRecord>>;
    /// Moves a request to `status`; `rejection_reason` is kept only for rejections.
    /// `NotFound` when there is no such request.
    async fn set_access_status(
        &self,
        id: i64,
        status: AccessStatus,
        rejection_reason: Option<&str>,
        now: Timestamp,
    ) -> Result<()>;
    /// Requests of the repo with `status`, oldest first.
    async fn list_access_requests(
        &self,
        repo: i64,
        status: AccessStatus,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<AccessRequestRecord>>;
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<()>;
    /// Audit entries, newest first.
    async fn audit_entries(&self, offset: u64, limit: u64) -> Result<Vec<AuditRecord>>;
}
