//! Model artifact examination for every format the scan recognises (pickle,
//! NumPy, zip/PyTorch, Keras, ONNX, TFLite...), by name and first bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &["model.pt", "weights.npy", "weights.npz", "model.keras", "model.h5", "model.onnx", "model.tflite", "archive.zip", "model.bin", "model.7z", "blob"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let path = NAMES[pick as usize % NAMES.len()];
    if let Some(format) = aite_security::models::detect(path, &bytes[..bytes.len().min(32)]) {
        let a = aite_security::models::examine(path, format, bytes);
        let _ = aite_security::models::findings(&a);
        let _ = aite_security::models::is_model(path, format);
    }
});
