//! Bad input gets a clear error naming the file or key, a documented exit code, and no panic.

mod common;
use common::*;

fn assert_clean_failure(r: &Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains(needle), "stderr should mention `{needle}`: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn missing_model_names_the_path() {
    let r = run(aite().args(["latency", "-m", "/no/such/model.onnx"]));
    assert_clean_failure(&r, 3, "/no/such/model.onnx");
    let r = run(aite().args(["inspect", "/no/such/model.onnx"]));
    assert_clean_failure(&r, 3, "/no/such/model.onnx");
}

#[test]
fn corrupt_and_truncated_models_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"\x08\x07this is not protobuf at all \xff\xff\xff").unwrap();
    assert_clean_failure(&run(aite().args(["latency", "-m"]).arg(&garbage)), 3, "garbage.onnx");
    let cut = dir.path().join("cut.onnx");
    std::fs::write(&cut, &aite_reference::MODEL_FP32[..aite_reference::MODEL_FP32.len() / 2]).unwrap();
    assert_clean_failure(&run(aite().args(["latency", "-m"]).arg(&cut)), 3, "cut.onnx");
    assert_clean_failure(&run(aite().arg("inspect").arg(&cut)), 3, "cut.onnx");
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    assert_clean_failure(&run(aite().arg("inspect").arg(&empty)), 3, "empty");
}

#[test]
fn unsupported_operator_names_the_model_and_suggests_engine() {
    let dir = tempfile::tempdir().unwrap();
    // Same-length rename keeps the protobuf valid: Relu -> Rel0 (no such operator).
    let mut bytes = aite_reference::MODEL_FP32.to_vec();
    let pos = bytes.windows(4).position(|w| w == b"Relu").unwrap();
    bytes[pos + 3] = b'0';
    let m = dir.path().join("unknown-op.onnx");
    std::fs::write(&m, bytes).unwrap();
    let r = run(aite().args(["latency", "-m"]).arg(&m));
    assert_clean_failure(&r, 3, "unknown-op.onnx");
    assert!(r.stderr.contains("hint"), "{}", r.stderr);
}

#[test]
fn preprocessing_that_does_not_fit_the_model_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let csv = reference_dataset(dir.path(), 5);
    let r = run(aite().args(["accuracy", "-p", "resize=9x9,color=gray", "-m"]).arg(&model).arg("-d").arg(&csv).arg("--out").arg(dir.path().join("o")));
    assert_clean_failure(&r, 3, "[batch,1,8,8]");
    assert!(r.stderr.contains("hint"));
    let r = run(aite().args(["latency", "-p", "resize=8x8", "-m"]).arg(&model).arg("-d").arg(&csv).arg("--out").arg(dir.path().join("o")));
    assert_clean_failure(&r, 3, "input `input`");
}

#[test]
fn unknown_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let csv = reference_dataset(dir.path(), 3);
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, "resize = \"8x8\"\ncolour = \"gray\"\n").unwrap();
    let r = run(aite().arg("accuracy").arg("-p").arg(&spec).arg("-m").arg(&model).arg("-d").arg(&csv));
    assert_clean_failure(&r, 3, "colour");
    let r = run(aite().args(["accuracy", "-p", "resize=8x8,scael=2", "-m"]).arg(&model).arg("-d").arg(&csv));
    assert_clean_failure(&r, 3, "scael");
    let settings = dir.path().join("settings.toml");
    std::fs::write(&settings, "min_queries = 10\nmin_duraton_ms = 5\n").unwrap();
    let r = run(aite().arg("latency").arg("--settings").arg(&settings).arg("-m").arg(&model));
    assert_clean_failure(&r, 3, "min_duraton_ms");
    let r = run(aite().args(["accuracy", "-p", "imagenet-tf999", "-m"]).arg(&model).arg("-d").arg(&csv));
    assert_clean_failure(&r, 3, "known presets");
}

#[test]
fn empty_dataset_and_missing_labels_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = run(aite().args(["accuracy", "-m"]).arg(&model).arg("-d").arg(&empty));
    assert_clean_failure(&r, 3, "has no images");
    let r = run(aite().args(["accuracy", "-m"]).arg(&model));
    assert_clean_failure(&r, 3, "--dataset");
    let r = run(aite().args(["latency", "--end-to-end", "-m"]).arg(&model));
    assert_clean_failure(&r, 3, "--dataset");
}

#[test]
fn unwritable_output_folder_is_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let blocker = dir.path().join("file-not-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let r = run(aite().args(["latency", "--min-duration-ms", "0", "--min-queries", "64", "-m"]).arg(&model).arg("--out").arg(&blocker));
    assert_clean_failure(&r, 5, "file-not-dir");
}

#[cfg(not(feature = "ort"))]
#[test]
fn ort_engine_without_feature_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let r = run(aite().args(["latency", "--engine", "ort", "-m"]).arg(&model));
    assert_clean_failure(&r, 4, "--features ort");
}

#[test]
fn corruption_accuracy_without_labels_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let csv = reference_dataset(dir.path(), 6);
    // Keep the paths, drop the labels.
    let text = std::fs::read_to_string(&csv).unwrap();
    let unlabelled: String = text.lines().skip(1).map(|l| format!("{},\n", l.split(',').next().unwrap())).collect();
    let bare = csv.with_file_name("unlabelled.csv");
    std::fs::write(&bare, unlabelled).unwrap();
    let r = run(aite()
        .args(["robustness", "-p", "digits8", "--no-consistency", "--corruptions", "fog", "--attacks", "none", "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&bare)
        .arg("--out")
        .arg(dir.path().join("runs")));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("has no label") && r.stderr.contains("--corruptions none"), "{}", r.stderr);
}
