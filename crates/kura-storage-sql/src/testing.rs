//! Test helpers: a fresh PostgreSQL schema per test, so runs never collide.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// A URL for a new, empty schema in the PostgreSQL of `KURA_TEST_POSTGRES_URL`; `None` (the
/// test skips) when that is unset, which CI does not allow.
pub(crate) async fn postgres_url(prefix: &str) -> Option<String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Ok(url) = std::env::var("KURA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "KURA_TEST_POSTGRES_URL must be set in CI");
        eprintln!("skipping: KURA_TEST_POSTGRES_URL is not set");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let suffix = nanos ^ u64::from(std::process::id()) ^ COUNTER.fetch_add(1, Ordering::Relaxed);
    let schema = format!("{prefix}_{suffix:x}");
    let mut admin = PgConnection::connect(&url).await.unwrap();
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut admin).await.unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{separator}options=-c%20search_path%3D{schema}"))
}
