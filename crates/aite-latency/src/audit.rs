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

/// Alternate blocks of distinct and repeated queries so both see the same machine state.
pub fn caching_audit(target: &mut dyn Target, workload: &Workload, queries_each: usize) -> Result<CachingAudit, TargetError> {
    let n = queries_each.max(2);
    let (mut distinct, mut repeated) = (0u128, 0u128);
    let block = 8usize;
    let mut done = 0;
    let mut next_distinct = 0usize;
    while done < n {
        let m = block.min(n - done);
        for _ in 0..m {
            let ix = next_distinct % workload.len();
            next_distinct += 1;
            let t = Instant::now();
            workload.run(target, ix)?;
            distinct += t.elapsed().as_nanos();
        }
        for _ in 0..m {
            let t = Instant::now();
            workload.run(target, 0)?;
            repeated += t.elapsed().as_nanos();
        }
        done += m;
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
