//! The migrations on a real PostgreSQL: the schema is written in the subset both
//! engines accept, so the later PostgreSQL back end applies the same files. The test
//! starts a throwaway server (initdb in a temp dir, Unix socket only, no TCP port) and
//! skips with a message when PostgreSQL is not installed (`apt-get install -y
//! postgresql`); with AITE_REQUIRE_PEERS=1 a missing PostgreSQL fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").exists()).collect();
    dirs.sort();
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Run a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn pg(bin: &Path, tool: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    };
    cmd.args(args).output().unwrap_or_else(|e| panic!("{tool}: {e}"))
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Server {
    bin: PathBuf,
    data: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = pg(&self.bin, "pg_ctl", &["-D", &self.data, "-m", "immediate", "-w", "stop"]);
    }
}

#[test]
fn migrations_apply_on_postgresql() {
    let Some(bin) = pg_bin() else {
        if std::env::var_os("AITE_REQUIRE_PEERS").is_some_and(|v| v == "1") {
            panic!("PostgreSQL is not installed (apt-get install -y postgresql) and AITE_REQUIRE_PEERS=1");
        }
        eprintln!("skipped: PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); apt-get install -y postgresql");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap().to_string();
    if is_root() {
        ok(Command::new("chown").args(["-R", "postgres:postgres", &dir]).output().unwrap(), "chown");
    }
    let data = format!("{dir}/data");
    ok(pg(&bin, "initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]), "initdb");
    let opts = format!("-c listen_addresses= -k {dir} -c fsync=off");
    ok(pg(&bin, "pg_ctl", &["-D", &data, "-l", &format!("{dir}/pg.log"), "-w", "-t", "60", "-o", &opts, "start"]), "pg_ctl start");
    let _server = Server { bin: bin.clone(), data };
    let psql = |sql: &str| pg(&bin, "psql", &["-h", &dir, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql]);

    ok(psql(aite_history::schema::BOOKKEEPING), "schema_migrations");
    for m in aite_history::schema::MIGRATIONS {
        ok(psql(m.sql), &format!("migration {} ({})", m.version, m.name));
        ok(psql(&format!("INSERT INTO schema_migrations (version, name, applied_at) VALUES ({}, '{}', '2026-01-01T00:00:00Z')", m.version, m.name)), "bookkeeping row");
    }
    // Rows of every type the recorder writes, twice: the second insert changes nothing.
    for _ in 0..2 {
        ok(
            psql(
                "INSERT INTO runs (id, manifest_sha256, package_path, recorded_at, has_assessment, overall_verdict) \
                 VALUES ('0123456789ab', 'abc', '/runs/a', '2026-01-01T00:00:00Z', 1, 'PASS') ON CONFLICT (id) DO NOTHING",
            ),
            "insert run",
        );
        ok(
            psql(
                "INSERT INTO metrics (run_id, name, kind, value, successes, trials, ci95_low, ci95_high, flag, samples_file) \
                 VALUES ('0123456789ab', 'accuracy.top1', 'proportion', 0.9333333333333333, 280, 300, 0.9, 0.95, NULL, NULL) ON CONFLICT (run_id, name) DO NOTHING",
            ),
            "insert metric",
        );
        ok(psql("INSERT INTO security_rules (run_id, rule, status) VALUES ('0123456789ab', 'AITE-KEY-WEAK', 'pass') ON CONFLICT (run_id, rule) DO NOTHING"), "insert rule");
    }
    assert_eq!(ok(psql("SELECT COUNT(*) FROM runs"), "count").trim(), "1");
    assert_eq!(ok(psql("SELECT value * trials FROM metrics"), "metric").trim(), "280");
    let tables = ok(psql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'"), "tables");
    assert_eq!(tables.trim(), "findings,metrics,run_files,run_inputs,runs,schema_migrations,security_rules,verdicts");
    // A foreign key holds there too.
    let orphan = psql("INSERT INTO findings (run_id, position, rule, subject, message) VALUES ('nope', 0, 'r', 's', 'm')");
    assert!(!orphan.status.success(), "a finding of no run must be refused");
}
