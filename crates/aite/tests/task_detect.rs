//! Detector tasks end to end: UltraFace on real face photos from ../shared (tract),
//! its boxes against an independent numpy implementation of the authors' decoding and
//! NMS on ONNX Runtime's outputs (python3 with the onnxruntime wheel), and
//! `aite latency --end-to-end --task` on a plain folder of frames.
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

fn python_with_onnxruntime() -> Option<&'static str> {
    let ok = Command::new("python3").args(["-c", "import numpy, onnxruntime"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail("python3 cannot import numpy and onnxruntime (pip install onnxruntime; .ci/run installs it)");
        return None;
    }
    Some("python3")
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
            let run = Command::new(python).arg("-c").arg(PEER).arg(&path).arg(&tensor).arg(&out).output().unwrap();
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
