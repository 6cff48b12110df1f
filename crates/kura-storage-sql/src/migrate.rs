//! Versioned migrations, compiled in, applied in order, each in its own transaction, and
//! recorded in `schema_migrations`.

/// One schema step.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../migrations/sqlite/0001_init.sql") },
    Migration { version: 2, sql: include_str!("../migrations/sqlite/0002_server_secrets.sql") },
    Migration { version: 3, sql: include_str!("../migrations/sqlite/0003_xet.sql") },
    Migration { version: 4, sql: include_str!("../migrations/sqlite/0004_access.sql") },
    Migration { version: 5, sql: include_str!("../migrations/sqlite/0005_tokens.sql") },
    Migration { version: 6, sql: include_str!("../migrations/sqlite/0006_sessions.sql") },
    Migration { version: 7, sql: include_str!("../migrations/sqlite/0007_repo_creator.sql") },
    Migration { version: 8, sql: include_str!("../migrations/sqlite/0008_verified_sha256.sql") },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../migrations/postgres/0001_init.sql") },
    Migration { version: 2, sql: include_str!("../migrations/postgres/0002_server_secrets.sql") },
    Migration { version: 3, sql: include_str!("../migrations/postgres/0003_xet.sql") },
    Migration { version: 4, sql: include_str!("../migrations/postgres/0004_access.sql") },
    Migration { version: 5, sql: include_str!("../migrations/postgres/0005_tokens.sql") },
    Migration { version: 6, sql: include_str!("../migrations/postgres/0006_sessions.sql") },
    Migration { version: 7, sql: include_str!("../migrations/postgres/0007_repo_creator.sql") },
    Migration { version: 8, sql: include_str!("../migrations/postgres/0008_verified_sha256.sql") },
];

/// Splits a migration file into statements (no statement in our files contains `;` inside a
/// literal).
pub(crate) fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(';')
        .map(str::trim)
        .filter(|s| s.lines().any(|line| !line.trim().is_empty() && !line.trim().starts_with("--")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_statements() {
        let parts: Vec<_> = super::statements("-- c\nCREATE TABLE a (x);\n\nCREATE TABLE b (y);\n").collect();
        assert_eq!(parts.len(), 2);
    }
}
