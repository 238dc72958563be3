//! The evidence package as the report renderers see it: a run folder read once,
//! every file hashed, the assessment mirrored in types. Renderers take a
//! [`Package`] and nothing else, so a report is a pure function of evidence.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ReportError;

/// Files the renderers write; they are outputs, never evidence they describe.
pub const RENDERED: &[&str] = &[
    "report.html",
    "report.pdf",
    "junit.xml",
    "oscal-ar.json",
    "oscal-ap.json",
    "bom.cdx.json",
    "report-screenshot.png",
];

/// One run's evidence, read from its folder.
#[derive(Debug, Clone)]
pub struct Package {
    pub dir: PathBuf,
    /// `results.json`.
    pub results: Value,
    /// `assessment.json` (an `aite_assessment::Assessment`).
    pub assessment: Assessment,
    pub environment: Option<Value>,
    pub config: Option<Value>,
    /// `findings.sarif`.
    pub sarif: Option<Value>,
    /// `model-<name>.json` (see [`ModelFacts`]), by file name.
    pub models: BTreeMap<String, ModelFacts>,
    /// SHA-256 of every evidence file as read now (dot-entries, `manifest.json`, the signature envelope and [`RENDERED`] excluded).
    pub files: BTreeMap<String, String>,
    /// `manifest.json` as recorded, when present.
    pub manifest: Option<BTreeMap<String, String>>,
    /// `latency-samples.csv` (single-stream end-to-end), when present.
    pub latency_samples: Vec<LatencySample>,
    /// `latency-periodic-samples.csv`, when present.
    pub periodic_samples: Vec<LatencySample>,
}

/// One row of a latency samples CSV.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LatencySample {
    pub index: u64,
    pub scheduled_ns: u64,
    pub completed_ns: u64,
    pub latency_ns: u64,
    #[serde(default)]
    pub after_idle: bool,
}

/// `assessment.json` is read with the assessment crate's own types: one reader.
pub use aite_assessment::{Assessment, RequirementResult, Verdict};

/// `model-<name>.json`: `aite inspect --json` of a model the run loaded
/// (`aite_engine::ModelReport`), plus `graph`, its nodes in file order.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelFacts {
    /// The name results.json `inputs[]` gives the model (e.g. `reference:digits_cnn_fp32.onnx`), or the file path.
    #[serde(default)]
    pub name: Option<String>,
    pub path: String,
    pub format: String,
    pub size_bytes: u64,
    pub sha256: String,
    #[serde(default)]
    pub producer: String,
    #[serde(default)]
    pub inputs: Vec<Value>,
    #[serde(default)]
    pub outputs: Vec<Value>,
    pub operators: BTreeMap<String, usize>,
    pub parameters: u64,
    pub quantization: String,
    /// Nodes in file order (ONNX requires topological order); absent in an older package.
    #[serde(default)]
    pub graph: Option<Vec<GraphNode>>,
}

/// One node of a model graph.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphNode {
    pub op: String,
    /// Weight elements of the initializers this node reads.
    #[serde(default)]
    pub parameters: u64,
}

impl Package {
    /// Read the package in `dir`. `results.json` and `assessment.json` are required.
    pub fn read(dir: &Path) -> Result<Package, ReportError> {
        if !dir.is_dir() {
            return Err(ReportError::NotAPackage { dir: dir.to_path_buf() });
        }
        let results = read_json(dir, "results.json")?.ok_or_else(|| ReportError::Missing { file: dir.join("results.json"), hint: "not an aite run folder" })?;
        let assessment_value = read_json(dir, "assessment.json")?.ok_or_else(|| ReportError::Missing {
            file: dir.join("assessment.json"),
            hint: "the run was not assessed against a profile\n  hint: `aite assess DIR --profile NAME` writes it (`aite run` and `aite demo` do so themselves)",
        })?;
        let assessment: Assessment = serde_json::from_value(assessment_value)
            .map_err(|e| ReportError::Parse { file: dir.join("assessment.json"), reason: e.to_string() })?;
        let mut files = BTreeMap::new();
        let mut models = BTreeMap::new();
        let io = |source| ReportError::Io { path: dir.to_path_buf(), source };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // The signature is over the package, reports included: never evidence a report lists.
            if name.starts_with('.') || name == "manifest.json" || name == aite_evidence::ENVELOPE_NAME || RENDERED.contains(&name.as_str()) || !entry.file_type().map_err(io)?.is_file() {
                continue;
            }
            entries.push(name);
        }
        entries.sort();
        for name in entries {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(|source| ReportError::Io { path: path.clone(), source })?;
            files.insert(name.clone(), hex::encode(Sha256::digest(&bytes)));
            if name.starts_with("model-") && name.ends_with(".json") {
                let facts: ModelFacts = serde_json::from_slice(&bytes).map_err(|e| ReportError::Parse { file: path.clone(), reason: e.to_string() })?;
                models.insert(name, facts);
            }
        }
        let manifest = match read_json(dir, "manifest.json")? {
            Some(v) => Some(
                serde_json::from_value::<ManifestDoc>(v)
                    .map_err(|e| ReportError::Parse { file: dir.join("manifest.json"), reason: e.to_string() })?
                    .files,
            ),
            None => None,
        };
        Ok(Package {
            dir: dir.to_path_buf(),
            results,
            assessment,
            environment: read_json(dir, "environment.json")?,
            config: read_json(dir, "config.json")?,
            sarif: read_json(dir, "findings.sarif")?,
            models,
            files,
            manifest,
            latency_samples: read_samples(dir, "latency-samples.csv")?,
            periodic_samples: read_samples(dir, "latency-periodic-samples.csv")?,
        })
    }

    /// A suite of results.json, when it ran.
    pub fn suite(&self, name: &str) -> Option<&Value> {
        self.results.get("suites").and_then(|s| s.get(name)).filter(|v| !v.is_null())
    }

    /// A string of results.json at a JSON pointer, or `""`.
    pub fn text(&self, pointer: &str) -> &str {
        self.results.pointer(pointer).and_then(Value::as_str).unwrap_or("")
    }

    /// When the run finished (RFC 3339, UTC): the date every rendered format carries.
    pub fn finished_at(&self) -> &str {
        self.text("/finished_at")
    }

    /// A stable identifier of this package's report: a name-based UUID of results.json's hash.
    pub fn report_uuid(&self) -> uuid::Uuid {
        self.uuid_for("report")
    }

    /// A name-based (v5) UUID for `what` in this package: the same package always gives the same ids.
    pub fn uuid_for(&self, what: &str) -> uuid::Uuid {
        let results = self.files.get("results.json").map(String::as_str).unwrap_or("");
        let assessment = self.files.get("assessment.json").map(String::as_str).unwrap_or("");
        uuid::Uuid::new_v5(&NAMESPACE, format!("{results}/{assessment}/{what}").as_bytes())
    }

    /// The short report id printed on every page: `AITE-` and the first 12 hex digits of the report UUID.
    pub fn report_id(&self) -> String {
        let u = self.report_uuid().simple().to_string();
        format!("AITE-{}", u[..12].to_uppercase())
    }
}

/// Namespace of aite's name-based UUIDs (a v5 UUID of `aite.report` in the URL namespace).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_bytes([
    0x5c, 0x2f, 0x0e, 0x61, 0x3a, 0x7d, 0x5b, 0x1e, 0x9a, 0x4c, 0x1d, 0x60, 0x8e, 0x25, 0x7b, 0x33,
]);

#[derive(Deserialize)]
struct ManifestDoc {
    files: BTreeMap<String, String>,
}

fn read_json(dir: &Path, name: &str) -> Result<Option<Value>, ReportError> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ReportError::Io { path, source }),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| ReportError::Parse { file: path, reason: e.to_string() })
}

fn read_samples(dir: &Path, name: &str) -> Result<Vec<LatencySample>, ReportError> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(vec![]);
    }
    let mut reader = csv::Reader::from_path(&path).map_err(|e| ReportError::Parse { file: path.clone(), reason: e.to_string() })?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| ReportError::Parse { file: path.clone(), reason: format!("row {}: {e}", i + 2) }))
        .collect()
}
