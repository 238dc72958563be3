//! What the history keeps about a run: its identity, terminal, inputs, verdicts,
//! key metrics and security findings.

use serde::Serialize;
use std::fmt;

/// A run's id: the first 12 hex digits of the SHA-256 of its manifest.json, so the
/// same package always has the same id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RunId(pub String);

impl RunId {
    /// Digits of the manifest digest kept in the id.
    pub const LEN: usize = 12;

    pub(crate) fn from_manifest_digest(sha256: &str) -> Self {
        RunId(sha256[..Self::LEN.min(sha256.len())].to_string())
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The terminal under test as results.json `declared.terminal` states it; every field may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Terminal {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub hardware_revision: Option<String>,
    pub serial: Option<String>,
    pub firmware_version: Option<String>,
}

impl Terminal {
    /// "manufacturer model (hw REV, s/n SERIAL, fw VERSION)", or `undeclared`.
    pub fn label(&self) -> String {
        let name: Vec<&str> = [&self.manufacturer, &self.model].into_iter().flatten().map(String::as_str).collect();
        let extra: Vec<String> = [("hw ", &self.hardware_revision), ("s/n ", &self.serial), ("fw ", &self.firmware_version)]
            .into_iter()
            .filter_map(|(p, v)| v.as_ref().map(|v| format!("{p}{v}")))
            .collect();
        match (name.is_empty(), extra.is_empty()) {
            (true, true) => "undeclared".into(),
            (false, true) => name.join(" "),
            (true, false) => format!("({})", extra.join(", ")),
            (false, false) => format!("{} ({})", name.join(" "), extra.join(", ")),
        }
    }

    /// Case-insensitive substring match on any field.
    pub fn matches(&self, needle: &str) -> bool {
        let needle = needle.to_lowercase();
        [&self.manufacturer, &self.model, &self.hardware_revision, &self.serial, &self.firmware_version]
            .into_iter()
            .flatten()
            .any(|v| v.to_lowercase().contains(&needle))
            || self.label().to_lowercase().contains(&needle)
    }
}

/// One results.json `inputs[]` entry: a model, dataset, firmware image, key or feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    pub role: String,
    pub name: String,
    pub sha256: String,
    pub count: Option<u64>,
}

/// A requirement's verdict label, as assessment.json writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
    NotApplicable,
    NotTested,
    Error,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [Verdict::Pass, Verdict::Fail, Verdict::Inconclusive, Verdict::NotApplicable, Verdict::NotTested, Verdict::Error];

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::NotApplicable => "NOT_APPLICABLE",
            Verdict::NotTested => "NOT_TESTED",
            Verdict::Error => "ERROR",
        }
    }

    pub fn from_label(s: &str) -> Option<Self> {
        Verdict::ALL.into_iter().find(|v| v.label() == s)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One requirement of assessment.json with its verdict and what it stood on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementVerdict {
    pub id: String,
    pub title: Option<String>,
    pub item: Option<String>,
    pub verdict: Verdict,
    /// `why` of NOT_APPLICABLE / NOT_TESTED, `cause` of ERROR.
    pub reason: Option<String>,
    pub value: Option<f64>,
    pub interval_low: Option<f64>,
    pub interval_high: Option<f64>,
    pub interval_method: Option<String>,
    pub threshold: Option<f64>,
    pub comparator: Option<String>,
    pub unit: Option<String>,
    pub decision: Option<String>,
    pub note: Option<String>,
}

/// The latency percentiles kept per latency suite, LoadGen's `x[floor(n p)]`.
pub const LATENCY_PERCENTILES: [(&str, f64); 3] = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99)];

/// A key metric of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// `<suite>.top1`, `<suite>.robust_accuracy`, `attack_worst_case[<norm> <epsilon>].robust_accuracy` (`[linf 8/255]`),
    /// `<suite>.p50_ms` / `p90_ms` / `p99_ms`, `<suite>.valid`.
    pub name: String,
    pub value: MetricValue,
}

/// A metric's value by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MetricValue {
    /// Successes of trials with the Wilson 95% interval results.json recorded.
    Proportion { value: Option<f64>, successes: u64, trials: u64, ci95_low: Option<f64>, ci95_high: Option<f64> },
    /// A latency percentile in ms; `samples_file` is the raw per-query CSV in the package.
    LatencyMs { value: f64, percentile: f64, samples_file: Option<String> },
    /// A yes/no fact, e.g. a latency run's LoadGen validity.
    Flag { value: bool },
}

impl MetricValue {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            MetricValue::Proportion { .. } => "proportion",
            MetricValue::LatencyMs { .. } => "latency-ms",
            MetricValue::Flag { .. } => "flag",
        }
    }
}

/// Subject of an image-wide finding (empty path in results.json).
pub const IMAGE_WIDE: &str = "(image)";

/// A failing security finding: the suite that reported it, the rule, the subject it is about
/// (path inside the image; the endpoint `127.0.0.1:23/tcp` for the network probe), its message
/// and what tells it from the rule's other findings on that subject.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Finding {
    pub suite: FindingSuite,
    pub rule: String,
    pub subject: String,
    pub severity: String,
    pub message: String,
    pub key: FindingKey,
}

/// The suite of the basic security layer a finding or rule status comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingSuite {
    /// The static scan of the firmware image (`aite security`, results.json `suites.security`).
    Security,
    /// The network probe of the running terminal (`aite probe`, results.json `suites.network`).
    Network,
}

impl FindingSuite {
    pub const ALL: [FindingSuite; 2] = [FindingSuite::Security, FindingSuite::Network];

    /// The results.json suite and the `suite` column.
    pub fn label(self) -> &'static str {
        match self {
            FindingSuite::Security => "security",
            FindingSuite::Network => "network",
        }
    }

    pub fn from_label(s: &str) -> Option<Self> {
        FindingSuite::ALL.into_iter().find(|x| x.label() == s)
    }
}

impl fmt::Display for FindingSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// `suites.<security|network>.findings[].key` as recorded: how the release diff follows a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "kebab-case")]
pub enum FindingKey {
    /// The account, certificate subject, component and vulnerability... the scan named.
    Named(String),
    /// The rule reports at most one finding per subject: rule and subject identify it.
    Subject,
    /// Recorded from a results.json without the field (an older aite): only the message tells
    /// findings apart.
    NotRecorded,
}

impl FindingKey {
    /// The `findings.finding_key` column: NULL, `''` or the key.
    pub(crate) fn column(&self) -> Option<&str> {
        match self {
            FindingKey::Named(k) => Some(k),
            FindingKey::Subject => Some(""),
            FindingKey::NotRecorded => None,
        }
    }

    pub(crate) fn from_column(v: Option<String>) -> Self {
        match v {
            None => FindingKey::NotRecorded,
            Some(k) if k.is_empty() => FindingKey::Subject,
            Some(k) => FindingKey::Named(k),
        }
    }
}

/// One row of `aite history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: RunId,
    pub recorded_at: String,
    pub started_at: Option<String>,
    pub command: Option<String>,
    pub status: Option<String>,
    pub tool_version: Option<String>,
    pub tool_commit: Option<String>,
    pub terminal: Terminal,
    /// The firmware image the security suite scanned (results.json input with role `firmware`).
    pub firmware: Option<Input>,
    pub profile_id: Option<String>,
    pub profile_version: Option<String>,
    pub profile_sha256: Option<String>,
    /// `None` when the package has no assessment.json.
    pub overall_verdict: Option<Verdict>,
    pub package_path: String,
    pub manifest_sha256: String,
    /// Requirements the assessment left out of scope: a verdict over part of the profile.
    pub out_of_scope: usize,
}
