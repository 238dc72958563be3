//! What one query does: bare inference on prepared tensors, or a full frame
//! (decode, preprocess, inference, postprocess) for end-to-end latency.

use aite_data::{decode, PreprocessSpec};
use aite_target::{top_k, Target, TargetError, Tensor};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// The work a query performs on one sample.
pub enum Workload {
    /// Preprocessed input sets: measures bare inference (stage `inference` only).
    Tensors(Vec<Vec<Tensor>>),
    /// Encoded frames with the spec that prepares them: end to end, "frame in to result out".
    Frames {
        frames: Vec<(String, Arc<[u8]>)>,
        spec: PreprocessSpec,
    },
}

/// Which latency the run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyMode {
    Inference,
    EndToEnd,
}

impl Workload {
    pub fn len(&self) -> usize {
        match self {
            Workload::Tensors(t) => t.len(),
            Workload::Frames { frames, .. } => frames.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn mode(&self) -> LatencyMode {
        match self {
            Workload::Tensors(_) => LatencyMode::Inference,
            Workload::Frames { .. } => LatencyMode::EndToEnd,
        }
    }

    /// Run sample `ix` once; returns `[decode, preprocess, inference, postprocess]` in ns.
    pub(crate) fn run(&self, target: &mut dyn Target, ix: usize) -> Result<[u64; 4], TargetError> {
        match self {
            Workload::Tensors(sets) => {
                let set = sets.get(ix).ok_or_else(|| no_sample(target, ix))?;
                let t0 = Instant::now();
                let out = target.infer(set)?;
                let t1 = Instant::now();
                std::hint::black_box(&out);
                Ok([0, 0, (t1 - t0).as_nanos() as u64, 0])
            }
            Workload::Frames { frames, spec } => {
                let (id, bytes) = frames.get(ix).ok_or_else(|| no_sample(target, ix))?;
                let t0 = Instant::now();
                let image = decode(id, bytes, spec.color).map_err(|e| TargetError::InputMismatch {
                    target: target.info().name.clone(),
                    reason: e.to_string(),
                })?;
                let t1 = Instant::now();
                let tensor = spec.to_tensor(&image).map_err(|e| TargetError::InputMismatch {
                    target: target.info().name.clone(),
                    reason: e.to_string(),
                })?;
                let t2 = Instant::now();
                let out = target.infer(std::slice::from_ref(&tensor))?;
                let t3 = Instant::now();
                std::hint::black_box(postprocess(&out));
                let t4 = Instant::now();
                let ns = |a: Instant, b: Instant| (b - a).as_nanos() as u64;
                Ok([ns(t0, t1), ns(t1, t2), ns(t2, t3), ns(t3, t4)])
            }
        }
    }
}

fn no_sample(target: &dyn Target, ix: usize) -> TargetError {
    TargetError::InputMismatch { target: target.info().name.clone(), reason: format!("the workload has no sample {ix}") }
}

/// Classification postprocess: top-5 of the first output; for non-classifier
/// outputs, the index of the largest value (a stand-in for task decoding).
fn postprocess(outputs: &[Tensor]) -> Option<usize> {
    let first = outputs.first()?;
    match top_k(first, 5) {
        Ok(best) => best.first().map(|b| b.0),
        Err(_) => {
            let v = first.to_f32_vec();
            (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b]))
        }
    }
}
