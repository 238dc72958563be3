//! Why a remote target could not be set up.

use aite_target::RequestOutcome;

/// A remote target that could not be reached, is not ready, or describes a model aite cannot run.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("bad target URL `{url}`: {reason}\n  hint: oip+http://HOST:PORT/models/NAME[/versions/VERSION], cmd:PROGRAM [ARGS] for a wrapper program, or cmd+unix://PATH for a wrapper daemon on a Unix socket")]
    Url { url: String, reason: String },
    /// A request of the set-up failed (no answer, or an error status).
    #[error("{what} failed at {url}: {outcome}: {message}\n  hint: {hint}")]
    Request { what: &'static str, url: String, outcome: RequestOutcome, message: String, hint: &'static str },
    /// The model metadata does not say enough, or says something aite cannot run.
    #[error("model metadata of {url}: {reason}\n  hint: {hint}")]
    Metadata { url: String, reason: String, hint: String },
}
