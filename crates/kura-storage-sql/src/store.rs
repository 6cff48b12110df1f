//! `MetadataStore` for both engines: one set of queries, each body compiled once per engine by
//! `with_pool!`. Repos and their tags are in `repos.rs`.

use kura_model::{ObjectId, RefName, RepoId, RepoType, Sha256, Timestamp};
use kura_storage::*;

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{self, UserRow, XetFileRow};

/// A user's organizations and roles, by user id (also read by `sync_read`).
pub(crate) const USER_ORGS: &str = "SELECT org, role FROM org_members WHERE user_id = $1 ORDER BY org";

type Result<T> = std::result::Result<T, StorageError>;

fn size_to_i64(size: u64) -> Result<i64> {
    i64::try_from(size).map_err(StorageError::backend)
}

/// A member of an org with their role.
#[derive(sqlx::FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    user: UserRow,
    role: String,
}

#[async_trait::async_trait]
impl MetadataStore for SqlStore {
    async fn server_secret(&self, name: &str, candidate: &str) -> Result<String> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(name).bind(candidate).execute(pool).await.map_err(db_error)?;
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name).fetch_one(pool).await.map_err(db_error)
        })
    }

    async fn create_user(&self, name: &str, is_admin: bool, now: Timestamp) -> Result<UserRecord> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            sqlx::query("INSERT INTO namespaces (name, kind) VALUES ($1, 'user')")
                .bind(name).execute(&mut *tx).await.map_err(db_error)?;
            let row: UserRow = sqlx::query_as(
                "INSERT INTO users (name, is_admin, created_at) VALUES ($1, $2, $3) RETURNING id, name, is_admin, created_at",
            )
            .bind(name).bind(is_admin).bind(now)
            .fetch_one(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(row.into())
        })
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>> {
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, is_admin, created_at FROM users WHERE name = $1")
                .bind(name).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(UserRecord::from))
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, is_admin, created_at FROM users WHERE id = $1")
                .bind(id).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(row.map(UserRecord::from))
    }

    async fn create_org(&self, name: &str, owner: i64, now: Timestamp) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            sqlx::query("INSERT INTO namespaces (name, kind) VALUES ($1, 'org')")
                .bind(name).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("INSERT INTO orgs (name, created_at) VALUES ($1, $2)")
                .bind(name).bind(now).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("INSERT INTO org_members (org, user_id, role) VALUES ($1, $2, 'admin')")
                .bind(name).bind(owner).execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }

    async fn namespace_kind(&self, name: &str) -> Result<Option<NamespaceKind>> {
        let kind: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT kind FROM namespaces WHERE lower(name) = lower($1)")
                .bind(name).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(kind.map(|k| if k == "org" { NamespaceKind::Org } else { NamespaceKind::User }))
    }

    async fn set_org_member(&self, org: &str, user: i64, role: OrgRole) -> Result<()> {
        let upsert = "INSERT INTO org_members (org, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (org, user_id) DO UPDATE SET role = excluded.role";
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            // The org row's write lock serialises member changes (a row lock on PostgreSQL,
            // the database lock on SQLite), so two admins cannot demote each other at once.
            let locked = sqlx::query("UPDATE orgs SET created_at = created_at WHERE name = $1")
                .bind(org).execute(&mut *tx).await.map_err(db_error)?;
            if locked.rows_affected() == 0 {
                return Err(StorageError::NotFound);
            }
            sqlx::query(upsert).bind(org).bind(user).bind(role.as_str()).execute(&mut *tx).await.map_err(db_error)?;
            let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM org_members WHERE org = $1 AND role = 'admin'")
                .bind(org).fetch_one(&mut *tx).await.map_err(db_error)?;
            if admins == 0 {
                return Err(StorageError::Conflict);
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn remove_org_member(&self, org: &str, user: i64) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            // The org row's write lock serialises member changes (a row lock on PostgreSQL,
            // the database lock on SQLite), so two admins cannot demote each other at once.
            let locked = sqlx::query("UPDATE orgs SET created_at = created_at WHERE name = $1")
                .bind(org).execute(&mut *tx).await.map_err(db_error)?;
            if locked.rows_affected() == 0 {
                return Err(StorageError::NotFound);
            }
            let removed = sqlx::query("DELETE FROM org_members WHERE org = $1 AND user_id = $2")
                .bind(org).bind(user).execute(&mut *tx).await.map_err(db_error)?;
            if removed.rows_affected() == 0 {
                return Err(StorageError::NotFound);
            }
            let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM org_members WHERE org = $1 AND role = 'admin'")
                .bind(org).fetch_one(&mut *tx).await.map_err(db_error)?;
            if admins == 0 {
                return Err(StorageError::Conflict);
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn org_members(&self, org: &str) -> Result<Vec<(UserRecord, OrgRole)>> {
        let found: Vec<MemberRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.name, u.is_admin, u.created_at, m.role FROM org_members m \
                 JOIN users u ON u.id = m.user_id WHERE m.org = $1 ORDER BY u.name",
            )
            .bind(org).fetch_all(pool).await.map_err(db_error)?
        });
        Ok(found
            .into_iter()
            .map(|m| (m.user.into(), OrgRole::parse(&m.role).unwrap_or(OrgRole::Read)))
            .collect())
    }

    async fn org_role(&self, org: &str, user: i64) -> Result<Option<OrgRole>> {
        let role: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT role FROM org_members WHERE org = $1 AND user_id = $2")
                .bind(org).bind(user).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(role.and_then(|r| OrgRole::parse(&r)))
    }

    async fn user_orgs(&self, user: i64) -> Result<Vec<(String, OrgRole)>> {
        let pairs: Vec<(String, String)> = match self.reader.as_ref().map(|reader| reader.user_orgs(user)) {
            Some(Ok(pairs)) => pairs,
            _ => with_pool!(self, pool => {
                sqlx::query_as(USER_ORGS).bind(user).fetch_all(pool).await.map_err(db_error)?
            }),
        };
        Ok(pairs
            .into_iter()
            .map(|(org, role)| (org, OrgRole::parse(&role).unwrap_or(OrgRole::Read)))
            .collect())
    }

    async fn create_repo(&self, repo: NewRepo) -> Result<RepoRecord> {
        self.insert_repo(repo).await
    }

    async fn repo(&self, repo_type: RepoType, repo_id: &RepoId) -> Result<Option<RepoRecord>> {
        self.find_repo(repo_type, repo_id).await
    }

    async fn repo_redirect(&self, repo_type: RepoType, old_id: &RepoId) -> Result<Option<RepoRecord>> {
        self.find_redirect(repo_type, old_id).await
    }

    async fn delete_repo(&self, id: i64) -> Result<()> {
        const DELETES: &[&str] = &[
            // Locks the repo's row first, so a like (which updates it too) waits for the
            // deletion and then finds no repo, instead of leaving a like behind.
            "UPDATE repos SET likes = 0 WHERE id = $1",
            "DELETE FROM discussion_events WHERE repo_id = $1",
            "DELETE FROM discussions WHERE repo_id = $1",
            "DELETE FROM repo_likes WHERE repo_id = $1",
            // An item is added with the repo's row locked, so none is left behind.
            "DELETE FROM collection_items WHERE kind = 'repo' AND target = $1",
            "DELETE FROM repo_downloads WHERE repo_id = $1",
            "DELETE FROM download_clients WHERE repo_id = $1",
            "DELETE FROM space_hosts WHERE repo_id = $1",
            "DELETE FROM space_variables WHERE repo_id = $1",
            "DELETE FROM repo_redirects WHERE repo_id = $1",
            "DELETE FROM repo_links WHERE repo_id = $1",
            "DELETE FROM refs WHERE repo_id = $1",
            "DELETE FROM repo_commits WHERE repo_id = $1",
            "DELETE FROM repo_lfs_objects WHERE repo_id = $1",
            "DELETE FROM access_requests WHERE repo_id = $1",
            "DELETE FROM repo_tags WHERE repo_id = $1",
            "DELETE FROM repos WHERE id = $1",
        ];
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for &sql in DELETES {
                sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn rename_repo(&self, id: i64, new_id: &RepoId) -> Result<()> {
        self.rename(id, new_id).await
    }

    async fn set_repo_private(&self, id: i64, private: bool) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE repos SET private = $1 WHERE id = $2")
                .bind(private).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn set_repo_gating(&self, id: i64, gating: Gating) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE repos SET gating = $1 WHERE id = $2")
                .bind(gating.as_str()).bind(id).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn set_repo_tags(&self, id: i64, tags: &[String]) -> Result<()> {
        self.replace_tags(id, tags).await
    }

    async fn set_listing_facts(&self, id: i64, facts: &ListingFacts) -> Result<()> {
        let parameters = facts.parameters.map(crate::rows::to_i64);
        with_pool!(self, pool => {
            sqlx::query("UPDATE repos SET parameters = $1, library_name = $2, pipeline_tag = $3 WHERE id = $4")
                .bind(parameters).bind(&facts.library_name).bind(&facts.pipeline_tag).bind(id)
                .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn set_repo_links(&self, id: i64, kind: &str, targets: &[String]) -> Result<()> {
        let mut targets: Vec<String> = targets.iter().map(|t| t.to_lowercase()).collect();
        targets.sort();
        targets.dedup();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            sqlx::query("DELETE FROM repo_links WHERE repo_id = $1 AND kind = $2")
                .bind(id).bind(kind).execute(&mut *tx).await.map_err(db_error)?;
            for target in &targets {
                sqlx::query("INSERT INTO repo_links (repo_id, kind, target) VALUES ($1, $2, $3)")
                    .bind(id).bind(kind).bind(target).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn list_repos(&self, query: &RepoQuery) -> Result<Vec<RepoRecord>> {
        self.list(query).await
    }

    async fn refs(&self, repo: i64) -> Result<Vec<RefRecord>> {
        let pairs: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT name, target FROM refs WHERE repo_id = $1 ORDER BY name")
                .bind(repo).fetch_all(pool).await.map_err(db_error)?
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
            sqlx::query_scalar("SELECT target FROM refs WHERE repo_id = $1 AND name = $2")
                .bind(repo).bind(name.as_str()).fetch_optional(pool).await.map_err(db_error)?
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
        // Every statement binds (repo, name, target) and the UPDATE also the expected target.
        let (sql, target, old) = match (expected, new) {
            (None, Some(new)) => (
                "INSERT INTO refs (repo_id, name, target) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                new,
                None,
            ),
            (Some(old), Some(new)) => (
                "UPDATE refs SET target = $3 WHERE repo_id = $1 AND name = $2 AND target = $4",
                new,
                Some(old.to_hex()),
            ),
            (Some(old), None) => {
                ("DELETE FROM refs WHERE repo_id = $1 AND name = $2 AND target = $3", old, None)
            }
            (None, None) => return Ok(()),
        };
        let target = target.to_hex();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let mut statement = sqlx::query(sql).bind(repo).bind(name.as_str()).bind(&target);
            if let Some(old) = &old {
                statement = statement.bind(old);
            }
            let affected = statement.execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            if affected != 1 {
                return Err(StorageError::Conflict);
            }
            sqlx::query("UPDATE repos SET last_modified = $1 WHERE id = $2")
                .bind(now).bind(repo).execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }

    async fn add_commits(&self, repo: i64, commits: &[ObjectId]) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for commit in commits {
                sqlx::query("INSERT INTO repo_commits (repo_id, oid) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(repo).bind(commit.to_hex()).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn has_commit(&self, repo: i64, commit: &ObjectId) -> Result<bool> {
        let found: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT oid FROM repo_commits WHERE repo_id = $1 AND oid = $2")
                .bind(repo).bind(commit.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }

    async fn commits_with_prefix(&self, repo: i64, prefix: &str, limit: u32) -> Result<Vec<ObjectId>> {
        let prefix = prefix.to_ascii_lowercase();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let found: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT oid FROM repo_commits WHERE repo_id = $1 AND oid LIKE $2 LIMIT $3")
                .bind(repo).bind(format!("{prefix}%")).bind(i64::from(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        found.iter().map(|r| rows::oid(r)).collect()
    }

    async fn record_lfs_object(&self, oid: &Sha256, size: u64, now: Timestamp) -> Result<()> {
        let size = size_to_i64(size)?;
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO lfs_objects (oid, size, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(oid.to_hex()).bind(size).bind(now).execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn lfs_object_size(&self, oid: &Sha256) -> Result<Option<u64>> {
        let size: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT size FROM lfs_objects WHERE oid = $1")
                .bind(oid.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(size.map(rows::to_u64))
    }

    async fn link_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO repo_lfs_objects (repo_id, oid) VALUES ($1, $2) ON CONFLICT DO NOTHING")
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
        let sql = "INSERT INTO xet_xorbs (hash, num_chunks, raw_bytes, stored_bytes, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        let affected = with_pool!(self, pool => {
            sqlx::query(sql).bind(hash).bind(chunks).bind(raw).bind(stored).bind(now).execute(pool).await.map_err(db_error)?.rows_affected()
        });
        Ok(affected == 1)
    }

    async fn xorb_exists(&self, hash: &str) -> Result<bool> {
        let found: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT hash FROM xet_xorbs WHERE hash = $1")
                .bind(hash).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }

    async fn record_xet_file(&self, file: &XetFileRecord, now: Timestamp) -> Result<()> {
        let size = size_to_i64(file.size)?;
        let sql = "INSERT INTO xet_files (file_hash, sha256, size, terms, created_at, verified) \
                   VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (file_hash) DO UPDATE SET sha256 = excluded.sha256, \
                   size = excluded.size, terms = excluded.terms, verified = 1 WHERE xet_files.verified = 0";
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&file.file_hash).bind(file.sha256.to_hex()).bind(size).bind(&file.terms).bind(now)
                .execute(pool).await.map_err(db_error)?;
        });
        Ok(())
    }

    async fn xet_file(&self, file_hash: &str) -> Result<Option<XetFileRecord>> {
        let row: Option<XetFileRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT file_hash, sha256, size, terms FROM xet_files WHERE file_hash = $1 AND verified = 1")
                .bind(file_hash).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(XetFileRecord::try_from).transpose()
    }

    async fn xet_file_by_sha256(&self, sha256: &Sha256) -> Result<Option<XetFileRecord>> {
        let row: Option<XetFileRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT file_hash, sha256, size, terms FROM xet_files WHERE sha256 = $1 AND verified = 1 ORDER BY created_at LIMIT 1")
                .bind(sha256.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        row.map(XetFileRecord::try_from).transpose()
    }

    async fn index_chunks(&self, entries: &[(String, String)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for (chunk, xorb) in entries {
                sqlx::query(
                    "INSERT INTO xet_dedup (chunk_hash, xorb_hash) VALUES ($1, $2) \
                     ON CONFLICT (chunk_hash) DO UPDATE SET xorb_hash = excluded.xorb_hash",
                )
                .bind(chunk).bind(xorb).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    async fn xorb_for_chunk(&self, chunk_hash: &str) -> Result<Option<String>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT xorb_hash FROM xet_dedup WHERE chunk_hash = $1")
                .bind(chunk_hash).fetch_optional(pool).await.map_err(db_error)?
        }))
    }

    async fn xorb_bytes(&self) -> Result<u64> {
        let total: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT CAST(SUM(stored_bytes) AS BIGINT) FROM xet_xorbs").fetch_one(pool).await.map_err(db_error)?
        });
        Ok(total.map_or(0, rows::to_u64))
    }

    async fn public_repo_holds(&self, oid: &Sha256) -> Result<bool> {
        let sql = "SELECT l.repo_id FROM repo_lfs_objects l JOIN repos r ON r.id = l.repo_id \
                   WHERE l.oid = $1 AND r.private = $2 AND r.gating = 'off' LIMIT 1";
        let found: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(oid.to_hex()).bind(false).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }

    async fn repo_has_lfs_object(&self, repo: i64, oid: &Sha256) -> Result<bool> {
        let found: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT oid FROM repo_lfs_objects WHERE repo_id = $1 AND oid = $2")
                .bind(repo).bind(oid.to_hex()).fetch_optional(pool).await.map_err(db_error)?
        });
        Ok(found.is_some())
    }

    async fn repo_lfs_bytes(&self, repo: i64) -> Result<u64> {
        let sql = "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM (SELECT \
                   COALESCE((SELECT o.size FROM lfs_objects o WHERE o.oid = l.oid), \
                   (SELECT MIN(x.size) FROM xet_files x WHERE x.sha256 = l.oid AND x.verified = 1)) AS size \
                   FROM repo_lfs_objects l WHERE l.repo_id = $1) linked";
        let total: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(repo).fetch_one(pool).await.map_err(db_error)?
        });
        Ok(rows::to_u64(total))
    }

    async fn repo_lfs_objects(
        &self,
        repo: i64,
        after: Option<&Sha256>,
        limit: u64,
    ) -> Result<Vec<RepoLfsObject>> {
        // An object is stored raw (`lfs_objects`) or as a verified Xet file; a link without
        // either has no bytes to list.
        let sql = "SELECT oid, size, stored_at FROM (SELECT l.oid AS oid, \
                   COALESCE((SELECT o.size FROM lfs_objects o WHERE o.oid = l.oid), \
                   (SELECT MIN(x.size) FROM xet_files x WHERE x.sha256 = l.oid AND x.verified = 1)) AS size, \
                   COALESCE((SELECT o.created_at FROM lfs_objects o WHERE o.oid = l.oid), \
                   (SELECT MIN(x.created_at) FROM xet_files x WHERE x.sha256 = l.oid AND x.verified = 1)) AS stored_at \
                   FROM repo_lfs_objects l WHERE l.repo_id = $1 AND l.oid > $2) linked \
                   WHERE size IS NOT NULL ORDER BY oid LIMIT $3";
        let after = after.map(Sha256::to_hex).unwrap_or_default();
        let rows: Vec<(String, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(repo).bind(after.as_str()).bind(rows::to_i64(limit))
                .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter()
            .map(|(oid, size, stored_at)| {
                Ok(RepoLfsObject { oid: rows::sha256(&oid)?, size: rows::to_u64(size), stored_at })
            })
            .collect()
    }

    async fn unlink_lfs_objects(&self, repo: i64, oids: &[Sha256]) -> Result<u64> {
        let mut removed = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for oid in oids {
                removed += sqlx::query("DELETE FROM repo_lfs_objects WHERE repo_id = $1 AND oid = $2")
                    .bind(repo).bind(oid.to_hex()).execute(&mut *tx).await.map_err(db_error)?
                    .rows_affected();
            }
            tx.commit().await.map_err(db_error)?;
        });
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_in_memory_passes_conformance() {
        let store = SqlStore::connect("sqlite::memory:").await.unwrap();
        kura_storage::conformance::metadata_store(&store).await;
    }

    /// A SQLite file answers its hot point reads on plain connections (`sync_read`): the same
    /// contract as through sqlx.
    #[tokio::test]
    async fn sqlite_file_passes_conformance() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kura.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        assert!(store.reader.is_some(), "a SQLite file reads repos and tokens on plain connections");
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

    /// PostgreSQL conformance: required in CI (`KURA_TEST_POSTGRES_URL` is set there).
    #[tokio::test]
    async fn postgres_passes_conformance() {
        let Some(url) = crate::testing::postgres_url("conformance").await else { return };
        let store = SqlStore::connect(&url).await.unwrap();
        kura_storage::conformance::metadata_store(&store).await;
    }
}
