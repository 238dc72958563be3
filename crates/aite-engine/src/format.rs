//! Recognising model files and hashing them.

use aite_target::TargetError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Container format of a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    Onnx,
    Tflite,
}

impl ModelFormat {
    /// Decide the format from the file's magic bytes, falling back to its extension.
    pub fn detect(path: &Path) -> Result<ModelFormat, TargetError> {
        let mut head = [0u8; 8];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| load_error(path, &e.to_string()))?;
        if n == 0 {
            return Err(load_error(path, "the file is empty"));
        }
        if n >= 8 && &head[4..8] == b"TFL3" {
            return Ok(ModelFormat::Tflite);
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("tflite") => Ok(ModelFormat::Tflite),
            _ => Ok(ModelFormat::Onnx),
        }
    }
}

pub(crate) fn load_error(path: &Path, reason: &str) -> TargetError {
    TargetError::Load {
        path: path.to_path_buf(),
        reason: reason.to_string(),
        hint: "check the path and that the file is a complete .onnx or .tflite model".into(),
    }
}

/// SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 of bytes in memory, lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
