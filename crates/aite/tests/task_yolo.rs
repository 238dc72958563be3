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
