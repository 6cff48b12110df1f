//! `MetadataStore` for both engines. Each body is compiled once per engine by `with_pool!`.

use kura_model::{ObjectId, RefName, RepoId, RepoType, Sha256, Timestamp};
use kura_storage::*;
use sqlx::Row;

use crate::pool::{SqlStore, db_error, with_pool};
use crate::rows::{self, REPO_COLUMNS};

type Result<T> = std::result::Result<T, StorageError>;

fn size_to_i64(size: u64) -> Result<i64> {
    i64::try_from(size).map_err(StorageError::backend)
}

#[async_trait::async_trait]
impl MetadataStore for SqlStore {
    async fn server_secret(&self, name: &str, candidate: &str) -> Result<String> {
        with_pool!(self, pool => {
            sqlx::query(self.sql("INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING"))
                .bind(name).bind(candidate).execute(pool).await.map_err(db_error)?;
            sqlx::query_scalar(self.sql("SELECT value FROM server_secrets WHERE name = ?")).bind(name).fetch_one(pool).await.map_err(db_error)
        })
    }

    async fn create_user(&self, name: &str, is_admin: bool, now: Timestamp) -> Result<UserRecord> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            sqlx::query(self.sql("INSERT INTO namespaces (name, kind) VALUES (?, 'user')")).bind(name).execute(&mut *tx).await.map_err(db_error)?;
            let row = sqlx::query(self.sql("INSERT INTO users (name, is_admin, created_at) VALUES (?, ?, ?) RETURNING id, name, is_admin, created_at"))
                .bind(name).bind(is_admin).bind(now)
                .fetch_one(&mut *tx).await.map_err(db_error)?;
            let user = rows::user(&row)?;
            tx.commit().await.map_err(db_error)?;
            Ok(user)
        })
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>> {
        with_pool!(self, pool => {
            let row = sqlx::query(self.sql("SELECT id, name, is_admin, created_at FROM users WHERE name = ?")).bind(name).fetch_optional(pool).await.map_err(db_error)?;
            row.map(|r| rows::user(&r)).transpose()
        })
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        with_pool!(self, pool => {
            let row = sqlx::query(self.sql("SELECT id, name, is_admin, created_at FROM users WHERE id = ?")).bind(id).fetch_optional(pool).await.map_err(db_error)?;
            row.map(|r| rows::user(&r)).transpose()
        })
    }

    async fn create_org(&self, name: &str, owner: i64, now: Timestamp) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            sqlx::query(self.sql("INSERT INTO namespaces (name, kind) VALUES (?, 'org')")).bind(name).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query(self.sql("INSERT INTO orgs (name, created_at) VALUES (?, ?)")).bind(name).bind(now).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query(self.sql("INSERT INTO org_members (org, user_id, role) VALUES (?, ?, 'admin')")).bind(name).bind(owner).execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }

    async fn namespace_kind(&self, name: &str) -> Result<Option<NamespaceKind>> {
        let kind: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT kind FROM namespaces WHERE lower(name) = lower(?)")).bind(name).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(kind.map(|k| if k == "org" { NamespaceKind::Org } else { NamespaceKind::User }))
    }

    async fn set_org_member(&self, org: &str, user: i64, role: OrgRole) -> Result<()> {
        let upsert = self.sql("INSERT INTO org_members (org, user_id, role) VALUES (?, ?, ?) ON CONFLICT (org, user_id) DO UPDATE SET role = excluded.role");
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            // The org row's write lock serialises member changes (a row lock on PostgreSQL,
            // the database lock on SQLite), so two admins cannot demote each other at once.
            let locked = sqlx::query(self.sql("UPDATE orgs SET created_at = created_at WHERE name = ?")).bind(org).execute(&mut *tx).await.map_err(db_error)?;
            if locked.rows_affected() == 0 {
                return Err(StorageError::NotFound);
            }
            sqlx::query(upsert).bind(org).bind(user).bind(role.as_str()).execute(&mut *tx).await.map_err(db_error)?;
            let admins: i64 = sqlx::query_scalar(self.sql("SELECT COUNT(*) FROM org_members WHERE org = ? AND role = 'admin'")).bind(org).fetch_one(&mut *tx).await.map_err(db_error)?;
            if admins == 0 {
                return Err(StorageError::Conflict);
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn remove_org_member(&self, org: &str, user: i64) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            // The org row's write lock serialises member changes (a row lock on PostgreSQL,
            // the database lock on SQLite), so two admins cannot demote each other at once.
            let locked = sqlx::query(self.sql("UPDATE orgs SET created_at = created_at WHERE name = ?")).bind(org).execute(&mut *tx).await.map_err(db_error)?;
            if locked.rows_affected() == 0 {
                return Err(StorageError::NotFound);
            }
            let removed = sqlx::query(self.sql("DELETE FROM org_members WHERE org = ? AND user_id = ?")).bind(org).bind(user).execute(&mut *tx).await.map_err(db_error)?;
            if removed.rows_affected() == 0 {
                return Err(StorageError::NotFound);
            }
            let admins: i64 = sqlx::query_scalar(self.sql("SELECT COUNT(*) FROM org_members WHERE org = ? AND role = 'admin'")).bind(org).fetch_one(&mut *tx).await.map_err(db_error)?;
            if admins == 0 {
                return Err(StorageError::Conflict);
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn org_members(&self, org: &str) -> Result<Vec<(UserRecord, OrgRole)>> {
        let sql = self.sql("SELECT u.id, u.name, u.is_admin, u.created_at, m.role FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org = ? ORDER BY u.name");
        with_pool!(self, pool => {
            let found = sqlx::query(sql).bind(org).fetch_all(pool).await.map_err(db_error)?;
            found.iter().map(|r| {
                let role: String = r.try_get("role").map_err(db_error)?;
                Ok((rows::user(r)?, OrgRole::parse(&role).unwrap_or(OrgRole::Read)))
            }).collect()
        })
    }

    async fn org_role(&self, org: &str, user: i64) -> Result<Option<OrgRole>> {
        let role: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT role FROM org_members WHERE org = ? AND user_id = ?")).bind(org).bind(user).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(role.and_then(|r| OrgRole::parse(&r)))
    }

    async fn user_orgs(&self, user: i64) -> Result<Vec<(String, OrgRole)>> {
        let pairs: Vec<(String, String)> = with_pool!(self, pool => {
            let found = sqlx::query(self.sql("SELECT org, role FROM org_members WHERE user_id = ? ORDER BY org")).bind(user).fetch_all(pool).await.map_err(db_error)?;
            found.iter().map(|r| Ok((r.try_get("org").map_err(db_error)?, r.try_get("role").map_err(db_error)?))).collect::<Result<_>>()?
        });
        Ok(pairs
            .into_iter()
            .map(|(org, role)| (org, OrgRole::parse(&role).unwrap_or(OrgRole::Read)))
            .collect())
    }

    async fn create_repo(&self, repo: NewRepo) -> Result<RepoRecord> {
        let insert = self.sql(&format!(
            "INSERT INTO repos (repo_type, namespace, name, private, created_at, last_modified, created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {REPO_COLUMNS}"
        ));
        let head = repo.initial_commit.to_hex();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            let row = sqlx::query(insert)
                .bind(repo.repo_type.as_str()).bind(repo.repo_id.namespace()).bind(repo.repo_id.name())
                .bind(repo.private).bind(repo.created_at).bind(repo.created_at).bind(repo.created_by)
                .fetch_one(&mut *tx).await.map_err(db_error)?;
            let record = rows::repo(&row)?;
            sqlx::query(self.sql("INSERT INTO refs (repo_id, name, target) VALUES (?, 'refs/heads/main', ?)")).bind(record.id).bind(&head).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query(self.sql("INSERT INTO repo_commits (repo_id, oid) VALUES (?, ?)")).bind(record.id).bind(&head).execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(record)
        })
    }

    async fn repo(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<Option<RepoRecord>> {
        let sql = self.sql(&format!(
            "SELECT {REPO_COLUMNS} FROM repos WHERE repo_type = ? AND namespace = ? AND name = ?"
        ));
        with_pool!(self, pool => {
            let row = sqlx::query(sql).bind(repo_type.as_str()).bind(repo_id.namespace()).bind(repo_id.name()).fetch_optional(pool).await.map_err(db_error)?;
            row.map(|r| rows::repo(&r)).transpose()
        })
    }

    async fn delete_repo(&self, id: i64) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            for sql in ["DELETE FROM refs WHERE repo_id = ?", "DELETE FROM repo_commits WHERE repo_id = ?", "DELETE FROM repo_lfs_objects WHERE repo_id = ?", "DELETE FROM access_requests WHERE repo_id = ?", "DELETE FROM repos WHERE id = ?"] {
                sqlx::query(self.sql(sql)).bind(id).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn rename_repo(&self, id: i64, new_id: &RepoId) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(self.sql("UPDATE repos SET namespace = ?, name = ? WHERE id = ?")).bind(new_id.namespace()).bind(new_id.name()).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn set_repo_private(&self, id: i64, private: bool) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(self.sql("UPDATE repos SET private = ? WHERE id = ?")).bind(private).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn set_repo_gating(&self, id: i64, gating: Gating) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(self.sql("UPDATE repos SET gating = ? WHERE id = ?")).bind(gating.as_str()).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn set_repo_tags(&self, id: i64, tags: &[String]) -> Result<()> {
        let text = tags.iter().map(|t| t.replace('\n', " ")).collect::<Vec<_>>().join("\n");
        with_pool!(self, pool => {
            sqlx::query(self.sql("UPDATE repos SET tags = ? WHERE id = ?")).bind(&text).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn list_repos(&self, query: &RepoQuery) -> Result<Vec<RepoRecord>> {
        let mut sql = format!("SELECT {REPO_COLUMNS} FROM repos WHERE repo_type = ?");
        if query.search.is_some() {
            sql.push_str(" AND instr(lower(namespace || '/' || name), lower(?)) > 0");
        }
        if query.author.is_some() {
            sql.push_str(" AND namespace = ?");
        }
        for _ in &query.tags {
            sql.push_str(" AND instr(char(10) || tags || char(10), char(10) || ? || char(10)) > 0");
        }
        if let Some(namespaces) = &query.private_namespaces {
            let mut visible = vec!["NOT private".to_owned()];
            if !namespaces.is_empty() {
                visible.push(format!("namespace IN ({})", vec!["?"; namespaces.len()].join(", ")));
            }
            visible.extend(query.private_repos.iter().map(|_| "(namespace = ? AND name = ?)".to_owned()));
            sql.push_str(&format!(" AND ({})", visible.join(" OR ")));
        }
        let order = match query.sort {
            RepoSort::LastModified => "last_modified",
            RepoSort::CreatedAt => "created_at",
            RepoSort::Id => "namespace || '/' || name",
        };
        let direction = if query.descending { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?"));
        let sql = self.sql(&sql);
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        with_pool!(self, pool => {
            let mut statement = sqlx::query(sql).bind(query.repo_type.as_str());
            if let Some(search) = &query.search {
                statement = statement.bind(search.clone());
            }
            if let Some(author) = &query.author {
                statement = statement.bind(author.clone());
            }
            for tag in &query.tags {
                statement = statement.bind(tag.clone());
            }
            for namespace in query.private_namespaces.iter().flatten() {
                statement = statement.bind(namespace.clone());
            }
            for repo in query.private_repos.iter().filter(|_| query.private_namespaces.is_some()) {
                statement = statement.bind(repo.namespace().to_owned()).bind(repo.name().to_owned());
            }
            let found = statement.bind(limit).bind(offset).fetch_all(pool).await.map_err(db_error)?;
            found.iter().map(rows::repo).collect()
        })
    }

    async fn refs(&self, repo: i64) -> Result<Vec<RefRecord>> {
        let pairs: Vec<(String, String)> = with_pool!(self, pool => {
            let found = sqlx::query(self.sql("SELECT name, target FROM refs WHERE repo_id = ? ORDER BY name")).bind(repo).fetch_all(pool).await.map_err(db_error)?;
            found.iter().map(|r| Ok((r.try_get("name").map_err(db_error)?, r.try_get("target").map_err(db_error)?))).collect::<Result<_>>()?
        });
        pairs
            .into_iter()
            .map(|(name, target)| {
                Ok(RefRecord {
                    name: RefName::from_full(&name).map_err(StorageError::backend)?,
                    target: rows::oid(&target)?,
                })
            })
            .collect()
    }

    async fn ref_target(&self, repo: i64, name: &RefName) -> Result<Option<ObjectId>> {
        let target: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT target FROM refs WHERE repo_id = ? AND name = ?")).bind(repo).bind(name.as_str()).fetch_optional(pool).await.map_err(db_error)?
        });
        target.as_deref().map(rows::oid).transpose()
    }

    async fn update_ref(
        &self,
        repo: i64,
        name: &RefName,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
        now: Timestamp,
    ) -> Result<()> {
        let (sql, first, second) = match (expected, new) {
            (None, Some(new)) => (
                "INSERT INTO refs (repo_id, name, target) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                new.to_hex(),
                None,
            ),
            (Some(old), Some(new)) => (
                "UPDATE refs SET target = ? WHERE repo_id = ? AND name = ? AND target = ?",
                new.to_hex(),
                Some(old.to_hex()),
            ),
            (Some(old), None) => {
                ("DELETE FROM refs WHERE repo_id = ? AND name = ? AND target = ?", old.to_hex(), None)
            }
            (None, None) => return Ok(()),
        };
        let sql = self.sql(sql);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            // INSERT and DELETE bind (repo, name, oid); UPDATE binds (new, repo, name, old).
            let statement = match &second {
                Some(old) => sqlx::query(sql).bind(&first).bind(repo).bind(name.as_str()).bind(old),
                None => sqlx::query(sql).bind(repo).bind(name.as_str()).bind(&first),
            };
            let affected = statement.execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            if affected != 1 {
                return Err(StorageError::Conflict);
            }
            sqlx::query(self.sql("UPDATE repos SET last_modified = ? WHERE id = ?")).bind(now).bind(repo).execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }

    async fn add_commits(&self, repo: i64, commits: &[ObjectId]) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            for commit in commits {
                sqlx::query(self.sql("INSERT INTO repo_commits (repo_id, oid) VALUES (?, ?) ON CONFLICT DO NOTHING"))
                    .bind(repo).bind(commit.to_hex()).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn has_commit(&self, repo: i64, commit: &ObjectId) -> Result<bool> {
        let found: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT oid FROM repo_commits WHERE repo_id = ? AND oid = ?")).bind(repo).bind(commit.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }

    async fn commits_with_prefix(&self, repo: i64, prefix: &str, limit: u32) -> Result<Vec<ObjectId>> {
        let prefix = prefix.to_ascii_lowercase();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let found: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT oid FROM repo_commits WHERE repo_id = ? AND oid LIKE ? LIMIT ?"))
                .bind(repo).bind(format!("{prefix}%")).bind(i64::from(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        found.iter().map(|r| rows::oid(r)).collect()
    }

    async fn record_lfs_object(&self, oid: &Sha256, size: u64, now: Timestamp) -> Result<()> {
        let size = size_to_i64(size)?;
        with_pool!(self, pool => {
            sqlx::query(self.sql("INSERT INTO lfs_objects (oid, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"))
                .bind(oid.to_hex()).bind(size).bind(now).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn lfs_object_size(&self, oid: &Sha256) -> Result<Option<u64>> {
        let size: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT size FROM lfs_objects WHERE oid = ?")).bind(oid.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(size.map(|s| s as u64))
    }

    async fn link_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(self.sql("INSERT INTO repo_lfs_objects (repo_id, oid) VALUES (?, ?) ON CONFLICT DO NOTHING"))
                .bind(repo).bind(oid.to_hex()).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn record_xorb(
        &self,
        hash: &str,
        num_chunks: u64,
        raw_bytes: u64,
        stored_bytes: u64,
        now: Timestamp,
    ) -> Result<bool> {
        let (chunks, raw, stored) =
            (size_to_i64(num_chunks)?, size_to_i64(raw_bytes)?, size_to_i64(stored_bytes)?);
        let sql = self.sql("INSERT INTO xet_xorbs (hash, num_chunks, raw_bytes, stored_bytes, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
        let affected = with_pool!(self, pool => {
            sqlx::query(sql).bind(hash).bind(chunks).bind(raw).bind(stored).bind(now).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(affected == 1)
    }

    async fn xorb_exists(&self, hash: &str) -> Result<bool> {
        let found: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT hash FROM xet_xorbs WHERE hash = ?")).bind(hash).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }

    async fn record_xet_file(&self, file: &XetFileRecord, now: Timestamp) -> Result<()> {
        let size = size_to_i64(file.size)?;
        let sql = self.sql("INSERT INTO xet_files (file_hash, sha256, size, terms, created_at, verified) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (file_hash) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, terms = excluded.terms, verified = 1 WHERE xet_files.verified = 0");
        with_pool!(self, pool => {
            sqlx::query(sql).bind(&file.file_hash).bind(file.sha256.to_hex()).bind(size).bind(&file.terms).bind(now).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn xet_file(&self, file_hash: &str) -> Result<Option<XetFileRecord>> {
        let sql = self
            .sql("SELECT file_hash, sha256, size, terms FROM xet_files WHERE file_hash = ? AND verified = 1");
        let row: Option<(String, String, i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(file_hash).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(xet_record).transpose()
    }

    async fn xet_file_by_sha256(&self, sha256: &Sha256) -> Result<Option<XetFileRecord>> {
        let sql = self.sql("SELECT file_hash, sha256, size, terms FROM xet_files WHERE sha256 = ? AND verified = 1 ORDER BY created_at LIMIT 1");
        let row: Option<(String, String, i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(sha256.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(xet_record).transpose()
    }

    async fn index_chunks(&self, entries: &[(String, String)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db_error)?;
            for (chunk, xorb) in entries {
                sqlx::query(self.sql("INSERT INTO xet_dedup (chunk_hash, xorb_hash) VALUES (?, ?) ON CONFLICT (chunk_hash) DO UPDATE SET xorb_hash = excluded.xorb_hash"))
                    .bind(chunk).bind(xorb).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn xorb_for_chunk(&self, chunk_hash: &str) -> Result<Option<String>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT xorb_hash FROM xet_dedup WHERE chunk_hash = ?")).bind(chunk_hash).fetch_optional(pool).await.map_err(db_error)?
        }))
    }

    async fn xorb_bytes(&self) -> Result<u64> {
        let total: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT CAST(SUM(stored_bytes) AS BIGINT) FROM xet_xorbs")).fetch_one(pool).await.map_err(db_error)?
        });
        Ok(total.unwrap_or(0) as u64)
    }

    async fn public_repo_holds(&self, oid: &Sha256) -> Result<bool> {
        let sql = self.sql("SELECT l.repo_id FROM repo_lfs_objects l JOIN repos r ON r.id = l.repo_id WHERE l.oid = ? AND r.private = ? AND r.gating = 'off' LIMIT 1");
        let found: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(oid.to_hex()).bind(false).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }

    async fn repo_has_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<bool> {
        let found: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(self.sql("SELECT oid FROM repo_lfs_objects WHERE repo_id = ? AND oid = ?")).bind(repo).bind(oid.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }
}

fn xet_record((file_hash, sha256, size, terms): (String, String, i64, String)) -> Result<XetFileRecord> {
    Ok(XetFileRecord {
        file_hash,
        sha256: Sha256::from_hex(&sha256).map_err(StorageError::backend)?,
        size: size as u64,
        terms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_in_memory_passes_conformance() {
        let store = SqlStore::connect("sqlite::memory:").await.unwrap();
        kura_storage::conformance::metadata_store(&store).await;
    }

    #[tokio::test]
    async fn reopening_a_sqlite_file_keeps_data_and_skips_applied_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kura.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        store.create_user("alice", false, 1).await.unwrap();
        drop(store);
        let store = SqlStore::connect(&url).await.unwrap();
        assert!(store.user_by_name("alice").await.unwrap().is_some());
    }

    /// PostgreSQL conformance: required in CI (`KURA_TEST_POSTGRES_URL` is set there); each run
    /// uses a fresh schema so reruns do not collide.
    #[tokio::test]
    async fn postgres_passes_conformance() {
        let Ok(url) = std::env::var("KURA_TEST_POSTGRES_URL") else {
            assert!(std::env::var("CI").is_err(), "KURA_TEST_POSTGRES_URL must be set in CI");
            eprintln!("skipping: KURA_TEST_POSTGRES_URL is not set");
            return;
        };
        let schema = format!("conformance_{:x}", rand_suffix());
        let admin = SqlStore::connect(&url).await.unwrap();
        with_pool!(admin, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(pool).await.unwrap();
        });
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        let store = SqlStore::connect(&scoped).await.unwrap();
        kura_storage::conformance::metadata_store(&store).await;
    }

    fn rand_suffix() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id())
    }
}
