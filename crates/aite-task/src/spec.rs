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
    /// One tensor `[1, N, 4 + C]` (output `boxes_output`): four box values then `C` scores.
    Packed,
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
    /// Most detections reported, best first, over all classes.
    pub max_detections: usize,
}

impl Default for DetectorSpec {
    fn default() -> Self {
        DetectorSpec {
            outputs: OutputLayout::Separate,
            scores_output: 0,
            boxes_output: 1,
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

const ULTRAFACE_DECODED: &str = "task = \"detector\"\noutputs = \"separate\"\nscores_output = 0\nboxes_output = 1\nbackground_class = true\nbox_encoding = \"corners\"\ncoordinates = \"normalised\"\nscore_threshold = 0.7\nnms_iou = 0.3\ncandidate_limit = 200\nmax_detections = 200";

const ULTRAFACE_RAW: &str = "task = \"detector\"\noutputs = \"separate\"\nscores_output = 0\nboxes_output = 1\nbackground_class = true\nbox_encoding = \"ssd-offsets\"\ncoordinates = \"normalised\"\nscore_threshold = 0.7\nnms_iou = 0.3\ncandidate_limit = 200\nmax_detections = 200\n[priors]\nimage_size = [320, 240]\nstrides = [8, 16, 32, 64]\nmin_sizes = [[10.0, 16.0, 24.0], [32.0, 48.0], [64.0, 96.0], [128.0, 192.0, 256.0]]\nvariances = [0.1, 0.2]\nclamp = true";

const BLAZEFACE_SHORT: &str = "task = \"detector\"\noutputs = \"separate\"\nboxes_output = 0\nscores_output = 1\nbackground_class = false\nbox_encoding = \"anchor-offsets\"\ncoordinates = \"normalised\"\nbox_scale = [128.0, 128.0, 128.0, 128.0]\nkeypoints = 6\nscore_activation = \"sigmoid\"\nscore_clip = 100.0\nscore_threshold = 0.5\nnms = \"weighted\"\nnms_iou = 0.3\nmax_detections = 896\n[anchors]\ninput_size = [128, 128]\nnum_layers = 4\nstrides = [8, 16, 16, 16]\nmin_scale = 0.1484375\nmax_scale = 0.75\nanchor_offset = [0.5, 0.5]\naspect_ratios = [1.0]\ninterpolated_scale_aspect_ratio = 1.0\nfixed_anchor_size = true";

const REFERENCE_DETECTOR: &str = "task = \"detector\"\noutputs = \"packed\"\nboxes_output = 0\nbackground_class = false\nbox_encoding = \"centre-size\"\ncoordinates = \"pixels\"\nscore_threshold = 0.05\nnms_iou = 0.5\nmax_detections = 100";

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
        "ppocr-v4",
        "PP-OCRv4 det + rec with the v2 direction classifier as rapidocr-onnxruntime 1.4.4 runs them: det short side 736, DB thresh 0.3, box_thresh 0.5, unclip 1.6; cls 0.9; rec 48x320+, text_score 0.5",
        PPOCR_V4,
    ),
];

const PPOCR_V4: &str = "task = \"ocr\"\nmax_side_len = 2000\nmin_side_len = 30\nmin_height = 30\nwidth_height_ratio = 8.0\ndet_limit_side_len = 736\ndet_limit_type = \"min\"\nthresh = 0.3\nbox_thresh = 0.5\nmax_candidates = 1000\nunclip_ratio = 1.6\nuse_dilation = true\nmin_size = 3.0\ncls_batch = 6\ncls_thresh = 0.9\ncls_width = 192\nrec_batch = 6\nrec_height = 48\nrec_width = 320\nuse_space_char = true\ntext_score = 0.5";

fn preset_hint() -> String {
    format!("built-in tasks: {}; or a TOML file, or key=value pairs", PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))
}

const KNOWN_KEYS: &str = "task, outputs, scores_output, boxes_output, background_class, box_encoding, coordinates, priors, anchors, box_scale, keypoints, score_activation, score_clip, score_threshold, nms, nms_iou, candidate_limit, max_detections, preset; ocr: max_side_len, min_side_len, min_height, width_height_ratio, det_limit_side_len, det_limit_type, thresh, box_thresh, max_candidates, unclip_ratio, use_dilation, min_size, cls_batch, cls_thresh, cls_width, rec_batch, rec_height, rec_width, use_space_char, text_score";

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
    /// `priors` can only be given in TOML or by preset.
    pub fn parse_cli(text: &str) -> Result<Self, TaskError> {
        let text = text.trim();
        if !text.contains('=') {
            return Self::preset(text);
        }
        let table = aite_data::key_value_table(text, |key, value| {
            if let (true, Ok(n)) = (matches!(key, "scores_output" | "boxes_output" | "candidate_limit" | "max_detections" | "keypoints" | "max_side_len" | "min_side_len" | "min_height" | "det_limit_side_len" | "max_candidates" | "cls_batch" | "cls_width" | "rec_batch" | "rec_height" | "rec_width"), value.parse::<i64>()) {
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
        if d.max_detections == 0 || d.candidate_limit == Some(0) {
            return bad("max_detections and candidate_limit must be at least 1".into(), "use e.g. max_detections = 100");
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
    /// Decode, threshold and suppress one frame's outputs. `priors` may be passed
    /// pre-generated (SSD priors or anchors: they depend only on the spec); otherwise they
    /// are generated here.
    pub fn decode(&self, outputs: &[Tensor], priors: Option<&[Prior]>) -> Result<Vec<Detection>, TaskError> {
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
        let (boxes, scores, n, classes, b_stride, s_off, s_stride) = match self.outputs {
            OutputLayout::Separate => {
                let (bt, st) = (get(self.boxes_output)?, get(self.scores_output)?);
                let ((nb, k), (ns, c)) = (rows(bt)?, rows(st)?);
                if k != coords || nb != ns {
                    return Err(TaskError::Outputs { reason: format!("boxes {:?} and scores {:?} are not [1, N, {coords}] and [1, N, C]", bt.shape(), st.shape()), hint: hint.into() });
                }
                (bt.to_f32_vec(), st.to_f32_vec(), nb, c, coords, 0, c)
            }
            OutputLayout::Packed => {
                let t = get(self.boxes_output)?;
                let (n, k) = rows(t)?;
                if k <= coords {
                    return Err(TaskError::Outputs { reason: format!("a packed output of shape {:?} has no score column after its {coords} box values", t.shape()), hint: hint.into() });
                }
                let v = t.to_f32_vec();
                (v.clone(), v, n, k - coords, k, coords, k)
            }
        };
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
                (BoxEncoding::Corners, _) => return BBox { x_min: v[0], y_min: v[1], x_max: v[2], y_max: v[3] },
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
        let activate = |raw: f32| -> f32 {
            let raw = self.score_clip.map_or(raw, |c| raw.clamp(-c, c));
            match self.score_activation {
                ScoreActivation::None => raw,
                ScoreActivation::Sigmoid => 1.0 / (1.0 + (-raw).exp()),
            }
        };
        let first_class = usize::from(self.background_class);
        let mut all = Vec::new();
        for class in first_class..classes {
            let mut candidates: Vec<Detection> = (0..n)
                .filter_map(|a| {
                    let score = activate(scores[a * s_stride + s_off + class]);
                    if !(score > self.score_threshold) {
                        return None;
                    }
                    let bbox = decode_box(a);
                    // MediaPipe drops decoded boxes of negative or NaN width or height.
                    let (w, h) = (bbox.x_max - bbox.x_min, bbox.y_max - bbox.y_min);
                    if self.box_encoding == BoxEncoding::AnchorOffsets && !(w >= 0.0 && h >= 0.0) {
                        return None;
                    }
                    Some(Detection { class, score, bbox, keypoints: decode_keypoints(a) })
                })
                .collect();
            if let Some(limit) = self.candidate_limit {
                candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
                candidates.truncate(limit);
            }
            all.extend(self.nms.apply(candidates, self.nms_iou, self.max_detections));
        }
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        all.truncate(self.max_detections);
        Ok(all)
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
        let TaskSpec::Detector(d) = TaskSpec::preset("reference-detector").unwrap() else { panic!() };
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

    #[test]
    fn mismatched_outputs_are_errors_not_panics() {
        let spec = DetectorSpec::default();
        let err = spec.decode(&[Tensor::f32(vec![1, 10], vec![0.0; 10]).unwrap()], None).unwrap_err().to_string();
        assert!(err.contains("output 1"), "{err}");
        let a = Tensor::f32(vec![1, 3, 2], vec![0.0; 6]).unwrap();
        let b = Tensor::f32(vec![1, 2, 4], vec![0.0; 8]).unwrap();
        assert!(spec.decode(&[a, b], None).unwrap_err().to_string().contains("[1, N, 4]"));
        let raw = TaskSpec::preset("ultraface-320-raw").unwrap();
        let TaskSpec::Detector(raw) = raw else { panic!() };
        let s = Tensor::f32(vec![1, 5, 2], vec![0.0; 10]).unwrap();
        let b = Tensor::f32(vec![1, 5, 4], vec![0.0; 20]).unwrap();
        assert!(raw.decode(&[s, b], None).unwrap_err().to_string().contains("4420 priors but the model has 5"));
    }
}
