//! The corruption sweep: every (corruption, severity) cell over a labelled set
//! of frames, through any [`Target`], and the published metrics over the cells.
//!
//! Cells are the unit of work, of checkpointing and of sharding: a cell's
//! result depends only on the frames, the target and the seed (each sample's
//! corruption seed is derived from the run seed, the corruption name, the
//! severity and the sample's position), so a resumed run, a sharded run and a
//! single run give the same cells, in any order.
//!
//! Where a corruption is applied ([`Placement`]): ImageNet-C corrupts the 8-bit image
//! at the model's input size, after the geometric preprocessing and before
//! normalisation; a camera degrades the whole frame before any preprocessing. The
//! sweep does either, per corruption group by default ([`CorruptAt::Auto`]), and
//! every cell records where it was applied. mCE is only reported when the protocol
//! holds ([`MceStatus`]), with a bootstrap interval over images.

use super::{corrupt, CorruptionKind, ParameterTable};
use crate::RobustnessError;
use aite_accuracy::{wilson, Proportion};
use aite_data::{ColorOrder, Image, PreprocessSpec};
use aite_target::{top_k, Cancel, Target, TargetError, Tensor};
use image::RgbImage;
use rand::{rngs::StdRng, Rng, SeedableRng};
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

/// Where in the pipeline a cell's corruption was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// On the 8-bit image at the model's input size, after the geometric preprocessing
    /// (crop, resize) and before normalisation: the ImageNet-C protocol.
    Input,
    /// On the decoded frame at its native size, before all preprocessing, as a camera
    /// would deliver a degraded frame.
    Frame,
}

impl Placement {
    pub fn name(self) -> &'static str {
        match self {
            Placement::Input => "input",
            Placement::Frame => "frame",
        }
    }
}

/// `--corrupt-at`: where the sweep applies corruptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CorruptAt {
    /// At the input for the ImageNet-C, held-out and alternative corruptions (the
    /// protocol), on the frame for the camera shifts (a camera's frame is what shifts).
    #[default]
    Auto,
    /// Every corruption at the model's input.
    Input,
    /// Every corruption on the native frame (aite before issue 13).
    Frame,
}

impl CorruptAt {
    /// Where `kind` is applied under this choice.
    pub fn placement(self, kind: CorruptionKind) -> Placement {
        match self {
            CorruptAt::Input => Placement::Input,
            CorruptAt::Frame => Placement::Frame,
            CorruptAt::Auto if kind.group() == "camera" => Placement::Frame,
            CorruptAt::Auto => Placement::Input,
        }
    }
}

impl std::str::FromStr for CorruptAt {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(CorruptAt::Auto),
            "input" => Ok(CorruptAt::Input),
            "frame" => Ok(CorruptAt::Frame),
            _ => Err(format!("`{s}` is not a placement: use auto (ImageNet-C and held-out at the model input, camera shifts on the frame), input or frame")),
        }
    }
}

/// The JPEG quality of `make_imagenet_c.py`'s last step.
///
/// hendrycks/robustness `ImageNet-C/create_c/make_imagenet_c.py`, `DistortImageFolder.__getitem__`,
/// writes every corrupted image (the 15 and the held-out four) with
/// `Image.fromarray(np.uint8(img)).save(save_path, quality=85, optimize=True)`: PIL's libjpeg at
/// quality 85, 4:2:0 chroma; `optimize` rebuilds only the Huffman tables, so the pixels are
/// those of a plain q85 save. The published ImageNet-C files, on which AlexNet's errors were
/// measured, are those JPEGs.
pub const IMAGENET_C_SAVE_QUALITY: u8 = 85;

/// `--imagenet-c-jpeg`: whether the ImageNet-C and held-out cells (and the named alternatives
/// to ImageNet-C corruptions) corrupted at the model input are then saved as JPEG at quality 85
/// and read back, as `make_imagenet_c.py` wrote them ([`IMAGENET_C_SAVE_QUALITY`]). Camera
/// shifts are never saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImagenetCJpeg {
    /// On when CE/mCE are normalised by AlexNet (the model has ImageNet labels): part of the
    /// protocol AlexNet's errors came from. Off otherwise.
    #[default]
    Auto,
    On,
    Off,
}

impl ImagenetCJpeg {
    /// The quality `kind`'s corrupted images are saved at before the model reads them, if any.
    pub fn quality(self, alexnet: bool, kind: CorruptionKind, placement: Placement) -> Option<u8> {
        let on = match self {
            ImagenetCJpeg::Auto => alexnet,
            ImagenetCJpeg::On => true,
            ImagenetCJpeg::Off => false,
        };
        (on && placement == Placement::Input && matches!(kind.group(), "imagenet-c" | "held-out" | "alternative")).then_some(IMAGENET_C_SAVE_QUALITY)
    }
}

impl std::str::FromStr for ImagenetCJpeg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(ImagenetCJpeg::Auto),
            "on" => Ok(ImagenetCJpeg::On),
            "off" => Ok(ImagenetCJpeg::Off),
            _ => Err(format!("`{s}` is not a choice: use auto (on when mCE is normalised by AlexNet, i.e. ImageNet labels), on or off")),
        }
    }
}

/// make_imagenet_c.py's save and reload: libjpeg's q85 round trip at 4:2:0, bit-exact with PIL.
pub fn imagenet_c_save(img: &RgbImage) -> RgbImage {
    super::jpeg_round_trip(img, IMAGENET_C_SAVE_QUALITY)
}

/// Packages written before the JPEG save was an option did not save.
fn no_save() -> ImagenetCJpeg {
    ImagenetCJpeg::Off
}

/// Packages written before the placement was recorded corrupted the frame.
fn frame_placement() -> Placement {
    Placement::Frame
}
fn frame_choice() -> CorruptAt {
    CorruptAt::Frame
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
    /// Where corruptions are applied (absent in older packages: the frame).
    #[serde(default = "frame_choice")]
    pub corrupt_at: CorruptAt,
    /// make_imagenet_c.py's JPEG q85 save after the corruption (absent in older packages: off).
    #[serde(default = "no_save")]
    pub imagenet_c_jpeg: ImagenetCJpeg,
    /// Whether the samples are ILSVRC-2012 validation images, set by [`corruption_sweep`]
    /// from their names (absent in older packages: not recorded).
    #[serde(default)]
    pub dataset: SweepDataset,
}

/// The samples of a sweep, as far as mCE is concerned: AlexNet's errors were measured on the
/// ILSVRC-2012 validation images (Hendrycks & Dietterich 2019), so CE is defined there only.
/// The rule is by file name: every sample's file is `ILSVRC2012_val_NNNNNNNN.<ext>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SweepDataset {
    /// Every sample's file name is an ILSVRC-2012 validation file name.
    ImagenetVal { samples: usize },
    /// `sample` (the first such) is not named as an ILSVRC-2012 validation file.
    Other { sample: String },
    /// Not set (a sweep summarised without its frames, or an older package).
    #[default]
    NotRecorded,
}

impl SweepDataset {
    /// From the samples' ids (paths or file names).
    pub fn of(ids: &[&str]) -> Self {
        match ids.iter().find(|id| !is_imagenet_val_file(id)) {
            Some(id) => SweepDataset::Other { sample: id.to_string() },
            None if ids.is_empty() => SweepDataset::NotRecorded,
            None => SweepDataset::ImagenetVal { samples: ids.len() },
        }
    }
}

/// `ILSVRC2012_val_` + 8 digits, with an extension, after the last `/` or `\\`.
pub fn is_imagenet_val_file(id: &str) -> bool {
    let name = id.rsplit(['/', '\\']).next().unwrap_or(id);
    let stem = name.split_once('.').map_or(name, |(s, _)| s);
    stem.strip_prefix("ILSVRC2012_val_").is_some_and(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit())) && stem.len() < name.len()
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
        if self.imagenet_c_jpeg == ImagenetCJpeg::On && self.corrupt_at == CorruptAt::Frame {
            return bad("--imagenet-c-jpeg on saves the image at the model input, and --corrupt-at frame corrupts the frame".into(), "use --corrupt-at auto or input with the JPEG save, or --imagenet-c-jpeg off");
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
    /// Where the corruption was applied (absent in older packages: the frame).
    #[serde(default = "frame_placement")]
    pub placement: Placement,
    /// JPEG quality of make_imagenet_c.py's save applied after the corruption; `None`: not saved.
    #[serde(default)]
    pub saved_as_jpeg: Option<u8>,
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
    /// Corruption error normalised by AlexNet, when the protocol holds for this
    /// corruption (ImageNet labels, all five severities, ImageNet-C table, at the input).
    pub ce: Option<Interval>,
    /// Relative CE: error increase over clean, normalised by AlexNet's.
    pub relative_ce: Option<Interval>,
}

/// Whether mCE is reported, and if not, why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MceStatus {
    /// Every protocol condition holds; `mce` and `relative_mce` are set.
    Reported { interval: IntervalMethod },
    /// `mce` and `relative_mce` are absent for these reasons.
    NotReported { reasons: Vec<MceUnmet> },
}

impl Default for MceStatus {
    fn default() -> Self {
        MceStatus::NotReported { reasons: vec![MceUnmet::NotRecorded] }
    }
}

/// A protocol condition of mCE that does not hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "condition", rename_all = "snake_case")]
pub enum MceUnmet {
    /// The model's outputs are not an ImageNet label space (1000 or 1001 classes).
    NotImagenetLabels,
    /// The samples are not ILSVRC-2012 validation images by name ([`SweepDataset`]); `sample`
    /// is the first that is not (`None`: not recorded).
    NotImagenetVal { sample: Option<String> },
    /// These ImageNet-C corruptions were not run on all five severities (not selected,
    /// interrupted, or in another shard).
    Incomplete { corruptions: Vec<CorruptionKind> },
    /// These were corrupted on the frame, not at the model's input (`--corrupt-at frame`).
    NotAtInput { corruptions: Vec<CorruptionKind> },
    /// These used another table than ImageNet-C's (e.g. CIFAR-10-C for small inputs).
    NotImagenetTable { corruptions: Vec<CorruptionKind> },
    /// These were not saved as JPEG q85 after the corruption, as make_imagenet_c.py wrote the
    /// files AlexNet's errors were measured on (`--imagenet-c-jpeg off`).
    NotSavedAsJpeg { corruptions: Vec<CorruptionKind> },
    /// Written by a version that did not record the conditions.
    NotRecorded,
}

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Percentile bootstrap (2.5%, 97.5%) over images: every resample draws the
    /// samples with replacement and recomputes the whole statistic from their answers
    /// in every cell and on the clean set, so the cells' shared images are accounted for.
    BootstrapOverImages { resamples: usize, seed: u64 },
}

/// Bootstrap resamples of CE and mCE.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

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
    /// Mean CE over the 15 ImageNet-C corruptions, when [`MceStatus::Reported`].
    pub mce: Option<Interval>,
    pub relative_mce: Option<Interval>,
    /// Whether the mCE protocol holds, and why not.
    #[serde(default)]
    pub mce_status: MceStatus,
    /// Ids of the samples answered wrongly on clean frames (for the bootstrap).
    #[serde(default)]
    pub clean_wrong: Vec<String>,
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

/// Accuracy on the tensors produced by `tensor(i)`; `None` when cancelled.
fn measure(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    frames: &[LabeledFrame],
    output_index: usize,
    cancel: &Cancel,
    tensor: &(dyn Fn(usize) -> Result<Tensor, aite_data::DataError> + Sync),
) -> Result<Option<(usize, Vec<String>)>, RobustnessError> {
    let mut correct = 0;
    let mut wrong = Vec::new();
    for start in (0..frames.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(frames.len());
        let tensors: Vec<Result<Tensor, aite_data::DataError>> = (start..end).into_par_iter().map(tensor).collect();
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
    let ids: Vec<&str> = frames.iter().map(|f| f.id.as_str()).collect();
    let options = &SweepOptions { dataset: SweepDataset::of(&ids), ..options.clone() };
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
    // The 8-bit images at the model's input size, where the protocol corrupts; the
    // clean tensors are the same whichever way they are made (geometry rounds to 8 bits).
    let at_input: Vec<RgbImage> = frames.par_iter().map(|f| spec.geometry(&rgb8_to_image(&f.image, spec.color)).map(|g| image_to_rgb8(&g, spec.color))).collect::<Result<_, _>>()?;
    let clean_tensor = |i: usize| Ok(spec.normalise(&rgb8_to_image(&at_input[i], spec.color)));
    let clean = match measure(target, spec, frames, options.output_index, cancel, &clean_tensor)? {
        Some((c, wrong)) => (wilson(c, frames.len()), wrong),
        None => return Ok(summarise(options, frames.len(), (wilson(0, 0), vec![]), done, true)),
    };
    let mut cells = done;
    let mut interrupted = false;
    for (kind, severity) in options.shard_cells() {
        if cells.iter().any(|c| c.corruption == kind && c.severity == severity) {
            continue;
        }
        let placement = options.corrupt_at.placement(kind);
        let source = |i: usize| match placement {
            Placement::Input => &at_input[i],
            Placement::Frame => &frames[i].image,
        };
        let table_of = |img: &RgbImage| options.table.unwrap_or_else(|| ParameterTable::for_size(img.width() as usize, img.height() as usize));
        let saved_as_jpeg = options.imagenet_c_jpeg.quality(options.alexnet, kind, placement);
        let tensor = |i: usize| {
            let img = source(i);
            let mut corrupted = corrupt(img, kind, severity, table_of(img), sample_seed(options.seed, kind, severity, i));
            if let Some(q) = saved_as_jpeg {
                corrupted = super::jpeg_round_trip(&corrupted, q);
            }
            let corrupted = rgb8_to_image(&corrupted, spec.color);
            match placement {
                Placement::Input => Ok(spec.normalise(&corrupted)),
                Placement::Frame => spec.to_tensor(&corrupted),
            }
        };
        let Some((correct, wrong)) = measure(target, spec, frames, options.output_index, cancel, &tensor)? else {
            interrupted = true;
            break;
        };
        let mut tables: Vec<ParameterTable> = (0..frames.len()).map(|i| table_of(source(i))).collect();
        tables.sort_by_key(|t| t.name());
        tables.dedup();
        let cell = CorruptionCell { corruption: kind, severity, tables, placement, saved_as_jpeg, accuracy: wilson(correct, frames.len()), wrong };
        on_cell(&cell);
        cells.push(cell);
    }
    Ok(summarise(options, frames.len(), clean, cells, interrupted))
}

/// Whether CE(kind) may be computed from these cells, or the conditions it fails.
fn ce_conditions(options: &SweepOptions, kind: CorruptionKind, mine: &[&CorruptionCell]) -> Vec<MceUnmet> {
    let mut unmet = vec![];
    if !options.alexnet {
        unmet.push(MceUnmet::NotImagenetLabels);
    }
    match &options.dataset {
        SweepDataset::ImagenetVal { .. } => {}
        SweepDataset::Other { sample } => unmet.push(MceUnmet::NotImagenetVal { sample: Some(sample.clone()) }),
        SweepDataset::NotRecorded => unmet.push(MceUnmet::NotImagenetVal { sample: None }),
    }
    if (1..=5).any(|s| !mine.iter().any(|c| c.severity == s)) {
        unmet.push(MceUnmet::Incomplete { corruptions: vec![kind] });
    }
    if mine.iter().any(|c| c.placement != Placement::Input) {
        unmet.push(MceUnmet::NotAtInput { corruptions: vec![kind] });
    }
    if mine.iter().any(|c| c.tables != [ParameterTable::ImagenetC]) {
        unmet.push(MceUnmet::NotImagenetTable { corruptions: vec![kind] });
    }
    // At the frame there is no model-input image to save: `not_at_input` says it.
    if mine.iter().all(|c| c.placement == Placement::Input) && mine.iter().any(|c| c.saved_as_jpeg != Some(IMAGENET_C_SAVE_QUALITY)) {
        unmet.push(MceUnmet::NotSavedAsJpeg { corruptions: vec![kind] });
    }
    unmet
}

/// Merge per-corruption reasons into one list (one entry per condition).
fn merge_unmet(all: Vec<MceUnmet>) -> Vec<MceUnmet> {
    let mut out: Vec<MceUnmet> = vec![];
    for u in all {
        let slot = out.iter_mut().find(|o| std::mem::discriminant(*o) == std::mem::discriminant(&u));
        match (slot, u) {
            (Some(MceUnmet::Incomplete { corruptions: a }), MceUnmet::Incomplete { corruptions: b })
            | (Some(MceUnmet::NotAtInput { corruptions: a }), MceUnmet::NotAtInput { corruptions: b })
            | (Some(MceUnmet::NotImagenetTable { corruptions: a }), MceUnmet::NotImagenetTable { corruptions: b })
            | (Some(MceUnmet::NotSavedAsJpeg { corruptions: a }), MceUnmet::NotSavedAsJpeg { corruptions: b }) => a.extend(b),
            (Some(_), _) => {}
            (None, u) => out.push(u),
        }
    }
    out
}

/// Per-image answers: for each image that was wrong somewhere, which of `cells`
/// (and clean, bit `cells.len()`) it got wrong; the other images were right everywhere.
struct Answers {
    samples: usize,
    wrong: Vec<Vec<bool>>,
}

impl Answers {
    fn new(samples: usize, clean_wrong: &[String], cells: &[&CorruptionCell]) -> Self {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut wrong: Vec<Vec<bool>> = vec![];
        let marks = cells.iter().enumerate().flat_map(|(slot, c)| c.wrong.iter().map(move |id| (id.as_str(), slot))).chain(clean_wrong.iter().map(|id| (id.as_str(), cells.len())));
        for (id, slot) in marks {
            let n = index.len();
            let i = *index.entry(id).or_insert(n);
            if i == wrong.len() {
                wrong.push(vec![false; cells.len() + 1]);
            }
            wrong[i][slot] = true;
        }
        Answers { samples: samples.max(wrong.len()), wrong }
    }

    /// Error per cell (and clean last) over a resample given as counts per distinct
    /// wrong-somewhere image (`None`: the sample itself).
    fn errors(&self, weights: Option<&[u32]>) -> Vec<f64> {
        let slots = self.wrong.first().map_or(0, |w| w.len());
        let mut e = vec![0f64; slots];
        for (i, w) in self.wrong.iter().enumerate() {
            let k = weights.map_or(1.0, |ws| ws[i] as f64);
            for (slot, &bad) in w.iter().enumerate() {
                if bad {
                    e[slot] += k;
                }
            }
        }
        e.iter_mut().for_each(|v| *v /= self.samples.max(1) as f64);
        e
    }
}

/// CE and relative CE of each corruption in `groups` (indices into the error vector,
/// five severities each, with its AlexNet error), and their means.
fn ce_values(errors: &[f64], groups: &[(Vec<usize>, f64)]) -> (Vec<(f64, f64)>, (f64, f64)) {
    let clean = errors[errors.len() - 1];
    let per: Vec<(f64, f64)> = groups
        .iter()
        .map(|(slots, alex)| {
            let e = slots.iter().map(|&s| errors[s]).sum::<f64>() / slots.len() as f64;
            (e / alex, (e - clean) / (alex - ALEXNET_CLEAN_ERROR))
        })
        .collect();
    let n = per.len().max(1) as f64;
    let mean = (per.iter().map(|p| p.0).sum::<f64>() / n, per.iter().map(|p| p.1).sum::<f64>() / n);
    (per, mean)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Summaries and published aggregates from the cells known so far.
pub fn summarise(options: &SweepOptions, samples: usize, clean: (Proportion, Vec<String>), mut cells: Vec<CorruptionCell>, interrupted: bool) -> CorruptionReport {
    let (clean, clean_wrong) = clean;
    let order = options.all_cells();
    cells.sort_by_key(|c| order.iter().position(|&(k, s)| k == c.corruption && s == c.severity).unwrap_or(usize::MAX));
    let mut summaries = Vec::new();
    // Corruptions whose CE is defined: (summary index, cell indices, AlexNet error).
    let mut eligible: Vec<(usize, Vec<usize>, f64)> = vec![];
    let mut unmet = vec![];
    for &kind in &options.kinds {
        let mine: Vec<&CorruptionCell> = cells.iter().filter(|c| c.corruption == kind).collect();
        let alex = CorruptionKind::IMAGENET_C.iter().position(|&k| k == kind).map(|i| ALEXNET_ERRORS[i]);
        if let Some(a) = alex {
            let why = ce_conditions(options, kind, &mine);
            if why.is_empty() {
                let slots = cells.iter().enumerate().filter(|(_, c)| c.corruption == kind).map(|(i, _)| i).collect();
                eligible.push((summaries.len(), slots, a));
            }
            unmet.extend(why);
        }
        if mine.is_empty() {
            continue;
        }
        let pooled = wilson(mine.iter().map(|c| c.accuracy.successes).sum(), mine.iter().map(|c| c.accuracy.trials).sum());
        summaries.push(CorruptionSummary { corruption: kind, group: kind.group().into(), severities: mine.len(), accuracy: pooled, degradation: clean.value - pooled.value, ce: None, relative_ce: None });
    }
    for &kind in &CorruptionKind::IMAGENET_C {
        if !options.kinds.contains(&kind) {
            unmet.push(MceUnmet::Incomplete { corruptions: vec![kind] });
        }
    }
    // CE from the answers themselves, intervals by bootstrap over images.
    let method = IntervalMethod::BootstrapOverImages { resamples: BOOTSTRAP_RESAMPLES, seed: options.seed };
    let mut mce = None;
    if !eligible.is_empty() && samples > 0 {
        let all: Vec<&CorruptionCell> = cells.iter().collect();
        let answers = Answers::new(samples, &clean_wrong, &all);
        let groups: Vec<(Vec<usize>, f64)> = eligible.iter().map(|(_, slots, a)| (slots.clone(), *a)).collect();
        let (point, point_mean) = ce_values(&answers.errors(None), &groups);
        let mut rng = StdRng::seed_from_u64(options.seed ^ 0x6d43_45);
        let distinct = answers.wrong.len();
        let mut draws: Vec<(Vec<(f64, f64)>, (f64, f64))> = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
        let mut weights = vec![0u32; distinct];
        for _ in 0..BOOTSTRAP_RESAMPLES {
            weights.iter_mut().for_each(|w| *w = 0);
            for _ in 0..samples {
                // Images right everywhere all look alike: only the others need an identity.
                let i = rng.gen_range(0..samples);
                if i < distinct {
                    weights[i] += 1;
                }
            }
            draws.push(ce_values(&answers.errors(Some(&weights)), &groups));
        }
        let interval = |value: f64, pick: &dyn Fn(&(Vec<(f64, f64)>, (f64, f64))) -> f64| {
            let mut v: Vec<f64> = draws.iter().map(pick).collect();
            v.sort_by(f64::total_cmp);
            Interval { value, ci95_low: percentile(&v, 0.025), ci95_high: percentile(&v, 0.975) }
        };
        for (g, (summary, _, _)) in eligible.iter().enumerate() {
            summaries[*summary].ce = Some(interval(point[g].0, &|d| d.0[g].0));
            summaries[*summary].relative_ce = Some(interval(point[g].1, &|d| d.0[g].1));
        }
        if eligible.len() == 15 {
            mce = Some((interval(point_mean.0, &|d| d.1 .0), interval(point_mean.1, &|d| d.1 .1)));
        }
    }
    let mce_status = match mce {
        Some(_) => MceStatus::Reported { interval: method },
        None => MceStatus::NotReported { reasons: merge_unmet(unmet) },
    };
    let common: Vec<&CorruptionCell> = cells.iter().filter(|c| c.corruption.group() == "imagenet-c").collect();
    let mean_corruption_accuracy = (!common.is_empty()).then(|| wilson(common.iter().map(|c| c.accuracy.successes).sum(), common.iter().map(|c| c.accuracy.trials).sum()));
    let missing_cells = order.len().saturating_sub(cells.len());
    CorruptionReport {
        options: options.clone(),
        samples,
        degradation: mean_corruption_accuracy.map(|m| clean.value - m.value),
        clean,
        cells,
        summaries,
        mean_corruption_accuracy,
        mce: mce.map(|m| m.0),
        relative_mce: mce.map(|m| m.1),
        mce_status,
        clean_wrong,
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
        let same = r.samples == first.samples && (r.clean.successes, r.clean.trials) == (first.clean.successes, first.clean.trials) && r.options.seed == first.options.seed && r.options.kinds == first.options.kinds && r.options.severities == first.options.severities && r.options.table == first.options.table && r.options.corrupt_at == first.options.corrupt_at && r.options.imagenet_c_jpeg == first.options.imagenet_c_jpeg;
        if !same {
            return Err(RobustnessError::Unsupported {
                check: "merge",
                reason: "the shards were not run with the same samples, seed, corruptions, severities, table, placement and JPEG save (or their clean accuracies differ)".into(),
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
    Ok(summarise(&options, first.samples, (clean, first.clean_wrong.clone()), cells, reports.iter().any(|r| r.interrupted)))
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
        SweepOptions { kinds, severities: vec![1, 2, 3, 4, 5], table: None, seed: 9, shard, alexnet: true, output_index: 0, corrupt_at: CorruptAt::Auto, imagenet_c_jpeg: ImagenetCJpeg::Auto, dataset: SweepDataset::ImagenetVal { samples: 12 } }
    }

    fn spec() -> PreprocessSpec {
        PreprocessSpec::parse_cli("layout=nhwc,scale=0.00392156862745098").unwrap()
    }

    #[test]
    fn sweep_measures_clean_and_corrupted_accuracy() {
        let mut t = BrightnessClassifier::new();
        let mut opts = options(vec![CorruptionKind::Brightness, CorruptionKind::GaussianNoise], (0, 1));
        opts.table = Some(ParameterTable::ImagenetC);
        // Named as ILSVRC-2012 validation files, where CE is defined.
        let val = |i: usize| format!("ILSVRC2012_val_{:08}.JPEG", i + 1);
        let frames: Vec<LabeledFrame> = frames().into_iter().enumerate().map(|(i, f)| LabeledFrame { id: val(i), ..f }).collect();
        let r = corruption_sweep(&mut t, &spec(), &frames, &opts, vec![], &Cancel::new(), &mut |_| {}).unwrap();
        assert_eq!(r.options.dataset, SweepDataset::ImagenetVal { samples: 12 });
        assert_eq!(r.clean.successes, 12);
        assert!(r.cells.iter().all(|c| c.placement == Placement::Input));
        assert_eq!(r.cells.len(), 10);
        assert_eq!(r.missing_cells, 0);
        // Brightening every frame by 0.5 on V makes the dark ones look bright.
        let b5 = r.cells.iter().find(|c| c.corruption == CorruptionKind::Brightness && c.severity == 5).unwrap();
        assert!(b5.accuracy.successes < 12, "{b5:?}");
        assert!(b5.wrong.iter().all(|id| [0, 2, 4, 6, 8, 10].map(val).contains(id)), "{:?}", b5.wrong);
        let s = r.summaries.iter().find(|s| s.corruption == CorruptionKind::Brightness).unwrap();
        assert_eq!(s.accuracy.trials, 60);
        let ce = s.ce.unwrap();
        assert!((ce.value - (1.0 - s.accuracy.value) / 0.564592).abs() < 1e-12);
        assert!(ce.ci95_low <= ce.value && ce.value <= ce.ci95_high);
        assert!(r.mce.is_none(), "mCE needs all 15 corruptions");
        let MceStatus::NotReported { reasons } = &r.mce_status else { panic!("{:?}", r.mce_status) };
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(matches!(&reasons[0], MceUnmet::Incomplete { corruptions } if corruptions.len() == 13), "{reasons:?}");
        assert_eq!(r.cells[0].tables, vec![ParameterTable::ImagenetC]);
        // With the size-chosen table (CIFAR-10-C at 16 px) CE is not defined, and says so.
        opts.table = None;
        let r = corruption_sweep(&mut t, &spec(), &frames, &opts, vec![], &Cancel::new(), &mut |_| {}).unwrap();
        assert!(r.summaries.iter().all(|s| s.ce.is_none()));
        let MceStatus::NotReported { reasons } = &r.mce_status else { panic!() };
        assert!(reasons.iter().any(|u| matches!(u, MceUnmet::NotImagenetTable { corruptions } if corruptions.len() == 2)), "{reasons:?}");
    }

    /// Records every tensor it is given; answers class 0.
    struct Recorder(TargetInfo, Vec<Vec<f32>>);

    impl Target for Recorder {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            self.1.push(inputs[0].to_f32_vec());
            Ok(vec![Tensor::f32(vec![1, 2], vec![1.0, 0.0])?])
        }
    }

    #[test]
    fn placement_input_corrupts_after_the_geometry_and_frame_before() {
        // 16x16 frames, an 8x8 model input: the hand-made pipelines below are the oracle.
        let spec = PreprocessSpec::parse_cli("resize=8x8,layout=nhwc,scale=0.00392156862745098").unwrap();
        let frames = frames();
        let run_saving = |corrupt_at: CorruptAt, kind: CorruptionKind, save: ImagenetCJpeg| {
            let mut t = Recorder(BrightnessClassifier::new().0, vec![]);
            let mut opts = options(vec![kind], (0, 1));
            opts.severities = vec![5];
            opts.corrupt_at = corrupt_at;
            opts.imagenet_c_jpeg = save;
            let r = corruption_sweep(&mut t, &spec, &frames, &opts, vec![], &Cancel::new(), &mut |_| {}).unwrap();
            (r, t.1)
        };
        let run = |corrupt_at: CorruptAt, kind: CorruptionKind| run_saving(corrupt_at, kind, ImagenetCJpeg::Off);
        let seed = |i| sample_seed(9, CorruptionKind::GaussianNoise, 5, i);
        let (r, seen) = run(CorruptAt::Auto, CorruptionKind::GaussianNoise);
        assert_eq!(r.cells[0].placement, Placement::Input);
        assert_eq!(r.cells[0].saved_as_jpeg, None);
        assert_eq!(r.options.corrupt_at, CorruptAt::Auto);
        // ImageNet labels (alexnet) and auto: make_imagenet_c.py's q85 save follows the corruption.
        let (r, saved) = run_saving(CorruptAt::Auto, CorruptionKind::GaussianNoise, ImagenetCJpeg::Auto);
        assert_eq!(r.cells[0].saved_as_jpeg, Some(85));
        let n = frames.len();
        for (i, f) in frames.iter().enumerate() {
            let small = image_to_rgb8(&spec.geometry(&rgb8_to_image(&f.image, ColorOrder::Rgb)).unwrap(), ColorOrder::Rgb);
            assert_eq!(small.dimensions(), (8, 8));
            let corrupted = corrupt(&small, CorruptionKind::GaussianNoise, 5, ParameterTable::CifarC, seed(i));
            let want = spec.normalise(&rgb8_to_image(&corrupted, ColorOrder::Rgb)).to_f32_vec();
            assert_eq!(seen[n + i], want, "sample {i} at the input");
            let want_saved = spec.normalise(&rgb8_to_image(&crate::corruption::jpeg_round_trip(&corrupted, 85), ColorOrder::Rgb)).to_f32_vec();
            assert_eq!(saved[n + i], want_saved, "sample {i} at the input, saved as JPEG q85");
            assert_ne!(saved[n + i], seen[n + i]);
            assert_eq!(saved[i], seen[i], "clean inputs are never saved");
            // Clean tensors are the plain preprocessing.
            assert_eq!(seen[i], spec.to_tensor(&rgb8_to_image(&f.image, ColorOrder::Rgb)).unwrap().to_f32_vec());
        }
        let (r, frame_seen) = run(CorruptAt::Frame, CorruptionKind::GaussianNoise);
        assert_eq!(r.cells[0].placement, Placement::Frame);
        for (i, f) in frames.iter().enumerate() {
            let want = spec.to_tensor(&rgb8_to_image(&corrupt(&f.image, CorruptionKind::GaussianNoise, 5, ParameterTable::CifarC, seed(i)), ColorOrder::Rgb)).unwrap().to_f32_vec();
            assert_eq!(frame_seen[n + i], want, "sample {i} on the frame");
            assert_ne!(frame_seen[n + i], seen[n + i]);
        }
        // Camera shifts stay on the frame under auto, and are never saved.
        let (r, _) = run_saving(CorruptAt::Auto, CorruptionKind::Rotation, ImagenetCJpeg::On);
        assert_eq!(r.cells[0].placement, Placement::Frame);
        assert_eq!(r.cells[0].saved_as_jpeg, None);
        // Held-out corruptions were written by the same script: saved too; without ImageNet labels auto is off.
        assert_eq!(ImagenetCJpeg::Auto.quality(true, CorruptionKind::Spatter, Placement::Input), Some(85));
        assert_eq!(ImagenetCJpeg::Auto.quality(false, CorruptionKind::Fog, Placement::Input), None);
        assert_eq!(ImagenetCJpeg::On.quality(false, CorruptionKind::Fog, Placement::Input), Some(85));
        assert_eq!(ImagenetCJpeg::On.quality(true, CorruptionKind::FrostProcedural, Placement::Input), Some(85));
        assert_eq!(ImagenetCJpeg::On.quality(true, CorruptionKind::Occlusion, Placement::Input), None);
        assert_eq!(ImagenetCJpeg::On.quality(true, CorruptionKind::Fog, Placement::Frame), None);
        let mut opts = options(vec![CorruptionKind::Fog], (0, 1));
        (opts.corrupt_at, opts.imagenet_c_jpeg) = (CorruptAt::Frame, ImagenetCJpeg::On);
        assert!(opts.validate().unwrap_err().to_string().contains("--imagenet-c-jpeg on"));
        assert!("sideways".parse::<CorruptAt>().unwrap_err().contains("auto"));
    }

    fn cell(kind: CorruptionKind, severity: u8, n: usize, wrong: &[usize], placement: Placement) -> CorruptionCell {
        let saved_as_jpeg = (placement == Placement::Input).then_some(IMAGENET_C_SAVE_QUALITY);
        CorruptionCell { corruption: kind, severity, tables: vec![ParameterTable::ImagenetC], placement, saved_as_jpeg, accuracy: wilson(n - wrong.len(), n), wrong: wrong.iter().map(|i| format!("s{i}")).collect() }
    }

    #[test]
    fn mce_interval_is_a_bootstrap_over_images_of_the_whole_mce() {
        // 100 images; every cell is wrong on the same 20 (perfectly correlated cells), clean on none.
        // mCE = 0.2 * mean(1 / AlexNet). Resampling images makes the error count
        // Binomial(100, 0.2): 2.5% / 97.5% quantiles 12 and 28, so the interval is about
        // [0.12, 0.28] x mean(1 / AlexNet). Treating the 500 answers per corruption as
        // independent (pooled Wilson bounds) would give about [0.167, 0.237].
        let n = 100;
        let wrong: Vec<usize> = (0..20).collect();
        let opts = SweepOptions { kinds: CorruptionKind::IMAGENET_C.to_vec(), table: Some(ParameterTable::ImagenetC), ..options(vec![], (0, 1)) };
        let cells: Vec<CorruptionCell> = opts.all_cells().into_iter().map(|(k, s)| cell(k, s, n, &wrong, Placement::Input)).collect();
        let r = summarise(&opts, n, (wilson(n, n), vec![]), cells.clone(), false);
        assert!(matches!(r.mce_status, MceStatus::Reported { interval: IntervalMethod::BootstrapOverImages { resamples: BOOTSTRAP_RESAMPLES, .. } }), "{:?}", r.mce_status);
        let m = ALEXNET_ERRORS.iter().map(|a| 1.0 / a).sum::<f64>() / 15.0;
        let mce = r.mce.unwrap();
        assert!((mce.value - 0.2 * m).abs() < 1e-12, "{mce:?}");
        assert!((0.115 * m..=0.135 * m).contains(&mce.ci95_low), "{} vs {}", mce.ci95_low / m, 0.12);
        assert!((0.265 * m..=0.285 * m).contains(&mce.ci95_high), "{} vs {}", mce.ci95_high / m, 0.28);
        let rel = r.relative_mce.unwrap();
        let rm = ALEXNET_ERRORS.iter().map(|a| 1.0 / (a - ALEXNET_CLEAN_ERROR)).sum::<f64>() / 15.0;
        assert!((rel.value - 0.2 * rm).abs() < 1e-12);
        // The same sweep corrupted on the frame, or without ImageNet labels, or with a
        // corruption missing: no mCE, and each reason named.
        let framed: Vec<CorruptionCell> = cells.iter().map(|c| CorruptionCell { placement: Placement::Frame, ..c.clone() }).collect();
        let r = summarise(&opts, n, (wilson(n, n), vec![]), framed, false);
        assert!(r.mce.is_none() && r.summaries.iter().all(|s| s.ce.is_none()));
        assert!(matches!(&r.mce_status, MceStatus::NotReported { reasons } if matches!(&reasons[..], [MceUnmet::NotAtInput { corruptions }] if corruptions.len() == 15)), "{:?}", r.mce_status);
        // Not saved as JPEG q85 after the corruption (`--imagenet-c-jpeg off`): not the published files' protocol.
        let unsaved: Vec<CorruptionCell> = cells.iter().map(|c| CorruptionCell { saved_as_jpeg: None, ..c.clone() }).collect();
        let r = summarise(&opts, n, (wilson(n, n), vec![]), unsaved, false);
        assert!(r.mce.is_none() && r.summaries.iter().all(|s| s.ce.is_none()));
        assert!(matches!(&r.mce_status, MceStatus::NotReported { reasons } if matches!(&reasons[..], [MceUnmet::NotSavedAsJpeg { corruptions }] if corruptions.len() == 15)), "{:?}", r.mce_status);
        let r = summarise(&SweepOptions { alexnet: false, ..opts.clone() }, n, (wilson(n, n), vec![]), cells.clone(), false);
        assert!(matches!(&r.mce_status, MceStatus::NotReported { reasons } if reasons == &vec![MceUnmet::NotImagenetLabels]), "{:?}", r.mce_status);
        let fewer: Vec<CorruptionCell> = cells.iter().filter(|c| !(c.corruption == CorruptionKind::Fog && c.severity == 3)).cloned().collect();
        let r = summarise(&opts, n, (wilson(n, n), vec![]), fewer, false);
        assert!(matches!(&r.mce_status, MceStatus::NotReported { reasons } if reasons == &vec![MceUnmet::Incomplete { corruptions: vec![CorruptionKind::Fog] }]), "{:?}", r.mce_status);
        assert_eq!(r.summaries.iter().filter(|s| s.ce.is_some()).count(), 14);
    }

    /// Review finding (mCE outside ImageNet): AlexNet's errors were measured on ILSVRC-2012 val,
    /// so the same cells on other images (or unrecorded ones) give no CE and no mCE, naming why.
    #[test]
    fn mce_needs_ilsvrc2012_validation_images_by_name() {
        let n = 100;
        let opts = SweepOptions { kinds: CorruptionKind::IMAGENET_C.to_vec(), table: Some(ParameterTable::ImagenetC), ..options(vec![], (0, 1)) };
        let cells: Vec<CorruptionCell> = opts.all_cells().into_iter().map(|(k, s)| cell(k, s, n, &[1, 2], Placement::Input)).collect();
        let other = SweepOptions { dataset: SweepDataset::Other { sample: "cam/0001.jpg".into() }, ..opts.clone() };
        let r = summarise(&other, n, (wilson(n, n), vec![]), cells.clone(), false);
        assert!(r.mce.is_none() && r.relative_mce.is_none() && r.summaries.iter().all(|s| s.ce.is_none()));
        assert_eq!(r.mce_status, MceStatus::NotReported { reasons: vec![MceUnmet::NotImagenetVal { sample: Some("cam/0001.jpg".into()) }] });
        let r = summarise(&SweepOptions { dataset: SweepDataset::NotRecorded, ..opts.clone() }, n, (wilson(n, n), vec![]), cells.clone(), false);
        assert_eq!(r.mce_status, MceStatus::NotReported { reasons: vec![MceUnmet::NotImagenetVal { sample: None }] });
        assert!(matches!(summarise(&opts, n, (wilson(n, n), vec![]), cells, false).mce_status, MceStatus::Reported { .. }));
        // The name rule, and what the sweep records from its frames' ids.
        for ok in ["ILSVRC2012_val_00000001.JPEG", "val/n01440764/ILSVRC2012_val_00049999.JPEG", "C:\\imagenet\\ILSVRC2012_val_00012345.png"] {
            assert!(is_imagenet_val_file(ok), "{ok}");
        }
        for bad in ["ILSVRC2012_val_0000001.JPEG", "ILSVRC2012_val_00000001", "ILSVRC2012_train_00000001.JPEG", "n01440764_tench.JPEG", "xILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_0000000a.JPEG"] {
            assert!(!is_imagenet_val_file(bad), "{bad}");
        }
        assert_eq!(SweepDataset::of(&["a/ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"]), SweepDataset::ImagenetVal { samples: 2 });
        assert_eq!(SweepDataset::of(&["a/ILSVRC2012_val_00000001.JPEG", "b/tench.jpg"]), SweepDataset::Other { sample: "b/tench.jpg".into() });
        let mut t = BrightnessClassifier::new();
        let r = corruption_sweep(&mut t, &spec(), &frames(), &options(vec![CorruptionKind::Fog], (0, 1)), vec![], &Cancel::new(), &mut |_| {}).unwrap();
        assert_eq!(r.options.dataset, SweepDataset::Other { sample: "f0".into() });
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
