//! The mirror's runs of upstream xorb chunks inside held objects (`MirrorStore::put_mirror_runs`
//! and `mirror_runs`), on both engines. Chunk lengths are stored as comma-separated decimals,
//! the same text on SQLite and PostgreSQL.

use kura_storage::{MirrorRun, StorageError};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::pool::{BeginWrite, SqlStore, db_error, with_pool};
use crate::rows::{corrupt, to_i64, to_u64};

type Result<T> = std::result::Result<T, StorageError>;

/// Rows per multi-row `INSERT`: 7 binds each, far below SQLite's bind limit.
const RUNS_PER_INSERT: usize = 100;

#[derive(sqlx::FromRow)]
struct RunRow {
    xorb: String,
    first_chunk: i64,
    mirror_id: i64,
    sha256: String,
    file_offset: i64,
    chunk_lengths: String,
}

impl RunRow {
    fn into_run(self) -> Result<MirrorRun> {
        let chunk_lengths = self
            .chunk_lengths
            .split(',')
            .map(|n| n.parse::<u32>().map_err(|_| corrupt("mirror run chunk lengths")))
            .collect::<Result<Vec<_>>>()?;
        Ok(MirrorRun {
            xorb: self.xorb,
            first_chunk: u32::try_from(self.first_chunk).map_err(|_| corrupt("mirror run first chunk"))?,
            mirror: self.mirror_id,
            sha256: self.sha256,
            file_offset: to_u64(self.file_offset),
            chunk_lengths,
        })
    }
}

fn lengths_text(run: &MirrorRun) -> String {
    run.chunk_lengths.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn runs_insert<DB>(runs: &[MirrorRun]) -> QueryBuilder<DB>
where
    DB: Database,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(
        "INSERT INTO mirror_runs (xorb, first_chunk, end_chunk, mirror_id, sha256, file_offset, chunk_lengths) ",
    );
    sql.push_values(runs, |mut row, run| {
        row.push_bind(run.xorb.clone())
            .push_bind(i64::from(run.first_chunk))
            .push_bind(i64::from(run.end_chunk()))
            .push_bind(run.mirror)
            .push_bind(run.sha256.clone())
            .push_bind(to_i64(run.file_offset))
            .push_bind(lengths_text(run));
    });
    sql.push(" ON CONFLICT (xorb, first_chunk, mirror_id, sha256) DO NOTHING");
    sql
}

impl SqlStore {
    pub(crate) async fn insert_mirror_runs(&self, runs: &[MirrorRun]) -> Result<()> {
        let runs: Vec<MirrorRun> = runs.iter().filter(|r| !r.chunk_lengths.is_empty()).cloned().collect();
        if runs.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for chunk in runs.chunks(RUNS_PER_INSERT) {
                runs_insert(chunk).build().execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
        });
        Ok(())
    }

    pub(crate) async fn select_mirror_runs(
        &self,
        xorb: &str,
        first: u32,
        end: u32,
        limit: u32,
    ) -> Result<Vec<MirrorRun>> {
        let rows: Vec<RunRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT xorb, first_chunk, mirror_id, sha256, file_offset, chunk_lengths FROM mirror_runs \
                 WHERE xorb = $1 AND first_chunk <= $2 AND end_chunk >= $3 \
                 ORDER BY end_chunk DESC, first_chunk, mirror_id, sha256 LIMIT $4",
            )
            .bind(xorb).bind(i64::from(first)).bind(i64::from(end)).bind(i64::from(limit))
            .fetch_all(pool).await.map_err(db_error)?
        });
        rows.into_iter().map(RunRow::into_run).collect()
    }

    pub(crate) async fn remove_mirror_runs(&self, runs: &[MirrorRun]) -> Result<()> {
        if runs.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(db_error)?;
            for run in runs {
                sqlx::query(
                    "DELETE FROM mirror_runs WHERE xorb = $1 AND first_chunk = $2 AND mirror_id = $3 AND sha256 = $4",
                )
                .bind(run.xorb.clone()).bind(i64::from(run.first_chunk)).bind(run.mirror).bind(run.sha256.clone())
                .execute(&mut *tx).await.map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
        });
        Ok(())
    }
}
