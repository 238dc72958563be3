//! Errors of the history database and of reading an evidence package; each one
//! names the file it is about.

use crate::backend::{DbError, Location};
use std::path::PathBuf;

/// What can go wrong opening, migrating, recording or diffing.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The database cannot be created, opened or read (not SQLite, corrupt, locked;
    /// the PostgreSQL server refused or is unreachable).
    #[error("history database {location}: {source}")]
    Database { location: Location, source: DbError },
    /// A parent folder of the database cannot be created.
    #[error("cannot create the folder of history database {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    /// The database was migrated by a newer aite.
    #[error("history database {location} has schema version {found}, newer than this aite knows ({known}); use a newer aite")]
    NewerSchema { location: Location, found: i64, known: i64 },
    /// An evidence package file is missing, unreadable or malformed.
    #[error("evidence package {path}: {reason}")]
    Package { path: PathBuf, reason: String },
    /// No run, or more than one, matches what was asked for.
    #[error("{0}")]
    UnknownRun(String),
    /// `$HOME` is not set and neither `$AITE_HISTORY_DB` nor `$XDG_DATA_HOME` is.
    #[error("no default history database location: set AITE_HISTORY_DB, XDG_DATA_HOME or HOME, or pass --db")]
    NoDefaultPath,
}

impl HistoryError {
    pub(crate) fn db(location: &Location) -> impl Fn(DbError) -> HistoryError + '_ {
        move |source| HistoryError::Database { location: location.clone(), source }
    }

    pub(crate) fn package(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        HistoryError::Package { path: path.into(), reason: reason.into() }
    }
}
