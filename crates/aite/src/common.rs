//! Shared plumbing of the sub-commands: targets, specs, datasets, progress, evidence.

use crate::cli::{DataArgs, EngineArg, ModelArgs, OutputArgs};
use aite_data::{Dataset, PreprocessSpec};
use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_evidence::{Environment, InputArtifact, Results, RunFolder};
use aite_report::{JsonRenderer, Renderer, TerminalRenderer};
use aite_target::{DType, Dim, Target, TargetInfo, Tensor, TensorData};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::path::Path;
use std::sync::Arc;

pub fn engine_kind(e: EngineArg) -> EngineKind {
    match e {
        EngineArg::Tract => EngineKind::Tract,
        EngineArg::Ort => EngineKind::OnnxRuntime,
    }
}

pub fn engine_options(m: &ModelArgs) -> EngineOptions {
    EngineOptions { threads: m.threads.max(1), batch: m.batch.max(1), input_shape: m.input_shape.clone() }
}

pub fn load_model(m: &ModelArgs) -> Result<Box<dyn Target>> {
    if let Some(url) = remote_url(&m.model) {
        let transfer = match m.transfer {
            crate::cli::TransferArg::Auto => aite_remote::Transfer::Auto,
            crate::cli::TransferArg::Json => aite_remote::Transfer::Json,
            crate::cli::TransferArg::Binary => aite_remote::Transfer::Binary,
        };
        let options = aite_remote::RemoteOptions { timeout: request_timeout(m), input_shape: m.input_shape.clone(), transfer, wrapper_log: Some(wrapper_log().clone()) };
        return Ok(aite_remote::connect(url, &options)?);
    }
    if !m.model.exists() {
        anyhow::bail!(aite_target::TargetError::Load {
            path: m.model.clone(),
            reason: "no such file".into(),
            hint: "check the --model path".into(),
        });
    }
    Ok(load_target(&m.model, engine_kind(m.engine), &engine_options(m))?)
}

/// The stderr of the command-target wrappers this run started (bounded), for the evidence.
pub fn wrapper_log() -> &'static aite_remote::WrapperLog {
    static LOG: std::sync::OnceLock<aite_remote::WrapperLog> = std::sync::OnceLock::new();
    LOG.get_or_init(aite_remote::WrapperLog::default)
}

/// `target-stderr.txt`: what the command-target wrappers this process started wrote to stderr,
/// after what an earlier process wrote into the same (resumed) package; nothing when none was started.
pub fn write_wrapper_stderr(run: &RunFolder) -> Result<()> {
    if let Some(stderr) = wrapper_log().contents() {
        let mut all = std::fs::read(run.path().join("target-stderr.txt")).unwrap_or_default();
        all.extend_from_slice(&stderr);
        run.write_bytes("target-stderr.txt", &all)?;
    }
    Ok(())
}

/// The URL when `--model/--target` names a remote target rather than a file.
pub fn remote_url(model: &Path) -> Option<&str> {
    model.to_str().filter(|s| aite_remote::is_target_url(s))
}

pub fn request_timeout(m: &ModelArgs) -> std::time::Duration {
    std::time::Duration::from_millis(m.request_timeout_ms.max(1))
}

/// The preprocessing preset the model of a detector task preset was published with
/// (`--task ultraface-slim320[,key=value]` → `ultraface320`); `None` for other tasks.
pub fn task_preprocess_preset(task: Option<&str>) -> Option<&'static str> {
    let first = task?.split(',').next()?.trim();
    match first.strip_prefix("preset=").unwrap_or(first) {
        "ultraface-rfb320" | "ultraface-slim320" | "ultraface-320-raw" => Some("ultraface320"),
        "blazeface-short" => Some("blazeface128"),
        _ => None,
    }
}

/// The note printed when no `--preprocess` was given; when `--task` names a face detector
/// preset, a hint naming its published preprocessing (the inferred one does not normalise).
pub fn note_inferred_preprocess(spec: &PreprocessSpec, task: Option<&str>) -> Result<()> {
    eprintln!("note: no --preprocess given; using {} (recorded in config.json)", serde_json::to_string(spec)?);
    if let (Some(preset), Some(task)) = (task_preprocess_preset(task), task) {
        eprintln!("  hint: the model of --task {task} is published with -p {preset} (`aite presets`); without it, it sees unnormalised pixels");
    }
    Ok(())
}

/// The spec from `--preprocess`, or one inferred from the model's first input.
pub fn preprocess_spec(arg: Option<&str>, info: &TargetInfo) -> Result<(PreprocessSpec, bool)> {
    match arg {
        Some(text) => {
            let path = Path::new(text);
            let spec = if text.ends_with(".toml") || (path.is_file() && !text.contains('=')) {
                let body = std::fs::read_to_string(path).with_context(|| format!("cannot read preprocessing spec {}", path.display()))?;
                PreprocessSpec::from_toml(&body).with_context(|| format!("in {}", path.display()))?
            } else {
                PreprocessSpec::parse_cli(text)?
            };
            Ok((spec, false))
        }
        None => Ok((infer_spec(info), true)),
    }
}

/// Resize to the model's spatial size; NCHW when dim 1 is 1 or 3, NHWC when the last is.
fn infer_spec(info: &TargetInfo) -> PreprocessSpec {
    let mut spec = PreprocessSpec::default();
    let Some(input) = info.inputs.first() else { return spec };
    let dims: Vec<Option<usize>> = input.shape.iter().map(|d| if let Dim::Fixed(n) = d { Some(*n) } else { None }).collect();
    if dims.len() == 4 {
        let (c, h, w, layout) = match (dims[1], dims[3]) {
            (Some(c @ (1 | 3)), _) => (c, dims[2], dims[3], aite_data::Layout::Nchw),
            (_, Some(c @ (1 | 3))) => (c, dims[1], dims[2], aite_data::Layout::Nhwc),
            _ => (3, None, None, aite_data::Layout::Nchw),
        };
        spec.layout = layout;
        if c == 1 {
            spec.color = aite_data::ColorOrder::Gray;
        }
        if let (Some(h), Some(w)) = (h, w) {
            spec.resize = Some(aite_data::Size::Exact { width: w, height: h });
        }
    }
    if matches!(input.dtype, DType::U8 | DType::I8) {
        spec.dtype = input.dtype;
        if input.dtype == DType::I8 {
            spec.mean = vec![128.0];
        }
    }
    spec
}

pub fn open_dataset(d: &DataArgs) -> Result<Option<Dataset>> {
    let Some(path) = &d.dataset else { return Ok(None) };
    let mut ds = Dataset::open(path)?;
    if let Some(n) = d.limit {
        ds.truncate(n);
    }
    Ok(Some(ds))
}

/// Seeded uniform random inputs matching every model input (bare-inference latency).
pub fn synthetic_inputs(inputs: &[aite_target::TensorSpec], options: &EngineOptions, count: usize, seed: u64) -> Result<Vec<Vec<Tensor>>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sets = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let mut set = Vec::new();
        for (ix, spec) in inputs.iter().enumerate() {
            let shape: Vec<usize> = match (&options.input_shape, ix) {
                (Some(s), 0) => s.clone(),
                _ => spec.shape.iter().map(|d| match d { Dim::Fixed(n) => *n, Dim::Symbolic(_) => options.batch }).collect(),
            };
            let n: usize = shape.iter().product();
            let data = match spec.dtype {
                DType::F32 | DType::Other => TensorData::F32((0..n).map(|_| rng.gen_range(0.0..1.0)).collect()),
                DType::U8 => TensorData::U8((0..n).map(|_| rng.gen()).collect()),
                DType::I8 => TensorData::I8((0..n).map(|_| rng.gen()).collect()),
                DType::I32 => TensorData::I32((0..n).map(|_| rng.gen_range(0..2)).collect()),
                DType::I64 => TensorData::I64((0..n).map(|_| rng.gen_range(0..2)).collect()),
            };
            set.push(Tensor::new(shape, data)?);
        }
        sets.push(set);
    }
    Ok(sets)
}

/// One decodable sample: its id, encoded bytes and decoded image.
pub struct LoadedFrame {
    pub id: String,
    pub label: Option<usize>,
    pub bytes: Arc<[u8]>,
    pub image: aite_data::Image,
    /// Which decoder produced `image`.
    pub decoder: aite_data::Decoder,
}

/// Which decoder produced each of `frames`, for results.json's `decoders`.
pub fn decoder_tally<'a>(frames: impl IntoIterator<Item = &'a LoadedFrame>) -> aite_data::DecoderTally {
    let mut tally = aite_data::DecoderTally::default();
    frames.into_iter().for_each(|f| tally.record(&f.id, &f.decoder));
    tally
}

/// The first `count` decodable samples, each decoded once; undecodable ones are
/// reported (or fail the run when `strict`).
pub fn load_frames(ds: &Dataset, spec: &PreprocessSpec, count: usize, strict: bool) -> Result<(Vec<LoadedFrame>, Vec<String>)> {
    let (frames, skipped) = load_frames_noting(ds, spec, count, strict)?;
    Ok((frames, skipped.iter().map(ToString::to_string).collect()))
}

/// A sample of the dataset that was read but could not be decoded, so no suite examined it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SkippedFrame {
    pub id: String,
    /// The decoder's (or the file system's) reason.
    pub reason: String,
    /// Frames decoded before this one: it lies inside a suite that took the first `n > loaded_before`.
    #[serde(skip)]
    pub loaded_before: usize,
    #[serde(skip)]
    message: String,
}

impl SkippedFrame {
    /// Sample `id`, which `e` kept from being read or decoded after `loaded_before` decoded frames.
    pub fn new(id: &str, e: &aite_data::DataError, loaded_before: usize) -> SkippedFrame {
        let reason = match e {
            aite_data::DataError::Decode { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        SkippedFrame { id: id.to_string(), reason, loaded_before, message: e.to_string() }
    }
}

impl std::fmt::Display for SkippedFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// [`load_frames`] with each undecodable sample kept as a [`SkippedFrame`].
pub fn load_frames_noting(ds: &Dataset, spec: &PreprocessSpec, count: usize, strict: bool) -> Result<(Vec<LoadedFrame>, Vec<SkippedFrame>)> {
    let mut frames = Vec::new();
    let mut skipped = Vec::new();
    for s in &ds.samples {
        if frames.len() >= count {
            break;
        }
        match s.bytes().and_then(|b| aite_data::decode_with_decoder(&s.id, &b, spec.color).map(|image| (b, image))) {
            Ok((bytes, (image, decoder))) => frames.push(LoadedFrame { id: s.id.clone(), label: s.label, bytes, image, decoder }),
            Err(e) if !strict => skipped.push(SkippedFrame::new(&s.id, &e, frames.len())),
            Err(e) => return Err(e.into()),
        }
    }
    if frames.is_empty() {
        anyhow::bail!(aite_data::DataError::Empty { path: ds.name.clone().into() });
    }
    Ok((frames, skipped))
}

/// The frames a suite set out to examine and the ones it could not (undecodable), recorded in
/// the suite as `frame_coverage`; the assessment reads it (a robustness figure over part of its
/// frames is NOT_TESTED, a latency figure says which frames it did not time).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FrameCoverage {
    /// Frames the suite set out to examine: `examined + missing_frames`.
    pub frames: usize,
    pub examined: usize,
    pub missing_frames: usize,
    pub not_examined: Vec<SkippedFrame>,
}

impl FrameCoverage {
    /// The coverage of a suite that took the first `n` of the `loaded` decoded frames; `None`
    /// when no sample it reached was skipped.
    pub fn of_first(n: usize, loaded: usize, skipped: &[SkippedFrame]) -> Option<FrameCoverage> {
        let not_examined: Vec<SkippedFrame> = skipped.iter().filter(|s| n >= loaded || s.loaded_before < n).cloned().collect();
        let examined = n.min(loaded);
        (!not_examined.is_empty()).then(|| FrameCoverage { frames: examined + not_examined.len(), examined, missing_frames: not_examined.len(), not_examined })
    }

    /// Record it as `frame_coverage` in each of `names` that is a measured object of `suites`
    /// (not one recorded not applicable, not run or failed: it examined nothing).
    pub fn record(&self, suites: &mut std::collections::BTreeMap<String, serde_json::Value>, names: &[&str]) {
        for name in names {
            if let Some(serde_json::Value::Object(suite)) = suites.get_mut(*name) {
                if suite.get("status").and_then(|s| s.as_str()).is_some_and(|s| matches!(s, "not-applicable" | "not-run" | "not-checked" | "error")) {
                    continue;
                }
                suite.insert("frame_coverage".into(), serde_json::json!(self));
            }
        }
    }
}

/// One warning line per skipped frame (the first three), saying the evidence records them.
pub fn warn_skipped(skipped: &[SkippedFrame]) {
    for s in skipped.iter().take(3) {
        eprintln!("warning: skipped {}: {} (recorded in results.json: frame_coverage)", s.id, s.reason);
    }
    if skipped.len() > 3 {
        eprintln!("warning: {} more frames skipped", skipped.len() - 3);
    }
}

pub fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg:12} [{bar:32}] {pos}/{len} ({elapsed}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Whether the files of role `reference` (`reference-*` included: external data, a remote
/// endpoint's metadata) hash the same as those of role `model` in `inputs`: on the same engine
/// that reference is the deployed model. Signatures are not compared (they are not run).
pub fn same_model_files(inputs: &[InputArtifact], model: &str, reference: &str) -> bool {
    let hashes = |role: &str| -> Vec<&str> {
        inputs
            .iter()
            .filter(|i| (i.role == role || i.role.strip_prefix(role).is_some_and(|r| r.starts_with('-'))) && !i.role.ends_with("-signature"))
            .map(|i| i.sha256.as_str())
            .collect()
    };
    let (m, r) = (hashes(model), hashes(reference));
    !m.is_empty() && m == r
}

/// The model file and the files that are part of it, each hashed: `role` for the model,
/// `<role>-external-data` for each ONNX external-data file, `<role>-signature` for a
/// signature beside it (`<model>.sig`, or `model.sig` in its folder).
pub fn model_artifacts(path: &Path, role: &str) -> Result<Vec<InputArtifact>> {
    if let Some(url) = remote_url(path) {
        // The model file stays on the device: pin the metadata its endpoint answered.
        let body = aite_remote::fetch_model_metadata(url, std::time::Duration::from_secs(10))?;
        return Ok(vec![InputArtifact { role: format!("{role}-endpoint"), name: url.to_string(), sha256: aite_engine::sha256_bytes(&body), count: None }]);
    }
    let artifact = |role: String, path: &Path| -> Result<InputArtifact> {
        let sha256 = aite_engine::sha256_file(path).with_context(|| format!("cannot hash {}", path.display()))?;
        Ok(InputArtifact { role, name: path.display().to_string(), sha256, count: None })
    };
    let mut out = vec![artifact(role.to_string(), path)?];
    for file in aite_engine::external_data_files(path)? {
        out.push(artifact(format!("{role}-external-data"), &file)?);
    }
    let mut own = path.as_os_str().to_owned();
    own.push(".sig");
    let beside = path.parent().unwrap_or(Path::new("")).join("model.sig");
    for sig in [std::path::PathBuf::from(own), beside] {
        if sig.is_file() {
            out.push(artifact(format!("{role}-signature"), &sig)?);
        }
    }
    Ok(out)
}

pub fn dataset_artifact(ds: &Dataset) -> InputArtifact {
    InputArtifact { role: "dataset".into(), name: ds.name.clone(), sha256: ds.sha256(), count: Some(ds.samples.len()) }
}

/// Extra files for the run folder: name and bytes.
pub type RawFiles = Vec<(String, Vec<u8>)>;

/// Write the run folder (config, environment, raw files, results, manifest) and print the summary.
pub fn write_evidence(output: &OutputArgs, command: &str, results: &Results, config: &serde_json::Value, raw: RawFiles) -> Result<std::path::PathBuf> {
    let run = RunFolder::create(&output.out, command)?;
    run.write_json("config.json", config)?;
    run.write_json("environment.json", &Environment::capture())?;
    for (name, bytes) in &raw {
        run.write_bytes(name, bytes)?;
    }
    write_wrapper_stderr(&run)?;
    let mut results = results.clone();
    results.run_id = run.path().file_name().map(|n| n.to_string_lossy().into_owned());
    run.write_json("results.json", &results)?;
    run.finish()?;
    if output.json {
        println!("{}", JsonRenderer.render(&results));
    } else {
        print!("{}", TerminalRenderer.render(&results));
        println!("evidence: {}", run.path().display());
    }
    Ok(run.path().to_path_buf())
}

pub fn latency_csv(records: &[aite_latency::QueryRecord]) -> Vec<u8> {
    let mut s = String::from("index,sample,scheduled_ns,issued_ns,completed_ns,latency_ns,decode_ns,preprocess_ns,inference_ns,postprocess_ns,after_idle\n");
    for r in records {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.index, r.sample, r.scheduled_ns, r.issued_ns, r.completed_ns, r.latency_ns(), r.decode_ns, r.preprocess_ns, r.inference_ns, r.postprocess_ns, r.after_idle
        ));
    }
    s.into_bytes()
}

/// `latency-samples.csv` of a report: [`latency_csv`], plus the per-query result count as a last
/// column named after what it counts (`detections`, `text_boxes`, `text_lines`) when the workload counts one.
pub fn latency_samples_csv(report: &aite_latency::LatencyReport) -> Vec<u8> {
    let base = latency_csv(&report.records);
    let Some(counted) = report.results_per_frame.as_ref().map(|r| r.counted) else { return base };
    let text = String::from_utf8(base).expect("the CSV is ASCII");
    let mut lines = text.lines();
    let mut s = format!("{},{}\n", lines.next().unwrap_or_default(), counted.column());
    for (line, r) in lines.zip(&report.records) {
        s.push_str(&format!("{line},{}\n", r.results.map_or(String::new(), |n| n.to_string())));
    }
    s.into_bytes()
}

pub fn predictions_csv(p: &[aite_accuracy::Prediction]) -> Vec<u8> {
    let mut s = String::from("id,label,top1,score,in_top_k\n");
    for x in p {
        let id = if x.id.contains([',', '"']) { format!("\"{}\"", x.id.replace('"', "\"\"")) } else { x.id.clone() };
        s.push_str(&format!("{id},{},{},{},{}\n", x.label, x.top1, x.score, x.in_top_k));
    }
    s.into_bytes()
}
