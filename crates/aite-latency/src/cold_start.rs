//! Cold start: how long until a freshly loaded model gives its first answer.

use crate::workload::Workload;
use aite_target::{Target, TargetError};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Load time and the first inferences after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    /// Loading, optimising and planning the model (ms).
    pub load_ms: f64,
    /// The first inference after load (ms).
    pub first_inference_ms: f64,
    /// The second inference, for comparison with the first (ms).
    pub second_inference_ms: f64,
    /// Measured in a process that had not run the model before.
    pub fresh_process: bool,
}

/// Measure `load` then two queries of sample 0 in this process.
pub fn cold_start(
    load: impl FnOnce() -> Result<Box<dyn Target>, TargetError>,
    workload: &Workload,
    fresh_process: bool,
) -> Result<ColdStart, TargetError> {
    let t0 = Instant::now();
    let mut target = load()?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    workload.run(target.as_mut(), 0)?;
    let first = t1.elapsed().as_secs_f64() * 1e3;
    let t2 = Instant::now();
    workload.run(target.as_mut(), 0)?;
    let second = t2.elapsed().as_secs_f64() * 1e3;
    Ok(ColdStart { load_ms, first_inference_ms: first, second_inference_ms: second, fresh_process })
}
