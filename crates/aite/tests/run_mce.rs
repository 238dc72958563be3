//! `aite run` reports mCE when the ImageNet-C protocol holds, and says why not otherwise
//! (issue 13): the sweep's `mce_status` through the whole pipeline, on cheap configs.
//!
//! - MobileNetV2 (1001 ImageNet classes, ../shared) on 2 imagenet-sample frames, all 15
//!   ImageNet-C corruptions x 5 severities: mCE reported with its bootstrap interval, every
//!   cell at the model input and saved as JPEG q85 (make_imagenet_c.py's last step).
//! - The same model at one severity: not reported, only `incomplete` (not
//!   `not_imagenet_labels`: `aite run` used to pass alexnet=false whatever the model).
//! - The digits reference terminal (10 classes): `not_imagenet_labels`, and no JPEG save.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// A config running only what the corruption sweep needs, quickly; `dataset` is a CSV.
fn config(dir: &Path, model: &Path, dataset: &Path, preprocess: &str, robustness: &str) -> PathBuf {
    let text = format!(
        r#"schema = "aite.config/v1"
profile = "reference-terminal"
out = "runs"

[target]
model = "{model}"

[dataset]
path = "{dataset}"
preprocess = "{preprocess}"

[suites.latency]
enabled = false

[suites.periodic]
enabled = false

[suites.security]
enabled = false

[suites.robustness]
consistency_frames = 1
repeats = 1
attack_frames = 1
attack_budget = 4
{robustness}
"#,
        model = model.display(),
        dataset = dataset.display(),
    );
    let path = dir.join("aite.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The results.json of one `aite run`.
fn run_results(cfg: &Path, dir: &Path) -> serde_json::Value {
    let r = run(aite().arg("run").arg("-c").arg(cfg).arg("--no-history"));
    assert!(r.code >= 0 && r.code != 2, "aite run: {}\n{}", r.code, r.stderr);
    results(&run_folder(&dir.join("runs")))
}

/// The sweep of one `aite run`.
fn sweep(cfg: &Path, dir: &Path) -> serde_json::Value {
    run_results(cfg, dir)["suites"]["corruptions"].clone()
}

/// The first `n` imagenet-sample images as a CSV manifest with absolute paths; `val_names`:
/// through symlinks in `dir` named as ILSVRC-2012 validation files (mCE's dataset rule is by name).
fn imagenet_manifest(assets: &Path, dir: &Path, n: usize) -> PathBuf {
    imagenet_manifest_named(assets, dir, n, true)
}

fn imagenet_manifest_named(assets: &Path, dir: &Path, n: usize, val_names: bool) -> PathBuf {
    let root = assets.join("data/imagenet-sample");
    let text = std::fs::read_to_string(root.join("labels.csv")).unwrap();
    let mut out = String::from("path,label\n");
    for (i, line) in text.lines().skip(1).take(n).enumerate() {
        let mut cols = line.split(',');
        let (path, label) = (cols.next().unwrap(), cols.next().unwrap());
        let mut image = root.join(path);
        if val_names {
            let link = dir.join(format!("ILSVRC2012_val_{:08}.JPEG", i + 1));
            std::os::unix::fs::symlink(&image, &link).unwrap();
            image = link;
        }
        out.push_str(&format!("{},{label}\n", image.display()));
    }
    let p = dir.join("labels.csv");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn aite_run_reports_mce_when_all_15_by_5_cells_run_on_imagenet_labels() {
    let Some(a) = shared_assets() else { return };
    let model = a.join("models/imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx");
    let dir = tempfile::tempdir().unwrap();
    let labels = imagenet_manifest(&a, dir.path(), 2);
    let cfg = config(dir.path(), &model, &labels, "imagenet-tf224", "corruptions = \"imagenet-c\"\ncorruption_frames = 2\n");
    let res = run_results(&cfg, dir.path());
    // Both baseline JPEGs decoded by the libjpeg-exact decoder, for the frames and for accuracy.
    for tally in [&res["decoders"], &res["suites"]["accuracy"]["decoders"]] {
        assert_eq!((tally["libjpeg_exact"].as_u64(), tally["jpeg_fallback"].as_u64(), tally["lossless"].as_u64()), (Some(2), Some(0), Some(0)), "{tally}");
    }
    let c = &res["suites"]["corruptions"];
    assert_eq!(c["mce_status"]["status"], "reported", "{}", c["mce_status"]);
    assert_eq!(c["mce_status"]["interval"]["method"], "bootstrap_over_images");
    let mce = &c["mce"];
    assert!(mce["value"].as_f64().unwrap() > 0.0 && mce["ci95_low"].as_f64().unwrap() <= mce["value"].as_f64().unwrap(), "{mce}");
    let cells = c["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 75);
    assert!(cells.iter().all(|cell| cell["placement"] == "input" && cell["saved_as_jpeg"] == 85), "{cells:?}");
    assert_eq!(c["options"]["imagenet_c_jpeg"], "auto");
    assert_eq!(c["options"]["dataset"], serde_json::json!({ "kind": "imagenet_val", "samples": 2 }));
}

/// Review finding (mCE outside ImageNet): the same 1001-class model, all 15 x 5 cells, on the
/// same images under their own names (not ILSVRC-2012 val files): mCE withheld, naming a sample.
#[test]
fn aite_run_withholds_mce_on_images_that_are_not_imagenet_val() {
    let Some(a) = shared_assets() else { return };
    let model = a.join("models/imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx");
    let dir = tempfile::tempdir().unwrap();
    let labels = imagenet_manifest_named(&a, dir.path(), 1, false);
    let cfg = config(dir.path(), &model, &labels, "imagenet-tf224", "corruptions = \"imagenet-c\"\ncorruption_frames = 1\n");
    let c = sweep(&cfg, dir.path());
    assert_eq!(c["mce_status"]["status"], "not_reported", "{}", c["mce_status"]);
    let reasons = c["mce_status"]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0]["condition"], "not_imagenet_val");
    assert!(reasons[0]["sample"].as_str().unwrap().ends_with("n01440764_tench.JPEG"), "{reasons:?}");
    assert!(c["mce"].is_null() && c["summaries"].as_array().unwrap().iter().all(|s| s["ce"].is_null()));
}

#[test]
fn aite_run_names_the_unmet_condition_when_mce_is_not_reported() {
    let Some(a) = shared_assets() else { return };
    let model = a.join("models/imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx");
    let dir = tempfile::tempdir().unwrap();
    let labels = imagenet_manifest(&a, dir.path(), 1);
    let cfg = config(dir.path(), &model, &labels, "imagenet-tf224", "corruptions = \"imagenet-c\"\nseverities = [3]\ncorruption_frames = 1\n");
    let c = sweep(&cfg, dir.path());
    assert_eq!(c["mce_status"]["status"], "not_reported", "{}", c["mce_status"]);
    let reasons = c["mce_status"]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "only the missing severities, not the labels: {reasons:?}");
    assert_eq!(reasons[0]["condition"], "incomplete");
    assert_eq!(reasons[0]["corruptions"].as_array().unwrap().len(), 15);
    assert!(c["mce"].is_null());
}

#[test]
fn aite_run_on_a_ten_class_terminal_says_the_labels_are_not_imagenet() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let labels = reference_dataset(dir.path(), 10);
    let cfg = config(dir.path(), &model, &labels, "digits8", "corruptions = \"imagenet-c\"\ncorruption_frames = 4\n");
    let res = run_results(&cfg, dir.path());
    // The digits are PNGs: lossless, the same in every decoder.
    assert_eq!(res["decoders"]["lossless"].as_u64(), Some(10), "{}", res["decoders"]);
    let c = &res["suites"]["corruptions"];
    let reasons = c["mce_status"]["reasons"].as_array().unwrap();
    assert!(reasons.iter().any(|r| r["condition"] == "not_imagenet_labels"), "{reasons:?}");
    // No ImageNet labels: auto leaves make_imagenet_c.py's JPEG save off.
    assert!(c["cells"].as_array().unwrap().iter().all(|cell| cell["saved_as_jpeg"].is_null()));
}
