//! Square attack (Andriushchenko, Croce, Flammarion, Hein, ECCV 2020): a
//! score-based random search that changes one square window per query and
//! keeps the change when the margin loss drops. L-inf and L2 variants, with
//! AutoAttack's schedule for the square size.

use super::{Oracle, Probe};
use crate::RobustnessError;
use rand::{rngs::StdRng, Rng};

/// The fraction of pixels changed per query at iteration `it` of `budget`
/// (AutoAttack's `p_selection`: the schedule is written for 10 000 iterations
/// and rescaled to the budget).
pub fn p_selection(p_init: f64, it: usize, budget: usize) -> f64 {
    let it = (it as f64 / budget.max(1) as f64 * 10000.0) as usize;
    let div = match it {
        0..=10 => 1.0,
        11..=50 => 2.0,
        51..=200 => 4.0,
        201..=500 => 8.0,
        501..=1000 => 16.0,
        1001..=2000 => 32.0,
        2001..=4000 => 64.0,
        4001..=6000 => 128.0,
        6001..=8000 => 256.0,
        _ => 512.0,
    };
    p_init / div
}

fn sign(rng: &mut StdRng) -> f32 {
    if rng.gen::<bool>() {
        1.0
    } else {
        -1.0
    }
}

/// L-inf Square attack on `x` (HWC in 0..=1). Returns the last probe (the best one).
pub fn square_linf(x: &[f32], w: usize, h: usize, c: usize, eps: f32, p_init: f64, oracle: &mut Oracle<'_>, rng: &mut StdRng) -> Result<Probe, RobustnessError> {
    let idx = |yy: usize, xx: usize, ch: usize| (yy * w + xx) * c + ch;
    // Vertical stripes of +-eps: one sign per (column, channel).
    let stripes: Vec<f32> = (0..w * c).map(|_| sign(rng) * eps).collect();
    let mut best: Vec<f32> = x.iter().enumerate().map(|(i, &v)| (v + stripes[(i / c % w) * c + i % c]).clamp(0.0, 1.0)).collect();
    let mut best_probe = oracle.probe(&best)?;
    let n_features = (w * h * c) as f64;
    let mut it = 0;
    while !best_probe.fooled && oracle.remaining() > 0 {
        let p = p_selection(p_init, it, oracle.budget());
        let s = ((p * n_features / c as f64).sqrt().round() as usize).max(1).min(h.min(w).saturating_sub(1).max(1));
        let mut candidate = best.clone();
        // Resample when the window would not change (already at the chosen corner).
        for _ in 0..10 {
            let vh = rng.gen_range(0..=h - s);
            let vw = rng.gen_range(0..=w - s);
            let signs: Vec<f32> = (0..c).map(|_| sign(rng) * 2.0 * eps).collect();
            let mut changed = false;
            for yy in vh..vh + s {
                for xx in vw..vw + s {
                    for ch in 0..c {
                        let i = idx(yy, xx, ch);
                        let v = (best[i] + signs[ch]).clamp(x[i] - eps, x[i] + eps).clamp(0.0, 1.0);
                        changed |= (v - best[i]).abs() > 1e-7;
                        candidate[i] = v;
                    }
                }
            }
            if changed {
                break;
            }
        }
        let probe = oracle.probe(&candidate)?;
        if probe.fooled || probe.margin < best_probe.margin {
            best = candidate;
            best_probe = probe;
        }
        it += 1;
    }
    best_probe.image = best;
    Ok(best_probe)
}

/// AutoAttack's `eta_rectangles`: nested rectangles weighted 1/k^2, unit L2 norm.
fn eta_rectangles(rows: usize, cols: usize) -> Vec<f32> {
    let mut d = vec![0f32; rows * cols];
    let (xc, yc) = (rows / 2 + 1, cols / 2 + 1);
    let (mut c0, mut c1) = (xc as i64 - 1, yc as i64 - 1);
    for counter in 0..xc.max(yc) {
        let (r0, r1) = (c0.max(0) as usize, ((c0 + 2 * counter as i64 + 1).min(rows as i64)).max(0) as usize);
        let (k0, k1) = (c1.max(0) as usize, ((c1 + 2 * counter as i64 + 1).min(cols as i64)).max(0) as usize);
        let add = 1.0 / ((counter + 1) * (counter + 1)) as f32;
        for r in r0..r1 {
            for k in k0..k1 {
                d[r * cols + k] += add;
            }
        }
        c0 -= 1;
        c1 -= 1;
    }
    normalise(&mut d);
    d
}

fn normalise(d: &mut [f32]) {
    let n = d.iter().map(|v| v * v).sum::<f32>().sqrt();
    if n > 0.0 {
        d.iter_mut().for_each(|v| *v /= n);
    }
}

/// AutoAttack's `meta_pseudo_gaussian_pert`: an `s x s` window, positive
/// rectangles on top, negative below, randomly transposed.
fn pseudo_gaussian(s: usize, rng: &mut StdRng) -> Vec<f32> {
    let top = eta_rectangles(s / 2, s);
    let bottom = eta_rectangles(s - s / 2, s);
    let mut d: Vec<f32> = top.into_iter().chain(bottom.into_iter().map(|v| -v)).collect();
    normalise(&mut d);
    if rng.gen::<f64>() > 0.5 {
        let t: Vec<f32> = (0..s * s).map(|i| d[(i % s) * s + i / s]).collect();
        d = t;
    }
    d
}

fn l2(v: impl Iterator<Item = f32>) -> f32 {
    v.map(|x| x * x).sum::<f32>().sqrt()
}

/// L2 Square attack on `x` (HWC in 0..=1).
pub fn square_l2(x: &[f32], w: usize, h: usize, c: usize, eps: f32, p_init: f64, oracle: &mut Oracle<'_>, rng: &mut StdRng) -> Result<Probe, RobustnessError> {
    let idx = |yy: usize, xx: usize, ch: usize| (yy * w + xx) * c + ch;
    let project = |delta: &[f32]| -> Vec<f32> {
        // x + eps * delta / ||delta||, clipped to the image range.
        let n = l2(delta.iter().copied()).max(1e-12);
        x.iter().zip(delta).map(|(&v, &d)| (v + d / n * eps).clamp(0.0, 1.0)).collect()
    };
    // Initialisation: a grid of pseudo-Gaussian windows of side h/5 with random signs.
    let mut delta = vec![0f32; x.len()];
    let s0 = (h / 5).max(1);
    let start = (h.saturating_sub(s0 * 5)) / 2;
    let mut vh = start;
    for _ in 0..h / s0 {
        let mut vw = start;
        for _ in 0..w / s0 {
            if vh + s0 <= h && vw + s0 <= w {
                let pert = pseudo_gaussian(s0, rng);
                let signs: Vec<f32> = (0..c).map(|_| sign(rng)).collect();
                for a in 0..s0 {
                    for b in 0..s0 {
                        for ch in 0..c {
                            delta[idx(vh + a, vw + b, ch)] += pert[a * s0 + b] * signs[ch];
                        }
                    }
                }
            }
            vw += s0;
        }
        vh += s0;
    }
    let mut best = project(&delta);
    let mut best_probe = oracle.probe(&best)?;
    let n_features = (w * h * c) as f64;
    let mut it = 0;
    while !best_probe.fooled && oracle.remaining() > 0 {
        let delta_curr: Vec<f32> = best.iter().zip(x).map(|(b, v)| b - v).collect();
        let p = p_selection(p_init, it, oracle.budget());
        let mut s = ((p * n_features / c as f64).sqrt().round() as usize).max(3);
        if s % 2 == 0 {
            s += 1;
        }
        let s = s.min(h.min(w));
        let (vh, vw) = (rng.gen_range(0..=h - s), rng.gen_range(0..=w - s));
        let (vh2, vw2) = (rng.gen_range(0..=h - s), rng.gen_range(0..=w - s));
        let in1 = |yy: usize, xx: usize| yy >= vh && yy < vh + s && xx >= vw && xx < vw + s;
        let in2 = |yy: usize, xx: usize| yy >= vh2 && yy < vh2 + s && xx >= vw2 && xx < vw2 + s;
        let norm_image = l2(delta_curr.iter().copied());
        let norm_windows = l2((0..x.len()).filter(|&i| {
            let (yy, xx) = (i / c / w, i / c % w);
            in1(yy, xx) || in2(yy, xx)
        }).map(|i| delta_curr[i]));
        let pert = pseudo_gaussian(s, rng);
        let mut new_delta = delta_curr.clone();
        let budget_sq = ((eps * eps - norm_image * norm_image).max(0.0) / c as f32 + norm_windows * norm_windows).sqrt();
        let mut window: Vec<Vec<f32>> = Vec::with_capacity(c);
        for ch in 0..c {
            let old: Vec<f32> = (0..s * s).map(|k| delta_curr[idx(vh + k / s, vw + k % s, ch)]).collect();
            let old_norm = l2(old.iter().copied()) + 1e-12;
            let sg = sign(rng);
            let mut nd: Vec<f32> = (0..s * s).map(|k| pert[k] * sg + old[k] / old_norm).collect();
            let n = l2(nd.iter().copied()).max(1e-12);
            nd.iter_mut().for_each(|v| *v = *v / n * budget_sq);
            window.push(nd);
        }
        for a in 0..s {
            for b in 0..s {
                for ch in 0..c {
                    new_delta[idx(vh2 + a, vw2 + b, ch)] = 0.0;
                }
            }
        }
        for (ch, nd) in window.iter().enumerate() {
            for k in 0..s * s {
                new_delta[idx(vh + k / s, vw + k % s, ch)] = nd[k];
            }
        }
        let candidate = project(&new_delta);
        let probe = oracle.probe(&candidate)?;
        if probe.fooled || probe.margin < best_probe.margin {
            best = candidate;
            best_probe = probe;
        }
        it += 1;
    }
    best_probe.image = best;
    Ok(best_probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_schedule_halves_at_the_published_steps() {
        assert_eq!(p_selection(0.8, 0, 10000), 0.8);
        assert_eq!(p_selection(0.8, 11, 10000), 0.4);
        assert_eq!(p_selection(0.8, 300, 10000), 0.1);
        assert_eq!(p_selection(0.8, 9000, 10000), 0.8 / 512.0);
        // Rescaled to a 5000-query budget: iteration 100 is step 200 of 10 000.
        assert_eq!(p_selection(0.8, 100, 5000), 0.2);
    }

    #[test]
    fn pseudo_gaussian_window_has_unit_norm_and_both_signs() {
        let mut rng: StdRng = rand::SeedableRng::seed_from_u64(1);
        for s in [3, 5, 8] {
            let d = pseudo_gaussian(s, &mut rng);
            assert_eq!(d.len(), s * s);
            assert!((l2(d.iter().copied()) - 1.0).abs() < 1e-5);
            assert!(d.iter().any(|&v| v > 0.0) && d.iter().any(|&v| v < 0.0));
        }
    }
}
