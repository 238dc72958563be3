//! Errors a target can return.

use std::path::PathBuf;

/// Why a target could not be created or could not run an inference.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The model file could not be read or parsed.
    #[error("cannot load model {path}: {reason}\n  hint: {hint}")]
    Load {
        path: PathBuf,
        reason: String,
        hint: String,
    },
    /// The engine needed for this target is not available on this machine.
    #[error("engine `{engine}` is not available: {reason}\n  hint: {hint}")]
    EngineUnavailable {
        engine: String,
        reason: String,
        hint: String,
    },
    /// The inputs do not match what the target accepts.
    #[error("input mismatch for {target}: {reason}\n  hint: check the preprocessing spec (size, layout, dtype) against `aite inspect`")]
    InputMismatch { target: String, reason: String },
    /// The engine failed while running an inference.
    #[error("inference failed on {target}: {reason}")]
    Inference { target: String, reason: String },
    /// The engine crashed (panicked) while running an inference; the target may
    /// still answer later calls, and the crash is evidence in itself.
    #[error("the engine crashed on {target}: {reason}\n  hint: this is an engine defect on this input; report it with the input that caused it")]
    Crashed { target: String, reason: String },
}
