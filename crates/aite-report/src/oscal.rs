//! OSCAL Assessment Results 1.1.3 and the minimal assessment plan it imports.
//! Each requirement of the profile is a reviewed control with one objective;
//! each gets an observation (method TEST, evidence links as relative hrefs into
//! the package with their SHA-256) and a finding. OSCAL knows only `satisfied`
//! and `not-satisfied`: PASS is satisfied (reason `pass`); every other verdict is
//! not shown to be satisfied, so `not-satisfied` with the verdict as the reason
//! (`fail`, `inconclusive`, `not-applicable`, `not-tested`, `error`) and its
//! justification in the remarks. Failing security findings are risks.

use crate::package::{Package, RequirementResult, Verdict};
use serde_json::{json, Value};

const OSCAL_VERSION: &str = "1.1.3";

/// A control id (an OSCAL token) for a requirement id.
fn control_id(r: &RequirementResult) -> String {
    let mut s: String = r.id.to_lowercase().chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    if !s.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        s.insert(0, '_');
    }
    s
}

fn reason(v: &Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Inconclusive => "inconclusive",
        Verdict::NotApplicable { .. } => "not-applicable",
        Verdict::NotTested { .. } => "not-tested",
        Verdict::Error { .. } => "error",
    }
}

fn metadata(p: &Package, title: &str) -> Value {
    let a = &p.assessment;
    json!({
        "title": title,
        "last-modified": p.finished_at(),
        "version": format!("{} {}", a.profile, a.profile_version),
        "oscal-version": OSCAL_VERSION,
        "props": [
            { "name": "report-id", "ns": "https://example.invalid/aite", "value": p.report_id() },
            { "name": "provisional-thresholds", "ns": "https://example.invalid/aite", "value": a.provisional_thresholds.to_string() },
        ],
        "roles": [{ "id": "assessor", "title": "Assessor (aite, automated test tool)" }],
    })
}

fn reviewed_controls(p: &Package) -> Value {
    let controls: Vec<Value> = p.assessment.requirements.iter().map(|r| json!({ "control-id": control_id(r) })).collect();
    let objectives: Vec<Value> = p.assessment.requirements.iter().map(|r| json!({ "objective-id": format!("{}_obj", control_id(r)) })).collect();
    json!({
        "description": format!("The requirements of profile {} {} ({}).", p.assessment.profile, p.assessment.profile_version, p.assessment.profile_source),
        "control-selections": [{ "include-controls": controls }],
        "control-objective-selections": [{ "include-objectives": objectives }],
    })
}

/// The minimal assessment plan the results import (`oscal-ap.json`).
pub fn oscal_ap(p: &Package) -> Value {
    json!({
        "assessment-plan": {
            "uuid": p.uuid_for("oscal-ap").to_string(),
            "metadata": metadata(p, &format!("aite assessment plan: profile {}", p.assessment.profile)),
            "import-ssp": {
                "href": "config.json",
                "remarks": "No system security plan: the system under test and its configuration are recorded in the package (config.json, results.json `target`).",
            },
            "reviewed-controls": reviewed_controls(p),
            "terms-and-conditions": { "parts": [{ "name": "assumptions", "title": "Results", "prose": "Results relate only to the item tested. Thresholds marked provisional are aite's own until the guideline's numbers are published." }] },
        }
    })
}

/// OSCAL Assessment Results (`oscal-ar.json`).
pub fn oscal_ar(p: &Package) -> Value {
    let subject = p.uuid_for("subject").to_string();
    let results_sha = p.files.get("results.json").cloned().unwrap_or_default();
    let assessment_sha = p.files.get("assessment.json").cloned().unwrap_or_default();
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    for r in &p.assessment.requirements {
        let obs = p.uuid_for(&format!("observation/{}", r.id)).to_string();
        let mut evidence: Vec<Value> = r
            .evidence
            .iter()
            .map(|ptr| {
                json!({
                    "href": format!("results.json#{}", ptr.replace('%', "%25").replace(' ', "%20")),
                    "description": format!("results.json (SHA-256 {results_sha}) at JSON pointer {ptr}"),
                    "props": [{ "name": "sha256", "ns": "https://example.invalid/aite", "value": results_sha }],
                })
            })
            .collect();
        evidence.push(json!({
            "href": "assessment.json",
            "description": format!("assessment.json (SHA-256 {assessment_sha}): the verdict on {} under the {} decision rule", r.id, r.decision),
            "props": [{ "name": "sha256", "ns": "https://example.invalid/aite", "value": assessment_sha }],
        }));
        let value = r.value.map(|v| format!("{v} {}", r.unit)).unwrap_or_else(|| "no value".into());
        let threshold = match (&r.comparator, r.threshold) {
            (Some(c), Some(t)) => format!("{c} {t} {}", r.unit),
            _ => "no threshold".into(),
        };
        observations.push(json!({
            "uuid": obs,
            "title": format!("{} {}", r.id, r.title),
            "description": format!("Measured {value}; threshold {threshold} ({} from {}). {}", r.provenance.status, r.provenance.source, r.note),
            "methods": ["TEST"],
            "types": ["finding"],
            "subjects": [{ "subject-uuid": subject, "type": "component" }],
            "relevant-evidence": evidence,
            "collected": p.finished_at(),
        }));
        let mut status = json!({ "state": if r.verdict == Verdict::Pass { "satisfied" } else { "not-satisfied" }, "reason": reason(&r.verdict) });
        if let Some(why) = r.verdict.reason() {
            status["remarks"] = json!(format!("{}: {why}", r.verdict.label()));
        }
        findings.push(json!({
            "uuid": p.uuid_for(&format!("finding/{}", r.id)).to_string(),
            "title": format!("{} {}: {}", r.id, r.title, r.verdict.label()),
            "description": format!("{} under the {} decision rule; clauses: {}.", r.verdict.label(), r.decision, if r.clauses.is_empty() { "none".into() } else { r.clauses.join(", ") }),
            "target": {
                "type": "objective-id",
                "target-id": format!("{}_obj", control_id(r)),
                "status": status,
            },
            "related-observations": [{ "observation-uuid": obs }],
        }));
    }
    let risks: Vec<Value> = p
        .suite("security")
        .and_then(|s| s.get("findings"))
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .filter(|f| f.get("status").and_then(Value::as_str) == Some("fail"))
                .enumerate()
                .map(|(i, f)| {
                    let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let clauses: Vec<&str> = f.get("clauses").and_then(Value::as_array).map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                    json!({
                        "uuid": p.uuid_for(&format!("risk/{i}/{}/{}", s("rule"), s("path"))).to_string(),
                        "title": format!("{} at {}", s("rule"), if s("path").is_empty() { "the image".into() } else { s("path") }),
                        "description": s("message"),
                        "statement": format!("Severity {}; clauses {}. Evidence: findings.sarif and results.json /suites/security/findings.", s("severity"), if clauses.is_empty() { "none".into() } else { clauses.join(", ") }),
                        "status": "open",
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let target = p.text("/target/name");
    let mut result = json!({
        "uuid": p.uuid_for("oscal-result").to_string(),
        "title": format!("aite assessment of {} against profile {}", if target.is_empty() { "the terminal" } else { target }, p.assessment.profile),
        "description": format!("Overall verdict {}. Results relate only to the item tested.", p.assessment.overall_stated()),
        "start": p.text("/started_at"),
        "end": p.finished_at(),
        "local-definitions": {
            "components": [{
                "uuid": subject,
                "type": "this-system",
                "title": if target.is_empty() { "terminal under test".to_string() } else { target.to_string() },
                "description": format!("The terminal under test as results.json records it (engine {}).", p.text("/target/engine")),
                "status": { "state": "operational" },
            }],
        },
        "reviewed-controls": reviewed_controls(p),
        "observations": observations,
        "findings": findings,
    });
    if !risks.is_empty() {
        result["risks"] = Value::Array(risks);
    }
    json!({
        "assessment-results": {
            "uuid": p.uuid_for("oscal-ar").to_string(),
            "metadata": metadata(p, &format!("aite assessment results {}", p.report_id())),
            "import-ap": { "href": "oscal-ap.json" },
            "results": [result],
        }
    })
}
