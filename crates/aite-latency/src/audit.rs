//! Caching audit, after LoadGen's TEST04: a target that answers a repeated input
//! much faster than distinct inputs is caching results, and its latency figures
//! do not describe real frames.

use crate::workload::Workload;
use aite_target::{Target, TargetError};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Outcome of the caching audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachingAudit {
    pub queries_each: usize,
    pub distinct_mean_ms: f64,
    pub repeated_mean_ms: f64,
    /// `1 - repeated / distinct`: how much faster the repeated sample was.
    pub speedup_fraction: f64,
    /// 0.10, or 0.20 when the distinct mean is at most 0.2 ms (TEST04 rule).
    pub threshold: f64,
    pub passed: bool,
}

/// Every sample is timed twice: once after a *different* sample (distinct) and
/// once immediately after *itself* (repeated). Both sets cover the same samples,
/// so per-sample cost differences cancel and only reuse of the previous answer
/// (result caching) makes the repeated set faster.
pub fn caching_audit(target: &mut dyn Target, workload: &Workload, queries_each: usize) -> Result<CachingAudit, TargetError> {
    let n = queries_each.max(2);
    let len = workload.len();
    let (mut distinct, mut repeated) = (0u128, 0u128);
    for i in 0..n {
        let ix = i % len;
        // Distinct: precede with another sample (when the workload has one).
        workload.run(target, (ix + 1) % len)?;
        let t = Instant::now();
        workload.run(target, ix)?;
        distinct += t.elapsed().as_nanos();
        // Repeated: the same sample again, back to back.
        let t = Instant::now();
        workload.run(target, ix)?;
        repeated += t.elapsed().as_nanos();
    }
    let d = distinct as f64 / n as f64 / 1e6;
    let r = repeated as f64 / n as f64 / 1e6;
    let speedup = if d > 0.0 { 1.0 - r / d } else { 0.0 };
    let threshold = if d <= 0.2 { 0.20 } else { 0.10 };
    Ok(CachingAudit {
        queries_each: n,
        distinct_mean_ms: d,
        repeated_mean_ms: r,
        speedup_fraction: speedup,
        threshold,
        passed: speedup <= threshold,
    })
}
