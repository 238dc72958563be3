//! A real Triton Inference Server (PyPI `nvidia-pytriton`, CPU, onnxruntime inside) serving
//! ResNet-8 from ../shared on 127.0.0.1 (issue 15): `aite accuracy --target oip+http://…`
//! gives the same top-1 on every ic01 image as the local run, and JSON and binary tensors
//! give bit-identical outputs. Skips with a message without the peer Python (with
//! nvidia-pytriton) or ../shared; fails instead under AITE_REQUIRE_PEERS=1.

mod common;

use aite_remote::{OipTarget, RemoteOptions, Transfer};
use aite_target::{Target, Tensor};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server process group, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Server {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

/// Three consecutive free loopback ports (HTTP, gRPC, metrics).
fn free_ports() -> u16 {
    loop {
        let p = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if p < 65000 && (1..3).all(|k| std::net::TcpListener::bind(("127.0.0.1", p + k)).is_ok()) {
            return p;
        }
    }
}

fn start(python: &Path, model: &Path, port: u16, dir: &Path) -> Server {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-remote/peers/serve_onnx.py");
    // The backend stub links libpython: point it at the venv's base interpreter's lib.
    let base = Command::new(python).args(["-c", "import sys; print(sys.base_prefix)"]).output().unwrap();
    let lib = Path::new(String::from_utf8_lossy(&base.stdout).trim()).join("lib");
    let log = dir.join("triton.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(&script).arg(model).arg(port.to_string()).arg("resnet8").env("LD_LIBRARY_PATH", lib).current_dir(dir);
    cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    Server { child: cmd.spawn().expect("start the Triton server"), log }
}

/// The status line and body of `GET path` on 127.0.0.1:`port` (HTTP/1.0, read to the close), or
/// None when nothing answers. 30 s per read only bounds a hang: the caller tries again.
fn http_get(port: u16, path: &str) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// Whether the Triton started on `port` (HTTP), `port + 1` (gRPC), `port + 2` (metrics) is the one
/// answering them, not another test's socket that took a released port: HTTP
/// `/v2/health/ready` 200, Triton's own `nv_inference_` counters on the metrics port, with gRPC
/// its ServerMetadata naming triton; the process alive and no "already in use" in its log.
fn ours_and_ready(server: &mut Server, port: u16) -> bool {
    let ready = http_get(port, "/v2/health/ready").is_some_and(|(status, _)| status.split_whitespace().nth(1) == Some("200"));
    let metrics = ready && http_get(port + 2, "/metrics").is_some_and(|(status, body)| status.split_whitespace().nth(1) == Some("200") && body.contains("nv_inference_"));
    #[cfg(feature = "grpc")]
    let metrics = metrics && aite_remote::GrpcTarget::connect(&format!("oip+grpc://127.0.0.1:{}/models/resnet8", port + 1), &RemoteOptions::default()).is_ok_and(|t| t.info().engine_version.starts_with("triton "));
    metrics && matches!(server.child.try_wait(), Ok(None)) && !std::fs::read_to_string(&server.log).unwrap_or_default().contains("already in use")
}

fn has_pytriton(python: &Path) -> bool {
    Command::new(python).args(["-c", "import pytriton, onnxruntime"]).output().is_ok_and(|o| o.status.success())
}

fn top1(folder: &Path) -> Vec<(String, String, f64)> {
    let text = std::fs::read_to_string(folder.join("predictions.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} in {head:?}"));
    let (id, t, s) = (col("id"), col("top1"), col("score"));
    lines.map(|l| l.split(',').collect::<Vec<_>>()).map(|f| (f[id].to_string(), f[t].to_string(), f[s].parse().unwrap())).collect()
}

#[test]
fn resnet8_behind_triton_scores_every_image_as_local() {
    let Some(assets) = shared_assets() else { return };
    let Some(python) = peer_python() else { return };
    if !has_pytriton(&python) {
        return skip_or_fail(&format!("{} has no nvidia-pytriton (pip install nvidia-pytriton==0.7.0)", python.display()));
    }
    let model = assets.join("models/cifar10-resnet8/resnet8_fp32.onnx");
    let labels = assets.join("data/ic01/labels.csv");
    let dir = tempfile::tempdir().unwrap();
    // The free ports are released before Triton binds them, seconds later: a Triton that could
    // not bind one taken meanwhile (it logs "Socket '127.0.0.1:P' already in use" and PyTriton
    // keeps waiting) is stopped and started again on other ports (three tries). A connect alone
    // may reach the socket that took the port: the ports are used once Triton answers them as
    // itself (`ours_and_ready`).
    let (server, port, url, mut binary) = 'start: {
        for attempt in 1..=3 {
            let port = free_ports();
            let mut server = start(&python, &model, port, dir.path());
            let url = format!("oip+http://127.0.0.1:{port}/models/resnet8");
            let deadline = Instant::now() + Duration::from_secs(240);
            loop {
                if attempt < 3 && std::fs::read_to_string(&server.log).unwrap_or_default().contains("already in use") {
                    eprintln!("Triton could not bind one of {port}..{}: starting it on other ports", port + 2);
                    break;
                }
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!("the Triton server exited ({status}) before it was ready:\n{}", server.log_tail());
                }
                if ours_and_ready(&mut server, port) {
                    let t = OipTarget::connect(&url, &RemoteOptions::default()).unwrap_or_else(|e| panic!("Triton is ready on {port} but: {e}\n{}", server.log_tail()));
                    break 'start (server, port, url, t);
                }
                assert!(Instant::now() < deadline, "Triton not ready on {port}..{} after 240 s\n{}", port + 2, server.log_tail());
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        unreachable!("the third start either answered or panicked")
    };
    assert!(binary.binary() && binary.info().engine_version.starts_with("triton "), "{:?}", binary.info());

    // JSON and binary tensors: the same answer, bit for bit.
    let mut json = OipTarget::connect(&url, &RemoteOptions { transfer: Transfer::Json, ..RemoteOptions::default() }).unwrap();
    let x: Vec<f32> = (0..3 * 32 * 32).map(|i| ((i * 7919) % 255) as f32 / 255.0 - 0.5).collect();
    let input = [Tensor::f32(vec![1, 3, 32, 32], x).unwrap()];
    let (a, b) = (binary.infer(&input).unwrap(), json.infer(&input).unwrap());
    assert_eq!(a, b, "JSON and binary tensors answered differently");
    assert_eq!(a[0].shape(), &[1, 10]);

    let run_accuracy = |target: &[&str], out: &Path| {
        let r = run(aite().args(["accuracy", "-p", "cifar10-resnet8", "--limit", "200", "-d"]).arg(&labels).args(target).arg("--out").arg(out));
        assert_eq!(r.code, 0, "{}\n{}", r.stderr, server.log_tail());
        top1(&run_folder(out))
    };
    #[cfg(feature = "grpc")]
    {
        // gRPC on Triton's gRPC port: raw and typed input contents answer REST's outputs bit for bit.
        let grpc = format!("oip+grpc://127.0.0.1:{}/models/resnet8", port + 1);
        let mut raw = aite_remote::GrpcTarget::connect(&grpc, &RemoteOptions::default()).unwrap();
        let mut typed = aite_remote::GrpcTarget::connect(&grpc, &RemoteOptions { transfer: Transfer::Json, ..RemoteOptions::default() }).unwrap();
        assert_eq!((raw.info().engine.as_str(), typed.info().engine.as_str()), ("oip-grpc-raw", "oip-grpc-typed"));
        assert_eq!(raw.info().inputs, binary.info().inputs);
        assert_eq!(raw.infer(&input).unwrap(), a, "gRPC raw contents answered differently from REST");
        assert_eq!(typed.infer(&input).unwrap(), a, "gRPC typed contents answered differently from REST");
        let by_grpc = run_accuracy(&["--target", &grpc], &dir.path().join("grpc"));
        let by_rest = run_accuracy(&["--target", &url], &dir.path().join("rest-for-grpc"));
        assert_eq!(by_grpc.len(), 200);
        assert_eq!(by_grpc, by_rest, "gRPC and REST disagree on some image's top-1 or score");
        eprintln!("Triton gRPC vs REST: the same top-1 and score on 200/200 images");
    }
    let remote = run_accuracy(&["--target", &url], &dir.path().join("remote"));
    let local = run_accuracy(&["-m", model.to_str().unwrap()], &dir.path().join("local"));
    assert_eq!(remote.len(), 200);
    let same = remote.iter().zip(&local).filter(|(r, l)| r.0 == l.0 && r.1 == l.1).count();
    let max_diff = remote.iter().zip(&local).map(|(r, l)| (r.2 - l.2).abs()).fold(0.0, f64::max);
    eprintln!("Triton (onnxruntime) vs local tract: top-1 equal on {same}/200 images, max |score diff| {max_diff:.2e}");
    assert_eq!(same, 200, "per-image top-1 differs");
    assert!(max_diff < 1e-4, "scores differ by {max_diff}");

    // The consistency report local vs remote: `aite robustness` with the Triton endpoint as the
    // deployed model and the local fp32 file as its reference writes the agreement suite, over
    // every output score (not only the top-1's) of the same 200 images.
    let out = dir.path().join("agreement");
    let r = run(aite()
        .args(["robustness", "-p", "cifar10-resnet8", "--samples", "200", "--repeats", "2", "--corruptions", "none", "--attacks", "none", "--target", &url, "--reference"])
        .arg(&model)
        .arg("-d")
        .arg(&labels)
        .arg("--out")
        .arg(&out));
    // 0 or 1: the other consistency checks' verdicts (degenerate frames…) are not this test's subject.
    assert!([0, 1].contains(&r.code), "{}\n{}\n{}", r.code, r.stderr, server.log_tail());
    let agreement = &results(&run_folder(&out))["suites"]["agreement"];
    let top1 = &agreement["top1_agreement"];
    let max_abs = agreement["max_abs_diff"].as_f64().unwrap_or_else(|| panic!("no max_abs_diff: {agreement}"));
    eprintln!("aite robustness agreement, Triton vs local fp32: top-1 {}/{}, max |diff| {max_abs:.2e}, mean |diff| {}, SQNR {} dB", top1["successes"], top1["trials"], agreement["mean_abs_diff"], agreement["sqnr_db"]);
    assert_eq!((top1["successes"].as_u64(), top1["trials"].as_u64()), (Some(200), Some(200)), "{agreement}");
    assert_eq!(agreement["disagreements"].as_array().map(Vec::len), Some(0), "{agreement}");
    assert_eq!(agreement["per_sample"].as_array().map(Vec::len), Some(200), "{agreement}");
    assert!(max_abs <= 1e-4, "the outputs differ by up to {max_abs}: {agreement}");

    // Server-side time: Triton's statistics, diffed around the measured window, beside the
    // client's; over gRPC from Triton's ModelStatistics rpc.
    let mut runs = vec![("REST binary", url.clone(), "binary"), ("REST json", url.clone(), "json")];
    if cfg!(feature = "grpc") {
        runs.push(("gRPC", format!("oip+grpc://127.0.0.1:{}/models/resnet8", port + 1), "auto"));
    }
    for (transfer_name, target, transfer) in runs {
        let out = dir.path().join(format!("latency-{}", transfer_name.replace(' ', "-")));
        let r = run(aite().args(["latency", "--target", &target, "--transfer", transfer, "--min-duration-ms", "1000", "--min-queries", "100", "--warmup", "10", "--out"]).arg(&out));
        assert_eq!(r.code, 0, "{}\n{}\n{}", r.stdout, r.stderr, server.log_tail());
        let l = &results(&run_folder(&out))["suites"]["latency"];
        let s = &l["server"];
        assert_eq!(s["status"], "measured", "{s}");
        let sent = l["requests"]["ok"].as_u64().unwrap();
        assert_eq!((l["errors"].as_u64(), l["queries"].as_u64()), (Some(0), Some(sent)), "{l}");
        assert_eq!(s["inference_count"].as_u64(), Some(sent), "the server counted other inferences than aite sent in the window: {s}");
        assert_eq!(s["success"]["count"].as_u64(), Some(sent), "{s}");
        let server_ms = s["success"]["mean_ns"].as_f64().unwrap() / 1e6;
        let parts_ms: f64 = ["queue", "compute_input", "compute_infer", "compute_output"].iter().map(|k| s[k]["mean_ns"].as_f64().unwrap() / 1e6).sum();
        let client_mean = l["latency"]["mean_ms"].as_f64().unwrap();
        eprintln!("Triton {transfer_name}: {sent} requests, client mean {client_mean:.3} ms, server {server_ms:.3} ms (queue+compute {parts_ms:.3} ms), source {}", s["source"]);
        if transfer_name == "gRPC" {
            assert!(s["source"].as_str().unwrap().contains("ModelStatistics"), "{s}");
        }
        assert!(parts_ms <= server_ms && server_ms <= client_mean, "server time {server_ms} (parts {parts_ms}) against client mean {client_mean}: {s}");
        assert!(r.stdout.contains("server time per request"), "{}", r.stdout);
    }
}
