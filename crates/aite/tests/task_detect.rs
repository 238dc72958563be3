//! Detector tasks end to end: UltraFace and BlazeFace on real face photos from ../shared
//! (tract), their boxes against independent numpy implementations of the authors' decoding
//! and NMS (UltraFace: threshold + hard NMS; BlazeFace: MediaPipe's anchors, decoding and
//! weighted NMS) on ONNX Runtime's outputs (`AITE_PEER_PYTHON` or python3, with numpy and
//! the onnxruntime wheel), and `aite latency --end-to-end --task` on a plain folder of frames.
//!
//! Skips with a message when ../shared or the onnxruntime wheel is absent; fails
//! instead under `AITE_REQUIRE_PEERS=1`.

mod common;

use aite_data::{decode, PreprocessSpec};
use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_target::Tensor;
use aite_task::{iou, BBox, Detection, Postprocess, TaskOutput, TaskSpec};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODELS: [&str; 2] = ["version-RFB-320.onnx", "version-slim-320.onnx"];
const PRESETS: [&str; 2] = ["ultraface-rfb320", "ultraface-slim320"];

fn frames(assets: &Path) -> Vec<PathBuf> {
    let faces = assets.join("data/faces");
    vec![assets.join("data/photos/face.jpg"), faces.join("1.jpg"), faces.join("2.jpg"), faces.join("13.jpg")]
}

/// UltraFace's input tensor for one photo (`-p ultraface320`).
fn input(photo: &Path) -> Tensor {
    let spec = PreprocessSpec::parse_cli("ultraface320").unwrap();
    let image = decode(&photo.display().to_string(), &std::fs::read(photo).unwrap(), spec.color).unwrap();
    spec.to_tensor(&image).unwrap()
}

fn detections(task: &Postprocess, outputs: &[Tensor]) -> Vec<Detection> {
    match task.apply(outputs).unwrap() {
        TaskOutput::Detections(d) => d,
        other => panic!("a detector gave {other:?}"),
    }
}

#[test]
fn ultraface_on_tract_finds_faces_inside_the_photo() {
    let Some(assets) = shared_assets() else { return };
    for (model, preset) in MODELS.iter().zip(PRESETS) {
        let mut target = load_target(&assets.join("models/face-ultraface").join(model), EngineKind::Tract, &EngineOptions::default()).unwrap();
        let task = Postprocess::new(TaskSpec::preset(preset).unwrap());
        let photo = assets.join("data/photos/face.jpg");
        let found = detections(&task, &target.infer(&[input(&photo)]).unwrap());
        assert!(!found.is_empty(), "{model}: no face above 0.7 in {}", photo.display());
        let inside = |b: &BBox| b.x_min >= 0.0 && b.y_min >= 0.0 && b.x_max <= 1.0 && b.y_max <= 1.0 && b.area() > 0.0;
        assert!(found.iter().any(|d| d.class == 1 && d.score > 0.7 && inside(&d.bbox)), "{model}: {found:?}");
        // A uniform grey frame has no face.
        let grey = Tensor::f32(vec![1, 3, 240, 320], vec![0.0; 3 * 240 * 320]).unwrap();
        assert_eq!(detections(&task, &target.infer(&[grey]).unwrap()), vec![], "{model}");
    }
}

/// The peer: ONNX Runtime runs the same input tensor; numpy thresholds and suppresses
/// its outputs the way the authors' `predict` / `hard_nms` do, and re-encodes the boxes as
/// SSD offsets against priors generated in numpy from the published config.
const PEER: &str = r#"
import sys, json, numpy as np, onnxruntime as ort
model, tensor, out = sys.argv[1], sys.argv[2], sys.argv[3]
x = np.fromfile(tensor, dtype='<f4').reshape(1, 3, 240, 320)
sess = ort.InferenceSession(model, providers=['CPUExecutionProvider'])
scores, boxes = sess.run(['scores', 'boxes'], {'input': x})
scores, boxes = scores[0], boxes[0]
# priors: feature maps ceil(size / stride), centres at (i + 0.5) / map size
W, H = 320, 240
pri = []
for stride, sizes in zip([8, 16, 32, 64], [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]]):
    fw, fh = -(-W // stride), -(-H // stride)
    for j in range(fh):
        for i in range(fw):
            for m in sizes:
                pri.append([(i + 0.5) / fw, (j + 0.5) / fh, m / W, m / H])
pri = np.clip(np.array(pri, dtype=np.float32), 0.0, 1.0)
cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
w, h = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-12), np.maximum(boxes[:, 3] - boxes[:, 1], 1e-12)
offsets = np.stack([(cx - pri[:, 0]) / (0.1 * pri[:, 2]), (cy - pri[:, 1]) / (0.1 * pri[:, 3]),
                    np.log(w / pri[:, 2]) / 0.2, np.log(h / pri[:, 3]) / 0.2], axis=1).astype('<f4')
scores.astype('<f4').tofile(out + '.scores'); boxes.astype('<f4').tofile(out + '.boxes'); offsets.tofile(out + '.offsets')
def area(b):
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
keep = scores[:, 1] > 0.7
cand, prob = boxes[keep], scores[keep, 1]
order = list(np.argsort(-prob, kind='stable')[:200])
picked = []
while order:
    best = order.pop(0)
    picked.append(best)
    rest = np.array(order, dtype=int)
    if len(rest) == 0:
        break
    lt = np.maximum(cand[rest, :2], cand[best, :2]); rb = np.minimum(cand[rest, 2:], cand[best, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=1)
    ious = inter / (area(cand[rest]) + area(cand[best]) - inter)
    order = [int(i) for i, o in zip(rest, ious) if o <= 0.3]
print(json.dumps([[float(v) for v in cand[i]] + [float(prob[i])] for i in picked]))
"#;

/// `AITE_PEER_PYTHON` when set, else `python3`, if it imports numpy and onnxruntime.
fn python_with_onnxruntime() -> Option<PathBuf> {
    let python = std::env::var_os("AITE_PEER_PYTHON").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&python).args(["-c", "import numpy, onnxruntime"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail(&format!("{} cannot import numpy and onnxruntime (pip install onnxruntime; .ci/run installs it)", python.display()));
        return None;
    }
    Some(python)
}

fn read_f32(path: &Path, shape: Vec<usize>) -> Tensor {
    let bytes = std::fs::read(path).unwrap();
    Tensor::f32(shape, bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()).unwrap()
}

/// Every box of `a` has a box in `b` with IoU > 0.99 and the same score to 1e-3, and the counts agree.
fn same_boxes(what: &str, a: &[Detection], b: &[[f32; 5]]) {
    assert_eq!(a.len(), b.len(), "{what}: aite {a:?}\npeer {b:?}");
    for d in a {
        let best = b
            .iter()
            .map(|p| (iou(&d.bbox, &BBox { x_min: p[0], y_min: p[1], x_max: p[2], y_max: p[3] }), p[4]))
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .unwrap();
        assert!(best.0 > 0.99 && (best.1 - d.score).abs() < 1e-3, "{what}: {d:?} best peer match IoU {} score {}", best.0, best.1);
    }
}

#[test]
fn ultraface_boxes_match_a_numpy_peer_on_onnx_runtime() {
    let Some(assets) = shared_assets() else { return };
    let Some(python) = python_with_onnxruntime() else { return };
    let dir = tempfile::tempdir().unwrap();
    let raw = Postprocess::new(TaskSpec::preset("ultraface-320-raw").unwrap());
    let mut compared = 0;
    for (model, preset) in MODELS.iter().zip(PRESETS) {
        let path = assets.join("models/face-ultraface").join(model);
        let mut target = load_target(&path, EngineKind::Tract, &EngineOptions::default()).unwrap();
        let task = Postprocess::new(TaskSpec::preset(preset).unwrap());
        for photo in frames(&assets) {
            let x = input(&photo);
            let tensor = dir.path().join("x.f32");
            std::fs::write(&tensor, x.to_f32_vec().iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
            let out = dir.path().join("ort");
            let run = Command::new(&python).arg("-c").arg(PEER).arg(&path).arg(&tensor).arg(&out).output().unwrap();
            assert!(run.status.success(), "peer failed: {}", String::from_utf8_lossy(&run.stderr));
            let peer: Vec<[f32; 5]> = serde_json::from_slice(&run.stdout).unwrap();
            let what = format!("{model} on {}", photo.display());
            // aite's decoding on tract's outputs vs the peer's on ONNX Runtime's.
            same_boxes(&format!("{what}, tract"), &detections(&task, &target.infer(&[x]).unwrap()), &peer);
            // aite's decoding on ONNX Runtime's own outputs.
            let (scores, boxes) = (read_f32(&out.with_extension("scores"), vec![1, 4420, 2]), read_f32(&out.with_extension("boxes"), vec![1, 4420, 4]));
            same_boxes(&format!("{what}, ort outputs"), &detections(&task, &[scores.clone(), boxes]), &peer);
            // aite's SSD-offset decoding against its own priors, of offsets encoded against numpy's priors.
            let offsets = read_f32(&out.with_extension("offsets"), vec![1, 4420, 4]);
            same_boxes(&format!("{what}, ssd offsets"), &detections(&raw, &[scores, offsets]), &peer);
            eprintln!("{what}: {} face(s), aite and the peer agree", peer.len());
            compared += peer.len();
        }
    }
    assert!(compared > 0, "the photos gave no face at all to compare");
}

#[test]
fn latency_end_to_end_with_a_detector_task_on_a_plain_folder_of_frames() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let frames_dir = dir.path().join("frames");
    std::fs::create_dir(&frames_dir).unwrap();
    for (i, f) in frames(&assets).iter().enumerate() {
        std::fs::copy(f, frames_dir.join(format!("{i}.jpg"))).unwrap();
    }
    let model = assets.join("models/face-ultraface/version-RFB-320.onnx");
    let out = dir.path().join("out");
    let r = run(aite()
        .args(["latency", "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&frames_dir)
        .args(["-p", "ultraface320", "--end-to-end", "--task", "ultraface-rfb320,score_threshold=0.8", "--min-duration-ms", "0", "--min-queries", "8", "--max-queries", "8", "--json", "--out"])
        .arg(&out));
    assert!(r.code == 0 || r.code == 1, "{}\n{}", r.code, r.stderr);
    let folder = run_folder(&out);
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["task"]["task"], "detector");
    assert_eq!(cfg["task"]["score_threshold"].as_f64().map(|v| (v * 100.0).round()), Some(80.0));
    let res = results(&folder);
    let latency = &res["suites"]["latency"];
    assert_eq!(latency["queries"], 8, "{latency}");
    assert_eq!(latency["stages"]["postprocess"]["count"], 8, "{}", latency["stages"]);
    assert!(latency["error"].is_null(), "{latency}");

    // A task whose outputs do not fit (a packed layout needs one [1, N, 4 + C] output) fails
    // every query: the target error's exit code, naming the postprocess.
    let out2 = dir.path().join("out2");
    let r = run(aite().args(["latency", "-m"]).arg(&model).arg("-d").arg(&frames_dir)
        .args(["-p", "ultraface320", "--end-to-end", "--task", "task=detector,outputs=packed,boxes_output=0", "--min-duration-ms", "0", "--min-queries", "4", "--max-queries", "4", "--out"]).arg(&out2));
    assert_eq!(r.code, 4, "{}", r.stdout);
    assert!(r.stderr.contains("postprocess") && r.stderr.contains("packed output of shape [1, 4420, 2]"), "{}", r.stderr);
}

#[test]
fn task_without_end_to_end_and_unknown_tasks_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let r = run(aite().args(["latency", "-m"]).arg(&model).args(["--task", "ultraface-rfb320"]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--end-to-end"), "{}", r.stderr);
    let ds = reference_dataset(dir.path(), 4);
    let r = run(aite().args(["latency", "-m"]).arg(&model).arg("-d").arg(&ds).args(["--end-to-end", "--task", "faces"]));
    assert!(r.code != 0 && r.stderr.contains("unknown task preset `faces`") && r.stderr.contains("ultraface-rfb320"), "{}", r.stderr);
    // A folder without images is still an error naming it.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = run(aite().args(["latency", "-m"]).arg(&model).arg("-d").arg(&empty).arg("--end-to-end"));
    assert!(r.code != 0 && r.stderr.contains("has no images") && r.stderr.contains("empty"), "{}", r.stderr);
}

const BLAZEFACE_PHOTOS: [&str; 5] = ["photos/face.jpg", "faces/1.jpg", "faces/2.jpg", "faces/13.jpg", "faces/20.jpg"];

/// BlazeFace's input tensor for one photo (`-p blazeface128`).
fn blazeface_input(photo: &Path) -> Tensor {
    let spec = PreprocessSpec::parse_cli("blazeface128").unwrap();
    let image = decode(&photo.display().to_string(), &std::fs::read(photo).unwrap(), spec.color).unwrap();
    spec.to_tensor(&image).unwrap()
}

/// The BlazeFace peer: ONNX Runtime runs the same input; numpy generates the anchors the way
/// MediaPipe's SsdAnchorsCalculator does (options of face_detection_short_range_common.pbtxt),
/// decodes as TensorsToDetectionsCalculator (x, y, w, h / 128 relative to the anchor, 6
/// keypoints, scores clipped to +-100 then sigmoid, min score 0.5) and suppresses with
/// NonMaxSuppressionCalculator's WEIGHTED algorithm (IoU > 0.3). Prints [x0 y0 x1 y1 score kx ky ...].
const BLAZEFACE_PEER: &str = r#"
import sys, json, numpy as np, onnxruntime as ort
model, tensor, out = sys.argv[1], sys.argv[2], sys.argv[3]
x = np.fromfile(tensor, dtype='<f4').reshape(1, 3, 128, 128)
sess = ort.InferenceSession(model, providers=['CPUExecutionProvider'])
reg, cls = sess.run(['regressors', 'classificators'], {'input': x})
reg.astype('<f4').tofile(out + '.regressors'); cls.astype('<f4').tofile(out + '.classificators')
reg, cls = reg[0].astype(np.float64), cls[0, :, 0].astype(np.float64)
strides, min_s, max_s, size = [8, 16, 16, 16], 0.1484375, 0.75, 128
def scale(i):
    return min_s + (max_s - min_s) * i / (len(strides) - 1)
anchors, layer = [], 0
while layer < len(strides):
    per_cell, last = 0, layer
    while last < len(strides) and strides[last] == strides[layer]:
        per_cell += 2  # aspect ratio 1.0, plus the interpolated scale (ratio 1.0)
        last += 1
    fm = int(np.ceil(size / strides[layer]))
    for yy in range(fm):
        for xx in range(fm):
            for _ in range(per_cell):
                anchors.append([(xx + 0.5) / fm, (yy + 0.5) / fm])  # fixed_anchor_size: w = h = 1
    layer = last
anchors = np.array(anchors)
assert anchors.shape == (896, 2)
cx = reg[:, 0] / 128 + anchors[:, 0]; cy = reg[:, 1] / 128 + anchors[:, 1]
w = reg[:, 2] / 128; h = reg[:, 3] / 128
boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
kps = reg[:, 4:16].reshape(896, 6, 2) / 128 + anchors[:, None, :]
score = 1 / (1 + np.exp(-np.clip(cls, -100, 100)))
keep = (score > 0.5) & (w >= 0) & (h >= 0)
idx = [int(i) for i in np.argsort(-score, kind='stable') if keep[i]]
def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])); iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy; u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0
result = []
while idx:
    best = idx[0]
    cluster = [i for i in idx if iou(boxes[i], boxes[best]) > 0.3]
    rest = [i for i in idx if iou(boxes[i], boxes[best]) <= 0.3]
    if not cluster:
        result.append(list(boxes[best]) + [score[best]] + list(kps[best].ravel())); break
    wts = score[cluster]
    box = (boxes[cluster] * wts[:, None]).sum(0) / wts.sum()
    kp = (kps[cluster] * wts[:, None, None]).sum(0) / wts.sum()
    result.append(list(box) + [score[best]] + list(kp.ravel()))
    idx = rest
print(json.dumps([[float(v) for v in r] for r in result]))
"#;

/// Same count; every aite box has a peer box with IoU > 0.99, score within 1e-3 and keypoints within 1e-3.
/// Returns the smallest IoU and the largest score difference.
fn same_faces(what: &str, a: &[Detection], b: &[Vec<f32>]) -> (f32, f32) {
    assert_eq!(a.len(), b.len(), "{what}: aite {a:?}\npeer {b:?}");
    let (mut min_iou, mut max_score) = (1f32, 0f32);
    for d in a {
        let (best, p) = b
            .iter()
            .map(|p| (iou(&d.bbox, &BBox { x_min: p[0], y_min: p[1], x_max: p[2], y_max: p[3] }), p))
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .unwrap();
        let kp_diff = d.keypoints.iter().flatten().zip(&p[5..]).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(best > 0.99 && (p[4] - d.score).abs() < 1e-3 && d.keypoints.len() == 6 && kp_diff < 1e-3, "{what}: {d:?} best peer match IoU {best} {p:?}");
        min_iou = min_iou.min(best);
        max_score = max_score.max((p[4] - d.score).abs());
    }
    (min_iou, max_score)
}

#[test]
fn blazeface_boxes_match_a_numpy_mediapipe_peer_on_onnx_runtime() {
    let Some(assets) = shared_assets() else { return };
    let Some(python) = python_with_onnxruntime() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = assets.join("models/face-blazeface/blazeface_short.onnx");
    let mut target = load_target(&model, EngineKind::Tract, &EngineOptions::default()).unwrap();
    let task = Postprocess::new(TaskSpec::preset("blazeface-short").unwrap());
    let (mut faces, mut min_iou, mut max_score) = (0, 1f32, 0f32);
    for photo in BLAZEFACE_PHOTOS.iter().map(|p| assets.join("data").join(p)) {
        let x = blazeface_input(&photo);
        let tensor = dir.path().join("x.f32");
        std::fs::write(&tensor, x.to_f32_vec().iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        let out = dir.path().join("ort");
        let run = Command::new(&python).arg("-c").arg(BLAZEFACE_PEER).arg(&model).arg(&tensor).arg(&out).output().unwrap();
        assert!(run.status.success(), "peer failed: {}", String::from_utf8_lossy(&run.stderr));
        let peer: Vec<Vec<f32>> = serde_json::from_slice(&run.stdout).unwrap();
        let what = format!("blazeface on {}", photo.display());
        // aite's decoding on tract's outputs, then on ONNX Runtime's own outputs.
        let tract = detections(&task, &target.infer(&[x]).unwrap());
        let (i1, s1) = same_faces(&format!("{what}, tract"), &tract, &peer);
        let ort_out = [read_f32(&out.with_extension("regressors"), vec![1, 896, 16]), read_f32(&out.with_extension("classificators"), vec![1, 896, 1])];
        let (i2, s2) = same_faces(&format!("{what}, ort outputs"), &detections(&task, &ort_out), &peer);
        eprintln!("{what}: {} face(s), aite and the peer agree (min IoU {:.5}, max score diff {:.2e})", peer.len(), i1.min(i2), s1.max(s2));
        faces += peer.len();
        min_iou = min_iou.min(i1.min(i2));
        max_score = max_score.max(s1.max(s2));
    }
    eprintln!("blazeface: {faces} faces over {} photos, min IoU {min_iou:.5}, max score diff {max_score:.2e}", BLAZEFACE_PHOTOS.len());
    assert!(faces > 0, "the photos gave no face at all to compare");
}

#[test]
fn blazeface_on_tract_finds_a_face_and_none_in_a_uniform_frame() {
    let Some(assets) = shared_assets() else { return };
    let mut target = load_target(&assets.join("models/face-blazeface/blazeface_short.onnx"), EngineKind::Tract, &EngineOptions::default()).unwrap();
    let task = Postprocess::new(TaskSpec::preset("blazeface-short").unwrap());
    let photo = assets.join("data/photos/face.jpg");
    let found = detections(&task, &target.infer(&[blazeface_input(&photo)]).unwrap());
    assert!(found.iter().any(|d| d.score > 0.5 && d.bbox.area() > 0.0 && d.keypoints.len() == 6), "no face in {}: {found:?}", photo.display());
    // Keypoints (eyes, nose, mouth, ears) of the best face lie inside its box, widened by a quarter.
    let best = &found[0];
    let (bw, bh) = (best.bbox.x_max - best.bbox.x_min, best.bbox.y_max - best.bbox.y_min);
    assert!(best.keypoints[..4].iter().all(|[x, y]| *x > best.bbox.x_min - bw / 4.0 && *x < best.bbox.x_max + bw / 4.0 && *y > best.bbox.y_min - bh / 4.0 && *y < best.bbox.y_max + bh / 4.0), "{best:?}");
    for v in [-1.0f32, 0.0, 1.0] {
        let flat = Tensor::f32(vec![1, 3, 128, 128], vec![v; 3 * 128 * 128]).unwrap();
        assert_eq!(detections(&task, &target.infer(&[flat]).unwrap()), vec![], "uniform frame {v}");
    }
}

/// A plain folder (no labels) with the four UltraFace photos and two more BlazeFace ones.
fn frames_folder(assets: &Path, dir: &Path) -> PathBuf {
    let folder = dir.join("frames");
    std::fs::create_dir_all(&folder).unwrap();
    for (i, f) in frames(assets).iter().chain([assets.join("data/faces/20.jpg"), assets.join("data/faces/5.jpg")].iter()).enumerate() {
        std::fs::copy(f, folder.join(format!("{i}.jpg"))).unwrap();
    }
    folder
}

/// `aite robustness --task DETECTOR` on unlabeled frames: the consistency suites on decoded
/// detections, returned as results.json's suites.
fn detector_consistency(model: &Path, reference: &[&str], preprocess: &str, task: &str, frames: &Path, out: &Path) -> (i32, serde_json::Value) {
    let r = run(aite()
        .args(["robustness", "-m"])
        .arg(model)
        .args(reference)
        .arg("-d")
        .arg(frames)
        .args(["-p", preprocess, "--task", task, "--corruptions", "none", "--attacks", "none", "--samples", "6", "--repeats", "3", "--json", "--out"])
        .arg(out));
    // 1: a check found something (slim-320 detects a face on the NaN/Inf frames).
    assert!(r.code == 0 || r.code == 1, "{}\n{}", r.code, r.stderr);
    let folder = run_folder(out);
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["task"]["task"], "detector", "{cfg}");
    assert_eq!(cfg["degenerate_max_detections"], 3);
    let res = results(&folder);
    (r.code, res["suites"].clone())
}

/// Checks shared by every detector: repeatable, degenerate frames run and counted.
fn check_detector_suites(what: &str, code: i32, suites: &serde_json::Value) {
    let rep = &suites["detection_repeatability"];
    assert_eq!((rep["samples"].as_u64(), rep["repeats"].as_u64()), (Some(6), Some(3)), "{what}: {rep}");
    assert!(rep["detections"].as_u64().unwrap() > 0, "{what}: no detection on the photos: {rep}");
    assert_eq!(rep["count_mismatches"], 0, "{what}: {rep}");
    // Classifier suites are not written for a detector.
    assert!(suites.get("repeatability").is_none() && suites.get("metamorphic").is_none(), "{what}: {suites}");
    let frames = suites["degenerate_frames"].as_array().unwrap();
    assert_eq!(frames.len(), 8, "{what}");
    let mut not_graceful = 0;
    for f in frames {
        let status = f["outcome"]["status"].as_str().unwrap();
        match status {
            // Run and examined: the number of detections is in the evidence.
            "detected" => {
                let n = f["outcome"]["detections"].as_u64().unwrap();
                let nan = f["outcome"]["output_has_nan"].as_bool().unwrap();
                // Any detection on a NaN/Inf frame is a finding, whatever the limit.
                let non_finite = ["nan", "positive-infinity", "negative-infinity"].contains(&f["kind"].as_str().unwrap());
                let want = if n > 3 || nan || (non_finite && n > 0) { "not-graceful" } else { "graceful" };
                assert_eq!(f["verdict"], want, "{what}: {f}");
            }
            "rejected" | "crashed" | "not-applicable" => {}
            other => panic!("{what}: a detector's degenerate frame has outcome {other}: {f}"),
        }
        assert!(f["verdict"] != "graceful" || f["elapsed_ms"].is_number(), "{what}: graceful without running: {f}");
        not_graceful += (f["verdict"] == "not-graceful") as usize;
    }
    // Uniform black and white frames: run, and no face in them.
    for kind in ["all-black", "all-white"] {
        let f = frames.iter().find(|f| f["kind"] == kind).unwrap();
        assert_eq!((f["outcome"]["status"].as_str(), f["outcome"]["detections"].as_u64(), f["verdict"].as_str()), (Some("detected"), Some(0), Some("graceful")), "{what}: {f}");
    }
    let ok = rep["non_finite_answers"] == 0 && not_graceful == 0;
    assert_eq!(code, if ok { 0 } else { 1 }, "{what}: exit code against the suites");
    eprintln!("{what}: repeatability {rep}\n  degenerate: {}", frames.iter().map(|f| format!("{} {} {}", f["kind"], f["outcome"]["detections"], f["verdict"])).collect::<Vec<_>>().join("; "));
}

#[test]
fn consistency_of_ultraface_on_unlabeled_frames_against_its_rfb_reference() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let frames = frames_folder(&assets, dir.path());
    let models = assets.join("models/face-ultraface");
    let rfb = models.join("version-RFB-320.onnx");
    let slim = models.join("version-slim-320.onnx");
    // Deployed slim-320 against RFB-320 as its reference: two different networks, so boxes
    // are matched, not identical.
    let (code, suites) = detector_consistency(&slim, &["--reference", rfb.to_str().unwrap()], "ultraface320", "ultraface-slim320", &frames, &dir.path().join("out"));
    check_detector_suites("ultraface slim vs rfb", code, &suites);
    let a = &suites["detection_agreement"];
    let (matched, r, d) = (a["matched"].as_u64().unwrap(), a["reference_detections"].as_u64().unwrap(), a["deployed_detections"].as_u64().unwrap());
    assert!(matched > 0 && matched <= r.min(d), "{a}");
    assert_eq!(a["unmatched_reference"].as_u64().unwrap() + matched, r, "{a}");
    assert_eq!(a["unmatched_deployed"].as_u64().unwrap() + matched, d, "{a}");
    let (mean, min) = (a["mean_iou"].as_f64().unwrap(), a["min_iou"].as_f64().unwrap());
    assert!(min >= 0.5 && mean >= min && mean <= 1.0, "{a}");
    assert_eq!(a["frame_agreement"]["trials"], 6);
    eprintln!("ultraface slim vs rfb agreement: {a}");
}

#[test]
fn consistency_of_blazeface_on_unlabeled_frames() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let frames = frames_folder(&assets, dir.path());
    let model = assets.join("models/face-blazeface/blazeface_short.onnx");
    // The same model as its own reference on the same engine (a copy: same hash) compares
    // nothing: the agreement is not run, saying so (it passed, every box matched with itself).
    let copy = dir.path().join("blazeface-copy.onnx");
    std::fs::copy(&model, &copy).unwrap();
    let (code, suites) = detector_consistency(&model, &["--reference", copy.to_str().unwrap()], "blazeface128", "blazeface-short", &frames, &dir.path().join("out"));
    check_detector_suites("blazeface", code, &suites);
    let a = &suites["detection_agreement"];
    assert!(a["status"] == "not-run" && a["why"].as_str().unwrap().contains("the reference is the deployed model (same engine, same model file)"), "{a}");
    assert_eq!(suites["detection_repeatability"]["identical"], true);
    // The terminal tables name the detector suites and the detections per degenerate frame.
    let r = run(aite().args(["robustness", "-m"]).arg(&model).arg("--reference").arg(&model).arg("-d").arg(&frames)
        .args(["-p", "blazeface128", "--task", "blazeface-short", "--corruptions", "none", "--attacks", "none", "--samples", "2", "--repeats", "2", "--out"]).arg(dir.path().join("out2")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in ["detection repeatability: 2 samples x 2 runs", "bit-identical", "0 detection(s) (limit 3)"] {
        assert!(r.stdout.contains(want), "{want} missing:\n{}", r.stdout);
    }
}

/// tract against ONNX Runtime on the same BlazeFace graph (feature `ort`).
#[cfg(feature = "ort")]
#[test]
fn blazeface_on_tract_agrees_with_onnx_runtime() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let frames = frames_folder(&assets, dir.path());
    let model = assets.join("models/face-blazeface/blazeface_short.onnx");
    let (code, suites) = detector_consistency(&model, &["--reference-engine", "ort"], "blazeface128", "blazeface-short", &frames, &dir.path().join("out"));
    check_detector_suites("blazeface tract vs ort", code, &suites);
    let a = &suites["detection_agreement"];
    assert_eq!(a["matched"], a["reference_detections"], "{a}");
    assert!(a["min_iou"].as_f64().unwrap() > 0.99 && a["max_score_diff"].as_f64().unwrap() < 1e-3, "{a}");
    eprintln!("blazeface tract vs ort agreement: {a}");
}

#[test]
fn a_detector_task_refuses_the_classifier_sweeps_and_presets_lists_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let ds = reference_dataset(dir.path(), 4);
    let r = run(aite().args(["robustness", "-m"]).arg(&model).arg("-d").arg(&ds).args(["--task", "blazeface-short", "--samples", "4", "--attacks", "hopskipjump"]));
    assert!(r.code != 0 && r.stderr.contains("--corruptions none --attacks none"), "{}\n{}", r.code, r.stderr);
    let r = run(aite().arg("presets"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = |name: &str| r.stdout.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{name} not listed:\n{}", r.stdout)).to_string();
    assert!(line("blazeface-short").split_whitespace().nth(1) == Some("detector"), "{}", r.stdout);
    assert!(line("ultraface-rfb320").split_whitespace().nth(1) == Some("detector"), "{}", r.stdout);
    assert!(line("classifier").split_whitespace().nth(1) == Some("classifier"), "{}", r.stdout);
    assert!(line("blazeface128").contains("x/127.5-1"), "{}", r.stdout);
    assert!(r.stdout.contains("task presets (--task):") && r.stdout.contains("preprocessing presets"), "{}", r.stdout);
}

/// `aite robustness --task ultraface-slim320 --attacks square-linf,noise-linf`: the vanishing
/// attack on real face photos and its section in results.json (outcomes, rates over the attacked
/// frames, the noise baseline, the raw CSV); shards merge into the single run; mislabelling the
/// single-class face detector is not applicable, said so; classifier-only attacks are refused.
#[test]
fn robustness_vanishing_attack_on_ultraface_writes_its_section_and_shards_merge() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = frames_folder(&assets, dir.path());
    let model = assets.join("models/face-ultraface/version-slim-320.onnx");
    let robustness = |out: &Path, extra: &[&str]| {
        let r = run(aite()
            .args(["robustness", "-m"])
            .arg(&model)
            .arg("-d")
            .arg(&folder)
            .args(["-p", "ultraface320", "--task", "ultraface-slim320", "--corruptions", "none", "--no-consistency", "--attacks", "square-linf,noise-linf", "--eps-linf", "8/255"])
            .args(["--queries", "30", "--samples", "3", "--attack-samples", "3", "--json", "--out"])
            .arg(out)
            .args(extra));
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        run_folder(out)
    };
    let whole_dir = robustness(&dir.path().join("whole"), &[]);
    let whole = results(&whole_dir);
    let s = &whole["suites"]["detector_attack_square_linf"];
    assert_eq!(s["settings"]["goal"], "vanish", "{s}");
    assert_eq!((s["settings"]["attack"]["kind"].as_str(), s["settings"]["attack"]["budget"].as_u64(), s["noise_kind"].as_str()), (Some("square-linf"), Some(30), Some("noise-linf")), "{s}");
    assert!((s["settings"]["attack"]["epsilon"].as_f64().unwrap() - 8.0 / 255.0).abs() < 1e-6);
    assert!((s["score_threshold"].as_f64().unwrap() - 0.7).abs() < 1e-6, "the task's threshold");
    assert_eq!((s["frames"].as_u64(), s["applicability"]["status"].as_str(), s["missing_frames"].as_u64()), (Some(3), Some("applicable"), Some(0)), "{s}");
    let records = s["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    let mut attacked = 0;
    for r in records {
        for who in ["attack", "noise"] {
            let a = &r[who];
            assert!(a["queries"].as_u64().unwrap() <= 30, "{r}");
            match a["outcome"]["outcome"].as_str().unwrap() {
                "vanished" => assert_eq!(a["detections_after"], 0, "{r}"),
                "survived" => assert!(a["detections_after"].as_u64().unwrap() >= 1, "{r}"),
                "no-clean-detection" => assert_eq!((r["clean_detections"].as_u64(), a["queries"].as_u64()), (Some(0), Some(0)), "{r}"),
                other => panic!("outcome {other}: {r}"),
            }
        }
        attacked += (r["attack"]["outcome"]["outcome"] != "no-clean-detection") as u64;
    }
    assert_eq!(s["attacked"].as_u64(), Some(attacked));
    assert_eq!(s["success_rate"]["trials"].as_u64(), Some(attacked), "the rate is over attacked frames: {s}");
    assert!(s["noise_success_rate"]["trials"].is_u64(), "{s}");
    let csv = std::fs::read_to_string(whole_dir.join("detector-attack-square-linf.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(whole_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["detector_attacks"][0]["goal"], "vanish", "{cfg}");
    eprintln!("UltraFace slim-320, 8/255, 30 queries, 3 frames: {} / noise {}", s["success_rate"], s["noise_success_rate"]);

    // Two shards merge into the single run's section.
    let parts: Vec<PathBuf> = (0..2).map(|i| robustness(&dir.path().join(format!("part{i}")), &["--shard", &format!("{i}/2")])).collect();
    assert_eq!(results(&parts[0])["suites"]["detector_attack_square_linf"]["missing_frames"], 1);
    let r = run(aite().arg("merge").args(&parts).arg("--out").arg(dir.path().join("merged")));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let merged = results(&run_folder(&dir.path().join("merged")));
    assert_eq!(merged["suites"]["detector_attack_square_linf"], *s);

    // Mislabelling a face detector: not applicable, with the reason; nothing attacked.
    let mis = results(&robustness(&dir.path().join("mislabel"), &["--detector-goal", "mislabel"]));
    let m = &mis["suites"]["detector_attack_mislabel_square_linf"];
    assert_eq!(m["applicability"]["status"], "not-applicable", "{m}");
    assert!(m["applicability"]["why"].as_str().unwrap().contains("1 class"), "{m}");
    assert!(m["records"].as_array().unwrap().is_empty() && m["success_rate"].is_null(), "{m}");

    // Attacks that read classifier outputs are refused for a detector, naming the attack.
    let r = run(aite().args(["robustness", "-m"]).arg(&model).arg("-d").arg(&folder).args(["-p", "ultraface320", "--task", "ultraface-slim320", "--attacks", "spsa-linf"]));
    assert!(r.code != 0 && r.stderr.contains("spsa-linf reads classifier outputs"), "{}\n{}", r.code, r.stderr);
}

/// Without --queries, --attack-samples or --eps-linf a detector is attacked with the bounded
/// default (vanishing Square L-inf at 8/255, 300 queries, at most 10 frames), not AutoAttack's
/// 5000 queries on 50 frames; the default is printed and recorded in config.json. Uniform grey
/// frames hold no face, so no query is spent beyond the clean one (cheap).
#[test]
fn detector_attack_default_is_bounded_printed_and_recorded() {
    let Some(assets) = shared_assets() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("frames");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..12 {
        image::RgbImage::from_pixel(320, 240, image::Rgb([128, 128, 128])).save(folder.join(format!("grey{i:02}.png"))).unwrap();
    }
    let model = assets.join("models/face-ultraface/version-slim-320.onnx");
    let out = dir.path().join("out");
    let r = run(aite().args(["robustness", "-m"]).arg(&model).arg("-d").arg(&folder).args(["-p", "ultraface320", "--task", "ultraface-slim320", "--corruptions", "none", "--no-consistency", "--samples", "12", "--out"]).arg(&out));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("detector attack default") && r.stderr.contains("300 queries"), "{}", r.stderr);
    let run_dir = run_folder(&out);
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["attack_samples"], 10, "{cfg}");
    let d = &cfg["detector_attack_default"];
    assert_eq!((d["settings"]["queries"].as_u64(), d["settings"]["frames"].as_u64()), (Some(300), Some(10)), "{cfg}");
    assert_eq!(d["defaulted"], serde_json::json!(["queries", "attack_samples", "eps_linf"]), "{cfg}");
    let a = &cfg["detector_attacks"][0];
    assert_eq!((a["goal"].as_str(), a["attack"]["kind"].as_str(), a["attack"]["budget"].as_u64()), (Some("vanish"), Some("square-linf"), Some(300)), "{cfg}");
    assert!((a["attack"]["epsilon"].as_f64().unwrap() - 8.0 / 255.0).abs() < 1e-6, "{cfg}");
    let s = &results(&run_dir)["suites"]["detector_attack_square_linf"];
    assert_eq!((s["frames"].as_u64(), s["no_clean_detection"].as_u64(), s["attacked"].as_u64()), (Some(10), Some(10), Some(0)), "{s}");
    assert!(s["success_rate"].is_null(), "no frame attacked, no rate: {s}");
}
