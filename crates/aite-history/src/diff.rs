//! The release diff of two recorded runs: verdict changes per requirement, input
//! changes, accuracy deltas with a pooled two-proportion z-test, latency percentile
//! deltas with a bootstrap interval from the raw samples, and new and fixed findings.
//!
//! A finding is followed from run to run by its rule, its subject and its key (the account,
//! certificate subject, key fingerprint, component and vulnerability, directive the scan named;
//! none where the rule reports at most one finding per subject), never by its message, whose
//! wording and figures may change between aite releases. Findings that share all three are
//! counted: n before and m after are min(n, m) unchanged and |n − m| new or fixed (those whose
//! message the other run lacks are the ones listed). The message joins the identity only when
//! either run was recorded by an aite that did not record keys (then a note says so, since a
//! reworded message shows there as one fixed and one new finding).

use crate::model::{Finding, FindingKey, FindingSuite, Input, MetricValue, RunId, RunSummary, Verdict};
use crate::stats::{bootstrap_percentile_difference, two_proportion_z, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED};
use crate::{History, HistoryError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// What changed from run `before` to run `after`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDiff {
    pub before: RunSummary,
    pub after: RunSummary,
    /// What a reader must know to interpret the changes (other terminal, profile or aite version, missing assessment).
    pub notes: Vec<String>,
    pub inputs: Vec<InputChange>,
    pub verdict_changes: Vec<VerdictChange>,
    pub verdicts_unchanged: usize,
    pub accuracy: Vec<ProportionDelta>,
    pub latency: Vec<LatencyDelta>,
    pub findings: FindingsDiff,
}

/// An input (model, dataset, firmware...) whose digest differs, or that is in one run only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputChange {
    pub role: String,
    pub name: String,
    pub before_sha256: Option<String>,
    pub after_sha256: Option<String>,
}

/// A requirement whose verdict differs (`None`: not assessed in that run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictChange {
    pub id: String,
    pub title: Option<String>,
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
}

/// Successes of trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub successes: u64,
    pub trials: u64,
}

impl Rate {
    pub fn value(&self) -> Option<f64> {
        (self.trials > 0).then(|| self.successes as f64 / self.trials as f64)
    }
}

/// An accuracy (or other proportion) in both runs and the test of its change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProportionDelta {
    pub metric: String,
    pub before: Option<Rate>,
    pub after: Option<Rate>,
    /// after − before, as a fraction.
    pub delta: Option<f64>,
    pub test: ProportionTest,
}

/// The significance of a proportion's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ProportionTest {
    /// Pooled two-proportion z-test, two-sided.
    TwoProportionZ { z: f64, p_value: f64, significant_at_5pct: bool },
    /// No test was possible, and why.
    NotTested { why: String },
}

impl ProportionTest {
    /// One sentence for a report.
    pub fn statement(&self) -> String {
        match self {
            ProportionTest::TwoProportionZ { z, p_value, significant_at_5pct } => format!(
                "{} at 5% (two-proportion z = {z:.3}, p = {})",
                if *significant_at_5pct { "significant" } else { "not significant" },
                p_text(*p_value)
            ),
            ProportionTest::NotTested { why } => format!("not tested: {why}"),
        }
    }
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// A latency percentile in both runs and the interval of its change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyDelta {
    pub metric: String,
    pub suite: String,
    pub percentile: f64,
    pub before_ms: Option<f64>,
    pub after_ms: Option<f64>,
    pub delta_ms: Option<f64>,
    pub interval: LatencyInterval,
    /// A run whose latency run is INVALID (LoadGen) is named here.
    pub validity: Vec<String>,
}

/// The uncertainty of a latency percentile's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum LatencyInterval {
    /// Equal-tailed 95% percentile-bootstrap interval of after − before, from the raw samples.
    Bootstrap { low_ms: f64, high_ms: f64, resamples: usize, seed: u64, samples_before: usize, samples_after: usize, significant_at_5pct: bool },
    /// The raw samples of a run cannot be used, and why; no interval is given.
    RawSamplesUnavailable { why: String },
    /// Measured in one run only.
    NotComparable { why: String },
}

impl LatencyInterval {
    /// One sentence for a report.
    pub fn statement(&self) -> String {
        self.statement_with(4)
    }

    /// [`statement`](Self::statement) with `decimals` digits after the point of the ms values.
    pub fn statement_with(&self, decimals: usize) -> String {
        let n = decimals;
        match self {
            LatencyInterval::Bootstrap { low_ms, high_ms, resamples, significant_at_5pct, .. } => format!(
                "{} at 5% (bootstrap 95% interval of the difference {low_ms:+.n$} .. {high_ms:+.n$} ms, {resamples} resamples)",
                if *significant_at_5pct { "significant" } else { "not significant" }
            ),
            LatencyInterval::RawSamplesUnavailable { why } => format!("raw samples unavailable: {why}"),
            LatencyInterval::NotComparable { why } => format!("not compared: {why}"),
        }
    }
}

/// Security findings that appeared or went away. A finding is its rule, subject and key (see the module).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingsDiff {
    /// Failing in `after`, not in `before`; with the rule's status in `before`.
    pub new: Vec<FindingChange>,
    /// Failing in `before`, gone in `after` where the rule was examined (pass, or fail on a scan that examined all its subjects).
    pub fixed: Vec<FindingChange>,
    /// Failing in `before`, not reported in `after`, but the rule was not examined there
    /// (notChecked, notApplicable, absent, or failIncomplete): not a fix.
    pub not_reexamined: Vec<FindingChange>,
    pub unchanged: usize,
    /// Of `unchanged`, findings paired by their message because one run recorded their rule
    /// and subject with `key: null` and the other with keys (an aite from before the rule was keyed).
    pub paired_across_keying: usize,
}

/// A finding and its rule's status in the other run (`None`: no such rule there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingChange {
    #[serde(flatten)]
    pub finding: Finding,
    pub rule_status_other_run: Option<String>,
}

impl History {
    /// Compare run `a` (before) with run `b` (after).
    pub fn diff(&self, a: &RunId, b: &RunId) -> Result<RunDiff, HistoryError> {
        let (before, after) = (self.run(a)?, self.run(b)?);
        let mut notes = vec![];
        if before.terminal != after.terminal {
            notes.push(format!("different terminals: {} before, {} after", before.terminal.label(), after.terminal.label()));
        }
        let profile = |r: &RunSummary| (r.profile_id.clone(), r.profile_version.clone(), r.profile_sha256.clone());
        if profile(&before) != profile(&after) {
            let show = |r: &RunSummary| {
                let version = r.profile_version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
                let sha = r.profile_sha256.as_deref().map(|s| format!(" (sha256 {})", s.chars().take(12).collect::<String>())).unwrap_or_default();
                format!("{}{version}{sha}", r.profile_id.as_deref().unwrap_or("none"))
            };
            notes.push(format!("different profiles: {} before, {} after; a verdict change may come from the profile", show(&before), show(&after)));
        }
        if (&before.tool_version, &before.tool_commit) != (&after.tool_version, &after.tool_commit) {
            let show = |r: &RunSummary| format!("{} ({})", r.tool_version.as_deref().unwrap_or("?"), r.tool_commit.as_deref().unwrap_or("?"));
            notes.push(format!("different aite builds: {} before, {} after", show(&before), show(&after)));
        }
        for (r, when) in [(&before, "before"), (&after, "after")] {
            if r.overall_verdict.is_none() {
                notes.push(format!("run {} ({when}) has no assessment.json: its verdicts are not known", r.id));
            }
            if let Some(status) = r.status.as_deref().filter(|s| *s != "complete") {
                notes.push(format!("run {} ({when}) ended {status}: its measurements cover only what ran, so a difference may come from that and not from the terminal", r.id));
            }
        }

        let (va, vb) = (self.verdicts(a)?, self.verdicts(b)?);
        #[derive(Default)]
        struct Pair {
            title: Option<String>,
            before: Option<Verdict>,
            after: Option<Verdict>,
        }
        let mut verdicts: BTreeMap<String, Pair> = BTreeMap::new();
        for v in &va {
            let e = verdicts.entry(v.id.clone()).or_default();
            e.before = Some(v.verdict);
            e.title = v.title.clone();
        }
        for v in &vb {
            let e = verdicts.entry(v.id.clone()).or_default();
            e.after = Some(v.verdict);
            e.title = e.title.take().or_else(|| v.title.clone());
        }
        let verdict_changes: Vec<VerdictChange> = verdicts
            .iter()
            .filter(|(_, p)| p.before != p.after)
            .map(|(id, p)| VerdictChange { id: id.clone(), title: p.title.clone(), before: p.before, after: p.after })
            .collect();
        let verdicts_unchanged = verdicts.len() - verdict_changes.len();

        let inputs = input_changes(&self.inputs(a)?, &self.inputs(b)?);
        let (ma, mb) = (self.metrics(a)?, self.metrics(b)?);
        let by_name = |m: &[crate::Metric]| m.iter().map(|m| (m.name.clone(), m.value.clone())).collect::<BTreeMap<_, _>>();
        let (ma, mb) = (by_name(&ma), by_name(&mb));
        let names: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();

        let mut accuracy = vec![];
        let mut latency = vec![];
        let mut samples = SampleCache::default();
        let (files_a, files_b) = (self.files(a)?, self.files(b)?);
        for name in names {
            let (x, y) = (ma.get(name), mb.get(name));
            match (x, y) {
                (Some(MetricValue::Proportion { .. }) | None, Some(MetricValue::Proportion { .. }) | None) => {
                    accuracy.push(proportion_delta(name, x, y));
                }
                (Some(MetricValue::LatencyMs { .. }) | None, Some(MetricValue::LatencyMs { .. }) | None) => {
                    let suite = name.rsplit_once('.').map(|(s, _)| s.to_string()).unwrap_or_default();
                    let valid = |m: &BTreeMap<String, MetricValue>| match m.get(&format!("{suite}.valid")) {
                        Some(MetricValue::Flag { value }) => Some(*value),
                        _ => None,
                    };
                    let mut validity = vec![];
                    for (r, m) in [(&before, &ma), (&after, &mb)] {
                        if valid(m) == Some(false) {
                            validity.push(format!("run {}'s {suite} run is INVALID (LoadGen): its percentiles are not a valid result", r.id));
                        }
                    }
                    let mut d = latency_delta(name, &suite, x, y, [(&before, &files_a), (&after, &files_b)], &mut samples);
                    d.validity = validity;
                    latency.push(d);
                }
                _ => {}
            }
        }

        let (fa, fb) = (self.findings(a)?, self.findings(b)?);
        let by_message = fa.iter().chain(&fb).any(|f| f.key == FindingKey::NotRecorded);
        if by_message && !fa.is_empty() && !fb.is_empty() {
            let old: Vec<String> = [(&before, &fa, "before"), (&after, &fb, "after")].iter().filter(|(_, f, _)| f.iter().any(|f| f.key == FindingKey::NotRecorded)).map(|(r, _, when)| format!("run {} ({when})", r.id)).collect();
            notes.push(format!("findings compared by their messages: {} recorded by an aite that did not record finding keys, so a reworded message shows as one fixed and one new finding", old.join(" and ")));
        }
        let findings = findings_diff(&fa, &fb, &self.security_rules(a)?, &self.security_rules(b)?, by_message);
        if findings.paired_across_keying > 0 {
            notes.push(format!(
                "{} finding(s) compared by their messages: one run recorded their rule without keys (key null) and the other with keys (an aite from before the rule was keyed)",
                findings.paired_across_keying
            ));
        }
        Ok(RunDiff { before, after, notes, inputs, verdict_changes, verdicts_unchanged, accuracy, latency, findings })
    }
}

fn input_changes(a: &[Input], b: &[Input]) -> Vec<InputChange> {
    let key = |i: &Input| (i.role.clone(), i.name.clone());
    let (ma, mb): (BTreeMap<_, _>, BTreeMap<_, _>) = (a.iter().map(|i| (key(i), i.sha256.clone())).collect(), b.iter().map(|i| (key(i), i.sha256.clone())).collect());
    let keys: BTreeSet<_> = ma.keys().chain(mb.keys()).cloned().collect();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (ma.get(&k).cloned(), mb.get(&k).cloned());
            (x != y).then_some(InputChange { role: k.0, name: k.1, before_sha256: x, after_sha256: y })
        })
        .collect()
}

fn proportion_delta(name: &str, x: Option<&MetricValue>, y: Option<&MetricValue>) -> ProportionDelta {
    let rate = |m: Option<&MetricValue>| match m {
        Some(MetricValue::Proportion { successes, trials, .. }) => Some(Rate { successes: *successes, trials: *trials }),
        _ => None,
    };
    let (before, after) = (rate(x), rate(y));
    let delta = match (before.and_then(|r| r.value()), after.and_then(|r| r.value())) {
        (Some(p), Some(q)) => Some(q - p),
        _ => None,
    };
    let test = match (before, after) {
        (Some(p), Some(q)) => match two_proportion_z(p.successes, p.trials, q.successes, q.trials) {
            Some(t) => ProportionTest::TwoProportionZ { z: t.z, p_value: t.p_value, significant_at_5pct: t.p_value < 0.05 },
            None if p.trials == 0 || q.trials == 0 => ProportionTest::NotTested { why: "a run has no trials".into() },
            None => ProportionTest::NotTested {
                why: format!("both runs at {:.2}%: no variance, nothing to test", 100.0 * p.value().unwrap_or(0.0)),
            },
        },
        _ => ProportionTest::NotTested { why: format!("measured in the {} run only", if before.is_some() { "earlier" } else { "later" }) },
    };
    ProportionDelta { metric: name.to_string(), before, after, delta, test }
}

/// Raw samples per (package folder, file), read once per diff.
#[derive(Default)]
struct SampleCache(HashMap<(String, String), Result<Vec<u64>, String>>);

impl SampleCache {
    fn sorted(&mut self, run: &RunSummary, files: &BTreeMap<String, String>, file: &str) -> Result<Vec<u64>, String> {
        let key = (run.package_path.clone(), file.to_string());
        self.0.entry(key).or_insert_with(|| read_samples(Path::new(&run.package_path), file, files.get(file).map(String::as_str))).clone()
    }
}

/// `latency_ns` of every row of `dir/file`, sorted; the file must still have the digest recorded.
fn read_samples(dir: &Path, file: &str, recorded_sha256: Option<&str>) -> Result<Vec<u64>, String> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| format!("{} cannot be read ({e}): the package folder is gone or moved", path.display()))?;
    let sha = crate::package::sha256_hex(&bytes);
    if recorded_sha256 != Some(sha.as_str()) {
        return Err(format!("{} changed since it was recorded (SHA-256 {sha}, manifest {})", path.display(), recorded_sha256.unwrap_or("none")));
    }
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let column = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .iter()
        .position(|h| h == "latency_ns")
        .ok_or_else(|| format!("{} has no latency_ns column", path.display()))?;
    let mut out = vec![];
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        let v = row.get(column).and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| format!("{} row {}: latency_ns is not a whole number of ns", path.display(), i + 2))?;
        out.push(v);
    }
    if out.is_empty() {
        return Err(format!("{} holds no samples", path.display()));
    }
    out.sort_unstable();
    Ok(out)
}

fn latency_delta(
    name: &str,
    suite: &str,
    x: Option<&MetricValue>,
    y: Option<&MetricValue>,
    runs: [(&RunSummary, &BTreeMap<String, String>); 2],
    cache: &mut SampleCache,
) -> LatencyDelta {
    let parts = |m: Option<&MetricValue>| match m {
        Some(MetricValue::LatencyMs { value, percentile, samples_file }) => Some((*value, *percentile, samples_file.clone())),
        _ => None,
    };
    let (px, py) = (parts(x), parts(y));
    let percentile = px.as_ref().or(py.as_ref()).map(|p| p.1).unwrap_or(0.0);
    let mut d = LatencyDelta {
        metric: name.to_string(),
        suite: suite.to_string(),
        percentile,
        before_ms: px.as_ref().map(|p| p.0),
        after_ms: py.as_ref().map(|p| p.0),
        delta_ms: None,
        interval: LatencyInterval::NotComparable { why: String::new() },
        validity: vec![],
    };
    let (Some(px), Some(py)) = (px, py) else {
        d.interval = LatencyInterval::NotComparable { why: format!("measured in the {} run only", if d.before_ms.is_some() { "earlier" } else { "later" }) };
        return d;
    };
    d.delta_ms = Some(py.0 - px.0);
    let mut sets = vec![];
    for ((run, files), (recorded, p, file)) in runs.into_iter().zip([px, py]) {
        let Some(file) = file else {
            d.interval = LatencyInterval::RawSamplesUnavailable { why: format!("run {}'s package lists no per-query CSV for {suite}", run.id) };
            return d;
        };
        let sorted = match cache.sorted(run, files, &file) {
            Ok(s) => s,
            Err(why) => {
                d.interval = LatencyInterval::RawSamplesUnavailable { why: format!("run {}: {why}", run.id) };
                return d;
            }
        };
        let recomputed = aite_latency::percentile(&sorted, p) as f64 / 1e6;
        if (recomputed - recorded).abs() > 1e-9 {
            d.interval = LatencyInterval::RawSamplesUnavailable {
                why: format!("run {}: the samples in {file} give {recomputed} ms, results.json records {recorded} ms: they are not the samples of this result", run.id),
            };
            return d;
        }
        sets.push(sorted);
    }
    let Some((lo, hi)) = bootstrap_percentile_difference(&sets[0], &sets[1], percentile, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED) else {
        d.interval = LatencyInterval::RawSamplesUnavailable { why: "no samples to resample".into() };
        return d;
    };
    let (low_ms, high_ms) = (lo / 1e6, hi / 1e6);
    d.interval = LatencyInterval::Bootstrap {
        low_ms,
        high_ms,
        resamples: BOOTSTRAP_RESAMPLES,
        seed: BOOTSTRAP_SEED,
        samples_before: sets[0].len(),
        samples_after: sets[1].len(),
        significant_at_5pct: low_ms > 0.0 || high_ms < 0.0,
    };
    d
}

/// What follows a finding from run to run: rule, subject and key (see the module);
/// `by_message`: every finding by its message too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Identity {
    suite: FindingSuite,
    rule: String,
    subject: String,
    key: Option<String>,
    message: Option<String>,
}

fn identity(f: &Finding, by_message: bool) -> Identity {
    Identity {
        suite: f.suite,
        rule: f.rule.clone(),
        subject: f.subject.clone(),
        key: match &f.key {
            FindingKey::Named(k) if !by_message => Some(k.clone()),
            _ => None,
        },
        message: by_message.then(|| f.message.clone()),
    }
}

/// Which findings of `a` and of `b` have their counterpart in the other run. Findings of one
/// identity are counted, not merged: n in `a` and m in `b` pair min(n, m) of them, those with
/// the same message first (so the unpaired ones are those whose message the other run lacks),
/// and leave |n − m| unpaired.
fn paired(a: &[Finding], b: &[Finding], by_message: bool) -> (Vec<bool>, Vec<bool>) {
    let mut groups: HashMap<Identity, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for (i, f) in a.iter().enumerate() {
        groups.entry(identity(f, by_message)).or_default().0.push(i);
    }
    for (j, f) in b.iter().enumerate() {
        groups.entry(identity(f, by_message)).or_default().1.push(j);
    }
    let (mut in_a, mut in_b) = (vec![false; a.len()], vec![false; b.len()]);
    for (xs, ys) in groups.values() {
        let mut by_text: HashMap<&str, Vec<usize>> = HashMap::new();
        for &j in ys.iter().rev() {
            by_text.entry(b[j].message.as_str()).or_default().push(j);
        }
        for &i in xs {
            if let Some(j) = by_text.get_mut(a[i].message.as_str()).and_then(Vec::pop) {
                (in_a[i], in_b[j]) = (true, true);
            }
        }
        let rest_a: Vec<usize> = xs.iter().copied().filter(|&i| !in_a[i]).collect();
        let rest_b: Vec<usize> = ys.iter().copied().filter(|&j| !in_b[j]).collect();
        for (i, j) in rest_a.into_iter().zip(rest_b) {
            (in_a[i], in_b[j]) = (true, true);
        }
    }
    (in_a, in_b)
}

/// Findings a rule gained keys for between the runs: where, for one rule and subject, the
/// unpaired findings of one run all have `key: null` and those of the other all have a key,
/// pair those with the same message (the same key found by an aite that did not key it yet).
/// Returns how many were paired.
fn pair_across_keying(a: &[Finding], b: &[Finding], in_a: &mut [bool], in_b: &mut [bool]) -> usize {
    type Place = (FindingSuite, String, String);
    let mut groups: BTreeMap<Place, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, f) in a.iter().enumerate().filter(|(i, _)| !in_a[*i]) {
        groups.entry((f.suite, f.rule.clone(), f.subject.clone())).or_default().0.push(i);
    }
    for (j, f) in b.iter().enumerate().filter(|(j, _)| !in_b[*j]) {
        groups.entry((f.suite, f.rule.clone(), f.subject.clone())).or_default().1.push(j);
    }
    let mut paired = 0;
    for (xs, ys) in groups.values() {
        let all = |fs: &[Finding], ix: &[usize], named: bool| !ix.is_empty() && ix.iter().all(|&i| matches!(fs[i].key, FindingKey::Named(_)) == named && fs[i].key != FindingKey::NotRecorded);
        if !((all(a, xs, false) && all(b, ys, true)) || (all(a, xs, true) && all(b, ys, false))) {
            continue;
        }
        let mut by_text: HashMap<&str, Vec<usize>> = HashMap::new();
        for &j in ys.iter().rev() {
            by_text.entry(b[j].message.as_str()).or_default().push(j);
        }
        for &i in xs {
            if let Some(j) = by_text.get_mut(a[i].message.as_str()).and_then(Vec::pop) {
                (in_a[i], in_b[j]) = (true, true);
                paired += 1;
            }
        }
    }
    paired
}

fn findings_diff(a: &[Finding], b: &[Finding], rules_a: &BTreeMap<String, String>, rules_b: &BTreeMap<String, String>, by_message: bool) -> FindingsDiff {
    let (mut in_a, mut in_b) = paired(a, b, by_message);
    let paired_across_keying = if by_message { 0 } else { pair_across_keying(a, b, &mut in_a, &mut in_b) };
    let mut out = FindingsDiff { unchanged: in_b.iter().filter(|&&p| p).count(), paired_across_keying, ..Default::default() };
    for (f, _) in b.iter().zip(&in_b).filter(|(_, &p)| !p) {
        out.new.push(FindingChange { finding: f.clone(), rule_status_other_run: rules_a.get(&f.rule).cloned() });
    }
    for (f, _) in a.iter().zip(&in_a).filter(|(_, &p)| !p) {
        let status = rules_b.get(&f.rule).cloned();
        let examined = matches!(status.as_deref(), Some("pass" | "fail"));
        let change = FindingChange { finding: f.clone(), rule_status_other_run: status };
        if examined {
            out.fixed.push(change);
        } else {
            out.not_reexamined.push(change);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMD: &str = "usr/bin/camd holds an unencrypted rsa private key: every device built from this image shares it";
    /// The fingerprints aite-security gives its three RSA fixture keys (keys.rs tests).
    const K: [&str; 3] = [
        "sha256:e6b31eb35534d05f742e5e93ebf639c823b5ba6e02e50137304ecbf1f70d07d8",
        "sha256:e34ea7e938f8b491320085f59f6ac83cfdeeacfc693173d93e209946648636d6",
        "sha256:3c248992aad1c92898438752fc92c43d3b07f8d94e4daefa5e799b83f6a3150a",
    ];

    fn finding(message: &str, key: FindingKey) -> Finding {
        Finding { suite: FindingSuite::Security, rule: "AITE-KEY-PRIVATE".into(), subject: "usr/bin/camd".into(), severity: "high".into(), message: message.into(), key }
    }

    fn keyed(keys: &[usize]) -> Vec<Finding> {
        keys.iter().map(|&i| finding(CAMD, FindingKey::Named(K[i].into()))).collect()
    }

    /// (new, fixed, unchanged), the rule examined in both runs.
    fn counts(a: &[Finding], b: &[Finding], by_message: bool) -> (Vec<String>, Vec<String>, usize) {
        let rules: BTreeMap<String, String> = [("AITE-KEY-PRIVATE".to_string(), "fail".to_string())].into();
        let d = findings_diff(a, b, &rules, &rules, by_message);
        assert!(d.not_reexamined.is_empty(), "{d:?}");
        let show = |c: &[FindingChange]| c.iter().map(|c| format!("{:?} {}", c.finding.key, c.finding.message)).collect();
        (show(&d.new), show(&d.fixed), d.unchanged)
    }

    #[test]
    fn keys_of_one_algorithm_in_one_file_are_followed_by_fingerprint() {
        let named = |i: usize| vec![format!("{:?} {CAMD}", FindingKey::Named(K[i].into()))];
        // A third RSA key compiled into the program: one new.
        assert_eq!(counts(&keyed(&[0, 1]), &keyed(&[0, 1, 2]), false), (named(2), vec![], 2));
        // The same keys in another order (another build): no change.
        assert_eq!(counts(&keyed(&[0, 1, 2]), &keyed(&[2, 0, 1]), false), (vec![], vec![], 3));
        // One key, then two of the same algorithm: one new, none fixed.
        assert_eq!(counts(&keyed(&[0]), &keyed(&[0, 1]), false), (named(1), vec![], 1));
        assert_eq!(counts(&keyed(&[0, 1]), &keyed(&[1]), false), (vec![], named(0), 1));
    }

    /// n copies of one identity before and m after: |n − m| new or fixed, never merged.
    #[test]
    fn findings_nothing_tells_apart_are_counted() {
        let same = |n: usize, key: FindingKey| vec![finding(CAMD, key); n];
        let one_line = |key: FindingKey| vec![format!("{key:?} {CAMD}")];
        for (key, by_message) in [(FindingKey::Subject, false), (FindingKey::Named(K[0].into()), false), (FindingKey::NotRecorded, true)] {
            assert_eq!(counts(&same(1, key.clone()), &same(2, key.clone()), by_message), (one_line(key.clone()), vec![], 1), "{key:?}");
            assert_eq!(counts(&same(2, key.clone()), &same(3, key.clone()), by_message), (one_line(key.clone()), vec![], 2), "{key:?}");
            assert_eq!(counts(&same(3, key.clone()), &same(1, key.clone()), by_message), (vec![], [one_line(key.clone()), one_line(key.clone())].concat(), 1), "{key:?}");
            assert_eq!(counts(&same(2, key.clone()), &same(2, key.clone()), by_message), (vec![], vec![], 2), "{key:?}");
        }
        // Of two findings one identity, the one listed fixed is the one whose message is gone;
        // a lone finding reworded is the same finding.
        let (x, y) = (finding("web.key: rsa 1024 bits", FindingKey::Subject), finding("web.key: dsa 1024 bits", FindingKey::Subject));
        assert_eq!(counts(&[x.clone(), y.clone()], &[y.clone()], false), (vec![], vec![format!("Subject {}", x.message)], 1));
        assert_eq!(counts(&[x], &[y], false), (vec![], vec![], 1));
    }

    /// A run from before key findings were keyed (`key: null`) against one that keys them: the
    /// same key (same message) is unchanged, a key only in the keyed run is new, and a null-key
    /// finding whose message is gone is fixed. Within one keying the message never pairs.
    #[test]
    fn findings_a_rule_gained_keys_for_pair_by_message() {
        let other = "usr/bin/camd holds an unencrypted ec private key: every device built from this image shares it";
        let old = vec![finding(CAMD, FindingKey::Subject), finding(CAMD, FindingKey::Subject)];
        let rules: BTreeMap<String, String> = [("AITE-KEY-PRIVATE".to_string(), "fail".to_string())].into();
        let d = findings_diff(&old, &keyed(&[0, 1]), &rules, &rules, false);
        assert_eq!((d.new.len(), d.fixed.len(), d.unchanged, d.paired_across_keying), (0, 0, 2, 2), "{d:?}");
        let d = findings_diff(&old, &keyed(&[0, 1, 2]), &rules, &rules, false);
        assert_eq!((d.new.len(), d.fixed.len(), d.unchanged, d.paired_across_keying), (1, 0, 2, 2), "{d:?}");
        let d = findings_diff(&[finding(other, FindingKey::Subject)], &keyed(&[0]), &rules, &rules, false);
        assert_eq!((d.new.len(), d.fixed.len(), d.unchanged, d.paired_across_keying), (1, 1, 0, 0), "{d:?}");
        // Keyed the other way round (a newer run diffed against an older one) pairs alike.
        let d = findings_diff(&keyed(&[0, 1]), &old, &rules, &rules, false);
        assert_eq!((d.new.len(), d.fixed.len(), d.unchanged, d.paired_across_keying), (0, 0, 2, 2), "{d:?}");
        // Both keyed: a different key with the same message is a different key.
        let d = findings_diff(&keyed(&[0]), &keyed(&[1]), &rules, &rules, false);
        assert_eq!((d.new.len(), d.fixed.len(), d.paired_across_keying), (1, 1, 0), "{d:?}");
    }
}
