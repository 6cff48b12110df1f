//! Rows as the queries return them (`FromRow`, the same for both engines), turned into the
//! records of `kura-storage`. Text columns holding enums are parsed here; a value that does
//! not parse is reported as a corrupt database, never guessed.

use kura_model::{ObjectId, RepoId, RepoType, Role, Sha256, Timestamp, TokenScope};
use kura_storage::{Gating, RepoRecord, StorageError, TokenRecord, UserRecord, XetFileRecord};

type Result<T> = std::result::Result<T, StorageError>;

pub(crate) fn corrupt(what: &str) -> StorageError {
    StorageError::backend(std::io::Error::other(format!("corrupt {what} in the database")))
}

pub(crate) fn oid(text: &str) -> Result<ObjectId> {
    ObjectId::from_hex(text).map_err(StorageError::backend)
}

pub(crate) fn sha256(text: &str) -> Result<Sha256> {
    Sha256::from_hex(text).map_err(StorageError::backend)
}

/// Sizes are `BIGINT` (signed) in both engines and never negative.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The columns of `RepoRow`, for `SELECT` and `RETURNING` (a macro so queries stay literals).
macro_rules! repo_columns {
    () => {
        "repos.id, repos.repo_type, repos.namespace, repos.name, repos.private, repos.gating, \
         repos.created_at, repos.last_modified, repos.created_by, repos.library_name, repos.pipeline_tag, \
         repos.likes, repos.downloads, repos.downloads_all_time, repos.trending, repos.state"
    };
}
pub(crate) use repo_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct RepoRow {
    pub(crate) id: i64,
    repo_type: String,
    namespace: String,
    name: String,
    private: bool,
    gating: String,
    created_at: Timestamp,
    last_modified: Timestamp,
    created_by: Option<i64>,
    library_name: Option<String>,
    pipeline_tag: Option<String>,
    likes: i64,
    downloads: i64,
    downloads_all_time: i64,
    trending: i64,
    state: i64,
}

impl RepoRow {
    pub(crate) fn into_record(self, tags: Vec<String>) -> Result<RepoRecord> {
        Ok(RepoRecord {
            id: self.id,
            repo_type: RepoType::from_singular(&self.repo_type).ok_or_else(|| corrupt("repo type"))?,
            repo_id: RepoId::new(&self.namespace, &self.name).map_err(|_| corrupt("repo id"))?,
            private: self.private,
            gating: Gating::parse(&self.gating).ok_or_else(|| corrupt("gating"))?,
            created_at: self.created_at,
            last_modified: self.last_modified,
            tags,
            created_by: self.created_by,
            library_name: self.library_name,
            pipeline_tag: self.pipeline_tag,
            likes: to_u64(self.likes),
            downloads: to_u64(self.downloads),
            downloads_all_time: to_u64(self.downloads_all_time),
            trending: to_u64(self.trending),
            state: to_u64(self.state),
        })
    }
}

impl RepoRow {
    /// The row from a plain SQLite read of `repo_columns!()`, in their order.
    pub(crate) fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            repo_type: row.get(1)?,
            namespace: row.get(2)?,
            name: row.get(3)?,
            private: row.get(4)?,
            gating: row.get(5)?,
            created_at: row.get(6)?,
            last_modified: row.get(7)?,
            created_by: row.get(8)?,
            library_name: row.get(9)?,
            pipeline_tag: row.get(10)?,
            likes: row.get(11)?,
            downloads: row.get(12)?,
            downloads_all_time: row.get(13)?,
            trending: row.get(14)?,
            state: row.get(15)?,
        })
    }
}

/// A repo joined to one of its tags (`None`: the repo has none).
#[derive(sqlx::FromRow)]
pub(crate) struct RepoTagRow {
    #[sqlx(flatten)]
    repo: RepoRow,
    tag: Option<String>,
}

/// Folds repos joined to their tags into records. The query orders the rows so that a repo's
/// rows are adjacent and its tags in order.
pub(crate) fn repos_with_tags(rows: Vec<RepoTagRow>) -> Result<Vec<RepoRecord>> {
    let mut records: Vec<RepoRecord> = Vec::new();
    for RepoTagRow { repo, tag } in rows {
        match records.last_mut() {
            Some(last) if last.id == repo.id => last.tags.extend(tag),
            _ => records.push(repo.into_record(tag.into_iter().collect())?),
        }
    }
    Ok(records)
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    name: String,
    is_admin: bool,
    created_at: Timestamp,
}

impl From<UserRow> for UserRecord {
    fn from(row: UserRow) -> Self {
        UserRecord { id: row.id, name: row.name, is_admin: row.is_admin, created_at: row.created_at }
    }
}

/// The columns of `TokenRow` (a macro so queries stay literals).
macro_rules! token_columns {
    () => {
        "id, user_id, name, role, created_at, expires_at, scopes, last_used_at, revoked_at"
    };
}
pub(crate) use token_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    role: String,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    /// A JSON array of scope strings.
    scopes: String,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

/// A token joined to its user.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenUserRow {
    #[sqlx(flatten)]
    token: TokenRow,
    user_name: String,
    user_is_admin: bool,
    user_created_at: Timestamp,
}

impl TokenUserRow {
    /// The row from a plain SQLite read of `tokens::TOKEN_WITH_USER`, in its column order.
    pub(crate) fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            token: TokenRow {
                id: row.get(0)?,
                user_id: row.get(1)?,
                name: row.get(2)?,
                role: row.get(3)?,
                created_at: row.get(4)?,
                expires_at: row.get(5)?,
                scopes: row.get(6)?,
                last_used_at: row.get(7)?,
                revoked_at: row.get(8)?,
            },
            user_name: row.get(9)?,
            user_is_admin: row.get(10)?,
            user_created_at: row.get(11)?,
        })
    }

    pub(crate) fn split(self) -> Result<(TokenRecord, UserRecord)> {
        let user = UserRecord {
            id: self.token.user_id,
            name: self.user_name,
            is_admin: self.user_is_admin,
            created_at: self.user_created_at,
        };
        Ok((TokenRecord::try_from(self.token)?, user))
    }
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StorageError;

    fn try_from(row: TokenRow) -> Result<Self> {
        let scopes: Vec<String> = serde_json::from_str(&row.scopes).map_err(|_| corrupt("token scopes"))?;
        Ok(TokenRecord {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            role: Role::parse(&row.role).ok_or_else(|| corrupt("token role"))?,
            created_at: row.created_at,
            expires_at: row.expires_at,
            scopes: scopes
                .iter()
                .map(|s| TokenScope::parse(s).map_err(|_| corrupt("token scope")))
                .collect::<Result<_>>()?,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct XetFileRow {
    file_hash: String,
    sha256: String,
    size: i64,
    terms: String,
}

impl TryFrom<XetFileRow> for XetFileRecord {
    type Error = StorageError;

    fn try_from(row: XetFileRow) -> Result<Self> {
        Ok(XetFileRecord {
            file_hash: row.file_hash,
            sha256: sha256(&row.sha256)?,
            size: to_u64(row.size),
            terms: row.terms,
        })
    }
}
