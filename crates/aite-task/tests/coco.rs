//! COCO bbox AP/AR (feature `coco`) against pycocotools on the same ground truth and
//! detections, and against hand-computed values.
//!
//! The peer is a Python with pycocotools: `AITE_PEER_PYTHON` (the peer virtualenv) or
//! `python3`; skipped with a message when neither has it, a failure under `AITE_REQUIRE_PEERS=1`.

use aite_task::{coco_bbox, BBox, CocoDetection, Coordinates};
use std::process::Command;

/// Three images, two categories, boxes of all three COCO size ranges (small < 32², large > 96²).
const GROUND_TRUTH: &str = r#"{
 "images": [{"id": 1, "width": 640, "height": 480}, {"id": 2, "width": 640, "height": 480}, {"id": 3, "width": 320, "height": 240}],
 "categories": [{"id": 1, "name": "face"}, {"id": 2, "name": "plate"}],
 "annotations": [
  {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 100, 120], "area": 12000, "iscrowd": 0},
  {"id": 2, "image_id": 1, "category_id": 1, "bbox": [300, 200, 40, 50], "area": 2000, "iscrowd": 0},
  {"id": 3, "image_id": 1, "category_id": 2, "bbox": [500, 400, 20, 10], "area": 200, "iscrowd": 0},
  {"id": 4, "image_id": 2, "category_id": 1, "bbox": [50, 60, 200, 180], "area": 36000, "iscrowd": 0},
  {"id": 5, "image_id": 2, "category_id": 2, "bbox": [100, 300, 60, 30], "area": 1800, "iscrowd": 0},
  {"id": 6, "image_id": 3, "category_id": 1, "bbox": [5, 5, 25, 25], "area": 625, "iscrowd": 0}
 ]
}"#;

fn detections() -> Vec<CocoDetection> {
    let d = |image_id, category_id, bbox: [f64; 4], score| CocoDetection { image_id, category_id, bbox, score };
    vec![
        d(1, 1, [12.0, 8.0, 98.0, 125.0], 0.95),   // good match of 1
        d(1, 1, [305.0, 210.0, 40.0, 50.0], 0.60),  // IoU ~0.6 with 2
        d(1, 1, [400.0, 50.0, 60.0, 60.0], 0.80),   // false positive
        d(1, 2, [500.0, 401.0, 20.0, 10.0], 0.70),  // near-exact 3
        d(2, 1, [60.0, 60.0, 190.0, 190.0], 0.90),  // good match of 4
        d(2, 1, [55.0, 65.0, 195.0, 175.0], 0.50),  // duplicate of 4
        d(2, 2, [130.0, 300.0, 60.0, 30.0], 0.85),  // IoU 1/3 with 5
        d(3, 1, [6.0, 4.0, 24.0, 26.0], 0.40),      // match of 6
        d(3, 2, [100.0, 100.0, 30.0, 30.0], 0.30),  // false positive, no plate in image 3
    ]
}

fn peer_python() -> Option<String> {
    let candidates = std::env::var("AITE_PEER_PYTHON").into_iter().chain(["python3".to_string()]);
    for py in candidates {
        if Command::new(&py).args(["-c", "import pycocotools.cocoeval"]).output().is_ok_and(|o| o.status.success()) {
            return Some(py);
        }
    }
    let why = "no Python with pycocotools (AITE_PEER_PYTHON or python3; pip install pycocotools)";
    assert!(std::env::var("AITE_REQUIRE_PEERS").map_or(true, |v| v != "1"), "AITE_REQUIRE_PEERS=1 and {why}");
    eprintln!("skipped: {why}");
    None
}

const PEER: &str = r#"
import sys, json, io, contextlib
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    e = COCOeval(gt, dt, 'bbox'); e.evaluate(); e.accumulate(); e.summarize()
print(json.dumps([float(v) for v in e.stats]))
"#;

#[test]
fn coco_bbox_stats_match_pycocotools() {
    let dir = std::env::temp_dir().join(format!("aite-coco-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gt = dir.join("gt.json");
    std::fs::write(&gt, GROUND_TRUTH).unwrap();
    let ours = coco_bbox(&gt, &detections()).unwrap().as_array();
    assert!(ours.iter().all(|v| (-1.0..=1.0).contains(v)), "{ours:?}");
    let Some(py) = peer_python() else { return };
    let dt = dir.join("dt.json");
    std::fs::write(&dt, serde_json::to_string(&detections()).unwrap()).unwrap();
    let out = Command::new(py).arg("-c").arg(PEER).arg(&gt).arg(&dt).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!((a - b).abs() < 1e-9, "stats[{i}]: hotcoco {a} vs pycocotools {b}\nours {ours:?}\ntheirs {theirs:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn perfect_detections_score_one_and_bad_files_name_the_path() {
    let dir = std::env::temp_dir().join(format!("aite-coco-perfect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gt = dir.join("gt.json");
    std::fs::write(&gt, GROUND_TRUTH).unwrap();
    let truth: serde_json::Value = serde_json::from_str(GROUND_TRUTH).unwrap();
    let perfect: Vec<CocoDetection> = truth["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| CocoDetection {
            image_id: a["image_id"].as_u64().unwrap(),
            category_id: a["category_id"].as_u64().unwrap(),
            bbox: serde_json::from_value(a["bbox"].clone()).unwrap(),
            score: 0.9,
        })
        .collect();
    let s = coco_bbox(&gt, &perfect).unwrap();
    // Every ground-truth box found exactly, nothing else: AP and AR are 1 at every IoU and size,
    // except AR at one detection per image and category: face has two boxes in image 1, so
    // 3 of 4 faces and 2 of 2 plates, (0.75 + 1) / 2 = 0.875.
    let want = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.875, 1.0, 1.0, 1.0, 1.0, 1.0];
    assert!(s.as_array().iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{s:?}");
    // A normalised box maps to pixels of the original image.
    let d = CocoDetection::from_bbox(1, 1, &BBox { x_min: 0.25, y_min: 0.5, x_max: 0.75, y_max: 1.0 }, Coordinates::Normalised, 640, 480, 0.5);
    assert_eq!(d.bbox, [160.0, 240.0, 320.0, 240.0]);
    let missing = dir.join("missing.json");
    let err = coco_bbox(&missing, &perfect).unwrap_err().to_string();
    assert!(err.contains("missing.json"), "{err}");
    assert!(coco_bbox(&gt, &[]).unwrap_err().to_string().contains("no detections"));
    std::fs::remove_dir_all(&dir).ok();
}
