//! Remote targets: models that run on a device or server aite reaches over the network.
//!
//! [`OipTarget`] speaks the Open Inference Protocol (KServe v2 / Triton) over plain
//! HTTP/1.1: it checks health by status code, reads the model metadata into a
//! [`TargetInfo`](aite_target::TargetInfo), and sends tensors as JSON or, when the
//! server advertises `binary_tensor_data`, as raw bytes. It implements
//! [`Target`](aite_target::Target), so every suite runs on it unchanged.
//!
//! [`CommandTarget`] runs a wrapper program around a vendor runtime (`cmd:PROGRAM [ARGS]`)
//! and speaks protocol `aite-cmd/1` on its stdin/stdout (its stderr kept in a [`WrapperLog`]
//! for the evidence), or speaks the same bytes to a wrapper daemon on a Unix stream socket
//! (`cmd+unix://PATH`): the same JSON headers and raw tensor bytes. With feature `grpc`, `GrpcTarget` speaks the same protocol over gRPC
//! (`oip+grpc://HOST:PORT/models/NAME`). [`connect`] picks the target a URL names.
//!
//! Nothing is lost: every request attempt is a [`RequestRecord`] with its
//! [`RequestOutcome`](aite_target::RequestOutcome) (ok, timeout, refused, reset,
//! truncated, HTTP 4xx/5xx, malformed), counted in
//! [`Target::request_counts`](aite_target::Target::request_counts). The one retry the
//! policy allows is for a reset of a reused kept-alive connection, and it is flagged.
//!
//! ```no_run
//! use aite_remote::{OipTarget, RemoteOptions};
//! use aite_target::{Target, Tensor};
//! let mut t = OipTarget::connect("oip+http://127.0.0.1:8000/models/resnet8", &RemoteOptions::default())?;
//! let out = t.infer(&[Tensor::f32(vec![1, 32, 32, 3], vec![0.0; 3072])?])?;
//! println!("{:?} {:?}", out[0].shape(), t.request_counts());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
mod command;
mod connect;
mod error;
#[cfg(feature = "grpc")]
mod grpc;
mod http;
mod oip;
mod url;

pub use codec::WireType;
pub use command::{parse_command, parse_unix_socket, CommandTarget, WrapperLog, PROTOCOL as COMMAND_PROTOCOL};
pub use error::RemoteError;
#[cfg(feature = "grpc")]
pub use grpc::{decode_response, parse_grpc_url, proto, triton_stats as grpc_triton_stats, GrpcTarget};
pub use connect::{check_target_url, connect, fetch_model_metadata, is_target_url};
pub use oip::{Endpoint, OipTarget, RemoteOptions, RequestRecord, Transfer};
pub use url::OipUrl;
