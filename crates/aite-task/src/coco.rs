//! COCO-style detection accuracy: bbox AP and AR, the twelve numbers pycocotools'
//! `COCOeval.summarize` prints, computed by hotcoco (a pure-Rust, pycocotools-compatible
//! engine) against a COCO instances ground-truth file; with [`coco_bbox_report`] also AP per
//! class and recall at fixed false positives per image.

use crate::{BBox, Coordinates, TaskError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One detection in COCO result form: image, category, `[x, y, w, h]` in pixels of the original image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CocoDetection {
    pub image_id: u64,
    pub category_id: u64,
    pub bbox: [f64; 4],
    pub score: f64,
}

impl CocoDetection {
    /// From a decoded box. Normalised coordinates are scaled to the original `width x height`,
    /// which maps back to the original image only when preprocessing resized it exactly (no crop);
    /// pixel coordinates are taken as they are.
    pub fn from_bbox(image_id: u64, category_id: u64, b: &BBox, coordinates: Coordinates, width: u32, height: u32, score: f32) -> Self {
        let (sx, sy) = match coordinates {
            Coordinates::Normalised => (width as f64, height as f64),
            Coordinates::Pixels => (1.0, 1.0),
        };
        let (x0, y0) = (b.x_min as f64 * sx, b.y_min as f64 * sy);
        let (x1, y1) = (b.x_max as f64 * sx, b.y_max as f64 * sy);
        CocoDetection { image_id, category_id, bbox: [x0, y0, x1 - x0, y1 - y0], score: score as f64 }
    }
}

/// The twelve COCO bbox numbers, in pycocotools' order (`stats[0..12]`); -1 where a
/// size range has no ground truth, as pycocotools reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CocoStats {
    /// AP at IoU 0.50:0.95, all areas, 100 detections.
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    pub ap_small: f64,
    pub ap_medium: f64,
    pub ap_large: f64,
    pub ar1: f64,
    pub ar10: f64,
    pub ar100: f64,
    pub ar_small: f64,
    pub ar_medium: f64,
    pub ar_large: f64,
}

impl CocoStats {
    pub fn as_array(&self) -> [f64; 12] {
        [self.ap, self.ap50, self.ap75, self.ap_small, self.ap_medium, self.ap_large, self.ar1, self.ar10, self.ar100, self.ar_small, self.ar_medium, self.ar_large]
    }
}

/// Evaluate `detections` against the COCO ground truth at `ground_truth` (bbox IoU, default COCO parameters).
pub fn coco_bbox(ground_truth: &Path, detections: &[CocoDetection]) -> Result<CocoStats, TaskError> {
    let fail = |reason: String| TaskError::Coco { path: ground_truth.to_path_buf(), reason };
    if detections.is_empty() {
        return Err(fail("there are no detections to evaluate (pycocotools refuses an empty result set too)".into()));
    }
    let gt = hotcoco::COCO::new(ground_truth).map_err(|e| fail(e.to_string()))?;
    evaluate(gt, detections).map_err(fail)
}

/// Evaluate `detections` against a ground truth held in memory as COCO instances JSON
/// (`images`, `annotations`, `categories`), e.g. pseudo ground truth made from a model's
/// own clean predictions; `source` names it in errors.
pub fn coco_bbox_json(ground_truth: serde_json::Value, source: &Path, detections: &[CocoDetection]) -> Result<CocoStats, TaskError> {
    let fail = |reason: String| TaskError::Coco { path: source.to_path_buf(), reason };
    if detections.is_empty() {
        return Err(fail("there are no detections to evaluate (pycocotools refuses an empty result set too)".into()));
    }
    let dataset: hotcoco::Dataset = serde_json::from_value(ground_truth).map_err(|e| fail(format!("not COCO instances JSON: {e}")))?;
    evaluate(hotcoco::COCO::from_dataset(dataset), detections).map_err(fail)
}

/// AP of one category (all areas, 100 detections), as pycocotools' `precision[:, :, k, 0, -1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassAp {
    pub category_id: u64,
    pub name: String,
    /// Ground-truth boxes of the category that count (not crowd).
    pub ground_truth_boxes: usize,
    /// AP@[.5:.95]; `None` when the category has no ground truth (pycocotools' -1).
    pub ap: Option<f64>,
    pub ap50: Option<f64>,
    /// AP at IoU 0.75 (pycocotools' `precision[5, :, k, 0, -1]`); `None` without ground truth.
    #[serde(default)]
    pub ap75: Option<f64>,
    /// Recall of this category at each fixed number of its false positives per image (IoU 0.5,
    /// all areas, 100 detections, every image evaluated in the denominator).
    #[serde(default)]
    pub recall_at_fppi: Vec<RecallAtFppi>,
}

/// Recall at a fixed number of false positives per image (IoU 0.5, all areas, 100
/// detections per image and category, every category pooled): the most recall any score
/// threshold reaches without exceeding `fppi` false positives per image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecallAtFppi {
    pub fppi: f64,
    /// `None` when there is nothing to recall (a category without ground truth).
    pub recall: Option<f64>,
    /// The lowest score kept at that operating point; `None` when no threshold gets there
    /// (recall 0) or nothing is to be recalled.
    pub score_threshold: Option<f64>,
}

/// The false-positives-per-image operating points reported by default (the range of the
/// Caltech pedestrian miss-rate curve, 10^-2 to 10^0).
pub const DEFAULT_FPPI: [f64; 3] = [0.01, 0.1, 1.0];

/// COCO bbox evaluation with AP per class and recall at fixed false positives per image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoReport {
    pub stats: CocoStats,
    pub per_class: Vec<ClassAp>,
    pub recall_at_fppi: Vec<RecallAtFppi>,
    /// Images evaluated (the FPPI denominator).
    pub images: usize,
    /// Ground-truth boxes that count toward recall at IoU 0.5, all areas.
    pub ground_truth_boxes: usize,
}

/// [`coco_bbox_json`] with the per-class AP and recall at each of `fppi` false positives per image.
pub fn coco_bbox_report(ground_truth: serde_json::Value, source: &Path, detections: &[CocoDetection], fppi: &[f64]) -> Result<CocoReport, TaskError> {
    let fail = |reason: String| TaskError::Coco { path: source.to_path_buf(), reason };
    if detections.is_empty() {
        return Err(fail("there are no detections to evaluate (pycocotools refuses an empty result set too)".into()));
    }
    let dataset: hotcoco::Dataset = serde_json::from_value(ground_truth).map_err(|e| fail(format!("not COCO instances JSON: {e}")))?;
    let gt = hotcoco::COCO::from_dataset(dataset);
    let eval = run_eval(gt, detections).map_err(fail)?;
    let stats = stats_of(&eval).map_err(fail)?;
    let acc = eval.accumulated().ok_or_else(|| fail("the evaluation accumulated nothing".into()))?;
    let gt = eval.coco_gt();
    let all = eval.params.all_area_idx();
    let m = acc.shape.m.saturating_sub(1);
    let mean = |ts: std::ops::Range<usize>, k: usize| {
        let v: Vec<f64> = ts.flat_map(|t| (0..acc.shape.r).map(move |r| (t, r))).map(|(t, r)| acc.precision[acc.precision_idx(t, r, k, all, m)]).filter(|p| *p > -1.0).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let dataset = &gt.dataset;
    let t75 = eval.params.iou_thrs.iter().position(|t| (t - 0.75).abs() < 1e-9);
    // Every detection of the IoU-0.5 matching (all areas, most detections), by category.
    let max_det = eval.params.max_dets.iter().copied().max().unwrap_or(100);
    let range = eval.params.area_ranges[all].range;
    let mut by_class: std::collections::BTreeMap<u64, (Vec<(f64, bool)>, usize)> = Default::default();
    for e in eval.eval_imgs().iter().flatten().filter(|e| e.max_det == max_det && e.area_rng == range) {
        let (scored, positives) = by_class.entry(e.category_id).or_default();
        *positives += e.num_gt_in_denominator();
        for d in 0..e.dt_ids.len() {
            if !e.dt_ignore[(0, d)] {
                scored.push((e.dt_scores[d], e.dt_matched[(0, d)]));
            }
        }
    }
    let images = dataset.images.len();
    let per_class = acc
        .cat_ids
        .iter()
        .enumerate()
        .map(|(k, &id)| ClassAp {
            category_id: id,
            name: gt.get_cat(id).map(|c| c.name.clone()).unwrap_or_else(|| id.to_string()),
            ground_truth_boxes: dataset.annotations.iter().filter(|a| a.category_id == id && !a.iscrowd).count(),
            ap: mean(0..acc.shape.t, k),
            ap50: mean(0..1.min(acc.shape.t), k),
            ap75: t75.filter(|&t| t < acc.shape.t).and_then(|t| mean(t..t + 1, k)),
            recall_at_fppi: {
                let (scored, positives) = by_class.get(&id).cloned().unwrap_or_default();
                recall_at_fppi(scored, positives, images, fppi)
            },
        })
        .collect();
    // Pooled over categories.
    let (scored, positives) = by_class.into_values().fold((vec![], 0usize), |(mut s, p), (more, n)| {
        s.extend(more);
        (s, p + n)
    });
    Ok(CocoReport { stats, per_class, recall_at_fppi: recall_at_fppi(scored, positives, images, fppi), images, ground_truth_boxes: positives })
}

/// Recall at each `fppi` from `(score, true positive)` detections: thresholds are cut between
/// distinct scores (tied scores are kept or dropped together).
fn recall_at_fppi(mut scored: Vec<(f64, bool)>, positives: usize, images: usize, fppi: &[f64]) -> Vec<RecallAtFppi> {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    // (false positives per image, recall, threshold) at each distinct score, best first.
    let mut points = vec![];
    let (mut tp, mut fp) = (0usize, 0usize);
    for (i, &(score, hit)) in scored.iter().enumerate() {
        if hit {
            tp += 1;
        } else {
            fp += 1;
        }
        if scored.get(i + 1).map_or(true, |n| n.0 != score) {
            points.push((fp as f64 / images.max(1) as f64, tp as f64 / positives.max(1) as f64, score));
        }
    }
    fppi.iter()
        .map(|&f| {
            if positives == 0 {
                return RecallAtFppi { fppi: f, recall: None, score_threshold: None };
            }
            let best = points.iter().filter(|p| p.0 <= f).max_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)));
            RecallAtFppi { fppi: f, recall: Some(best.map_or(0.0, |p| p.1)), score_threshold: best.map(|p| p.2) }
        })
        .collect()
}

fn evaluate(gt: hotcoco::COCO, detections: &[CocoDetection]) -> Result<CocoStats, String> {
    stats_of(&run_eval(gt, detections)?)
}

fn stats_of(eval: &hotcoco::COCOeval) -> Result<CocoStats, String> {
    let s = eval.stats().filter(|s| s.len() >= 12).ok_or_else(|| "the evaluation produced no summary".to_string())?;
    Ok(CocoStats { ap: s[0], ap50: s[1], ap75: s[2], ap_small: s[3], ap_medium: s[4], ap_large: s[5], ar1: s[6], ar10: s[7], ar100: s[8], ar_small: s[9], ar_medium: s[10], ar_large: s[11] })
}

fn run_eval(gt: hotcoco::COCO, detections: &[CocoDetection]) -> Result<hotcoco::COCOeval, String> {
    let fail = |reason: String| reason;
    let anns: Vec<hotcoco::Annotation> = detections
        .iter()
        .map(|d| serde_json::from_value(serde_json::json!({"image_id": d.image_id, "category_id": d.category_id, "bbox": d.bbox, "score": d.score})))
        .collect::<Result<_, _>>()
        .map_err(|e| fail(format!("a detection does not convert to a COCO result: {e}")))?;
    let dt = gt.load_res_anns(anns).map_err(|e| fail(e.to_string()))?;
    let mut eval = hotcoco::COCOeval::new(gt, dt, hotcoco::IouType::Bbox);
    eval.evaluate().map_err(|e| fail(e.to_string()))?;
    eval.accumulate();
    eval.summarize_lines();
    Ok(eval)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per category, hand-computed on 3 images. Face (4 boxes): 0.95 TP, 0.90 TP, 0.80 FP,
    /// 0.60 TP (IoU 1400/2600 = 0.54), 0.50 FP (a duplicate), 0.40 TP (IoU 600/649): at 0.1 FPPI
    /// the cut at 0.90 (0 FP, 2/4), at 1 FPPI the cut at 0.40 (2 FP = 0.67/img, 4/4). Plate (2
    /// boxes): 0.85 FP (IoU 1/3), 0.70 TP, 0.30 FP: at 0.1 FPPI nothing (the first cut has 1/3
    /// FP per image), at 1 FPPI the cut at 0.70 (1/2); pooled at 0.1 FPPI 2/6.
    #[test]
    fn recall_at_fppi_per_class_by_hand() {
        let gt = serde_json::json!({
            "images": [{"id": 1, "width": 640, "height": 480}, {"id": 2, "width": 640, "height": 480}, {"id": 3, "width": 320, "height": 240}],
            "categories": [{"id": 1, "name": "face"}, {"id": 2, "name": "plate"}, {"id": 3, "name": "bike"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 100, 120], "area": 12000, "iscrowd": 0},
                {"id": 2, "image_id": 1, "category_id": 1, "bbox": [300, 200, 40, 50], "area": 2000, "iscrowd": 0},
                {"id": 3, "image_id": 1, "category_id": 2, "bbox": [500, 400, 20, 10], "area": 200, "iscrowd": 0},
                {"id": 4, "image_id": 2, "category_id": 1, "bbox": [50, 60, 200, 180], "area": 36000, "iscrowd": 0},
                {"id": 5, "image_id": 2, "category_id": 2, "bbox": [100, 300, 60, 30], "area": 1800, "iscrowd": 0},
                {"id": 6, "image_id": 3, "category_id": 1, "bbox": [5, 5, 25, 25], "area": 625, "iscrowd": 0}
            ]
        });
        let d = |image_id, category_id, bbox: [f64; 4], score| CocoDetection { image_id, category_id, bbox, score };
        let dets = [
            d(1, 1, [12.0, 8.0, 98.0, 125.0], 0.95),
            d(1, 1, [305.0, 210.0, 40.0, 50.0], 0.60),
            d(1, 1, [400.0, 50.0, 60.0, 60.0], 0.80),
            d(1, 2, [500.0, 401.0, 20.0, 10.0], 0.70),
            d(2, 1, [60.0, 60.0, 190.0, 190.0], 0.90),
            d(2, 1, [55.0, 65.0, 195.0, 175.0], 0.50),
            d(2, 2, [130.0, 300.0, 60.0, 30.0], 0.85),
            d(3, 1, [6.0, 4.0, 24.0, 26.0], 0.40),
            d(3, 2, [100.0, 100.0, 30.0, 30.0], 0.30),
        ];
        let r = coco_bbox_report(gt, Path::new("gt.json"), &dets, &[0.1, 1.0]).unwrap();
        let at = |c: &ClassAp| c.recall_at_fppi.iter().map(|r| (r.recall, r.score_threshold)).collect::<Vec<_>>();
        assert_eq!(at(&r.per_class[0]), vec![(Some(0.5), Some(0.90)), (Some(1.0), Some(0.40))]);
        assert_eq!(at(&r.per_class[1]), vec![(Some(0.0), None), (Some(0.5), Some(0.70))]);
        // Bike has no box: nothing to recall, null as its AP, never a measured 0.
        assert_eq!((r.per_class[2].ground_truth_boxes, r.per_class[2].ap, at(&r.per_class[2])), (0, None, vec![(None, None), (None, None)]));
        assert_eq!((r.recall_at_fppi[0].recall, r.ground_truth_boxes), (Some(2.0 / 6.0), 6));
    }

    /// Hand-computed on 2 images and 4 ground-truth boxes: scores 0.9 TP, 0.8 FP, 0.8 TP,
    /// 0.5 TP, 0.3 FP, 0.2 FP. Cuts: 0.9 (fp 0, recall 1/4), 0.8 (fp 1 -> 0.5/img, 2/4),
    /// 0.5 (0.5, 3/4), 0.3 (1.0, 3/4), 0.2 (1.5, 3/4).
    #[test]
    fn recall_at_fppi_by_hand() {
        let scored = vec![(0.8, false), (0.9, true), (0.5, true), (0.8, true), (0.2, false), (0.3, false)];
        let r = recall_at_fppi(scored, 4, 2, &[0.0, 0.1, 0.5, 1.0, 10.0]);
        let got: Vec<(f64, Option<f64>)> = r.iter().map(|r| (r.recall.unwrap(), r.score_threshold)).collect();
        assert_eq!(got, vec![(0.25, Some(0.9)), (0.25, Some(0.9)), (0.75, Some(0.5)), (0.75, Some(0.5)), (0.75, Some(0.5))]);
        // Tied scores go together: a TP tied with an FP at the top is not reachable at 0 FPPI.
        let r = recall_at_fppi(vec![(0.9, false), (0.9, true)], 1, 1, &[0.5]);
        assert_eq!((r[0].recall, r[0].score_threshold), (Some(0.0), None));
        // No positive: no recall, whatever was detected.
        assert_eq!(recall_at_fppi(vec![(0.9, false)], 0, 1, &[1.0])[0], RecallAtFppi { fppi: 1.0, recall: None, score_threshold: None });
    }
}
