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
    assert!(r.stderr.contains("target-stderr.txt"), "the error names where the evidence keeps the stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn a_wrappers_stderr_is_in_the_evidence_and_its_last_line_in_the_error() {
    // A wrapper answering 1.0, -2.5 that, on its first start, dies reading the 11th request
    // with a line on stderr; started again, it answers every request.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("died-once");
    let meta = r#"{"protocol":"aite-cmd/1","name":"m","runtime":"sh-test 1","inputs":[{"name":"x","datatype":"FP32","shape":[1,2]}],"outputs":[{"name":"y","datatype":"FP32","shape":[1,2]}]}"#;
    let answer = r#"printf "{\"id\":\"%s\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1,2],\"parameters\":{\"binary_data_size\":8}}],\"timing_ns\":{\"infer\":1000}}\n\000\000\200\077\000\000\040\300" "$id""#;
    let script = format!(
        "read m; printf \"%s\\n\" \"$(cat <<E\n{meta}\nE\n)\"; echo wrapper up >&2; n=0; while read h; do n=$((n+1)); \
         if [ ! -e {m} ] && [ $n -eq 11 ]; then touch {m}; echo NPU watchdog fired at request $n >&2; exit 7; fi; \
         head -c 8 >/dev/null; id=$(printf %s \"$h\" | sed \"s/.*\\\"id\\\":\\\"\\([0-9]*\\)\\\".*/\\1/\"); {answer}; done",
        m = marker.display()
    );
    let url = format!("cmd:sh -c '{script}'");
    let out = dir.path().join("o");
    let r = run(aite().args(["latency", "--target", &url, "--min-duration-ms", "10", "--min-queries", "300", "--warmup", "0", "--out"]).arg(&out));
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let folder = run_folder(&out);
    let l = &results(&folder)["suites"]["latency"];
    assert_eq!((l["requests"]["reset"].as_u64(), l["errors"].as_u64()), (Some(1), Some(1)), "{l}");
    assert_eq!(l["failed_queries"][0]["kind"], "reset", "{l}");
    let stderr = std::fs::read_to_string(folder.join("target-stderr.txt")).expect("target-stderr.txt in the package");
    for line in ["[aite: start 1 of `sh -c ", "wrapper up\nNPU watchdog fired at request 11\n[aite: start 2 of `sh -c "] {
        assert!(stderr.contains(line), "{line:?} not in target-stderr.txt:\n{stderr}");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["files"]["target-stderr.txt"].is_string(), "the manifest lists target-stderr.txt: {manifest}");
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

/// A wrapper daemon (`--unix PATH`), its process group stopped (SIGTERM, then SIGKILL) when dropped.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let pgid = self.0.id() as i32;
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < until && matches!(self.0.try_wait(), Ok(None)) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

#[test]
fn resnet8_behind_the_onnxruntime_daemon_on_a_unix_socket_scores_as_over_stdin() {
    let Some(assets) = shared_assets() else { return };
    let Some(python) = peer_python() else { return };
    if !has(&python, "onnxruntime") {
        return skip_or_fail(&format!("{} has no onnxruntime (pip install onnxruntime)", python.display()));
    }
    let model = assets.join("models/cifar10-resnet8/resnet8_fp32.onnx");
    let labels = assets.join("data/ic01/labels.csv");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ort.sock");
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut cmd = Command::new(&python);
    cmd.arg(wrapper("ort_wrapper.py")).arg("--unix").arg(&socket).arg(&model);
    cmd.stdin(std::process::Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut daemon = Daemon(cmd.spawn().unwrap());
    let until = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
        assert!(matches!(daemon.0.try_wait(), Ok(None)), "the daemon exited: {log}");
        assert!(std::time::Instant::now() < until, "the daemon does not listen after 120 s: {log}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let url = format!("cmd+unix://{}", socket.display());
    let (folder, by_socket) = accuracy(&labels, "cifar10-resnet8", &["--target", &url], &dir.path().join("socket"));
    let stdio = format!("cmd:{} {} {}", python.display(), wrapper("ort_wrapper.py").display(), model.display());
    let (_, by_stdin) = accuracy(&labels, "cifar10-resnet8", &["--target", &stdio], &dir.path().join("stdin"));
    assert_eq!(by_socket.len(), 200);
    let same = by_socket.iter().zip(&by_stdin).filter(|(a, b)| a.0 == b.0 && a.1 == b.1).count();
    eprintln!("ORT wrapper over a Unix socket vs over stdin/stdout: top-1 equal on {same}/200 images");
    assert_eq!(same, 200, "per-image top-1 differs between the socket and stdin/stdout");
    assert_eq!(by_socket, by_stdin, "the same runtime answered other scores over the socket");
    let r = results(&folder);
    assert_eq!(r["target"]["engine"], "cmd", "{}", r["target"]);
    let pinned = r["inputs"].as_array().unwrap().iter().find(|i| i["role"] == "model-endpoint").cloned();
    assert_eq!(pinned.as_ref().map(|i| i["name"].clone()), Some(serde_json::json!(url)), "{}", r["inputs"]);
    // The daemon outlives the runs: it still answers.
    assert!(std::os::unix::net::UnixStream::connect(&socket).is_ok());
    drop(daemon);
}

#[test]
fn aite_run_on_a_wrapper_keeps_its_stderr_in_the_package() {
    let Some(python) = peer_python() else { return };
    if !has(&python, "onnxruntime") {
        return skip_or_fail(&format!("{} has no onnxruntime (pip install onnxruntime)", python.display()));
    }
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let labels = reference_dataset(dir.path(), 20);
    let url = format!("cmd:{} {} {}", python.display(), wrapper("ort_wrapper.py").display(), model.display());
    let cfg = dir.path().join("aite.toml");
    let toml = format!(
        "schema = \"aite.config/v1\"\nprofile = \"reference-terminal\"\nout = \"runs\"\n\n[declared]\ntop1_accuracy = 0.5\nfps = 200\n\n[target]\nurl = \"{url}\"\n\n\
         [dataset]\npath = \"{labels}\"\npreprocess = \"digits8\"\n\n[suites.latency]\nduration_ms = 200\nmin_queries = 32\n\n[suites.periodic]\nidle_ms = 20.0\nmin_queries = 30\n\n\
         [suites.robustness]\nconsistency_frames = 4\nseverities = [3]\ncorruption_frames = 4\nattack_frames = 2\nattack_budget = 10\n\n[suites.security]\nenabled = false\n",
        labels = labels.display()
    );
    std::fs::write(&cfg, toml).unwrap();
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history").current_dir(dir.path()));
    assert!([0, 1, 7, 8].contains(&r.code), "{}\n{}", r.code, r.stderr);
    let folder = run_folder(&dir.path().join("runs"));
    let stderr = std::fs::read_to_string(folder.join("target-stderr.txt")).expect("target-stderr.txt in the aite run package");
    assert!(stderr.contains(&format!("[aite: start 1 of `{} ", python.display())), "{stderr}");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["files"]["target-stderr.txt"].is_string(), "{manifest}");
}
