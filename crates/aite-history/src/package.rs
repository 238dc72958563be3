//! Reading an evidence package (a finished run folder) into what the history keeps.
//! Only the package is read: `manifest.json`, `results.json`, `assessment.json` when
//! present; both JSON files must match the digests in the manifest.

use crate::model::{Finding, FindingKey, FindingSuite, Input, Metric, MetricValue, RequirementVerdict, Terminal, Verdict, LATENCY_PERCENTILES};
use crate::HistoryError;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything recorded about one package.
#[derive(Debug, Clone)]
pub(crate) struct PackageRecord {
    pub dir: PathBuf,
    pub manifest_sha256: String,
    pub files: BTreeMap<String, String>,
    pub command: Option<String>,
    pub status: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub tool_version: Option<String>,
    pub tool_commit: Option<String>,
    pub terminal: Terminal,
    pub firmware: Option<Input>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub inputs: Vec<Input>,
    pub assessment: Option<AssessmentRecord>,
    pub metrics: Vec<Metric>,
    pub findings: Vec<Finding>,
    /// `suites.security.rules` and `suites.network.rules`: (suite, rule, status).
    pub rules: Vec<(FindingSuite, String, String)>,
}

/// What assessment.json contributes.
#[derive(Debug, Clone)]
pub(crate) struct AssessmentRecord {
    pub profile_id: Option<String>,
    pub profile_version: Option<String>,
    pub profile_sha256: Option<String>,
    pub overall: Option<Verdict>,
    /// Requirements of the profile the assessment left out of scope (0 for `aite run`).
    pub out_of_scope: usize,
    pub verdicts: Vec<RequirementVerdict>,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The SHA-256 of `dir/manifest.json`, the package's identity.
pub(crate) fn manifest_digest(dir: &Path) -> Result<String, HistoryError> {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(|e| HistoryError::package(&path, format!("cannot read: {e} (is {} a finished evidence package?)", dir.display())))?;
    Ok(sha256_hex(&bytes))
}

/// Read the package in `dir`.
pub(crate) fn read(dir: &Path) -> Result<PackageRecord, HistoryError> {
    if !dir.is_dir() {
        return Err(HistoryError::package(dir, "not a folder"));
    }
    let dir = std::fs::canonicalize(dir).map_err(|e| HistoryError::package(dir, e.to_string()))?;
    let manifest_path = dir.join("manifest.json");
    let manifest_sha256 = manifest_digest(&dir)?;
    let manifest: Value = read_json(&manifest_path)?;
    let files: BTreeMap<String, String> = manifest
        .get("files")
        .and_then(Value::as_object)
        .ok_or_else(|| HistoryError::package(&manifest_path, "no `files` object"))?
        .iter()
        .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())).ok_or_else(|| HistoryError::package(&manifest_path, format!("digest of `{k}` is not a string"))))
        .collect::<Result<_, _>>()?;

    let results_path = dir.join("results.json");
    check_digest(&files, &results_path, "results.json")?;
    let results = read_json(&results_path)?;
    match results.get("schema").and_then(Value::as_str) {
        Some(s) if s.starts_with("aite.results/") => {}
        other => return Err(HistoryError::package(&results_path, format!("not an aite results.json (schema {})", other.map(|s| format!("`{s}`")).unwrap_or_else(|| "missing".into())))),
    }
    let assessment_path = dir.join("assessment.json");
    let assessment = if assessment_path.exists() {
        check_digest(&files, &assessment_path, "assessment.json")?;
        Some(assessment(&read_json(&assessment_path)?, &assessment_path)?)
    } else {
        None
    };

    let s = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let inputs = inputs(&results);
    let firmware = inputs.iter().find(|i| i.role == "firmware").cloned();
    let tool = results.get("tool").cloned().unwrap_or(Value::Null);
    let target = results.get("target").cloned().unwrap_or(Value::Null);
    let suites = results.get("suites").cloned().unwrap_or(Value::Null);
    Ok(PackageRecord {
        command: s(&results, "command"),
        status: s(&results, "status"),
        started_at: s(&results, "started_at"),
        finished_at: s(&results, "finished_at"),
        tool_version: s(&tool, "version"),
        tool_commit: s(&tool, "commit"),
        terminal: terminal(&results),
        firmware,
        engine: s(&target, "engine"),
        engine_version: s(&target, "engine_version"),
        inputs,
        assessment,
        metrics: metrics(&results, &files),
        findings: findings(&suites, &results_path)?,
        rules: rules(&suites),
        dir,
        manifest_sha256,
        files,
    })
}

fn read_json(path: &Path) -> Result<Value, HistoryError> {
    let text = std::fs::read_to_string(path).map_err(|e| HistoryError::package(path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| HistoryError::package(path, format!("not valid JSON: {e}")))
}

/// `path` must be listed in the manifest with its current digest.
fn check_digest(files: &BTreeMap<String, String>, path: &Path, name: &str) -> Result<(), HistoryError> {
    let listed = files.get(name).ok_or_else(|| HistoryError::package(path, "not listed in manifest.json"))?;
    let bytes = std::fs::read(path).map_err(|e| HistoryError::package(path, format!("cannot read: {e}")))?;
    let actual = sha256_hex(&bytes);
    if &actual != listed {
        return Err(HistoryError::package(path, format!("SHA-256 {actual} differs from manifest.json's {listed}: the package changed after it was written")));
    }
    Ok(())
}

/// `declared.terminal` (manufacturer, model, hardware_revision, serial, firmware_version); absent fields stay `None`.
fn terminal(results: &Value) -> Terminal {
    let t = results.pointer("/declared/terminal").cloned().unwrap_or(Value::Null);
    let f = |k: &str| match t.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Terminal { manufacturer: f("manufacturer"), model: f("model"), hardware_revision: f("hardware_revision"), serial: f("serial"), firmware_version: f("firmware_version") }
}

fn inputs(results: &Value) -> Vec<Input> {
    let Some(list) = results.get("inputs").and_then(Value::as_array) else { return vec![] };
    list.iter()
        .map(|i| Input {
            role: i.get("role").and_then(Value::as_str).unwrap_or("").to_string(),
            name: i.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            sha256: i.get("sha256").and_then(Value::as_str).unwrap_or("").to_string(),
            count: i.get("count").and_then(Value::as_u64),
        })
        .collect()
}

fn assessment(a: &Value, path: &Path) -> Result<AssessmentRecord, HistoryError> {
    let s = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let label = |v: Option<&str>, what: &str| -> Result<Option<Verdict>, HistoryError> {
        v.map(|l| Verdict::from_label(l).ok_or_else(|| HistoryError::package(path, format!("{what}: unknown verdict `{l}`")))).transpose()
    };
    let mut verdicts = vec![];
    for r in a.get("requirements").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let id = s(r, "id").ok_or_else(|| HistoryError::package(path, "a requirement without `id`"))?;
        let verdict = label(r.get("verdict").and_then(Value::as_str), &format!("requirement `{id}`"))?
            .ok_or_else(|| HistoryError::package(path, format!("requirement `{id}` has no verdict")))?;
        let interval = r.get("interval").cloned().unwrap_or(Value::Null);
        verdicts.push(RequirementVerdict {
            title: s(r, "title"),
            item: s(r, "item"),
            verdict,
            reason: s(r, "why").or_else(|| s(r, "cause")),
            value: number(r.get("value")),
            interval_low: number(interval.get("low")),
            interval_high: number(interval.get("high")),
            interval_method: s(&interval, "method"),
            threshold: number(r.get("threshold")),
            comparator: s(r, "comparator"),
            unit: s(r, "unit"),
            decision: s(r, "decision"),
            note: s(r, "note"),
            id,
        });
    }
    Ok(AssessmentRecord {
        profile_id: s(a, "profile"),
        profile_version: s(a, "profile_version"),
        profile_sha256: s(a, "profile_sha256"),
        overall: label(a.get("overall").and_then(Value::as_str), "overall")?,
        out_of_scope: a.get("out_of_scope").and_then(Value::as_array).map_or(0, Vec::len),
        verdicts,
    })
}

/// A finite JSON number; `null` and the strings results.json uses for NaN/Infinity are `None`.
fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64).filter(|x| x.is_finite())
}

fn proportion(v: &Value) -> Option<MetricValue> {
    let successes = v.get("successes")?.as_u64()?;
    let trials = v.get("trials")?.as_u64()?;
    Some(MetricValue::Proportion { value: number(v.get("value")), successes, trials, ci95_low: number(v.get("ci95_low")), ci95_high: number(v.get("ci95_high")) })
}

/// Key metrics: each suite's top-1 and robust accuracy (proportions), the worst case
/// over attacks per threat model, and p50/p90/p99 with validity of every latency suite.
fn metrics(results: &Value, files: &BTreeMap<String, String>) -> Vec<Metric> {
    let mut out = vec![];
    let Some(suites) = results.get("suites").and_then(Value::as_object) else { return out };
    for (name, suite) in suites {
        for key in ["top1", "robust_accuracy"] {
            if let Some(p) = suite.get(key).and_then(proportion) {
                out.push(Metric { name: format!("{name}.{key}"), value: p });
            }
        }
        if name == "attack_worst_case" {
            // One per threat model: a worst case at another radius is another metric.
            for w in aite_assessment::worst_case::recorded(suite, |name| suites.get(name)) {
                if let Some(p) = w.record.get("robust_accuracy").and_then(proportion) {
                    out.push(Metric { name: format!("{name}[{}].robust_accuracy", w.threat_model()), value: p });
                }
            }
        }
        let Some(summary) = suite.get("latency").filter(|l| l.get("p50_ms").is_some()) else { continue };
        let samples_file = samples_file(results, name, files);
        for (label, percentile) in LATENCY_PERCENTILES {
            if let Some(ms) = number(summary.get(format!("{label}_ms"))) {
                out.push(Metric { name: format!("{name}.{label}_ms"), value: MetricValue::LatencyMs { value: ms, percentile, samples_file: samples_file.clone() } });
            }
        }
        if let Some(valid) = suite.pointer("/validity/valid").and_then(Value::as_bool) {
            out.push(Metric { name: format!("{name}.valid"), value: MetricValue::Flag { value: valid } });
        }
    }
    out
}

/// The raw per-query CSV of latency suite `suite`: the `-samples.csv` that results.json
/// `files.<suite>` lists, else the writer's convention (`latency_periodic` →
/// `latency-periodic-samples.csv`); only a file the manifest lists counts.
fn samples_file(results: &Value, suite: &str, files: &BTreeMap<String, String>) -> Option<String> {
    let listed = results.pointer(&format!("/files/{suite}")).and_then(Value::as_array).and_then(|names| {
        names.iter().filter_map(Value::as_str).find(|n| n.ends_with("-samples.csv")).map(str::to_string)
    });
    listed.or_else(|| Some(format!("{}-samples.csv", suite.replace('_', "-")))).filter(|n| files.contains_key(n))
}

/// The failing findings of the static scan, then the network probe's (subject: the endpoint).
fn findings(suites: &Value, results_path: &Path) -> Result<Vec<Finding>, HistoryError> {
    let mut out = vec![];
    for suite in FindingSuite::ALL {
        out.extend(suite_findings(suites, suite, results_path)?);
    }
    Ok(out)
}

/// A `key` that is neither a string nor `null` is an error: the diff follows findings by it,
/// and taking it for "one finding per subject" would merge findings the scan told apart.
fn suite_findings(suites: &Value, suite: FindingSuite, results_path: &Path) -> Result<Vec<Finding>, HistoryError> {
    let Some(list) = suites.get(suite.label()).and_then(|s| s.get("findings")).and_then(Value::as_array) else { return Ok(vec![]) };
    let mut out = vec![];
    for (i, f) in list.iter().enumerate().filter(|(_, f)| f.get("status").and_then(Value::as_str) == Some("fail")) {
        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let path = s("path");
        let key = match f.get("key") {
            None => FindingKey::NotRecorded,
            Some(Value::String(k)) if !k.is_empty() => FindingKey::Named(k.clone()),
            Some(Value::String(_) | Value::Null) => FindingKey::Subject,
            Some(other) => {
                let what = match other {
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::Array(_) => "an array",
                    _ => "an object",
                };
                return Err(HistoryError::package(
                    results_path,
                    format!("suites.{suite}.findings[{i}] (rule `{}`, path `{path}`): `key` is {what} ({other}), not a string or null", s("rule")),
                ));
            }
        };
        out.push(Finding { suite, rule: s("rule"), subject: if path.is_empty() { crate::model::IMAGE_WIDE.to_string() } else { path }, severity: s("severity"), message: s("message"), key });
    }
    Ok(out)
}

/// A rule that failed on a scan that did not examine all of its subjects (the image, or
/// the probe, has `gaps`, or `not_examined_count > 0`) is recorded as `failIncomplete`:
/// a failure elsewhere does not re-examine an earlier finding, so it is never fixed by it.
fn rules(suites: &Value) -> Vec<(FindingSuite, String, String)> {
    let mut out = vec![];
    for suite in FindingSuite::ALL {
        let Some(s) = suites.get(suite.label()) else { continue };
        let Some(list) = s.get("rules").and_then(Value::as_array) else { continue };
        let gaps = s.get("gaps").and_then(Value::as_array).is_some_and(|g| !g.is_empty());
        out.extend(list.iter().filter_map(|r| {
            let status = r.get("status")?.as_str()?;
            let partial = gaps || r.get("not_examined_count").and_then(Value::as_u64).is_some_and(|n| n > 0);
            let status = if status == "fail" && partial { "failIncomplete" } else { status };
            Some((suite, r.get("rule")?.as_str()?.to_string(), status.to_string()))
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `key` that is a number or an object is refused, naming the file and the finding; a
    /// string, `null` and no field are read as the key, one finding per subject, not recorded.
    #[test]
    fn a_key_that_is_not_a_string_or_null_is_an_error_naming_the_finding() {
        let path = Path::new("/runs/rel-b/results.json");
        let suites = |key: Option<Value>| {
            let mut f = serde_json::json!({ "rule": "AITE-KEY-PRIVATE", "status": "fail", "path": "usr/bin/camd", "message": "m", "severity": "high" });
            if let Some(k) = key {
                f["key"] = k;
            }
            serde_json::json!({ "security": { "findings": [{ "rule": "AITE-FS-SETUID", "status": "pass" }, f] } })
        };
        for (key, what) in [(serde_json::json!(7), "a number (7)"), (serde_json::json!({ "sha256": "ab" }), "an object ({\"sha256\":\"ab\"})")] {
            let e = findings(&suites(Some(key)), path).unwrap_err().to_string();
            assert_eq!(e, format!("evidence package /runs/rel-b/results.json: suites.security.findings[1] (rule `AITE-KEY-PRIVATE`, path `usr/bin/camd`): `key` is {what}, not a string or null"));
        }
        let key = |k: Option<Value>| findings(&suites(k), path).unwrap()[0].key.clone();
        assert_eq!(key(Some(serde_json::json!("sha256:ab"))), FindingKey::Named("sha256:ab".into()));
        assert_eq!(key(Some(Value::Null)), FindingKey::Subject);
        assert_eq!(key(None), FindingKey::NotRecorded);
    }

    /// A worst case per threat model is its own metric: two radii of one norm are never one
    /// series to diff, and an older package's per-norm record is named the same way.
    #[test]
    fn each_threat_models_worst_case_is_a_metric_of_its_own() {
        let p = |s: u64| serde_json::json!({ "successes": s, "trials": 40, "value": s as f64 / 40.0 });
        let results = serde_json::json!({ "suites": { "attack_worst_case": { "threat_models": [
            { "status": "measured", "norm": "linf", "epsilon": 2.0 / 255.0, "attacks": ["square-linf", "spsa-linf"], "robust_accuracy": p(34) },
            { "status": "not-applicable", "norm": "linf", "epsilon": 8.0 / 255.0, "attacks": ["square-linf"], "why": "one attack family ran: square; the worst case needs at least two" },
            { "status": "measured", "norm": "l2", "epsilon": 0.5, "attacks": ["square-l2", "hopskipjump"], "robust_accuracy": p(20) },
        ] } } });
        let names: Vec<(String, u64)> = metrics(&results, &BTreeMap::new())
            .into_iter()
            .map(|m| match m.value {
                MetricValue::Proportion { successes, .. } => (m.name, successes),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, [("attack_worst_case[linf 2/255].robust_accuracy".to_string(), 34), ("attack_worst_case[l2 0.5].robust_accuracy".to_string(), 20)]);
        // An older per-norm record took the first attack's epsilon for all: named by that radius
        // only when each attack's own settings say so, else without a radius.
        let older = |spsa: f64| serde_json::json!({ "suites": {
            "attack_square_linf": { "settings": { "epsilon": 8.0 / 255.0 } },
            "attack_spsa_linf": { "settings": { "epsilon": spsa } },
            "attack_worst_case": { "linf": { "attacks": ["square-linf", "spsa-linf"], "epsilon": 8.0 / 255.0, "robust_accuracy": p(30) } },
        } });
        let worst = |r: &serde_json::Value| metrics(r, &BTreeMap::new()).into_iter().map(|m| m.name).filter(|n| n.starts_with("attack_worst_case")).collect::<Vec<_>>();
        assert_eq!(worst(&older(8.0 / 255.0)), ["attack_worst_case[linf 8/255].robust_accuracy"]);
        assert_eq!(worst(&older(2.0 / 255.0)), ["attack_worst_case[linf (epsilon unknown)].robust_accuracy"]);
    }
}
