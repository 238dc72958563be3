//! `aite accuracy --task DETECTOR --labels` (issue 16): UltraFace slim-320 on real face photos
//! from ../shared scored with COCO's protocol against labels, and pycocotools 2.0.8 COCOeval
//! on the same ground truth and the run's detections.json as the oracle: the twelve summary
//! numbers, AP per class and recall at fixed false positives per image (computed from
//! pycocotools' own IoU-0.5 matching), to 1e-6. The labels mix sizes, a crowd region and a
//! missed face. YOLO txt labels of the same boxes give the same AP as the COCO JSON.
//!
//! Skips with a message when ../shared or the peer Python is absent; fails instead under
//! `AITE_REQUIRE_PEERS=1`.

mod common;

use common::*;
use std::path::Path;

const PHOTOS: [&str; 5] = ["1", "2", "5", "13", "20"];

fn frames(assets: &Path, dir: &Path) -> std::path::PathBuf {
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    for name in PHOTOS {
        std::fs::copy(assets.join(format!("data/faces/{name}.jpg")), frames.join(format!("{name}.jpg"))).unwrap();
    }
    frames
}

fn accuracy(model: &Path, task: &str, frames: &Path, labels: &Path, out: &Path) -> Run {
    run(aite().args(["accuracy", "-m"]).arg(model).args(["-p", "ultraface320", "--task", task, "-d"]).arg(frames).arg("--labels").arg(labels).arg("--out").arg(out))
}

/// Ground truth made from the RFB-320 model's confident boxes (a different network than the
/// slim-320 under test): the first becomes a crowd region, one invented face is never found.
fn ground_truth(assets: &Path, dir: &Path, frames: &Path) -> serde_json::Value {
    let sizes: Vec<(u32, u32)> = PHOTOS.iter().map(|n| image::image_dimensions(frames.join(format!("{n}.jpg"))).unwrap()).collect();
    let images: Vec<serde_json::Value> = PHOTOS.iter().zip(&sizes).enumerate().map(|(i, (n, (w, h)))| serde_json::json!({"id": 10 + i, "file_name": format!("{n}.jpg"), "width": w, "height": h})).collect();
    // A placeholder box per image, only to get the RFB model's detections out of a run.
    let placeholder: Vec<serde_json::Value> = (0..PHOTOS.len()).map(|i| serde_json::json!({"id": i + 1, "image_id": 10 + i, "category_id": 1, "bbox": [0, 0, 10, 10]})).collect();
    let categories = serde_json::json!([{"id": 1, "name": "face"}, {"id": 2, "name": "plate"}]);
    let path = dir.join("placeholder.json");
    std::fs::write(&path, serde_json::json!({"images": images, "annotations": placeholder, "categories": categories}).to_string()).unwrap();
    let out = dir.join("rfb");
    let r = accuracy(&assets.join("models/face-ultraface/version-RFB-320.onnx"), "ultraface-rfb320", frames, &path, &out);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let dets: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(run_folder(&out).join("detections.json")).unwrap()).unwrap();
    let mut annotations = vec![];
    for d in dets.iter().filter(|d| d["score"].as_f64().unwrap() > 0.9) {
        let b: Vec<f64> = d["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let crowd = annotations.is_empty();
        annotations.push(serde_json::json!({"id": annotations.len() + 1, "image_id": d["image_id"], "category_id": 1, "bbox": b, "area": b[2] * b[3], "iscrowd": crowd as u8}));
    }
    assert!(annotations.len() >= 4, "RFB-320 finds few faces: {dets:?}");
    let (w, h) = sizes[1];
    annotations.push(serde_json::json!({"id": annotations.len() + 1, "image_id": 11, "category_id": 1, "bbox": [w as f64 * 0.01, h as f64 * 0.9, 20.0, 18.0], "area": 360.0, "iscrowd": 0}));
    serde_json::json!({"images": images, "annotations": annotations, "categories": categories})
}

#[test]
fn ultraface_ap_against_labels_equals_pycocotools() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let frames = frames(&assets, dir.path());
    let gt = ground_truth(&assets, dir.path(), &frames);
    let gt_path = dir.path().join("gt.json");
    std::fs::write(&gt_path, gt.to_string()).unwrap();
    let out = dir.path().join("slim");
    let r = accuracy(&assets.join("models/face-ultraface/version-slim-320.onnx"), "ultraface-slim320", &frames, &gt_path, &out);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("AP@[.5:.95]") && !r.stdout.contains("could not be read"), "{}", r.stdout);
    let folder = run_folder(&out);
    let s = &results(&folder)["suites"]["detection_accuracy"];
    assert_eq!((s["images"].as_u64(), s["format"].as_str(), s["crowd_regions"].as_u64()), (Some(5), Some("coco-json"), Some(1)), "{s}");
    let stats = &s["stats"];
    let ap = stats["ap"].as_f64().unwrap();
    assert!(ap > 0.0 && ap < 1.0, "{s}");
    let Some(python) = peer_python() else { return };
    let peer = std::process::Command::new(&python).arg("-c").arg(PYCOCOTOOLS).arg(&gt_path).arg(folder.join("detections.json")).output().unwrap();
    assert!(peer.status.success(), "pycocotools peer: {}", String::from_utf8_lossy(&peer.stderr));
    let p: serde_json::Value = serde_json::from_slice(&peer.stdout).unwrap();
    let keys = ["ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large"];
    for (k, want) in keys.iter().zip(p["stats"].as_array().unwrap()) {
        let (got, want) = (stats[k].as_f64().unwrap(), want.as_f64().unwrap());
        assert!((got - want).abs() < 1e-6, "{k}: aite {got} pycocotools {want}");
    }
    // Per class: face scored, plate (no ground truth) reported as not measurable, like pycocotools' -1.
    let classes = s["per_class"].as_array().unwrap();
    let face = classes.iter().find(|c| c["category_id"] == 1).unwrap();
    assert!((face["ap"].as_f64().unwrap() - p["face"][0].as_f64().unwrap()).abs() < 1e-6 && (face["ap50"].as_f64().unwrap() - p["face"][1].as_f64().unwrap()).abs() < 1e-6, "{face} vs {}", p["face"]);
    // AP75 per class: pycocotools' precision[5, :, k, 0, 2] (IoU 0.75, all areas, 100 detections), -1 excluded.
    let ap75 = face["ap75"].as_f64().unwrap();
    assert!((ap75 - p["face"][2].as_f64().unwrap()).abs() < 1e-6, "face AP75: aite {ap75} pycocotools {}", p["face"][2]);
    let plate = classes.iter().find(|c| c["category_id"] == 2).unwrap();
    assert!(plate["ap75"].is_null() && p["plate"][2].as_f64().unwrap() == -1.0, "{plate}");
    assert!(plate["ap"].is_null() && plate["ground_truth_boxes"] == 0 && p["plate"][0].as_f64().unwrap() == -1.0, "{plate}");
    let fppi = s["recall_at_fppi"].as_array().unwrap();
    for (got, want) in fppi.iter().zip(p["recall_at_fppi"].as_array().unwrap()) {
        assert!((got["recall"].as_f64().unwrap() - want.as_f64().unwrap()).abs() < 1e-9, "recall at {} FPPI: aite {got} pycocotools matching {want}", got["fppi"]);
    }
    eprintln!("slim-320 vs RFB-derived labels: AP {ap:.6} AP50 {:.6} AR100 {:.6}, recall at 0.01/0.1/1 FPPI {}; pycocotools {:?}", stats["ap50"], stats["ar100"], fppi.iter().map(|f| f["recall"].to_string()).collect::<Vec<_>>().join("/"), p["stats"]);

    // The same boxes as YOLO txt (no crowd in YOLO: the crowd box dropped from both sides).
    let mut plain = gt.clone();
    plain["annotations"].as_array_mut().unwrap().retain(|a| a["iscrowd"] == 0);
    let plain_path = dir.path().join("plain.json");
    std::fs::write(&plain_path, plain.to_string()).unwrap();
    let yolo = dir.path().join("yolo");
    std::fs::create_dir_all(&yolo).unwrap();
    std::fs::write(yolo.join("classes.txt"), "face\nplate\n").unwrap();
    for img in plain["images"].as_array().unwrap() {
        let (w, h) = (img["width"].as_f64().unwrap(), img["height"].as_f64().unwrap());
        let mut text = String::new();
        for a in plain["annotations"].as_array().unwrap().iter().filter(|a| a["image_id"] == img["id"]) {
            let b: Vec<f64> = a["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            text.push_str(&format!("0 {} {} {} {}\n", (b[0] + b[2] / 2.0) / w, (b[1] + b[3] / 2.0) / h, b[2] / w, b[3] / h));
        }
        std::fs::write(yolo.join(img["file_name"].as_str().unwrap().replace(".jpg", ".txt")), text).unwrap();
    }
    let (out_c, out_y) = (dir.path().join("plain"), dir.path().join("yolo-run"));
    let (rc, ry) = (accuracy(&assets.join("models/face-ultraface/version-slim-320.onnx"), "ultraface-slim320", &frames, &plain_path, &out_c), accuracy(&assets.join("models/face-ultraface/version-slim-320.onnx"), "ultraface-slim320", &frames, &yolo, &out_y));
    assert_eq!((rc.code, ry.code), (0, 0), "{}\n{}", rc.stderr, ry.stderr);
    let (c, y) = (&results(&run_folder(&out_c))["suites"]["detection_accuracy"], &results(&run_folder(&out_y))["suites"]["detection_accuracy"]);
    assert_eq!(y["format"], "yolo-txt");
    for k in ["ap", "ap50", "ap75", "ar100"] {
        assert!((c["stats"][k].as_f64().unwrap() - y["stats"][k].as_f64().unwrap()).abs() < 1e-9, "{k}: COCO JSON {} YOLO {}", c["stats"][k], y["stats"][k]);
    }
}

/// Bad labels are clear errors naming the file and the annotation or line, never a panic;
/// labels without a detector task, and a detector without labels, are usage errors.
#[test]
fn bad_detection_labels_name_file_and_place() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let frames = frames(&assets, dir.path());
    let model = assets.join("models/face-ultraface/version-slim-320.onnx");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"images": [{"id": 1, "file_name": "1.jpg", "width": 10, "height": 10}], "categories": [{"id": 1, "name": "face"}], "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]}"#).unwrap();
    let r = accuracy(&model, "ultraface-slim320", &frames, &bad, &dir.path().join("o1"));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("bad.json") && r.stderr.contains("annotation 0 (id 9): bbox has 3 numbers") && !r.stderr.contains("panicked"), "{}", r.stderr);
    let yolo = dir.path().join("yolo");
    std::fs::create_dir_all(&yolo).unwrap();
    for n in PHOTOS {
        std::fs::write(yolo.join(format!("{n}.txt")), "0 0.5 0.5 0.1 0.1\n").unwrap();
    }
    std::fs::write(yolo.join("13.txt"), "0 0.5 0.5 0.1 0.1\n0 0.5 nan 0.1 0.1\n").unwrap();
    let r = accuracy(&model, "ultraface-slim320", &frames, &yolo, &dir.path().join("o2"));
    assert!(r.code != 0 && r.stderr.contains("13.txt") && r.stderr.contains("line 2: `nan` is not a number"), "{}", r.stderr);
    // A frame the COCO labels do not have.
    let missing = dir.path().join("missing.json");
    std::fs::write(&missing, r#"{"images": [{"id": 1, "file_name": "other.jpg", "width": 10, "height": 10}], "categories": [{"id": 1, "name": "face"}], "annotations": []}"#).unwrap();
    let r = accuracy(&model, "ultraface-slim320", &frames, &missing, &dir.path().join("o3"));
    assert!(r.code != 0 && r.stderr.contains("frame 1.jpg is not in") && r.stderr.contains("missing.json"), "{}", r.stderr);
    // A labelled size that is not the frame's: the boxes would be in other pixels.
    std::fs::write(&missing, r#"{"images": [{"id": 1, "file_name": "1.jpg", "width": 10, "height": 10}], "categories": [{"id": 1, "name": "face"}], "annotations": []}"#).unwrap();
    let r = accuracy(&model, "ultraface-slim320", &frames, &missing, &dir.path().join("o4"));
    assert!(r.code != 0 && r.stderr.contains("labels it 10x10"), "{}", r.stderr);
    let r = run(aite().args(["accuracy", "-m"]).arg(&model).args(["-p", "ultraface320", "-d"]).arg(&frames).arg("--labels").arg(&bad));
    assert!(r.code != 0 && r.stderr.contains("--labels are a detector's boxes"), "{}", r.stderr);
    let r = run(aite().args(["accuracy", "-m"]).arg(&model).args(["-p", "ultraface320", "--task", "ultraface-slim320", "-d"]).arg(&frames));
    assert!(r.code != 0 && r.stderr.contains("needs --labels"), "{}", r.stderr);
}

/// Review finding 5: a labelled frame that does not decode (a truncated JPEG) is recorded in the
/// suite (`undecodable`, `missing_samples`), and ROB-DET-AP is then NOT_TESTED, never judged on
/// the frames that remain.
#[test]
fn an_undecodable_labelled_frame_is_recorded_and_ap_not_judged() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let frames = frames(&assets, dir.path());
    let jpeg = std::fs::read(frames.join("1.jpg")).unwrap();
    std::fs::write(frames.join("broken.jpg"), &jpeg[..200]).unwrap();
    let mut images: Vec<serde_json::Value> = PHOTOS.iter().enumerate().map(|(i, n)| {
        let (w, h) = image::image_dimensions(frames.join(format!("{n}.jpg"))).unwrap();
        serde_json::json!({"id": i + 1, "file_name": format!("{n}.jpg"), "width": w, "height": h})
    }).collect();
    images.push(serde_json::json!({"id": 9, "file_name": "broken.jpg", "width": 10, "height": 10}));
    let annotations: Vec<serde_json::Value> = (0..PHOTOS.len()).map(|i| serde_json::json!({"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [0, 0, 10, 10]})).collect();
    let labels = dir.path().join("labels.json");
    std::fs::write(&labels, serde_json::json!({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "face"}]}).to_string()).unwrap();
    let out = dir.path().join("out");
    let r = accuracy(&assets.join("models/face-ultraface/version-slim-320.onnx"), "ultraface-slim320", &frames, &labels, &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut results: serde_json::Value = serde_json::from_slice(&std::fs::read(run_folder(&out).join("results.json")).unwrap()).unwrap();
    let suite = &results["suites"]["detection_accuracy"];
    assert_eq!((suite["images"].as_u64(), suite["missing_samples"].as_u64()), (Some(5), Some(1)), "{suite}");
    assert!(suite["undecodable"][0].as_str().is_some_and(|u| u.contains("broken.jpg")), "{suite}");
    results["declared"] = serde_json::json!({ "detection_ap": 0.1 });
    let a = aite_assessment::assess(&aite_assessment::shipped("ai-camera").unwrap(), &results);
    let v = &a.requirements.iter().find(|r| r.id == "ROB-DET-AP").unwrap().verdict;
    assert!(matches!(v, aite_assessment::Verdict::NotTested { why } if why.contains("missing_samples = 1")), "{v:?}");
}

/// pycocotools 2.0.8: the twelve numbers, AP/AP50 of each category from `precision`, and
/// recall at 0.01/0.1/1 false positives per image from evalImgs at IoU 0.5, all areas,
/// 100 detections, thresholds cut between distinct scores.
const PYCOCOTOOLS: &str = r#"
import sys, json, io, contextlib
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    e = COCOeval(gt, dt, 'bbox'); e.evaluate(); e.accumulate(); e.summarize()
out = {"stats": [float(v) for v in e.stats]}
for k, cat in enumerate(e.params.catIds):
    p = e.eval['precision'][:, :, k, 0, -1]
    ap = float(np.mean(p[p > -1])) if (p > -1).any() else -1.0
    p50 = e.eval['precision'][0, :, k, 0, -1]
    ap50 = float(np.mean(p50[p50 > -1])) if (p50 > -1).any() else -1.0
    p75 = e.eval['precision'][5, :, k, 0, 2]
    ap75 = float(np.mean(p75[p75 > -1])) if (p75 > -1).any() else -1.0
    out[gt.cats[cat]['name']] = [ap, ap50, ap75]
scores, hits, npos = [], [], 0
for ev in e.evalImgs:
    if ev is None or ev['aRng'] != e.params.areaRng[0] or ev['maxDet'] != e.params.maxDets[-1]:
        continue
    npos += int(np.sum(np.logical_not(ev['gtIgnore'])))
    for d in range(len(ev['dtIds'])):
        if not ev['dtIgnore'][0, d]:
            scores.append(ev['dtScores'][d]); hits.append(ev['dtMatches'][0, d] > 0)
order = np.argsort(-np.array(scores), kind='mergesort')
s, h = np.array(scores)[order], np.array(hits)[order]
tp, fp = np.cumsum(h), np.cumsum(~h)
last = np.r_[s[1:] != s[:-1], True]
fppi, rec = fp[last] / len(gt.imgs), tp[last] / npos
out["recall_at_fppi"] = [float(rec[fppi <= f].max()) if (fppi <= f).any() else 0.0 for f in (0.01, 0.1, 1.0)]
print(json.dumps(out))
"#;
