//! `aite history` and `aite diff` on recorded evidence packages (feature `history`),
//! and the message of a build without it.

mod common;
#[cfg(feature = "postgres")]
#[path = "../../aite-history/tests/pg/mod.rs"]
mod pg;

use common::{aite, run};

#[cfg(not(feature = "history"))]
#[test]
fn without_the_feature_history_and_diff_say_how_to_get_it() {
    for args in [vec!["history"], vec!["diff", "a", "b"], vec!["history", "record", "."]] {
        let r = run(aite().args(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("built without the `history` feature: cargo install --path crates/aite --features history"), "{}", r.stderr);
    }
}

#[cfg(feature = "history")]
mod with_history {
    use super::*;
    use serde_json::{json, Value};
    use std::path::{Path, PathBuf};

    /// A finished package: results.json, assessment.json, the latency CSV, and
    /// manifest.json written by the evidence crate's own `RunFolder::finish`.
    fn package(root: &Path, name: &str, serial: &str, top1: u64, latency_offset_ns: u64, verdict: &str, findings: &[(&str, &str)], rules: &[(&str, &str)]) -> PathBuf {
        let dir = root.join(name);
        let folder = aite_evidence::RunFolder::open(&dir).unwrap();
        let samples: Vec<u64> = (0..300u64).map(|i| 900_000 + (i * 7919) % 200_000 + latency_offset_ns).collect();
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        let at = |p: f64| sorted[((sorted.len() as f64 * p).floor() as usize).min(sorted.len() - 1)] as f64 / 1e6;
        let results = json!({
            "schema": "aite.results/v1", "tool": { "name": "aite", "version": "0.1.0", "commit": "abc" }, "command": "run",
            "started_at": format!("2026-01-0{}T10:00:00Z", if name.ends_with('a') { 1 } else { 2 }), "status": "complete",
            "target": { "engine": "tract" },
            "inputs": [{ "role": "firmware", "name": format!("{name}.squashfs"), "sha256": format!("{:064}", top1) }],
            "declared": { "terminal": { "manufacturer": "Acme", "model": "Cam-1", "serial": serial, "firmware_version": "1.0" } },
            "suites": {
                "accuracy": { "top1": { "successes": top1, "trials": 300, "value": top1 as f64 / 300.0 } },
                "latency": { "latency": { "count": 300, "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99) }, "validity": { "valid": true } },
                "security": {
                    "findings": findings.iter().map(|(rule, path)| json!({ "rule": rule, "path": path, "message": format!("{rule} on {path}"), "severity": "high", "status": "fail" })).collect::<Vec<_>>(),
                    "rules": rules.iter().map(|(rule, status)| json!({ "rule": rule, "status": status })).collect::<Vec<_>>(),
                },
            },
        });
        let assessment = json!({
            "schema": "aite.assessment/v1", "profile": "ai-camera", "profile_version": "1",
            "requirements": [{ "id": "ROB-ACC", "title": "declared accuracy", "verdict": verdict, "value": top1 as f64 / 300.0, "threshold": 0.9 }],
            "overall": verdict,
        });
        let mut csv = String::from("index,sample,scheduled_ns,issued_ns,completed_ns,latency_ns,decode_ns,preprocess_ns,inference_ns,postprocess_ns,after_idle\n");
        for (i, v) in samples.iter().enumerate() {
            csv.push_str(&format!("{i},0,0,0,{v},{v},0,0,{v},0,false\n"));
        }
        folder.write_json("results.json", &results).unwrap();
        folder.write_json("assessment.json", &assessment).unwrap();
        folder.write_bytes("latency-samples.csv", csv.as_bytes()).unwrap();
        folder.finish().unwrap();
        dir
    }

    fn record(db: &Path, dir: &Path) -> String {
        let r = run(aite().args(["history", "record"]).arg(dir).arg("--db").arg(db));
        assert_eq!(r.code, 0, "{}", r.stderr);
        // "recorded DIR as run ID in DB"
        r.stdout.split(" as run ").nth(1).and_then(|s| s.split_whitespace().next()).expect(&r.stdout).to_string()
    }

    #[test]
    fn history_lists_and_diff_compares_two_recorded_packages() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("db/history.sqlite3");
        let a = package(tmp.path(), "rel-a", "SN-1", 280, 0, "PASS", &[("AITE-KEY-WEAK", "etc/web.key"), ("AITE-CRED-DEFAULT", "etc/shadow")], &[("AITE-KEY-WEAK", "fail"), ("AITE-CRED-DEFAULT", "fail"), ("AITE-FS-SETUID", "pass")]);
        let b = package(tmp.path(), "rel-b", "SN-2", 260, 400_000, "FAIL", &[("AITE-CRED-DEFAULT", "etc/shadow"), ("AITE-FS-SETUID", "usr/sbin/helper")], &[("AITE-KEY-WEAK", "pass"), ("AITE-CRED-DEFAULT", "fail"), ("AITE-FS-SETUID", "fail")]);
        let id_a = record(&db, &a);
        let id_b = record(&db, &b);
        assert_eq!(record(&db, &a), id_a, "recording again gives the same id");

        let r = run(aite().arg("history").arg("--db").arg(&db));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert!(lines[0].starts_with("run") && lines[0].contains("terminal") && lines[0].contains("verdict"), "{}", r.stdout);
        assert!(lines[1].starts_with(&id_a) && lines[1].contains("Acme Cam-1 (s/n SN-1, fw 1.0)") && lines[1].contains("PASS"), "{}", r.stdout);
        assert!(lines[2].starts_with(&id_b) && lines[2].contains("FAIL"), "{}", r.stdout);
        assert!(r.stdout.contains("2 run(s)"), "{}", r.stdout);

        let r = run(aite().args(["history", "--terminal", "sn-2"]).arg("--db").arg(&db));
        assert!(r.stdout.contains(&id_b) && !r.stdout.contains(&id_a), "{}", r.stdout);

        // Ids by prefix on one side, a package folder on the other.
        let r = run(aite().args(["diff", &id_a[..6]]).arg(&b).arg("--db").arg(&db));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let out = &r.stdout;
        assert!(out.contains("note: different terminals"), "{out}");
        assert!(out.contains("verdicts: 1 changed, 0 unchanged") && out.contains("ROB-ACC") && out.contains("PASS -> FAIL"), "{out}");
        // 280/300 -> 260/300: z = -2.722, p = 0.0065 (hand-computed in aite-history's stats tests).
        assert!(out.contains("93.33% (280/300) -> 86.67% (260/300)  -6.67 pp  significant at 5% (two-proportion z = -2.722, p = 0.0065)"), "{out}");
        let p99 = out.lines().find(|l| l.trim_start().starts_with("latency.p99_ms")).expect(out);
        assert!(p99.contains("+0.400 ms") && p99.contains(" significant at 5% (bootstrap 95% interval"), "{p99}");
        assert!(out.contains("security findings: 1 new, 1 fixed, 0 not re-examined, 1 unchanged"), "{out}");
        assert!(out.contains("new             AITE-FS-SETUID usr/sbin/helper"), "{out}");
        assert!(out.contains("fixed           AITE-KEY-WEAK etc/web.key"), "{out}");

        let r = run(aite().args(["diff", &id_a, &id_b, "--json"]).arg("--db").arg(&db));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let d: Value = serde_json::from_str(&r.stdout).unwrap();
        let acc = d["accuracy"].as_array().unwrap().iter().find(|p| p["metric"] == "accuracy.top1").unwrap();
        assert_eq!(acc["test"]["outcome"], "two-proportion-z");
        assert!((acc["test"]["z"].as_f64().unwrap() - (-2.721655269759086)).abs() < 1e-9, "{acc}");
        assert_eq!(d["verdict_changes"][0]["before"], "PASS");
        assert_eq!(d["verdict_changes"][0]["after"], "FAIL");
        assert_eq!(d["findings"]["fixed"][0]["rule"], "AITE-KEY-WEAK");

        // The later package's folder is gone: point deltas stay, no interval is invented.
        std::fs::remove_dir_all(&b).unwrap();
        let r = run(aite().args(["diff", &id_a, &id_b]).arg("--db").arg(&db));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let p99 = r.stdout.lines().find(|l| l.trim_start().starts_with("latency.p99_ms")).expect(&r.stdout);
        assert!(p99.contains("+0.400 ms") && p99.contains("raw samples unavailable") && p99.contains("gone"), "{p99}");

        let r = run(aite().args(["diff", &id_a, "0000000"]).arg("--db").arg(&db));
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stderr.contains("no run `0000000`"), "{}", r.stderr);
    }

    #[test]
    fn a_corrupt_database_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("history.sqlite3");
        std::fs::write(&db, vec![0x5a; 8192]).unwrap();
        let r = run(aite().arg("history").arg("--db").arg(&db));
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stderr.contains(&format!("history database {}", db.display())) && r.stderr.contains("not a database"), "{}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }

    /// The probe packages of aite-history's tests (tests/fixtures/probe-release-{a,b}.json, as
    /// `aite probe` writes results.json): release B opens port 23 with telnet and no longer
    /// accepts RC4. `aite diff` names exactly those changes, by endpoint; the reworded SSH banner
    /// and certificate date are no change.
    #[test]
    fn diff_names_what_the_network_probe_found_new_and_fixed() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.sqlite3");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-history/tests/fixtures");
        let mut ids = vec![];
        for release in ["a", "b"] {
            let results: Value = serde_json::from_str(&std::fs::read_to_string(fixtures.join(format!("probe-release-{release}.json"))).unwrap()).unwrap();
            let dir = tmp.path().join(format!("probe-{release}"));
            let folder = aite_evidence::RunFolder::open(&dir).unwrap();
            folder.write_json("results.json", &results).unwrap();
            folder.finish().unwrap();
            ids.push(record(&db, &dir));
        }
        let r = run(aite().args(["diff", &ids[0], &ids[1]]).arg("--db").arg(&db));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let lines: Vec<&str> = r.stdout.lines().skip_while(|l| !l.starts_with("security findings:")).collect();
        assert_eq!(
            lines,
            [
                "security findings: 2 new, 1 fixed, 0 not re-examined, 5 unchanged",
                "  new             AITE-NET-UNDECLARED-PORT 192.168.1.20:23/tcp: port 23 accepts connections but is not among the declared ports [22, 443, 554] [rule pass in the earlier run]",
                "  new             AITE-NET-TELNET 192.168.1.20:23/tcp: telnet on port 23: IAC DO/WILL negotiation, then 'cam login: ' [rule pass in the earlier run]",
                "  fixed           AITE-NET-TLS-WEAK-CIPHER 192.168.1.20:443/tcp: accepts TLS_RSA_WITH_RC4_128_SHA (RC4) in TLSv1.2 [rule fail in the later run]",
            ],
            "{}",
            r.stdout
        );
        let r = run(aite().args(["diff", &ids[0], &ids[1], "--json"]).arg("--db").arg(&db));
        let d: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!((d["findings"]["fixed"][0]["suite"].as_str(), d["findings"]["fixed"][0]["key"]["value"].as_str()), (Some("network"), Some("TLS_RSA_WITH_RC4_128_SHA")), "{}", d["findings"]);
    }

    /// A real package from `aite demo --quick`, recorded and compared with itself: the
    /// demo's CSVs reproduce its percentiles, so every latency line has an interval, and
    /// it holds 0.
    #[test]
    fn a_demo_package_diffed_with_itself_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("runs");
        let db = tmp.path().join("h.sqlite3");
        // The demo may record itself (`aite run` does): into the temp database, never the user's.
        let r = run(aite().args(["demo", "--quick", "--out"]).arg(&out).env("AITE_HISTORY_DB", &db));
        assert!(r.code != 2 && r.code != 3 && r.code != 4 && r.code != 5, "demo: {} {}", r.code, r.stderr);
        let dir = common::run_folder(&out);
        let id = record(&db, &dir);
        assert_eq!(record(&db, &dir), id);
        let r = run(aite().args(["diff", &id, &id, "--json"]).arg("--db").arg(&db));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let d: Value = serde_json::from_str(&r.stdout).unwrap();
        let latency = d["latency"].as_array().unwrap();
        assert!(latency.iter().any(|l| l["suite"] == "latency"), "{latency:?}");
        for l in latency {
            assert_eq!(l["interval"]["outcome"], "bootstrap", "{l}");
            assert!(l["interval"]["low_ms"].as_f64().unwrap() <= 0.0 && l["interval"]["high_ms"].as_f64().unwrap() >= 0.0, "{l}");
            assert_eq!(l["interval"]["significant_at_5pct"], false, "{l}");
        }
        assert!(d["verdict_changes"].as_array().unwrap().is_empty());
        assert!(d["findings"]["new"].as_array().unwrap().is_empty() && d["findings"]["fixed"].as_array().unwrap().is_empty());
        assert!(d["findings"]["unchanged"].as_u64().unwrap() > 0, "the demo's planted findings are recorded");
    }

    /// `--db postgres://…`: the same two packages recorded through the CLI into SQLite and
    /// into a throwaway PostgreSQL give the same `aite history` table and the same
    /// `aite diff` text and JSON (apart from the database named and the recording time).
    #[cfg(feature = "postgres")]
    #[test]
    fn history_and_diff_are_the_same_on_postgresql() {
        let Some(server) = crate::pg::PgServer::start() else { return };
        server.create_database("aite");
        let tmp = tempfile::tempdir().unwrap();
        let a = package(tmp.path(), "rel-a", "SN-1", 280, 0, "PASS", &[("AITE-KEY-WEAK", "etc/web.key"), ("AITE-CRED-DEFAULT", "etc/shadow")], &[("AITE-KEY-WEAK", "fail"), ("AITE-CRED-DEFAULT", "fail"), ("AITE-FS-SETUID", "pass")]);
        let b = package(tmp.path(), "rel-b", "SN-2", 260, 400_000, "FAIL", &[("AITE-CRED-DEFAULT", "etc/shadow"), ("AITE-FS-SETUID", "usr/sbin/helper")], &[("AITE-KEY-WEAK", "pass"), ("AITE-CRED-DEFAULT", "fail"), ("AITE-FS-SETUID", "fail")]);
        let sqlite = format!("sqlite:{}", tmp.path().join("h.sqlite3").display());
        let url = server.url("aite");
        let mut outputs = vec![];
        for db in [sqlite.as_str(), url.as_str()] {
            let (id_a, id_b) = (record(Path::new(db), &a), record(Path::new(db), &b));
            let shown = db.strip_prefix("sqlite:").unwrap_or(db);
            let listing = run(aite().args(["history", "--db", db]));
            assert_eq!(listing.code, 0, "{db}: {}", listing.stderr);
            assert!(listing.stdout.contains(&format!("2 run(s) in {shown}")), "{}", listing.stdout);
            let text = run(aite().args(["diff", &id_a, &id_b, "--db", db]));
            assert_eq!(text.code, 0, "{db}: {}", text.stderr);
            let json = run(aite().args(["diff", &id_a[..6], &id_b, "--json", "--db", db]));
            assert_eq!(json.code, 0, "{db}: {}", json.stderr);
            let mut json: Value = serde_json::from_str(&json.stdout).unwrap();
            for side in ["before", "after"] {
                assert!(json[side]["recorded_at"].as_str().is_some_and(|t| !t.is_empty()));
                json[side]["recorded_at"] = Value::Null;
            }
            outputs.push((listing.stdout.replace(shown, "DB"), text.stdout, json));
        }
        assert_eq!(outputs[0].0, outputs[1].0, "aite history differs");
        assert_eq!(outputs[0].1, outputs[1].1, "aite diff differs");
        assert_eq!(outputs[0].2, outputs[1].2, "aite diff --json differs");
        // The known diff (as in the SQLite test above), not two equal wrong ones.
        assert!(outputs[1].1.contains("93.33% (280/300) -> 86.67% (260/300)  -6.67 pp  significant at 5% (two-proportion z = -2.722, p = 0.0065)"), "{}", outputs[1].1);
        assert!(outputs[1].1.contains("security findings: 1 new, 1 fixed, 0 not re-examined, 1 unchanged"), "{}", outputs[1].1);
        // An unreachable server: exit 3, the URL named, no panic.
        let r = run(aite().args(["history", "--db", "postgres://postgres@127.0.0.1:1/aite"]));
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stderr.contains("history database postgres://postgres@127.0.0.1:1/aite") && !r.stderr.contains("panicked"), "{}", r.stderr);
    }
}
