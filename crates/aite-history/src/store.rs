//! The history database: opening (with migrations), recording a package, listing
//! runs, resolving what the user typed to a run, and reading a run back, on either
//! back end.

use crate::model::{Finding, Input, Metric, MetricValue, RequirementVerdict, RunId, RunSummary, Terminal, Verdict};
use crate::package::{self, PackageRecord};
use crate::backend::{vals, Conn, DbError, Location, PgTimeouts, Row};
use crate::{schema, HistoryError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the history lives when `--db` is not given: `$AITE_HISTORY_DB`, else
/// `$XDG_DATA_HOME/aite/history.sqlite3`, else `~/.local/share/aite/history.sqlite3`.
pub fn default_path() -> Result<PathBuf, HistoryError> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var("AITE_HISTORY_DB") {
        return Ok(p);
    }
    if let Some(p) = var("XDG_DATA_HOME") {
        return Ok(p.join("aite").join("history.sqlite3"));
    }
    var("HOME").map(|h| h.join(".local/share/aite/history.sqlite3")).ok_or(HistoryError::NoDefaultPath)
}

/// [`default_path`] as a [`Location`]: `$AITE_HISTORY_DB` may also be a `postgres://` URL.
pub fn default_location() -> Result<Location, HistoryError> {
    default_path().map(|p| Location::from_path(&p))
}

/// An open, migrated history database: an SQLite file or a PostgreSQL server.
#[derive(Debug)]
pub struct History {
    conn: Conn,
    location: Location,
}

const RUN_COLUMNS: &str = "id, recorded_at, started_at, command, status, tool_version, tool_commit, terminal_manufacturer, terminal_model, \
    terminal_hardware_revision, terminal_serial, terminal_firmware_version, firmware_name, firmware_sha256, profile_id, profile_version, \
    profile_sha256, overall_verdict, package_path, manifest_sha256, out_of_scope";

impl History {
    /// Open (or create) the SQLite database at `path`, creating its parent folders,
    /// and apply the migrations it lacks. Errors name the file.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        History::open_location(&Location::Sqlite(path.to_path_buf()))
    }

    /// Open the history at `location` (an SQLite file, created with its folders if
    /// absent, or a PostgreSQL server's existing database) and apply the migrations
    /// it lacks. Errors name the location (a URL without its password).
    pub fn open_location(location: &Location) -> Result<History, HistoryError> {
        History::open_location_with(location, PgTimeouts::default())
    }

    /// [`History::open_location`] with the PostgreSQL back end's waits set.
    pub fn open_location_with(location: &Location, timeouts: PgTimeouts) -> Result<History, HistoryError> {
        if let Some(parent) = location.path().and_then(Path::parent).filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| HistoryError::CreateDir { path: location.path().unwrap_or(parent).to_path_buf(), source })?;
        }
        let conn = Conn::open_with(location, timeouts).map_err(HistoryError::db(location))?;
        schema::migrate(&conn, location)?;
        Ok(History { conn, location: location.clone() })
    }

    /// Where the history lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, HistoryError> {
        self.conn.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).map_err(|e| self.err(e))
    }

    fn err(&self, source: DbError) -> HistoryError {
        HistoryError::Database { location: self.location.clone(), source }
    }

    /// Record the evidence package in `dir` (reading only the package). Recording
    /// the same package again returns the same id and adds nothing; if it moved,
    /// its recorded folder is updated.
    pub fn record_package(&mut self, dir: &Path) -> Result<RunId, HistoryError> {
        let rec = package::read(dir)?;
        let id = RunId::from_manifest_digest(&rec.manifest_sha256);
        let location = self.location.clone();
        let db = HistoryError::db(&location);
        self.conn.exclusive(&db, |tx| -> Result<(), HistoryError> {
            let existing = tx.query_opt("SELECT manifest_sha256, package_path FROM runs WHERE id = ?1", vals![&id.0]).map_err(&db)?;
            let dir_text = rec.dir.display().to_string();
            match existing {
                Some(row) => {
                    let (manifest, recorded_dir): (String, String) = (row.get(0).map_err(&db)?, row.get(1).map_err(&db)?);
                    if manifest != rec.manifest_sha256 {
                        return Err(HistoryError::UnknownRun(format!("run id {id} is already taken by another package (manifest {manifest}) in {location}")));
                    }
                    if recorded_dir != dir_text {
                        tx.execute("UPDATE runs SET package_path = ?1 WHERE id = ?2", vals![dir_text, &id.0]).map_err(&db)?;
                    }
                }
                None => insert(tx, &id, &rec).map_err(&db)?,
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// Every run, oldest first (by start, then recording time, then id; absent times
    /// first); with `terminal`, only runs whose declared terminal contains it
    /// (case-insensitive, any field).
    pub fn runs(&self, terminal: Option<&str>) -> Result<Vec<RunSummary>, HistoryError> {
        let rows = self.conn.query(&format!("SELECT {RUN_COLUMNS} FROM runs"), &[]).map_err(|e| self.err(e))?;
        let mut runs = rows.iter().map(summary).collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))?;
        // Ordered here, not in SQL: PostgreSQL's collation and NULL placement differ from SQLite's.
        runs.sort_by(|a, b| (&a.started_at, &a.recorded_at, &a.id).cmp(&(&b.started_at, &b.recorded_at, &b.id)));
        Ok(runs.into_iter().filter(|r| terminal.is_none_or(|t| r.terminal.matches(t))).collect())
    }

    /// One run by id.
    pub fn run(&self, id: &RunId) -> Result<RunSummary, HistoryError> {
        self.conn
            .query_opt(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"), vals![&id.0])
            .and_then(|r| r.as_ref().map(summary).transpose())
            .map_err(|e| self.err(e))?
            .ok_or_else(|| HistoryError::UnknownRun(format!("no run {id} in history database {}", self.location)))
    }

    /// What the user typed as a run: an id, a unique prefix of one (4 digits or
    /// more), or an evidence package folder (recorded now if it is not yet).
    pub fn resolve(&mut self, key: &str) -> Result<RunId, HistoryError> {
        let as_dir = Path::new(key);
        if as_dir.is_dir() {
            let id = RunId::from_manifest_digest(&package::manifest_digest(as_dir)?);
            return match self.exists(&id)? {
                true => Ok(id),
                false => self.record_package(as_dir),
            };
        }
        let hex = !key.is_empty() && key.chars().all(|c| c.is_ascii_hexdigit());
        if hex && key.len() >= 4 {
            let key = key.to_ascii_lowercase();
            let rows = self.conn.query("SELECT id FROM runs WHERE id LIKE ?1", vals![format!("{key}%")]).map_err(|e| self.err(e))?;
            let mut ids = rows.iter().map(|r| r.get::<String>(0)).collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))?;
            ids.sort();
            match ids.as_slice() {
                [one] => return Ok(RunId(one.clone())),
                [] => {}
                many => return Err(HistoryError::UnknownRun(format!("run `{key}` is ambiguous in {}: {}", self.location, many.join(", ")))),
            }
        }
        Err(HistoryError::UnknownRun(format!("no run `{key}` in history database {} (`aite history` lists the ids; a package folder works too)", self.location)))
    }

    fn exists(&self, id: &RunId) -> Result<bool, HistoryError> {
        self.conn.query_one::<i64>("SELECT COUNT(*) FROM runs WHERE id = ?1", vals![&id.0]).map(|n| n > 0).map_err(|e| self.err(e))
    }

    /// The run's models, datasets, firmware and other inputs, in results.json order.
    pub fn inputs(&self, id: &RunId) -> Result<Vec<Input>, HistoryError> {
        self.rows("SELECT role, name, sha256, item_count FROM run_inputs WHERE run_id = ?1 ORDER BY position", id, |r| {
            Ok(Input { role: r.get(0)?, name: r.get(1)?, sha256: r.get(2)?, count: r.get::<Option<i64>>(3)?.map(|c| c as u64) })
        })
    }

    /// The manifest's files and digests as recorded.
    pub fn files(&self, id: &RunId) -> Result<BTreeMap<String, String>, HistoryError> {
        Ok(self.rows("SELECT name, sha256 FROM run_files WHERE run_id = ?1", id, |r| Ok((r.get(0)?, r.get(1)?)))?.into_iter().collect())
    }

    /// The run's requirement verdicts (empty without assessment.json), by requirement id.
    pub fn verdicts(&self, id: &RunId) -> Result<Vec<RequirementVerdict>, HistoryError> {
        let mut out = self.rows(
            "SELECT requirement_id, title, item, verdict, reason, value, interval_low, interval_high, interval_method, threshold, comparator, unit, decision, note \
             FROM verdicts WHERE run_id = ?1",
            id,
            |r| {
                let label: String = r.get(3)?;
                Ok(RequirementVerdict {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    item: r.get(2)?,
                    verdict: Verdict::from_label(&label).ok_or_else(|| bad_text("verdict", &label))?,
                    reason: r.get(4)?,
                    value: r.get(5)?,
                    interval_low: r.get(6)?,
                    interval_high: r.get(7)?,
                    interval_method: r.get(8)?,
                    threshold: r.get(9)?,
                    comparator: r.get(10)?,
                    unit: r.get(11)?,
                    decision: r.get(12)?,
                    note: r.get(13)?,
                })
            },
        )?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The run's key metrics, by name.
    pub fn metrics(&self, id: &RunId) -> Result<Vec<Metric>, HistoryError> {
        let mut out = self.rows("SELECT name, kind, value, successes, trials, ci95_low, ci95_high, flag, samples_file FROM metrics WHERE run_id = ?1", id, |r| {
            let name: String = r.get(0)?;
            let kind: String = r.get(1)?;
            let value = match kind.as_str() {
                "proportion" => MetricValue::Proportion {
                    value: r.get(2)?,
                    successes: r.get::<i64>(3)? as u64,
                    trials: r.get::<i64>(4)? as u64,
                    ci95_low: r.get(5)?,
                    ci95_high: r.get(6)?,
                },
                "latency-ms" => {
                    let percentile = crate::model::LATENCY_PERCENTILES
                        .iter()
                        .find(|(l, _)| name.ends_with(&format!(".{l}_ms")))
                        .map(|&(_, p)| p)
                        .ok_or_else(|| bad_text("metric name", &name))?;
                    MetricValue::LatencyMs { value: r.get(2)?, percentile, samples_file: r.get(8)? }
                }
                "flag" => MetricValue::Flag { value: r.get::<i64>(7)? != 0 },
                _ => return Err(bad_text("metric kind", &kind)),
            };
            Ok(Metric { name, value })
        })?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The run's failing findings of the static scan and the network probe.
    pub fn findings(&self, id: &RunId) -> Result<Vec<Finding>, HistoryError> {
        self.rows("SELECT rule, subject, severity, message, finding_key, suite FROM findings WHERE run_id = ?1 ORDER BY position", id, |r| {
            let suite: String = r.get(5)?;
            let suite = crate::model::FindingSuite::from_label(&suite).ok_or_else(|| bad_text("finding suite", &suite))?;
            Ok(Finding { suite, rule: r.get(0)?, subject: r.get(1)?, severity: r.get::<Option<String>>(2)?.unwrap_or_default(), message: r.get(3)?, key: crate::model::FindingKey::from_column(r.get(4)?) })
        })
    }

    /// `suites.security.rules` and `suites.network.rules` of the run: rule id → status.
    pub fn security_rules(&self, id: &RunId) -> Result<BTreeMap<String, String>, HistoryError> {
        Ok(self.rows("SELECT rule, status FROM security_rules WHERE run_id = ?1", id, |r| Ok((r.get(0)?, r.get(1)?)))?.into_iter().collect())
    }

    fn rows<T>(&self, sql: &str, id: &RunId, f: impl FnMut(&Row) -> Result<T, DbError>) -> Result<Vec<T>, HistoryError> {
        let rows = self.conn.query(sql, vals![&id.0]).map_err(|e| self.err(e))?;
        rows.iter().map(f).collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

fn bad_text(what: &str, text: &str) -> DbError {
    DbError::Value(format!("unexpected {what} `{text}`"))
}

fn summary(r: &Row) -> Result<RunSummary, DbError> {
    let firmware_name: Option<String> = r.get(12)?;
    let firmware_sha: Option<String> = r.get(13)?;
    let overall: Option<String> = r.get(17)?;
    Ok(RunSummary {
        id: RunId(r.get(0)?),
        recorded_at: r.get(1)?,
        started_at: r.get(2)?,
        command: r.get(3)?,
        status: r.get(4)?,
        tool_version: r.get(5)?,
        tool_commit: r.get(6)?,
        terminal: Terminal { manufacturer: r.get(7)?, model: r.get(8)?, hardware_revision: r.get(9)?, serial: r.get(10)?, firmware_version: r.get(11)? },
        firmware: firmware_name.map(|name| Input { role: "firmware".into(), name, sha256: firmware_sha.unwrap_or_default(), count: None }),
        profile_id: r.get(14)?,
        profile_version: r.get(15)?,
        profile_sha256: r.get(16)?,
        overall_verdict: overall.map(|l| Verdict::from_label(&l).ok_or_else(|| bad_text("verdict", &l))).transpose()?,
        package_path: r.get(18)?,
        manifest_sha256: r.get(19)?,
        out_of_scope: r.get::<i64>(20)?.max(0) as usize,
    })
}

fn insert(tx: &Conn, id: &RunId, rec: &PackageRecord) -> Result<(), DbError> {
    let a = rec.assessment.as_ref();
    let t = &rec.terminal;
    tx.execute(
        "INSERT INTO runs (id, manifest_sha256, package_path, recorded_at, command, status, started_at, finished_at, tool_version, tool_commit, \
         terminal_manufacturer, terminal_model, terminal_hardware_revision, terminal_serial, terminal_firmware_version, firmware_name, firmware_sha256, \
         engine, engine_version, has_assessment, profile_id, profile_version, profile_sha256, overall_verdict, out_of_scope) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
        vals![
            &id.0,
            &rec.manifest_sha256,
            rec.dir.display().to_string(),
            crate::now(),
            rec.command.as_ref(),
            rec.status.as_ref(),
            rec.started_at.as_ref(),
            rec.finished_at.as_ref(),
            rec.tool_version.as_ref(),
            rec.tool_commit.as_ref(),
            t.manufacturer.as_ref(),
            t.model.as_ref(),
            t.hardware_revision.as_ref(),
            t.serial.as_ref(),
            t.firmware_version.as_ref(),
            rec.firmware.as_ref().map(|f| &f.name),
            rec.firmware.as_ref().map(|f| &f.sha256),
            rec.engine.as_ref(),
            rec.engine_version.as_ref(),
            a.is_some() as i64,
            a.and_then(|a| a.profile_id.as_ref()),
            a.and_then(|a| a.profile_version.as_ref()),
            a.and_then(|a| a.profile_sha256.as_ref()),
            a.and_then(|a| a.overall).map(Verdict::label),
            a.map_or(0, |a| a.out_of_scope as i64),
        ],
    )?;
    for (i, input) in rec.inputs.iter().enumerate() {
        tx.execute(
            "INSERT INTO run_inputs (run_id, position, role, name, sha256, item_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            vals![&id.0, i as i64, &input.role, &input.name, &input.sha256, input.count.map(|c| c as i64)],
        )?;
    }
    for (name, sha) in &rec.files {
        tx.execute("INSERT INTO run_files (run_id, name, sha256) VALUES (?1, ?2, ?3)", vals![&id.0, name, sha])?;
    }
    for v in a.map(|a| a.verdicts.as_slice()).unwrap_or_default() {
        tx.execute(
            "INSERT INTO verdicts (run_id, requirement_id, title, item, verdict, reason, value, interval_low, interval_high, interval_method, threshold, comparator, unit, decision, note) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT (run_id, requirement_id) DO NOTHING",
            vals![
                &id.0,
                &v.id,
                v.title.as_ref(),
                v.item.as_ref(),
                v.verdict.label(),
                v.reason.as_ref(),
                v.value,
                v.interval_low,
                v.interval_high,
                v.interval_method.as_ref(),
                v.threshold,
                v.comparator.as_ref(),
                v.unit.as_ref(),
                v.decision.as_ref(),
                v.note.as_ref()
            ],
        )?;
    }
    for m in &rec.metrics {
        let (value, successes, trials, low, high, flag, file) = match &m.value {
            MetricValue::Proportion { value, successes, trials, ci95_low, ci95_high } => {
                (*value, Some(*successes as i64), Some(*trials as i64), *ci95_low, *ci95_high, None, None)
            }
            MetricValue::LatencyMs { value, samples_file, .. } => (Some(*value), None, None, None, None, None, samples_file.clone()),
            MetricValue::Flag { value } => (None, None, None, None, None, Some(*value as i64), None),
        };
        tx.execute(
            "INSERT INTO metrics (run_id, name, kind, value, successes, trials, ci95_low, ci95_high, flag, samples_file) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            vals![&id.0, &m.name, m.value.kind(), value, successes, trials, low, high, flag, file],
        )?;
    }
    for (i, f) in rec.findings.iter().enumerate() {
        tx.execute(
            "INSERT INTO findings (run_id, position, rule, subject, severity, message, finding_key, suite) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            vals![&id.0, i as i64, &f.rule, &f.subject, &f.severity, &f.message, f.key.column(), f.suite.label()],
        )?;
    }
    for (suite, rule, status) in &rec.rules {
        tx.execute("INSERT INTO security_rules (run_id, rule, status, suite) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (run_id, rule) DO NOTHING", vals![&id.0, rule, status, suite.label()])?;
    }
    Ok(())
}
