//! `aite latency`: LoadGen scenarios, cold start and the caching audit; with `--task ppocr-v4
//! --rec`, the whole PP-OCR read of a frame as one query.

use crate::cli::{LatencyArgs, ModelArgs, ScenarioArg};
use crate::common::*;
use crate::exit::Exit;
use aite_evidence::{Results, RunStatus};
use aite_latency::{caching_audit, cold_start, run as run_scenario, ColdStart, LatencyScenario, LatencySettings, Workload};
use aite_target::Cancel;
use aite_task::{Postprocess, TaskSpec};
use anyhow::{Context, Result};

fn scenario(a: &LatencyArgs) -> Result<LatencyScenario> {
    Ok(match a.scenario {
        ScenarioArg::SingleStream => LatencyScenario::SingleStream,
        ScenarioArg::MultiStream => LatencyScenario::MultiStream { samples_per_query: a.samples_per_query },
        ScenarioArg::Offline => LatencyScenario::Offline,
        ScenarioArg::Periodic => LatencyScenario::Periodic { fps: a.fps, burst_frames: a.burst, idle_ms: a.idle_ms },
        ScenarioArg::Server => {
            let (Some(qps), Some(bound)) = (a.qps, a.latency_bound_ms) else {
                anyhow::bail!(aite_latency::LatencyError::Scenario(
                    "server needs --qps (offered load) and --latency-bound-ms (the bound the percentile must meet)".into()
                ));
            };
            LatencyScenario::Server { target_qps: qps, latency_bound_ms: bound }
        }
    })
}

/// Defaults, then the settings file, then command-line flags.
fn settings(a: &LatencyArgs, scenario: &LatencyScenario) -> Result<LatencySettings> {
    let mut s = LatencySettings { percentile: scenario.default_percentile(), ..Default::default() };
    if let Some(path) = &a.settings {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read settings file {}", path.display()))?;
        let from_file: LatencySettings = toml::from_str(&text).with_context(|| {
            format!("settings file {} is invalid (known keys: min_duration_ms, min_queries, max_queries, max_duration_ms, percentile, warmup_queries, seed, offline_expected_qps, max_error_rate, max_consecutive_failures)", path.display())
        })?;
        let percentile_given = text.lines().any(|l| l.trim_start().starts_with("percentile"));
        s = LatencySettings { percentile: if percentile_given { from_file.percentile } else { s.percentile }, ..from_file };
    }
    if let Some(v) = a.min_duration_ms { s.min_duration_ms = v; }
    if let Some(v) = a.min_queries { s.min_queries = v; }
    if let Some(v) = a.max_queries { s.max_queries = v; }
    if let Some(v) = a.max_duration_ms { s.max_duration_ms = v; }
    if let Some(v) = a.percentile { s.percentile = v; }
    if let Some(v) = a.warmup { s.warmup_queries = v; }
    if let Some(v) = a.seed { s.seed = v; }
    // Offline: --qps is the expected throughput that sizes the one query (LoadGen's offline_expected_qps).
    if let (LatencyScenario::Offline, Some(v)) = (scenario, a.qps) { s.offline_expected_qps = v; }
    Ok(s)
}

pub fn run(a: LatencyArgs, cancel: &Cancel) -> Result<u8> {
    let scenario = scenario(&a)?;
    let settings = settings(&a, &scenario)?;
    let ds = open_dataset(&a.data)?;
    if a.end_to_end && ds.is_none() {
        anyhow::bail!(aite_data::DataError::Spec {
            reason: "--end-to-end times real frames through decode and preprocessing".into(),
            hint: "pass --dataset with images, or drop --end-to-end for bare inference latency".into(),
        });
    }
    let task = task_spec(a.task.as_deref())?;
    if task.is_some() && !a.end_to_end {
        anyhow::bail!(aite_task::TaskError::Spec {
            reason: "--task sets the postprocess stage, which only an end-to-end run times".into(),
            hint: "add --end-to-end (and --dataset with frames), or drop --task".into(),
        });
    }
    match (&task, &a.rec) {
        (Some(TaskSpec::Ocr(ocr)), Some(rec)) => {
            let ds = ds.expect("--task needs --end-to-end, which needs --dataset");
            return run_ocr(&a, ocr.clone(), rec, &ds, &scenario, &settings, cancel);
        }
        (_, Some(_)) => anyhow::bail!("--rec is the recogniser of the OCR read\n  hint: add --task ppocr-v4 --end-to-end (and -m the text detector, --dataset the frames)"),
        (_, None) if a.cls.is_some() => anyhow::bail!("--cls is the direction classifier of the OCR read\n  hint: give --rec and --task ppocr-v4 too"),
        _ => {}
    }
    let options = engine_options(&a.model);
    let mut target = load_model(&a.model)?;
    let (spec, inferred) = preprocess_spec(a.data.preprocess.as_deref(), target.info())?;
    // The frames that could not be decoded are not timed: recorded as the latency suite's `frame_coverage`.
    let mut coverage = None;
    let workload = match &ds {
        Some(ds) => {
            let (frames, skipped) = load_frames_noting(ds, &spec, a.samples, a.data.strict)?;
            warn_skipped(&skipped);
            coverage = FrameCoverage::of_first(frames.len(), frames.len(), &skipped);
            let encoded = || frames.iter().map(|f| (f.id.clone(), f.bytes.clone())).collect();
            match (&task, a.end_to_end) {
                (Some(task), true) => Workload::TaskFrames { frames: encoded(), spec: spec.clone(), task: Postprocess::new(task.clone()) },
                (None, true) => Workload::Frames { frames: encoded(), spec: spec.clone() },
                (_, false) => 
                Workload::Tensors(frames.iter().map(|f| spec.to_tensor(&f.image).map(|t| vec![t])).collect::<Result<_, _>>()?),
            }
        }
        None => Workload::Tensors(synthetic_inputs(&target.info().inputs, &options, a.samples.min(16), settings.seed)?),
    };
    if inferred && ds.is_some() {
        crate::common::note_inferred_preprocess(&spec, a.task.as_deref())?;
    }

    let mut results = Results::new("latency", serde_json::to_value(target.info())?);
    results.inputs.extend(model_artifacts(&a.model.model, "model")?);
    if let Some(ds) = &ds {
        results.inputs.push(dataset_artifact(ds));
    }
    if a.cold_start || a.cold_start_process {
        let cs = if a.cold_start_process {
            cold_start_in_child(&a.model)?
        } else {
            cold_start(|| load_model(&a.model).map_err(to_target_error), &workload, false)?
        };
        results.add_suite("cold_start", &cs);
    }

    let pb = bar(1000, scenario.name(), a.output.json);
    let report = run_scenario(target.as_mut(), &workload, &scenario, &settings, cancel, &mut |p| {
        pb.set_position((p.fraction * 1000.0) as u64);
        pb.set_message(format!("{} q", p.queries));
    })?;
    pb.finish_and_clear();
    let mut code = if report.validity.valid { Exit::Ok } else { Exit::Invalid };
    if a.audit && !cancel.is_cancelled() {
        let audit = caching_audit(target.as_mut(), &workload, 64)?;
        if !audit.passed {
            code = Exit::Invalid;
        }
        results.add_suite("caching_audit", &audit);
    }
    match &task {
        // The text detector with its DB post-process, without --rec: said so, it is not the OCR read.
        Some(TaskSpec::Ocr(_)) => {
            let timed = super::ocr::TimedModels::TextDetectorOnly { det: a.model.model.clone(), why: "no --rec: the text detector alone was timed; the OCR read (crops, direction classifier, recogniser) needs --rec".into() };
            results.add_suite("latency", &super::ocr::TimedLatency { suite: &report, timed: &timed });
        }
        _ => results.add_suite("latency", &report),
    }
    if let Some(c) = &coverage {
        c.record(&mut results.suites, &["latency", "caching_audit"]);
    }
    let status = if report.interrupted {
        code = Exit::Interrupted;
        RunStatus::Interrupted
    } else if let Some(e) = &report.error {
        results.error = Some(e.clone());
        RunStatus::Failed
    } else {
        RunStatus::Complete
    };
    results.finish(status);
    let cfg = serde_json::json!({
        "command": "latency",
        "model": a.model.model, "engine": format!("{:?}", a.model.engine).to_lowercase(), "engine_options": options,
        "dataset": ds.as_ref().map(|d| d.name.clone()), "limit": a.data.limit, "samples": a.samples,
        "mode": report.mode, "scenario": scenario, "settings": settings,
        "preprocess": spec, "preprocess_inferred": inferred, "task": workload.task(),
        "cold_start": a.cold_start, "cold_start_process": a.cold_start_process, "audit": a.audit,
    });
    let dir = write_evidence(&a.output, "latency", &results, &cfg, vec![("latency-samples.csv".into(), latency_samples_csv(&report))])?;
    let verdict = super::run::judge(&a.assess, &dir, a.output.json)?;
    if report.error.is_some() {
        // The measured part is saved (and judged); the run still failed on the target.
        return Ok(Exit::Target as u8);
    }
    if let Some(code) = verdict {
        return Ok(code);
    }
    Ok(code as u8)
}

/// `--task`: a TOML file, a preset or `key=value` pairs; `None` when not given.
pub(crate) fn task_spec(arg: Option<&str>) -> Result<Option<TaskSpec>> {
    let Some(text) = arg else { return Ok(None) };
    let path = std::path::Path::new(text);
    if text.ends_with(".toml") || (path.is_file() && !text.contains('=')) {
        let body = std::fs::read_to_string(path).with_context(|| format!("cannot read task spec {}", path.display()))?;
        return Ok(Some(TaskSpec::from_toml(&body).with_context(|| format!("in {}", path.display()))?));
    }
    Ok(Some(TaskSpec::parse_cli(text)?))
}

fn to_target_error(e: anyhow::Error) -> aite_target::TargetError {
    match e.downcast::<aite_target::TargetError>() {
        Ok(t) => t,
        Err(e) => aite_target::TargetError::Inference { target: "cold start".into(), reason: e.to_string() },
    }
}

/// Spawn `aite __cold-start` so the model is loaded by a process that never saw it.
fn cold_start_in_child(m: &ModelArgs) -> Result<ColdStart> {
    let exe = std::env::current_exe().context("cannot locate the aite executable for --cold-start-process")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__cold-start").arg("--model").arg(&m.model).arg("--threads").arg(m.threads.to_string()).arg("--batch").arg(m.batch.to_string());
    cmd.arg("--engine").arg(match m.engine {
        crate::cli::EngineArg::Tract => "tract",
        crate::cli::EngineArg::Ort => "ort",
    });
    if let Some(s) = &m.input_shape {
        cmd.arg("--input-shape").arg(s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","));
    }
    let out = cmd.output().context("cannot start the cold-start child process")?;
    if !out.status.success() {
        anyhow::bail!("cold-start child process failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    serde_json::from_slice(&out.stdout).context("cold-start child process printed no result")
}

/// `aite __cold-start`: runs in the fresh child. Input shapes come from the
/// model file's declarations, so nothing is loaded before the timed load.
pub fn cold_start_child(m: ModelArgs) -> Result<u8> {
    let options = engine_options(&m);
    let declared = aite_engine::inspect(&m.model)?;
    let workload = Workload::Tensors(synthetic_inputs(&declared.inputs, &options, 1, 0)?);
    let cs = cold_start(|| load_model(&m).map_err(to_target_error), &workload, true)?;
    println!("{}", serde_json::to_string(&cs)?);
    Ok(0)
}

/// `aite latency --task ppocr-v4 -m DET --rec REC [--cls CLS] -d FRAMES --end-to-end`: each query
/// decodes a frame and reads all its text (DB detection, direction classifier, CTC recognition);
/// the four stages are split into the named OCR parts (`stages.parts`).
fn run_ocr(a: &LatencyArgs, spec: aite_task::OcrSpec, rec: &std::path::Path, ds: &aite_data::Dataset, scenario: &LatencyScenario, settings: &LatencySettings, cancel: &Cancel) -> Result<u8> {
    if *scenario == LatencyScenario::Offline {
        anyhow::bail!(aite_latency::LatencyError::Scenario("the OCR read is one frame at a time: offline's concurrent waves do not apply; use single-stream, multi-stream, server or periodic".into()));
    }
    if a.cold_start || a.cold_start_process {
        anyhow::bail!("the OCR read's cold start (three models) is not measured\n  hint: drop --cold-start/--cold-start-process");
    }
    let engine = super::ocr::engine_name(a.model.engine);
    let pipeline = super::ocr::pipeline(spec.clone(), &a.model.model, rec, a.cls.as_deref(), a.model.engine, a.model.threads)?;
    let (frames, skipped) = load_frames_noting(ds, &aite_data::PreprocessSpec::default(), a.samples, a.data.strict)?;
    warn_skipped(&skipped);
    let coverage = FrameCoverage::of_first(frames.len(), frames.len(), &skipped);
    let (workload, text_lines) = super::ocr::read_workload(pipeline, &frames)?;
    eprintln!("note: each of the {} frames read once before the run ({text_lines} text lines), so every model input shape is planned", frames.len());
    let mut read = super::ocr::OcrRead::new(engine, a.model.threads);
    let target = serde_json::json!({ "name": "ocr-pipeline", "engine": engine, "threads": a.model.threads, "det": a.model.model, "rec": rec, "cls": a.cls });
    let mut results = Results::new("latency", target);
    for (role, path) in [("ocr-det", Some(a.model.model.as_path())), ("ocr-rec", Some(rec)), ("ocr-cls", a.cls.as_deref())] {
        if let Some(p) = path {
            results.inputs.extend(model_artifacts(p, role)?);
        }
    }
    results.inputs.push(dataset_artifact(ds));
    let pb = bar(1000, scenario.name(), a.output.json);
    let report = run_scenario(&mut read, &workload, scenario, settings, cancel, &mut |p| {
        pb.set_position((p.fraction * 1000.0) as u64);
        pb.set_message(format!("{} q", p.queries));
    })?;
    pb.finish_and_clear();
    let mut code = if report.validity.valid { Exit::Ok } else { Exit::Invalid };
    if a.audit && !cancel.is_cancelled() {
        let audit = caching_audit(&mut read, &workload, 64)?;
        if !audit.passed {
            code = Exit::Invalid;
        }
        results.add_suite("caching_audit", &audit);
    }
    let timed = super::ocr::TimedModels::OcrRead { det: a.model.model.clone(), cls: a.cls.clone(), rec: rec.to_path_buf() };
    results.add_suite("latency", &super::ocr::TimedLatency { suite: &report, timed: &timed });
    if let Some(c) = &coverage {
        c.record(&mut results.suites, &["latency", "caching_audit"]);
    }
    let status = if report.interrupted {
        code = Exit::Interrupted;
        RunStatus::Interrupted
    } else if let Some(e) = &report.error {
        results.error = Some(e.clone());
        RunStatus::Failed
    } else {
        RunStatus::Complete
    };
    results.finish(status);
    let cfg = serde_json::json!({
        "command": "latency", "workload": "ocr-read",
        "det": a.model.model, "rec": rec, "cls": a.cls, "engine": engine, "threads": a.model.threads,
        "dataset": ds.name, "limit": a.data.limit, "samples": a.samples, "frames_read_before_run": frames.len(), "text_lines_before_run": text_lines,
        "mode": report.mode, "scenario": scenario, "settings": settings, "task": TaskSpec::Ocr(spec), "audit": a.audit,
    });
    let mut parts_csv = String::from("index");
    for (name, _) in workload.parts() {
        parts_csv.push_str(&format!(",{name}_ns"));
    }
    parts_csv.push('\n');
    for r in &report.records {
        parts_csv.push_str(&r.index.to_string());
        for ns in &r.parts[..workload.parts().len()] {
            parts_csv.push_str(&format!(",{ns}"));
        }
        parts_csv.push('\n');
    }
    let raw = vec![("latency-samples.csv".into(), latency_samples_csv(&report)), ("latency-parts.csv".into(), parts_csv.into_bytes())];
    let dir = write_evidence(&a.output, "latency", &results, &cfg, raw)?;
    let verdict = super::run::judge(&a.assess, &dir, a.output.json)?;
    if report.error.is_some() {
        return Ok(Exit::Target as u8);
    }
    Ok(verdict.unwrap_or(code as u8))
}
