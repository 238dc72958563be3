//! The robustness suite: does the terminal keep its answers when its input or
//! its deployment changes?
//!
//! This first part owns **failure-mode consistency** ([`consistency`]):
//! - repeatability: the same input N times gives identical outputs;
//! - batch invariance: batch 1 against batch N of the same samples;
//! - agreement between a reference and a deployed target (fp32 vs int8, tract vs
//!   ONNX Runtime, local model vs device endpoint): top-1 agreement, score
//!   differences, SQNR and the list of disagreeing samples;
//! - degenerate frames (black, white, noise, saturated, NaN/Inf): the target must
//!   answer without crashing or returning NaN, and what it answered is recorded;
//! - benign metamorphic relations (small brightness or translation changes) and
//!   their flip rate;
//! - for detectors (an `aite_task` detector task), the same checks on decoded
//!   detections: identical boxes and scores, boxes matched against the reference at
//!   IoU 0.5, the number of detections on degenerate frames;
//! - for OCR pipelines ([`ocr`], any `aite_task::TextReader`): identical lines on
//!   repeats, lines and strings matched against a reference, no text read in
//!   degenerate frames; the corruption sweep on text accuracy is `corruption::ocr`;
//! - split by sample across shards ([`consistency_shard`]: the attacks' partition, per-sample
//!   sums kept so that `aite merge` recombines them into the single run's figures bit for bit).
//!
//! Every check works on the [`Target`](aite_target::Target) trait, so it runs the
//! same against a local engine and a device.

pub mod attack;
pub mod checkpoint;
pub mod consistency;
pub mod consistency_shard;
pub mod corruption;
mod error;
pub mod ocr;

pub use consistency::{
    agreement, batch_invariance, degenerate_frames, metamorphic_flips, repeatability, Agreement, BatchInvariance,
    DegenerateFrame, DegenerateKind, Disagreement, FrameOutcome, FrameVerdict, MetamorphicRelation, MetamorphicResult, Repeatability,
};
pub use consistency::{
    degenerate_detection_limit, detection_agreement, detection_batch_invariance, detection_repeatability, detector_degenerate_frames, match_detections,
    DetectionAgreement, DetectionBatchInvariance, DetectionDisagreement, DetectionRepeatability,
};
pub use consistency::{degenerate_frames_where, detector_degenerate_frames_where, Examination, FrameIou, SampleAgreement};
pub use consistency_shard::{merge_consistency, ConsistencyPart, ConsistencyShard, CONSISTENCY_SHARD_SUITE};
pub use corruption::{corrupt, CorruptionKind, ParameterTable};
pub use attack::{in_shard, merge_attack_reports, run_attack, run_attack_shard, AttackKind, AttackReport, AttackSettings, Channel};
pub use checkpoint::{Checkpoint, CheckpointError};
pub use error::RobustnessError;
