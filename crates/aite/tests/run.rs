//! `aite init`, `aite run` and `aite assess` end to end (issue 11): a configured
//! terminal is measured, assessed and packaged; a failing suite is ERROR while
//! the others run; Ctrl-C and the same command again resumes the same package.

mod common;
use common::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// An `aite.toml` for the reference models and images written into `dir`.
fn config(dir: &Path, extra: &str) -> PathBuf {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-reference/assets");
    let labels = reference_dataset(dir, 60);
    let text = format!(
        r#"schema = "aite.config/v1"
profile = "reference-terminal"
out = "runs"

[lab]
name = "Test Lab"
operator = "J. Doe"

[terminal]
manufacturer = "Test Co"
model = "T-1"
firmware_version = "1.2.3"

[declared]
top1_accuracy = 0.5
fps = 200

[target]
model = "{int8}"
reference_model = "{fp32}"

[dataset]
path = "{labels}"
preprocess = "digits8"

[suites.latency]
duration_ms = {duration}
min_queries = 64

[suites.periodic]
idle_ms = 20.0
min_queries = 60

[suites.robustness]
consistency_frames = 20
severities = [3]
corruption_frames = 20
attack_frames = 5
attack_budget = 50
{extra}
"#,
        int8 = assets.join("digits_cnn_int8_qdq.onnx").display(),
        fp32 = assets.join("digits_cnn_fp32.onnx").display(),
        labels = labels.display(),
        duration = if extra.contains("#slow") { 6000 } else { 200 },
    );
    let path = dir.join("aite.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn verdict<'a>(a: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    a["requirements"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id} missing"))
}

fn exit_code_of(overall: &str) -> i32 {
    match overall {
        "PASS" => 0,
        "FAIL" => 1,
        "INCONCLUSIVE" => 7,
        "NOT_TESTED" => 8,
        "ERROR" => 9,
        other => panic!("overall {other}"),
    }
}

#[test]
fn a_failing_suite_is_error_for_its_requirements_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "[suites.security]\nimage = \"no-such-firmware.bin\"\n");
    let db = dir.path().join("history.sqlite3");
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--db").arg(&db));
    let folder = run_folder(&dir.path().join("runs"));
    let a = json(&folder.join("assessment.json"));
    let res = json(&folder.join("results.json"));
    assert_eq!(r.code, exit_code_of(a["overall"].as_str().unwrap()), "exit code is the verdict's\n{}", r.stderr);
    assert!(r.stdout.starts_with("GAP ANALYSIS"), "{}", r.stdout);
    // Security could not run: every rule requirement is ERROR naming the image, never passed.
    let sec = verdict(&a, "SEC-CRED-EMPTY");
    assert_eq!(sec["verdict"], "ERROR");
    assert!(sec["cause"].as_str().unwrap().contains("no-such-firmware.bin"), "{sec}");
    assert_eq!(res["suites"]["security"]["status"], "error");
    // No device address: the network requirements are NOT_TESTED with the reason.
    let net = verdict(&a, "SEC-NET-TELNET");
    assert_eq!(net["verdict"], "NOT_TESTED");
    assert!(net["why"].as_str().unwrap().contains("[suites.network].target"), "{net}");
    // The other suites ran and were judged.
    assert_eq!(verdict(&a, "ROB-DECLARED-ACCURACY")["verdict"], "PASS", "declared 0.5, measured ~0.98");
    assert_eq!(verdict(&a, "ROB-DECLARED-ACCURACY")["evidence"][0], "/suites/accuracy/top1");
    assert_eq!(verdict(&a, "ROB-DECLARED-ACCURACY")["files"][0], "predictions.csv");
    // A classifier terminal: the detector suites are recorded not applicable, so ROB-DET-AP and
    // ROB-DET-RPC are NOT_APPLICABLE saying why (review finding 15: they were NOT_TESTED, "not in results.json").
    for id in ["ROB-DET-AP", "ROB-DET-RPC"] {
        let v = verdict(&a, id);
        assert!(v["verdict"] == "NOT_APPLICABLE" && v["why"].as_str().is_some_and(|w| w.contains("classifier")), "{v}");
    }
    assert_eq!(res["suites"]["detection_corruptions"]["status"], "not-applicable");
    assert!(["PASS", "FAIL"].contains(&verdict(&a, "LAT-VALID")["verdict"].as_str().unwrap()));
    assert_eq!(verdict(&a, "ROB-AGREEMENT")["interval"]["method"], "Wilson score 95%");
    assert_eq!(res["declared"]["terminal"]["manufacturer"], "Test Co");
    assert_eq!(res["declared"]["fps"], 200);
    assert_eq!(res["suites"]["latency_periodic"]["scenario"]["fps"], 200.0);
    assert_eq!(a["profile_sha256"].as_str().unwrap().len(), 64);
    let config = json(&folder.join("config.json"));
    assert_eq!(config["lab"]["name"], "Test Lab");
    assert!(std::fs::read_to_string(folder.join("report.html")).unwrap().contains("Test Lab"), "the lab is on the report's cover");
    // The package's manifest covers assessment.json, and no resume state is left.
    let manifest = json(&folder.join("manifest.json"));
    assert!(manifest["files"]["assessment.json"].is_string());
    assert!(!folder.join(".state").exists());
    // The run is in the history database it was given.
    #[cfg(feature = "history")]
    {
        let h = run(aite().arg("history").arg("--db").arg(&db));
        assert_eq!(h.code, 0, "{}", h.stderr);
        assert!(h.stdout.contains("T-1"), "the terminal recorded: {}", h.stdout);
    }

    // `aite assess` re-judges the same results against another profile, in place.
    let r2 = run(aite().arg("assess").arg(&folder).args(["--profile", "ai-camera"]));
    let a2 = json(&folder.join("assessment.json"));
    assert_eq!(a2["profile"], "ai-camera");
    assert_eq!(r2.code, exit_code_of(a2["overall"].as_str().unwrap()), "{}", r2.stderr);
    let manifest = json(&folder.join("manifest.json"));
    assert_eq!(manifest["files"]["assessment.json"].as_str().unwrap(), sha256(&folder.join("assessment.json")));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn sha256(p: &Path) -> String {
    aite_engine::sha256_file(p).unwrap()
}

#[test]
fn ctrl_c_then_the_same_command_resumes_the_same_package() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "#slow\n[suites.security]\nenabled = false\n");
    let db = dir.path().join("history.sqlite3");
    let mut child = aite()
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(&db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    // Interrupt once the (6 s) single-stream latency step has started.
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("] latency") {
            std::thread::sleep(std::time::Duration::from_millis(300));
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    let folder = run_folder(&dir.path().join("runs"));
    assert!(folder.join(".state").is_dir(), "an interrupted package keeps its resume state");
    let res = json(&folder.join("results.json"));
    assert_eq!(res["status"], "interrupted");
    let a = json(&folder.join("assessment.json"));
    assert_ne!(verdict(&a, "LAT-VALID")["verdict"], "PASS", "an interrupted measurement never passes");
    assert_eq!(verdict(&a, "ROB-DECLARED-ACCURACY")["verdict"], "PASS", "the finished accuracy step is judged");
    let predictions = std::fs::read(folder.join("predictions.csv")).unwrap();

    // A copy whose finished steps another aite build measured is not resumed:
    // its steps are not mixed with this build's, a new package is started.
    let other = dir.path().join("other");
    copy_dir(&folder, &other.join(folder.file_name().unwrap()));
    let plan = other.join(folder.file_name().unwrap()).join(".state/plan.json");
    let mut header = json(&plan);
    assert!(header["build"]["executable_sha256"].is_string(), "the resume state names the build: {header}");
    header["build"]["tool"]["commit"] = "0000000000000000000000000000000000000000".into();
    std::fs::write(&plan, serde_json::to_vec(&header).unwrap()).unwrap();
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--out").arg(&other).arg("--no-history"));
    assert!(r.stderr.contains("not resuming") && r.stderr.contains("another aite build"), "{}", r.stderr);
    assert!(!r.stderr.lines().any(|l| l.starts_with("resuming ")), "{}", r.stderr);
    let packages = std::fs::read_dir(&other).unwrap().count();
    assert_eq!(packages, 2, "the other build's package is left unfinished beside a new one");
    assert!(plan.is_file(), "the other build's package is untouched");

    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--db").arg(&db));
    assert!(r.stderr.contains(&format!("resuming {}", folder.display())), "{}", r.stderr);
    assert!(r.stderr.contains("accuracy, cold-start"), "{}", r.stderr);
    assert!(!r.stderr.contains("] accuracy\n"), "the finished accuracy step is not rerun: {}", r.stderr);
    assert!(r.stderr.contains("] latency"), "{}", r.stderr);
    assert_eq!(run_folder(&dir.path().join("runs")), folder, "the same package is completed");
    let res = json(&folder.join("results.json"));
    assert_eq!(res["status"], "complete");
    assert!(!folder.join(".state").exists());
    assert_eq!(std::fs::read(folder.join("predictions.csv")).unwrap(), predictions);
    let a = json(&folder.join("assessment.json"));
    assert_eq!(r.code, exit_code_of(a["overall"].as_str().unwrap()));
    // A disabled suite is NOT_TESTED with the reason, never passed.
    let sec = verdict(&a, "SEC-CRED-EMPTY");
    assert_eq!(sec["verdict"], "NOT_TESTED");
    assert!(sec["why"].as_str().unwrap().contains("enabled = false"), "{sec}");
}

#[test]
fn init_writes_a_config_that_run_reads_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("aite.toml");
    let r = run(aite().args(["init", "--class", "edge-server", "--output"]).arg(&cfg));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("profile = \"edge-server\"") && text.contains("[terminal]") && text.contains("[declared]") && text.contains("[suites.security]"));
    // Nothing is declared until the manufacturer says so: no pass by default.
    assert!(text.contains("# top1_accuracy"), "{text}");
    // Nor the frame rate: an aite-chosen fps would set the frame-period threshold in its name.
    assert!(text.contains("# fps = 30.0"), "{text}");
    assert!(!text.lines().any(|l| l.trim_start().starts_with("fps")), "no frame rate declared by default: {text}");
    let r = run(aite().args(["init", "--output"]).arg(&cfg));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("does not overwrite"), "{}", r.stderr);
    // The template parses; running it fails on the model it names, clearly.
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("labels.csv") || r.stderr.contains("model.onnx"), "{}", r.stderr);
}

#[test]
fn a_bad_configuration_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("aite.toml");
    std::fs::write(&cfg, "schema = \"aite.config/v1\"\nprofile = \"ai-camera\"\n\n[target]\nmodel = \"m.onnx\"\nbogus = 1\n").unwrap();
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{}:6:", cfg.display())) && r.stderr.contains("bogus"), "{}", r.stderr);
    std::fs::write(&cfg, "schema = \"aite.config/v1\"\nprofile = \"ai-camera\"\n[declared]\ntop1_accuracy = 85\n[target]\nmodel = \"m.onnx\"\n").unwrap();
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains(":4:") && r.stderr.contains("fraction"), "{}", r.stderr);
    // A signing key that cannot sign stops the run before anything is measured.
    let cfg = config(dir.path(), "");
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history").args(["--sign", "no-such-key.pem", "--signer", "Jane Doe, Test Engineer"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-key.pem") && !r.stderr.contains("[1/"), "{}", r.stderr);
    let r = run(aite().arg("run").arg("-c").arg(dir.path().join("absent.toml")).arg("--no-history"));
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("absent.toml") && r.stderr.contains("aite init"), "{}", r.stderr);
}

/// A single-suite command with `--profile` is judged by the same profile and rules
/// as `aite run`: only the requirements of what it measured count, the others are
/// listed out of scope, and the exit code is the verdict's.
#[test]
fn a_single_suite_command_with_a_profile_is_judged_on_what_it_measured() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let out = dir.path().join("runs");
    let r = run(aite()
        .args(["latency", "--min-duration-ms", "0", "--min-queries", "64", "--audit", "--profile", "reference-terminal", "-m"])
        .arg(&model)
        .arg("--out")
        .arg(&out));
    let folder = run_folder(&out);
    let a = json(&folder.join("assessment.json"));
    let res = json(&folder.join("results.json"));
    let ids: Vec<&str> = a["requirements"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["LAT-VALID", "LAT-CACHING-AUDIT"], "the requirements on suites latency and caching_audit");
    let all = aite_assessment::shipped("reference-terminal").unwrap().requirements.len();
    assert_eq!(a["out_of_scope"].as_array().unwrap().len(), all - 2);
    let valid = res["suites"]["latency"]["validity"]["valid"].as_bool().unwrap();
    assert_eq!(verdict(&a, "LAT-VALID")["verdict"], if valid { "PASS" } else { "FAIL" });
    assert_eq!(r.code, exit_code_of(a["overall"].as_str().unwrap()), "{}", r.stderr);
    assert!(r.stdout.contains("GAP ANALYSIS") && r.stdout.contains(&format!("{} requirement(s) out of scope", all - 2)), "{}", r.stdout);
    let manifest = json(&folder.join("manifest.json"));
    assert!(manifest["files"]["assessment.json"].is_string());
}

#[test]
fn a_reference_model_that_is_a_copy_of_the_model_is_not_agreed_with() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "[suites.security]\nenabled = false\n[suites.network]\nenabled = false\n");
    // The reference is a byte copy of the deployed int8 model, run on the same engine.
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-reference/assets");
    let copy = dir.path().join("copy-of-the-model.onnx");
    std::fs::copy(assets.join("digits_cnn_int8_qdq.onnx"), &copy).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let fp32 = assets.join("digits_cnn_fp32.onnx").display().to_string();
    assert!(text.contains(&fp32));
    let text = text.replace(&fp32, &copy.display().to_string());
    let text = text.replace("[suites.latency]\n", "[suites.latency]\nenabled = false\n").replace("[suites.periodic]\n", "[suites.periodic]\nenabled = false\n");
    std::fs::write(&cfg, text).unwrap();
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history"));
    let folder = run_folder(&dir.path().join("runs"));
    let a = json(&folder.join("assessment.json"));
    let res = json(&folder.join("results.json"));
    assert_eq!(r.code, exit_code_of(a["overall"].as_str().unwrap()), "{}", r.stderr);
    // Agreement with itself compares nothing: not run, saying why, and never PASS.
    for suite in ["agreement", "accuracy_reference"] {
        let s = &res["suites"][suite];
        assert!(s["status"] == "not-run" && s["why"].as_str().is_some_and(|w| w.contains("the reference is the deployed model")), "{suite}: {s}");
    }
    let v = verdict(&a, "ROB-AGREEMENT");
    assert!(v["verdict"] == "NOT_TESTED" && v["why"].as_str().is_some_and(|w| w.contains("the reference is the deployed model")), "{v}");
    assert!(!folder.join("predictions-reference.csv").exists(), "the reference was not evaluated");
    // The deployed model's own suites still ran.
    assert_eq!(verdict(&a, "ROB-DECLARED-ACCURACY")["verdict"], "PASS", "declared 0.5, measured ~0.98");
    assert!(res["suites"]["repeatability"].is_object() && res["suites"]["repeatability"]["status"].is_null(), "{}", res["suites"]["repeatability"]);
}
