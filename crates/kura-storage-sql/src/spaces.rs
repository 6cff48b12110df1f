//! `SpaceStore` for both engines: subdomains (unique by the table's key) and variables.

use kura_model::{RepoId, Timestamp};
use kura_storage::{SpaceStore, SpaceVariable, StorageError};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::corrupt;

type Result<T> = std::result::Result<T, StorageError>;

#[derive(sqlx::FromRow)]
struct VariableRow {
    key: String,
    value: String,
    description: Option<String>,
    updated_at: Timestamp,
}

#[async_trait::async_trait]
impl SpaceStore for SqlStore {
    async fn space_subdomain(&self, repo: i64) -> Result<Option<String>> {
        with_pool!(self, pool => {
            sqlx::query_scalar("SELECT subdomain FROM space_hosts WHERE repo_id = $1")
                .bind(repo).fetch_optional(pool).await.map_err(db_error)
        })
    }

    async fn assign_space_subdomain(&self, repo: i64, candidates: &[String]) -> Result<Option<String>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let (exists,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM repos WHERE id = $1)")
                .bind(repo).fetch_one(&mut *tx).await.map_err(db_error)?;
            if !exists {
                return Err(StorageError::NotFound);
            }
            let held: Option<String> = sqlx::query_scalar("SELECT subdomain FROM space_hosts WHERE repo_id = $1")
                .bind(repo).fetch_optional(&mut *tx).await.map_err(db_error)?;
            if held.is_some() {
                return Ok(held);
            }
            for candidate in candidates {
                // Taken by another Space: the next candidate. The key decides between two
                // replicas giving out the same name at once (one insert fails; its caller retries).
                let inserted = sqlx::query(
                    "INSERT INTO space_hosts (repo_id, subdomain) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(repo).bind(candidate.to_lowercase())
                .execute(&mut *tx).await.map_err(db_error)?
                .rows_affected();
                if inserted == 1 {
                    tx.commit().await.map_err(db_error)?;
                    return Ok(Some(candidate.to_lowercase()));
                }
            }
            Ok(None)
        })
    }

    async fn space_by_subdomain(&self, subdomain: &str) -> Result<Option<RepoId>> {
        let row: Option<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT repos.namespace, repos.name FROM space_hosts JOIN repos ON repos.id = space_hosts.repo_id \
                 WHERE space_hosts.subdomain = $1 AND repos.repo_type = 'space'",
            )
            .bind(subdomain.to_lowercase()).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(|(namespace, name)| RepoId::new(&namespace, &name).map_err(|_| corrupt("repo id")))
            .transpose()
    }

    async fn space_variables(&self, repo: i64) -> Result<Vec<SpaceVariable>> {
        let rows: Vec<VariableRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT key, value, description, updated_at FROM space_variables WHERE repo_id = $1 ORDER BY key")
                .bind(repo).fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows
            .into_iter()
            .map(|r| SpaceVariable {
                key: r.key,
                value: r.value,
                description: r.description,
                updated_at: r.updated_at,
            })
            .collect())
    }

    async fn set_space_variable(&self, repo: i64, variable: &SpaceVariable, max: usize) -> Result<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            // The repo's row first: two writers of one Space's variables take turns, so the cap
            // holds (and a Space being deleted keeps no variables).
            let live = sqlx::query("UPDATE repos SET likes = likes WHERE id = $1")
                .bind(repo).execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            if live == 0 {
                return Err(StorageError::NotFound);
            }
            let (count, present): (i64, bool) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(MAX(CASE WHEN key = $2 THEN 1 ELSE 0 END), 0) = 1 \
                 FROM space_variables WHERE repo_id = $1",
            )
            .bind(repo).bind(&variable.key).fetch_one(&mut *tx).await.map_err(db_error)?;
            if !present && usize::try_from(count).unwrap_or(usize::MAX) >= max {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO space_variables (repo_id, key, value, description, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (repo_id, key) DO UPDATE SET value = excluded.value, description = excluded.description, \
                 updated_at = excluded.updated_at",
            )
            .bind(repo).bind(&variable.key).bind(&variable.value).bind(&variable.description).bind(variable.updated_at)
            .execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(true)
        })
    }

    async fn delete_space_variable(&self, repo: i64, key: &str) -> Result<bool> {
        let deleted = with_pool!(self, pool => {
            sqlx::query("DELETE FROM space_variables WHERE repo_id = $1 AND key = $2")
                .bind(repo).bind(key).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(deleted > 0)
    }
}
