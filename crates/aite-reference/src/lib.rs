//! The bundled reference terminal.
//!
//! `aite demo` evaluates this terminal with nothing but the binary: a small CNN
//! trained by `tools/reference-terminal/train.py` on scikit-learn's `digits`
//! (real 8x8 scans of handwritten digits), exported to ONNX in fp32 and int8
//! QDQ, plus 300 held-out labeled images. The training script records the
//! accuracies onnxruntime measured in `assets/reference.json`
//! ([`ReferenceFacts`]), which tests compare against.
//!
//! The terminal also runs a detector the project trains itself
//! (`tools/reference-detector/train.py`): a tiny YOLO-style grid detector of the same
//! digits on 64x64 canvases composed from the scans, so its labels come from the
//! composition; fp32 and int8 QDQ ([`DETECTOR_FP32`], [`DETECTOR_INT8_QDQ`]), 100
//! held-out labeled scenes ([`scenes`], COCO ground truth in [`DETECTOR_ANNOTATIONS`])
//! and the COCO AP pycocotools measured on onnxruntime's detections ([`DetectorFacts`]).
//!
//! ```
//! let ds = aite_reference::dataset();
//! assert_eq!(ds.samples.len(), 300);
//! assert!(aite_reference::MODEL_FP32.len() > 1000);
//! let scenes = aite_reference::scenes();
//! assert_eq!(scenes.len(), aite_reference::detector_facts().scenes);
//! ```

use aite_data::{Dataset, PreprocessSpec};
use aite_task::TaskSpec;
use include_dir::{include_dir, Dir};
use serde::Deserialize;
use std::sync::Arc;

/// fp32 ONNX model: input `input` [batch,1,8,8] (gray / 255), output `logits` [batch,10].
pub static MODEL_FP32: &[u8] = include_bytes!("../assets/digits_cnn_fp32.onnx");
/// The same model quantized to int8 QDQ by onnxruntime.
pub static MODEL_INT8_QDQ: &[u8] = include_bytes!("../assets/digits_cnn_int8_qdq.onnx");

static DIGITS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/digits");
static FACTS: &str = include_str!("../assets/reference.json");

/// Name used for the reference terminal in reports.
pub const NAME: &str = "aite reference terminal (digits CNN)";

/// Facts recorded when the model was trained.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceFacts {
    pub seed: u64,
    pub held_out: usize,
    pub train: usize,
    pub onnxruntime_version: String,
    pub accuracy_fp32: f64,
    pub correct_fp32: usize,
    pub accuracy_int8_qdq: f64,
    pub correct_int8_qdq: usize,
}

pub fn facts() -> ReferenceFacts {
    serde_json::from_str(FACTS).expect("reference.json is written by the training script")
}

/// The preprocessing the model was trained with.
pub fn preprocess() -> PreprocessSpec {
    PreprocessSpec::preset("digits8").expect("built-in preset")
}

/// The held-out images, in manifest order.
pub fn dataset() -> Dataset {
    let manifest = DIGITS
        .get_file("labels.csv")
        .and_then(|f| f.contents_utf8())
        .expect("labels.csv is embedded");
    let samples = manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split(',');
            let name = cols.next()?;
            let label = cols.next()?.parse().ok()?;
            let bytes = DIGITS.get_file(name)?.contents();
            Some((name.to_string(), Arc::<[u8]>::from(bytes), Some(label)))
        })
        .collect();
    Dataset::in_memory("reference:digits-held-out", samples, (0..10).map(|d| d.to_string()).collect())
}

/// Detector fp32 ONNX: input `input` [batch,1,64,64] (gray / 255), output `detections`
/// [batch,64,14]: per grid cell `cx, cy, w, h` in input pixels, then the scores of digits 0..9
/// (task preset `reference-detector`).
pub static DETECTOR_FP32: &[u8] = include_bytes!("../assets/detector/digit_detector_fp32.onnx");
/// The detector quantized to int8 QDQ by onnxruntime (convolutions and pools; the grid decoding stays fp32).
pub static DETECTOR_INT8_QDQ: &[u8] = include_bytes!("../assets/detector/digit_detector_int8_qdq.onnx");
/// COCO instances JSON of the held-out scenes (image ids 1.., in [`scenes`] order; categories 0..9 are the digits).
pub static DETECTOR_ANNOTATIONS: &str = include_str!("../assets/detector/annotations.json");
/// Where [`DETECTOR_ANNOTATIONS`] comes from, as the evidence names it.
pub const DETECTOR_ANNOTATIONS_SOURCE: &str = "reference:detector/annotations.json";

static SCENES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/detector/scenes");
static DETECTOR_FACTS: &str = include_str!("../assets/detector/reference.json");

/// Name used for the reference detector in reports.
pub const DETECTOR_NAME: &str = "aite reference detector (digits on 64x64 scenes)";

/// Facts recorded when the detector was trained: COCO AP@[.5:.95] and AP50 that pycocotools
/// measured on onnxruntime's detections of the held-out scenes, decoded as the
/// `reference-detector` task preset says.
#[derive(Debug, Clone, Deserialize)]
pub struct DetectorFacts {
    pub seed: u64,
    pub scenes: usize,
    pub ground_truth_boxes: usize,
    pub train_scenes: usize,
    pub onnxruntime_version: String,
    pub ap_fp32: f64,
    pub ap50_fp32: f64,
    pub detections_fp32: usize,
    /// The twelve numbers of pycocotools' `COCOeval.stats`.
    pub coco_stats_fp32: Vec<f64>,
    pub ap_int8_qdq: f64,
    pub ap50_int8_qdq: f64,
    pub detections_int8_qdq: usize,
    pub coco_stats_int8_qdq: Vec<f64>,
}

pub fn detector_facts() -> DetectorFacts {
    serde_json::from_str(DETECTOR_FACTS).expect("detector/reference.json is written by the training script")
}

/// The detector's preprocessing: the 64x64 scene in gray / 255.
pub fn detector_preprocess() -> PreprocessSpec {
    PreprocessSpec::from_toml("resize = \"64x64\"\ncolor = \"gray\"\nscale = 0.00392156862745098").expect("a valid spec")
}

/// How the detector's output is decoded.
pub fn detector_task() -> TaskSpec {
    TaskSpec::preset("reference-detector").expect("built-in preset")
}

/// One labeled box of a scene: digit and COCO `[x, y, w, h]` in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneBox {
    pub category_id: u64,
    pub bbox: [f64; 4],
}

/// One held-out scene: its COCO image id, file name, size, PNG bytes and labeled boxes.
#[derive(Debug, Clone)]
pub struct Scene {
    pub image_id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    pub png: &'static [u8],
    pub boxes: Vec<SceneBox>,
}

#[derive(Deserialize)]
struct CocoImage {
    id: u64,
    file_name: String,
    width: u32,
    height: u32,
}

#[derive(Deserialize)]
struct CocoAnnotation {
    image_id: u64,
    category_id: u64,
    bbox: [f64; 4],
}

#[derive(Deserialize)]
struct CocoFile {
    images: Vec<CocoImage>,
    annotations: Vec<CocoAnnotation>,
}

/// The held-out scenes in annotation order (image ids 1..).
pub fn scenes() -> Vec<Scene> {
    let coco: CocoFile = serde_json::from_str(DETECTOR_ANNOTATIONS).expect("annotations.json is written by the training script");
    coco.images
        .into_iter()
        .map(|img| Scene {
            image_id: img.id,
            width: img.width,
            height: img.height,
            png: SCENES.get_file(&img.file_name).map(|f| f.contents()).expect("every annotated scene is embedded"),
            boxes: coco.annotations.iter().filter(|a| a.image_id == img.id).map(|a| SceneBox { category_id: a.category_id, bbox: a.bbox }).collect(),
            file_name: img.file_name,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_manifest_row_is_embedded() {
        let ds = super::dataset();
        assert_eq!(ds.samples.len(), super::facts().held_out);
        assert!(ds.samples.iter().all(|s| s.label.is_some_and(|l| l < 10)));
    }

    #[test]
    fn every_scene_is_embedded_with_its_boxes() {
        let facts = super::detector_facts();
        let scenes = super::scenes();
        assert_eq!(scenes.len(), facts.scenes);
        assert_eq!(scenes.iter().map(|s| s.boxes.len()).sum::<usize>(), facts.ground_truth_boxes);
        assert!(scenes.iter().all(|s| s.png.starts_with(b"\x89PNG") && s.boxes.iter().all(|b| b.category_id < 10 && b.bbox[0] + b.bbox[2] <= 64.0 && b.bbox[1] + b.bbox[3] <= 64.0)));
        assert!(scenes.iter().any(|s| s.boxes.is_empty()), "some scenes are empty");
        assert!(matches!(super::detector_task(), super::TaskSpec::Detector(_)));
    }
}
