//! Issue 15 (lab scale): `aite robustness --shard I/N` splits every per-sample suite by
//! sample, and `aite merge` gives the package of the single run for every section of
//! results.json (or refuses, naming the suite). The Kubernetes manifest of
//! docs/kubernetes/robustness-shards.yaml is parsed (PyYAML of the peer virtualenv) and its
//! exact container command lines are run as local processes with JOB_COMPLETION_INDEX set.

mod common;

use common::{aite, peer_python, reference_dataset, reference_model, results, run, run_folder, shared_assets, skip_or_fail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What legitimately differs between two runs of the same measurement: wall-clock times,
/// and the run's own id (its folder's name).
const PER_RUN: [&str; 4] = ["elapsed_ms", "started_at", "finished_at", "run_id"];

fn untimed(v: &Value) -> Value {
    match v {
        Value::Object(m) => m.iter().filter(|(k, _)| !PER_RUN.contains(&k.as_str())).map(|(k, v)| (k.clone(), untimed(v))).collect(),
        Value::Array(a) => a.iter().map(untimed).collect(),
        other => other.clone(),
    }
}

/// Every top-level section and every suite of `merged` equals `single` (modulo [`PER_RUN`]),
/// and the raw CSVs are byte-identical.
fn assert_same_package(merged_dir: &Path, single_dir: &Path) {
    let (merged, single) = (results(merged_dir), results(single_dir));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&merged), keys(&single), "top-level sections differ");
    assert_eq!(keys(&merged["suites"]), keys(&single["suites"]), "suites differ");
    for (name, suite) in single["suites"].as_object().unwrap() {
        assert_eq!(untimed(&merged["suites"][name]), untimed(suite), "suite `{name}` differs after the merge");
    }
    for (section, value) in single.as_object().unwrap() {
        if section != "suites" && !PER_RUN.contains(&section.as_str()) {
            assert_eq!(untimed(&merged[section]), untimed(value), "section `{section}` differs after the merge");
        }
    }
    let csvs = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".csv")).collect();
        v.sort();
        v
    };
    assert_eq!(csvs(merged_dir), csvs(single_dir), "raw files differ");
    for f in csvs(single_dir) {
        assert_eq!(std::fs::read(merged_dir.join(&f)).unwrap(), std::fs::read(single_dir.join(&f)).unwrap(), "{f} differs after the merge");
    }
}

/// The sample indices of a per-sample suite's records.
fn indices(suite: &Value) -> Vec<u64> {
    suite["records"].as_array().unwrap_or_else(|| panic!("no records in {suite}")).iter().map(|r| r["index"].as_u64().unwrap()).collect()
}

/// Every attack family (Square, SPSA, noise at both norms, HopSkipJump), the corruption cells,
/// the consistency checks and the worst case: 2 shards, each attacking only its samples,
/// merged equal to the single run.
#[test]
fn every_suite_splits_by_sample_and_the_merge_equals_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let csv = reference_dataset(dir.path(), 24);
    let attacks = ["square-linf", "square-l2", "spsa-linf", "spsa-l2", "noise-linf", "noise-l2", "hopskipjump"];
    let attacks_arg = attacks.join(",");
    // The int8 model as the reference: the agreement check has real differences to merge.
    let int8 = dir.path().join("digits-int8.onnx");
    std::fs::write(&int8, aite_reference::MODEL_INT8_QDQ).unwrap();
    let args = ["--samples", "24", "--corruptions", "gaussian_noise,fog,rotation", "--severities", "1,4", "--attacks", &attacks_arg, "--attack-samples", "10", "--queries", "120", "--eps-linf", "24/255", "--check-batch", "4"];
    let robustness = |out: &Path, extra: &[&str]| {
        let r = run(aite().args(["robustness", "-p", "digits8", "-m"]).arg(&model).arg("--reference").arg(&int8).arg("-d").arg(&csv).arg("--out").arg(out).args(args).args(extra));
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        run_folder(out)
    };
    let single_dir = robustness(&dir.path().join("single"), &[]);
    let single = results(&single_dir);
    for a in attacks {
        assert!(single["suites"].get(format!("attack_{}", a.replace('-', "_"))).is_some(), "the single run has attack {a}: {}", single["suites"]);
    }
    for s in ["corruptions", "attack_worst_case", "repeatability", "batch_invariance", "agreement", "degenerate_frames", "metamorphic"] {
        assert!(single["suites"].get(s).is_some(), "the single run has `{s}`");
    }
    assert!(single["suites"].get("consistency_shard").is_none(), "a single run has no shard record");
    let mut shards = vec![];
    for i in 0..2u64 {
        let shard = format!("{i}/2");
        let folder = robustness(&dir.path().join(format!("shard{i}")), &["--shard", &shard]);
        let res = results(&folder);
        for (name, suite) in res["suites"].as_object().unwrap() {
            if name.starts_with("attack_") && name != "attack_worst_case" {
                assert_eq!(indices(suite), (0..10).filter(|k| k % 2 == i).collect::<Vec<_>>(), "shard {shard} of `{name}` attacks only its samples");
                assert_eq!(suite["missing_samples"], 5, "{name}");
            }
        }
        let cells = res["suites"]["corruptions"]["cells"].as_array().unwrap().len();
        assert!(cells > 0 && res["suites"]["corruptions"]["missing_cells"].as_u64().unwrap() > 0, "shard {shard} runs part of the cells");
        assert_consistency_part(&res["suites"], i, 2, 24, 4);
        shards.push(folder);
    }
    let merged_out = dir.path().join("merged");
    let r = run(aite().arg("merge").args(&shards).arg("--out").arg(&merged_out));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_same_package(&run_folder(&merged_out), &single_dir);
    // Not a trivial equality either: int8 and fp32 differ, so the merged SQNR is a fold of real sums.
    let agreement = &single["suites"]["agreement"];
    assert!(agreement["sqnr_db"].as_f64().is_some_and(|d| d.is_finite()) && agreement["mean_abs_diff"].as_f64().unwrap() > 0.0, "{agreement}");
    assert_eq!(agreement["per_sample"].as_array().unwrap().len(), 24);
    // Not a trivial equality: some attacks broke samples, and the shards disagree on which.
    let sq = indices(&single["suites"]["attack_square_linf"]);
    assert_eq!(sq, (0..10).collect::<Vec<_>>());
    let succ: Vec<bool> = single["suites"]["attack_square_linf"]["records"].as_array().unwrap().iter().map(|r| r["success"] == true).collect();
    assert!(succ.contains(&true) && succ.contains(&false), "{succ:?}");

    // One shard alone merges with its missing samples counted and the status interrupted
    // (exit 130), never as a complete run.
    for (i, shard) in shards.iter().enumerate() {
        let out = dir.path().join(format!("half{i}"));
        let r = run(aite().arg("merge").arg(shard).arg("--out").arg(&out));
        assert_eq!(r.code, 130, "{}", r.stderr);
        let half = results(&run_folder(&out));
        assert_eq!(half["status"], "interrupted");
        assert_eq!(half["suites"]["attack_spsa_l2"]["missing_samples"], 5);
        // Half the consistency samples, said so: the shard record stays, with the missing ones.
        assert_eq!(half["suites"]["consistency_shard"]["missing_samples"], 12);
        assert_eq!(half["suites"]["repeatability"]["samples"], 12);
    }
    // The same shard twice is refused, naming the check.
    let r = run(aite().arg("merge").arg(&shards[0]).arg(&shards[0]).arg("--out").arg(dir.path().join("twice")));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("consistency") && r.stderr.contains("given twice"), "{}", r.stderr);
}

/// Shard `i` of `n` examined only its samples (`k mod n == i` of `samples`), its batch groups of
/// `batch` (group `k mod n == i`) and its degenerate frames (position `k mod n == i`).
fn assert_consistency_part(suites: &Value, i: u64, n: u64, samples: u64, batch: u64) {
    let record = &suites["consistency_shard"];
    let mine: Vec<u64> = (0..samples).filter(|k| k % n == i).collect();
    let as_u64 = |v: &Value| v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(|x| x.as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!(as_u64(&record["examined"]), mine, "shard {i}/{n}: {record}");
    assert_eq!((record["count"].as_u64(), as_u64(&record["shards"])), (Some(n), vec![i]));
    let groups: Vec<u64> = (0..samples / batch).filter(|k| k % n == i).collect();
    assert_eq!(as_u64(&record["batch_groups"]), groups);
    let m = mine.len() as u64;
    assert_eq!(suites["repeatability"]["samples"], m);
    assert_eq!(suites["batch_invariance"]["samples"], groups.len() as u64 * batch);
    assert_eq!(suites["agreement"]["top1_agreement"]["trials"], m);
    assert_eq!(suites["agreement"]["per_sample"].as_array().unwrap().iter().map(|s| s["index"].as_u64().unwrap()).collect::<Vec<_>>(), mine);
    for rel in suites["metamorphic"].as_array().unwrap() {
        assert_eq!(rel["flips"]["trials"], m, "{rel}");
    }
    let kinds: Vec<&str> = suites["degenerate_frames"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    let all = ["all-black", "all-white", "uniform-noise", "saturated", "nan", "positive-infinity", "negative-infinity", "wrong-size"];
    assert_eq!(kinds, all.iter().enumerate().filter(|(k, _)| *k as u64 % n == i).map(|(_, s)| *s).collect::<Vec<_>>());
}

/// PyYAML (peer virtualenv) reads the manifest's documents as JSON.
fn manifest_documents(python: &Path, manifest: &Path) -> Vec<Value> {
    let out = Command::new(python)
        .args(["-c", "import sys, json, yaml\nprint(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"])
        .arg(manifest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{} is not well-formed YAML: {}", manifest.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn container(job: &Value) -> &Value {
    let containers = job["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    &containers[0]
}

/// The container's `sh -c` script with each volume mount mapped to a local folder, and its env.
fn local_command(c: &Value, mounts: &[(&str, &Path)], env: &[(&str, &str)]) -> Command {
    let command: Vec<&str> = c["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(&command[..2], ["sh", "-c"], "the container runs a shell script");
    let declared: Vec<&str> = c["volumeMounts"].as_array().unwrap().iter().map(|m| m["mountPath"].as_str().unwrap()).collect();
    let mut script = command[2].to_string();
    for (mount, local) in mounts {
        assert!(declared.contains(mount), "{mount} is not mounted: {declared:?}");
        script = script.replace(mount, local.to_str().unwrap());
    }
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    for e in c["env"].as_array().into_iter().flatten() {
        cmd.env(e["name"].as_str().unwrap(), e["value"].as_str().unwrap());
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_aite")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    cmd.env("PATH", path).env("AITE_HISTORY_DB", Path::new(env!("CARGO_TARGET_TMPDIR")).join("shards-history.sqlite3"));
    cmd
}

fn sh(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{what}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// docs/kubernetes/robustness-shards.yaml: its Indexed Job's command run as local processes
/// (JOB_COMPLETION_INDEX 0..completions, /assets = ../shared/assets read-only, /evidence a temp
/// folder), then its merge Job's command (merge and sign): the merged package equals the
/// single run of the same command line without --shard, and verifies.
#[test]
fn kubernetes_indexed_job_commands_merge_to_the_single_run() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/kubernetes/robustness-shards.yaml");
    let Some(python) = peer_python() else { return };
    let yaml_ok = Command::new(&python).args(["-c", "import yaml"]).status().is_ok_and(|s| s.success());
    if !yaml_ok {
        return skip_or_fail(&format!("{} has no PyYAML (pip install pyyaml==6.0.4)", python.display()));
    }
    let docs = manifest_documents(&python, &manifest);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Job", "Job"]);
    let (shards_job, merge_job) = (&docs[1], &docs[2]);
    let spec = &shards_job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(shards_job["apiVersion"], "batch/v1");
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let completions = spec["completions"].as_u64().unwrap();
    assert!(spec["parallelism"].as_u64().unwrap() <= completions && spec["backoffLimitPerIndex"].as_u64().unwrap() >= 1);
    let shard_c = container(shards_job);
    let shards_env = shard_c["env"].as_array().unwrap().iter().find(|e| e["name"] == "SHARDS").unwrap();
    assert_eq!(shards_env["value"].as_str().unwrap(), completions.to_string(), "SHARDS must equal completions");
    let claim = |job: &Value, volume: &str| -> String {
        job["spec"]["template"]["spec"]["volumes"].as_array().unwrap().iter().find(|v| v["name"] == volume).map(|v| v["persistentVolumeClaim"]["claimName"].as_str().unwrap_or("").to_string()).unwrap()
    };
    assert_eq!(claim(shards_job, "evidence"), docs[0]["metadata"]["name"].as_str().unwrap(), "the shards write to the declared claim");
    assert_eq!(claim(merge_job, "evidence"), claim(shards_job, "evidence"), "the merge reads the shards' volume");

    let Some(assets) = shared_assets() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (evidence, keys) = (tmp.path().join("evidence"), tmp.path().join("keys"));
    std::fs::create_dir_all(&keys).unwrap();
    // Small sizes for a test; the command line is the manifest's.
    let sizes = [("SAMPLES", "16"), ("ATTACK_SAMPLES", "6"), ("QUERIES", "60")];
    let mounts: [(&str, &Path); 3] = [("/assets", &assets), ("/evidence", &evidence), ("/keys", &keys)];
    for i in 0..completions {
        let index = i.to_string();
        let env: Vec<(&str, &str)> = sizes.iter().copied().chain([("JOB_COMPLETION_INDEX", index.as_str())]).collect();
        sh(local_command(shard_c, &mounts[..2], &env), &format!("shard {i}"));
        let code = std::fs::read_to_string(evidence.join(format!("shard-{i}/exit-code"))).unwrap();
        assert!(matches!(code.trim(), "0" | "1"), "shard {i} exited {code}");
        let res = results(&run_folder(&evidence.join(format!("shard-{i}"))));
        assert_eq!(indices(&res["suites"]["attack_square_linf"]), (0..6).filter(|k| k % completions == i).collect::<Vec<_>>(), "pod {i} attacks its samples");
        // A replaced pod of a finished shard measures nothing twice.
        let env: Vec<(&str, &str)> = sizes.iter().copied().chain([("JOB_COMPLETION_INDEX", index.as_str())]).collect();
        sh(local_command(shard_c, &mounts[..2], &env), &format!("shard {i} again"));
        run_folder(&evidence.join(format!("shard-{i}")));
    }
    let r = run(aite().args(["keygen", "--out"]).arg(keys.join("lab.pem")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = sh(local_command(container(merge_job), &mounts[1..], &[]), "merge job");
    let merged_dir = run_folder(&evidence.join("merged"));
    assert!(out.contains(&format!("signed package: {}", merged_dir.display())), "{out}");

    // The single run: the shard command line without --shard.
    let script = shard_c["command"][2].as_str().unwrap();
    let single_line = script.lines().find(|l| l.contains("--shard")).unwrap();
    assert!(single_line.trim_start().starts_with("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\""), "{single_line}");
    let mut single = shard_c.clone();
    single["command"][2] = Value::String(script.replace("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\" ", "").replace("/evidence/shard-$JOB_COMPLETION_INDEX", "/evidence/single"));
    assert!(!single["command"][2].as_str().unwrap().contains("--shard"));
    sh(local_command(&single, &mounts[..2], &sizes), "single run");
    assert_same_package(&merged_dir, &run_folder(&evidence.join("single")));

    let r = run(aite().arg("verify").arg(&merged_dir).arg("--public-key").arg(keys.join("lab.pub.pem")));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let _: PathBuf = assets; // read only: nothing was written under ../shared
}

/// The consistency requirements of the shipped profiles, judged by `aite assess`.
const CONSISTENCY_REQUIREMENTS: [&str; 5] = ["ROB-REPEATABILITY", "ROB-BATCH-INVARIANCE", "ROB-BATCH-TOP1", "ROB-AGREEMENT", "ROB-DEGENERATE"];

/// `aite assess DIR --profile reference-terminal`: the consistency requirements' verdicts and reasons.
fn consistency_verdicts(dir: &Path) -> Vec<(String, String, String)> {
    let r = run(aite().arg("assess").arg(dir).args(["--profile", "reference-terminal", "--json"]));
    assert!(r.code >= 0 && r.code != 2, "{}", r.stderr);
    let a: Value = serde_json::from_slice(&std::fs::read(dir.join("assessment.json")).unwrap()).unwrap();
    CONSISTENCY_REQUIREMENTS
        .iter()
        .map(|id| {
            let r = a["requirements"].as_array().unwrap().iter().find(|r| r["id"] == *id).unwrap_or_else(|| panic!("{id} not assessed"));
            (id.to_string(), r["verdict"].as_str().unwrap().to_string(), r["why"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

/// Review #3c: one shard's package, `--shard 1/2 --profile P`, and `aite merge` of one shard of
/// two give NOT_TESTED "partial" for every consistency requirement (each holds half the samples
/// or half the degenerate kinds); the full merge gets the single run's verdicts.
#[test]
fn a_partial_consistency_run_never_passes_a_consistency_requirement() {
    // The two lists must agree: the assessment judges as partial what a shard splits.
    assert_eq!(aite_assessment::assess::CONSISTENCY_SUITES, aite_robustness::consistency_shard::CONSISTENCY_SUITES);
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let csv = reference_dataset(dir.path(), 16);
    // The int8 model as the reference (the deployed model as its own is not run).
    let int8 = dir.path().join("digits-int8.onnx");
    std::fs::write(&int8, aite_reference::MODEL_INT8_QDQ).unwrap();
    let robustness = |out: &Path, extra: &[&str]| {
        let r = run(aite().args(["robustness", "-p", "digits8", "-m"]).arg(&model).arg("--reference").arg(&int8).arg("-d").arg(&csv).arg("--out").arg(out)
            .args(["--samples", "16", "--corruptions", "none", "--attacks", "none", "--check-batch", "4", "--repeats", "2"]).args(extra));
        (r, run_folder(out))
    };
    let (r, single_dir) = robustness(&dir.path().join("single"), &[]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let single = consistency_verdicts(&single_dir);
    // Not vacuous: the single run passes some of them (the fp32 model, deterministic).
    for id in ["ROB-REPEATABILITY", "ROB-BATCH-INVARIANCE", "ROB-BATCH-TOP1"] {
        assert!(single.iter().any(|(i, v, _)| i == id && v == "PASS"), "{id} on the single run: {single:?}");
    }
    let (r, shard0) = robustness(&dir.path().join("shard0"), &["--shard", "0/2"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    // Judged as it runs: `--shard 1/2 --profile P` (never PASS, exit code not 0).
    let (r, shard1) = robustness(&dir.path().join("shard1"), &["--shard", "1/2", "--profile", "reference-terminal"]);
    assert_ne!(r.code, 0, "a shard judged by a profile: {}", r.stdout);
    let judged: Value = serde_json::from_slice(&std::fs::read(shard1.join("assessment.json")).unwrap()).unwrap();
    for id in CONSISTENCY_REQUIREMENTS {
        let req = judged["requirements"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap();
        assert_eq!(req["verdict"], "NOT_TESTED", "{id} on --shard 1/2 --profile: {req}");
        assert!(req["why"].as_str().unwrap().contains("partial: 8 of 16 samples missing (shard 1/2 only)"), "{req}");
    }
    for (what, dir) in [("shard 0/2", &shard0), ("shard 1/2", &shard1)] {
        for (id, v, why) in consistency_verdicts(dir) {
            assert_eq!(v, "NOT_TESTED", "{id} on {what}: {why}");
            assert!(why.starts_with("partial: 8 of 16 samples missing"), "{id} on {what}: {why}");
        }
    }
    // The record is what tells: the same shard without it (as the assessment read it before
    // review #3c) PASSes ROB-REPEATABILITY on half the samples.
    let stripped = dir.path().join("stripped");
    std::fs::create_dir_all(&stripped).unwrap();
    let mut res = results(&shard0);
    res["suites"].as_object_mut().unwrap().remove("consistency_shard");
    std::fs::write(stripped.join("results.json"), serde_json::to_vec(&res).unwrap()).unwrap();
    let old = consistency_verdicts(&stripped);
    assert!(old.iter().any(|(i, v, _)| i == "ROB-REPEATABILITY" && v == "PASS"), "{old:?}");
    // `aite merge` of shard 0 alone: interrupted, the record kept; NOT_TESTED again.
    let half_out = dir.path().join("half");
    let r = run(aite().arg("merge").arg(&shard0).arg("--out").arg(&half_out));
    assert_eq!(r.code, 130, "{}", r.stderr);
    for (id, v, why) in consistency_verdicts(&run_folder(&half_out)) {
        assert!(v == "NOT_TESTED" && why.contains("partial: 8 of 16 samples missing (shard 0/2 only)"), "{id} on the half merge: {v} {why}");
    }
    // Both shards: no record, the single run's verdicts and reasons.
    let merged_out = dir.path().join("merged");
    let r = run(aite().arg("merge").arg(&shard0).arg(&shard1).arg("--out").arg(&merged_out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(consistency_verdicts(&run_folder(&merged_out)), single);
}
