//! The bundled reference terminal.
//!
//! `aite demo` evaluates this terminal with nothing but the binary: a small CNN
//! trained by `tools/reference-terminal/train.py` on scikit-learn's `digits`
//! (real 8x8 scans of handwritten digits), exported to ONNX in fp32 and int8
//! QDQ, plus 300 held-out labeled images. The training script records the
//! accuracies onnxruntime measured in `assets/reference.json`
//! ([`ReferenceFacts`]), which tests compare against.
//!
//! ```
//! let ds = aite_reference::dataset();
//! assert_eq!(ds.samples.len(), 300);
//! assert!(aite_reference::MODEL_FP32.len() > 1000);
//! ```

use aite_data::{Dataset, PreprocessSpec};
use include_dir::{include_dir, Dir};
use serde::Deserialize;
use std::sync::Arc;

/// fp32 ONNX model: input `input` [batch,1,8,8] (gray / 255), output `logits` [batch,10].
pub static MODEL_FP32: &[u8] = include_bytes!("../assets/digits_cnn_fp32.onnx");
/// The same model quantized to int8 QDQ by onnxruntime.
pub static MODEL_INT8_QDQ: &[u8] = include_bytes!("../assets/digits_cnn_int8_qdq.onnx");

static DIGITS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/digits");
static FACTS: &str = include_str!("../assets/reference.json");

/// Name used for the reference terminal in reports.
pub const NAME: &str = "aite reference terminal (digits CNN)";

/// Facts recorded when the model was trained.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceFacts {
    pub seed: u64,
    pub held_out: usize,
    pub train: usize,
    pub onnxruntime_version: String,
    pub accuracy_fp32: f64,
    pub correct_fp32: usize,
    pub accuracy_int8_qdq: f64,
    pub correct_int8_qdq: usize,
}

pub fn facts() -> ReferenceFacts {
    serde_json::from_str(FACTS).expect("reference.json is written by the training script")
}

/// The preprocessing the model was trained with.
pub fn preprocess() -> PreprocessSpec {
    PreprocessSpec::preset("digits8").expect("built-in preset")
}

/// The held-out images, in manifest order.
pub fn dataset() -> Dataset {
    let manifest = DIGITS
        .get_file("labels.csv")
        .and_then(|f| f.contents_utf8())
        .expect("labels.csv is embedded");
    let samples = manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split(',');
            let name = cols.next()?;
            let label = cols.next()?.parse().ok()?;
            let bytes = DIGITS.get_file(name)?.contents();
            Some((name.to_string(), Arc::<[u8]>::from(bytes), Some(label)))
        })
        .collect();
    Dataset::in_memory("reference:digits-held-out", samples, (0..10).map(|d| d.to_string()).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_manifest_row_is_embedded() {
        let ds = super::dataset();
        assert_eq!(ds.samples.len(), super::facts().held_out);
        assert!(ds.samples.iter().all(|s| s.label.is_some_and(|l| l < 10)));
    }
}
