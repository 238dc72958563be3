//! Verdicts and the decision rules (ISO/IEC 17025 7.8.6): `simple` compares
//! the point estimate with the threshold; `guarded` passes only when the whole
//! 95% interval passes, fails only when it wholly fails, and otherwise is
//! INCONCLUSIVE with the sample size that would decide at the observed rate.

use crate::profile::Comparator;
use serde::{Deserialize, Serialize};

/// The conclusion on one requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    /// The interval straddles the threshold.
    Inconclusive,
    NotApplicable { why: String },
    /// The measurement is missing or incomplete.
    NotTested { why: String },
    /// The measurement exists but could not be read.
    Error { cause: String },
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::NotApplicable { .. } => "NOT_APPLICABLE",
            Verdict::NotTested { .. } => "NOT_TESTED",
            Verdict::Error { .. } => "ERROR",
        }
    }

    /// The justification of a verdict that is neither PASS, FAIL nor INCONCLUSIVE.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::NotApplicable { why } | Verdict::NotTested { why } => Some(why),
            Verdict::Error { cause } => Some(cause),
            _ => None,
        }
    }
}

/// A 95% interval; a bound is `None` when the results do not give one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub method: String,
}

/// How many trials would decide an INCONCLUSIVE proportion if the observed rate held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoreSamples {
    /// Trials in total at which the Wilson interval clears the threshold.
    pub trials: u64,
    /// Trials beyond those already run.
    pub additional: u64,
    pub observed_rate: f64,
    /// The verdict the interval would then give.
    pub would_be: String,
}

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959963984540054;

/// Wilson score interval for `successes` of `trials` (as `f64`, so a projected rate may be fractional).
pub fn wilson(successes: f64, trials: f64, z: f64) -> (f64, f64) {
    if trials <= 0.0 {
        return (0.0, 1.0);
    }
    let p = successes / trials;
    let z2 = z * z;
    let denom = 1.0 + z2 / trials;
    let centre = (p + z2 / (2.0 * trials)) / denom;
    let half = z / denom * (p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Guarded decision on an interval: which side of `threshold` it lies wholly on.
/// A missing bound never decides towards its side.
pub fn guarded(comparator: Comparator, low: Option<f64>, high: Option<f64>, threshold: f64) -> Verdict {
    let (pass_bound, fail_bound) = match comparator {
        Comparator::Ge | Comparator::Gt => (low, high),
        Comparator::Le | Comparator::Lt | Comparator::Eq => (high, low),
    };
    if pass_bound.is_some_and(|b| comparator.passes(b, threshold)) {
        Verdict::Pass
    } else if fail_bound.is_some_and(|b| !comparator.passes(b, threshold)) {
        Verdict::Fail
    } else {
        Verdict::Inconclusive
    }
}

/// The smallest number of trials at which the Wilson interval at rate `p` lies
/// wholly on one side of `threshold` (the side `p` is on). `None` when `p` sits
/// on the threshold (no sample size decides) or beyond 10^12 trials.
pub fn trials_to_decide(comparator: Comparator, p: f64, threshold: f64, run: u64) -> Option<MoreSamples> {
    if p == threshold || !p.is_finite() {
        return None;
    }
    let target = if comparator.passes(p, threshold) { Verdict::Pass } else { Verdict::Fail };
    let decides = |n: u64| {
        let (lo, hi) = wilson(p * n as f64, n as f64, Z95);
        guarded(comparator, Some(lo), Some(hi), threshold) == target
    };
    let mut hi = run.max(1);
    while !decides(hi) {
        if hi > 1_000_000_000_000 {
            return None;
        }
        hi *= 2;
    }
    let mut lo = run.max(1);
    if decides(lo) {
        hi = lo;
    }
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if decides(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(MoreSamples { trials: hi, additional: hi.saturating_sub(run), observed_rate: p, would_be: target.label().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_a_published_value() {
        // Wilson (1927) / Newcombe (1998) example 1: 81 of 263 -> 0.2553 .. 0.3662.
        let (lo, hi) = wilson(81.0, 263.0, Z95);
        assert!((lo - 0.2553).abs() < 5e-5 && (hi - 0.3662).abs() < 5e-5, "{lo} {hi}");
    }
}
