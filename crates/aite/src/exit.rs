//! Exit codes, documented in `aite --help`.

use aite_accuracy::AccuracyError;
use aite_data::DataError;
use aite_evidence::EvidenceError;
use aite_latency::LatencyError;
use aite_target::TargetError;

/// The process exit codes aite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Ran to completion and every result is VALID.
    Ok = 0,
    /// Ran to completion but a result is INVALID (e.g. too few queries, latency bound missed).
    Invalid = 1,
    /// Command-line usage error (clap's own code).
    #[allow(dead_code)]
    Usage = 2,
    /// A model, dataset, image, spec or config file is missing or malformed.
    Input = 3,
    /// The engine or device failed or is unavailable.
    Target = 4,
    /// Evidence could not be written.
    Evidence = 5,
    /// The security scan could not examine the whole input (regions, containers
    /// or entries listed in the evidence): no rule passed.
    Incomplete = 6,
    /// The evidence package does not verify: changed, missing or extra files, a
    /// signature that does not verify with the key, or a missing or malformed envelope.
    NotVerified = 10,
    /// Interrupted by Ctrl-C; partial results were written.
    Interrupted = 130,
}

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    ran to completion and every result is VALID
  1    ran to completion but a result is INVALID (reasons are printed and in results.json)
  2    command-line usage error
  3    bad input: a model, dataset, image, preprocessing spec or settings file is missing or malformed
  4    the engine or device failed or is not available
  5    evidence could not be written to --out
  6    the security scan is incomplete: part of the input (listed in the output and in
       results.json security.gaps) was not examined, so no rule passed
  `aite run` and `aite assess` exit with the overall verdict of the assessment:
       0 PASS, 1 FAIL, 7 INCONCLUSIVE, 8 NOT_TESTED (something was not measured),
       9 ERROR (a suite failed or its results could not be read)
  10   `aite verify`: the evidence package does not verify (a file changed, is missing or was
       added, the signature does not verify with the key, or the envelope is missing or malformed)
  130  interrupted by Ctrl-C; the part that ran was written as evidence";

fn target_code(e: &TargetError) -> Exit {
    match e {
        TargetError::Load { .. } | TargetError::InputMismatch { .. } => Exit::Input,
        TargetError::EngineUnavailable { .. } | TargetError::Inference { .. } | TargetError::Crashed { .. } => Exit::Target,
    }
}

/// A command-line value that makes no sense (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Map an error chain to its exit code.
pub fn classify(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<TargetError>() {
            return target_code(e) as u8;
        }
        if cause.downcast_ref::<DataError>().is_some() {
            return Exit::Input as u8;
        }
        if let Some(e) = cause.downcast_ref::<AccuracyError>() {
            return match e {
                AccuracyError::Target(t) => target_code(t),
                _ => Exit::Input,
            } as u8;
        }
        if let Some(e) = cause.downcast_ref::<LatencyError>() {
            return match e {
                LatencyError::Target(t) => target_code(t),
                _ => Exit::Input,
            } as u8;
        }
        if cause.downcast_ref::<crate::config::ConfigError>().is_some() || cause.downcast_ref::<aite_assessment::ProfileError>().is_some() {
            return Exit::Input as u8;
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return Exit::Usage as u8;
        }
        if let Some(e) = cause.downcast_ref::<aite_robustness::RobustnessError>() {
            return match e {
                aite_robustness::RobustnessError::Target(t) => target_code(t),
                _ => Exit::Input,
            } as u8;
        }
        if let Some(e) = cause.downcast_ref::<aite_security::UnpackError>() {
            return match e {
                aite_security::UnpackError::Io { .. } => Exit::Input,
                aite_security::UnpackError::Work { .. } => Exit::Evidence,
            } as u8;
        }
        if cause.downcast_ref::<aite_security::signing::SigningError>().is_some() || cause.downcast_ref::<aite_security::components::FeedError>().is_some() {
            return Exit::Input as u8;
        }
        if cause.downcast_ref::<aite_robustness::CheckpointError>().is_some() {
            return Exit::Evidence as u8;
        }
        if let Some(e) = cause.downcast_ref::<aite_evidence::AttestError>() {
            use aite_evidence::AttestError as A;
            return match e {
                A::Write { .. } => Exit::Evidence,
                A::Signer(_) => Exit::Usage,
                _ => Exit::Input,
            } as u8;
        }
        if cause.downcast_ref::<EvidenceError>().is_some() {
            return Exit::Evidence as u8;
        }
        if cause.downcast_ref::<toml::de::Error>().is_some() || cause.downcast_ref::<std::io::Error>().is_some() {
            return Exit::Input as u8;
        }
    }
    Exit::Input as u8
}
