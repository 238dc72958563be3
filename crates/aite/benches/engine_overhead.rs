//! What aite adds to an engine's own latency, on real models from ../shared.
//!
//! Two measurements, both on the same model and input:
//!
//! 1. Wall clock, interleaved (default): tract called directly (tract-onnx API,
//!    no aite) vs aite's single-stream harness on tract, and a bare onnxruntime
//!    loop in Python (a persistent child process) vs aite on ONNX Runtime. The
//!    loops take turns in short rounds, so machine noise and drift hit all of
//!    them alike; the overhead is the p50 ratio over all rounds, with the median
//!    of the per-round ratios beside it.
//! 2. Instructions (`--callgrind`): each tract path runs under valgrind's
//!    callgrind with 0 and with N queries; (I(N) - I(0)) / N is the cost of one
//!    query, whatever else the machine is doing. The ratio aite/direct is the
//!    overhead without any timing noise.
//!
//! Run: `cargo bench -p aite --features ort --bench engine_overhead`
//! (`-- --quick` for fewer rounds, `-- --callgrind` for instruction counts).
//! Prints markdown tables; ratios come from one run.

use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_latency::{percentile, run, LatencyScenario, LatencySettings, Workload};
use aite_target::{Cancel, Target, Tensor};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tract_onnx::prelude::*;

/// A persistent Python child: reads a query count per line, answers with the latencies (ns).
const PY_SERVER: &str = r#"
import sys, time, json, numpy as np, onnxruntime as ort
path, threads = sys.argv[1], int(sys.argv[2])
so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = s.get_inputs()[0]
shape = [d if isinstance(d, int) else 1 for d in inp.shape]
x = np.full(shape, 0.5, dtype=np.float32)
name = inp.name
for _ in range(10): s.run(None, {name: x})
print(json.dumps({"version": ort.__version__}), flush=True)
for line in sys.stdin:
    n = int(line); lat = []
    for _ in range(n):
        t = time.perf_counter_ns(); s.run(None, {name: x}); lat.append(time.perf_counter_ns() - t)
    print(json.dumps(lat), flush=True)
"#;

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/models");
    p.is_dir().then_some(p)
}

/// tract without aite: a plan, one state, inference in a loop.
struct TractDirect {
    state: TypedSimpleState,
    input: tract_onnx::prelude::Tensor,
}

impl TractDirect {
    fn new(path: &Path, shape: &[usize], threads: usize) -> TractResult<Self> {
        let mut model = tract_onnx::onnx().with_ignore_value_info(true).model_for_path(path)?;
        model.set_input_fact(0, f32::fact(shape).into())?;
        let plan = model.into_optimized()?.into_runnable_with_options(&RunOptions {
            executor: Some(if threads > 1 { tract_onnx::prelude::tract_linalg::multithread::Executor::multithread(threads) } else { Default::default() }),
            ..Default::default()
        })?;
        let n: usize = shape.iter().product();
        Ok(TractDirect { state: plan.spawn()?, input: tract_onnx::prelude::Tensor::from_shape(shape, &vec![0.5f32; n])? })
    }

    fn queries(&mut self, n: usize, out: &mut Vec<u64>) -> TractResult<()> {
        for _ in 0..n {
            let input = tvec!(self.input.clone().into_tvalue());
            let t = Instant::now();
            let r = self.state.run(input)?;
            out.push(t.elapsed().as_nanos() as u64);
            std::hint::black_box(r);
        }
        Ok(())
    }
}

/// aite's single-stream harness on one of its engines.
struct ViaAite {
    target: Box<dyn Target>,
    work: Workload,
}

impl ViaAite {
    fn new(path: &Path, engine: EngineKind, shape: &[usize], threads: usize) -> Option<Self> {
        let opts = EngineOptions { threads, ..Default::default() };
        let target = load_target(path, engine, &opts).map_err(|e| eprintln!("skip {} on {}: {e}", path.display(), engine.name())).ok()?;
        let n: usize = shape.iter().product();
        let work = Workload::Tensors(vec![vec![Tensor::f32(shape.to_vec(), vec![0.5; n]).ok()?]]);
        Some(ViaAite { target, work })
    }

    fn queries(&mut self, n: usize, warmup: u64, out: &mut Vec<u64>) -> Option<()> {
        let settings = LatencySettings { min_duration_ms: 0, min_queries: n as u64, max_queries: n as u64, warmup_queries: warmup, ..Default::default() };
        let r = run(self.target.as_mut(), &self.work, &LatencyScenario::SingleStream, &settings, &Cancel::new(), &mut |_| {}).map_err(|e| eprintln!("aite run: {e}")).ok()?;
        out.extend(r.records.iter().map(|q| q.latency_ns()));
        Some(())
    }
}

/// onnxruntime from PyPI, in a child process that stays up between rounds.
struct PythonOrt {
    child: std::process::Child,
    reply: std::io::BufReader<std::process::ChildStdout>,
    version: String,
}

impl PythonOrt {
    fn new(path: &Path, threads: usize) -> Option<Self> {
        let mut child = std::process::Command::new(std::env::var("AITE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into()))
            .args(["-c", PY_SERVER])
            .arg(path)
            .arg(threads.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| eprintln!("python3: {e}"))
            .ok()?;
        let mut reply = std::io::BufReader::new(child.stdout.take()?);
        let mut line = String::new();
        reply.read_line(&mut line).ok()?;
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|_| eprintln!("python onnxruntime did not start (pip install onnxruntime numpy)")).ok()?;
        Some(PythonOrt { child, reply, version: v["version"].as_str()?.to_string() })
    }

    fn queries(&mut self, n: usize, out: &mut Vec<u64>) -> Option<()> {
        writeln!(self.child.stdin.as_mut()?, "{n}").ok()?;
        let mut line = String::new();
        self.reply.read_line(&mut line).ok()?;
        out.extend(serde_json::from_str::<Vec<u64>>(&line).ok()?);
        Some(())
    }
}

impl Drop for PythonOrt {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// p50 of all samples, and the median over rounds of the per-round p50 ratio a/b.
fn summarise(a: &[Vec<u64>], b: &[Vec<u64>]) -> (u64, u64, f64, f64) {
    let all = |v: &[Vec<u64>]| {
        let mut x: Vec<u64> = v.iter().flatten().copied().collect();
        x.sort_unstable();
        x
    };
    let (xa, xb) = (all(a), all(b));
    let p50 = |x: &[u64]| percentile(x, 0.5);
    let mut per_round: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(p, q)| !p.is_empty() && !q.is_empty())
        .map(|(p, q)| {
            let (mut p, mut q) = (p.clone(), q.clone());
            p.sort_unstable();
            q.sort_unstable();
            percentile(&p, 0.5) as f64 / percentile(&q, 0.5) as f64
        })
        .collect();
    per_round.sort_by(|x, y| x.total_cmp(y));
    let med = per_round.get(per_round.len() / 2).copied().unwrap_or(f64::NAN);
    (p50(&xa), p50(&xb), p50(&xa) as f64 / p50(&xb) as f64, med)
}

const MODELS: &[(&str, &[usize])] = &[
    ("cifar10-resnet8/resnet8_fp32.onnx", &[1, 3, 32, 32]),
    ("cifar10-resnet8/resnet8_int8_qdq.onnx", &[1, 3, 32, 32]),
    ("vww-mobilenet-96/vww96_fp32.onnx", &[1, 3, 96, 96]),
    ("vww-mobilenet-96/vww96_int8_qdq.onnx", &[1, 3, 96, 96]),
    ("imagenet-mobilenet-v2/mobilenet_v2_fp32.onnx", &[1, 3, 224, 224]),
    ("imagenet-mobilenet-v2/mobilenet_v2_int8_qdq.onnx", &[1, 3, 224, 224]),
];

fn interleaved(root: &Path, quick: bool) {
    let rounds = if quick { 10 } else { 30 };
    println!("| model | threads | tract direct p50 ms | aite+tract p50 ms | aite/tract (all / median of rounds) | onnxruntime Python p50 ms | aite+ort p50 ms | aite/ort (all / median of rounds) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (rel, shape) in MODELS {
        let path = root.join(rel);
        for threads in [1usize, 2] {
            let Ok(mut direct) = TractDirect::new(&path, shape, threads).map_err(|e| eprintln!("tract direct {rel}: {e:#}")) else { continue };
            let Some(mut via_tract) = ViaAite::new(&path, EngineKind::Tract, shape, threads) else { continue };
            let mut py = PythonOrt::new(&path, threads);
            let mut via_ort = if cfg!(feature = "ort") { ViaAite::new(&path, EngineKind::OnnxRuntime, shape, threads) } else { None };
            // Queries per round: about 100 ms of tract.
            let mut probe = Vec::new();
            let _ = direct.queries(5, &mut probe);
            probe.sort_unstable();
            let per_round = ((100e6 / probe[2].max(1) as f64) as usize).clamp(5, 400);
            let _ = via_tract.queries(per_round, 10, &mut Vec::new());
            if let Some(o) = via_ort.as_mut() {
                let _ = o.queries(per_round, 10, &mut Vec::new());
            }
            let (mut d, mut t, mut p, mut o) = (vec![], vec![], vec![], vec![]);
            for round in 0..rounds {
                let (mut a, mut b, mut c, mut e) = (vec![], vec![], vec![], vec![]);
                // Alternate the order so neither path always runs first.
                let order: [usize; 4] = if round % 2 == 0 { [0, 1, 2, 3] } else { [1, 0, 3, 2] };
                for which in order {
                    match which {
                        0 => drop(direct.queries(per_round, &mut a)),
                        1 => drop(via_tract.queries(per_round, 0, &mut b)),
                        2 => drop(py.as_mut().and_then(|x| x.queries(per_round, &mut c))),
                        _ => drop(via_ort.as_mut().and_then(|x| x.queries(per_round, 0, &mut e))),
                    }
                }
                d.push(a);
                t.push(b);
                p.push(c);
                o.push(e);
            }
            let ms = |ns: u64| format!("{:.3}", ns as f64 / 1e6);
            let (aite_t, dir, r_all, r_med) = summarise(&t, &d);
            let ort_cells = if p.iter().any(|x| !x.is_empty()) && o.iter().any(|x| !x.is_empty()) {
                let (aite_o, pyo, r_all, r_med) = summarise(&o, &p);
                format!("{} | {} | {r_all:.3} / {r_med:.3}", ms(pyo), ms(aite_o))
            } else {
                "n/a | n/a | n/a".into()
            };
            println!("| {rel} | {threads} | {} | {} | {r_all:.3} / {r_med:.3} | {ort_cells} |", ms(dir), ms(aite_t));
            if let Some(py) = &py {
                eprintln!("  ({rel} t{threads}: {rounds} rounds x {per_round} queries per loop; onnxruntime {})", py.version);
            }
        }
    }
}

/// Child mode under valgrind: `--child direct|aite MODEL D0,D1,.. QUERIES`.
fn child(args: &[String]) {
    let (mode, path, shape, n) = (&args[0], Path::new(&args[1]), args[2].split(',').map(|d| d.parse().unwrap()).collect::<Vec<usize>>(), args[3].parse::<usize>().unwrap());
    let mut sink = Vec::with_capacity(n + 3);
    if mode == "direct" {
        let mut d = TractDirect::new(path, &shape, 1).unwrap();
        d.queries(3 + n, &mut sink).unwrap();
    } else {
        let mut a = ViaAite::new(path, EngineKind::Tract, &shape, 1).unwrap();
        a.queries(n.max(1), 3, &mut sink).unwrap();
        if n == 0 {
            sink.clear(); // the harness needs one query; the n=0 baseline runs it too
        }
    }
    std::hint::black_box(sink);
}

/// Instructions of a child run under callgrind.
fn instructions(exe: &Path, mode: &str, path: &Path, shape: &[usize], n: usize) -> Option<u64> {
    let shape = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
    let out_file = tempfile::NamedTempFile::new().ok()?;
    let out = std::process::Command::new("valgrind")
        .args(["--tool=callgrind", "--cache-sim=no"])
        .arg(format!("--callgrind-out-file={}", out_file.path().display()))
        .arg(exe)
        .args(["--child", mode])
        .arg(path)
        .arg(&shape)
        .arg(n.to_string())
        .output()
        .map_err(|e| eprintln!("valgrind: {e} (apt-get install valgrind)"))
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains("Collected :"))?;
    line.rsplit(':').next()?.trim().replace(',', "").parse().ok()
}

fn callgrind(root: &Path) {
    let exe = std::env::current_exe().unwrap();
    println!("| model | queries | tract direct instructions/query | aite+tract instructions/query | aite/tract |");
    println!("|---|---|---|---|---|");
    for (rel, shape) in MODELS {
        let path = root.join(rel);
        let n = if shape[2] >= 224 { 10 } else { 50 };
        // aite's n=0 baseline runs one query (the harness needs one): count it as such.
        let per = |mode: &str, base_queries: usize| -> Option<f64> {
            let i0 = instructions(&exe, mode, &path, shape, 0)? as f64;
            let i_n = instructions(&exe, mode, &path, shape, n)? as f64;
            Some((i_n - i0) / (n - base_queries) as f64)
        };
        match (per("direct", 0), per("aite", 1)) {
            (Some(d), Some(a)) => println!("| {rel} | {n} | {d:.0} | {a:.0} | {:.5} |", a / d),
            _ => println!("| {rel} | {n} | n/a | n/a | n/a |"),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1..]);
    }
    let Some(root) = shared() else {
        eprintln!("skipping: ../shared/assets/models is absent");
        return;
    };
    if args.iter().any(|a| a == "--callgrind") {
        callgrind(&root);
    } else {
        interleaved(&root, args.iter().any(|a| a == "--quick"));
    }
}
