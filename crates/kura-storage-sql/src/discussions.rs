//! `DiscussionStore` for both engines: discussions and pull requests numbered per repo, and
//! their events in order.

use kura_storage::{
    DiscussionBudget, DiscussionChange, DiscussionEventRecord, DiscussionFilter, DiscussionRecord,
    DiscussionStore, NewDiscussion, StorageError,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{to_i64, to_u64};

type Result<T> = std::result::Result<T, StorageError>;

/// Attempts at numbering a new discussion when another one took the number first.
const NUMBERING_ATTEMPTS: usize = 5;

#[derive(sqlx::FromRow)]
struct DiscussionRow {
    repo_id: i64,
    num: i64,
    title: String,
    status: String,
    is_pull_request: bool,
    author_id: Option<i64>,
    created_at: i64,
}

impl From<DiscussionRow> for DiscussionRecord {
    fn from(row: DiscussionRow) -> Self {
        Self {
            repo: row.repo_id,
            num: to_u64(row.num),
            title: row.title,
            status: row.status,
            is_pull_request: row.is_pull_request,
            author: row.author_id,
            created_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    kind: String,
    author_id: Option<i64>,
    created_at: i64,
    data: String,
}

impl From<EventRow> for DiscussionEventRecord {
    fn from(row: EventRow) -> Self {
        Self { id: row.id, kind: row.kind, author: row.author_id, created_at: row.created_at, data: row.data }
    }
}

/// `SELECT {what} FROM discussions` for the repo's discussions passing `filter` (`what` is one
/// of the constants below).
fn filtered<DB>(what: &'static str, repo: i64, filter: &DiscussionFilter) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new("SELECT ");
    sql.push(what).push(" FROM discussions WHERE repo_id = ").push_bind(repo);
    if let Some(author) = filter.author {
        sql.push(" AND author_id = ").push_bind(author);
    }
    if let Some(prs) = filter.pull_requests {
        sql.push(" AND is_pull_request = ").push_bind(prs);
    }
    if !filter.statuses.is_empty() {
        sql.push(" AND status IN (");
        let mut list = sql.separated(", ");
        for status in &filter.statuses {
            list.push_bind(status.clone());
        }
        sql.push(")");
    }
    sql
}

const COLUMNS: &str = "repo_id, num, title, status, is_pull_request, author_id, created_at";
const COUNT: &str = "COUNT(*)";

/// Appends `events` after the discussion's last one, in the transaction `tx`.
macro_rules! insert_events {
    ($tx:expr, $repo:expr, $num:expr, $events:expr) => {{
        let (next,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM discussion_events WHERE repo_id = $1 AND num = $2",
        )
        .bind($repo)
        .bind(to_i64($num))
        .fetch_one(&mut *$tx)
        .await
        .map_err(db_error)?;
        for (seq, event) in (next..).zip($events) {
            sqlx::query(
                "INSERT INTO discussion_events (repo_id, num, seq, id, kind, author_id, created_at, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind($repo)
            .bind(to_i64($num))
            .bind(seq)
            .bind(event.id.clone())
            .bind(event.kind.clone())
            .bind(event.author)
            .bind(event.created_at)
            .bind(event.data.clone())
            .execute(&mut *$tx)
            .await
            .map_err(db_error)?;
        }
    }};
}

#[async_trait::async_trait]
impl DiscussionStore for SqlStore {
    async fn create_discussion(
        &self,
        new: NewDiscussion<'_>,
        events: &[DiscussionEventRecord],
    ) -> Result<u64> {
        let repo = new.repo;
        let mut last = StorageError::Conflict;
        for _ in 0..NUMBERING_ATTEMPTS {
            let attempt: Result<u64> = with_pool!(self, pool => {
                let mut tx = pool.begin_write().await.map_err(db_error)?;
                let (num,): (i64,) = sqlx::query_as(
                    "INSERT INTO discussions (repo_id, num, title, status, is_pull_request, author_id, created_at) \
                     SELECT $1, COALESCE(MAX(num), 0) + 1, $2, $3, $4, $5, $6 FROM discussions WHERE repo_id = $1 \
                     RETURNING num",
                )
                .bind(repo).bind(new.title).bind(new.status).bind(new.is_pull_request).bind(new.author)
                .bind(new.created_at)
                .fetch_one(&mut *tx).await.map_err(db_error)?;
                insert_events!(tx, repo, to_u64(num), events);
                if let Some(head) = new.pr_head {
                    sqlx::query("INSERT INTO refs (repo_id, name, target) VALUES ($1, $2, $3)")
                        .bind(repo).bind(format!("refs/pr/{num}")).bind(head.to_hex())
                        .execute(&mut *tx).await.map_err(db_error)?;
                }
                let bytes: usize = events.iter().map(|e| e.data.len()).sum();
                sqlx::query(
                    "UPDATE discussions SET event_count = $3, data_bytes = $4 WHERE repo_id = $1 AND num = $2",
                )
                .bind(repo).bind(num).bind(events.len() as i64).bind(bytes as i64)
                .execute(&mut *tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok(to_u64(num))
            });
            match attempt {
                Err(StorageError::AlreadyExists) => last = StorageError::Conflict,
                other => return other,
            }
        }
        Err(last)
    }

    async fn discussion(&self, repo: i64, num: u64) -> Result<Option<DiscussionRecord>> {
        let row: Option<DiscussionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT repo_id, num, title, status, is_pull_request, author_id, created_at FROM discussions \
                 WHERE repo_id = $1 AND num = $2",
            )
                .bind(repo).bind(to_i64(num))
                .fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(Into::into))
    }

    async fn discussions(
        &self,
        repo: i64,
        filter: &DiscussionFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DiscussionRecord>, u64)> {
        let (rows, total): (Vec<DiscussionRow>, i64) = with_pool!(self, pool => {
            let mut page = filtered(COLUMNS, repo, filter);
            page.push(" ORDER BY num DESC LIMIT ").push_bind(to_i64(limit));
            page.push(" OFFSET ").push_bind(to_i64(offset));
            let rows = page.build_query_as().fetch_all(pool).await.map_err(db_error)?;
            let (total,): (i64,) =
                filtered(COUNT, repo, filter).build_query_as().fetch_one(pool).await.map_err(db_error)?;
            (rows, total)
        });
        Ok((rows.into_iter().map(Into::into).collect(), to_u64(total)))
    }

    async fn discussion_events(&self, repo: i64, num: u64, limit: u64) -> Result<Vec<DiscussionEventRecord>> {
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, kind, author_id, created_at, data FROM discussion_events \
                 WHERE repo_id = $1 AND num = $2 ORDER BY seq LIMIT $3",
            )
            .bind(repo).bind(to_i64(num)).bind(to_i64(limit))
            .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn add_discussion_events(
        &self,
        repo: i64,
        num: u64,
        events: &[DiscussionEventRecord],
        change: DiscussionChange<'_>,
        budget: DiscussionBudget,
    ) -> Result<bool> {
        let bytes: usize = events.iter().map(|e| e.data.len()).sum();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let changed = sqlx::query(
                "UPDATE discussions SET title = COALESCE($3, title), status = COALESCE($4, status), \
                 event_count = event_count + $5, data_bytes = data_bytes + $6 \
                 WHERE repo_id = $1 AND num = $2 AND event_count + $5 <= $7 AND data_bytes + $6 <= $8 \
                 AND ($9 IS NULL OR (',' || $9 || ',') LIKE ('%,' || status || ',%'))",
            )
            .bind(repo).bind(to_i64(num)).bind(change.title).bind(change.status)
            .bind(events.len() as i64).bind(bytes as i64)
            .bind(to_i64(budget.max_events)).bind(to_i64(budget.max_bytes)).bind(change.from_statuses)
            .execute(&mut *tx).await.map_err(db_error)?
            .rows_affected();
            if changed == 0 {
                let status: Option<(String,)> = sqlx::query_as(
                    "SELECT status FROM discussions WHERE repo_id = $1 AND num = $2",
                )
                .bind(repo).bind(to_i64(num))
                .fetch_optional(&mut *tx).await.map_err(db_error)?;
                return match (status, change.from_statuses) {
                    (None, _) => Err(StorageError::NotFound),
                    (Some((status,)), Some(from)) if !from.split(',').any(|s| s == status) => {
                        Err(StorageError::Conflict)
                    }
                    _ => Ok(false),
                };
            }
            insert_events!(tx, repo, num, events);
            tx.commit().await.map_err(db_error)?;
        });
        Ok(true)
    }

    async fn discussion_event(&self, repo: i64, num: u64, id: &str) -> Result<Option<DiscussionEventRecord>> {
        let row: Option<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, kind, author_id, created_at, data FROM discussion_events \
                 WHERE repo_id = $1 AND num = $2 AND id = $3",
            )
            .bind(repo).bind(to_i64(num)).bind(id)
            .fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(Into::into))
    }

    async fn update_discussion_event(
        &self,
        repo: i64,
        num: u64,
        id: &str,
        old: &str,
        new: &str,
        budget: DiscussionBudget,
    ) -> Result<bool> {
        let delta = new.len() as i64 - old.len() as i64;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let (found,): (bool,) = sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM discussion_events WHERE repo_id = $1 AND num = $2 AND id = $3)",
            )
            .bind(repo).bind(to_i64(num)).bind(id)
            .fetch_one(&mut *tx).await.map_err(db_error)?;
            if !found {
                return Err(StorageError::NotFound);
            }
            let within = sqlx::query(
                "UPDATE discussions SET data_bytes = data_bytes + $3 \
                 WHERE repo_id = $1 AND num = $2 AND data_bytes + $3 <= $4",
            )
            .bind(repo).bind(to_i64(num)).bind(delta).bind(to_i64(budget.max_bytes))
            .execute(&mut *tx).await.map_err(db_error)?
            .rows_affected();
            if within == 0 {
                return Ok(false);
            }
            let swapped = sqlx::query(
                "UPDATE discussion_events SET data = $5 WHERE repo_id = $1 AND num = $2 AND id = $3 AND data = $4",
            )
            .bind(repo).bind(to_i64(num)).bind(id).bind(old).bind(new)
            .execute(&mut *tx).await.map_err(db_error)?
            .rows_affected();
            if swapped == 0 {
                return Err(StorageError::Conflict);
            }
            tx.commit().await.map_err(db_error)?;
        });
        Ok(true)
    }
}
