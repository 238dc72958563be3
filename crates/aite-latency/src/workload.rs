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
            Workload::Frames { .. } => {
                let (tensor, decode_ns, preprocess_ns) = self.prepare(target, ix)?;
                let t2 = Instant::now();
                let out = target.infer(std::slice::from_ref(&tensor))?;
                let t3 = Instant::now();
                std::hint::black_box(postprocess(&out));
                Ok([decode_ns, preprocess_ns, ns(t2, t3), ns(t3, Instant::now())])
            }
        }
    }

    /// Run samples `ixs` as one wave of concurrent inferences
    /// ([`Target::infer_concurrent`]); per sample `[decode, preprocess, inference,
    /// postprocess]` in ns, where inference is the wave's time (every sample was in flight
    /// for all of it). Frames are decoded and preprocessed one by one before the wave.
    pub(crate) fn run_wave(&self, target: &mut dyn Target, ixs: &[usize]) -> Result<Vec<[u64; 4]>, TargetError> {
        let mut stages = Vec::with_capacity(ixs.len());
        let mut prepared = Vec::new();
        let sets: Vec<&[Tensor]> = match self {
            Workload::Tensors(sets) => {
                for &ix in ixs {
                    stages.push([0, 0, 0, 0]);
                    sets.get(ix).ok_or_else(|| no_sample(target, ix))?;
                }
                ixs.iter().map(|&ix| sets[ix].as_slice()).collect()
            }
            Workload::Frames { .. } => {
                for &ix in ixs {
                    let (tensor, decode_ns, preprocess_ns) = self.prepare(target, ix)?;
                    stages.push([decode_ns, preprocess_ns, 0, 0]);
                    prepared.push(tensor);
                }
                prepared.iter().map(std::slice::from_ref).collect()
            }
        };
        let t0 = Instant::now();
        let outs = target.infer_concurrent(&sets);
        let wave_ns = ns(t0, Instant::now());
        if outs.len() != sets.len() {
            return Err(TargetError::Inference {
                target: target.info().name.clone(),
                reason: format!("{} concurrent queries gave {} answers", sets.len(), outs.len()),
            });
        }
        for (st, out) in stages.iter_mut().zip(outs) {
            let out = out?;
            st[2] = wave_ns;
            if matches!(self, Workload::Frames { .. }) {
                let t = Instant::now();
                std::hint::black_box(postprocess(&out));
                st[3] = ns(t, Instant::now());
            } else {
                std::hint::black_box(&out);
            }
        }
        Ok(stages)
    }

    /// Decode and preprocess frame `ix`: the tensor and both stage times in ns.
    fn prepare(&self, target: &dyn Target, ix: usize) -> Result<(Tensor, u64, u64), TargetError> {
        let Workload::Frames { frames, spec } = self else {
            return Err(no_sample(target, ix));
        };
        let (id, bytes) = frames.get(ix).ok_or_else(|| no_sample(target, ix))?;
        let mismatch = |reason: String| TargetError::InputMismatch { target: target.info().name.clone(), reason };
        let t0 = Instant::now();
        let image = decode(id, bytes, spec.color).map_err(|e| mismatch(e.to_string()))?;
        let t1 = Instant::now();
        let tensor = spec.to_tensor(&image).map_err(|e| mismatch(e.to_string()))?;
        Ok((tensor, ns(t0, t1), ns(t1, Instant::now())))
    }
}

fn ns(a: Instant, b: Instant) -> u64 {
    (b - a).as_nanos() as u64
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
