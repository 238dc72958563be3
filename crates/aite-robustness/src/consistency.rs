//! Failure-mode consistency: same input, same answer; graceful behaviour on
//! degenerate input; agreement between the deployed and the reference model.
//!
//! Classifiers are compared on their raw first output and its top-1. Detectors (a
//! [`Postprocess`] with a detector task) are compared on their decoded detections:
//! repeatability and batch invariance as identical boxes and scores, deployed vs reference
//! as boxes matched greedily at IoU 0.5, degenerate frames by the number of detections.

use crate::RobustnessError;
use aite_accuracy::{wilson, Proportion};
use aite_evidence::non_finite;
use aite_data::{Image, PreprocessSpec};
use aite_target::{Target, TargetError, Tensor, TensorData};
use aite_task::{iou, Detection, Postprocess, TaskOutput};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

/// A decoded sample with its id.
pub type Frame = (String, Image);

/// Flattened first output and its top-1 (ties to the lower index).
fn scores(target: &mut dyn Target, input: &Tensor) -> Result<(Vec<f32>, usize), TargetError> {
    let out = target.infer(std::slice::from_ref(input))?;
    let first = out.first().ok_or_else(|| TargetError::Inference {
        target: target.info().name.clone(),
        reason: "the target returned no output".into(),
    })?;
    let v = first.to_f32_vec();
    let top = argmax(&v);
    Ok((v, top))
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] || (v[best].is_nan() && !x.is_nan()) {
            best = i;
        }
    }
    best
}

/// Largest element-wise difference; NaN when any difference is NaN (a NaN, or
/// infinities of the same sign, in either answer), infinite for different lengths.
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, nan_max)
}

/// `max` that keeps NaN (`f32::max` drops it, which would make a NaN answer look identical).
fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

fn all_finite(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite())
}


/// Same input, N times: are the outputs identical?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeatability {
    pub samples: usize,
    pub repeats: usize,
    /// Largest element-wise difference from the first answer, over all samples and repeats
    /// (NaN when an answer holds NaN).
    #[serde(with = "non_finite::f32")]
    pub max_abs_diff: f32,
    /// Samples whose top-1 changed in at least one repeat.
    pub top1_flips: usize,
    /// Answers (of `samples x repeats`) holding NaN or an infinity.
    #[serde(default)]
    pub non_finite_answers: usize,
    /// Bit-identical, finite outputs everywhere (a NaN answer repeated is not identical).
    pub identical: bool,
}

pub fn repeatability(target: &mut dyn Target, spec: &PreprocessSpec, frames: &[Frame], repeats: usize) -> Result<Repeatability, RobustnessError> {
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "repeatability" });
    }
    let repeats = repeats.max(2);
    let (mut worst, mut flips, mut identical, mut non_finite_answers) = (0f32, 0usize, true, 0usize);
    for (_, img) in frames {
        let x = spec.to_tensor(img)?;
        let (first, top) = scores(target, &x)?;
        non_finite_answers += !all_finite(&first) as usize;
        let mut flipped = false;
        for _ in 1..repeats {
            let (again, t) = scores(target, &x)?;
            non_finite_answers += !all_finite(&again) as usize;
            identical &= again.iter().map(|f| f.to_bits()).eq(first.iter().map(|f| f.to_bits()));
            worst = nan_max(worst, max_abs_diff(&first, &again));
            flipped |= t != top;
        }
        flips += flipped as usize;
    }
    identical &= non_finite_answers == 0;
    Ok(Repeatability { samples: frames.len(), repeats, max_abs_diff: worst, top1_flips: flips, non_finite_answers, identical })
}

/// Batch 1 against batch N on the same samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInvariance {
    pub batch: usize,
    pub samples: usize,
    /// NaN when an answer holds NaN.
    #[serde(with = "non_finite::f32")]
    pub max_abs_diff: f32,
    pub top1_flips: usize,
    /// `max_abs_diff <= tolerance` and no flips (false when `max_abs_diff` is NaN).
    pub within_tolerance: bool,
    #[serde(with = "non_finite::f32")]
    pub tolerance: f32,
}

fn stack(tensors: &[Tensor]) -> Result<Tensor, TargetError> {
    let first = &tensors[0];
    let mut shape = first.shape().to_vec();
    shape[0] = tensors.iter().map(|t| t.shape()[0]).sum();
    let data = match first.data() {
        TensorData::F32(_) => TensorData::F32(tensors.iter().flat_map(|t| t.to_f32_vec()).collect()),
        TensorData::U8(_) => TensorData::U8(tensors.iter().flat_map(|t| if let TensorData::U8(v) = t.data() { v.clone() } else { vec![] }).collect()),
        TensorData::I8(_) => TensorData::I8(tensors.iter().flat_map(|t| if let TensorData::I8(v) = t.data() { v.clone() } else { vec![] }).collect()),
        other => {
            return Err(TargetError::InputMismatch { target: "batch".into(), reason: format!("cannot stack {:?} inputs", std::mem::discriminant(other)) });
        }
    };
    Tensor::new(shape, data)
}

/// `single` runs batch 1, `batched` the same model planned for `batch` samples.
pub fn batch_invariance(
    single: &mut dyn Target,
    batched: &mut dyn Target,
    batch: usize,
    spec: &PreprocessSpec,
    frames: &[Frame],
    tolerance: f32,
) -> Result<BatchInvariance, RobustnessError> {
    if frames.len() < batch || batch < 2 {
        return Err(RobustnessError::Unsupported {
            check: "batch invariance",
            reason: format!("{} sample(s) for batch {batch}", frames.len()),
            hint: "use a batch of at least 2 and at least that many samples".into(),
        });
    }
    let (mut worst, mut flips, mut samples) = (0f32, 0usize, 0usize);
    for chunk in frames.chunks_exact(batch) {
        let xs: Vec<Tensor> = chunk.iter().map(|(_, img)| spec.to_tensor(img)).collect::<Result<_, _>>()?;
        let out = batched.infer(&[stack(&xs)?])?;
        let rows = out.first().map(|t| t.to_f32_vec()).unwrap_or_default();
        if rows.is_empty() || rows.len() % batch != 0 {
            return Err(RobustnessError::Unsupported {
                check: "batch invariance",
                reason: format!("the batched target returned {} scores for a batch of {batch}", rows.len()),
                hint: "the first output must have one row per batch item".into(),
            });
        }
        let width = rows.len() / batch;
        for (i, x) in xs.iter().enumerate() {
            let (alone, top) = scores(single, x)?;
            let row = &rows[i * width..(i + 1) * width];
            worst = nan_max(worst, max_abs_diff(&alone, row));
            flips += (argmax(row) != top) as usize;
            samples += 1;
        }
    }
    Ok(BatchInvariance { batch, samples, max_abs_diff: worst, top1_flips: flips, within_tolerance: worst <= tolerance && flips == 0, tolerance })
}

/// One sample on which reference and deployed targets disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub id: String,
    pub reference_top1: usize,
    pub deployed_top1: usize,
    /// Either answer holds NaN or an infinity: not an agreement whatever the top-1 says.
    #[serde(default)]
    pub non_finite: bool,
}

/// How closely a deployed target follows the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub reference: String,
    pub deployed: String,
    /// Samples with the same top-1 and finite answers on both targets.
    pub top1_agreement: Proportion,
    /// NaN when an answer holds NaN.
    #[serde(with = "non_finite::f32")]
    pub max_abs_diff: f32,
    #[serde(with = "non_finite::f64")]
    pub mean_abs_diff: f64,
    /// Signal-to-quantization-noise ratio over all scores, `10 log10(Σx² / Σ(x - y)²)`;
    /// `None` when the outputs are identical (infinite SQNR), NaN when an answer holds NaN.
    #[serde(with = "non_finite::option_f64")]
    pub sqnr_db: Option<f64>,
    pub disagreements: Vec<Disagreement>,
    /// Each sample's sums, from which the mean difference and the SQNR are folded in sample
    /// order, so that shards merge into the single run's figures bit for bit (empty in older files).
    #[serde(default)]
    pub per_sample: Vec<SampleAgreement>,
}

/// One sample's share of an [`Agreement`]: its scores' `Σx²`, `Σ(x - y)²` and `Σ|x - y|`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleAgreement {
    /// Position of the sample in the run's sample order.
    pub index: usize,
    pub scores: usize,
    #[serde(with = "non_finite::f64")]
    pub signal: f64,
    #[serde(with = "non_finite::f64")]
    pub noise: f64,
    #[serde(with = "non_finite::f64")]
    pub abs_sum: f64,
}

/// `(mean |x - y|, SQNR)` folded from per-sample sums in the order given.
pub fn agreement_figures(per_sample: &[SampleAgreement]) -> (f64, Option<f64>) {
    let (mut signal, mut noise, mut abs_sum, mut count) = (0f64, 0f64, 0f64, 0usize);
    for s in per_sample {
        signal += s.signal;
        noise += s.noise;
        abs_sum += s.abs_sum;
        count += s.scores;
    }
    // `noise != 0` keeps NaN: a NaN answer has no SQNR, it is not "identical".
    (abs_sum / count.max(1) as f64, (noise != 0.0).then(|| 10.0 * (signal / noise).log10()))
}

pub fn agreement(reference: &mut dyn Target, deployed: &mut dyn Target, spec: &PreprocessSpec, frames: &[Frame]) -> Result<Agreement, RobustnessError> {
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "agreement" });
    }
    let (mut same, mut worst) = (0usize, 0f32);
    let mut disagreements = Vec::new();
    let mut per_sample = Vec::with_capacity(frames.len());
    for (index, (id, img)) in frames.iter().enumerate() {
        let x = spec.to_tensor(img)?;
        let (r, rt) = scores(reference, &x)?;
        let (d, dt) = scores(deployed, &x)?;
        if r.len() != d.len() {
            return Err(RobustnessError::Unsupported {
                check: "agreement",
                reason: format!("the targets return {} and {} scores", r.len(), d.len()),
                hint: "compare two versions of the same model".into(),
            });
        }
        let mut sample = SampleAgreement { index, scores: r.len(), signal: 0.0, noise: 0.0, abs_sum: 0.0 };
        for (a, b) in r.iter().zip(&d) {
            let e = (*a as f64) - (*b as f64);
            sample.signal += (*a as f64).powi(2);
            sample.noise += e * e;
            sample.abs_sum += e.abs();
        }
        per_sample.push(sample);
        worst = nan_max(worst, max_abs_diff(&r, &d));
        let non_finite = !all_finite(&r) || !all_finite(&d);
        if rt == dt && !non_finite {
            same += 1;
        } else {
            disagreements.push(Disagreement { id: id.clone(), reference_top1: rt, deployed_top1: dt, non_finite });
        }
    }
    let (mean_abs_diff, sqnr_db) = agreement_figures(&per_sample);
    Ok(Agreement {
        reference: reference.info().name.clone(),
        deployed: deployed.info().name.clone(),
        top1_agreement: wilson(same, frames.len()),
        max_abs_diff: worst,
        mean_abs_diff,
        sqnr_db,
        disagreements,
        per_sample,
    })
}

/// Frames a camera can produce that no training set contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DegenerateKind {
    AllBlack,
    AllWhite,
    UniformNoise,
    /// Fully saturated colour blocks (pure red, green, blue, 0 and 255 mixed).
    Saturated,
    /// Every input element NaN (float inputs only; not applicable to integer inputs).
    Nan,
    PositiveInfinity,
    NegativeInfinity,
    /// Twice the expected height and width (zeros, in the input's own type).
    WrongSize,
}

impl DegenerateKind {
    /// Every kind, in the order the frames are built and run.
    pub const ALL: [DegenerateKind; 8] = [
        DegenerateKind::AllBlack,
        DegenerateKind::AllWhite,
        DegenerateKind::UniformNoise,
        DegenerateKind::Saturated,
        DegenerateKind::Nan,
        DegenerateKind::PositiveInfinity,
        DegenerateKind::NegativeInfinity,
        DegenerateKind::WrongSize,
    ];

    /// NaN, infinities and a wrong size are invalid inputs: refusing them is graceful.
    pub fn is_invalid_input(self) -> bool {
        matches!(self, DegenerateKind::Nan | DegenerateKind::PositiveInfinity | DegenerateKind::NegativeInfinity | DegenerateKind::WrongSize)
    }

    /// NaN and the infinities: a frame that holds no image, so any detection on it is a finding.
    pub fn is_non_finite(self) -> bool {
        matches!(self, DegenerateKind::Nan | DegenerateKind::PositiveInfinity | DegenerateKind::NegativeInfinity)
    }
}

/// How the target reacted to a degenerate frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum FrameOutcome {
    Answered {
        top1: usize,
        /// Softmax of the top score; NaN when the scores are not finite.
        #[serde(with = "non_finite::f32")]
        confidence: f32,
        /// Some score is NaN or an infinity (the name is older than the infinities).
        output_has_nan: bool,
    },
    /// The target refused the input with an error (graceful for NaN/Inf/wrong size).
    Rejected { error: String },
    /// The target answered, and aite's postprocess (the `--task` decoder) could not read the
    /// outputs: not a refusal by the target, never graceful.
    PostprocessFailed {
        error: String,
        /// Some raw output value is NaN or an infinity.
        output_has_nan: bool,
    },
    /// The target panicked.
    Crashed { message: String },
    /// The frame cannot be built for this input (e.g. NaN in an integer input): nothing ran.
    NotApplicable { reason: String },
    /// A detector answered: its postprocess reported `detections` boxes; more than `limit`
    /// on a frame with nothing in it is a finding.
    Detected {
        detections: usize,
        limit: usize,
        /// Best detection score; `None` when nothing was detected.
        #[serde(default, with = "non_finite::option_f64")]
        best_score: Option<f64>,
        /// Some raw output value is NaN or an infinity (whatever the postprocess made of it).
        output_has_nan: bool,
    },
}

/// Whether a degenerate frame was handled gracefully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameVerdict {
    /// Answered with finite scores (a detector: no detection on a NaN/Inf frame, at most its
    /// limit on the others), or refused an invalid input (NaN/Inf/wrong size) with an error.
    Graceful,
    /// Answered with NaN or infinite scores, detected anything on a NaN/Inf frame or more than the
    /// limit on another, refused a valid frame, crashed, or answered outputs the postprocess could
    /// not read (nothing shows it was graceful).
    NotGraceful,
    /// The frame was not run ([`FrameOutcome::NotApplicable`]): neither graceful nor not.
    NotApplicable,
}

/// Result of one degenerate frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DegenerateFrame {
    pub kind: DegenerateKind,
    pub outcome: FrameOutcome,
    /// `None` when the frame was not run.
    pub elapsed_ms: Option<f64>,
    pub verdict: FrameVerdict,
    /// `verdict` is graceful (kept for older readers; false when not applicable).
    pub graceful: bool,
}

impl DegenerateFrame {
    pub fn new(kind: DegenerateKind, outcome: FrameOutcome, elapsed_ms: Option<f64>) -> Self {
        let verdict = Self::judge(kind, &outcome);
        DegenerateFrame { kind, outcome, elapsed_ms, verdict, graceful: verdict == FrameVerdict::Graceful }
    }

    /// The verdict that follows from `kind` and `outcome`.
    pub fn judge(kind: DegenerateKind, outcome: &FrameOutcome) -> FrameVerdict {
        match outcome {
            FrameOutcome::Answered { output_has_nan: false, .. } => FrameVerdict::Graceful,
            FrameOutcome::Answered { output_has_nan: true, .. } => FrameVerdict::NotGraceful,
            FrameOutcome::Detected { output_has_nan: true, .. } => FrameVerdict::NotGraceful,
            FrameOutcome::Detected { detections, .. } if kind.is_non_finite() && *detections > 0 => FrameVerdict::NotGraceful,
            FrameOutcome::Detected { detections, limit, .. } if detections > limit => FrameVerdict::NotGraceful,
            FrameOutcome::Detected { .. } => FrameVerdict::Graceful,
            FrameOutcome::Rejected { .. } if kind.is_invalid_input() => FrameVerdict::Graceful,
            FrameOutcome::Rejected { .. } | FrameOutcome::Crashed { .. } | FrameOutcome::PostprocessFailed { .. } => FrameVerdict::NotGraceful,
            FrameOutcome::NotApplicable { .. } => FrameVerdict::NotApplicable,
        }
    }
}

fn softmax_max(v: &[f32]) -> f32 {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = v.iter().map(|x| (x - m).exp()).sum();
    if sum > 0.0 && sum.is_finite() {
        1.0 / sum
    } else {
        f32::NAN
    }
}

/// Feed each degenerate frame of `like`'s size through `spec` to `target`.
pub fn degenerate_frames(target: &mut dyn Target, spec: &PreprocessSpec, like: &Image, seed: u64) -> Result<Vec<DegenerateFrame>, RobustnessError> {
    degenerate_frames_where(target, spec, like, seed, &|_| true)
}

/// [`degenerate_frames`] on the frames whose position in [`DegenerateKind::ALL`] passes `keep`
/// (a shard's part); the noise frame is the same whichever frames are kept.
pub fn degenerate_frames_where(target: &mut dyn Target, spec: &PreprocessSpec, like: &Image, seed: u64, keep: &dyn Fn(usize) -> bool) -> Result<Vec<DegenerateFrame>, RobustnessError> {
    let cases = degenerate_inputs(spec, like, seed)?;
    let mut results = Vec::new();
    for (kind, input) in cases.into_iter().enumerate().filter(|(k, _)| keep(*k)).map(|(_, c)| c) {
        let input = match input {
            Ok(input) => input,
            Err(reason) => {
                results.push(DegenerateFrame::new(kind, FrameOutcome::NotApplicable { reason }, None));
                continue;
            }
        };
        let t = Instant::now();
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| scores(target, &input)));
        let elapsed_ms = t.elapsed().as_secs_f64() * 1e3;
        let outcome = match answer {
            Ok(Ok((v, top1))) => FrameOutcome::Answered { top1, confidence: softmax_max(&v), output_has_nan: !all_finite(&v) },
            Ok(Err(e)) => refused(e),
            Err(p) => crashed(p),
        };
        results.push(DegenerateFrame::new(kind, outcome, Some(elapsed_ms)));
    }
    Ok(results)
}

fn refused(e: TargetError) -> FrameOutcome {
    match e {
        TargetError::Crashed { reason, .. } => FrameOutcome::Crashed { message: reason },
        e => FrameOutcome::Rejected { error: e.to_string() },
    }
}

fn crashed(p: Box<dyn std::any::Any + Send>) -> FrameOutcome {
    FrameOutcome::Crashed { message: p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default() }
}

/// Every degenerate frame of `like`'s size as a model input, or why it cannot be built.
fn degenerate_inputs(spec: &PreprocessSpec, like: &Image, seed: u64) -> Result<Vec<(DegenerateKind, Result<Tensor, String>)>, RobustnessError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (w, h, c) = (like.width, like.height, like.channels);
    let filled = |v: f32| Image { width: w, height: h, channels: c, data: vec![v; w * h * c] };
    let noise = Image { width: w, height: h, channels: c, data: (0..w * h * c).map(|_| rng.gen_range(0..=255) as f32).collect() };
    let saturated = Image {
        width: w,
        height: h,
        channels: c,
        data: (0..w * h).flat_map(|p| {
            let block = (p % w) * 4 / w.max(1);
            let rgb = [[255.0, 0.0, 0.0], [0.0, 255.0, 0.0], [0.0, 0.0, 255.0], [255.0, 255.0, 255.0]][block.min(3)];
            rgb.into_iter().take(c).collect::<Vec<f32>>()
        })
        .collect(),
    };
    let black = spec.to_tensor(&filled(0.0))?;
    let dtype = match black.data() {
        TensorData::F32(_) => "f32",
        TensorData::U8(_) => "u8",
        TensorData::I8(_) => "i8",
        _ => "non-image",
    };
    let with_value = |v: f32| -> Result<Tensor, String> {
        match black.data() {
            TensorData::F32(d) => Tensor::f32(black.shape().to_vec(), vec![v; d.len()]).map_err(|e| e.to_string()),
            _ => Err(format!("the model input is {dtype}, which cannot hold {v}")),
        }
    };
    let wrong = || -> Result<Tensor, String> {
        let mut shape = black.shape().to_vec();
        let n = shape.len();
        if n < 3 {
            return Err(format!("the input tensor has {n} axes, no spatial axes to enlarge"));
        }
        // Double the two spatial axes of NCHW or NHWC.
        let (a, b) = if matches!(spec.layout, aite_data::Layout::Nchw) { (n - 2, n - 1) } else { (n - 3, n - 2) };
        shape[a] *= 2;
        shape[b] *= 2;
        let len = shape.iter().product();
        let data = match black.data() {
            TensorData::F32(_) => TensorData::F32(vec![0.0; len]),
            TensorData::U8(_) => TensorData::U8(vec![0; len]),
            TensorData::I8(_) => TensorData::I8(vec![0; len]),
            _ => return Err(format!("aite builds wrong-size frames for f32, u8 and i8 inputs, not {dtype}")),
        };
        Tensor::new(shape, data).map_err(|e| e.to_string())
    };
    let cases: Vec<(DegenerateKind, Result<Tensor, String>)> = vec![
        (DegenerateKind::AllBlack, Ok(black.clone())),
        (DegenerateKind::AllWhite, Ok(spec.to_tensor(&filled(255.0))?)),
        (DegenerateKind::UniformNoise, Ok(spec.to_tensor(&noise)?)),
        (DegenerateKind::Saturated, Ok(spec.to_tensor(&saturated)?)),
        (DegenerateKind::Nan, with_value(f32::NAN)),
        (DegenerateKind::PositiveInfinity, with_value(f32::INFINITY)),
        (DegenerateKind::NegativeInfinity, with_value(f32::NEG_INFINITY)),
        (DegenerateKind::WrongSize, wrong()),
    ];
    Ok(cases)
}

/// A change to a frame that should not change the answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "relation", rename_all = "kebab-case")]
pub enum MetamorphicRelation {
    /// Multiply every pixel by `factor` (clamped to 0..=255).
    Brightness { factor: f32 },
    /// Shift the frame by `dx`, `dy` pixels, replicating the edge.
    Translate { dx: i32, dy: i32 },
}

impl MetamorphicRelation {
    /// The relations aite checks by default: ±5% brightness and 1-pixel shifts.
    pub fn defaults() -> Vec<MetamorphicRelation> {
        vec![
            MetamorphicRelation::Brightness { factor: 1.05 },
            MetamorphicRelation::Brightness { factor: 0.95 },
            MetamorphicRelation::Translate { dx: 1, dy: 0 },
            MetamorphicRelation::Translate { dx: 0, dy: 1 },
        ]
    }

    pub fn apply(&self, img: &Image) -> Image {
        match *self {
            MetamorphicRelation::Brightness { factor } => Image { data: img.data.iter().map(|v| (v * factor).clamp(0.0, 255.0)).collect(), ..img.clone() },
            MetamorphicRelation::Translate { dx, dy } => {
                let (w, h, c) = (img.width as i64, img.height as i64, img.channels);
                let mut data = Vec::with_capacity(img.data.len());
                for y in 0..h {
                    for x in 0..w {
                        let sx = (x - dx as i64).clamp(0, w - 1);
                        let sy = (y - dy as i64).clamp(0, h - 1);
                        let at = ((sy * w + sx) as usize) * c;
                        data.extend_from_slice(&img.data[at..at + c]);
                    }
                }
                Image { data, ..img.clone() }
            }
        }
    }
}

/// Flip rate of one relation (ImageNet-P style flip probability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetamorphicResult {
    pub relation: MetamorphicRelation,
    pub flips: Proportion,
    pub flipped_ids: Vec<String>,
}

pub fn metamorphic_flips(target: &mut dyn Target, spec: &PreprocessSpec, frames: &[Frame], relations: &[MetamorphicRelation]) -> Result<Vec<MetamorphicResult>, RobustnessError> {
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "metamorphic relations" });
    }
    let base: Vec<usize> = frames.iter().map(|(_, img)| scores(target, &spec.to_tensor(img)?).map(|s| s.1).map_err(RobustnessError::from)).collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for rel in relations {
        let mut flipped_ids = Vec::new();
        for ((id, img), &b) in frames.iter().zip(&base) {
            let (_, t) = scores(target, &spec.to_tensor(&rel.apply(img))?)?;
            if t != b {
                flipped_ids.push(id.clone());
            }
        }
        out.push(MetamorphicResult { relation: *rel, flips: wilson(flipped_ids.len(), frames.len()), flipped_ids });
    }
    Ok(out)
}

// Detectors: the same checks on decoded detections.

/// One frame through `target` and the detector postprocess: its detections and whether
/// every raw output value was finite.
fn detect(target: &mut dyn Target, task: &Postprocess, input: &Tensor) -> Result<(Vec<Detection>, bool), DetectFailure> {
    let out = target.infer(std::slice::from_ref(input)).map_err(DetectFailure::Target)?;
    let finite = out.iter().all(|t| all_finite(&t.to_f32_vec()));
    Ok((detections_of(task, &out).map_err(|e| DetectFailure::Postprocess(e, finite))?, finite))
}

fn detections_of(task: &Postprocess, outputs: &[Tensor]) -> Result<Vec<Detection>, String> {
    match task.apply(outputs) {
        Ok(TaskOutput::Detections(d)) => Ok(d),
        Ok(other) => Err(format!("the task is not a detector (it gave {other:?})")),
        Err(e) => Err(e.to_string()),
    }
}

enum DetectFailure {
    Target(TargetError),
    /// The decoder's error, and whether every raw output value was finite.
    Postprocess(String, bool),
}

impl DetectFailure {
    fn into_error(self, check: &'static str) -> RobustnessError {
        match self {
            DetectFailure::Target(e) => RobustnessError::Target(e),
            DetectFailure::Postprocess(reason, _) => RobustnessError::Unsupported { check, reason: format!("postprocess: {reason}"), hint: "check --task against `aite inspect MODEL`".into() },
        }
    }
}

/// Two detection lists (both best first) compared position by position.
#[derive(Default)]
struct ListDiff {
    same_count: bool,
    /// Largest |score difference| and |box coordinate difference| over the common positions (NaN kept).
    score: f32,
    boxes: f32,
    /// Same count, and every class, score, box and keypoint bit-identical.
    bit_identical: bool,
}

fn compare_lists(a: &[Detection], b: &[Detection]) -> ListDiff {
    let (mut score, mut boxes) = (0f32, 0f32);
    let bits = |d: &Detection| -> Vec<u32> {
        let mut v = vec![d.class as u32, d.score.to_bits(), d.bbox.x_min.to_bits(), d.bbox.y_min.to_bits(), d.bbox.x_max.to_bits(), d.bbox.y_max.to_bits()];
        v.extend(d.keypoints.iter().flatten().map(|k| k.to_bits()));
        v
    };
    let mut bit_identical = a.len() == b.len();
    for (x, y) in a.iter().zip(b) {
        score = nan_max(score, (x.score - y.score).abs());
        for (p, q) in [(x.bbox.x_min, y.bbox.x_min), (x.bbox.y_min, y.bbox.y_min), (x.bbox.x_max, y.bbox.x_max), (x.bbox.y_max, y.bbox.y_max)] {
            boxes = nan_max(boxes, (p - q).abs());
        }
        bit_identical &= bits(x) == bits(y);
    }
    ListDiff { same_count: a.len() == b.len(), score, boxes, bit_identical }
}

/// A detector's repeatability: the same frame N times, the same detections?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionRepeatability {
    pub samples: usize,
    pub repeats: usize,
    /// Detections reported on the first run of every sample.
    pub detections: usize,
    /// Largest |score difference| from the first run, detection by detection (best first); NaN when a value is NaN.
    #[serde(with = "non_finite::f32")]
    pub max_score_diff: f32,
    /// Largest box coordinate difference from the first run (units of the task's boxes).
    #[serde(with = "non_finite::f32")]
    pub max_box_diff: f32,
    /// Samples whose number of detections changed in at least one repeat.
    pub count_mismatches: usize,
    /// Runs (of `samples x repeats`) whose raw outputs hold NaN or an infinity.
    pub non_finite_answers: usize,
    /// Samples that had something to compare: a detection or a NaN/Inf output in some run.
    /// A sample with no detection in any run shows nothing about repeatability.
    pub examined_frames: usize,
    /// [`Examination::NotChecked`] when no sample was examined.
    pub status: Examination,
    /// Why the check is not checked; `None` when examined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Every repeat of the examined samples bit-identical to the first (classes, scores, boxes,
    /// keypoints) and finite; false when nothing was examined (it shows nothing).
    pub identical: bool,
}

/// Whether a check had anything to examine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Examination {
    Examined,
    /// Nothing to compare (e.g. no detection on any frame): neither a pass nor a failure.
    NotChecked,
}

impl DetectionRepeatability {
    /// The status, reason and `identical` that follow from `examined_frames` and the comparison.
    pub fn settle(&mut self, all_bit_identical: bool) {
        let examined = self.examined_frames > 0;
        self.status = if examined { Examination::Examined } else { Examination::NotChecked };
        self.why = (!examined).then(|| format!("no detection on any of the {} frame(s) in {} run(s) each: nothing to compare", self.samples, self.repeats));
        self.identical = examined && all_bit_identical && self.non_finite_answers == 0;
    }
}

pub fn detection_repeatability(target: &mut dyn Target, spec: &PreprocessSpec, task: &Postprocess, frames: &[Frame], repeats: usize) -> Result<DetectionRepeatability, RobustnessError> {
    const CHECK: &str = "detection repeatability";
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: CHECK });
    }
    let repeats = repeats.max(2);
    let (mut score, mut boxes, mut mismatches, mut non_finite_answers, mut identical, mut detections) = (0f32, 0f32, 0usize, 0usize, true, 0usize);
    let mut examined_frames = 0;
    for (_, img) in frames {
        let x = spec.to_tensor(img)?;
        let (first, finite) = detect(target, task, &x).map_err(|e| e.into_error(CHECK))?;
        non_finite_answers += !finite as usize;
        detections += first.len();
        let mut mismatch = false;
        let mut examined = !first.is_empty() || !finite;
        for _ in 1..repeats {
            let (again, finite) = detect(target, task, &x).map_err(|e| e.into_error(CHECK))?;
            non_finite_answers += !finite as usize;
            examined |= !again.is_empty() || !finite;
            let d = compare_lists(&first, &again);
            score = nan_max(score, d.score);
            boxes = nan_max(boxes, d.boxes);
            mismatch |= !d.same_count;
            identical &= d.bit_identical;
        }
        mismatches += mismatch as usize;
        examined_frames += examined as usize;
    }
    let mut r = DetectionRepeatability {
        samples: frames.len(),
        repeats,
        detections,
        max_score_diff: score,
        max_box_diff: boxes,
        count_mismatches: mismatches,
        non_finite_answers,
        examined_frames,
        status: Examination::NotChecked,
        why: None,
        identical: false,
    };
    r.settle(identical);
    Ok(r)
}

/// A detector's batch invariance: the detections of batch 1 against those of batch N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionBatchInvariance {
    pub batch: usize,
    pub samples: usize,
    #[serde(with = "non_finite::f32")]
    pub max_score_diff: f32,
    #[serde(with = "non_finite::f32")]
    pub max_box_diff: f32,
    /// Samples with a different number of detections when batched.
    pub count_mismatches: usize,
    /// No count mismatch and both differences within `tolerance` (false when one is NaN).
    pub within_tolerance: bool,
    #[serde(with = "non_finite::f32")]
    pub tolerance: f32,
}

/// Row `i` of every output of a batch of `batch`.
fn batch_row(outputs: &[Tensor], batch: usize, i: usize) -> Result<Vec<Tensor>, String> {
    outputs
        .iter()
        .map(|t| {
            let shape = t.shape();
            if shape.first() != Some(&batch) {
                return Err(format!("an output of shape {shape:?} has no batch axis of {batch}"));
            }
            let v = t.to_f32_vec();
            let per = v.len() / batch;
            let mut row = shape.to_vec();
            row[0] = 1;
            Tensor::f32(row, v[i * per..(i + 1) * per].to_vec()).map_err(|e| e.to_string())
        })
        .collect()
}

/// `single` runs batch 1, `batched` the same detector planned for `batch` samples.
pub fn detection_batch_invariance(
    single: &mut dyn Target,
    batched: &mut dyn Target,
    batch: usize,
    spec: &PreprocessSpec,
    task: &Postprocess,
    frames: &[Frame],
    tolerance: f32,
) -> Result<DetectionBatchInvariance, RobustnessError> {
    const CHECK: &str = "detection batch invariance";
    if frames.len() < batch || batch < 2 {
        return Err(RobustnessError::Unsupported { check: CHECK, reason: format!("{} sample(s) for batch {batch}", frames.len()), hint: "use a batch of at least 2 and at least that many samples".into() });
    }
    let (mut score, mut boxes, mut mismatches, mut samples) = (0f32, 0f32, 0usize, 0usize);
    for chunk in frames.chunks_exact(batch) {
        let xs: Vec<Tensor> = chunk.iter().map(|(_, img)| spec.to_tensor(img)).collect::<Result<_, _>>()?;
        let out = batched.infer(&[stack(&xs)?])?;
        for (i, x) in xs.iter().enumerate() {
            let row = batch_row(&out, batch, i).map_err(|reason| RobustnessError::Unsupported { check: CHECK, reason, hint: "every output must have one row per batch item".into() })?;
            let together = detections_of(task, &row).map_err(|reason| DetectFailure::Postprocess(reason, true).into_error(CHECK))?;
            let (alone, _) = detect(single, task, x).map_err(|e| e.into_error(CHECK))?;
            let d = compare_lists(&alone, &together);
            score = nan_max(score, d.score);
            boxes = nan_max(boxes, d.boxes);
            mismatches += !d.same_count as usize;
            samples += 1;
        }
    }
    let within_tolerance = mismatches == 0 && score <= tolerance && boxes <= tolerance;
    Ok(DetectionBatchInvariance { batch, samples, max_score_diff: score, max_box_diff: boxes, count_mismatches: mismatches, within_tolerance, tolerance })
}

/// Greedy matching as COCO's: each `deployed` detection, best score first, takes the
/// unmatched `reference` detection of its class with the highest IoU, if that IoU is at
/// least `threshold`. Returns `(reference index, deployed index, IoU)`.
pub fn match_detections(reference: &[Detection], deployed: &[Detection], threshold: f32) -> Vec<(usize, usize, f32)> {
    let mut order: Vec<usize> = (0..deployed.len()).collect();
    order.sort_by(|&a, &b| deployed[b].score.total_cmp(&deployed[a].score));
    let mut taken = vec![false; reference.len()];
    let mut pairs = Vec::new();
    for d in order {
        let best = reference
            .iter()
            .enumerate()
            .filter(|(r, det)| !taken[*r] && det.class == deployed[d].class)
            .map(|(r, det)| (r, iou(&det.bbox, &deployed[d].bbox)))
            .filter(|(_, v)| *v >= threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((r, v)) = best {
            taken[r] = true;
            pairs.push((r, d, v));
        }
    }
    pairs
}

/// One frame on which the deployed detector does not reproduce the reference's detections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionDisagreement {
    pub id: String,
    pub reference_detections: usize,
    pub deployed_detections: usize,
    pub matched: usize,
    /// Either model's raw outputs hold NaN or an infinity.
    pub non_finite: bool,
}

/// How closely a deployed detector follows its reference: detections matched at `iou_threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionAgreement {
    pub reference: String,
    pub deployed: String,
    pub iou_threshold: f32,
    pub reference_detections: usize,
    pub deployed_detections: usize,
    pub matched: usize,
    /// Reference detections the deployed model missed.
    pub unmatched_reference: usize,
    /// Deployed detections the reference does not have.
    pub unmatched_deployed: usize,
    /// Mean and smallest IoU of the matched pairs; `None` when nothing matched.
    pub mean_iou: Option<f64>,
    pub min_iou: Option<f32>,
    /// Largest |score difference| of a matched pair; `None` when nothing matched.
    pub max_score_diff: Option<f32>,
    /// Frames on which every detection of either model is matched and the outputs are finite.
    pub frame_agreement: Proportion,
    pub disagreements: Vec<DetectionDisagreement>,
    /// Each frame's sum of matched IoUs, folded in frame order into `mean_iou`, so that shards
    /// merge into the single run's figure bit for bit (empty in older files).
    #[serde(default)]
    pub per_frame: Vec<FrameIou>,
}

/// One frame's share of a [`DetectionAgreement`]'s mean IoU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameIou {
    /// Position of the frame in the run's sample order.
    pub index: usize,
    pub matched: usize,
    pub iou_sum: f64,
}

/// Mean IoU of the matched pairs, folded from per-frame sums in the order given; `None` when nothing matched.
pub fn mean_iou(per_frame: &[FrameIou]) -> Option<f64> {
    let (sum, matched) = per_frame.iter().fold((0f64, 0usize), |(s, m), f| (s + f.iou_sum, m + f.matched));
    (matched > 0).then(|| sum / matched as f64)
}

pub fn detection_agreement(reference: &mut dyn Target, deployed: &mut dyn Target, spec: &PreprocessSpec, task: &Postprocess, frames: &[Frame]) -> Result<DetectionAgreement, RobustnessError> {
    const CHECK: &str = "detection agreement";
    const IOU: f32 = 0.5;
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: CHECK });
    }
    let (mut n_ref, mut n_dep, mut matched, mut same) = (0usize, 0usize, 0usize, 0usize);
    let (mut min_iou, mut max_score) = (f32::INFINITY, 0f32);
    let mut disagreements = Vec::new();
    let mut per_frame = Vec::with_capacity(frames.len());
    for (index, (id, img)) in frames.iter().enumerate() {
        let x = spec.to_tensor(img)?;
        let (r, r_finite) = detect(reference, task, &x).map_err(|e| e.into_error(CHECK))?;
        let (d, d_finite) = detect(deployed, task, &x).map_err(|e| e.into_error(CHECK))?;
        let pairs = match_detections(&r, &d, IOU);
        let mut iou_sum = 0f64;
        for &(i, j, v) in &pairs {
            iou_sum += v as f64;
            min_iou = min_iou.min(v);
            max_score = nan_max(max_score, (r[i].score - d[j].score).abs());
        }
        per_frame.push(FrameIou { index, matched: pairs.len(), iou_sum });
        n_ref += r.len();
        n_dep += d.len();
        matched += pairs.len();
        let non_finite = !(r_finite && d_finite);
        if pairs.len() == r.len() && pairs.len() == d.len() && !non_finite {
            same += 1;
        } else {
            disagreements.push(DetectionDisagreement { id: id.clone(), reference_detections: r.len(), deployed_detections: d.len(), matched: pairs.len(), non_finite });
        }
    }
    Ok(DetectionAgreement {
        reference: reference.info().name.clone(),
        deployed: deployed.info().name.clone(),
        iou_threshold: IOU,
        reference_detections: n_ref,
        deployed_detections: n_dep,
        matched,
        unmatched_reference: n_ref - matched,
        unmatched_deployed: n_dep - matched,
        mean_iou: mean_iou(&per_frame),
        min_iou: (matched > 0).then_some(min_iou),
        max_score_diff: (matched > 0).then_some(max_score),
        frame_agreement: wilson(same, frames.len()),
        disagreements,
        per_frame,
    })
}

/// Detections tolerated on a degenerate frame before it is a finding: the declared limit, at least 3.
pub fn degenerate_detection_limit(declared: Option<usize>) -> usize {
    declared.unwrap_or(0).max(3)
}

/// Feed each degenerate frame to a detector: the number of detections is recorded; any detection
/// on a NaN/Inf frame, more than `limit` on another (black, white, noise, saturated, wrong size),
/// or a NaN/Inf raw output is not graceful; no detection (up to `limit` on the others) or a clean
/// refusal of an invalid input by the target is graceful. A postprocess that cannot read the outputs is [`FrameOutcome::PostprocessFailed`],
/// not graceful, with the raw outputs' finiteness kept.
pub fn detector_degenerate_frames(target: &mut dyn Target, spec: &PreprocessSpec, task: &Postprocess, like: &Image, seed: u64, limit: usize) -> Result<Vec<DegenerateFrame>, RobustnessError> {
    detector_degenerate_frames_where(target, spec, task, like, seed, limit, &|_| true)
}

/// [`detector_degenerate_frames`] on the frames whose position in [`DegenerateKind::ALL`] passes `keep`.
pub fn detector_degenerate_frames_where(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    task: &Postprocess,
    like: &Image,
    seed: u64,
    limit: usize,
    keep: &dyn Fn(usize) -> bool,
) -> Result<Vec<DegenerateFrame>, RobustnessError> {
    let mut results = Vec::new();
    for (kind, input) in degenerate_inputs(spec, like, seed)?.into_iter().enumerate().filter(|(k, _)| keep(*k)).map(|(_, c)| c) {
        let input = match input {
            Ok(input) => input,
            Err(reason) => {
                results.push(DegenerateFrame::new(kind, FrameOutcome::NotApplicable { reason }, None));
                continue;
            }
        };
        let t = Instant::now();
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| detect(target, task, &input)));
        let elapsed_ms = t.elapsed().as_secs_f64() * 1e3;
        let outcome = match answer {
            Ok(Ok((found, finite))) => FrameOutcome::Detected {
                detections: found.len(),
                limit,
                best_score: found.iter().map(|d| d.score as f64).reduce(f64::max),
                output_has_nan: !finite,
            },
            Ok(Err(DetectFailure::Target(e))) => refused(e),
            Ok(Err(DetectFailure::Postprocess(error, finite))) => FrameOutcome::PostprocessFailed { error, output_has_nan: !finite },
            Err(p) => crashed(p),
        };
        results.push(DegenerateFrame::new(kind, outcome, Some(elapsed_ms)));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_target::{DType, Dim, TargetInfo, TensorSpec};

    /// Scores = [mean, 1 - mean] of the input, optionally noisy, NaN-propagating.
    struct MeanModel {
        info: TargetInfo,
        jitter: f32,
        calls: u32,
    }

    impl MeanModel {
        fn new(jitter: f32) -> Self {
            MeanModel {
                info: TargetInfo {
                    name: "mean".into(),
                    engine: "test".into(),
                    engine_version: "0".into(),
                    threads: 1,
                    inputs: vec![TensorSpec { name: "x".into(), dtype: DType::F32, shape: vec![Dim::Symbolic("n".into()), Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(2)] }],
                    outputs: vec![],
                },
                jitter,
                calls: 0,
            }
        }
    }

    impl Target for MeanModel {
        fn info(&self) -> &TargetInfo {
            &self.info
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let x = &inputs[0];
            if x.shape()[2] != 2 {
                return Err(TargetError::InputMismatch { target: "mean".into(), reason: "expects 2x2".into() });
            }
            self.calls += 1;
            let n = x.shape()[0];
            let v = x.to_f32_vec();
            let per = v.len() / n;
            let mut out = Vec::new();
            for row in v.chunks(per) {
                let m = row.iter().sum::<f32>() / per as f32 + self.jitter * (self.calls % 2) as f32;
                out.extend([m, 1.0 - m]);
            }
            Ok(vec![Tensor::f32(vec![n, 2], out)?])
        }
    }

    fn frames() -> Vec<Frame> {
        [0.0f32, 40.0, 200.0, 255.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| (format!("f{i}"), Image { width: 2, height: 2, channels: 1, data: vec![v; 4] }))
            .collect()
    }

    fn spec() -> PreprocessSpec {
        PreprocessSpec::parse_cli("color=gray,scale=0.00392156862745098").unwrap()
    }

    #[test]
    fn repeatability_detects_nondeterminism() {
        let r = repeatability(&mut MeanModel::new(0.0), &spec(), &frames(), 3).unwrap();
        assert!(r.identical && r.max_abs_diff == 0.0 && r.top1_flips == 0);
        let r = repeatability(&mut MeanModel::new(0.01), &spec(), &frames(), 3).unwrap();
        assert!(!r.identical && (r.max_abs_diff - 0.01).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn batch_invariance_compares_rows() {
        let r = batch_invariance(&mut MeanModel::new(0.0), &mut MeanModel::new(0.0), 2, &spec(), &frames(), 1e-6).unwrap();
        assert_eq!(r.samples, 4);
        assert!(r.within_tolerance, "{r:?}");
        assert!(batch_invariance(&mut MeanModel::new(0.0), &mut MeanModel::new(0.0), 8, &spec(), &frames(), 1e-6).is_err());
    }

    #[test]
    fn agreement_lists_disagreements_and_sqnr() {
        let same = agreement(&mut MeanModel::new(0.0), &mut MeanModel::new(0.0), &spec(), &frames()).unwrap();
        assert_eq!(same.top1_agreement.value, 1.0);
        assert_eq!(same.sqnr_db, None);
        // +0.6 on every other call moves scores enough to flip some answers.
        let diff = agreement(&mut MeanModel::new(0.0), &mut MeanModel::new(0.6), &spec(), &frames()).unwrap();
        assert!(diff.sqnr_db.unwrap() < 20.0);
        assert!(!diff.disagreements.is_empty());
        assert_eq!(diff.disagreements.len() + diff.top1_agreement.successes, 4);
    }

    #[test]
    fn degenerate_frames_are_classified() {
        let like = &frames()[0].1;
        let r = degenerate_frames(&mut MeanModel::new(0.0), &spec(), like, 1).unwrap();
        let get = |k: DegenerateKind| r.iter().find(|f| f.kind == k).unwrap();
        assert!(matches!(get(DegenerateKind::AllBlack).outcome, FrameOutcome::Answered { top1: 1, .. }));
        assert_eq!(get(DegenerateKind::AllWhite).verdict, FrameVerdict::Graceful);
        assert!(matches!(get(DegenerateKind::WrongSize).outcome, FrameOutcome::Rejected { .. }));
        assert_eq!(get(DegenerateKind::WrongSize).verdict, FrameVerdict::Graceful);
    }

    /// Issue 9: an answer holding NaN to a NaN input is not graceful.
    #[test]
    fn nan_answer_to_nan_input_is_not_graceful() {
        let r = degenerate_frames(&mut MeanModel::new(0.0), &spec(), &frames()[0].1, 1).unwrap();
        for kind in [DegenerateKind::Nan, DegenerateKind::PositiveInfinity, DegenerateKind::NegativeInfinity] {
            let f = r.iter().find(|f| f.kind == kind).unwrap();
            assert!(matches!(f.outcome, FrameOutcome::Answered { output_has_nan: true, .. }), "{f:?}");
            assert_eq!(f.verdict, FrameVerdict::NotGraceful, "{f:?}");
        }
    }

    /// Issue 9: NaN/Inf frames for an integer input are not run, and say so; the wrong-size
    /// frame is built in the input's own type and run.
    #[test]
    fn integer_inputs_get_not_applicable_nan_and_a_real_wrong_size_frame() {
        let u8_spec = PreprocessSpec::parse_cli("color=gray,dtype=u8").unwrap();
        let mut model = MeanModel::new(0.0);
        let r = degenerate_frames(&mut model, &u8_spec, &frames()[0].1, 1).unwrap();
        for kind in [DegenerateKind::Nan, DegenerateKind::PositiveInfinity, DegenerateKind::NegativeInfinity] {
            let f = r.iter().find(|f| f.kind == kind).unwrap();
            assert_eq!(f.verdict, FrameVerdict::NotApplicable, "{f:?}");
            assert!(matches!(&f.outcome, FrameOutcome::NotApplicable { reason } if reason.contains("u8")), "{f:?}");
            assert_eq!(f.elapsed_ms, None);
            assert!(!f.graceful, "not run is not graceful: {f:?}");
        }
        let wrong = r.iter().find(|f| f.kind == DegenerateKind::WrongSize).unwrap();
        assert!(matches!(&wrong.outcome, FrameOutcome::Rejected { error } if error.contains("expects 2x2")), "{wrong:?}");
        assert_eq!(wrong.verdict, FrameVerdict::Graceful);
        // Only the four image frames were answered: the NaN/Inf frames never reached the model.
        assert_eq!(model.calls, 4);
    }

    /// Answers NaN to everything.
    struct NanModel(MeanModel);

    impl Target for NanModel {
        fn info(&self) -> &TargetInfo {
            &self.0.info
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let n = inputs[0].shape()[0];
            Ok(vec![Tensor::f32(vec![n, 2], vec![f32::NAN; 2 * n])?])
        }
    }

    /// Issue 9: a target that answers NaN is neither identical, nor agreeing, nor batch-invariant.
    #[test]
    fn nan_answers_are_not_identical_agreeing_or_invariant() {
        let nan = || NanModel(MeanModel::new(0.0));
        let r = repeatability(&mut nan(), &spec(), &frames(), 3).unwrap();
        assert!(!r.identical && r.max_abs_diff.is_nan() && r.non_finite_answers == 12, "{r:?}");
        let a = agreement(&mut nan(), &mut nan(), &spec(), &frames()).unwrap();
        assert_eq!(a.top1_agreement.successes, 0, "{a:?}");
        assert!(a.disagreements.iter().all(|d| d.non_finite));
        assert!(a.max_abs_diff.is_nan() && a.mean_abs_diff.is_nan());
        assert!(a.sqnr_db.is_some_and(f64::is_nan), "NaN is not infinite SQNR: {:?}", a.sqnr_db);
        let a = agreement(&mut MeanModel::new(0.0), &mut nan(), &spec(), &frames()).unwrap();
        assert_eq!(a.top1_agreement.successes, 0, "{a:?}");
        let b = batch_invariance(&mut nan(), &mut nan(), 2, &spec(), &frames(), 1e-6).unwrap();
        assert!(!b.within_tolerance && b.max_abs_diff.is_nan(), "{b:?}");
    }

    #[test]
    fn nan_survives_the_json_round_trip() {
        let r = repeatability(&mut NanModel(MeanModel::new(0.0)), &spec(), &frames(), 2).unwrap();
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains(r#""max_abs_diff":"NaN""#), "{text}");
        let back: Repeatability = serde_json::from_value(serde_json::from_str(&text).unwrap()).unwrap();
        assert!(back.max_abs_diff.is_nan());
        let frames = degenerate_frames(&mut MeanModel::new(0.0), &spec(), &frames()[0].1, 1).unwrap();
        let back: Vec<DegenerateFrame> = serde_json::from_str(&serde_json::to_string(&frames).unwrap()).unwrap();
        assert!(back.iter().zip(&frames).all(|(a, b)| a.kind == b.kind && a.verdict == b.verdict));
    }

    /// A toy detector on 2x2 frames: eight disjoint anchors `(0.1k, 0, 0.1k + 0.05, 0.05)`
    /// (shifted by `shift` in x, plus `jitter` on every other call). A uniform frame of mean
    /// in (0.1, 0.9) shows one object (anchor 0, score 0.9); a frame that is not uniform
    /// makes `hallucinate` anchors fire. NaN in, NaN out.
    struct BoxModel {
        info: TargetInfo,
        shift: f32,
        jitter: f32,
        hallucinate: usize,
        calls: u32,
    }

    impl BoxModel {
        fn new(shift: f32, jitter: f32, hallucinate: usize) -> Self {
            BoxModel { info: MeanModel::new(0.0).info, shift, jitter, hallucinate, calls: 0 }
        }
    }

    impl Target for BoxModel {
        fn info(&self) -> &TargetInfo {
            &self.info
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let x = &inputs[0];
            if x.shape()[2] != 2 {
                return Err(TargetError::InputMismatch { target: "boxes".into(), reason: "expects 2x2".into() });
            }
            self.calls += 1;
            let n = x.shape()[0];
            let v = x.to_f32_vec();
            let (mut scores, mut boxes) = (Vec::new(), Vec::new());
            for row in v.chunks(v.len() / n) {
                let m = row.iter().sum::<f32>() / row.len() as f32;
                let uniform = row.iter().all(|&p| p == row[0]);
                let fire = if m.is_nan() { 8 } else if !uniform { self.hallucinate } else if m > 0.1 && m < 0.9 { 1 } else { 0 };
                let dx = self.shift + self.jitter * (self.calls % 2) as f32;
                for k in 0..8 {
                    scores.push(if m.is_nan() { f32::NAN } else if k < fire { 0.9 - 0.01 * k as f32 } else { 0.0 });
                    let x0 = 0.1 * k as f32 + dx;
                    boxes.extend([x0, 0.0, x0 + 0.05, 0.05]);
                }
            }
            Ok(vec![Tensor::f32(vec![n, 8, 1], scores)?, Tensor::f32(vec![n, 8, 4], boxes)?])
        }
    }

    fn detector() -> Postprocess {
        Postprocess::new(aite_task::TaskSpec::parse_cli("task=detector,scores_output=0,boxes_output=1").unwrap())
    }

    #[test]
    fn detection_repeatability_compares_boxes_and_scores() {
        let r = detection_repeatability(&mut BoxModel::new(0.0, 0.0, 0), &spec(), &detector(), &frames(), 3).unwrap();
        // Frames of mean 0, 40/255, 200/255, 1: one object on the two middle ones.
        assert_eq!((r.detections, r.count_mismatches, r.non_finite_answers), (2, 0, 0), "{r:?}");
        assert!(r.identical && r.max_box_diff == 0.0 && r.max_score_diff == 0.0, "{r:?}");
        let r = detection_repeatability(&mut BoxModel::new(0.0, 0.01, 0), &spec(), &detector(), &frames(), 3).unwrap();
        assert!(!r.identical && (r.max_box_diff - 0.01).abs() < 1e-6 && r.max_score_diff == 0.0, "{r:?}");
    }

    #[test]
    fn detection_agreement_matches_boxes_at_iou_half() {
        let a = detection_agreement(&mut BoxModel::new(0.0, 0.0, 0), &mut BoxModel::new(0.0, 0.0, 0), &spec(), &detector(), &frames()).unwrap();
        assert_eq!((a.matched, a.unmatched_reference, a.unmatched_deployed, a.frame_agreement.successes), (2, 0, 0, 4), "{a:?}");
        assert_eq!((a.mean_iou, a.min_iou, a.max_score_diff), (Some(1.0), Some(1.0), Some(0.0)));
        // Shifted by 0.01: intersection 0.04 x 0.05 over union 2 x 0.0025 - 0.002 = 2/3, matched.
        let a = detection_agreement(&mut BoxModel::new(0.0, 0.0, 0), &mut BoxModel::new(0.01, 0.0, 0), &spec(), &detector(), &frames()).unwrap();
        assert_eq!(a.matched, 2);
        assert!((a.min_iou.unwrap() - 2.0 / 3.0).abs() < 1e-5 && (a.mean_iou.unwrap() - 2.0 / 3.0).abs() < 1e-5, "{a:?}");
        // Shifted by 0.03: IoU 0.001 / 0.004 = 0.25 < 0.5, nothing matched, both frames disagree.
        let a = detection_agreement(&mut BoxModel::new(0.0, 0.0, 0), &mut BoxModel::new(0.03, 0.0, 0), &spec(), &detector(), &frames()).unwrap();
        assert_eq!((a.matched, a.unmatched_reference, a.unmatched_deployed, a.frame_agreement.successes, a.mean_iou), (0, 2, 2, 2, None), "{a:?}");
        assert_eq!(a.disagreements.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), vec!["f1", "f2"]);
    }

    #[test]
    fn greedy_matching_takes_the_best_free_reference() {
        let d = |score: f32, x0: f32| Detection { class: 1, score, bbox: aite_task::BBox { x_min: x0, y_min: 0.0, x_max: x0 + 1.0, y_max: 1.0 }, keypoints: vec![] };
        // Deployed 0.9 at 0.1 (IoU 0.818 with ref at 0, 0.667 with ref at 0.3... ) takes ref 0; deployed 0.8 at 0.0 is left with ref 1 (x 0.3: IoU 0.538).
        let reference = [d(0.9, 0.0), d(0.7, 0.3)];
        let deployed = [d(0.8, 0.0), d(0.9, 0.1)];
        let pairs = match_detections(&reference, &deployed, 0.5);
        assert_eq!(pairs.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(), vec![(0, 1), (1, 0)]);
        assert!((pairs[0].2 - 0.9 / 1.1).abs() < 1e-6 && (pairs[1].2 - 0.7 / 1.3).abs() < 1e-6, "{pairs:?}");
        // Another class never matches.
        let other = [Detection { class: 2, ..d(0.9, 0.0) }];
        assert!(match_detections(&reference, &other, 0.5).is_empty());
    }

    #[test]
    fn detector_degenerate_frames_count_detections() {
        let limit = degenerate_detection_limit(None);
        assert_eq!((limit, degenerate_detection_limit(Some(1)), degenerate_detection_limit(Some(10))), (3, 3, 10));
        let like = &frames()[0].1;
        let r = detector_degenerate_frames(&mut BoxModel::new(0.0, 0.0, 8), &spec(), &detector(), like, 1, limit).unwrap();
        let get = |k: DegenerateKind| r.iter().find(|f| f.kind == k).unwrap().clone();
        // Black and white: nothing detected, graceful.
        for k in [DegenerateKind::AllBlack, DegenerateKind::AllWhite] {
            assert!(matches!(get(k).outcome, FrameOutcome::Detected { detections: 0, limit: 3, best_score: None, output_has_nan: false }), "{:?}", get(k));
            assert_eq!(get(k).verdict, FrameVerdict::Graceful);
        }
        // Noise: eight "objects" > 3 is a finding.
        assert!(matches!(get(DegenerateKind::UniformNoise).outcome, FrameOutcome::Detected { detections: 8, .. }), "{:?}", get(DegenerateKind::UniformNoise));
        assert_eq!(get(DegenerateKind::UniformNoise).verdict, FrameVerdict::NotGraceful);
        // NaN in, NaN out: the postprocess finds nothing, but the raw output is NaN, not graceful.
        assert!(matches!(get(DegenerateKind::Nan).outcome, FrameOutcome::Detected { detections: 0, output_has_nan: true, .. }));
        assert_eq!(get(DegenerateKind::Nan).verdict, FrameVerdict::NotGraceful);
        assert!(matches!(get(DegenerateKind::WrongSize).outcome, FrameOutcome::Rejected { .. }));
        assert_eq!(get(DegenerateKind::WrongSize).verdict, FrameVerdict::Graceful);
        // A detector that finds two things in noise stays within the limit.
        let r = detector_degenerate_frames(&mut BoxModel::new(0.0, 0.0, 2), &spec(), &detector(), like, 1, limit).unwrap();
        assert_eq!(r.iter().find(|f| f.kind == DegenerateKind::UniformNoise).unwrap().verdict, FrameVerdict::Graceful);
        // The outcome survives the JSON round trip.
        let back: Vec<DegenerateFrame> = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        // A task whose outputs do not fit is a postprocess failure, not a refusal: not graceful on any frame.
        let packed = Postprocess::new(aite_task::TaskSpec::parse_cli("task=detector,outputs=packed,boxes_output=0").unwrap());
        let r = detector_degenerate_frames(&mut BoxModel::new(0.0, 0.0, 0), &spec(), &packed, like, 1, limit).unwrap();
        for f in r.iter().filter(|f| f.kind != DegenerateKind::WrongSize) {
            assert!(matches!(&f.outcome, FrameOutcome::PostprocessFailed { error, .. } if !error.is_empty()), "{f:?}");
            assert_eq!(f.verdict, FrameVerdict::NotGraceful, "{f:?}");
        }
    }

    /// Answers like [`BoxModel`], but to a NaN frame only its (NaN) scores: the detector decoder cannot read that.
    struct ScoresOnlyOnNan(BoxModel);

    impl Target for ScoresOnlyOnNan {
        fn info(&self) -> &TargetInfo {
            self.0.info()
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let mut out = self.0.infer(inputs)?;
            if inputs[0].to_f32_vec().iter().any(|v| v.is_nan()) {
                out.truncate(1);
            }
            Ok(out)
        }
    }

    /// Review finding 5: the decoder failing on the model's NaN answer is not the model refusing the NaN frame.
    #[test]
    fn a_postprocess_failure_on_a_nan_answer_is_not_a_graceful_refusal() {
        let like = &frames()[0].1;
        let r = detector_degenerate_frames(&mut ScoresOnlyOnNan(BoxModel::new(0.0, 0.0, 0)), &spec(), &detector(), like, 1, 3).unwrap();
        let nan = r.iter().find(|f| f.kind == DegenerateKind::Nan).unwrap();
        let FrameOutcome::PostprocessFailed { error, output_has_nan } = &nan.outcome else { panic!("{nan:?}") };
        assert!(*output_has_nan && !error.is_empty(), "{nan:?}");
        assert_eq!(nan.verdict, FrameVerdict::NotGraceful);
        assert!(!nan.graceful);
        // The target's own refusal of the wrong-size frame stays graceful; the JSON keeps the new outcome.
        assert_eq!(r.iter().find(|f| f.kind == DegenerateKind::WrongSize).unwrap().verdict, FrameVerdict::Graceful);
        let back: Vec<DegenerateFrame> = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    /// Answers like [`BoxModel`], but to a NaN or infinite frame one finite face at 0.986
    /// (the slim-320 UltraFace answer to a NaN frame).
    struct FaceOnNonFinite(BoxModel);

    impl Target for FaceOnNonFinite {
        fn info(&self) -> &TargetInfo {
            self.0.info()
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            if inputs[0].to_f32_vec().iter().all(|v| !v.is_finite()) && inputs[0].shape()[2] == 2 {
                let mut scores = vec![0.0; 8];
                scores[0] = 0.986;
                let boxes = (0..8).flat_map(|k| [0.1 * k as f32, 0.0, 0.1 * k as f32 + 0.05, 0.05]).collect();
                return Ok(vec![Tensor::f32(vec![1, 8, 1], scores)?, Tensor::f32(vec![1, 8, 4], boxes)?]);
            }
            self.0.infer(inputs)
        }
    }

    /// A detection on a NaN/Inf frame is not graceful, even one within the count limit (3);
    /// on a noise frame the limit still applies.
    #[test]
    fn a_detection_on_a_non_finite_frame_is_not_graceful() {
        let like = &frames()[0].1;
        let r = detector_degenerate_frames(&mut FaceOnNonFinite(BoxModel::new(0.0, 0.0, 2)), &spec(), &detector(), like, 1, 3).unwrap();
        for k in [DegenerateKind::Nan, DegenerateKind::PositiveInfinity, DegenerateKind::NegativeInfinity] {
            let f = r.iter().find(|f| f.kind == k).unwrap();
            assert!(matches!(f.outcome, FrameOutcome::Detected { detections: 1, limit: 3, output_has_nan: false, best_score: Some(s) } if (s - 0.986).abs() < 1e-6), "{f:?}");
            assert_eq!(f.verdict, FrameVerdict::NotGraceful, "{f:?}");
            assert!(!f.graceful);
        }
        let noise = r.iter().find(|f| f.kind == DegenerateKind::UniformNoise).unwrap();
        assert!(matches!(noise.outcome, FrameOutcome::Detected { detections: 2, .. }), "{noise:?}");
        assert_eq!(noise.verdict, FrameVerdict::Graceful);
    }

    /// Review X5: repeated runs that detect nothing show nothing: not checked, not identical.
    #[test]
    fn detection_repeatability_with_no_detection_is_not_checked() {
        // Frames of mean 0 and 1: BoxModel detects nothing on them.
        let empty: Vec<Frame> = frames().into_iter().filter(|(id, _)| id == "f0" || id == "f3").collect();
        let r = detection_repeatability(&mut BoxModel::new(0.0, 0.0, 0), &spec(), &detector(), &empty, 3).unwrap();
        assert_eq!((r.detections, r.examined_frames, r.status), (0, 0, Examination::NotChecked), "{r:?}");
        assert!(!r.identical && r.why.as_deref().is_some_and(|w| w.contains("no detection")), "{r:?}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["status"], "not-checked");
        // With detections on two of the four frames, only those two count as examined.
        let r = detection_repeatability(&mut BoxModel::new(0.0, 0.0, 0), &spec(), &detector(), &frames(), 3).unwrap();
        assert_eq!((r.examined_frames, r.status, r.why.clone()), (2, Examination::Examined, None), "{r:?}");
        assert!(r.identical);
    }

    #[test]
    fn detection_batch_invariance_splits_every_output() {
        let r = detection_batch_invariance(&mut BoxModel::new(0.0, 0.0, 0), &mut BoxModel::new(0.0, 0.0, 0), 2, &spec(), &detector(), &frames(), 1e-6).unwrap();
        assert_eq!((r.samples, r.count_mismatches), (4, 0));
        assert!(r.within_tolerance, "{r:?}");
        let r = detection_batch_invariance(&mut BoxModel::new(0.0, 0.0, 0), &mut BoxModel::new(0.001, 0.0, 0), 2, &spec(), &detector(), &frames(), 1e-6).unwrap();
        assert!(!r.within_tolerance && (r.max_box_diff - 0.001).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn relations_apply_as_documented() {
        let img = Image { width: 3, height: 1, channels: 1, data: vec![10.0, 20.0, 250.0] };
        assert_eq!(MetamorphicRelation::Translate { dx: 1, dy: 0 }.apply(&img).data, vec![10.0, 10.0, 20.0]);
        assert_eq!(MetamorphicRelation::Brightness { factor: 1.05 }.apply(&img).data, vec![10.5, 21.0, 255.0]);
        let r = metamorphic_flips(&mut MeanModel::new(0.0), &spec(), &frames(), &MetamorphicRelation::defaults()).unwrap();
        assert_eq!(r.len(), 4);
        assert!(r.iter().all(|m| m.flips.trials == 4));
    }
}
