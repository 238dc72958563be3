//! [`assess`]: a profile applied to a results.json value. Each requirement gets
//! a verdict with its value, interval, threshold, decision rule, clauses and
//! the JSON pointers it read; then a gap analysis per mandatory item and an
//! overall verdict with its exit code ([`OverallVerdict::exit_code`]).

use crate::catalogue::{self, IntervalSource, MetricKind};
use crate::profile::{Comparator, DecisionRule, Item, Override, Profile, Provenance, Requirement, Threshold};
use crate::verdict::{guarded, trials_to_decide, wilson, Interval, MoreSamples, Verdict, Z95};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The verdict on one requirement and what it stands on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementResult {
    pub id: String,
    pub title: String,
    pub item: Item,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub value: Option<f64>,
    pub interval: Option<Interval>,
    /// The threshold as resolved (frame period and declared values as numbers).
    pub threshold: Option<f64>,
    /// The threshold as the profile states it.
    pub threshold_rule: Option<Threshold>,
    pub comparator: Option<Comparator>,
    pub unit: String,
    pub decision: DecisionRule,
    pub clauses: Vec<String>,
    /// JSON pointers (RFC 6901) into results.json of every value read.
    pub evidence: Vec<String>,
    /// Raw files of the package the measured suite wrote (CSV samples, SARIF), from results.json `files`.
    #[serde(default)]
    pub files: Vec<String>,
    pub remediation: String,
    pub provenance: Provenance,
    pub more_samples: Option<MoreSamples>,
    /// How the verdict was reached, in one sentence.
    pub note: String,
}

/// Counts per verdict for one mandatory item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSummary {
    pub item: Option<Item>,
    pub pass: usize,
    pub fail: usize,
    pub inconclusive: usize,
    pub not_applicable: usize,
    pub not_tested: usize,
    pub error: usize,
}

/// The profile's overall conclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OverallVerdict {
    /// Every applicable requirement passed, and at least one did.
    Pass,
    /// A requirement failed.
    Fail,
    /// None failed, but a measurement could not be read.
    Error,
    /// None failed or errored, but an interval straddles a threshold.
    Inconclusive,
    /// Nothing failed or was inconclusive, but a requirement was not tested (or none applied).
    NotTested,
}

impl std::fmt::Display for OverallVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::profile::serde_name(self))
    }
}

impl Assessment {
    /// The overall verdict as every report states it: a scoped assessment says
    /// how much of the profile it judged, so its PASS is never the profile's.
    pub fn overall_stated(&self) -> String {
        if self.out_of_scope.is_empty() {
            return self.overall.to_string();
        }
        format!(
            "{} on the {} requirement(s) in scope only; {} of the {} requirements of the profile out of scope, not assessed (their suites were not run)",
            self.overall,
            self.requirements.len(),
            self.out_of_scope.len(),
            self.requirements.len() + self.out_of_scope.len()
        )
    }
}

impl OverallVerdict {
    /// The process exit code for this verdict: 0 PASS, 1 FAIL (as a failing
    /// result elsewhere in aite), 7 INCONCLUSIVE, 8 NOT_TESTED, 9 ERROR.
    /// Codes 2-6 and 130 keep their meaning in `aite --help`.
    pub fn exit_code(self) -> u8 {
        match self {
            OverallVerdict::Pass => 0,
            OverallVerdict::Fail => 1,
            OverallVerdict::Inconclusive => 7,
            OverallVerdict::NotTested => 8,
            OverallVerdict::Error => 9,
        }
    }
}

/// The schema name `assessment.json` carries.
pub const ASSESSMENT_SCHEMA: &str = "aite.assessment/v1";

/// A profile's verdicts on one results.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub schema: String,
    pub profile: String,
    pub profile_version: String,
    pub profile_source: String,
    /// SHA-256 over the profile's text and every profile it extends.
    #[serde(default)]
    pub profile_sha256: String,
    /// Some threshold is provisional: every report must say so.
    pub provisional_thresholds: bool,
    pub overrides: Vec<Override>,
    pub requirements: Vec<RequirementResult>,
    /// One summary per mandatory item, in [`Item::ALL`] order.
    pub gap_analysis: Vec<ItemSummary>,
    pub overall: OverallVerdict,
    /// Requirements left out because their suite was not part of this run
    /// ([`assess_scoped`]: a single-suite command judged on what it measured).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_scope: Vec<String>,
}

/// Apply only the requirements whose suite is in `results` (and that are not
/// reserved): what `aite security --profile P` or `aite latency --profile P`
/// measured, judged by the same profile and rules as a full `aite run`; the rest
/// are listed in `out_of_scope`, neither passed nor counted. A run that stopped
/// (`status` interrupted or failed) scopes nothing out: a suite it did not reach
/// is NOT_TESTED, so what did run cannot make the whole PASS.
pub fn assess_scoped(profile: &Profile, results: &Value) -> Assessment {
    let stopped = stopped(results).is_some();
    let present = |r: &Requirement| {
        stopped || r.reserved.is_none() && r.metric.split('.').nth(1).is_some_and(|s| results.get("suites").and_then(|x| x.get(s)).is_some_and(|v| !v.is_null()))
    };
    let mut scoped = profile.clone();
    let (kept, dropped): (Vec<Requirement>, Vec<Requirement>) = profile.requirements.iter().cloned().partition(present);
    scoped.requirements = kept;
    let mut a = assess(&scoped, results);
    a.out_of_scope = dropped.into_iter().map(|r| r.id).collect();
    a
}

/// Apply `profile` to `results` (a parsed results.json).
pub fn assess(profile: &Profile, results: &Value) -> Assessment {
    let requirements: Vec<RequirementResult> = profile.requirements.iter().map(|r| assess_one(r, results)).collect();
    let gap_analysis = Item::ALL
        .iter()
        .map(|&item| {
            let mut s = ItemSummary { item: Some(item), ..Default::default() };
            for r in requirements.iter().filter(|r| r.item == item) {
                match r.verdict {
                    Verdict::Pass => s.pass += 1,
                    Verdict::Fail => s.fail += 1,
                    Verdict::Inconclusive => s.inconclusive += 1,
                    Verdict::NotApplicable { .. } => s.not_applicable += 1,
                    Verdict::NotTested { .. } => s.not_tested += 1,
                    Verdict::Error { .. } => s.error += 1,
                }
            }
            s
        })
        .collect::<Vec<_>>();
    let total = |f: fn(&ItemSummary) -> usize| gap_analysis.iter().map(f).sum::<usize>();
    let overall = if total(|s| s.fail) > 0 {
        OverallVerdict::Fail
    } else if total(|s| s.error) > 0 {
        OverallVerdict::Error
    } else if total(|s| s.inconclusive) > 0 {
        OverallVerdict::Inconclusive
    } else if total(|s| s.not_tested) > 0 || total(|s| s.pass) == 0 {
        OverallVerdict::NotTested
    } else {
        OverallVerdict::Pass
    };
    Assessment {
        schema: ASSESSMENT_SCHEMA.into(),
        profile: profile.id.clone(),
        profile_version: profile.version.clone(),
        profile_source: profile.source.clone(),
        profile_sha256: profile.sha256.clone(),
        provisional_thresholds: profile.provisional(),
        overrides: profile.overrides.clone(),
        requirements,
        gap_analysis,
        overall,
        out_of_scope: Vec::new(),
    }
}

/// The run's `status` when it did not complete (`interrupted`, `failed`).
fn stopped(results: &Value) -> Option<&str> {
    results.get("status").and_then(Value::as_str).filter(|s| matches!(*s, "interrupted" | "failed"))
}

/// Why a periodic run at `fps` does not judge the terminal: it declares another rate.
fn rate_mismatch(results: &Value, fps: f64) -> Option<String> {
    let declared = results.pointer("/declared/fps").and_then(number)?;
    ((declared - fps).abs() > 1e-9 * declared.abs().max(1.0))
        .then(|| format!("the periodic run was at {fps} fps but the terminal declares {declared} fps: frame periods and deadlines are the declared rate's, rerun at that rate"))
}

/// RFC 6901 pointer of a dotted path.
fn pointer(path: &str) -> String {
    path.split('.').map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1"))).collect()
}

/// A number as results.json writes it (non-finite numbers as strings, `null` read as NaN).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "NaN" => Some(f64::NAN),
        Value::String(s) if s == "Infinity" => Some(f64::INFINITY),
        Value::String(s) if s == "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

struct Outcome {
    verdict: Verdict,
    value: Option<f64>,
    interval: Option<Interval>,
    threshold: Option<f64>,
    more: Option<MoreSamples>,
    evidence: Vec<String>,
    note: String,
}

impl Outcome {
    fn new(verdict: Verdict, note: impl Into<String>) -> Self {
        Outcome { verdict, value: None, interval: None, threshold: None, more: None, evidence: Vec::new(), note: note.into() }
    }
}

fn assess_one(r: &Requirement, results: &Value) -> RequirementResult {
    let o = decide_worst_case(r, results).unwrap_or_else(|| decide(r, results));
    let suite = r.metric.split('.').nth(1).unwrap_or_default();
    let files = results
        .get("files")
        .and_then(|f| f.get(suite))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    RequirementResult {
        files,
        id: r.id.clone(),
        title: r.title.clone(),
        item: r.item,
        verdict: o.verdict,
        value: o.value,
        interval: o.interval,
        threshold: o.threshold,
        threshold_rule: r.threshold.clone(),
        comparator: r.comparator,
        unit: r.unit.clone(),
        decision: r.decision,
        clauses: r.clauses.clone(),
        evidence: o.evidence,
        remediation: r.remediation.clone(),
        provenance: r.provenance.clone(),
        more_samples: o.more,
        note: o.note,
    }
}

/// A requirement on `suites.attack_worst_case.<norm>.*` judges the worst case of its threat
/// model (the norm, and the requirement's `epsilon` when it names one), decided as the only
/// record of the suite; NOT_TESTED naming what was recorded when no worst case, or more than
/// one, matches. `None` for other metrics, and for a suite absent or recorded not applicable
/// as a whole (decided as any suite).
fn decide_worst_case(r: &Requirement, results: &Value) -> Option<Outcome> {
    let norm = r.metric.strip_prefix("suites.attack_worst_case.")?.split('.').next()?;
    let suite = results.pointer("/suites/attack_worst_case").filter(|s| s.is_object() && s.get("status").is_none())?;
    let w = match crate::worst_case::select(suite, |name| results.pointer("/suites")?.get(name), norm, r.epsilon) {
        Ok(w) => w,
        Err(why) => {
            let mut o = Outcome::new(Verdict::NotTested { why }, "no worst case of the requirement's threat model");
            o.evidence.push("/suites/attack_worst_case".into());
            return Some(o);
        }
    };
    let mut only = suite.as_object().cloned().unwrap_or_default();
    only.retain(|k, _| !matches!(k.as_str(), "threat_models" | "linf" | "l2"));
    only.insert(norm.to_string(), w.record.clone());
    let mut view = results.clone();
    view["suites"]["attack_worst_case"] = Value::Object(only);
    let mut o = decide(r, &view);
    let at = format!("/suites/attack_worst_case/{norm}");
    for e in &mut o.evidence {
        if let Some(rest) = e.strip_prefix(&at) {
            *e = format!("{}{rest}", w.pointer);
        }
    }
    o.note = format!("{} (threat model {})", o.note, w.threat_model());
    Some(o)
}

/// Why a suite's measurement is incomplete, if it is (`metric` itself is exempt when it is the validity flag).
fn incomplete(suite_name: &str, suite: &Value, metric: &str) -> Option<String> {
    if suite.get("interrupted").and_then(Value::as_bool) == Some(true) {
        return Some(format!("suite `{suite_name}` was interrupted"));
    }
    if let Some(e) = suite.get("error").and_then(Value::as_str) {
        return Some(format!("suite `{suite_name}` stopped with an error: {e}"));
    }
    for key in ["missing_cells", "missing_samples", "missing_frames"] {
        if let Some(n) = suite.get(key).and_then(Value::as_u64).filter(|&n| n > 0) {
            return Some(format!("suite `{suite_name}` is incomplete: {key} = {n}{}", not_examined(suite).map(|(_, what)| what).unwrap_or_default()));
        }
    }
    // A detector attack's rates leave out the frames the target failed to answer.
    if let Some(n) = suite.get("target_errors").and_then(Value::as_u64).filter(|&n| n > 0) {
        let of = suite.get("frames").and_then(Value::as_u64).map_or(String::new(), |f| format!(" of {f}"));
        return Some(format!("suite `{suite_name}` is incomplete: the target failed to answer on {n}{of} frames (clean query, attack or noise baseline), which its rates leave out"));
    }
    // Older packages name the samples they could not evaluate without counting them.
    if let Some((n, what)) = not_examined(suite) {
        return Some(format!("suite `{suite_name}` is incomplete: {n} sample(s) not evaluated{what}"));
    }
    // Flags and counts of a suite that examined nothing keep their initial values.
    if suite.get("samples").and_then(Value::as_u64) == Some(0) {
        return Some(format!("suite `{suite_name}` ran on 0 samples: nothing was examined"));
    }
    if let Some(gaps) = suite.get("gaps").and_then(Value::as_array).filter(|g| !g.is_empty()) {
        let what = if suite_name == "security" { "the security scan".to_string() } else { format!("suite `{suite_name}`") };
        return Some(format!("{what} is incomplete ({} part(s) not examined, first: {})", gaps.len(), gaps[0].as_str().unwrap_or("?")));
    }
    if !metric.ends_with(".validity.valid") {
        if let Some(v) = suite.get("validity").filter(|v| v.get("valid").and_then(Value::as_bool) == Some(false)) {
            let reasons: Vec<&str> = v.get("reasons").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            return Some(format!("the `{suite_name}` run is INVALID ({})", reasons.join("; ")));
        }
    }
    None
}

/// The samples a suite names as not examined (`skipped` `{id, reason}` records of the accuracy
/// suite, `undecodable` "cannot decode image ID: reason" strings of the detector suites), as
/// how many and ` (E of N samples examined; not examined: first, second, third and K more)`;
/// `None` when the suite names none.
fn not_examined(suite: &Value) -> Option<(usize, String)> {
    let names: Vec<String> = ["skipped", "undecodable"]
        .iter()
        .filter_map(|k| suite.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|s| match s {
            Value::String(s) => Some(s.strip_prefix("cannot decode image ").and_then(|r| r.split_once(": ")).map_or(s.as_str(), |(id, _)| id).to_string()),
            other => other.get("id").and_then(Value::as_str).map(str::to_string),
        })
        .collect();
    if names.is_empty() {
        return None;
    }
    let counted = |k: &str| suite.get(k).and_then(Value::as_u64);
    let total = counted("dataset_samples").or_else(|| Some(counted("images")? + names.len() as u64));
    let examined = counted("evaluated").or_else(|| counted("images"));
    let of = match (examined, total) {
        (Some(e), Some(t)) => format!("{e} of {t} samples examined; "),
        _ => String::new(),
    };
    let more = names.len().saturating_sub(3);
    let first = names.iter().take(3).map(String::as_str).collect::<Vec<_>>().join(", ");
    Some((names.len(), format!(" ({of}not examined: {first}{})", if more > 0 { format!(" and {more} more") } else { String::new() })))
}

/// The suites a sharded consistency run splits by sample (aite-robustness's
/// `consistency_shard::CONSISTENCY_SUITES`; the CLI test crates/aite/tests/shards.rs checks they agree).
pub const CONSISTENCY_SUITES: [&str; 8] =
    ["repeatability", "batch_invariance", "agreement", "degenerate_frames", "metamorphic", "detection_repeatability", "detection_batch_invariance", "detection_agreement"];

/// Why consistency suite `suite_name` holds part of the run only: a `consistency_shard` record
/// is written by each shard of `--shard I/N` and kept by `aite merge` only when shards are missing.
fn partial_consistency(suite_name: &str, results: &Value) -> Option<String> {
    if !CONSISTENCY_SUITES.contains(&suite_name) {
        return None;
    }
    let record = results.pointer("/suites/consistency_shard").filter(|v| !v.is_null())?;
    let n = |k: &str| record.get(k).and_then(Value::as_u64).map_or("?".to_string(), |n| n.to_string());
    let shards: Vec<String> = record.get("shards").and_then(Value::as_array).into_iter().flatten().map(|s| s.to_string()).collect();
    let mut why = format!("partial: {} of {} samples missing (shard {}/{} only)", n("missing_samples"), n("samples"), shards.join("+"), n("count"));
    if suite_name == "degenerate_frames" {
        let kinds: Vec<&str> = record.get("degenerate_frames").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        why.push_str(&format!("; degenerate frames of this part only: {}", kinds.join(", ")));
    }
    Some(format!("{why}; merge every shard (`aite merge`) to judge it"))
}

/// Suite `name` of `results`, or the verdict its absence or its own status gives:
/// not in results.json or `not-run` is NOT_TESTED, `error` is ERROR.
fn suite_state<'a>(results: &'a Value, name: &str) -> Result<&'a Value, Box<Outcome>> {
    let Some(suite) = results.get("suites").and_then(|s| s.get(name)).filter(|s| !s.is_null()) else {
        let why = match stopped(results) {
            Some(status) => format!("suite `{name}` is not in results.json: the run ended {status} before it"),
            None => format!("suite `{name}` is not in results.json (not run)"),
        };
        let mut o = Outcome::new(Verdict::NotTested { why }, "no measurement");
        o.evidence.push(pointer(&format!("suites.{name}")));
        return Err(Box::new(o));
    };
    // A suite that could not run says so itself: its requirements are ERROR or NOT_TESTED.
    match suite.get("status").and_then(Value::as_str) {
        Some("error") => {
            let cause = suite.get("error").and_then(Value::as_str).unwrap_or("no cause recorded");
            let mut o = Outcome::new(Verdict::Error { cause: format!("suite `{name}` failed: {cause}") }, "the suite did not run to the end");
            o.evidence.push(pointer(&format!("suites.{name}")));
            Err(Box::new(o))
        }
        Some("not-run") => {
            let why = suite.get("why").and_then(Value::as_str).unwrap_or("no reason recorded");
            let mut o = Outcome::new(Verdict::NotTested { why: format!("suite `{name}` was not run: {why}") }, "no measurement");
            o.evidence.push(pointer(&format!("suites.{name}")));
            Err(Box::new(o))
        }
        // A suite that ran and had nothing to examine (repeated runs detecting nothing).
        Some("not-checked") => {
            let why = suite.get("why").and_then(Value::as_str).unwrap_or("no reason recorded");
            let mut o = Outcome::new(Verdict::NotTested { why: format!("suite `{name}` examined nothing: {why}") }, "nothing examined");
            o.evidence.push(pointer(&format!("suites.{name}")));
            Err(Box::new(o))
        }
        // A suite that does not apply to this terminal (a detector suite on a classifier).
        Some("not-applicable") => {
            let why = suite.get("why").and_then(Value::as_str).unwrap_or("no reason recorded");
            let mut o = Outcome::new(Verdict::NotApplicable { why: format!("suite `{name}` does not apply: {why}") }, "not applicable to this terminal");
            o.evidence.push(pointer(&format!("suites.{name}")));
            Err(Box::new(o))
        }
        _ => Ok(suite),
    }
}

fn decide(r: &Requirement, results: &Value) -> Outcome {
    if let Some(why) = &r.reserved {
        return Outcome::new(Verdict::NotTested { why: why.clone() }, "reserved: aite does not measure this yet");
    }
    let Some(spec) = catalogue::lookup(&r.metric) else {
        return Outcome::new(Verdict::Error { cause: format!("metric `{}` is not in the catalogue", r.metric) }, "profile not checked");
    };
    let suite_name = r.metric.split('.').nth(1).unwrap_or_default();
    let suite = match suite_state(results, suite_name) {
        Ok(s) => s,
        Err(o) => return *o,
    };
    // A condition is read only from a suite that ran: a field missing because its
    // suite failed or did not run says nothing about applicability.
    for c in &r.applies_when {
        if let Some(other) = c.path.strip_prefix("suites.").and_then(|p| p.split('.').next()) {
            if let Err(o) = suite_state(results, other) {
                let mut o = *o;
                o.note = format!("the condition on `{}` cannot be read", c.path);
                return o;
            }
        }
        let at = results.pointer(&pointer(&c.path));
        let holds = match (&c.equals, at) {
            (_, None) => false,
            (None, Some(v)) => !v.is_null(),
            (Some(want), Some(v)) => v == want || number(v).zip(number(want)).is_some_and(|(a, b)| a == b),
        };
        if !holds {
            let mut o = Outcome::new(Verdict::NotApplicable { why: c.otherwise.clone() }, format!("condition on `{}` does not hold", c.path));
            o.evidence.push(pointer(&c.path));
            return o;
        }
    }
    // A deadline is the next frame at the run's rate: a slower run than declared has later ones.
    if r.metric == "suites.latency_periodic.deadline_misses" {
        if let Some(why) = suite.pointer("/scenario/fps").and_then(number).and_then(|fps| rate_mismatch(results, fps)) {
            let mut o = Outcome::new(Verdict::NotTested { why }, "frame rate of the run is not the declared one");
            o.evidence = vec![pointer(&r.metric), "/suites/latency_periodic/scenario/fps".into(), "/declared/fps".into()];
            return o;
        }
    }
    if let Some(why) = worst_case_unmet(&r.metric, suite) {
        let mut o = Outcome::new(Verdict::NotTested { why }, "not a worst case over attacks");
        o.evidence.push(pointer(&format!("{}.attacks", r.metric.rsplit_once('.').map_or("", |p| p.0))));
        return o;
    }
    let mut o = measure(r, spec.kind, spec.interval, suite, results);
    let partial = partial_consistency(suite_name, results);
    if partial.is_some() {
        o.evidence.push("/suites/consistency_shard".into());
    }
    let coverage = frame_coverage(suite);
    let frames = match &coverage {
        FrameCoverage::Partial { examined, what } => Some((*examined, what.clone())),
        FrameCoverage::Complete | FrameCoverage::Unreadable(_) => None,
    };
    let unreadable = match coverage {
        FrameCoverage::Unreadable(what) => {
            o.evidence.push(format!("/suites/{suite_name}/frame_coverage"));
            Some(format!("suite `{suite_name}`: frame_coverage unreadable ({what})"))
        }
        _ => None,
    };
    let latency = LATENCY_SUITES.contains(&suite_name);
    if let Some(why) = incomplete(suite_name, suite, &r.metric).or(partial).or(unreadable) {
        // Incomplete evidence never passes; a security failure found is still a failure.
        let keep_fail = matches!(spec.kind, MetricKind::SecurityRule | MetricKind::CvssBound) && o.verdict == Verdict::Fail;
        if !keep_fail && !matches!(o.verdict, Verdict::NotApplicable { .. } | Verdict::Error { .. }) {
            o.note = format!("{} (would be {} on complete evidence)", o.note, o.verdict.label());
            o.verdict = Verdict::NotTested { why };
        }
    } else if let (Some((_, what)), false) = (&frames, latency) {
        // A figure over part of its frames could move either way with the rest, except a count
        // or an extreme over frames that already fails: more frames only add to it.
        let keep_fail = o.verdict == Verdict::Fail && failure_stands_on_part(r);
        if !keep_fail && matches!(o.verdict, Verdict::Pass | Verdict::Fail | Verdict::Inconclusive) {
            o.note = format!("{} (would be {} on complete evidence)", o.note, o.verdict.label());
            o.verdict = Verdict::NotTested { why: format!("suite `{suite_name}` is incomplete: {what}") };
        }
        o.evidence.push(format!("/suites/{suite_name}/frame_coverage"));
    } else if let Some(why) = failed_queries(suite_name, suite, &r.metric) {
        // A failed query is later than any answer: an upper bound (percentile, deadline misses)
        // failed on the answered queries alone fails with them too. A failed query serves
        // nothing: the throughput (answered samples over the run's window) is an upper bound of
        // what was served, so a lower bound it fails stays failed. Nothing else is shown.
        let upper_failed = matches!(spec.kind, MetricKind::LatencySummary | MetricKind::Count) && matches!(r.comparator, Some(Comparator::Le | Comparator::Lt));
        let throughput_failed = r.metric.ends_with(".throughput_sps") && matches!(r.comparator, Some(Comparator::Ge | Comparator::Gt));
        let keep_fail = (upper_failed || throughput_failed) && o.verdict == Verdict::Fail;
        if !keep_fail && matches!(o.verdict, Verdict::Pass | Verdict::Fail | Verdict::Inconclusive) {
            o.note = format!("{} (would be {} on the answered queries only)", o.note, o.verdict.label());
            o.verdict = Verdict::NotTested { why };
            o.evidence.push(format!("/suites/{suite_name}/failed_queries"));
        }
    }
    // A latency figure times the frames that ran: the ones not run are named beside it. Not
    // one frame ran: nothing was timed on real frames.
    if let (Some((examined, what)), true) = (&frames, latency) {
        if *examined == 0 {
            o.verdict = Verdict::NotTested { why: format!("suite `{suite_name}` timed no frame: {what}") };
        } else {
            o.note = format!("{}; timed on {what}", o.note);
        }
        o.evidence.push(format!("/suites/{suite_name}/frame_coverage"));
    }
    o
}

/// The suites that time frames: a frame that could not be decoded is not timed, and the figure
/// still measures the frames that were (named in its note); every other suite's figure is a
/// statistic over its frames, which the missing ones could move either way.
const LATENCY_SUITES: [&str; 4] = ["latency", "latency_periodic", "cold_start", "caching_audit"];

/// What a suite's `frame_coverage` (dataset frames it set out to examine that could not be
/// decoded) says: absent or nothing missing, part of the frames, or a record that cannot be read.
enum FrameCoverage {
    Complete,
    /// How many frames were examined, and `E of N frames examined; not examined: FIRST (REASON)
    /// and K more`.
    Partial { examined: u64, what: String },
    /// What is wrong with the record: present, it is never taken as complete.
    Unreadable(String),
}

fn frame_coverage(suite: &Value) -> FrameCoverage {
    let Some(c) = suite.get("frame_coverage") else { return FrameCoverage::Complete };
    let count = |key: &str| match c.get(key) {
        None => Err(format!("`{key}` absent")),
        Some(v) => v.as_u64().ok_or_else(|| format!("`{key}` is {v}, not a count")),
    };
    let read = || -> Result<(u64, u64, Option<u64>), String> {
        if !c.is_object() {
            return Err(format!("{c} is not an object"));
        }
        let (missing, examined) = (count("missing_frames")?, count("examined")?);
        let frames = c.get("frames").map(|_| count("frames")).transpose()?;
        if let Some(n) = frames.filter(|&n| n != examined + missing) {
            return Err(format!("`frames` {n} is not examined {examined} + missing_frames {missing}"));
        }
        Ok((missing, examined, frames))
    };
    match read() {
        Err(what) => FrameCoverage::Unreadable(what),
        Ok((0, _, _)) => FrameCoverage::Complete,
        Ok((missing, examined, frames)) => {
            let frames = frames.unwrap_or(examined + missing);
            let text = |k: &str| c.pointer(&format!("/not_examined/0/{k}")).and_then(Value::as_str).unwrap_or("?").to_string();
            let more = if missing > 1 { format!(" and {} more", missing - 1) } else { String::new() };
            FrameCoverage::Partial { examined, what: format!("{examined} of {frames} frames examined; not examined: {} ({}){more}", text("id"), text("reason")) }
        }
    }
}

/// Whether a FAIL on part of the frames stands whatever the others hold: a count or an extreme
/// over frames under an upper bound (top-1 flips, count mismatches, the largest difference), or
/// a flag that one frame turns false (identical, within tolerance).
fn failure_stands_on_part(r: &Requirement) -> bool {
    const OVER_FRAMES: [&str; 10] = [
        "suites.repeatability.identical",
        "suites.ocr_repeatability.identical",
        "suites.ocr_batch_invariance.strings_identical",
        "suites.ocr_batch_invariance.max_abs_score_diff",
        "suites.batch_invariance.within_tolerance",
        "suites.batch_invariance.max_abs_diff",
        "suites.batch_invariance.top1_flips",
        "suites.detection_repeatability.identical",
        "suites.detection_repeatability.count_mismatches",
        "suites.detection_batch_invariance.within_tolerance",
    ];
    OVER_FRAMES.contains(&r.metric.as_str())
        && match &r.threshold {
            Some(Threshold::Flag(want)) => *want,
            _ => matches!(r.comparator, Some(Comparator::Le | Comparator::Lt)),
        }
}

/// Why a latency suite's figures do not show a requirement met: `errors` of its queries failed
/// (a remote target's refused, reset or 5xx requests) and every figure covers the answered
/// ones only. The validity flag is exempt: it applies the run's own error-rate bound.
fn failed_queries(suite_name: &str, suite: &Value, metric: &str) -> Option<String> {
    if metric.ends_with(".validity.valid") {
        return None;
    }
    let errors = suite.get("errors").and_then(Value::as_u64).filter(|&e| e > 0)?;
    let answered = suite.get("queries").and_then(Value::as_u64).unwrap_or(0);
    let first = suite
        .pointer("/failed_queries/0")
        .map(|f| format!(" (first: query {} {})", f.get("index").and_then(Value::as_u64).map_or("?".into(), |i| i.to_string()), f.get("kind").and_then(Value::as_str).unwrap_or("failed")))
        .unwrap_or_default();
    Some(format!("{errors} of the {} queries of suite `{suite_name}` failed{first}: its figures cover the {answered} answered ones only", answered + errors))
}

fn measure(r: &Requirement, kind: MetricKind, iv: IntervalSource, suite: &Value, results: &Value) -> Outcome {
    let path = r.metric.as_str();
    let missing = |what: &str| Outcome::new(Verdict::Error { cause: format!("{what} missing or unreadable in results.json") }, "malformed results");
    match kind {
        MetricKind::SecurityRule => {
            let rule = path.rsplit('.').next().unwrap_or_default();
            let suite_name = path.split('.').nth(1).unwrap_or_default();
            let rules = suite.get("rules").and_then(Value::as_array);
            let Some(rules) = rules else { return missing(&format!("suites.{suite_name}.rules")) };
            let Some((i, outcome)) = rules.iter().enumerate().find(|(_, x)| x.get("rule").and_then(Value::as_str) == Some(rule)) else {
                let mut o = Outcome::new(Verdict::NotTested { why: format!("rule {rule} is not among the scan's rule outcomes (an older or different scanner)") }, "no outcome");
                o.evidence.push(format!("/suites/{suite_name}/rules"));
                return o;
            };
            let reason = outcome.get("reason").and_then(Value::as_str).unwrap_or("").to_string();
            let verdict = match outcome.get("status").and_then(Value::as_str) {
                Some("pass") => Verdict::Pass,
                Some("fail") => Verdict::Fail,
                Some("notApplicable") => Verdict::NotApplicable { why: reason.clone() },
                Some("notChecked") => Verdict::NotTested { why: reason.clone() },
                other => Verdict::Error { cause: format!("rule {rule} has status {other:?}, not pass/fail/notApplicable/notChecked") },
            };
            let mut o = Outcome::new(verdict, reason);
            o.evidence.push(format!("/suites/{suite_name}/rules/{i}"));
            o
        }
        MetricKind::SuiteVerdict => {
            let Some(v) = results.pointer(&pointer(path)) else { return missing(path) };
            let why = v.get("why").and_then(Value::as_str).unwrap_or("").to_string();
            let verdict = match v.get("status").and_then(Value::as_str) {
                Some("pass") => Verdict::Pass,
                Some("fail") => Verdict::Fail,
                Some("inconclusive") => Verdict::Inconclusive,
                Some("not-applicable") => Verdict::NotApplicable { why: why.clone() },
                other => Verdict::Error { cause: format!("{path} has status {other:?}") },
            };
            let mut o = Outcome::new(verdict, format!("the suite's own verdict{}", if why.is_empty() { String::new() } else { format!(": {why}") }));
            o.evidence.push(pointer(path));
            o
        }
        MetricKind::Flag => {
            let Some(v) = results.pointer(&pointer(path)).and_then(Value::as_bool) else { return missing(path) };
            let Some(Threshold::Flag(want)) = r.threshold else { return missing("boolean threshold") };
            let verdict = if v == want { Verdict::Pass } else { Verdict::Fail };
            let mut o = Outcome::new(verdict, format!("{path} is {v}, required {want}"));
            o.value = Some(f64::from(u8::from(v)));
            o.threshold = Some(f64::from(u8::from(want)));
            o.evidence.push(pointer(path));
            o
        }
        MetricKind::DegenerateFrames => {
            let Some(frames) = suite.as_array() else { return missing(path) };
            let run: Vec<&Value> = frames.iter().filter(|f| f.get("verdict").and_then(Value::as_str) != Some("not-applicable")).collect();
            if run.is_empty() {
                let mut o = Outcome::new(Verdict::NotApplicable { why: "no degenerate frame could be built for this input type".into() }, "nothing run");
                o.evidence.push(pointer(path));
                return o;
            }
            let bad: Vec<&str> = run.iter().filter(|f| f.get("verdict").and_then(Value::as_str) != Some("graceful")).filter_map(|f| f.get("kind").and_then(Value::as_str)).collect();
            let note = format!("{} of {} frames run answered without grace{}", bad.len(), run.len(), if bad.is_empty() { String::new() } else { format!(": {}", bad.join(", ")) });
            compare_simple(r, bad.len() as f64, vec![pointer(path)], note, results)
        }
        MetricKind::Corruptions => {
            let group = match r.statistic.as_str() {
                "imagenet_c_drop_s3" => "imagenet-c",
                "camera_drop_s3" => "camera",
                _ => return missing("statistic"),
            };
            let Some(clean) = suite.pointer("/clean/value").and_then(number) else { return missing("suites.corruptions.clean.value") };
            let groups: std::collections::BTreeMap<&str, &str> = suite
                .get("summaries")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| Some((s.get("corruption")?.as_str()?, s.get("group")?.as_str()?))).collect())
                .unwrap_or_default();
            let cells: Vec<f64> = suite
                .get("cells")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|c| c.get("severity").and_then(Value::as_u64) == Some(3))
                        .filter(|c| c.get("corruption").and_then(Value::as_str).and_then(|k| groups.get(k)) == Some(&group))
                        .filter_map(|c| c.pointer("/accuracy/value").and_then(number))
                        .collect()
                })
                .unwrap_or_default();
            if cells.is_empty() {
                let mut o = Outcome::new(Verdict::NotTested { why: format!("no {group} corruption was run at severity 3") }, "no cells");
                o.evidence.push("/suites/corruptions/cells".into());
                return o;
            }
            let mean = cells.iter().sum::<f64>() / cells.len() as f64;
            let drop = clean - mean;
            let note = format!("clean {clean:.4} - mean of {} {group} cells at severity 3 {mean:.4}", cells.len());
            compare_simple(r, drop, vec!["/suites/corruptions/clean/value".into(), "/suites/corruptions/cells".into(), "/suites/corruptions/summaries".into()], note, results)
        }
        MetricKind::CvssBound => cvss_bound(r, suite, results),
        MetricKind::Estimate => estimate(r, suite, results),
        MetricKind::Number | MetricKind::Count => {
            let Some(v) = results.pointer(&pointer(path)).and_then(number) else { return missing(path) };
            compare_simple(r, v, vec![pointer(path)], format!("{path} = {v}"), results)
        }
        MetricKind::Proportion => {
            let Some(obj) = results.pointer(&pointer(path)) else { return missing(path) };
            if obj.is_null() {
                return withheld_proportion(path, suite);
            }
            let (Some(s), Some(n)) = (obj.get("successes").and_then(Value::as_u64), obj.get("trials").and_then(Value::as_u64)) else { return missing(&format!("{path}.successes/trials")) };
            if n == 0 {
                let mut o = Outcome::new(Verdict::NotTested { why: format!("{path} has 0 trials") }, "nothing measured");
                o.evidence.push(pointer(path));
                return o;
            }
            let p = s as f64 / n as f64;
            let ev = vec![pointer(path)];
            if r.decision == DecisionRule::Simple {
                return compare_simple(r, p, ev, format!("{s}/{n}"), results);
            }
            let (lo, hi) = match (obj.get("ci95_low").and_then(number), obj.get("ci95_high").and_then(number)) {
                (Some(l), Some(h)) if l.is_finite() && h.is_finite() => (l, h),
                (Some(l), Some(h)) => return Outcome::new(Verdict::Error { cause: format!("{path} records the interval {l}..{h}, not a finite one") }, "malformed results"),
                _ => wilson(s as f64, n as f64, Z95),
            };
            let interval = Some(Interval { low: Some(lo), high: Some(hi), method: "Wilson score 95%".into() });
            with_threshold(r, results, ev, |c, t, mut o| {
                o.verdict = guarded(c, Some(lo), Some(hi), t);
                o.value = Some(p);
                o.interval = interval;
                if o.verdict == Verdict::Inconclusive {
                    o.more = trials_to_decide(c, p, t, n);
                    o.note = match &o.more {
                        Some(m) => format!("{s}/{n}: the 95% interval {lo:.4}..{hi:.4} straddles {t}; at the observed rate {} trials ({} more) would make it {}", m.trials, m.additional, m.would_be),
                        None => format!("{s}/{n}: the 95% interval {lo:.4}..{hi:.4} straddles {t}; the observed rate sits on the threshold, no sample size decides"),
                    };
                } else {
                    o.note = format!("{s}/{n}: the 95% interval {lo:.4}..{hi:.4} is wholly on the {} side of {t}", if o.verdict == Verdict::Pass { "passing" } else { "failing" });
                }
                o
            })
        }
        MetricKind::LatencySummary => {
            let field = match r.statistic.as_str() {
                "max" => "max_ms".to_string(),
                "mean" => "mean_ms".to_string(),
                q => format!("{q}_ms"),
            };
            let fpath = format!("{path}.{field}");
            let Some(v) = results.pointer(&pointer(&fpath)).and_then(number) else { return missing(&fpath) };
            let mut ev = vec![pointer(&fpath)];
            if r.decision == DecisionRule::Simple || iv != IntervalSource::EarlyStopping {
                return compare_simple(r, v, ev, format!("{fpath} = {v} ms"), results);
            }
            latency_guarded(r, path, v, suite, &mut ev, results)
        }
    }
}

/// An estimate with its bootstrap interval (`{value, ci95_low, ci95_high}`). A withheld figure
/// (`null`) is NOT_TESTED with the suite's reason; `guarded` needs the whole interval on one side.
fn estimate(r: &Requirement, suite: &Value, results: &Value) -> Outcome {
    let path = r.metric.as_str();
    let ev = vec![pointer(path)];
    let at = results.pointer(&pointer(path));
    if let Some(why) = michaelis_unmet(path, suite) {
        let mut o = Outcome::new(Verdict::NotTested { why }, "not the published protocol");
        o.evidence = vec![pointer(path), pointer(&format!("suites.{}.protocol", path.split('.').nth(1).unwrap_or_default()))];
        return o;
    }
    // OCR accuracy with nothing scored records `scores: null`: no figure is claimed.
    if at.is_none() && path.starts_with("suites.ocr_accuracy.scores.") && suite.get("scores").is_some_and(Value::is_null) {
        let why = format!("nothing was scored: {} labelled lines and no line read outside do-not-care regions", suite.get("label_lines").and_then(Value::as_u64).unwrap_or(0));
        let mut o = Outcome::new(Verdict::NotTested { why }, "no figure");
        o.evidence = vec![pointer("suites.ocr_accuracy.scores")];
        return o;
    }
    let Some(obj) = at.filter(|v| !v.is_null()) else {
        let status = match path.rsplit('.').next() {
            Some("rpc") => suite.pointer("/rpc_status/status"),
            Some("relative_char_accuracy") => suite.pointer("/relative_status/status"),
            _ => None,
        }
        .and_then(Value::as_str);
        let why = match status {
            Some("clean-ap-is-one-by-construction") if path.ends_with(".rpc") => "rPC is withheld: the sweep scored against the model's own clean predictions, where clean AP is 1 by construction (give labels or a reference model)".to_string(),
            Some("clean-ap-is-one-by-construction") => "the relative character accuracy is withheld: the sweep scored against the pipeline's own clean reading, where clean accuracy is 1 by construction (give --labels)".to_string(),
            Some("clean-ap-is-zero") if path.ends_with(".rpc") => "rPC is undefined: clean AP is 0".to_string(),
            Some("clean-ap-is-zero") => "the relative character accuracy is undefined: clean character accuracy is 0".to_string(),
            Some(other) => format!("{path} is withheld by the suite ({other})"),
            None if at.is_none() => return Outcome::new(Verdict::Error { cause: format!("{path} missing or unreadable in results.json") }, "malformed results"),
            None => format!("{path} is withheld by the suite"),
        };
        let mut o = Outcome::new(Verdict::NotTested { why }, "no figure");
        o.evidence = ev;
        let status_field = if path.ends_with(".relative_char_accuracy") { "relative_status" } else { "rpc_status" };
        o.evidence.push(pointer(&format!("suites.{}.{status_field}", path.split('.').nth(1).unwrap_or_default())));
        return o;
    };
    let (Some(v), lo, hi) = (obj.get("value").and_then(number), obj.get("ci95_low").and_then(number), obj.get("ci95_high").and_then(number)) else {
        return Outcome::new(Verdict::Error { cause: format!("{path}.value missing or unreadable in results.json") }, "malformed results");
    };
    let against = suite.get("ap_name").and_then(Value::as_str).map(|n| format!(" ({n})")).unwrap_or_default();
    if r.decision == DecisionRule::Simple {
        return compare_simple(r, v, ev, format!("{path} = {v:.4}{against}"), results);
    }
    let (Some(lo), Some(hi)) = (lo.filter(|l| l.is_finite()), hi.filter(|h| h.is_finite())) else {
        return Outcome::new(Verdict::Error { cause: format!("{path} records no finite bootstrap interval") }, "malformed results");
    };
    with_threshold(r, results, ev, |c, t, mut o| {
        o.verdict = if v.is_nan() { Verdict::Error { cause: format!("{path} is NaN") } } else { guarded(c, Some(lo), Some(hi), t) };
        o.value = Some(v);
        o.interval = Some(Interval { low: Some(lo), high: Some(hi), method: "percentile bootstrap over images, 95%".into() });
        let side = match o.verdict {
            Verdict::Pass => "is wholly on the passing side of",
            Verdict::Fail => "is wholly on the failing side of",
            _ => "straddles",
        };
        o.note = format!("{v:.4}{against}: the 95% interval {lo:.4}..{hi:.4} {side} {t}");
        o
    })
}

/// Why a detector sweep's mPC/rPC is not Michaelis et al.'s (2019): scored against predictions
/// rather than labels, or not on all 15 ImageNet-C corruptions x 5 severities. `None` for
/// other metrics and for a sweep that follows the protocol.
fn michaelis_unmet(path: &str, suite: &Value) -> Option<String> {
    let last = path.rsplit('.').next()?;
    if !matches!(last, "rpc" | "mpc" | "mpc50") || suite.get("ground_truth").is_none() {
        return None;
    }
    let kind = suite.pointer("/ground_truth/kind").and_then(Value::as_str).unwrap_or("unrecorded");
    if kind != "labels" {
        let against = suite.get("ap_name").and_then(Value::as_str).unwrap_or(kind);
        return Some(format!("{last} follows Michaelis et al. 2019 against labels; this sweep scored {against}, so its {last} is not that figure (give the frames' labels)"));
    }
    match suite.pointer("/protocol/status").and_then(Value::as_str) {
        Some("michaelis") => None,
        _ => {
            let reasons: Vec<String> = suite
                .pointer("/protocol/reasons")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|r| match r.get("condition").and_then(Value::as_str) {
                            Some("incomplete") => format!("not all 5 severities of {}", r.get("corruptions").and_then(Value::as_array).map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()),
                            Some(other) => other.replace('_', " "),
                            None => "unrecorded".into(),
                        })
                        .collect()
                })
                .unwrap_or_else(|| vec!["protocol not recorded".into()]);
            Some(format!("{last} is partial, not Michaelis et al. 2019's (the 15 ImageNet-C corruptions x 5 severities against labels): {}", reasons.join("; ")))
        }
    }
}

/// Why `suites.attack_worst_case.<norm>.*` is not a worst case over attacks: fewer than two
/// distinct attack families (the attack name before its norm, `square-linf` -> `square`) other
/// than the random-noise baseline ran on the samples. `None` for other metrics.
fn worst_case_unmet(path: &str, suite: &Value) -> Option<String> {
    let norm = path.strip_prefix("suites.attack_worst_case.")?.split('.').next()?;
    let Some(attacks) = suite.pointer(&format!("/{norm}/attacks")).and_then(Value::as_array) else {
        return Some(format!("the {norm} worst case does not record which attacks it combines: it cannot be shown to be a worst case"));
    };
    let mut families: Vec<&str> = attacks.iter().filter_map(Value::as_str).map(|a| a.split('-').next().unwrap_or(a)).filter(|f| *f != "noise").collect();
    families.sort_unstable();
    families.dedup();
    if families.len() >= 2 {
        // A record that says it is not a worst case is not judged as one.
        return (suite.pointer(&format!("/{norm}/status")).and_then(Value::as_str) == Some("not-applicable"))
            .then(|| format!("the {norm} worst case is recorded not applicable: {}", suite.pointer(&format!("/{norm}/why")).and_then(Value::as_str).unwrap_or("no reason recorded")));
    }
    let which = if families.is_empty() { "no attack family".to_string() } else { format!("one attack family ({})", families[0]) };
    Some(format!("worst case over {which} is not a worst case: run at least two (e.g. square and spsa)"))
}

/// A rate the suite recorded as `null`: nothing in its denominator. A detector attack says why
/// (the goal does not apply to this detector, or no frame had a clean detection to attack).
fn withheld_proportion(path: &str, suite: &Value) -> Outcome {
    let frames = suite.get("frames").and_then(Value::as_u64);
    let verdict = if suite.pointer("/applicability/status").and_then(Value::as_str) == Some("not-applicable") {
        let why = suite.pointer("/applicability/why").and_then(Value::as_str).unwrap_or("no reason recorded");
        Verdict::NotApplicable { why: format!("the attack's goal does not apply to this detector: {why}") }
    } else if let (Some(n), Some(0)) = (frames, suite.get("attacked").and_then(Value::as_u64)) {
        let none = suite.get("no_clean_detection").and_then(Value::as_u64).unwrap_or(0);
        let errors = suite.get("target_errors").and_then(Value::as_u64).unwrap_or(0);
        Verdict::NotTested { why: format!("no frame was attacked: of {n} frames, {none} had no clean detection and {errors} a target error (give frames on which the detector finds something)") }
    } else {
        Verdict::NotTested { why: format!("{path} is null: the suite measured no trial") }
    };
    let mut o = Outcome::new(verdict, "no rate");
    o.evidence.push(pointer(path));
    o
}

/// The highest CVSS base score of the vulnerabilities matched against an OSV feed,
/// against an upper bound. PASS needs a feed with records, at least one component
/// inventoried, and every matched vulnerability scored within the bound. A score
/// above the bound FAILs; a matched vulnerability whose score could not be computed
/// (a v2/v3/v4 vector missing, only severity words) makes the bound unprovable:
/// NOT_TESTED naming it, never PASS.
fn cvss_bound(r: &Requirement, suite: &Value, results: &Value) -> Outcome {
    const SUMMARY: &str = "/suites/security/vulnerability_summary";
    let not_tested = |why: String, note: &str| {
        let mut o = Outcome::new(Verdict::NotTested { why }, note);
        o.evidence.push(SUMMARY.into());
        o
    };
    let Some(sum) = suite.get("vulnerability_summary").filter(|s| !s.is_null()) else {
        return not_tested("results.json has no suites.security.vulnerability_summary (a scanner older than the CVSS bound)".into(), "no summary");
    };
    let malformed = |what: &str| Outcome::new(Verdict::Error { cause: format!("suites.security.vulnerability_summary.{what} missing or unreadable in results.json") }, "malformed results");
    let Some(feed_given) = sum.get("feed_given").and_then(Value::as_bool) else { return malformed("feed_given") };
    if !feed_given {
        return not_tested("no OSV feed given: known vulnerabilities not checked (give one with --osv, or `osv` in aite.toml)".into(), "no feed");
    }
    if sum.get("feed_records").and_then(Value::as_u64) == Some(0) {
        return not_tested("the OSV feed given holds no records: known vulnerabilities not checked".into(), "empty feed");
    }
    let (Some(components), Some(matched), Some(unscored)) = (sum.get("components").and_then(Value::as_u64), sum.get("matched").and_then(Value::as_u64), sum.get("unscored").and_then(Value::as_u64)) else {
        return malformed("components/matched/unscored");
    };
    if components == 0 {
        return not_tested("no component inventoried (no package database or known version string in the image): nothing was matched against the feed".into(), "nothing examined");
    }
    let max = match sum.get("max_cvss_base") {
        None | Some(Value::Null) => None,
        Some(v) => match number(v) {
            Some(x) if x.is_finite() => Some(x),
            _ => return malformed("max_cvss_base"),
        },
    };
    if matched > unscored && max.is_none() {
        return Outcome::new(Verdict::Error { cause: format!("the vulnerability summary counts {} scored vulnerabilities but no max_cvss_base", matched - unscored) }, "malformed results");
    }
    // Ids for the note, from the per-vulnerability records.
    let vulns: Vec<&Value> = suite.get("vulnerabilities").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let ids = |keep: &dyn Fn(Option<f64>) -> bool| -> String {
        let mut v: Vec<String> = vulns
            .iter()
            .filter(|x| keep(x.get("cvss_base").and_then(number)))
            .map(|x| {
                let id = x.get("id").and_then(Value::as_str).unwrap_or("?");
                match x.get("cvss_base").and_then(number) {
                    Some(b) => format!("{id} ({b})"),
                    None => id.to_string(),
                }
            })
            .collect();
        v.sort();
        v.dedup();
        let more = v.len().saturating_sub(5);
        v.truncate(5);
        if more > 0 {
            v.push(format!("{more} more"));
        }
        v.join(", ")
    };
    let mut ev = vec![SUMMARY.to_string()];
    if matched > 0 {
        ev.push("/suites/security/vulnerabilities".into());
    }
    ev.push("/suites/security/components".into());
    with_threshold(r, results, ev, |c, t, mut o| {
        o.value = max;
        let records = sum.get("feed_records").and_then(Value::as_u64).map_or(String::new(), |n| format!(" of {n} OSV records"));
        match max {
            Some(m) if !c.passes(m, t) => {
                o.verdict = Verdict::Fail;
                o.note = format!("highest CVSS base score {m} of {matched} matched vulnerabilities, required {} {t}; above the bound: {}", c.symbol(), ids(&|b| b.is_some_and(|b| !c.passes(b, t))));
            }
            _ if unscored > 0 => {
                o.verdict = Verdict::NotTested { why: format!("{unscored} of {matched} matched vulnerabilities have no computable CVSS base score ({}): the bound cannot be shown to hold", ids(&|b| b.is_none())) };
                o.note = format!("a vulnerability without a score never passes a CVSS bound; scored ones peak at {}", max.map_or("none".into(), |m| m.to_string()));
            }
            Some(m) => {
                o.verdict = Verdict::Pass;
                o.note = format!("{matched} vulnerabilities matched in {components} components{records}, highest CVSS base score {m}; required {} {t}", c.symbol());
            }
            None => {
                o.verdict = Verdict::Pass;
                o.note = format!("no known vulnerability among {components} components matched against the feed{records}; required {} {t}", c.symbol());
            }
        }
        o
    })
}

/// Guarded latency percentile: upper bound = LoadGen's early-stopping estimate;
/// lower bound = the largest reported percentile whose nearest rank is at most
/// the binomial 95% lower rank `floor(nq - z sqrt(nq(1-q)))`.
fn latency_guarded(r: &Requirement, path: &str, point: f64, suite: &Value, ev: &mut Vec<String>, results: &Value) -> Outcome {
    let q = catalogue::quantile(&r.statistic);
    let es = suite.get("early_stopping");
    let es_q = es.and_then(|e| e.get("percentile")).and_then(number);
    let suite_name = path.split('.').nth(1).unwrap_or_default();
    let (Some(q), Some(es_q)) = (q, es_q) else {
        let mut o = Outcome::new(Verdict::NotTested { why: format!("no early-stopping estimate for {} in suite `{suite_name}`", r.statistic) }, "guarded needs LoadGen's estimate");
        o.evidence = ev.clone();
        return o;
    };
    if (q - es_q).abs() > 1e-9 {
        let mut o = Outcome::new(
            Verdict::NotTested { why: format!("the run's early-stopping estimate is for the {es_q} percentile, the requirement reads {}: rerun with that percentile or decide `simple`", r.statistic) },
            "percentile mismatch",
        );
        o.evidence = ev.clone();
        o.evidence.push(format!("/suites/{suite_name}/early_stopping"));
        return o;
    }
    let Some(upper) = es.and_then(|e| e.get("estimate_ms")).and_then(number) else {
        return Outcome::new(Verdict::Error { cause: format!("suites.{suite_name}.early_stopping.estimate_ms missing") }, "malformed results");
    };
    ev.push(format!("/suites/{suite_name}/early_stopping/estimate_ms"));
    let summary = results.pointer(&pointer(path));
    let n = summary.and_then(|s| s.get("count")).and_then(Value::as_u64).unwrap_or(0) as f64;
    let lower_rank = (n * q - Z95 * (n * q * (1.0 - q)).sqrt()).floor();
    let mut lower = None;
    let mut lower_name = String::new();
    for (name, qq) in [("min", 0.0), ("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p97", 0.97), ("p99", 0.99), ("p999", 0.999)] {
        let rank = if qq == 0.0 { 1.0 } else { (qq * n).ceil() };
        if qq < q && rank <= lower_rank {
            if let Some(v) = summary.and_then(|s| s.get(format!("{name}_ms"))).and_then(number) {
                lower = Some(v);
                lower_name = name.to_string();
            }
        }
    }
    let ev2 = ev.clone();
    with_threshold(r, results, ev2, |c, t, mut o| {
        o.verdict = guarded(c, lower, Some(upper), t);
        o.value = Some(point);
        o.interval = Some(Interval { low: lower, high: Some(upper), method: format!("upper: LoadGen early-stopping estimate; lower: {} (order statistic at 95%)", if lower.is_some() { lower_name.as_str() } else { "none at this sample size" }) });
        o.note = match o.verdict {
            Verdict::Inconclusive => format!("{} = {point} ms; early-stopping estimate {upper} ms and lower bound {} straddle {t} ms: more queries would narrow the interval", r.statistic, lower.map_or("none".into(), |l| format!("{l} ms"))),
            _ => format!("{} = {point} ms; interval {}..{upper} ms against {t} ms", r.statistic, lower.map_or("-".into(), |l| l.to_string())),
        };
        o
    })
}

fn compare_simple(r: &Requirement, v: f64, ev: Vec<String>, note: String, results: &Value) -> Outcome {
    with_threshold(r, results, ev, |c, t, mut o| {
        if v.is_nan() {
            o.verdict = Verdict::Error { cause: format!("{} is NaN", r.metric) };
        } else {
            o.verdict = if c.passes(v, t) { Verdict::Pass } else { Verdict::Fail };
        }
        o.value = Some(v);
        o.note = format!("{note}; required {} {t} (simple rule: point estimate)", c.symbol());
        o
    })
}

/// Resolve the threshold and comparator, then let `f` decide.
fn with_threshold(r: &Requirement, results: &Value, ev: Vec<String>, f: impl FnOnce(Comparator, f64, Outcome) -> Outcome) -> Outcome {
    let Some(c) = r.comparator else {
        return Outcome::new(Verdict::Error { cause: "no comparator".into() }, "profile not checked");
    };
    let mut extra = Vec::new();
    let t = match &r.threshold {
        Some(Threshold::Number(t)) => *t,
        Some(Threshold::FramePeriod) => {
            let suite = r.metric.split('.').nth(1).unwrap_or_default();
            let fp = format!("/suites/{suite}/scenario/fps");
            match results.pointer(&fp).and_then(number).filter(|f| *f > 0.0) {
                // The frame period is the terminal's: a run at another rate than the
                // declared one would judge against a period nobody claimed.
                Some(fps) if rate_mismatch(results, fps).is_some() => {
                    let mut o = Outcome::new(Verdict::NotTested { why: rate_mismatch(results, fps).unwrap_or_default() }, "frame rate of the run is not the declared one");
                    o.evidence = ev;
                    o.evidence.extend([fp, "/declared/fps".to_string()]);
                    return o;
                }
                Some(fps) => {
                    extra.push(fp);
                    1000.0 / fps
                }
                None => return Outcome::new(Verdict::Error { cause: format!("frame-period threshold: no positive fps at {fp}") }, "no frame period"),
            }
        }
        Some(Threshold::Declared(k)) => {
            let dp = format!("/declared/{k}");
            match results.pointer(&dp).and_then(number) {
                // A declared fraction of 0 passes any measurement, 85 (a percentage) fails any.
                Some(v) if r.unit == "fraction" && !(v > 0.0 && v <= 1.0) => {
                    let mut o = Outcome::new(Verdict::Error { cause: format!("the declared value `declared.{k}` = {v} is not a fraction in (0, 1]") }, "declared value not comparable");
                    o.evidence = ev;
                    o.evidence.push(dp);
                    return o;
                }
                Some(v) => {
                    extra.push(dp);
                    v
                }
                None => {
                    let mut o = Outcome::new(Verdict::NotTested { why: format!("the manufacturer's declared value `declared.{k}` is not in results.json") }, "nothing declared to compare with");
                    o.evidence = ev;
                    o.evidence.push(dp);
                    return o;
                }
            }
        }
        Some(Threshold::Flag(_)) | None => return Outcome::new(Verdict::Error { cause: "no numeric threshold".into() }, "profile not checked"),
    };
    let mut o = Outcome::new(Verdict::Inconclusive, "");
    o.threshold = Some(t);
    o.evidence = ev;
    o.evidence.extend(extra);
    f(c, t, o)
}
