//! SPSA (Uesato, O'Donoghue, van den Oord, Kohli, ICML 2018, "Adversarial
//! Risk and the Dangers of Evaluating Against Weak Attacks"): projected
//! gradient descent on the margin loss, with the gradient estimated from
//! scores alone by simultaneous-perturbation finite differences.
//!
//! Each iteration draws `P` Rademacher directions `v` (every pixel ±1) and
//! queries the antithetic pairs `x' ± δv`; the estimate is
//! `ĝ = 1/P Σ (m(x'+δv) − m(x'−δv)) / 2δ · v` (cleverhans' `SPSAAdam`). The
//! step is Adam's update, then the projection onto the threat model's ball and
//! the 0..=1 image range; the new iterate is one more query, which is where the
//! attack stops on success. The L-inf step is Adam with cleverhans' learning
//! rate 0.01, raised to `2.5·eps/T` when that is larger (Madry et al.'s rule,
//! `T` the iterations the budget allows), so that a large ball can be crossed
//! within the budget; the L2 step is Adam's update direction rescaled to the
//! L2 length `2.5·eps/T`.
//!
//! Probes lie up to `δ` outside the ball (as in the reference); a probe that
//! is misclassified and happens to lie inside the ball is a success too, so no
//! query is wasted. Every returned image is inside the ball.

use super::{Oracle, Probe};
use crate::RobustnessError;
use rand::{rngs::StdRng, Rng};

/// Finite-difference step (cleverhans `delta`), in 0..=1 pixel units.
pub const DELTA: f32 = 0.01;
/// Adam learning rate of the L-inf attack (cleverhans `learning_rate`), the least step.
pub const LEARNING_RATE: f32 = 0.01;
/// Antithetic pairs per gradient estimate: cleverhans' `spsa_samples = 128`
/// evaluations, mirrored, when the budget allows [`MIN_ITERATIONS`] iterations.
pub const MAX_PAIRS: usize = 64;
/// Fewer pairs per estimate rather than fewer than this many iterations.
pub const MIN_ITERATIONS: usize = 20;
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;

/// Which ball the perturbation lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ball {
    Linf,
    L2,
}

/// Antithetic pairs per iteration for a per-sample `budget`: [`MAX_PAIRS`], or fewer
/// so that [`MIN_ITERATIONS`] iterations of `2P + 1` queries fit (at least one pair).
pub fn pairs_for(budget: usize) -> usize {
    ((budget.saturating_sub(1) / MIN_ITERATIONS).saturating_sub(1) / 2).clamp(1, MAX_PAIRS)
}

/// `z` projected onto the ball of radius `eps` around `x`, then onto the 0..=1 range.
fn project(x: &[f32], z: &mut [f32], eps: f32, ball: Ball) {
    match ball {
        Ball::Linf => z.iter_mut().zip(x).for_each(|(v, &c)| *v = v.clamp(c - eps, c + eps).clamp(0.0, 1.0)),
        Ball::L2 => {
            let n = z.iter().zip(x).map(|(v, c)| (v - c) * (v - c)).sum::<f32>().sqrt();
            if n > eps {
                let k = eps / n;
                z.iter_mut().zip(x).for_each(|(v, &c)| *v = c + (*v - c) * k);
            }
            z.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        }
    }
}

/// Whether `z` is inside the ball (the tolerance covers f32 rounding of `x ± eps`).
fn inside(x: &[f32], z: &[f32], eps: f32, ball: Ball) -> bool {
    let tol = 1e-6;
    match ball {
        Ball::Linf => z.iter().zip(x).all(|(v, c)| (v - c).abs() <= eps + tol),
        Ball::L2 => z.iter().zip(x).map(|(v, c)| (v - c) * (v - c)).sum::<f32>().sqrt() <= eps + tol,
    }
}

fn rademacher(n: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..n).map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 }).collect()
}

/// Keep the answer `p` for the feasible point `z` if it is the first to fool, or lowers the margin.
fn keep(best: &mut Probe, p: &Probe, z: &[f32]) {
    if best.fooled {
        return;
    }
    if p.fooled || p.margin < best.margin || (!best.margin.is_finite() && p.margin.is_finite()) {
        *best = Probe { image: z.to_vec(), ..p.clone() };
    }
}

/// SPSA on `x` (HWC in 0..=1) inside the `ball` of radius `eps`. Returns the best
/// feasible probe: the first misclassified one, else the lowest margin seen.
pub fn spsa(x: &[f32], eps: f32, ball: Ball, oracle: &mut Oracle<'_>, rng: &mut StdRng) -> Result<Probe, RobustnessError> {
    let n = x.len();
    let pairs = pairs_for(oracle.budget());
    let iterations = (oracle.budget().saturating_sub(1) / (2 * pairs + 1)).max(1);
    let madry_step = 2.5 * eps / iterations as f32;
    // Start: uniform in [-eps, eps] per pixel, projected (cleverhans).
    let mut z: Vec<f32> = x.iter().map(|&c| c + (rng.gen::<f32>() * 2.0 - 1.0) * eps).collect();
    project(x, &mut z, eps, ball);
    let first = oracle.probe(&z)?;
    let mut best = Probe { image: z.clone(), ..first };
    let (mut m, mut v) = (vec![0f32; n], vec![0f32; n]);
    let mut t = 0i32;
    while !best.fooled && oracle.remaining() > 0 {
        let remaining = oracle.remaining();
        if remaining < 3 {
            // Too few for a pair and a check: random neighbours of the iterate, inside the ball.
            let dir = rademacher(n, rng);
            let mut p: Vec<f32> = z.iter().zip(&dir).map(|(a, d)| a + DELTA * d).collect();
            project(x, &mut p, eps, ball);
            let answer = oracle.probe(&p)?;
            keep(&mut best, &answer, &p);
            continue;
        }
        let k = pairs.min((remaining - 1) / 2);
        let mut grad = vec![0f32; n];
        for _ in 0..k {
            let dir = rademacher(n, rng);
            let plus: Vec<f32> = z.iter().zip(&dir).map(|(a, d)| (a + DELTA * d).clamp(0.0, 1.0)).collect();
            let minus: Vec<f32> = z.iter().zip(&dir).map(|(a, d)| (a - DELTA * d).clamp(0.0, 1.0)).collect();
            let (up, down) = (oracle.probe(&plus)?, oracle.probe(&minus)?);
            for (p, img) in [(&up, &plus), (&down, &minus)] {
                if p.fooled && inside(x, img, eps, ball) {
                    keep(&mut best, p, img);
                }
            }
            if best.fooled {
                break;
            }
            let diff = up.margin - down.margin;
            if diff.is_finite() {
                let w = diff / (2.0 * DELTA * k as f32);
                grad.iter_mut().zip(&dir).for_each(|(g, d)| *g += w * d);
            }
        }
        if best.fooled {
            break;
        }
        // Adam on the margin (minimised), bias-corrected.
        t += 1;
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        let step: Vec<f32> = (0..n)
            .map(|i| {
                m[i] = BETA1 * m[i] + (1.0 - BETA1) * grad[i];
                v[i] = BETA2 * v[i] + (1.0 - BETA2) * grad[i] * grad[i];
                (m[i] / c1) / ((v[i] / c2).sqrt() + ADAM_EPS)
            })
            .collect();
        let scale = match ball {
            Ball::Linf => LEARNING_RATE.max(madry_step),
            Ball::L2 => madry_step / step.iter().map(|s| s * s).sum::<f32>().sqrt().max(1e-12),
        };
        z.iter_mut().zip(&step).for_each(|(a, s)| *a -= scale * s);
        project(x, &mut z, eps, ball);
        let answer = oracle.probe(&z)?;
        keep(&mut best, &answer, &z);
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_follow_the_budget_and_cap_at_cleverhans_128_evaluations() {
        // 20 iterations of 2P + 1 queries fit in the budget.
        assert_eq!(pairs_for(100), 1);
        assert_eq!(pairs_for(500), 11);
        assert_eq!(pairs_for(1000), 24);
        assert_eq!(pairs_for(5000), 64);
        assert_eq!(pairs_for(3), 1);
        for b in [100, 500, 1000] {
            assert!(MIN_ITERATIONS * (2 * pairs_for(b) + 1) < b, "the start and 20 iterations fit");
        }
    }

    #[test]
    fn projection_lands_inside_both_balls_and_the_image_range() {
        let x = vec![0.0, 0.5, 1.0, 0.2];
        let mut z = vec![-0.3, 0.9, 1.4, 0.21];
        project(&x, &mut z, 0.1, Ball::Linf);
        assert_eq!(z, vec![0.0, 0.6, 1.0, 0.21]);
        let mut z = vec![0.0, 1.5, 1.0, 0.2];
        project(&x, &mut z, 0.5, Ball::L2);
        assert!((z[1] - 1.0).abs() < 1e-6, "{z:?}");
        assert!(inside(&x, &z, 0.5, Ball::L2));
        assert!(!inside(&x, &[0.0, 0.5, 1.0, 0.8], 0.5, Ball::L2));
    }
}
