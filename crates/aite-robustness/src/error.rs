//! Errors of the robustness suite.

use aite_data::DataError;
use aite_target::TargetError;

/// Why a robustness check could not run.
#[derive(Debug, thiserror::Error)]
pub enum RobustnessError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{check} needs at least one sample\n  hint: give a dataset with decodable images")]
    NoSamples { check: &'static str },
    #[error("{check}: {reason}\n  hint: {hint}")]
    Unsupported { check: &'static str, reason: String, hint: String },
    /// Stopped by the user (Ctrl-C) in the middle of a unit of work.
    #[error("interrupted")]
    Interrupted,
}
