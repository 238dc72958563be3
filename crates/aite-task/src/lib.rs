//! What a model's outputs mean, and how they become a result.
//!
//! - [`TaskSpec`]: a declarative, serialisable description of the task, recorded in
//!   the evidence like the preprocessing spec: `classifier` (top-5 of the first
//!   output) or `detector` ([`DetectorSpec`]: output layout, box encoding,
//!   coordinates, SSD priors, score threshold, best class or every class per box, candidates
//!   into NMS, NMS IoU per class or over all classes, maximum detections, as Ultralytics'
//!   `non_max_suppression` has them for the YOLO presets). Written
//!   in TOML, as `key=value` pairs, or by preset name ([`PRESETS`]).
//! - [`PriorConfig`]: SSD prior (anchor) boxes generated from a declared config
//!   (input size, strides, minimum box sizes, variances), as the UltraFace authors
//!   generate them.
//! - [`AnchorConfig`]: SSD anchors as MediaPipe's `SsdAnchorsCalculator` generates
//!   them (BlazeFace), decoded with `box_encoding = "anchor-offsets"` (box and keypoints).
//! - [`nms`]: greedy hard non-maximum suppression; [`weighted_nms`]: MediaPipe's
//!   weighted NMS ([`NmsKind`] names the choice in the spec); [`iou`] of two boxes.
//! - [`OcrPipeline`]: PP-OCR end to end (DB text detection, direction classifier, CTC
//!   recognition over the charset stored in the model) over three targets, as
//!   rapidocr-onnxruntime 1.4.4 runs it (a [`TextReader`]); [`text_accuracy`] scores its
//!   lines against labels: [`OcrLabels`] reads PaddleOCR's `Label.txt`, [`match_lines`]
//!   pairs predicted and labelled lines (polygon IoU, or reading order without polygons).
//! - `coco_bbox` (feature `coco`): COCO bbox AP/AR, the twelve pycocotools numbers, through hotcoco;
//!   `coco_bbox_report` adds AP per class and recall at fixed false positives per image.
//! - `read_coco_labels`, `read_yolo_labels` (feature `coco`): detection labels from COCO
//!   instances JSON or YOLO txt, one reader per format.
//!
//! [`Postprocess`] (a spec with its priors generated once) turns a target's output
//! tensors into a [`TaskOutput`]: this is the `postprocess` stage of end-to-end latency.
//!
//! ```
//! use aite_task::TaskSpec;
//! let task = TaskSpec::parse_cli("ultraface-rfb320,score_threshold=0.9").unwrap();
//! let TaskSpec::Detector(d) = &task else { panic!() };
//! assert_eq!(d.score_threshold, 0.9);
//! assert_eq!(d.nms_iou, 0.3);
//! ```

mod anchors;
#[cfg(feature = "coco")]
mod coco;
#[cfg(feature = "coco")]
mod labels;
mod ctc;
mod db;
mod detect;
mod error;
mod ocr;
mod ocr_labels;
mod priors;
mod raster;
mod spec;
mod text_match;

#[cfg(feature = "coco")]
pub use coco::{coco_bbox, coco_bbox_json, coco_bbox_report, ClassAp, CocoDetection, CocoReport, CocoStats, RecallAtFppi, DEFAULT_FPPI};
#[cfg(feature = "coco")]
pub use labels::{read_coco_labels, read_yolo_labels, DetectionLabels, LabelBox, LabelFormat, LabeledImage};
pub use anchors::AnchorConfig;
pub use detect::{iou, nms, weighted_nms, BBox, Detection, NmsKind};
pub use ctc::{edit_distance, text_accuracy, Charset, LineEdits, TextAccuracy};
pub use db::{db_boxes, find_contours, min_area_rect, DbParams, Quad, TextBox};
pub use error::TaskError;
pub use ocr::{BatchedRead, LimitType, OcrModel, OcrPipeline, OcrSpec, OcrStage, OcrTimings, RecBatchReader, TextLine, TextReader};
pub use ocr_labels::{OcrLabelledImage, OcrLabelledLine, OcrLabels};
pub use text_match::{match_lines, polygon_iou, quad_polygon, LineMatching, LinePair, MATCH_IOU};
pub use raster::{perspective_transform, Frame};
pub use priors::{Prior, PriorConfig};
pub use spec::{BoxEncoding, Coordinates, CornerOrder, DetectorSpec, OutputLayout, Postprocess, ScoreActivation, TaskOutput, TaskSpec, PRESETS};
