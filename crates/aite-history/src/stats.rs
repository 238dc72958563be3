//! The two significance computations of a release diff: a pooled two-proportion
//! z-test for accuracies, and a bootstrap interval of the difference of two latency
//! percentiles from the raw samples.

use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Beta, Distribution};

/// Resamples of the latency bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of the latency bootstrap, fixed so the same two packages give the same interval.
pub const BOOTSTRAP_SEED: u64 = 0x41_49_54_45_44_49_46_46; // "AITEDIFF"

/// The pooled two-proportion z-test of `x2/n2` against `x1/n1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoProportionZ {
    /// `(p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2))` with `p = (x1 + x2) / (n1 + n2)`.
    pub z: f64,
    /// Two-sided: `2 (1 - Φ(|z|))`.
    pub p_value: f64,
}

/// `None` when a run has no trials or the pooled rate is 0 or 1 (no variance, nothing to test).
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<TwoProportionZ> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se.is_nan() || se <= 0.0 {
        return None;
    }
    let z = (x2 / n2 - x1 / n1) / se;
    Some(TwoProportionZ { z, p_value: statrs::function::erf::erfc(z.abs() / std::f64::consts::SQRT_2) })
}

/// The 0-based index LoadGen's percentile reads: `floor(n p)`, clamped to the last sample.
fn loadgen_index(n: usize, p: f64) -> usize {
    (((n as f64) * p).floor() as usize).min(n - 1)
}

/// One bootstrap replicate of LoadGen's `p` percentile of `sorted`. Resampling `n`
/// values with replacement and taking the k-th smallest (k = index + 1) is the same
/// as taking `sorted[floor(n U)]` with `U` the k-th smallest of `n` uniforms, which
/// is Beta(k, n - k + 1): the exact distribution of the resampled percentile, drawn in
/// O(1) instead of O(n).
struct Replicate<'a> {
    sorted: &'a [u64],
    beta: Beta<f64>,
}

impl<'a> Replicate<'a> {
    fn new(sorted: &'a [u64], p: f64) -> Self {
        let n = sorted.len();
        let k = loadgen_index(n, p) + 1;
        Replicate { sorted, beta: Beta::new(k as f64, (n - k + 1) as f64).expect("k >= 1 and n - k + 1 >= 1") }
    }

    fn draw(&self, rng: &mut StdRng) -> u64 {
        let n = self.sorted.len();
        let u: f64 = self.beta.sample(rng);
        self.sorted[((u * n as f64).floor() as usize).min(n - 1)]
    }
}

/// Equal-tailed 95% percentile-bootstrap interval of `percentile(b) - percentile(a)`
/// (the unit of the samples), each run resampled independently, `resamples` times
/// from `seed`. Both slices must be sorted ascending; `None` when one is empty or `p`
/// is outside [0, 1].
pub fn bootstrap_percentile_difference(a: &[u64], b: &[u64], p: f64, resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let (ra, rb) = (Replicate::new(a, p), Replicate::new(b, p));
    let mut diffs: Vec<f64> = (0..resamples.max(1)).map(|_| rb.draw(&mut rng) as f64 - ra.draw(&mut rng) as f64).collect();
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| diffs[loadgen_index(diffs.len(), q)];
    Some((at(0.025), at(0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// 280/300 against 260/300, by hand: p1 = 0.93333, p2 = 0.86667, pooled 0.9,
    /// se = sqrt(0.9 * 0.1 * 2/300) = sqrt(0.0006) = 0.0244949, z = -0.0666667 / 0.0244949
    /// = -2.72166; p = erfc(2.72166 / sqrt 2) = 0.00649559 (Python: math.erfc(abs(z) / math.sqrt(2))).
    #[test]
    fn two_proportion_z_matches_the_hand_computed_value() {
        let t = two_proportion_z(280, 300, 260, 300).unwrap();
        assert!((t.z - (-2.721655269759086)).abs() < 1e-12, "z = {}", t.z);
        assert!((t.p_value - 0.006495586257179047).abs() < 1e-9, "p = {}", t.p_value);
        // Symmetric: swapping the runs flips z, keeps p.
        let s = two_proportion_z(260, 300, 280, 300).unwrap();
        assert!((s.z + t.z).abs() < 1e-12 && (s.p_value - t.p_value).abs() < 1e-15);
    }

    /// 90/100 against 85/100: pooled 0.875, se = sqrt(0.875 * 0.125 * 0.02) = 0.0467707,
    /// z = -0.05 / 0.0467707 = -1.06904, p = 0.28505: not significant at 5%.
    #[test]
    fn two_proportion_z_small_difference_is_not_significant() {
        let t = two_proportion_z(90, 100, 85, 100).unwrap();
        assert!((t.z - (-1.0690449676496985)).abs() < 1e-12, "z = {}", t.z);
        assert!((t.p_value - 0.28504940740261236).abs() < 1e-9 && t.p_value > 0.05, "p = {}", t.p_value);
    }

    #[test]
    fn two_proportion_z_without_variance_is_no_test() {
        assert_eq!(two_proportion_z(300, 300, 300, 300), None);
        assert_eq!(two_proportion_z(0, 10, 0, 20), None);
        assert_eq!(two_proportion_z(1, 0, 2, 3), None);
    }

    /// The Beta shortcut against the plain resampling bootstrap (draw n with
    /// replacement, sort, take x[floor(n p)]). With x[i] = i the replicate is the
    /// index itself: the means must agree within 0.2 (an off-by-one in k shifts the
    /// mean by 1; the standard error of each mean here is about 0.03) and the 2.5% and
    /// 97.5% quantiles within one index.
    #[test]
    fn order_statistic_draw_matches_plain_resampling() {
        let sorted: Vec<u64> = (0..200u64).collect();
        let n = sorted.len();
        let mut rng = StdRng::seed_from_u64(7);
        let trials = 20_000;
        for p in [0.5, 0.9, 0.99] {
            let rep = Replicate::new(&sorted, p);
            let mut fast: Vec<u64> = (0..trials).map(|_| rep.draw(&mut rng)).collect();
            let mut plain: Vec<u64> = (0..trials)
                .map(|_| {
                    let mut r: Vec<u64> = (0..n).map(|_| sorted[rng.gen_range(0..n)]).collect();
                    r.sort_unstable();
                    r[loadgen_index(n, p)]
                })
                .collect();
            let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len() as f64;
            assert!((mean(&fast) - mean(&plain)).abs() < 0.2, "p{p}: mean {} vs {}", mean(&fast), mean(&plain));
            fast.sort_unstable();
            plain.sort_unstable();
            for q in [0.025, 0.975] {
                let (f, s) = (fast[loadgen_index(trials, q)] as i64, plain[loadgen_index(trials, q)] as i64);
                assert!((f - s).abs() <= 1, "p{p} quantile {q}: shortcut {f} vs plain {s}");
            }
        }
    }

    #[test]
    fn bootstrap_interval_excludes_zero_for_a_clear_shift_and_includes_it_for_the_same_samples() {
        let a: Vec<u64> = (0..500u64).map(|i| 50_000 + (i * 7919) % 10_000).collect();
        let mut a_sorted = a.clone();
        a_sorted.sort_unstable();
        let b_sorted: Vec<u64> = a_sorted.iter().map(|x| x + 20_000).collect();
        let (lo, hi) = bootstrap_percentile_difference(&a_sorted, &b_sorted, 0.99, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        assert!(lo > 0.0 && hi > lo, "[{lo}, {hi}]");
        let (lo, hi) = bootstrap_percentile_difference(&a_sorted, &a_sorted, 0.5, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        assert!(lo <= 0.0 && hi >= 0.0, "[{lo}, {hi}]");
        // Fixed seed: the same inputs give the same interval.
        assert_eq!(bootstrap_percentile_difference(&a_sorted, &b_sorted, 0.9, 500, 1), bootstrap_percentile_difference(&a_sorted, &b_sorted, 0.9, 500, 1));
        assert_eq!(bootstrap_percentile_difference(&[], &b_sorted, 0.9, 500, 1), None);
    }
}
