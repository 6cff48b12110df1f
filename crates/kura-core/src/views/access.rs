//! Gated access: requests as the Hub's `user-access-request` endpoints list them, kura's
//! `ask-access` answer, and the admin audit log.

use kura_model::format_timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::{AccessRequestRecord, AuditRecord, request_id};

/// A request for a gated repo's files (`user.user` is what the client reads as the username).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessRequestView {
    /// The requester's answers, when they gave any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Value>,
    #[serde(rename = "rejectionReason", skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    pub status: &'static str,
    pub timestamp: String,
    pub user: RequesterView,
}

/// Who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequesterView {
    pub fullname: String,
    pub user: String,
}

impl AccessRequestView {
    pub fn new(record: &AccessRequestRecord) -> Self {
        Self {
            fields: record.fields.as_deref().and_then(|f| serde_json::from_str(f).ok()),
            rejection_reason: record.rejection_reason.clone(),
            request_id: request_id(record),
            status: record.status.as_str(),
            timestamp: format_timestamp(record.created_at),
            user: RequesterView { fullname: record.user_name.clone(), user: record.user_name.clone() },
        }
    }
}

/// The answer of `POST .../ask-access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AskAccessView {
    #[serde(rename = "requestId")]
    pub request_id: String,
    pub status: &'static str,
}

impl AskAccessView {
    pub fn new(record: &AccessRequestRecord) -> Self {
        Self { request_id: request_id(record), status: record.status.as_str() }
    }
}

/// One entry of `GET /api/admin/audit-log`. `actor` is `null` for the operator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntryView {
    pub action: String,
    pub actor: Option<String>,
    /// The stored details object (`null` if it no longer parses).
    pub details: Value,
    pub id: i64,
    pub target: String,
    pub time: String,
}

impl AuditEntryView {
    pub fn new(record: &AuditRecord) -> Self {
        let entry = &record.entry;
        Self {
            action: entry.action.clone(),
            actor: entry.actor.clone(),
            details: serde_json::from_str(&entry.details).unwrap_or(Value::Null),
            id: record.id,
            target: entry.target.clone(),
            time: format_timestamp(entry.at),
        }
    }
}
