//! Schema migrations: numbered SQL files embedded with `include_str!`, applied in
//! order, each in its own transaction. The applied versions are rows of
//! `schema_migrations` (portable) and the last one is also `PRAGMA user_version`
//! (SQLite's own marker, so `sqlite3 history.sqlite3 'pragma user_version'` answers;
//! PostgreSQL has only the rows).

use crate::backend::{vals, Conn, DbError, Location};
use crate::HistoryError;

/// One numbered schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// Portable SQL: the PostgreSQL back end applies the same text.
    pub sql: &'static str,
}

/// Every migration, in the order they are applied.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "runs", sql: include_str!("../migrations/0001_runs.sql") },
    Migration { version: 2, name: "out_of_scope", sql: include_str!("../migrations/0002_out_of_scope.sql") },
    Migration { version: 3, name: "finding_key", sql: include_str!("../migrations/0003_finding_key.sql") },
    Migration { version: 4, name: "finding_suite", sql: include_str!("../migrations/0004_finding_suite.sql") },
];

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The bookkeeping table, created before any migration (portable too).
pub const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Bring the database to [`SCHEMA_VERSION`]; returns the versions applied now. Each
/// migration runs in an exclusive transaction (SQLite IMMEDIATE, PostgreSQL's advisory
/// lock) that re-reads the version first, so two processes opening a new database at
/// once apply each migration once.
pub(crate) fn migrate(conn: &Conn, location: &Location) -> Result<Vec<i64>, HistoryError> {
    let db = HistoryError::db(location);
    let newer = |found: i64| HistoryError::NewerSchema { location: location.clone(), found, known: SCHEMA_VERSION };
    conn.exclusive(&db, |c| c.batch(BOOKKEEPING).map_err(&db))?;
    let current = version(conn).map_err(&db)?;
    if current > SCHEMA_VERSION {
        return Err(newer(current));
    }
    let mut applied = vec![];
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let done = conn.exclusive(&db, |c| -> Result<bool, HistoryError> {
            let now = version(c).map_err(&db)?;
            if now > SCHEMA_VERSION {
                return Err(newer(now));
            }
            if m.version <= now {
                return Ok(false); // another process applied it meanwhile
            }
            c.batch(m.sql).map_err(&db)?;
            c.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)", vals![m.version, m.name, crate::now()]).map_err(&db)?;
            c.set_user_version(m.version).map_err(&db)?;
            Ok(true)
        })?;
        if done {
            applied.push(m.version);
        }
    }
    Ok(applied)
}

/// The higher of `schema_migrations`' last version and SQLite's `PRAGMA user_version`.
pub(crate) fn version(conn: &Conn) -> Result<i64, DbError> {
    let recorded: i64 = conn.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?;
    Ok(recorded.max(conn.user_version()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbered_in_order_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
        }
    }

    /// Words outside the SQLite/PostgreSQL common subset (or, like SERIAL, on the other side of it).
    #[test]
    fn sql_stays_in_the_portable_subset() {
        for m in MIGRATIONS {
            let code: String = m.sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n").to_uppercase();
            let words: Vec<&str> = code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
            for bad in ["AUTOINCREMENT", "SERIAL", "BIGSERIAL", "DATETIME", "BLOB", "PRAGMA", "REPLACE", "STRICT"] {
                assert!(!words.contains(&bad), "migration {} uses {bad}: not portable to PostgreSQL", m.version);
            }
            for pair in words.windows(2) {
                assert!(pair != ["WITHOUT", "ROWID"] && pair != ["INSERT", "OR"], "migration {} uses {pair:?}: not portable", m.version);
            }
        }
    }
}
