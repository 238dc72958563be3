//! OCR accuracy against labels: each image's predicted lines paired with its labelled
//! lines ([`aite_task::match_lines`]: polygon IoU, or reading order without polygons),
//! then character accuracy, word accuracy and 1 − NED over every scored line, and the
//! share of lines read exactly.
//!
//! A scored line is a matched pair, a missed label (against an empty prediction) or a
//! spurious prediction (against an empty label); predictions in do-not-care regions are
//! kept in the evidence and not scored. Intervals: Wilson for the exact-line proportion
//! (lines are the trials), a percentile bootstrap over scored lines for the three
//! edit-based figures (each a ratio of sums, so lines are resampled and the ratio recomputed).

use crate::{wilson, Proportion, SkippedSample};
use aite_task::{match_lines, LineEdits, LineMatching, LinePair, OcrLabelledImage, Quad, TextAccuracy, TextLine};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Bootstrap resamples of the edit-based figures.
pub const OCR_BOOTSTRAP_RESAMPLES: usize = 1000;

/// How a line entered the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pairing {
    Matched,
    /// A labelled line no prediction matched: scored against "".
    Missed,
    /// A prediction no label matched: scored against "" (every character an insertion).
    Spurious,
    /// A prediction inside a do-not-care region: kept, not scored.
    Ignored,
}

/// One line of the evidence: a prediction, a label, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredLine {
    pub image: String,
    pub pairing: Pairing,
    pub matching: LineMatching,
    pub label: Option<String>,
    pub prediction: Option<String>,
    /// The prediction's box (pixels of the image) and recognition score.
    pub quad: Option<Quad>,
    pub score: Option<f64>,
    /// Polygon IoU of a matched pair (polygon matching only).
    pub iou: Option<f64>,
    /// `None` for ignored predictions.
    pub edits: Option<LineEdits>,
}

/// Pair and score one image's predictions against its labels.
pub fn score_image(labels: &OcrLabelledImage, predictions: &[TextLine]) -> Vec<ScoredLine> {
    let (matching, pairs) = match_lines(predictions, labels);
    pairs
        .into_iter()
        .map(|p| {
            let (pred, label, iou, pairing) = match p {
                LinePair::Matched { prediction, label, iou } => (Some(prediction), Some(label), iou, Pairing::Matched),
                LinePair::Missed { label } => (None, Some(label), None, Pairing::Missed),
                LinePair::Spurious { prediction } => (Some(prediction), None, None, Pairing::Spurious),
                LinePair::Ignored { prediction, label } => (Some(prediction), Some(label), None, Pairing::Ignored),
            };
            let (p, l) = (pred.map(|i| &predictions[i]), label.map(|j| &labels.lines[j]));
            let edits = (pairing != Pairing::Ignored).then(|| LineEdits::of(p.map_or("", |p| p.text.as_str()), l.map_or("", |l| l.text.as_str())));
            ScoredLine {
                image: labels.name.clone(),
                pairing,
                matching,
                label: l.map(|l| l.text.clone()),
                prediction: p.map(|p| p.text.clone()),
                quad: p.map(|p| p.quad),
                score: p.map(|p| p.score),
                iou,
                edits,
            }
        })
        .collect()
}

/// A figure with a 95% percentile-bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// The figures over the scored lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrScores {
    /// Lines read exactly, of the scored lines (Wilson interval).
    pub line_accuracy: Proportion,
    /// `1 − Σ character edits / Σ label characters` (CER = 1 − this).
    pub char_accuracy: Estimate,
    pub word_accuracy: Estimate,
    pub one_minus_ned: Estimate,
}

/// OCR accuracy of a labelled image set: `images` of `dataset_images` read, the others named in
/// `skipped` and counted in `missing_samples` (the figures cover the images read only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrAccuracyReport {
    pub images: usize,
    /// The images the run set out to read: `images + missing_samples`.
    #[serde(default)]
    pub dataset_images: usize,
    /// Images not read (e.g. the run was interrupted), each in `skipped`: a report with any is
    /// incomplete, and the assessment judges nothing on it.
    #[serde(default)]
    pub missing_samples: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedSample>,
    pub images_matched_by_polygon_iou: usize,
    pub images_matched_in_reading_order: usize,
    pub label_lines: usize,
    pub predicted_lines: usize,
    pub matched: usize,
    pub missed: usize,
    pub spurious: usize,
    pub ignored: usize,
    /// `None` when nothing was scored (no labelled line and no prediction outside
    /// do-not-care regions): no figure is claimed then.
    pub scores: Option<OcrScores>,
    /// `line_accuracy`: Wilson; the others: percentile bootstrap over scored lines.
    pub bootstrap_resamples: usize,
    pub bootstrap_seed: u64,
    /// Every labelled line and every prediction (also the raw evidence file).
    pub lines: Vec<ScoredLine>,
}

impl OcrAccuracyReport {
    /// The report of a run that read only some of its images: the others named (with why) and
    /// counted, so its figures say they cover `images` of `dataset_images`.
    pub fn with_not_read(mut self, not_read: Vec<SkippedSample>) -> Self {
        self.missing_samples = not_read.len();
        self.dataset_images = self.images + not_read.len();
        self.skipped = not_read;
        self
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Score every image (labels with their predictions, in the same order).
pub fn ocr_accuracy(images: &[(&OcrLabelledImage, &[TextLine])], resamples: usize, seed: u64) -> OcrAccuracyReport {
    let mut lines = vec![];
    let (mut by_iou, mut in_order) = (0, 0);
    for (labels, predictions) in images {
        let scored = score_image(labels, predictions);
        if labels.has_polygons() {
            by_iou += 1;
        } else {
            in_order += 1;
        }
        lines.extend(scored);
    }
    let count = |p: Pairing| lines.iter().filter(|l| l.pairing == p).count();
    let edits: Vec<LineEdits> = lines.iter().filter_map(|l| l.edits).collect();
    let scores = TextAccuracy::from_edits(&edits).map(|all| {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut c, mut w, mut n) = (vec![], vec![], vec![]);
        for _ in 0..resamples {
            let draw: Vec<&LineEdits> = (0..edits.len()).map(|_| &edits[rng.gen_range(0..edits.len())]).collect();
            let t = TextAccuracy::from_edits(draw).expect("a resample of a non-empty set is non-empty");
            c.push(t.char_accuracy);
            w.push(t.word_accuracy);
            n.push(t.one_minus_ned);
        }
        let est = |value: f64, mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            Estimate { value, ci95_low: percentile(&v, 0.025), ci95_high: percentile(&v, 0.975) }
        };
        OcrScores { line_accuracy: wilson(all.exact_lines, all.lines), char_accuracy: est(all.char_accuracy, c), word_accuracy: est(all.word_accuracy, w), one_minus_ned: est(all.one_minus_ned, n) }
    });
    OcrAccuracyReport {
        images: images.len(),
        dataset_images: images.len(),
        missing_samples: 0,
        skipped: vec![],
        images_matched_by_polygon_iou: by_iou,
        images_matched_in_reading_order: in_order,
        label_lines: images.iter().map(|(l, _)| l.lines.iter().filter(|l| !l.ignore).count()).sum(),
        predicted_lines: images.iter().map(|(_, p)| p.len()).sum(),
        matched: count(Pairing::Matched),
        missed: count(Pairing::Missed),
        spurious: count(Pairing::Spurious),
        ignored: count(Pairing::Ignored),
        scores,
        bootstrap_resamples: resamples,
        bootstrap_seed: seed,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_task::OcrLabels;

    fn pred(x: f32, text: &str) -> TextLine {
        TextLine { quad: [[x, 0.0], [x + 10.0, 0.0], [x + 10.0, 10.0], [x, 10.0]], text: text.into(), score: 0.9, rotated: false }
    }

    /// Hand-computed: image a (polygons): "NETWT." matched to "NET WT." (1 char edit of 7,
    /// 2 word edits of 2), "CHEDDAR" missed (7 edits of 7, 1 word), a spurious "X" (1
    /// insertion, 1 word insertion), a prediction in the ### region ignored. Image b (no
    /// polygons): "210" exact. Scored: 4 lines, 1 exact. Characters: 1 − (1+7+1+0)/(7+7+0+3)
    /// = 1 − 9/17; words: 1 − (2+1+1+0)/(2+1+0+1) = 0; NED: 1 − (1/7 + 1 + 1 + 0)/4.
    #[test]
    fn figures_and_pairings_by_hand() {
        let body = concat!(
            "a.png\t[{\"transcription\": \"NET WT.\", \"points\": [[0,0],[10,0],[10,10],[0,10]]}, {\"transcription\": \"CHEDDAR\", \"points\": [[50,0],[60,0],[60,10],[50,10]]}, {\"transcription\": \"###\", \"points\": [[30,0],[40,0],[40,10],[30,10]]}]\n",
            "b.png\t[{\"transcription\": \"210\"}]\n"
        );
        let labels = OcrLabels::parse(body, std::path::Path::new("Label.txt")).unwrap();
        let pa = vec![pred(0.0, "NETWT."), pred(100.0, "X"), pred(31.0, "junk")];
        let pb = vec![pred(0.0, "210")];
        let r = ocr_accuracy(&[(&labels.images[0], &pa), (&labels.images[1], &pb)], 200, 7);
        assert_eq!((r.images, r.images_matched_by_polygon_iou, r.images_matched_in_reading_order), (2, 1, 1));
        assert_eq!((r.label_lines, r.predicted_lines, r.matched, r.missed, r.spurious, r.ignored), (3, 4, 2, 1, 1, 1));
        let s = r.scores.unwrap();
        assert_eq!((s.line_accuracy.successes, s.line_accuracy.trials), (1, 4));
        assert!((s.char_accuracy.value - (1.0 - 9.0 / 17.0)).abs() < 1e-12, "{s:?}");
        assert!(s.word_accuracy.value.abs() < 1e-12, "{s:?}");
        assert!((s.one_minus_ned.value - (1.0 - (1.0 / 7.0 + 2.0) / 4.0)).abs() < 1e-12, "{s:?}");
        assert!(s.char_accuracy.ci95_low <= s.char_accuracy.value && s.char_accuracy.value <= s.char_accuracy.ci95_high);
        assert!(s.char_accuracy.ci95_low < s.char_accuracy.ci95_high);
        assert_eq!(r.lines.len(), 5);
        assert!(r.lines.iter().any(|l| l.pairing == Pairing::Ignored && l.prediction.as_deref() == Some("junk") && l.edits.is_none()));
        // Nothing to score: an image labelled empty with no prediction claims no figure.
        let empty = aite_task::OcrLabelledImage { name: "e.png".into(), path: "e.png".into(), lines: vec![] };
        assert_eq!(ocr_accuracy(&[(&empty, &[])], 10, 0).scores, None);
    }
}
