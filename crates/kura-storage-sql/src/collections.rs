//! `CollectionStore` for both engines: collections here, their items in `collection_items.rs`.
//! A change to a collection first locks what it depends on (the namespace's row for a new
//! collection, the collection's row for every other change), so budgets and positions hold
//! under concurrent writers on PostgreSQL as they do under SQLite's single writer.

use kura_model::Timestamp;
use kura_storage::{
    CollectionChange, CollectionItemRecord, CollectionQuery, CollectionRecord, CollectionSort,
    CollectionStore, ItemChange, NewCollection, NewCollectionItem, StorageError,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{to_i64, to_u64};

type Result<T> = std::result::Result<T, StorageError>;

/// The columns of `CollectionRow`, on the table aliased `c` (a macro so queries stay literals).
macro_rules! collection_columns {
    () => {
        "c.id, c.public_id, c.namespace, c.title, c.description, c.private, c.theme, c.position, \
         c.upvotes, c.created_at, c.updated_at"
    };
}
pub(crate) use collection_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct CollectionRow {
    id: i64,
    public_id: String,
    namespace: String,
    title: String,
    description: Option<String>,
    private: bool,
    theme: String,
    position: i64,
    upvotes: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<CollectionRow> for CollectionRecord {
    fn from(row: CollectionRow) -> Self {
        CollectionRecord {
            id: row.id,
            public_id: row.public_id,
            namespace: row.namespace,
            title: row.title,
            description: row.description,
            private: row.private,
            theme: row.theme,
            position: row.position,
            upvotes: to_u64(row.upvotes),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The statements that move one row to a rank among the rows of its scope (a namespace's
/// collections, a collection's items), keeping positions distinct: `$1` is the scope.
pub(crate) struct Reorder {
    /// `$2`: the row's id → its position.
    pub(crate) current: &'static str,
    /// `$2`: a rank → the position of the row there now.
    pub(crate) at_rank: &'static str,
    /// The last position.
    pub(crate) last: &'static str,
    /// `$2`..`$3`: the positions from `$2` up to (not including) `$3` move one down the list.
    pub(crate) later: &'static str,
    /// `$2`..`$3`: the positions after `$2` up to `$3` move one up the list.
    pub(crate) earlier: &'static str,
    /// `$2`: the row's id, `$3`: its new position.
    pub(crate) set: &'static str,
}

/// Moves row `$id` of scope `$scope` to rank `$rank` with `reorder`, in the transaction `$tx`.
macro_rules! move_to_rank {
    ($tx:expr, $reorder:expr, $scope:expr, $id:expr, $rank:expr) => {{
        let reorder: &$crate::collections::Reorder = $reorder;
        let (current,): (i64,) = sqlx::query_as(reorder.current)
            .bind($scope)
            .bind($id)
            .fetch_one(&mut *$tx)
            .await
            .map_err(db_error)?;
        let there: Option<(i64,)> = sqlx::query_as(reorder.at_rank)
            .bind($scope)
            .bind($crate::rows::to_i64($rank))
            .fetch_optional(&mut *$tx)
            .await
            .map_err(db_error)?;
        let target = match there {
            Some((position,)) => position,
            None => {
                sqlx::query_as::<_, (i64,)>(reorder.last)
                    .bind($scope)
                    .fetch_one(&mut *$tx)
                    .await
                    .map_err(db_error)?
                    .0
            }
        };
        if target < current {
            sqlx::query(reorder.later)
                .bind($scope)
                .bind(target)
                .bind(current)
                .execute(&mut *$tx)
                .await
                .map_err(db_error)?;
        } else if target > current {
            sqlx::query(reorder.earlier)
                .bind($scope)
                .bind(current)
                .bind(target)
                .execute(&mut *$tx)
                .await
                .map_err(db_error)?;
        }
        sqlx::query(reorder.set)
            .bind($scope)
            .bind($id)
            .bind(target)
            .execute(&mut *$tx)
            .await
            .map_err(db_error)?;
    }};
}
pub(crate) use move_to_rank;

const COLLECTION_ORDER: Reorder = Reorder {
    current: "SELECT position FROM collections WHERE namespace = $1 AND id = $2",
    at_rank: "SELECT position FROM collections WHERE namespace = $1 ORDER BY position LIMIT 1 OFFSET $2",
    last: "SELECT COALESCE(MAX(position), 0) FROM collections WHERE namespace = $1",
    later: "UPDATE collections SET position = position + 1 WHERE namespace = $1 AND position >= $2 AND position < $3",
    earlier: "UPDATE collections SET position = position - 1 WHERE namespace = $1 AND position > $2 AND position <= $3",
    set: "UPDATE collections SET position = $3 WHERE namespace = $1 AND id = $2",
};

/// The listing query of `query`.
fn listing<DB>(query: &CollectionQuery) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let mut sql =
        QueryBuilder::new(concat!("SELECT ", collection_columns!(), " FROM collections c WHERE 1 = 1"));
    if !query.owners.is_empty() {
        sql.push(" AND lower(c.namespace) IN (");
        let mut list = sql.separated(", ");
        for owner in &query.owners {
            list.push("lower(").push_bind_unseparated(owner.clone()).push_unseparated(")");
        }
        sql.push(")");
    }
    if !query.containing.is_empty() {
        // Driven by the items' target index, not by a walk of every collection.
        sql.push(" AND c.id IN (SELECT i.collection_id FROM collection_items i WHERE (1 = 0");
        for target in &query.containing {
            let (kind, id) = crate::collection_items::target_key(*target);
            sql.push(" OR (i.kind = ")
                .push_bind(kind.to_owned())
                .push(" AND i.target = ")
                .push_bind(id)
                .push(")");
        }
        sql.push("))");
    }
    if let Some(namespaces) = &query.private_namespaces {
        sql.push(" AND (NOT c.private");
        if !namespaces.is_empty() {
            sql.push(" OR c.namespace IN (");
            let mut list = sql.separated(", ");
            for namespace in namespaces {
                list.push_bind(namespace.clone());
            }
            sql.push(")");
        }
        sql.push(")");
    }
    sql.push(match query.sort {
        CollectionSort::LastModified => " ORDER BY c.updated_at DESC, c.id DESC",
        // kura has no upvotes yet (all 0): the same order, on the same index.
        CollectionSort::Upvotes => " ORDER BY c.updated_at DESC, c.id DESC",
    });
    sql.push(" LIMIT ").push_bind(to_i64(query.limit));
    sql.push(" OFFSET ").push_bind(to_i64(query.offset));
    sql
}

impl SqlStore {
    async fn collection_by_id(&self, id: i64) -> Result<Option<CollectionRecord>> {
        let row: Option<CollectionRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", collection_columns!(), " FROM collections c WHERE c.id = $1"))
                .bind(id).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(Into::into))
    }
}

#[async_trait::async_trait]
impl CollectionStore for SqlStore {
    async fn create_collection(&self, new: &NewCollection) -> Result<CollectionRecord> {
        let id: i64 = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            // The namespace's row: it must exist, and concurrent creations there wait in turn.
            let live = sqlx::query("UPDATE namespaces SET kind = kind WHERE name = $1")
                .bind(&new.namespace).execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            if live == 0 {
                return Err(StorageError::NotFound);
            }
            let (count, last): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(MAX(position), -1) FROM collections WHERE namespace = $1",
            )
            .bind(&new.namespace).fetch_one(&mut *tx).await.map_err(db_error)?;
            if to_u64(count) >= new.max_per_namespace {
                return Err(StorageError::Conflict);
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO collections (public_id, namespace, title, description, private, theme, position, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(&new.public_id).bind(&new.namespace).bind(&new.title).bind(&new.description)
            .bind(new.private).bind(&new.theme).bind(last + 1).bind(new.now)
            .fetch_one(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            id
        });
        self.collection_by_id(id).await?.ok_or(StorageError::NotFound)
    }

    async fn collection(&self, public_id: &str) -> Result<Option<CollectionRecord>> {
        let row: Option<CollectionRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", collection_columns!(), " FROM collections c WHERE c.public_id = $1"))
                .bind(public_id).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(Into::into))
    }

    async fn collection_titled(&self, namespace: &str, title: &str) -> Result<Option<CollectionRecord>> {
        let row: Option<CollectionRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", collection_columns!(), " FROM collections c WHERE c.namespace = $1 AND c.title = $2"
            ))
            .bind(namespace).bind(title).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(Into::into))
    }

    async fn update_collection(&self, id: i64, change: &CollectionChange) -> Result<CollectionRecord> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let namespace: Option<(String,)> =
                sqlx::query_as("UPDATE collections SET updated_at = $2 WHERE id = $1 RETURNING namespace")
                    .bind(id).bind(change.now).fetch_optional(&mut *tx).await.map_err(db_error)?;
            let Some((namespace,)) = namespace else {
                return Err(StorageError::NotFound);
            };
            if let Some(title) = &change.title {
                sqlx::query("UPDATE collections SET title = $2 WHERE id = $1")
                    .bind(id).bind(title).execute(&mut *tx).await.map_err(db_error)?;
            }
            if let Some(description) = &change.description {
                sqlx::query("UPDATE collections SET description = $2 WHERE id = $1")
                    .bind(id).bind(description).execute(&mut *tx).await.map_err(db_error)?;
            }
            if let Some(private) = change.private {
                sqlx::query("UPDATE collections SET private = $2 WHERE id = $1")
                    .bind(id).bind(private).execute(&mut *tx).await.map_err(db_error)?;
            }
            if let Some(theme) = &change.theme {
                sqlx::query("UPDATE collections SET theme = $2 WHERE id = $1")
                    .bind(id).bind(theme).execute(&mut *tx).await.map_err(db_error)?;
            }
            if let Some(rank) = change.position {
                move_to_rank!(tx, &COLLECTION_ORDER, &namespace, id, rank);
            }
            tx.commit().await.map_err(db_error)?;
        });
        self.collection_by_id(id).await?.ok_or(StorageError::NotFound)
    }

    async fn delete_collection(&self, id: i64) -> Result<()> {
        const DELETES: [&str; 3] = [
            "DELETE FROM collection_items WHERE collection_id = $1",
            "DELETE FROM collection_items WHERE kind = 'collection' AND target = $1",
            "DELETE FROM collections WHERE id = $1",
        ];
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            // The row first: an item naming it is added with it locked, so none is left behind.
            let live = sqlx::query("UPDATE collections SET updated_at = updated_at WHERE id = $1")
                .bind(id).execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            if live == 0 {
                return Err(StorageError::NotFound);
            }
            for sql in DELETES {
                sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn list_collections(&self, query: &CollectionQuery) -> Result<Vec<CollectionRecord>> {
        let rows: Vec<CollectionRow> = with_pool!(self, pool => {
            listing(query).build_query_as().fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn collection_rank(&self, collection: &CollectionRecord, include_private: bool) -> Result<u64> {
        let (rank,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM collections WHERE namespace = $1 AND position < $2 \
                 AND ($3 = TRUE OR private = FALSE)",
            )
            .bind(&collection.namespace).bind(collection.position).bind(include_private)
            .fetch_one(pool).await.map_err(db_error)?
        });
        Ok(to_u64(rank))
    }

    async fn add_collection_item(&self, new: &NewCollectionItem) -> Result<()> {
        self.insert_item(new).await
    }

    async fn collection_items(
        &self,
        collections: &[i64],
        per_collection: u64,
    ) -> Result<Vec<CollectionItemRecord>> {
        self.items_of(collections, per_collection).await
    }

    async fn update_collection_item(&self, collection: i64, item: &str, change: &ItemChange) -> Result<()> {
        self.change_item(collection, item, change).await
    }

    async fn delete_collection_item(&self, collection: i64, item: &str, now: Timestamp) -> Result<()> {
        self.remove_item(collection, item, now).await
    }
}
