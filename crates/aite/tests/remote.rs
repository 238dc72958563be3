//! Remote targets end to end (issue 15): `--target oip+http://…` and `[target] url` run
//! the suites through the Open Inference Protocol against an in-process fake server
//! that serves the reference digits model on tract, so every answer has a local oracle.

mod common;
#[path = "../../aite-remote/tests/fake_server/mod.rs"]
mod fake_server;

use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_target::{Dim, Target, Tensor};
use common::*;
use fake_server::{FakeConfig, FakeModel, FakeOutput, FakeServer, FakeStats, Fault};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The fake server running `model` on tract, as model `digits`.
fn serve_model(model: &Path, binary: bool) -> FakeServer {
    let engine = load_target(model, EngineKind::Tract, &EngineOptions::default()).unwrap();
    let info = engine.info().clone();
    let dims = |s: &[Dim]| s.iter().map(|d| if let Dim::Fixed(n) = d { *n as i64 } else { -1 }).collect::<Vec<i64>>();
    let names: Vec<&'static str> = info.outputs.iter().map(|o| &*Box::leak(o.name.clone().into_boxed_str())).collect();
    let engine = Mutex::new(engine);
    let run = Arc::new(move |shape: &[u64], x: &[f32]| {
        let t = Tensor::f32(shape.iter().map(|&d| d as usize).collect(), x.to_vec()).map_err(|e| e.to_string())?;
        let out = engine.lock().unwrap().infer(&[t]).map_err(|e| e.to_string())?;
        Ok(out.iter().zip(&names).map(|(o, n)| FakeOutput::F32(n, o.shape().iter().map(|&d| d as u64).collect(), o.to_f32_vec())).collect())
    });
    FakeServer::start(FakeConfig {
        binary_extension: binary,
        model: Some(FakeModel {
            name: "digits".into(),
            input: (info.inputs[0].name.clone(), dims(&info.inputs[0].shape)),
            outputs: info.outputs.iter().map(|o| (o.name.clone(), "FP32", dims(&o.shape))).collect(),
            run,
        }),
        ..FakeConfig::default()
    })
}

fn predictions(folder: &Path) -> Vec<String> {
    std::fs::read_to_string(folder.join("predictions.csv")).unwrap().lines().map(String::from).collect()
}

#[test]
fn accuracy_through_oip_equals_local_per_image() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let csv = reference_dataset(dir.path(), 60);
    let local = dir.path().join("local");
    let r = run(aite().args(["accuracy", "-p", "digits8", "-m"]).arg(&model).arg("-d").arg(&csv).arg("--out").arg(&local));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for binary in [true, false] {
        let server = serve_model(&model, binary);
        let out = dir.path().join(format!("remote-{binary}"));
        let r = run(aite().args(["accuracy", "-p", "digits8", "--target", &server.url_of("digits"), "-d"]).arg(&csv).arg("--out").arg(&out));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let folder = run_folder(&out);
        let (theirs, ours) = (predictions(&folder), predictions(&run_folder(&local)));
        assert_eq!(theirs.len(), 61);
        assert_eq!(theirs, ours, "every image's prediction equals the local run's (binary = {binary})");
        assert_eq!(server.seen.infer_requests.load(Ordering::SeqCst), 60);
        assert_eq!(server.seen.binary_requests.load(Ordering::SeqCst), if binary { 60 } else { 0 });
        let res = results(&folder);
        let endpoint = res["inputs"].as_array().unwrap().iter().find(|i| i["role"] == "model-endpoint").unwrap_or_else(|| panic!("{}", res["inputs"]));
        assert_eq!(endpoint["name"], server.url_of("digits"));
        assert_eq!(endpoint["sha256"].as_str().unwrap().len(), 64);
        if binary {
            // --transfer json against a server that offers binary: JSON it is, same predictions.
            let out = dir.path().join("remote-forced-json");
            let r = run(aite().args(["accuracy", "-p", "digits8", "--transfer", "json", "--target", &server.url_of("digits"), "-d"]).arg(&csv).arg("--out").arg(&out));
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_eq!(predictions(&run_folder(&out)), ours);
            assert_eq!(server.seen.infer_requests.load(Ordering::SeqCst), 120);
            assert_eq!(server.seen.binary_requests.load(Ordering::SeqCst), 60);
            assert_eq!(results(&run_folder(&out))["target"]["engine"], "oip-rest-json", "{}", results(&run_folder(&out))["target"]);
        }
    }
}

#[test]
fn latency_through_oip_counts_every_request_and_times_only_successes() {
    let server = FakeServer::start(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    // 2 warm-up queries and 10 measured ones succeed, the 11th gets a 500; the run goes on.
    server.inject(std::iter::repeat_n(Fault::Pass, 12).chain([Fault::Status500]));
    let r = run(aite().args(["latency", "--target", &server.url(), "--warmup", "2", "--min-queries", "200", "--min-duration-ms", "0", "--out"]).arg(dir.path()));
    let res = results(&run_folder(dir.path()));
    let lat = &res["suites"]["latency"];
    assert_eq!(lat["requests"]["ok"], 200, "{}\n{}", r.stderr, lat["requests"]);
    assert_eq!(lat["requests"]["http_5xx"], 1);
    assert_eq!(lat["requests"]["retried"], 0);
    assert_eq!(lat["latency"]["count"], 200);
    assert_eq!((lat["errors"].as_u64(), lat["error_rate"].as_f64()), (Some(1), Some(1.0 / 201.0)));
    assert_eq!(lat["failed_queries"][0]["index"], 10);
    assert_eq!(lat["failed_queries"][0]["kind"], "http_5xx");
    assert_eq!(lat["outage"]["queries"], 1);
    // One failure in 201 is within the 1% bound: the run completed and is VALID.
    assert!(lat["error"].is_null(), "{lat}");
    assert_eq!(lat["validity"]["valid"], true, "{}", lat["validity"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The fake server has no statistics extension: server time is "not exposed", not zero.
    assert_eq!(lat["server"]["status"], "not-exposed", "{}", lat["server"]);
    assert!(lat["server"]["why"].as_str().unwrap().contains("does not advertise the statistics extension"), "{}", lat["server"]);
    assert!(r.stdout.contains("server time: not exposed by the server"), "{}", r.stdout);
}

#[test]
fn server_time_is_measured_only_when_the_server_counted_aites_own_requests() {
    // 2 warm-up queries, then 200 measured: the server turns dishonest at the 10th answer.
    let modes = [(FakeStats::Honest, "measured"), (FakeStats::OtherClient { at: 10, extra: 3 }, "inconsistent"), (FakeStats::Restart { at: 10 }, "inconsistent"), (FakeStats::PhasesLater { at: 10 }, "inconsistent")];
    for (mode, status) in modes {
        let server = FakeServer::start(FakeConfig { stats: Some(mode), ..FakeConfig::default() });
        let dir = tempfile::tempdir().unwrap();
        let r = run(aite().args(["latency", "--target", &server.url(), "--warmup", "2", "--min-queries", "200", "--min-duration-ms", "0", "--out"]).arg(dir.path()));
        assert_eq!(r.code, 0, "{mode:?}: {}", r.stderr);
        let lat = &results(&run_folder(dir.path()))["suites"]["latency"];
        let s = &lat["server"];
        assert_eq!(s["status"], status, "{mode:?}: {s}");
        assert_eq!(lat["requests"]["ok"], 200, "{mode:?}: {}", lat["requests"]);
        // At least one read at each edge, repeated until two agree.
        assert!(server.seen.stats_requests.load(Ordering::SeqCst) >= 4, "{mode:?}");
        match mode {
            FakeStats::Honest => {
                // Hand-computed: 200 requests of 1 µs in the server, 0.5 µs of it compute_infer.
                assert_eq!((s["success"]["count"].as_u64(), s["success"]["mean_ns"].as_f64()), (Some(200), Some(1000.0)), "{s}");
                assert_eq!((s["inference_count"].as_u64(), s["compute_infer"]["mean_ns"].as_f64()), (Some(200), Some(500.0)), "{s}");
                assert!(r.stdout.contains("server time per request"), "{}", r.stdout);
            }
            FakeStats::OtherClient { extra, .. } => {
                assert_eq!((s["server_requests"].as_u64(), s["aite_requests"].as_u64()), (Some(200 + extra), Some(200)), "{s}");
                assert!(s["why"].as_str().unwrap().contains("the server counted 203 answered requests in the window, aite 200"), "{s}");
            }
            FakeStats::Restart { .. } => {
                assert_eq!((s["server_requests"].as_u64(), s["aite_requests"].as_u64()), (None, Some(200)), "{s}");
                assert!(s["why"].as_str().unwrap().contains("went down from 1002 to 192"), "{s}");
            }
            FakeStats::PhasesLater { .. } => {
                assert!(s["why"].as_str().unwrap().contains("no answered-request count at both edges"), "{s}");
                assert_eq!(s["aite_requests"].as_u64(), Some(200), "{s}");
            }
        }
        if status == "inconsistent" {
            assert!(s.get("success").is_none() && s.get("queue").is_none(), "{mode:?}: no figures beside an inconsistent window: {s}");
            assert!(r.stdout.contains("server time: not measured, the server's statistics are inconsistent"), "{}", r.stdout);
        }
    }
}

#[test]
fn latency_through_oip_on_a_dead_server_stops_with_its_reason() {
    let server = FakeServer::start(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    server.refuse_after(2 + 30);
    let r = run(aite().args(["latency", "--target", &server.url(), "--warmup", "2", "--min-queries", "200", "--min-duration-ms", "0", "--out"]).arg(dir.path()));
    let res = results(&run_folder(dir.path()));
    let lat = &res["suites"]["latency"];
    assert_eq!(r.code, 4, "{}\n{lat}", r.stderr); // the target failed; the measured part is kept
    assert_eq!((lat["latency"]["count"].as_u64(), lat["errors"].as_u64()), (Some(30), Some(11)), "{lat}");
    assert_eq!(lat["outage"]["ongoing"], true);
    assert!(lat["error"].as_str().unwrap().contains("stopped after 11 consecutive failed queries"), "{lat}");
    assert_eq!(lat["validity"]["valid"], false);
}

#[test]
fn an_unreachable_target_is_a_clean_error_naming_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("oip+http://127.0.0.1:{port}/models/m");
    let r = run(aite().args(["latency", "--target", &url]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("http://127.0.0.1:{port}/v2/health/ready")) && r.stderr.contains("refused") && !r.stderr.contains("panicked"), "{}", r.stderr);
    let r = run(aite().args(["latency", "--target", "oip+http://127.0.0.1:1/m"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no /models/NAME"), "{}", r.stderr);
}

#[test]
fn target_url_in_aite_toml_is_checked_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("aite.toml");
    let head = "schema = \"aite.config/v1\"\nprofile = \"ai-camera\"\n\n[target]\n";
    for (body, line, says) in [
        ("url = \"http://cam:8000/models/m\"\n", 5, "expected oip+http://"),
        ("model = \"m.onnx\"\nurl = \"oip+http://cam:8000/models/m\"\n", 6, "not both"),
        ("threads = 1\n", 4, "needs `model`"),
    ] {
        std::fs::write(&cfg, format!("{head}{body}")).unwrap();
        let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history"));
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stderr.contains(&format!("{}:{line}:", cfg.display())) && r.stderr.contains(says), "{body}: {}", r.stderr);
    }
}

#[test]
fn aite_run_on_a_remote_target() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let labels = reference_dataset(dir.path(), 40);
    let server = serve_model(&model, true);
    let cfg = dir.path().join("aite.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"schema = "aite.config/v1"
profile = "reference-terminal"
out = "runs"

[declared]
top1_accuracy = 0.5
fps = 200

[target]
url = "{url}"

[dataset]
path = "{labels}"
preprocess = "digits8"

[suites.latency]
duration_ms = 200
min_queries = 64

[suites.periodic]
idle_ms = 20.0
min_queries = 60

[suites.robustness]
consistency_frames = 10
severities = [3]
corruption_frames = 10
attack_frames = 3
attack_budget = 20

[suites.security]
enabled = false
"#,
            url = server.url_of("digits"),
            labels = labels.display()
        ),
    )
    .unwrap();
    let r = run(aite().arg("run").arg("-c").arg(&cfg).arg("--no-history"));
    assert!([0, 1, 7, 8].contains(&r.code), "{}\n{}", r.code, r.stderr);
    let folder = run_folder(&dir.path().join("runs"));
    let res = results(&folder);
    let suites = &res["suites"];
    assert_eq!(suites["accuracy"]["evaluated"], 40, "{}", r.stderr);
    let req = &suites["latency"]["requests"];
    assert_eq!(req["ok"], suites["latency"]["queries"], "{req}");
    assert!(res["inputs"].as_array().unwrap().iter().any(|i| i["role"] == "model-endpoint" && i["name"] == server.url_of("digits")));
    // The device loads its model, not aite: no cold start was measured, and the package says why.
    assert_eq!(suites["cold_start"]["status"], "not-run");
    assert!(suites["cold_start"]["why"].as_str().unwrap().contains("remote"), "{}", suites["cold_start"]);
    // The fake server's engine has a fixed batch of 1: the batch-invariance check's batch of 4
    // is refused by the server, and the step is ERROR with the server's own message.
    let refused = suites.as_object().unwrap().values().find(|v| v["status"] == "error").unwrap_or_else(|| panic!("{suites}"));
    assert!(refused.to_string().contains("HTTP 400") && refused.to_string().contains("input mismatch"), "{refused}");
}

#[test]
fn a_remote_sweep_stopped_by_a_dead_server_resumes_from_its_checkpoint() {
    // Driven by the server's infer count, not by time: the server answers exactly `n`
    // inferences, then refuses every connection until it is restarted.
    const FRAMES: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let csv = reference_dataset(dir.path(), FRAMES);
    let sweep = |url: &str, out: &Path| {
        run(aite()
            .args(["robustness", "-p", "digits8", "--samples", &FRAMES.to_string(), "--no-consistency", "--corruptions", "gaussian_noise,contrast,rotation", "--severities", "1,3", "--attacks", "none", "--target", url, "-d"])
            .arg(&csv)
            .arg("--out")
            .arg(out))
    };
    let cells = 3 * 2;
    let infers = |s: &FakeServer| s.seen.infer_requests.load(Ordering::SeqCst);

    // The uninterrupted run, on a server of its own: the clean pass, then every cell.
    let whole = serve_model(&model, true);
    let whole_out = dir.path().join("whole");
    let r = sweep(&whole.url_of("digits"), &whole_out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(infers(&whole), FRAMES * (1 + cells), "the sweep's inferences");
    let whole_res = results(&run_folder(&whole_out));

    // The server dies halfway through the third cell.
    let mut server = serve_model(&model, true);
    let url = server.url_of("digits");
    let out = dir.path().join("runs");
    server.refuse_after(FRAMES * (1 + 2) + FRAMES / 2);
    let r = sweep(&url, &out);
    assert_eq!(r.code, 4, "the target failed: {}\n{}", r.stdout, r.stderr);
    eprintln!("the stopped sweep said: {}", r.stderr.trim());
    assert_eq!(infers(&server), FRAMES * 3 + FRAMES / 2);
    let endpoint = format!("http://{}/v2/models/digits/infer", server.addr);
    assert!(r.stderr.contains(&endpoint) && r.stderr.contains("refused") && !r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(r.stderr.contains("finished work is kept in") && r.stderr.contains("run the same command again to resume"), "{}", r.stderr);
    let checkpoints: Vec<_> = std::fs::read_dir(out.join(".checkpoints")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(checkpoints.len(), 1, "{checkpoints:?}");
    // A header line, then the two finished cells; the half-done third is not kept.
    let kept = std::fs::read_to_string(&checkpoints[0]).unwrap();
    assert_eq!(kept.lines().count(), 1 + 2, "{kept}");

    // Back up: the same command resumes, queries only the clean pass and the four cells left.
    server.restart();
    let before = infers(&server);
    let r = sweep(&url, &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("resuming: 2 of {cells} cells already done")), "{}", r.stderr);
    assert_eq!(infers(&server) - before, FRAMES * (1 + cells - 2), "the checkpointed cells were queried again");
    let resumed = results(&run_folder(&out));
    assert_eq!(resumed["status"], "complete", "{}", resumed["status"]);
    let (a, b) = (&resumed["suites"]["corruptions"], &whole_res["suites"]["corruptions"]);
    assert_eq!(a["cells"].as_array().map(Vec::len), Some(cells), "{a}");
    assert_eq!(a, b, "the resumed sweep's figures differ from the uninterrupted run's");
    assert!(!checkpoints[0].exists(), "the finished run removes its checkpoint");
}
