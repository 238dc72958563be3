//! The corruption sweep on detectors, with the published detection protocol
//! (Michaelis et al. 2019, "Benchmarking Robustness in Object Detection"): COCO
//! AP@[.5:.95] and AP50 per (corruption, severity) cell, mPC = mean AP over the
//! cells, rPC = mPC / clean AP, each with a percentile-bootstrap interval over images.
//!
//! Ground truth is either labels ([`DetectionGroundTruth::Labels`]) or, for unlabeled
//! camera frames, a pseudo ground truth named as such in the report: the model's own clean
//! predictions ([`DetectionGroundTruth::CleanPredictions`]), against which clean AP is 1 by
//! construction, so rPC is not reported (it would equal mPC), or a reference model's
//! ([`DetectionGroundTruth::ReferencePredictions`]). AP is hotcoco's COCOeval
//! (`aite_task::coco_bbox_json`), the one implementation the accuracy suite uses too.

use super::{corrupt, sample_seed, CorruptionKind, ParameterTable, Placement, SweepOptions};
use super::{image_to_rgb8, rgb8_to_image, Interval, IntervalMethod};
use crate::RobustnessError;
use aite_data::PreprocessSpec;
use aite_target::{Cancel, Target};
use aite_task::{CocoDetection, Postprocess, TaskOutput};
use image::RgbImage;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Bootstrap resamples of mPC and rPC.
pub const DETECTION_BOOTSTRAP_RESAMPLES: usize = 200;

/// An unlabeled (or separately labelled) frame in 8-bit RGB.
#[derive(Debug, Clone)]
pub struct DetectionFrame {
    pub id: String,
    pub image: RgbImage,
}

/// One ground-truth box in pixels of its frame, COCO `[x, y, w, h]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroundTruthBox {
    pub category_id: u64,
    pub bbox: [f64; 4],
    #[serde(default)]
    pub iscrowd: bool,
}

/// What the detections are scored against.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectionGroundTruth {
    /// Labelled boxes per frame (same order as the frames), from `source`.
    Labels { source: String, boxes: Vec<Vec<GroundTruthBox>> },
    /// The model's detections on the clean frames (pseudo ground truth).
    CleanPredictions,
    /// A reference model's detections on the clean frames ([`clean_detections`]), e.g. fp32
    /// for an int8 deployment (pseudo ground truth); `reference` names it.
    ReferencePredictions { reference: String, detections: Vec<Vec<CocoDetection>> },
}

/// What the AP figures are measured against, as the evidence records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GroundTruthKind {
    Labels { source: String },
    /// "AP vs clean predictions": clean AP is 1 by construction.
    CleanPredictions,
    /// "AP vs reference predictions": the reference model's clean detections.
    ReferencePredictions { reference: String },
}

impl GroundTruthKind {
    /// How the AP column is headed in reports.
    pub fn ap_name(&self) -> &'static str {
        match self {
            GroundTruthKind::Labels { .. } => "AP",
            GroundTruthKind::CleanPredictions => "AP vs clean predictions",
            GroundTruthKind::ReferencePredictions { .. } => "AP vs reference predictions",
        }
    }
}

/// COCO AP in one (corruption, severity) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionCell {
    pub corruption: CorruptionKind,
    pub severity: u8,
    pub placement: Placement,
    /// AP@[.5:.95], all areas, 100 detections.
    pub ap: f64,
    pub ap50: f64,
    /// Detections over all frames (after NMS).
    pub detections: usize,
}

/// Why rPC is not reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RpcStatus {
    Reported,
    /// Against the clean predictions, clean AP is 1 by construction and rPC = mPC.
    CleanApIsOneByConstruction,
    CleanApIsZero,
}

/// Whether mPC and rPC are Michaelis et al.'s: the 15 ImageNet-C corruptions at severities
/// 1-5, scored against labels. Otherwise the figures are partial (named so) and the
/// assessment does not judge them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum DetectionProtocol {
    Michaelis,
    Partial { reasons: Vec<DetectionProtocolUnmet> },
}

impl Default for DetectionProtocol {
    fn default() -> Self {
        DetectionProtocol::Partial { reasons: vec![DetectionProtocolUnmet::NotRecorded] }
    }
}

/// A condition of Michaelis et al.'s protocol that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "condition", rename_all = "snake_case")]
pub enum DetectionProtocolUnmet {
    /// Scored against predictions (the model's own or a reference model's), not labels.
    NotAgainstLabels,
    /// These ImageNet-C corruptions were not run at all five severities.
    Incomplete { corruptions: Vec<CorruptionKind> },
    /// Written by a version that did not record the conditions.
    NotRecorded,
}

/// The protocol conditions of a sweep over `cells` against `kind`.
fn detection_protocol(kind: &GroundTruthKind, cells: &[(CorruptionKind, u8)]) -> DetectionProtocol {
    let mut reasons = vec![];
    if !matches!(kind, GroundTruthKind::Labels { .. }) {
        reasons.push(DetectionProtocolUnmet::NotAgainstLabels);
    }
    let missing: Vec<CorruptionKind> = CorruptionKind::IMAGENET_C.iter().copied().filter(|k| !(1..=5).all(|s| cells.contains(&(*k, s)))).collect();
    if !missing.is_empty() {
        reasons.push(DetectionProtocolUnmet::Incomplete { corruptions: missing });
    }
    if reasons.is_empty() {
        DetectionProtocol::Michaelis
    } else {
        DetectionProtocol::Partial { reasons }
    }
}

/// The detections of one cell (`None`: the clean frames), per frame.
pub type CellDetections = (Option<(CorruptionKind, u8)>, Vec<Vec<CocoDetection>>);

/// The detector sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionSweepReport {
    pub ground_truth: GroundTruthKind,
    /// The name of the AP figures ("AP" or "AP vs clean predictions").
    pub ap_name: String,
    pub samples: usize,
    pub ground_truth_boxes: usize,
    pub clean_ap: f64,
    pub clean_ap50: f64,
    pub cells: Vec<DetectionCell>,
    /// Mean AP over the cells; Michaelis et al.'s mPC only when `protocol` says so.
    pub mpc: Interval,
    pub mpc50: Interval,
    /// mPC / clean AP, when meaningful ([`RpcStatus`]).
    pub rpc: Option<Interval>,
    pub rpc_status: RpcStatus,
    /// Whether `mpc` and `rpc` follow the published protocol.
    #[serde(default)]
    pub protocol: DetectionProtocol,
    pub interval: IntervalMethod,
    /// Resamples left out because they drew no ground-truth box.
    pub resamples_without_ground_truth: usize,
    pub interrupted: bool,
    /// Frames of the sweep this report does not cover (another shard's, or not reached).
    #[serde(default)]
    pub missing_samples: usize,
    /// `(index, count)` of an image shard (`--shard`): frame `i` is in it when `i % count == index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<(usize, usize)>,
    /// A shard's per-frame detections, which `aite merge` scores together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<FrameDetections>,
    /// Every detection scored (clean, then each cell), for the raw evidence file
    /// ([`DetectionSweepReport::detections_csv`]); not part of results.json.
    #[serde(skip)]
    pub raw: Vec<CellDetections>,
    /// Frame ids, in the order of `raw`'s per-frame lists.
    #[serde(skip)]
    pub frame_ids: Vec<String>,
}

impl DetectionSweepReport {
    /// `corruption,severity,frame,category_id,x,y,w,h,score` per detection (clean rows have
    /// corruption `clean`, severity 0), boxes in pixels of the frame.
    pub fn detections_csv(&self) -> Vec<u8> {
        let mut s = String::from("corruption,severity,frame,category_id,x,y,w,h,score\n");
        for (cell, frames) in &self.raw {
            let (name, sev) = cell.map(|(k, s)| (k.name(), s)).unwrap_or(("clean", 0));
            for (id, dets) in self.frame_ids.iter().zip(frames) {
                let id = if id.contains([',', '"']) { format!("\"{}\"", id.replace('"', "\"\"")) } else { id.clone() };
                for d in dets {
                    s.push_str(&format!("{name},{sev},{id},{},{},{},{},{},{}\n", d.category_id, d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3], d.score));
                }
            }
        }
        s.into_bytes()
    }
}

fn unsupported(reason: String) -> RobustnessError {
    RobustnessError::Unsupported { check: "corruptions", reason, hint: "check the task spec (--task) against the model's outputs".into() }
}

/// Detections of one frame in its pixels: `input` is the model input the frame was resized
/// to, which boxes in input pixels are scaled back from ([`aite_accuracy::to_frame_pixels`]).
fn detect(target: &mut dyn Target, post: &Postprocess, tensor: aite_target::Tensor, input: &RgbImage, frame: &RgbImage) -> Result<Vec<CocoDetection>, RobustnessError> {
    let out = target.infer(&[tensor])?;
    let coordinates = match post.spec() {
        aite_task::TaskSpec::Detector(d) => d.coordinates,
        _ => return Err(unsupported("the corruption sweep on detections needs a detector task".into())),
    };
    match post.apply(&out).map_err(|e| unsupported(e.to_string()))? {
        TaskOutput::Detections(d) => Ok(aite_accuracy::to_frame_pixels(&d, coordinates, input.dimensions(), frame.dimensions(), 0)),
        _ => Err(unsupported("the task produced no detections".into())),
    }
}

/// Boxes map back to the labelled frame only when the preprocessing resizes the whole frame.
fn refuse_crop(spec: &PreprocessSpec) -> Result<(), RobustnessError> {
    if spec.crop.is_some() || spec.crop_fraction.is_some() {
        return Err(RobustnessError::Unsupported {
            check: "corruptions",
            reason: "the preprocessing crops the frame, so the detector's boxes cannot be mapped back to the frame".into(),
            hint: "use a preprocessing that resizes the whole frame (resize = \"WxH\", no crop or crop_fraction), as `aite accuracy` requires".into(),
        });
    }
    Ok(())
}

/// A target's detections on the clean frames, in pixels of each frame: the pseudo ground
/// truth [`DetectionGroundTruth::ReferencePredictions`] takes.
pub fn clean_detections(target: &mut dyn Target, spec: &PreprocessSpec, post: &Postprocess, frames: &[DetectionFrame]) -> Result<Vec<Vec<CocoDetection>>, RobustnessError> {
    frames
        .iter()
        .map(|f| {
            let at_input = image_to_rgb8(&spec.geometry(&rgb8_to_image(&f.image, spec.color))?, spec.color);
            detect(target, post, spec.normalise(&rgb8_to_image(&at_input, spec.color)), &at_input, &f.image)
        })
        .collect()
}

/// (AP, AP50) of `dets` against `gt` over the frames `draw` (with repeats: each draw is its own image).
/// `None` when the drawn frames hold no ground-truth box.
fn evaluate(gt: &[Vec<GroundTruthBox>], dets: &[Vec<CocoDetection>], draw: &[usize]) -> Result<Option<(f64, f64)>, RobustnessError> {
    let mut images = vec![];
    let mut annotations = vec![];
    let mut results = vec![];
    let mut categories = std::collections::BTreeSet::new();
    for (k, &i) in draw.iter().enumerate() {
        let image_id = k as u64 + 1;
        images.push(serde_json::json!({"id": image_id, "width": 1, "height": 1}));
        for b in &gt[i] {
            categories.insert(b.category_id);
            annotations.push(serde_json::json!({"id": annotations.len() + 1, "image_id": image_id, "category_id": b.category_id, "bbox": b.bbox, "area": b.bbox[2] * b.bbox[3], "iscrowd": b.iscrowd as u8}));
        }
        for d in &dets[i] {
            categories.insert(d.category_id);
            results.push(CocoDetection { image_id, ..*d });
        }
    }
    if annotations.is_empty() {
        return Ok(None);
    }
    if results.is_empty() {
        return Ok(Some((0.0, 0.0)));
    }
    let cats: Vec<_> = categories.iter().map(|c| serde_json::json!({"id": c, "name": c.to_string()})).collect();
    let json = serde_json::json!({"images": images, "annotations": annotations, "categories": cats});
    let s = aite_task::coco_bbox_json(json, Path::new("ground truth of the corruption sweep"), &results).map_err(|e| unsupported(e.to_string()))?;
    Ok(Some((s.ap, s.ap50)))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// One frame's detections in the sweep: clean, then one list per cell (in the order of
/// [`SweepOptions::all_cells`]). The unit of checkpoints and of image shards: `aite merge`
/// recomputes AP from these, never averages shards' APs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameDetections {
    /// Position of the frame in the whole sweep.
    pub index: usize,
    pub id: String,
    pub clean: Vec<CocoDetection>,
    pub cells: Vec<Vec<CocoDetection>>,
    /// The frame's ground truth, unless it is the clean predictions themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_truth: Option<Vec<GroundTruthBox>>,
}

/// The ground truth of every frame and its name, checked against the number of frames.
fn frame_ground_truth(ground_truth: &DetectionGroundTruth, frames: usize) -> Result<(Option<Vec<Vec<GroundTruthBox>>>, GroundTruthKind), RobustnessError> {
    let as_boxes = |dets: &[Vec<CocoDetection>]| -> Vec<Vec<GroundTruthBox>> { dets.iter().map(|d| d.iter().map(|d| GroundTruthBox { category_id: d.category_id, bbox: d.bbox, iscrowd: false }).collect()).collect() };
    Ok(match ground_truth {
        DetectionGroundTruth::Labels { source, boxes } => {
            if boxes.len() != frames {
                return Err(unsupported(format!("{source} labels {} frames, the sweep has {frames}", boxes.len())));
            }
            (Some(boxes.clone()), GroundTruthKind::Labels { source: source.clone() })
        }
        DetectionGroundTruth::CleanPredictions => (None, GroundTruthKind::CleanPredictions),
        DetectionGroundTruth::ReferencePredictions { reference, detections } => {
            if detections.len() != frames {
                return Err(unsupported(format!("the reference {reference} has predictions for {} frames, the sweep has {frames}", detections.len())));
            }
            (Some(as_boxes(detections)), GroundTruthKind::ReferencePredictions { reference: reference.clone() })
        }
    })
}

/// Detect on the clean and corrupted versions of the frames of `options.shard` (frame `i` when
/// `i % count == index`), skipping those in `done`; `on_frame` sees each new frame (checkpoint).
/// Returns the frames of the shard in order, and whether the run was cancelled.
#[allow(clippy::too_many_arguments)]
pub fn detect_frames(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    post: &Postprocess,
    frames: &[DetectionFrame],
    options: &SweepOptions,
    ground_truth: &DetectionGroundTruth,
    done: Vec<FrameDetections>,
    cancel: &Cancel,
    on_frame: &mut dyn FnMut(&FrameDetections),
) -> Result<(Vec<FrameDetections>, bool), RobustnessError> {
    options.validate()?;
    if matches!(ground_truth, DetectionGroundTruth::Labels { .. }) {
        refuse_crop(spec)?;
    }
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "corruptions" });
    }
    let (gt, _) = frame_ground_truth(ground_truth, frames.len())?;
    let cells = options.all_cells();
    let mut done: std::collections::BTreeMap<usize, FrameDetections> = done.into_iter().filter(|f| f.cells.len() == cells.len() && frames.get(f.index).is_some_and(|fr| fr.id == f.id)).map(|f| (f.index, f)).collect();
    let mut out = vec![];
    for (i, f) in frames.iter().enumerate().filter(|(i, _)| crate::in_shard(*i, options.shard)) {
        if let Some(d) = done.remove(&i) {
            out.push(d);
            continue;
        }
        if cancel.is_cancelled() {
            return Ok((out, true));
        }
        let at_input = image_to_rgb8(&spec.geometry(&rgb8_to_image(&f.image, spec.color))?, spec.color);
        let clean = detect(target, post, spec.normalise(&rgb8_to_image(&at_input, spec.color)), &at_input, &f.image)?;
        let mut per_cell = vec![];
        for &(kind_c, severity) in &cells {
            if cancel.is_cancelled() {
                return Ok((out, true));
            }
            let placement = options.corrupt_at.placement(kind_c);
            let img = match placement {
                Placement::Input => &at_input,
                Placement::Frame => &f.image,
            };
            let table = options.table.unwrap_or_else(|| ParameterTable::for_size(img.width() as usize, img.height() as usize));
            let corrupted = rgb8_to_image(&corrupt(img, kind_c, severity, table, sample_seed(options.seed, kind_c, severity, i)), spec.color);
            let tensor = match placement {
                Placement::Input => spec.normalise(&corrupted),
                Placement::Frame => spec.to_tensor(&corrupted)?,
            };
            per_cell.push(detect(target, post, tensor, &at_input, &f.image)?);
        }
        let record = FrameDetections { index: i, id: f.id.clone(), clean, cells: per_cell, ground_truth: gt.as_ref().map(|g| g[i].clone()) };
        on_frame(&record);
        out.push(record);
    }
    Ok((out, false))
}

/// Score detected frames: AP per cell over `frames`, mPC, rPC, bootstrap over the frames.
/// `total` is the number of frames of the whole sweep (more than `frames.len()` for one shard).
/// `cells` are the sweep's cells in order with their placements; `shard` is recorded, and
/// with it the frames' detections, for `aite merge`.
#[allow(clippy::too_many_arguments)]
pub fn score_frames(
    frames: &[FrameDetections],
    kind: GroundTruthKind,
    cells: &[(CorruptionKind, u8, Placement)],
    seed: u64,
    resamples: usize,
    total: usize,
    interrupted: bool,
    shard: Option<(usize, usize)>,
) -> Result<DetectionSweepReport, RobustnessError> {
    let keys: Vec<(CorruptionKind, u8)> = cells.iter().map(|c| (c.0, c.1)).collect();
    let placements: Vec<Placement> = cells.iter().map(|c| c.2).collect();
    let gt: Vec<Vec<GroundTruthBox>> = frames
        .iter()
        .map(|f| match &f.ground_truth {
            Some(g) => g.clone(),
            None => f.clean.iter().map(|d| GroundTruthBox { category_id: d.category_id, bbox: d.bbox, iscrowd: false }).collect(),
        })
        .collect();
    let clean: Vec<Vec<CocoDetection>> = frames.iter().map(|f| f.clean.clone()).collect();
    let all: Vec<usize> = (0..frames.len()).collect();
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "corruptions" });
    }
    let Some((clean_ap, clean_ap50)) = evaluate(&gt, &clean, &all)? else {
        return Err(unsupported(match kind {
            GroundTruthKind::CleanPredictions => "the model detects nothing on the clean frames, so there is no pseudo ground truth to measure corruptions against".into(),
            GroundTruthKind::Labels { source } => format!("{source} has no box on these frames"),
            GroundTruthKind::ReferencePredictions { reference } => format!("the reference {reference} detects nothing on the clean frames, so there is no pseudo ground truth"),
        }));
    };
    // Cells every frame has (a cancelled frame is not kept, so all frames have all cells).
    let cell_dets: Vec<Vec<Vec<CocoDetection>>> = (0..keys.len()).map(|c| frames.iter().map(|f| f.cells.get(c).cloned().unwrap_or_default()).collect()).collect();
    let mut cells = vec![];
    for (c, &(kind_c, severity)) in keys.iter().enumerate() {
        let dets = &cell_dets[c];
        let (ap, ap50) = evaluate(&gt, dets, &all)?.unwrap_or((0.0, 0.0));
        cells.push(DetectionCell { corruption: kind_c, severity, placement: placements[c], ap, ap50, detections: dets.iter().map(Vec::len).sum() });
    }
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    let mpc = mean(&cells.iter().map(|c| c.ap).collect::<Vec<_>>());
    let mpc50 = mean(&cells.iter().map(|c| c.ap50).collect::<Vec<_>>());
    let rpc_status = match kind {
        GroundTruthKind::CleanPredictions => RpcStatus::CleanApIsOneByConstruction,
        _ if clean_ap <= 0.0 => RpcStatus::CleanApIsZero,
        _ => RpcStatus::Reported,
    };
    // Percentile bootstrap over images: each resample recomputes clean AP and every cell's AP on the same draw.
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut b_mpc, mut b_mpc50, mut b_rpc, mut skipped) = (vec![], vec![], vec![], 0);
    for _ in 0..resamples {
        let draw: Vec<usize> = (0..frames.len()).map(|_| rng.gen_range(0..frames.len())).collect();
        let Some((c_ap, _)) = evaluate(&gt, &clean, &draw)? else {
            skipped += 1;
            continue;
        };
        let mut aps = vec![];
        let mut aps50 = vec![];
        for dets in &cell_dets {
            let (a, a50) = evaluate(&gt, dets, &draw)?.unwrap_or((0.0, 0.0));
            aps.push(a);
            aps50.push(a50);
        }
        let m = mean(&aps);
        b_mpc.push(m);
        b_mpc50.push(mean(&aps50));
        if c_ap > 0.0 {
            b_rpc.push(m / c_ap);
        }
    }
    let interval = |value: f64, mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        Interval { value, ci95_low: percentile(&v, 0.025), ci95_high: percentile(&v, 0.975) }
    };
    let rpc = (rpc_status == RpcStatus::Reported).then(|| interval(mpc / clean_ap, b_rpc));
    let protocol = detection_protocol(&kind, &keys);
    Ok(DetectionSweepReport {
        ap_name: kind.ap_name().into(),
        ground_truth: kind,
        samples: frames.len(),
        missing_samples: total.saturating_sub(frames.len()),
        shard,
        ground_truth_boxes: gt.iter().map(Vec::len).sum(),
        clean_ap,
        clean_ap50,
        cells,
        mpc: interval(mpc, b_mpc),
        mpc50: interval(mpc50, b_mpc50),
        rpc,
        rpc_status,
        protocol,
        interval: IntervalMethod::BootstrapOverImages { resamples, seed },
        resamples_without_ground_truth: skipped,
        interrupted,
        raw: std::iter::once((None, clean)).chain(keys.iter().map(|k| Some(*k)).zip(cell_dets)).collect(),
        frame_ids: frames.iter().map(|f| f.id.clone()).collect(),
        frames: if shard.is_some() { frames.to_vec() } else { vec![] },
    })
}

/// Run every cell of `options` on the frames of its shard and compute mPC / rPC.
#[allow(clippy::too_many_arguments)]
pub fn detection_sweep(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    post: &Postprocess,
    frames: &[DetectionFrame],
    options: &SweepOptions,
    ground_truth: &DetectionGroundTruth,
    resamples: usize,
    cancel: &Cancel,
) -> Result<DetectionSweepReport, RobustnessError> {
    let (_, kind) = frame_ground_truth(ground_truth, frames.len())?;
    let (done, interrupted) = detect_frames(target, spec, post, frames, options, ground_truth, vec![], cancel, &mut |_| {})?;
    score_frames(&done, kind, &sweep_cells(options), options.seed, resamples, frames.len(), interrupted, (options.shard.1 > 1).then_some(options.shard))
}

/// Every cell of `options` with its placement, in sweep order (all cells: a detector sweep
/// shards images, not cells).
pub fn sweep_cells(options: &SweepOptions) -> Vec<(CorruptionKind, u8, Placement)> {
    options.all_cells().into_iter().map(|(k, s)| (k, s, options.corrupt_at.placement(k))).collect()
}

/// Merge the image shards of one detector sweep: the frames' detections are unioned (each
/// frame once) and every AP, mPC, rPC and interval recomputed from them, as one run over all
/// frames would; a frame no shard has is counted in `missing_samples`.
pub fn merge_detection_reports(reports: &[DetectionSweepReport]) -> Result<DetectionSweepReport, RobustnessError> {
    let first = reports.first().ok_or(RobustnessError::NoSamples { check: "corruptions" })?;
    let refuse = |reason: String| RobustnessError::Unsupported { check: "merge", reason, hint: "merge only the shards of one detector sweep: the same command line except --shard".into() };
    let total = first.samples + first.missing_samples;
    let IntervalMethod::BootstrapOverImages { resamples, seed } = first.interval;
    let mut frames: std::collections::BTreeMap<usize, FrameDetections> = Default::default();
    for r in reports {
        if r.ground_truth != first.ground_truth || r.interval != first.interval || r.samples + r.missing_samples != total {
            return Err(refuse("the shards differ in ground truth, bootstrap or number of frames".into()));
        }
        if r.cells.iter().map(|c| (c.corruption, c.severity, c.placement)).ne(first.cells.iter().map(|c| (c.corruption, c.severity, c.placement))) {
            return Err(refuse("the shards ran different corruption cells".into()));
        }
        if r.frames.len() != r.samples {
            return Err(refuse("a report holds no per-frame detections (run with --shard I/N to make mergeable shards)".into()));
        }
        for f in &r.frames {
            match frames.get(&f.index) {
                Some(g) if g != f => return Err(refuse(format!("frame {} ({}) was measured differently by two shards", f.index, f.id))),
                _ => {
                    frames.insert(f.index, f.clone());
                }
            }
        }
    }
    let cells: Vec<(CorruptionKind, u8, Placement)> = first.cells.iter().map(|c| (c.corruption, c.severity, c.placement)).collect();
    let frames: Vec<FrameDetections> = frames.into_values().collect();
    let interrupted = reports.iter().any(|r| r.interrupted);
    let merged = score_frames(&frames, first.ground_truth.clone(), &cells, seed, resamples, total, interrupted, None)?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corruption::CorruptAt;
    use aite_target::{DType, Dim, Tensor, TargetError, TargetInfo, TensorSpec};
    use aite_task::TaskSpec;

    /// A face detector in UltraFace's decoded layout that finds one box, shifted right by
    /// 0.08 of the width when the frame's mean brightness moved from the clean value.
    struct ShiftingDetector(TargetInfo, f32);

    impl Target for ShiftingDetector {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let v = inputs[0].to_f32_vec();
            let m = v.iter().sum::<f32>() / v.len() as f32;
            let d = if (m - self.1).abs() > 0.02 { 0.08 } else { 0.0 };
            Ok(vec![Tensor::f32(vec![1, 1, 2], vec![0.1, 0.9])?, Tensor::f32(vec![1, 1, 4], vec![0.2 + d, 0.2, 0.6 + d, 0.6])?])
        }
    }

    fn detector() -> ShiftingDetector {
        let spec = |name: &str, shape: Vec<usize>| TensorSpec { name: name.into(), shape: shape.into_iter().map(Dim::Fixed).collect(), dtype: DType::F32 };
        let info = TargetInfo {
            name: "shifting".into(),
            engine: "test".into(),
            engine_version: "0".into(),
            threads: 1,
            inputs: vec![spec("x", vec![1, 100, 100, 3])],
            outputs: vec![spec("scores", vec![1, 1, 2]), spec("boxes", vec![1, 1, 4])],
        };
        ShiftingDetector(info, 100.0 / 255.0)
    }

    fn frames() -> Vec<DetectionFrame> {
        (0..3).map(|i| DetectionFrame { id: format!("f{i}"), image: RgbImage::from_pixel(100, 100, image::Rgb([100, 100, 100])) }).collect()
    }

    fn options() -> SweepOptions {
        SweepOptions { kinds: vec![CorruptionKind::Brightness], severities: vec![3], table: Some(ParameterTable::ImagenetC), seed: 5, shard: (0, 1), alexnet: false, output_index: 0, corrupt_at: CorruptAt::Auto, imagenet_c_jpeg: crate::corruption::ImagenetCJpeg::Auto, dataset: Default::default() }
    }

    /// Hand-computed: the clean box [20,20,60,60] px equals the ground truth (AP 1); under
    /// brightness it moves to [28,20,68,60]: IoU 1280/1920 = 0.667, a match at the IoU
    /// thresholds 0.50, 0.55, 0.60, 0.65 and a miss at the other six: AP 4/10 = 0.4, AP50 1.
    #[test]
    fn toy_detector_ap_mpc_rpc_by_hand() {
        let spec = PreprocessSpec::parse_cli("layout=nhwc,scale=0.00392156862745098").unwrap();
        let post = Postprocess::new(TaskSpec::preset("ultraface-slim320").unwrap());
        let labels = DetectionGroundTruth::Labels { source: "hand.json".into(), boxes: vec![vec![GroundTruthBox { category_id: 1, bbox: [20.0, 20.0, 40.0, 40.0], iscrowd: false }]; 3] };
        let r = detection_sweep(&mut detector(), &spec, &post, &frames(), &options(), &labels, 50, &Cancel::new()).unwrap();
        assert!((r.clean_ap - 1.0).abs() < 1e-9, "{}", r.clean_ap);
        assert_eq!(r.cells.len(), 1);
        assert!((r.cells[0].ap - 0.4).abs() < 1e-9 && (r.cells[0].ap50 - 1.0).abs() < 1e-9, "{:?}", r.cells[0]);
        assert!((r.mpc.value - 0.4).abs() < 1e-9);
        let rpc = r.rpc.unwrap();
        assert!((rpc.value - 0.4).abs() < 1e-9 && rpc.ci95_low <= 0.4 && rpc.ci95_high >= 0.4);
        assert_eq!(r.ap_name, "AP");
        // Without labels: the clean predictions are the pseudo ground truth, named so; rPC is not reported.
        let r = detection_sweep(&mut detector(), &spec, &post, &frames(), &options(), &DetectionGroundTruth::CleanPredictions, 50, &Cancel::new()).unwrap();
        assert_eq!(r.ap_name, "AP vs clean predictions");
        assert_eq!(r.ground_truth, GroundTruthKind::CleanPredictions);
        assert!((r.clean_ap - 1.0).abs() < 1e-9 && (r.mpc.value - 0.4).abs() < 1e-9);
        assert_eq!((r.rpc, &r.rpc_status), (None, &RpcStatus::CleanApIsOneByConstruction));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["ground_truth"]["kind"], "clean-predictions");
        // Against a reference that always sees the box 0.08 to the right: clean AP 0.4 (the
        // deployed clean box is the shifted one's IoU 0.667), corrupted AP 1 (they coincide),
        // so rPC = 1 / 0.4 = 2.5.
        let mut reference = detector();
        reference.1 = -1.0;
        let detections = clean_detections(&mut reference, &spec, &post, &frames()).unwrap();
        let gt = DetectionGroundTruth::ReferencePredictions { reference: "shifted".into(), detections };
        let r = detection_sweep(&mut detector(), &spec, &post, &frames(), &options(), &gt, 50, &Cancel::new()).unwrap();
        assert_eq!(r.ap_name, "AP vs reference predictions");
        assert!((r.clean_ap - 0.4).abs() < 1e-9 && (r.mpc.value - 1.0).abs() < 1e-9, "{} {}", r.clean_ap, r.mpc.value);
        assert!((r.rpc.unwrap().value - 2.5).abs() < 1e-9 && r.rpc_status == RpcStatus::Reported);
    }

    /// Review finding 3b: mPC/rPC are Michaelis et al.'s only on the 15 ImageNet-C corruptions
    /// x 5 severities against labels; the toy sweep (one cell) and predictions are partial.
    #[test]
    fn michaelis_protocol_needs_fifteen_by_five_against_labels() {
        let labels = GroundTruthKind::Labels { source: "l.json".into() };
        let full: Vec<(CorruptionKind, u8)> = CorruptionKind::IMAGENET_C.iter().flat_map(|&k| (1..=5).map(move |s| (k, s))).collect();
        assert_eq!(detection_protocol(&labels, &full), DetectionProtocol::Michaelis);
        let reference = GroundTruthKind::ReferencePredictions { reference: "fp32".into() };
        assert_eq!(detection_protocol(&reference, &full), DetectionProtocol::Partial { reasons: vec![DetectionProtocolUnmet::NotAgainstLabels] });
        let no_sev5: Vec<_> = full.iter().copied().filter(|&(k, s)| !(k == CorruptionKind::Fog && s == 5)).collect();
        assert_eq!(detection_protocol(&labels, &no_sev5), DetectionProtocol::Partial { reasons: vec![DetectionProtocolUnmet::Incomplete { corruptions: vec![CorruptionKind::Fog] }] });
        let spec = PreprocessSpec::parse_cli("layout=nhwc,scale=0.00392156862745098").unwrap();
        let post = Postprocess::new(TaskSpec::preset("ultraface-slim320").unwrap());
        let labels = DetectionGroundTruth::Labels { source: "hand.json".into(), boxes: vec![vec![GroundTruthBox { category_id: 1, bbox: [20.0, 20.0, 40.0, 40.0], iscrowd: false }]; 3] };
        let r = detection_sweep(&mut detector(), &spec, &post, &frames(), &options(), &labels, 10, &Cancel::new()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap()["protocol"]["status"], "partial");
    }

    /// A reference-detector layout ([1, 1, 4 + 1], centre-size in input pixels) that always
    /// sees one box centred at (40, 40), 40 px wide, in its 100x100 input.
    struct PixelDetector(TargetInfo);

    impl Target for PixelDetector {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, _: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            Ok(vec![Tensor::f32(vec![1, 1, 5], vec![40.0, 40.0, 40.0, 40.0, 0.9])?])
        }
    }

    /// Regression (review finding 1): boxes in model-input pixels are scaled back to the frame.
    /// Hand-computed: the input box [20, 20, 60, 60] on a 100x100 input is [40, 40, 120, 120]
    /// on a 200x200 frame, COCO [40, 40, 80, 80], the label: AP 1. Unscaled it would be
    /// [20, 20, 40, 40], IoU 1600/6400 = 0.25 with the label: AP 0. A crop is refused.
    #[test]
    fn input_pixel_boxes_are_mapped_to_frame_pixels() {
        let spec_of = |name: &str, shape: Vec<usize>| TensorSpec { name: name.into(), shape: shape.into_iter().map(Dim::Fixed).collect(), dtype: DType::F32 };
        let info = TargetInfo { name: "pixels".into(), engine: "test".into(), engine_version: "0".into(), threads: 1, inputs: vec![spec_of("x", vec![1, 100, 100, 3])], outputs: vec![spec_of("y", vec![1, 1, 5])] };
        let spec = PreprocessSpec::parse_cli("layout=nhwc,resize=100x100,scale=0.00392156862745098").unwrap();
        let post = Postprocess::new(TaskSpec::parse_cli("reference-detector,classes=1").unwrap());
        let frames: Vec<DetectionFrame> = (0..2).map(|i| DetectionFrame { id: format!("f{i}"), image: RgbImage::from_pixel(200, 200, image::Rgb([100, 100, 100])) }).collect();
        let labels = DetectionGroundTruth::Labels { source: "hand.json".into(), boxes: vec![vec![GroundTruthBox { category_id: 0, bbox: [40.0, 40.0, 80.0, 80.0], iscrowd: false }]; 2] };
        let r = detection_sweep(&mut PixelDetector(info.clone()), &spec, &post, &frames, &options(), &labels, 20, &Cancel::new()).unwrap();
        assert!((r.clean_ap - 1.0).abs() < 1e-9 && (r.cells[0].ap - 1.0).abs() < 1e-9, "clean AP {}, cell {:?}", r.clean_ap, r.cells[0]);
        let reference = clean_detections(&mut PixelDetector(info.clone()), &spec, &post, &frames).unwrap();
        assert!(reference[0][0].bbox.iter().zip([40.0, 40.0, 80.0, 80.0]).all(|(a, b)| (a - b).abs() < 1e-4), "{:?}", reference[0][0].bbox);
        let crop = PreprocessSpec::parse_cli("layout=nhwc,resize=120x120,crop=100x100,scale=0.00392156862745098").unwrap();
        let err = detection_sweep(&mut PixelDetector(info), &crop, &post, &frames, &options(), &labels, 20, &Cancel::new()).unwrap_err().to_string();
        assert!(err.contains("crops the frame"), "{err}");
    }

    /// Image shards merged give the single run's report, field for field (AP recomputed from
    /// the union of the frames' detections; averaging the shards' APs would not: shard 0 has
    /// frames 0 and 2, shard 1 frame 1 only, so the shards weigh differently); a missing shard
    /// is counted, and a resumed run skips the frames already done.
    #[test]
    fn image_shards_merge_to_the_single_run() {
        let spec = PreprocessSpec::parse_cli("layout=nhwc,scale=0.00392156862745098").unwrap();
        let post = Postprocess::new(TaskSpec::preset("ultraface-slim320").unwrap());
        // Frame 1 is labelled with two boxes, so per-shard APs differ from the whole.
        let b = |x: f64| GroundTruthBox { category_id: 1, bbox: [x, 20.0, 40.0, 40.0], iscrowd: false };
        let labels = DetectionGroundTruth::Labels { source: "hand.json".into(), boxes: vec![vec![b(20.0)], vec![b(20.0), b(60.0)], vec![b(28.0)]] };
        let mut opts = options();
        opts.kinds = vec![CorruptionKind::Brightness, CorruptionKind::Contrast];
        let whole = detection_sweep(&mut detector(), &spec, &post, &frames(), &opts, &labels, 50, &Cancel::new()).unwrap();
        let shard = |i| {
            let mut o = opts.clone();
            o.shard = (i, 2);
            detection_sweep(&mut detector(), &spec, &post, &frames(), &o, &labels, 50, &Cancel::new()).unwrap()
        };
        let (a, b) = (shard(0), shard(1));
        assert_eq!((a.samples, a.missing_samples, b.samples, b.missing_samples), (2, 1, 1, 2));
        assert_eq!(a.frames.iter().map(|f| f.index).collect::<Vec<_>>(), vec![0, 2]);
        let mean_of_shards = (a.cells[0].ap + b.cells[0].ap) / 2.0;
        assert!((mean_of_shards - whole.cells[0].ap).abs() > 1e-3, "the averaged shards would pass too: {mean_of_shards} vs {}", whole.cells[0].ap);
        let merged = merge_detection_reports(&[b.clone(), a.clone()]).unwrap();
        assert_eq!(serde_json::to_value(&merged).unwrap(), serde_json::to_value(&whole).unwrap());
        assert_eq!(merged.detections_csv(), whole.detections_csv());
        let partial = merge_detection_reports(&[a.clone()]).unwrap();
        assert_eq!(partial.missing_samples, 1);
        // Resume: frames already done are taken as they are, not detected again.
        let mut counting = detector();
        let (done, _) = detect_frames(&mut counting, &spec, &post, &frames()[..], &opts, &labels, a.frames.clone(), &Cancel::new(), &mut |f| assert_eq!(f.index, 1, "frame {} detected again", f.index)).unwrap();
        let r = score_frames(&done, whole.ground_truth.clone(), &sweep_cells(&opts), opts.seed, 50, 3, false, None).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), serde_json::to_value(&whole).unwrap());
    }
}
