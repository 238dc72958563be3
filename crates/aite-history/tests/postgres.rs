//! The migrations on a real PostgreSQL: the schema is written in the subset both
//! engines accept, so the PostgreSQL back end applies the same files. The test starts
//! a throwaway server (initdb in a temp dir, 127.0.0.1 and a Unix socket, see `pg`) and
//! skips with a message when PostgreSQL is not installed (`apt-get install -y
//! postgresql`); with AITE_REQUIRE_PEERS=1 a missing PostgreSQL fails the test.

mod pg;

use pg::{ok, PgServer};

#[test]
fn migrations_apply_on_postgresql() {
    let Some(server) = PgServer::start() else { return };
    let psql = |sql: &str| server.psql("postgres", sql);

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
