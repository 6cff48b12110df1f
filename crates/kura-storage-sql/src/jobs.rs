//! `JobStore` for both engines: the job queue (leases by compare-and-set on the row, so two
//! replicas never hold one job) and the fact tables.

use kura_model::Timestamp;
use kura_storage::{FactRecord, FactTable, JobCounts, JobRecord, JobStore, MAX_FACT_KEYS, StorageError};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::pool::{SqlStore, db_error, with_pool};

type Result<T> = std::result::Result<T, StorageError>;

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    job_key: String,
    payload: String,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    queued: i64,
    running: i64,
    failed: i64,
}

#[derive(sqlx::FromRow)]
struct FactRow {
    fact_key: String,
    version: i64,
    facts: String,
}

fn table_name(table: FactTable) -> &'static str {
    match table {
        FactTable::Blob => "blob_facts",
        FactTable::Commit => "commit_facts",
    }
}

/// `SELECT` of the facts under `keys` (the table name is one of two constants).
fn facts_query<DB>(table: FactTable, keys: &[String]) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new("SELECT fact_key, version, facts FROM ");
    sql.push(table_name(table)).push(" WHERE fact_key IN (");
    let mut list = sql.separated(", ");
    for key in keys {
        list.push_bind(key.clone());
    }
    sql.push(")");
    sql
}

/// A claimed job is due, queued, and not leased to anyone whose lease is still running.
const CLAIMABLE: &str = "state = 'queued' AND run_after <= $3 AND (lease_until IS NULL OR lease_until <= $3)";

#[async_trait::async_trait]
impl JobStore for SqlStore {
    async fn enqueue_job(
        &self,
        kind: &str,
        key: &str,
        payload: &str,
        now: Timestamp,
        retry_failed: bool,
    ) -> Result<bool> {
        let affected = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO jobs (kind, job_key, payload, state, attempts, run_after, created_at) \
                 VALUES ($1, $2, $3, 'queued', 0, $4, $4) \
                 ON CONFLICT (kind, job_key) DO UPDATE SET state = 'queued', attempts = 0, \
                 payload = excluded.payload, run_after = excluded.run_after, last_error = NULL \
                 WHERE jobs.state = 'failed' AND $5",
            )
            .bind(kind).bind(key).bind(payload).bind(now).bind(retry_failed)
            .execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(affected > 0)
    }

    async fn claim_job(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<JobRecord>> {
        // The outer condition repeats the inner one: under PostgreSQL's read committed, a
        // second claimer of the same row re-checks it after the first one's update and skips.
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE} ORDER BY id LIMIT 1) AND {CLAIMABLE} \
             RETURNING id, kind, job_key, payload, attempts"
        );
        let row: Option<JobRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(owner).bind(lease_until).bind(now)
                .fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(|row| JobRecord {
            id: row.id,
            kind: row.kind,
            key: row.job_key,
            payload: row.payload,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        }))
    }

    async fn finish_job(&self, id: i64, owner: &str) -> Result<bool> {
        let affected = with_pool!(self, pool => {
            sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2 AND state = 'queued'")
                .bind(id).bind(owner).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(affected > 0)
    }

    async fn fail_job(&self, id: i64, owner: &str, error: &str, retry_at: Option<Timestamp>) -> Result<bool> {
        let state = if retry_at.is_some() { "queued" } else { "failed" };
        let error: String = error.chars().take(2000).collect();
        let affected = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, last_error = $3, state = $4, \
                 run_after = COALESCE($5, run_after) WHERE id = $1 AND lease_owner = $2 AND state = 'queued'",
            )
            .bind(id).bind(owner).bind(error).bind(state).bind(retry_at)
            .execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(affected > 0)
    }

    async fn job_counts(&self, now: Timestamp) -> Result<JobCounts> {
        let row: CountRow = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT \
                 COALESCE(SUM(CASE WHEN state = 'queued' AND (lease_until IS NULL OR lease_until <= $1) THEN 1 ELSE 0 END), 0) AS queued, \
                 COALESCE(SUM(CASE WHEN state = 'queued' AND lease_until > $1 THEN 1 ELSE 0 END), 0) AS running, \
                 COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed \
                 FROM jobs",
            )
            .bind(now).fetch_one(pool).await.map_err(db_error)?
        });
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(JobCounts { queued: count(row.queued), running: count(row.running), failed: count(row.failed) })
    }

    async fn facts(&self, table: FactTable, keys: &[String]) -> Result<Vec<FactRecord>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if keys.len() > MAX_FACT_KEYS {
            return Err(StorageError::backend(std::io::Error::other(format!(
                "at most {MAX_FACT_KEYS} fact keys per query"
            ))));
        }
        let rows: Vec<FactRow> = with_pool!(self, pool => {
            let mut sql = facts_query(table, keys);
            sql.build_query_as().fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows
            .into_iter()
            .map(|row| FactRecord {
                key: row.fact_key,
                version: u32::try_from(row.version).unwrap_or(0),
                facts: row.facts,
            })
            .collect())
    }

    async fn put_facts(&self, table: FactTable, record: &FactRecord, now: Timestamp) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (fact_key, version, facts, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (fact_key) DO UPDATE SET version = excluded.version, facts = excluded.facts, \
             updated_at = excluded.updated_at",
            table_name(table)
        );
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&record.key).bind(i64::from(record.version)).bind(&record.facts).bind(now)
                .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }
}
