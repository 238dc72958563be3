//! `aite ocr IMAGE... --det --rec [--cls]`: PP-OCR on images, one JSON line per text line;
//! with `--labels`, `--consistency`, `--corruptions` or `--attack`, the OCR suites written as one
//! evidence run folder (suites `ocr_accuracy`, `ocr_repeatability`, `ocr_agreement`,
//! `ocr_degenerate_frames`, `ocr_corruptions`, `ocr_attack`).

use crate::cli::{EngineArg, OcrArgs};
use crate::common::*;
use crate::exit::Exit;
use aite_accuracy::{ocr_accuracy, OCR_BOOTSTRAP_RESAMPLES};
use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_evidence::{InputArtifact, Results, RunStatus};
use aite_robustness::corruption::ocr::{ocr_sweep, OcrGroundTruth, OcrSweepOptions, OCR_SWEEP_BOOTSTRAP_RESAMPLES};
use aite_robustness::attack::ocr::{ocr_attack, OcrAttackSettings};
use aite_robustness::ocr::{ocr_agreement, ocr_degenerate_frames, ocr_repeatability};
use aite_robustness::{CorruptionKind, FrameVerdict, ParameterTable};
use aite_target::Cancel;
use aite_task::{Frame, OcrLabels, OcrModel, OcrPipeline, OcrSpec, TaskSpec, TextLine};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

fn task(a: &OcrArgs) -> Result<OcrSpec> {
    let spec = match Path::new(&a.task) {
        p if p.extension().is_some_and(|e| e == "toml") => {
            let body = std::fs::read_to_string(p).with_context(|| format!("cannot read the task file {}", p.display()))?;
            TaskSpec::from_toml(&body).with_context(|| format!("in {}", p.display()))?
        }
        _ => TaskSpec::parse_cli(&a.task)?,
    };
    let TaskSpec::Ocr(spec) = spec else { bail!("`aite ocr` runs an ocr task, not {:?}\n  hint: use --task ppocr-v4 (or ppocr-v4,key=value,...)", a.task) };
    Ok(spec)
}

/// The three models on one engine.
pub(crate) fn pipeline(spec: OcrSpec, det: &Path, rec: &Path, cls: Option<&Path>, engine: EngineArg, threads: usize) -> Result<OcrPipeline> {
    for (role, path) in [("--det", Some(det)), ("--rec", Some(rec)), ("--cls", cls)] {
        if let Some(p) = path.filter(|p| !p.exists()) {
            bail!("{role} {}: no such file", p.display());
        }
    }
    let report = aite_engine::inspect(rec)?;
    let Some(character) = report.metadata.get("character") else {
        bail!("{} has no `character` entry in its ONNX metadata\n  hint: --rec takes a PP-OCR recogniser, which stores its dictionary there", rec.display());
    };
    let model = |path: &Path| -> Result<OcrModel> {
        let kind = engine_kind(engine);
        Ok(match kind {
            EngineKind::Tract => {
                let path = path.to_path_buf();
                OcrModel::per_shape(move |shape| load_target(&path, EngineKind::Tract, &EngineOptions { threads, batch: 1, input_shape: Some(shape.to_vec()) }))
            }
            EngineKind::OnnxRuntime => OcrModel::Dynamic(load_target(path, kind, &EngineOptions { threads, ..EngineOptions::default() })?),
        })
    };
    let cls = cls.map(model).transpose()?;
    Ok(OcrPipeline::new(spec, model(det)?, cls, model(rec)?, character)?)
}

fn load_frame(image: &Path) -> Result<Frame> {
    let bytes = std::fs::read(image).with_context(|| format!("cannot read {}", image.display()))?;
    let decoded = aite_data::decode(&image.display().to_string(), &bytes, aite_data::ColorOrder::Rgb)?;
    Frame::new(decoded.width, decoded.height, decoded.data.iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect()).with_context(|| format!("{}: decoded image has no pixels", image.display()))
}

pub(crate) fn engine_name(e: EngineArg) -> &'static str {
    match e {
        EngineArg::Tract => "tract",
        EngineArg::Ort => "ort",
    }
}

pub fn run(a: OcrArgs, cancel: &Cancel) -> Result<u8> {
    let spec = task(&a)?;
    let suites = a.labels.is_some() || a.consistency || a.corruptions.is_some() || a.attack;
    let labels = a.labels.as_deref().map(OcrLabels::read).transpose()?;
    // The images: as given, or the labelled ones; with labels, each given image must be labelled.
    let images: Vec<(String, PathBuf)> = match (&labels, a.images.is_empty()) {
        (None, true) => bail!("no image given\n  hint: pass images, or --labels Label.txt to read the labelled ones"),
        (None, false) => a.images.iter().map(|p| (p.display().to_string(), p.clone())).collect(),
        (Some(l), true) => l.images.iter().map(|i| (i.name.clone(), i.path.clone())).collect(),
        (Some(l), false) => a
            .images
            .iter()
            .map(|p| {
                let found = l.images.iter().find(|i| i.path == *p || Path::new(&i.name) == p.as_path());
                found.map(|i| (i.name.clone(), i.path.clone())).with_context(|| format!("{} is not labelled in {}", p.display(), l.source.display()))
            })
            .collect::<Result<_>>()?,
    };
    let mut deployed = pipeline(spec.clone(), &a.det, &a.rec, a.cls.as_deref(), a.engine, a.threads)?;
    let mut frames = vec![];
    let mut read: Vec<Vec<TextLine>> = vec![];
    for (name, path) in &images {
        let frame = load_frame(path)?;
        let lines = deployed.read(&frame).with_context(|| format!("OCR of {}", path.display()))?;
        if !suites {
            for l in &lines {
                println!("{}", serde_json::json!({ "image": name, "box": l.quad, "text": l.text, "score": l.score, "rotated": l.rotated }));
            }
            eprintln!("{name}: {} text lines", lines.len());
        }
        read.push(lines);
        frames.push((name.clone(), frame));
        if cancel.is_cancelled() {
            break;
        }
    }
    if !suites {
        if a.assess.profile.is_some() {
            bail!("--profile judges the OCR suites, and none was asked for\n  hint: add --labels Label.txt, --consistency, --corruptions or --attack");
        }
        return Ok(0);
    }
    let say = |line: String| if a.output.json { eprintln!("{line}") } else { println!("{line}") };
    let target = serde_json::json!({ "name": "ocr-pipeline", "engine": engine_name(a.engine), "threads": a.threads, "det": a.det, "rec": a.rec, "cls": a.cls });
    let mut results = Results::new("ocr", target);
    for (role, path) in [("ocr-det", Some(&a.det)), ("ocr-rec", Some(&a.rec)), ("ocr-cls", a.cls.as_ref())] {
        if let Some(p) = path {
            results.inputs.extend(model_artifacts(p, role)?);
        }
    }
    let mut raw: RawFiles = vec![];
    if let Some(l) = &labels {
        results.inputs.push(InputArtifact { role: "ocr-labels".into(), name: l.source.display().to_string(), sha256: aite_engine::sha256_file(&l.source)?, count: Some(l.images.len()) });
    }
    let labelled: Option<Vec<aite_task::OcrLabelledImage>> = labels.as_ref().map(|l| images.iter().map(|(name, _)| l.images.iter().find(|i| &i.name == name).cloned().expect("every image was found in the labels")).collect());
    // Accuracy against labels.
    if let Some(lab) = &labelled {
        let pairs: Vec<(&aite_task::OcrLabelledImage, &[TextLine])> = lab.iter().zip(&read).map(|(l, p)| (l, p.as_slice())).collect();
        let report = ocr_accuracy(&pairs, OCR_BOOTSTRAP_RESAMPLES, a.seed);
        let mut jsonl = String::new();
        for l in &report.lines {
            jsonl.push_str(&serde_json::to_string(l)?);
            jsonl.push('\n');
        }
        raw.push(("ocr-lines.jsonl".into(), jsonl.into_bytes()));
        say(format!(
            "OCR accuracy: {} images, {} labelled lines, {} read: {} matched, {} missed, {} spurious, {} in do-not-care regions",
            report.images, report.label_lines, report.predicted_lines, report.matched, report.missed, report.spurious, report.ignored
        ));
        match &report.scores {
            Some(s) => say(format!(
                "  character accuracy {:.4} ({:.4} - {:.4}), word accuracy {:.4} ({:.4} - {:.4}), 1 - NED {:.4} ({:.4} - {:.4}), lines exact {}/{} ({:.4} - {:.4})",
                s.char_accuracy.value, s.char_accuracy.ci95_low, s.char_accuracy.ci95_high, s.word_accuracy.value, s.word_accuracy.ci95_low, s.word_accuracy.ci95_high,
                s.one_minus_ned.value, s.one_minus_ned.ci95_low, s.one_minus_ned.ci95_high, s.line_accuracy.successes, s.line_accuracy.trials, s.line_accuracy.ci95_low, s.line_accuracy.ci95_high
            )),
            None => say("  nothing scored: no labelled line and no line read".into()),
        }
        results.add_suite("ocr_accuracy", &report);
    }
    let mut ok = true;
    if a.consistency {
        let rep = ocr_repeatability(&mut deployed, &frames, a.repeats)?;
        say(format!("OCR repeatability: {}/{} images identical over {} reads ({} lines; max score difference {:.2e}, max box difference {})", rep.identical_frames, rep.frames, rep.repeats, rep.lines, rep.max_score_diff, rep.max_box_diff));
        ok &= rep.identical;
        results.add_suite("ocr_repeatability", &rep);
        if let Some(engine) = a.reference_engine {
            let det = a.reference_det.as_deref().unwrap_or(&a.det);
            let rec = a.reference_rec.as_deref().unwrap_or(&a.rec);
            let cls = a.reference_cls.as_deref().or(a.cls.as_deref());
            for (role, path) in [("reference-ocr-det", Some(det)), ("reference-ocr-rec", Some(rec)), ("reference-ocr-cls", cls)] {
                if let Some(p) = path.filter(|p| p.exists()) {
                    results.inputs.extend(model_artifacts(p, role)?);
                }
            }
            let mut reference = pipeline(spec.clone(), det, rec, cls, engine, a.threads)?;
            let names = (format!("{} on {}", rec.display(), engine_name(engine)), format!("{} on {}", a.rec.display(), engine_name(a.engine)));
            let agr = ocr_agreement(&mut reference, &mut deployed, (&names.0, &names.1), &frames)?;
            say(format!(
                "OCR agreement with the reference ({}): {} / {} reference lines matched, {} identical strings, {} unmatched reference, {} unmatched deployed, character accuracy vs reference {}, {}/{} images identical",
                names.0, agr.matched, agr.reference_lines, agr.same_text, agr.unmatched_reference, agr.unmatched_deployed,
                agr.char_accuracy_vs_reference.map_or("n/a".into(), |v| format!("{v:.4}")), agr.frame_agreement.successes, agr.frame_agreement.trials
            ));
            ok &= agr.frame_agreement.successes == agr.frame_agreement.trials;
            results.add_suite("ocr_agreement", &agr);
        } else {
            results.suite_not_run("ocr_agreement", "no reference pipeline (--reference-engine)");
        }
        let (w, h) = frames.first().map_or((640, 480), |(_, f)| (f.width, f.height));
        let degenerate = ocr_degenerate_frames(&mut deployed, w, h, a.seed);
        for d in &degenerate {
            say(format!("  degenerate {:?}: {:?} -> {:?}", d.kind, d.outcome, d.verdict));
        }
        ok &= degenerate.iter().all(|d| d.verdict != FrameVerdict::NotGraceful);
        results.add_suite("ocr_degenerate_frames", &degenerate);
    }
    let mut interrupted = cancel.is_cancelled();
    if let (Some(list), false) = (&a.corruptions, interrupted) {
        let kinds = CorruptionKind::parse_list(list).map_err(|e| anyhow::anyhow!("--corruptions: {e}"))?;
        let table = match a.table.as_str() {
            "auto" => None,
            t => Some(t.parse::<ParameterTable>().map_err(|e| anyhow::anyhow!("--table: {e}"))?),
        };
        let options = OcrSweepOptions { kinds, severities: a.severities.clone(), table, seed: a.seed };
        let gt = match (&labelled, &a.labels) {
            (Some(lab), Some(src)) => OcrGroundTruth::Labels { source: src.display().to_string(), images: lab.clone() },
            _ => OcrGroundTruth::CleanPredictions,
        };
        let rgb: Vec<(String, image::RgbImage)> = frames.iter().map(|(id, f)| (id.clone(), image::RgbImage::from_raw(f.width as u32, f.height as u32, f.data.clone()).expect("a frame's pixels fit its size"))).collect();
        let pb = bar((options.kinds.len() * options.severities.len()) as u64, "ocr corruptions", a.output.json);
        let report = ocr_sweep(&mut deployed, &rgb, &options, &gt, OCR_SWEEP_BOOTSTRAP_RESAMPLES, cancel)?;
        pb.finish_and_clear();
        interrupted |= report.interrupted;
        say(format!(
            "OCR corruptions ({}): clean {:.4}; mean over {} cells {:.4} ({:.4} - {:.4}); relative {}",
            report.accuracy_name, report.clean.char_accuracy, report.cells.len(), report.mean_char_accuracy.value, report.mean_char_accuracy.ci95_low, report.mean_char_accuracy.ci95_high,
            report.relative_char_accuracy.map_or(format!("not reported ({:?})", report.relative_status), |r| format!("{:.4} ({:.4} - {:.4})", r.value, r.ci95_low, r.ci95_high))
        ));
        raw.push(("ocr-corruption-lines.jsonl".into(), report.lines_jsonl()));
        results.add_suite("ocr_corruptions", &report);
    }
    if a.attack && !interrupted {
        let settings = OcrAttackSettings { epsilon: a.epsilon, budget: a.queries, p_init: 0.8, seed: a.seed, lines_per_frame: a.attack_lines };
        let report = ocr_attack(&mut deployed, &frames, &settings, cancel)?;
        interrupted |= report.interrupted;
        let rate = |p: &Option<aite_accuracy::Proportion>| p.as_ref().map_or("no rate (no line attacked)".into(), |p| format!("{}/{} ({:.4} - {:.4})", p.successes, p.trials, p.ci95_low, p.ci95_high));
        say(format!(
            "OCR attack (Square L-inf, eps {:.4}, {} queries per line, the last one verifying): {} lines changed, median queries {}; noise baseline {}; {} images without text (not applicable)",
            settings.epsilon, settings.budget, rate(&report.success),
            report.median_queries.map_or("n/a".into(), |q| format!("{q}")), rate(&report.noise_success), report.frames_without_text.len()
        ));
        results.add_suite("ocr_attack", &report);
    }
    results.finish(if interrupted { RunStatus::Interrupted } else { RunStatus::Complete });
    let cfg = serde_json::json!({
        "command": "ocr", "images": images.iter().map(|(n, _)| n).collect::<Vec<_>>(), "det": a.det, "rec": a.rec, "cls": a.cls,
        "engine": engine_name(a.engine), "threads": a.threads, "task": TaskSpec::Ocr(spec), "labels": a.labels,
        "consistency": a.consistency, "repeats": a.repeats, "reference_engine": a.reference_engine.map(engine_name),
        "reference_det": a.reference_det, "reference_rec": a.reference_rec, "reference_cls": a.reference_cls,
        "corruptions": a.corruptions, "severities": a.severities, "table": a.table, "seed": a.seed,
        "attack": a.attack, "queries": a.queries, "epsilon": a.epsilon, "attack_lines": a.attack_lines,
        "bootstrap": { "accuracy_resamples": OCR_BOOTSTRAP_RESAMPLES, "corruption_resamples": OCR_SWEEP_BOOTSTRAP_RESAMPLES },
    });
    let dir = write_evidence(&a.output, "ocr", &results, &cfg, raw)?;
    if let Some(code) = super::run::judge(&a.assess, &dir, a.output.json)? {
        return Ok(code);
    }
    // As `aite robustness`: a consistency check that fails (a repeat differs, the reference
    // disagrees, text read in a degenerate frame) makes the run INVALID.
    Ok(if interrupted {
        Exit::Interrupted as u8
    } else if ok {
        Exit::Ok as u8
    } else {
        Exit::Invalid as u8
    })
}
