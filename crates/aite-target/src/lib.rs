//! The `Target` seam between suites and whatever runs a model.
//!
//! A *target* is anything that turns input tensors into output tensors: a local
//! ONNX/TFLite model on an engine (see `aite-engine`), a device's Open Inference
//! Protocol endpoint, or a vendor command. Suites (latency, accuracy, robustness)
//! only ever talk to [`Target`], so the same measurement runs unchanged against a
//! laptop engine and a camera on the bench.
//!
//! The crate owns a few small things:
//! - [`Tensor`]: a dense, row-major tensor with an owned buffer ([`TensorData`]).
//! - [`TargetInfo`]: what a target says about itself (engine, version, threads,
//!   input/output [`TensorSpec`]s), recorded verbatim in the evidence.
//! - [`NullTarget`]: a target that does no work, used to measure harness overhead.
//! - [`RequestCounts`]: how a remote target's requests ended ([`RequestOutcome`]), for
//!   the suites to report beside their measurements, and [`ServerStats`], the server's own
//!   time on them where it exposes it.
//!
//! ```
//! use aite_target::{NullTarget, Target, Tensor};
//! let mut t = NullTarget::new(vec![1, 10]);
//! let out = t.infer(&[Tensor::f32(vec![1, 4], vec![0.0; 4]).unwrap()]).unwrap();
//! assert_eq!(out[0].shape(), &[1, 10]);
//! ```

mod cancel;
mod error;
mod null;
mod requests;
mod scores;
mod server;
mod spec;
mod tensor;

pub use cancel::Cancel;
pub use error::TargetError;
pub use scores::top_k;
pub use null::NullTarget;
pub use requests::{RequestCounts, RequestOutcome};
pub use server::{PhaseTotal, ServerStats};
pub use spec::{DType, Dim, TargetInfo, TensorSpec};
pub use tensor::{element_count, Tensor, TensorData};

/// Something that runs inference: input tensors in, output tensors out.
///
/// Implementations must be deterministic in what they *report* (the
/// [`TargetInfo`]) and must never panic on bad input: a shape or dtype the
/// target cannot accept is a [`TargetError`].
pub trait Target: Send {
    /// Static facts about this target, recorded in the evidence.
    fn info(&self) -> &TargetInfo;

    /// Run one inference. `inputs` are in the order of [`TargetInfo::inputs`].
    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError>;

    /// Independent inferences the target keeps in flight at once through
    /// [`infer_concurrent`](Target::infer_concurrent); suites issue at most this many
    /// together. The conservative default, and what every local engine declares, is 1:
    /// one after another. Suites record the value they used in their evidence.
    fn concurrency(&self) -> usize {
        1
    }

    /// Run independent inferences together, at most [`concurrency`](Target::concurrency) of them;
    /// one result per query, in order. The default runs them one after another, which is
    /// right for `concurrency == 1`; a target declaring more overrides it to keep them in
    /// flight at once (a device endpoint with several request slots).
    fn infer_concurrent(&mut self, queries: &[&[Tensor]]) -> Vec<Result<Vec<Tensor>, TargetError>> {
        queries.iter().map(|q| self.infer(q)).collect()
    }

    /// How this target's requests ended so far, by kind, since it was created. `None`
    /// (the default, every local engine) means the target has no transport to fail.
    fn request_counts(&self) -> Option<RequestCounts> {
        None
    }

    /// A snapshot of the server's own cumulative statistics for this model. `None` (the
    /// default, every local engine): there is no server. `Some(Err(why))`: there is one, but
    /// it does not expose statistics (or the request for them failed), and `why` says so.
    fn server_stats(&mut self) -> Option<Result<ServerStats, String>> {
        None
    }
}

impl<T: Target + ?Sized> Target for Box<T> {
    fn info(&self) -> &TargetInfo {
        (**self).info()
    }
    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        (**self).infer(inputs)
    }
    fn concurrency(&self) -> usize {
        (**self).concurrency()
    }
    fn infer_concurrent(&mut self, queries: &[&[Tensor]]) -> Vec<Result<Vec<Tensor>, TargetError>> {
        (**self).infer_concurrent(queries)
    }
    fn request_counts(&self) -> Option<RequestCounts> {
        (**self).request_counts()
    }
    fn server_stats(&mut self) -> Option<Result<ServerStats, String>> {
        (**self).server_stats()
    }
}
