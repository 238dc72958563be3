//! Issue 9, Evidence: `aite inspect` names the files an ONNX model keeps its weights in,
//! with their SHA-256, as the evidence of every command records them.

mod common;
use common::*;

fn field(out: &mut Vec<u8>, num: u64, wire: u64, body: &[u8]) {
    let mut key = (num << 3) | wire;
    while key >= 0x80 {
        out.push(key as u8 | 0x80);
        key >>= 7;
    }
    out.push(key as u8);
    if wire == 2 {
        out.push(body.len() as u8); // every body here is shorter than 128 bytes
    }
    out.extend_from_slice(body);
}

/// ModelProto { ir_version 8, graph { initializer w (3 x uint8) in `model.onnx.data` } }.
fn model_with_external_weights() -> Vec<u8> {
    let mut t = Vec::new();
    field(&mut t, 1, 0, &[3]); // dims [3]
    field(&mut t, 2, 0, &[2]); // UINT8
    field(&mut t, 8, 2, b"w");
    for (k, v) in [("location", "model.onnx.data"), ("offset", "0"), ("length", "3")] {
        let mut entry = Vec::new();
        field(&mut entry, 1, 2, k.as_bytes());
        field(&mut entry, 2, 2, v.as_bytes());
        field(&mut t, 13, 2, &entry);
    }
    field(&mut t, 14, 0, &[1]); // data_location EXTERNAL
    let mut g = Vec::new();
    field(&mut g, 5, 2, &t);
    field(&mut g, 2, 2, b"g");
    let mut m = Vec::new();
    field(&mut m, 1, 0, &[8]);
    field(&mut m, 7, 2, &g);
    m
}

#[test]
fn inspect_lists_external_data_files_with_their_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.onnx");
    std::fs::write(&model, model_with_external_weights()).unwrap();
    std::fs::write(dir.path().join("model.onnx.data"), b"abc").unwrap();
    // SHA-256("abc"), the FIPS 180-2 example.
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let r = run(aite().arg("inspect").arg(&model));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let line = format!("  weights in   {} (3 bytes, sha256 {abc})", dir.path().join("model.onnx.data").display());
    assert!(r.stdout.lines().any(|l| l == line), "{}", r.stdout);
    let r = run(aite().arg("inspect").arg(&model).arg("--json"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["external_data"][0]["sha256"], abc, "{v}");
    assert_eq!(v["external_data"][0]["size_bytes"], 3);
    // Without the weights file the model cannot be described whole: an error naming the file.
    std::fs::remove_file(dir.path().join("model.onnx.data")).unwrap();
    let r = run(aite().arg("inspect").arg(&model));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("model.onnx.data") && !r.stderr.contains("panicked"), "{}", r.stderr);
}
