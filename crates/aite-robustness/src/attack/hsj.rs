//! HopSkipJump (Chen, Jordan, Wainwright, IEEE S&P 2020), untargeted, L2:
//! a decision-based attack that needs only the top-1 label. It finds any
//! misclassified frame, walks to the decision boundary by binary search, and
//! then alternates a Monte-Carlo estimate of the boundary's normal, a
//! geometric step along it and another binary search, shrinking the distance
//! to the clean frame. Every decision is one counted query.
//!
//! The outcome is a success when a misclassified frame within `eps` (L2) was
//! found; its `margin` is then `distance - eps` (at most 0 on success).

use super::{Oracle, Probe};
use crate::RobustnessError;
use rand::{rngs::StdRng, Rng};
use rand_distr::{Distribution, StandardNormal};

/// Initial and largest number of gradient-estimation queries per iteration (the paper's defaults).
const INIT_EVALS: f64 = 100.0;
const MAX_EVALS: usize = 10_000;
/// Random frames tried to find a first adversarial.
const INIT_TRIES: usize = 100;

/// Decision for `z`, or `None` once the budget is spent.
fn adversarial(oracle: &mut Oracle<'_>, z: &[f32]) -> Result<Option<(bool, usize)>, RobustnessError> {
    if oracle.remaining() == 0 {
        return Ok(None);
    }
    let p = oracle.probe(z)?;
    Ok(Some((p.fooled, p.top1)))
}

fn dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

fn blend(x: &[f32], adv: &[f32], alpha: f32) -> Vec<f32> {
    x.iter().zip(adv).map(|(a, b)| (1.0 - alpha) * a + alpha * b).collect()
}

/// Binary search on the segment clean -> adversarial for the boundary,
/// to a relative precision of `theta`. Returns the adversarial end.
fn to_boundary(oracle: &mut Oracle<'_>, x: &[f32], adv: &[f32], theta: f32) -> Result<(Vec<f32>, usize, bool), RobustnessError> {
    let (mut lo, mut hi) = (0.0f32, 1.0f32);
    let mut top1 = usize::MAX;
    while hi - lo > theta {
        let mid = (lo + hi) / 2.0;
        match adversarial(oracle, &blend(x, adv, mid))? {
            Some((true, t)) => {
                hi = mid;
                top1 = t;
            }
            Some((false, _)) => lo = mid,
            None => return Ok((blend(x, adv, hi), top1, false)),
        }
    }
    Ok((blend(x, adv, hi), top1, true))
}

pub fn hop_skip_jump(x: &[f32], eps: f32, oracle: &mut Oracle<'_>, rng: &mut StdRng) -> Result<Probe, RobustnessError> {
    let d = x.len() as f32;
    let theta = 1.0 / (d * d.sqrt()); // gamma = 1, L2
    let failure = |x: &[f32], margin: f32| Probe { margin, top1: usize::MAX, fooled: false, image: x.to_vec() };
    // 1. Any adversarial frame: uniform noise, blended towards the clean frame.
    let mut start = None;
    for _ in 0..INIT_TRIES {
        let r: Vec<f32> = x.iter().map(|_| rng.gen::<f32>()).collect();
        match adversarial(oracle, &r)? {
            Some((true, t)) => {
                start = Some((r, t));
                break;
            }
            Some((false, _)) => {}
            None => break,
        }
    }
    let Some((start, start_top1)) = start else { return Ok(failure(x, f32::INFINITY)) };
    let (mut adv, found_top1, complete) = to_boundary(oracle, x, &start, theta)?;
    let mut top1 = if found_top1 == usize::MAX { start_top1 } else { found_top1 };
    let mut best = (dist(&adv, x), adv.clone(), top1);
    if !complete {
        return Ok(finish(best, eps, x));
    }
    // 2. Iterate: gradient direction at the boundary, geometric step, project back.
    let mut it = 1usize;
    loop {
        let current = dist(&adv, x);
        let delta = if it == 1 { 0.1 } else { d.sqrt() * theta * current };
        let evals = ((INIT_EVALS * (it as f64).sqrt()) as usize).min(MAX_EVALS);
        let mut grad = vec![0f32; x.len()];
        let mut signs = Vec::with_capacity(evals);
        let mut dirs = Vec::with_capacity(evals);
        for _ in 0..evals {
            let mut u: Vec<f32> = x.iter().map(|_| StandardNormal.sample(rng)).collect();
            let n = u.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            u.iter_mut().for_each(|v| *v /= n);
            let probe: Vec<f32> = adv.iter().zip(&u).map(|(a, v)| (a + delta * v).clamp(0.0, 1.0)).collect();
            // The effective direction after clipping.
            let u_eff: Vec<f32> = probe.iter().zip(&adv).map(|(p, a)| (p - a) / delta).collect();
            match adversarial(oracle, &probe)? {
                Some((is_adv, _)) => {
                    signs.push(if is_adv { 1.0f32 } else { -1.0 });
                    dirs.push(u_eff);
                }
                None => return Ok(finish(best, eps, x)),
            }
        }
        // Baseline-corrected Monte-Carlo estimate of the boundary normal.
        let mean = signs.iter().sum::<f32>() / signs.len() as f32;
        let centre = if mean.abs() == 1.0 { 0.0 } else { mean };
        for (s, u) in signs.iter().zip(&dirs) {
            let wgt = if mean.abs() == 1.0 { *s } else { s - centre };
            grad.iter_mut().zip(u).for_each(|(g, v)| *g += wgt * v);
        }
        let gn = grad.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        grad.iter_mut().for_each(|v| *v /= gn);
        // Geometric step search.
        let mut step = current / (it as f32).sqrt();
        let stepped = loop {
            let cand: Vec<f32> = adv.iter().zip(&grad).map(|(a, g)| (a + step * g).clamp(0.0, 1.0)).collect();
            match adversarial(oracle, &cand)? {
                Some((true, _)) => break Some(cand),
                Some((false, _)) => {
                    step /= 2.0;
                    if step < 1e-6 {
                        break None;
                    }
                }
                None => return Ok(finish(best, eps, x)),
            }
        };
        let Some(stepped) = stepped else { return Ok(finish(best, eps, x)) };
        let (next, t, complete) = to_boundary(oracle, x, &stepped, theta)?;
        adv = next;
        if t != usize::MAX {
            top1 = t;
        }
        let dn = dist(&adv, x);
        if dn < best.0 {
            best = (dn, adv.clone(), top1);
        }
        if !complete || oracle.remaining() == 0 || best.0 <= eps {
            return Ok(finish(best, eps, x));
        }
        it += 1;
    }
}

/// The closest adversarial found, as a probe: success iff within `eps`.
fn finish(best: (f32, Vec<f32>, usize), eps: f32, x: &[f32]) -> Probe {
    let (distance, image, top1) = best;
    if distance <= eps {
        Probe { margin: distance - eps, top1, fooled: true, image }
    } else {
        Probe { margin: distance - eps, top1: usize::MAX, fooled: false, image: x.to_vec() }
    }
}
