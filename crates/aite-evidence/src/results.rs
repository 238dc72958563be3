//! `results.json`: the versioned, machine-readable record of one run.

use crate::ToolInfo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema identifier written into every `results.json`. Bump the suffix on any
/// incompatible change; `docs/results-schema.md` documents each version.
pub const RESULTS_SCHEMA: &str = "aite.results/v1";

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// All suites ran to completion.
    Complete,
    /// Stopped by the user (Ctrl-C); results cover what ran.
    Interrupted,
    /// A suite failed part-way; results cover what ran and `error` says why.
    Failed,
}

/// A file the run read, identified by content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputArtifact {
    /// `model`, `dataset`, `preprocess`...
    pub role: String,
    pub name: String,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// The top-level document of `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema: String,
    pub tool: ToolInfo,
    /// The aite sub-command (`latency`, `accuracy`, `demo`...).
    pub command: String,
    /// The package folder's name (`20261201-120553-demo`): the run's id in reports and signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// UTC, RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    pub status: RunStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the target said about itself (engine, version, threads, tensors).
    pub target: serde_json::Value,
    pub inputs: Vec<InputArtifact>,
    /// One entry per suite that ran: `accuracy`, `latency`, `cold_start`, `caching_audit`...
    /// A suite that could not run is `{"status": "error", "error": ...}` or
    /// `{"status": "not-run", "why": ...}` (see [`Results::suite_error`]).
    pub suites: BTreeMap<String, serde_json::Value>,
    /// What the manufacturer declares about the terminal (`aite run`'s `[declared]`
    /// and `[terminal]`): the assessment compares measured values with these.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub declared: serde_json::Map<String, serde_json::Value>,
    /// Raw files of the package per suite (`latency` → `latency-samples.csv`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, Vec<String>>,
    /// Which decoder produced each frame the suites read (`aite_data::DecoderTally`:
    /// libjpeg-exact, lossless, JPEG fallback with the files), so a peer knows which inputs may differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoders: Option<serde_json::Value>,
}

impl Results {
    pub fn new(command: &str, target: serde_json::Value) -> Self {
        let now = now_rfc3339();
        Results {
            schema: RESULTS_SCHEMA.into(),
            tool: ToolInfo::current(),
            command: command.into(),
            run_id: None,
            started_at: now.clone(),
            finished_at: now,
            status: RunStatus::Complete,
            error: None,
            target,
            inputs: vec![],
            suites: BTreeMap::new(),
            declared: serde_json::Map::new(),
            files: BTreeMap::new(),
            decoders: None,
        }
    }

    /// Record a suite's result under `name`.
    pub fn add_suite<T: Serialize>(&mut self, name: &str, value: &T) {
        let v = serde_json::to_value(value).unwrap_or_else(|e| serde_json::json!({ "serialisation_error": e.to_string() }));
        self.suites.insert(name.into(), v);
    }

    /// Record that suite `name` could not run: its requirements are ERROR, not passed.
    pub fn suite_error(&mut self, name: &str, error: &str) {
        self.suites.insert(name.into(), serde_json::json!({ "status": "error", "error": error }));
    }

    /// Record that suite `name` was not run and why: its requirements are NOT_TESTED.
    pub fn suite_not_run(&mut self, name: &str, why: &str) {
        self.suites.insert(name.into(), serde_json::json!({ "status": "not-run", "why": why }));
    }

    /// Stamp the finish time.
    pub fn finish(&mut self, status: RunStatus) {
        self.finished_at = now_rfc3339();
        self.status = status;
    }
}

/// Current UTC time in RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
