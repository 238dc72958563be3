//! LoadGen's early-stopping criterion (confidence 0.99, tolerance 0).
//!
//! Treat each query as a Bernoulli trial "latency above the true p-th percentile".
//! With `t` queries observed above a candidate bound, `h(t)` is the smallest number
//! of queries *below* it such that the binomial tail says, with confidence `c`,
//! that the true percentile is not above the bound: the smallest `h` with
//! `I_{p-d}(h, t+1) <= 1-c` (regularized incomplete beta), found by binary search.

use serde::{Deserialize, Serialize};
use statrs::function::beta::beta_reg;

/// Confidence LoadGen uses.
pub const CONFIDENCE: f64 = 0.99;
/// Tolerance LoadGen uses.
pub const TOLERANCE: f64 = 0.0;

/// Smallest `h` with `I_{p-d}(h, t+1) <= 1 - c`.
pub fn queries_needed_below(t: u64, percentile: f64, confidence: f64, tolerance: f64) -> u64 {
    let x = percentile - tolerance;
    let ok = |h: u64| h > 0 && beta_reg(h as f64, (t + 1) as f64, x) <= 1.0 - confidence;
    // Exponential search for an upper bound, then binary search.
    let mut hi = 1u64;
    while !ok(hi) {
        hi *= 2;
        if hi > 1 << 40 {
            return u64::MAX;
        }
    }
    let mut lo = hi / 2; // !ok(lo) unless lo == 0
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Fewest queries for which early stopping can give any estimate (64 for p90, 662 for p99).
pub fn min_queries(percentile: f64) -> u64 {
    queries_needed_below(1, percentile, CONFIDENCE, TOLERANCE) + 1
}

/// Outcome of early stopping for single-stream style scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingEstimate {
    pub percentile: f64,
    pub queries: u64,
    /// Queries needed before any estimate exists.
    pub min_queries: u64,
    /// Number of highest samples `t` the estimate stands on (`x[n-t]` is reported).
    pub overlatency_count: Option<u64>,
    /// The early-stopping latency estimate (ms); `None` when too few queries.
    pub estimate_ms: Option<f64>,
}

/// Single/multi-stream: the largest `t` with `n >= h(t) + t`, reporting `x[n-t]`
/// of the ascending `sorted` latencies (ns).
pub fn single_stream_estimate(sorted: &[u64], percentile: f64) -> EarlyStoppingEstimate {
    let n = sorted.len() as u64;
    // `h(t) + t` grows with `t`, so the largest admissible `t` is found by bisection.
    let fits = |t: u64| queries_needed_below(t, percentile, CONFIDENCE, TOLERANCE).saturating_add(t) <= n;
    let best = if n == 0 || !fits(1) {
        None
    } else {
        let (mut lo, mut hi) = (1u64, n + 1); // fits(lo), !fits(hi)
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    };
    EarlyStoppingEstimate {
        percentile,
        queries: n,
        min_queries: min_queries(percentile),
        overlatency_count: best,
        estimate_ms: best.map(|t| sorted[(n - t) as usize] as f64 / 1e6),
    }
}

/// Server: with `over` of `n` queries above the latency bound, does early stopping
/// confirm that the `percentile` latency is within the bound?
pub fn server_passes(n: u64, over: u64, percentile: f64) -> bool {
    let h = queries_needed_below(over, percentile, CONFIDENCE, TOLERANCE);
    n >= h.saturating_add(over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_query_counts_match_loadgen() {
        assert_eq!(min_queries(0.90), 64);
        assert_eq!(min_queries(0.99), 662);
        assert_eq!(min_queries(0.999), 6636);
    }

    #[test]
    fn p90_estimates_match_published_examples() {
        let sorted: Vec<u64> = (0..100).map(|i| i * 1_000_000).collect();
        let e = single_stream_estimate(&sorted, 0.90);
        assert_eq!(e.estimate_ms, Some(97.0), "n=100 reports x[97]");
        let sorted: Vec<u64> = (0..1000).map(|i| i * 1_000_000).collect();
        let e = single_stream_estimate(&sorted, 0.90);
        assert_eq!(e.estimate_ms, Some(922.0), "n=1000 reports x[922]");
    }

    #[test]
    fn too_few_queries_give_no_estimate() {
        let sorted: Vec<u64> = (0..63).collect();
        assert_eq!(single_stream_estimate(&sorted, 0.90).estimate_ms, None);
        let sorted: Vec<u64> = (0..64).collect();
        assert_eq!(single_stream_estimate(&sorted, 0.90).overlatency_count, Some(1));
    }

    #[test]
    fn server_criterion() {
        assert!(server_passes(662, 1, 0.99));
        assert!(!server_passes(661, 1, 0.99));
        assert!(!server_passes(1000, 50, 0.99));
    }
}
