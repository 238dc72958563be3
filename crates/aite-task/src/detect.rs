//! Boxes, detections, IoU and greedy non-maximum suppression.

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

/// One detected object: the score column it came from, its score and its box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Column of the score tensor (with a background column, 0 is background).
    pub class: usize,
    pub score: f32,
    pub bbox: BBox,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, x0: f32, y0: f32, x1: f32, y1: f32) -> Detection {
        Detection { class: 1, score, bbox: BBox { x_min: x0, y_min: y0, x_max: x1, y_max: y1 } }
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
