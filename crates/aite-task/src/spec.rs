//! The declarative task spec: what a model's outputs mean and how they are decoded.
//!
//! One reader for presets, TOML and command-line `key=value` pairs, mirroring
//! `aite_data::PreprocessSpec`. The spec is serialised into `config.json`.

use crate::{AnchorConfig, BBox, Detection, NmsKind, Prior, PriorConfig, TaskError};
use aite_target::{top_k, Tensor};
use serde::{Deserialize, Serialize};

/// What the model computes, and so what its postprocess stage does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum TaskSpec {
    /// Class scores in the first output; the result is its top-5.
    #[default]
    Classifier,
    /// Boxes and scores, decoded, thresholded and suppressed.
    Detector(DetectorSpec),
    /// PP-OCR text detection + direction + recognition ([`crate::OcrPipeline`]); alone,
    /// the postprocess stage is the DB post-process of the detector's map.
    Ocr(crate::OcrSpec),
}

/// How box and score tensors are laid out among the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputLayout {
    /// Two tensors: scores `[1, N, C]` (output `scores_output`) and boxes `[1, N, 4]` (output `boxes_output`).
    #[default]
    Separate,
    /// One tensor `[1, N, 4 + C]` (output `boxes_output`): four box values, the objectness
    /// when declared, then `C` scores; `[1, 4 + C, N]` when declared `transposed`.
    Packed,
    /// A model that thresholds and suppresses in its graph (TFLite `TFLite_Detection_PostProcess`,
    /// TF Object Detection API): corner boxes `[1, N, 4]`, class indices `[1, N]`, scores `[1, N]`
    /// and optionally the count of valid rows `[1]`.
    #[serde(rename = "post-processed")]
    PostProcessed,
}

/// Order of the four values of `box_encoding = "corners"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CornerOrder {
    /// `x_min, y_min, x_max, y_max`.
    #[default]
    Xyxy,
    /// `y_min, x_min, y_max, x_max` (TensorFlow's order).
    Yxyx,
}

/// What the four box values of an anchor are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BoxEncoding {
    /// `x_min, y_min, x_max, y_max`.
    #[default]
    Corners,
    /// `cx, cy, w, h`.
    CentreSize,
    /// SSD regression offsets against the declared `priors`, with their variances.
    SsdOffsets,
    /// MediaPipe `TensorsToDetectionsCalculator` offsets against the declared `[anchors]`:
    /// `x, y, w, h` (the `reverse_output_order` layout) divided by `box_scale`, centre relative
    /// to the anchor's centre, size relative to the anchor's size, no exponential (BlazeFace).
    AnchorOffsets,
}

/// What is applied to each raw score before the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScoreActivation {
    /// The model outputs probabilities already.
    #[default]
    None,
    /// The model outputs logits: `1 / (1 + exp(-x))`, after `score_clip`.
    Sigmoid,
}

/// Units of the box values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Coordinates {
    /// Fractions of the model input's width and height.
    #[default]
    Normalised,
    /// Pixels of the model input.
    Pixels,
}

/// A detector's outputs and its decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorSpec {
    pub outputs: OutputLayout,
    /// Index of the score output (separate layout).
    pub scores_output: usize,
    /// Index of the box output (separate layout), or of the packed tensor.
    pub boxes_output: usize,
    /// Index of the class-index output (post-processed layout).
    pub classes_output: Option<usize>,
    /// Index of the output holding the number of valid rows (post-processed layout; none: every row).
    pub count_output: Option<usize>,
    /// Number of score columns (background included) the model must have; checked against its shape.
    pub classes: Option<usize>,
    /// Name of each class index, background included (`class_names[k]` names class `k`); shown
    /// where labels do not name the classes, and checked against the score columns.
    pub class_names: Option<Vec<String>>,
    /// Packed layout: the value after the box (and keypoints) is an objectness, and a class's
    /// score is objectness × class score, each activated (YOLOv5).
    pub objectness: bool,
    /// Packed layout: the tensor is `[1, 4 + C, N]`, one column per box (YOLOv8, YOLO11).
    pub transposed: bool,
    /// Order of the four corner values.
    pub corner_order: CornerOrder,
    /// Score column 0 is background and never reported.
    pub background_class: bool,
    pub box_encoding: BoxEncoding,
    pub coordinates: Coordinates,
    /// Priors for `box_encoding = "ssd-offsets"`.
    pub priors: Option<PriorConfig>,
    /// Anchors for `box_encoding = "anchor-offsets"` (MediaPipe `SsdAnchorsCalculator`).
    pub anchors: Option<AnchorConfig>,
    /// `[x, y, w, h]` scales of `box_encoding = "anchor-offsets"` (MediaPipe `x_scale`, `y_scale`, `w_scale`, `h_scale`).
    pub box_scale: Option<[f32; 4]>,
    /// Keypoints regressed after the four box values, `[x, y]` each, decoded like the box centre (BlazeFace: 6).
    pub keypoints: usize,
    pub score_activation: ScoreActivation,
    /// Raw scores are clipped to `[-c, c]` before the activation (MediaPipe `score_clipping_thresh`).
    pub score_clip: Option<f32>,
    /// A candidate is kept when its score is strictly above this.
    pub score_threshold: f32,
    /// NMS drops a box whose IoU with a kept box of its class is above this.
    pub nms_iou: f32,
    /// Suppression algorithm: greedy hard NMS, or MediaPipe's weighted NMS.
    pub nms: NmsKind,
    /// Per class, only the best this many candidates enter NMS (UltraFace: 200).
    pub candidate_limit: Option<usize>,
    /// Over all classes, only the best this many candidates enter NMS (Ultralytics `max_nms`: 30000).
    pub max_nms: Option<usize>,
    /// Every class scoring above the threshold is a candidate (Ultralytics `multi_label=True`, its
    /// `val`); `false`: one candidate per box, its best class (`multi_label=False`, `model.predict`).
    pub multi_label: bool,
    /// One NMS over all classes (Ultralytics `agnostic_nms=True`); otherwise boxes of different
    /// classes never suppress each other.
    pub agnostic_nms: bool,
    /// Most detections reported, best first, over all classes.
    pub max_detections: usize,
}

impl Default for DetectorSpec {
    fn default() -> Self {
        DetectorSpec {
            outputs: OutputLayout::Separate,
            scores_output: 0,
            boxes_output: 1,
            classes_output: None,
            count_output: None,
            classes: None,
            class_names: None,
            objectness: false,
            transposed: false,
            corner_order: CornerOrder::Xyxy,
            background_class: false,
            box_encoding: BoxEncoding::Corners,
            coordinates: Coordinates::Normalised,
            priors: None,
            anchors: None,
            box_scale: None,
            keypoints: 0,
            score_activation: ScoreActivation::None,
            score_clip: None,
            nms: NmsKind::Hard,
            score_threshold: 0.5,
            nms_iou: 0.5,
            candidate_limit: None,
            max_nms: None,
            multi_label: true,
            agnostic_nms: false,
            max_detections: 100,
        }
    }
}

/// What the postprocess stage produced for one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutput {
    /// `(class, score)` best first; for an output that is not a score vector, the index of its largest value.
    Classes(Vec<(usize, f32)>),
    Detections(Vec<Detection>),
    /// DB text boxes, in pixels of the detector's input.
    TextBoxes(Vec<crate::TextBox>),
}

const ULTRAFACE_DECODED: &str = "task = \"detector\"\noutputs = \"separate\"\nscores_output = 0\nboxes_output = 1\nbackground_class = true\nclass_names = [\"background\", \"face\"]\nbox_encoding = \"corners\"\ncoordinates = \"normalised\"\nscore_threshold = 0.7\nnms_iou = 0.3\ncandidate_limit = 200\nmax_detections = 200";

const ULTRAFACE_RAW: &str = "task = \"detector\"\noutputs = \"separate\"\nscores_output = 0\nboxes_output = 1\nbackground_class = true\nclass_names = [\"background\", \"face\"]\nbox_encoding = \"ssd-offsets\"\ncoordinates = \"normalised\"\nscore_threshold = 0.7\nnms_iou = 0.3\ncandidate_limit = 200\nmax_detections = 200\n[priors]\nimage_size = [320, 240]\nstrides = [8, 16, 32, 64]\nmin_sizes = [[10.0, 16.0, 24.0], [32.0, 48.0], [64.0, 96.0], [128.0, 192.0, 256.0]]\nvariances = [0.1, 0.2]\nclamp = true";

const BLAZEFACE_SHORT: &str = "task = \"detector\"\noutputs = \"separate\"\nboxes_output = 0\nscores_output = 1\nbackground_class = false\nclass_names = [\"face\"]\nbox_encoding = \"anchor-offsets\"\ncoordinates = \"normalised\"\nbox_scale = [128.0, 128.0, 128.0, 128.0]\nkeypoints = 6\nscore_activation = \"sigmoid\"\nscore_clip = 100.0\nscore_threshold = 0.5\nnms = \"weighted\"\nnms_iou = 0.3\nmax_detections = 896\n[anchors]\ninput_size = [128, 128]\nnum_layers = 4\nstrides = [8, 16, 16, 16]\nmin_scale = 0.1484375\nmax_scale = 0.75\nanchor_offset = [0.5, 0.5]\naspect_ratios = [1.0]\ninterpolated_scale_aspect_ratio = 1.0\nfixed_anchor_size = true";

const REFERENCE_DETECTOR: &str = "task = \"detector\"\noutputs = \"packed\"\nboxes_output = 0\nbackground_class = false\nbox_encoding = \"centre-size\"\ncoordinates = \"pixels\"\nclasses = 10\nscore_threshold = 0.05\nnms_iou = 0.5\nmax_detections = 100";

// The 80 COCO detection classes in the order of the YOLO exports' class indices (Ultralytics
// `coco.yaml` / `coco80`), as the yolov5 and yolov8 presets name them.
macro_rules! coco80 {
    () => {
        "class_names = [\"person\", \"bicycle\", \"car\", \"motorcycle\", \"airplane\", \"bus\", \"train\", \"truck\", \"boat\", \"traffic light\", \"fire hydrant\", \"stop sign\", \"parking meter\", \"bench\", \"bird\", \"cat\", \"dog\", \"horse\", \"sheep\", \"cow\", \"elephant\", \"bear\", \"zebra\", \"giraffe\", \"backpack\", \"umbrella\", \"handbag\", \"tie\", \"suitcase\", \"frisbee\", \"skis\", \"snowboard\", \"sports ball\", \"kite\", \"baseball bat\", \"baseball glove\", \"skateboard\", \"surfboard\", \"tennis racket\", \"bottle\", \"wine glass\", \"cup\", \"fork\", \"knife\", \"spoon\", \"bowl\", \"banana\", \"apple\", \"sandwich\", \"orange\", \"broccoli\", \"carrot\", \"hot dog\", \"pizza\", \"donut\", \"cake\", \"chair\", \"couch\", \"potted plant\", \"bed\", \"dining table\", \"toilet\", \"tv\", \"laptop\", \"mouse\", \"remote\", \"keyboard\", \"cell phone\", \"microwave\", \"oven\", \"toaster\", \"sink\", \"refrigerator\", \"book\", \"clock\", \"vase\", \"scissors\", \"teddy bear\", \"hair drier\", \"toothbrush\"]"
    };
}

// The deployed pipelines' defaults (docs/tasks.md cites the files): YOLOv5 `detect.py` and torch.hub
// `AutoShape` call `non_max_suppression` with conf 0.25, IoU 0.45, max_det 1000, class-aware, best
// class only, max_nms 30000.
const YOLOV5: &str = concat!("task = \"detector\"\noutputs = \"packed\"\nboxes_output = 0\nobjectness = true\nbackground_class = false\nbox_encoding = \"centre-size\"\ncoordinates = \"pixels\"\nclasses = 80\n", coco80!(), "\nscore_threshold = 0.25\nnms_iou = 0.45\nmulti_label = false\nagnostic_nms = false\nmax_nms = 30000\nmax_detections = 1000");

// Ultralytics `model.predict`: conf 0.25 (the predictor's default), iou 0.7 and max_det 300
// (`cfg/default.yaml`), agnostic_nms False, and `non_max_suppression`'s multi_label False, max_nms 30000.
const YOLOV8: &str = concat!("task = \"detector\"\noutputs = \"packed\"\nboxes_output = 0\ntransposed = true\nbackground_class = false\nbox_encoding = \"centre-size\"\ncoordinates = \"pixels\"\nclasses = 80\n", coco80!(), "\nscore_threshold = 0.25\nnms_iou = 0.7\nmulti_label = false\nagnostic_nms = false\nmax_nms = 30000\nmax_detections = 300");

// TFLite_Detection_PostProcess output order; the graph has thresholded and suppressed already.
const SSD_TF: &str = "task = \"detector\"\noutputs = \"post-processed\"\nboxes_output = 0\nclasses_output = 1\nscores_output = 2\ncount_output = 3\nbackground_class = false\nbox_encoding = \"corners\"\ncorner_order = \"yxyx\"\ncoordinates = \"normalised\"\nscore_threshold = 0.0\nnms_iou = 1.0\nmax_detections = 100";

/// Built-in task specs by name: `(name, description, TOML)`.
pub const PRESETS: &[(&str, &str, &str)] = &[
    ("classifier", "class scores in the first output, top-5", "task = \"classifier\""),
    (
        "ultraface-rfb320",
        "UltraFace RFB-320 ONNX (decodes its priors in the graph): scores [1,4420,2] + corner boxes [1,4420,4], threshold 0.7, NMS IoU 0.3, 200 candidates",
        ULTRAFACE_DECODED,
    ),
    (
        "ultraface-slim320",
        "UltraFace slim-320 ONNX (decodes its priors in the graph): scores [1,4420,2] + corner boxes [1,4420,4], threshold 0.7, NMS IoU 0.3, 200 candidates",
        ULTRAFACE_DECODED,
    ),
    (
        "ultraface-320-raw",
        "UltraFace 320x240 exports without post-processing: SSD offsets against 4420 priors (strides 8/16/32/64, variances 0.1/0.2)",
        ULTRAFACE_RAW,
    ),
    (
        "blazeface-short",
        "MediaPipe BlazeFace short range: regressors [1,896,16] (box + 6 keypoints) against 896 SSD anchors, sigmoid scores above 0.5, weighted NMS IoU 0.3",
        BLAZEFACE_SHORT,
    ),
    (
        "reference-detector",
        "aite's reference digit detector: one packed [1, N, 4 + C] tensor (N boxes, rows not transposed), cx, cy, w, h in input pixels, then C class scores, no objectness column and no background class; threshold 0.05, per-class NMS IoU 0.5, 100 detections",
        REFERENCE_DETECTOR,
    ),
    (
        "yolov5",
        "YOLOv5 exports: one packed [1, N, 5 + C] tensor, cx, cy, w, h in input pixels, objectness, then C = 80 class scores (score = objectness x class score); detect.py / torch.hub defaults: threshold 0.25, best class per box, 30000 into per-class NMS at IoU 0.45, 1000 detections",
        YOLOV5,
    ),
    (
        "yolov8",
        "YOLOv8 / YOLO11 exports: one transposed [1, 4 + C, N] tensor, cx, cy, w, h in input pixels, then C = 80 class scores, no objectness; Ultralytics model.predict defaults: threshold 0.25, best class per box, 30000 into per-class NMS at IoU 0.7, 300 detections",
        YOLOV8,
    ),
    (
        "ssd-tf",
        "TFLite / TF Object Detection API SSD with post-processing in the graph: boxes [1, N, 4] normalised ymin, xmin, ymax, xmax (output 0), class indices [1, N] (1), scores [1, N] (2), num_detections [1] (3); every reported row with a score above 0, no further NMS",
        SSD_TF,
    ),
    (
        "ppocr-v4",
        "PP-OCRv4 det + rec with the v2 direction classifier as rapidocr-onnxruntime 1.4.4 runs them: det short side 736, DB thresh 0.3, box_thresh 0.5, unclip 1.6; cls 0.9; rec 48x320+, text_score 0.5",
        PPOCR_V4,
    ),
];

const PPOCR_V4: &str = "task = \"ocr\"\nmax_side_len = 2000\nmin_side_len = 30\nmin_height = 30\nwidth_height_ratio = 8.0\ndet_limit_side_len = 736\ndet_limit_type = \"min\"\nthresh = 0.3\nbox_thresh = 0.5\nmax_candidates = 1000\nunclip_ratio = 1.6\nuse_dilation = true\nmin_size = 3.0\ncls_batch = 6\ncls_thresh = 0.9\ncls_width = 192\nrec_batch = 6\nrec_height = 48\nrec_width = 320\nuse_space_char = true\ntext_score = 0.5";

fn preset_hint() -> String {
    format!("built-in tasks: {}; or a TOML file, or key=value pairs", PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))
}

const KNOWN_KEYS: &str = "task, outputs, scores_output, boxes_output, classes_output, count_output, classes, class_names, objectness, transposed, corner_order, background_class, box_encoding, coordinates, priors, anchors, box_scale, keypoints, score_activation, score_clip, score_threshold, nms, nms_iou, candidate_limit, max_nms, multi_label, agnostic_nms, max_detections, preset; ocr: max_side_len, min_side_len, min_height, width_height_ratio, det_limit_side_len, det_limit_type, thresh, box_thresh, max_candidates, unclip_ratio, use_dilation, min_size, cls_batch, cls_thresh, cls_width, rec_batch, rec_height, rec_width, use_space_char, text_score";

impl TaskSpec {
    /// Parse a TOML document (unknown keys are an error naming the key).
    pub fn from_toml(text: &str) -> Result<Self, TaskError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| TaskError::Spec {
            reason: e.message().to_string(),
            hint: "the task spec is TOML, e.g. `task = \"detector\"`".into(),
        })?;
        Self::from_table(table)
    }

    fn from_table(mut table: toml::Table) -> Result<Self, TaskError> {
        let mut merged = match table.remove("preset") {
            Some(toml::Value::String(name)) => Self::preset_table(&name)?,
            Some(other) => return Err(TaskError::Spec { reason: format!("`preset` must be a name, got {other}"), hint: preset_hint() }),
            None => toml::Table::new(),
        };
        // A preset's class names describe its model's classes: another `classes` count without
        // names of its own is another model, whose classes the preset cannot name.
        let preset_names = merged.get("class_names").and_then(|v| v.as_array()).map(Vec::len);
        if let (Some(n), Some(toml::Value::Integer(c)), false) = (preset_names, table.get("classes"), table.contains_key("class_names")) {
            if *c != n as i64 {
                merged.remove("class_names");
            }
        }
        merged.extend(table);
        if !merged.contains_key("task") {
            return Err(TaskError::Spec { reason: "no `task` key".into(), hint: "write task = \"classifier\" or task = \"detector\", or start from a preset".into() });
        }
        let spec: TaskSpec = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| TaskError::Spec { reason: e.message().to_string(), hint: format!("known keys: {KNOWN_KEYS}") })?;
        spec.validate()?;
        Ok(spec)
    }

    fn preset_table(name: &str) -> Result<toml::Table, TaskError> {
        let (_, _, body) = PRESETS
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| TaskError::Spec { reason: format!("unknown task preset `{name}`"), hint: preset_hint() })?;
        Ok(body.parse().expect("built-in task presets are valid TOML"))
    }

    /// A built-in spec by name.
    pub fn preset(name: &str) -> Result<Self, TaskError> {
        Self::from_table(Self::preset_table(name)?)
    }

    /// The command-line form: a preset name, or `key=value` pairs separated by commas,
    /// optionally starting with a preset to override (`ultraface-rfb320,score_threshold=0.9`).
    /// `priors` can only be given in TOML or by preset; `class_names=background|face` separates
    /// the names by `|`.
    pub fn parse_cli(text: &str) -> Result<Self, TaskError> {
        let text = text.trim();
        if !text.contains('=') {
            return Self::preset(text);
        }
        let table = aite_data::key_value_table(text, |key, value| {
            if key == "class_names" {
                // Commas separate the pairs, so the names are separated by `|`.
                toml::Value::Array(value.split('|').map(|n| toml::Value::String(n.trim().to_string())).collect())
            } else if let (true, Ok(n)) = (matches!(key, "scores_output" | "boxes_output" | "classes_output" | "count_output" | "classes" | "candidate_limit" | "max_nms" | "max_detections" | "keypoints" | "max_side_len" | "min_side_len" | "min_height" | "det_limit_side_len" | "max_candidates" | "cls_batch" | "cls_width" | "rec_batch" | "rec_height" | "rec_width"), value.parse::<i64>()) {
                toml::Value::Integer(n)
            } else if let Ok(b) = value.parse::<bool>() {
                toml::Value::Boolean(b)
            } else if let Ok(f) = value.parse::<f64>() {
                toml::Value::Float(f)
            } else {
                toml::Value::String(value.to_string())
            }
        })
        .map_err(|pair| TaskError::Spec { reason: format!("`{pair}` is not key=value"), hint: "write e.g. task=detector,score_threshold=0.6".into() })?;
        Self::from_table(table)
    }

    fn validate(&self) -> Result<(), TaskError> {
        if let TaskSpec::Ocr(o) = self {
            return o.validate();
        }
        let TaskSpec::Detector(d) = self else { return Ok(()) };
        let bad = |reason: String, hint: &str| Err(TaskError::Spec { reason, hint: hint.into() });
        if !(0.0..=1.0).contains(&d.nms_iou) {
            return bad(format!("nms_iou {} is outside [0, 1]", d.nms_iou), "use e.g. nms_iou = 0.5");
        }
        if !d.score_threshold.is_finite() {
            return bad("score_threshold is not finite".into(), "use e.g. score_threshold = 0.5");
        }
        if d.max_detections == 0 || d.candidate_limit == Some(0) || d.max_nms == Some(0) {
            return bad("max_detections, candidate_limit and max_nms must be at least 1".into(), "use e.g. max_detections = 100");
        }
        if d.classes == Some(0) {
            return bad("classes must be at least 1".into(), "use e.g. classes = 80");
        }
        if let Some(names) = &d.class_names {
            if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
                return bad("class_names must name every class, none empty".into(), "use e.g. class_names = [\"background\", \"face\"]");
            }
            if let Some(c) = d.classes.filter(|&c| c != names.len()) {
                return bad(format!("class_names names {} classes but classes = {c}", names.len()), "give one name per score column, background included, or drop one of the two keys");
            }
        }
        if (d.objectness || d.transposed) && d.outputs != OutputLayout::Packed {
            return bad("objectness and transposed are only read with outputs = \"packed\"".into(), "drop them, or set outputs = \"packed\"");
        }
        match d.outputs {
            OutputLayout::PostProcessed if d.classes_output.is_none() => return bad("outputs = \"post-processed\" needs classes_output".into(), "declare boxes_output, classes_output, scores_output (and count_output) as the ssd-tf preset does"),
            OutputLayout::PostProcessed if d.box_encoding != BoxEncoding::Corners || d.keypoints != 0 => return bad("outputs = \"post-processed\" reads corner boxes without keypoints".into(), "set box_encoding = \"corners\" (corner_order = \"yxyx\" for TensorFlow) and keypoints = 0"),
            OutputLayout::Separate | OutputLayout::Packed if d.classes_output.is_some() || d.count_output.is_some() => return bad("classes_output and count_output are only read with outputs = \"post-processed\"".into(), "drop them, or set outputs = \"post-processed\""),
            _ => {}
        }
        if d.corner_order != CornerOrder::Xyxy && d.box_encoding != BoxEncoding::Corners {
            return bad("corner_order is only read with box_encoding = \"corners\"".into(), "drop it, or set box_encoding = \"corners\"");
        }
        if d.score_clip.is_some_and(|c| !(c > 0.0)) {
            return bad("score_clip must be positive".into(), "use e.g. score_clip = 100.0 (MediaPipe score_clipping_thresh)");
        }
        match (d.box_encoding, &d.anchors, d.box_scale) {
            (BoxEncoding::AnchorOffsets, None, _) | (BoxEncoding::AnchorOffsets, _, None) => {
                return bad("box_encoding = \"anchor-offsets\" needs an [anchors] table and box_scale".into(), "declare them as the blazeface-short preset does");
            }
            (BoxEncoding::AnchorOffsets, Some(a), Some(scale)) => {
                if scale.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
                    return bad(format!("box_scale {scale:?} must be positive"), "use e.g. box_scale = [128.0, 128.0, 128.0, 128.0] (the input size)");
                }
                a.validate()?;
            }
            (_, Some(_), _) | (_, _, Some(_)) => return bad("[anchors] and box_scale are only read with box_encoding = \"anchor-offsets\"".into(), "drop them, or set box_encoding = \"anchor-offsets\""),
            _ => {}
        }
        match (d.box_encoding, &d.priors) {
            (BoxEncoding::SsdOffsets, None) => bad("box_encoding = \"ssd-offsets\" needs a [priors] table".into(), "declare image_size, strides, min_sizes, variances (see the ultraface-320-raw preset)"),
            (BoxEncoding::SsdOffsets, Some(p)) => p.validate(),
            (_, Some(_)) => bad("[priors] is only read with box_encoding = \"ssd-offsets\"".into(), "drop [priors], or set box_encoding = \"ssd-offsets\""),
            (_, None) => Ok(()),
        }
    }

    /// The postprocess stage: turn one frame's output tensors into its result.
    pub fn postprocess(&self, outputs: &[Tensor]) -> Result<TaskOutput, TaskError> {
        match self {
            TaskSpec::Classifier => {
                let first = outputs.first().ok_or_else(|| TaskError::Outputs { reason: "the model returned no output".into(), hint: "a classifier reads its first output".into() })?;
                Ok(TaskOutput::Classes(match top_k(first, 5) {
                    Ok(best) => best,
                    Err(_) => {
                        let v = first.to_f32_vec();
                        (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).map(|i| (i, v[i])).into_iter().collect()
                    }
                }))
            }
            TaskSpec::Detector(d) => d.decode(outputs, None).map(TaskOutput::Detections),
            TaskSpec::Ocr(o) => o.text_boxes(outputs).map(TaskOutput::TextBoxes),
        }
    }
}

/// A task spec ready to run per frame: SSD priors generated once, up front, as a
/// deployed pipeline holds them, so the postprocess stage times decoding only.
#[derive(Debug, Clone)]
pub struct Postprocess {
    spec: TaskSpec,
    priors: Option<Vec<Prior>>,
}

impl Postprocess {
    pub fn new(spec: TaskSpec) -> Self {
        let priors = match &spec {
            TaskSpec::Detector(DetectorSpec { box_encoding: BoxEncoding::SsdOffsets, priors: Some(cfg), .. }) => Some(cfg.generate()),
            TaskSpec::Detector(DetectorSpec { box_encoding: BoxEncoding::AnchorOffsets, anchors: Some(cfg), .. }) => Some(cfg.generate()),
            _ => None,
        };
        Postprocess { spec, priors }
    }

    pub fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    /// One frame's outputs to its result (the `postprocess` stage).
    pub fn apply(&self, outputs: &[Tensor]) -> Result<TaskOutput, TaskError> {
        match &self.spec {
            TaskSpec::Detector(d) => d.decode(outputs, self.priors.as_deref()).map(TaskOutput::Detections),
            classifier => classifier.postprocess(outputs),
        }
    }
}

impl DetectorSpec {
    /// The declared name of class index `class` (`class_names`), if any.
    pub fn class_name(&self, class: usize) -> Option<&str> {
        self.class_names.as_ref()?.get(class).map(String::as_str)
    }

    /// The box and score values of a separate or packed layout, checked against the declared
    /// shape: `(box values, score values, anchors, classes, box stride, score offset, score stride)`;
    /// `None` for the post-processed layout.
    #[allow(clippy::type_complexity)]
    fn layout(&self, outputs: &[Tensor]) -> Result<Option<(Vec<f32>, Vec<f32>, usize, usize, usize, usize, usize)>, TaskError> {
        let hint = "check outputs/scores_output/boxes_output/keypoints against `aite inspect MODEL`";
        let get = |i: usize| {
            outputs.get(i).ok_or_else(|| TaskError::Outputs { reason: format!("output {i} is named by the task but the model returned {} outputs", outputs.len()), hint: hint.into() })
        };
        let rows = |t: &Tensor| -> Result<(usize, usize), TaskError> {
            match t.shape() {
                [1, n, c] | [n, c] => Ok((*n, *c)),
                s => Err(TaskError::Outputs { reason: format!("a detector output of shape {s:?} is not [1, N, K] or [N, K]"), hint: hint.into() }),
            }
        };
        // Values per anchor before the scores: the box, then the keypoints.
        let coords = 4 + 2 * self.keypoints;
        // (box values, score values, anchors, classes, box stride, score offset, score stride)
        Ok(Some(match self.outputs {
            OutputLayout::Separate => {
                let (bt, st) = (get(self.boxes_output)?, get(self.scores_output)?);
                let ((nb, k), (ns, c)) = (rows(bt)?, rows(st)?);
                if k != coords || nb != ns {
                    return Err(TaskError::Outputs { reason: format!("boxes {:?} and scores {:?} are not [1, N, {coords}] and [1, N, C]", bt.shape(), st.shape()), hint: hint.into() });
                }
                if let Some(want) = self.classes.filter(|&want| want != c) {
                    return Err(TaskError::Outputs { reason: format!("scores (output {}) of shape {:?} have {c} classes, the task declares classes = {want}", self.scores_output, st.shape()), hint: hint.into() });
                }
                if let Some(names) = self.class_names.as_ref().filter(|n| n.len() != c) {
                    return Err(TaskError::Outputs { reason: format!("scores (output {}) of shape {:?} have {c} classes, the task's class_names names {}", self.scores_output, st.shape(), names.len()), hint: hint.into() });
                }
                (bt.to_f32_vec(), st.to_f32_vec(), nb, c, coords, 0, c)
            }
            OutputLayout::Packed => {
                let t = get(self.boxes_output)?;
                let (rows_or_cols, per) = rows(t)?;
                let (n, k) = if self.transposed { (per, rows_or_cols) } else { (rows_or_cols, per) };
                let lead = coords + usize::from(self.objectness);
                let declared = self.classes.or(self.class_names.as_ref().map(Vec::len));
                let fits = declared.map_or(k > lead, |c| k == lead + c);
                if !fits {
                    let need = declared.map_or(format!("more than {lead}"), |c| format!("{lead} + {c} = {}", lead + c));
                    return Err(TaskError::Outputs {
                        reason: format!("the packed output of shape {:?} (output {}) does not fit the declared layout {}: it gives {k} values per box, the layout needs {need}", t.shape(), self.boxes_output, self.packed_layout(coords)),
                        hint: "declare the export's layout (`aite inspect MODEL`): transposed, objectness, classes, keypoints; YOLOv5 [1, N, 5 + C] is preset yolov5, YOLOv8 / YOLO11 [1, 4 + C, N] preset yolov8".into(),
                    });
                }
                let mut v = t.to_f32_vec();
                if self.transposed {
                    // One column per box: rows-major copy, row a = column a.
                    v = (0..n * k).map(|i| v[(i % k) * n + i / k]).collect();
                }
                (v.clone(), v, n, k - lead, k, lead, k)
            }
            OutputLayout::PostProcessed => return Ok(None),
        }))
    }

    /// Every candidate's activated score for every reported class, before threshold and NMS
    /// (objectness multiplied; post-processed: the valid rows' scores), with the number of reported
    /// classes. For a score-based attack's margin.
    pub fn candidate_scores(&self, outputs: &[Tensor]) -> Result<(usize, Vec<f32>), TaskError> {
        let Some((_, scores, n, classes, _, s_off, s_stride)) = self.layout(outputs)? else {
            let all = DetectorSpec { score_threshold: f32::NEG_INFINITY, nms: NmsKind::Hard, nms_iou: 1.0, candidate_limit: None, max_nms: None, agnostic_nms: false, max_detections: usize::MAX, ..self.clone() }.decode_post_processed(outputs)?;
            let classes = self.classes.unwrap_or_else(|| all.iter().map(|d| d.class + 1).max().unwrap_or(0));
            return Ok((classes - usize::from(self.background_class).min(classes), all.iter().map(|d| d.score).collect()));
        };
        let activate = |raw: f32| self.activate(raw);
        let coords = 4 + 2 * self.keypoints;
        let first = usize::from(self.background_class);
        let values = (0..n)
            .flat_map(|a| {
                let obj = if self.objectness { activate(scores[a * s_stride + coords]) } else { 1.0 };
                (first..classes).map(move |c| (a, c, obj))
            })
            .map(|(a, c, obj)| activate(scores[a * s_stride + s_off + c]) * obj)
            .collect();
        Ok((classes.saturating_sub(first), values))
    }

    fn activate(&self, raw: f32) -> f32 {
        let raw = self.score_clip.map_or(raw, |c| raw.clamp(-c, c));
        match self.score_activation {
            ScoreActivation::None => raw,
            ScoreActivation::Sigmoid => 1.0 / (1.0 + (-raw).exp()),
        }
    }

    /// Decode, threshold and suppress one frame's outputs. `priors` may be passed
    /// pre-generated (SSD priors or anchors: they depend only on the spec); otherwise they
    /// are generated here.
    pub fn decode(&self, outputs: &[Tensor], priors: Option<&[Prior]>) -> Result<Vec<Detection>, TaskError> {
        let Some((boxes, scores, n, classes, b_stride, s_off, s_stride)) = self.layout(outputs)? else {
            return self.decode_post_processed(outputs);
        };
        let coords = 4 + 2 * self.keypoints;
        let generated;
        let priors = match (self.box_encoding, priors, &self.priors, &self.anchors) {
            (BoxEncoding::SsdOffsets | BoxEncoding::AnchorOffsets, Some(p), _, _) => Some(p),
            (BoxEncoding::SsdOffsets, None, Some(cfg), _) => {
                generated = cfg.generate();
                Some(generated.as_slice())
            }
            (BoxEncoding::AnchorOffsets, None, _, Some(cfg)) => {
                generated = cfg.generate();
                Some(generated.as_slice())
            }
            _ => None,
        };
        if let Some(p) = priors {
            if p.len() != n {
                let what = if self.box_encoding == BoxEncoding::AnchorOffsets { "anchors config gives" } else { "priors config gives" };
                return Err(TaskError::Outputs { reason: format!("the {what} {} priors but the model has {n} anchors", p.len()), hint: "the priors' (anchors') input size, strides and sizes must be the model's".into() });
            }
        }
        let variances = self.priors.as_ref().map(|p| p.variances).unwrap_or([0.1, 0.2]);
        let [xs, ys, ws, hs] = self.box_scale.unwrap_or([1.0; 4]);
        let decode_box = |a: usize| -> BBox {
            let v = &boxes[a * b_stride..a * b_stride + 4];
            let (cx, cy, w, h) = match (self.box_encoding, priors) {
                (BoxEncoding::Corners, _) => return self.corners(v),
                (BoxEncoding::CentreSize, _) | (BoxEncoding::SsdOffsets | BoxEncoding::AnchorOffsets, None) => (v[0], v[1], v[2], v[3]),
                (BoxEncoding::SsdOffsets, Some(p)) => {
                    let p = p[a];
                    (v[0] * variances[0] * p.w + p.cx, v[1] * variances[0] * p.h + p.cy, (v[2] * variances[1]).exp() * p.w, (v[3] * variances[1]).exp() * p.h)
                }
                (BoxEncoding::AnchorOffsets, Some(p)) => {
                    let p = p[a];
                    (v[0] / xs * p.w + p.cx, v[1] / ys * p.h + p.cy, v[2] / ws * p.w, v[3] / hs * p.h)
                }
            };
            BBox { x_min: cx - w / 2.0, y_min: cy - h / 2.0, x_max: cx + w / 2.0, y_max: cy + h / 2.0 }
        };
        // Keypoints decode like a box centre (SSD: RetinaFace's landmark convention).
        let decode_keypoints = |a: usize| -> Vec<[f32; 2]> {
            let v = &boxes[a * b_stride + 4..a * b_stride + coords];
            v.chunks_exact(2)
                .map(|k| match (self.box_encoding, priors) {
                    (BoxEncoding::SsdOffsets, Some(p)) => [k[0] * variances[0] * p[a].w + p[a].cx, k[1] * variances[0] * p[a].h + p[a].cy],
                    (BoxEncoding::AnchorOffsets, Some(p)) => [k[0] / xs * p[a].w + p[a].cx, k[1] / ys * p[a].h + p[a].cy],
                    _ => [k[0], k[1]],
                })
                .collect()
        };
        let activate = |raw: f32| self.activate(raw);
        let first_class = usize::from(self.background_class);
        let class_score = |a: usize, c: usize| activate(scores[a * s_stride + s_off + c]);
        let mut candidates = Vec::new();
        for a in 0..n {
            // YOLOv5 keeps a box only when its objectness alone is above the threshold, then
            // scores each class objectness x class.
            let obj = if self.objectness { activate(scores[a * s_stride + coords]) } else { 1.0 };
            if self.objectness && !(obj > self.score_threshold) {
                continue;
            }
            let keep = |class: usize, score: f32, candidates: &mut Vec<(usize, Detection)>| {
                if !(score > self.score_threshold) {
                    return;
                }
                let bbox = decode_box(a);
                // MediaPipe drops decoded boxes of negative or NaN width or height.
                let (w, h) = (bbox.x_max - bbox.x_min, bbox.y_max - bbox.y_min);
                if self.box_encoding == BoxEncoding::AnchorOffsets && !(w >= 0.0 && h >= 0.0) {
                    return;
                }
                candidates.push((a, Detection { class, score, bbox, keypoints: decode_keypoints(a) }));
            };
            if self.multi_label {
                for class in first_class..classes {
                    keep(class, class_score(a, class) * obj, &mut candidates);
                }
            } else if first_class < classes {
                // The best class, the first of equal ones; a NaN score is the maximum, as
                // torch's `max` takes it, and so drops the box.
                let mut best = (first_class, class_score(a, first_class));
                for class in first_class + 1..classes {
                    let s = class_score(a, class);
                    if s.is_nan() || s > best.1 {
                        best = (class, s);
                    }
                    if best.1.is_nan() {
                        break;
                    }
                }
                keep(best.0, best.1 * obj, &mut candidates);
            }
        }
        Ok(self.suppress(candidates))
    }

    /// From thresholded candidates (with their box index, in box order) to the reported
    /// detections: `candidate_limit` per class, then `max_nms` over all, then NMS per class (or
    /// over all when `agnostic_nms`), then the best `max_detections`.
    fn suppress(&self, mut candidates: Vec<(usize, Detection)>) -> Vec<Detection> {
        let by_score = |a: &(usize, Detection), b: &(usize, Detection)| b.1.score.total_cmp(&a.1.score);
        if let Some(limit) = self.candidate_limit {
            let mut by_class: std::collections::BTreeMap<usize, Vec<(usize, Detection)>> = Default::default();
            for c in candidates {
                by_class.entry(c.1.class).or_default().push(c);
            }
            candidates = by_class
                .into_values()
                .flat_map(|mut v| {
                    v.sort_by(by_score);
                    v.truncate(limit);
                    v
                })
                .collect();
            candidates.sort_by_key(|(a, d)| (*a, d.class));
        }
        if let Some(max_nms) = self.max_nms.filter(|&m| candidates.len() > m) {
            // Ultralytics: `x[x[:, 4].argsort(descending=True)[:max_nms]]` (ties here keep box order).
            candidates.sort_by(by_score);
            candidates.truncate(max_nms);
        }
        let detections = candidates.into_iter().map(|(_, d)| d);
        let mut all = if self.agnostic_nms {
            self.nms.apply(detections.collect(), self.nms_iou, self.max_detections)
        } else {
            let mut by_class: std::collections::BTreeMap<usize, Vec<Detection>> = Default::default();
            for d in detections {
                by_class.entry(d.class).or_default().push(d);
            }
            by_class.into_values().flat_map(|v| self.nms.apply(v, self.nms_iou, self.max_detections)).collect()
        };
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        all.truncate(self.max_detections);
        all
    }

    /// The declared packed layout in words, for errors.
    fn packed_layout(&self, coords: usize) -> String {
        let cols = format!("{coords}{} + {}", if self.objectness { " + 1" } else { "" }, self.classes.map_or("C".to_string(), |c| c.to_string()));
        let obj = if self.objectness { format!("objectness at {coords}") } else { "no objectness".into() };
        if self.transposed {
            format!("[1, {cols}, N] (transposed, one column per box, {obj})")
        } else {
            format!("[1, N, {cols}] (one row per box, not transposed, {obj})")
        }
    }

    fn corners(&self, v: &[f32]) -> BBox {
        match self.corner_order {
            CornerOrder::Xyxy => BBox { x_min: v[0], y_min: v[1], x_max: v[2], y_max: v[3] },
            CornerOrder::Yxyx => BBox { x_min: v[1], y_min: v[0], x_max: v[3], y_max: v[2] },
        }
    }

    /// The post-processed layout: rows already thresholded and suppressed by the model; the
    /// first `count` rows are read, then this spec's threshold, NMS and cap apply.
    fn decode_post_processed(&self, outputs: &[Tensor]) -> Result<Vec<Detection>, TaskError> {
        let hint = "check boxes_output/classes_output/scores_output/count_output against `aite inspect MODEL` (TFLite: 0, 1, 2, 3)";
        let out = |reason: String| TaskError::Outputs { reason, hint: hint.into() };
        let get = |i: usize| outputs.get(i).ok_or_else(|| out(format!("output {i} is named by the task but the model returned {} outputs", outputs.len())));
        let classes_output = self.classes_output.unwrap_or(1);
        let (bt, ct, st) = (get(self.boxes_output)?, get(classes_output)?, get(self.scores_output)?);
        let n = match bt.shape() {
            [1, n, 4] | [n, 4] => *n,
            s => return Err(out(format!("boxes (output {}) of shape {s:?} are not [1, N, 4] (post-processed layout)", self.boxes_output))),
        };
        for (what, i, t) in [("classes", classes_output, ct), ("scores", self.scores_output, st)] {
            if !matches!(t.shape(), [1, m] | [m] if *m == n) {
                return Err(out(format!("{what} (output {i}) of shape {:?} are not [1, {n}] as the boxes {:?} (post-processed layout)", t.shape(), bt.shape())));
            }
        }
        let valid = match self.count_output {
            None => n,
            Some(i) => {
                let c = get(i)?;
                match c.to_f32_vec().as_slice() {
                    [x] if x.fract() == 0.0 && (0.0..=n as f32).contains(x) => *x as usize,
                    v => return Err(out(format!("the count (output {i}) of shape {:?} holds {v:?}, not one whole number between 0 and {n}", c.shape()))),
                }
            }
        };
        let (b, c, s) = (bt.to_f32_vec(), ct.to_f32_vec(), st.to_f32_vec());
        let mut candidates = Vec::new();
        for a in 0..valid {
            let class = c[a];
            if !(class.fract() == 0.0 && class >= 0.0 && self.classes.is_none_or(|k| class < k as f32)) {
                let range = self.classes.map_or("a whole number of at least 0".into(), |k| format!("a whole number in 0..{k}"));
                return Err(out(format!("classes (output {classes_output}) row {a} holds {class}, not {range}")));
            }
            let class = class as usize;
            if (self.background_class && class == 0) || !(s[a] > self.score_threshold) {
                continue;
            }
            candidates.push((a, Detection { class, score: s[a], bbox: self.corners(&b[a * 4..a * 4 + 4]), keypoints: vec![] }));
        }
        Ok(self.suppress(candidates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_round_trip_through_json() {
        for (name, _, _) in PRESETS {
            let spec = TaskSpec::preset(name).unwrap();
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(serde_json::from_str::<TaskSpec>(&json).unwrap(), spec, "{name}: {json}");
        }
        let TaskSpec::Detector(d) = TaskSpec::preset("ultraface-320-raw").unwrap() else { panic!() };
        assert_eq!(d.priors.unwrap(), PriorConfig::ultraface_320());
    }

    #[test]
    fn cli_overrides_and_errors_name_the_key() {
        let TaskSpec::Detector(d) = TaskSpec::parse_cli("ultraface-rfb320,score_threshold=0.9,max_detections=5,background_class=false").unwrap() else { panic!() };
        assert_eq!((d.score_threshold, d.max_detections, d.background_class), (0.9, 5, false));
        let err = TaskSpec::parse_cli("ultraface-rfb320,nms=0.3").unwrap_err().to_string();
        assert!(err.contains("nms") && err.contains("nms_iou"), "{err}");
        let err = TaskSpec::parse_cli("faces").unwrap_err().to_string();
        assert!(err.contains("unknown task preset `faces`") && err.contains("ultraface-rfb320"), "{err}");
        let err = TaskSpec::parse_cli("task=detector,box_encoding=ssd-offsets").unwrap_err().to_string();
        assert!(err.contains("[priors]"), "{err}");
        assert_eq!(TaskSpec::from_toml("task = \"classifier\"").unwrap(), TaskSpec::Classifier);
    }

    #[test]
    fn class_names_parse_from_toml_cli_and_presets_and_are_checked() {
        let d = detector("ultraface-rfb320");
        assert_eq!((d.class_name(0), d.class_name(1), d.class_name(2)), (Some("background"), Some("face"), None));
        assert_eq!(detector("blazeface-short").class_names.unwrap(), vec!["face".to_string()]);
        let v8 = detector("yolov8");
        let names = v8.class_names.clone().unwrap();
        // COCO's 80 in the YOLO class order: 0 person, 39 bottle, 79 toothbrush.
        assert_eq!((names.len(), names[0].as_str(), names[39].as_str(), names[79].as_str()), (80, "person", "bottle", "toothbrush"));
        assert_eq!(detector("yolov5").class_names.unwrap(), names);
        let cli = detector("task=detector,class_names=cat|dog,classes=2");
        let TaskSpec::Detector(toml) = TaskSpec::from_toml("task = \"detector\"\nclass_names = [\"cat\", \"dog\"]\nclasses = 2").unwrap() else { panic!() };
        assert_eq!(cli, toml);
        assert_eq!(cli.class_names.as_deref(), Some(&["cat".to_string(), "dog".to_string()][..]));
        // Recorded with the task (config.json).
        let json = serde_json::to_value(TaskSpec::preset("ultraface-rfb320").unwrap()).unwrap();
        assert_eq!(json["class_names"], serde_json::json!(["background", "face"]));
        // Another class count drops the preset's names, unless names come with it.
        assert_eq!(detector("yolov8,classes=2").class_names, None);
        assert_eq!(detector("yolov8,classes=2,class_names=a|b").class_names.unwrap().len(), 2);
        let err = TaskSpec::parse_cli("task=detector,classes=3,class_names=a|b").unwrap_err().to_string();
        assert!(err.contains("class_names names 2 classes but classes = 3"), "{err}");
        assert!(TaskSpec::parse_cli("task=detector,class_names=a||b").unwrap_err().to_string().contains("none empty"));
        // Checked against the score columns: two columns, three names.
        let scores = Tensor::f32(vec![1, 1, 2], vec![0.1, 0.9]).unwrap();
        let boxes = Tensor::f32(vec![1, 1, 4], vec![0.0, 0.0, 0.5, 0.5]).unwrap();
        let three = DetectorSpec { class_names: Some(vec!["a".into(), "b".into(), "c".into()]), ..Default::default() };
        let err = three.decode(&[scores.clone(), boxes.clone()], None).unwrap_err().to_string();
        assert!(err.contains("have 2 classes, the task's class_names names 3"), "{err}");
        assert_eq!(DetectorSpec { class_names: Some(vec!["a".into(), "b".into()]), ..three }.decode(&[scores, boxes], None).unwrap().len(), 1);
        // Packed: the names give the width when `classes` is not declared.
        let row = Tensor::f32(vec![1, 1, 7], vec![5.0, 5.0, 2.0, 2.0, 0.9, 0.1, 0.1]).unwrap();
        let err = detector("task=detector,outputs=packed,boxes_output=0,box_encoding=centre-size,coordinates=pixels,class_names=a|b").decode(&[row], None).unwrap_err().to_string();
        assert!(err.contains("4 + 2 = 6"), "{err}");
    }

    #[test]
    fn ssd_offsets_decode_to_hand_computed_boxes() {
        // One prior at (0.5, 0.5) sized 0.2 x 0.4 (image 10x10, stride 10, min size... given directly).
        let priors = [Prior { cx: 0.5, cy: 0.5, w: 0.2, h: 0.4 }];
        let spec = DetectorSpec { box_encoding: BoxEncoding::SsdOffsets, priors: Some(PriorConfig { image_size: [10, 10], strides: vec![10], min_sizes: vec![vec![2.0]], variances: [0.1, 0.2], clamp: true }), score_threshold: 0.5, ..Default::default() };
        // Offsets (1, -1, ln 2 / 0.2, 0): cx = 0.5 + 1*0.1*0.2 = 0.52, cy = 0.5 - 0.1*0.4 = 0.46,
        // w = 0.2 * 2 = 0.4, h = 0.4 -> corners (0.32, 0.26, 0.72, 0.66).
        let boxes = Tensor::f32(vec![1, 1, 4], vec![1.0, -1.0, std::f32::consts::LN_2 / 0.2, 0.0]).unwrap();
        let scores = Tensor::f32(vec![1, 1, 1], vec![0.8]).unwrap();
        let d = spec.decode(&[scores, boxes], Some(&priors)).unwrap();
        assert_eq!(d.len(), 1);
        let b = d[0].bbox;
        for (got, want) in [(b.x_min, 0.32), (b.y_min, 0.26), (b.x_max, 0.72), (b.y_max, 0.66)] {
            assert!((got - want).abs() < 1e-6, "{b:?}");
        }
    }

    #[test]
    fn anchor_offsets_decode_box_keypoints_and_sigmoid_scores_by_hand() {
        let TaskSpec::Detector(spec) = TaskSpec::preset("blazeface-short").unwrap() else { panic!() };
        let mut regressors = vec![0.0f32; 896 * 16];
        let mut logits = vec![-10.0f32; 896];
        // Anchor 2: centre (0.09375, 0.03125), 1 x 1. Offsets (12.8, -6.4) px / 128 move the
        // centre by (0.1, -0.05); size (25.6, 51.2) / 128 = (0.2, 0.4); keypoint 0 (64, 0) -> (0.59375, 0.03125).
        regressors[2 * 16..2 * 16 + 6].copy_from_slice(&[12.8, -6.4, 25.6, 51.2, 64.0, 0.0]);
        logits[2] = 1.0; // sigmoid 0.7311
        // Anchor 3 (same cell's neighbour): a logit of 1000 is clipped to 100 first: score 1, box inverted (negative width) -> dropped.
        regressors[3 * 16 + 2] = -10.0;
        logits[3] = 1000.0;
        let out = spec.decode(&[Tensor::f32(vec![1, 896, 16], regressors).unwrap(), Tensor::f32(vec![1, 896, 1], logits).unwrap()], None).unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
        let d = &out[0];
        assert!((d.score - 0.731_058_6).abs() < 1e-6);
        let b = d.bbox;
        for (got, want) in [(b.x_min, 0.09375), (b.y_min, -0.21875), (b.x_max, 0.29375), (b.y_max, 0.18125), (d.keypoints[0][0], 0.59375), (d.keypoints[0][1], 0.03125), (d.keypoints[5][0], 0.09375)] {
            assert!((got - want).abs() < 1e-6, "{d:?}");
        }
        assert_eq!(d.keypoints.len(), 6);
        // Too few anchors is an error naming both counts; regressors without the keypoint columns too.
        let err = spec.decode(&[Tensor::f32(vec![1, 10, 16], vec![0.0; 160]).unwrap(), Tensor::f32(vec![1, 10, 1], vec![0.0; 10]).unwrap()], None).unwrap_err().to_string();
        assert!(err.contains("896 priors but the model has 10"), "{err}");
        let err = spec.decode(&[Tensor::f32(vec![1, 896, 4], vec![0.0; 3584]).unwrap(), Tensor::f32(vec![1, 896, 1], vec![0.0; 896]).unwrap()], None).unwrap_err().to_string();
        assert!(err.contains("[1, N, 16]"), "{err}");
        // anchor-offsets without anchors, and anchors without anchor-offsets, are spec errors.
        assert!(TaskSpec::parse_cli("task=detector,box_encoding=anchor-offsets").unwrap_err().to_string().contains("[anchors]"));
        assert!(TaskSpec::parse_cli("blazeface-short,box_encoding=corners").unwrap_err().to_string().contains("only read with"));
        assert!(TaskSpec::parse_cli("blazeface-short,nms=soft").unwrap_err().to_string().contains("nms"));
    }

    #[test]
    fn packed_layout_with_background_thresholds_and_suppresses() {
        // Three anchors, [x0 y0 x1 y1 bg face]: two overlapping faces (IoU 1/3) and one below threshold.
        let t = Tensor::f32(vec![1, 3, 6], vec![
            0.0, 0.0, 0.2, 0.2, 0.1, 0.9,
            0.1, 0.0, 0.3, 0.2, 0.2, 0.8,
            0.5, 0.5, 0.6, 0.6, 0.7, 0.3,
        ]).unwrap();
        let spec = DetectorSpec { outputs: OutputLayout::Packed, boxes_output: 0, background_class: true, score_threshold: 0.5, nms_iou: 0.3, ..Default::default() };
        let d = spec.decode(std::slice::from_ref(&t), None).unwrap();
        assert_eq!(d.iter().map(|d| (d.class, d.score)).collect::<Vec<_>>(), vec![(1, 0.9)]);
        let d = DetectorSpec { nms_iou: 0.5, ..spec.clone() }.decode(std::slice::from_ref(&t), None).unwrap();
        assert_eq!(d.len(), 2);
        // Background column reported when not declared background.
        let d = DetectorSpec { background_class: false, ..spec }.decode(&[t], None).unwrap();
        assert!(d.iter().any(|d| d.class == 0 && d.score == 0.7));
    }

    #[test]
    fn reference_detector_preset_decodes_packed_centre_size_pixels() {
        // The reference detector has 10 classes; these rows have 3.
        let TaskSpec::Detector(d) = TaskSpec::parse_cli("reference-detector,classes=3").unwrap() else { panic!() };
        // Three cells of [cx, cy, w, h, score of class 0, 1, 2] in input pixels.
        #[rustfmt::skip]
        let rows = vec![
            20.0, 30.0, 10.0, 16.0, 0.01, 0.90, 0.06, // class 1 at 0.9; class 2 at 0.06 (above 0.05)
            21.0, 30.0, 10.0, 16.0, 0.00, 0.80, 0.00, // class 1, IoU with the first 9*16/(2*160-144) = 0.818: suppressed
            50.0, 10.0, 8.0, 8.0, 0.05, 0.00, 0.30, // class 2 at 0.3; class 0 at exactly 0.05 is not above the threshold
        ];
        let t = Tensor::f32(vec![1, 3, 7], rows).unwrap();
        let dets = d.decode(&[t], None).unwrap();
        let got: Vec<(usize, f32, [f32; 4])> = dets.iter().map(|d| (d.class, d.score, [d.bbox.x_min, d.bbox.y_min, d.bbox.x_max, d.bbox.y_max])).collect();
        assert_eq!(got, vec![(1, 0.9, [15.0, 22.0, 25.0, 38.0]), (2, 0.3, [46.0, 6.0, 54.0, 14.0]), (2, 0.06, [15.0, 22.0, 25.0, 38.0])]);
        assert_eq!(d.coordinates, Coordinates::Pixels);
        // Review finding 11: the preset documents its one layout and claims no YOLO export,
        // whose v5 objectness column or v8 transposed tensor it would misread.
        let (_, doc, _) = PRESETS.iter().find(|p| p.0 == "reference-detector").unwrap();
        assert!(!doc.contains("YOLO") && doc.contains("[1, N, 4 + C]") && doc.contains("no objectness"), "{doc}");
    }

    fn summary(dets: &[Detection]) -> Vec<(usize, f32, [f32; 4])> {
        dets.iter().map(|d| (d.class, d.score, [d.bbox.x_min, d.bbox.y_min, d.bbox.x_max, d.bbox.y_max])).collect()
    }

    fn detector(cli: &str) -> DetectorSpec {
        let TaskSpec::Detector(d) = TaskSpec::parse_cli(cli).unwrap() else { panic!("{cli} is not a detector") };
        d
    }

    #[test]
    fn yolov5_objectness_multiplies_the_class_score() {
        let d = detector("yolov5,classes=2");
        assert_eq!((d.score_threshold, d.nms_iou, d.max_detections, d.objectness, d.transposed), (0.25, 0.45, 1000, true, false));
        assert_eq!((d.multi_label, d.agnostic_nms, d.max_nms), (false, false, Some(30000)));
        // [cx, cy, w, h, objectness, class 0, class 1] in input pixels.
        #[rustfmt::skip]
        let rows = vec![
            50.0, 50.0, 20.0, 10.0, 0.5, 0.9, 0.1,  // class 0: 0.5 x 0.9 = 0.45; class 1: 0.05, under 0.25
            10.0, 10.0, 4.0, 4.0, 0.2, 0.1, 0.95,   // class 1: 0.2 x 0.95 = 0.19, under 0.25 (0.95 alone would pass)
            52.0, 50.0, 20.0, 10.0, 0.8, 0.5, 0.0,  // class 0: 0.4, IoU with the first 180 / 220 = 0.818 > 0.45: suppressed
        ];
        let t = Tensor::f32(vec![1, 3, 7], rows).unwrap();
        let got = summary(&d.decode(std::slice::from_ref(&t), None).unwrap());
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].2), (0, [40.0, 45.0, 60.0, 55.0]));
        assert!((got[0].1 - 0.45).abs() < 1e-6, "{got:?}");
        // The attack's margin reads the same products, before threshold and NMS.
        let (classes, scores) = d.candidate_scores(std::slice::from_ref(&t)).unwrap();
        let want = [0.45, 0.05, 0.02, 0.19, 0.4, 0.0];
        assert!(classes == 2 && scores.len() == 6 && scores.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{scores:?}");
        // Read without the objectness column (the reference-detector layout, 10 classes) it is an
        // error naming the output, its shape and the layout, not class 0 = objectness.
        let err = detector("reference-detector").decode(std::slice::from_ref(&t), None).unwrap_err().to_string();
        assert!(err.contains("packed output of shape [1, 3, 7] (output 0)") && err.contains("[1, N, 4 + 10]") && err.contains("4 + 10 = 14") && err.contains("yolov5"), "{err}");
        // The 80-class default does not fit 2 classes either.
        let err = detector("yolov5").decode(&[t], None).unwrap_err().to_string();
        assert!(err.contains("[1, N, 4 + 1 + 80]") && err.contains("5 + 80 = 85"), "{err}");
    }

    #[test]
    fn yolov8_transposed_read_gives_the_untransposed_boxes() {
        let d = detector("yolov8,classes=2");
        assert_eq!((d.score_threshold, d.nms_iou, d.max_detections, d.objectness, d.transposed), (0.25, 0.7, 300, false, true));
        assert_eq!((d.multi_label, d.agnostic_nms, d.max_nms), (false, false, Some(30000)));
        // [cx, cy, w, h, class 0, class 1] per box.
        #[rustfmt::skip]
        let rows: [[f32; 6]; 3] = [
            [30.0, 40.0, 10.0, 20.0, 0.1, 0.7],     // class 1 at 0.7: (25, 30, 35, 50)
            [100.0, 100.0, 50.0, 50.0, 0.9, 0.2],   // class 0 at 0.9: (75, 75, 125, 125)
            [31.0, 40.0, 10.0, 20.0, 0.0, 0.6],     // class 1, IoU with the first 180 / 220: suppressed
        ];
        let want = vec![(0, 0.9, [75.0, 75.0, 125.0, 125.0]), (1, 0.7, [25.0, 30.0, 35.0, 50.0])];
        let columns: Vec<f32> = (0..6).flat_map(|j| rows.iter().map(move |r| r[j])).collect();
        let transposed = Tensor::f32(vec![1, 6, 3], columns).unwrap();
        assert_eq!(summary(&d.decode(&[transposed], None).unwrap()), want);
        let untransposed = Tensor::f32(vec![1, 3, 6], rows.concat()).unwrap();
        assert_eq!(summary(&detector("yolov8,classes=2,transposed=false").decode(&[untransposed], None).unwrap()), want);
        // YOLOv8's [1, 84, 8400] read as rows of 4 + 80 would need 84 values per box, not 8400.
        let export = Tensor::f32(vec![1, 84, 8400], vec![0.0; 84 * 8400]).unwrap();
        let err = detector("yolov8,transposed=false").decode(std::slice::from_ref(&export), None).unwrap_err().to_string();
        assert!(err.contains("[1, 84, 8400]") && err.contains("8400 values per box") && err.contains("4 + 80 = 84") && err.contains("not transposed"), "{err}");
        assert_eq!(detector("yolov8").decode(&[export], None).unwrap(), vec![]);
        // objectness / transposed belong to the packed layout.
        assert!(TaskSpec::parse_cli("task=detector,objectness=true").unwrap_err().to_string().contains("only read with outputs = \"packed\""));
    }

    /// Rows `[cx, cy, w, h, class 0, class 1]` in input pixels, read by `yolov8,classes=2` untransposed.
    fn yolo_rows(rows: &[[f32; 6]]) -> Tensor {
        Tensor::f32(vec![1, rows.len(), 6], rows.concat()).unwrap()
    }

    #[test]
    fn multi_label_false_keeps_each_boxs_best_class_only() {
        let d = detector("yolov8,classes=2,transposed=false");
        // Class 0 at 0.6 and class 1 at 0.3, both above 0.25: Ultralytics' predict reports the best only.
        let t = yolo_rows(&[[50.0, 50.0, 20.0, 10.0, 0.6, 0.3]]);
        assert_eq!(summary(&d.decode(std::slice::from_ref(&t), None).unwrap()), vec![(0, 0.6, [40.0, 45.0, 60.0, 55.0])]);
        let all = DetectorSpec { multi_label: true, ..d.clone() };
        assert_eq!(summary(&all.decode(&[t], None).unwrap()), vec![(0, 0.6, [40.0, 45.0, 60.0, 55.0]), (1, 0.3, [40.0, 45.0, 60.0, 55.0])]);
        // Equal scores: the first class (torch's max); a NaN score is torch's maximum and drops the
        // box, even beside a class at 0.9; a best class at the threshold is not above it.
        let t = yolo_rows(&[[10.0, 10.0, 4.0, 4.0, 0.5, 0.5], [100.0, 10.0, 4.0, 4.0, f32::NAN, 0.9], [200.0, 10.0, 4.0, 4.0, 0.25, 0.1]]);
        assert_eq!(summary(&d.decode(&[t], None).unwrap()), vec![(0, 0.5, [8.0, 8.0, 12.0, 12.0])]);
        // YOLOv5: a box enters only with its objectness alone above the threshold (`xc = obj > conf_thres`):
        // objectness 0.2 x class 2.0 = 0.4 is above 0.25, the objectness is not.
        let v5 = detector("yolov5,classes=1");
        let t = Tensor::f32(vec![1, 2, 6], vec![10.0, 10.0, 4.0, 4.0, 0.2, 2.0, 50.0, 50.0, 4.0, 4.0, 0.5, 0.8]).unwrap();
        assert_eq!(summary(&v5.decode(&[t], None).unwrap()), vec![(0, 0.4, [48.0, 48.0, 52.0, 52.0])]);
    }

    #[test]
    fn boxes_of_different_classes_suppress_each_other_only_when_agnostic() {
        // Two boxes shifted by 1 px (IoU 180 / 220 = 0.818, above 0.7), class 0 at 0.9 and class 1 at 0.8.
        let t = yolo_rows(&[[30.0, 40.0, 10.0, 20.0, 0.9, 0.0], [31.0, 40.0, 10.0, 20.0, 0.0, 0.8]]);
        let aware = detector("yolov8,classes=2,transposed=false");
        assert_eq!(summary(&aware.decode(std::slice::from_ref(&t), None).unwrap()), vec![(0, 0.9, [25.0, 30.0, 35.0, 50.0]), (1, 0.8, [26.0, 30.0, 36.0, 50.0])]);
        let agnostic = detector("yolov8,classes=2,transposed=false,agnostic_nms=true");
        assert_eq!(summary(&agnostic.decode(std::slice::from_ref(&t), None).unwrap()), vec![(0, 0.9, [25.0, 30.0, 35.0, 50.0])]);
        // Agnostic NMS on a post-processed layout too (nms_iou 0.5: rows of classes 3 and 7 at IoU 0.818).
        let ssd = detector("ssd-tf,nms_iou=0.5,agnostic_nms=true");
        let boxes = Tensor::f32(vec![1, 2, 4], vec![30.0, 25.0, 50.0, 35.0, 30.0, 26.0, 50.0, 36.0]).unwrap();
        let outputs = [boxes, Tensor::f32(vec![1, 2], vec![3.0, 7.0]).unwrap(), Tensor::f32(vec![1, 2], vec![0.6, 0.9]).unwrap(), Tensor::f32(vec![1], vec![2.0]).unwrap()];
        assert_eq!(summary(&ssd.decode(&outputs, None).unwrap()).iter().map(|d| d.0).collect::<Vec<_>>(), vec![7]);
        assert_eq!(summary(&DetectorSpec { agnostic_nms: false, ..ssd }.decode(&outputs, None).unwrap()).iter().map(|d| d.0).collect::<Vec<_>>(), vec![7, 3]);
    }

    #[test]
    fn max_nms_cuts_the_candidates_over_all_classes_before_nms() {
        // A 0.9 (class 0), B 0.8 (class 0) overlapping A by 0.818, C 0.7 (class 1) apart.
        let t = yolo_rows(&[[30.0, 40.0, 10.0, 20.0, 0.9, 0.0], [31.0, 40.0, 10.0, 20.0, 0.8, 0.0], [200.0, 200.0, 10.0, 10.0, 0.0, 0.7]]);
        let d = detector("yolov8,classes=2,transposed=false");
        assert_eq!(summary(&d.decode(std::slice::from_ref(&t), None).unwrap()).len(), 2, "A and C");
        // max_nms = 2: A and B enter NMS, B is suppressed, C was cut before it: A alone (a cap
        // after NMS would keep A and C).
        let cut = detector("yolov8,classes=2,transposed=false,max_nms=2");
        assert_eq!(summary(&cut.decode(std::slice::from_ref(&t), None).unwrap()), vec![(0, 0.9, [25.0, 30.0, 35.0, 50.0])]);
        assert_eq!(summary(&detector("yolov8,classes=2,transposed=false,max_detections=2").decode(std::slice::from_ref(&t), None).unwrap()).len(), 2);
        // Over all classes, unlike candidate_limit (per class): 2 per class lets all three in, A and C reported.
        assert_eq!(summary(&detector("yolov8,classes=2,transposed=false,max_nms=30000,candidate_limit=2").decode(std::slice::from_ref(&t), None).unwrap()).len(), 2);
        // max_nms = 1 keeps A; 0 is refused.
        assert_eq!(summary(&detector("yolov8,classes=2,transposed=false,max_nms=1").decode(&[t], None).unwrap()).len(), 1);
        assert!(TaskSpec::parse_cli("yolov8,max_nms=0").unwrap_err().to_string().contains("max_nms"));
        // The keys are recorded with the task (config.json).
        let json = serde_json::to_value(TaskSpec::preset("yolov8").unwrap()).unwrap();
        assert_eq!((json["max_nms"].as_u64(), json["multi_label"].as_bool(), json["agnostic_nms"].as_bool(), json["nms_iou"].as_f64()), (Some(30000), Some(false), Some(false), Some(0.7f32 as f64)));
        // A spec recorded before these keys reads as what it was: multi-label, no cut, per class.
        let TaskSpec::Detector(old) = serde_json::from_str::<TaskSpec>(r#"{"task":"detector","score_threshold":0.5}"#).unwrap() else { panic!() };
        assert_eq!((old.multi_label, old.max_nms, old.agnostic_nms), (true, None, false));
    }

    #[test]
    fn ssd_tf_reads_yxyx_boxes_class_indices_and_the_count() {
        let d = detector("ssd-tf");
        // Boxes ymin, xmin, ymax, xmax (normalised); row 2 is past num_detections = 2.
        let boxes = Tensor::f32(vec![1, 3, 4], vec![0.1, 0.2, 0.5, 0.6, 0.0, 0.0, 1.0, 0.5, 0.3, 0.3, 0.4, 0.4]).unwrap();
        let classes = Tensor::f32(vec![1, 3], vec![0.0, 17.0, 3.0]).unwrap();
        let scores = Tensor::f32(vec![1, 3], vec![0.8, 0.6, 0.99]).unwrap();
        let count = Tensor::f32(vec![1], vec![2.0]).unwrap();
        let outputs = [boxes.clone(), classes.clone(), scores.clone(), count];
        assert_eq!(summary(&d.decode(&outputs, None).unwrap()), vec![(0, 0.8, [0.2, 0.1, 0.6, 0.5]), (17, 0.6, [0.0, 0.0, 0.5, 1.0])]);
        assert_eq!(d.candidate_scores(&outputs).unwrap(), (18, vec![0.8, 0.6]));
        // Without the count every row is read.
        let all = DetectorSpec { count_output: None, ..d.clone() };
        assert_eq!(all.decode(&outputs[..3], None).unwrap().len(), 3);
        // A count beyond N, a class that is not an index, scores of another length: errors naming the output.
        let err = d.decode(&[boxes.clone(), classes.clone(), scores.clone(), Tensor::f32(vec![1], vec![4.0]).unwrap()], None).unwrap_err().to_string();
        assert!(err.contains("count (output 3)") && err.contains("between 0 and 3"), "{err}");
        let err = d.decode(&[boxes.clone(), Tensor::f32(vec![1, 3], vec![0.5, 1.0, 2.0]).unwrap(), scores, outputs[3].clone()], None).unwrap_err().to_string();
        assert!(err.contains("classes (output 1) row 0 holds 0.5"), "{err}");
        let err = d.decode(&[boxes, classes, Tensor::f32(vec![1, 2], vec![0.0; 2]).unwrap(), outputs[3].clone()], None).unwrap_err().to_string();
        assert!(err.contains("scores (output 2) of shape [1, 2]"), "{err}");
        assert!(TaskSpec::parse_cli("task=detector,corner_order=yxyx,box_encoding=centre-size").unwrap_err().to_string().contains("corner_order"));
        assert!(TaskSpec::parse_cli("task=detector,outputs=post-processed").unwrap_err().to_string().contains("classes_output"));
    }

    #[test]
    fn mismatched_outputs_are_errors_not_panics() {
        let spec = DetectorSpec::default();
        let err = spec.decode(&[Tensor::f32(vec![1, 10], vec![0.0; 10]).unwrap()], None).unwrap_err().to_string();
        assert!(err.contains("output 1"), "{err}");
        let a = Tensor::f32(vec![1, 3, 2], vec![0.0; 6]).unwrap();
        let b = Tensor::f32(vec![1, 2, 4], vec![0.0; 8]).unwrap();
        assert!(spec.decode(&[a, b], None).unwrap_err().to_string().contains("[1, N, 4]"));
        // Declared classes are checked against the score tensor of the separate layout too.
        let (scores, boxes) = (Tensor::f32(vec![1, 2, 2], vec![0.0; 4]).unwrap(), Tensor::f32(vec![1, 2, 4], vec![0.0; 8]).unwrap());
        let err = DetectorSpec { classes: Some(3), ..spec.clone() }.decode(&[scores.clone(), boxes.clone()], None).unwrap_err().to_string();
        assert!(err.contains("scores (output 0) of shape [1, 2, 2] have 2 classes, the task declares classes = 3"), "{err}");
        assert_eq!(DetectorSpec { classes: Some(2), ..spec.clone() }.decode(&[scores, boxes], None).unwrap(), vec![]);
        let raw = TaskSpec::preset("ultraface-320-raw").unwrap();
        let TaskSpec::Detector(raw) = raw else { panic!() };
        let s = Tensor::f32(vec![1, 5, 2], vec![0.0; 10]).unwrap();
        let b = Tensor::f32(vec![1, 5, 4], vec![0.0; 20]).unwrap();
        assert!(raw.decode(&[s, b], None).unwrap_err().to_string().contains("4420 priors but the model has 5"));
    }
}
