//! The accuracy suite: how often a classification target names the right class.
//!
//! [`evaluate`] runs every sample of a [`Dataset`](aite_data::Dataset) through a
//! [`Target`](aite_target::Target) with a [`PreprocessSpec`](aite_data::PreprocessSpec)
//! and returns an [`AccuracyReport`]: top-1 and top-k with Wilson confidence
//! intervals, every prediction, and every sample that could not be decoded
//! (counted and named, never silently dropped).
//!
//! [`ocr_accuracy`] scores an OCR pipeline's lines against labels
//! ([`aite_task::OcrLabels`]): character and word accuracy and 1 − NED with bootstrap
//! intervals over lines, lines read exactly with a Wilson interval, every line kept.
//!
//! [`detection_accuracy`] scores a detector's boxes against labels
//! ([`aite_task::DetectionLabels`], COCO JSON or YOLO txt) with COCO's protocol: AP@[.5:.95],
//! AP50, AP75, AR, per class, recall at fixed false positives per image.
//!
//! ```no_run
//! # use aite_accuracy::{evaluate, AccuracyConfig};
//! # fn run(target: &mut dyn aite_target::Target, ds: &aite_data::Dataset, spec: &aite_data::PreprocessSpec) {
//! let report = evaluate(target, ds, spec, &AccuracyConfig::default(), &mut |_| {}).unwrap();
//! println!("top-1 {:.1}%", 100.0 * report.top1.value);
//! # }
//! ```

mod detection;
mod evaluate;
mod interval;
mod ocr;

pub use detection::{detection_accuracy, frame_detections, to_frame_pixels, DetectionAccuracyError, DetectionAccuracyReport, DetectionSample};
pub use evaluate::{evaluate, AccuracyConfig, AccuracyError, AccuracyReport, Prediction, SkippedSample};
pub use interval::{wilson, Proportion};
pub use ocr::{ocr_accuracy, score_image, Estimate, OcrAccuracyReport, OcrScores, Pairing, ScoredLine, OCR_BOOTSTRAP_RESAMPLES};
