//! `aite run -c aite.toml` (and `aite demo`, the same run on the embedded
//! reference terminal): every suite the profile needs, each as one resumable
//! step, then the assessment and one evidence package.
//!
//! A step that finishes is kept in the package's `.state/` folder, so the same
//! command after Ctrl-C resumes the package and runs only what is left. A step
//! that fails records `{"status": "error"}` for its suites (their requirements
//! are ERROR) and the others still run; a suite that cannot run for want of
//! configuration records `{"status": "not-run", "why"}` (NOT_TESTED).

use crate::common::*;
use crate::config::{LatencySuite, NetworkSuite, PeriodicSuite, RobustnessSuite, SecuritySuite};
use crate::exit::Exit;
use aite_accuracy::{evaluate, AccuracyConfig};
use aite_assessment::{Assessment, Profile};
use aite_data::{Dataset, PreprocessSpec};
use aite_engine::{load_target, load_target_from_bytes, EngineKind, EngineOptions};
use aite_evidence::{Environment, InputArtifact, Results, RunFolder, RunStatus};
use aite_latency::{caching_audit, cold_start, run as run_scenario, LatencyScenario, LatencySettings, Workload};
use aite_robustness::attack::ocr::OcrAttackSettings;
use aite_robustness::corruption::corruption_sweep;
use aite_robustness::corruption::ocr::OcrSweepOptions;
use aite_robustness::CorruptionKind;
use aite_robustness::{run_attack, AttackKind, AttackSettings};
use aite_target::{Cancel, Target};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where a model comes from.
pub enum ModelSource {
    File(PathBuf),
    /// Bytes inside this binary (the reference terminal), with a display name.
    Embedded { name: &'static str, bytes: &'static [u8] },
    /// A remote target's URL (`[target] url`): the model runs on the device.
    Remote(String),
}

impl ModelSource {
    fn load(&self, engine: EngineKind, options: &EngineOptions) -> Result<Box<dyn Target>> {
        match self {
            ModelSource::File(p) => {
                if !p.is_file() {
                    anyhow::bail!(aite_target::TargetError::Load { path: p.clone(), reason: "no such file".into(), hint: "check [target].model in aite.toml".into() });
                }
                Ok(load_target(p, engine, options)?)
            }
            ModelSource::Embedded { name, bytes } => Ok(load_target_from_bytes(name, bytes, engine, options)?),
            ModelSource::Remote(url) => {
                let remote = aite_remote::RemoteOptions { input_shape: options.input_shape.clone(), wrapper_log: Some(crate::common::wrapper_log().clone()), ..Default::default() };
                Ok(aite_remote::connect(url, &remote)?)
            }
        }
    }

    fn artifacts(&self, role: &str) -> Result<Vec<InputArtifact>> {
        match self {
            ModelSource::File(p) => model_artifacts(p, role),
            ModelSource::Remote(url) => model_artifacts(Path::new(url), role),
            ModelSource::Embedded { name, bytes } => {
                Ok(vec![InputArtifact { role: role.into(), name: format!("reference:{name}"), sha256: aite_engine::sha256_bytes(bytes), count: None }])
            }
        }
    }
}

/// The image the security scan reads.
pub enum ImageSource {
    File(PathBuf),
    /// The reference rootfs aite builds itself, with planted weaknesses.
    ReferenceRootfs,
}

/// The running device the network probe reaches.
pub enum ProbeTarget {
    Address(String),
    /// The in-process reference device (vulnerable), started for the probe and stopped after.
    ReferenceDevice,
}

/// Everything one run evaluates, resolved from `aite.toml` or built in (`aite demo`).
pub struct Plan {
    /// `run` or `demo`: the package folder's suffix and results.json `command`.
    pub command: &'static str,
    /// Written as config.json; with the inputs' hashes it identifies the run for resuming.
    pub config: Value,
    pub declared: serde_json::Map<String, Value>,
    pub profile: Profile,
    pub engine: EngineKind,
    pub threads: usize,
    pub batch: usize,
    pub model: ModelSource,
    pub reference: Option<ModelSource>,
    pub dataset: Option<Dataset>,
    /// Preprocessing as `--preprocess` takes it; `None` infers it from the model.
    pub preprocess: Option<String>,
    /// A fixed spec (the reference terminal's), used instead of `preprocess`.
    pub spec: Option<PreprocessSpec>,
    pub latency: LatencySuite,
    pub periodic: PeriodicSuite,
    pub robustness: RobustnessSuite,
    pub security: SecuritySuite,
    pub image: Option<ImageSource>,
    pub network: NetworkSuite,
    pub probe: Option<ProbeTarget>,
    /// What the deployed model's outputs mean (`[dataset].task`); a detector runs the detector
    /// suites (COCO AP against `labels`, the corruption sweep, consistency on detections).
    pub task: Option<aite_task::TaskSpec>,
    /// A detector's labels (`[dataset].labels`): COCO instances JSON or a folder of YOLO txt files.
    pub labels: Option<PathBuf>,
    /// A detector evaluated beside the classifier (the demo's reference detector).
    pub detector: Option<super::demo::DetectorPlan>,
    /// An OCR terminal's other models (`model` is its text detector).
    pub ocr: OcrModels,
}

/// An OCR terminal's recogniser and direction classifier (`[target].rec`, `[target].cls`), and
/// the reference pipeline `ocr_agreement` compares it with, when aite.toml declares one.
#[derive(Debug, Clone, Default)]
pub struct OcrModels {
    pub rec: Option<PathBuf>,
    pub cls: Option<PathBuf>,
    pub reference: Option<OcrReferenceModels>,
}

/// `[target].reference_model` (the text detector), `reference_rec`, `reference_cls` and
/// `reference_engine`: each absent one is the deployed pipeline's.
#[derive(Debug, Clone)]
pub struct OcrReferenceModels {
    pub det: Option<PathBuf>,
    pub rec: Option<PathBuf>,
    pub cls: Option<PathBuf>,
    pub engine: EngineKind,
}

/// How the package is written.
pub struct RunOptions {
    pub out: PathBuf,
    /// Print results.json to stdout instead of tables.
    pub json: bool,
    /// Start a new package even if an unfinished one for the same configuration exists.
    pub fresh: bool,
    /// Sign the package: private key file and "Name, Role".
    pub sign: Option<(PathBuf, String)>,
    /// Record the run in the history database (`None`: the default location).
    pub db: Option<PathBuf>,
    pub record_history: bool,
}

/// One resumable unit of work and the suites it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Accuracy,
    ColdStart,
    Latency,
    Periodic,
    CachingAudit,
    Consistency,
    Corruptions,
    Attacks,
    Security,
    Network,
    /// The reference detector (`Plan::detector`), run whenever the plan has one.
    Detector,
    /// An OCR terminal's pipeline: the `ocr_*` suites (`aite ocr`'s, through the same code).
    Ocr,
}

const STEPS: [Step; 12] = [Step::Accuracy, Step::ColdStart, Step::Latency, Step::Periodic, Step::CachingAudit, Step::Consistency, Step::Corruptions, Step::Attacks, Step::Security, Step::Network, Step::Detector, Step::Ocr];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Accuracy => "accuracy",
            Step::ColdStart => "cold-start",
            Step::Latency => "latency",
            Step::Periodic => "periodic",
            Step::CachingAudit => "caching-audit",
            Step::Consistency => "consistency",
            Step::Corruptions => "corruptions",
            Step::Attacks => "attacks",
            Step::Security => "security",
            Step::Network => "network",
            Step::Detector => "detector",
            Step::Ocr => "ocr",
        }
    }

    /// The results.json suites this step writes.
    fn suites(self) -> &'static [&'static str] {
        match self {
            Step::Accuracy => &["accuracy", "accuracy_reference", "detection_accuracy"],
            Step::ColdStart => &["cold_start"],
            Step::Latency => &["latency"],
            Step::Periodic => &["latency_periodic"],
            Step::CachingAudit => &["caching_audit"],
            Step::Consistency => &["repeatability", "batch_invariance", "agreement", "degenerate_frames", "metamorphic", "detection_repeatability", "detection_batch_invariance", "detection_agreement"],
            Step::Corruptions => &["corruptions", "detection_corruptions"],
            Step::Attacks => &["attack_square_linf", "attack_spsa_linf", "attack_noise_linf", "attack_worst_case", "detector_attack_square_linf"],
            Step::Security => &["security"],
            Step::Network => &["network"],
            Step::Detector => &["detection_accuracy", "detection_accuracy_reference", "detection_agreement", "detection_corruptions", "detector_attack_square_linf"],
            Step::Ocr => &["ocr_accuracy", "ocr_repeatability", "ocr_batch_invariance", "ocr_agreement", "ocr_degenerate_frames", "ocr_corruptions", "ocr_attack"],
        }
    }
}

/// What a finished step produced, kept in `.state/` for resuming.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StepOutput {
    suites: BTreeMap<String, Value>,
    files: BTreeMap<String, Vec<String>>,
    inputs: Vec<InputArtifact>,
    seconds: f64,
}

/// `.state/plan.json`: which configuration this unfinished package belongs to,
/// and which aite build on which machine measured its finished steps.
#[derive(Debug, Serialize, Deserialize)]
struct StateHeader {
    digest: String,
    started_at: String,
    /// [`build_identity`]; a package without one (older aite) is never resumed.
    #[serde(default)]
    build: Value,
}

/// The aite build (version, commit, SHA-256 of the executable) and the machine
/// (OS, CPU, host name): steps measured by another build or on another machine
/// are not mixed into one package.
fn build_identity() -> Value {
    let env = Environment::capture();
    let exe = std::env::current_exe().ok().and_then(|p| aite_engine::sha256_file(&p).ok());
    serde_json::json!({
        "tool": env.tool, "executable_sha256": exe,
        "os": env.os, "arch": env.arch, "cpu_model": env.cpu_model, "logical_cpus": env.logical_cpus, "hostname": env.hostname,
    })
}

const STATE: &str = ".state";

/// Suites the profile reads (reserved requirements read none).
fn needed_suites(profile: &Profile) -> BTreeSet<String> {
    profile.requirements.iter().filter(|r| r.reserved.is_none()).filter_map(|r| r.metric.split('.').nth(1)).map(str::to_string).collect()
}

/// The quantile of a guarded latency requirement on `suite`, so LoadGen's
/// early-stopping estimate is computed for the percentile the profile judges.
fn guarded_percentile(profile: &Profile, suite: &str) -> Option<f64> {
    profile
        .requirements
        .iter()
        .filter(|r| r.decision == aite_assessment::DecisionRule::Guarded && r.metric == format!("suites.{suite}.latency"))
        .find_map(|r| aite_assessment::catalogue::quantile(&r.statistic))
}

struct StepContext<'a> {
    plan: &'a Plan,
    folder: &'a RunFolder,
    cancel: &'a Cancel,
    quiet: bool,
    options: EngineOptions,
    deployed: Option<Box<dyn Target>>,
    reference: Option<Box<dyn Target>>,
    spec: Option<PreprocessSpec>,
    frames: Option<Vec<LoadedFrame>>,
    skipped_frames: Vec<String>,
    /// The dataset frames `frames` could not decode, recorded in the suites that reached them.
    skipped: Vec<SkippedFrame>,
    /// An OCR terminal's frames its latency steps read (`ocr_read`) and could not decode.
    ocr_read_coverage: Option<FrameCoverage>,
    /// `[target].reference_model` is the deployed model (same files by hash, run on the same
    /// engine): it is not loaded, and what it would measure is not run ([`REFERENCE_IS_DEPLOYED`]).
    reference_is_deployed: bool,
}

/// Why agreement and the reference's accuracy are not run when the reference is the deployed model.
const REFERENCE_IS_DEPLOYED: &str = "the reference is the deployed model (same engine, same model file): agreeing with it compares nothing and its accuracy is the deployed model's; declare a different [target].reference_model";

impl StepContext<'_> {
    fn deployed(&mut self) -> Result<&mut dyn Target> {
        if self.deployed.is_none() {
            self.deployed = Some(match &self.plan.task {
                // An OCR terminal is its pipeline, which runs its own three models (`ocr_read`).
                Some(aite_task::TaskSpec::Ocr(_)) => Box::new(super::ocr::OcrRead::new(self.plan.engine.name(), self.plan.threads.max(1))),
                _ => self.plan.model.load(self.plan.engine, &self.options).context("cannot load the deployed model")?,
            });
        }
        Ok(self.deployed.as_deref_mut().expect("just loaded"))
    }

    fn spec(&mut self) -> Result<PreprocessSpec> {
        if let Some(s) = &self.spec {
            return Ok(s.clone());
        }
        let spec = match &self.plan.spec {
            Some(s) => s.clone(),
            None => {
                let pre = self.plan.preprocess.clone();
                let (spec, inferred) = preprocess_spec(pre.as_deref(), self.deployed()?.info())?;
                if inferred && !self.quiet {
                    eprintln!("note: no [dataset].preprocess; using {} (recorded in config.json)", serde_json::to_string(&spec)?);
                }
                spec
            }
        };
        self.spec = Some(spec.clone());
        Ok(spec)
    }

    fn dataset(&self) -> Result<&Dataset, NotRun> {
        self.plan.dataset.as_ref().ok_or_else(|| NotRun("no [dataset] in the configuration: this suite runs on labeled frames".into()))
    }

    /// The first frames of the dataset, decoded once for every step.
    fn frames(&mut self, n: usize) -> Result<Vec<&LoadedFrame>> {
        if self.frames.is_none() {
            let spec = self.spec()?;
            let ds = self.dataset().map_err(|e| anyhow::anyhow!(e.0))?;
            let r = &self.plan.robustness;
            let want = [self.plan.latency.frames, r.consistency_frames, r.corruption_frames, r.attack_frames].into_iter().max().unwrap_or(1).max(1);
            let (frames, skipped) = load_frames_noting(ds, &spec, want, false)?;
            self.skipped_frames = skipped.iter().map(ToString::to_string).collect();
            self.skipped = skipped;
            self.frames = Some(frames);
        }
        Ok(self.frames.as_ref().expect("just loaded").iter().take(n.max(1)).collect())
    }

    /// Frames through decode and preprocessing when there is a dataset (a detector's through its
    /// declared post-processing, counting detections per frame), else seeded tensors (bare inference).
    fn workload(&mut self) -> Result<Workload> {
        // An OCR terminal: its frames read whole by its pipeline.
        if let Some(aite_task::TaskSpec::Ocr(spec)) = &self.plan.task {
            return self.ocr_read(spec);
        }
        if self.plan.dataset.is_some() {
            let spec = self.spec()?;
            let frames = self.frames(self.plan.latency.frames)?.into_iter().map(|f| (f.id.clone(), f.bytes.clone())).collect();
            match &self.plan.task {
                Some(t @ aite_task::TaskSpec::Detector(_)) => Ok(Workload::TaskFrames { frames, spec, task: aite_task::Postprocess::new(t.clone()) }),
                _ => Ok(Workload::Frames { frames, spec }),
            }
        } else {
            let options = self.options.clone();
            let inputs = self.deployed()?.info().inputs.clone();
            Ok(Workload::Tensors(synthetic_inputs(&inputs, &options, 16, 0x5EED)?))
        }
    }
}

impl StepContext<'_> {
    /// An OCR terminal's latency workload: each query reads a whole frame ([`Workload::Ocr`]:
    /// decode, text detector, crops, direction classifier, recogniser, CTC decoding) of the first
    /// `[suites.latency].frames` of the dataset ([`ocr_timed`] names the models). Never the text
    /// detector alone: without frames or a recogniser it is not run.
    fn ocr_read(&mut self, spec: &aite_task::OcrSpec) -> Result<Workload> {
        let plan = self.plan;
        let (det, rec) = ocr_models(plan)?;
        let ds = self.dataset().map_err(|e| not_run(format!("{}; an OCR terminal's latency is the read of real frames (bare inference would time its text detector alone)", e.0)))?;
        let (frames, skipped) = load_frames_noting(ds, &PreprocessSpec::default(), plan.latency.frames, false)?;
        if frames.is_empty() {
            anyhow::bail!("no decodable frame in {} to read", ds.name);
        }
        self.ocr_read_coverage = FrameCoverage::of_first(plan.latency.frames.max(1), frames.len(), &skipped);
        for s in skipped.iter().map(ToString::to_string) {
            if !self.skipped_frames.contains(&s) {
                self.skipped_frames.push(s);
            }
        }
        let pipeline = super::ocr::pipeline_on(spec.clone(), &det, &rec, plan.ocr.cls.as_deref(), plan.engine, plan.threads.max(1))?;
        let (workload, lines) = super::ocr::read_workload(pipeline, &frames)?;
        if !self.quiet {
            eprintln!("      each of the {} frames read once before timing ({lines} text lines), so every model input shape is planned", frames.len());
        }
        Ok(workload)
    }
}

/// The models an OCR terminal's latency queries time: the whole read.
fn ocr_timed(plan: &Plan) -> Result<super::ocr::TimedModels> {
    let (det, rec) = ocr_models(plan)?;
    Ok(super::ocr::TimedModels::OcrRead { det, cls: plan.ocr.cls.clone(), rec })
}

fn engine_of(e: crate::config::Engine) -> EngineKind {
    match e {
        crate::config::Engine::Tract => EngineKind::Tract,
        crate::config::Engine::Ort => EngineKind::OnnxRuntime,
    }
}

/// An OCR terminal's text detector (`[target].model`) and recogniser (`[target].rec`), checked to
/// be files; not run (with the key to set) when it has none.
fn ocr_models(plan: &Plan) -> Result<(PathBuf, PathBuf)> {
    let det = match &plan.model {
        ModelSource::File(p) => p.clone(),
        _ => return Err(not_run("an OCR pipeline runs on local model files: [target].model (the text detector), [target].rec, [target].cls")),
    };
    let Some(rec) = plan.ocr.rec.clone() else {
        return Err(not_run("the terminal's task is OCR and there is no [target].rec: the pipeline needs a recogniser (PP-OCR rec) beside the text detector ([target].model)"));
    };
    for (key, path) in [("model", Some(&det)), ("rec", Some(&rec)), ("cls", plan.ocr.cls.as_ref())] {
        if let Some(p) = path.filter(|p| !p.is_file()) {
            anyhow::bail!("[target].{key} {}: no such file", p.display());
        }
    }
    Ok((det, rec))
}

impl StepContext<'_> {
    /// Record in `out` which dataset frames `step`'s suites set out to examine and could not
    /// decode (`frame_coverage`, as `aite robustness` does): each suite took the first frames of
    /// the dataset, and a skipped frame before its last is one it did not examine.
    fn record_frame_coverage(&self, step: Step, out: &mut StepOutput) {
        // An OCR terminal: its latency steps read the frames of `ocr_read`; its OCR step's
        // suites recorded their own (`ocr::measure`); its other steps are not applicable.
        if matches!(self.plan.task, Some(aite_task::TaskSpec::Ocr(_))) {
            if let (Some(c), Step::Latency | Step::Periodic | Step::CachingAudit) = (&self.ocr_read_coverage, step) {
                c.record(&mut out.suites, &["latency", "latency_periodic", "caching_audit"]);
            }
            return;
        }
        let Some(frames) = &self.frames else { return };
        let (plan, r) = (self.plan, &self.plan.robustness);
        let detector_attack = super::robustness::DETECTOR_ATTACK_DEFAULT.frames.min(r.attack_frames);
        let (n, suites): (usize, &[&str]) = match step {
            Step::Latency => (plan.latency.frames, &["latency"]),
            Step::Periodic => (plan.latency.frames, &["latency_periodic"]),
            Step::CachingAudit => (plan.latency.frames, &["caching_audit"]),
            Step::Consistency => (r.consistency_frames, &super::robustness::FRAME_SUITES),
            Step::Corruptions => (r.corruption_frames, &["corruptions", "detection_corruptions"]),
            Step::Attacks if matches!(plan.task, Some(aite_task::TaskSpec::Detector(_))) => (detector_attack, &["detector_attack_square_linf"]),
            Step::Attacks => (r.attack_frames, &["attack_square_linf", "attack_spsa_linf", "attack_noise_linf", "attack_worst_case"]),
            _ => return,
        };
        if let Some(c) = FrameCoverage::of_first(n.max(1), frames.len(), &self.skipped) {
            c.record(&mut out.suites, suites);
        }
    }
}

/// A suite that was not run, and why (NOT_TESTED, not ERROR).
#[derive(Debug)]
struct NotRun(String);

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotRun {}

fn not_run(why: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(NotRun(why.into()))
}

impl StepOutput {
    fn suite<T: Serialize>(&mut self, name: &str, value: &T) -> Result<()> {
        self.suites.insert(name.into(), serde_json::to_value(value)?);
        Ok(())
    }

    fn file(&mut self, folder: &RunFolder, suite: &str, name: &str, bytes: &[u8]) -> Result<()> {
        folder.write_bytes(name, bytes)?;
        self.files.entry(suite.into()).or_default().push(name.into());
        Ok(())
    }

    /// Whether any suite of this step stopped because of Ctrl-C.
    fn interrupted(&self) -> bool {
        self.suites.values().any(|v| v.get("interrupted").and_then(Value::as_bool) == Some(true))
    }
}

fn run_step(step: Step, cx: &mut StepContext) -> Result<StepOutput> {
    let mut out = StepOutput::default();
    let plan = cx.plan;
    let folder = cx.folder;
    let cancel = cx.cancel.clone();
    let quiet = cx.quiet;
    // An OCR terminal reads text: the classifier's (and detector's) figures do not apply to it.
    if matches!(plan.task, Some(aite_task::TaskSpec::Ocr(_))) && matches!(step, Step::Accuracy | Step::Consistency | Step::Corruptions | Step::Attacks) {
        for suite in step.suites() {
            out.suite(suite, &serde_json::json!({ "status": "not-applicable", "why": format!("the terminal's task is OCR: {suite} is a classifier's or a detector's figure; its figures are the ocr_* suites (step ocr)") }))?;
        }
        return Ok(out);
    }
    let enabled = match step {
        Step::Latency | Step::ColdStart | Step::CachingAudit => plan.latency.enabled,
        Step::Periodic => plan.periodic.enabled,
        Step::Consistency | Step::Corruptions | Step::Attacks => plan.robustness.enabled,
        Step::Security => plan.security.enabled,
        Step::Network => plan.network.enabled,
        Step::Accuracy | Step::Detector | Step::Ocr => true,
    };
    if !enabled {
        return Err(not_run("disabled in the configuration (enabled = false)"));
    }
    let detector = match &plan.task {
        Some(t @ aite_task::TaskSpec::Detector(_)) => Some(aite_task::Postprocess::new(t.clone())),
        _ => None,
    };
    match step {
        Step::Accuracy if detector.is_some() => detector_accuracy_step(cx, detector.as_ref().expect("matched"), &mut out)?,
        Step::Corruptions if detector.is_some() => detector_sweep_step(cx, detector.as_ref().expect("matched"), &mut out)?,
        Step::Attacks if detector.is_some() => detector_attack_step(cx, detector.as_ref().expect("matched"), &mut out)?,
        Step::Accuracy => {
            let ds = cx.dataset()?;
            let n = ds.samples.len();
            let spec = cx.spec()?;
            let cfg = AccuracyConfig { cancel: cancel.clone(), ..Default::default() };
            let reference = plan.reference.as_ref().filter(|_| !cx.reference_is_deployed);
            let pb = bar(n as u64 * if reference.is_some() { 2 } else { 1 }, "accuracy", quiet);
            let ds = cx.plan.dataset.as_ref().expect("checked");
            let acc = evaluate(cx.deployed()?, ds, &spec, &cfg, &mut |i| pb.set_position(i as u64))?;
            out.suite("accuracy", &acc)?;
            out.file(folder, "accuracy", "predictions.csv", &predictions_csv(&acc.predictions))?;
            if cx.reference_is_deployed {
                out.suites.insert("accuracy_reference".into(), serde_json::json!({ "status": "not-run", "why": REFERENCE_IS_DEPLOYED }));
            }
            if let Some(r) = reference {
                let mut reference = r.load(plan.engine, &cx.options).context("cannot load the reference model")?;
                let acc = evaluate(reference.as_mut(), ds, &spec, &cfg, &mut |i| pb.set_position((n + i) as u64))?;
                out.suite("accuracy_reference", &acc)?;
                out.file(folder, "accuracy_reference", "predictions-reference.csv", &predictions_csv(&acc.predictions))?;
                cx.reference = Some(reference);
            }
            pb.finish_and_clear();
        }
        Step::ColdStart => {
            if matches!(plan.task, Some(aite_task::TaskSpec::Ocr(_))) {
                return Err(not_run("the OCR read's cold start (three models: detector, classifier, recogniser) is not measured: cold start times one model's load and first answer"));
            }
            if matches!(plan.model, ModelSource::Remote(_)) {
                return Err(not_run("the target is remote: its model is loaded by the device, not by aite"));
            }
            let workload = cx.workload()?;
            let options = cx.options.clone();
            let cs = cold_start(|| plan.model.load(plan.engine, &options).map_err(|e| aite_target::TargetError::Inference { target: "cold start".into(), reason: e.to_string() }), &workload, false)?;
            out.suite("cold_start", &cs)?;
        }
        Step::Latency => {
            let workload = cx.workload()?;
            let l = &plan.latency;
            let settings = LatencySettings {
                min_duration_ms: l.duration_ms,
                min_queries: l.min_queries,
                percentile: guarded_percentile(&plan.profile, "latency").unwrap_or(l.percentile),
                ..Default::default()
            };
            let pb = bar(1000, "latency", quiet);
            let r = run_scenario(cx.deployed()?, &workload, &LatencyScenario::SingleStream, &settings, &cancel, &mut |p| pb.set_position((p.fraction * 1000.0) as u64))?;
            pb.finish_and_clear();
            if let Some(e) = &r.error {
                anyhow::bail!("the target failed during the single-stream run: {e}");
            }
            out.suite("latency", &r)?;
            out.file(folder, "latency", "latency-samples.csv", &latency_samples_csv(&r))?;
        }
        Step::Periodic => {
            let p = &plan.periodic;
            let Some(fps) = p.fps else {
                return Err(not_run("no frame rate: set [declared].fps (or [suites.periodic].fps) in aite.toml"));
            };
            let workload = cx.workload()?;
            let scenario = LatencyScenario::Periodic { fps, burst_frames: p.burst_frames, idle_ms: p.idle_ms };
            let settings = LatencySettings {
                min_duration_ms: 0,
                min_queries: p.min_queries,
                percentile: guarded_percentile(&plan.profile, "latency_periodic").unwrap_or(plan.latency.percentile),
                ..Default::default()
            };
            let pb = bar(1000, "periodic", quiet);
            let r = run_scenario(cx.deployed()?, &workload, &scenario, &settings, &cancel, &mut |p| pb.set_position((p.fraction * 1000.0) as u64))?;
            pb.finish_and_clear();
            if let Some(e) = &r.error {
                anyhow::bail!("the target failed during the periodic run: {e}");
            }
            out.suite("latency_periodic", &r)?;
            out.file(folder, "latency_periodic", "latency-periodic-samples.csv", &latency_samples_csv(&r))?;
        }
        Step::CachingAudit => {
            let workload = cx.workload()?;
            let a = caching_audit(cx.deployed()?, &workload, 64)?;
            out.suite("caching_audit", &a)?;
        }
        Step::Consistency => {
            cx.dataset()?;
            let r = plan.robustness.clone();
            let spec = cx.spec()?;
            let frames: Vec<(String, aite_data::Image)> = cx.frames(r.consistency_frames)?.into_iter().map(|f| (f.id.clone(), f.image.clone())).collect();
            if cx.reference.is_none() && !cx.reference_is_deployed {
                if let Some(src) = &plan.reference {
                    cx.reference = Some(src.load(plan.engine, &cx.options).context("cannot load the reference model")?);
                }
            }
            let symbolic_batch = cx.deployed()?.info().inputs.first().and_then(|i| i.shape.first()).is_some_and(|d| matches!(d, aite_target::Dim::Symbolic(_)));
            let mut batched = if symbolic_batch && plan.batch >= 2 {
                Some(plan.model.load(plan.engine, &EngineOptions { batch: plan.batch, ..cx.options.clone() }).context("cannot load the deployed model for batch invariance")?)
            } else {
                None
            };
            let mut results = Results::new("run", Value::Null);
            let deployed = cx.deployed.as_deref_mut().expect("loaded above");
            let reference = cx.reference.as_mut().map(|r| r.as_mut() as &mut dyn Target);
            let batched = batched.as_mut().map(|b| (b.as_mut() as &mut dyn Target, plan.batch));
            // A detector is checked on its decoded detections (suites named detection_*).
            let prefix = if detector.is_some() { "detection_" } else { "" };
            match &detector {
                Some(task) => {
                    let limit = aite_robustness::degenerate_detection_limit(None);
                    super::robustness::detector_consistency_suites(&mut results, deployed, reference, batched, &spec, task, &frames, r.repeats, 0, limit)?
                }
                None => super::robustness::consistency_suites(&mut results, deployed, reference, batched, &spec, &frames, r.repeats, 0)?,
            };
            if !symbolic_batch {
                results.add_suite(&format!("{prefix}batch_invariance"), &serde_json::json!({ "status": "not-applicable", "why": "the deployed model's batch dimension is fixed: it never runs batches, so batch invariance does not apply" }));
            } else if plan.batch < 2 {
                results.suite_not_run(&format!("{prefix}batch_invariance"), "[target].batch is below 2");
            }
            if plan.reference.is_none() {
                results.suite_not_run(&format!("{prefix}agreement"), "no [target].reference_model to agree with");
            } else if cx.reference_is_deployed {
                results.suite_not_run(&format!("{prefix}agreement"), REFERENCE_IS_DEPLOYED);
            }
            out.suites.extend(results.suites);
        }
        Step::Corruptions => {
            cx.dataset()?;
            let r = plan.robustness.clone();
            let spec = cx.spec()?;
            let loaded: Vec<LoadedFrame> = cx.frames(r.corruption_frames)?.into_iter().map(clone_frame).collect();
            let frames = super::robustness::labeled_frames(&loaded, spec.color)?;
            // CE/mCE against AlexNet when the model has ImageNet's labels; the sweep's mce_status says which protocol condition fails otherwise.
            let alexnet = super::robustness::imagenet_outputs(cx.deployed()?);
            let options = super::robustness::sweep_options(&r.corruptions, &r.severities, "auto", "auto", 0, None, alexnet)?;
            let pb = bar(options.all_cells().len() as u64, "corruptions", quiet);
            let sweep = corruption_sweep(cx.deployed()?, &spec, &frames, &options, vec![], &cancel, &mut |_| pb.inc(1))?;
            pb.finish_and_clear();
            out.suite("corruptions", &sweep)?;
            out.file(folder, "corruptions", "corruptions.csv", &super::robustness::corruptions_csv(&sweep))?;
        }
        Step::Attacks => {
            cx.dataset()?;
            let r = plan.robustness.clone();
            let spec = cx.spec()?;
            let loaded: Vec<LoadedFrame> = cx.frames(r.attack_frames)?.into_iter().map(clone_frame).collect();
            let frames = super::robustness::labeled_frames(&loaded, spec.color)?;
            let side = spec.geometry(&loaded[0].image).map(|g| g.width.min(g.height))?;
            let mut reports = Vec::new();
            // Two attack families (random search, gradient estimation) at the same budget, and the noise baseline.
            let kinds = [(AttackKind::SquareLinf, r.attack_budget), (AttackKind::SpsaLinf, r.attack_budget), (AttackKind::NoiseLinf, r.attack_budget.min(100))];
            for (kind, budget) in kinds {
                if cancel.is_cancelled() {
                    break;
                }
                let settings = AttackSettings { budget, epsilon: r.epsilon_255 / 255.0, ..AttackSettings::autoattack(kind, side) };
                settings.validate()?;
                let pb = bar(frames.len() as u64, kind.name(), quiet);
                let report = run_attack(cx.deployed()?, &spec, &frames, &settings, vec![], &cancel, &mut |_| pb.inc(1))?;
                pb.finish_and_clear();
                let suite = format!("attack_{}", kind.name().replace('-', "_"));
                out.suite(&suite, &report)?;
                out.file(folder, &suite, &format!("attack-{}.csv", kind.name()), &super::robustness::attack_csv(&report))?;
                reports.push(report);
            }
            // Not applicable (with why) when fewer than two attack families ran (e.g. after Ctrl-C).
            if let Some(worst) = super::robustness::worst_case_suite(&reports) {
                out.suite("attack_worst_case", &worst)?;
            }
            // The demo's reference detector writes its own vanishing attack (Step::Detector).
            if plan.detector.is_none() {
                out.suite("detector_attack_square_linf", &serde_json::json!({ "status": "not-applicable", "why": "the terminal's task is a classifier: the vanishing attack suppresses a detector's detections" }))?;
            }
        }
        Step::Ocr => {
            let Some(aite_task::TaskSpec::Ocr(spec)) = &plan.task else { return Err(not_run("the terminal's task is not OCR")) };
            ocr_step(cx, spec, &mut out)?;
        }
        Step::Detector => {
            let Some(d) = &plan.detector else { return Err(not_run("no detector in the plan")) };
            let evidence = super::demo::detector_step(d, plan.engine, &cx.options, &cancel, quiet)?;
            for (suite, value) in evidence.suites {
                out.suites.insert(suite.into(), value);
            }
            for (suite, name, bytes) in evidence.files {
                out.file(folder, suite, name, &bytes)?;
            }
            out.inputs = evidence.inputs;
        }
        Step::Network => {
            let n = &plan.network;
            let report = match &plan.probe {
                None => return Err(not_run("no device address: set [suites.network].target in aite.toml")),
                Some(ProbeTarget::ReferenceDevice) => {
                    if !quiet {
                        eprintln!("  probing the reference device on 127.0.0.1");
                    }
                    let device = aite_network::reference::ReferenceDevice::start(aite_network::reference::DeviceKind::Vulnerable).context("cannot start the reference device on 127.0.0.1")?;
                    device.probe(None)?
                }
                Some(ProbeTarget::Address(target)) => {
                    let allowed = n.allow_network.iter().map(|c| aite_network::Cidr::parse(c)).collect::<Result<Vec<_>, _>>()?;
                    let options = aite_network::ProbeOptions {
                        ports: aite_network::PortList::parse(&n.ports)?,
                        declared: n.declared.as_deref().map(aite_network::PortList::parse).transpose()?.map(|p| p.0),
                        scope: aite_network::Scope { allowed },
                        ..aite_network::ProbeOptions::default()
                    };
                    if !quiet {
                        eprintln!("  probing {target}");
                    }
                    aite_network::probe(target, &options)?
                }
            };
            let sarif = aite_network::rules::sarif(&report.findings, env!("CARGO_PKG_VERSION"), serde_json::json!({ "target": report.target, "address": report.address, "ports_scanned": report.ports_scanned }));
            out.suite("network", &report)?;
            out.file(folder, "network", "network-findings.sarif", &serde_json::to_vec_pretty(&sarif)?)?;
        }
        Step::Security => {
            let s = &plan.security;
            let Some(image) = &plan.image else {
                return Err(not_run("no firmware image: set [suites.security].image in aite.toml"));
            };
            let parent = folder.path().parent().unwrap_or(folder.path());
            let work = tempfile::Builder::new().prefix(".security-work-").tempdir_in(parent).with_context(|| format!("cannot create a work folder in {}", parent.display()))?;
            let (input, label) = match image {
                ImageSource::File(p) => {
                    if !p.exists() {
                        anyhow::bail!("firmware image {} does not exist (check [suites.security].image)", p.display());
                    }
                    out.inputs.push(InputArtifact { role: "firmware".into(), name: p.display().to_string(), sha256: if p.is_file() { aite_engine::sha256_file(p)? } else { String::new() }, count: None });
                    (p.clone(), p.display().to_string())
                }
                ImageSource::ReferenceRootfs => {
                    // The running aite binary stands in for the camera application.
                    let exe = std::env::current_exe().ok().and_then(|p| std::fs::read(p).ok()).filter(|b| b.len() < 256 << 20);
                    let path = work.path().join("reference-rootfs.tar.gz");
                    let bytes = aite_security::reference::build(exe.as_deref())?;
                    out.inputs.push(InputArtifact { role: "firmware".into(), name: "reference:rootfs.tar.gz".into(), sha256: aite_engine::sha256_bytes(&bytes), count: None });
                    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
                    (path, "reference rootfs".to_string())
                }
            };
            let model_keys = s.model_keys.iter().map(|k| aite_security::signing::VerifyingKey::from_pem_file(k)).collect::<Result<Vec<_>, _>>()?;
            for k in &s.model_keys {
                out.inputs.push(InputArtifact { role: "model-key".into(), name: k.display().to_string(), sha256: aite_engine::sha256_file(k)?, count: None });
            }
            let osv = s.osv.as_deref().map(aite_security::components::load_osv).transpose()?;
            if let Some(feed) = &s.osv {
                out.inputs.push(InputArtifact { role: "osv-feed".into(), name: feed.display().to_string(), sha256: if feed.is_file() { aite_engine::sha256_file(feed)? } else { String::new() }, count: None });
            }
            if !quiet {
                eprintln!("  scanning {label}");
            }
            let report = aite_security::scan_with(&input, &work.path().join("x"), &aite_security::ScanOptions { limits: aite_security::Limits::default(), model_keys, now: None, osv })?;
            let sarif = aite_security::sarif::sarif(&report.findings, env!("CARGO_PKG_VERSION"), serde_json::json!({ "input": label, "coverage": report.coverage }));
            let sbom = aite_security::components::cyclonedx(&label, None, &report.components, &report.models, &report.vulnerabilities, env!("CARGO_PKG_VERSION"));
            out.suite("security", &report)?;
            out.file(folder, "security", "findings.sarif", &serde_json::to_vec_pretty(&sarif)?)?;
            out.file(folder, "security", "elf-hardening.csv", &super::security::elf_csv(&report))?;
            out.file(folder, "security", "keys.csv", &super::security::keys_csv(&report))?;
            out.file(folder, "security", "sbom.cdx.json", &serde_json::to_vec_pretty(&sbom)?)?;
        }
    }
    // An OCR terminal's latency suites say what their queries timed: the whole read.
    if let (Some(aite_task::TaskSpec::Ocr(_)), Step::Latency | Step::Periodic) = (&plan.task, step) {
        let timed = serde_json::to_value(ocr_timed(plan)?)?;
        for suite in out.suites.values_mut().filter_map(Value::as_object_mut) {
            suite.insert("timed".into(), timed.clone());
        }
    }
    Ok(out)
}

/// The accuracy step of a detector terminal: COCO AP of every frame of the dataset against
/// `[dataset].labels`; the classifier's top-1 does not apply.
fn detector_accuracy_step(cx: &mut StepContext, task: &aite_task::Postprocess, out: &mut StepOutput) -> Result<()> {
    let plan = cx.plan;
    let Some(labels_path) = &plan.labels else {
        return Err(not_run("the terminal's task is a detector and there is no [dataset].labels: its AP needs labels (COCO instances JSON or a folder of YOLO txt files)"));
    };
    let spec = cx.spec()?;
    let ds = cx.dataset().map_err(|e| not_run(e.0))?;
    let (frames, undecodable) = load_frames(ds, &spec, usize::MAX, false)?;
    let sizes: Vec<(String, u32, u32)> = frames.iter().map(|f| (f.id.clone(), f.image.width as u32, f.image.height as u32)).collect();
    let labels = super::accuracy::detection_labels(labels_path, &sizes, task.spec())?;
    let samples: Vec<aite_accuracy::DetectionSample> = frames.iter().map(|f| aite_accuracy::DetectionSample { id: &f.id, image: &f.image }).collect();
    let pb = bar(samples.len() as u64, "accuracy", cx.quiet);
    let cancel = cx.cancel.clone();
    let report = aite_accuracy::detection_accuracy(cx.deployed()?, &spec, task, &samples, &labels, &cancel, &mut |i| pb.set_position(i as u64))?.with_undecodable(undecodable);
    pb.finish_and_clear();
    out.suite("detection_accuracy", &report)?;
    out.suite("accuracy", &serde_json::json!({ "status": "not-applicable", "why": "the terminal's task is a detector: its accuracy is COCO AP (detection_accuracy), not top-1" }))?;
    out.file(cx.folder, "detection_accuracy", "detections.json", &serde_json::to_vec_pretty(&report.raw)?)?;
    out.inputs.push(super::accuracy::labels_artifact(labels_path)?);
    Ok(())
}

/// The corruption step of a detector terminal: the detector sweep (mPC/rPC) against the
/// labels, else the reference model's clean predictions, else its own (pseudo ground truth),
/// also when the reference is the deployed model (its predictions are the same).
fn detector_sweep_step(cx: &mut StepContext, task: &aite_task::Postprocess, out: &mut StepOutput) -> Result<()> {
    use aite_robustness::corruption::detection::{clean_detections, DetectionFrame, DetectionGroundTruth};
    let plan = cx.plan;
    cx.dataset().map_err(|e| not_run(e.0))?;
    let r = plan.robustness.clone();
    let spec = cx.spec()?;
    let frames: Vec<DetectionFrame> = cx.frames(r.corruption_frames)?.into_iter().map(|f| DetectionFrame { id: f.id.clone(), image: aite_robustness::corruption::image_to_rgb8(&f.image, spec.color) }).collect();
    let ground_truth = match (&plan.labels, &plan.reference) {
        (Some(labels), _) => super::robustness::labelled_ground_truth(labels, task, &frames)?,
        (None, Some(reference)) if !cx.reference_is_deployed => {
            let mut reference = reference.load(plan.engine, &cx.options).context("cannot load the reference model")?;
            DetectionGroundTruth::ReferencePredictions { reference: "[target].reference_model".into(), detections: clean_detections(reference.as_mut(), &spec, task, &frames)? }
        }
        (None, _) => DetectionGroundTruth::CleanPredictions,
    };
    let mut options = super::robustness::sweep_options(&r.corruptions, &r.severities, "auto", "auto", 0, None, false)?;
    options.shard = (0, 1);
    let identity = serde_json::json!({ "task": task.spec(), "target": cx.deployed()?.info() });
    let (cancel, quiet, state) = (cx.cancel.clone(), cx.quiet, cx.folder.path().join(STATE));
    let (report, _) = super::robustness::run_detection_sweep(cx.deployed()?, &spec, task, &frames, &options, &ground_truth, &identity, &state, false, &cancel, quiet)?;
    out.suite("detection_corruptions", &report)?;
    out.suite("corruptions", &serde_json::json!({ "status": "not-applicable", "why": "the terminal's task is a detector: its corruption figures are mPC/rPC (detection_corruptions), not accuracy drops" }))?;
    out.file(cx.folder, "detection_corruptions", "detection-corruptions.csv", &report.detections_csv())?;
    Ok(())
}

/// The attack step of a detector terminal: the vanishing Square L-inf attack with its noise
/// baseline at the bounded detector default ([`super::robustness::DETECTOR_ATTACK_DEFAULT`]:
/// 300 queries on at most 10 frames, or fewer by `attack_budget` / `attack_frames`; radius
/// `[suites.robustness].epsilon_255`), checkpointed per
/// frame in `.state`. The classifier attacks (top-1) are recorded not applicable.
fn detector_attack_step(cx: &mut StepContext, task: &aite_task::Postprocess, out: &mut StepOutput) -> Result<()> {
    use aite_robustness::attack::{DetectorAttackSettings, DetectorGoal};
    use aite_robustness::corruption::detection::DetectionFrame;
    let plan = cx.plan;
    let why = "the terminal's task is a detector: classifier attacks read a top-1; its attack is the vanishing attack (detector_attack_square_linf)";
    for suite in ["attack_square_linf", "attack_spsa_linf", "attack_noise_linf", "attack_worst_case"] {
        out.suite(suite, &serde_json::json!({ "status": "not-applicable", "why": why }))?;
    }
    if !needed_suites(&plan.profile).contains("detector_attack_square_linf") {
        return Ok(());
    }
    cx.dataset().map_err(|e| not_run(e.0))?;
    // The bounded default, lowered (never raised) by [suites.robustness].attack_frames / attack_budget.
    let d = super::robustness::DETECTOR_ATTACK_DEFAULT;
    let d = super::robustness::DetectorAttackDefault { frames: d.frames.min(plan.robustness.attack_frames), queries: d.queries.min(plan.robustness.attack_budget), ..d };
    let spec = cx.spec()?;
    let frames: Vec<DetectionFrame> = cx.frames(d.frames)?.into_iter().map(|f| DetectionFrame { id: f.id.clone(), image: aite_robustness::corruption::image_to_rgb8(&f.image, spec.color) }).collect();
    let side = spec.geometry(&cx.frames(1)?[0].image).map(|g| g.width.min(g.height))?;
    let attack = AttackSettings { budget: d.queries, epsilon: plan.robustness.epsilon_255 / 255.0, ..AttackSettings::autoattack(AttackKind::SquareLinf, side) };
    let settings = DetectorAttackSettings { goal: DetectorGoal::Vanish, attack };
    settings.validate()?;
    if !cx.quiet {
        eprintln!("  vanishing attack (detector default): {} queries per frame and its noise baseline, {} frames, L-inf {}/255", d.queries, frames.len(), plan.robustness.epsilon_255);
    }
    let identity = serde_json::json!({ "task": task.spec(), "target": cx.deployed()?.info() });
    let (cancel, quiet, state) = (cx.cancel.clone(), cx.quiet, cx.folder.path().join(STATE));
    let (report, _) = super::robustness::run_detector_attack_checkpointed(cx.deployed()?, &spec, task, &frames, &settings, (0, 1), &identity, &state, false, &cancel, quiet)?;
    out.suite("detector_attack_square_linf", &report)?;
    out.file(cx.folder, "detector_attack_square_linf", "detector-attack-square-linf.csv", &report.records_csv())?;
    Ok(())
}

/// The OCR step of an OCR terminal: the pipeline of `[target].model` (text detector), `.rec`
/// and `.cls` reads the dataset's images and [`super::ocr::measure`] writes the `ocr_*` suites
/// the profile reads, as `aite ocr` does: `ocr_accuracy` against `[dataset].labels` (PaddleOCR
/// Label.txt), consistency on `consistency_frames`, the sweep of `[suites.robustness]`
/// corruptions and severities on `corruption_frames`, the attack on `attack_frames`.
fn ocr_step(cx: &mut StepContext, spec: &aite_task::OcrSpec, out: &mut StepOutput) -> Result<()> {
    use super::ocr::{measure, select_images, OcrConsistency, OcrReference, OcrSuites};
    let plan = cx.plan;
    let (det, rec) = ocr_models(plan)?;
    let ds = cx.dataset().map_err(|e| not_run(e.0))?;
    let needed = needed_suites(&plan.profile);
    let wants = |s: &str| needed.contains(s);
    let r = &plan.robustness;
    let disabled = "disabled in the configuration ([suites.robustness] enabled = false)";
    let mut results = Results::new("run", Value::Null);
    let labels = plan.labels.as_deref().map(aite_task::OcrLabels::read).transpose()?;
    let accuracy = wants("ocr_accuracy") && labels.is_some();
    if wants("ocr_accuracy") && labels.is_none() {
        results.suite_not_run("ocr_accuracy", "no [dataset].labels: character accuracy needs PaddleOCR labels (Label.txt), as `aite ocr --labels`");
    }
    let consistency = ["ocr_repeatability", "ocr_batch_invariance", "ocr_agreement", "ocr_degenerate_frames"].iter().any(|s| wants(s));
    let corruptions = wants("ocr_corruptions");
    let attack = wants("ocr_attack");
    if !r.enabled {
        for suite in ["ocr_repeatability", "ocr_batch_invariance", "ocr_agreement", "ocr_degenerate_frames", "ocr_corruptions", "ocr_attack"].into_iter().filter(|s| wants(s)) {
            results.suite_not_run(suite, disabled);
        }
    }
    let (consistency, corruptions, attack) = (consistency && r.enabled, corruptions && r.enabled, attack && r.enabled);
    let sweep = if corruptions {
        let kinds = CorruptionKind::parse_list(&r.corruptions).map_err(|e| anyhow::anyhow!("[suites.robustness].corruptions: {e}"))?;
        Some((OcrSweepOptions { kinds, severities: r.severities.clone(), table: None, seed: 0 }, r.corruption_frames))
    } else {
        None
    };
    if !(accuracy || consistency || corruptions || attack) {
        out.suites.extend(results.suites);
        return Ok(());
    }
    // The images: the dataset's, each labelled in [dataset].labels when there are labels.
    let given: Vec<(String, PathBuf)> = ds
        .samples
        .iter()
        .map(|s| match &s.source {
            aite_data::SampleSource::File(p) => Ok((s.id.clone(), p.clone())),
            aite_data::SampleSource::Bytes(_) => Err(anyhow::anyhow!("{}: an OCR terminal reads image files", s.id)),
        })
        .collect::<Result<_>>()?;
    let images = select_images(labels.as_ref(), &given)?;
    let count = if accuracy { images.len() } else { [consistency.then_some(r.consistency_frames), sweep.as_ref().map(|s| s.1), attack.then_some(r.attack_frames)].into_iter().flatten().max().unwrap_or(1).max(1) };
    if let Some(l) = &labels {
        out.inputs.push(InputArtifact { role: "ocr-labels".into(), name: l.source.display().to_string(), sha256: aite_engine::sha256_file(&l.source)?, count: Some(l.images.len()) });
    }
    let mut deployed = super::ocr::pipeline_on(spec.clone(), &det, &rec, plan.ocr.cls.as_deref(), plan.engine, plan.threads.max(1))?;
    let (cancel, quiet) = (cx.cancel.clone(), cx.quiet);
    let pb = bar(count.min(images.len()) as u64, "ocr", quiet);
    let (mut frames, mut read) = (vec![], vec![]);
    // The first `count` images that decode; the others met on the way are named in the evidence.
    let mut undecodable = vec![];
    for (name, path) in &images {
        if frames.len() >= count {
            break;
        }
        match super::ocr::read_image(name, path, frames.len())? {
            Ok(frame) => {
                if accuracy {
                    read.push(deployed.read(&frame).with_context(|| format!("OCR of {}", path.display()))?);
                }
                frames.push((name.clone(), frame));
                pb.inc(1);
            }
            Err(skipped) => undecodable.push(skipped),
        }
        if cancel.is_cancelled() {
            return Ok(());
        }
    }
    pb.finish_and_clear();
    warn_skipped(&undecodable);
    if frames.is_empty() {
        return Err(super::ocr::no_image_decoded(&undecodable));
    }
    let labelled = labels.as_ref().map(|l| frames.iter().map(|(name, _)| l.images.iter().find(|i| &i.name == name).cloned().expect("every image was found in the labels")).collect::<Vec<_>>());
    // The reference pipeline aite.toml declares; without one agreement is not checked (NOT_TESTED,
    // as a classifier's without [target].reference_model).
    let reference = match (&plan.ocr.reference, consistency) {
        (Some(r), true) => {
            let (rdet, rrec, rcls) = (r.det.clone().unwrap_or_else(|| det.clone()), r.rec.clone().unwrap_or_else(|| rec.clone()), r.cls.clone().or_else(|| plan.ocr.cls.clone()));
            for (key, path) in [("reference_model", Some(&rdet)), ("reference_rec", Some(&rrec)), ("reference_cls", rcls.as_ref())] {
                if let Some(p) = path.filter(|p| !p.is_file()) {
                    anyhow::bail!("[target].{key} {}: no such file", p.display());
                }
            }
            // A reference on the same engine with the same files is the deployed pipeline: agreeing
            // with it examines nothing.
            let same = |a: Option<&Path>, b: Option<&Path>| -> Result<bool> {
                Ok(match (a, b) {
                    // Signatures beside either file are not the pipeline: not compared.
                    (Some(a), Some(b)) => crate::common::same_model_files(&[model_artifacts(a, "reference")?, model_artifacts(b, "deployed")?].concat(), "deployed", "reference"),
                    (a, b) => a.is_none() && b.is_none(),
                })
            };
            if r.engine == plan.engine && same(Some(&rdet), Some(&det))? && same(Some(&rrec), Some(&rec))? && same(rcls.as_deref(), plan.ocr.cls.as_deref())? {
                OcrReference::NotRun(format!("the reference is the deployed pipeline (same engine, same files): declare a different engine or model ([target].reference_engine, reference_model, reference_rec or reference_cls; both are {} on {})", rrec.display(), r.engine.name()))
            } else {
                let pipeline = super::ocr::pipeline_on(spec.clone(), &rdet, &rrec, rcls.as_deref(), r.engine, plan.threads.max(1)).context("cannot build the reference OCR pipeline")?;
                OcrReference::Pipeline(pipeline, (format!("{} on {}", rrec.display(), r.engine.name()), format!("{} on {}", rec.display(), plan.engine.name())))
            }
        }
        _ => OcrReference::NotRun("no reference pipeline declared in aite.toml: [target].reference_engine, reference_model (its text detector), reference_rec or reference_cls declares one".into()),
    };
    let suites = OcrSuites {
        labels: plan.labels.as_deref().zip(labelled),
        accuracy,
        // An interrupted read returns above: every image was read or is undecodable.
        not_read: vec![],
        undecodable,
        consistency: consistency.then(|| OcrConsistency {
            repeats: r.repeats,
            frames: r.consistency_frames,
            reference,
        }),
        corruptions: sweep,
        attack: attack.then(|| (OcrAttackSettings { epsilon: r.epsilon_255 / 255.0, budget: r.attack_budget, p_init: 0.8, seed: 0, lines_per_frame: 1 }, r.attack_frames)),
        seed: 0,
    };
    let say = |line: String| {
        if !quiet {
            eprintln!("      {line}");
        }
    };
    let measured = measure(&mut deployed, &frames, &read, suites, &mut results, &cancel, quiet, &say)?;
    for (suite, name, bytes) in measured.files {
        out.file(cx.folder, suite, &name, &bytes)?;
    }
    out.suites.extend(results.suites);
    Ok(())
}

/// `model-<stem>.json`: what `aite inspect` says of a model the run loaded, named as
/// results.json `inputs[]` names it (the reports draw the architecture from it).
fn write_model_facts(folder: &RunFolder, source: &ModelSource) -> Result<()> {
    let (report, name, stem) = match source {
        ModelSource::File(p) => {
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
            (aite_engine::inspect(p)?, p.display().to_string(), stem)
        }
        ModelSource::Remote(_) => return Ok(()),
        ModelSource::Embedded { name, bytes } => {
            let dir = tempfile::tempdir().context("cannot create a temporary folder to inspect the embedded model")?;
            let file = dir.path().join(name);
            std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
            let mut report = aite_engine::inspect(&file)?;
            report.path = name.to_string();
            (report, format!("reference:{name}"), name.trim_end_matches(".onnx").trim_end_matches(".tflite").to_string())
        }
    };
    let mut v = serde_json::to_value(&report)?;
    v["name"] = Value::String(name);
    let safe: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    folder.write_json(&format!("model-{safe}.json"), &v)?;
    Ok(())
}

fn clone_frame(f: &LoadedFrame) -> LoadedFrame {
    LoadedFrame { id: f.id.clone(), label: f.label, bytes: f.bytes.clone(), image: f.image.clone(), decoder: f.decoder.clone() }
}

/// An unfinished package in `out` for this configuration digest, made by this
/// aite build on this machine, newest first. One of another build or machine is
/// left as it is, and said so unless `quiet`.
fn find_unfinished(out: &Path, digest: &str, build: &Value, quiet: bool) -> Option<(PathBuf, StateHeader)> {
    let mut found: Vec<(PathBuf, StateHeader)> = std::fs::read_dir(out)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let text = std::fs::read(e.path().join(STATE).join("plan.json")).ok()?;
            let h: StateHeader = serde_json::from_slice(&text).ok()?;
            if h.digest != digest {
                return None;
            }
            if &h.build != build {
                if !quiet {
                    eprintln!("not resuming {}: its finished steps were measured by another aite build or on another machine; starting a new package", e.path().display());
                }
                return None;
            }
            Some((e.path(), h))
        })
        .collect();
    found.sort_by(|a, b| b.1.started_at.cmp(&a.1.started_at));
    found.into_iter().next()
}

fn digest_of(plan: &Plan, inputs: &[InputArtifact]) -> String {
    let mut text = format!("{}\n{}\n{}\n", env!("CARGO_PKG_VERSION"), plan.config, plan.profile.sha256);
    for i in inputs {
        text.push_str(&format!("{} {}\n", i.role, i.sha256));
    }
    aite_engine::sha256_bytes(text.as_bytes())
}

/// Run `plan`, assess it and write the package. Returns the exit code: the
/// overall verdict's (see `aite --help`), or 130 when interrupted.
pub fn execute(plan: Plan, opts: RunOptions, cancel: &Cancel) -> Result<(u8, PathBuf, Assessment)> {
    let quiet = opts.json;
    // A key or signer that cannot sign is found now, not after an hour of measuring.
    if let Some((key, signer)) = &opts.sign {
        aite_evidence::attest::load_signing_key(key)?;
        aite_evidence::attest::SignerIdentity::parse(signer)?;
    }
    let mut inputs = plan.model.artifacts("model")?;
    if let Some(r) = &plan.reference {
        inputs.extend(r.artifacts("reference-model")?);
    }
    let reference = plan.ocr.reference.as_ref();
    for (role, path) in [("ocr-rec", &plan.ocr.rec), ("ocr-cls", &plan.ocr.cls), ("reference-ocr-rec", &reference.and_then(|r| r.rec.clone())), ("reference-ocr-cls", &reference.and_then(|r| r.cls.clone()))] {
        if let Some(p) = path.as_ref().filter(|p| p.is_file()) {
            inputs.extend(model_artifacts(p, role)?);
        }
    }
    if let Some(ds) = &plan.dataset {
        inputs.push(dataset_artifact(ds));
    }
    inputs.push(InputArtifact { role: "profile".into(), name: plan.profile.source.clone(), sha256: plan.profile.sha256.clone(), count: None });
    let digest = digest_of(&plan, &inputs);
    std::fs::create_dir_all(&opts.out).with_context(|| format!("cannot create {}", opts.out.display()))?;
    let build = build_identity();
    let resumed = if opts.fresh { None } else { find_unfinished(&opts.out, &digest, &build, quiet) };
    let (folder, header) = match resumed {
        Some((path, header)) => (RunFolder::open(&path)?, header),
        None => {
            let folder = RunFolder::create(&opts.out, plan.command)?;
            let header = StateHeader { digest: digest.clone(), started_at: aite_evidence::now_rfc3339(), build };
            let state = folder.path().join(STATE);
            std::fs::create_dir_all(state.join("steps")).with_context(|| format!("cannot create {}", state.display()))?;
            aite_evidence::write_atomic(&state.join("plan.json"), &serde_json::to_vec_pretty(&header)?)?;
            (folder, header)
        }
    };
    let state = folder.path().join(STATE).join("steps");
    let needed = needed_suites(&plan.profile);
    let ocr = matches!(plan.task, Some(aite_task::TaskSpec::Ocr(_)));
    let steps: Vec<Step> = STEPS
        .iter()
        .copied()
        .filter(|s| match s {
            Step::Detector => plan.detector.is_some(),
            Step::Ocr => ocr && s.suites().iter().any(|x| needed.contains(*x)),
            _ => s.suites().iter().any(|x| needed.contains(*x)),
        })
        .collect();
    let mut done: BTreeMap<Step, StepOutput> = BTreeMap::new();
    for s in &steps {
        if let Ok(text) = std::fs::read(state.join(format!("{}.json", s.name()))) {
            if let Ok(o) = serde_json::from_slice::<StepOutput>(&text) {
                done.insert(*s, o);
            }
        }
    }
    if !quiet {
        if done.is_empty() {
            eprintln!("aite {}: {} suites for profile {} {} -> {}", plan.command, steps.len(), plan.profile.id, plan.profile.version, folder.path().display());
        } else {
            let names: Vec<&str> = done.keys().map(|s| s.name()).collect();
            eprintln!("resuming {}: {} already done ({})", folder.path().display(), names.len(), names.join(", "));
        }
    }
    let options = EngineOptions { threads: plan.threads.max(1), batch: 1, input_shape: None };
    // The classifier's and detector's reference runs on the deployed engine (an OCR terminal's
    // reference pipeline is checked by its own step).
    let ocr_terminal = matches!(plan.task, Some(aite_task::TaskSpec::Ocr(_)));
    let reference_is_deployed = !ocr_terminal && plan.reference.is_some() && crate::common::same_model_files(&inputs, "model", "reference-model");
    if reference_is_deployed && !quiet {
        eprintln!("note: {REFERENCE_IS_DEPLOYED}");
    }
    let mut cx = StepContext { plan: &plan, folder: &folder, cancel, quiet, options, deployed: None, reference: None, spec: None, frames: None, skipped_frames: vec![], skipped: vec![], ocr_read_coverage: None, reference_is_deployed };
    let mut failed: BTreeMap<Step, (bool, String)> = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        if done.contains_key(step) {
            continue;
        }
        if cancel.is_cancelled() {
            break;
        }
        if !quiet {
            eprintln!("[{}/{}] {}", i + 1, steps.len(), step.name());
        }
        let started = Instant::now();
        match run_step(*step, &mut cx) {
            Ok(mut o) => {
                o.seconds = started.elapsed().as_secs_f64();
                cx.record_frame_coverage(*step, &mut o);
                if o.interrupted() || cancel.is_cancelled() {
                    break;
                }
                aite_evidence::write_atomic(&state.join(format!("{}.json", step.name())), &serde_json::to_vec(&o)?)?;
                if !quiet {
                    eprintln!("      done in {:.1} s", o.seconds);
                }
                done.insert(*step, o);
            }
            Err(e) => {
                let not_run = e.downcast_ref::<NotRun>().is_some();
                let msg = crate::render_chain(&e).replace('\n', " ");
                if !quiet {
                    eprintln!("      {}: {msg}", if not_run { "not run" } else { "ERROR" });
                }
                failed.insert(*step, (not_run, msg));
            }
        }
    }
    for s in cx.skipped_frames.iter().take(3) {
        eprintln!("warning: skipped {s}");
    }
    let interrupted = cancel.is_cancelled() || steps.iter().any(|s| !done.contains_key(s) && !failed.contains_key(s));

    // Assemble results.json from every step, finished now or before.
    let target_info = match cx.deployed.as_ref() {
        Some(t) => serde_json::to_value(t.info())?,
        None => serde_json::json!({ "model": inputs.first().map(|i| i.name.clone()) }),
    };
    let mut results = Results::new(plan.command, target_info);
    results.started_at = header.started_at.clone();
    results.run_id = folder.path().file_name().map(|n| n.to_string_lossy().into_owned());
    results.inputs = inputs;
    results.declared = plan.declared.clone();
    // The frames decoded this time (a resumed run whose frame steps were done before has none).
    if let Some(frames) = &cx.frames {
        results.decoders = Some(serde_json::to_value(decoder_tally(frames))?);
    }
    for (step, o) in &done {
        results.suites.extend(o.suites.clone());
        results.files.extend(o.files.clone());
        for i in &o.inputs {
            if !results.inputs.contains(i) {
                results.inputs.push(i.clone());
            }
        }
        let _ = step;
    }
    // The OCR suites are the OCR step's (Step::Ocr); a terminal that is not OCR reads no text.
    if !ocr {
        for suite in needed.iter().filter(|s| s.starts_with("ocr_")) {
            results.suites.entry(suite.clone()).or_insert(serde_json::json!({ "status": "not-applicable", "why": "the terminal's task is not OCR: it reads no text" }));
        }
    }
    // A terminal that is not a detector: the detector suites do not apply (unless the demo's
    // reference detector, Step::Detector, measures them).
    if plan.detector.is_none() && !matches!(plan.task, Some(aite_task::TaskSpec::Detector(_))) {
        let what = if matches!(plan.task, Some(aite_task::TaskSpec::Ocr(_))) { "OCR" } else { "a classifier" };
        for suite in ["detection_accuracy", "detection_corruptions"].into_iter().filter(|s| needed.contains(*s)) {
            results.suites.entry(suite.to_string()).or_insert(serde_json::json!({ "status": "not-applicable", "why": format!("the terminal's task is {what}: it finds no boxes, so it has no COCO AP or mPC/rPC") }));
        }
    }
    for (step, (not_run, msg)) in &failed {
        // A suite another finished step measured (the demo's detector attack) is kept.
        let left: Vec<&str> = step.suites().iter().copied().filter(|s| (needed.contains(*s) || *step == Step::Detector) && !results.suites.contains_key(*s)).collect();
        for suite in left {
            if *not_run {
                results.suite_not_run(suite, msg);
            } else {
                results.suite_error(suite, msg);
            }
        }
    }
    results.finish(if interrupted { RunStatus::Interrupted } else { RunStatus::Complete });
    let steps_json: BTreeMap<&str, Value> = steps
        .iter()
        .map(|s| {
            let v = match (done.get(s), failed.get(s)) {
                (Some(o), _) => serde_json::json!({ "status": "done", "seconds": o.seconds }),
                (None, Some((true, m))) => serde_json::json!({ "status": "not-run", "why": m }),
                (None, Some((false, m))) => serde_json::json!({ "status": "error", "error": m }),
                _ => serde_json::json!({ "status": "interrupted" }),
            };
            (s.name(), v)
        })
        .collect();
    let mut config = plan.config.clone();
    if let Some(m) = config.as_object_mut() {
        m.insert("steps".into(), serde_json::to_value(&steps_json)?);
        m.insert("profile".into(), serde_json::json!({ "id": plan.profile.id, "version": plan.profile.version, "source": plan.profile.source, "sha256": plan.profile.sha256 }));
        if let Some(s) = &cx.spec {
            m.insert("preprocess".into(), serde_json::to_value(s)?);
        }
    }
    folder.write_json("config.json", &config)?;
    folder.write_json("environment.json", &Environment::capture())?;
    folder.write_json("results.json", &results)?;
    let results_value = serde_json::to_value(&results)?;
    let assessment = aite_assessment::assess(&plan.profile, &results_value);
    folder.write_json("assessment.json", &assessment)?;
    // Architecture facts and the reports are pure functions of the package: a
    // failure here leaves the evidence intact and says so.
    for (role, source) in std::iter::once(("model", &plan.model)).chain(plan.reference.as_ref().map(|r| ("reference-model", r))) {
        if let Err(e) = write_model_facts(&folder, source) {
            eprintln!("warning: no architecture facts for the {role}: {}", crate::render_chain(&e));
        }
    }
    crate::common::write_wrapper_stderr(&folder)?;
    // The manifest first, so the report's manifest section matches what a later
    // `aite report` of this package renders; then again with the reports in it.
    folder.finish()?;
    let render = aite_report::RenderOptions { pdf: !interrupted, template: None };
    match aite_report::render_package(folder.path(), &render) {
        Ok(files) => {
            for f in files {
                folder.write_bytes(&f.name, &f.bytes)?;
            }
        }
        Err(e) => eprintln!("warning: reports not rendered ({e}); `aite report {}` retries", folder.path().display()),
    }
    if aite_report::find_browser().is_none() && !quiet && !interrupted {
        eprintln!("note: no Chromium on PATH, so no report.pdf (install chromium-headless-shell, then `aite report {} --pdf`)", folder.path().display());
    }
    folder.finish()?;
    if interrupted {
        eprintln!("interrupted: {} written with what ran; run the same command again to resume ({} step(s) left)", folder.path().display(), steps.iter().filter(|s| !done.contains_key(s)).count());
        return Ok((Exit::Interrupted as u8, folder.path().to_path_buf(), assessment));
    }
    // The package is complete: it is no longer resumable.
    let _ = std::fs::remove_dir_all(folder.path().join(STATE));
    if let Some((key, signer)) = &opts.sign {
        let envelope = aite_evidence::attest::sign_package(folder.path(), key, signer).with_context(|| format!("cannot sign {}", folder.path().display()))?;
        if !quiet {
            eprintln!("signed: {}", envelope.display());
        }
    }
    if opts.record_history {
        match super::history::record(folder.path(), opts.db.as_deref()) {
            Ok(Some(id)) if !quiet => eprintln!("history: recorded as run {id}"),
            Ok(_) => {}
            Err(e) => eprintln!("warning: the run was not recorded in the history database: {}", crate::render_chain(&e)),
        }
    }
    Ok((assessment.overall.exit_code(), folder.path().to_path_buf(), assessment))
}

/// Print the gap analysis first, then the measurement tables and the package
/// location; with `--json`, assessment.json only.
pub fn print_summary(assessment: &Assessment, dir: &Path, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(assessment)?);
        return Ok(());
    }
    print!("{}", aite_report::gap::render(assessment));
    let path = dir.join("results.json");
    let results: Results = serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?)
        .with_context(|| format!("{} is not a results document", path.display()))?;
    println!("\nMEASUREMENTS");
    print!("{}", aite_report::Renderer::render(&aite_report::TerminalRenderer, &results));
    println!("evidence: {}", dir.display());
    Ok(())
}

/// Open a shipped profile by name, else a profile file.
pub fn open_profile(name: &str) -> Result<Profile> {
    if aite_assessment::profile::shipped_text(name).is_some() {
        return Ok(aite_assessment::shipped(name)?);
    }
    let path = Path::new(name);
    if !path.exists() {
        anyhow::bail!("profile `{name}` is neither a shipped profile ({}) nor a file", aite_assessment::profile::shipped_names().join(", "));
    }
    Ok(aite_assessment::load(path)?)
}

/// `aite run -c aite.toml`
pub fn command(a: crate::cli::RunArgs, cancel: &Cancel) -> Result<u8> {
    let c = crate::config::RunConfig::load(&a.config)?;
    let profile = open_profile(&c.profile).with_context(|| format!("profile of {}", a.config.display()))?;
    let dataset = match &c.dataset {
        Some(d) => {
            let mut ds = Dataset::open(&d.path)?;
            if let Some(n) = d.limit {
                ds.truncate(n);
            }
            Some(ds)
        }
        None => None,
    };
    let mut periodic = c.suites.periodic.clone();
    periodic.fps = c.fps();
    let plan = Plan {
        command: "run",
        config: {
            let mut lab = serde_json::to_value(&c.lab)?;
            lab["signer"] = serde_json::json!(a.sign.signer);
            serde_json::json!({ "command": "run", "config_file": a.config, "config": c, "lab": lab })
        },
        declared: c.declared_json(),
        profile,
        engine: engine_of(c.target.engine),
        threads: c.target.threads,
        batch: c.target.batch,
        model: match (&c.target.url, &c.target.model) {
            (Some(url), _) => ModelSource::Remote(url.clone()),
            (None, model) => ModelSource::File(model.clone().unwrap_or_default()),
        },
        reference: c.target.reference_model.clone().map(ModelSource::File),
        dataset,
        preprocess: c.dataset.as_ref().and_then(|d| d.preprocess.clone()),
        spec: None,
        latency: c.suites.latency.clone(),
        periodic,
        robustness: c.suites.robustness.clone(),
        security: c.suites.security.clone(),
        image: c.suites.security.image.clone().map(ImageSource::File),
        network: c.suites.network.clone(),
        probe: c.suites.network.target.clone().map(ProbeTarget::Address),
        task: c.dataset.as_ref().map(|d| d.task_spec()).transpose().map_err(|e| anyhow::anyhow!("{}: [dataset].task: {e}", a.config.display()))?.flatten(),
        labels: c.dataset.as_ref().and_then(|d| d.labels.clone()),
        detector: None,
        ocr: OcrModels {
            rec: c.target.rec.clone(),
            cls: c.target.cls.clone(),
            reference: [c.target.reference_model.is_some(), c.target.reference_rec.is_some(), c.target.reference_cls.is_some(), c.target.reference_engine.is_some()].contains(&true).then(|| OcrReferenceModels {
                det: c.target.reference_model.clone(),
                rec: c.target.reference_rec.clone(),
                cls: c.target.reference_cls.clone(),
                engine: engine_of(c.target.reference_engine.unwrap_or(c.target.engine)),
            }),
        },
    };
    let opts = RunOptions {
        out: a.out.unwrap_or(c.out.clone()),
        json: a.json,
        fresh: a.fresh,
        sign: match (a.sign.sign, a.sign.signer) {
            (Some(k), Some(s)) => Some((k, s)),
            (Some(_), None) => anyhow::bail!("--sign needs --signer \"Name, Role\": the signer's identity is part of the signed statement"),
            _ => None,
        },
        db: a.history.db,
        record_history: !a.history.no_history,
    };
    let (code, dir, assessment) = execute(plan, opts, cancel)?;
    print_summary(&assessment, &dir, a.json)?;
    Ok(code)
}

/// `--profile P` on a single-suite command: judge what the run in `dir`
/// measured (requirements of other suites out of scope), write assessment.json,
/// print the gap analysis; `Some(exit code)` when a profile was given.
pub fn judge(with: &crate::cli::AssessWith, dir: &Path, json: bool) -> Result<Option<u8>> {
    let Some(name) = &with.profile else { return Ok(None) };
    let profile = open_profile(name)?;
    let path = dir.join("results.json");
    let results: Value = serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?)?;
    let assessment = aite_assessment::assess_scoped(&profile, &results);
    let folder = RunFolder::open(dir)?;
    folder.write_json("assessment.json", &assessment)?;
    folder.finish()?;
    if !json {
        print!("\n{}", aite_report::gap::render(&assessment));
    }
    // Stopped by Ctrl-C: 130 as without --profile; the verdict (never PASS then) is in assessment.json.
    if results.get("status").and_then(Value::as_str) == Some("interrupted") {
        return Ok(Some(Exit::Interrupted as u8));
    }
    Ok(Some(assessment.overall.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_command_stopped_by_ctrl_c_exits_130_with_a_verdict_that_is_not_pass() {
        let dir = tempfile::tempdir().unwrap();
        let folder = RunFolder::create(dir.path(), "robustness").unwrap();
        let mut results = Results::new("robustness", serde_json::json!({ "name": "m" }));
        results.add_suite("repeatability", &serde_json::json!({ "identical": true, "samples": 20, "repeats": 3, "max_abs_diff": 0.0, "top1_flips": 0, "non_finite_answers": 0 }));
        let with = crate::cli::AssessWith { profile: Some("reference-terminal".into()) };
        for (status, code) in [(RunStatus::Complete, None), (RunStatus::Interrupted, Some(Exit::Interrupted as u8))] {
            results.finish(status);
            folder.write_json("results.json", &results).unwrap();
            let got = judge(&with, folder.path(), true).unwrap();
            let a: Value = serde_json::from_slice(&std::fs::read(folder.path().join("assessment.json")).unwrap()).unwrap();
            match code {
                None => assert_eq!((got, a["overall"].as_str()), (Some(0), Some("PASS")), "complete: judged on what it measured"),
                Some(c) => assert_eq!((got, a["overall"].as_str()), (Some(c), Some("NOT_TESTED")), "interrupted: 130, never PASS"),
            }
        }
    }
}

/// `aite assess DIR --profile P`: re-assess a package's results.json.
pub fn assess_command(a: crate::cli::AssessArgs) -> Result<u8> {
    let profile = open_profile(&a.profile)?;
    let path = a.package.join("results.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {} (is {} an evidence package?)", path.display(), a.package.display()))?;
    let results: Value = serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?;
    let assessment = aite_assessment::assess(&profile, &results);
    let folder = RunFolder::open(&a.package)?;
    folder.write_json("assessment.json", &assessment)?;
    folder.finish()?;
    print_summary(&assessment, &a.package, a.json)?;
    Ok(assessment.overall.exit_code())
}
