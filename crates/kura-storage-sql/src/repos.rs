//! Repos and their tags: lookup, creation, the tag set, and the listing query (built with
//! `QueryBuilder`, its text and binds in one pass). The `MetadataStore` methods call these.

use kura_model::{RepoId, RepoType};
use kura_storage::{NewRepo, RepoQuery, RepoRecord, RepoSort, StorageError};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{self, RepoRow, RepoTagRow, repo_columns};

type Result<T> = std::result::Result<T, StorageError>;

/// A `LIKE` pattern matching `text` anywhere, its wildcards escaped (with `\`).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The listing query: the page of repos in a subquery, joined to their tags, the outer query
/// ordered like the page with each repo's tags in order (what `rows::repos_with_tags` folds).
fn listing<DB>(query: &RepoQuery) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(concat!("SELECT ", repo_columns!(), ", t.tag FROM (SELECT "));
    sql.push(repo_columns!()).push(" FROM repos WHERE repos.repo_type = ");
    sql.push_bind(query.repo_type.as_str().to_owned());
    if let Some(search) = &query.search {
        sql.push(" AND lower(repos.namespace || '/' || repos.name) LIKE lower(");
        sql.push_bind(contains_pattern(search)).push(") ESCAPE '\\'");
    }
    if let Some(author) = &query.author {
        sql.push(" AND repos.namespace = ").push_bind(author.clone());
    }
    if let Some((kind, target)) = &query.linking {
        sql.push(" AND EXISTS (SELECT 1 FROM repo_links l WHERE l.repo_id = repos.id AND l.kind = ");
        sql.push_bind(kind.clone()).push(" AND l.target = ").push_bind(target.to_lowercase()).push(")");
    }
    if let Some(task) = &query.pipeline_tag {
        sql.push(" AND repos.pipeline_tag = ").push_bind(task.clone());
    }
    if let Some((min, max)) = query.parameters {
        sql.push(" AND repos.parameters >= ").push_bind(rows::to_i64(min));
        sql.push(" AND repos.parameters <= ").push_bind(rows::to_i64(max));
    }
    for tag in &query.tags {
        sql.push(" AND EXISTS (SELECT 1 FROM repo_tags f WHERE f.repo_id = repos.id AND f.tag = ");
        sql.push_bind(tag.clone()).push(")");
    }
    if let Some(namespaces) = &query.private_namespaces {
        sql.push(" AND (NOT repos.private");
        if !namespaces.is_empty() {
            sql.push(" OR repos.namespace IN (");
            let mut list = sql.separated(", ");
            for namespace in namespaces {
                list.push_bind(namespace.clone());
            }
            sql.push(")");
        }
        for repo in &query.private_repos {
            sql.push(" OR (repos.namespace = ").push_bind(repo.namespace().to_owned());
            sql.push(" AND repos.name = ").push_bind(repo.name().to_owned()).push(")");
        }
        sql.push(")");
    }
    let order = match (query.sort, query.descending) {
        (RepoSort::LastModified, false) => "repos.last_modified ASC, repos.id ASC",
        (RepoSort::LastModified, true) => "repos.last_modified DESC, repos.id DESC",
        (RepoSort::CreatedAt, false) => "repos.created_at ASC, repos.id ASC",
        (RepoSort::CreatedAt, true) => "repos.created_at DESC, repos.id DESC",
        (RepoSort::Id, false) => "repos.namespace || '/' || repos.name ASC, repos.id ASC",
        (RepoSort::Id, true) => "repos.namespace || '/' || repos.name DESC, repos.id DESC",
        (RepoSort::Likes, false) => "repos.likes ASC, repos.id ASC",
        (RepoSort::Likes, true) => "repos.likes DESC, repos.id DESC",
        (RepoSort::Downloads, false) => "repos.downloads ASC, repos.id ASC",
        (RepoSort::Downloads, true) => "repos.downloads DESC, repos.id DESC",
        (RepoSort::Trending, false) => "repos.trending ASC, repos.id ASC",
        (RepoSort::Trending, true) => "repos.trending DESC, repos.id DESC",
    };
    sql.push(" ORDER BY ").push(order);
    sql.push(" LIMIT ").push_bind(rows::to_i64(query.limit));
    sql.push(" OFFSET ").push_bind(rows::to_i64(query.offset));
    sql.push(") AS repos LEFT JOIN repo_tags t ON t.repo_id = repos.id ORDER BY ").push(order);
    sql.push(", t.ordinal");
    sql
}

/// Drops the redirect at (type, namespace, name), compared in any case.
const DROP_REDIRECT: &str = "DELETE FROM repo_redirects WHERE repo_type = $1 \
     AND lower(namespace) = lower($2) AND lower(name) = lower($3)";

/// Each tag once, in first-seen order (the table keys a repo's tags by name).
fn distinct(tags: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    tags.iter().map(String::as_str).filter(|tag| seen.insert(*tag)).collect()
}

impl SqlStore {
    pub(crate) async fn insert_repo(&self, repo: NewRepo) -> Result<RepoRecord> {
        let head = repo.initial_commit.to_hex();
        let row: RepoRow = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let row: RepoRow = sqlx::query_as(concat!(
                "INSERT INTO repos (repo_type, namespace, name, private, created_at, last_modified, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING ", repo_columns!()
            ))
            .bind(repo.repo_type.as_str()).bind(repo.repo_id.namespace()).bind(repo.repo_id.name())
            .bind(repo.private).bind(repo.created_at).bind(repo.created_by)
            .fetch_one(&mut *tx).await.map_err(db_error)?;
            // SQLite may reuse a deleted repo's id: a new repo starts with no tags.
            sqlx::query("DELETE FROM repo_tags WHERE repo_id = $1").bind(row.id).execute(&mut *tx).await.map_err(db_error)?;
            // A new repo at a moved repo's earlier id takes the id over, as on the Hub.
            sqlx::query(DROP_REDIRECT)
                .bind(repo.repo_type.as_str()).bind(repo.repo_id.namespace()).bind(repo.repo_id.name())
                .execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("INSERT INTO refs (repo_id, name, target) VALUES ($1, 'refs/heads/main', $2)")
                .bind(row.id).bind(&head).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("INSERT INTO repo_commits (repo_id, oid) VALUES ($1, $2)")
                .bind(row.id).bind(&head).execute(&mut *tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            row
        });
        row.into_record(Vec::new())
    }

    /// The repo `repo_id` names in any case: the exact spelling first, then the oldest
    /// (`case_twin` 0); twins exist only in databases of earlier releases (migration 0010).
    pub(crate) async fn find_repo(
        &self,
        repo_type: RepoType,
        repo_id: &RepoId,
    ) -> Result<Option<RepoRecord>> {
        // A plain read that fails (busy for longer than its short timeout) is asked again
        // through the pool, which waits without holding a runtime thread.
        if let Some(Ok(found)) = self.reader.as_ref().map(|reader| reader.repo(repo_type, repo_id)) {
            return Ok(found);
        }
        let found: Vec<RepoTagRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", repo_columns!(), ", t.tag FROM repos LEFT JOIN repo_tags t ON t.repo_id = repos.id \
                 WHERE repos.id = (SELECT c.id FROM repos c WHERE c.repo_type = $1 \
                 AND lower(c.namespace) = lower($2) AND lower(c.name) = lower($3) \
                 ORDER BY CASE WHEN c.namespace = $2 AND c.name = $3 THEN 0 ELSE 1 END, c.case_twin LIMIT 1) \
                 ORDER BY t.ordinal"
            ))
            .bind(repo_type.as_str()).bind(repo_id.namespace()).bind(repo_id.name())
            .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows::repos_with_tags(found)?.pop())
    }

    /// The repo a moved repo's earlier id (any case) points at, under its current id.
    pub(crate) async fn find_redirect(
        &self,
        repo_type: RepoType,
        old_id: &RepoId,
    ) -> Result<Option<RepoRecord>> {
        if let Some(Ok(found)) = self.reader.as_ref().map(|reader| reader.redirect(repo_type, old_id)) {
            return Ok(found);
        }
        let found: Vec<RepoTagRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", repo_columns!(), ", t.tag FROM repos LEFT JOIN repo_tags t ON t.repo_id = repos.id \
                 WHERE repos.id = (SELECT r.repo_id FROM repo_redirects r WHERE r.repo_type = $1 \
                 AND lower(r.namespace) = lower($2) AND lower(r.name) = lower($3)) ORDER BY t.ordinal"
            ))
            .bind(repo_type.as_str()).bind(old_id.namespace()).bind(old_id.name())
            .fetch_all(pool).await.map_err(db_error)?
        });
        Ok(rows::repos_with_tags(found)?.pop())
    }

    /// Renames a repo and redirects its previous id to it, in one transaction. The new id is
    /// taken over from any redirect that held it; a rename that only changes case adds none
    /// (the lookup finds the repo in any case already). Redirects to the repo's earlier ids
    /// point at the repo itself, so a chain of moves ends at its current id.
    pub(crate) async fn rename(&self, id: i64, new_id: &RepoId) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            let old: Option<(String, String, String)> =
                sqlx::query_as("SELECT repo_type, namespace, name FROM repos WHERE id = $1")
                    .bind(id).fetch_optional(&mut *tx).await.map_err(db_error)?;
            let Some((repo_type, namespace, name)) = old else {
                return Ok(());
            };
            sqlx::query("UPDATE repos SET namespace = $1, name = $2, case_twin = 0 WHERE id = $3")
                .bind(new_id.namespace()).bind(new_id.name()).bind(id).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query(DROP_REDIRECT).bind(&repo_type).bind(new_id.namespace()).bind(new_id.name())
                .execute(&mut *tx).await.map_err(db_error)?;
            let same = namespace.eq_ignore_ascii_case(new_id.namespace()) && name.eq_ignore_ascii_case(new_id.name());
            if !same {
                sqlx::query(DROP_REDIRECT).bind(&repo_type).bind(&namespace).bind(&name)
                    .execute(&mut *tx).await.map_err(db_error)?;
                sqlx::query("INSERT INTO repo_redirects (repo_type, namespace, name, repo_id) VALUES ($1, $2, $3, $4)")
                    .bind(&repo_type).bind(&namespace).bind(&name).bind(id)
                    .execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    /// Replaces the repo's tag set in one transaction; a repo that no longer exists gets none.
    pub(crate) async fn replace_tags(&self, id: i64, tags: &[String]) -> Result<()> {
        let tags = distinct(tags);
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            sqlx::query("DELETE FROM repo_tags WHERE repo_id = $1").bind(id).execute(&mut *tx).await.map_err(db_error)?;
            for (ordinal, tag) in (0_i64..).zip(&tags) {
                sqlx::query("INSERT INTO repo_tags (repo_id, ordinal, tag) SELECT id, $2, $3 FROM repos WHERE id = $1")
                    .bind(id).bind(ordinal).bind(*tag).execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
    }

    pub(crate) async fn list(&self, query: &RepoQuery) -> Result<Vec<RepoRecord>> {
        let found: Vec<RepoTagRow> = with_pool!(self, pool => {
            let mut sql = listing(query);
            sql.build_query_as().fetch_all(pool).await.map_err(db_error)?
        });
        rows::repos_with_tags(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_wildcards_are_escaped() {
        assert_eq!(contains_pattern("my_model%\\"), "%my\\_model\\%\\\\%");
    }

    #[test]
    fn tags_are_kept_once_in_first_seen_order() {
        let tags: Vec<String> = ["b", "a", "b", "c", "a"].map(String::from).into();
        assert_eq!(distinct(&tags), ["b", "a", "c"]);
    }
}
