//! `aite.toml`: what `aite run` evaluates (the terminal, its target and models,
//! the dataset, what the manufacturer declares, the suites and their sizes,
//! the profile, the firmware image) and the one reader of that file.
//! Unknown keys are errors naming the line; paths are relative to the file.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The configuration schema this reader accepts.
pub const CONFIG_SCHEMA: &str = "aite.config/v1";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}\n  hint: write one with `aite init --class ai-camera`", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Invalid { path: PathBuf, line: usize, message: String },
}

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub schema: String,
    #[serde(default)]
    pub terminal: Terminal,
    /// The laboratory (or manufacturer's test team) running the assessment: on the report's cover.
    #[serde(default)]
    pub lab: Lab,
    /// A shipped profile name or a profile file (relative to this file).
    pub profile: String,
    pub target: TargetConfig,
    #[serde(default)]
    pub dataset: Option<DatasetConfig>,
    /// What the manufacturer declares (`top1_accuracy`, `fps`, ...); thresholds read them as `declared:KEY`.
    #[serde(default)]
    pub declared: toml::Table,
    #[serde(default)]
    pub suites: Suites,
    /// Where the evidence packages go (relative to this file).
    #[serde(default = "default_out")]
    pub out: PathBuf,
}

fn default_out() -> PathBuf {
    PathBuf::from("aite-runs")
}

/// The terminal under test, as its nameplate says.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terminal {
    #[serde(default)]
    pub manufacturer: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub hardware_revision: String,
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub firmware_version: String,
}

/// Who tests, where: ISO/IEC 17025 7.8.2 asks a report to name the laboratory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub operator: String,
}

/// Engine kinds `aite run` can drive locally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    #[default]
    Tract,
    Ort,
}

/// The deployed model and, optionally, the reference it is compared with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    #[serde(default)]
    pub engine: Engine,
    /// The deployed model file (or `url` instead).
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// A remote target instead of a model file: `oip+http://HOST:PORT/models/NAME` (docs/remote.md).
    #[serde(default)]
    pub url: Option<String>,
    /// The reference model (e.g. fp32 before quantisation) for agreement and its own accuracy.
    #[serde(default)]
    pub reference_model: Option<PathBuf>,
    /// An OCR terminal (`[dataset].task` ocr): `model` is the text detector, this the
    /// recogniser (PP-OCR rec, its charset in the ONNX metadata `character`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rec: Option<PathBuf>,
    /// An OCR terminal's text direction classifier (0 / 180 degrees); without it no crop is turned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cls: Option<PathBuf>,
    /// An OCR terminal's reference pipeline for `ocr_agreement` (declared by any of these four:
    /// `reference_model` is then its text detector): its recogniser and direction classifier
    /// (default the deployed files) and its engine (default `engine`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_rec: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_cls: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_engine: Option<Engine>,
    #[serde(default = "one")]
    pub threads: usize,
    /// Batch size of the batch-invariance check (needs a model with a free batch dimension).
    #[serde(default = "four")]
    pub batch: usize,
}

/// The labeled images and how a frame becomes the model's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// A CSV manifest or an ImageFolder tree.
    pub path: PathBuf,
    /// A preset name, a TOML file, or key=value pairs (as `--preprocess`).
    #[serde(default)]
    pub preprocess: Option<String>,
    /// Use only the first N samples.
    #[serde(default)]
    pub limit: Option<usize>,
    /// What the model's outputs mean (as `--task`): a preset name (`aite presets`), a TOML file,
    /// `key=value` pairs, or a `[dataset.task]` table; default classifier. Recorded in config.json.
    #[serde(default)]
    pub task: Option<toml::Value>,
    /// A detector's labels: a COCO instances JSON file or a folder of YOLO txt files (as
    /// `aite accuracy --labels`); without them the detector's AP is not measured and its
    /// corruption sweep scores against its own clean predictions (pseudo ground truth).
    #[serde(default)]
    pub labels: Option<PathBuf>,
}

impl DatasetConfig {
    /// The task spec `task` names, `None` without one; a file path is read (relative paths
    /// were resolved by [`RunConfig::load`]).
    pub fn task_spec(&self) -> Result<Option<aite_task::TaskSpec>, String> {
        match &self.task {
            None => Ok(None),
            Some(toml::Value::Table(t)) => aite_task::TaskSpec::from_toml(&toml::to_string(t).map_err(|e| e.to_string())?).map(Some).map_err(|e| e.to_string()),
            Some(toml::Value::String(text)) => {
                let path = Path::new(text);
                if text.ends_with(".toml") || (path.is_file() && !text.contains('=')) {
                    let body = std::fs::read_to_string(path).map_err(|e| format!("cannot read task spec {}: {e}", path.display()))?;
                    return aite_task::TaskSpec::from_toml(&body).map(Some).map_err(|e| format!("in {}: {e}", path.display()));
                }
                aite_task::TaskSpec::parse_cli(text).map(Some).map_err(|e| e.to_string())
            }
            Some(other) => Err(format!("dataset.task must be a preset name, a TOML file, key=value pairs or a table, not a {}", other.type_str())),
        }
    }
}

/// Suite sizes. A suite the profile needs runs unless `enabled = false`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suites {
    #[serde(default)]
    pub latency: LatencySuite,
    #[serde(default)]
    pub periodic: PeriodicSuite,
    #[serde(default)]
    pub robustness: RobustnessSuite,
    #[serde(default)]
    pub security: SecuritySuite,
    #[serde(default)]
    pub network: NetworkSuite,
}

/// The running terminal's network surface (`aite probe`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSuite {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The device's address (loopback unless `allow_network` covers it).
    #[serde(default)]
    pub target: Option<String>,
    /// Ports to scan: `all`, or a list such as `22,80,443,554,8000-8010`.
    #[serde(default = "all")]
    pub ports: String,
    /// The ports the manufacturer declares (without them, the undeclared-port rule is not checked).
    #[serde(default)]
    pub declared: Option<String>,
    /// Networks beyond loopback the probe may reach, in CIDR (`192.168.1.0/24`).
    #[serde(default)]
    pub allow_network: Vec<String>,
}

impl Default for NetworkSuite {
    fn default() -> Self {
        NetworkSuite { enabled: true, target: None, ports: all(), declared: None, allow_network: vec![] }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySuite {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Minimum duration of the single-stream run.
    #[serde(default = "ten_seconds")]
    pub duration_ms: u64,
    #[serde(default = "min_queries")]
    pub min_queries: u64,
    /// The percentile LoadGen's early stopping estimates (the profile's guarded statistic).
    #[serde(default = "p99")]
    pub percentile: f64,
    /// Frames of the dataset cycled through (end-to-end: decode, preprocess, infer).
    #[serde(default = "sixty_four")]
    pub frames: usize,
}

impl Default for LatencySuite {
    fn default() -> Self {
        LatencySuite { enabled: true, duration_ms: ten_seconds(), min_queries: min_queries(), percentile: p99(), frames: sixty_four() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodicSuite {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Frames per second; default `declared.fps`.
    #[serde(default)]
    pub fps: Option<f64>,
    #[serde(default = "ten")]
    pub burst_frames: usize,
    #[serde(default = "two_seconds_f")]
    pub idle_ms: f64,
    #[serde(default = "periodic_queries")]
    pub min_queries: u64,
}

impl Default for PeriodicSuite {
    fn default() -> Self {
        PeriodicSuite { enabled: true, fps: None, burst_frames: ten(), idle_ms: two_seconds_f(), min_queries: periodic_queries() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustnessSuite {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Frames for the consistency checks.
    #[serde(default = "hundred")]
    pub consistency_frames: usize,
    #[serde(default = "three")]
    pub repeats: usize,
    /// `all`, `imagenet-c`, `camera`, or a comma list.
    #[serde(default = "all")]
    pub corruptions: String,
    #[serde(default = "all_severities")]
    pub severities: Vec<u8>,
    #[serde(default = "hundred")]
    pub corruption_frames: usize,
    /// Frames attacked by Square and SPSA (L-inf) and the noise baseline.
    #[serde(default = "forty")]
    pub attack_frames: usize,
    /// Queries per frame.
    #[serde(default = "thousand")]
    pub attack_budget: usize,
    /// L-inf radius in 1/255 units.
    #[serde(default = "eight")]
    pub epsilon_255: f32,
}

impl Default for RobustnessSuite {
    fn default() -> Self {
        RobustnessSuite {
            enabled: true,
            consistency_frames: hundred(),
            repeats: three(),
            corruptions: all(),
            severities: all_severities(),
            corruption_frames: hundred(),
            attack_frames: forty(),
            attack_budget: thousand(),
            epsilon_255: eight(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySuite {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The firmware image, root filesystem archive or folder to scan.
    #[serde(default)]
    pub image: Option<PathBuf>,
    /// An OSV feed (JSON or zip) to match the components against.
    #[serde(default)]
    pub osv: Option<PathBuf>,
    /// Public keys trusted to sign model artifacts.
    #[serde(default)]
    pub model_keys: Vec<PathBuf>,
}

impl Default for SecuritySuite {
    fn default() -> Self {
        SecuritySuite { enabled: true, image: None, osv: None, model_keys: vec![] }
    }
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn three() -> usize {
    3
}
fn four() -> usize {
    4
}
fn ten() -> usize {
    10
}
fn forty() -> usize {
    40
}
fn sixty_four() -> usize {
    64
}
fn hundred() -> usize {
    100
}
fn thousand() -> usize {
    1000
}
fn eight() -> f32 {
    8.0
}
fn ten_seconds() -> u64 {
    10_000
}
fn two_seconds_f() -> f64 {
    2000.0
}
fn min_queries() -> u64 {
    1024
}
fn periodic_queries() -> u64 {
    200
}
fn p99() -> f64 {
    0.99
}
fn all() -> String {
    "all".into()
}
fn all_severities() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}

impl RunConfig {
    /// Read and check `path`; relative paths inside become relative to its folder.
    pub fn load(path: &Path) -> Result<RunConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
        let mut c = Self::parse(path, &text)?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let rel = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(m) = c.target.model.as_mut() {
            rel(m);
        }
        if let Some(r) = c.target.reference_model.as_mut() {
            rel(r);
        }
        for m in [c.target.rec.as_mut(), c.target.cls.as_mut(), c.target.reference_rec.as_mut(), c.target.reference_cls.as_mut()].into_iter().flatten() {
            rel(m);
        }
        if let Some(d) = c.dataset.as_mut() {
            rel(&mut d.path);
            if let Some(l) = d.labels.as_mut() {
                rel(l);
            }
            if let Some(toml::Value::String(t)) = d.task.as_mut().filter(|t| t.as_str().is_some_and(|t| t.ends_with(".toml"))) {
                let mut pb = PathBuf::from(&*t);
                rel(&mut pb);
                *t = pb.display().to_string();
            }
            if let Some(p) = d.preprocess.as_mut().filter(|p| p.ends_with(".toml")) {
                let mut pb = PathBuf::from(&*p);
                rel(&mut pb);
                *p = pb.display().to_string();
            }
        }
        if let Some(i) = c.suites.security.image.as_mut() {
            rel(i);
        }
        if let Some(o) = c.suites.security.osv.as_mut() {
            rel(o);
        }
        c.suites.security.model_keys.iter_mut().for_each(rel);
        rel(&mut c.out);
        if !aite_assessment::profile::shipped_names().contains(&c.profile.as_str()) {
            let mut p = PathBuf::from(&c.profile);
            rel(&mut p);
            c.profile = p.display().to_string();
        }
        Ok(c)
    }

    /// Parse the text of a file named `path` (for messages), without resolving paths.
    pub fn parse(path: &Path, text: &str) -> Result<RunConfig, ConfigError> {
        let invalid = |line: usize, message: String| ConfigError::Invalid { path: path.to_path_buf(), line, message };
        let c: RunConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| text.as_bytes()[..s.start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1);
            invalid(line, e.message().trim().to_string())
        })?;
        if c.schema != CONFIG_SCHEMA {
            return Err(invalid(1, format!("schema `{}` is not `{CONFIG_SCHEMA}`", c.schema)));
        }
        let target_line = text.lines().position(|l| l.trim() == "[target]").map_or(1, |i| i + 1);
        match (&c.target.model, &c.target.url) {
            (None, None) => return Err(invalid(target_line, "[target] needs `model` (a model file) or `url` (a remote target)".into())),
            (Some(_), Some(_)) => return Err(invalid(line_of_key(text, "url"), "[target] takes `model` or `url`, not both".into())),
            (None, Some(u)) => {
                aite_remote::check_target_url(u).map_err(|e| invalid(line_of_key(text, "url"), e.to_string()))?;
            }
            (Some(_), None) => {}
        }
        if let Some(d) = c.dataset.as_ref().filter(|d| d.task.as_ref().is_some_and(|t| !t.as_str().is_some_and(|t| t.ends_with(".toml")))) {
            d.task_spec().map_err(|e| invalid(line_of_key(text, "task"), e))?;
        }
        // An OCR pipeline's models need an OCR task (a task file is read once paths are resolved).
        let t = &c.target;
        let ocr_model = [("rec", t.rec.is_some()), ("cls", t.cls.is_some()), ("reference_rec", t.reference_rec.is_some()), ("reference_cls", t.reference_cls.is_some()), ("reference_engine", t.reference_engine.is_some())].into_iter().find_map(|(k, set)| set.then_some(k));
        if let Some(key) = ocr_model {
            let task = c.dataset.as_ref().and_then(|d| d.task.as_ref());
            let file = task.and_then(|t| t.as_str()).is_some_and(|t| t.ends_with(".toml"));
            let ocr = c.dataset.as_ref().and_then(|d| d.task_spec().ok().flatten()).is_some_and(|t| matches!(t, aite_task::TaskSpec::Ocr(_)));
            if !ocr && !file {
                return Err(invalid(line_of_key(text, key), format!("[target].{key} belongs to an OCR pipeline, and [dataset].task is not an OCR task\n  hint: task = \"ppocr-v4\" in [dataset]")));
            }
        }
        check_declared(&c.declared).map_err(|(key, message)| invalid(line_of_key(text, &key), message))?;
        Ok(c)
    }

    /// The declared block as results.json records it: `[declared]` plus `terminal`.
    pub fn declared_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m: serde_json::Map<String, serde_json::Value> =
            self.declared.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(serde_json::Value::Null))).collect();
        m.insert("terminal".into(), serde_json::to_value(&self.terminal).unwrap_or_default());
        m
    }

    /// Frames per second of the periodic scenario: `[suites.periodic].fps`, else `declared.fps`.
    pub fn fps(&self) -> Option<f64> {
        self.suites.periodic.fps.or_else(|| match self.declared.get("fps") {
            Some(toml::Value::Float(f)) => Some(*f),
            Some(toml::Value::Integer(i)) => Some(*i as f64),
            _ => None,
        })
    }
}

/// What a manufacturer may declare: numbers, strings or booleans; `fps` positive; the
/// fractions (`top1_accuracy`, `detection_ap`, `ocr_char_accuracy`) in range. `Err((key, message))`.
pub fn check_declared(declared: &toml::Table) -> Result<(), (String, String)> {
    let bad = |k: &str, message: &str| Err((k.to_string(), message.to_string()));
    for (k, v) in declared {
        if !matches!(v, toml::Value::Float(_) | toml::Value::Integer(_) | toml::Value::String(_) | toml::Value::Boolean(_)) {
            return Err((k.clone(), format!("declared.{k} must be a number, string or boolean")));
        }
    }
    let number = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64));
    if let Some(fps) = declared.get("fps") {
        if !number(fps).is_some_and(|f| f > 0.0) {
            return bad("fps", "declared.fps must be a positive number of frames per second");
        }
    }
    if let Some(a) = declared.get("detection_ap") {
        if !number(a).is_some_and(|v| v > 0.0 && v <= 1.0) {
            return bad("detection_ap", "declared.detection_ap must be a fraction between 0.0 and 1.0 (COCO AP@[.5:.95], e.g. 0.35)");
        }
    }
    if let Some(a) = declared.get("ocr_char_accuracy") {
        if !number(a).is_some_and(|v| v > 0.0 && v <= 1.0) {
            return bad("ocr_char_accuracy", "declared.ocr_char_accuracy must be a fraction between 0.0 and 1.0 (1 - character edits / label characters, e.g. 0.9)");
        }
    }
    if let Some(a) = declared.get("top1_accuracy") {
        if !a.as_float().is_some_and(|f| (0.0..=1.0).contains(&f)) {
            return bad("top1_accuracy", "declared.top1_accuracy must be a fraction between 0.0 and 1.0 (e.g. 0.85)");
        }
    }
    Ok(())
}

fn line_of_key(text: &str, key: &str) -> usize {
    text.lines().position(|l| l.trim_start().starts_with(key) && l.contains('=')).map_or(1, |i| i + 1)
}
