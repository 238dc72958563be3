//! Local inference engines behind the [`Target`](aite_target::Target) trait.
//!
//! Two engines turn a model file into a target:
//! - [`EngineKind::Tract`] (default): pure Rust `tract`, runs ONNX and float TFLite
//!   files, cross-compiles to ARM devices.
//! - [`EngineKind::OnnxRuntime`] (cargo feature `ort`): ONNX Runtime loaded at run time
//!   from `ORT_DYLIB_PATH` or an installed PyPI `onnxruntime` wheel.
//!
//! [`inspect`] describes a model file without running it (format, opsets, operator
//! histogram, parameter count, quantization style, SHA-256); [`external_data_files`]
//! names the files an ONNX model keeps its weights in.
//!
//! ```no_run
//! use aite_engine::{load_target, EngineKind, EngineOptions};
//! let target = load_target("resnet8.onnx".as_ref(), EngineKind::Tract, &EngineOptions::default())?;
//! println!("{} inputs", aite_target::Target::info(&target).inputs.len());
//! # Ok::<(), aite_target::TargetError>(())
//! ```

mod format;
mod guard;
mod inspect;
#[cfg(feature = "ort")]
mod onnxruntime;
mod tract;

pub use format::{sha256_bytes, sha256_file, ModelFormat};
pub use inspect::{external_data_files, inspect, ExternalData, GraphNode, ModelReport, Quantization};
pub use tract::TractTarget;

use aite_target::{Target, TargetError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which engine runs a local model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// tract (pure Rust), the default.
    Tract,
    /// ONNX Runtime, loaded dynamically (cargo feature `ort`).
    #[serde(rename = "ort")]
    OnnxRuntime,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Tract => "tract",
            EngineKind::OnnxRuntime => "ort",
        }
    }

    /// Whether this build of aite includes the engine.
    pub fn is_compiled_in(self) -> bool {
        match self {
            EngineKind::Tract => true,
            EngineKind::OnnxRuntime => cfg!(feature = "ort"),
        }
    }
}

/// How to configure an engine. Recorded in the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineOptions {
    /// Intra-op threads (1 = single-threaded, the reproducible default).
    pub threads: usize,
    /// Value for symbolic (dynamic) dimensions such as the batch axis.
    pub batch: usize,
    /// Full input shape override for the first input (for models with dynamic H/W).
    pub input_shape: Option<Vec<usize>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: 1,
            batch: 1,
            input_shape: None,
        }
    }
}

/// Load `path` on `engine` and return it as a boxed target.
pub fn load_target(
    path: &Path,
    engine: EngineKind,
    options: &EngineOptions,
) -> Result<Box<dyn Target>, TargetError> {
    match engine {
        EngineKind::Tract => Ok(Box::new(TractTarget::load(path, options)?)),
        #[cfg(feature = "ort")]
        EngineKind::OnnxRuntime => Ok(Box::new(onnxruntime::OrtTarget::load(path, options)?)),
        #[cfg(not(feature = "ort"))]
        EngineKind::OnnxRuntime => Err(TargetError::EngineUnavailable {
            engine: "ort".into(),
            reason: "this aite binary was built without the `ort` feature".into(),
            hint: "rebuild with `cargo install --path crates/aite --features ort` or use --engine tract".into(),
        }),
    }
}

/// Load a model from bytes already in memory (the embedded reference terminal).
pub fn load_target_from_bytes(
    name: &str,
    bytes: &[u8],
    engine: EngineKind,
    options: &EngineOptions,
) -> Result<Box<dyn Target>, TargetError> {
    match engine {
        EngineKind::Tract => Ok(Box::new(TractTarget::from_onnx_bytes(name, bytes, options)?)),
        #[cfg(feature = "ort")]
        EngineKind::OnnxRuntime => Ok(Box::new(onnxruntime::OrtTarget::from_bytes(
            name, bytes, options,
        )?)),
        #[cfg(not(feature = "ort"))]
        EngineKind::OnnxRuntime => load_target(Path::new(name), engine, options),
    }
}

/// Version string of the ONNX Runtime library that would be used, if it loads.
#[cfg(feature = "ort")]
pub use onnxruntime::locate_onnxruntime;
