//! Latency percentiles and moments, with LoadGen's percentile definition.

use serde::{Deserialize, Serialize};

/// The percentiles every latency summary reports.
pub const REPORTED_PERCENTILES: [f64; 6] = [0.50, 0.90, 0.95, 0.97, 0.99, 0.999];

/// LoadGen's percentile: sort ascending and take `x[floor(n * p)]` (0-based),
/// clamped to the last sample. `sorted` must be sorted ascending and non-empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    let idx = ((sorted.len() as f64) * p).floor() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Summary of a set of latencies, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: usize,
    pub min_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// Population standard deviation.
    pub stddev_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p97_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

pub(crate) fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl LatencySummary {
    /// Summarise latencies given in nanoseconds. Returns `None` for no samples.
    pub fn from_ns(samples: &[u64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let n = sorted.len() as f64;
        let mean = sorted.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = sorted.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let p = |q| ms(percentile(&sorted, q));
        Some(LatencySummary {
            count: sorted.len(),
            min_ms: ms(sorted[0]),
            max_ms: ms(*sorted.last().expect("non-empty")),
            mean_ms: mean / 1e6,
            stddev_ms: var.sqrt() / 1e6,
            p50_ms: p(0.50),
            p90_ms: p(0.90),
            p95_ms: p(0.95),
            p97_ms: p(0.97),
            p99_ms: p(0.99),
            p999_ms: p(0.999),
        })
    }

    /// The reported value for one of [`REPORTED_PERCENTILES`].
    pub fn at(&self, p: f64) -> Option<f64> {
        let table = [
            (0.50, self.p50_ms),
            (0.90, self.p90_ms),
            (0.95, self.p95_ms),
            (0.97, self.p97_ms),
            (0.99, self.p99_ms),
            (0.999, self.p999_ms),
        ];
        table.iter().find(|(q, _)| (q - p).abs() < 1e-9).map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadgen_percentile_index() {
        // n = 100, p90 -> x[90] (LoadGen, ORT, OpenVINO), not x[89].
        let xs: Vec<u64> = (0..100).collect();
        assert_eq!(percentile(&xs, 0.90), 90);
        assert_eq!(percentile(&xs, 0.50), 50);
        assert_eq!(percentile(&xs, 0.999), 99);
        assert_eq!(percentile(&[7], 0.99), 7);
    }

    #[test]
    fn summary_moments() {
        let s = LatencySummary::from_ns(&[1_000_000, 3_000_000]).unwrap();
        assert_eq!(s.mean_ms, 2.0);
        assert_eq!(s.stddev_ms, 1.0);
        assert_eq!(s.min_ms, 1.0);
        assert_eq!(s.max_ms, 3.0);
        assert_eq!(s.at(0.5), Some(3.0));
        assert!(LatencySummary::from_ns(&[]).is_none());
    }
}
