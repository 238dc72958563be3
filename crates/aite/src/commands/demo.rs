//! `aite demo`: evaluate the reference terminal embedded in this binary.

use crate::cli::DemoArgs;
use crate::common::*;
use crate::exit::Exit;
use aite_accuracy::{evaluate, AccuracyConfig};
use aite_engine::{load_target_from_bytes, EngineOptions};
use aite_evidence::{InputArtifact, Results, RunStatus};
use aite_latency::{caching_audit, cold_start, run as run_scenario, LatencyScenario, LatencySettings, Workload};
use aite_robustness::corruption::corruption_sweep;
use aite_robustness::{run_attack, AttackKind, AttackSettings};
use aite_target::Cancel;
use anyhow::{Context, Result};
use aite_engine::sha256_bytes as sha256_hex;

pub fn run(a: DemoArgs, cancel: &Cancel) -> Result<u8> {
    let engine = engine_kind(a.engine);
    let options = EngineOptions::default();
    let spec = aite_reference::preprocess();
    let ds = aite_reference::dataset();
    let quiet = a.output.json;
    if !quiet {
        eprintln!("aite demo: evaluating {} ({} held-out images) on {}", aite_reference::NAME, ds.samples.len(), engine.name());
    }
    let mut fp32 = load_target_from_bytes("digits_cnn_fp32.onnx", aite_reference::MODEL_FP32, engine, &options)?;
    let mut int8 = load_target_from_bytes("digits_cnn_int8_qdq.onnx", aite_reference::MODEL_INT8_QDQ, engine, &options)?;

    let mut results = Results::new("demo", serde_json::to_value(fp32.info())?);
    results.inputs.push(InputArtifact { role: "model".into(), name: "reference:digits_cnn_fp32.onnx".into(), sha256: sha256_hex(aite_reference::MODEL_FP32), count: None });
    results.inputs.push(InputArtifact { role: "model".into(), name: "reference:digits_cnn_int8_qdq.onnx".into(), sha256: sha256_hex(aite_reference::MODEL_INT8_QDQ), count: None });
    results.inputs.push(dataset_artifact(&ds));

    let acc_cfg = AccuracyConfig { cancel: cancel.clone(), ..Default::default() };
    let pb = bar(ds.samples.len() as u64 * 2, "accuracy", quiet);
    let acc = evaluate(fp32.as_mut(), &ds, &spec, &acc_cfg, &mut |i| pb.set_position(i as u64))?;
    let acc8 = evaluate(int8.as_mut(), &ds, &spec, &acc_cfg, &mut |i| pb.set_position((ds.samples.len() + i) as u64))?;
    pb.finish_and_clear();
    results.add_suite("accuracy", &acc);
    results.add_suite("accuracy_int8", &acc8);

    let frames: Vec<_> = ds.samples.iter().take(64).filter_map(|s| s.bytes().ok().map(|b| (s.id.clone(), b))).collect();
    let workload = Workload::Frames { frames, spec: spec.clone() };
    let cs = cold_start(|| load_target_from_bytes("digits_cnn_fp32.onnx", aite_reference::MODEL_FP32, engine, &options), &workload, false)?;
    results.add_suite("cold_start", &cs);

    let settings = LatencySettings {
        min_duration_ms: if a.quick { 300 } else { 3000 },
        min_queries: 1024,
        percentile: 0.90,
        ..Default::default()
    };
    let pb = bar(1000, "latency", quiet);
    let lat = run_scenario(fp32.as_mut(), &workload, &LatencyScenario::SingleStream, &settings, cancel, &mut |p| pb.set_position((p.fraction * 1000.0) as u64))?;
    pb.finish_and_clear();
    let periodic = LatencyScenario::Periodic { fps: 200.0, burst_frames: 10, idle_ms: if a.quick { 20.0 } else { 200.0 } };
    let periodic_settings = LatencySettings { min_duration_ms: 0, min_queries: if a.quick { 100 } else { 200 }, ..settings.clone() };
    let per = if cancel.is_cancelled() { None } else { Some(run_scenario(fp32.as_mut(), &workload, &periodic, &periodic_settings, cancel, &mut |_| {})?) };
    let audit = if cancel.is_cancelled() { None } else { Some(caching_audit(fp32.as_mut(), &workload, 64)?) };

    // Failure-mode consistency: the int8 model is the deployed one, fp32 the reference.
    let consistent = if cancel.is_cancelled() {
        true
    } else {
        let frames = super::robustness::decoded_frames(&ds, &spec, 100, false)?;
        let mut batched = load_target_from_bytes("digits_cnn_int8_qdq.onnx", aite_reference::MODEL_INT8_QDQ, engine, &EngineOptions { batch: 4, ..options.clone() })?;
        super::robustness::consistency_suites(&mut results, int8.as_mut(), Some(fp32.as_mut()), Some((batched.as_mut(), 4)), &spec, &frames, 3, 0)?
    };
    // A short robustness pass on the deployed (int8) model: every corruption
    // at a few severities, and the Square attack against a noise baseline.
    if !cancel.is_cancelled() {
        let (loaded, _) = load_frames(&ds, &spec, if a.quick { 50 } else { 100 }, false)?;
        let frames = super::robustness::labeled_frames(&loaded, spec.color)?;
        let severities: Vec<u8> = if a.quick { vec![1, 3, 5] } else { vec![1, 2, 3, 4, 5] };
        let options = super::robustness::sweep_options("all", &severities, "auto", 0, None, false)?;
        let pb = bar(options.all_cells().len() as u64, "corruptions", quiet);
        let sweep = corruption_sweep(int8.as_mut(), &spec, &frames, &options, vec![], cancel, &mut |_| pb.inc(1))?;
        pb.finish_and_clear();
        results.add_suite("corruptions", &sweep);
        let attacked = &frames[..frames.len().min(if a.quick { 20 } else { 40 })];
        let mut reports = Vec::new();
        for (kind, budget) in [(AttackKind::SquareLinf, if a.quick { 300 } else { 1000 }), (AttackKind::NoiseLinf, 100)] {
            if cancel.is_cancelled() {
                break;
            }
            let settings = AttackSettings { budget, ..AttackSettings::autoattack(kind, 8) };
            let pb = bar(attacked.len() as u64, kind.name(), quiet);
            let report = run_attack(int8.as_mut(), &spec, attacked, &settings, vec![], cancel, &mut |_| pb.inc(1))?;
            pb.finish_and_clear();
            results.add_suite(&format!("attack_{}", kind.name().replace('-', "_")), &report);
            reports.push(report);
        }
        if let Some(w) = aite_robustness::attack::worst_case(&reports.iter().collect::<Vec<_>>()) {
            results.add_suite("attack_worst_case", &serde_json::json!({ "linf": { "attacks": ["square-linf", "noise-linf"], "epsilon": 8.0 / 255.0, "robust_accuracy": w } }));
        }
    }
    // Basic security layer on the reference rootfs aite builds itself (planted
    // weaknesses; the running aite binary stands in for the camera app). Its
    // findings are expected, so they do not change the demo's exit code.
    let security_sarif = if cancel.is_cancelled() {
        None
    } else {
        std::fs::create_dir_all(&a.output.out).with_context(|| format!("cannot create {}", a.output.out.display()))?;
        let work = tempfile::Builder::new().prefix(".security-work-").tempdir_in(&a.output.out)?;
        let exe = std::env::current_exe().ok().and_then(|p| std::fs::read(p).ok()).filter(|b| b.len() < 256 << 20);
        let image = work.path().join("reference-rootfs.tar.gz");
        std::fs::write(&image, aite_security::reference::build(exe.as_deref())?)?;
        let report = aite_security::scan(&image, &work.path().join("x"), aite_security::Limits::default())?;
        let sarif = aite_security::sarif::sarif(&report.findings, env!("CARGO_PKG_VERSION"), serde_json::json!({ "input": "reference rootfs", "coverage": report.coverage }));
        results.add_suite("security", &report);
        Some(serde_json::to_vec_pretty(&sarif)?)
    };
    results.add_suite("latency", &lat);
    if let Some(p) = &per {
        results.add_suite("latency_periodic", p);
    }
    if let Some(a) = &audit {
        results.add_suite("caching_audit", a);
    }
    let interrupted = cancel.is_cancelled();
    results.finish(if interrupted { RunStatus::Interrupted } else { RunStatus::Complete });
    let cfg = serde_json::json!({
        "command": "demo", "engine": engine.name(), "engine_options": options, "quick": a.quick,
        "preprocess": spec, "latency_settings": settings, "periodic": periodic, "periodic_settings": periodic_settings,
    });
    let mut raw = vec![
        ("predictions-fp32.csv".to_string(), predictions_csv(&acc.predictions)),
        ("predictions-int8.csv".to_string(), predictions_csv(&acc8.predictions)),
        ("latency-samples.csv".to_string(), latency_csv(&lat.records)),
    ];
    if let Some(p) = &per {
        raw.push(("latency-periodic-samples.csv".into(), latency_csv(&p.records)));
    }
    if let Some(s) = security_sarif {
        raw.push(("findings.sarif".into(), s));
    }
    write_evidence(&a.output, "demo", &results, &cfg, raw)?;
    Ok(if interrupted {
        Exit::Interrupted as u8
    } else if lat.validity.valid && audit.is_some_and(|a| a.passed) && consistent {
        Exit::Ok as u8
    } else {
        Exit::Invalid as u8
    })
}
