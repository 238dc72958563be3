//! Which remote target a URL names, and connecting to it: `oip+http://…` (REST), `cmd:…`
//! (a wrapper program), `cmd+unix://PATH` (a wrapper daemon on a Unix socket), `oip+grpc://…`
//! (gRPC, feature `grpc`).

use crate::{CommandTarget, OipTarget, OipUrl, RemoteError, RemoteOptions};
use aite_target::Target;
use std::time::Duration;

/// Whether `text` names a remote target (a URL scheme aite reaches over the network or a
/// wrapper program) rather than a model file.
pub fn is_target_url(text: &str) -> bool {
    text.starts_with("oip+") || is_command_url(text)
}

/// `cmd:PROGRAM …` or `cmd+unix://PATH`: a wrapper speaking aite-cmd/1.
fn is_command_url(text: &str) -> bool {
    text.starts_with("cmd:") || text.starts_with(crate::command::UNIX_SCHEME)
}

/// Check a target URL without connecting (for configuration files).
pub fn check_target_url(url: &str) -> Result<(), RemoteError> {
    if url.starts_with("cmd:") {
        crate::parse_command(url).map(|_| ())
    } else if url.starts_with("cmd+") {
        crate::parse_unix_socket(url).map(|_| ())
    } else if url.starts_with("oip+grpc://") {
        grpc_url(url)
    } else {
        OipUrl::parse(url).map(|_| ())
    }
}

#[cfg(feature = "grpc")]
fn grpc_url(url: &str) -> Result<(), RemoteError> {
    crate::parse_grpc_url(url).map(|_| ())
}

#[cfg(not(feature = "grpc"))]
fn grpc_url(url: &str) -> Result<(), RemoteError> {
    Err(RemoteError::Url { url: url.into(), reason: "gRPC is not built into this aite; build it with --features grpc, or use the REST endpoint (oip+http://)".into() })
}

/// Connect to the target `url` names.
pub fn connect(url: &str, options: &RemoteOptions) -> Result<Box<dyn Target>, RemoteError> {
    if is_command_url(url) {
        return Ok(Box::new(CommandTarget::connect_logged(url, options.timeout, options.input_shape.as_deref(), options.wrapper_log.clone())?));
    }
    if url.starts_with("oip+grpc://") {
        grpc_url(url)?;
        #[cfg(feature = "grpc")]
        return Ok(Box::new(crate::GrpcTarget::connect(url, options)?));
    }
    Ok(Box::new(OipTarget::connect(url, options)?))
}

/// The model metadata the target answers, as bytes: what the evidence can pin of a model whose
/// file stays on the device. A command target is started (connected) for it and stopped again.
pub fn fetch_model_metadata(url: &str, timeout: Duration) -> Result<Vec<u8>, RemoteError> {
    if is_command_url(url) {
        let t = CommandTarget::connect(url, timeout, None)?;
        return Ok(serde_json::to_vec(t.metadata()).expect("a JSON value serialises"));
    }
    if url.starts_with("oip+grpc://") {
        grpc_url(url)?;
        #[cfg(feature = "grpc")]
        {
            let options = RemoteOptions { timeout, ..RemoteOptions::default() };
            let t = crate::GrpcTarget::connect(url, &options)?;
            return Ok(serde_json::to_vec(t.metadata()).expect("a JSON value serialises"));
        }
    }
    crate::oip::fetch_model_metadata(url, timeout)
}
