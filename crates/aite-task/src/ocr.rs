//! The PP-OCR pipeline: text detection (DB), an optional direction classifier and
//! CTC text recognition, three models behind [`Target`]s, from an RGB frame to text
//! lines (box, text, score).
//!
//! Every step follows rapidocr-onnxruntime 1.4.4 (`rapidocr_onnxruntime/main.py`,
//! `ch_ppocr_det`, `ch_ppocr_cls`, `ch_ppocr_rec`, `config.yaml`), which is PaddleOCR's
//! inference pipeline on ONNX Runtime; the models see BGR pixels, as PaddleOCR's
//! OpenCV-decoded frames are. [`OcrSpec`] holds its published parameters.

use crate::ctc::Charset;
use crate::db::{db_boxes, DbParams, Quad, TextBox};
use crate::raster::{perspective_transform, Frame};
use crate::TaskError;
use aite_target::{Target, TargetError, Tensor};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How the detector's input size is chosen (PaddleOCR `limit_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LimitType {
    /// Scale up so the short side is at least `det_limit_side_len` (rapidocr's default).
    #[default]
    Min,
    /// Scale down so the long side is at most 960, 1500 or 2000 (by the frame's long
    /// side; rapidocr ignores `det_limit_side_len` then).
    Max,
}

/// The OCR task: PP-OCR's pre- and post-processing parameters (rapidocr 1.4.4's
/// `config.yaml` in [`Default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcrSpec {
    /// Frames with a longer side are first scaled down to it (to multiples of 32).
    pub max_side_len: usize,
    /// Frames with a shorter side are first scaled up to it.
    pub min_side_len: usize,
    /// Frames this low or lower, or wider than `width_height_ratio` heights, are padded
    /// with black rows (rapidocr's letterbox); `width_height_ratio = -1` disables the ratio rule.
    pub min_height: usize,
    pub width_height_ratio: f64,
    pub det_limit_side_len: usize,
    pub det_limit_type: LimitType,
    /// DB map threshold, box score threshold, candidates, expansion, dilation, minimum side.
    pub thresh: f32,
    pub box_thresh: f32,
    pub max_candidates: usize,
    pub unclip_ratio: f64,
    pub use_dilation: bool,
    pub min_size: f32,
    /// Crops per direction-classifier batch; a crop is turned 180 degrees when the
    /// classifier says `180` with a score strictly above `cls_thresh`.
    pub cls_batch: usize,
    pub cls_thresh: f32,
    /// Classifier input `[N, 3, 48, cls_width]`.
    pub cls_width: usize,
    /// Crops per recogniser batch; input `[N, 3, rec_height, W]` with W from the widest
    /// crop of the batch (at least `rec_width`).
    pub rec_batch: usize,
    pub rec_height: usize,
    pub rec_width: usize,
    /// The charset ends with a space class.
    pub use_space_char: bool,
    /// Lines whose recognition score is below this are dropped.
    pub text_score: f64,
}

impl Default for OcrSpec {
    fn default() -> Self {
        OcrSpec {
            max_side_len: 2000,
            min_side_len: 30,
            min_height: 30,
            width_height_ratio: 8.0,
            det_limit_side_len: 736,
            det_limit_type: LimitType::Min,
            thresh: 0.3,
            box_thresh: 0.5,
            max_candidates: 1000,
            unclip_ratio: 1.6,
            use_dilation: true,
            min_size: 3.0,
            cls_batch: 6,
            cls_thresh: 0.9,
            cls_width: 192,
            rec_batch: 6,
            rec_height: 48,
            rec_width: 320,
            use_space_char: true,
            text_score: 0.5,
        }
    }
}

impl OcrSpec {
    pub fn db_params(&self) -> DbParams {
        DbParams { thresh: self.thresh, box_thresh: self.box_thresh, max_candidates: self.max_candidates, unclip_ratio: self.unclip_ratio, use_dilation: self.use_dilation, min_size: self.min_size }
    }

    pub(crate) fn validate(&self) -> Result<(), TaskError> {
        let bad = |reason: &str| Err(TaskError::Spec { reason: reason.into(), hint: "start from the ppocr-v4 preset and override single keys".into() });
        if self.cls_batch == 0 || self.rec_batch == 0 {
            return bad("cls_batch and rec_batch must be at least 1");
        }
        if self.rec_height == 0 || self.rec_width == 0 || self.cls_width == 0 || self.det_limit_side_len == 0 {
            return bad("model input sizes must be at least 1");
        }
        if !(self.width_height_ratio == -1.0 || (self.width_height_ratio.is_finite() && self.width_height_ratio > 0.0)) {
            return bad("width_height_ratio must be above 0, or -1 to disable the letterbox ratio rule");
        }
        if !(self.unclip_ratio.is_finite() && self.unclip_ratio > 0.0 && self.thresh.is_finite() && self.box_thresh.is_finite()) {
            return bad("thresh, box_thresh and unclip_ratio must be finite (unclip_ratio above 0)");
        }
        Ok(())
    }

    /// The DB post-process of one detector output `[1, 1, H, W]`: text boxes in the
    /// map's pixels (the `postprocess` stage of the detector alone).
    pub fn text_boxes(&self, outputs: &[Tensor]) -> Result<Vec<TextBox>, TaskError> {
        let (map, w, h) = prob_map(outputs)?;
        Ok(db_boxes(&map, w, h, &self.db_params(), w, h))
    }
}

fn prob_map(outputs: &[Tensor]) -> Result<(Vec<f32>, usize, usize), TaskError> {
    let t = outputs.first().ok_or_else(|| TaskError::Outputs { reason: "the text detector returned no output".into(), hint: "a DB detector returns one probability map [1, 1, H, W]".into() })?;
    match *t.shape() {
        [1, 1, h, w] | [1, h, w] | [h, w] => Ok((t.to_f32_vec(), w, h)),
        ref s => Err(TaskError::Outputs { reason: format!("a text detector output of shape {s:?} is not a probability map [1, 1, H, W]"), hint: "pass the DB detector (ch_PP-OCRv4_det_infer.onnx) as --det".into() }),
    }
}

/// Builds a target planned for one input shape.
pub type ShapeLoader = Box<dyn FnMut(&[usize]) -> Result<Box<dyn Target>, TargetError> + Send>;

/// How the pipeline reaches one of its models.
pub enum OcrModel {
    /// A target with dynamic input dimensions (ONNX Runtime, a device endpoint): every
    /// input shape goes to it.
    Dynamic(Box<dyn Target>),
    /// A target planned for one input shape (tract): `load` builds one per input shape,
    /// each kept for the next input of that shape.
    PerShape {
        load: ShapeLoader,
        loaded: Vec<(Vec<usize>, Box<dyn Target>)>,
    },
}

impl OcrModel {
    /// A per-shape model from its loader.
    pub fn per_shape(load: impl FnMut(&[usize]) -> Result<Box<dyn Target>, TargetError> + Send + 'static) -> OcrModel {
        OcrModel::PerShape { load: Box::new(load), loaded: Vec::new() }
    }

    fn infer(&mut self, stage: &'static str, input: Tensor) -> Result<Vec<Tensor>, TaskError> {
        let err = |source| TaskError::Model { stage, source };
        match self {
            OcrModel::Dynamic(t) => t.infer(&[input]).map_err(err),
            OcrModel::PerShape { load, loaded } => {
                let shape = input.shape().to_vec();
                let i = match loaded.iter().position(|(s, _)| *s == shape) {
                    Some(i) => i,
                    None => {
                        loaded.push((shape.clone(), load(&shape).map_err(err)?));
                        loaded.len() - 1
                    }
                };
                loaded[i].1.infer(&[input]).map_err(err)
            }
        }
    }
}

/// One recognised line: its box in the frame's pixels, its text and the recogniser's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextLine {
    /// Top-left, top-right, bottom-right, bottom-left.
    pub quad: Quad,
    pub text: String,
    /// Mean of the kept CTC steps' probabilities.
    pub score: f64,
    /// The direction classifier turned the crop 180 degrees.
    pub rotated: bool,
}

/// Anything that reads the text lines of an RGB frame: the [`OcrPipeline`], or a device.
pub trait TextReader {
    fn read_text(&mut self, rgb: &Frame) -> Result<Vec<TextLine>, TaskError>;
}

impl TextReader for OcrPipeline {
    fn read_text(&mut self, rgb: &Frame) -> Result<Vec<TextLine>, TaskError> {
        self.read(rgb)
    }
}

/// A read with how the recogniser batched it ([`RecBatchReader::read_batched`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchedRead {
    pub lines: Vec<TextLine>,
    /// Every crop sent to the recogniser (kept or dropped by `text_score`): its box in the
    /// frame's pixels and how many crops its recogniser call held (1: read alone).
    pub calls: Vec<(Quad, usize)>,
}

/// A [`TextReader`] whose recogniser batch (crops per recogniser call) can be set.
pub trait RecBatchReader: TextReader {
    fn rec_batch(&self) -> usize;
    fn set_rec_batch(&mut self, n: usize);
    /// [`read_text`](TextReader::read_text), with the size of the recogniser call of every crop.
    fn read_batched(&mut self, rgb: &Frame) -> Result<BatchedRead, TaskError>;
}

impl RecBatchReader for OcrPipeline {
    fn rec_batch(&self) -> usize {
        self.spec.rec_batch
    }
    fn set_rec_batch(&mut self, n: usize) {
        self.spec.rec_batch = n.max(1);
    }
    fn read_batched(&mut self, rgb: &Frame) -> Result<BatchedRead, TaskError> {
        self.read_calls(rgb).map(|(read, _)| read)
    }
}

/// A timed part of one OCR read ([`OcrPipeline::read_timed`]), in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcrStage {
    /// BGR, side limits, letterbox, the detector's resize and normalisation.
    DetPreprocess,
    DetInference,
    /// DB boxes, corner order, clipping and reading order.
    DbPostprocess,
    /// Each box warped to an upright crop.
    Crop,
    ClsPreprocess,
    ClsInference,
    /// The 0/180 decision and turning the crops.
    ClsPostprocess,
    RecPreprocess,
    RecInference,
    /// Greedy CTC decoding, score filter, boxes back to frame pixels.
    CtcDecode,
}

impl OcrStage {
    pub const ALL: [OcrStage; 10] = [
        OcrStage::DetPreprocess,
        OcrStage::DetInference,
        OcrStage::DbPostprocess,
        OcrStage::Crop,
        OcrStage::ClsPreprocess,
        OcrStage::ClsInference,
        OcrStage::ClsPostprocess,
        OcrStage::RecPreprocess,
        OcrStage::RecInference,
        OcrStage::CtcDecode,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OcrStage::DetPreprocess => "det_preprocess",
            OcrStage::DetInference => "det_inference",
            OcrStage::DbPostprocess => "db_postprocess",
            OcrStage::Crop => "crop",
            OcrStage::ClsPreprocess => "cls_preprocess",
            OcrStage::ClsInference => "cls_inference",
            OcrStage::ClsPostprocess => "cls_postprocess",
            OcrStage::RecPreprocess => "rec_preprocess",
            OcrStage::RecInference => "rec_inference",
            OcrStage::CtcDecode => "ctc_decode",
        }
    }
}

/// Nanoseconds spent in each [`OcrStage`] of one read, and what each processed (0 for a
/// stage that did not run, e.g. cls and rec on a frame without text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OcrTimings {
    pub ns: [u64; 10],
    /// Items each stage processed: the frame (1) for the detector's three stages, the text-box
    /// crops for `crop`, the cls stages and the rec stages (`ctc_decode`: crops decoded).
    pub items: [u32; 10],
}

impl OcrTimings {
    pub fn get(&self, stage: OcrStage) -> u64 {
        self.ns[stage as usize]
    }

    /// The items `stage` processed (see [`items`](Self::items)).
    pub fn items(&self, stage: OcrStage) -> u32 {
        self.items[stage as usize]
    }

    /// Add the time since `since` to `stage`; returns now, the next part's start.
    fn lap(&mut self, stage: OcrStage, since: Instant) -> Instant {
        let now = Instant::now();
        self.ns[stage as usize] += (now - since).as_nanos() as u64;
        now
    }

    fn count(&mut self, stages: &[OcrStage], n: usize) {
        for &s in stages {
            self.items[s as usize] += n as u32;
        }
    }
}

/// Detector, optional direction classifier and recogniser, with the recogniser's charset.
pub struct OcrPipeline {
    pub spec: OcrSpec,
    det: OcrModel,
    cls: Option<OcrModel>,
    rec: OcrModel,
    charset: Charset,
    /// The recogniser's batch dimension when its graph fixes it (no other batch can run).
    pub rec_fixed_batch: Option<usize>,
}

impl OcrPipeline {
    /// `character` is the recogniser's `character` metadata (see `aite_engine::inspect`).
    pub fn new(spec: OcrSpec, det: OcrModel, cls: Option<OcrModel>, rec: OcrModel, character: &str) -> Result<OcrPipeline, TaskError> {
        spec.validate()?;
        let charset = Charset::from_metadata(character, spec.use_space_char)?;
        Ok(OcrPipeline { spec, det, cls, rec, charset, rec_fixed_batch: None })
    }

    /// Read every text line of an RGB frame (8-bit values, `height x width x 3`).
    pub fn read(&mut self, rgb: &Frame) -> Result<Vec<TextLine>, TaskError> {
        self.read_timed(rgb).map(|(lines, _)| lines)
    }

    /// [`read`](Self::read), with the time of each [`OcrStage`] (one monotonic clock read
    /// between consecutive parts, so the parts add up to the whole read).
    pub fn read_timed(&mut self, rgb: &Frame) -> Result<(Vec<TextLine>, OcrTimings), TaskError> {
        self.read_calls(rgb).map(|(read, t)| (read.lines, t))
    }

    fn read_calls(&mut self, rgb: &Frame) -> Result<(BatchedRead, OcrTimings), TaskError> {
        let mut t = OcrTimings::default();
        let t0 = Instant::now();
        let mut bgr = rgb.clone();
        for px in bgr.data.chunks_exact_mut(3) {
            px.swap(0, 2);
        }
        let (raw_w, raw_h) = (bgr.width as f32, bgr.height as f32);
        let (img, ratio_w, ratio_h) = self.limit_sides(bgr);
        let (img, pad_top) = self.letterbox(img);
        let boxes = self.detect(&img, &mut t, t0)?;
        t.count(&[OcrStage::DetPreprocess, OcrStage::DetInference, OcrStage::DbPostprocess], 1);
        let mut at = Instant::now();
        if boxes.is_empty() {
            return Ok((BatchedRead::default(), t));
        }
        let mut crops: Vec<Frame> = boxes.iter().map(|q| crop(&img, q)).collect::<Result<_, _>>()?;
        t.count(&[OcrStage::Crop], crops.len());
        at = t.lap(OcrStage::Crop, at);
        let rotated = match self.cls.as_mut() {
            Some(cls) => classify(cls, &self.spec, &mut crops, &mut t, at)?,
            None => vec![false; crops.len()],
        };
        let texts = recognise(&mut self.rec, &self.spec, &self.charset, &crops, &mut t, Instant::now())?;
        let at = Instant::now();
        let (mut lines, mut calls) = (Vec::new(), Vec::new());
        for ((quad, (text, score, call)), rotated) in boxes.into_iter().zip(texts).zip(rotated) {
            let quad = quad.map(|[x, y]| [(x * ratio_w).clamp(0.0, raw_w), ((y - pad_top as f32) * ratio_h).clamp(0.0, raw_h)]);
            calls.push((quad, call));
            if score < self.spec.text_score {
                continue;
            }
            lines.push(TextLine { quad, text, score, rotated });
        }
        t.lap(OcrStage::CtcDecode, at);
        Ok((BatchedRead { lines, calls }, t))
    }

    /// rapidocr's `preprocess`: frames over `max_side_len` scaled down, under
    /// `min_side_len` scaled up, to multiples of 32; the ratios map boxes back.
    fn limit_sides(&self, img: Frame) -> (Frame, f32, f32) {
        let (mut img, mut rw, mut rh) = (img, 1.0f32, 1.0f32);
        let rescale = |img: &Frame, ratio: f64| -> Option<(Frame, f32, f32)> {
            let (h, w) = (img.height, img.width);
            let nh = round32((h as f64 * ratio) as usize);
            let nw = round32((w as f64 * ratio) as usize);
            (nh > 0 && nw > 0).then(|| (img.resize_linear(nw, nh), (h as f64 / nh as f64) as f32, (w as f64 / nw as f64) as f32))
        };
        let (h, w) = (img.height, img.width);
        if h.max(w) > self.spec.max_side_len {
            let ratio = self.spec.max_side_len as f64 / if h > w { h } else { w } as f64;
            if let Some((i, a, b)) = rescale(&img, ratio) {
                (img, rh, rw) = (i, a, b);
            }
        }
        let (h, w) = (img.height, img.width);
        if h.min(w) < self.spec.min_side_len {
            let ratio = self.spec.min_side_len as f64 / if h < w { h } else { w } as f64;
            if let Some((i, a, b)) = rescale(&img, ratio) {
                (img, rh, rw) = (i, a, b);
            }
        }
        (img, rw, rh)
    }

    /// rapidocr's `maybe_add_letterbox`: black rows above and below low or very wide frames.
    fn letterbox(&self, img: Frame) -> (Frame, usize) {
        let (h, w) = (img.height, img.width);
        let too_wide = self.spec.width_height_ratio != -1.0 && w as f64 / h as f64 > self.spec.width_height_ratio;
        if h <= self.spec.min_height || too_wide {
            let new_h = ((w as f64 / self.spec.width_height_ratio) as usize).max(self.spec.min_height) * 2;
            let pad = (new_h as i64 - h as i64).unsigned_abs() as usize / 2;
            return (img.pad_rows(pad, pad), pad);
        }
        (img, 0)
    }

    /// Detector input, DB boxes, PaddleOCR's clockwise ordering and clipping, boxes
    /// narrower or lower than 4 pixels dropped, then reading order.
    /// `t0`: when the read started (BGR, side limits and letterbox count as det preprocessing).
    fn detect(&mut self, img: &Frame, t: &mut OcrTimings, t0: Instant) -> Result<Vec<Quad>, TaskError> {
        let (h, w) = (img.height, img.width);
        let limit = match self.spec.det_limit_type {
            LimitType::Min => self.spec.det_limit_side_len,
            LimitType::Max if h.max(w) < 960 => 960,
            LimitType::Max if h.max(w) < 1500 => 1500,
            LimitType::Max => 2000,
        } as f64;
        let ratio = match self.spec.det_limit_type {
            LimitType::Max if h.max(w) as f64 > limit => limit / if h > w { h } else { w } as f64,
            LimitType::Min if (h.min(w) as f64) < limit => limit / if h < w { h } else { w } as f64,
            _ => 1.0,
        };
        let (rh, rw) = (round32((h as f64 * ratio) as usize), round32((w as f64 * ratio) as usize));
        if rh == 0 || rw == 0 {
            t.lap(OcrStage::DetPreprocess, t0);
            return Ok(vec![]);
        }
        let resized = img.resize_linear(rw, rh);
        let scale = (1.0f64 / 255.0) as f32;
        let input = planar(&resized, |v| ((v as f32 * scale) as f64 - 0.5) as f32 / 0.5);
        let input = Tensor::f32(vec![1, 3, rh, rw], input).map_err(|e| TaskError::Outputs { reason: e.to_string(), hint: String::new() })?;
        let at = t.lap(OcrStage::DetPreprocess, t0);
        let out = self.det.infer("det", input)?;
        let at = t.lap(OcrStage::DetInference, at);
        let (map, mw, mh) = prob_map(&out)?;
        let mut quads = Vec::new();
        for b in db_boxes(&map, mw, mh, &self.spec.db_params(), w, h) {
            let mut q = order_clockwise(b.quad);
            for p in q.iter_mut() {
                p[0] = (p[0].max(0.0).min(w as f32 - 1.0) as i64) as f32;
                p[1] = (p[1].max(0.0).min(h as f32 - 1.0) as i64) as f32;
            }
            let norm = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() as i64;
            if norm(q[0], q[1]) <= 3 || norm(q[0], q[3]) <= 3 {
                continue;
            }
            quads.push(q);
        }
        let quads = reading_order(quads);
        t.lap(OcrStage::DbPostprocess, at);
        Ok(quads)
    }
}

/// Python's `int(round(v / 32) * 32)` (round half to even).
fn round32(v: usize) -> usize {
    ((v as f64 / 32.0).round_ties_even() * 32.0) as usize
}

/// `HWC` 8-bit frame to `CHW` floats through `norm`.
fn planar(f: &Frame, norm: impl Fn(u8) -> f32) -> Vec<f32> {
    let n = f.width * f.height;
    let mut out = vec![0f32; 3 * n];
    for (i, px) in f.data.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * n + i] = norm(px[c]);
        }
    }
    out
}

/// PaddleOCR's `order_points_clockwise`: left pair by x (stable), each pair by y.
fn order_clockwise(q: Quad) -> Quad {
    let mut by_x = q;
    by_x.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (mut left, mut right) = ([by_x[0], by_x[1]], [by_x[2], by_x[3]]);
    left.sort_by(|a, b| a[1].total_cmp(&b[1]));
    right.sort_by(|a, b| a[1].total_cmp(&b[1]));
    [left[0], right[0], right[1], left[1]]
}

/// rapidocr's `sorted_boxes`: by the top-left corner's y then x, then neighbours whose
/// top-left corners are less than 10 pixels apart in y are put left to right.
fn reading_order(mut q: Vec<Quad>) -> Vec<Quad> {
    q.sort_by(|a, b| a[0][1].total_cmp(&b[0][1]).then(a[0][0].total_cmp(&b[0][0])));
    for i in 0..q.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            if (q[j + 1][0][1] - q[j][0][1]).abs() < 10.0 && q[j + 1][0][0] < q[j][0][0] {
                q.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    q
}

/// rapidocr's `get_rotate_crop_image`: the quad warped (bicubic, edges replicated) to
/// an upright rectangle as wide as its longer horizontal side and as high as its longer
/// vertical side; crops at least 1.5 times higher than wide are turned a quarter.
fn crop(img: &Frame, q: &Quad) -> Result<Frame, TaskError> {
    let d = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let w = d(q[0], q[1]).max(d(q[2], q[3])) as usize;
    let h = d(q[0], q[3]).max(d(q[1], q[2])) as usize;
    let (wf, hf) = (w as f32, h as f32);
    let degenerate = || TaskError::Outputs { reason: format!("the text box {q:?} has no area to crop"), hint: "a DB box collapsed to a line; this is a defect of the detector output".into() };
    let m = perspective_transform(q, &[[0.0, 0.0], [wf, 0.0], [wf, hf], [0.0, hf]]).ok_or_else(degenerate)?;
    let out = img.warp_perspective_cubic(&m, w.max(1), h.max(1)).ok_or_else(degenerate)?;
    Ok(if out.height as f64 / out.width as f64 >= 1.5 { out.rotate_90_ccw() } else { out })
}

/// Indices of the crops by width/height ratio (stable: equal ratios keep their order).
fn by_ratio(crops: &[Frame]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..crops.len()).collect();
    idx.sort_by(|&a, &b| (crops[a].width as f64 / crops[a].height as f64).total_cmp(&(crops[b].width as f64 / crops[b].height as f64)));
    idx
}

/// PaddleOCR's `resize_norm_img` for cls and rec: height `h`, width `ceil(h * ratio)`
/// up to `w`, `(x / 255 - 0.5) / 0.5` in f32, zeros on the right up to `w`.
fn resize_norm(img: &Frame, h: usize, w: usize, out: &mut [f32]) {
    let ratio = img.width as f64 / img.height as f64;
    let rw = ((h as f64 * ratio).ceil() as usize).min(w).max(1);
    let r = img.resize_linear(rw, h);
    for y in 0..h {
        for x in 0..rw {
            for c in 0..3 {
                out[(c * h + y) * w + x] = (r.data[(y * rw + x) * 3 + c] as f32 / 255.0 - 0.5) / 0.5;
            }
        }
    }
}

/// The direction classifier over batches; crops it calls `180` (above `cls_thresh`) are turned.
fn classify(model: &mut OcrModel, spec: &OcrSpec, crops: &mut [Frame], t: &mut OcrTimings, mut at: Instant) -> Result<Vec<bool>, TaskError> {
    let order = by_ratio(crops);
    let mut rotated = vec![false; crops.len()];
    let (h, w) = (48, spec.cls_width);
    for batch in order.chunks(spec.cls_batch) {
        let mut input = vec![0f32; batch.len() * 3 * h * w];
        for (k, &i) in batch.iter().enumerate() {
            resize_norm(&crops[i], h, w, &mut input[k * 3 * h * w..(k + 1) * 3 * h * w]);
        }
        let input = Tensor::f32(vec![batch.len(), 3, h, w], input).map_err(|e| TaskError::Outputs { reason: e.to_string(), hint: String::new() })?;
        at = t.lap(OcrStage::ClsPreprocess, at);
        let out = model.infer("cls", input)?;
        at = t.lap(OcrStage::ClsInference, at);
        let probs = out.first().map(|t| (t.shape().to_vec(), t.to_f32_vec()));
        let Some((shape, probs)) = probs.filter(|(s, _)| s.len() == 2 && s[0] == batch.len() && s[1] == 2) else {
            return Err(TaskError::Outputs { reason: format!("the direction classifier returned {:?}, not [{}, 2]", out.first().map(|t| t.shape().to_vec()), batch.len()), hint: "pass the PP-OCR direction classifier (ch_ppocr_mobile_v2.0_cls_infer.onnx) as --cls".into() });
        };
        debug_assert_eq!(shape[1], 2);
        for (k, &i) in batch.iter().enumerate() {
            let (p0, p180) = (probs[2 * k], probs[2 * k + 1]);
            if p180 > p0 && p180 > spec.cls_thresh {
                crops[i] = crops[i].rotate_180();
                rotated[i] = true;
            }
        }
        at = t.lap(OcrStage::ClsPostprocess, at);
        t.count(&[OcrStage::ClsPreprocess, OcrStage::ClsInference, OcrStage::ClsPostprocess], batch.len());
    }
    Ok(rotated)
}

/// The recogniser over batches of crops sorted by ratio, each batch as wide as its
/// widest crop, then greedy CTC decoding; each crop's text, score and recogniser call size.
fn recognise(model: &mut OcrModel, spec: &OcrSpec, charset: &Charset, crops: &[Frame], t: &mut OcrTimings, mut at: Instant) -> Result<Vec<(String, f64, usize)>, TaskError> {
    let order = by_ratio(crops);
    let mut texts = vec![(String::new(), 0.0, 0); crops.len()];
    let h = spec.rec_height;
    for batch in order.chunks(spec.rec_batch) {
        let max_ratio = batch.iter().map(|&i| crops[i].width as f64 / crops[i].height as f64).fold(spec.rec_width as f64 / h as f64, f64::max);
        let w = (h as f64 * max_ratio) as usize;
        let mut input = vec![0f32; batch.len() * 3 * h * w];
        for (k, &i) in batch.iter().enumerate() {
            resize_norm(&crops[i], h, w, &mut input[k * 3 * h * w..(k + 1) * 3 * h * w]);
        }
        let input = Tensor::f32(vec![batch.len(), 3, h, w], input).map_err(|e| TaskError::Outputs { reason: e.to_string(), hint: String::new() })?;
        at = t.lap(OcrStage::RecPreprocess, at);
        let out = model.infer("rec", input)?;
        at = t.lap(OcrStage::RecInference, at);
        let t_out = out.first().ok_or_else(|| TaskError::Outputs { reason: "the recogniser returned no output".into(), hint: "pass the PP-OCR recogniser as --rec".into() })?;
        let [n, steps, classes] = *t_out.shape() else {
            return Err(TaskError::Outputs { reason: format!("a recogniser output of shape {:?} is not [N, T, classes]", t_out.shape()), hint: "pass the PP-OCR recogniser (ch_PP-OCRv4_rec_infer.onnx) as --rec".into() });
        };
        if n != batch.len() {
            return Err(TaskError::Outputs { reason: format!("the recogniser returned {n} results for {} crops", batch.len()), hint: String::new() });
        }
        let v = t_out.to_f32_vec();
        for (k, &i) in batch.iter().enumerate() {
            let (text, score) = charset.decode(&v[k * steps * classes..(k + 1) * steps * classes], classes)?;
            texts[i] = (text, score, batch.len());
        }
        at = t.lap(OcrStage::CtcDecode, at);
        t.count(&[OcrStage::RecPreprocess, OcrStage::RecInference, OcrStage::CtcDecode], batch.len());
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_order_and_reading_order_by_hand() {
        // Corners given counter-clockwise from bottom-left: ordered TL, TR, BR, BL.
        let q: Quad = [[0.0, 10.0], [20.0, 10.0], [20.0, 0.0], [0.0, 0.0]];
        assert_eq!(order_clockwise(q), [[0.0, 0.0], [20.0, 0.0], [20.0, 10.0], [0.0, 10.0]]);
        // Two boxes on one line (top-left y 5 and 0, within 10 px): left one first, then the
        // next line (y 30).
        let at = |x: f32, y: f32| -> Quad { [[x, y], [x + 5.0, y], [x + 5.0, y + 5.0], [x, y + 5.0]] };
        let sorted = reading_order(vec![at(0.0, 30.0), at(50.0, 0.0), at(10.0, 5.0)]);
        assert_eq!(sorted.iter().map(|q| q[0]).collect::<Vec<_>>(), vec![[10.0, 5.0], [50.0, 0.0], [0.0, 30.0]]);
        assert_eq!((round32(736), round32(751), round32(752), round32(16), round32(48)), (736, 736, 768, 0, 64));
    }

    #[test]
    fn spec_defaults_are_rapidocr_config() {
        let s = OcrSpec::default();
        assert_eq!((s.det_limit_side_len, s.det_limit_type, s.thresh, s.box_thresh, s.unclip_ratio, s.max_candidates), (736, LimitType::Min, 0.3, 0.5, 1.6, 1000));
        assert_eq!((s.cls_batch, s.cls_thresh, s.rec_batch, s.rec_height, s.rec_width, s.text_score), (6, 0.9, 6, 48, 320, 0.5));
        assert!(OcrSpec { rec_batch: 0, ..s }.validate().is_err());
        assert_eq!(crate::TaskSpec::preset("ppocr-v4").unwrap(), crate::TaskSpec::Ocr(OcrSpec::default()));
        let crate::TaskSpec::Ocr(o) = crate::TaskSpec::parse_cli("ppocr-v4,box_thresh=0.6,rec_batch=1,det_limit_type=max,width_height_ratio=-1").unwrap() else { panic!() };
        assert_eq!((o.box_thresh, o.rec_batch, o.det_limit_type, o.width_height_ratio), (0.6, 1, LimitType::Max, -1.0));
        let err = crate::TaskSpec::parse_cli("ppocr-v4,unclip=2").unwrap_err().to_string();
        assert!(err.contains("unclip") && err.contains("unclip_ratio"), "{err}");
        assert!(crate::TaskSpec::parse_cli("ppocr-v4,cls_batch=0").is_err());
    }

    /// A model answering every input with `f(input)`.
    struct Fake<F: FnMut(&Tensor) -> Tensor + Send>(aite_target::TargetInfo, F);

    impl<F: FnMut(&Tensor) -> Tensor + Send> Target for Fake<F> {
        fn info(&self) -> &aite_target::TargetInfo {
            &self.0
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            Ok(vec![(self.1)(&inputs[0])])
        }
    }

    fn fake(f: impl FnMut(&Tensor) -> Tensor + Send + 'static) -> OcrModel {
        let info = aite_target::TargetInfo { name: "fake".into(), engine: "fake".into(), engine_version: "0".into(), threads: 1, inputs: vec![], outputs: vec![] };
        OcrModel::Dynamic(Box::new(Fake(info, f)))
    }

    /// Detector: probability 0.9 on map x in [w/8, 3w/8), y in [3h/8, 3h/8 + 20h/768) (for
    /// an 800x768 map: x 100..=299, y 288..=307), 0 elsewhere. Classifier: `180` at 0.95.
    /// Recogniser: "ab" (classes 1 and 2 of a 4-symbol charset) at 0.8 and 0.6.
    fn pipeline(seen_det: std::sync::Arc<std::sync::Mutex<Vec<Vec<usize>>>>) -> OcrPipeline {
        let det = fake(move |x| {
            let (h, w) = (x.shape()[2], x.shape()[3]);
            seen_det.lock().unwrap().push(x.shape().to_vec());
            let mut m = vec![0f32; h * w];
            for y in h * 3 / 8..h * 3 / 8 + 20 * h / 768 {
                for xx in w / 8..3 * w / 8 {
                    m[y * w + xx] = 0.9;
                }
            }
            Tensor::f32(vec![1, 1, h, w], m).unwrap()
        });
        let cls = fake(|x| Tensor::f32(vec![x.shape()[0], 2], [0.05, 0.95].repeat(x.shape()[0])).unwrap());
        let rec = fake(|x| {
            let (n, steps) = (x.shape()[0], x.shape()[3] / 8);
            let mut v = vec![0f32; n * steps * 6];
            for k in 0..n {
                for t in 0..steps {
                    let (class, p) = match t {
                        1 => (1, 0.8),
                        3 => (2, 0.6),
                        _ => (0, 1.0),
                    };
                    v[(k * steps + t) * 6 + class] = p;
                }
            }
            Tensor::f32(vec![n, steps, 6], v).unwrap()
        });
        OcrPipeline::new(OcrSpec::default(), det, Some(cls), rec, "a\nb\nc\nd").unwrap()
    }

    #[test]
    fn pipeline_glue_by_hand_with_fake_models() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let mut p = pipeline(seen.clone());
        // 800x768: short side 768 >= 736, sides already multiples of 32, so the map is the
        // frame. Bar 100..=299 x 288..=307, dilated to 100..300 x 288..308 (200 x 20):
        // d = 4000 * 1.6 / 440 = 14.55, box 85.45..314.55 x 273.45..322.55, Clipper's
        // rounded points give 85..315 x 273..323.
        let frame = Frame::new(800, 768, vec![128; 800 * 768 * 3]).unwrap();
        let lines = p.read(&frame).unwrap();
        assert_eq!(seen.lock().unwrap().as_slice(), &[vec![1, 3, 768, 800]]);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].quad, [[85.0, 273.0], [315.0, 273.0], [315.0, 323.0], [85.0, 323.0]]);
        assert_eq!((lines[0].text.as_str(), lines[0].rotated), ("ab", true));
        assert!((lines[0].score - 0.7).abs() < 1e-6);
        // A wide 800x64 frame (ratio 12.5 > 8) is letterboxed to 800x200 (68 black rows above
        // and below) and the detector sees 2944x736; the box comes back in frame pixels.
        seen.lock().unwrap().clear();
        let lines = p.read(&Frame::new(800, 64, vec![128; 800 * 64 * 3]).unwrap()).unwrap();
        assert_eq!(seen.lock().unwrap().as_slice(), &[vec![1, 3, 736, 2944]]);
        assert_eq!(lines.len(), 1);
        // Map bar 368..=1103 x 276..=294, dilated 368..1104 x 276..295 (736 x 19):
        // d = 736 * 19 * 1.6 / 1510 = 14.82, map box 353..1119 x 261..310; scaled to 800x200:
        // 95.9 -> 96, 304.1 -> 304, 70.9 -> 71, 84.2 -> 84; minus the 68 rows above: 3..16.
        assert_eq!(lines[0].quad, [[96.0, 3.0], [304.0, 3.0], [304.0, 16.0], [96.0, 16.0]]);
        // A recogniser score under text_score drops the line.
        p.spec.text_score = 0.75;
        assert!(p.read(&frame).unwrap().is_empty());
    }

    /// The timed parts of a read: every part ran for a frame with a line, only the detector's
    /// for a frame without one, and the parts add up to no more than the read's wall time.
    #[test]
    fn read_timed_times_the_parts_that_ran() {
        let mut p = pipeline(Default::default());
        let frame = Frame::new(800, 768, vec![128; 800 * 768 * 3]).unwrap();
        let t0 = std::time::Instant::now();
        let (lines, t) = p.read_timed(&frame).unwrap();
        let wall = t0.elapsed().as_nanos() as u64;
        assert_eq!(lines, p.read(&frame).unwrap());
        assert!(t.ns.iter().sum::<u64>() <= wall, "{t:?} > {wall}");
        // One frame through the detector, its one box through crop, cls and rec.
        assert_eq!((lines.len(), t.items), (1, [1; 10]));
        let mut empty = OcrPipeline::new(OcrSpec::default(), fake(|x| Tensor::f32(vec![1, 1, x.shape()[2], x.shape()[3]], vec![0.0; x.shape()[2] * x.shape()[3]]).unwrap()), None, fake(|x| x.clone()), "a").unwrap();
        let (lines, t) = empty.read_timed(&frame).unwrap();
        assert!(lines.is_empty());
        for s in &OcrStage::ALL[3..] {
            assert_eq!((t.get(*s), t.items(*s)), (0, 0), "{}", s.name());
        }
        assert_eq!(t.items[..3], [1; 3]);
        assert_eq!(OcrStage::ALL.map(|s| s as usize), std::array::from_fn(|i| i));
    }

    /// `set_rec_batch` sets how many crops go to each recogniser call: two text bars are
    /// one call of 2 at the default batch, two calls of 1 at batch 1.
    #[test]
    fn rec_batch_override_sets_the_recogniser_calls() {
        let det = fake(|x| {
            let (h, w) = (x.shape()[2], x.shape()[3]);
            let mut m = vec![0f32; h * w];
            for y in (200..220).chain(400..420) {
                for xx in 100..300 {
                    m[y * w + xx] = 0.9;
                }
            }
            Tensor::f32(vec![1, 1, h, w], m).unwrap()
        });
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let log = seen.clone();
        let rec = fake(move |x| {
            let (n, steps) = (x.shape()[0], x.shape()[3] / 8);
            log.lock().unwrap().push(n);
            let mut v = vec![0f32; n * steps * 4];
            for t in 0..n * steps {
                v[t * 4 + usize::from(t % steps == 1)] = 0.9;
            }
            Tensor::f32(vec![n, steps, 4], v).unwrap()
        });
        let mut p = OcrPipeline::new(OcrSpec::default(), det, None, rec, "a\nb").unwrap();
        let frame = Frame::new(800, 768, vec![0; 800 * 768 * 3]).unwrap();
        assert_eq!((p.rec_batch(), p.read(&frame).unwrap().len()), (6, 2));
        assert_eq!(std::mem::take(&mut *seen.lock().unwrap()), vec![2]);
        let read = p.read_batched(&frame).unwrap();
        assert_eq!((read.lines.len(), read.calls.iter().map(|c| c.1).collect::<Vec<_>>()), (2, vec![2, 2]));
        assert_eq!(read.calls.iter().map(|c| c.0).collect::<Vec<_>>(), read.lines.iter().map(|l| l.quad).collect::<Vec<_>>());
        std::mem::take(&mut *seen.lock().unwrap());
        p.set_rec_batch(1);
        assert_eq!((p.rec_batch(), p.read(&frame).unwrap().len()), (1, 2));
        assert_eq!(*seen.lock().unwrap(), vec![1, 1]);
        assert_eq!(p.read_batched(&frame).unwrap().calls.iter().map(|c| c.1).collect::<Vec<_>>(), vec![1, 1]);
    }

    #[test]
    fn model_output_that_does_not_fit_is_an_error() {
        let rec = fake(|x| Tensor::f32(vec![x.shape()[0], 2, 9], vec![0.0; x.shape()[0] * 18]).unwrap());
        let det = fake(|x| {
            let (h, w) = (x.shape()[2], x.shape()[3]);
            let mut m = vec![0f32; h * w];
            for y in 200..220 {
                for xx in 100..300 {
                    m[y * w + xx] = 0.9;
                }
            }
            Tensor::f32(vec![1, 1, h, w], m).unwrap()
        });
        let mut p = OcrPipeline::new(OcrSpec::default(), det, None, rec, "a\nb").unwrap();
        let err = p.read(&Frame::new(800, 768, vec![0; 800 * 768 * 3]).unwrap()).unwrap_err().to_string();
        assert!(err.contains("9 output classes"), "{err}");
        let bad_det = fake(|_| Tensor::f32(vec![1, 2, 4, 4], vec![0.0; 32]).unwrap());
        let mut p = OcrPipeline::new(OcrSpec::default(), bad_det, None, fake(|x| x.clone()), "a").unwrap();
        let err = p.read(&Frame::new(40, 40, vec![0; 40 * 40 * 3]).unwrap()).unwrap_err().to_string();
        assert!(err.contains("probability map"), "{err}");
        assert!(OcrSpec { width_height_ratio: 0.0, ..OcrSpec::default() }.validate().is_err());
    }
}
