//! Migration 0010 on a database of an earlier release that holds repos differing only in
//! case: the migration succeeds, each stays reachable by its exact id, another case finds the
//! oldest, and no new twin can be made.

use kura_model::{ObjectId, RepoId, RepoType};
use kura_storage::{MetadataStore, NewRepo, StorageError};

use crate::migrate::{POSTGRES, SQLITE, Step, migrator};
use crate::pool::{Pool, SqlStore, with_pool};

/// `store` migrated to 0009 holding models `alice/Demo`, `alice/demo`, `alice/DEMO` (in that
/// order) and a dataset `alice/demo`, then migrated to the end.
async fn migrate_with_twins(store: &SqlStore, steps: &[Step]) {
    store.migrate_with(&migrator(&steps[..9])).await.expect("0001 to 0009");
    for (repo_type, name, created) in
        [("model", "Demo", 1_i64), ("model", "demo", 2), ("model", "DEMO", 3), ("dataset", "demo", 4)]
    {
        with_pool!(store, pool => {
            sqlx::query(
                "INSERT INTO repos (repo_type, namespace, name, private, created_at, last_modified) \
                 VALUES ($1, 'alice', $2, $3, $4, $4)",
            )
            .bind(repo_type).bind(name).bind(false).bind(created)
            .execute(pool).await.unwrap();
        });
    }
    store.migrate().await.expect("the migration keeps twins instead of refusing");
}

async fn found(store: &SqlStore, repo_type: RepoType, id: &str) -> (String, i64) {
    let repo = store.repo(repo_type, &RepoId::parse(id).unwrap()).await.unwrap().expect(id);
    (repo.repo_id.to_string(), repo.created_at)
}

async fn check_twins(store: &SqlStore) {
    for (id, created) in [("alice/Demo", 1), ("alice/demo", 2), ("alice/DEMO", 3)] {
        assert_eq!(found(store, RepoType::Model, id).await, (id.to_owned(), created), "exact id");
    }
    assert_eq!(found(store, RepoType::Model, "ALICE/dEmO").await, ("alice/Demo".to_owned(), 1), "oldest");
    assert_eq!(found(store, RepoType::Dataset, "alice/DEMO").await, ("alice/demo".to_owned(), 4));
    let new = |id: &str| NewRepo {
        repo_type: RepoType::Model,
        repo_id: RepoId::parse(id).unwrap(),
        private: false,
        created_at: 5,
        initial_commit: ObjectId([1; 20]),
        created_by: None,
    };
    let twin = store.create_repo(new("alice/dEMO")).await.expect_err("no new twin");
    assert!(matches!(twin, StorageError::AlreadyExists), "{twin:?}");
    // A twin moved away gives up its mark: its new id is unique in any case.
    let twin = store.repo(RepoType::Model, &RepoId::parse("alice/demo").unwrap()).await.unwrap().unwrap();
    store.rename_repo(twin.id, &RepoId::parse("alice/demo-2").unwrap()).await.unwrap();
    let again = store.create_repo(new("alice/Demo-2")).await.expect_err("the renamed twin is unique");
    assert!(matches!(again, StorageError::AlreadyExists), "{again:?}");
    let back = store.rename_repo(twin.id, &RepoId::parse("alice/DEMO").unwrap()).await;
    assert!(matches!(back, Err(StorageError::AlreadyExists)), "{back:?}");
}

#[tokio::test]
async fn sqlite_twins_survive_the_migration() {
    let pool =
        sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
    let store = SqlStore { pool: Pool::Sqlite(pool), reader: None };
    migrate_with_twins(&store, SQLITE).await;
    check_twins(&store).await;
}

#[tokio::test]
async fn postgres_twins_survive_the_migration() {
    let Some(url) = crate::testing::postgres_url("twins").await else { return };
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&url).await.unwrap();
    let store = SqlStore { pool: Pool::Postgres(pool), reader: None };
    migrate_with_twins(&store, POSTGRES).await;
    check_twins(&store).await;
}
