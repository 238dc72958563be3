//! Boxes, detections, IoU and non-maximum suppression: greedy hard NMS and
//! MediaPipe's weighted NMS.

use serde::{Deserialize, Serialize};

/// An axis-aligned box in corner form, in the coordinates the task declares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x_min: f32,
    pub y_min: f32,
    pub x_max: f32,
    pub y_max: f32,
}

impl BBox {
    /// Area; 0 for an empty or inverted box.
    pub fn area(&self) -> f32 {
        (self.x_max - self.x_min).max(0.0) * (self.y_max - self.y_min).max(0.0)
    }
}

/// One detected object: the score column it came from, its score, its box and
/// (for heads that regress them, e.g. BlazeFace's eyes, nose, mouth, ears) its keypoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Column of the score tensor (with a background column, 0 is background).
    pub class: usize,
    pub score: f32,
    pub bbox: BBox,
    /// `[x, y]` per keypoint, in the box's coordinates; empty when the task declares none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keypoints: Vec<[f32; 2]>,
}

/// How overlapping candidates of one class are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NmsKind {
    /// Greedy: keep the best, drop every box overlapping a kept one by more than the IoU threshold ([`nms`]).
    #[default]
    Hard,
    /// MediaPipe's `WEIGHTED` algorithm: the best and every box overlapping it by more than
    /// the threshold are merged into one, their corners and keypoints averaged with the scores
    /// as weights, with the best's score ([`weighted_nms`]).
    Weighted,
}

impl NmsKind {
    /// Suppress one class's candidates with this algorithm.
    pub fn apply(self, candidates: Vec<Detection>, iou_threshold: f32, max_kept: usize) -> Vec<Detection> {
        match self {
            NmsKind::Hard => nms(candidates, iou_threshold, max_kept),
            NmsKind::Weighted => weighted_nms(candidates, iou_threshold, max_kept),
        }
    }
}

/// Intersection over union; 0 when both boxes are empty.
pub fn iou(a: &BBox, b: &BBox) -> f32 {
    let inter = BBox {
        x_min: a.x_min.max(b.x_min),
        y_min: a.y_min.max(b.y_min),
        x_max: a.x_max.min(b.x_max),
        y_max: a.y_max.min(b.y_max),
    }
    .area();
    let union = a.area() + b.area() - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Greedy hard NMS over one class: highest score first (ties keep input order),
/// every remaining box whose IoU with a kept box is above `iou_threshold` is
/// dropped; at most `max_kept` are kept.
pub fn nms(mut candidates: Vec<Detection>, iou_threshold: f32, max_kept: usize) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for c in candidates {
        if kept.len() >= max_kept {
            break;
        }
        if kept.iter().all(|k| iou(&k.bbox, &c.bbox) <= iou_threshold) {
            kept.push(c);
        }
    }
    kept
}

/// Weighted NMS as MediaPipe's `NonMaxSuppressionCalculator` (`algorithm: WEIGHTED`,
/// `overlap_type: INTERSECTION_OVER_UNION`): highest score first (ties keep input order),
/// the best and every remaining box whose IoU with it is above `iou_threshold` form a
/// cluster; the cluster becomes one detection with the best's class and score and the
/// score-weighted mean of the members' corners and keypoints. A best box of zero area
/// overlaps nothing, itself included: it is kept as it is and, as in MediaPipe, ends the
/// loop. At most `max_kept` are kept (MediaPipe's weighted path has no cap).
pub fn weighted_nms(mut candidates: Vec<Detection>, iou_threshold: f32, max_kept: usize) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    let mut remaining = candidates;
    while let Some(best) = remaining.first().cloned() {
        if kept.len() >= max_kept {
            break;
        }
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) = remaining.into_iter().partition(|d| iou(&d.bbox, &best.bbox) > iou_threshold);
        if cluster.is_empty() {
            kept.push(best);
            break;
        }
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = best.clone();
        let mean = |f: &dyn Fn(&Detection) -> f32| cluster.iter().map(|d| f(d) * d.score).sum::<f32>() / total;
        merged.bbox = BBox { x_min: mean(&|d| d.bbox.x_min), y_min: mean(&|d| d.bbox.y_min), x_max: mean(&|d| d.bbox.x_max), y_max: mean(&|d| d.bbox.y_max) };
        for (k, point) in merged.keypoints.iter_mut().enumerate() {
            *point = [mean(&|d| d.keypoints.get(k).map_or(0.0, |p| p[0])), mean(&|d| d.keypoints.get(k).map_or(0.0, |p| p[1]))];
        }
        kept.push(merged);
        remaining = rest;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, x0: f32, y0: f32, x1: f32, y1: f32) -> Detection {
        Detection { class: 1, score, bbox: BBox { x_min: x0, y_min: y0, x_max: x1, y_max: y1 }, keypoints: vec![] }
    }

    #[test]
    fn weighted_nms_averages_each_cluster_by_score() {
        let mut a = det(0.9, 0.0, 0.0, 2.0, 2.0);
        a.keypoints = vec![[1.0, 1.0]];
        // IoU with a: 3/5 (shifted by 0.5 in x) -> merged at threshold 0.3.
        let mut b = det(0.6, 0.5, 0.0, 2.5, 2.0);
        b.keypoints = vec![[2.0, 0.0]];
        // IoU with a: 1/7 -> its own cluster.
        let mut c = det(0.8, 1.0, 1.0, 3.0, 3.0);
        c.keypoints = vec![[0.0, 0.0]];
        let kept = weighted_nms(vec![b.clone(), a.clone(), c.clone()], 0.3, 100);
        assert_eq!(kept.len(), 2);
        // Cluster {a 0.9, b 0.6}: x_min = (0*0.9 + 0.5*0.6)/1.5 = 0.2, x_max = (2*0.9 + 2.5*0.6)/1.5 = 2.2.
        let m = &kept[0];
        assert_eq!(m.score, 0.9);
        for (got, want) in [(m.bbox.x_min, 0.2), (m.bbox.y_min, 0.0), (m.bbox.x_max, 2.2), (m.bbox.y_max, 2.0), (m.keypoints[0][0], 1.4), (m.keypoints[0][1], 0.6)] {
            assert!((got - want).abs() < 1e-6, "{m:?}");
        }
        // c is left alone (its cluster is itself: IoU with b 1.5/6.5 = 0.23 < 0.3).
        assert_eq!(kept[1], c);
        // At threshold 0.7 nothing merges: weighted NMS keeps the three boxes as they are.
        assert_eq!(weighted_nms(vec![a.clone(), b.clone(), c.clone()], 0.7, 100), vec![a.clone(), c.clone(), b.clone()]);
        // The cap.
        assert_eq!(weighted_nms(vec![a.clone(), b, c], 0.7, 1), vec![a.clone()]);
        // A zero-area best box overlaps nothing, not even itself: kept, and the loop ends (MediaPipe).
        let dot = det(0.95, 5.0, 5.0, 5.0, 5.0);
        assert_eq!(weighted_nms(vec![a, dot.clone()], 0.3, 100), vec![dot]);
    }

    #[test]
    fn iou_of_hand_computed_boxes() {
        let a = det(1.0, 0.0, 0.0, 2.0, 2.0).bbox;
        // Shifted by 1 in x: intersection 1x2 = 2, union 4 + 4 - 2 = 6.
        assert!((iou(&a, &det(1.0, 1.0, 0.0, 3.0, 2.0).bbox) - 1.0 / 3.0).abs() < 1e-6);
        // Quarter overlap: 1 / (4 + 4 - 1) = 1/7.
        assert!((iou(&a, &det(1.0, 1.0, 1.0, 3.0, 3.0).bbox) - 1.0 / 7.0).abs() < 1e-6);
        assert_eq!(iou(&a, &det(1.0, 5.0, 5.0, 6.0, 6.0).bbox), 0.0);
        assert_eq!(iou(&a, &a), 1.0);
        let empty = det(1.0, 1.0, 1.0, 1.0, 1.0).bbox;
        assert_eq!(iou(&empty, &empty), 0.0);
    }

    #[test]
    fn nms_keeps_the_hand_computed_survivors() {
        let boxes = vec![
            det(0.6, 1.0, 0.0, 3.0, 2.0), // IoU 1/3 with the best: dropped at 0.3, kept at 0.5
            det(0.9, 0.0, 0.0, 2.0, 2.0), // best
            det(0.8, 1.0, 1.0, 3.0, 3.0), // IoU 1/7 with the best: kept
            det(0.7, 10.0, 10.0, 11.0, 11.0), // disjoint: kept
        ];
        let scores = |v: Vec<Detection>| v.iter().map(|d| d.score).collect::<Vec<_>>();
        // At 0.3: 0.6 overlaps the best by 1/3 > 0.3, dropped; it overlaps 0.8's box by 1/3 too.
        assert_eq!(scores(nms(boxes.clone(), 0.3, 100)), vec![0.9, 0.8, 0.7]);
        // At 0.5 every IoU is below: all kept, by score.
        assert_eq!(scores(nms(boxes.clone(), 0.5, 100)), vec![0.9, 0.8, 0.7, 0.6]);
        // At 0.1: 0.8 (1/7 = 0.143 with the best) goes too.
        assert_eq!(scores(nms(boxes.clone(), 0.1, 100)), vec![0.9, 0.7]);
        // The cap keeps the best ones.
        assert_eq!(scores(nms(boxes, 0.5, 2)), vec![0.9, 0.8]);
    }
}
