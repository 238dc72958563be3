//! ONNX protobufs: `aite inspect` and the security scan's ONNX reading.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let a = aite_security::models::examine("model.onnx", "onnx", data);
    let _ = aite_security::models::findings(&a);
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, data).expect("write input");
    let _ = aite_engine::inspect(&path);
});
