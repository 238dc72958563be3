//! Failure-mode consistency: same input, same answer; graceful behaviour on
//! degenerate input; agreement between the deployed and the reference model.

use crate::RobustnessError;
use aite_accuracy::{wilson, Proportion};
use aite_data::{Image, PreprocessSpec};
use aite_target::{Target, TargetError, Tensor, TensorData};
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

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Same input, N times: are the outputs identical?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeatability {
    pub samples: usize,
    pub repeats: usize,
    /// Largest element-wise difference from the first answer, over all samples and repeats.
    pub max_abs_diff: f32,
    /// Samples whose top-1 changed in at least one repeat.
    pub top1_flips: usize,
    /// Bit-identical outputs everywhere.
    pub identical: bool,
}

pub fn repeatability(target: &mut dyn Target, spec: &PreprocessSpec, frames: &[Frame], repeats: usize) -> Result<Repeatability, RobustnessError> {
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "repeatability" });
    }
    let repeats = repeats.max(2);
    let (mut worst, mut flips, mut identical) = (0f32, 0usize, true);
    for (_, img) in frames {
        let x = spec.to_tensor(img)?;
        let (first, top) = scores(target, &x)?;
        let mut flipped = false;
        for _ in 1..repeats {
            let (again, t) = scores(target, &x)?;
            identical &= again.iter().map(|f| f.to_bits()).eq(first.iter().map(|f| f.to_bits()));
            worst = worst.max(max_abs_diff(&first, &again));
            flipped |= t != top;
        }
        flips += flipped as usize;
    }
    Ok(Repeatability { samples: frames.len(), repeats, max_abs_diff: worst, top1_flips: flips, identical })
}

/// Batch 1 against batch N on the same samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInvariance {
    pub batch: usize,
    pub samples: usize,
    pub max_abs_diff: f32,
    pub top1_flips: usize,
    /// `max_abs_diff <= tolerance` and no flips.
    pub within_tolerance: bool,
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
        let width = rows.len() / batch;
        for (i, x) in xs.iter().enumerate() {
            let (alone, top) = scores(single, x)?;
            let row = &rows[i * width..(i + 1) * width];
            worst = worst.max(max_abs_diff(&alone, row));
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
}

/// How closely a deployed target follows the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub reference: String,
    pub deployed: String,
    pub top1_agreement: Proportion,
    pub max_abs_diff: f32,
    pub mean_abs_diff: f64,
    /// Signal-to-quantization-noise ratio over all scores, `20 log10(|x| / |x - y|)`;
    /// `None` when the outputs are identical (infinite SQNR).
    pub sqnr_db: Option<f64>,
    pub disagreements: Vec<Disagreement>,
}

pub fn agreement(reference: &mut dyn Target, deployed: &mut dyn Target, spec: &PreprocessSpec, frames: &[Frame]) -> Result<Agreement, RobustnessError> {
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "agreement" });
    }
    let (mut same, mut worst, mut abs_sum, mut count) = (0usize, 0f32, 0f64, 0usize);
    let (mut signal, mut noise) = (0f64, 0f64);
    let mut disagreements = Vec::new();
    for (id, img) in frames {
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
        for (a, b) in r.iter().zip(&d) {
            let e = (*a as f64) - (*b as f64);
            signal += (*a as f64).powi(2);
            noise += e * e;
            abs_sum += e.abs();
        }
        count += r.len();
        worst = worst.max(max_abs_diff(&r, &d));
        if rt == dt {
            same += 1;
        } else {
            disagreements.push(Disagreement { id: id.clone(), reference_top1: rt, deployed_top1: dt });
        }
    }
    Ok(Agreement {
        reference: reference.info().name.clone(),
        deployed: deployed.info().name.clone(),
        top1_agreement: wilson(same, frames.len()),
        max_abs_diff: worst,
        mean_abs_diff: abs_sum / count.max(1) as f64,
        sqnr_db: (noise > 0.0).then(|| 10.0 * (signal / noise).log10()),
        disagreements,
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
    /// Every input element NaN (float inputs only).
    Nan,
    PositiveInfinity,
    NegativeInfinity,
    /// Twice the expected height and width.
    WrongSize,
}

/// How the target reacted to a degenerate frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum FrameOutcome {
    Answered { top1: usize, confidence: f32, output_has_nan: bool },
    /// The target refused the input with an error (graceful for NaN/Inf/wrong size).
    Rejected { error: String },
    /// The target panicked.
    Crashed { message: String },
    /// Not applicable to this input type (e.g. NaN in an integer input).
    NotApplicable,
}

/// Result of one degenerate frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DegenerateFrame {
    pub kind: DegenerateKind,
    pub outcome: FrameOutcome,
    pub elapsed_ms: f64,
    /// Graceful: answered without NaN, or (for NaN/Inf/wrong size) refused with an error.
    pub graceful: bool,
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
    let with_value = |v: f32| -> Option<Tensor> {
        match black.data() {
            TensorData::F32(d) => Tensor::f32(black.shape().to_vec(), vec![v; d.len()]).ok(),
            _ => None,
        }
    };
    let wrong = {
        let mut shape = black.shape().to_vec();
        let n = shape.len();
        if n >= 3 {
            // Double the two spatial axes of NCHW or NHWC.
            let (a, b) = if matches!(spec.layout, aite_data::Layout::Nchw) { (n - 2, n - 1) } else { (n - 3, n - 2) };
            shape[a] *= 2;
            shape[b] *= 2;
        }
        let len = shape.iter().product();
        Tensor::f32(shape, vec![0.0; len]).ok().filter(|_| matches!(black.data(), TensorData::F32(_)))
    };
    let cases: Vec<(DegenerateKind, Option<Tensor>)> = vec![
        (DegenerateKind::AllBlack, Some(black.clone())),
        (DegenerateKind::AllWhite, Some(spec.to_tensor(&filled(255.0))?)),
        (DegenerateKind::UniformNoise, Some(spec.to_tensor(&noise)?)),
        (DegenerateKind::Saturated, Some(spec.to_tensor(&saturated)?)),
        (DegenerateKind::Nan, with_value(f32::NAN)),
        (DegenerateKind::PositiveInfinity, with_value(f32::INFINITY)),
        (DegenerateKind::NegativeInfinity, with_value(f32::NEG_INFINITY)),
        (DegenerateKind::WrongSize, wrong),
    ];
    let mut results = Vec::new();
    for (kind, input) in cases {
        let Some(input) = input else {
            results.push(DegenerateFrame { kind, outcome: FrameOutcome::NotApplicable, elapsed_ms: 0.0, graceful: true });
            continue;
        };
        let t = Instant::now();
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| scores(target, &input)));
        let elapsed_ms = t.elapsed().as_secs_f64() * 1e3;
        let outcome = match answer {
            Ok(Ok((v, top1))) => FrameOutcome::Answered { top1, confidence: softmax_max(&v), output_has_nan: v.iter().any(|x| !x.is_finite()) },
            Ok(Err(TargetError::Crashed { reason, .. })) => FrameOutcome::Crashed { message: reason },
            Ok(Err(e)) => FrameOutcome::Rejected { error: e.to_string() },
            Err(p) => FrameOutcome::Crashed {
                message: p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default(),
            },
        };
        let invalid_input = matches!(kind, DegenerateKind::Nan | DegenerateKind::PositiveInfinity | DegenerateKind::NegativeInfinity | DegenerateKind::WrongSize);
        let graceful = match &outcome {
            FrameOutcome::Answered { output_has_nan, .. } => !output_has_nan || invalid_input && kind != DegenerateKind::WrongSize,
            FrameOutcome::Rejected { .. } => invalid_input,
            FrameOutcome::Crashed { .. } => false,
            FrameOutcome::NotApplicable => true,
        };
        results.push(DegenerateFrame { kind, outcome, elapsed_ms, graceful });
    }
    Ok(results)
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
        assert!(get(DegenerateKind::AllWhite).graceful);
        // NaN input propagates to NaN scores: recorded, counted as graceful only because the input was invalid.
        assert!(matches!(get(DegenerateKind::Nan).outcome, FrameOutcome::Answered { output_has_nan: true, .. }));
        assert!(matches!(get(DegenerateKind::WrongSize).outcome, FrameOutcome::Rejected { .. }));
        assert!(get(DegenerateKind::WrongSize).graceful);
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
