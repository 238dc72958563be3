//! The corruption sweep: every (corruption, severity) cell over a labelled set
//! of frames, through any [`Target`], and the published metrics over the cells.
//!
//! Cells are the unit of work, of checkpointing and of sharding: a cell's
//! result depends only on the frames, the target and the seed (each sample's
//! corruption seed is derived from the run seed, the corruption name, the
//! severity and the sample's position), so a resumed run, a sharded run and a
//! single run give the same cells, in any order.

use super::{corrupt, CorruptionKind, ParameterTable};
use crate::RobustnessError;
use aite_accuracy::{wilson, Proportion};
use aite_data::{ColorOrder, Image, PreprocessSpec};
use aite_target::{top_k, Cancel, Target, TargetError, Tensor};
use image::RgbImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// AlexNet's top-1 error per ImageNet-C corruption, averaged over the five
/// severities, in [`CorruptionKind::IMAGENET_C`] order (AugMix / RobustBench).
pub const ALEXNET_ERRORS: [f64; 15] = [0.886428, 0.894468, 0.922640, 0.819880, 0.826268, 0.785948, 0.798360, 0.866816, 0.826572, 0.819324, 0.564592, 0.853204, 0.646056, 0.717840, 0.606500];
/// AlexNet's clean top-1 error on ImageNet (1 - 0.56522).
pub const ALEXNET_CLEAN_ERROR: f64 = 1.0 - 0.56522;

/// A decoded, labelled frame in 8-bit RGB, as corruptions take it.
#[derive(Debug, Clone)]
pub struct LabeledFrame {
    pub id: String,
    /// Dataset label (before the spec's `label_offset`).
    pub label: usize,
    pub image: RgbImage,
}

impl LabeledFrame {
    /// From a decoded [`Image`] in the spec's colour order.
    pub fn from_image(id: String, label: usize, img: &Image, color: ColorOrder) -> Self {
        LabeledFrame { id, label, image: image_to_rgb8(img, color) }
    }
}

/// Decoded image (0..=255 floats, `color` order) to 8-bit RGB.
pub fn image_to_rgb8(img: &Image, color: ColorOrder) -> RgbImage {
    let px = |i: usize| -> [u8; 3] {
        let v = |c: usize| img.data[i * img.channels + c].round().clamp(0.0, 255.0) as u8;
        match (color, img.channels) {
            (_, 1) => [v(0); 3],
            (ColorOrder::Bgr, _) => [v(2), v(1), v(0)],
            _ => [v(0), v(1), v(2)],
        }
    };
    let raw: Vec<u8> = (0..img.width * img.height).flat_map(px).collect();
    RgbImage::from_raw(img.width as u32, img.height as u32, raw).expect("width*height*3 values")
}

/// 8-bit RGB back to a decoded [`Image`] in `color` order.
pub fn rgb8_to_image(img: &RgbImage, color: ColorOrder) -> Image {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data: Vec<f32> = match color {
        ColorOrder::Rgb => img.as_raw().iter().map(|&v| v as f32).collect(),
        ColorOrder::Bgr => img.pixels().flat_map(|p| [p.0[2] as f32, p.0[1] as f32, p.0[0] as f32]).collect(),
        ColorOrder::Gray => img.pixels().map(|p| (0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32).round()).collect(),
    };
    Image { width: w, height: h, channels: if color == ColorOrder::Gray { 1 } else { 3 }, data }
}

/// What to sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepOptions {
    pub kinds: Vec<CorruptionKind>,
    pub severities: Vec<u8>,
    /// `None`: choose per image by its size ([`ParameterTable::for_size`]).
    pub table: Option<ParameterTable>,
    pub seed: u64,
    /// `(index, count)`: this run does the cells whose position modulo `count` is `index`.
    pub shard: (usize, usize),
    /// Normalise by AlexNet's errors (CE, mCE): only meaningful for ImageNet labels.
    pub alexnet: bool,
    /// Model output used for classification.
    pub output_index: usize,
}

impl SweepOptions {
    /// Every (corruption, severity) cell of the whole sweep, in a fixed order.
    pub fn all_cells(&self) -> Vec<(CorruptionKind, u8)> {
        self.kinds.iter().flat_map(|&k| self.severities.iter().map(move |&s| (k, s))).collect()
    }

    /// The cells of this shard.
    pub fn shard_cells(&self) -> Vec<(CorruptionKind, u8)> {
        let (index, count) = self.shard;
        self.all_cells().into_iter().enumerate().filter(|(i, _)| i % count.max(1) == index).map(|(_, c)| c).collect()
    }

    pub fn validate(&self) -> Result<(), RobustnessError> {
        let bad = |reason: String, hint: &str| Err(RobustnessError::Unsupported { check: "corruptions", reason, hint: hint.into() });
        if let Some(s) = self.severities.iter().find(|s| !(1..=5).contains(*s)) {
            return bad(format!("severity {s} is outside 1..=5"), "use --severities 1,2,3,4,5 or a subset");
        }
        if self.kinds.is_empty() || self.severities.is_empty() {
            return bad("no corruption or severity selected".into(), "pass --corruptions imagenet-c (or a list) and --severities");
        }
        if self.shard.1 == 0 || self.shard.0 >= self.shard.1 {
            return bad(format!("shard {}/{} does not exist", self.shard.0, self.shard.1), "shards are INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4");
        }
        Ok(())
    }
}

/// Accuracy in one (corruption, severity) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorruptionCell {
    pub corruption: CorruptionKind,
    pub severity: u8,
    /// Tables used for this cell's images (one, unless sizes straddle the threshold).
    pub tables: Vec<ParameterTable>,
    pub accuracy: Proportion,
    /// Ids of the samples answered wrongly.
    pub wrong: Vec<String>,
}

/// Per-corruption figures over its severities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorruptionSummary {
    pub corruption: CorruptionKind,
    pub group: String,
    pub severities: usize,
    /// Accuracy pooled over the severities measured.
    pub accuracy: Proportion,
    /// Clean accuracy minus this corruption's accuracy.
    pub degradation: f64,
    /// Corruption error normalised by AlexNet (all five severities, ImageNet-C kinds, ImageNet labels only).
    pub ce: Option<Interval>,
    /// Relative CE: error increase over clean, normalised by AlexNet's.
    pub relative_ce: Option<Interval>,
}

/// A value with a 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// The whole sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorruptionReport {
    pub options: SweepOptions,
    pub samples: usize,
    pub clean: Proportion,
    pub cells: Vec<CorruptionCell>,
    pub summaries: Vec<CorruptionSummary>,
    /// Mean accuracy over the ImageNet-C cells measured (CIFAR-10-C's figure of merit), pooled.
    pub mean_corruption_accuracy: Option<Proportion>,
    /// Clean accuracy minus the mean corruption accuracy.
    pub degradation: Option<f64>,
    /// Mean CE over the 15 ImageNet-C corruptions (all must be complete).
    pub mce: Option<Interval>,
    pub relative_mce: Option<Interval>,
    /// Cells still missing (interrupted, or in another shard).
    pub missing_cells: usize,
    pub interrupted: bool,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The corruption seed of one sample in one cell: stable across runs, shards and versions.
pub fn sample_seed(seed: u64, kind: CorruptionKind, severity: u8, index: usize) -> u64 {
    let name = kind.name().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    mix(mix(mix(seed) ^ name) ^ ((severity as u64) << 48) ^ index as u64)
}

/// Frames corrupted and preprocessed in parallel per chunk; inference is sequential.
const CHUNK: usize = 32;

fn top1(target: &mut dyn Target, input: Tensor, output_index: usize) -> Result<usize, TargetError> {
    let out = target.infer(&[input])?;
    let t = out.get(output_index).ok_or_else(|| TargetError::Inference {
        target: target.info().name.clone(),
        reason: format!("the target returned {} outputs; output {output_index} was asked for", out.len()),
    })?;
    Ok(top_k(t, 1)?.first().map(|&(i, _)| i).unwrap_or(0))
}

fn expected(label: usize, spec: &PreprocessSpec) -> i64 {
    label as i64 + spec.label_offset
}

/// Accuracy on frames produced by `make(i)`; `None` when cancelled.
fn measure(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    frames: &[LabeledFrame],
    output_index: usize,
    cancel: &Cancel,
    make: &(dyn Fn(usize) -> RgbImage + Sync),
) -> Result<Option<(usize, Vec<String>)>, RobustnessError> {
    let mut correct = 0;
    let mut wrong = Vec::new();
    for start in (0..frames.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(frames.len());
        let tensors: Vec<Result<Tensor, aite_data::DataError>> = (start..end).into_par_iter().map(|i| spec.to_tensor(&rgb8_to_image(&make(i), spec.color))).collect();
        for (i, t) in (start..end).zip(tensors) {
            if cancel.is_cancelled() {
                return Ok(None);
            }
            let got = top1(target, t?, output_index)?;
            if got as i64 == expected(frames[i].label, spec) {
                correct += 1;
            } else {
                wrong.push(frames[i].id.clone());
            }
        }
    }
    Ok(Some((correct, wrong)))
}

/// Run this shard's cells that are not in `done`, calling `on_cell` after each
/// (for checkpointing and progress), and summarise everything known.
pub fn corruption_sweep(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    frames: &[LabeledFrame],
    options: &SweepOptions,
    done: Vec<CorruptionCell>,
    cancel: &Cancel,
    on_cell: &mut dyn FnMut(&CorruptionCell),
) -> Result<CorruptionReport, RobustnessError> {
    options.validate()?;
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "corruptions" });
    }
    let classes = target.info().outputs.get(options.output_index).and_then(|o| o.shape.last()).and_then(|d| match d {
        aite_target::Dim::Fixed(n) => Some(*n),
        aite_target::Dim::Symbolic(_) => None,
    });
    let out_of_range = |n: usize| frames.iter().find(|f| expected(f.label, spec) < 0 || expected(f.label, spec) >= n as i64);
    if let Some((n, f)) = classes.and_then(|n| out_of_range(n).map(|f| (n, f))) {
        return Err(RobustnessError::Unsupported {
            check: "corruptions",
            reason: format!("label {} of sample {} is outside the model's {n} output classes", f.label, f.id),
            hint: "check label_offset in the preprocessing spec (1001-class models need label_offset=1)".into(),
        });
    }
    let clean = match measure(target, spec, frames, options.output_index, cancel, &|i| frames[i].image.clone())? {
        Some((c, _)) => wilson(c, frames.len()),
        None => return Ok(summarise(options, frames.len(), wilson(0, 0), done, true)),
    };
    let mut cells = done;
    let mut interrupted = false;
    for (kind, severity) in options.shard_cells() {
        if cells.iter().any(|c| c.corruption == kind && c.severity == severity) {
            continue;
        }
        let table_of = |img: &RgbImage| options.table.unwrap_or_else(|| ParameterTable::for_size(img.width() as usize, img.height() as usize));
        let make = |i: usize| {
            let img = &frames[i].image;
            corrupt(img, kind, severity, table_of(img), sample_seed(options.seed, kind, severity, i))
        };
        let Some((correct, wrong)) = measure(target, spec, frames, options.output_index, cancel, &make)? else {
            interrupted = true;
            break;
        };
        let mut tables: Vec<ParameterTable> = frames.iter().map(|f| table_of(&f.image)).collect();
        tables.sort_by_key(|t| t.name());
        tables.dedup();
        let cell = CorruptionCell { corruption: kind, severity, tables, accuracy: wilson(correct, frames.len()), wrong };
        on_cell(&cell);
        cells.push(cell);
    }
    Ok(summarise(options, frames.len(), clean, cells, interrupted))
}

fn interval_of(p: &Proportion, f: impl Fn(f64) -> f64) -> Interval {
    // Error = 1 - accuracy, so the accuracy's upper bound gives the error's lower bound.
    let (a, b) = (f(1.0 - p.ci95_high), f(1.0 - p.ci95_low));
    Interval { value: f(1.0 - p.value), ci95_low: a.min(b), ci95_high: a.max(b) }
}

/// Summaries and published aggregates from the cells known so far.
pub fn summarise(options: &SweepOptions, samples: usize, clean: Proportion, mut cells: Vec<CorruptionCell>, interrupted: bool) -> CorruptionReport {
    let order = options.all_cells();
    cells.sort_by_key(|c| order.iter().position(|&(k, s)| k == c.corruption && s == c.severity).unwrap_or(usize::MAX));
    let clean_error = 1.0 - clean.value;
    let mut summaries = Vec::new();
    for &kind in &options.kinds {
        let mine: Vec<&CorruptionCell> = cells.iter().filter(|c| c.corruption == kind).collect();
        if mine.is_empty() {
            continue;
        }
        let pooled = wilson(mine.iter().map(|c| c.accuracy.successes).sum(), mine.iter().map(|c| c.accuracy.trials).sum());
        let alex = CorruptionKind::IMAGENET_C.iter().position(|&k| k == kind).map(|i| ALEXNET_ERRORS[i]);
        let complete = mine.len() == 5;
        let (ce, relative_ce) = match (alex, options.alexnet && complete) {
            (Some(a), true) => (
                Some(interval_of(&pooled, |e| e / a)),
                Some(interval_of(&pooled, |e| (e - clean_error) / (a - ALEXNET_CLEAN_ERROR))),
            ),
            _ => (None, None),
        };
        summaries.push(CorruptionSummary {
            corruption: kind,
            group: kind.group().into(),
            severities: mine.len(),
            accuracy: pooled,
            degradation: clean.value - pooled.value,
            ce,
            relative_ce,
        });
    }
    let common: Vec<&CorruptionCell> = cells.iter().filter(|c| c.corruption.group() == "imagenet-c").collect();
    let mean_corruption_accuracy = (!common.is_empty()).then(|| wilson(common.iter().map(|c| c.accuracy.successes).sum(), common.iter().map(|c| c.accuracy.trials).sum()));
    let ces: Vec<&CorruptionSummary> = summaries.iter().filter(|s| s.ce.is_some()).collect();
    let mean = |f: &dyn Fn(&CorruptionSummary) -> Interval| -> Interval {
        let n = ces.len() as f64;
        Interval {
            value: ces.iter().map(|s| f(s).value).sum::<f64>() / n,
            ci95_low: ces.iter().map(|s| f(s).ci95_low).sum::<f64>() / n,
            ci95_high: ces.iter().map(|s| f(s).ci95_high).sum::<f64>() / n,
        }
    };
    let (mce, relative_mce) = if ces.len() == 15 {
        (Some(mean(&|s| s.ce.expect("filtered"))), Some(mean(&|s| s.relative_ce.expect("set with ce"))))
    } else {
        (None, None)
    };
    let missing_cells = order.len().saturating_sub(cells.len());
    CorruptionReport {
        options: options.clone(),
        samples,
        degradation: mean_corruption_accuracy.map(|m| clean.value - m.value),
        clean,
        cells,
        summaries,
        mean_corruption_accuracy,
        mce,
        relative_mce,
        missing_cells,
        interrupted,
    }
}

/// Merge shard reports of the same sweep into one (cells unioned, aggregates recomputed).
pub fn merge_reports(reports: &[CorruptionReport]) -> Result<CorruptionReport, RobustnessError> {
    let Some(first) = reports.first() else {
        return Err(RobustnessError::NoSamples { check: "merge" });
    };
    let mut cells: Vec<CorruptionCell> = Vec::new();
    for r in reports {
        let same = r.samples == first.samples && (r.clean.successes, r.clean.trials) == (first.clean.successes, first.clean.trials) && r.options.seed == first.options.seed && r.options.kinds == first.options.kinds && r.options.severities == first.options.severities && r.options.table == first.options.table;
        if !same {
            return Err(RobustnessError::Unsupported {
                check: "merge",
                reason: "the shards were not run with the same samples, seed, corruptions, severities and table (or their clean accuracies differ)".into(),
                hint: "merge only shards of one sweep: same command line except --shard".into(),
            });
        }
        for c in &r.cells {
            if !cells.iter().any(|d| d.corruption == c.corruption && d.severity == c.severity) {
                cells.push(c.clone());
            }
        }
    }
    let mut options = first.options.clone();
    options.shard = (0, 1);
    // Recompute from counts: figures read back from JSON need not be bit-exact.
    let clean = wilson(first.clean.successes, first.clean.trials);
    Ok(summarise(&options, first.samples, clean, cells, reports.iter().any(|r| r.interrupted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_target::{DType, Dim, TargetInfo, TensorSpec};

    /// Classifies by mean brightness: class 1 when the frame is brighter than 0.5.
    struct BrightnessClassifier(TargetInfo);

    impl BrightnessClassifier {
        fn new() -> Self {
            let spec = |name: &str, shape: Vec<Dim>| TensorSpec { name: name.into(), shape, dtype: DType::F32 };
            BrightnessClassifier(TargetInfo {
                name: "brightness".into(),
                engine: "test".into(),
                engine_version: "0".into(),
                threads: 1,
                inputs: vec![spec("x", vec![Dim::Fixed(1), Dim::Fixed(16), Dim::Fixed(16), Dim::Fixed(3)])],
                outputs: vec![spec("y", vec![Dim::Fixed(1), Dim::Fixed(2)])],
            })
        }
    }

    impl Target for BrightnessClassifier {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let v = inputs[0].to_f32_vec();
            let m = v.iter().sum::<f32>() / v.len() as f32;
            Ok(vec![Tensor::f32(vec![1, 2], vec![0.5 - m, m - 0.5])?])
        }
    }

    fn frames() -> Vec<LabeledFrame> {
        (0..12)
            .map(|i| {
                let bright = i % 2 == 1;
                let base = if bright { 150 + i as u8 * 4 } else { 60 + i as u8 * 4 };
                LabeledFrame { id: format!("f{i}"), label: bright as usize, image: RgbImage::from_fn(16, 16, |x, y| image::Rgb([base.saturating_add((x * 2) as u8), base, base.saturating_sub(y as u8)])) }
            })
            .collect()
    }

    fn options(kinds: Vec<CorruptionKind>, shard: (usize, usize)) -> SweepOptions {
        SweepOptions { kinds, severities: vec![1, 2, 3, 4, 5], table: None, seed: 9, shard, alexnet: true, output_index: 0 }
    }

    fn spec() -> PreprocessSpec {
        PreprocessSpec::parse_cli("layout=nhwc,scale=0.00392156862745098").unwrap()
    }

    #[test]
    fn sweep_measures_clean_and_corrupted_accuracy() {
        let mut t = BrightnessClassifier::new();
        let opts = options(vec![CorruptionKind::Brightness, CorruptionKind::GaussianNoise], (0, 1));
        let r = corruption_sweep(&mut t, &spec(), &frames(), &opts, vec![], &Cancel::new(), &mut |_| {}).unwrap();
        assert_eq!(r.clean.successes, 12);
        assert_eq!(r.cells.len(), 10);
        assert_eq!(r.missing_cells, 0);
        // Brightening every frame by 0.5 on V makes the dark ones look bright.
        let b5 = r.cells.iter().find(|c| c.corruption == CorruptionKind::Brightness && c.severity == 5).unwrap();
        assert!(b5.accuracy.successes < 12, "{b5:?}");
        assert!(b5.wrong.iter().all(|id| ["f0", "f2", "f4", "f6", "f8", "f10"].contains(&id.as_str())), "{:?}", b5.wrong);
        let s = r.summaries.iter().find(|s| s.corruption == CorruptionKind::Brightness).unwrap();
        assert_eq!(s.accuracy.trials, 60);
        let ce = s.ce.unwrap();
        assert!((ce.value - (1.0 - s.accuracy.value) / 0.564592).abs() < 1e-12);
        assert!(ce.ci95_low <= ce.value && ce.value <= ce.ci95_high);
        assert!(r.mce.is_none(), "mCE needs all 15 corruptions");
        assert_eq!(r.cells[0].tables, vec![ParameterTable::CifarC]);
    }

    #[test]
    fn shards_and_resume_give_the_same_result_as_one_run() {
        let kinds = vec![CorruptionKind::Contrast, CorruptionKind::ShotNoise, CorruptionKind::Fog];
        let run = |shard, done: Vec<CorruptionCell>, cancel: &Cancel| {
            let mut t = BrightnessClassifier::new();
            corruption_sweep(&mut t, &spec(), &frames(), &options(kinds.clone(), shard), done, cancel, &mut |_| {}).unwrap()
        };
        let whole = run((0, 1), vec![], &Cancel::new());
        let parts: Vec<CorruptionReport> = (0..3).map(|i| run((i, 3), vec![], &Cancel::new())).collect();
        assert!(parts.iter().all(|p| p.missing_cells == 10));
        let merged = merge_reports(&parts).unwrap();
        assert_eq!(merged.cells, whole.cells);
        assert_eq!(merged.summaries, whole.summaries);
        // Resume: start from the first five cells of the whole run.
        let resumed = run((0, 1), whole.cells[..5].to_vec(), &Cancel::new());
        assert_eq!(resumed.cells, whole.cells);
        // Cancelled before any cell: nothing lost, marked interrupted.
        let c = Cancel::new();
        c.cancel();
        let stopped = run((0, 1), whole.cells[..2].to_vec(), &c);
        assert!(stopped.interrupted);
        assert_eq!(stopped.cells.len(), 2);
    }

    #[test]
    fn bad_options_and_labels_are_explained() {
        let mut t = BrightnessClassifier::new();
        let mut opts = options(vec![CorruptionKind::Fog], (0, 1));
        opts.severities = vec![0, 6];
        let e = corruption_sweep(&mut t, &spec(), &frames(), &opts, vec![], &Cancel::new(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("severity 0 is outside 1..=5"), "{e}");
        let opts = options(vec![CorruptionKind::Fog], (3, 2));
        let e = corruption_sweep(&mut t, &spec(), &frames(), &opts, vec![], &Cancel::new(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("shard 3/2"), "{e}");
        let mut f = frames();
        f[3].label = 7;
        let e = corruption_sweep(&mut t, &spec(), &f, &options(vec![CorruptionKind::Fog], (0, 1)), vec![], &Cancel::new(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("label 7 of sample f3"), "{e}");
    }

    #[test]
    fn colour_conversions_round_trip() {
        let img = RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8 * 50, y as u8 * 70, 9]));
        for color in [ColorOrder::Rgb, ColorOrder::Bgr] {
            assert_eq!(image_to_rgb8(&rgb8_to_image(&img, color), color), img);
        }
    }
}
