//! Latency drift over a run: thermal throttling shows up as a rising trend.

use serde::{Deserialize, Serialize};

/// Trend of latency against time within one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Least-squares slope of latency (ms) against completion time (minutes).
    pub slope_ms_per_minute: f64,
    /// Median latency of the first and last 10% of queries (ms).
    pub first_window_p50_ms: f64,
    pub last_window_p50_ms: f64,
    /// `last / first`; above ~1.1 on a long run suggests throttling.
    pub last_to_first_ratio: f64,
}

/// `points` are `(completion time in ns since start, latency in ns)` in issue order.
pub fn drift(points: &[(u64, u64)]) -> Option<Drift> {
    if points.len() < 10 {
        return None;
    }
    let n = points.len() as f64;
    let xs: Vec<f64> = points.iter().map(|p| p.0 as f64 / 60e9).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1 as f64 / 1e6).collect();
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let w = (points.len() / 10).max(1);
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let first = median(&ys[..w]);
    let last = median(&ys[ys.len() - w..]);
    Some(Drift {
        slope_ms_per_minute: slope,
        first_window_p50_ms: first,
        last_window_p50_ms: last,
        last_to_first_ratio: if first > 0.0 { last / first } else { 1.0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_rising_latency() {
        // Latency grows 1 ms per minute: one query per second for 10 minutes.
        let pts: Vec<(u64, u64)> = (0..600).map(|s| (s * 1_000_000_000, 10_000_000 + s * 1_000_000 / 60)).collect();
        let d = drift(&pts).unwrap();
        assert!((d.slope_ms_per_minute - 1.0).abs() < 1e-6, "{d:?}");
        assert!(d.last_to_first_ratio > 1.5);
    }

    #[test]
    fn flat_run_has_no_drift() {
        let pts: Vec<(u64, u64)> = (0..100).map(|i| (i * 1000, 5_000_000)).collect();
        let d = drift(&pts).unwrap();
        assert_eq!(d.slope_ms_per_minute, 0.0);
        assert_eq!(d.last_to_first_ratio, 1.0);
        assert!(drift(&pts[..5]).is_none());
    }
}
