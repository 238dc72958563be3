//! Which recognised line is scored against which labelled line.
//!
//! - Labels with polygons: greedy one-to-one matching by polygon IoU, best pair first,
//!   a pair counting at IoU >= [`MATCH_IOU`] (ICDAR's end-to-end rule). A prediction
//!   left unmatched that lies more than half inside a do-not-care region (ICDAR 2015's
//!   rule: intersection over the prediction's area > 0.5) is ignored, not scored.
//! - Labels without polygons: the labelled lines (file order) and the predicted lines
//!   (the pipeline's reading order) are aligned as two sequences, a minimum-cost edit
//!   alignment where pairing two lines costs their NED and leaving one unpaired costs 1,
//!   so a missed line shifts nothing after it.
//!
//! Labelled lines left unpaired are missed (scored against an empty prediction),
//! predictions left unpaired are spurious (scored against an empty label).

use crate::ctc::edit_distance;
use crate::ocr_labels::OcrLabelledImage;
use crate::TextLine;
use serde::{Deserialize, Serialize};

/// The IoU at which a predicted and a labelled polygon are the same line.
pub const MATCH_IOU: f64 = 0.5;

/// How one image's lines were matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineMatching {
    /// Greedy by polygon IoU >= [`MATCH_IOU`].
    PolygonIou,
    /// Sequence alignment in reading order (labels without polygons).
    ReadingOrder,
}

/// One scored (or ignored) pairing of an image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pairing", rename_all = "kebab-case")]
pub enum LinePair {
    Matched { prediction: usize, label: usize, iou: Option<f64> },
    Missed { label: usize },
    Spurious { prediction: usize },
    /// A prediction inside a do-not-care region.
    Ignored { prediction: usize, label: usize },
}

/// Area of a simple polygon (shoelace).
pub fn polygon_area(p: &[[f64; 2]]) -> f64 {
    let n = p.len();
    (0..n).map(|i| p[i][0] * p[(i + 1) % n][1] - p[(i + 1) % n][0] * p[i][1]).sum::<f64>().abs() / 2.0
}

/// Intersection of two convex polygons (Sutherland–Hodgman, either winding).
fn intersection(subject: &[[f64; 2]], clipper: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let n = clipper.len();
    let signed: f64 = (0..n).map(|i| clipper[i][0] * clipper[(i + 1) % n][1] - clipper[(i + 1) % n][0] * clipper[i][1]).sum();
    let orient = if signed >= 0.0 { 1.0 } else { -1.0 };
    let mut out = subject.to_vec();
    for i in 0..n {
        let (a, b) = (clipper[i], clipper[(i + 1) % n]);
        let side = |p: [f64; 2]| orient * ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]));
        let input = std::mem::take(&mut out);
        for j in 0..input.len() {
            let (p, q) = (input[j], input[(j + 1) % input.len()]);
            let (sp, sq) = (side(p), side(q));
            if sp >= 0.0 {
                out.push(p);
            }
            if (sp >= 0.0) != (sq >= 0.0) {
                let t = sp / (sp - sq);
                out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
            }
        }
        if out.is_empty() {
            break;
        }
    }
    out
}

/// Intersection area of two convex polygons.
pub fn polygon_intersection(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    polygon_area(&intersection(a, b))
}

/// IoU of two convex polygons (0 when both are empty).
pub fn polygon_iou(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    let inter = polygon_intersection(a, b);
    let union = polygon_area(a) + polygon_area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// A predicted line's quad as a polygon.
pub fn quad_polygon(l: &TextLine) -> Vec<[f64; 2]> {
    l.quad.iter().map(|p| [p[0] as f64, p[1] as f64]).collect()
}

fn ned(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longest = a.len().max(b.len());
    if longest == 0 {
        0.0
    } else {
        edit_distance(&a, &b) as f64 / longest as f64
    }
}

/// Pair the predicted lines of one image with its labelled lines (see the module doc).
pub fn match_lines(predictions: &[TextLine], labels: &OcrLabelledImage) -> (LineMatching, Vec<LinePair>) {
    if labels.has_polygons() {
        (LineMatching::PolygonIou, by_iou(predictions, labels))
    } else {
        (LineMatching::ReadingOrder, in_reading_order(predictions, labels))
    }
}

fn by_iou(predictions: &[TextLine], labels: &OcrLabelledImage) -> Vec<LinePair> {
    let polys: Vec<Vec<[f64; 2]>> = predictions.iter().map(quad_polygon).collect();
    let mut candidates = vec![];
    for (j, l) in labels.lines.iter().enumerate().filter(|(_, l)| !l.ignore) {
        let gt = l.polygon.as_deref().unwrap_or_default();
        for (i, p) in polys.iter().enumerate() {
            let v = polygon_iou(p, gt);
            if v >= MATCH_IOU {
                candidates.push((v, i, j));
            }
        }
    }
    // Best IoU first; ties by prediction then label index, so the result is deterministic.
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut used_p, mut used_l) = (vec![false; predictions.len()], vec![false; labels.lines.len()]);
    let mut pairs = vec![];
    for (v, i, j) in candidates {
        if !used_p[i] && !used_l[j] {
            (used_p[i], used_l[j]) = (true, true);
            pairs.push(LinePair::Matched { prediction: i, label: j, iou: Some(v) });
        }
    }
    for (j, l) in labels.lines.iter().enumerate() {
        if !l.ignore && !used_l[j] {
            pairs.push(LinePair::Missed { label: j });
        }
    }
    for (i, p) in polys.iter().enumerate().filter(|(i, _)| !used_p[*i]) {
        let area = polygon_area(p);
        let care = labels.lines.iter().enumerate().filter(|(_, l)| l.ignore).find(|(_, l)| area > 0.0 && polygon_intersection(p, l.polygon.as_deref().unwrap_or_default()) / area > 0.5);
        pairs.push(match care {
            Some((j, _)) => LinePair::Ignored { prediction: i, label: j },
            None => LinePair::Spurious { prediction: i },
        });
    }
    pairs
}

fn in_reading_order(predictions: &[TextLine], labels: &OcrLabelledImage) -> Vec<LinePair> {
    let (n, m) = (labels.lines.len(), predictions.len());
    // cost[i][j]: aligning the first i labels with the first j predictions.
    let mut cost = vec![vec![0f64; m + 1]; n + 1];
    for i in 0..=n {
        for j in 0..=m {
            cost[i][j] = match (i, j) {
                (0, _) => j as f64,
                (_, 0) => i as f64,
                _ => (cost[i - 1][j - 1] + ned(&predictions[j - 1].text, &labels.lines[i - 1].text)).min(cost[i - 1][j] + 1.0).min(cost[i][j - 1] + 1.0),
            };
        }
    }
    let (mut i, mut j, mut rev) = (n, m, vec![]);
    while i > 0 || j > 0 {
        if i > 0 && j > 0 && cost[i][j] == cost[i - 1][j - 1] + ned(&predictions[j - 1].text, &labels.lines[i - 1].text) {
            rev.push(LinePair::Matched { prediction: j - 1, label: i - 1, iou: None });
            (i, j) = (i - 1, j - 1);
        } else if i > 0 && cost[i][j] == cost[i - 1][j] + 1.0 {
            rev.push(LinePair::Missed { label: i - 1 });
            i -= 1;
        } else {
            rev.push(LinePair::Spurious { prediction: j - 1 });
            j -= 1;
        }
    }
    rev.reverse();
    rev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr_labels::OcrLabelledLine;

    fn pred(x: f32, text: &str) -> TextLine {
        TextLine { quad: [[x, 0.0], [x + 10.0, 0.0], [x + 10.0, 10.0], [x, 10.0]], text: text.into(), score: 0.9, rotated: false }
    }

    fn label(x: Option<f64>, text: &str) -> OcrLabelledLine {
        OcrLabelledLine { text: text.into(), polygon: x.map(|x| vec![[x, 0.0], [x + 10.0, 0.0], [x + 10.0, 10.0], [x, 10.0]]), ignore: text == "###" }
    }

    fn image(lines: Vec<OcrLabelledLine>) -> OcrLabelledImage {
        OcrLabelledImage { name: "a.png".into(), path: "a.png".into(), lines }
    }

    #[test]
    fn polygon_iou_by_hand() {
        let sq = |x: f64, s: f64| vec![[x, 0.0], [x + s, 0.0], [x + s, s], [x, s]];
        assert!((polygon_iou(&sq(0.0, 2.0), &sq(1.0, 2.0)) - 1.0 / 3.0).abs() < 1e-12);
        let diamond = vec![[1.0, 0.0], [2.0, 1.0], [1.0, 2.0], [0.0, 1.0]];
        assert!((polygon_iou(&sq(0.0, 2.0), &diamond) - 0.5).abs() < 1e-12);
        // Clockwise against counter-clockwise.
        let mut rev = sq(1.0, 2.0);
        rev.reverse();
        assert!((polygon_iou(&sq(0.0, 2.0), &rev) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(polygon_iou(&sq(0.0, 1.0), &sq(5.0, 1.0)), 0.0);
    }

    #[test]
    fn matching_by_iou_with_do_not_care() {
        // Predictions at x 0 (IoU 1 with label 0), x 4 (IoU 6/14 = 0.43 with label 0 and
        // 6/14 with label at x 8... below 0.5: spurious), x 31 (inside the ### region at 30).
        let preds = vec![pred(0.0, "A"), pred(4.0, "B"), pred(31.0, "C")];
        let labels = image(vec![label(Some(0.0), "A"), label(Some(60.0), "D"), label(Some(30.0), "###")]);
        let (how, pairs) = match_lines(&preds, &labels);
        assert_eq!(how, LineMatching::PolygonIou);
        assert_eq!(pairs, vec![LinePair::Matched { prediction: 0, label: 0, iou: Some(1.0) }, LinePair::Missed { label: 1 }, LinePair::Spurious { prediction: 1 }, LinePair::Ignored { prediction: 2, label: 2 }]);
    }

    #[test]
    fn matching_in_reading_order_skips_a_missed_line() {
        // Labels ONE TWO THREE; the reader missed TWO and read THREF: ONE-ONE, TWO missed,
        // THREE-THREF (NED 0.2), total cost 1.2, rather than TWO-THREF (NED 0.8) + THREE
        // missed (1.8).
        let preds = vec![pred(0.0, "ONE"), pred(0.0, "THREF")];
        let labels = image(vec![label(None, "ONE"), label(None, "TWO"), label(None, "THREE")]);
        let (how, pairs) = match_lines(&preds, &labels);
        assert_eq!(how, LineMatching::ReadingOrder);
        assert_eq!(
            pairs,
            vec![
                LinePair::Matched { prediction: 0, label: 0, iou: None },
                LinePair::Missed { label: 1 },
                LinePair::Matched { prediction: 1, label: 2, iou: None },
            ]
        );
        // No labelled line: every prediction is spurious.
        assert_eq!(match_lines(&preds[..1], &image(vec![])).1, vec![LinePair::Spurious { prediction: 0 }]);
    }
}
