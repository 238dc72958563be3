//! The embedded reference detector (issue 16, "Embedded default"): aite's COCO AP of the
//! fp32 and int8 QDQ models on the 100 held-out scenes, against two independent oracles:
//! the figures `tools/reference-detector/train.py` recorded (onnxruntime's detections, decoded
//! in NumPy, scored by pycocotools), and, with `AITE_PEER_PYTHON`, pycocotools 2.0.8 scoring
//! aite's own detections (the same twelve numbers to 1e-6).

mod common;

use aite_engine::{load_target_from_bytes, EngineKind, EngineOptions};
use aite_robustness::corruption::detection::{clean_detections, DetectionFrame};
use aite_task::{coco_bbox, CocoDetection, Postprocess};
use common::*;
use std::path::{Path, PathBuf};

fn annotations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-reference/assets/detector/annotations.json")
}

/// aite's detections of every scene by one embedded model (tract), as COCO results.
fn detections(name: &str, bytes: &[u8]) -> Vec<CocoDetection> {
    let spec = aite_reference::detector_preprocess();
    let post = Postprocess::new(aite_reference::detector_task());
    let scenes = aite_reference::scenes();
    let frames: Vec<DetectionFrame> = scenes.iter().map(|s| DetectionFrame { id: s.file_name.clone(), image: image::load_from_memory(s.png).unwrap().to_rgb8() }).collect();
    let mut target = load_target_from_bytes(name, bytes, EngineKind::Tract, &EngineOptions::default()).unwrap();
    let dets = clean_detections(target.as_mut(), &spec, &post, &frames).unwrap();
    scenes.iter().zip(dets).flat_map(|(s, d)| d.into_iter().map(move |d| CocoDetection { image_id: s.image_id, ..d })).collect()
}

fn models() -> [(&'static str, &'static [u8], f64, f64, Vec<f64>); 2] {
    let f = aite_reference::detector_facts();
    [
        ("digit_detector_fp32.onnx", aite_reference::DETECTOR_FP32, f.ap_fp32, f.ap50_fp32, f.coco_stats_fp32),
        ("digit_detector_int8_qdq.onnx", aite_reference::DETECTOR_INT8_QDQ, f.ap_int8_qdq, f.ap50_int8_qdq, f.coco_stats_int8_qdq),
    ]
}

/// Tract + aite's decoding + hotcoco give the AP that onnxruntime + NumPy + pycocotools gave
/// at training time.
#[test]
fn embedded_detector_ap_equals_the_training_measurement() {
    for (name, bytes, ap, ap50, stats) in models() {
        let dets = detections(name, bytes);
        let got = coco_bbox(&annotations(), &dets).unwrap();
        eprintln!("{name}: AP {:.6} AP50 {:.6} ({} detections); training: AP {ap:.6} AP50 {ap50:.6}", got.ap, got.ap50, dets.len());
        assert!(got.ap > 0.3 && got.ap50 > 0.8, "{name}: the detector finds the digits: {got:?}");
        for (i, (a, b)) in got.as_array().iter().zip(&stats).enumerate() {
            assert!((a - b).abs() < 1e-6, "{name}: stats[{i}] {a} (aite) vs {b} (training script)");
        }
    }
}

const PYCOCOTOOLS: &str = r#"
import json, sys, contextlib, io
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1])
    dt = gt.loadRes(json.load(open(sys.argv[2])))
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps([float(v) for v in ev.stats]))
"#;

/// pycocotools COCOeval on aite's own detections of the scenes gives the twelve numbers
/// aite (hotcoco) gives, to 1e-6.
#[test]
fn pycocotools_scores_aites_detections_as_aite_does() {
    let Some(python) = peer_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, ..) in models() {
        let dets = detections(name, bytes);
        let ours = coco_bbox(&annotations(), &dets).unwrap();
        let json: Vec<_> = dets.iter().map(|d| serde_json::json!({"image_id": d.image_id, "category_id": d.category_id, "bbox": d.bbox, "score": d.score})).collect();
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        let out = std::process::Command::new(&python).arg("-c").arg(PYCOCOTOOLS).arg(annotations()).arg(&path).output().unwrap();
        if !out.status.success() {
            skip_or_fail(&format!("pycocotools did not run: {}", String::from_utf8_lossy(&out.stderr)));
            return;
        }
        let theirs: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
        eprintln!("{name}: aite {:?}\n  pycocotools {theirs:?}", ours.as_array());
        for (i, (a, b)) in ours.as_array().iter().zip(&theirs).enumerate() {
            assert!((a - b).abs() < 1e-6, "{name}: stats[{i}] {a} (aite) vs {b} (pycocotools)");
        }
    }
}
