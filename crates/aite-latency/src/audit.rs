//! Caching audit, after LoadGen's TEST04: a target that answers a repeated input
//! much faster than distinct inputs is caching results, and its latency figures
//! do not describe real frames. Owns the audit's measurement, the confidence
//! interval of the speed-up and the verdict.

use crate::workload::Workload;
use aite_target::{Target, TargetError};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Confidence of the speed-up interval.
pub const AUDIT_CONFIDENCE: f64 = 0.95;
/// Bootstrap resamples behind the interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
const BOOTSTRAP_SEED: u64 = 0x7E57_04;

/// What the audit concluded, judged on the confidence interval of the speed-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum CachingVerdict {
    /// The whole interval is at or below the threshold: no caching beyond TEST04's tolerance.
    Pass,
    /// The whole interval is above the threshold: repeated samples are answered faster.
    Fail,
    /// The interval straddles the threshold; more queries would decide.
    Inconclusive { why: String },
    /// The audit could not be run on this workload (fewer than two distinct samples).
    NotApplicable { why: String },
}

impl CachingVerdict {
    pub fn is_pass(&self) -> bool {
        matches!(self, CachingVerdict::Pass)
    }
}

/// Interval for the speed-up `1 - median(repeated) / median(distinct)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedupInterval {
    pub low: f64,
    pub high: f64,
    pub confidence: f64,
    /// How the interval was computed, in words (recorded in the evidence).
    pub method: String,
}

/// Outcome of the caching audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachingAudit {
    /// Pairs timed (each sample once distinct, once repeated); 0 when not applicable.
    pub queries_each: usize,
    /// Distinct samples the workload offered.
    pub distinct_samples: usize,
    pub distinct_mean_ms: Option<f64>,
    pub repeated_mean_ms: Option<f64>,
    pub distinct_median_ms: Option<f64>,
    pub repeated_median_ms: Option<f64>,
    /// Point estimate `1 - median(repeated) / median(distinct)`: how much faster the repeated sample was.
    pub speedup_fraction: Option<f64>,
    pub speedup_interval: Option<SpeedupInterval>,
    /// 0.10, or 0.20 when the distinct median is at most 0.2 ms (TEST04 rule).
    pub threshold: f64,
    pub verdict: CachingVerdict,
    /// `verdict == pass`, kept for readers of older results.
    pub passed: bool,
}

/// Every sample is timed twice: once after a *different* sample (distinct) and
/// once immediately after *itself* (repeated). Both sets cover the same samples,
/// so per-sample cost differences cancel and only reuse of the previous answer
/// (result caching) makes the repeated set faster. Needs at least two samples.
pub fn caching_audit(target: &mut dyn Target, workload: &Workload, queries_each: usize) -> Result<CachingAudit, TargetError> {
    let len = workload.len();
    if len < 2 {
        let why = format!(
            "the workload has {len} sample(s); telling a cache from a fast target needs at least two distinct samples (give a dataset or --samples >= 2)"
        );
        return Ok(CachingAudit {
            queries_each: 0,
            distinct_samples: len,
            distinct_mean_ms: None,
            repeated_mean_ms: None,
            distinct_median_ms: None,
            repeated_median_ms: None,
            speedup_fraction: None,
            speedup_interval: None,
            threshold: 0.10,
            verdict: CachingVerdict::NotApplicable { why },
            passed: false,
        });
    }
    let n = queries_each.max(2);
    let (mut distinct, mut repeated) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let ix = i % len;
        // Distinct: precede with another sample.
        workload.run(target, (ix + 1) % len)?;
        let t = Instant::now();
        workload.run(target, ix)?;
        distinct.push(t.elapsed().as_nanos() as u64);
        // Repeated: the same sample again, back to back.
        let t = Instant::now();
        workload.run(target, ix)?;
        repeated.push(t.elapsed().as_nanos() as u64);
    }
    Ok(judge(&distinct, &repeated, len))
}

/// The audit's figures and verdict from paired timings (ns; `distinct[i]` and
/// `repeated[i]` are the same sample).
pub(crate) fn judge(distinct: &[u64], repeated: &[u64], distinct_samples: usize) -> CachingAudit {
    let mean = |v: &[u64]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 / 1e6;
    let d_med = median(distinct) / 1e6;
    let r_med = median(repeated) / 1e6;
    let threshold = if d_med <= 0.2 { 0.20 } else { 0.10 };
    let interval = speedup_interval(distinct, repeated, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED);
    let verdict = verdict(&interval, threshold);
    CachingAudit {
        queries_each: distinct.len(),
        distinct_samples,
        distinct_mean_ms: Some(mean(distinct)),
        repeated_mean_ms: Some(mean(repeated)),
        distinct_median_ms: Some(d_med),
        repeated_median_ms: Some(r_med),
        speedup_fraction: Some(speedup(distinct, repeated)),
        speedup_interval: Some(interval),
        threshold,
        passed: verdict.is_pass(),
        verdict,
    }
}

/// Pass when the whole interval is within the threshold, fail when all of it is above.
pub(crate) fn verdict(interval: &SpeedupInterval, threshold: f64) -> CachingVerdict {
    if interval.high <= threshold {
        CachingVerdict::Pass
    } else if interval.low > threshold {
        CachingVerdict::Fail
    } else {
        CachingVerdict::Inconclusive {
            why: format!(
                "the {:.0}% interval of the speed-up [{:.1}%, {:.1}%] contains the {:.0}% limit; run more audit queries",
                interval.confidence * 100.0,
                interval.low * 100.0,
                interval.high * 100.0,
                threshold * 100.0
            ),
        }
    }
}

/// Median as the mean of the two middle values (even n), in the input's unit.
fn median(v: &[u64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2] as f64
    } else {
        (s[n / 2 - 1] as f64 + s[n / 2] as f64) / 2.0
    }
}

fn speedup(distinct: &[u64], repeated: &[u64]) -> f64 {
    let d = median(distinct);
    if d > 0.0 {
        1.0 - median(repeated) / d
    } else {
        0.0
    }
}

/// Percentile bootstrap over the *pairs* (sample i's distinct and repeated time stay
/// together), `resamples` draws from a seeded generator, equal-tailed interval.
pub(crate) fn speedup_interval(distinct: &[u64], repeated: &[u64], resamples: usize, seed: u64) -> SpeedupInterval {
    let n = distinct.len().min(repeated.len());
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut d, mut r) = (vec![0u64; n], vec![0u64; n]);
    let mut raw: Vec<f64> = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for k in 0..n {
            let i = rng.gen_range(0..n);
            d[k] = distinct[i];
            r[k] = repeated[i];
        }
        raw.push(speedup(&d, &r));
    }
    raw.sort_by(f64::total_cmp);
    let alpha = (1.0 - AUDIT_CONFIDENCE) / 2.0;
    let at = |p: f64| raw[((raw.len() as f64 * p).floor() as usize).min(raw.len() - 1)];
    let (low, high) = (at(alpha), at(1.0 - alpha));
    SpeedupInterval {
        low,
        high,
        confidence: AUDIT_CONFIDENCE,
        method: format!(
            "percentile bootstrap of 1 - median(repeated)/median(distinct) over {n} paired samples, {resamples} resamples, seed {seed:#x}"
        ),
    }
}
