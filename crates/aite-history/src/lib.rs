//! History of evidence packages and the release diff (EU AI Act Annex IV §6:
//! changes across the lifecycle).
//!
//! A [`History`] is an embedded SQLite database (one file, [`default_path`] unless
//! told otherwise) or, with feature `postgres`, a database on a PostgreSQL server
//! (a [`Location`] `postgres://user@host:port/db`); its schema is versioned by
//! numbered, embedded SQL [`schema::MIGRATIONS`] written in the subset both accept,
//! and every statement is the same text on both ([`to_dollar_placeholders`] is the
//! one translation).
//! [`History::record_package`] reads one finished evidence package (manifest.json,
//! results.json, assessment.json) and keeps the terminal's identity, the inputs and
//! their hashes, the profile, every verdict, the key [`Metric`]s and the failing
//! security [`Finding`]s of the static scan and the network probe ([`FindingSuite`]), under a [`RunId`] taken from the manifest's digest (so
//! recording twice changes nothing). [`History::runs`] lists runs;
//! [`History::diff`] compares two: verdict changes, accuracy deltas with a pooled
//! two-proportion z-test, latency percentile deltas with a bootstrap interval
//! computed from the raw samples still in the packages, new and fixed findings.
//!
//! ```no_run
//! use aite_history::History;
//! let mut h = History::open(&aite_history::default_path()?)?;
//! let a = h.record_package("aite-runs/20260101-120000-run".as_ref())?;
//! let b = h.record_package("aite-runs/20260301-120000-run".as_ref())?;
//! for change in h.diff(&a, &b)?.verdict_changes {
//!     println!("{}: {:?} -> {:?}", change.id, change.before, change.after);
//! }
//! # Ok::<(), aite_history::HistoryError>(())
//! ```

mod backend;
mod diff;
mod error;
mod model;
mod package;
pub mod schema;
pub mod stats;
mod store;

pub use backend::{to_dollar_placeholders, DbError, Location, PgTimeouts};
pub use diff::{FindingChange, FindingsDiff, InputChange, LatencyDelta, LatencyInterval, ProportionDelta, ProportionTest, Rate, RunDiff, VerdictChange};
pub use error::HistoryError;
pub use model::{Finding, FindingKey, FindingSuite, Input, Metric, MetricValue, RequirementVerdict, RunId, RunSummary, Terminal, Verdict, IMAGE_WIDE, LATENCY_PERCENTILES};
pub use store::{default_location, default_path, History};

/// Now in UTC, ISO 8601 (RFC 3339), as every timestamp of the database.
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
