//! The corruption sweep on an OCR pipeline (any [`TextReader`]): text accuracy per
//! (corruption, severity) cell, the mean over the cells (mPC's counterpart, after
//! Michaelis et al. 2019: the task's figure averaged over corruptions and severities)
//! and the relative figure mean corrupted / clean accuracy (rPC's counterpart), each
//! with a percentile-bootstrap interval over images.
//!
//! The figure is character accuracy, `1 − Σ edits / Σ label characters` (1 − CER),
//! with word accuracy and 1 − NED beside it; lines are paired as the accuracy suite
//! pairs them ([`aite_accuracy::score_image`]). Ground truth is labels
//! ([`OcrGroundTruth::Labels`]) or, without labels, the pipeline's own clean lines
//! ([`OcrGroundTruth::CleanPredictions`], matched by polygon IoU), named as pseudo
//! ground truth in the report; clean accuracy is then 1 by construction and the
//! relative figure is not reported. Corruptions are applied to the frame: the pipeline
//! chooses its own input sizes, so there is no fixed model input to corrupt.

use super::detection::{GroundTruthKind, RpcStatus};
use super::{corrupt, sample_seed, CorruptionKind, Interval, IntervalMethod, ParameterTable};
use crate::RobustnessError;
use aite_accuracy::{score_image, ScoredLine};
use aite_target::Cancel;
use aite_task::{Frame, LineEdits, OcrLabelledImage, OcrLabelledLine, TextAccuracy, TextReader};
use image::RgbImage;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Bootstrap resamples of the mean and relative accuracy.
pub const OCR_SWEEP_BOOTSTRAP_RESAMPLES: usize = 500;

/// The cells of an OCR sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrSweepOptions {
    pub kinds: Vec<CorruptionKind>,
    pub severities: Vec<u8>,
    /// `None`: chosen per image by its size ([`ParameterTable::for_size`]).
    pub table: Option<ParameterTable>,
    pub seed: u64,
}

/// What the text is scored against.
#[derive(Debug, Clone, PartialEq)]
pub enum OcrGroundTruth {
    /// Labelled lines per frame (same order as the frames), from `source`.
    Labels { source: String, images: Vec<OcrLabelledImage> },
    /// The pipeline's lines on the clean frames (pseudo ground truth).
    CleanPredictions,
}

/// Text accuracy over the frames, in one cell or on the clean frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OcrFigures {
    pub char_accuracy: f64,
    pub word_accuracy: f64,
    pub one_minus_ned: f64,
    /// Scored lines read exactly, of the scored lines.
    pub line_accuracy: f64,
    pub lines_read: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrCell {
    pub corruption: CorruptionKind,
    pub severity: u8,
    #[serde(flatten)]
    pub figures: OcrFigures,
}

/// The OCR sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrSweepReport {
    pub ground_truth: GroundTruthKind,
    /// "character accuracy" or "character accuracy vs clean predictions".
    pub accuracy_name: String,
    pub samples: usize,
    pub label_lines: usize,
    pub clean: OcrFigures,
    pub cells: Vec<OcrCell>,
    /// Mean character accuracy over the cells, and mean word accuracy.
    pub mean_char_accuracy: Interval,
    pub mean_word_accuracy: Interval,
    /// Mean character accuracy / clean character accuracy, when meaningful.
    pub relative_char_accuracy: Option<Interval>,
    pub relative_status: RpcStatus,
    pub interval: IntervalMethod,
    /// Resamples left out because they drew no labelled character.
    pub resamples_without_ground_truth: usize,
    pub interrupted: bool,
    /// Every scored line, clean then per cell (`None`: clean), for the raw evidence file.
    #[serde(skip)]
    pub raw: Vec<(Option<(CorruptionKind, u8)>, Vec<ScoredLine>)>,
}

impl OcrSweepReport {
    /// One JSON object per scored line: `{"corruption", "severity", ...ScoredLine}`
    /// (clean lines: corruption `clean`, severity 0).
    pub fn lines_jsonl(&self) -> Vec<u8> {
        let mut s = String::new();
        for (cell, lines) in &self.raw {
            let (name, sev) = cell.map(|(k, s)| (k.name(), s)).unwrap_or(("clean", 0));
            for l in lines {
                let mut v = serde_json::to_value(l).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("corruption".into(), name.into());
                    o.insert("severity".into(), sev.into());
                }
                s.push_str(&v.to_string());
                s.push('\n');
            }
        }
        s.into_bytes()
    }
}

fn unsupported(reason: String) -> RobustnessError {
    RobustnessError::Unsupported { check: "OCR corruptions", reason, hint: "check the OCR models and the labels".into() }
}

fn to_frame(img: &RgbImage) -> Frame {
    Frame { width: img.width() as usize, height: img.height() as usize, data: img.as_raw().clone() }
}

/// The figures of the lines of the frames `draw` (with repeats).
fn figures(per_frame: &[Vec<ScoredLine>], draw: &[usize]) -> Option<OcrFigures> {
    let edits: Vec<&LineEdits> = draw.iter().flat_map(|&i| per_frame[i].iter().filter_map(|l| l.edits.as_ref())).collect();
    if edits.iter().all(|e| e.label_chars == 0) {
        return None;
    }
    let read = draw.iter().map(|&i| per_frame[i].iter().filter(|l| l.prediction.is_some()).count()).sum();
    TextAccuracy::from_edits(edits).map(|t| OcrFigures { char_accuracy: t.char_accuracy, word_accuracy: t.word_accuracy, one_minus_ned: t.one_minus_ned, line_accuracy: t.exact_lines as f64 / t.lines as f64, lines_read: read })
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Run every cell on the frames `(id, 8-bit RGB)`.
pub fn ocr_sweep(reader: &mut dyn TextReader, frames: &[(String, RgbImage)], options: &OcrSweepOptions, ground_truth: &OcrGroundTruth, resamples: usize, cancel: &Cancel) -> Result<OcrSweepReport, RobustnessError> {
    if let Some(s) = options.severities.iter().find(|s| !(1..=5).contains(*s)) {
        return Err(unsupported(format!("severity {s} is outside 1..=5")));
    }
    if options.kinds.is_empty() || options.severities.is_empty() {
        return Err(unsupported("no corruption or severity selected".into()));
    }
    if frames.is_empty() {
        return Err(RobustnessError::NoSamples { check: "OCR corruptions" });
    }
    let read = |reader: &mut dyn TextReader, img: &RgbImage| reader.read_text(&to_frame(img)).map_err(|e| unsupported(e.to_string()));
    let mut clean_lines = vec![];
    for (_, img) in frames {
        clean_lines.push(read(reader, img)?);
    }
    let (labels, kind): (Vec<OcrLabelledImage>, GroundTruthKind) = match ground_truth {
        OcrGroundTruth::Labels { source, images } => {
            if images.len() != frames.len() {
                return Err(unsupported(format!("{source} labels {} images, the sweep has {}", images.len(), frames.len())));
            }
            (images.clone(), GroundTruthKind::Labels { source: source.clone() })
        }
        OcrGroundTruth::CleanPredictions => (
            frames
                .iter()
                .zip(&clean_lines)
                .map(|((id, _), lines)| OcrLabelledImage { name: id.clone(), path: id.into(), lines: lines.iter().map(|l| OcrLabelledLine { text: l.text.clone(), polygon: Some(aite_task::quad_polygon(l)), ignore: false }).collect() })
                .collect(),
            GroundTruthKind::CleanPredictions,
        ),
    };
    let score = |lines: &[Vec<aite_task::TextLine>]| -> Vec<Vec<ScoredLine>> { labels.iter().zip(lines).map(|(l, p)| score_image(l, p)).collect() };
    let clean_scored = score(&clean_lines);
    let all: Vec<usize> = (0..frames.len()).collect();
    let Some(clean) = figures(&clean_scored, &all) else {
        return Err(unsupported(match kind {
            GroundTruthKind::CleanPredictions => "the pipeline reads no text on the clean frames, so there is no pseudo ground truth to measure corruptions against".into(),
            _ => "the labels hold no character on these frames".into(),
        }));
    };
    let (mut cells, mut cell_scored, mut keys, mut interrupted) = (vec![], vec![], vec![], false);
    'cells: for &k in &options.kinds {
        for &s in &options.severities {
            let mut lines = vec![];
            for (i, (_, img)) in frames.iter().enumerate() {
                if cancel.is_cancelled() {
                    interrupted = true;
                    break 'cells;
                }
                let table = options.table.unwrap_or_else(|| ParameterTable::for_size(img.width() as usize, img.height() as usize));
                lines.push(read(reader, &corrupt(img, k, s, table, sample_seed(options.seed, k, s, i)))?);
            }
            let scored = score(&lines);
            let f = figures(&scored, &all).expect("the clean frames hold label characters");
            cells.push(OcrCell { corruption: k, severity: s, figures: f });
            cell_scored.push(scored);
            keys.push(Some((k, s)));
        }
    }
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    let m_char = mean(&cells.iter().map(|c| c.figures.char_accuracy).collect::<Vec<_>>());
    let m_word = mean(&cells.iter().map(|c| c.figures.word_accuracy).collect::<Vec<_>>());
    let relative_status = match kind {
        GroundTruthKind::CleanPredictions => RpcStatus::CleanApIsOneByConstruction,
        _ if clean.char_accuracy <= 0.0 => RpcStatus::CleanApIsZero,
        _ => RpcStatus::Reported,
    };
    let mut rng = StdRng::seed_from_u64(options.seed);
    let (mut b_char, mut b_word, mut b_rel, mut skipped) = (vec![], vec![], vec![], 0);
    for _ in 0..resamples {
        let draw: Vec<usize> = (0..frames.len()).map(|_| rng.gen_range(0..frames.len())).collect();
        let Some(c) = figures(&clean_scored, &draw) else {
            skipped += 1;
            continue;
        };
        let fs: Vec<OcrFigures> = cell_scored.iter().map(|s| figures(s, &draw).expect("same draw, same label characters")).collect();
        let mc = mean(&fs.iter().map(|f| f.char_accuracy).collect::<Vec<_>>());
        b_char.push(mc);
        b_word.push(mean(&fs.iter().map(|f| f.word_accuracy).collect::<Vec<_>>()));
        if c.char_accuracy > 0.0 {
            b_rel.push(mc / c.char_accuracy);
        }
    }
    let interval = |value: f64, mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        Interval { value, ci95_low: percentile(&v, 0.025), ci95_high: percentile(&v, 0.975) }
    };
    Ok(OcrSweepReport {
        accuracy_name: match kind {
            GroundTruthKind::Labels { .. } => "character accuracy",
            _ => "character accuracy vs clean predictions",
        }
        .into(),
        ground_truth: kind,
        samples: frames.len(),
        label_lines: labels.iter().map(|l| l.lines.iter().filter(|l| !l.ignore).count()).sum(),
        clean,
        cells,
        mean_char_accuracy: interval(m_char, b_char),
        mean_word_accuracy: interval(m_word, b_word),
        relative_char_accuracy: (relative_status == RpcStatus::Reported).then(|| interval(m_char / clean.char_accuracy, b_rel)),
        relative_status,
        interval: IntervalMethod::BootstrapOverImages { resamples, seed: options.seed },
        resamples_without_ground_truth: skipped,
        interrupted,
        raw: std::iter::once((None, clean_scored.concat())).chain(keys.into_iter().zip(cell_scored.into_iter().map(|s| s.concat()))).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_task::{TaskError, TextLine};

    /// Reads "HELLO" on a bright frame and "HELL" when the frame's mean drops below 150.
    struct Dimming;

    impl TextReader for Dimming {
        fn read_text(&mut self, rgb: &Frame) -> Result<Vec<TextLine>, TaskError> {
            let mean = rgb.data.iter().map(|&v| v as f64).sum::<f64>() / rgb.data.len() as f64;
            let text = if mean >= 150.0 { "HELLO" } else { "HELL" };
            Ok(vec![TextLine { quad: [[0.0, 0.0], [30.0, 0.0], [30.0, 10.0], [0.0, 10.0]], text: text.into(), score: 0.9, rotated: false }])
        }
    }

    /// Hand-computed: labels "HELLO" on three 200-grey frames. Clean and brightness s1
    /// (brighter) read "HELLO": accuracy 1; underexposure s5 darkens the frame below 150:
    /// "HELL", 1 edit of 5 characters (0.8), 1 word edit of 1 (0). Mean over the two cells
    /// 0.9, relative 0.9 / 1. Every frame is the same, so every bootstrap resample is too.
    #[test]
    fn toy_reader_figures_by_hand() {
        let grey = RgbImage::from_pixel(32, 32, image::Rgb([200, 200, 200]));
        let dark = corrupt(&grey, CorruptionKind::Underexposure, 5, ParameterTable::ImagenetC, 0);
        assert!(dark.as_raw().iter().map(|&v| v as f64).sum::<f64>() / dark.as_raw().len() as f64 <= 150.0);
        let frames: Vec<(String, RgbImage)> = (0..3).map(|i| (format!("f{i}"), grey.clone())).collect();
        let labels = OcrGroundTruth::Labels {
            source: "Label.txt".into(),
            images: frames.iter().map(|(id, _)| OcrLabelledImage { name: id.clone(), path: id.into(), lines: vec![OcrLabelledLine { text: "HELLO".into(), polygon: None, ignore: false }] }).collect(),
        };
        let options = OcrSweepOptions { kinds: vec![CorruptionKind::Brightness, CorruptionKind::Underexposure], severities: vec![5], table: Some(ParameterTable::ImagenetC), seed: 3 };
        let r = ocr_sweep(&mut Dimming, &frames, &options, &labels, 50, &Cancel::new()).unwrap();
        assert_eq!((r.clean.char_accuracy, r.clean.word_accuracy), (1.0, 1.0));
        let cell = |k: CorruptionKind| r.cells.iter().find(|c| c.corruption == k).unwrap().figures;
        assert_eq!(cell(CorruptionKind::Brightness).char_accuracy, 1.0);
        assert!((cell(CorruptionKind::Underexposure).char_accuracy - 0.8).abs() < 1e-12);
        assert_eq!(cell(CorruptionKind::Underexposure).word_accuracy, 0.0);
        assert!((r.mean_char_accuracy.value - 0.9).abs() < 1e-12 && (r.mean_word_accuracy.value - 0.5).abs() < 1e-12);
        let rel = r.relative_char_accuracy.unwrap();
        assert!((rel.value - 0.9).abs() < 1e-12 && (rel.ci95_low - 0.9).abs() < 1e-12 && (rel.ci95_high - 0.9).abs() < 1e-12, "{rel:?}");
        assert_eq!((r.accuracy_name.as_str(), &r.relative_status), ("character accuracy", &RpcStatus::Reported));
        // 3 clean + 2 x 3 corrupted scored lines in the raw evidence.
        assert_eq!(String::from_utf8(r.lines_jsonl()).unwrap().lines().count(), 9);
        // Without labels: the clean lines are the pseudo ground truth; the relative figure is not reported.
        let r = ocr_sweep(&mut Dimming, &frames, &options, &OcrGroundTruth::CleanPredictions, 50, &Cancel::new()).unwrap();
        assert_eq!((r.accuracy_name.as_str(), r.relative_char_accuracy, &r.relative_status), ("character accuracy vs clean predictions", None, &RpcStatus::CleanApIsOneByConstruction));
        assert!((r.mean_char_accuracy.value - 0.9).abs() < 1e-12);
    }
}
