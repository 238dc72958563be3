//! Issue 16: the `yolov8` task preset decodes a real ONNX graph's `[1, 4 + C, N]` output through
//! tract. The graph (built with the `onnx` package of the peer virtualenv) outputs a hand-written
//! constant, so the detections are hand-computed; read untransposed it is an error, not a misread.

mod common;

use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_target::Tensor;
use aite_task::TaskSpec;
use common::*;

/// `y = C + 0 * x`: C is `[1, 6, 3]`, three boxes of `cx, cy, w, h, class 0, class 1` as columns.
const GRAPH: &str = r#"
import sys, onnx
from onnx import helper, TensorProto
boxes = [[30, 40, 10, 20, 0.1, 0.7], [100, 100, 50, 50, 0.9, 0.2], [31, 40, 10, 20, 0.0, 0.6]]
columns = [boxes[a][j] for j in range(6) for a in range(3)]
c = helper.make_tensor("c", TensorProto.FLOAT, [1, 6, 3], columns)
zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
graph = helper.make_graph(
    [helper.make_node("Mul", ["x", "zero"], ["t"]), helper.make_node("Add", ["c", "t"], ["y"])],
    "yolov8_shaped",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 3])],
    initializer=[c, zero],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
"#;

#[test]
fn yolov8_preset_decodes_a_transposed_onnx_output_through_tract() {
    let Some(python) = peer_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("yolov8_shaped.onnx");
    let out = std::process::Command::new(&python).arg("-c").arg(GRAPH).arg(&model).output().unwrap();
    if !out.status.success() {
        return skip_or_fail(&format!("the peer Python could not build the ONNX graph (needs `onnx`): {}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut target = load_target(&model, EngineKind::Tract, &EngineOptions::default()).unwrap();
    let outputs = target.infer(&[Tensor::f32(vec![1, 1, 1], vec![0.0]).unwrap()]).unwrap();
    assert_eq!(outputs[0].shape(), &[1, 6, 3]);
    let TaskSpec::Detector(yolov8) = TaskSpec::parse_cli("yolov8,classes=2").unwrap() else { panic!() };
    let got: Vec<(usize, f32, [f32; 4])> =
        yolov8.decode(&outputs, None).unwrap().iter().map(|d| (d.class, d.score, [d.bbox.x_min, d.bbox.y_min, d.bbox.x_max, d.bbox.y_max])).collect();
    // Box 1: class 0 at 0.9, (75, 75, 125, 125); box 0: class 1 at 0.7, (25, 30, 35, 50); box 2
    // (class 1 at 0.6) overlaps box 0 by 180 / 220 > 0.45: suppressed.
    assert_eq!(got, vec![(0, 0.9, [75.0, 75.0, 125.0, 125.0]), (1, 0.7, [25.0, 30.0, 35.0, 50.0])]);
    let TaskSpec::Detector(rows) = TaskSpec::parse_cli("yolov8,classes=2,transposed=false").unwrap() else { panic!() };
    let err = rows.decode(&outputs, None).unwrap_err().to_string();
    assert!(err.contains("[1, 6, 3]") && err.contains("4 + 2 = 6"), "{err}");
}

/// The embedded reference detector and six of its scenes written to `dir` (model, frames folder),
/// with each scene's detection count through the detector-accuracy path (`clean_detections`:
/// the `image` crate's PNG decoder, no latency code), indexed as the CSV's `sample` (the
/// folder's files sorted by name).
fn reference_detector_scenes(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u64>) {
    use aite_engine::load_target_from_bytes;
    use aite_robustness::corruption::detection::{clean_detections, DetectionFrame};
    use aite_task::Postprocess;
    let model = dir.join("digit_detector_fp32.onnx");
    std::fs::write(&model, aite_reference::DETECTOR_FP32).unwrap();
    let frames = dir.join("scenes");
    std::fs::create_dir(&frames).unwrap();
    let scenes = aite_reference::scenes();
    let scenes = &scenes[..6];
    for (i, s) in scenes.iter().enumerate() {
        std::fs::write(frames.join(format!("s{i:03}.png")), s.png).unwrap();
    }
    let images: Vec<DetectionFrame> = scenes.iter().map(|s| DetectionFrame { id: s.file_name.clone(), image: image::load_from_memory(s.png).unwrap().to_rgb8() }).collect();
    let mut target = load_target_from_bytes("digit_detector_fp32.onnx", aite_reference::DETECTOR_FP32, EngineKind::Tract, &EngineOptions::default()).unwrap();
    let post = Postprocess::new(aite_reference::detector_task());
    let want: Vec<u64> = clean_detections(target.as_mut(), &aite_reference::detector_preprocess(), &post, &images).unwrap().iter().map(|d| d.len() as u64).collect();
    assert!(want.iter().min() < want.iter().max(), "the scenes should differ in detections: {want:?}");
    (model, frames, want)
}

/// The `detections` column of a latency samples CSV (the last one), each row checked against
/// its sample's count in `want`.
fn detections_column(csv: &std::path::Path, want: &[u64]) -> Vec<u64> {
    let csv = std::fs::read_to_string(csv).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"detections"), "{header:?}");
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (sample, detections) = (col("sample"), col("detections"));
    lines
        .map(|l| {
            let row: Vec<&str> = l.split(',').collect();
            let (s, n): (usize, u64) = (row[sample].parse().unwrap(), row[detections].parse().unwrap());
            assert_eq!(n, want[s], "query of sample {s}: {l}");
            n
        })
        .collect()
}

/// End-to-end detector latency records how many detections each frame produced (post-processing
/// time depends on it): a `detections` column per query in `latency-samples.csv`, and min / mean /
/// max per frame in results.json. The embedded reference detector on six of its scenes; the oracle
/// is [`reference_detector_scenes`]'s count per scene.
#[test]
fn end_to_end_detector_latency_records_detections_per_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (model, frames, want) = reference_detector_scenes(dir.path());
    let out = dir.path().join("out");
    let r = run(aite()
        .args(["latency", "-m"])
        .arg(&model)
        .arg("-d")
        .arg(&frames)
        .args(["-p", "resize=64x64,color=gray,scale=0.00392156862745098", "--end-to-end", "--task", "reference-detector", "--min-duration-ms", "0", "--min-queries", "24", "--max-queries", "24", "--out"])
        .arg(&out));
    assert!(r.code == 0 || r.code == 1, "{}\n{}", r.code, r.stderr);
    let folder = run_folder(&out);
    let counts = detections_column(&folder.join("latency-samples.csv"), &want);
    assert_eq!(counts.len(), 24);
    let summary = &results(&folder)["suites"]["latency"]["results_per_frame"];
    assert_eq!(summary["counted"], "detections", "{summary}");
    assert_eq!((summary["frames"].as_u64(), summary["min"].as_u64(), summary["max"].as_u64()), (Some(24), counts.iter().min().copied(), counts.iter().max().copied()), "{summary}");
    let mean = counts.iter().sum::<u64>() as f64 / 24.0;
    assert!((summary["mean"].as_f64().unwrap() - mean).abs() < 1e-9, "{summary} vs {mean}");
    // Printed once, by the terminal renderer, with the latency table.
    let line = format!("detections per frame: min {}", counts.iter().min().unwrap());
    assert_eq!(r.stdout.matches(&line).count(), 1, "{}", r.stdout);
}

/// Issue: `aite run` on a detector terminal timed its latency with a classifier's post-processing
/// (top-5 of the first output) and wrote `latency-samples.csv` without the `detections` column
/// `aite latency` writes. Now the queries run the declared detector task: the single-stream and
/// periodic CSVs carry each query's detections (checked per sample against
/// [`reference_detector_scenes`]), results.json its `results_per_frame`, and the terminal and
/// HTML reports show the line.
#[test]
fn aite_run_on_a_detector_terminal_writes_detections_per_query() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _frames, want) = reference_detector_scenes(dir.path());
    let config = dir.path().join("aite.toml");
    std::fs::write(
        &config,
        format!(
            r#"schema = "aite.config/v1"
profile = "ai-camera"
out = "runs"
[declared]
fps = 200.0
[target]
model = "{}"
[dataset]
path = "scenes"
preprocess = "resize=64x64,color=gray,scale=0.00392156862745098"
task = "reference-detector"
[suites.latency]
duration_ms = 0
min_queries = 24
frames = 6
[suites.periodic]
burst_frames = 4
idle_ms = 1.0
min_queries = 12
[suites.robustness]
enabled = false
[suites.security]
enabled = false
[suites.network]
enabled = false
"#,
            model.display()
        ),
    )
    .unwrap();
    let r = run(aite().args(["run", "-c"]).arg(&config));
    assert!(r.code != 9 && r.code != 2, "{}\n{}", r.stdout, r.stderr);
    let folder = run_folder(&dir.path().join("runs"));
    let res = results(&folder);
    for (suite, csv) in [("latency", "latency-samples.csv"), ("latency_periodic", "latency-periodic-samples.csv")] {
        let l = &res["suites"][suite];
        assert_eq!(l["mode"], "end-to-end", "{l}");
        let counts = detections_column(&folder.join(csv), &want);
        assert_eq!(Some(counts.len() as u64), l["queries"].as_u64(), "{suite}: one row per measured query");
        let summary = &l["results_per_frame"];
        assert_eq!((summary["counted"].as_str(), summary["min"].as_u64(), summary["max"].as_u64()), (Some("detections"), counts.iter().min().copied(), counts.iter().max().copied()), "{suite}: {summary}");
    }
    let summary: aite_latency::ResultsPerFrame = serde_json::from_value(res["suites"]["latency"]["results_per_frame"].clone()).unwrap();
    let line = summary.to_string();
    assert!(line.starts_with("detections per frame: min "), "{line}");
    assert!(r.stdout.contains(&line), "the terminal report: {}", r.stdout);
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains(&line), "report.html has no {line}");
}
