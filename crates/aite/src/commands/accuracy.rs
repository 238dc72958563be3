//! `aite accuracy`: top-1/top-k on a labeled dataset; a detector's COCO AP against labels.

use crate::cli::AccuracyArgs;
use crate::common::*;
use crate::exit::Exit;
use aite_accuracy::{evaluate, AccuracyConfig};
use aite_evidence::{Results, RunStatus};
use aite_target::Cancel;
use anyhow::{Context, Result};

pub fn run(a: AccuracyArgs, cancel: &Cancel) -> Result<u8> {
    match super::latency::task_spec(a.task.as_deref())? {
        Some(task @ aite_task::TaskSpec::Detector(_)) => return run_detector(a, task, cancel),
        _ if a.labels.is_some() => anyhow::bail!(crate::exit::UsageError("--labels are a detector's boxes: give --task a detector (e.g. ultraface-slim320)".into())),
        _ => {}
    }
    let Some(ds) = open_dataset(&a.data)? else {
        anyhow::bail!(aite_data::DataError::Spec {
            reason: "accuracy needs labeled images".into(),
            hint: "pass --dataset path/to/labels.csv (or an ImageFolder directory)".into(),
        });
    };
    let mut target = load_model(&a.model)?;
    let (spec, inferred) = preprocess_spec(a.data.preprocess.as_deref(), target.info())?;
    if inferred {
        eprintln!("note: no --preprocess given; using {} (recorded in config.json)", serde_json::to_string(&spec)?);
    }
    let config = AccuracyConfig { top_k: a.top_k, strict: a.data.strict, output_index: 0, cancel: cancel.clone() };
    let pb = bar(ds.samples.len() as u64, "accuracy", a.output.json);
    let report = evaluate(target.as_mut(), &ds, &spec, &config, &mut |i| pb.set_position(i as u64))?;
    pb.finish_and_clear();
    let mut results = Results::new("accuracy", serde_json::to_value(target.info())?);
    results.inputs.extend(model_artifacts(&a.model.model, "model")?);
    results.inputs.push(dataset_artifact(&ds));
    results.add_suite("accuracy", &report);
    let status = if report.interrupted { RunStatus::Interrupted } else { RunStatus::Complete };
    results.finish(status);
    let cfg = serde_json::json!({
        "command": "accuracy",
        "model": a.model.model, "engine": format!("{:?}", a.model.engine).to_lowercase(), "threads": a.model.threads,
        "dataset": ds.name, "limit": a.data.limit, "strict": a.data.strict, "top_k": a.top_k,
        "preprocess": spec, "preprocess_inferred": inferred,
    });
    let dir = write_evidence(&a.output, "accuracy", &results, &cfg, vec![("predictions.csv".into(), predictions_csv(&report.predictions))])?;
    if let Some(code) = super::run::judge(&a.assess, &dir, a.output.json)? {
        return Ok(code);
    }
    Ok(if report.interrupted { Exit::Interrupted as u8 } else { Exit::Ok as u8 })
}

/// A detector's labels: a folder is YOLO txt (for `frames`: id, width, height; class k is
/// detector class k + 1 when the detector has a background class), a file COCO instances JSON.
pub fn detection_labels(path: &std::path::Path, frames: &[(String, u32, u32)], task: &aite_task::TaskSpec) -> Result<aite_task::DetectionLabels> {
    if path.is_dir() {
        let offset = matches!(task, aite_task::TaskSpec::Detector(d) if d.background_class) as u64;
        Ok(aite_task::read_yolo_labels(path, frames, offset)?)
    } else {
        Ok(aite_task::read_coco_labels(path)?)
    }
}

/// `aite accuracy --task DETECTOR --labels FILE|DIR`: COCO bbox AP of every frame of --dataset.
fn run_detector(a: AccuracyArgs, task: aite_task::TaskSpec, cancel: &Cancel) -> Result<u8> {
    let Some(labels_path) = a.labels.clone() else {
        anyhow::bail!(crate::exit::UsageError("--task names a detector: its accuracy needs --labels (a COCO instances JSON, or a folder of YOLO txt files)".into()));
    };
    let Some(ds) = open_dataset(&a.data)? else {
        anyhow::bail!(crate::exit::UsageError("detector accuracy needs --dataset: the folder of labelled frames".into()));
    };
    let mut target = load_model(&a.model)?;
    let (spec, inferred) = preprocess_spec(a.data.preprocess.as_deref(), target.info())?;
    if inferred {
        crate::common::note_inferred_preprocess(&spec, a.task.as_deref())?;
    }
    let (frames, skipped) = load_frames(&ds, &spec, usize::MAX, a.data.strict)?;
    let sizes: Vec<(String, u32, u32)> = frames.iter().map(|f| (f.id.clone(), f.image.width as u32, f.image.height as u32)).collect();
    let labels = detection_labels(&labels_path, &sizes, &task)?;
    let post = aite_task::Postprocess::new(task.clone());
    let samples: Vec<aite_accuracy::DetectionSample> = frames.iter().map(|f| aite_accuracy::DetectionSample { id: &f.id, image: &f.image }).collect();
    let pb = bar(samples.len() as u64, "accuracy", a.output.json);
    let report = aite_accuracy::detection_accuracy(target.as_mut(), &spec, &post, &samples, &labels, cancel, &mut |i| pb.set_position(i as u64))?.with_undecodable(skipped.clone());
    pb.finish_and_clear();
    let mut results = Results::new("accuracy", serde_json::to_value(target.info())?);
    results.inputs.extend(model_artifacts(&a.model.model, "model")?);
    results.inputs.push(dataset_artifact(&ds));
    results.inputs.push(labels_artifact(&labels_path)?);
    results.add_suite("detection_accuracy", &report);
    results.finish(if report.interrupted { RunStatus::Interrupted } else { RunStatus::Complete });
    let cfg = serde_json::json!({
        "command": "accuracy",
        "model": a.model.model, "engine": format!("{:?}", a.model.engine).to_lowercase(), "threads": a.model.threads,
        "dataset": ds.name, "limit": a.data.limit, "strict": a.data.strict, "undecodable": skipped,
        "preprocess": spec, "preprocess_inferred": inferred, "task": task, "labels": labels_path,
    });
    let dir = write_evidence(&a.output, "accuracy", &results, &cfg, vec![("detections.json".into(), serde_json::to_vec_pretty(&report.raw)?)])?;
    if let Some(code) = super::run::judge(&a.assess, &dir, a.output.json)? {
        return Ok(code);
    }
    Ok(if report.interrupted { Exit::Interrupted as u8 } else { Exit::Ok as u8 })
}

/// The labels as an input of the evidence: a file's SHA-256, or a folder's over its sorted `.txt` files.
pub fn labels_artifact(path: &std::path::Path) -> Result<aite_evidence::InputArtifact> {
    let (sha256, count) = if path.is_dir() {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "txt")).collect();
        files.sort();
        let mut all = Vec::new();
        for f in &files {
            all.extend(f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().into_bytes());
            all.push(0);
            all.extend(std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?);
            all.push(0);
        }
        (aite_engine::sha256_bytes(&all), Some(files.len()))
    } else {
        (aite_engine::sha256_bytes(&std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?), None)
    };
    Ok(aite_evidence::InputArtifact { role: "labels".into(), name: path.display().to_string(), sha256, count })
}
