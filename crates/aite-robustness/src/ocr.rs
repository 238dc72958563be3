//! Failure-mode consistency of an OCR pipeline (any [`TextReader`]), on its text lines:
//!
//! - repeatability: the same frame read N times gives bit-identical lines (boxes,
//!   strings, scores, turns);
//! - agreement of a deployed reader with a reference (tract vs ONNX Runtime, int8 vs
//!   fp32, local vs device): lines matched by polygon IoU >= 0.5 with the reference's
//!   lines as pseudo labels, identical strings, and the deployed text's character
//!   accuracy against the reference's (CER between them = 1 − it);
//! - batch invariance: the same frames read with the recogniser at batch 1 and at a
//!   larger batch give the same string per line (matched by identical box), and the
//!   scores' largest difference; only lines the batched read recognised in a call of 2 or
//!   more crops count (none: not applicable, the recogniser never ran a batch);
//! - degenerate frames (black, white, uniform noise, saturated colour blocks): no text is
//!   graceful, and so is a clean refusal (an error, not a crash); any "text" read in a
//!   frame that holds none is a finding. NaN, infinities and wrong sizes cannot be built
//!   for a reader of 8-bit frames of any size: not applicable, said so.

use crate::consistency::{DegenerateKind, FrameVerdict};
use crate::RobustnessError;
use aite_accuracy::{score_image, wilson, Pairing, Proportion};
use aite_task::{BatchedRead, Frame, OcrLabelledImage, OcrLabelledLine, Quad, RecBatchReader, TaskError, TextLine, TextReader};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

fn failed(check: &'static str, e: TaskError) -> RobustnessError {
    RobustnessError::Unsupported { check, reason: e.to_string(), hint: "check the OCR models (--det, --rec, --cls) and the task (--task)".into() }
}

/// Repeatability of an OCR pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrRepeatability {
    pub frames: usize,
    pub repeats: usize,
    /// Lines read on the first run of every frame.
    pub lines: usize,
    /// Frames whose every repeat was bit-identical to the first.
    pub identical_frames: usize,
    /// Frames where a repeat differed (line count, a string, a box or a score).
    pub differing: Vec<String>,
    /// Largest |score difference| and box-corner difference of lines at the same position.
    pub max_score_diff: f64,
    pub max_box_diff: f32,
    pub identical: bool,
}

/// Read every frame `repeats` times (at least 2).
pub fn ocr_repeatability(reader: &mut dyn TextReader, frames: &[(String, Frame)], repeats: usize) -> Result<OcrRepeatability, RobustnessError> {
    const CHECK: &str = "OCR repeatability";
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: CHECK });
    }
    let repeats = repeats.max(2);
    let (mut lines, mut identical_frames, mut differing, mut score, mut boxes) = (0, 0, vec![], 0f64, 0f32);
    for (id, f) in frames {
        let first = reader.read_text(f).map_err(|e| failed(CHECK, e))?;
        lines += first.len();
        let mut same = true;
        for _ in 1..repeats {
            let again = reader.read_text(f).map_err(|e| failed(CHECK, e))?;
            same &= again == first;
            for (a, b) in first.iter().zip(&again) {
                score = score.max((a.score - b.score).abs());
                for (p, q) in a.quad.iter().zip(&b.quad) {
                    boxes = boxes.max((p[0] - q[0]).abs()).max((p[1] - q[1]).abs());
                }
            }
        }
        if same {
            identical_frames += 1;
        } else {
            differing.push(id.clone());
        }
    }
    Ok(OcrRepeatability { frames: frames.len(), repeats, lines, identical_frames, identical: differing.is_empty(), differing, max_score_diff: score, max_box_diff: boxes })
}

/// One line whose reading changed with the recogniser's batch (`None`: no line at that box).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrBatchDifference {
    pub id: String,
    pub quad: Quad,
    pub single: Option<String>,
    pub batched: Option<String>,
}

/// The recogniser at batch 1 against the same frames at `batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrBatchInvariance {
    pub images: usize,
    /// Crops per recogniser call of the batched read (the single read's is 1).
    pub batch: usize,
    pub lines_single: usize,
    pub lines_batched: usize,
    /// Boxes (lines of either read) whose crop the batched read recognised in a call of 2 or
    /// more crops: the only lines the check examines.
    pub lines_in_batches: usize,
    /// Of those, lines at the same box in both reads.
    pub lines_compared: usize,
    /// Of those, compared lines with different strings, plus lines only one read kept.
    pub differing_lines: usize,
    /// The first [`MAX_LISTED_DIFFERENCES`] of them.
    pub differing: Vec<OcrBatchDifference>,
    pub strings_identical: bool,
    /// Largest |score difference| of compared lines.
    pub max_abs_score_diff: f64,
}

pub const MAX_LISTED_DIFFERENCES: usize = 10;

/// What the batch-invariance check found.
#[derive(Debug, Clone, PartialEq)]
pub enum OcrBatchOutcome {
    Compared(OcrBatchInvariance),
    /// Neither read found a text line on any frame: nothing reached the recogniser.
    NoText { images: usize },
    /// Lines were read, but no frame had two crops: the batched read's recogniser calls all
    /// held one crop, as the single read's.
    NoBatch { images: usize, lines: usize },
}

/// Read every frame with the recogniser at batch 1, then at `batch` (at least 2); the
/// reader's own batch is restored afterwards.
pub fn ocr_batch_invariance(reader: &mut dyn RecBatchReader, frames: &[(String, Frame)], batch: usize) -> Result<OcrBatchOutcome, RobustnessError> {
    const CHECK: &str = "OCR batch invariance";
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: CHECK });
    }
    let (configured, batch) = (reader.rec_batch(), batch.max(2));
    let read_at = |reader: &mut dyn RecBatchReader, n: usize| -> Result<Vec<BatchedRead>, RobustnessError> {
        reader.set_rec_batch(n);
        frames.iter().map(|(_, f)| reader.read_batched(f).map_err(|e| failed(CHECK, e))).collect()
    };
    let single = read_at(reader, 1);
    let batched = single.is_ok().then(|| read_at(reader, batch));
    reader.set_rec_batch(configured);
    let (single, batched) = (single?, batched.expect("read after the single read")?);
    let (lines_single, lines_batched): (usize, usize) = (single.iter().map(|r| r.lines.len()).sum(), batched.iter().map(|r| r.lines.len()).sum());
    if lines_single + lines_batched == 0 {
        return Ok(OcrBatchOutcome::NoText { images: frames.len() });
    }
    let (mut in_batches, mut compared, mut differing_lines, mut differing, mut score) = (0, 0, 0, vec![], 0f64);
    let mut differ = |d: OcrBatchDifference| {
        differing_lines += 1;
        if differing.len() < MAX_LISTED_DIFFERENCES {
            differing.push(d);
        }
    };
    for (((id, _), s), b) in frames.iter().zip(&single).zip(&batched) {
        // A box counts only when the batched read recognised its crop with others.
        let batched_call = |q: &Quad| b.calls.iter().find(|c| c.0 == *q).is_some_and(|c| c.1 >= 2);
        let (s, b) = (&s.lines, &b.lines);
        for l in s.iter().filter(|l| batched_call(&l.quad)) {
            in_batches += 1;
            match b.iter().find(|m| m.quad == l.quad) {
                Some(m) => {
                    compared += 1;
                    score = score.max((l.score - m.score).abs());
                    if m.text != l.text {
                        differ(OcrBatchDifference { id: id.clone(), quad: l.quad, single: Some(l.text.clone()), batched: Some(m.text.clone()) });
                    }
                }
                None => differ(OcrBatchDifference { id: id.clone(), quad: l.quad, single: Some(l.text.clone()), batched: None }),
            }
        }
        for m in b.iter().filter(|m| batched_call(&m.quad) && !s.iter().any(|l| l.quad == m.quad)) {
            in_batches += 1;
            differ(OcrBatchDifference { id: id.clone(), quad: m.quad, single: None, batched: Some(m.text.clone()) });
        }
    }
    if in_batches == 0 {
        return Ok(OcrBatchOutcome::NoBatch { images: frames.len(), lines: lines_single.max(lines_batched) });
    }
    Ok(OcrBatchOutcome::Compared(OcrBatchInvariance {
        images: frames.len(),
        batch,
        lines_single,
        lines_batched,
        lines_in_batches: in_batches,
        lines_compared: compared,
        strings_identical: differing_lines == 0,
        differing_lines,
        differing,
        max_abs_score_diff: score,
    }))
}

/// The reference's lines as pseudo labels (polygons, so matching is by IoU).
fn as_labels(id: &str, lines: &[TextLine]) -> OcrLabelledImage {
    OcrLabelledImage {
        name: id.into(),
        path: id.into(),
        lines: lines.iter().map(|l| OcrLabelledLine { text: l.text.clone(), polygon: Some(aite_task::quad_polygon(l)), ignore: false }).collect(),
    }
}

/// One frame on which the two readers disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrDisagreement {
    pub id: String,
    pub reference_lines: usize,
    pub deployed_lines: usize,
    pub matched: usize,
    pub same_text: usize,
    /// (reference, deployed) strings of matched lines that differ.
    pub differing_texts: Vec<(String, String)>,
}

/// How closely a deployed OCR pipeline follows its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrAgreement {
    pub reference: String,
    pub deployed: String,
    pub frames: usize,
    pub reference_lines: usize,
    pub deployed_lines: usize,
    /// Pairs at polygon IoU >= 0.5.
    pub matched: usize,
    /// Matched pairs with identical strings.
    pub same_text: usize,
    pub unmatched_reference: usize,
    pub unmatched_deployed: usize,
    pub min_iou: Option<f64>,
    pub max_score_diff: Option<f64>,
    /// `1 − Σ edits / Σ reference characters` over matched and unmatched lines (the
    /// reference as pseudo labels); `None` when neither reads anything.
    pub char_accuracy_vs_reference: Option<f64>,
    /// Frames on which every line of either reader is matched with an identical string.
    pub frame_agreement: Proportion,
    pub disagreements: Vec<OcrDisagreement>,
}

pub fn ocr_agreement(reference: &mut dyn TextReader, deployed: &mut dyn TextReader, names: (&str, &str), frames: &[(String, Frame)]) -> Result<OcrAgreement, RobustnessError> {
    const CHECK: &str = "OCR agreement";
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: CHECK });
    }
    let (mut n_ref, mut n_dep, mut matched, mut same_text, mut un_ref, mut un_dep, mut agree) = (0, 0, 0, 0, 0, 0, 0);
    let (mut min_iou, mut max_score): (Option<f64>, Option<f64>) = (None, None);
    let (mut edits, mut chars) = (0usize, 0usize);
    let mut disagreements = vec![];
    for (id, f) in frames {
        let r = reference.read_text(f).map_err(|e| failed(CHECK, e))?;
        let d = deployed.read_text(f).map_err(|e| failed(CHECK, e))?;
        let scored = score_image(&as_labels(id, &r), &d);
        let (mut m, mut s, mut differing) = (0, 0, vec![]);
        for l in &scored {
            if let Some(e) = l.edits {
                edits += e.char_edits;
                chars += e.label_chars;
            }
            match l.pairing {
                Pairing::Matched => {
                    m += 1;
                    let iou = l.iou.unwrap_or(0.0);
                    min_iou = Some(min_iou.map_or(iou, |v| v.min(iou)));
                    if l.label == l.prediction {
                        s += 1;
                    } else {
                        differing.push((l.label.clone().unwrap_or_default(), l.prediction.clone().unwrap_or_default()));
                    }
                }
                Pairing::Missed => un_ref += 1,
                Pairing::Spurious | Pairing::Ignored => un_dep += 1,
            }
        }
        // Score differences of matched pairs: the deployed line's score against the
        // reference line it matched (found by its box).
        for l in scored.iter().filter(|l| l.pairing == Pairing::Matched) {
            if let (Some(q), Some(sd)) = (l.quad, l.score) {
                let best = r.iter().map(|x| (aite_task::polygon_iou(&aite_task::quad_polygon(x), &q.map(|p| [p[0] as f64, p[1] as f64])), x.score)).max_by(|a, b| a.0.total_cmp(&b.0));
                if let Some((_, sr)) = best {
                    let diff = (sr - sd).abs();
                    max_score = Some(max_score.map_or(diff, |v| v.max(diff)));
                }
            }
        }
        n_ref += r.len();
        n_dep += d.len();
        matched += m;
        same_text += s;
        if s == r.len() && s == d.len() {
            agree += 1;
        } else {
            disagreements.push(OcrDisagreement { id: id.clone(), reference_lines: r.len(), deployed_lines: d.len(), matched: m, same_text: s, differing_texts: differing });
        }
    }
    let char_accuracy_vs_reference = (n_ref + n_dep > 0).then(|| if chars == 0 { if edits == 0 { 1.0 } else { 0.0 } } else { 1.0 - edits as f64 / chars as f64 });
    Ok(OcrAgreement {
        reference: names.0.into(),
        deployed: names.1.into(),
        frames: frames.len(),
        reference_lines: n_ref,
        deployed_lines: n_dep,
        matched,
        same_text,
        unmatched_reference: un_ref,
        unmatched_deployed: un_dep,
        min_iou,
        max_score_diff: max_score,
        char_accuracy_vs_reference,
        frame_agreement: wilson(agree, frames.len()),
        disagreements,
    })
}

/// What an OCR pipeline did with a degenerate frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum OcrFrameOutcome {
    /// It answered: `texts` are the lines it read (none is the right answer).
    Read { texts: Vec<String> },
    /// It returned an error (a clean refusal).
    Rejected { error: String },
    Crashed { message: String },
    NotApplicable { reason: String },
}

/// One degenerate frame and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrDegenerateFrame {
    pub kind: DegenerateKind,
    pub outcome: OcrFrameOutcome,
    pub elapsed_ms: Option<f64>,
    pub verdict: FrameVerdict,
}

impl OcrDegenerateFrame {
    pub fn new(kind: DegenerateKind, outcome: OcrFrameOutcome, elapsed_ms: Option<f64>) -> Self {
        let verdict = match &outcome {
            OcrFrameOutcome::Read { texts } if texts.is_empty() => FrameVerdict::Graceful,
            OcrFrameOutcome::Rejected { .. } => FrameVerdict::Graceful,
            OcrFrameOutcome::Read { .. } | OcrFrameOutcome::Crashed { .. } => FrameVerdict::NotGraceful,
            OcrFrameOutcome::NotApplicable { .. } => FrameVerdict::NotApplicable,
        };
        OcrDegenerateFrame { kind, outcome, elapsed_ms, verdict }
    }
}

/// The degenerate frames, `width x height`, noise from `seed`.
pub fn ocr_degenerate_frames(reader: &mut dyn TextReader, width: usize, height: usize, seed: u64) -> Vec<OcrDegenerateFrame> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = width * height;
    let noise: Vec<u8> = (0..n * 3).map(|_| rng.gen_range(0..=255u8)).collect();
    let saturated: Vec<u8> = (0..n).flat_map(|p| [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]][((p % width) * 4 / width.max(1)).min(3)]).collect();
    let frames = [(DegenerateKind::AllBlack, vec![0u8; n * 3]), (DegenerateKind::AllWhite, vec![255u8; n * 3]), (DegenerateKind::UniformNoise, noise), (DegenerateKind::Saturated, saturated)];
    let mut out = vec![];
    for (kind, data) in frames {
        let Some(frame) = Frame::new(width, height, data) else {
            out.push(OcrDegenerateFrame::new(kind, OcrFrameOutcome::NotApplicable { reason: format!("no {width}x{height} frame can be built") }, None));
            continue;
        };
        let t = Instant::now();
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| reader.read_text(&frame)));
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let outcome = match answer {
            Ok(Ok(lines)) => OcrFrameOutcome::Read { texts: lines.into_iter().map(|l| l.text).collect() },
            Ok(Err(e)) => OcrFrameOutcome::Rejected { error: e.to_string() },
            Err(p) => OcrFrameOutcome::Crashed { message: p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into()) },
        };
        out.push(OcrDegenerateFrame::new(kind, outcome, Some(ms)));
    }
    for kind in [DegenerateKind::Nan, DegenerateKind::PositiveInfinity, DegenerateKind::NegativeInfinity, DegenerateKind::WrongSize] {
        out.push(OcrDegenerateFrame::new(kind, OcrFrameOutcome::NotApplicable { reason: "the OCR pipeline reads 8-bit frames of any size: no NaN, infinity or wrong-size frame exists for it".into() }, None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads one line per 100 px of mean brightness ("A" at x 0, "B" at x 20, ...), with a
    /// score that drifts by `drift` per call and a text that it misreads when `misread`.
    struct Toy {
        calls: usize,
        drift: f64,
        misread: bool,
    }

    impl TextReader for Toy {
        fn read_text(&mut self, rgb: &Frame) -> Result<Vec<TextLine>, TaskError> {
            self.calls += 1;
            let mean = rgb.data.iter().map(|&v| v as f64).sum::<f64>() / rgb.data.len() as f64;
            let noisy = rgb.data.windows(2).filter(|w| w[0] != w[1]).count() > rgb.data.len() / 2;
            let n = if noisy { 1 } else { (mean / 100.0) as usize };
            Ok((0..n)
                .map(|i| {
                    let x = 20.0 * i as f32;
                    let text = if self.misread && i == 0 { "8".to_string() } else { char::from(b'A' + i as u8).to_string() };
                    TextLine { quad: [[x, 0.0], [x + 10.0, 0.0], [x + 10.0, 10.0], [x, 10.0]], text, score: 0.9 - self.drift * self.calls as f64, rotated: false }
                })
                .collect())
        }
    }

    fn frame(v: u8) -> (String, Frame) {
        (format!("grey{v}"), Frame::new(8, 8, vec![v; 8 * 8 * 3]).unwrap())
    }

    #[test]
    fn repeatability_sees_a_drifting_score() {
        let frames = vec![frame(150), frame(250)];
        let r = ocr_repeatability(&mut Toy { calls: 0, drift: 0.0, misread: false }, &frames, 3).unwrap();
        assert!(r.identical && r.identical_frames == 2 && r.lines == 3, "{r:?}");
        let r = ocr_repeatability(&mut Toy { calls: 0, drift: 0.01, misread: false }, &frames, 3).unwrap();
        assert!(!r.identical && r.differing == vec!["grey150", "grey250"], "{r:?}");
        // Calls 1..3 on frame 1: scores 0.89, 0.88, 0.87 -> largest difference from the first 0.02.
        assert!((r.max_score_diff - 0.02).abs() < 1e-9, "{r:?}");
    }

    /// A stand-in whose recogniser reads each line by its position in its batch: line `i`
    /// of a frame is "A" at batch 1, and the letter of `i % batch` at a larger batch.
    struct ByBatchPosition {
        batch: usize,
        lines: usize,
    }

    impl TextReader for ByBatchPosition {
        fn read_text(&mut self, _: &Frame) -> Result<Vec<TextLine>, TaskError> {
            Ok((0..self.lines)
                .map(|i| {
                    let (x, k) = (20.0 * i as f32, i % self.batch);
                    TextLine { quad: [[x, 0.0], [x + 10.0, 0.0], [x + 10.0, 10.0], [x, 10.0]], text: char::from(b'A' + k as u8).to_string(), score: 0.9 - 0.1 * k as f64, rotated: false }
                })
                .collect())
        }
    }

    impl RecBatchReader for ByBatchPosition {
        fn rec_batch(&self) -> usize {
            self.batch
        }
        fn set_rec_batch(&mut self, n: usize) {
            self.batch = n;
        }
        fn read_batched(&mut self, f: &Frame) -> Result<BatchedRead, TaskError> {
            let lines = self.read_text(f)?;
            // Calls of `batch` crops in line order, the last one holding the rest.
            let calls = (0..lines.len()).map(|i| (lines[i].quad, self.batch.min(lines.len() - i / self.batch * self.batch))).collect();
            Ok(BatchedRead { lines, calls })
        }
    }

    #[test]
    fn batch_invariance_sees_a_batch_position_dependent_recogniser() {
        let frames = vec![frame(100), frame(200)];
        let mut r = ByBatchPosition { batch: 6, lines: 3 };
        let OcrBatchOutcome::Compared(b) = ocr_batch_invariance(&mut r, &frames, 6).unwrap() else { panic!() };
        // Per frame: lines 1 and 2 read "B" and "C" at batch 6, "A" at batch 1.
        assert_eq!((b.images, b.batch, b.lines_in_batches, b.lines_compared, b.differing_lines, b.strings_identical), (2, 6, 6, 6, 4, false), "{b:?}");
        assert_eq!((b.differing[0].single.as_deref(), b.differing[0].batched.as_deref()), (Some("A"), Some("B")));
        assert!((b.max_abs_score_diff - 0.2).abs() < 1e-9, "{b:?}");
        assert_eq!(r.batch, 6, "the reader's batch is restored");
        // One line per frame: every recogniser call of the "batched" read held one crop, no
        // batch was examined, never identical.
        assert_eq!(ocr_batch_invariance(&mut ByBatchPosition { batch: 6, lines: 1 }, &frames, 6).unwrap(), OcrBatchOutcome::NoBatch { images: 2, lines: 2 });
        // Seven lines at batch 6: a call of 6 and a call of 1; only the six read together count.
        let OcrBatchOutcome::Compared(b) = ocr_batch_invariance(&mut ByBatchPosition { batch: 6, lines: 7 }, &frames, 6).unwrap() else { panic!() };
        assert_eq!((b.lines_single, b.lines_in_batches, b.lines_compared, b.differing_lines), (14, 12, 12, 10), "{b:?}");
        // No line anywhere: nothing compared, never identical.
        assert_eq!(ocr_batch_invariance(&mut ByBatchPosition { batch: 6, lines: 0 }, &frames, 6).unwrap(), OcrBatchOutcome::NoText { images: 2 });
    }

    #[test]
    fn agreement_counts_a_misread_line() {
        // Frame grey250 (2 lines): the deployed reader reads "8" for "A": matched 2, same 1;
        // CER between them 1 edit of 2 reference characters. Frame grey150: same misread.
        let frames = vec![frame(150), frame(250)];
        let mut reference = Toy { calls: 0, drift: 0.0, misread: false };
        let mut deployed = Toy { calls: 0, drift: 0.0, misread: true };
        let a = ocr_agreement(&mut reference, &mut deployed, ("ref", "dep"), &frames).unwrap();
        assert_eq!((a.reference_lines, a.deployed_lines, a.matched, a.same_text, a.unmatched_reference, a.unmatched_deployed), (3, 3, 3, 1, 0, 0));
        assert!((a.char_accuracy_vs_reference.unwrap() - (1.0 - 2.0 / 3.0)).abs() < 1e-12, "{a:?}");
        assert_eq!((a.frame_agreement.successes, a.disagreements.len()), (0, 2));
        assert_eq!(a.disagreements[1].differing_texts, vec![("A".to_string(), "8".to_string())]);
        let same = ocr_agreement(&mut Toy { calls: 0, drift: 0.0, misread: false }, &mut Toy { calls: 0, drift: 0.0, misread: false }, ("a", "b"), &frames).unwrap();
        assert_eq!((same.frame_agreement.successes, same.max_score_diff, same.char_accuracy_vs_reference), (2, Some(0.0), Some(1.0)));
    }

    #[test]
    fn text_in_noise_or_white_is_a_finding() {
        let d = ocr_degenerate_frames(&mut Toy { calls: 0, drift: 0.0, misread: false }, 16, 16, 1);
        let v = |k: DegenerateKind| d.iter().find(|f| f.kind == k).unwrap().verdict;
        assert_eq!(v(DegenerateKind::AllBlack), FrameVerdict::Graceful);
        // White (mean 255): 2 lines read; noise: 1 line.
        assert_eq!(v(DegenerateKind::AllWhite), FrameVerdict::NotGraceful);
        assert_eq!(v(DegenerateKind::UniformNoise), FrameVerdict::NotGraceful);
        assert_eq!(v(DegenerateKind::Nan), FrameVerdict::NotApplicable);
        assert_eq!(d.len(), 8);
        let refused = OcrDegenerateFrame::new(DegenerateKind::AllBlack, OcrFrameOutcome::Rejected { error: "no".into() }, None);
        assert_eq!(refused.verdict, FrameVerdict::Graceful);
    }
}
