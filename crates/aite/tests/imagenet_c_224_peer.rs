//! The ImageNet-C protocol at 224x224 against the reference: MobileNetV2 fp32 on the
//! first imagenet-sample images, aite's sweep (`--corrupt-at` default: at the model
//! input) against imagecorruptions 1.1.2 applied to the same preprocessed 224x224
//! uint8 inputs and onnxruntime (`tests/peers/imagenet_c_224_peer.py`).
//!
//! Both sides read the images as PIL decodes them (written as PNG by
//! `preprocess_peer.py png`), so the inputs are bit-identical (see
//! preprocess_peer.rs) and only the corruptions differ. Tolerances per cell:
//! deterministic corruptions 1.5 points and jpeg_compression 1 point whatever the image
//! count (issue 13; at 40 images any difference fails), random ones their sampling
//! interval (1.96 standard errors of the difference of the two accuracies, plus one
//! image); the mean over the 15 within 1.5 points.
//!
//! The full sweep (200 images x 15 x 5) is `#[ignore]`d, about 30 min on two cores:
//! `AITE_PEER_PYTHON=target/peers-venv/bin/python cargo test -p aite --test imagenet_c_224_peer -- --ignored --nocapture`
//! The CI-sized one runs 40 images at severities 3 and 5.
//!
//! MobileNetV2 has ImageNet labels, so aite's default (`--imagenet-c-jpeg auto`) applies
//! make_imagenet_c.py's JPEG q85 save after each corruption; the reference script is
//! run with the same step (`q85`: PIL's own save and reload).

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const IMAGENET_C: [&str; 15] = [
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
];
const DETERMINISTIC: [&str; 6] = ["defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate", "jpeg_compression"];

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers").join(name)
}

fn peer(py: &Path, args: &[&std::ffi::OsStr]) {
    let out = Command::new(py).args(args).output().expect("peer python runs");
    assert!(out.status.success(), "peer failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Correct answers per `corruption-severity` cell (and `clean`) on each side.
fn sweep(py: &Path, assets: &Path, n: usize, severities: &str) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let work = tempfile::tempdir().unwrap();
    let pngs = work.path().join("pngs");
    peer(py, &[script("preprocess_peer.py").as_os_str(), "png".as_ref(), assets.join("data/imagenet-sample/labels.csv").as_os_str(), n.to_string().as_ref(), pngs.as_os_str()]);
    let labels = pngs.join("labels.csv");
    let model = assets.join("models/imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx");
    // The reference imagecorruptions knows only its own elastic parameterisation: aite's is offered as a named alternative.
    let kinds = IMAGENET_C.join(",");
    let ours_kinds = format!("{kinds},elastic_transform_imagecorruptions");
    let jsonl = work.path().join("reference.jsonl");
    peer(py, &[script("imagenet_c_224_peer.py").as_os_str(), model.as_os_str(), labels.as_os_str(), n.to_string().as_ref(), kinds.as_ref(), severities.as_ref(), jsonl.as_os_str(), "q85".as_ref()]);
    let mut theirs = BTreeMap::new();
    for line in std::fs::read_to_string(&jsonl).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let want = v["label"].as_u64().unwrap() + 1;
        *theirs.entry("clean".to_string()).or_insert(0) += (v["clean"].as_u64() == Some(want)) as usize;
        for (cell, top1) in v["cells"].as_object().unwrap() {
            *theirs.entry(cell.clone()).or_insert(0) += (top1.as_u64() == Some(want)) as usize;
        }
    }
    let out = work.path().join("runs");
    let engine = if cfg!(feature = "ort") { "ort" } else { "tract" };
    let r = run(aite()
        .args(["robustness", "--json", "--engine", engine, "-p", "imagenet-tf224", "--no-consistency", "--attacks", "none", "--samples", &n.to_string(), "--corruptions", &ours_kinds, "--severities", severities, "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&labels)
        .arg("--out")
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let c = &v["suites"]["corruptions"];
    let mut ours = BTreeMap::new();
    ours.insert("clean".to_string(), c["clean"]["successes"].as_u64().unwrap() as usize);
    for cell in c["cells"].as_array().unwrap() {
        assert_eq!(cell["placement"], "input", "{cell}");
        assert_eq!(cell["saved_as_jpeg"], 85, "{cell}");
        let name = cell["corruption"].as_str().unwrap().replace("elastic_transform_imagecorruptions", "elastic_transform@ic");
        ours.insert(format!("{name}-{}", cell["severity"]), cell["accuracy"]["successes"].as_u64().unwrap() as usize);
    }
    (ours, theirs)
}

/// Print the per-cell table and check the tolerances; returns the failures.
fn judge(n: usize, ours: &BTreeMap<String, usize>, theirs: &BTreeMap<String, usize>, severities: &[u8]) -> Vec<String> {
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    let mut failures = vec![];
    assert_eq!(ours["clean"], theirs["clean"], "clean accuracy must be identical: same inputs, same model");
    eprintln!("clean {:.1}% both; corruption: aite / reference per severity (points)", pct(ours["clean"]));
    let (mut sum_ours, mut sum_theirs, mut cells) = (0usize, 0usize, 0usize);
    let (mut max_deterministic, mut max_random) = (0f64, 0f64);
    for kind in IMAGENET_C {
        let mut row = format!("{kind:>18}");
        // elastic_transform: compare imagecorruptions' parameterisation with the reference.
        let ours_name = if kind == "elastic_transform" { "elastic_transform@ic" } else { kind };
        for s in severities {
            let (a, b) = (ours[&format!("{ours_name}-{s}")], theirs[&format!("{kind}-{s}")]);
            let also = if kind == "elastic_transform" { format!(" (ImageNet-C's {:.1})", pct(ours[&format!("{kind}-{s}")])) } else { String::new() };
            row.push_str(&format!("  s{s} {:5.1} / {:5.1}{also}", pct(a), pct(b)));
            sum_ours += a;
            sum_theirs += b;
            cells += 1;
            let diff = (pct(a) - pct(b)).abs();
            // Issue 13's figures, whatever n: a deterministic cell is the same computation on
            // the same pixels, so one image's difference at n = 40 (2.5 points) is a defect.
            let tolerance = if kind == "jpeg_compression" {
                1.0
            } else if DETERMINISTIC.contains(&kind) {
                1.5
            } else {
                let (p, q) = (a as f64 / n as f64, b as f64 / n as f64);
                100.0 * (1.96 * ((p * (1.0 - p) + q * (1.0 - q)) / n as f64).sqrt() + 1.0 / n as f64)
            };
            if DETERMINISTIC.contains(&kind) {
                max_deterministic = max_deterministic.max(diff);
            } else {
                max_random = max_random.max(diff);
            }
            if diff > tolerance + 1e-9 {
                failures.push(format!("{kind} s{s}: aite {:.1}% vs reference {:.1}% (tolerance {tolerance:.1} points)", pct(a), pct(b)));
            }
        }
        eprintln!("{row}");
    }
    let (ma, mb) = (100.0 * sum_ours as f64 / (cells * n) as f64, 100.0 * sum_theirs as f64 / (cells * n) as f64);
    eprintln!("mean over the 15: aite {ma:.2}% reference {mb:.2}%");
    eprintln!("largest cell difference: deterministic {max_deterministic:.1} points, random {max_random:.1} points");
    if (ma - mb).abs() > 1.5 {
        failures.push(format!("mean over the 15: aite {ma:.2}% vs reference {mb:.2}% (tolerance 1.5 points)"));
    }
    failures
}

#[test]
fn imagenet_c_at_224_agrees_with_imagecorruptions_on_40_images_at_severities_3_and_5() {
    let (Some(a), Some(py)) = (shared_assets(), peer_python()) else { return };
    let n = 40;
    let (ours, theirs) = sweep(&py, &a, n, "3,5");
    let failures = judge(n, &ours, &theirs, &[3, 5]);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
#[ignore = "about 30 min: the full 200 x 15 x 5 sweep on both sides"]
fn imagenet_c_at_224_agrees_with_imagecorruptions_on_200_images_every_cell() {
    let (Some(a), Some(py)) = (shared_assets(), peer_python()) else { return };
    let n = 200;
    let (ours, theirs) = sweep(&py, &a, n, "1,2,3,4,5");
    let failures = judge(n, &ours, &theirs, &[1, 2, 3, 4, 5]);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The tolerances themselves, on hand-made counts (no peer needed): one image at 40 is
/// 2.5 points, beyond a deterministic cell's 1.5; three images at 200 are 1.5 points, within
/// defocus_blur's 1.5 but beyond jpeg_compression's 1.
#[test]
fn judge_holds_deterministic_cells_to_the_issue_figures_whatever_the_image_count() {
    let cells = |n: usize, off: &[(&str, usize)]| {
        let mut m = BTreeMap::from([("clean".to_string(), n / 2)]);
        for kind in IMAGENET_C.iter().chain(["elastic_transform@ic"].iter()) {
            m.insert(format!("{kind}-3"), n / 4 + off.iter().find(|(k, _)| k == kind).map_or(0, |(_, d)| *d));
        }
        m
    };
    let one_at_40 = judge(40, &cells(40, &[("defocus_blur", 1)]), &cells(40, &[]), &[3]);
    assert_eq!(one_at_40.len(), 1, "{one_at_40:#?}");
    assert!(one_at_40[0].starts_with("defocus_blur s3") && one_at_40[0].contains("tolerance 1.5"), "{one_at_40:#?}");
    let three_at_200 = judge(200, &cells(200, &[("defocus_blur", 3), ("jpeg_compression", 3)]), &cells(200, &[]), &[3]);
    assert_eq!(three_at_200.len(), 1, "{three_at_200:#?}");
    assert!(three_at_200[0].starts_with("jpeg_compression s3") && three_at_200[0].contains("tolerance 1.0"), "{three_at_200:#?}");
    assert!(judge(200, &cells(200, &[("jpeg_compression", 2)]), &cells(200, &[]), &[3]).is_empty());
}
