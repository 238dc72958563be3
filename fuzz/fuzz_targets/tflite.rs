//! TFLite flatbuffers: the security scan's custom-op walker and `aite inspect`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let a = aite_security::models::examine("model.tflite", "tflite", data);
    let _ = aite_security::models::findings(&a);
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("model.tflite");
    std::fs::write(&path, data).expect("write input");
    let _ = aite_engine::inspect(&path);
});
