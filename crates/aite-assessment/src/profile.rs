//! Profiles: versioned TOML lists of requirements (data, never code), the
//! shipped ones embedded in the crate, lab files that `extend` one of them and
//! override values (each override recorded), and [`check`], which rejects
//! unknown keys, unknown metrics and bad comparators naming the line.

use crate::catalogue::{self, IntervalSource, MetricKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The profile schema this crate reads.
pub const PROFILE_SCHEMA: &str = "aite.profile/v1";

/// The profiles shipped with aite: (name, TOML text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("ai-camera", include_str!("../profiles/ai-camera.toml")),
    ("edge-server", include_str!("../profiles/edge-server.toml")),
    ("industrial-vision", include_str!("../profiles/industrial-vision.toml")),
    ("reference-terminal", include_str!("../profiles/reference-terminal.toml")),
];

/// The mandatory assessment item a requirement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Item {
    Latency,
    Robustness,
    Security,
}

impl Item {
    pub const ALL: [Item; 3] = [Item::Latency, Item::Robustness, Item::Security];
}

/// How a value is compared with the threshold: the value must be `le` (≤) the threshold, etc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Comparator {
    Le,
    Lt,
    Ge,
    Gt,
    Eq,
}

impl Comparator {
    /// Whether `value` is on the passing side of `threshold`.
    pub fn passes(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparator::Le => value <= threshold,
            Comparator::Lt => value < threshold,
            Comparator::Ge => value >= threshold,
            Comparator::Gt => value > threshold,
            Comparator::Eq => value == threshold,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Le => "<=",
            Comparator::Lt => "<",
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Eq => "==",
        }
    }
}

/// ISO/IEC 17025 7.8.6 decision rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionRule {
    /// The point estimate against the threshold.
    Simple,
    /// PASS only if the whole 95% interval passes, FAIL only if it wholly fails, else INCONCLUSIVE.
    Guarded,
}

/// Where a threshold value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdStatus {
    /// Chosen by aite while the guideline's own numbers are not public: say so in every report.
    Provisional,
    /// Taken from a published document named in `source`.
    Published,
    /// Set by a lab or manufacturer in its own profile file.
    Lab,
}

/// Source and status of a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub source: String,
    pub status: ThresholdStatus,
}

/// A threshold: a number, a boolean, the frame period of the periodic run, or a value the manufacturer declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Threshold {
    Number(f64),
    Flag(bool),
    /// `1000 / fps` of the metric's periodic scenario, in ms.
    FramePeriod,
    /// `declared.<key>` of results.json (written from the terminal's configuration).
    Declared(String),
}

/// The serde name of a unit enum (`latency`, `le`, `guarded`, `provisional`), as
/// assessment.json writes it and reports print it.
pub(crate) fn serde_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

macro_rules! display_as_serde {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&serde_name(self))
            }
        }
    )*};
}
display_as_serde!(Item, Comparator, DecisionRule, ThresholdStatus);

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::Number(x) => write!(f, "{x}"),
            Threshold::Flag(b) => write!(f, "{b}"),
            Threshold::FramePeriod => f.write_str("frame-period"),
            Threshold::Declared(k) => write!(f, "declared:{k}"),
        }
    }
}

/// A condition under which a requirement applies: the value at `path` equals `equals`
/// (or, without `equals`, the path is present).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    /// Said in the NOT_APPLICABLE justification when the condition does not hold.
    pub otherwise: String,
}

/// One requirement of a profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    pub item: Item,
    /// Dotted path in results.json (see [`catalogue::CATALOGUE`]); empty when `reserved`.
    pub metric: String,
    pub statistic: String,
    pub comparator: Option<Comparator>,
    pub threshold: Option<Threshold>,
    pub unit: String,
    pub decision: DecisionRule,
    pub applies_when: Vec<Condition>,
    pub clauses: Vec<String>,
    pub remediation: String,
    pub provenance: Provenance,
    /// Not measurable by aite yet: always NOT_TESTED with this reason.
    pub reserved: Option<String>,
    /// The radius of the threat model a worst-case requirement judges
    /// (`suites.attack_worst_case.<norm>.*`; `"8/255"` or a number in the profile); without it,
    /// the only worst case recorded at the norm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
}

/// An overridden value: which requirement and field, old and new, from which file and line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub requirement: String,
    pub field: String,
    pub old: String,
    pub new: String,
    pub file: String,
    pub line: usize,
}

/// A checked profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub id: String,
    pub version: String,
    pub title: String,
    /// The profile this one extends, if any.
    pub extends: Option<String>,
    pub requirements: Vec<Requirement>,
    pub overrides: Vec<Override>,
    /// Where it was read from (`shipped:NAME` or a file path).
    pub source: String,
    /// SHA-256 (hex) of this profile's text followed by the digest of the profile it extends.
    pub sha256: String,
}

impl Profile {
    /// Whether any threshold is provisional (every report must say so).
    pub fn provisional(&self) -> bool {
        self.requirements.iter().any(|r| r.provenance.status == ThresholdStatus::Provisional)
    }
}

/// One problem in a profile file, at a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("unknown profile `{name}` (shipped: {})", shipped_names().join(", "))]
    Unknown { name: String },
    #[error("{}", problems.iter().map(|p| format!("{file}:{}: {}", p.line, p.message)).collect::<Vec<_>>().join("\n"))]
    Invalid { file: String, problems: Vec<Problem> },
    #[error("profile {file} extends itself through {chain}")]
    Cycle { file: String, chain: String },
}

/// Names of the shipped profiles.
pub fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(n, _)| *n).collect()
}

/// The TOML text of a shipped profile.
pub fn shipped_text(name: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Load a shipped profile by name.
pub fn shipped(name: &str) -> Result<Profile, ProfileError> {
    let text = shipped_text(name).ok_or_else(|| ProfileError::Unknown { name: name.to_string() })?;
    check(&format!("shipped:{name}"), text, None)
}

/// Load a profile file; `extends` names a shipped profile or a file relative to this one.
pub fn load(path: &Path) -> Result<Profile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io { path: path.to_path_buf(), source })?;
    check(&path.display().to_string(), &text, path.parent())
}

/// Parse and validate profile text named `file`. `dir` resolves `extends` to files;
/// without it only shipped profiles can be extended.
pub fn check(file: &str, text: &str, dir: Option<&Path>) -> Result<Profile, ProfileError> {
    check_chain(file, text, dir, &mut vec![file.to_string()])
}

fn check_chain(file: &str, text: &str, dir: Option<&Path>, chain: &mut Vec<String>) -> Result<Profile, ProfileError> {
    let invalid = |problems: Vec<Problem>| ProfileError::Invalid { file: file.to_string(), problems };
    let raw: RawProfile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        invalid(vec![Problem { line, message: e.message().trim().to_string() }])
    })?;
    let mut problems = Vec::new();
    if raw.schema.get_ref() != PROFILE_SCHEMA {
        problems.push(Problem { line: line_of(text, raw.schema.span().start), message: format!("schema `{}` is not `{PROFILE_SCHEMA}`", raw.schema.get_ref()) });
    }
    let mut base = match &raw.extends {
        None => None,
        Some(ext) => {
            let name = ext.get_ref();
            let resolved = if let Some(t) = shipped_text(name) {
                Some((format!("shipped:{name}"), t.to_string(), None))
            } else if let Some(d) = dir {
                let p = d.join(name);
                match std::fs::read_to_string(&p) {
                    Ok(t) => Some((p.display().to_string(), t, p.parent().map(Path::to_path_buf))),
                    Err(e) => {
                        problems.push(Problem { line: line_of(text, ext.span().start), message: format!("extends `{name}`: neither a shipped profile ({}) nor a readable file {}: {e}", shipped_names().join(", "), p.display()) });
                        None
                    }
                }
            } else {
                problems.push(Problem { line: line_of(text, ext.span().start), message: format!("extends `{name}`: not a shipped profile ({})", shipped_names().join(", ")) });
                None
            };
            match resolved {
                None => None,
                Some((bfile, btext, bdir)) => {
                    if chain.contains(&bfile) {
                        return Err(ProfileError::Cycle { file: file.to_string(), chain: chain.join(" -> ") });
                    }
                    chain.push(bfile.clone());
                    Some(check_chain(&bfile, &btext, bdir.as_deref(), chain)?)
                }
            }
        }
    };
    let mut requirements = base.as_ref().map(|b| b.requirements.clone()).unwrap_or_default();
    let mut overrides = base.as_mut().map(|b| std::mem::take(&mut b.overrides)).unwrap_or_default();
    for r in raw.requirement {
        let line = line_of(text, r.id.span().start);
        if requirements.iter().any(|x| x.id == *r.id.get_ref()) {
            problems.push(Problem { line, message: format!("requirement `{}` is defined twice (use [[override]] to change an inherited one)", r.id.get_ref()) });
            continue;
        }
        match r.into_requirement(text) {
            Ok(req) => requirements.push(req),
            Err(mut p) => problems.append(&mut p),
        }
    }
    for o in raw.overrides {
        let line = line_of(text, o.requirement.span().start);
        let Some(req) = requirements.iter_mut().find(|x| x.id == *o.requirement.get_ref()) else {
            problems.push(Problem { line, message: format!("override of unknown requirement `{}`", o.requirement.get_ref()) });
            continue;
        };
        let mut record = |field: &str, old: String, new: String| {
            overrides.push(Override { requirement: req_id(&o.requirement), field: field.to_string(), old, new, file: file.to_string(), line });
        };
        let mut next = req.clone();
        if let Some(t) = &o.threshold {
            match parse_threshold(t, text) {
                Ok(v) => {
                    record("threshold", next.threshold.as_ref().map_or("none".into(), |t| t.to_string()), v.to_string());
                    next.threshold = Some(v);
                }
                Err(p) => problems.push(p),
            }
        }
        if let Some(c) = o.comparator {
            record("comparator", next.comparator.map_or("none".into(), |c| c.symbol().into()), c.symbol().into());
            next.comparator = Some(c);
        }
        if let Some(d) = o.decision {
            record("decision", format!("{:?}", next.decision).to_lowercase(), format!("{d:?}").to_lowercase());
            next.decision = d;
        }
        if let Some(rem) = o.remediation {
            record("remediation", next.remediation.clone(), rem.clone());
            next.remediation = rem;
        }
        record("provenance", format!("{:?}: {}", next.provenance.status, next.provenance.source), format!("{:?}: {}", o.provenance.status, o.provenance.source));
        next.provenance = o.provenance;
        match validate(&next, line) {
            Ok(()) => *req = next,
            Err(mut p) => problems.append(&mut p),
        }
    }
    if requirements.is_empty() {
        problems.push(Problem { line: 1, message: "the profile has no requirement".into() });
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let sha256 = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(text.as_bytes());
        if let Some(b) = &base {
            h.update(b.sha256.as_bytes());
        }
        hex::encode(h.finalize())
    };
    Ok(Profile {
        sha256,
        id: raw.id,
        version: raw.version,
        title: raw.title,
        extends: raw.extends.map(Spanned::into_inner),
        requirements,
        overrides,
        source: file.to_string(),
    })
}

fn req_id(s: &Spanned<String>) -> String {
    s.get_ref().clone()
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

fn parse_threshold(v: &Spanned<toml::Value>, text: &str) -> Result<Threshold, Problem> {
    let line = line_of(text, v.span().start);
    match v.get_ref() {
        toml::Value::Float(x) => Ok(Threshold::Number(*x)),
        toml::Value::Integer(i) => Ok(Threshold::Number(*i as f64)),
        toml::Value::Boolean(b) => Ok(Threshold::Flag(*b)),
        toml::Value::String(s) if s == "frame-period" => Ok(Threshold::FramePeriod),
        toml::Value::String(s) => match s.strip_prefix("declared:") {
            Some(k) if !k.is_empty() => Ok(Threshold::Declared(k.to_string())),
            _ => Err(Problem { line, message: format!("threshold `{s}` is not a number, a boolean, `frame-period` or `declared:KEY`") }),
        },
        other => Err(Problem { line, message: format!("threshold must be a number, a boolean, `frame-period` or `declared:KEY`, not {}", other.type_str()) }),
    }
}

/// Consistency of one requirement with the catalogue; problems reported at `line`.
fn validate(r: &Requirement, line: usize) -> Result<(), Vec<Problem>> {
    let mut p = Vec::new();
    let mut err = |m: String| p.push(Problem { line, message: format!("requirement `{}`: {m}", r.id) });
    if r.reserved.is_some() {
        return Ok(());
    }
    let Some(spec) = catalogue::lookup(&r.metric) else {
        err(format!("unknown metric `{}` (not in the metric catalogue; see docs/assessment.md)", r.metric));
        return Err(p);
    };
    if r.epsilon.is_some() && !r.metric.starts_with("suites.attack_worst_case.") {
        err(format!("`epsilon` selects a worst case's threat model; `{}` is not a worst case (suites.attack_worst_case.<norm>.*)", r.metric));
    }
    if !spec.statistics.contains(&r.statistic.as_str()) {
        err(format!("metric `{}` has no statistic `{}` (it has: {})", r.metric, r.statistic, spec.statistics.join(", ")));
    }
    if r.unit != spec.unit {
        err(format!("unit `{}` does not match the metric's unit `{}`", r.unit, spec.unit));
    }
    if r.decision == DecisionRule::Guarded && spec.interval == IntervalSource::None {
        err(format!("decision `guarded` needs an interval and `{}` has none: use `simple`", r.metric));
    }
    let needs_threshold = !matches!(spec.kind, MetricKind::SecurityRule | MetricKind::SuiteVerdict);
    match (needs_threshold, r.comparator, &r.threshold) {
        (false, None, None) => {}
        (false, _, _) => err(format!("`{}` is decided by its own status: remove comparator and threshold", r.metric)),
        (true, None, _) | (true, _, None) => err("comparator and threshold are required".into()),
        (true, Some(c), Some(t)) => {
            let flag = spec.kind == MetricKind::Flag;
            match t {
                Threshold::Flag(_) if !flag => err("a boolean threshold needs a boolean metric".into()),
                Threshold::Flag(_) if c != Comparator::Eq => err("a boolean threshold needs comparator `eq`".into()),
                Threshold::Number(_) | Threshold::FramePeriod | Threshold::Declared(_) if flag => err("a boolean metric needs threshold true or false".into()),
                Threshold::FramePeriod if spec.kind != MetricKind::LatencySummary || !r.metric.starts_with("suites.latency_periodic.") => {
                    err("threshold `frame-period` needs a latency metric of the periodic run".into())
                }
                _ => {}
            }
            if r.decision == DecisionRule::Guarded && c == Comparator::Eq {
                err("decision `guarded` needs an ordering comparator (le, lt, ge, gt)".into());
            }
            if spec.interval == IntervalSource::EarlyStopping && r.decision == DecisionRule::Guarded && !matches!(c, Comparator::Le | Comparator::Lt) {
                err("a guarded latency requirement is an upper bound: comparator le or lt".into());
            }
            if spec.kind == MetricKind::CvssBound {
                if !matches!(c, Comparator::Le | Comparator::Lt) {
                    err("a CVSS bound is an upper bound: comparator le or lt".into());
                }
                if let Threshold::Number(t) = t {
                    if !(0.0..=10.0).contains(t) {
                        err(format!("CVSS base scores lie in 0.0..10.0: threshold {t} is outside"));
                    }
                }
            }
        }
    }
    for c in &r.applies_when {
        let mut parts = c.path.split('.');
        let ok = match (parts.next(), parts.next()) {
            (Some("suites"), Some(s)) => catalogue::known_suite(s),
            (Some("declared" | "target"), Some(_)) => true,
            _ => false,
        };
        if !ok {
            err(format!("condition path `{}` is not under a known suite, `declared.` or `target.`", c.path));
        }
    }
    if r.clauses.is_empty() {
        err("no clause: say what the requirement evidences".into());
    }
    if p.is_empty() {
        Ok(())
    } else {
        Err(p)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    schema: Spanned<String>,
    id: String,
    version: String,
    title: String,
    #[serde(default)]
    extends: Option<Spanned<String>>,
    #[serde(default)]
    requirement: Vec<RawRequirement>,
    #[serde(default, rename = "override")]
    overrides: Vec<RawOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: Spanned<String>,
    title: String,
    item: Item,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    statistic: Option<String>,
    #[serde(default)]
    comparator: Option<Comparator>,
    #[serde(default)]
    threshold: Option<Spanned<toml::Value>>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    decision: Option<DecisionRule>,
    #[serde(default)]
    applies_when: Vec<Condition>,
    clauses: Vec<String>,
    remediation: String,
    provenance: Provenance,
    #[serde(default)]
    reserved: Option<String>,
    #[serde(default)]
    epsilon: Option<Spanned<toml::Value>>,
}

/// A worst-case requirement's radius: a number, or `"K/255"` grey levels.
fn parse_epsilon(v: &Spanned<toml::Value>, text: &str) -> Result<f64, Problem> {
    let line = line_of(text, v.span().start);
    let bad = |what: String| Problem { line, message: format!("epsilon {what} is not a positive number or `K/255`") };
    let e = match v.get_ref() {
        toml::Value::Float(x) => *x,
        toml::Value::Integer(i) => *i as f64,
        toml::Value::String(s) => match s.split_once('/') {
            Some((k, d)) => match (k.trim().parse::<f64>(), d.trim().parse::<f64>()) {
                (Ok(k), Ok(d)) if d > 0.0 => k / d,
                _ => return Err(bad(format!("`{s}`"))),
            },
            None => s.trim().parse::<f64>().map_err(|_| bad(format!("`{s}`")))?,
        },
        other => return Err(bad(format!("of type {}", other.type_str()))),
    };
    if e.is_finite() && e > 0.0 {
        Ok(e)
    } else {
        Err(bad(e.to_string()))
    }
}

impl RawRequirement {
    fn into_requirement(self, text: &str) -> Result<Requirement, Vec<Problem>> {
        let line = line_of(text, self.id.span().start);
        let threshold = match &self.threshold {
            None => None,
            Some(t) => Some(parse_threshold(t, text).map_err(|p| vec![p])?),
        };
        let epsilon = match &self.epsilon {
            None => None,
            Some(e) => Some(parse_epsilon(e, text).map_err(|p| vec![p])?),
        };
        let spec = self.metric.as_deref().and_then(catalogue::lookup);
        if self.metric.is_none() && self.reserved.is_none() {
            return Err(vec![Problem { line, message: format!("requirement `{}`: `metric` is required (or `reserved` with the reason it cannot be measured yet)", self.id.get_ref()) }]);
        }
        let statistic = self.statistic.unwrap_or_else(|| spec.map_or("value", |s| s.statistics[0]).to_string());
        let unit = self.unit.unwrap_or_else(|| spec.map_or("", |s| s.unit).to_string());
        let decision = self.decision.unwrap_or(match spec.map(|s| s.interval) {
            Some(IntervalSource::Wilson | IntervalSource::EarlyStopping | IntervalSource::Bootstrap) => DecisionRule::Guarded,
            _ => DecisionRule::Simple,
        });
        let r = Requirement {
            id: self.id.into_inner(),
            title: self.title,
            item: self.item,
            metric: self.metric.unwrap_or_default(),
            statistic,
            comparator: self.comparator,
            threshold,
            unit,
            decision,
            applies_when: self.applies_when,
            clauses: self.clauses,
            remediation: self.remediation,
            provenance: self.provenance,
            reserved: self.reserved,
            epsilon,
        };
        validate(&r, line)?;
        Ok(r)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    requirement: Spanned<String>,
    #[serde(default)]
    threshold: Option<Spanned<toml::Value>>,
    #[serde(default)]
    comparator: Option<Comparator>,
    #[serde(default)]
    decision: Option<DecisionRule>,
    #[serde(default)]
    remediation: Option<String>,
    /// Required: an override says where its value comes from.
    provenance: Provenance,
}
