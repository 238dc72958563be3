//! Binomial proportions with Wilson score intervals.

use serde::{Deserialize, Serialize};

/// A measured proportion `successes / trials` with a 95% Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    pub successes: usize,
    pub trials: usize,
    pub value: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// Wilson score interval at 95% (z = 1.959964). Well-behaved at 0 and 1, unlike
/// the normal approximation, which matters for robust accuracies near zero.
pub fn wilson(successes: usize, trials: usize) -> Proportion {
    if trials == 0 {
        return Proportion { successes, trials, value: 0.0, ci95_low: 0.0, ci95_high: 1.0 };
    }
    let z = 1.959_963_984_540_054_f64;
    let n = trials as f64;
    let p = successes as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    Proportion {
        successes,
        trials,
        value: p,
        ci95_low: if successes == 0 { 0.0 } else { (centre - half).max(0.0) },
        ci95_high: if successes >= trials { 1.0 } else { (centre + half).min(1.0) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_example() {
        // 81 of 263: Wilson 95% CI (0.2553, 0.3662) (Newcombe 1998, example).
        let p = wilson(81, 263);
        assert!((p.ci95_low - 0.2553).abs() < 5e-4, "{p:?}");
        assert!((p.ci95_high - 0.3662).abs() < 5e-4, "{p:?}");
    }

    #[test]
    fn bounded_at_extremes() {
        let p = wilson(0, 10);
        assert_eq!(p.ci95_low, 0.0);
        assert!(p.ci95_high > 0.2 && p.ci95_high < 0.35);
        assert_eq!(wilson(10, 10).ci95_high, 1.0);
    }
}
