//! Score-based black-box attacks on detectors: **vanishing** (every detection of the
//! frame suppressed, e.g. a face disappearing from a camera) and **mislabelling** (every
//! detected object still found, but as another class; multi-class detectors only).
//!
//! The search is the Square attack's ([`super::square`]): same p-schedule, same L-inf and
//! L2 square updates, same hard per-sample budget, channels and seed policy; only the loss
//! differs. The noise baseline spends the same budget at the same norm with random
//! perturbations ([`super::noise`]): how often detections vanish by chance.
//!
//! - Vanishing loss: the highest score over **every candidate before NMS** (each anchor,
//!   every non-background class, after the task's score activation) minus the task's score
//!   threshold. NMS only removes candidates, so the loss is at or below 0 exactly when no
//!   candidate passes the threshold, and unlike a count of detections it keeps decreasing
//!   below the threshold's edge.
//! - Mislabelling loss: for each clean detection, the best score of its class among the
//!   candidates overlapping its box (IoU >= 0.5) minus the best score of any other class
//!   there (each class's [`MISLABEL_CANDIDATES`] best candidates); the loss is the worst
//!   (largest) over the clean detections.
//!
//! Success is decided on the decoded detections (the task's own decoding, threshold and
//! NMS: the terminal's postprocess) of a **final verification query**, which counts toward
//! the budget: the search gets `budget - 1` queries. The clean query that finds what to
//! attack is one more, outside the budget, as for classifiers. A frame without a clean
//! detection is [`DetectorAttackOutcome::NoCleanDetection`]: not applicable, never a success.

use super::{median, noise, seed_for, square, AttackKind, AttackSettings, Goal, Oracle, Probe};
use crate::corruption::detection::DetectionFrame;
use crate::corruption::rgb8_to_image;
use crate::RobustnessError;
use aite_accuracy::{wilson, Proportion};
use aite_data::{Image, PreprocessSpec};
use aite_target::{Cancel, Target, Tensor};
use aite_task::{iou, Detection, DetectorSpec, NmsKind, Postprocess, TaskOutput, TaskSpec};
use rand::{rngs::StdRng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What the adversary wants from the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorGoal {
    /// No detection above the score threshold.
    Vanish,
    /// Every clean detection's box found again only as another class (IoU >= 0.5).
    Mislabel,
}

impl DetectorGoal {
    pub fn name(self) -> &'static str {
        match self {
            DetectorGoal::Vanish => "vanish",
            DetectorGoal::Mislabel => "mislabel",
        }
    }
}

impl std::str::FromStr for DetectorGoal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "vanish" => Ok(DetectorGoal::Vanish),
            "mislabel" => Ok(DetectorGoal::Mislabel),
            _ => Err(format!("unknown detector attack goal `{s}` (use vanish or mislabel)")),
        }
    }
}

/// IoU at which a detection is the same object as a clean one (mislabelling).
pub const MISLABEL_IOU: f32 = 0.5;
/// Candidates per class the mislabelling loss looks at.
pub const MISLABEL_CANDIDATES: usize = 100;

/// Settings of one detector attack: the Square attack's settings and the goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorAttackSettings {
    pub goal: DetectorGoal,
    /// `kind` is `square-linf` or `square-l2`; `budget` includes the verification query;
    /// `output_index` is not read (the task names its outputs).
    pub attack: AttackSettings,
}

impl DetectorAttackSettings {
    /// The noise baseline of the same norm.
    pub fn noise_kind(&self) -> AttackKind {
        if self.attack.kind.norm() == "linf" {
            AttackKind::NoiseLinf
        } else {
            AttackKind::NoiseL2
        }
    }

    /// Suite name in results.json: `detector_attack_square_linf`, `detector_attack_mislabel_square_l2`.
    pub fn suite_name(&self) -> String {
        let kind = self.attack.kind.name().replace('-', "_");
        match self.goal {
            DetectorGoal::Vanish => format!("detector_attack_{kind}"),
            DetectorGoal::Mislabel => format!("detector_attack_mislabel_{kind}"),
        }
    }

    pub fn validate(&self) -> Result<(), RobustnessError> {
        self.attack.validate()?;
        if !matches!(self.attack.kind, AttackKind::SquareLinf | AttackKind::SquareL2) {
            return Err(RobustnessError::Unsupported {
                check: "detector attack",
                reason: format!("{} is not a detector attack", self.attack.kind.name()),
                hint: "detectors are attacked with square-linf or square-l2 (each with its noise baseline built in)".into(),
            });
        }
        if self.attack.budget < 2 {
            return Err(RobustnessError::Unsupported {
                check: "detector attack",
                reason: format!("a budget of {} leaves no query for the search after the verification query", self.attack.budget),
                hint: "use --queries 500 or more".into(),
            });
        }
        Ok(())
    }
}

/// One attempt's (attack or noise) outcome on one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum DetectorAttackOutcome {
    /// Verified: no detection above the threshold on the final query.
    Vanished,
    /// Verified: every clean detection found again only as another class.
    Mislabelled,
    /// The budget is spent (or the verification query disagreed): the goal is not reached.
    Survived,
    /// The clean frame has no detection: nothing to attack (not applicable, not a success).
    NoCleanDetection,
    /// The target failed to answer; the frame is left out of the rates.
    TargetError { error: String },
}

impl DetectorAttackOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self, DetectorAttackOutcome::Vanished | DetectorAttackOutcome::Mislabelled)
    }
    /// Counted in a success rate's denominator: attacked and answered.
    pub fn is_attacked(&self) -> bool {
        matches!(self, DetectorAttackOutcome::Vanished | DetectorAttackOutcome::Mislabelled | DetectorAttackOutcome::Survived)
    }
    pub fn name(&self) -> &'static str {
        match self {
            DetectorAttackOutcome::Vanished => "vanished",
            DetectorAttackOutcome::Mislabelled => "mislabelled",
            DetectorAttackOutcome::Survived => "survived",
            DetectorAttackOutcome::NoCleanDetection => "no-clean-detection",
            DetectorAttackOutcome::TargetError { .. } => "target-error",
        }
    }
}

/// One attempt on one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorAttempt {
    pub outcome: DetectorAttackOutcome,
    /// Queries spent, the verification query included (never more than the budget).
    pub queries: usize,
    /// Decoded detections on the verification query (`None`: not attacked or no answer).
    pub detections_after: Option<usize>,
    /// Highest decoded score on the verification query (`None`: no detection).
    pub max_score_after: Option<f32>,
    /// Perturbation norms of the final frame (0 when not attacked).
    #[serde(with = "aite_evidence::non_finite::f32")]
    pub linf: f32,
    #[serde(with = "aite_evidence::non_finite::f32")]
    pub l2: f32,
}

impl DetectorAttempt {
    fn not_run(outcome: DetectorAttackOutcome) -> Self {
        DetectorAttempt { outcome, queries: 0, detections_after: None, max_score_after: None, linf: 0.0, l2: 0.0 }
    }
}

/// One frame: what was there clean, what the attack and the noise baseline left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorAttackRecord {
    pub index: usize,
    pub id: String,
    /// Decoded detections on the clean frame (through the channel).
    pub clean_detections: usize,
    pub clean_max_score: Option<f32>,
    pub attack: DetectorAttempt,
    pub noise: DetectorAttempt,
}

/// Whether the goal can be pursued on this detector at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum GoalApplicability {
    Applicable,
    /// E.g. mislabelling a single-class detector: no other class to move a box to.
    NotApplicable { why: String },
}

/// A detector attack over a set of frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorAttackReport {
    pub settings: DetectorAttackSettings,
    pub noise_kind: AttackKind,
    /// The task's score threshold (a detection is kept when its score is strictly above it).
    pub score_threshold: f32,
    /// What the search minimises, in words.
    pub loss: String,
    pub applicability: GoalApplicability,
    pub frames: usize,
    /// Frames with a clean detection, whose attack the target answered (the rates' denominator).
    pub attacked: usize,
    pub no_clean_detection: usize,
    /// Frames whose clean query, attack or noise baseline the target failed to answer.
    pub target_errors: usize,
    /// Successes (vanished or mislabelled) over attacked frames, Wilson 95%; `None` when no frame was attacked.
    pub success_rate: Option<Proportion>,
    /// The noise baseline's successes over the frames it attacked.
    pub noise_success_rate: Option<Proportion>,
    /// Queries of successful attacks.
    pub queries_mean: Option<f64>,
    pub queries_median: Option<f64>,
    /// Every query of the attacks and the baselines (clean queries not included).
    pub queries_total: usize,
    pub records: Vec<DetectorAttackRecord>,
    /// Frames without a record: not reached (interrupted) or in another shard.
    pub missing_frames: usize,
    pub interrupted: bool,
    /// The shard `(INDEX, COUNT)` this report covers ([`super::in_shard`]); `(0, 1)` for all frames.
    pub shard: (usize, usize),
}

impl DetectorAttackReport {
    /// `index,id,clean_detections,clean_max_score,attack_outcome,attack_queries,attack_detections_after,attack_max_score_after,attack_linf,attack_l2,noise_...` per frame.
    pub fn records_csv(&self) -> Vec<u8> {
        let mut s = String::from("index,id,clean_detections,clean_max_score");
        for who in ["attack", "noise"] {
            s.push_str(&format!(",{who}_outcome,{who}_queries,{who}_detections_after,{who}_max_score_after,{who}_linf,{who}_l2"));
        }
        s.push('\n');
        let opt = |v: Option<f32>| v.map(|v| v.to_string()).unwrap_or_default();
        for r in &self.records {
            let id = if r.id.contains([',', '"']) { format!("\"{}\"", r.id.replace('"', "\"\"")) } else { r.id.clone() };
            s.push_str(&format!("{},{id},{},{}", r.index, r.clean_detections, opt(r.clean_max_score)));
            for a in [&r.attack, &r.noise] {
                s.push_str(&format!(",{},{},{},{},{},{}", a.outcome.name(), a.queries, a.detections_after.map(|d| d.to_string()).unwrap_or_default(), opt(a.max_score_after), a.linf, a.l2));
            }
            s.push('\n');
        }
        s.into_bytes()
    }
}

/// The detector loss an [`Oracle`] computes per query.
pub(crate) struct Objective<'a> {
    post: &'a Postprocess,
    detector: &'a DetectorSpec,
    goal: DetectorGoal,
    /// The clean detections (mislabelling).
    clean: &'a [Detection],
    /// Each class's best candidates, unthresholded and unsuppressed (mislabelling).
    relaxed: Option<Postprocess>,
}

impl<'a> Objective<'a> {
    fn new(post: &'a Postprocess, detector: &'a DetectorSpec, goal: DetectorGoal, clean: &'a [Detection]) -> Self {
        let relaxed = (goal == DetectorGoal::Mislabel).then(|| {
            Postprocess::new(TaskSpec::Detector(DetectorSpec {
                score_threshold: f32::NEG_INFINITY,
                nms: NmsKind::Hard,
                nms_iou: 1.0,
                candidate_limit: Some(MISLABEL_CANDIDATES),
                // Every class's candidates of every box, uncut, per class (a YOLO preset keeps one class per box).
                multi_label: true,
                max_nms: None,
                agnostic_nms: false,
                max_detections: usize::MAX,
                ..detector.clone()
            }))
        });
        Objective { post, detector, goal, clean, relaxed }
    }

    pub(crate) fn probe(&self, outputs: &[Tensor]) -> Result<Probe, RobustnessError> {
        let detections = decode(self.post, outputs)?;
        let (margin, fooled) = match self.goal {
            DetectorGoal::Vanish => (max_candidate_score(self.detector, outputs) - self.detector.score_threshold, detections.is_empty()),
            DetectorGoal::Mislabel => {
                let candidates = decode(self.relaxed.as_ref().expect("built for mislabelling"), outputs)?;
                (mislabel_loss(self.clean, &candidates), mislabelled(self.clean, &detections))
            }
        };
        Ok(Probe { margin, top1: detections.len(), fooled, image: Vec::new() })
    }

    fn reached(&self, detections: &[Detection]) -> bool {
        match self.goal {
            DetectorGoal::Vanish => detections.is_empty(),
            DetectorGoal::Mislabel => mislabelled(self.clean, detections),
        }
    }
}

fn task_error(e: aite_task::TaskError) -> RobustnessError {
    RobustnessError::Unsupported { check: "detector attack", reason: e.to_string(), hint: "check the task spec (--task) against the model's outputs (`aite inspect MODEL`)".into() }
}

fn decode(post: &Postprocess, outputs: &[Tensor]) -> Result<Vec<Detection>, RobustnessError> {
    match post.apply(outputs).map_err(task_error)? {
        TaskOutput::Detections(d) => Ok(d),
        _ => Err(not_a_detector()),
    }
}

fn not_a_detector() -> RobustnessError {
    RobustnessError::Unsupported { check: "detector attack", reason: "the task is not a detector".into(), hint: "give a detector task (--task ultraface-slim320, blazeface-short, ...)".into() }
}

/// Number of classes the detector reports (score columns without the background).
fn class_count(d: &DetectorSpec, outputs: &[Tensor]) -> usize {
    d.candidate_scores(outputs).map_or(0, |(classes, _)| classes)
}

/// Highest activated score over every anchor and reported class, before threshold and NMS
/// (`-inf` when there is none; NaN scores are ignored, as the threshold ignores them).
fn max_candidate_score(d: &DetectorSpec, outputs: &[Tensor]) -> f32 {
    d.candidate_scores(outputs).map_or(f32::NEG_INFINITY, |(_, scores)| scores.into_iter().fold(f32::NEG_INFINITY, f32::max))
}

/// Every clean detection's box is found again (IoU >= [`MISLABEL_IOU`]) only as other classes.
fn mislabelled(clean: &[Detection], after: &[Detection]) -> bool {
    !clean.is_empty()
        && clean.iter().all(|c| {
            let overlapping = || after.iter().filter(|a| iou(&a.bbox, &c.bbox) >= MISLABEL_IOU);
            overlapping().all(|a| a.class != c.class) && overlapping().any(|a| a.class != c.class)
        })
}

/// Worst clean detection's (own-class score - best other-class score) among overlapping candidates.
fn mislabel_loss(clean: &[Detection], candidates: &[Detection]) -> f32 {
    let floor = candidates.iter().map(|c| c.score).fold(f32::INFINITY, f32::min);
    clean
        .iter()
        .map(|c| {
            let near = || candidates.iter().filter(|a| a.score.is_finite() && iou(&a.bbox, &c.bbox) >= MISLABEL_IOU);
            let own = near().filter(|a| a.class == c.class).map(|a| a.score).fold(f32::NEG_INFINITY, f32::max);
            let other = near().filter(|a| a.class != c.class).map(|a| a.score).fold(f32::NEG_INFINITY, f32::max);
            let own = if own.is_finite() { own } else { floor.min(0.0) };
            let other = if other.is_finite() { other } else { floor.min(0.0) };
            own - other
        })
        .fold(f32::NEG_INFINITY, f32::max)
}

fn detector_oracle<'a>(target: &'a mut dyn Target, spec: &'a PreprocessSpec, geometry: &Image, objective: Objective<'a>, settings: &AttackSettings, budget: usize) -> Oracle<'a> {
    Oracle {
        target,
        spec,
        width: geometry.width,
        height: geometry.height,
        channels: geometry.channels,
        goal: Goal::Detector(objective),
        channel: settings.channel,
        budget,
        used: 0,
        output_index: 0,
        cancel: None,
    }
}

impl Oracle<'_> {
    /// One counted query answered with the decoded detections, whether the goal is reached
    /// and the number of classes the detector reports.
    fn verify(&mut self, x: &[f32]) -> Result<(Vec<Detection>, bool, usize), RobustnessError> {
        if self.used >= self.budget {
            return Err(RobustnessError::Unsupported { check: "detector attack", reason: "query budget exceeded".into(), hint: "this is a bug in the attack loop".into() });
        }
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(RobustnessError::Interrupted);
        }
        self.used += 1;
        let img = self.deliver(x, self.channel);
        let out = self.target.infer(&[self.spec.normalise(&img)])?;
        let Goal::Detector(objective) = &self.goal else { return Err(not_a_detector()) };
        let detections = decode(objective.post, &out)?;
        let reached = objective.reached(&detections);
        Ok((detections, reached, class_count(objective.detector, &out)))
    }
}

/// Everything one attempt needs besides the target.
struct Frame<'f> {
    index: usize,
    geometry: &'f Image,
    x: &'f [f32],
    clean: &'f [Detection],
}

fn max_score(d: &[Detection]) -> Option<f32> {
    d.iter().map(|d| d.score).reduce(f32::max)
}

/// The Square search (`kind` square-*) or the noise baseline (noise-*) on one frame, then
/// the verification query. Target failures become [`DetectorAttackOutcome::TargetError`].
#[allow(clippy::too_many_arguments)]
fn attempt(target: &mut dyn Target, spec: &PreprocessSpec, post: &Postprocess, detector: &DetectorSpec, settings: &DetectorAttackSettings, kind: AttackKind, frame: &Frame<'_>, cancel: &Cancel) -> Result<DetectorAttempt, RobustnessError> {
    let a = &settings.attack;
    let objective = Objective::new(post, detector, settings.goal, frame.clean);
    // The search gets budget - 1 queries; the verification query is the last one.
    let mut oracle = detector_oracle(target, spec, frame.geometry, objective, a, a.budget - 1).with_cancel(cancel);
    let mut rng = StdRng::seed_from_u64(seed_for(a.seed, kind, frame.index));
    let (w, h, c) = (frame.geometry.width, frame.geometry.height, frame.geometry.channels);
    let x = frame.x;
    let searched = match kind {
        AttackKind::SquareLinf => square::square_linf(x, w, h, c, a.epsilon, a.p_init, &mut oracle, &mut rng),
        AttackKind::SquareL2 => square::square_l2(x, w, h, c, a.epsilon, a.p_init, &mut oracle, &mut rng),
        AttackKind::NoiseLinf | AttackKind::NoiseL2 => noise(x, a.epsilon, kind.norm(), &mut oracle, &mut rng),
        other => return Err(RobustnessError::Unsupported { check: "detector attack", reason: format!("{} is not a detector attack", other.name()), hint: "use square-linf or square-l2".into() }),
    };
    let failed = |e: aite_target::TargetError, queries: usize| DetectorAttempt { queries, ..DetectorAttempt::not_run(DetectorAttackOutcome::TargetError { error: e.to_string() }) };
    let best = match searched {
        Ok(best) => best,
        Err(RobustnessError::Target(e)) => return Ok(failed(e, oracle.used())),
        Err(e) => return Err(e),
    };
    oracle.budget += 1;
    let (after, reached, _) = match oracle.verify(&best.image) {
        Ok(v) => v,
        Err(RobustnessError::Target(e)) => return Ok(failed(e, oracle.used())),
        Err(e) => return Err(e),
    };
    let outcome = match (reached, settings.goal) {
        (true, DetectorGoal::Vanish) => DetectorAttackOutcome::Vanished,
        (true, DetectorGoal::Mislabel) => DetectorAttackOutcome::Mislabelled,
        (false, _) => DetectorAttackOutcome::Survived,
    };
    Ok(DetectorAttempt {
        outcome,
        queries: oracle.used(),
        detections_after: Some(after.len()),
        max_score_after: max_score(&after),
        linf: best.image.iter().zip(x).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max),
        l2: best.image.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt(),
    })
}

fn the_detector(post: &Postprocess) -> Result<&DetectorSpec, RobustnessError> {
    match post.spec() {
        TaskSpec::Detector(d) => Ok(d),
        _ => Err(not_a_detector()),
    }
}

/// Attack every frame (vanishing or mislabelling, with the noise baseline): the one call a
/// caller needs (`aite robustness`, the demo).
pub fn run_detector_attack(target: &mut dyn Target, spec: &PreprocessSpec, task: &Postprocess, frames: &[DetectionFrame], settings: &DetectorAttackSettings) -> Result<DetectorAttackReport, RobustnessError> {
    run_detector_attack_shard(target, spec, task, frames, settings, (0, 1), vec![], &Cancel::new(), &mut |_| {})
}

/// [`run_detector_attack`] on the frames of one shard ([`super::in_shard`]), skipping those in
/// `done` (a checkpoint) and calling `on_record` after each frame. A frame's result depends
/// only on the frame, the target, the settings and its index (its seed), never on the shard.
#[allow(clippy::too_many_arguments)]
pub fn run_detector_attack_shard(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    task: &Postprocess,
    frames: &[DetectionFrame],
    settings: &DetectorAttackSettings,
    shard: (usize, usize),
    done: Vec<DetectorAttackRecord>,
    cancel: &Cancel,
    on_record: &mut dyn FnMut(&DetectorAttackRecord),
) -> Result<DetectorAttackReport, RobustnessError> {
    settings.validate()?;
    let detector = the_detector(task)?;
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "detector attack" });
    }
    if shard.1 == 0 || shard.0 >= shard.1 {
        return Err(RobustnessError::Unsupported { check: "detector attack", reason: format!("shard {}/{} does not exist", shard.0, shard.1), hint: "shards are INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4".into() });
    }
    let mut records: Vec<DetectorAttackRecord> = Vec::new();
    for r in done.into_iter().filter(|r| super::in_shard(r.index, shard)) {
        check_record_index(&r, frames.len(), &settings.suite_name())?;
        match records.iter().find(|d| d.index == r.index) {
            None => records.push(r),
            Some(d) if *d == r => {}
            Some(_) => return Err(RobustnessError::Unsupported { check: "detector attack", reason: format!("the checkpoint holds two different results of frame {} ({})", r.index, r.id), hint: "delete the run's .state checkpoint and rerun".into() }),
        }
    }
    let mut interrupted = false;
    let mut applicability = GoalApplicability::Applicable;
    for (index, frame) in frames.iter().enumerate() {
        if !super::in_shard(index, shard) || records.iter().any(|r| r.index == index) {
            continue;
        }
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let geometry = spec.geometry(&rgb8_to_image(&frame.image, spec.color))?;
        let x: Vec<f32> = geometry.data.iter().map(|v| v / 255.0).collect();
        // The clean query, outside the budget, through the attack's channel.
        let clean = {
            let mut oracle = detector_oracle(target, spec, &geometry, Objective::new(task, detector, DetectorGoal::Vanish, &[]), &settings.attack, 1);
            match oracle.verify(&x) {
                Ok((d, _, classes)) => Ok((d, classes)),
                Err(RobustnessError::Target(e)) => Err(e.to_string()),
                Err(e) => return Err(e),
            }
        };
        if settings.goal == DetectorGoal::Mislabel {
            if let Ok((_, classes @ 0..=1)) = &clean {
                applicability = GoalApplicability::NotApplicable {
                    why: format!("the detector reports {classes} class{}: a box cannot be moved to another class (mislabelling needs a multi-class detector)", if *classes == 1 { "" } else { "es" }),
                };
                records.clear();
                break;
            }
        }
        let mut record = DetectorAttackRecord {
            index,
            id: frame.id.clone(),
            clean_detections: 0,
            clean_max_score: None,
            attack: DetectorAttempt::not_run(DetectorAttackOutcome::NoCleanDetection),
            noise: DetectorAttempt::not_run(DetectorAttackOutcome::NoCleanDetection),
        };
        match clean {
            Err(error) => {
                record.attack = DetectorAttempt::not_run(DetectorAttackOutcome::TargetError { error: error.clone() });
                record.noise = DetectorAttempt::not_run(DetectorAttackOutcome::TargetError { error });
            }
            Ok((clean, _)) if clean.is_empty() => {}
            Ok((clean, _)) => {
                record.clean_detections = clean.len();
                record.clean_max_score = max_score(&clean);
                let f = Frame { index, geometry: &geometry, x: &x, clean: &clean };
                let attack = attempt(target, spec, task, detector, settings, settings.attack.kind, &f, cancel);
                let noise = attack.and_then(|a| Ok((a, attempt(target, spec, task, detector, settings, settings.noise_kind(), &f, cancel)?)));
                match noise {
                    Ok((a, n)) => {
                        record.attack = a;
                        record.noise = n;
                    }
                    Err(RobustnessError::Interrupted) => {
                        // The frame in progress is dropped, not recorded half-attacked.
                        interrupted = true;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        on_record(&record);
        records.push(record);
    }
    let mut report = summarise_detector_attack(settings, detector.score_threshold, frames.len(), records, interrupted);
    if applicability != GoalApplicability::Applicable {
        report.missing_frames = 0;
    }
    report.applicability = applicability;
    report.shard = shard;
    Ok(report)
}

fn loss_words(goal: DetectorGoal) -> String {
    match goal {
        DetectorGoal::Vanish => "highest activated score over every candidate before NMS (all anchors, non-background classes) minus the score threshold".into(),
        DetectorGoal::Mislabel => format!(
            "worst clean detection's own-class score minus the best other-class score among candidates overlapping its box at IoU >= {MISLABEL_IOU} (each class's {MISLABEL_CANDIDATES} best candidates)"
        ),
    }
}

/// A record of a frame the run does not have (a corrupt checkpoint or results.json) is refused.
fn check_record_index(r: &DetectorAttackRecord, frames: usize, name: &str) -> Result<(), RobustnessError> {
    if r.index >= frames {
        return Err(RobustnessError::Unsupported { check: "merge", reason: format!("{name} holds a result for frame {} ({}) but the run has {frames} frames", r.index, r.id), hint: "the results or checkpoint were edited or come from another run; rerun the shard".into() });
    }
    Ok(())
}

/// Aggregate per-frame records (one per frame, each `index < frames`, as merge and resume check).
pub fn summarise_detector_attack(settings: &DetectorAttackSettings, score_threshold: f32, frames: usize, mut records: Vec<DetectorAttackRecord>, interrupted: bool) -> DetectorAttackReport {
    records.sort_by_key(|r| r.index);
    let rate = |pick: fn(&DetectorAttackRecord) -> &DetectorAttempt| {
        let attacked = records.iter().filter(|r| pick(r).outcome.is_attacked()).count();
        let won = records.iter().filter(|r| pick(r).outcome.is_success()).count();
        (attacked > 0).then(|| wilson(won, attacked))
    };
    let mut q: Vec<f64> = records.iter().filter(|r| r.attack.outcome.is_success()).map(|r| r.attack.queries as f64).collect();
    let queries_mean = (!q.is_empty()).then(|| q.iter().sum::<f64>() / q.len() as f64);
    let is_error = |a: &DetectorAttempt| matches!(a.outcome, DetectorAttackOutcome::TargetError { .. });
    DetectorAttackReport {
        settings: settings.clone(),
        noise_kind: settings.noise_kind(),
        score_threshold,
        loss: loss_words(settings.goal),
        applicability: GoalApplicability::Applicable,
        frames,
        attacked: records.iter().filter(|r| r.attack.outcome.is_attacked()).count(),
        no_clean_detection: records.iter().filter(|r| r.attack.outcome == DetectorAttackOutcome::NoCleanDetection).count(),
        target_errors: records.iter().filter(|r| is_error(&r.attack) || is_error(&r.noise)).count(),
        success_rate: rate(|r| &r.attack),
        noise_success_rate: rate(|r| &r.noise),
        queries_median: median(&mut q),
        queries_mean,
        queries_total: records.iter().map(|r| r.attack.queries + r.noise.queries).sum(),
        missing_frames: frames.saturating_sub(records.len()),
        records,
        interrupted,
        shard: (0, 1),
    }
}

/// Merge the reports of one detector attack run in shards (or resumed): records unioned by
/// frame, aggregates recomputed. Other settings or frame counts, or two different records of
/// one frame, are refused.
pub fn merge_detector_attack_reports(reports: &[DetectorAttackReport]) -> Result<DetectorAttackReport, RobustnessError> {
    let Some(first) = reports.first() else {
        return Err(RobustnessError::NoSamples { check: "merge" });
    };
    let name = first.settings.suite_name();
    let refuse = |reason: String, hint: &str| RobustnessError::Unsupported { check: "merge", reason, hint: hint.into() };
    let mut records: Vec<DetectorAttackRecord> = Vec::new();
    for r in reports {
        if r.settings != first.settings || r.frames != first.frames || r.score_threshold != first.score_threshold || r.applicability != first.applicability {
            return Err(refuse(format!("{name} was not run with the same settings, task and frames in every run"), "merge only shards of one sweep: same command line except --shard"));
        }
        for rec in &r.records {
            check_record_index(rec, first.frames, &name)?;
            match records.iter().find(|d| d.index == rec.index) {
                None => records.push(rec.clone()),
                Some(d) if d == rec => {}
                Some(_) => return Err(refuse(format!("frame {} ({}) has two different {name} results", rec.index, rec.id), "the runs did not attack the same target the same way; rerun the shard")),
            }
        }
    }
    let mut merged = summarise_detector_attack(&first.settings, first.score_threshold, first.frames, records, reports.iter().any(|r| r.interrupted));
    merged.applicability = first.applicability.clone();
    if merged.applicability != GoalApplicability::Applicable {
        merged.missing_frames = 0;
    }
    Ok(merged)
}
