//! What aite adds to an engine's own latency, on real models from ../shared.
//!
//! For each model and thread count, on the same input:
//! - tract called directly (tract-onnx API, no aite) vs aite's single-stream p50 on tract;
//! - a bare onnxruntime loop in Python (PyPI wheel) vs aite's p50 on ONNX Runtime.
//!
//! Run: `cargo bench -p aite --features ort --bench engine_overhead`
//! (add `-- --quick` for shorter loops). Prints a markdown table; ratios come from one run.

use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_latency::{percentile, run, LatencyScenario, LatencySettings, Workload};
use aite_target::{Cancel, Tensor};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tract_onnx::prelude::*;

const PY_LOOP: &str = r#"
import sys, time, json, numpy as np, onnxruntime as ort
path, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = s.get_inputs()[0]
shape = [d if isinstance(d, int) else 1 for d in inp.shape]
x = np.random.default_rng(0).random(shape, dtype=np.float32)
name = inp.name
for _ in range(10): s.run(None, {name: x})
lat = []; end = time.perf_counter() + seconds
while time.perf_counter() < end or len(lat) < 100:
    t = time.perf_counter_ns(); s.run(None, {name: x}); lat.append(time.perf_counter_ns() - t)
lat.sort(); n = len(lat)
print(json.dumps({"n": n, "p50": lat[int(n*0.5)], "p90": lat[int(n*0.9)], "version": ort.__version__}))
"#;

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/models");
    p.is_dir().then_some(p)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// tract without aite: plan, one state, run in a loop.
fn tract_direct(path: &Path, shape: &[usize], threads: usize, seconds: f64) -> TractResult<(u64, u64, usize)> {
    let mut model = tract_onnx::onnx().with_ignore_value_info(true).model_for_path(path)?;
    model.set_input_fact(0, f32::fact(shape).into())?;
    let plan = model.into_optimized()?.into_runnable_with_options(&RunOptions {
        executor: Some(if threads > 1 {
            tract_onnx::prelude::tract_linalg::multithread::Executor::multithread(threads)
        } else {
            Default::default()
        }),
        ..Default::default()
    })?;
    let mut state = plan.spawn()?;
    let n: usize = shape.iter().product();
    let x = tract_onnx::prelude::Tensor::from_shape(shape, &vec![0.5f32; n])?;
    for _ in 0..10 {
        state.run(tvec!(x.clone().into_tvalue()))?;
    }
    let mut lat = Vec::new();
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end || lat.len() < 100 {
        let input = tvec!(x.clone().into_tvalue());
        let t = Instant::now();
        let out = state.run(input)?;
        lat.push(t.elapsed().as_nanos() as u64);
        std::hint::black_box(out);
    }
    lat.sort_unstable();
    Ok((percentile(&lat, 0.5), percentile(&lat, 0.9), lat.len()))
}

fn aite_run(path: &Path, engine: EngineKind, shape: &[usize], threads: usize, seconds: f64) -> Option<(u64, u64, usize)> {
    let opts = EngineOptions { threads, ..Default::default() };
    let mut target = match load_target(path, engine, &opts) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("skip {} on {}: {e}", path.display(), engine.name());
            return None;
        }
    };
    let n: usize = shape.iter().product();
    let work = Workload::Tensors(vec![vec![Tensor::f32(shape.to_vec(), vec![0.5; n]).ok()?]]);
    let settings = LatencySettings { min_duration_ms: (seconds * 1e3) as u64, min_queries: 100, warmup_queries: 10, ..Default::default() };
    let r = run(target.as_mut(), &work, &LatencyScenario::SingleStream, &settings, &Cancel::new(), &mut |_| {}).ok()?;
    let mut lat: Vec<u64> = r.records.iter().map(|q| q.latency_ns()).collect();
    lat.sort_unstable();
    Some((percentile(&lat, 0.5), percentile(&lat, 0.9), lat.len()))
}

fn python_ort(path: &Path, threads: usize, seconds: f64) -> Option<(u64, u64, usize, String)> {
    let out = std::process::Command::new("python3").args(["-c", PY_LOOP]).arg(path).arg(threads.to_string()).arg(seconds.to_string()).output().ok()?;
    if !out.status.success() {
        eprintln!("python onnxruntime loop failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((v["p50"].as_u64()?, v["p90"].as_u64()?, v["n"].as_u64()? as usize, v["version"].as_str()?.to_string()))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 1.0 } else { 3.0 };
    let Some(root) = shared() else {
        eprintln!("skipping: ../shared/assets/models is absent");
        return;
    };
    let models: &[(&str, &[usize])] = &[
        ("cifar10-resnet8/resnet8_fp32.onnx", &[1, 3, 32, 32]),
        ("cifar10-resnet8/resnet8_int8_qdq.onnx", &[1, 3, 32, 32]),
        ("vww-mobilenet-96/vww96_fp32.onnx", &[1, 3, 96, 96]),
        ("vww-mobilenet-96/vww96_int8_qdq.onnx", &[1, 3, 96, 96]),
        ("imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx", &[1, 3, 224, 224]),
        ("imagenet-mobilenet-v2/mobilenet_v2_int8_qdq.onnx", &[1, 3, 224, 224]),
    ];
    println!("| model | threads | tract direct p50/p90 ms | aite+tract p50/p90 ms | aite/tract p50 | onnxruntime (Python) p50/p90 ms | aite+ort p50/p90 ms | aite/ort p50 |");
    println!("|---|---|---|---|---|---|---|---|");
    for (rel, shape) in models {
        let path = root.join(rel);
        for threads in [1usize, 2] {
            let direct = tract_direct(&path, shape, threads, seconds).map_err(|e| eprintln!("tract direct {rel}: {e:#}")).ok();
            let via_tract = aite_run(&path, EngineKind::Tract, shape, threads, seconds);
            let py = python_ort(&path, threads, seconds);
            let via_ort = if cfg!(feature = "ort") { aite_run(&path, EngineKind::OnnxRuntime, shape, threads, seconds) } else { None };
            let cell = |v: Option<(u64, u64, usize)>| v.map(|(a, b, _)| format!("{:.3} / {:.3}", ms(a), ms(b))).unwrap_or_else(|| "n/a".into());
            let ratio = |a: Option<(u64, u64, usize)>, b: Option<(u64, u64, usize)>| match (a, b) {
                (Some(a), Some(b)) => format!("{:.3}", a.0 as f64 / b.0 as f64),
                _ => "n/a".into(),
            };
            let py3 = py.as_ref().map(|p| (p.0, p.1, p.2));
            println!(
                "| {rel} | {threads} | {} | {} | {} | {} | {} | {} |",
                cell(direct),
                cell(via_tract),
                ratio(via_tract, direct),
                cell(py3),
                cell(via_ort),
                ratio(via_ort, py3)
            );
        }
    }
}
