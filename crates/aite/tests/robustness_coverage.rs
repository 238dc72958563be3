//! Robustness on part of a dataset is not a pass: `aite robustness --profile` on 30 JPEG digits
//! with one truncated records, in every suite that stands on the dataset's frames, the file not
//! examined with the decoder's reason (`frame_coverage`), and the requirements on those suites
//! are NOT_TESTED naming it (before, the frame was dropped without a trace and the suites were
//! judged as if complete). The degenerate frames are built, not read: they keep their verdict.
//! On the intact dataset the same command records no gap and the verdicts are the usual ones.

mod common;
use common::*;
use std::path::Path;

/// The first `n` reference digits re-encoded as JPEG (quality 100) beside a CSV manifest.
fn jpeg_dataset(dir: &Path, n: usize) -> (std::path::PathBuf, Vec<String>) {
    let root = dir.join("digits");
    std::fs::create_dir_all(&root).unwrap();
    let mut csv = String::from("path,label\n");
    let mut ids = vec![];
    for s in aite_reference::dataset().samples.iter().take(n) {
        let img = image::load_from_memory(&s.bytes().unwrap()).unwrap().to_luma8();
        let id = Path::new(&s.id).with_extension("jpg").display().to_string();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 100).encode_image(&img).unwrap();
        std::fs::write(root.join(&id), jpeg).unwrap();
        csv.push_str(&format!("{id},{}\n", s.label.unwrap()));
        ids.push(id);
    }
    let p = root.join("labels.csv");
    std::fs::write(&p, csv).unwrap();
    (p, ids)
}

/// `aite robustness` with consistency (the int8 model as the reference: the deployed model as
/// its own is not run), a small sweep at severity 3 and two attack families on 8
/// frames, judged by the reference-terminal profile; the run folder.
fn robustness(dir: &Path, model: &Path, csv: &Path, name: &str) -> (Run, std::path::PathBuf) {
    let out = dir.join(name);
    let int8 = dir.join("digits-int8.onnx");
    std::fs::write(&int8, aite_reference::MODEL_INT8_QDQ).unwrap();
    let r = run(aite()
        .args(["robustness", "-p", "digits8", "--samples", "30", "--corruptions", "gaussian_noise,contrast", "--severities", "3"])
        .args(["--attacks", "square-linf,spsa-linf,noise-linf", "--attack-samples", "8", "--queries", "40", "--noise-queries", "10", "--profile", "reference-terminal", "-m"])
        .arg(model)
        .arg("--reference")
        .arg(&int8)
        .arg("-d")
        .arg(csv)
        .arg("--out")
        .arg(&out));
    let folder = run_folder(&out);
    (r, folder)
}

fn requirement(folder: &Path, id: &str) -> serde_json::Value {
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("assessment.json")).unwrap()).unwrap();
    a["requirements"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id} not assessed: {a}")).clone()
}

#[test]
fn robustness_with_a_truncated_jpeg_names_it_and_is_not_tested() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let (csv, ids) = jpeg_dataset(dir.path(), 30);
    // Intact: nothing to name, every requirement judged as usual.
    let (r, folder) = robustness(dir.path(), &model, &csv, "intact");
    assert!(r.code != 2 && !r.stderr.contains("warning: skipped"), "{}\n{}", r.stdout, r.stderr);
    let res = results(&folder);
    for (name, suite) in res["suites"].as_object().unwrap() {
        assert!(suite.get("frame_coverage").is_none(), "{name}: {suite}");
    }
    assert_eq!(requirement(&folder, "ROB-REPEATABILITY")["verdict"], "PASS");
    for id in ["ROB-SQUARE", "ROB-SPSA", "ROB-WORST-CASE", "ROB-CORRUPTION-DROP", "ROB-AGREEMENT"] {
        let req = requirement(&folder, id);
        assert!(!req["why"].as_str().unwrap_or_default().contains("frames examined"), "{id}: {req}");
    }
    let intact_square = requirement(&folder, "ROB-SQUARE")["verdict"].clone();
    assert!(["PASS", "FAIL", "INCONCLUSIVE"].contains(&intact_square.as_str().unwrap()), "{intact_square}");

    // The fifth digit cut in half: 29 of 30 frames decode.
    let cut = &ids[4];
    let path = csv.parent().unwrap().join(cut);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let (r, folder) = robustness(dir.path(), &model, &csv, "cut");
    assert!(r.stderr.contains(&format!("warning: skipped {cut}: ")), "{}", r.stderr);
    let res = results(&folder);
    let s = &res["suites"];
    // Every suite on the 30 frames (consistency, the sweep) misses one; the attacks took the
    // first 8 decoded frames, and the cut one lies before their last.
    for (name, frames) in [("repeatability", 30), ("agreement", 30), ("corruptions", 30), ("attack_square_linf", 9), ("attack_spsa_linf", 9), ("attack_worst_case", 9)] {
        let c = &s[name]["frame_coverage"];
        assert_eq!((c["frames"].as_u64(), c["examined"].as_u64(), c["missing_frames"].as_u64()), (Some(frames), Some(frames - 1), Some(1)), "{name}: {c}");
        assert_eq!(c["not_examined"][0]["id"].as_str(), Some(cut.as_str()), "{name}: {c}");
        assert!(c["not_examined"][0]["reason"].as_str().unwrap().contains("truncated"), "{name}: {c}");
    }
    assert_eq!(s["corruptions"]["clean"]["trials"], 29, "the sweep ran on the 29 decoded frames");
    let reason = s["corruptions"]["frame_coverage"]["not_examined"][0]["reason"].as_str().unwrap().to_string();
    for (id, suite, of) in [("ROB-SQUARE", "attack_square_linf", "8 of 9"), ("ROB-SPSA", "attack_spsa_linf", "8 of 9"), ("ROB-WORST-CASE", "attack_worst_case", "8 of 9"), ("ROB-CORRUPTION-DROP", "corruptions", "29 of 30"), ("ROB-REPEATABILITY", "repeatability", "29 of 30"), ("ROB-AGREEMENT", "agreement", "29 of 30")] {
        let req = requirement(&folder, id);
        assert_eq!(req["verdict"], "NOT_TESTED", "{id}: {req}");
        assert_eq!(req["why"].as_str().unwrap(), format!("suite `{suite}` is incomplete: {of} frames examined; not examined: {cut} ({reason})"), "{id}: {req}");
    }
    assert!(requirement(&folder, "ROB-REPEATABILITY")["note"].as_str().unwrap().ends_with("(would be PASS on complete evidence)"));
    // Degenerate frames are built from the input's shape, not read from the dataset.
    assert!(s["degenerate_frames"].is_array());
    assert!(!requirement(&folder, "ROB-DEGENERATE")["why"].as_str().unwrap_or_default().contains("frames examined"));
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("assessment.json")).unwrap()).unwrap();
    assert_ne!(a["overall"], "PASS", "{a}");
}

/// `jpeg_dataset` of 30 digits with the fifth cut in half; the csv and the cut file's id.
fn cut_dataset(dir: &Path) -> (std::path::PathBuf, String) {
    let (csv, ids) = jpeg_dataset(dir, 30);
    let path = csv.parent().unwrap().join(&ids[4]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    (csv, ids[4].clone())
}

/// `aite latency --end-to-end` times the frames that decode: the latency suite names the one it
/// did not time, and its requirement keeps its verdict (no NOT_TESTED for a frame not run).
#[test]
fn end_to_end_latency_names_the_frame_it_did_not_time() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let (csv, cut) = cut_dataset(dir.path());
    let out = dir.path().join("runs");
    let r = run(aite()
        .args(["latency", "--end-to-end", "-p", "digits8", "--min-duration-ms", "100", "--min-queries", "64", "--profile", "reference-terminal", "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&csv)
        .arg("--out")
        .arg(&out));
    assert!(r.stderr.contains(&format!("warning: skipped {cut}: ")), "{}", r.stderr);
    let folder = run_folder(&out);
    let res = results(&folder);
    let c = &res["suites"]["latency"]["frame_coverage"];
    assert_eq!((c["frames"].as_u64(), c["examined"].as_u64(), c["missing_frames"].as_u64()), (Some(30), Some(29), Some(1)), "{c}");
    assert_eq!(c["not_examined"][0]["id"].as_str(), Some(cut.as_str()), "{c}");
    let reason = c["not_examined"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("truncated"), "{c}");
    let req = requirement(&folder, "LAT-VALID");
    assert!(["PASS", "FAIL"].contains(&req["verdict"].as_str().unwrap()), "{req}");
    assert!(req["note"].as_str().unwrap().ends_with(&format!("; timed on 29 of 30 frames examined; not examined: {cut} ({reason})")), "{req}");
    assert!(req["evidence"].as_array().unwrap().iter().any(|e| e == "/suites/latency/frame_coverage"), "{req}");
}

/// `aite run` on the same dataset: each suite records the frames of its own first N it could not
/// decode, the robustness requirements on them are NOT_TESTED, the latency ones keep their verdict.
#[test]
fn run_names_the_undecodable_frame_in_every_suite_that_reached_it() {
    let dir = tempfile::tempdir().unwrap();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-reference/assets");
    let (csv, cut) = cut_dataset(dir.path());
    let cfg = dir.path().join("aite.toml");
    std::fs::write(
        &cfg,
        format!(
            "schema = \"aite.config/v1\"\nprofile = \"reference-terminal\"\nout = \"runs\"\n\n[declared]\ntop1_accuracy = 0.5\nfps = 200\n\n[target]\nmodel = \"{}\"\nreference_model = \"{}\"\n\n[dataset]\npath = \"{}\"\npreprocess = \"digits8\"\n\n[suites.latency]\nduration_ms = 200\nmin_queries = 64\n\n[suites.periodic]\nidle_ms = 20.0\nmin_queries = 60\n\n[suites.robustness]\nconsistency_frames = 20\nseverities = [3]\ncorruption_frames = 20\nattack_frames = 5\nattack_budget = 50\n\n[suites.security]\nenabled = false\n",
            assets.join("digits_cnn_int8_qdq.onnx").display(),
            assets.join("digits_cnn_fp32.onnx").display(),
            csv.display()
        ),
    )
    .unwrap();
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--db").arg(dir.path().join("history.sqlite3")));
    let folder = run_folder(&dir.path().join("runs"));
    let res = results(&folder);
    let s = &res["suites"];
    // The first 20 frames of consistency and corruptions reach the fifth sample, so do the attacks' first 5; latency's 64 are all 29.
    for (name, frames) in [("repeatability", 21), ("agreement", 21), ("corruptions", 21), ("attack_square_linf", 6), ("attack_spsa_linf", 6), ("attack_worst_case", 6), ("latency", 30), ("latency_periodic", 30)] {
        let c = &s[name]["frame_coverage"];
        assert_eq!((c["frames"].as_u64(), c["examined"].as_u64()), (Some(frames), Some(frames - 1)), "{name}: {c}\n{}", r.stderr);
        assert_eq!(c["not_examined"][0]["id"].as_str(), Some(cut.as_str()), "{name}: {c}");
    }
    assert_eq!(s["accuracy"]["missing_samples"], 1, "{}", s["accuracy"]);
    let reason = s["corruptions"]["frame_coverage"]["not_examined"][0]["reason"].as_str().unwrap().to_string();
    for (id, suite, of) in [("ROB-REPEATABILITY", "repeatability", "20 of 21"), ("ROB-AGREEMENT", "agreement", "20 of 21"), ("ROB-CORRUPTION-DROP", "corruptions", "20 of 21"), ("ROB-SQUARE", "attack_square_linf", "5 of 6"), ("ROB-WORST-CASE", "attack_worst_case", "5 of 6")] {
        let req = requirement(&folder, id);
        assert_eq!(req["verdict"], "NOT_TESTED", "{id}: {req}");
        assert_eq!(req["why"].as_str().unwrap(), format!("suite `{suite}` is incomplete: {of} frames examined; not examined: {cut} ({reason})"), "{id}: {req}");
    }
    for id in ["LAT-VALID", "LAT-E2E-PERIOD"] {
        let req = requirement(&folder, id);
        assert!(req["note"].as_str().unwrap().contains(&format!("timed on 29 of 30 frames examined; not examined: {cut}")), "{id}: {req}");
        assert!(!req["why"].as_str().unwrap_or_default().contains("frames examined"), "{id}: {req}");
    }
}

/// Shards of a sweep on the cut dataset merge with the frame still named: `aite merge` keeps each
/// suite's `frame_coverage` (every shard read the same frames), so the merge is not judged complete.
#[test]
fn merged_shards_keep_the_frame_not_examined() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let (csv, cut) = cut_dataset(dir.path());
    let mut parts = vec![];
    for shard in ["0/2", "1/2"] {
        let out = dir.path().join(format!("shard{}", &shard[..1]));
        let r = run(aite()
            .args(["robustness", "-p", "digits8", "--samples", "30", "--corruptions", "gaussian_noise", "--severities", "3", "--attacks", "square-linf,noise-linf", "--attack-samples", "8", "--queries", "40", "--noise-queries", "10", "--shard", shard, "-m"])
            .arg(&model)
            .arg("-d")
            .arg(&csv)
            .arg("--out")
            .arg(&out));
        // 1: a consistency check of this shard did not pass; the shard is written either way.
        assert!([0, 1].contains(&r.code), "{}\n{}", r.stdout, r.stderr);
        parts.push(run_folder(&out));
    }
    let merged_out = dir.path().join("merged");
    let r = run(aite().arg("merge").args(&parts).arg("--out").arg(&merged_out));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let merged = run_folder(&merged_out);
    let res = results(&merged);
    for (name, frames) in [("repeatability", 30), ("corruptions", 30), ("attack_square_linf", 9)] {
        let c = &res["suites"][name]["frame_coverage"];
        assert_eq!((c["frames"].as_u64(), c["examined"].as_u64()), (Some(frames), Some(frames - 1)), "{name}: {c}");
        assert_eq!(c["not_examined"][0]["id"].as_str(), Some(cut.as_str()), "{name}: {c}");
    }
    run(aite().arg("assess").arg(&merged).args(["--profile", "reference-terminal", "--json"]));
    let req = requirement(&merged, "ROB-REPEATABILITY");
    assert_eq!(req["verdict"], "NOT_TESTED", "{req}");
    assert!(req["why"].as_str().unwrap().starts_with(&format!("suite `repeatability` is incomplete: 29 of 30 frames examined; not examined: {cut} (")), "{req}");
}

/// A detector on its own frames, one cut: the detector sweep, the vanishing attack and the
/// detection consistency checks name the frame, and ROB-DET-VANISH is NOT_TESTED with it.
#[test]
fn detector_robustness_names_the_frame_not_examined() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("digit_detector_fp32.onnx");
    std::fs::write(&model, aite_reference::DETECTOR_FP32).unwrap();
    let frames = dir.path().join("scenes");
    std::fs::create_dir(&frames).unwrap();
    for (i, s) in aite_reference::scenes().iter().take(8).enumerate() {
        let png = if i == 1 { &s.png[..s.png.len() / 2] } else { s.png };
        std::fs::write(frames.join(format!("s{i:03}.png")), png).unwrap();
    }
    let out = dir.path().join("runs");
    let r = run(aite()
        .args(["robustness", "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&frames)
        .args(["-p", "resize=64x64,color=gray,scale=0.00392156862745098", "--task", "reference-detector", "--samples", "8", "--corruptions", "gaussian_noise", "--severities", "3"])
        .args(["--attacks", "square-linf", "--attack-samples", "4", "--queries", "20", "--profile", "reference-terminal", "--out"])
        .arg(&out));
    assert!(r.stderr.contains("warning: skipped s001.png: "), "{}\n{}", r.stdout, r.stderr);
    let folder = run_folder(&out);
    let res = results(&folder);
    for (name, n) in [("detection_corruptions", 8), ("detector_attack_square_linf", 5), ("detection_repeatability", 8)] {
        let c = &res["suites"][name]["frame_coverage"];
        assert_eq!((c["frames"].as_u64(), c["examined"].as_u64()), (Some(n), Some(n - 1)), "{name}: {c}\n{}", r.stderr);
        assert_eq!(c["not_examined"][0]["id"].as_str(), Some("s001.png"), "{name}: {c}");
    }
    let reason = res["suites"]["detector_attack_square_linf"]["frame_coverage"]["not_examined"][0]["reason"].as_str().unwrap().to_string();
    let req = requirement(&folder, "ROB-DET-VANISH");
    assert_eq!(req["verdict"], "NOT_TESTED", "{req}");
    assert_eq!(req["why"].as_str().unwrap(), format!("suite `detector_attack_square_linf` is incomplete: 4 of 5 frames examined; not examined: s001.png ({reason})"), "{req}");
}
