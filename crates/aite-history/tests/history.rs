//! History and release diff on hand-built evidence packages with known numbers.

#[cfg(feature = "postgres")]
mod pg;

use aite_history::{History, HistoryError, LatencyInterval, ProportionTest, Verdict};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What a fixture package holds.
struct Spec {
    serial: &'static str,
    model_sha: &'static str,
    top1: (u64, u64),
    latency_ns: Vec<u64>,
    periodic_ns: Vec<u64>,
    verdicts: Vec<(&'static str, &'static str)>,
    /// Rule, path, message and key (`None`: the rule reports one finding per path).
    findings: Vec<(&'static str, &'static str, &'static str, Option<&'static str>)>,
    rules: Vec<(&'static str, &'static str)>,
    /// LoadGen validity of the single-stream latency run.
    latency_valid: bool,
}

/// LoadGen's percentile, x[floor(n p)] of the sorted samples, in ms.
fn loadgen_ms(samples: &[u64], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_unstable();
    s[((s.len() as f64 * p).floor() as usize).min(s.len() - 1)] as f64 / 1e6
}

fn summary(samples: &[u64]) -> Value {
    json!({ "count": samples.len(), "p50_ms": loadgen_ms(samples, 0.5), "p90_ms": loadgen_ms(samples, 0.9), "p99_ms": loadgen_ms(samples, 0.99) })
}

fn csv(samples: &[u64]) -> String {
    let mut s = String::from("index,sample,scheduled_ns,issued_ns,completed_ns,latency_ns,decode_ns,preprocess_ns,inference_ns,postprocess_ns,after_idle\n");
    for (i, v) in samples.iter().enumerate() {
        s.push_str(&format!("{i},0,0,0,{v},{v},0,0,{v},0,false\n"));
    }
    s
}

/// Write a finished package (every file listed in manifest.json with its SHA-256).
fn package(root: &Path, name: &str, spec: &Spec) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let results = json!({
        "schema": "aite.results/v1",
        "tool": { "name": "aite", "version": "0.1.0", "commit": "abc" },
        "command": "run",
        "started_at": format!("2026-0{}-01T10:00:00Z", if name.ends_with('a') { 1 } else { 2 }),
        "finished_at": "2026-01-01T10:05:00Z",
        "status": "complete",
        "target": { "engine": "tract", "engine_version": "0.23" },
        "inputs": [
            { "role": "model", "name": "detector.onnx", "sha256": spec.model_sha },
            { "role": "firmware", "name": "fw.squashfs", "sha256": "f".repeat(64) },
        ],
        "declared": { "terminal": { "manufacturer": "Acme", "model": "Cam-1", "serial": spec.serial } },
        "suites": {
            "accuracy": { "top1": { "successes": spec.top1.0, "trials": spec.top1.1, "value": spec.top1.0 as f64 / spec.top1.1 as f64 } },
            "latency": { "latency": summary(&spec.latency_ns), "validity": { "valid": spec.latency_valid, "reasons": [] } },
            "latency_periodic": { "latency": summary(&spec.periodic_ns), "validity": { "valid": true, "reasons": [] } },
            "security": {
                "findings": spec.findings.iter().map(|(rule, path, message, key)| json!({ "rule": rule, "path": path, "message": message, "severity": "high", "status": "fail", "key": key })).collect::<Vec<_>>(),
                "rules": spec.rules.iter().map(|(rule, status)| json!({ "rule": rule, "status": status })).collect::<Vec<_>>(),
            },
        },
    });
    let assessment = json!({
        "schema": "aite.assessment/v1",
        "profile": "ai-camera",
        "profile_version": "1",
        "profile_sha256": "a".repeat(64),
        "requirements": spec.verdicts.iter().map(|(id, v)| json!({ "id": id, "title": format!("title of {id}"), "item": "robustness", "verdict": v, "value": 0.9, "threshold": 0.9 })).collect::<Vec<_>>(),
        "overall": if spec.verdicts.iter().any(|(_, v)| *v == "FAIL") { "FAIL" } else { "PASS" },
    });
    let files = [
        ("results.json", serde_json::to_string_pretty(&results).unwrap()),
        ("assessment.json", serde_json::to_string_pretty(&assessment).unwrap()),
        ("latency-samples.csv", csv(&spec.latency_ns)),
        ("latency-periodic-samples.csv", csv(&spec.periodic_ns)),
    ];
    let mut manifest = serde_json::Map::new();
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
        manifest.insert(name.to_string(), json!(hex::encode(Sha256::digest(text.as_bytes()))));
    }
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&json!({ "files": manifest })).unwrap()).unwrap();
    dir
}

/// 400 latencies around 1 ms, spread deterministically over ±0.2 ms.
fn base_samples(offset_ns: u64) -> Vec<u64> {
    (0..400u64).map(|i| 800_000 + (i * 7919) % 400_000 + offset_ns).collect()
}

fn spec_a() -> Spec {
    Spec {
        serial: "SN-1",
        model_sha: "1111111111111111111111111111111111111111111111111111111111111111",
        top1: (280, 300),
        latency_ns: base_samples(0),
        periodic_ns: base_samples(0),
        verdicts: vec![("ROB-ACC", "PASS"), ("LAT-P99", "PASS"), ("SEC-CRED", "FAIL")],
        findings: vec![
            ("AITE-CRED-DEFAULT", "etc/shadow", "account `admin` uses the well-known password `admin`", Some("admin")),
            ("AITE-KEY-WEAK", "etc/ssl/private/web.key", "rsa 1024 bits", None),
            ("AITE-VULN-KNOWN", "usr/lib/libssl.so.1.1", "CVE-2023-0001", Some("openssl CVE-2023-0001")),
        ],
        rules: vec![("AITE-CRED-DEFAULT", "fail"), ("AITE-KEY-WEAK", "fail"), ("AITE-VULN-KNOWN", "fail"), ("AITE-FS-SETUID", "pass")],
        latency_valid: true,
    }
}

/// The next release: accuracy down, single-stream latency 0.5 ms slower, periodic
/// unchanged, the weak key fixed, a setuid helper new, the vulnerability rule not checked.
fn spec_b() -> Spec {
    Spec {
        serial: "SN-1",
        model_sha: "2222222222222222222222222222222222222222222222222222222222222222",
        top1: (260, 300),
        latency_ns: base_samples(500_000),
        periodic_ns: base_samples(0),
        verdicts: vec![("ROB-ACC", "FAIL"), ("LAT-P99", "PASS"), ("SEC-CRED", "FAIL")],
        findings: vec![
            ("AITE-CRED-DEFAULT", "etc/shadow", "account `admin` uses the well-known password `admin`", Some("admin")),
            ("AITE-FS-SETUID", "usr/sbin/update-helper", "setuid", None),
        ],
        rules: vec![("AITE-CRED-DEFAULT", "fail"), ("AITE-KEY-WEAK", "pass"), ("AITE-VULN-KNOWN", "notChecked"), ("AITE-FS-SETUID", "fail")],
        latency_valid: true,
    }
}

fn count(db: &Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn migrations_apply_on_an_empty_database_and_are_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nested/folder/history.sqlite3");
    let h = History::open(&db).unwrap();
    assert_eq!(h.schema_version().unwrap(), aite_history::schema::SCHEMA_VERSION);
    drop(h);
    let h = History::open(&db).unwrap();
    assert_eq!(h.schema_version().unwrap(), aite_history::schema::SCHEMA_VERSION);
    drop(h);
    assert_eq!(count(&db, "schema_migrations"), aite_history::schema::MIGRATIONS.len() as i64);
    let c = rusqlite::Connection::open(&db).unwrap();
    let user_version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(user_version, aite_history::schema::SCHEMA_VERSION);
    for table in ["runs", "run_inputs", "run_files", "verdicts", "metrics", "findings", "security_rules"] {
        assert_eq!(count(&db, table), 0, "{table}");
    }
}

#[test]
fn a_newer_schema_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.sqlite3");
    drop(History::open(&db).unwrap());
    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = History::open(&db).unwrap_err();
    assert!(matches!(err, HistoryError::NewerSchema { found: 99, .. }), "{err}");
    assert!(err.to_string().contains(&db.display().to_string()), "{err}");
}

#[test]
fn a_corrupt_database_file_is_a_clear_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite3");
    std::fs::write(&db, "this is not an SQLite database, just text. ".repeat(200)).unwrap();
    let err = History::open(&db).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&db.display().to_string()) && text.contains("not a database"), "{text}");
}

#[test]
fn recording_the_same_package_twice_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.sqlite3");
    let a = package(tmp.path(), "run-a", &spec_a());
    let mut h = History::open(&db).unwrap();
    let id = h.record_package(&a).unwrap();
    let tables = ["runs", "run_inputs", "run_files", "verdicts", "metrics", "findings", "security_rules"];
    let before: Vec<i64> = tables.iter().map(|t| count(&db, t)).collect();
    assert_eq!(before, vec![1, 2, 4, 3, 9, 3, 4], "rows per table {tables:?}");
    assert_eq!(h.record_package(&a).unwrap(), id);
    assert_eq!(tables.iter().map(|t| count(&db, t)).collect::<Vec<_>>(), before);
    // The id is the manifest digest's first 12 hex digits.
    let digest = hex::encode(Sha256::digest(std::fs::read(a.join("manifest.json")).unwrap()));
    assert_eq!(id.0, digest[..12]);

    let run = h.run(&id).unwrap();
    assert_eq!(run.terminal.serial.as_deref(), Some("SN-1"));
    assert_eq!(run.firmware.as_ref().map(|f| f.name.as_str()), Some("fw.squashfs"));
    assert_eq!(run.profile_sha256.as_deref(), Some("a".repeat(64).as_str()));
    assert_eq!(run.overall_verdict, Some(Verdict::Fail));
    assert_eq!(run.manifest_sha256, digest);
}

#[test]
fn diff_of_two_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let a = h.record_package(&package(tmp.path(), "run-a", &spec_a())).unwrap();
    let b = h.record_package(&package(tmp.path(), "run-b", &spec_b())).unwrap();
    let d = h.diff(&a, &b).unwrap();

    // Verdicts: ROB-ACC went PASS -> FAIL; two unchanged.
    assert_eq!(d.verdict_changes.len(), 1);
    let c = &d.verdict_changes[0];
    assert_eq!((c.id.as_str(), c.before, c.after), ("ROB-ACC", Some(Verdict::Pass), Some(Verdict::Fail)));
    assert_eq!(d.verdicts_unchanged, 2);

    // Inputs: the model's digest changed, the firmware's did not.
    assert_eq!(d.inputs.len(), 1);
    assert_eq!(d.inputs[0].name, "detector.onnx");

    // Accuracy 280/300 -> 260/300: z = -2.721655, p = 0.0064956 by hand (see stats.rs).
    let acc = d.accuracy.iter().find(|p| p.metric == "accuracy.top1").unwrap();
    assert!((acc.delta.unwrap() - (-20.0 / 300.0)).abs() < 1e-12);
    match acc.test {
        ProportionTest::TwoProportionZ { z, p_value, significant_at_5pct } => {
            assert!((z - (-2.721655269759086)).abs() < 1e-9, "z = {z}");
            assert!((p_value - 0.006495586257179047).abs() < 1e-9, "p = {p_value}");
            assert!(significant_at_5pct);
        }
        ref other => panic!("{other:?}"),
    }
    assert!(acc.test.statement().starts_with("significant at 5%"), "{}", acc.test.statement());

    // Latency: single-stream shifted by exactly 0.5 ms at every percentile, interval excludes 0.
    let p99 = d.latency.iter().find(|l| l.metric == "latency.p99_ms").unwrap();
    assert!((p99.delta_ms.unwrap() - 0.5).abs() < 1e-9, "{p99:?}");
    match p99.interval {
        LatencyInterval::Bootstrap { low_ms, high_ms, significant_at_5pct, samples_before: 400, samples_after: 400, resamples: 2000, .. } => {
            assert!(low_ms > 0.0 && high_ms >= 0.5 && significant_at_5pct, "{:?}", p99.interval);
        }
        ref other => panic!("{other:?}"),
    }
    // Periodic: the same samples, so every interval includes 0.
    for l in d.latency.iter().filter(|l| l.suite == "latency_periodic") {
        match l.interval {
            LatencyInterval::Bootstrap { low_ms, high_ms, significant_at_5pct, .. } => {
                assert!(low_ms <= 0.0 && high_ms >= 0.0 && !significant_at_5pct, "{}: {:?}", l.metric, l.interval)
            }
            ref other => panic!("{}: {other:?}", l.metric),
        }
    }
    assert_eq!(d.latency.len(), 6);

    // Findings: the weak key fixed (rule examined, passes), the setuid helper new, the
    // vulnerability not re-examined (notChecked), the default password unchanged.
    let rules = |v: &[aite_history::FindingChange]| v.iter().map(|c| c.finding.rule.clone()).collect::<Vec<_>>();
    assert_eq!(rules(&d.findings.fixed), ["AITE-KEY-WEAK"]);
    assert_eq!(rules(&d.findings.new), ["AITE-FS-SETUID"]);
    assert_eq!(d.findings.new[0].rule_status_other_run.as_deref(), Some("pass"));
    assert_eq!(rules(&d.findings.not_reexamined), ["AITE-VULN-KNOWN"]);
    assert_eq!(d.findings.not_reexamined[0].rule_status_other_run.as_deref(), Some("notChecked"));
    assert_eq!(d.findings.unchanged, 1);
    assert!(d.notes.is_empty(), "{:?}", d.notes);

    // The reverse diff swaps new and fixed and flips the sign of z.
    let r = h.diff(&b, &a).unwrap();
    assert_eq!(rules(&r.findings.new), ["AITE-KEY-WEAK", "AITE-VULN-KNOWN"]);
    assert_eq!(rules(&r.findings.fixed), ["AITE-FS-SETUID"]);
}

#[test]
fn raw_samples_gone_or_changed_give_no_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let dir_a = package(tmp.path(), "run-a", &spec_a());
    let dir_b = package(tmp.path(), "run-b", &spec_b());
    let a = h.record_package(&dir_a).unwrap();
    let b = h.record_package(&dir_b).unwrap();
    std::fs::remove_dir_all(&dir_b).unwrap();
    // A changed CSV in A is not the evidence any more.
    let mut text = std::fs::read_to_string(dir_a.join("latency-periodic-samples.csv")).unwrap();
    text.push_str("400,0,0,0,1,1,0,0,1,0,false\n");
    std::fs::write(dir_a.join("latency-periodic-samples.csv"), text).unwrap();
    let d = h.diff(&a, &b).unwrap();
    for l in &d.latency {
        let LatencyInterval::RawSamplesUnavailable { why } = &l.interval else { panic!("{}: {:?}", l.metric, l.interval) };
        let expect = if l.suite == "latency" { "gone" } else { "changed since it was recorded" };
        assert!(why.contains(expect), "{}: {why}", l.metric);
        assert!(l.interval.statement().starts_with("raw samples unavailable"));
    }
    // The point deltas stay: they come from results.json, recorded in the database.
    let p99 = d.latency.iter().find(|l| l.metric == "latency.p99_ms").unwrap();
    assert!((p99.delta_ms.unwrap() - 0.5).abs() < 1e-9);
}

#[test]
fn samples_that_do_not_reproduce_the_result_give_no_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let mut spec = spec_b();
    let a = h.record_package(&package(tmp.path(), "run-a", &spec_a())).unwrap();
    // results.json says one thing, the CSV (consistent with the manifest) another.
    spec.latency_ns = base_samples(500_000);
    let dir = package(tmp.path(), "run-b", &spec);
    let other = csv(&base_samples(900_000));
    std::fs::write(dir.join("latency-samples.csv"), &other).unwrap();
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["files"]["latency-samples.csv"] = json!(hex::encode(Sha256::digest(other.as_bytes())));
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let b = h.record_package(&dir).unwrap();
    let d = h.diff(&a, &b).unwrap();
    let p50 = d.latency.iter().find(|l| l.metric == "latency.p50_ms").unwrap();
    let LatencyInterval::RawSamplesUnavailable { why } = &p50.interval else { panic!("{:?}", p50.interval) };
    assert!(why.contains("not the samples of this result"), "{why}");
}

#[test]
fn runs_are_filtered_by_terminal_and_resolved_by_prefix_or_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let dir_a = package(tmp.path(), "run-a", &spec_a());
    let a = h.record_package(&dir_a).unwrap();
    let mut other = spec_b();
    other.serial = "SN-77";
    let b = h.record_package(&package(tmp.path(), "run-b", &other)).unwrap();
    assert_eq!(h.runs(None).unwrap().iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [a.clone(), b.clone()]);
    assert_eq!(h.runs(Some("sn-77")).unwrap().iter().map(|r| r.id.clone()).collect::<Vec<_>>(), std::slice::from_ref(&b));
    assert_eq!(h.runs(Some("acme cam-1")).unwrap().len(), 2);
    assert!(h.runs(Some("Globex")).unwrap().is_empty());
    assert_eq!(h.resolve(&a.0[..6]).unwrap(), a);
    assert_eq!(h.resolve(dir_a.to_str().unwrap()).unwrap(), a);
    let err = h.resolve("ffffffffffff").unwrap_err().to_string();
    assert!(err.contains("no run `ffffffffffff`"), "{err}");
    // A folder not yet recorded is recorded when named.
    let dir_c = package(tmp.path(), "run-c", &Spec { serial: "SN-9", ..spec_a() });
    let c = h.resolve(dir_c.to_str().unwrap()).unwrap();
    assert_eq!(h.run(&c).unwrap().terminal.serial.as_deref(), Some("SN-9"));
    let d = h.diff(&a, &b).unwrap();
    assert!(d.notes.iter().any(|n| n.contains("different terminals")), "{:?}", d.notes);
}

#[test]
fn a_package_that_changed_after_it_was_written_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let dir = package(tmp.path(), "run-a", &spec_a());
    let results = dir.join("results.json");
    let text = std::fs::read_to_string(&results).unwrap().replace("\"SN-1\"", "\"SN-2\"");
    std::fs::write(&results, text).unwrap();
    let err = h.record_package(&dir).unwrap_err().to_string();
    assert!(err.contains(&results.display().to_string()) && err.contains("differs from manifest.json"), "{err}");

    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let err = h.record_package(&dir).unwrap_err().to_string();
    assert!(err.contains("manifest.json") && err.contains("finished evidence package"), "{err}");
    let err = h.record_package(&tmp.path().join("missing")).unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains("not a folder"), "{err}");
    assert_eq!(count(&tmp.path().join("h.sqlite3"), "runs"), 0);
}

/// assessment.json as aite-assessment serialises it (verdict tag flattened, `why`, `interval`).
#[test]
fn reads_the_assessment_crates_own_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = package(tmp.path(), "run-a", &spec_a());
    let results: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let profile = aite_assessment::shipped("ai-camera").unwrap();
    let assessment = aite_assessment::assess(&profile, &results);
    let text = serde_json::to_string_pretty(&assessment).unwrap();
    std::fs::write(dir.join("assessment.json"), &text).unwrap();
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["files"]["assessment.json"] = json!(hex::encode(Sha256::digest(text.as_bytes())));
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();

    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let id = h.record_package(&dir).unwrap();
    let verdicts = h.verdicts(&id).unwrap();
    assert_eq!(verdicts.len(), assessment.requirements.len());
    for r in &assessment.requirements {
        let v = verdicts.iter().find(|v| v.id == r.id).unwrap();
        assert_eq!(v.verdict.label(), r.verdict.label(), "{}", r.id);
        assert_eq!(v.value, r.value.filter(|x| x.is_finite()), "{}", r.id);
        assert_eq!(v.interval_low, r.interval.as_ref().and_then(|i| i.low).filter(|x| x.is_finite()), "{}", r.id);
    }
    assert!(verdicts.iter().any(|v| v.reason.is_some()), "a NOT_TESTED or NOT_APPLICABLE keeps its why");
    let run = h.run(&id).unwrap();
    assert_eq!(run.profile_id.as_deref(), Some("ai-camera"));
    assert_eq!(run.overall_verdict.map(|v| v.label()), serde_json::to_value(assessment.overall).unwrap().as_str());
}

/// Every metric kind serialises (serde's internally tagged enums refuse bare newtype values).
#[test]
fn metrics_serialise_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let id = h.record_package(&package(tmp.path(), "run-a", &spec_a())).unwrap();
    let metrics = h.metrics(&id).unwrap();
    let v = serde_json::to_value(&metrics).unwrap();
    let valid = v.as_array().unwrap().iter().find(|m| m["name"] == "latency.valid").unwrap();
    assert_eq!(valid["value"], json!({ "kind": "flag", "value": true }));
    let top1 = v.as_array().unwrap().iter().find(|m| m["name"] == "accuracy.top1").unwrap();
    assert_eq!((top1["value"]["kind"].as_str(), top1["value"]["successes"].as_u64()), (Some("proportion"), Some(280)));
    assert!(serde_json::to_string(&h.runs(None).unwrap()).is_ok());
}

/// A latency run that LoadGen calls INVALID is named beside its deltas.
#[test]
fn an_invalid_latency_run_is_named_in_the_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let a = h.record_package(&package(tmp.path(), "run-a", &spec_a())).unwrap();
    let b = h.record_package(&package(tmp.path(), "run-b", &Spec { latency_valid: false, ..spec_b() })).unwrap();
    let d = h.diff(&a, &b).unwrap();
    for l in &d.latency {
        if l.suite == "latency" {
            assert_eq!(l.validity.len(), 1, "{}", l.metric);
            assert!(l.validity[0].contains(&format!("run {b}'s latency run is INVALID")), "{:?}", l.validity);
        } else {
            assert!(l.validity.is_empty(), "{}: {:?}", l.metric, l.validity);
        }
    }
}

/// Two processes opening a new database at once (two `aite run`s): both migrate it
/// without one failing on the other's tables.
#[test]
fn concurrent_first_opens_both_succeed() {
    for round in 0..20 {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.sqlite3");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (db, barrier) = (db.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    History::open(&db).map(|h| h.schema_version().unwrap())
                })
            })
            .collect();
        for h in handles {
            let v = h.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(v, aite_history::schema::SCHEMA_VERSION);
        }
        assert_eq!(count(&db, "schema_migrations"), aite_history::schema::MIGRATIONS.len() as i64);
    }
}

/// Replace `name` in the package and its digest in manifest.json.
fn rewrite(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["files"][name] = json!(hex::encode(Sha256::digest(text.as_bytes())));
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

/// Strings from the package are shortened by characters, never sliced mid-character.
#[test]
fn odd_digests_in_a_package_do_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let a = h.record_package(&package(tmp.path(), "run-a", &spec_a())).unwrap();
    let dir = package(tmp.path(), "run-b", &spec_b());
    let text = std::fs::read_to_string(dir.join("assessment.json")).unwrap().replace(&"a".repeat(64), "aééééééééé");
    rewrite(&dir, "assessment.json", &text);
    let b = h.record_package(&dir).unwrap();
    let d = h.diff(&a, &b).unwrap();
    assert!(d.notes.iter().any(|n| n.contains("different profiles") && n.contains("(sha256 aééééééééé)")), "{:?}", d.notes);
}

/// A results.json that is not aite's is refused, naming it; odd shapes inside aite's are tolerated.
#[test]
fn foreign_or_odd_results_are_handled_without_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let dir = package(tmp.path(), "run-a", &spec_a());
    rewrite(&dir, "results.json", "[1, 2, 3]");
    let err = h.record_package(&dir).unwrap_err().to_string();
    assert!(err.contains("results.json") && err.contains("not an aite results.json (schema missing)"), "{err}");
    rewrite(&dir, "results.json", r#"{"schema": "aite.results/v1", "suites": 5, "inputs": {"x": 1}, "declared": {"terminal": [1]}}"#);
    rewrite(&dir, "assessment.json", r#"{"requirements": {"not": "a list"}}"#);
    let id = h.record_package(&dir).unwrap();
    assert!(h.metrics(&id).unwrap().is_empty() && h.verdicts(&id).unwrap().is_empty());
    assert_eq!(h.run(&id).unwrap().terminal.label(), "undeclared");
    rewrite(&dir, "assessment.json", r#"{"requirements": [{"id": "X", "verdict": "MAYBE"}]}"#);
    let err = h.record_package(&dir).unwrap_err().to_string();
    assert!(err.contains("assessment.json") && err.contains("unknown verdict `MAYBE`"), "{err}");
}

/// A rule that fails elsewhere on a scan that did not examine everything has not
/// re-examined the earlier finding: it is not called fixed.
#[test]
fn a_failing_rule_on_an_incomplete_scan_does_not_fix_a_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let a = h.record_package(&package(tmp.path(), "run-a", &spec_a())).unwrap();
    let mut spec = spec_b();
    // The weak web key is not among B's findings, but another key fails the rule.
    spec.findings.push(("AITE-KEY-WEAK", "etc/dropbear/host.key", "rsa 512 bits", None));
    spec.rules.retain(|(r, _)| *r != "AITE-KEY-WEAK");
    spec.rules.push(("AITE-KEY-WEAK", "fail"));
    let incomplete = |dir: &Path, edit: &dyn Fn(&mut Value)| {
        let mut res: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
        edit(&mut res["suites"]["security"]);
        rewrite(dir, "results.json", &serde_json::to_string_pretty(&res).unwrap());
    };
    // (1) the image was not wholly unpacked; (2) key files were present but not examined.
    let gaps = package(tmp.path(), "run-b1", &spec);
    incomplete(&gaps, &|s| s["gaps"] = json!(["squashfs at offset 4096: not understood"]));
    let skipped = package(tmp.path(), "run-b2", &spec);
    incomplete(&skipped, &|s| {
        for r in s["rules"].as_array_mut().unwrap() {
            if r["rule"] == "AITE-KEY-WEAK" {
                r["not_examined_count"] = json!(1);
            }
        }
    });
    for dir in [gaps, skipped] {
        let b = h.record_package(&dir).unwrap();
        let d = h.diff(&a, &b).unwrap();
        let rules = |v: &[aite_history::FindingChange]| v.iter().map(|c| c.finding.rule.clone()).collect::<Vec<_>>();
        assert!(!rules(&d.findings.fixed).contains(&"AITE-KEY-WEAK".to_string()), "{}: {:?}", dir.display(), d.findings.fixed);
        assert!(rules(&d.findings.not_reexamined).contains(&"AITE-KEY-WEAK".to_string()), "{}: {:?}", dir.display(), d.findings.not_reexamined);
    }
    // On a complete scan with every key examined, the same failure elsewhere does re-examine it.
    let complete = h.record_package(&package(tmp.path(), "run-b3", &spec)).unwrap();
    let d = h.diff(&a, &complete).unwrap();
    assert!(d.findings.fixed.iter().any(|c| c.finding.rule == "AITE-KEY-WEAK"), "{:?}", d.findings);
}

/// Issue: a finding was keyed by (rule, subject, message), so a message reworded by a new aite
/// release, or carrying a figure that moved, showed as one fixed and one new finding. Now rule,
/// subject and the finding's key (the account) follow it; a new account on the same rule and file
/// is still new. A run recorded without keys (older aite, or a database row from before schema
/// 3) is compared by message as before, with a note.
#[test]
fn a_reworded_finding_is_the_same_finding_and_a_new_account_is_new() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.sqlite3");
    let mut h = History::open(&db).unwrap();
    let mut before = spec_a();
    before.findings = vec![
        ("AITE-CRED-DEFAULT", "etc/shadow", "account `admin` uses the well-known password `admin` (md5-crypt)", Some("admin")),
        ("AITE-ELF-FORTIFY", "usr/bin/camd", "usr/bin/camd calls 12 functions the libc offers checked variants of, none fortified", None),
    ];
    let mut after = spec_a();
    after.findings = vec![
        ("AITE-CRED-DEFAULT", "etc/shadow", "account admin: well-known password admin, md5-crypt hash", Some("admin")),
        ("AITE-CRED-DEFAULT", "etc/shadow", "account root: well-known password xc3511, md5-crypt hash", Some("root")),
        ("AITE-ELF-FORTIFY", "usr/bin/camd", "usr/bin/camd calls 13 functions the libc offers checked variants of, none fortified", None),
    ];
    for spec in [&mut before, &mut after] {
        spec.rules.push(("AITE-ELF-FORTIFY", "fail"));
    }
    let (dir_a, dir_b) = (package(tmp.path(), "run-a", &before), package(tmp.path(), "run-b", &after));
    let (a, b) = (h.record_package(&dir_a).unwrap(), h.record_package(&dir_b).unwrap());
    let d = h.diff(&a, &b).unwrap();
    let keys = |v: &[aite_history::FindingChange]| v.iter().map(|c| (c.finding.rule.clone(), c.finding.key.clone())).collect::<Vec<_>>();
    assert_eq!(keys(&d.findings.new), [("AITE-CRED-DEFAULT".to_string(), aite_history::FindingKey::Named("root".into()))], "{:?}", d.findings);
    assert!(d.findings.fixed.is_empty() && d.findings.not_reexamined.is_empty(), "{:?}", d.findings);
    assert_eq!(d.findings.unchanged, 2);
    assert!(!d.notes.iter().any(|n| n.contains("compared by their messages")), "{:?}", d.notes);

    // The same runs from an aite that did not record keys: compared by message, said so.
    let strip = |dir: &Path| {
        let mut res: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
        for f in res["suites"]["security"]["findings"].as_array_mut().unwrap() {
            f.as_object_mut().unwrap().remove("key");
        }
        rewrite(dir, "results.json", &serde_json::to_string_pretty(&res).unwrap());
    };
    let (old_a, old_b) = (package(tmp.path(), "old-a", &before), package(tmp.path(), "old-b", &after));
    strip(&old_a);
    strip(&old_b);
    let (oa, ob) = (h.record_package(&old_a).unwrap(), h.record_package(&old_b).unwrap());
    let d = h.diff(&oa, &ob).unwrap();
    assert_eq!((d.findings.new.len(), d.findings.fixed.len(), d.findings.unchanged), (3, 2, 0), "{:?}", d.findings);
    assert!(d.findings.new.iter().all(|c| c.finding.key == aite_history::FindingKey::NotRecorded));
    assert!(d.notes.iter().any(|n| n.contains("compared by their messages") && n.contains(&oa.to_string()) && n.contains(&ob.to_string())), "{:?}", d.notes);

    // Rows recorded before schema 3 have no key column value: read, and compared by message.
    drop(h);
    rusqlite::Connection::open(&db).unwrap().execute("UPDATE findings SET finding_key = NULL", []).unwrap();
    let h = History::open(&db).unwrap();
    let d = h.diff(&a, &b).unwrap();
    assert_eq!((d.findings.new.len(), d.findings.fixed.len()), (3, 2), "{:?}", d.findings);
    assert!(d.notes.iter().any(|n| n.contains("compared by their messages")), "{:?}", d.notes);
}

/// A run that stopped part-way is compared only with that said.
#[test]
fn an_interrupted_run_is_named_in_the_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let a = h.record_package(&package(tmp.path(), "run-a", &spec_a())).unwrap();
    let dir = package(tmp.path(), "run-b", &spec_b());
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap().replace("\"status\": \"complete\"", "\"status\": \"interrupted\"");
    rewrite(&dir, "results.json", &text);
    let b = h.record_package(&dir).unwrap();
    let d = h.diff(&a, &b).unwrap();
    assert!(d.notes.iter().any(|n| n.contains("(after) ended interrupted")), "{:?}", d.notes);
    assert!(!d.notes.iter().any(|n| n.contains("(before) ended")), "{:?}", d.notes);
}

/// A scoped assessment (`--profile` on a single-suite command) is recorded with the
/// number of requirements it left out, so its verdict is never listed as the profile's.
#[test]
fn a_scoped_assessment_is_recorded_as_scoped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = package(tmp.path(), "run-a", &spec_a());
    let results: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let profile = aite_assessment::shipped("ai-camera").unwrap();
    let assessment = aite_assessment::assess_scoped(&profile, &results);
    assert!(!assessment.out_of_scope.is_empty());
    let text = serde_json::to_string_pretty(&assessment).unwrap();
    std::fs::write(dir.join("assessment.json"), &text).unwrap();
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["files"]["assessment.json"] = json!(hex::encode(Sha256::digest(text.as_bytes())));
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let id = h.record_package(&dir).unwrap();
    assert_eq!(h.run(&id).unwrap().out_of_scope, assessment.out_of_scope.len());
}

/// The same two packages recorded in SQLite and in a throwaway PostgreSQL give the same
/// runs and the same diffs both ways (only the time of recording differs).
#[cfg(feature = "postgres")]
#[test]
fn postgresql_back_end_answers_as_sqlite_does() {
    use aite_history::{Location, RunDiff, RunSummary};
    let Some(server) = pg::PgServer::start() else { return };
    server.create_database("aite");
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (package(tmp.path(), "run-a", &spec_a()), package(tmp.path(), "run-b", &spec_b()));
    let url = server.url("aite");
    let locations = [Location::Sqlite(tmp.path().join("h.sqlite3")), Location::parse(&url)];
    let strip = |mut r: RunSummary| {
        assert!(!r.recorded_at.is_empty());
        r.recorded_at.clear();
        r
    };
    let strip_diff = |mut d: RunDiff| {
        d.before = strip(d.before);
        d.after = strip(d.after);
        d
    };
    let mut answers = vec![];
    for location in &locations {
        let mut h = History::open_location(location).unwrap();
        assert_eq!(h.schema_version().unwrap(), aite_history::schema::SCHEMA_VERSION, "{location}");
        let a = h.record_package(&dir_a).unwrap();
        let b = h.record_package(&dir_b).unwrap();
        assert_eq!(h.record_package(&dir_a).unwrap(), a, "recording again gives the same id on {location}");
        drop(h);
        // Reopening applies nothing and finds the runs; ids by prefix resolve.
        let mut h = History::open_location(location).unwrap();
        assert_eq!(h.resolve(&a.0[..6]).unwrap(), a);
        let runs: Vec<RunSummary> = h.runs(None).unwrap().into_iter().map(strip).collect();
        assert_eq!(runs.len(), 2, "{location}");
        let forward = strip_diff(h.diff(&a, &b).unwrap());
        let backward = strip_diff(h.diff(&b, &a).unwrap());
        answers.push((runs, forward, backward, h.runs(Some("sn-1")).unwrap().len()));
    }
    let (sqlite, postgres) = (&answers[0], &answers[1]);
    assert_eq!(sqlite.0, postgres.0, "runs differ");
    assert_eq!(sqlite.1, postgres.1, "diff a->b differs");
    assert_eq!(sqlite.2, postgres.2, "diff b->a differs");
    assert_eq!(sqlite.3, postgres.3);
    // And they are the known diff, not two equal wrong ones.
    assert_eq!(postgres.1.verdict_changes.len(), 1);
    assert_eq!(postgres.1.findings.fixed[0].finding.rule, "AITE-KEY-WEAK");
    assert!(matches!(postgres.1.latency.iter().find(|l| l.metric == "latency.p99_ms").unwrap().interval, LatencyInterval::Bootstrap { significant_at_5pct: true, .. }));
    let rows = pg::ok(server.psql("aite", "SELECT COUNT(*) FROM runs"), "count");
    assert_eq!(rows.trim(), "2");
    let versions = pg::ok(server.psql("aite", "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"), "versions");
    assert_eq!(versions.trim(), (1..=aite_history::schema::SCHEMA_VERSION).map(|v| v.to_string()).collect::<Vec<_>>().join(","));
}

/// An unreachable server is an error naming the URL (without its password), not a panic.
#[cfg(feature = "postgres")]
#[test]
fn an_unreachable_postgresql_is_an_error_naming_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed once dropped
    let err = History::open_location(&aite_history::Location::parse(&format!("postgres://lab:s3cret@127.0.0.1:{port}/aite"))).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("history database postgres://lab:***@127.0.0.1:{port}/aite")), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[cfg(not(feature = "postgres"))]
#[test]
fn a_postgresql_url_without_the_feature_says_so() {
    let err = History::open_location(&aite_history::Location::parse("postgres://lab@127.0.0.1:5432/aite")).unwrap_err();
    assert!(err.to_string().contains("built without the PostgreSQL back end (feature `postgres`)"), "{err}");
}

/// A server that accepts the connection and never answers (a wrong service on the port,
/// a stalled proxy) is an error after the connect timeout, naming the URL, not a wait
/// for ever: the client's own `connect_timeout` bounds the socket, not the handshake.
#[cfg(feature = "postgres")]
#[test]
fn a_postgresql_that_accepts_and_never_answers_is_an_error_after_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection open, reading nothing.
    std::thread::spawn(move || {
        let mut held = vec![];
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let timeouts = aite_history::PgTimeouts { connect: std::time::Duration::from_millis(500), ..Default::default() };
    let location = aite_history::Location::parse(&format!("postgres://lab:s3cret@127.0.0.1:{port}/aite"));
    let text = History::open_location_with(&location, timeouts).unwrap_err().to_string();
    assert!(text.contains(&format!("history database postgres://lab:***@127.0.0.1:{port}/aite: no answer from the server within 0.5 s")), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

/// The history's advisory lock held by another session (a recorder that hangs) makes
/// opening (its migration check takes the lock) an error after `lock_timeout`.
#[cfg(feature = "postgres")]
#[test]
fn a_held_history_lock_on_postgresql_is_an_error_after_the_lock_timeout() {
    let Some(server) = pg::PgServer::start() else { return };
    server.create_database("aite");
    let url = server.url("aite");
    let mut holder = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    holder.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7019269473125888884)").unwrap(); // "aitehist"
    let timeouts = aite_history::PgTimeouts { lock: std::time::Duration::from_millis(300), ..Default::default() };
    let text = History::open_location_with(&aite_history::Location::parse(&url), timeouts).unwrap_err().to_string();
    assert!(text.contains("lock timeout"), "{text}");
    holder.batch_execute("ROLLBACK").unwrap();
    // Released, the same open succeeds.
    History::open_location_with(&aite_history::Location::parse(&url), timeouts).unwrap();
}

/// Write a package holding only `results` (as `aite probe` writes one: no assessment).
fn results_package(root: &Path, name: &str, results: &Value) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let text = serde_json::to_string_pretty(results).unwrap();
    std::fs::write(dir.join("results.json"), &text).unwrap();
    let manifest = json!({ "files": { "results.json": hex::encode(Sha256::digest(text.as_bytes())) } });
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    dir
}

fn probe_fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// (suite, rule, subject, key) of each change.
fn changes(v: &[aite_history::FindingChange]) -> Vec<(aite_history::FindingSuite, String, String, aite_history::FindingKey)> {
    v.iter().map(|c| (c.finding.suite, c.finding.rule.clone(), c.finding.subject.clone(), c.finding.key.clone())).collect()
}

/// Issue: the history recorded only `suites.security.findings`, so what `aite probe` found on a
/// running terminal never reached `aite diff`. Two probe packages (hand-written as aite probe
/// writes them, tests/fixtures/probe-release-{a,b}.json): release B opens port 23 with telnet and
/// no longer accepts TLS_RSA_WITH_RC4_128_SHA on 443, and its other messages carry other figures
/// (the SSH banner's version, the date a certificate was judged at). The diff is exactly those
/// three changes; a copy of A with every message reworded is no change at all.
#[test]
fn a_probes_findings_are_diffed_by_endpoint_and_key() {
    use aite_history::{FindingKey, FindingSuite::Network};
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let (ra, rb) = (probe_fixture("probe-release-a.json"), probe_fixture("probe-release-b.json"));
    let a = h.record_package(&results_package(tmp.path(), "probe-a", &ra)).unwrap();
    let b = h.record_package(&results_package(tmp.path(), "probe-b", &rb)).unwrap();
    let d = h.diff(&a, &b).unwrap();
    let n = |s: &str| s.to_string();
    assert_eq!(
        changes(&d.findings.new),
        [(Network, n("AITE-NET-UNDECLARED-PORT"), n("192.168.1.20:23/tcp"), FindingKey::Subject), (Network, n("AITE-NET-TELNET"), n("192.168.1.20:23/tcp"), FindingKey::Subject)],
        "{:#?}",
        d.findings
    );
    assert_eq!(d.findings.new[1].rule_status_other_run.as_deref(), Some("pass"), "telnet was examined in A and passed");
    assert_eq!(changes(&d.findings.fixed), [(Network, n("AITE-NET-TLS-WEAK-CIPHER"), n("192.168.1.20:443/tcp"), FindingKey::Named(n("TLS_RSA_WITH_RC4_128_SHA")))], "{:#?}", d.findings);
    assert!(d.findings.not_reexamined.is_empty(), "{:#?}", d.findings);
    // 3DES, CBC-SHA1, the expired certificate (judged on another date), SSH (another banner), RTSP admin.
    assert_eq!(d.findings.unchanged, 5, "{:#?}", d.findings);
    assert!(!d.notes.iter().any(|x| x.contains("compared by their messages")), "{:?}", d.notes);

    // Every message reworded (and reordered): nothing new, nothing fixed.
    let mut reworded = ra.clone();
    let list = reworded["suites"]["network"]["findings"].as_array_mut().unwrap();
    for f in list.iter_mut() {
        let m = f["message"].as_str().unwrap().to_uppercase();
        f["message"] = json!(format!("reworded: {m}"));
    }
    list.reverse();
    reworded["started_at"] = json!("2026-01-02T10:00:00Z");
    let r = h.record_package(&results_package(tmp.path(), "probe-a-reworded", &reworded)).unwrap();
    let d = h.diff(&a, &r).unwrap();
    assert!(d.findings.new.is_empty() && d.findings.fixed.is_empty() && d.findings.not_reexamined.is_empty(), "{:#?}", d.findings);
    assert_eq!(d.findings.unchanged, 6);
}

/// A run with both suites (`aite run` with the probe) keeps each finding's suite; the network
/// findings of a run without a probe are not called fixed (their rules were not examined).
#[test]
fn static_and_network_findings_are_kept_apart() {
    use aite_history::FindingSuite::{Network, Security};
    let tmp = tempfile::tempdir().unwrap();
    let mut h = History::open(&tmp.path().join("h.sqlite3")).unwrap();
    let mut both = probe_fixture("probe-release-a.json");
    both["suites"]["security"] = json!({
        "findings": [{ "rule": "AITE-CRED-DEFAULT", "path": "etc/shadow", "message": "account admin: password admin", "severity": "critical", "status": "fail", "key": "admin" }],
        "rules": [{ "rule": "AITE-CRED-DEFAULT", "status": "fail" }],
    });
    let mut static_only = both.clone();
    static_only["suites"].as_object_mut().unwrap().remove("network");
    static_only["started_at"] = json!("2026-02-01T10:00:00Z");
    let a = h.record_package(&results_package(tmp.path(), "run-a", &both)).unwrap();
    let b = h.record_package(&results_package(tmp.path(), "run-b", &static_only)).unwrap();
    let found = h.findings(&a).unwrap();
    assert_eq!(found.iter().filter(|f| f.suite == Security).count(), 1);
    assert_eq!(found.iter().filter(|f| f.suite == Network).count(), 6);
    assert_eq!(h.security_rules(&a).unwrap().get("AITE-NET-TLS-WEAK-CIPHER").map(String::as_str), Some("fail"));
    let d = h.diff(&a, &b).unwrap();
    assert!(d.findings.fixed.is_empty() && d.findings.new.is_empty(), "{:#?}", d.findings);
    assert_eq!(d.findings.not_reexamined.len(), 6);
    assert!(d.findings.not_reexamined.iter().all(|c| c.finding.suite == Network && c.rule_status_other_run.is_none()));
    assert_eq!(d.findings.unchanged, 1);
    // A probe that did not finish fails its rules incompletely: a finding gone there is not fixed.
    let mut partial = probe_fixture("probe-release-b.json");
    partial["suites"]["network"]["gaps"] = json!(["the total budget of 120 s was spent"]);
    let p = h.record_package(&results_package(tmp.path(), "probe-partial", &partial)).unwrap();
    let a2 = h.record_package(&results_package(tmp.path(), "probe-a", &probe_fixture("probe-release-a.json"))).unwrap();
    let d = h.diff(&a2, &p).unwrap();
    assert!(d.findings.fixed.is_empty(), "{:#?}", d.findings);
    assert_eq!(d.findings.not_reexamined.iter().map(|c| c.rule_status_other_run.as_deref()).collect::<Vec<_>>(), [Some("failIncomplete")]);
}

/// A database written at schema 3 (before findings had a suite) opens, migrates to 4, and its
/// findings read as the static scan's.
#[test]
fn a_schema_3_database_reads_its_findings_as_static() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.sqlite3");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(aite_history::schema::BOOKKEEPING).unwrap();
        for m in aite_history::schema::MIGRATIONS.iter().filter(|m| m.version <= 3) {
            c.execute_batch(m.sql).unwrap();
            c.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, '2026-01-01T00:00:00Z')", rusqlite::params![m.version, m.name]).unwrap();
        }
        c.pragma_update(None, "user_version", 3).unwrap();
        c.execute("INSERT INTO runs (id, manifest_sha256, package_path, recorded_at, has_assessment) VALUES ('0123456789ab', 'x', '/gone', '2026-01-01T00:00:00Z', 0)", []).unwrap();
        c.execute("INSERT INTO findings (run_id, position, rule, subject, severity, message, finding_key) VALUES ('0123456789ab', 0, 'AITE-CRED-DEFAULT', 'etc/shadow', 'critical', 'm', 'admin')", []).unwrap();
    }
    let h = History::open(&db).unwrap();
    let id = h.runs(None).unwrap().into_iter().next().unwrap().id;
    let f = h.findings(&id).unwrap();
    assert_eq!((f.len(), f[0].suite, f[0].key.clone()), (1, aite_history::FindingSuite::Security, aite_history::FindingKey::Named("admin".into())));
}

/// The probe's findings (migration 4's `suite` column) read back the same from PostgreSQL.
#[cfg(feature = "postgres")]
#[test]
fn a_probes_findings_diff_the_same_on_postgresql() {
    use aite_history::Location;
    let Some(server) = pg::PgServer::start() else { return };
    server.create_database("aite");
    let tmp = tempfile::tempdir().unwrap();
    let dirs = [results_package(tmp.path(), "probe-a", &probe_fixture("probe-release-a.json")), results_package(tmp.path(), "probe-b", &probe_fixture("probe-release-b.json"))];
    let mut answers = vec![];
    for location in [Location::Sqlite(tmp.path().join("h.sqlite3")), Location::parse(&server.url("aite"))] {
        let mut h = History::open_location(&location).unwrap();
        let (a, b) = (h.record_package(&dirs[0]).unwrap(), h.record_package(&dirs[1]).unwrap());
        let d = h.diff(&a, &b).unwrap();
        answers.push((h.findings(&b).unwrap(), h.security_rules(&b).unwrap(), d.findings));
    }
    assert_eq!(answers[0], answers[1]);
    let (findings, _, diff) = &answers[1];
    assert!(findings.iter().all(|f| f.suite == aite_history::FindingSuite::Network) && findings.len() == 7, "{findings:#?}");
    assert_eq!((diff.new.len(), diff.fixed.len(), diff.unchanged), (2, 1, 5));
}
