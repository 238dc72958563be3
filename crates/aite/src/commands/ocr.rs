//! `aite ocr IMAGE... --det --rec [--cls]`: PP-OCR on images, one JSON line per text line;
//! with `--labels`, `--consistency`, `--corruptions` or `--attack`, the OCR suites written as one
//! evidence run folder (suites `ocr_accuracy`, `ocr_repeatability`, `ocr_agreement`,
//! `ocr_batch_invariance`, `ocr_degenerate_frames`, `ocr_corruptions`, `ocr_attack`).
//! [`measure`] runs those suites for both `aite ocr` and `aite run`'s OCR step.

use crate::cli::{EngineArg, OcrArgs};
use crate::common::*;
use crate::exit::Exit;
use aite_accuracy::{ocr_accuracy, SkippedSample, OCR_BOOTSTRAP_RESAMPLES};
use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_evidence::{InputArtifact, Results, RunStatus};
use aite_robustness::corruption::ocr::{ocr_sweep, OcrGroundTruth, OcrSweepOptions, OCR_SWEEP_BOOTSTRAP_RESAMPLES};
use aite_robustness::attack::ocr::{ocr_attack, OcrAttackSettings};
use aite_robustness::ocr::{ocr_agreement, ocr_batch_invariance, ocr_degenerate_frames, ocr_repeatability, OcrBatchOutcome};
use aite_robustness::{CorruptionKind, FrameVerdict, ParameterTable};
use aite_target::Cancel;
use aite_task::{Frame, OcrLabelledImage, OcrLabels, OcrModel, OcrPipeline, OcrSpec, TaskSpec, TextLine};
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
    pipeline_on(spec, det, rec, cls, engine_kind(engine), threads)
}

/// [`pipeline`] with the engine as `aite run` names it.
pub(crate) fn pipeline_on(spec: OcrSpec, det: &Path, rec: &Path, cls: Option<&Path>, kind: EngineKind, threads: usize) -> Result<OcrPipeline> {
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
        Ok(match kind {
            EngineKind::Tract => {
                let path = path.to_path_buf();
                OcrModel::per_shape(move |shape| load_target(&path, EngineKind::Tract, &EngineOptions { threads, batch: 1, input_shape: Some(shape.to_vec()) }))
            }
            EngineKind::OnnxRuntime => OcrModel::Dynamic(load_target(path, kind, &EngineOptions { threads, ..EngineOptions::default() })?),
        })
    };
    let cls = cls.map(model).transpose()?;
    let mut p = OcrPipeline::new(spec, model(det)?, cls, model(rec)?, character)?;
    p.rec_fixed_batch = match report.inputs.first().and_then(|i| i.shape.first()) {
        Some(aite_target::Dim::Fixed(n)) => Some(*n),
        _ => None,
    };
    Ok(p)
}

/// Which models a latency run of an OCR terminal timed, recorded as `timed` beside its figures.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "scope", rename_all = "kebab-case")]
pub(crate) enum TimedModels {
    /// Each query is the whole read of a frame: decode, the text detector with its DB
    /// post-process, crops, the direction classifier (when the terminal has one), the
    /// recogniser and CTC decoding: the terminal's response latency.
    OcrRead { det: PathBuf, cls: Option<PathBuf>, rec: PathBuf },
    /// The text detector alone (with its DB post-process): not the OCR read's latency.
    TextDetectorOnly { det: PathBuf, why: String },
}

/// A latency suite with the models it timed.
#[derive(serde::Serialize)]
pub(crate) struct TimedLatency<'a, T: serde::Serialize> {
    #[serde(flatten)]
    pub suite: &'a T,
    pub timed: &'a TimedModels,
}

/// Stands in for the OCR read where a latency run takes a target: the pipeline runs its own
/// three models ([`Workload::Ocr`]), so this only names it in the runner's errors.
pub(crate) struct OcrRead(aite_target::TargetInfo);

impl OcrRead {
    pub(crate) fn new(engine: &str, threads: usize) -> OcrRead {
        OcrRead(aite_target::TargetInfo { name: "ocr-pipeline".into(), engine: engine.into(), engine_version: String::new(), threads, inputs: vec![], outputs: vec![] })
    }
}

impl aite_target::Target for OcrRead {
    fn info(&self) -> &aite_target::TargetInfo {
        &self.0
    }
    fn infer(&mut self, _: &[aite_target::Tensor]) -> Result<Vec<aite_target::Tensor>, aite_target::TargetError> {
        Err(aite_target::TargetError::Inference { target: self.0.name.clone(), reason: "the OCR read runs its own models".into() })
    }
}

/// The OCR read of `frames` as a latency workload, each frame read once first: tract plans one
/// model per input shape, and a frame's read always meets the same shapes, so no plan is built
/// inside a timed query. Returns the workload and the text lines of that first read.
pub(crate) fn read_workload(mut pipeline: OcrPipeline, frames: &[LoadedFrame]) -> Result<(aite_latency::Workload, usize)> {
    let mut lines = 0;
    for f in frames {
        let frame = Frame::new(f.image.width, f.image.height, f.image.data.iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect()).with_context(|| format!("{}: decoded image has no pixels", f.id))?;
        lines += pipeline.read(&frame).with_context(|| format!("OCR of {}", f.id))?.len();
    }
    let frames = frames.iter().map(|f| (f.id.clone(), f.bytes.clone())).collect();
    Ok((aite_latency::Workload::Ocr { frames, pipeline: std::sync::Mutex::new(pipeline) }, lines))
}

/// An image an OCR suite stands on, read and decoded; when it cannot be read or decoded, the
/// [`SkippedFrame`] naming it and why, after `loaded` decoded frames (the suites that reach it
/// record it in `frame_coverage`, `ocr_accuracy` in `skipped`).
pub(crate) fn read_image(id: &str, path: &Path, loaded: usize) -> Result<Result<Frame, SkippedFrame>> {
    let decoded = std::fs::read(path).map_err(|source| aite_data::DataError::Io { path: path.to_path_buf(), source }).and_then(|bytes| aite_data::decode(id, &bytes, aite_data::ColorOrder::Rgb));
    match decoded {
        Ok(d) => Ok(Ok(Frame::new(d.width, d.height, d.data.iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect()).with_context(|| format!("{}: decoded image has no pixels", path.display()))?)),
        Err(e) => Ok(Err(SkippedFrame::new(id, &e, loaded))),
    }
}

/// The error when not one of the images an OCR suite stands on could be decoded.
pub(crate) fn no_image_decoded(skipped: &[SkippedFrame]) -> anyhow::Error {
    anyhow::anyhow!("no image could be read: {}", skipped.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
}

pub(crate) fn load_frame(image: &Path) -> Result<Frame> {
    let bytes = std::fs::read(image).with_context(|| format!("cannot read {}", image.display()))?;
    let decoded = aite_data::decode(&image.display().to_string(), &bytes, aite_data::ColorOrder::Rgb)?;
    Frame::new(decoded.width, decoded.height, decoded.data.iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect()).with_context(|| format!("{}: decoded image has no pixels", image.display()))
}

/// The images read: `given` as named, or the labelled ones when none is given; with labels,
/// each given image must be labelled (by its path or its name in the labels file).
pub(crate) fn select_images(labels: Option<&OcrLabels>, given: &[(String, PathBuf)]) -> Result<Vec<(String, PathBuf)>> {
    let same = |a: &Path, b: &Path| a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y);
    match (labels, given.is_empty()) {
        (None, true) => bail!("no image given\n  hint: pass images, or --labels Label.txt to read the labelled ones"),
        (None, false) => Ok(given.to_vec()),
        (Some(l), true) => Ok(l.images.iter().map(|i| (i.name.clone(), i.path.clone())).collect()),
        (Some(l), false) => given
            .iter()
            .map(|(name, p)| {
                let found = l.images.iter().find(|i| same(&i.path, p) || Path::new(&i.name) == p.as_path() || i.name == *name);
                found.map(|i| (i.name.clone(), i.path.clone())).with_context(|| format!("{} is not labelled in {}", p.display(), l.source.display()))
            })
            .collect(),
    }
}

/// `--declared KEY=VALUE` (repeatable), as `[declared]` in aite.toml takes them: the value is
/// read as TOML (`0.9` a number, `true` a boolean, anything else a string) and checked alike.
pub(crate) fn declared_values(pairs: &[String]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut table = toml::Table::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=').map(|(k, v)| (k.trim(), v.trim())).filter(|(k, _)| !k.is_empty()) else {
            bail!("--declared {pair}: expected KEY=VALUE, e.g. --declared ocr_char_accuracy=0.9");
        };
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}")).ok().and_then(|mut t| t.remove("v")).unwrap_or_else(|| toml::Value::String(value.to_string()));
        table.insert(key.to_string(), parsed);
    }
    crate::config::check_declared(&table).map_err(|(_, message)| anyhow::anyhow!("--declared: {message}"))?;
    Ok(table.into_iter().map(|(k, v)| (k, serde_json::to_value(v).unwrap_or(serde_json::Value::Null))).collect())
}

/// The OCR suites to run and on which frames: `aite ocr` builds it from its flags, `aite run`
/// from aite.toml and the profile. A suite that is `None` is not written (its caller says why).
pub(crate) struct OcrSuites<'a> {
    /// The labels file and, per frame in order, its labelled image: `ocr_accuracy`, and the
    /// corruption sweep's ground truth (else the clean reading is).
    pub labels: Option<(&'a Path, Vec<OcrLabelledImage>)>,
    pub accuracy: bool,
    /// Labelled images that were not read (the run was interrupted first), with why:
    /// `ocr_accuracy` names and counts them (`missing_samples`).
    pub not_read: Vec<SkippedSample>,
    /// Images that could not be read or decoded, before the last of `frames` or after them:
    /// `ocr_accuracy` names them with `not_read`, and each suite whose first frames reach one
    /// records it (`frame_coverage`).
    pub undecodable: Vec<SkippedFrame>,
    pub consistency: Option<OcrConsistency>,
    /// The sweep, on the first `frames` frames.
    pub corruptions: Option<(OcrSweepOptions, usize)>,
    /// The attack, on the first `frames` frames.
    pub attack: Option<(OcrAttackSettings, usize)>,
    pub seed: u64,
}

/// Repeatability, degenerate frames and agreement with a reference pipeline.
pub(crate) struct OcrConsistency {
    pub repeats: usize,
    pub frames: usize,
    pub reference: OcrReference,
}

/// What `ocr_agreement` compares the deployed pipeline with.
pub(crate) enum OcrReference {
    /// The reference pipeline, with the (reference, deployed) names.
    Pipeline(OcrPipeline, (String, String)),
    /// No reference was given (`not-run`: NOT_TESTED), and why.
    NotRun(String),
}

/// What [`measure`] wrote besides its suites.
pub(crate) struct OcrMeasured {
    /// Raw files as (suite, file name, bytes).
    pub files: Vec<(&'static str, String, Vec<u8>)>,
    /// Every consistency check held (repeats identical, reference agreeing, no text in a degenerate frame).
    pub consistent: bool,
    pub interrupted: bool,
}

/// Run the OCR suites of `suites` on `frames` (`read`: each frame's clean lines) into `results`.
pub(crate) fn measure(deployed: &mut OcrPipeline, frames: &[(String, Frame)], read: &[Vec<TextLine>], suites: OcrSuites, results: &mut Results, cancel: &Cancel, quiet: bool, say: &dyn Fn(String)) -> Result<OcrMeasured> {
    let mut files = vec![];
    let mut ok = true;
    let first = |n: usize| &frames[..n.clamp(1, frames.len().max(1)).min(frames.len())];
    // The images a suite of the first `n` frames set out to read and could not decode.
    let record_coverage = |results: &mut Results, n: usize, names: &[&str]| {
        if let Some(c) = FrameCoverage::of_first(n.max(1), frames.len(), &suites.undecodable) {
            c.record(&mut results.suites, names);
        }
    };
    // Accuracy against labels.
    if let (Some((_, lab)), true) = (&suites.labels, suites.accuracy) {
        let pairs: Vec<(&OcrLabelledImage, &[TextLine])> = lab.iter().zip(read).map(|(l, p)| (l, p.as_slice())).collect();
        let not_read = suites.undecodable.iter().map(|s| SkippedSample { id: s.id.clone(), reason: s.reason.clone() }).chain(suites.not_read.iter().cloned()).collect();
        let report = ocr_accuracy(&pairs, OCR_BOOTSTRAP_RESAMPLES, suites.seed).with_not_read(not_read);
        let mut jsonl = String::new();
        for l in &report.lines {
            jsonl.push_str(&serde_json::to_string(l)?);
            jsonl.push('\n');
        }
        files.push(("ocr_accuracy", "ocr-lines.jsonl".to_string(), jsonl.into_bytes()));
        if report.missing_samples > 0 {
            say(format!("OCR accuracy is incomplete: {} of {} images read (not read: {})", report.images, report.dataset_images, report.skipped.iter().map(|s| s.id.as_str()).take(3).collect::<Vec<_>>().join(", ")));
        }
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
    // After Ctrl-C the consistency checks would cover fewer frames than asked: not written.
    if let (Some(c), false) = (suites.consistency, cancel.is_cancelled()) {
        let frames = first(c.frames);
        let consistency_frames = c.frames;
        let rep = ocr_repeatability(deployed, frames, c.repeats)?;
        say(format!("OCR repeatability: {}/{} images identical over {} reads ({} lines; max score difference {:.2e}, max box difference {})", rep.identical_frames, rep.frames, rep.repeats, rep.lines, rep.max_score_diff, rep.max_box_diff));
        ok &= rep.identical;
        results.add_suite("ocr_repeatability", &rep);
        match c.reference {
            OcrReference::Pipeline(mut reference, names) => {
                let agr = ocr_agreement(&mut reference, deployed, (&names.0, &names.1), frames)?;
                say(format!(
                    "OCR agreement with the reference ({}): {} / {} reference lines matched, {} identical strings, {} unmatched reference, {} unmatched deployed, character accuracy vs reference {}, {}/{} images identical",
                    names.0, agr.matched, agr.reference_lines, agr.same_text, agr.unmatched_reference, agr.unmatched_deployed,
                    agr.char_accuracy_vs_reference.map_or("n/a".into(), |v| format!("{v:.4}")), agr.frame_agreement.successes, agr.frame_agreement.trials
                ));
                ok &= agr.frame_agreement.successes == agr.frame_agreement.trials;
                results.add_suite("ocr_agreement", &agr);
            }
            OcrReference::NotRun(why) => results.suite_not_run("ocr_agreement", &why),
        }
        // A fixed batch dimension, or no crop on any image, leaves no batch to compare: said so.
        let configured_batch = deployed.spec.rec_batch.max(2);
        let batch_not_applicable = match deployed.rec_fixed_batch {
            Some(n) => Some(format!("the recogniser's batch dimension is fixed at {n}")),
            None => match ocr_batch_invariance(deployed, frames, configured_batch)? {
                OcrBatchOutcome::Compared(b) => {
                    say(format!(
                        "OCR batch invariance: {} lines read in recogniser calls of 2 or more crops, {} compared at recogniser batch 1 and {}, {} differing, strings identical {}, max score difference {:.2e}",
                        b.lines_in_batches, b.lines_compared, b.batch, b.differing_lines, b.strings_identical, b.max_abs_score_diff
                    ));
                    ok &= b.strings_identical;
                    results.add_suite("ocr_batch_invariance", &b);
                    None
                }
                OcrBatchOutcome::NoText { images } => Some(format!("no text line was found on any of the {images} images: no crop reached the recogniser")),
                OcrBatchOutcome::NoBatch { images, lines } => Some(format!("no image had two text lines ({lines} lines on {images} images): the recogniser never ran a batch")),
            },
        };
        if let Some(why) = batch_not_applicable {
            results.suites.insert("ocr_batch_invariance".into(), serde_json::json!({ "status": "not-applicable", "why": why }));
        }
        let (w, h) = frames.first().map_or((640, 480), |(_, f)| (f.width, f.height));
        let degenerate = ocr_degenerate_frames(deployed, w, h, suites.seed);
        for d in &degenerate {
            say(format!("  degenerate {:?}: {:?} -> {:?}", d.kind, d.outcome, d.verdict));
        }
        ok &= degenerate.iter().all(|d| d.verdict != FrameVerdict::NotGraceful);
        results.add_suite("ocr_degenerate_frames", &degenerate);
        // The degenerate frames are built, not read: only the two suites on the images.
        record_coverage(results, consistency_frames, &["ocr_repeatability", "ocr_agreement", "ocr_batch_invariance"]);
    }
    let mut interrupted = cancel.is_cancelled();
    if let (Some((options, n)), false) = (&suites.corruptions, interrupted) {
        let gt = match &suites.labels {
            Some((src, lab)) => OcrGroundTruth::Labels { source: src.display().to_string(), images: lab.iter().take(first(*n).len()).cloned().collect() },
            None => OcrGroundTruth::CleanPredictions,
        };
        let rgb: Vec<(String, image::RgbImage)> = first(*n).iter().map(|(id, f)| (id.clone(), image::RgbImage::from_raw(f.width as u32, f.height as u32, f.data.clone()).expect("a frame's pixels fit its size"))).collect();
        let pb = bar((options.kinds.len() * options.severities.len()) as u64, "ocr corruptions", quiet);
        let report = ocr_sweep(deployed, &rgb, options, &gt, OCR_SWEEP_BOOTSTRAP_RESAMPLES, cancel)?;
        pb.finish_and_clear();
        interrupted |= report.interrupted;
        say(format!(
            "OCR corruptions ({}): clean {:.4}; mean over {} cells {:.4} ({:.4} - {:.4}); relative {}",
            report.accuracy_name, report.clean.char_accuracy, report.cells.len(), report.mean_char_accuracy.value, report.mean_char_accuracy.ci95_low, report.mean_char_accuracy.ci95_high,
            report.relative_char_accuracy.map_or(format!("not reported ({:?})", report.relative_status), |r| format!("{:.4} ({:.4} - {:.4})", r.value, r.ci95_low, r.ci95_high))
        ));
        files.push(("ocr_corruptions", "ocr-corruption-lines.jsonl".to_string(), report.lines_jsonl()));
        results.add_suite("ocr_corruptions", &report);
        record_coverage(results, *n, &["ocr_corruptions"]);
    }
    if let (Some((settings, n)), false) = (&suites.attack, interrupted) {
        let report = ocr_attack(deployed, first(*n), settings, cancel)?;
        interrupted |= report.interrupted;
        let rate = |p: &Option<aite_accuracy::Proportion>| p.as_ref().map_or("no rate (no line attacked)".into(), |p| format!("{}/{} ({:.4} - {:.4})", p.successes, p.trials, p.ci95_low, p.ci95_high));
        say(format!(
            "OCR attack (Square L-inf, eps {:.4}, {} queries per line, the last one verifying): {} lines changed, median queries {}; noise baseline {}; {} images without text (not applicable)",
            settings.epsilon, settings.budget, rate(&report.success),
            report.median_queries.map_or("n/a".into(), |q| format!("{q}")), rate(&report.noise_success), report.frames_without_text.len()
        ));
        results.add_suite("ocr_attack", &report);
        record_coverage(results, *n, &["ocr_attack"]);
    }
    Ok(OcrMeasured { files, consistent: ok, interrupted })
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
    let declared = declared_values(&a.declared)?;
    let labels = a.labels.as_deref().map(OcrLabels::read).transpose()?;
    let given: Vec<(String, PathBuf)> = a.images.iter().map(|p| (p.display().to_string(), p.clone())).collect();
    let images = select_images(labels.as_ref(), &given)?;
    // Flags are checked before any model runs.
    let corruptions = match &a.corruptions {
        Some(list) => {
            let kinds = CorruptionKind::parse_list(list).map_err(|e| anyhow::anyhow!("--corruptions: {e}"))?;
            let table = match a.table.as_str() {
                "auto" => None,
                t => Some(t.parse::<ParameterTable>().map_err(|e| anyhow::anyhow!("--table: {e}"))?),
            };
            Some((OcrSweepOptions { kinds, severities: a.severities.clone(), table, seed: a.seed }, usize::MAX))
        }
        None => None,
    };
    if !suites {
        if a.assess.profile.is_some() {
            bail!("--profile judges the OCR suites, and none was asked for\n  hint: add --labels Label.txt, --consistency, --corruptions or --attack");
        }
        if !declared.is_empty() {
            bail!("--declared is recorded with the OCR suites, and none was asked for\n  hint: add --labels Label.txt (ROB-OCR-CHAR-ACCURACY compares its character accuracy with declared ocr_char_accuracy)");
        }
    }
    let mut deployed = pipeline(spec.clone(), &a.det, &a.rec, a.cls.as_deref(), a.engine, a.threads)?;
    let mut frames = vec![];
    let mut read: Vec<Vec<TextLine>> = vec![];
    // With suites, an image that cannot be decoded is skipped and named in the evidence; the
    // lines of one image read alone are not evidence, and its error ends the run.
    let mut undecodable: Vec<SkippedFrame> = vec![];
    for (name, path) in &images {
        let frame = match suites {
            true => match read_image(name, path, frames.len())? {
                Ok(frame) => frame,
                Err(skipped) => {
                    undecodable.push(skipped);
                    if cancel.is_cancelled() {
                        break;
                    }
                    continue;
                }
            },
            false => load_frame(path)?,
        };
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
        return Ok(if cancel.is_cancelled() { Exit::Interrupted as u8 } else { Exit::Ok as u8 });
    }
    warn_skipped(&undecodable);
    if frames.is_empty() {
        return Err(no_image_decoded(&undecodable));
    }
    // Labelled images after an interruption were not read: ocr_accuracy names them.
    let not_read: Vec<SkippedSample> = match &labels {
        Some(_) => images[frames.len() + undecodable.len()..].iter().map(|(name, _)| SkippedSample { id: name.clone(), reason: "not read: the run was interrupted (Ctrl-C) before it".into() }).collect(),
        None => vec![],
    };
    let say = |line: String| if a.output.json { eprintln!("{line}") } else { println!("{line}") };
    let target = serde_json::json!({ "name": "ocr-pipeline", "engine": engine_name(a.engine), "threads": a.threads, "det": a.det, "rec": a.rec, "cls": a.cls });
    let mut results = Results::new("ocr", target);
    results.declared = declared.clone();
    for (role, path) in [("ocr-det", Some(&a.det)), ("ocr-rec", Some(&a.rec)), ("ocr-cls", a.cls.as_ref())] {
        if let Some(p) = path {
            results.inputs.extend(model_artifacts(p, role)?);
        }
    }
    if let Some(l) = &labels {
        results.inputs.push(InputArtifact { role: "ocr-labels".into(), name: l.source.display().to_string(), sha256: aite_engine::sha256_file(&l.source)?, count: Some(l.images.len()) });
    }
    let labelled: Option<Vec<OcrLabelledImage>> = labels.as_ref().map(|l| frames.iter().map(|(name, _)| l.images.iter().find(|i| &i.name == name).cloned().expect("every image was found in the labels")).collect());
    let consistency = if a.consistency {
        let reference = match a.reference_engine {
            Some(engine) => {
                let det = a.reference_det.as_deref().unwrap_or(&a.det);
                let rec = a.reference_rec.as_deref().unwrap_or(&a.rec);
                let cls = a.reference_cls.as_deref().or(a.cls.as_deref());
                for (role, path) in [("reference-ocr-det", Some(det)), ("reference-ocr-rec", Some(rec)), ("reference-ocr-cls", cls)] {
                    if let Some(p) = path.filter(|p| p.exists()) {
                        results.inputs.extend(model_artifacts(p, role)?);
                    }
                }
                // The same engine and the same files (by hash) are the deployed pipeline: agreeing
                // with it examines nothing. Signatures beside the files are not compared.
                let same = |r: Option<&Path>, d: Option<&Path>| -> Result<bool> {
                    Ok(match (r, d) {
                        (Some(r), Some(d)) => crate::common::same_model_files(&[model_artifacts(r, "reference")?, model_artifacts(d, "deployed")?].concat(), "deployed", "reference"),
                        (r, d) => r.is_none() && d.is_none(),
                    })
                };
                let same_files = same(Some(det), Some(&a.det))? && same(Some(rec), Some(&a.rec))? && same(cls, a.cls.as_deref())?;
                if engine == a.engine && same_files {
                    OcrReference::NotRun(format!("the reference is the deployed pipeline (same engine, same files): declare a different engine or model (--reference-engine, --reference-det, --reference-rec, --reference-cls; both are {} on {})", rec.display(), engine_name(engine)))
                } else {
                    let reference = pipeline(spec.clone(), det, rec, cls, engine, a.threads)?;
                    OcrReference::Pipeline(reference, (format!("{} on {}", rec.display(), engine_name(engine)), format!("{} on {}", a.rec.display(), engine_name(a.engine))))
                }
            }
            None => OcrReference::NotRun("no reference pipeline (--reference-engine)".to_string()),
        };
        Some(OcrConsistency { repeats: a.repeats, frames: usize::MAX, reference })
    } else {
        None
    };
    let attack = a.attack.then(|| (OcrAttackSettings { epsilon: a.epsilon, budget: a.queries, p_init: 0.8, seed: a.seed, lines_per_frame: a.attack_lines }, usize::MAX));
    let plan = OcrSuites { labels: a.labels.as_deref().zip(labelled), accuracy: true, not_read, undecodable, consistency, corruptions, attack, seed: a.seed };
    let measured = measure(&mut deployed, &frames, &read, plan, &mut results, cancel, a.output.json, &say)?;
    let raw: RawFiles = measured.files.into_iter().map(|(_, name, bytes)| (name, bytes)).collect();
    let interrupted = measured.interrupted;
    results.finish(if interrupted { RunStatus::Interrupted } else { RunStatus::Complete });
    let cfg = serde_json::json!({
        "command": "ocr", "images": images.iter().map(|(n, _)| n).collect::<Vec<_>>(), "det": a.det, "rec": a.rec, "cls": a.cls,
        "engine": engine_name(a.engine), "threads": a.threads, "task": TaskSpec::Ocr(spec), "labels": a.labels,
        "consistency": a.consistency, "repeats": a.repeats, "reference_engine": a.reference_engine.map(engine_name),
        "reference_det": a.reference_det, "reference_rec": a.reference_rec, "reference_cls": a.reference_cls,
        "corruptions": a.corruptions, "severities": a.severities, "table": a.table, "seed": a.seed,
        "attack": a.attack, "queries": a.queries, "epsilon": a.epsilon, "attack_lines": a.attack_lines, "declared": declared,
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
    } else if measured.consistent {
        Exit::Ok as u8
    } else {
        Exit::Invalid as u8
    })
}
