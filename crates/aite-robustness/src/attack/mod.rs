//! Black-box adversarial attacks with exact query accounting.
//!
//! The attacks work in the image space the model sees after the geometric
//! part of preprocessing (crop and resize), with pixel values scaled to
//! 0..=1, so epsilons mean what they mean in the literature (8/255 is eight
//! grey levels). Every model call goes through an [`Oracle`] that applies the
//! **channel** (float, 8-bit quantisation, or JPEG, as a camera would deliver
//! the frame), runs the target and counts the query against the sample's hard
//! budget.
//!
//! - [`square`]: score-based Square attack, L-inf and L2 (AutoAttack's version).
//! - [`hsj`]: decision-based HopSkipJump (L2), for devices that return only a class.
//! - [`spsa`]: SPSA gradient estimation + projected Adam steps, L-inf and L2, a
//!   second score-based family beside Square's random search.
//! - random noise at the same epsilon, as a baseline.
//! - [`detection`]: the Square attack's random search with a detector loss:
//!   vanishing (every detection suppressed) and mislabelling, with the noise baseline.
//! - [`worst_case_over`]: the per-sample worst case over the attack families of each threat
//!   model (norm and epsilon), recorded as [`WorstCase`] (not applicable with fewer than two
//!   families or different samples).
//!
//! Robust accuracy is AutoAttack's: samples still classified correctly after
//! the attack, over *all* samples (misclassified clean samples count as
//! broken). The attack success rate is over clean-correct samples only (ART's
//! denominator). Both are reported and named.

pub mod detection;
pub mod hsj;
pub mod ocr;
pub mod spsa;
pub mod square;
mod worst_case;

use crate::corruption::{rgb8_to_image, image_to_rgb8, LabeledFrame};
pub use detection::{
    merge_detector_attack_reports, run_detector_attack, run_detector_attack_shard, DetectorAttackOutcome, DetectorAttackRecord, DetectorAttackReport, DetectorAttackSettings,
    DetectorAttempt, DetectorGoal, GoalApplicability,
};
pub use worst_case::{different_samples, family, worst_case, worst_case_over, WorstCase};
use crate::RobustnessError;
use aite_accuracy::{wilson, Proportion};
use aite_data::{Image, PreprocessSpec};
use aite_target::{Cancel, Target};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Which attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackKind {
    SquareLinf,
    SquareL2,
    NoiseLinf,
    NoiseL2,
    HopSkipJump,
    SpsaLinf,
    SpsaL2,
}

impl AttackKind {
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::SquareLinf => "square-linf",
            AttackKind::SquareL2 => "square-l2",
            AttackKind::NoiseLinf => "noise-linf",
            AttackKind::NoiseL2 => "noise-l2",
            AttackKind::HopSkipJump => "hopskipjump",
            AttackKind::SpsaLinf => "spsa-linf",
            AttackKind::SpsaL2 => "spsa-l2",
        }
    }

    /// `linf` or `l2`.
    pub fn norm(self) -> &'static str {
        match self {
            AttackKind::SquareLinf | AttackKind::NoiseLinf | AttackKind::SpsaLinf => "linf",
            _ => "l2",
        }
    }

    /// Whether the attack reads scores (false: only the top-1 label).
    pub fn needs_scores(self) -> bool {
        !matches!(self, AttackKind::HopSkipJump)
    }

    pub fn parse_list(text: &str) -> Result<Vec<AttackKind>, String> {
        let all = [AttackKind::SquareLinf, AttackKind::SquareL2, AttackKind::NoiseLinf, AttackKind::NoiseL2, AttackKind::HopSkipJump, AttackKind::SpsaLinf, AttackKind::SpsaL2];
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let add: Vec<AttackKind> = match part {
                "all" => all.to_vec(),
                "square" => vec![AttackKind::SquareLinf, AttackKind::SquareL2],
                "noise" => vec![AttackKind::NoiseLinf, AttackKind::NoiseL2],
                "spsa" => vec![AttackKind::SpsaLinf, AttackKind::SpsaL2],
                "hsj" => vec![AttackKind::HopSkipJump],
                name => vec![*all.iter().find(|k| k.name() == name).ok_or_else(|| {
                    format!("unknown attack `{name}`; known: square-linf, square-l2, spsa-linf, spsa-l2, noise-linf, noise-l2, hopskipjump (groups: square, spsa, noise, all)")
                })?],
            };
            for k in add {
                if !out.contains(&k) {
                    out.push(k);
                }
            }
        }
        Ok(out)
    }
}

/// How a perturbed frame reaches the target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Channel {
    /// Exact floats (the attacker controls the tensor; comparable with published numbers).
    Float,
    /// Rounded to 8-bit pixels, as any camera frame is.
    Uint8,
    /// 8-bit, then JPEG-encoded at this quality.
    Jpeg { quality: u8 },
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "float" => Ok(Channel::Float),
            "uint8" => Ok(Channel::Uint8),
            _ => match s.strip_prefix("jpeg:").or(s.strip_prefix("jpeg").filter(|r| r.is_empty()).map(|_| "90")).map(str::parse::<u8>) {
                Some(Ok(q)) if (1..=100).contains(&q) => Ok(Channel::Jpeg { quality: q }),
                _ => Err(format!("unknown channel `{s}` (use float, uint8 or jpeg:QUALITY with QUALITY in 1..=100)")),
            },
        }
    }
}

/// Settings of one attack run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackSettings {
    pub kind: AttackKind,
    /// Radius of the threat model, in 0..=1 pixel units (L-inf) or the L2 norm of the 0..=1 image.
    pub epsilon: f32,
    /// Hard per-sample query budget for the attack (the clean check is one more query, counted separately).
    pub budget: usize,
    /// Square attack's initial fraction of changed pixels.
    pub p_init: f64,
    pub seed: u64,
    pub channel: Channel,
    pub output_index: usize,
}

impl AttackSettings {
    /// AutoAttack's defaults for `kind` on images of `side` pixels (shorter side):
    /// L-inf 8/255 up to 64 px, 4/255 above; L2 0.5; 5000 queries; p_init 0.8.
    pub fn autoattack(kind: AttackKind, side: usize) -> Self {
        let epsilon = match kind.norm() {
            "linf" if side <= 64 => 8.0 / 255.0,
            "linf" => 4.0 / 255.0,
            _ => 0.5,
        };
        AttackSettings { kind, epsilon, budget: 5000, p_init: 0.8, seed: 0, channel: Channel::Float, output_index: 0 }
    }

    pub fn validate(&self) -> Result<(), RobustnessError> {
        let bad = |reason: String, hint: &str| Err(RobustnessError::Unsupported { check: "attack", reason, hint: hint.into() });
        let max = if self.kind.norm() == "linf" { 1.0 } else { 1000.0 };
        if !(self.epsilon > 0.0 && self.epsilon <= max) {
            return bad(
                format!("epsilon {} is out of range for {} (0 < eps <= {max})", self.epsilon, self.kind.name()),
                "give L-inf epsilons in 0..1 pixel units (e.g. 8/255 = 0.0314) and L2 epsilons as the norm of the 0..1 image (e.g. 0.5)",
            );
        }
        if self.budget == 0 {
            return bad("a query budget of 0 cannot run an attack".into(), "use --queries 5000 (AutoAttack) or any positive number");
        }
        if !(self.p_init > 0.0 && self.p_init <= 1.0) {
            return bad(format!("p_init {} is outside (0, 1]", self.p_init), "AutoAttack uses 0.8");
        }
        Ok(())
    }
}

/// The target's answer to one query.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Score of the true class minus the best other score (< 0: misclassified); for a
    /// detector goal, its loss ([`detection`]).
    pub margin: f32,
    /// The top-1 class; for a detector goal, the number of decoded detections.
    pub top1: usize,
    /// The top-1 answer is not the label (what "misclassified" means, ties included); for a
    /// detector goal, the goal is reached on the decoded detections.
    pub fooled: bool,
    /// The image probed last (filled in by the attack for its final answer).
    pub image: Vec<f32>,
}

/// The attacker's only access to the target: channel, inference and query counting.
pub struct Oracle<'a> {
    target: &'a mut dyn Target,
    spec: &'a PreprocessSpec,
    width: usize,
    height: usize,
    channels: usize,
    goal: Goal<'a>,
    channel: Channel,
    budget: usize,
    used: usize,
    output_index: usize,
    cancel: Option<Cancel>,
}

/// What the attacker wants from the target.
enum Goal<'a> {
    /// The top-1 class is no longer `label`.
    Misclassify { label: usize },
    /// A detector goal on decoded detections ([`detection`]).
    Detector(detection::Objective<'a>),
}

impl<'a> Oracle<'a> {
    pub fn new(target: &'a mut dyn Target, spec: &'a PreprocessSpec, geometry: &Image, label: usize, channel: Channel, budget: usize, output_index: usize) -> Self {
        Oracle { target, spec, width: geometry.width, height: geometry.height, channels: geometry.channels, goal: Goal::Misclassify { label }, channel, budget, used: 0, output_index, cancel: None }
    }

    /// Stop with [`RobustnessError::Interrupted`] at the next query once `cancel` is set.
    pub fn with_cancel(mut self, cancel: &Cancel) -> Self {
        self.cancel = Some(cancel.clone());
        self
    }

    pub fn remaining(&self) -> usize {
        self.budget.saturating_sub(self.used)
    }
    pub fn budget(&self) -> usize {
        self.budget
    }
    pub fn used(&self) -> usize {
        self.used
    }

    /// The frame as the target receives it, in 0..=255.
    fn deliver(&self, x: &[f32], channel: Channel) -> Image {
        let mut img = Image { width: self.width, height: self.height, channels: self.channels, data: x.iter().map(|v| v.clamp(0.0, 1.0) * 255.0).collect() };
        match channel {
            Channel::Float => {}
            Channel::Uint8 => img.data.iter_mut().for_each(|v| *v = v.round()),
            Channel::Jpeg { quality } => {
                img.data.iter_mut().for_each(|v| *v = v.round());
                let color = if self.channels == 1 { aite_data::ColorOrder::Gray } else { self.spec.color };
                let rgb = crate::corruption::jpeg_round_trip(&image_to_rgb8(&img, color), quality);
                img = rgb8_to_image(&rgb, color);
            }
        }
        img
    }

    /// Query the target through `channel`, uncounted (used for the after-attack channel check).
    fn ask(&mut self, x: &[f32], channel: Channel) -> Result<Probe, RobustnessError> {
        let img = self.deliver(x, channel);
        let out = self.target.infer(&[self.spec.normalise(&img)])?;
        let label = match &self.goal {
            Goal::Misclassify { label } => *label,
            Goal::Detector(objective) => return objective.probe(&out),
        };
        let tensor = out.get(self.output_index).ok_or_else(|| RobustnessError::Unsupported {
            check: "attack",
            reason: format!("the target returned {} outputs; output {} was asked for", out.len(), self.output_index),
            hint: "pick the classification output".into(),
        })?;
        if tensor.shape().iter().filter(|&&d| d != 1).count() > 1 {
            return Err(RobustnessError::Unsupported {
                check: "attack",
                reason: format!("output shape {:?} is not one row of class scores ([1, K])", tensor.shape()),
                hint: "attacks and corruption accuracy need a classifier; detectors are not supported yet".into(),
            });
        }
        let scores = tensor.to_f32_vec();
        if label >= scores.len() {
            return Err(RobustnessError::Unsupported {
                check: "attack",
                reason: format!("label index {label} is outside the {} output scores", scores.len()),
                hint: "check label_offset in the preprocessing spec, and that the model is a classifier ([1, K] output)".into(),
            });
        }
        let top1 = aite_target::top_k(tensor, 1)?.first().map(|&(i, _)| i).unwrap_or(0);
        let other = scores.iter().enumerate().filter(|&(i, _)| i != label).map(|(_, &v)| v).fold(f32::NEG_INFINITY, f32::max);
        let margin = scores[label] - other;
        Ok(Probe { margin, top1, fooled: top1 != label, image: Vec::new() })
    }

    /// One counted query. Callers check [`Oracle::remaining`] first; a query
    /// beyond the budget is refused, so budgets hold exactly.
    pub fn probe(&mut self, x: &[f32]) -> Result<Probe, RobustnessError> {
        if self.used >= self.budget {
            return Err(RobustnessError::Unsupported { check: "attack", reason: "query budget exceeded".into(), hint: "this is a bug in the attack loop".into() });
        }
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(RobustnessError::Interrupted);
        }
        self.used += 1;
        let channel = self.channel;
        self.ask(x, channel)
    }
}

/// One sample's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackRecord {
    pub index: usize,
    pub id: String,
    pub label: usize,
    pub clean_correct: bool,
    /// Misclassified after the attack (false for clean-wrong samples: nothing to attack).
    pub success: bool,
    /// Attack queries spent (0 for clean-wrong samples).
    pub queries: usize,
    /// Margin of the final answer (true-class score minus the best other; for
    /// HopSkipJump, L2 distance minus eps); `None` when not finite (no
    /// adversarial found at all, or NaN scores).
    pub final_margin: Option<f32>,
    pub top1_after: usize,
    /// Perturbation norms; non-finite values are written as strings (results schema).
    #[serde(with = "aite_evidence::non_finite::f32")]
    pub linf: f32,
    #[serde(with = "aite_evidence::non_finite::f32")]
    pub l2: f32,
    /// For successes: does the adversarial frame still fool after 8-bit quantisation / JPEG?
    pub fools_after_uint8: Option<bool>,
    pub fools_after_jpeg: Option<bool>,
}

/// The attack over a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackReport {
    pub settings: AttackSettings,
    pub samples: usize,
    pub clean_accuracy: Proportion,
    /// AutoAttack's robust accuracy: correct after attack / all samples.
    pub robust_accuracy: Proportion,
    /// Successes / clean-correct samples.
    pub attack_success_rate: Proportion,
    /// Queries over successful attacks.
    pub queries_mean: Option<f64>,
    pub queries_median: Option<f64>,
    pub queries_total: usize,
    /// Robust accuracy when the adversarial frames pass through 8-bit quantisation / JPEG (quality in `jpeg_quality`).
    pub robust_accuracy_uint8: Proportion,
    pub robust_accuracy_jpeg: Proportion,
    pub jpeg_quality: u8,
    pub records: Vec<AttackRecord>,
    /// Samples without a record: not reached (interrupted) or in another shard.
    pub missing_samples: usize,
    pub interrupted: bool,
    /// The shard `(INDEX, COUNT)` this report covers: samples with `index % COUNT == INDEX`;
    /// `(0, 1)` for every sample (a single run, or shards merged).
    #[serde(default = "whole_run")]
    pub shard: (usize, usize),
}

fn whole_run() -> (usize, usize) {
    (0, 1)
}

/// Whether sample `index` belongs to shard `(INDEX, COUNT)`: every COUNT-th sample from INDEX,
/// so each shard attacks its own samples and the shards together attack each sample once.
pub fn in_shard(index: usize, shard: (usize, usize)) -> bool {
    index % shard.1.max(1) == shard.0
}

/// JPEG quality of the after-attack channel check.
pub const CHECK_JPEG_QUALITY: u8 = 90;

pub(crate) fn seed_for(seed: u64, kind: AttackKind, index: usize) -> u64 {
    crate::corruption::sample_seed(seed ^ 0xA77A_C4, crate::corruption::CorruptionKind::GaussianNoise, 0, index) ^ (kind as u64).wrapping_mul(0x9E37_79B9)
}

pub(crate) fn noise(x: &[f32], eps: f32, norm: &str, oracle: &mut Oracle<'_>, rng: &mut StdRng) -> Result<Probe, RobustnessError> {
    let normal = rand_distr::StandardNormal;
    let mut best: Option<Probe> = None;
    while oracle.remaining() > 0 {
        let candidate: Vec<f32> = if norm == "linf" {
            x.iter().map(|&v| (v + if rng.gen::<bool>() { eps } else { -eps }).clamp(0.0, 1.0)).collect()
        } else {
            let d: Vec<f32> = x.iter().map(|_| rand_distr::Distribution::<f32>::sample(&normal, rng)).collect();
            let n = d.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            x.iter().zip(&d).map(|(&v, &g)| (v + g / n * eps).clamp(0.0, 1.0)).collect()
        };
        let p = oracle.probe(&candidate)?;
        let better = best.as_ref().is_none_or(|b| (p.fooled && !b.fooled) || p.margin < b.margin);
        if better {
            best = Some(Probe { image: candidate, ..p });
        }
        if best.as_ref().is_some_and(|b| b.fooled) {
            break;
        }
    }
    Ok(best.expect("budget >= 1 is validated"))
}

pub(crate) fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Attack every sample not already in `done`, calling `on_record` after each.
pub fn run_attack(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    frames: &[LabeledFrame],
    settings: &AttackSettings,
    done: Vec<AttackRecord>,
    cancel: &Cancel,
    on_record: &mut dyn FnMut(&AttackRecord),
) -> Result<AttackReport, RobustnessError> {
    run_attack_shard(target, spec, frames, settings, (0, 1), done, cancel, on_record)
}

/// [`run_attack`] on the samples of one shard ([`in_shard`]); a sample's result depends only on
/// its frame, the target, the settings and its index (its seed), never on the shard.
#[allow(clippy::too_many_arguments)]
pub fn run_attack_shard(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    frames: &[LabeledFrame],
    settings: &AttackSettings,
    shard: (usize, usize),
    done: Vec<AttackRecord>,
    cancel: &Cancel,
    on_record: &mut dyn FnMut(&AttackRecord),
) -> Result<AttackReport, RobustnessError> {
    settings.validate()?;
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "attack" });
    }
    if shard.1 == 0 || shard.0 >= shard.1 {
        return Err(RobustnessError::Unsupported { check: "attack", reason: format!("shard {}/{} does not exist", shard.0, shard.1), hint: "shards are INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4".into() });
    }
    let mut records: Vec<AttackRecord> = done.into_iter().filter(|r| in_shard(r.index, shard)).collect();
    let mut interrupted = false;
    for (index, frame) in frames.iter().enumerate() {
        if !in_shard(index, shard) || records.iter().any(|r| r.index == index) {
            continue;
        }
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let geometry = spec.geometry(&rgb8_to_image(&frame.image, spec.color))?;
        let x: Vec<f32> = geometry.data.iter().map(|v| v / 255.0).collect();
        let expected = frame.label as i64 + spec.label_offset;
        if expected < 0 {
            return Err(RobustnessError::Unsupported { check: "attack", reason: format!("label {} of sample {} becomes {expected} with label_offset", frame.label, frame.id), hint: "check label_offset".into() });
        }
        let label = expected as usize;
        // The clean check: one query outside the attack's budget.
        let mut clean_oracle = Oracle::new(target, spec, &geometry, label, settings.channel, 1, settings.output_index);
        let clean = clean_oracle.probe(&x)?;
        let mut record = AttackRecord {
            index,
            id: frame.id.clone(),
            label: frame.label,
            clean_correct: !clean.fooled,
            success: false,
            queries: 0,
            final_margin: Some(clean.margin).filter(|m| m.is_finite()),
            top1_after: clean.top1,
            linf: 0.0,
            l2: 0.0,
            fools_after_uint8: None,
            fools_after_jpeg: None,
        };
        if record.clean_correct {
            let mut rng = StdRng::seed_from_u64(seed_for(settings.seed, settings.kind, index));
            let mut oracle = Oracle::new(target, spec, &geometry, label, settings.channel, settings.budget, settings.output_index).with_cancel(cancel);
            let (w, h, c) = (geometry.width, geometry.height, geometry.channels);
            let attempt = match settings.kind {
                AttackKind::SquareLinf => square::square_linf(&x, w, h, c, settings.epsilon, settings.p_init, &mut oracle, &mut rng),
                AttackKind::SquareL2 => square::square_l2(&x, w, h, c, settings.epsilon, settings.p_init, &mut oracle, &mut rng),
                AttackKind::NoiseLinf | AttackKind::NoiseL2 => noise(&x, settings.epsilon, settings.kind.norm(), &mut oracle, &mut rng),
                AttackKind::HopSkipJump => hsj::hop_skip_jump(&x, settings.epsilon, &mut oracle, &mut rng),
                AttackKind::SpsaLinf => spsa::spsa(&x, settings.epsilon, spsa::Ball::Linf, &mut oracle, &mut rng),
                AttackKind::SpsaL2 => spsa::spsa(&x, settings.epsilon, spsa::Ball::L2, &mut oracle, &mut rng),
            };
            let best = match attempt {
                Err(RobustnessError::Interrupted) => {
                    // The sample in progress is dropped, not recorded half-attacked.
                    interrupted = true;
                    break;
                }
                other => other?,
            };
            record.queries = oracle.used();
            record.final_margin = Some(best.margin).filter(|m| m.is_finite());
            record.top1_after = if best.fooled { best.top1 } else { clean.top1 };
            record.success = best.fooled;
            record.linf = best.image.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            record.l2 = best.image.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt();
            if record.success {
                record.fools_after_uint8 = Some(oracle.ask(&best.image, Channel::Uint8)?.fooled);
                record.fools_after_jpeg = Some(oracle.ask(&best.image, Channel::Jpeg { quality: CHECK_JPEG_QUALITY })?.fooled);
            }
        }
        on_record(&record);
        records.push(record);
    }
    let mut report = summarise_attack(settings, frames.len(), records, interrupted);
    report.shard = shard;
    Ok(report)
}

/// Merge the reports of one attack run in shards (or resumed runs) into one: records unioned
/// by sample, aggregates recomputed, so the result equals the single run's. Runs with other
/// settings or samples, or two different records of one sample, are refused.
pub fn merge_attack_reports(reports: &[AttackReport]) -> Result<AttackReport, RobustnessError> {
    let Some(first) = reports.first() else {
        return Err(RobustnessError::NoSamples { check: "merge" });
    };
    let name = first.settings.kind.name();
    let mut records: Vec<AttackRecord> = Vec::new();
    for r in reports {
        if r.settings != first.settings || r.samples != first.samples {
            return Err(RobustnessError::Unsupported {
                check: "merge",
                reason: format!("the {name} attack was not run with the same settings and samples in every run"),
                hint: "merge only shards of one sweep: same command line except --shard".into(),
            });
        }
        for rec in &r.records {
            match records.iter().find(|d| d.index == rec.index) {
                None => records.push(rec.clone()),
                Some(d) if d == rec => {}
                Some(_) => {
                    return Err(RobustnessError::Unsupported {
                        check: "merge",
                        reason: format!("sample {} ({}) has two different {name} results", rec.index, rec.id),
                        hint: "the runs did not attack the same target the same way; rerun the shard".into(),
                    })
                }
            }
        }
    }
    Ok(summarise_attack(&first.settings, first.samples, records, reports.iter().any(|r| r.interrupted)))
}

/// Aggregate per-sample records.
pub fn summarise_attack(settings: &AttackSettings, samples: usize, mut records: Vec<AttackRecord>, interrupted: bool) -> AttackReport {
    records.sort_by_key(|r| r.index);
    let n = records.len();
    let clean = records.iter().filter(|r| r.clean_correct).count();
    let successes: Vec<&AttackRecord> = records.iter().filter(|r| r.success).collect();
    let robust = clean - successes.len();
    let mut q: Vec<f64> = successes.iter().map(|r| r.queries as f64).collect();
    let queries_mean = (!q.is_empty()).then(|| q.iter().sum::<f64>() / q.len() as f64);
    let still = |f: fn(&AttackRecord) -> Option<bool>| robust + successes.iter().filter(|r| f(r) == Some(false)).count();
    AttackReport {
        settings: settings.clone(),
        samples,
        clean_accuracy: wilson(clean, n),
        robust_accuracy: wilson(robust, n),
        attack_success_rate: wilson(successes.len(), clean),
        queries_median: median(&mut q),
        queries_mean,
        queries_total: records.iter().map(|r| r.queries).sum(),
        robust_accuracy_uint8: wilson(still(|r| r.fools_after_uint8), n),
        robust_accuracy_jpeg: wilson(still(|r| r.fools_after_jpeg), n),
        jpeg_quality: CHECK_JPEG_QUALITY,
        missing_samples: samples - n,
        records,
        interrupted,
        shard: whole_run(),
    }
}

#[cfg(test)]
mod tests;
