-- aite history, schema version 1: one row per evidence package and what it measured.
-- Portable SQL: the same file runs on SQLite and PostgreSQL. Types: TEXT, INTEGER,
-- BIGINT, DOUBLE PRECISION; booleans are INTEGER 0/1; timestamps are ISO-8601 TEXT
-- (UTC, as results.json writes them); keys are TEXT (a run id is a prefix of the
-- package's manifest digest), so there is no AUTOINCREMENT or SERIAL.

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    manifest_sha256 TEXT NOT NULL UNIQUE,
    package_path TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    command TEXT,
    status TEXT,
    started_at TEXT,
    finished_at TEXT,
    tool_version TEXT,
    tool_commit TEXT,
    terminal_manufacturer TEXT,
    terminal_model TEXT,
    terminal_hardware_revision TEXT,
    terminal_serial TEXT,
    terminal_firmware_version TEXT,
    firmware_name TEXT,
    firmware_sha256 TEXT,
    engine TEXT,
    engine_version TEXT,
    has_assessment INTEGER NOT NULL,
    profile_id TEXT,
    profile_version TEXT,
    profile_sha256 TEXT,
    overall_verdict TEXT
);

-- results.json `inputs[]`: models, datasets, firmware, keys, feeds, with their SHA-256.
CREATE TABLE run_inputs (
    run_id TEXT NOT NULL REFERENCES runs (id),
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    item_count BIGINT,
    PRIMARY KEY (run_id, position)
);

-- manifest.json: every file of the package and its SHA-256 when it was recorded.
CREATE TABLE run_files (
    run_id TEXT NOT NULL REFERENCES runs (id),
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);

-- assessment.json `requirements[]`.
CREATE TABLE verdicts (
    run_id TEXT NOT NULL REFERENCES runs (id),
    requirement_id TEXT NOT NULL,
    title TEXT,
    item TEXT,
    verdict TEXT NOT NULL,
    reason TEXT,
    value DOUBLE PRECISION,
    interval_low DOUBLE PRECISION,
    interval_high DOUBLE PRECISION,
    interval_method TEXT,
    threshold DOUBLE PRECISION,
    comparator TEXT,
    unit TEXT,
    decision TEXT,
    note TEXT,
    PRIMARY KEY (run_id, requirement_id)
);

-- Key metrics: kind `proportion` (value, successes, trials, Wilson interval),
-- `latency-ms` (a LoadGen percentile; samples_file names the raw CSV) or
-- `flag` (flag = 0/1, e.g. a latency run's LoadGen validity).
CREATE TABLE metrics (
    run_id TEXT NOT NULL REFERENCES runs (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    value DOUBLE PRECISION,
    successes BIGINT,
    trials BIGINT,
    ci95_low DOUBLE PRECISION,
    ci95_high DOUBLE PRECISION,
    flag INTEGER,
    samples_file TEXT,
    PRIMARY KEY (run_id, name)
);

-- `suites.security.findings` that failed: rule, subject (path inside the image,
-- `(image)` for image-wide ones), severity and message.
CREATE TABLE findings (
    run_id TEXT NOT NULL REFERENCES runs (id),
    position INTEGER NOT NULL,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);

-- `suites.security.rules`: each rule's status (pass, fail, notApplicable, notChecked),
-- so a finding that disappears is called fixed only where the rule was examined.
CREATE TABLE security_rules (
    run_id TEXT NOT NULL REFERENCES runs (id),
    rule TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (run_id, rule)
);

CREATE INDEX runs_terminal ON runs (terminal_manufacturer, terminal_model, terminal_serial);
