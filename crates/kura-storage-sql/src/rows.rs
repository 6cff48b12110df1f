//! Decoding rows into records, generic over the engine.

use kura_model::{ObjectId, RepoId, RepoType, Role, TokenScope};
use kura_storage::{Gating, RepoRecord, StorageError, TokenRecord, UserRecord};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::pool::db_error;

type Result<T> = std::result::Result<T, StorageError>;

/// A row type whose engine decodes the column types kura uses.
pub(crate) trait KuraRow: Row
where
    for<'a> &'a str: ColumnIndex<Self>,
{
    fn field<'r, T: Decode<'r, Self::Database> + Type<Self::Database>>(&'r self, column: &str) -> Result<T> {
        self.try_get(column).map_err(db_error)
    }
}

impl KuraRow for sqlx::sqlite::SqliteRow {}
impl KuraRow for sqlx::postgres::PgRow {}

fn corrupt(what: &str) -> StorageError {
    StorageError::backend(std::io::Error::other(format!("corrupt {what} in the database")))
}

pub(crate) const REPO_COLUMNS: &str =
    "id, repo_type, namespace, name, private, gating, created_at, last_modified, tags, created_by";

pub(crate) fn repo<R>(row: &R) -> Result<RepoRecord>
where
    R: KuraRow,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let repo_type: String = row.field("repo_type")?;
    let namespace: String = row.field("namespace")?;
    let name: String = row.field("name")?;
    let gating: String = row.field("gating")?;
    let tags: String = row.field("tags")?;
    Ok(RepoRecord {
        id: row.field("id")?,
        repo_type: RepoType::from_singular(&repo_type).ok_or_else(|| corrupt("repo type"))?,
        repo_id: RepoId::new(&namespace, &name).map_err(|_| corrupt("repo id"))?,
        private: row.field("private")?,
        gating: Gating::parse(&gating).ok_or_else(|| corrupt("gating"))?,
        created_at: row.field("created_at")?,
        last_modified: row.field("last_modified")?,
        tags: tags.lines().map(str::to_owned).collect(),
        created_by: row.field("created_by")?,
    })
}

pub(crate) fn user<R>(row: &R) -> Result<UserRecord>
where
    R: KuraRow,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(UserRecord {
        id: row.field("id")?,
        name: row.field("name")?,
        is_admin: row.field("is_admin")?,
        created_at: row.field("created_at")?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str =
    "id, user_id, name, role, created_at, expires_at, scopes, last_used_at, revoked_at";

pub(crate) fn token<R>(row: &R) -> Result<TokenRecord>
where
    R: KuraRow,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let role: String = row.field("role")?;
    let scopes: String = row.field("scopes")?;
    let scopes: Vec<String> = serde_json::from_str(&scopes).map_err(|_| corrupt("token scopes"))?;
    Ok(TokenRecord {
        id: row.field("id")?,
        user_id: row.field("user_id")?,
        name: row.field("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("token role"))?,
        created_at: row.field("created_at")?,
        expires_at: row.field("expires_at")?,
        scopes: scopes
            .iter()
            .map(|s| TokenScope::parse(s).map_err(|_| corrupt("token scope")))
            .collect::<Result<_>>()?,
        last_used_at: row.field("last_used_at")?,
        revoked_at: row.field("revoked_at")?,
    })
}

pub(crate) fn oid(text: &str) -> Result<ObjectId> {
    ObjectId::from_hex(text).map_err(StorageError::backend)
}
