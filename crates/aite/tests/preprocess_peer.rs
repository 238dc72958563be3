//! The `imagenet-tf224` preset against its reference pipeline written in numpy
//! (`tests/peers/preprocess_peer.py`: TF central crop box, float64 half-pixel
//! bilinear, floor(x + 0.5) to uint8, (x - 128) / 128) with onnxruntime on the
//! reference side, on all 1000 imagenet-sample images and MobileNetV2 fp32.
//! Skips with a message without ../shared or the peer virtualenv
//! (`AITE_PEER_PYTHON`), fails under `AITE_REQUIRE_PEERS=1`.

mod common;
use aite_data::{ColorOrder, Dataset, PreprocessSpec};
use common::*;
use std::path::Path;
use std::process::Command;

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers").join(name)
}

fn python_json(python: &Path, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = Command::new(python).args(args).output().expect("peer python runs");
    assert!(out.status.success(), "peer failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("peer printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// aite's top-1 per sample id from `aite accuracy --json`.
fn aite_top1(engine: &str, model: &Path, labels: &Path) -> std::collections::HashMap<String, u64> {
    let out = tempfile::tempdir().unwrap();
    let r = run(aite().args(["accuracy", "--json", "--engine", engine, "-p", "imagenet-tf224", "-m"]).arg(model).arg("-d").arg(labels).arg("--out").arg(out.path()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["suites"]["accuracy"]["predictions"].as_array().unwrap().iter().map(|p| (p["id"].as_str().unwrap().to_string(), p["top1"].as_u64().unwrap())).collect()
}

fn engines() -> Vec<&'static str> {
    if cfg!(feature = "ort") {
        vec!["tract", "ort"]
    } else {
        vec!["tract"]
    }
}

/// What one comparison found: samples, inputs identical to the reference's, and the
/// top-1 agreement per engine.
struct Agreement {
    samples: usize,
    same_input: usize,
    top1: Vec<(&'static str, usize)>,
}

/// Compare aite's `imagenet-tf224` with the numpy reference on every row of `labels`:
/// the uint8 224x224 inputs (SHA-256), the normalised tensors of 15 rows (max abs
/// difference, asserted <= 1e-6 when `exact`), and top-1 on MobileNetV2 fp32.
fn compare(py: &Path, model: &Path, labels: &Path, exact: bool) -> Agreement {
    let ds = Dataset::from_manifest(labels).unwrap();
    let n = ds.samples.len();
    let reference = python_json(py, &[script("preprocess_peer.py").as_os_str(), "top1".as_ref(), model.as_os_str(), labels.as_os_str(), n.to_string().as_ref(), "224".as_ref()]);
    let reference = reference["images"].as_array().unwrap().clone();
    assert_eq!(reference.len(), n);
    let spec = PreprocessSpec::preset("imagenet-tf224").unwrap();
    let dump = tempfile::tempdir().unwrap();
    let mut same_input = 0;
    let mut differing = vec![];
    for (i, (s, r)) in ds.samples.iter().zip(&reference).enumerate() {
        assert_eq!(s.id, r["id"].as_str().unwrap());
        let img = aite_data::decode(&s.id, &s.bytes().unwrap(), ColorOrder::Rgb).unwrap();
        let g = spec.geometry(&img).unwrap();
        let bytes: Vec<u8> = g.data.iter().map(|&v| v as u8).collect();
        if aite_engine::sha256_bytes(&bytes) == r["sha256"].as_str().unwrap() {
            same_input += 1;
        } else {
            differing.push(s.id.clone());
        }
        if i < 8 || i % 125 == 0 {
            let t = spec.to_tensor(&img).unwrap().to_f32_vec();
            let raw: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(dump.path().join(format!("{i}.f32")), raw).unwrap();
        }
    }
    eprintln!("{}: preprocessed inputs identical to the reference: {same_input}/{n}", labels.display());
    if exact {
        assert_eq!(same_input, n, "inputs differ from the reference for {differing:?}");
        let diffs = python_json(py, &[script("preprocess_peer.py").as_os_str(), "tensors".as_ref(), labels.as_os_str(), "224".as_ref(), dump.path().as_os_str()]);
        let diffs = diffs["max_abs_diff"].as_object().unwrap();
        assert_eq!(diffs.len(), 15);
        let max = diffs.iter().map(|(row, d)| d.as_f64().unwrap_or_else(|| panic!("row {row}: tensor sizes differ"))).fold(0.0, f64::max);
        eprintln!("max abs tensor difference over 15 rows: {max:e}");
        assert!(max <= 1e-6, "max abs tensor difference {max}");
    }
    let top1 = engines()
        .into_iter()
        .map(|engine| {
            let ours = aite_top1(engine, model, labels);
            let agree = reference.iter().filter(|r| ours.get(r["id"].as_str().unwrap()) == r["top1"].as_u64().as_ref()).count();
            eprintln!("{engine}: top-1 equal to the reference on {agree}/{n}");
            (engine, agree)
        })
        .collect();
    Agreement { samples: n, same_input, top1 }
}

/// Both sides start from the pixels PIL decodes (written as PNG, read exactly by both):
/// the preset itself must then be bit-exact and give the same answer on every image.
#[test]
fn imagenet_tf224_is_bit_exact_with_the_reference_pipeline_on_all_1000_images() {
    let (Some(a), Some(py)) = (shared_assets(), peer_python()) else { return };
    let work = tempfile::tempdir().unwrap();
    python_json(&py, &[script("preprocess_peer.py").as_os_str(), "png".as_ref(), a.join("data/imagenet-sample/labels.csv").as_os_str(), "1000".as_ref(), work.path().as_os_str()]);
    let r = compare(&py, &a.join("models/imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx"), &work.path().join("labels.csv"), true);
    assert_eq!((r.samples, r.same_input), (1000, 1000));
    for (engine, agree) in r.top1 {
        assert_eq!(agree, 1000, "{engine}");
    }
}

/// On the original JPEGs: aite's baseline JPEG decoder is bit-exact with PIL's
/// libjpeg-turbo (islow IDCT, fancy upsampling; aite-data's jpeg_peer test), so the
/// inputs are identical and so is every answer.
#[test]
fn imagenet_tf224_on_the_jpegs_is_bit_exact_with_the_reference_pipeline() {
    let (Some(a), Some(py)) = (shared_assets(), peer_python()) else { return };
    let r = compare(&py, &a.join("models/imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx"), &a.join("data/imagenet-sample/labels.csv"), true);
    assert_eq!((r.samples, r.same_input), (1000, 1000));
    for (engine, agree) in r.top1 {
        assert_eq!(agree, 1000, "{engine}");
    }
}
