//! Detection accuracy: a detector's boxes on labelled frames scored with COCO's protocol
//! (AP@[.5:.95], AP50, AP75, AR, per class, recall at fixed false positives per image) by
//! `aite_task::coco_bbox_report` (hotcoco, pycocotools-compatible), every detection kept.

use aite_data::{Image, PreprocessSpec};
use aite_target::{Cancel, Target};
use aite_task::{coco_bbox_report, ClassAp, CocoDetection, CocoStats, Coordinates, DetectionLabels, LabelFormat, Postprocess, RecallAtFppi, TaskOutput, TaskSpec, DEFAULT_FPPI};
use serde::{Deserialize, Serialize};

/// Why a detection accuracy run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DetectionAccuracyError {
    #[error("{0}")]
    Task(#[from] aite_task::TaskError),
    #[error(transparent)]
    Target(#[from] aite_target::TargetError),
    #[error(transparent)]
    Data(#[from] aite_data::DataError),
    #[error("detection accuracy: {reason}\n  hint: {hint}")]
    Unsupported { reason: String, hint: String },
}

/// One frame to score: its dataset id and decoded image.
pub struct DetectionSample<'a> {
    pub id: &'a str,
    pub image: &'a Image,
}

/// COCO bbox accuracy of a detector against labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionAccuracyReport {
    /// The target's name (the model file).
    pub model: String,
    /// The labels file (COCO JSON) or folder (YOLO txt).
    pub labels: String,
    pub format: LabelFormat,
    /// Frames evaluated (each matched to its labelled image).
    pub images: usize,
    /// Labelled images that are not among the frames evaluated (e.g. under `--limit`).
    pub labelled_images_not_evaluated: usize,
    /// Ground-truth boxes that count (not crowd regions).
    pub ground_truth_boxes: usize,
    /// Crowd regions: detections inside them are neither hits nor false positives.
    pub crowd_regions: usize,
    pub detections: usize,
    /// COCO AP@[.5:.95] (all areas, 100 detections) and AP50: `stats.ap` and `stats.ap50`,
    /// where the assessment reads them (`suites.detection_accuracy.ap`).
    pub ap: f64,
    pub ap50: f64,
    /// The twelve pycocotools numbers: `ap` is AP@[.5:.95], `ar100` is AR with 100 detections.
    pub stats: CocoStats,
    pub per_class: Vec<ClassAp>,
    pub recall_at_fppi: Vec<RecallAtFppi>,
    /// The evaluation engine and protocol.
    pub protocol: String,
    pub interrupted: bool,
    /// Frames of the dataset that could not be decoded (each with its file and reason), so not
    /// evaluated; `missing_samples` counts them and the assessment then judges nothing on AP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undecodable: Vec<String>,
    #[serde(default)]
    pub missing_samples: usize,
    /// Every detection in COCO result form (`image_id` of the labels), for the raw evidence
    /// file `detections.json`; not part of results.json.
    #[serde(skip)]
    pub raw: Vec<CocoDetection>,
}

impl DetectionAccuracyReport {
    /// Record the dataset's frames that could not be decoded (`file: reason` each): the AP
    /// covers the others only, which the report says (`missing_samples`).
    pub fn with_undecodable(mut self, undecodable: Vec<String>) -> Self {
        self.missing_samples = undecodable.len();
        self.undecodable = undecodable;
        self
    }
}

fn unsupported(reason: String, hint: &str) -> DetectionAccuracyError {
    DetectionAccuracyError::Unsupported { reason, hint: hint.into() }
}

/// A frame's detections in pixels of the frame. Normalised boxes scale by the frame; boxes
/// in model-input pixels scale by frame / input size. Either maps back only when the
/// preprocessing resizes the whole frame (no crop), which the caller checks.
pub fn frame_detections(target: &mut dyn Target, spec: &PreprocessSpec, post: &Postprocess, image: &Image, image_id: u64) -> Result<Vec<CocoDetection>, DetectionAccuracyError> {
    let TaskSpec::Detector(d) = post.spec() else {
        return Err(unsupported("the task is not a detector".into(), "give --task a detector preset, e.g. ultraface-slim320"));
    };
    let input = spec.geometry(image)?;
    let out = target.infer(&[spec.normalise(&input)])?;
    let TaskOutput::Detections(found) = post.apply(&out)? else {
        return Err(unsupported("the task produced no detections".into(), "check --task against the model's outputs"));
    };
    Ok(to_frame_pixels(&found, d.coordinates, (input.width as u32, input.height as u32), (image.width as u32, image.height as u32), image_id))
}

/// Detections of a model whose input was `input` (w, h) mapped to pixels of the `frame` (w, h)
/// it was resized from: normalised boxes scale by the frame, boxes in input pixels by frame /
/// input. Valid only when the preprocessing resizes the whole frame (no crop).
pub fn to_frame_pixels(found: &[aite_task::Detection], coordinates: Coordinates, input: (u32, u32), frame: (u32, u32), image_id: u64) -> Vec<CocoDetection> {
    let (w, h) = frame;
    found
        .iter()
        .map(|f| match coordinates {
            Coordinates::Normalised => CocoDetection::from_bbox(image_id, f.class as u64, &f.bbox, Coordinates::Normalised, w, h, f.score),
            Coordinates::Pixels => {
                let (sx, sy) = (input.0 as f32, input.1 as f32);
                let b = aite_task::BBox { x_min: f.bbox.x_min / sx, y_min: f.bbox.y_min / sy, x_max: f.bbox.x_max / sx, y_max: f.bbox.y_max / sy };
                CocoDetection::from_bbox(image_id, f.class as u64, &b, Coordinates::Normalised, w, h, f.score)
            }
        })
        .collect()
}

/// Run `target` on every sample, match it to its labelled image (by file name), and score
/// the detections with COCO's protocol. A sample without a labelled image, or whose size
/// differs from the labelled one, is an error naming it.
pub fn detection_accuracy(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    post: &Postprocess,
    samples: &[DetectionSample],
    labels: &DetectionLabels,
    cancel: &Cancel,
    progress: &mut dyn FnMut(usize),
) -> Result<DetectionAccuracyReport, DetectionAccuracyError> {
    if spec.crop.is_some() || spec.crop_fraction.is_some() {
        return Err(unsupported(
            "the preprocessing crops the frame, so the detector's boxes cannot be mapped back to the labelled frame".into(),
            "use a preprocessing that resizes the whole frame (resize = \"WxH\", no crop or crop_fraction)",
        ));
    }
    // The task's class names name the categories the labels leave unnamed (a label file's names win).
    let named;
    let labels = match post.spec() {
        TaskSpec::Detector(d) if d.class_names.is_some() => {
            named = labels.named_by(d.class_names.as_deref().unwrap_or_default(), d.background_class)?;
            &named
        }
        _ => labels,
    };
    let source = labels.source.display().to_string();
    let mut images = vec![];
    let mut raw = vec![];
    let mut interrupted = false;
    for (n, s) in samples.iter().enumerate() {
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let l = labels.image_for(s.id).ok_or_else(|| unsupported(format!("frame {} is not in {source}", s.id), "every frame evaluated needs its entry in the labels (COCO images[].file_name, or a YOLO <stem>.txt)"))?;
        if (l.width as usize, l.height as usize) != (s.image.width, s.image.height) {
            return Err(unsupported(
                format!("frame {} is {}x{} but {source} labels it {}x{}", s.id, s.image.width, s.image.height, l.width, l.height),
                "the labels' boxes are in pixels of the labelled image; label the frames as they are stored",
            ));
        }
        if images.iter().any(|i: &&aite_task::LabeledImage| i.id == l.id) {
            return Err(unsupported(format!("frames {} and another match the same labelled image {}", s.id, l.file_name), "give frames distinct file names"));
        }
        images.push(l);
        raw.extend(frame_detections(target, spec, post, s.image, l.id)?);
        progress(n + 1);
    }
    if images.is_empty() {
        return Err(unsupported("no frame was evaluated".into(), "pass --dataset with the labelled frames"));
    }
    let boxes = || images.iter().flat_map(|i| &i.boxes);
    let ground_truth_boxes = boxes().filter(|b| !b.iscrowd).count();
    if ground_truth_boxes == 0 {
        return Err(unsupported(format!("{source} has no box (other than crowd regions) on the frames evaluated"), "AP needs at least one labelled box"));
    }
    let (stats, per_class, recall_at_fppi) = if raw.is_empty() {
        // No detection at all: nothing is found, every AP, AR and recall is 0 (pycocotools refuses an empty result set).
        let zero = CocoStats { ap: 0.0, ap50: 0.0, ap75: 0.0, ap_small: 0.0, ap_medium: 0.0, ap_large: 0.0, ar1: 0.0, ar10: 0.0, ar100: 0.0, ar_small: 0.0, ar_medium: 0.0, ar_large: 0.0 };
        let per_class = labels
            .categories
            .iter()
            .map(|(id, name)| {
                let n = boxes().filter(|b| b.category_id == *id && !b.iscrowd).count();
                ClassAp { category_id: *id, name: name.clone(), ground_truth_boxes: n, ap: (n > 0).then_some(0.0), ap50: (n > 0).then_some(0.0), ap75: (n > 0).then_some(0.0), recall_at_fppi: DEFAULT_FPPI.iter().map(|&fppi| RecallAtFppi { fppi, recall: (n > 0).then_some(0.0), score_threshold: None }).collect() }
            })
            .collect();
        (zero, per_class, DEFAULT_FPPI.iter().map(|&fppi| RecallAtFppi { fppi, recall: Some(0.0), score_threshold: None }).collect())
    } else {
        let r = coco_bbox_report(labels.coco_json(&images), &labels.source, &raw, &DEFAULT_FPPI)?;
        (r.stats, r.per_class, r.recall_at_fppi)
    };
    Ok(DetectionAccuracyReport {
        undecodable: vec![],
        missing_samples: 0,
        model: target.info().name.clone(),
        labels: source,
        format: labels.format,
        images: images.len(),
        labelled_images_not_evaluated: labels.images.len() - images.len(),
        ground_truth_boxes,
        crowd_regions: boxes().filter(|b| b.iscrowd).count(),
        detections: raw.len(),
        ap: stats.ap,
        ap50: stats.ap50,
        stats,
        per_class,
        recall_at_fppi,
        protocol: "COCO bbox (hotcoco, pycocotools-compatible): IoU 0.50:0.95, areas all/small/medium/large, max detections 1/10/100; recall at FPPI at IoU 0.5".into(),
        interrupted,
        raw,
    })
}
