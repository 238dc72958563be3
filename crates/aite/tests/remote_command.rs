//! The command target with the reference wrappers (crates/aite-remote/wrappers, protocol
//! aite-cmd/1) on real models from ../shared (issue 15): ResNet-8 fp32 behind the ONNX Runtime
//! wrapper gives local tract's top-1 on every ic01 image; the LiteRT wrapper runs the int8
//! ResNet-8 .tflite (which tract cannot) and `aite accuracy` counts as many correct as LiteRT
//! driven directly from Python. Skips with a message without the peer Python (onnxruntime,
//! ai-edge-litert) or ../shared; fails instead under AITE_REQUIRE_PEERS=1.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn wrapper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-remote/wrappers").join(name).canonicalize().unwrap()
}

fn has(python: &Path, module: &str) -> bool {
    Command::new(python).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success())
}

/// id, top1, score and correct of each row of predictions.csv.
fn predictions(folder: &Path) -> Vec<(String, String, f64, bool)> {
    let text = std::fs::read_to_string(folder.join("predictions.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} in {head:?}"));
    let (id, label, t, s) = (col("id"), col("label"), col("top1"), col("score"));
    lines.map(|l| l.split(',').collect::<Vec<_>>()).map(|f| (f[id].to_string(), f[t].to_string(), f[s].parse().unwrap(), f[label] == f[t])).collect()
}

fn accuracy(labels: &Path, preprocess: &str, target: &[&str], out: &Path) -> (PathBuf, Vec<(String, String, f64, bool)>) {
    let r = run(aite().args(["accuracy", "-p", preprocess, "--limit", "200", "-d"]).arg(labels).args(target).arg("--out").arg(out));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let folder = run_folder(out);
    let p = predictions(&folder);
    (folder, p)
}

#[test]
fn resnet8_behind_the_onnxruntime_wrapper_scores_every_image_as_local() {
    let Some(assets) = shared_assets() else { return };
    let Some(python) = peer_python() else { return };
    if !has(&python, "onnxruntime") {
        return skip_or_fail(&format!("{} has no onnxruntime (pip install onnxruntime)", python.display()));
    }
    let model = assets.join("models/cifar10-resnet8/resnet8_fp32.onnx");
    let labels = assets.join("data/ic01/labels.csv");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("cmd:{} {} {}", python.display(), wrapper("ort_wrapper.py").display(), model.display());
    let (folder, remote) = accuracy(&labels, "cifar10-resnet8", &["--target", &url], &dir.path().join("remote"));
    let (_, local) = accuracy(&labels, "cifar10-resnet8", &["-m", model.to_str().unwrap()], &dir.path().join("local"));
    assert_eq!(remote.len(), 200);
    let same = remote.iter().zip(&local).filter(|(r, l)| r.0 == l.0 && r.1 == l.1).count();
    let max_diff = remote.iter().zip(&local).map(|(r, l)| (r.2 - l.2).abs()).fold(0.0, f64::max);
    eprintln!("ORT wrapper vs local tract: top-1 equal on {same}/200 images, max |score diff| {max_diff:.2e}");
    assert_eq!(same, 200, "per-image top-1 differs");
    assert!(max_diff < 1e-4, "scores differ by {max_diff}");
    let r = results(&folder);
    let target = &r["target"];
    assert_eq!(target["engine"], "cmd", "{target}");
    assert!(target["engine_version"].as_str().unwrap().starts_with("onnxruntime "), "{target}");
}

/// LiteRT driven directly: the same int8 NHWC input aite's preprocessing makes (RGB 0..255 - 128).
const LITERT_DIRECT: &str = r#"
import csv, os, sys
import numpy as np
from PIL import Image
from ai_edge_litert.interpreter import Interpreter
model, labels = sys.argv[1], sys.argv[2]
it = Interpreter(model_path=model, num_threads=1); it.allocate_tensors()
i, o = it.get_input_details()[0], it.get_output_details()[0]
root = os.path.dirname(labels); correct = 0; rows = list(csv.DictReader(open(labels)))[:200]
for row in rows:
    x = np.asarray(Image.open(os.path.join(root, row["path"])).convert("RGB"), dtype=np.int16) - 128
    it.set_tensor(i["index"], x.astype(np.int8)[None]); it.invoke()
    y = it.get_tensor(o["index"])[0]
    correct += int(np.argmax(y)) == int(row["label"])
print(correct, len(rows))
"#;

#[test]
fn int8_resnet8_tflite_behind_the_litert_wrapper_counts_as_litert_does() {
    let Some(assets) = shared_assets() else { return };
    let Some(python) = peer_python() else { return };
    if !has(&python, "ai_edge_litert") {
        return skip_or_fail(&format!("{} has no ai-edge-litert (pip install ai-edge-litert==2.3.0)", python.display()));
    }
    let model = assets.join("models/cifar10-resnet8/resnet8_int8.tflite");
    let labels = assets.join("data/ic01/labels.csv");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("cmd:{} {} {}", python.display(), wrapper("litert_wrapper.py").display(), model.display());
    let (folder, remote) = accuracy(&labels, "cifar10-resnet8,layout=nhwc,mean=128,dtype=i8", &["--target", &url], &dir.path().join("litert"));
    assert_eq!(remote.len(), 200);
    let aite_correct = remote.iter().filter(|p| p.3).count();
    let direct = Command::new(&python).arg("-c").arg(LITERT_DIRECT).arg(&model).arg(&labels).output().unwrap();
    assert!(direct.status.success(), "{}", String::from_utf8_lossy(&direct.stderr));
    let text = String::from_utf8_lossy(&direct.stdout);
    let direct_correct: usize = text.split_whitespace().next().unwrap().parse().unwrap();
    eprintln!("int8 ResNet-8 on LiteRT: aite through the wrapper {aite_correct}/200 correct, LiteRT directly {direct_correct}/200");
    assert_eq!(aite_correct, direct_correct);
    let r = results(&folder);
    assert!(r["target"]["engine_version"].as_str().unwrap().starts_with("ai-edge-litert 2."), "{}", r["target"]);
    assert_eq!(r["target"]["inputs"][0]["dtype"], "i8", "{}", r["target"]);
}

#[test]
fn a_dying_wrapper_is_an_error_naming_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let ds = reference_dataset(dir.path(), 4);
    let r = run(aite().args(["accuracy", "--target", "cmd:sh -c 'echo no NPU found >&2; exit 5'", "-d"]).arg(&ds).arg("--out").arg(dir.path().join("o")));
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("`sh` exited (exit status: 5) before answering") && r.stderr.contains("no NPU found"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn a_wrapper_that_stops_reading_fails_its_requests_without_killing_aite() {
    // The wrapper closes its stdin before answering the metadata: every request aite writes
    // then meets EPIPE (aite restores SIGPIPE's default action; the write must not kill it).
    let meta = r#"{"protocol":"aite-cmd/1","name":"m","inputs":[{"name":"x","datatype":"FP32","shape":[1,4]}],"outputs":[{"name":"y","datatype":"FP32","shape":[1,2]}]}"#;
    let script = format!("read m; exec 0<&-; echo '{}'; sleep 1; exit 4", meta.replace('"', "\\\""));
    let url = format!("cmd:sh -c \"{script}\"");
    let dir = tempfile::tempdir().unwrap();
    let r = run(aite().args(["latency", "--target", &url, "--min-duration-ms", "10", "--min-queries", "5", "--warmup", "0", "--out"]).arg(dir.path()));
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    // No measured query was answered: the run is an error (exit 3), not a crash.
    assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("`sh` exited (exit status: 4) before answering") || r.stdout.contains("`sh` exited (exit status: 4) before answering"), "{}\n{}", r.stdout, r.stderr);
}
