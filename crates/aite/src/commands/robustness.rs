//! `aite robustness`: failure-mode consistency checks, corruption sweeps and attacks on real
//! frames, with checkpoints and shards; `aite merge`: shards back into one run.

use crate::cli::{MergeArgs, ModelArgs, RobustnessArgs};
use crate::common::*;
use crate::exit::Exit;
use aite_data::PreprocessSpec;
use aite_evidence::{Results, RunStatus};
use aite_robustness::corruption::{corruption_sweep, merge_reports, CorruptAt, CorruptionCell, CorruptionReport, LabeledFrame, SweepOptions};
use aite_robustness::attack::{AttackRecord, AttackReport};
use aite_robustness::attack::{merge_detector_attack_reports, run_detector_attack_shard, DetectorAttackRecord, DetectorAttackReport, DetectorAttackSettings, DetectorGoal};
use aite_robustness::{merge_attack_reports, run_attack_shard, AttackKind, AttackSettings, Channel};
use aite_robustness::{agreement, batch_invariance, degenerate_frames_where, metamorphic_flips, repeatability, Checkpoint, CorruptionKind, FrameVerdict, MetamorphicRelation, ParameterTable};
use aite_robustness::{degenerate_detection_limit, detection_agreement, detection_batch_invariance, detection_repeatability, detector_degenerate_frames_where};
use aite_robustness::{merge_consistency, ConsistencyPart, ConsistencyShard, CONSISTENCY_SHARD_SUITE};
use aite_target::{Cancel, Dim, Target};
use aite_robustness::corruption::detection::{clean_detections, DetectionFrame, DetectionGroundTruth, DETECTION_BOOTSTRAP_RESAMPLES};
use aite_robustness::corruption::image_to_rgb8;
use aite_task::{Postprocess, TaskSpec};
use anyhow::{Context, Result};

/// Run every consistency check that applies and add it to `results`.
/// Returns whether every check passed.
pub fn consistency_suites(
    results: &mut Results,
    deployed: &mut dyn Target,
    reference: Option<&mut dyn Target>,
    batched: Option<(&mut dyn Target, usize)>,
    spec: &PreprocessSpec,
    frames: &[(String, aite_data::Image)],
    repeats: usize,
    seed: u64,
) -> Result<bool> {
    consistency_shard_suites(results, deployed, reference, batched, spec, None, frames, repeats, seed, 0, (0, 1))
}

/// The consistency suites of a detector, on its decoded detections: repeatability, batch
/// invariance, agreement with the reference (boxes matched at IoU 0.5) and degenerate frames
/// (number of detections against `limit`). Metamorphic flips read a top-1 and are not run.
/// Returns whether every check passed.
pub fn detector_consistency_suites(
    results: &mut Results,
    deployed: &mut dyn Target,
    reference: Option<&mut dyn Target>,
    batched: Option<(&mut dyn Target, usize)>,
    spec: &PreprocessSpec,
    task: &Postprocess,
    frames: &[(String, aite_data::Image)],
    repeats: usize,
    seed: u64,
    limit: usize,
) -> Result<bool> {
    consistency_shard_suites(results, deployed, reference, batched, spec, Some(task), frames, repeats, seed, limit, (0, 1))
}

/// The consistency checks on the part of `frames` that `shard` owns ([`ConsistencyShard::plan`]:
/// sample `i` in shard `i mod N`, batch group `k` in shard `k mod N`, degenerate frame `k` in
/// shard `k mod N`); a sharded run also records the `consistency_shard` suite `aite merge` needs.
/// A detector (`task`) is checked on its decoded detections. Returns whether every check run passed.
pub fn consistency_shard_suites(
    results: &mut Results,
    deployed: &mut dyn Target,
    reference: Option<&mut dyn Target>,
    batched: Option<(&mut dyn Target, usize)>,
    spec: &PreprocessSpec,
    task: Option<&Postprocess>,
    frames: &[(String, aite_data::Image)],
    repeats: usize,
    seed: u64,
    limit: usize,
    shard: (usize, usize),
) -> Result<bool> {
    let ids: Vec<String> = frames.iter().map(|f| f.0.clone()).collect();
    let plan = ConsistencyShard::plan(shard, &ids, batched.as_ref().map(|b| b.1));
    let pick = |at: &[usize]| -> Vec<(String, aite_data::Image)> { at.iter().map(|&i| frames[i].clone()).collect() };
    let mine = pick(&plan.examined);
    let mut part = ConsistencyPart::default();
    let mut ok = true;
    if !mine.is_empty() {
        match task {
            Some(task) => {
                let rep = detection_repeatability(deployed, spec, task, &mine, repeats)?;
                ok &= rep.count_mismatches == 0 && rep.non_finite_answers == 0;
                part.detection_repeatability = Some(rep);
            }
            None => {
                let rep = repeatability(deployed, spec, &mine, repeats)?;
                // A NaN or infinite answer, even repeated identically, is no pass.
                ok &= rep.top1_flips == 0 && rep.non_finite_answers == 0;
                part.repeatability = Some(rep);
            }
        }
    }
    if let Some((batched, n)) = batched {
        // The single run's batches are `chunks_exact(n)` of all samples; a shard takes its groups.
        // Too few samples for one batch: every shard reports it as the single run does.
        let group = if shard.1 == 1 || frames.len() < n { frames.to_vec() } else { pick(&plan.batch_samples()) };
        if !group.is_empty() {
            match task {
                Some(task) => {
                    let b = detection_batch_invariance(deployed, batched, n, spec, task, &group, 1e-4)?;
                    ok &= b.within_tolerance;
                    part.detection_batch_invariance = Some(b);
                }
                None => {
                    let b = batch_invariance(deployed, batched, n, spec, &group, 1e-4)?;
                    ok &= b.within_tolerance;
                    part.batch_invariance = Some(b);
                }
            }
        }
    }
    if let (Some(reference), false) = (reference, mine.is_empty()) {
        match task {
            Some(task) => part.detection_agreement = Some(detection_agreement(reference, deployed, spec, task, &mine)?),
            None => part.agreement = Some(agreement(reference, deployed, spec, &mine)?),
        }
    }
    if !plan.degenerate_frames.is_empty() {
        let keep = |k: usize| aite_robustness::in_shard(k, shard);
        let degenerate = match task {
            Some(task) => detector_degenerate_frames_where(deployed, spec, task, &frames[0].1, seed, limit, &keep)?,
            None => degenerate_frames_where(deployed, spec, &frames[0].1, seed, &keep)?,
        };
        // A frame that was not run (not applicable) counts neither way.
        ok &= degenerate.iter().all(|d| d.verdict != FrameVerdict::NotGraceful);
        part.degenerate_frames = Some(degenerate);
    }
    if let (None, false) = (task, mine.is_empty()) {
        part.metamorphic = Some(metamorphic_flips(deployed, spec, &mine, &MetamorphicRelation::defaults())?);
    }
    part.shard = (shard.1 > 1).then_some(plan);
    part.place_samples();
    if let serde_json::Value::Object(suites) = serde_json::to_value(&part)? {
        for (name, suite) in suites {
            results.suites.insert(name, suite);
        }
    }
    Ok(ok)
}

/// The consistency suites that stand on the dataset's frames and record their `frame_coverage`
/// (the degenerate frames are built, not read: a skipped frame leaves them whole; `metamorphic`,
/// a list of relations no requirement reads, carries none).
pub const FRAME_SUITES: [&str; 6] = ["repeatability", "batch_invariance", "agreement", "detection_repeatability", "detection_batch_invariance", "detection_agreement"];

fn has_symbolic_batch(t: &dyn Target) -> bool {
    t.info().inputs.first().and_then(|i| i.shape.first()).is_some_and(|d| matches!(d, Dim::Symbolic(_)))
}

/// The corruption sweep's options from the command line (`corrupt_at`: `--corrupt-at`).
pub fn sweep_options(corruptions: &str, severities: &[u8], table: &str, corrupt_at: &str, seed: u64, shard: Option<&str>, alexnet: bool) -> Result<SweepOptions> {
    let kinds = CorruptionKind::parse_list(corruptions).map_err(|e| usage(format!("--corruptions: {e}")))?;
    let table = match table {
        "auto" => None,
        t => Some(t.parse::<ParameterTable>().map_err(|e| usage(format!("--table: {e}")))?),
    };
    let corrupt_at = corrupt_at.parse::<CorruptAt>().map_err(|e| usage(format!("--corrupt-at: {e}")))?;
    let shard = parse_shard(shard)?;
    let options = SweepOptions { kinds, severities: severities.to_vec(), table, seed, shard, alexnet, output_index: 0, corrupt_at, imagenet_c_jpeg: Default::default(), dataset: Default::default() };
    options.validate()?;
    Ok(options)
}

/// `--shard INDEX/COUNT`, `(0, 1)` without it.
pub fn parse_shard(shard: Option<&str>) -> Result<(usize, usize)> {
    let Some(text) = shard else { return Ok((0, 1)) };
    let parsed: Option<(usize, usize)> = text.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        Some((i, n)) => Err(anyhow::Error::new(aite_robustness::RobustnessError::Unsupported {
            check: "--shard",
            reason: format!("shard {i}/{n} does not exist"),
            hint: "shards are INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4".into(),
        })),
        None => Err(usage(format!("--shard `{text}` is not INDEX/COUNT (e.g. 0/4)"))),
    }
}

/// The consistency suites, split by sample across shards ([`consistency_shard_suites`]).
/// Packages of older aite ran them whole in shard 0 (no `consistency_shard` suite): the merge
/// takes those as they are.
use aite_robustness::consistency_shard::CONSISTENCY_SUITES;

fn usage(message: String) -> anyhow::Error {
    anyhow::Error::new(crate::exit::UsageError(message))
}

/// Whether the first output looks like an ImageNet classifier (1000 or 1001 classes).
pub fn imagenet_outputs(t: &dyn Target) -> bool {
    t.info().outputs.first().and_then(|o| o.shape.last()).is_some_and(|d| matches!(d, Dim::Fixed(1000) | Dim::Fixed(1001)))
}

/// Frames with labels, as the corruption sweep needs them.
pub fn labeled_frames(frames: &[LoadedFrame], color: aite_data::ColorOrder) -> Result<Vec<LabeledFrame>> {
    frames
        .iter()
        .map(|f| match f.label {
            Some(label) => Ok(LabeledFrame::from_image(f.id.clone(), label, &f.image, color)),
            None => Err(anyhow::Error::new(aite_data::DataError::Spec {
                reason: format!("sample {} has no label; corruption accuracy needs labels", f.id),
                hint: "use a labelled dataset (CSV manifest with a label column, or an ImageFolder tree), or --corruptions none".into(),
            })),
        })
        .collect()
}

/// The checkpoint `<out>/.checkpoints/<prefix>-<fingerprint>.jsonl` of the work
/// described by `key` (everything that determines its result), with the units
/// already done; `fresh` starts it over.
fn open_checkpoint<T: serde::de::DeserializeOwned>(out: &std::path::Path, prefix: &str, key: &serde_json::Value, fresh: bool) -> Result<(Checkpoint, Vec<T>, std::path::PathBuf)> {
    let fingerprint = aite_engine::sha256_bytes(key.to_string().as_bytes());
    let path = out.join(".checkpoints").join(format!("{prefix}-{}.jsonl", &fingerprint[..16]));
    if fresh && path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("cannot remove checkpoint {}", path.display()))?;
    }
    let (checkpoint, done) = Checkpoint::open::<T>(&path, &fingerprint)?;
    Ok((checkpoint, done, path))
}

/// Run `work` with a sink that appends each unit it finishes to `checkpoint` and advances a
/// progress bar named `what` (`len` units, `done` of them done before; `message` of a unit, if
/// any, shown on the bar). A failed append does not stop the work: the first one is the error
/// once it ends.
fn append_each<T: serde::Serialize, R>(
    checkpoint: &mut Checkpoint,
    (len, done): (usize, usize),
    what: &str,
    quiet: bool,
    message: impl Fn(&T) -> Option<String>,
    work: impl FnOnce(&mut dyn FnMut(&T)) -> Result<R, aite_robustness::RobustnessError>,
) -> Result<R> {
    let pb = bar(len as u64, what, quiet);
    pb.set_position(done as u64);
    let mut write_error = None;
    let out = work(&mut |unit| {
        pb.inc(1);
        if let Some(m) = message(unit) {
            pb.set_message(m);
        }
        if let Err(e) = checkpoint.append(unit) {
            write_error.get_or_insert(e);
        }
    })?;
    pb.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e.into());
    }
    Ok(out)
}

/// Run the sweep with a checkpoint named after everything that determines its result.
pub fn run_sweep(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    frames: &[LabeledFrame],
    options: &SweepOptions,
    identity: &serde_json::Value,
    out: &std::path::Path,
    fresh: bool,
    cancel: &Cancel,
    quiet: bool,
) -> Result<(CorruptionReport, std::path::PathBuf)> {
    let mut whole = options.clone();
    whole.shard = (0, 1);
    let key = serde_json::json!({ "identity": identity, "options": whole, "spec": spec, "frames": frames.iter().map(|f| &f.id).collect::<Vec<_>>() });
    let (mut checkpoint, done, path) = open_checkpoint::<CorruptionCell>(out, "robustness", &key, fresh)?;
    let mine = options.shard_cells();
    let done: Vec<CorruptionCell> = done.into_iter().filter(|c| mine.contains(&(c.corruption, c.severity))).collect();
    if !done.is_empty() && !quiet {
        eprintln!("resuming: {} of {} cells already done ({})", done.len(), mine.len(), path.display());
    }
    let progress = (mine.len(), done.len());
    let cell_name = |cell: &CorruptionCell| Some(format!("{} s{}", cell.corruption, cell.severity));
    let report = append_each(&mut checkpoint, progress, "corruptions", quiet, cell_name, |on_cell| corruption_sweep(target, spec, frames, options, done, cancel, on_cell))?;
    Ok((report, path))
}

/// An epsilon given as a number or a fraction such as `8/255`.
fn parse_eps(text: &str) -> Result<f32> {
    let value = match text.split_once('/') {
        Some((a, b)) => a.trim().parse::<f32>().ok().zip(b.trim().parse::<f32>().ok()).map(|(a, b)| a / b),
        None => text.trim().parse::<f32>().ok(),
    };
    value.filter(|v| v.is_finite()).ok_or_else(|| usage(format!("epsilon `{text}` is not a number or a fraction like 8/255")))
}

/// Attack settings for each requested attack, validated before any work starts.
pub fn attack_settings(a: &RobustnessArgs, side: usize) -> Result<Vec<AttackSettings>> {
    if a.attacks == "none" {
        return Ok(vec![]);
    }
    let kinds = AttackKind::parse_list(&a.attacks).map_err(|e| usage(format!("--attacks: {e}")))?;
    let channel: Channel = a.channel.parse().map_err(|e: String| usage(format!("--channel: {e}")))?;
    let eps_linf = a.eps_linf.as_deref().map(parse_eps).transpose()?;
    kinds
        .into_iter()
        .map(|kind| {
            let mut s = AttackSettings::autoattack(kind, side);
            s.seed = a.seed;
            s.channel = channel;
            s.budget = if matches!(kind, AttackKind::NoiseLinf | AttackKind::NoiseL2) { a.noise_queries } else { a.queries.unwrap_or(CLASSIFIER_ATTACK_QUERIES) };
            match kind.norm() {
                "linf" => s.epsilon = eps_linf.unwrap_or(s.epsilon),
                _ => s.epsilon = a.eps_l2.unwrap_or(s.epsilon),
            }
            s.validate()?;
            Ok(s)
        })
        .collect()
}

/// What the classifier and the detector attack differ in around their checkpoint: the
/// record type and how the checkpoint, the progress bar and the resume message name them.
trait CheckpointedAttack: serde::Serialize {
    type Record: serde::Serialize + serde::de::DeserializeOwned;
    /// The checkpoint key's field holding these settings.
    const KEY_FIELD: &'static str;
    /// What one record is about, in the resume message.
    const UNITS: &'static str;
    /// The attack's name in the progress bar and the resume message.
    fn name(&self) -> String;
    /// `<out>/.checkpoints/<prefix>-<fingerprint>.jsonl`.
    fn file_prefix(&self) -> String;
    fn index(record: &Self::Record) -> usize;
}

impl CheckpointedAttack for AttackSettings {
    type Record = AttackRecord;
    const KEY_FIELD: &'static str = "attack";
    const UNITS: &'static str = "samples";
    fn name(&self) -> String {
        self.kind.name().to_string()
    }
    fn file_prefix(&self) -> String {
        format!("attack-{}", self.kind.name())
    }
    fn index(record: &AttackRecord) -> usize {
        record.index
    }
}

impl CheckpointedAttack for DetectorAttackSettings {
    type Record = DetectorAttackRecord;
    const KEY_FIELD: &'static str = "detector_attack";
    const UNITS: &'static str = "frames";
    fn name(&self) -> String {
        self.suite_name()
    }
    fn file_prefix(&self) -> String {
        self.suite_name().replace('_', "-")
    }
    fn index(record: &DetectorAttackRecord) -> usize {
        record.index
    }
}

/// Where a checkpointed attack runs: the work it is keyed on besides its settings, and where
/// its checkpoint lives.
struct AttackRun<'a> {
    identity: &'a serde_json::Value,
    spec: &'a PreprocessSpec,
    frame_ids: Vec<&'a str>,
    shard: (usize, usize),
    out: &'a std::path::Path,
    fresh: bool,
    quiet: bool,
}

impl AttackRun<'_> {
    /// Run `attack` (given the records already done and a sink for each new one) with a
    /// per-record checkpoint keyed on identity, settings, spec and frame ids.
    fn checkpointed<S: CheckpointedAttack, Report>(&self, settings: &S, attack: impl FnOnce(Vec<S::Record>, &mut dyn FnMut(&S::Record)) -> Result<Report, aite_robustness::RobustnessError>) -> Result<(Report, std::path::PathBuf)> {
        let mut key = serde_json::json!({ "identity": self.identity, "spec": self.spec, "frames": self.frame_ids });
        key[S::KEY_FIELD] = serde_json::json!(settings);
        let (mut checkpoint, done, path) = open_checkpoint::<S::Record>(self.out, &settings.file_prefix(), &key, self.fresh)?;
        let done: Vec<S::Record> = done.into_iter().filter(|r| aite_robustness::in_shard(S::index(r), self.shard)).collect();
        let mine = (0..self.frame_ids.len()).filter(|&i| aite_robustness::in_shard(i, self.shard)).count();
        let name = settings.name();
        if !done.is_empty() && !self.quiet {
            eprintln!("resuming {name}: {} of {mine} {} already done ({})", done.len(), S::UNITS, path.display());
        }
        let progress = (mine, done.len());
        let report = append_each(&mut checkpoint, progress, &name, self.quiet, |_| None, |on_record| attack(done, on_record))?;
        Ok((report, path))
    }
}

/// One attack on the samples of `shard`, with a per-sample checkpoint.
#[allow(clippy::too_many_arguments)]
pub fn run_attack_checkpointed(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    frames: &[LabeledFrame],
    settings: &AttackSettings,
    shard: (usize, usize),
    identity: &serde_json::Value,
    out: &std::path::Path,
    fresh: bool,
    cancel: &Cancel,
    quiet: bool,
) -> Result<(AttackReport, std::path::PathBuf)> {
    let run = AttackRun { identity, spec, frame_ids: frames.iter().map(|f| f.id.as_str()).collect(), shard, out, fresh, quiet };
    run.checkpointed(settings, |done, on_record| run_attack_shard(target, spec, frames, settings, shard, done, cancel, on_record))
}

/// Per-sample query budget of a classifier attack without `--queries` (AutoAttack's).
pub const CLASSIFIER_ATTACK_QUERIES: usize = 5000;
/// Samples a classifier attack takes without `--attack-samples`.
pub const CLASSIFIER_ATTACK_SAMPLES: usize = 50;

/// The bounded default of a detector attack: one detector query is a whole frame through the
/// model and its post-processing (UltraFace RFB-320: ~0.1 s on a debug build), so AutoAttack's
/// 5000 queries on 50 frames would take hours. The vanishing Square L-inf attack at 8/255 with
/// 300 queries per frame (its noise baseline the same) on at most 10 frames. `aite run` and
/// `aite robustness --task DETECTOR` use it unless told otherwise; it is recorded in config.json.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DetectorAttackDefault {
    pub queries: usize,
    pub frames: usize,
    pub epsilon_linf: f32,
}

pub const DETECTOR_ATTACK_DEFAULT: DetectorAttackDefault = DetectorAttackDefault { queries: 300, frames: 10, epsilon_linf: 8.0 / 255.0 };

/// The detector attacks of `--attacks` (square-linf, square-l2; noise kinds are the baseline
/// each carries, at the attack's norm and budget) with `--detector-goal`; without `--queries`
/// or `--eps-linf`, [`DETECTOR_ATTACK_DEFAULT`]'s.
fn detector_attack_settings(a: &RobustnessArgs, attacks: Vec<AttackSettings>) -> Result<Vec<DetectorAttackSettings>> {
    let goal: DetectorGoal = a.detector_goal.parse().map_err(|e: String| usage(format!("--detector-goal: {e}")))?;
    attacks
        .into_iter()
        .filter(|s| matches!(s.kind, AttackKind::SquareLinf | AttackKind::SquareL2))
        .map(|attack| {
            let epsilon = match (attack.kind.norm(), &a.eps_linf) {
                ("linf", None) => DETECTOR_ATTACK_DEFAULT.epsilon_linf,
                _ => attack.epsilon,
            };
            let budget = a.queries.unwrap_or(DETECTOR_ATTACK_DEFAULT.queries);
            let s = DetectorAttackSettings { goal, attack: AttackSettings { budget, epsilon, ..attack } };
            s.validate()?;
            Ok(s)
        })
        .collect()
}

/// One detector attack on the frames of `shard`, with a per-frame checkpoint.
#[allow(clippy::too_many_arguments)]
pub fn run_detector_attack_checkpointed(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    task: &Postprocess,
    frames: &[DetectionFrame],
    settings: &DetectorAttackSettings,
    shard: (usize, usize),
    identity: &serde_json::Value,
    out: &std::path::Path,
    fresh: bool,
    cancel: &Cancel,
    quiet: bool,
) -> Result<(DetectorAttackReport, std::path::PathBuf)> {
    let run = AttackRun { identity, spec, frame_ids: frames.iter().map(|f| f.id.as_str()).collect(), shard, out, fresh, quiet };
    run.checkpointed(settings, |done, on_record| run_detector_attack_shard(target, spec, task, frames, settings, shard, done, cancel, on_record))
}

/// What a detector's corruption sweep scores against: `--labels` (COCO JSON or YOLO txt, the
/// readers of `aite accuracy`), else the `--reference` model's clean predictions, else the
/// deployed model's own (pseudo ground truth, named so in the evidence), also when the
/// reference is the deployed model (`same_as_deployed`: its predictions are the same).
fn detection_ground_truth(a: &RobustnessArgs, same_as_deployed: bool, spec: &PreprocessSpec, task: &Postprocess, frames: &[DetectionFrame]) -> Result<DetectionGroundTruth> {
    if let Some(path) = &a.labels {
        return labelled_ground_truth(path, task, frames);
    }
    Ok(match &a.reference {
        Some(path) if !same_as_deployed => {
            let mut reference = load_model(&ModelArgs { model: path.clone(), engine: a.reference_engine.unwrap_or(a.model.engine), ..a.model.clone() })?;
            let detections = clean_detections(reference.as_mut(), spec, task, frames)?;
            DetectionGroundTruth::ReferencePredictions { reference: path.display().to_string(), detections }
        }
        _ => DetectionGroundTruth::CleanPredictions,
    })
}

/// Why the agreement is not run when the reference is the deployed model.
const REFERENCE_IS_DEPLOYED: &str = "the reference is the deployed model (same engine, same model file): agreeing with it compares nothing; declare a different engine (--reference-engine) or model (--reference)";

/// Whether `--reference` / `--reference-engine` name the deployed model itself: the same engine
/// and the same files (`inputs`' hashes of `model*` and `reference-model*`, external data and
/// a remote endpoint's metadata included, signatures not; no `--reference` is the deployed model's file).
fn reference_is_deployed(a: &RobustnessArgs, inputs: &[aite_evidence::InputArtifact]) -> bool {
    if (a.reference.is_none() && a.reference_engine.is_none()) || a.reference_engine.is_some_and(|e| e != a.model.engine) {
        return false;
    }
    a.reference.is_none() || crate::common::same_model_files(inputs, "model", "reference-model")
}

/// Labels of every frame (matched by file name, sizes checked) as the sweep's ground truth.
pub fn labelled_ground_truth(path: &std::path::Path, task: &Postprocess, frames: &[DetectionFrame]) -> Result<DetectionGroundTruth> {
    let sizes: Vec<(String, u32, u32)> = frames.iter().map(|f| (f.id.clone(), f.image.width(), f.image.height())).collect();
    let labels = super::accuracy::detection_labels(path, &sizes, task.spec())?;
    let mut boxes = vec![];
    for f in frames {
        let l = labels.image_for(&f.id).ok_or_else(|| usage(format!("frame {} is not in {}", f.id, path.display())))?;
        if (l.width, l.height) != (f.image.width(), f.image.height()) {
            return Err(usage(format!("frame {} is {}x{} but {} labels it {}x{}", f.id, f.image.width(), f.image.height(), path.display(), l.width, l.height)));
        }
        boxes.push(l.boxes.iter().map(|b| aite_robustness::corruption::detection::GroundTruthBox { category_id: b.category_id, bbox: b.bbox, iscrowd: b.iscrowd }).collect());
    }
    Ok(DetectionGroundTruth::Labels { source: path.display().to_string(), boxes })
}

/// The detector sweep on the frames of `options.shard` (an image shard: frame `i` when
/// `i % count == index`), with a per-frame checkpoint named after everything that determines
/// the result, so Ctrl-C and the same command again resumes it.
#[allow(clippy::too_many_arguments)]
pub fn run_detection_sweep(
    target: &mut dyn Target,
    spec: &PreprocessSpec,
    task: &Postprocess,
    frames: &[DetectionFrame],
    options: &SweepOptions,
    ground_truth: &DetectionGroundTruth,
    identity: &serde_json::Value,
    out: &std::path::Path,
    fresh: bool,
    cancel: &Cancel,
    quiet: bool,
) -> Result<(aite_robustness::corruption::detection::DetectionSweepReport, std::path::PathBuf)> {
    use aite_robustness::corruption::detection::{detect_frames, score_frames, sweep_cells, FrameDetections};
    let gt_key = match ground_truth {
        DetectionGroundTruth::Labels { source, boxes } => serde_json::json!({ "labels": source, "boxes": boxes }),
        DetectionGroundTruth::CleanPredictions => serde_json::json!("clean-predictions"),
        DetectionGroundTruth::ReferencePredictions { reference, detections } => serde_json::json!({ "reference": reference, "detections": detections }),
    };
    let key = serde_json::json!({ "identity": identity, "options": options, "spec": spec, "ground_truth": gt_key, "frames": frames.iter().map(|f| &f.id).collect::<Vec<_>>() });
    let (mut checkpoint, done, path) = open_checkpoint::<FrameDetections>(out, "detection-corruptions", &key, fresh)?;
    let mine = (0..frames.len()).filter(|&i| aite_robustness::in_shard(i, options.shard)).count();
    if !done.is_empty() && !quiet {
        eprintln!("resuming: {} of {mine} frames already done ({})", done.len(), path.display());
    }
    let progress = (mine, done.len());
    let (scored, interrupted) = append_each(&mut checkpoint, progress, "corruptions", quiet, |_| None, |on_frame| detect_frames(target, spec, task, frames, options, ground_truth, done, cancel, on_frame))?;
    let kind = match ground_truth {
        DetectionGroundTruth::Labels { source, .. } => aite_robustness::corruption::detection::GroundTruthKind::Labels { source: source.clone() },
        DetectionGroundTruth::CleanPredictions => aite_robustness::corruption::detection::GroundTruthKind::CleanPredictions,
        DetectionGroundTruth::ReferencePredictions { reference, .. } => aite_robustness::corruption::detection::GroundTruthKind::ReferencePredictions { reference: reference.clone() },
    };
    let shard = (options.shard.1 > 1).then_some(options.shard);
    let report = score_frames(&scored, kind, &sweep_cells(options), options.seed, DETECTION_BOOTSTRAP_RESAMPLES, frames.len(), interrupted, shard)?;
    Ok((report, path))
}

/// `attack_worst_case`: the per-sample worst case (never an average) of each threat model
/// (norm and epsilon) the attacks ran at, or why there is none; `None` without attacks.
pub fn worst_case_suite(reports: &[AttackReport]) -> Option<serde_json::Value> {
    let groups = aite_robustness::attack::worst_case_over(&reports.iter().collect::<Vec<_>>());
    (!groups.is_empty()).then(|| serde_json::json!({ "threat_models": groups }))
}

pub fn attack_csv(r: &AttackReport) -> Vec<u8> {
    let mut s = String::from("index,id,label,clean_correct,success,queries,final_margin,top1_after,linf,l2,fools_after_uint8,fools_after_jpeg\n");
    let opt = |v: Option<bool>| v.map(|b| b.to_string()).unwrap_or_default();
    for x in &r.records {
        let id = if x.id.contains([',', '"']) { format!("\"{}\"", x.id.replace('"', "\"\"")) } else { x.id.clone() };
        s.push_str(&format!(
            "{},{id},{},{},{},{},{},{},{},{},{},{}\n",
            x.index, x.label, x.clean_correct, x.success, x.queries, x.final_margin.map(|m| m.to_string()).unwrap_or_default(), x.top1_after, x.linf, x.l2, opt(x.fools_after_uint8), opt(x.fools_after_jpeg)
        ));
    }
    s.into_bytes()
}

pub fn corruptions_csv(r: &CorruptionReport) -> Vec<u8> {
    let mut s = String::from("corruption,group,severity,placement,table,correct,total,accuracy,ci95_low,ci95_high,saved_as_jpeg\n");
    for c in &r.cells {
        let tables: Vec<&str> = c.tables.iter().map(|t| t.name()).collect();
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{}\n",
            c.corruption,
            c.corruption.group(),
            c.severity,
            c.placement.name(),
            tables.join("+"),
            c.accuracy.successes,
            c.accuracy.trials,
            c.accuracy.value,
            c.accuracy.ci95_low,
            c.accuracy.ci95_high,
            c.saved_as_jpeg.map(|q| q.to_string()).unwrap_or_default()
        ));
    }
    s.into_bytes()
}

pub fn run(a: RobustnessArgs, cancel: &Cancel) -> Result<u8> {
    let started = std::time::SystemTime::now();
    let checkpoints = a.output.out.join(".checkpoints");
    let result = measure(a, cancel);
    if result.is_err() {
        // A run stopped by an error (a device that went away) keeps what it finished.
        let kept = std::fs::read_dir(&checkpoints).into_iter().flatten().flatten().any(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t >= started));
        if kept {
            eprintln!("note: finished work is kept in {}; once the error below is mended, run the same command again to resume", checkpoints.display());
        }
    }
    result
}

fn measure(a: RobustnessArgs, cancel: &Cancel) -> Result<u8> {
    let Some(ds) = open_dataset(&a.data)? else {
        anyhow::bail!(aite_data::DataError::Spec { reason: "robustness checks run on real frames".into(), hint: "pass --dataset".into() });
    };
    let mut deployed = load_model(&a.model)?;
    let (spec, inferred) = preprocess_spec(a.data.preprocess.as_deref(), deployed.info())?;
    if inferred {
        crate::common::note_inferred_preprocess(&spec, a.task.as_deref())?;
    }
    let sweep = if a.corruptions == "none" {
        None
    } else {
        let mut options = sweep_options(&a.corruptions, &a.severities, &a.table, &a.corrupt_at, a.seed, a.shard.as_deref(), imagenet_outputs(deployed.as_ref()))?;
        options.imagenet_c_jpeg = a.imagenet_c_jpeg.parse().map_err(|e| usage(format!("--imagenet-c-jpeg: {e}")))?;
        options.validate()?;
        Some(options)
    };
    let task = super::latency::task_spec(a.task.as_deref())?;
    let detector = match &task {
        Some(t @ TaskSpec::Detector(_)) => Some(Postprocess::new(t.clone())),
        _ => None,
    };
    if detector.is_some() && a.attacks != "none" {
        let kinds = AttackKind::parse_list(&a.attacks).map_err(|e| usage(format!("--attacks: {e}")))?;
        if let Some(k) = kinds.iter().find(|k| !matches!(k, AttackKind::SquareLinf | AttackKind::SquareL2 | AttackKind::NoiseLinf | AttackKind::NoiseL2)) {
            return Err(usage(format!("--task names a detector: {} reads classifier outputs; detectors are attacked with square-linf / square-l2 (vanishing or --detector-goal mislabel, each with its noise baseline) (--corruptions none --attacks none checks consistency only)", k.name())));
        }
    }
    if detector.is_some() && a.imagenet_c_jpeg == "on" {
        return Err(usage("--task names a detector: make_imagenet_c.py's JPEG save is a step of the classification protocol (mCE); drop --imagenet-c-jpeg on".into()));
    }
    // The detector sweep (mPC/rPC) never saves: say so in its options.
    let sweep = match (sweep, &detector) {
        (Some(o), Some(_)) => Some(SweepOptions { imagenet_c_jpeg: aite_robustness::corruption::ImagenetCJpeg::Off, ..o }),
        (s, _) => s,
    };
    if detector.is_none() && a.labels.is_some() {
        return Err(usage("--labels are a detector's boxes: give --task a detector (e.g. ultraface-slim320)".into()));
    }
    let limit = degenerate_detection_limit(a.degenerate_max_detections);
    // Undecodable frames are recorded in every suite that stands on them (`frame_coverage`).
    let (loaded, skipped) = load_frames_noting(&ds, &spec, a.samples, a.data.strict)?;
    warn_skipped(&skipped);
    let coverage = |n: usize| FrameCoverage::of_first(n, loaded.len(), &skipped);
    let side = spec.geometry(&loaded[0].image).map(|g| g.width.min(g.height))?;
    let mut attacks = attack_settings(&a, side)?;
    let detector_attacks = match &detector {
        Some(_) => detector_attack_settings(&a, std::mem::take(&mut attacks))?,
        None => vec![],
    };
    let attack_samples = a.attack_samples.unwrap_or(if detector.is_some() { DETECTOR_ATTACK_DEFAULT.frames } else { CLASSIFIER_ATTACK_SAMPLES });
    // Which of the detector attack's settings are the bounded default (printed and recorded).
    let defaulted: Vec<&str> = [("queries", a.queries.is_none()), ("attack_samples", a.attack_samples.is_none()), ("eps_linf", a.eps_linf.is_none())].into_iter().filter(|d| d.1).map(|d| d.0).collect();
    if !detector_attacks.is_empty() && !defaulted.is_empty() {
        let d = DETECTOR_ATTACK_DEFAULT;
        // Only the settings that were not given are the default's.
        let said: Vec<String> = defaulted
            .iter()
            .map(|k| match *k {
                "queries" => format!("{} queries per frame (its noise baseline the same)", d.queries),
                "attack_samples" => format!("at most {} frames", d.frames),
                _ => "L-inf 8/255".to_string(),
            })
            .collect();
        eprintln!("note: detector attack default: {} (recorded in config.json; --queries, --attack-samples, --eps-linf change it)", said.join(", "));
    }
    let shard = parse_shard(a.shard.as_deref())?;
    let mut results = Results::new("robustness", serde_json::to_value(deployed.info())?);
    results.inputs.extend(model_artifacts(&a.model.model, "model")?);
    if let Some(r) = &a.reference {
        results.inputs.extend(model_artifacts(r, "reference-model")?);
    }
    let same_as_deployed = reference_is_deployed(&a, &results.inputs);
    if same_as_deployed {
        eprintln!("note: {REFERENCE_IS_DEPLOYED}");
    }
    results.inputs.push(dataset_artifact(&ds));
    results.decoders = Some(serde_json::to_value(decoder_tally(&loaded))?);
    let mut ok = true;
    if !a.no_consistency {
        let frames: Vec<(String, aite_data::Image)> = loaded.iter().map(|f| (f.id.clone(), f.image.clone())).collect();
        let mut reference = match (&a.reference, a.reference_engine) {
            (None, None) => None,
            _ if same_as_deployed => None,
            (path, engine) => Some(load_model(&ModelArgs {
                model: path.clone().unwrap_or_else(|| a.model.model.clone()),
                engine: engine.unwrap_or(a.model.engine),
                ..a.model.clone()
            })?),
        };
        let mut batched = if has_symbolic_batch(deployed.as_ref()) && a.check_batch >= 2 {
            Some(load_model(&ModelArgs { batch: a.check_batch, ..a.model.clone() })?)
        } else {
            None
        };
        let reference = reference.as_mut().map(|r| r.as_mut() as &mut dyn Target);
        let batched = batched.as_mut().map(|b| (b.as_mut() as &mut dyn Target, a.check_batch));
        ok &= consistency_shard_suites(&mut results, deployed.as_mut(), reference, batched, &spec, detector.as_ref(), &frames, a.repeats, a.seed, limit, shard)?;
        if same_as_deployed {
            results.suite_not_run(if detector.is_some() { "detection_agreement" } else { "agreement" }, REFERENCE_IS_DEPLOYED);
        }
        if let Some(c) = coverage(loaded.len()) {
            c.record(&mut results.suites, &FRAME_SUITES);
        }
        // A fixed batch dimension has no batch to compare: recorded as such, never left out.
        if let (Some(Dim::Fixed(n)), Some(_)) = (deployed.info().inputs.first().and_then(|i| i.shape.first()), &detector) {
            let why = format!("the model's batch dimension is fixed at {n}");
            results.suites.insert("detection_batch_invariance".into(), serde_json::json!({ "status": "not-applicable", "why": why }));
        }
    }
    let mut checkpoints = Vec::new();
    let mut interrupted = cancel.is_cancelled();

    let mut raw: RawFiles = vec![];
    // A resumed sweep or attack must run on the same weights, not only the same graph file.
    let model_data: Vec<String> = results.inputs.iter().filter(|i| i.role == "model-external-data").map(|i| i.sha256.clone()).collect();
    if let (Some(options), Some(task), false) = (&sweep, &detector, interrupted) {
        let frames: Vec<DetectionFrame> = loaded.iter().map(|f| DetectionFrame { id: f.id.clone(), image: image_to_rgb8(&f.image, spec.color) }).collect();
        let identity = serde_json::json!({ "model": results.inputs[0].sha256, "model_data": model_data, "target": deployed.info(), "task": task.spec() });
        let ground_truth = detection_ground_truth(&a, same_as_deployed, &spec, task, &frames)?;
        if let Some(labels) = &a.labels {
            results.inputs.push(super::accuracy::labels_artifact(labels)?);
        }
        let (report, path) = run_detection_sweep(deployed.as_mut(), &spec, task, &frames, options, &ground_truth, &identity, &a.output.out, a.fresh, cancel, a.output.json)?;
        checkpoints.push(path);
        interrupted |= report.interrupted;
        raw.push(("detection-corruptions.csv".into(), report.detections_csv()));
        results.add_suite("detection_corruptions", &report);
        if let Some(c) = coverage(loaded.len()) {
            c.record(&mut results.suites, &["detection_corruptions"]);
        }
    }
    if let (Some(task), false) = (&detector, interrupted || detector_attacks.is_empty()) {
        let frames: Vec<DetectionFrame> = loaded[..loaded.len().min(attack_samples)].iter().map(|f| DetectionFrame { id: f.id.clone(), image: image_to_rgb8(&f.image, spec.color) }).collect();
        let identity = serde_json::json!({ "model": results.inputs[0].sha256, "model_data": model_data, "target": deployed.info(), "task": task.spec() });
        for settings in &detector_attacks {
            let (report, path) = run_detector_attack_checkpointed(deployed.as_mut(), &spec, task, &frames, settings, shard, &identity, &a.output.out, a.fresh, cancel, a.output.json)?;
            interrupted |= report.interrupted;
            raw.push((format!("{}.csv", settings.suite_name().replace('_', "-")), report.records_csv()));
            results.add_suite(&settings.suite_name(), &report);
            if let Some(c) = coverage(frames.len()) {
                c.record(&mut results.suites, &[&settings.suite_name()]);
            }
            checkpoints.push(path);
            if interrupted {
                break;
            }
        }
    }
    if let (Some(options), None, false) = (&sweep, &detector, interrupted) {
        let frames = labeled_frames(&loaded, spec.color)?;
        let identity = serde_json::json!({ "model": results.inputs[0].sha256, "model_data": model_data, "target": deployed.info() });
        let (report, path) = run_sweep(deployed.as_mut(), &spec, &frames, options, &identity, &a.output.out, a.fresh, cancel, a.output.json)?;
        interrupted |= report.interrupted;
        raw.push(("corruptions.csv".into(), corruptions_csv(&report)));
        results.add_suite("corruptions", &report);
        if let Some(c) = coverage(loaded.len()) {
            c.record(&mut results.suites, &["corruptions"]);
        }
        checkpoints.push(path);
    }
    if !attacks.is_empty() && !interrupted {
        let frames = labeled_frames(&loaded[..loaded.len().min(attack_samples)], spec.color)?;
        let identity = serde_json::json!({ "model": results.inputs[0].sha256, "model_data": model_data, "target": deployed.info() });
        let mut reports = Vec::new();
        for settings in &attacks {
            let (report, path) = run_attack_checkpointed(deployed.as_mut(), &spec, &frames, settings, shard, &identity, &a.output.out, a.fresh, cancel, a.output.json)?;
            interrupted |= report.interrupted;
            raw.push((format!("attack-{}.csv", settings.kind.name()), attack_csv(&report)));
            let name = format!("attack_{}", settings.kind.name().replace('-', "_"));
            results.add_suite(&name, &report);
            if let Some(c) = coverage(frames.len()) {
                c.record(&mut results.suites, &[&name]);
            }
            checkpoints.push(path);
            reports.push(report);
            if interrupted {
                break;
            }
        }
        if let Some(worst) = worst_case_suite(&reports) {
            results.add_suite("attack_worst_case", &worst);
            if let Some(c) = coverage(frames.len()) {
                c.record(&mut results.suites, &["attack_worst_case"]);
            }
        }
    }
    results.finish(if interrupted { RunStatus::Interrupted } else { RunStatus::Complete });
    let mut cfg = serde_json::json!({
        "command": "robustness", "model": a.model.model, "engine": format!("{:?}", a.model.engine).to_lowercase(),
        "reference": a.reference, "reference_engine": a.reference_engine.map(|e| format!("{e:?}").to_lowercase()),
        "dataset": ds.name, "samples": loaded.len(), "undecodable": skipped, "repeats": a.repeats, "check_batch": a.check_batch, "seed": a.seed,
        "preprocess": spec, "preprocess_inferred": inferred, "consistency": !a.no_consistency, "corruption_sweep": sweep, "attacks": attacks, "attack_samples": attack_samples,
        "shard": a.shard,
    });
    if let (false, Some(obj)) = (detector_attacks.is_empty(), cfg.as_object_mut()) {
        obj.insert("detector_attacks".into(), serde_json::to_value(&detector_attacks)?);
        obj.insert("detector_attack_default".into(), serde_json::json!({ "settings": DETECTOR_ATTACK_DEFAULT, "defaulted": defaulted }));
    }
    if let (Some(task), Some(obj)) = (&task, cfg.as_object_mut()) {
        obj.insert("task".into(), serde_json::to_value(task)?);
        if detector.is_some() {
            obj.insert("degenerate_max_detections".into(), limit.into());
        }
    }
    let dir = write_evidence(&a.output, "robustness", &results, &cfg, raw)?;
    if let Some(code) = super::run::judge(&a.assess, &dir, a.output.json)? {
        return Ok(code);
    }
    if interrupted {
        if let Some(p) = checkpoints.last() {
            eprintln!("interrupted: finished work is kept in {}; run the same command again to resume", p.display());
        }
        return Ok(Exit::Interrupted as u8);
    }
    for p in &checkpoints {
        // The evidence now holds everything; a later identical run measures afresh.
        let _ = std::fs::remove_file(p);
    }
    if let Some(dir) = checkpoints.first().and_then(|p| p.parent()) {
        let _ = std::fs::remove_dir(dir); // only when empty
    }
    Ok(if ok { Exit::Ok as u8 } else { Exit::Invalid as u8 })
}

/// `aite merge`: combine the runs of one sweep's shards into the result of the single run.
/// Every suite is combined (corruption cells and attack records unioned and recomputed, the
/// worst case recomputed, consistency checks recombined from the shards' parts) or the merge is refused
/// naming the suite; nothing is dropped.
pub fn merge(a: MergeArgs) -> Result<u8> {
    let refuse = |m: String| anyhow::Error::new(crate::exit::UsageError(m));
    let mut runs: Vec<(std::path::PathBuf, Results)> = Vec::new();
    for p in &a.runs {
        let path = if p.is_dir() { p.join("results.json") } else { p.clone() };
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let results: Results = serde_json::from_str(&text).with_context(|| format!("{} is not an aite results.json", path.display()))?;
        if let Some((first_path, f)) = runs.first() {
            if f.inputs.iter().map(|i| &i.sha256).ne(results.inputs.iter().map(|i| &i.sha256)) {
                return Err(refuse(format!("{} was run on a different model or dataset than {}", path.display(), first_path.display())));
            }
        }
        runs.push((path, results));
    }
    let names: std::collections::BTreeSet<String> = runs.iter().flat_map(|(_, r)| r.suites.keys().cloned()).collect();
    if names.is_empty() {
        return Err(refuse(format!("{} has no suite to merge (run `aite robustness --shard I/N` first)", runs[0].0.display())));
    }
    // Each suite in every run, or in none: a shard without it is not a shard of this sweep.
    let in_all = |name: &str| -> Result<Vec<(&std::path::PathBuf, &serde_json::Value)>> {
        let found: Vec<_> = runs.iter().filter_map(|(p, r)| r.suites.get(name).map(|v| (p, v))).collect();
        if found.len() != runs.len() {
            let without = runs.iter().find(|(_, r)| !r.suites.contains_key(name)).map(|(p, _)| p.display().to_string()).unwrap_or_default();
            return Err(refuse(format!("cannot merge suite `{name}`: {without} has none (merge only shards of one sweep: same command line except --shard)")));
        }
        Ok(found)
    };
    let mut results = runs[0].1.clone();
    results.suites.clear();
    let mut raw: RawFiles = vec![];
    let mut complete = true;
    let mut attacks = Vec::new();
    for name in &names {
        if name == "corruptions" {
            let reports = in_all(name)?
                .into_iter()
                .map(|(p, v)| serde_json::from_value::<CorruptionReport>(v.clone()).with_context(|| format!("corruption sweep in {}", p.display())))
                .collect::<Result<Vec<_>>>()?;
            let merged = merge_reports(&reports)?;
            complete &= merged.missing_cells == 0;
            raw.push(("corruptions.csv".into(), corruptions_csv(&merged)));
            results.add_suite(name, &merged);
        } else if name == "detection_corruptions" {
            // Image shards: AP recomputed from the union of the frames' detections, never averaged.
            let reports = in_all(name)?
                .into_iter()
                .map(|(p, v)| serde_json::from_value::<aite_robustness::corruption::detection::DetectionSweepReport>(v.clone()).with_context(|| format!("detector sweep in {}", p.display())))
                .collect::<Result<Vec<_>>>()?;
            let merged = aite_robustness::corruption::detection::merge_detection_reports(&reports)?;
            complete &= merged.missing_samples == 0 && !merged.interrupted;
            raw.push(("detection-corruptions.csv".into(), merged.detections_csv()));
            results.add_suite(name, &merged);
        } else if name == "attack_worst_case" {
            in_all(name)?; // recomputed below from the merged attacks
        } else if name.starts_with("attack_") {
            let reports = in_all(name)?
                .into_iter()
                .map(|(p, v)| serde_json::from_value::<AttackReport>(v.clone()).with_context(|| format!("suite `{name}` in {}", p.display())))
                .collect::<Result<Vec<_>>>()?;
            let merged = merge_attack_reports(&reports).with_context(|| format!("cannot merge suite `{name}`"))?;
            complete &= merged.missing_samples == 0;
            raw.push((format!("attack-{}.csv", merged.settings.kind.name()), attack_csv(&merged)));
            results.add_suite(name, &merged);
            attacks.push(merged);
        } else if name.starts_with("detector_attack_") {
            let reports = in_all(name)?
                .into_iter()
                .map(|(p, v)| serde_json::from_value::<DetectorAttackReport>(v.clone()).with_context(|| format!("suite `{name}` in {}", p.display())))
                .collect::<Result<Vec<_>>>()?;
            let merged = merge_detector_attack_reports(&reports).with_context(|| format!("cannot merge suite `{name}`"))?;
            complete &= merged.missing_frames == 0;
            raw.push((format!("{}.csv", name.replace('_', "-")), merged.records_csv()));
            results.add_suite(name, &merged);
        } else if CONSISTENCY_SUITES.contains(&name.as_str()) && names.contains(CONSISTENCY_SHARD_SUITE) {
            // Merged below, with the shard records.
        } else if name == CONSISTENCY_SHARD_SUITE {
            let parts = in_all(name)?
                .into_iter()
                .map(|(p, _)| {
                    let suites = &runs.iter().find(|(q, _)| q == p).expect("found above").1.suites;
                    // A check recorded not applicable (a fixed batch) or not run (a reference that
                    // is the deployed model) has no figures to merge.
                    let measured = |v: &serde_json::Value| !matches!(v.get("status").and_then(|s| s.as_str()), Some("not-applicable" | "not-run"));
                    let part: serde_json::Map<String, serde_json::Value> = suites.iter().filter(|(k, v)| (k.as_str() == name || CONSISTENCY_SUITES.contains(&k.as_str())) && measured(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
                    serde_json::from_value::<ConsistencyPart>(part.into()).with_context(|| format!("consistency suites in {}", p.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            let merged = merge_consistency(&parts).context("cannot merge the consistency suites")?;
            complete &= merged.shard.is_none();
            if let serde_json::Value::Object(suites) = serde_json::to_value(&merged)? {
                results.suites.extend(suites);
            }
            for (k, v) in runs[0].1.suites.iter().filter(|(k, v)| CONSISTENCY_SUITES.contains(&k.as_str()) && matches!(v.get("status").and_then(|s| s.as_str()), Some("not-applicable" | "not-run"))) {
                results.suites.entry(k.clone()).or_insert_with(|| v.clone());
            }
        } else if CONSISTENCY_SUITES.contains(&name.as_str()) {
            // Older packages: run whole by one shard (shard 0), taken as it is; two different copies are refused.
            let found: Vec<_> = runs.iter().filter_map(|(p, r)| r.suites.get(name).map(|v| (p, v))).collect();
            if let Some((p, _)) = found.iter().find(|(_, v)| *v != found[0].1) {
                return Err(refuse(format!("cannot merge suite `{name}`: {} and {} measured it differently", found[0].0.display(), p.display())));
            }
            results.suites.insert(name.clone(), found[0].1.clone());
        } else {
            return Err(refuse(format!("cannot merge suite `{name}`: aite merge combines robustness shards (corruptions, attacks, consistency) only")));
        }
    }
    if names.contains("attack_worst_case") {
        // In the runs' attack order (the worst case lists it), not the suites' alphabetical one.
        let recorded = aite_assessment::worst_case::recorded(&runs[0].1.suites["attack_worst_case"], |name| runs[0].1.suites.get(name));
        let order: Vec<&str> = recorded.iter().flat_map(|w| w.attacks()).collect();
        attacks.sort_by_key(|r| order.iter().position(|n| *n == r.settings.kind.name()).unwrap_or(usize::MAX));
        if let Some(worst) = worst_case_suite(&attacks) {
            results.add_suite("attack_worst_case", &worst);
        }
    }
    // Every shard read the same frames: the frames none could decode stay named in the merge.
    for name in &names {
        let found: Vec<(&std::path::PathBuf, &serde_json::Value)> = runs.iter().filter_map(|(p, r)| r.suites.get(name).and_then(|v| v.get("frame_coverage")).map(|c| (p, c))).collect();
        if let Some((p, _)) = found.iter().find(|(_, c)| *c != found[0].1) {
            return Err(refuse(format!("cannot merge suite `{name}`: {} and {} skipped different frames (merge only shards of one sweep)", found[0].0.display(), p.display())));
        }
        if let (Some((_, c)), Some(serde_json::Value::Object(suite))) = (found.first(), results.suites.get_mut(name)) {
            suite.insert("frame_coverage".into(), (*c).clone());
        }
    }
    results.finish(if complete { RunStatus::Complete } else { RunStatus::Interrupted });
    let cfg = serde_json::json!({ "command": "merge", "runs": a.runs, "suites": names });
    write_evidence(&a.output, "merge", &results, &cfg, raw)?;
    Ok(if complete { Exit::Ok as u8 } else { Exit::Interrupted as u8 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_target::{TargetError, TargetInfo, Tensor};

    /// A target never queried: the runs here are cancelled before their first frame.
    struct Unqueried(TargetInfo);

    impl Target for Unqueried {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, _: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            panic!("a cancelled run queries nothing")
        }
    }

    /// Two classes by mean brightness: score(1) = 10 * (mean/255 - 0.5), score(0) = -score(1).
    struct MeanClassifier(TargetInfo);

    impl Target for MeanClassifier {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let v = inputs[0].to_f32_vec();
            let s = 10.0 * (v.iter().sum::<f32>() / v.len() as f32 / 255.0 - 0.5);
            Ok(vec![Tensor::f32(vec![1, 2], vec![-s, s])?])
        }
    }

    fn info(inputs: Vec<aite_target::TensorSpec>) -> TargetInfo {
        TargetInfo { name: "m.onnx".into(), engine: "tract".into(), engine_version: "0".into(), threads: 1, inputs, outputs: vec![] }
    }

    /// A finished attack run leaves its records in the checkpoint; the same run again reads
    /// every one back (no query: the target would panic) and gives the same report.
    #[test]
    fn an_attack_run_again_resumes_every_record_from_its_checkpoint() {
        use aite_target::{DType, Dim, TensorSpec};
        let out = tempfile::tempdir().unwrap();
        let spec = PreprocessSpec::parse_cli("layout=nhwc").unwrap();
        let identity = serde_json::json!({ "model": "m.onnx" });
        let frames: Vec<LabeledFrame> = [("a.png", 90, 0), ("b.png", 140, 1), ("c.png", 200, 1)]
            .iter()
            .map(|&(id, level, label)| LabeledFrame { id: id.into(), label, image: image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([level + ((x + y) % 3) as u8, level, level])) })
            .collect();
        let settings = AttackSettings { budget: 40, seed: 3, ..AttackSettings::autoattack(AttackKind::SquareLinf, 8) };
        let input = TensorSpec { name: "x".into(), shape: vec![Dim::Fixed(1), Dim::Fixed(8), Dim::Fixed(8), Dim::Fixed(3)], dtype: DType::F32 };
        let mut model = MeanClassifier(info(vec![input]));
        let (first, path) = run_attack_checkpointed(&mut model, &spec, &frames, &settings, (0, 1), &identity, out.path(), false, &Cancel::new(), true).unwrap();
        assert_eq!((first.interrupted, first.records.len()), (false, 3));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4, "a header and one line per sample");
        let mut unqueried = Unqueried(model.0.clone());
        let (again, same_path) = run_attack_checkpointed(&mut unqueried, &spec, &frames, &settings, (0, 1), &identity, out.path(), false, &Cancel::new(), true).unwrap();
        assert_eq!((serde_json::json!(again), same_path), (serde_json::json!(first), path));
    }

    /// Each unit the work finishes is appended in order, one JSON line after the header, so the
    /// same checkpoint opened again gives them back; the work's own result is returned.
    #[test]
    fn append_each_checkpoints_every_finished_unit_in_order() {
        let out = tempfile::tempdir().unwrap();
        let key = serde_json::json!({ "work": "units" });
        let (mut checkpoint, done, path) = open_checkpoint::<(String, u32)>(out.path(), "units", &key, false).unwrap();
        assert!(done.is_empty());
        let units = [("a".to_string(), 1), ("b".to_string(), 2), ("c".to_string(), 3)];
        let result = append_each(&mut checkpoint, (units.len(), 0), "units", true, |_| None, |on_unit| {
            units.iter().for_each(|u| on_unit(u));
            Ok(7)
        });
        assert_eq!(result.unwrap(), 7);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().skip(1).collect::<Vec<_>>(), [r#"["a",1]"#, r#"["b",2]"#, r#"["c",3]"#]);
        drop(checkpoint);
        let (_, again, _) = open_checkpoint::<(String, u32)>(out.path(), "units", &key, false).unwrap();
        assert_eq!(again, units);
    }

    /// The file name of the checkpoint at `path` and the fingerprint its header holds.
    fn checkpoint_of(path: &std::path::Path) -> (String, String) {
        let text = std::fs::read_to_string(path).unwrap();
        let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        (path.file_name().unwrap().to_string_lossy().into_owned(), header["fingerprint"].as_str().unwrap().to_string())
    }

    /// An interrupted attack resumes from `<out>/.checkpoints/<name>-<sha256(key)[..16]>.jsonl`
    /// whose header holds sha256 of the key's JSON text. Names and key texts are pinned as the
    /// binary of commit 1514798 wrote them for fixed settings, so a run it interrupted is still
    /// found. A change here (a new settings or spec field included) orphans old checkpoints.
    #[test]
    fn attack_checkpoints_keep_their_names_and_keys() {
        let out = tempfile::tempdir().unwrap();
        let cancel = Cancel::new();
        cancel.cancel();
        let mut target = Unqueried(info(vec![]));
        let spec = PreprocessSpec::from_toml("resize = \"8x8\"\ncolor = \"gray\"\nscale = 0.00392156862745098").unwrap();
        let identity = serde_json::json!({ "model": "m.onnx", "sha256": "ab" });
        let image = image::RgbImage::new(8, 8);
        let attack = AttackSettings { kind: AttackKind::SquareLinf, epsilon: 8.0 / 255.0, budget: 10, p_init: 0.8, seed: 3, channel: Channel::Float, output_index: 0 };

        let frames: Vec<LabeledFrame> = ["a.png", "b.png"].iter().map(|id| LabeledFrame { id: id.to_string(), label: 1, image: image.clone() }).collect();
        let (report, path) = run_attack_checkpointed(&mut target, &spec, &frames, &attack, (0, 1), &identity, out.path(), false, &cancel, true).unwrap();
        assert!(report.interrupted);
        let key = r#"{"attack":{"budget":10,"channel":{"kind":"float"},"epsilon":0.0313725508749485,"kind":"square-linf","output_index":0,"p_init":0.8,"seed":3},"frames":["a.png","b.png"],"identity":{"model":"m.onnx","sha256":"ab"},"spec":{"color":"gray","crop":null,"crop_fraction":null,"dtype":"f32","kernel":"bilinear","label_offset":0,"layout":"nchw","mean":[0.0],"resize":"8x8","scale":0.003921568859368563,"std":[1.0]}}"#;
        assert_eq!(checkpoint_of(&path), ("attack-square-linf-f2cda6de6016e135.jsonl".into(), aite_engine::sha256_bytes(key.as_bytes())));

        let task = Postprocess::new(aite_reference::detector_task());
        let frames: Vec<DetectionFrame> = ["a.png", "b.png"].iter().map(|id| DetectionFrame { id: id.to_string(), image: image.clone() }).collect();
        let pinned = [
            (DetectorGoal::Vanish, "detector-attack-square-l2-3c51cefb333b2ccf.jsonl", r#"{"detector_attack":{"attack":{"budget":10,"channel":{"kind":"float"},"epsilon":0.5,"kind":"square-l2","output_index":0,"p_init":0.8,"seed":3},"goal":"vanish"},"frames":["a.png","b.png"],"identity":{"model":"m.onnx","sha256":"ab"},"spec":{"color":"gray","crop":null,"crop_fraction":null,"dtype":"f32","kernel":"bilinear","label_offset":0,"layout":"nchw","mean":[0.0],"resize":"8x8","scale":0.003921568859368563,"std":[1.0]}}"#),
            (DetectorGoal::Mislabel, "detector-attack-mislabel-square-l2-a6583dc545af354a.jsonl", r#"{"detector_attack":{"attack":{"budget":10,"channel":{"kind":"float"},"epsilon":0.5,"kind":"square-l2","output_index":0,"p_init":0.8,"seed":3},"goal":"mislabel"},"frames":["a.png","b.png"],"identity":{"model":"m.onnx","sha256":"ab"},"spec":{"color":"gray","crop":null,"crop_fraction":null,"dtype":"f32","kernel":"bilinear","label_offset":0,"layout":"nchw","mean":[0.0],"resize":"8x8","scale":0.003921568859368563,"std":[1.0]}}"#),
        ];
        for (goal, name, key) in pinned {
            let settings = DetectorAttackSettings { goal, attack: AttackSettings { kind: AttackKind::SquareL2, epsilon: 0.5, ..attack.clone() } };
            let (report, path) = run_detector_attack_checkpointed(&mut target, &spec, &task, &frames, &settings, (0, 1), &identity, out.path(), false, &cancel, true).unwrap();
            assert!(report.interrupted);
            assert_eq!(checkpoint_of(&path), (name.into(), aite_engine::sha256_bytes(key.as_bytes())));
        }
    }
}
