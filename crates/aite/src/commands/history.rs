//! `aite history`, `aite history record DIR`, `aite diff RUN_A RUN_B`, and [`record`]
//! for `aite run`: wiring of the aite-history crate (feature `history`, not default,
//! because rusqlite compiles SQLite from C; feature `postgres` adds the PostgreSQL
//! back end, `--db postgres://…`).

use crate::cli::{DiffArgs, HistoryArgs};
use std::path::Path;

#[cfg(not(feature = "history"))]
const WITHOUT: &str = "built without the `history` feature: cargo install --path crates/aite --features history";

/// Record the evidence package in `dir` in the history database (`db`, else the
/// default location); returns the run id. Without the `history` feature: a note on
/// stderr and `Ok(None)`.
#[allow(dead_code)] // called by `aite run`
pub fn record(dir: &Path, db: Option<&Path>) -> anyhow::Result<Option<String>> {
    #[cfg(feature = "history")]
    {
        let mut h = enabled::open(db)?;
        let id = h.record_package(dir)?;
        Ok(Some(id.0))
    }
    #[cfg(not(feature = "history"))]
    {
        let _ = (dir, db);
        eprintln!("note: run not recorded in the history database ({WITHOUT})");
        Ok(None)
    }
}

/// `aite history [--terminal T] [--db PATH] [record DIR]`.
pub fn history(args: HistoryArgs) -> anyhow::Result<u8> {
    #[cfg(feature = "history")]
    return enabled::history(args);
    #[cfg(not(feature = "history"))]
    {
        let _ = args;
        Err(crate::exit::UsageError(WITHOUT.into()).into())
    }
}

/// `aite diff RUN_A RUN_B [--db PATH] [--json]`.
pub fn diff(args: DiffArgs) -> anyhow::Result<u8> {
    #[cfg(feature = "history")]
    return enabled::diff(args);
    #[cfg(not(feature = "history"))]
    {
        let _ = args;
        Err(crate::exit::UsageError(WITHOUT.into()).into())
    }
}

#[cfg(feature = "history")]
mod enabled {
    use crate::cli::{DiffArgs, HistoryAction, HistoryArgs};
    use aite_history::{History, RunDiff, RunSummary};
    use anyhow::Context;
    use std::path::Path;

    /// `--db` (a file path, `sqlite:PATH` or `postgres://user@host:port/db`), else the default.
    pub(super) fn open(db: Option<&Path>) -> anyhow::Result<History> {
        let location = match db {
            Some(p) => aite_history::Location::from_path(p),
            None => aite_history::default_location()?,
        };
        Ok(History::open_location(&location)?)
    }

    pub(super) fn history(args: HistoryArgs) -> anyhow::Result<u8> {
        let mut h = open(args.db.as_deref())?;
        if let Some(HistoryAction::Record { dir }) = &args.action {
            let id = h.record_package(dir)?;
            let run = h.run(&id)?;
            println!("recorded {} as run {id} in {}", run.package_path, h.location());
            return Ok(0);
        }
        let runs = h.runs(args.terminal.as_deref())?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&runs).context("serialising the runs")?);
            return Ok(0);
        }
        if runs.is_empty() {
            let filter = args.terminal.as_deref().map(|t| format!(" for terminal `{t}`")).unwrap_or_default();
            println!("no runs{filter} in {} (`aite run` records each run; `aite history record DIR` adds a package)", h.location());
            return Ok(0);
        }
        let rows: Vec<[String; 7]> = runs.iter().map(row).collect();
        print_table(&["run", "started", "terminal", "firmware", "profile", "verdict", "package"], &rows);
        println!("{} run(s) in {}", runs.len(), h.location());
        Ok(0)
    }

    fn row(r: &RunSummary) -> [String; 7] {
        let dash = || "-".to_string();
        [
            r.id.0.clone(),
            r.started_at.clone().unwrap_or_else(dash),
            r.terminal.label(),
            r.firmware.as_ref().map(|f| format!("{} ({})", f.name, short(&f.sha256))).unwrap_or_else(dash),
            r.profile_id.as_ref().map(|p| format!("{p} {}", r.profile_version.as_deref().unwrap_or(""))).unwrap_or_else(dash),
            match (r.overall_verdict, r.out_of_scope) {
                (None, _) => "no assessment".into(),
                (Some(v), 0) => v.label().to_string(),
                (Some(v), n) => format!("{} (scoped: {n} requirement(s) out of scope)", v.label()),
            },
            r.package_path.clone(),
        ]
    }

    fn short(sha: &str) -> String {
        format!("{}…", sha.chars().take(12).collect::<String>())
    }

    fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
        let mut width = header.map(|h| h.chars().count());
        for r in rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells.iter().zip(width).map(|(c, w)| format!("{c:<w$}")).collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(header.to_vec());
        for r in rows {
            line(r.iter().map(String::as_str).collect());
        }
    }

    pub(super) fn diff(args: DiffArgs) -> anyhow::Result<u8> {
        let mut h = open(args.db.as_deref())?;
        let a = h.resolve(&args.run_a)?;
        let b = h.resolve(&args.run_b)?;
        let d = h.diff(&a, &b)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&d).context("serialising the diff")?);
        } else {
            print!("{}", render(&d));
        }
        Ok(0)
    }

    fn pct(x: Option<f64>) -> String {
        x.map(|v| format!("{:.2}%", 100.0 * v)).unwrap_or_else(|| "-".into())
    }

    /// Decimals that show about four significant digits of latencies of magnitude `scale` ms.
    fn decimals(scale: f64) -> usize {
        match scale.abs() {
            s if s >= 1.0 => 3,
            s if s >= 0.1 => 4,
            s if s >= 0.01 => 5,
            _ => 6,
        }
    }

    /// The diff as text: what changed, each change with its significance statement.
    pub(super) fn render(d: &RunDiff) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let who = |r: &RunSummary| format!("{} ({}, {})", r.id, r.started_at.as_deref().unwrap_or("?"), r.terminal.label());
        let _ = writeln!(o, "before {}\nafter  {}", who(&d.before), who(&d.after));
        for n in &d.notes {
            let _ = writeln!(o, "note: {n}");
        }
        if !d.inputs.is_empty() {
            let _ = writeln!(o, "\ninputs changed");
            for i in &d.inputs {
                let s = |x: &Option<String>| x.as_deref().map(short).unwrap_or_else(|| "absent".into());
                let _ = writeln!(o, "  {:<9} {}  {} -> {}", i.role, i.name, s(&i.before_sha256), s(&i.after_sha256));
            }
        }
        let _ = writeln!(o, "\nverdicts: {} changed, {} unchanged", d.verdict_changes.len(), d.verdicts_unchanged);
        let w = d.verdict_changes.iter().map(|c| c.id.chars().count()).max().unwrap_or(0);
        for c in &d.verdict_changes {
            let l = |v: Option<aite_history::Verdict>| v.map(|v| v.label()).unwrap_or("not assessed");
            let _ = writeln!(o, "  {:<w$}  {} -> {}  {}", c.id, l(c.before), l(c.after), c.title.as_deref().unwrap_or(""));
        }
        if !d.accuracy.is_empty() {
            let _ = writeln!(o, "\naccuracy");
            for p in &d.accuracy {
                let rate = |r: &Option<aite_history::Rate>| r.map(|r| format!("{} ({}/{})", pct(r.value()), r.successes, r.trials)).unwrap_or_else(|| "-".into());
                let delta = p.delta.map(|x| format!("{:+.2} pp", 100.0 * x)).unwrap_or_else(|| "-".into());
                let _ = writeln!(o, "  {:<40} {} -> {}  {delta}  {}", p.metric, rate(&p.before), rate(&p.after), p.test.statement());
            }
        }
        if !d.latency.is_empty() {
            let _ = writeln!(o, "\nlatency");
            for l in &d.latency {
                let n = decimals(l.before_ms.unwrap_or(0.0).max(l.after_ms.unwrap_or(0.0)));
                let ms = |x: Option<f64>| x.map(|v| format!("{v:.n$} ms")).unwrap_or_else(|| "-".into());
                let delta = l.delta_ms.map(|x| format!("{x:+.n$} ms")).unwrap_or_else(|| "-".into());
                let _ = writeln!(o, "  {:<40} {} -> {}  {delta}  {}", l.metric, ms(l.before_ms), ms(l.after_ms), l.interval.statement_with(n));
                for v in &l.validity {
                    let _ = writeln!(o, "    {v}");
                }
            }
        }
        let f = &d.findings;
        let _ = writeln!(
            o,
            "\nsecurity findings: {} new, {} fixed, {} not re-examined, {} unchanged",
            f.new.len(),
            f.fixed.len(),
            f.not_reexamined.len(),
            f.unchanged
        );
        for (label, list) in [("new", &f.new), ("fixed", &f.fixed), ("not re-examined", &f.not_reexamined)] {
            for c in list {
                let status = c.rule_status_other_run.as_deref().map(|s| format!(" [rule {s} in the {} run]", if label == "new" { "earlier" } else { "later" })).unwrap_or_default();
                let _ = writeln!(o, "  {label:<15} {} {}: {}{status}", c.finding.rule, c.finding.subject, c.finding.message);
            }
        }
        o
    }
}
