//! The items of collections, for both engines. Every change starts by locking the collection's
//! row (moving its `updated_at`), so the item budget and the positions hold under concurrent
//! writers; an added item's target is locked too (in id order with the collection when it is
//! a collection), so a deletion of the target either goes first and the item is refused, or
//! goes second and deletes the item.

use kura_model::Timestamp;
use kura_storage::{
    CollectionItemRecord, ItemChange, ItemObject, ItemTarget, NewCollectionItem, StorageError,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::collections::{CollectionRow, Reorder, collection_columns, move_to_rank};
use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{RepoRow, repo_columns, to_i64, to_u64};

type Result<T> = std::result::Result<T, StorageError>;

/// The stored `kind` and `target` of an item's target.
pub(crate) fn target_key(target: ItemTarget) -> (&'static str, i64) {
    match target {
        ItemTarget::Repo(id) => ("repo", id),
        ItemTarget::Collection(id) => ("collection", id),
    }
}

const ITEM_ORDER: Reorder = Reorder {
    current: "SELECT position FROM collection_items WHERE collection_id = $1 AND id = $2",
    at_rank: "SELECT position FROM collection_items WHERE collection_id = $1 ORDER BY position LIMIT 1 OFFSET $2",
    last: "SELECT COALESCE(MAX(position), 0) FROM collection_items WHERE collection_id = $1",
    later: "UPDATE collection_items SET position = position + 1 \
            WHERE collection_id = $1 AND position >= $2 AND position < $3",
    earlier: "UPDATE collection_items SET position = position - 1 \
              WHERE collection_id = $1 AND position > $2 AND position <= $3",
    set: "UPDATE collection_items SET position = $3 WHERE collection_id = $1 AND id = $2",
};

/// Locks a collection's row and moves its `updated_at`; whether it exists.
const TOUCH: &str = "UPDATE collections SET updated_at = $2 WHERE id = $1";
const LOCK_COLLECTION: &str = "UPDATE collections SET updated_at = updated_at WHERE id = $1";
const LOCK_REPO: &str = "UPDATE repos SET likes = likes WHERE id = $1";

/// What both item queries select besides their target's columns.
macro_rules! item_columns {
    () => {
        "i.collection_id, i.public_id AS item_id, i.position AS item_position, i.note, i.created_at AS added_at, "
    };
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    collection_id: i64,
    item_id: String,
    item_position: i64,
    note: Option<String>,
    added_at: Timestamp,
}

impl ItemRow {
    fn into_record(self, object: ItemObject) -> CollectionItemRecord {
        CollectionItemRecord {
            collection: self.collection_id,
            public_id: self.item_id,
            position: self.item_position,
            note: self.note,
            added_at: self.added_at,
            object,
        }
    }
}

#[derive(sqlx::FromRow)]
struct RepoItemRow {
    #[sqlx(flatten)]
    item: ItemRow,
    #[sqlx(flatten)]
    repo: RepoRow,
}

#[derive(sqlx::FromRow)]
struct CollectionItemRow {
    #[sqlx(flatten)]
    item: ItemRow,
    #[sqlx(flatten)]
    collection: CollectionRow,
}

/// The first `per` items of each of `collections` whose target of `kind` exists: `select`
/// names the target's columns and ends joining the items to its table, `on` is the target's
/// id column there. Each collection's items are picked by a subquery of their own, which reads
/// at most `per` rows of the position index, so the work is bounded by what is returned,
/// never by how many items the collections hold.
fn items_query<DB>(
    select: &'static str,
    on: &'static str,
    kind: &str,
    collections: &[i64],
    per: u64,
) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(select);
    sql.push(" collection_items i ON i.target = ").push(on);
    sql.push(" WHERE i.kind = ").push_bind(kind.to_owned()).push(" AND i.id IN (");
    for (n, id) in collections.iter().enumerate() {
        if n > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT id FROM (SELECT id FROM collection_items WHERE collection_id = ").push_bind(*id);
        sql.push(" ORDER BY position LIMIT ").push_bind(to_i64(per)).push(") AS first_items");
    }
    sql.push(")");
    sql
}

const REPO_ITEMS: &str = concat!("SELECT ", item_columns!(), repo_columns!(), " FROM repos JOIN");
const COLLECTION_ITEMS: &str =
    concat!("SELECT ", item_columns!(), collection_columns!(), " FROM collections c JOIN");

impl SqlStore {
    pub(crate) async fn insert_item(&self, new: &NewCollectionItem) -> Result<()> {
        let (kind, target) = target_key(new.target);
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            // Collections in id order (the holder and a collection it takes), then a repo.
            let mut locks = vec![new.collection];
            if let ItemTarget::Collection(id) = new.target {
                locks.push(id);
                locks.sort_unstable();
                locks.dedup();
            }
            for id in locks {
                let live = sqlx::query(LOCK_COLLECTION).bind(id)
                    .execute(&mut *tx).await.map_err(db_error)?.rows_affected();
                if live == 0 {
                    return Err(StorageError::NotFound);
                }
            }
            if let ItemTarget::Repo(id) = new.target {
                let live = sqlx::query(LOCK_REPO).bind(id).execute(&mut *tx).await.map_err(db_error)?.rows_affected();
                if live == 0 {
                    return Err(StorageError::NotFound);
                }
            }
            let (count, last): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(MAX(position), -1) FROM collection_items WHERE collection_id = $1",
            )
            .bind(new.collection).fetch_one(&mut *tx).await.map_err(db_error)?;
            if to_u64(count) >= new.max_items {
                return Err(StorageError::Conflict);
            }
            sqlx::query(
                "INSERT INTO collection_items (public_id, collection_id, kind, target, position, note, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&new.public_id).bind(new.collection).bind(kind).bind(target).bind(last + 1)
            .bind(&new.note).bind(new.now)
            .execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query(TOUCH).bind(new.collection).bind(new.now).execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }

    pub(crate) async fn items_of(&self, collections: &[i64], per: u64) -> Result<Vec<CollectionItemRecord>> {
        if collections.is_empty() || per == 0 {
            return Ok(Vec::new());
        }
        let mut items = Vec::new();
        // SQLite allows at most 500 terms in one compound select.
        for chunk in collections.chunks(100) {
            let (repos, others): (Vec<RepoItemRow>, Vec<CollectionItemRow>) = with_pool!(self, pool => {
                let repos = items_query(REPO_ITEMS, "repos.id", "repo", chunk, per)
                    .build_query_as().fetch_all(pool).await.map_err(db_error)?;
                let others = items_query(COLLECTION_ITEMS, "c.id", "collection", chunk, per)
                    .build_query_as().fetch_all(pool).await.map_err(db_error)?;
                (repos, others)
            });
            for row in repos {
                items.push(row.item.into_record(ItemObject::Repo(row.repo.into_record(Vec::new())?)));
            }
            for row in others {
                items.push(row.item.into_record(ItemObject::Collection(row.collection.into())));
            }
        }
        items.sort_by_key(|item| (item.collection, item.position));
        Ok(items)
    }

    pub(crate) async fn change_item(&self, collection: i64, item: &str, change: &ItemChange) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let live = sqlx::query(TOUCH).bind(collection).bind(change.now)
                .execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            let found: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM collection_items WHERE collection_id = $1 AND public_id = $2",
            )
            .bind(collection).bind(item).fetch_optional(&mut *tx).await.map_err(db_error)?;
            let Some((id,)) = found.filter(|_| live == 1) else {
                return Err(StorageError::NotFound);
            };
            if let Some(note) = &change.note {
                sqlx::query("UPDATE collection_items SET note = $2 WHERE id = $1")
                    .bind(id).bind(note).execute(&mut *tx).await.map_err(db_error)?;
            }
            if let Some(rank) = change.position {
                move_to_rank!(tx, &ITEM_ORDER, collection, id, rank);
            }
            tx.commit().await.map_err(db_error)
        })
    }

    pub(crate) async fn remove_item(&self, collection: i64, item: &str, now: Timestamp) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let live = sqlx::query(TOUCH).bind(collection).bind(now)
                .execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            let removed = sqlx::query("DELETE FROM collection_items WHERE collection_id = $1 AND public_id = $2")
                .bind(collection).bind(item).execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            if live == 0 || removed == 0 {
                return Err(StorageError::NotFound);
            }
            tx.commit().await.map_err(db_error)
        })
    }
}
