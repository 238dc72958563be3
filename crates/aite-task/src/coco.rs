//! COCO-style detection accuracy: bbox AP and AR, the twelve numbers pycocotools'
//! `COCOeval.summarize` prints, computed by hotcoco (a pure-Rust, pycocotools-compatible
//! engine) against a COCO instances ground-truth file.

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

fn evaluate(gt: hotcoco::COCO, detections: &[CocoDetection]) -> Result<CocoStats, String> {
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
    let s = eval.stats().filter(|s| s.len() >= 12).ok_or_else(|| fail("the evaluation produced no summary".into()))?;
    Ok(CocoStats { ap: s[0], ap50: s[1], ap75: s[2], ap_small: s[3], ap_medium: s[4], ap_large: s[5], ar1: s[6], ar10: s[7], ar100: s[8], ar_small: s[9], ar_medium: s[10], ar_large: s[11] })
}
