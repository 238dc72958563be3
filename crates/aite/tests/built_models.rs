//! Issue 9 ("Every pass stands on evidence"), on ONNX models written here byte by byte:
//! external-data weights are part of the evidence, and batch invariance is tested against
//! a model that is *not* batch-invariant.

mod common;

use common::*;
use std::path::Path;

/// Just enough of the ONNX protobuf (onnx.proto3 field numbers) to write small models.
mod onnx {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn int(out: &mut Vec<u8>, field: u64, v: i64) {
        varint(out, field << 3);
        varint(out, v as u64);
    }

    fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        varint(out, field << 3 | 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    /// `(name, dims)` with `None` as the symbolic batch dimension `N` (float tensors).
    fn value_info(name: &str, dims: &[Option<i64>]) -> Vec<u8> {
        let mut shape = Vec::new();
        for d in dims {
            let mut dim = Vec::new();
            match d {
                Some(v) => int(&mut dim, 1, *v),
                None => bytes(&mut dim, 2, b"N"),
            }
            bytes(&mut shape, 1, &dim);
        }
        let mut tensor_type = Vec::new();
        int(&mut tensor_type, 1, 1); // FLOAT
        bytes(&mut tensor_type, 2, &shape);
        let mut type_proto = Vec::new();
        bytes(&mut type_proto, 1, &tensor_type);
        let mut vi = Vec::new();
        bytes(&mut vi, 1, name.as_bytes());
        bytes(&mut vi, 2, &type_proto);
        vi
    }

    pub enum Attr {
        Int(&'static str, i64),
        Ints(&'static str, Vec<i64>),
    }

    pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: &[Attr]) -> Vec<u8> {
        let mut n = Vec::new();
        inputs.iter().for_each(|i| bytes(&mut n, 1, i.as_bytes()));
        outputs.iter().for_each(|o| bytes(&mut n, 2, o.as_bytes()));
        bytes(&mut n, 4, op.as_bytes());
        for a in attrs {
            let mut attr = Vec::new();
            match a {
                Attr::Int(name, v) => {
                    bytes(&mut attr, 1, name.as_bytes());
                    int(&mut attr, 3, *v);
                    int(&mut attr, 20, 2); // INT
                }
                Attr::Ints(name, vs) => {
                    bytes(&mut attr, 1, name.as_bytes());
                    vs.iter().for_each(|v| int(&mut attr, 8, *v));
                    int(&mut attr, 20, 7); // INTS
                }
            }
            bytes(&mut n, 5, &attr);
        }
        n
    }

    /// A float initializer whose data lives in `location` (offset 0, `len` bytes).
    pub fn external_initializer(name: &str, dims: &[i64], location: &str, len: usize) -> Vec<u8> {
        let mut t = Vec::new();
        dims.iter().for_each(|d| int(&mut t, 1, *d));
        int(&mut t, 2, 1); // FLOAT
        bytes(&mut t, 8, name.as_bytes());
        for (k, v) in [("location", location.to_string()), ("offset", "0".into()), ("length", len.to_string())] {
            let mut entry = Vec::new();
            bytes(&mut entry, 1, k.as_bytes());
            bytes(&mut entry, 2, v.as_bytes());
            bytes(&mut t, 13, &entry);
        }
        int(&mut t, 14, 1); // data_location = EXTERNAL
        t
    }

    /// A model of opset 13: `nodes`, `initializers`, input `x` and output `y` with these dims.
    pub fn model(nodes: &[Vec<u8>], initializers: &[Vec<u8>], x: &[Option<i64>], y: &[Option<i64>]) -> Vec<u8> {
        let mut g = Vec::new();
        nodes.iter().for_each(|n| bytes(&mut g, 1, n));
        bytes(&mut g, 2, b"issue9");
        initializers.iter().for_each(|t| bytes(&mut g, 5, t));
        bytes(&mut g, 11, &value_info("x", x));
        bytes(&mut g, 12, &value_info("y", y));
        let mut m = Vec::new();
        int(&mut m, 1, 8); // ir_version
        bytes(&mut m, 2, b"aite-test");
        bytes(&mut m, 7, &g);
        let mut opset = Vec::new();
        int(&mut opset, 2, 13);
        bytes(&mut m, 8, &opset);
        m
    }
}

const DIGITS: [Option<i64>; 4] = [None, Some(1), Some(8), Some(8)];

fn sha256(bytes: &[u8]) -> String {
    aite_engine::sha256_bytes(bytes)
}

fn weights(seed: u32) -> Vec<u8> {
    (0..64 * 10u32).flat_map(|i| (((i * 7 + seed * 13) % 23) as f32 / 23.0 - 0.5).to_le_bytes()).collect()
}

/// `y = flatten(x) @ W`, W (64 x 10) in `model.onnx.data` as a PyTorch dynamo export keeps it.
fn write_external_data_model(dir: &Path, data: &[u8]) -> std::path::PathBuf {
    let model = onnx::model(
        &[onnx::node("Flatten", &["x"], &["f"], &[onnx::Attr::Int("axis", 1)]), onnx::node("MatMul", &["f", "W"], &["y"], &[])],
        &[onnx::external_initializer("W", &[64, 10], "model.onnx.data", data.len())],
        &DIGITS,
        &[None, Some(10)],
    );
    let path = dir.join("model.onnx");
    std::fs::write(&path, model).unwrap();
    std::fs::write(dir.join("model.onnx.data"), data).unwrap();
    path
}

fn accuracy_inputs(model: &Path, csv: &Path, out: &Path) -> Vec<serde_json::Value> {
    let r = run(aite().args(["accuracy", "-p", "digits8", "-m"]).arg(model).arg("-d").arg(csv).arg("--out").arg(out));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    results(&run_folder(out))["inputs"].as_array().unwrap().clone()
}

fn input<'a>(inputs: &'a [serde_json::Value], role: &str) -> Option<&'a serde_json::Value> {
    inputs.iter().find(|i| i["role"] == role)
}

/// Issue 9, Evidence: the weights of an external-data ONNX model and its signature are
/// inputs of the run, so swapping them changes the evidence.
#[test]
fn external_data_and_signature_are_hashed_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let csv = reference_dataset(dir.path(), 12);
    let models = dir.path().join("m");
    std::fs::create_dir(&models).unwrap();
    let data = weights(1);
    let model = write_external_data_model(&models, &data);
    std::fs::write(models.join("model.onnx.sig"), b"{\"bundle\": 1}").unwrap();

    let before = accuracy_inputs(&model, &csv, &dir.path().join("a"));
    let graph = input(&before, "model").expect("model input");
    assert_eq!(graph["sha256"], sha256(&std::fs::read(&model).unwrap()));
    let ext = input(&before, "model-external-data").unwrap_or_else(|| panic!("external data is an input: {before:?}"));
    assert!(ext["name"].as_str().unwrap().ends_with("model.onnx.data"), "{ext}");
    assert_eq!(ext["sha256"], sha256(&data), "SHA-256 of the weights file");
    let sig = input(&before, "model-signature").unwrap_or_else(|| panic!("signature is an input: {before:?}"));
    assert_eq!(sig["sha256"], sha256(b"{\"bundle\": 1}"));

    // Same graph file, other weights: tract runs it, and the evidence says it is another model.
    let swapped = weights(2);
    std::fs::write(models.join("model.onnx.data"), &swapped).unwrap();
    let after = accuracy_inputs(&model, &csv, &dir.path().join("b"));
    assert_eq!(input(&after, "model").unwrap()["sha256"], graph["sha256"]);
    assert_eq!(input(&after, "model-external-data").unwrap()["sha256"], sha256(&swapped));
    assert_ne!(input(&after, "model-external-data").unwrap()["sha256"], ext["sha256"]);
}

#[test]
fn missing_external_data_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = reference_dataset(dir.path(), 4);
    let model = write_external_data_model(dir.path(), &weights(1));
    std::fs::remove_file(dir.path().join("model.onnx.data")).unwrap();
    let r = run(aite().args(["accuracy", "-p", "digits8", "-m"]).arg(&model).arg("-d").arg(&csv).arg("--out").arg(dir.path().join("o")));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("model.onnx"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// Issue 9, Tests that can fail: batch invariance against a model whose answer depends on
/// the other samples of the batch (`y = x - mean over the batch`). Alone, every answer is 0;
/// in a batch of 2 it is half the difference of the two frames.
#[test]
fn batch_invariance_detects_a_batch_variant_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = reference_dataset(dir.path(), 8);
    let model = dir.path().join("batch_mean.onnx");
    let nodes = [
        onnx::node("ReduceMean", &["x"], &["m"], &[onnx::Attr::Ints("axes", vec![0]), onnx::Attr::Int("keepdims", 1)]),
        onnx::node("Sub", &["x", "m"], &["d"], &[]),
        onnx::node("Flatten", &["d"], &["y"], &[onnx::Attr::Int("axis", 1)]),
    ];
    std::fs::write(&model, onnx::model(&nodes, &[], &DIGITS, &[None, Some(64)])).unwrap();
    let out = dir.path().join("runs");
    let r = run(aite()
        .args(["robustness", "-p", "digits8", "--samples", "8", "--repeats", "2", "--check-batch", "2", "--corruptions", "none", "--attacks", "none", "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&csv)
        .arg("--out")
        .arg(&out));
    assert_eq!(r.code, 1, "a batch-variant model is not a passing run\n{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("NOT invariant"), "{}", r.stdout);
    let b = &results(&run_folder(&out))["suites"]["batch_invariance"];
    assert_eq!(b["within_tolerance"], false, "{b}");
    assert_eq!(b["samples"], 8);

    // Hand-computed: for consecutive pairs (a, b), max |a - (a + b) / 2| = max |a - b| / 2.
    let ds = aite_data::Dataset::open(&csv).unwrap();
    let spec = aite_data::PreprocessSpec::parse_cli("digits8").unwrap();
    let x: Vec<Vec<f32>> = ds.samples[..8]
        .iter()
        .map(|s| spec.to_tensor(&aite_data::decode(&s.id, &s.bytes().unwrap(), spec.color).unwrap()).unwrap().to_f32_vec())
        .collect();
    let expected = x.chunks(2).flat_map(|p| p[0].iter().zip(&p[1]).map(|(a, b)| (a - b).abs() / 2.0)).fold(0f32, f32::max);
    assert!(expected > 0.1, "the frames differ: {expected}");
    let got = b["max_abs_diff"].as_f64().unwrap() as f32;
    assert!((got - expected).abs() <= 1e-5 * expected.max(1.0), "max |diff| {got}, hand-computed {expected}");
}

/// The control: the bundled reference CNN is batch-invariant, and the same check says so.
#[test]
fn batch_invariance_accepts_the_batch_invariant_reference_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = reference_dataset(dir.path(), 8);
    let model = reference_model(dir.path());
    let out = dir.path().join("runs");
    let r = run(aite()
        .args(["robustness", "-p", "digits8", "--samples", "8", "--repeats", "2", "--check-batch", "2", "--corruptions", "none", "--attacks", "none", "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&csv)
        .arg("--out")
        .arg(&out));
    assert!(r.stdout.contains("batch invariance") && r.stdout.contains(": invariant"), "{}\n{}", r.stdout, r.stderr);
    let b = &results(&run_folder(&out))["suites"]["batch_invariance"];
    assert_eq!(b["within_tolerance"], true, "{b}");
}
