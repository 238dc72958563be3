//! CycloneDX BOM of the package: the firmware SBOM aite-security builds (its
//! components and vulnerabilities), the models the run loaded as
//! `machine-learning-model` components with a `modelCard` (metrics with their
//! 95% intervals from the run, dataset, inputs and outputs, considerations),
//! the datasets as `data` components, and in 1.6 the profile as a standard
//! (`definitions.standards`) with each requirement's verdict as an attestation
//! (`declarations`). 1.5 has no declarations: the same BOM without them.

use crate::package::{Package, Verdict};
use crate::ReportError;
use serde_json::{json, Value};

/// The CycloneDX specification version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    V1_5,
    V1_6,
}

impl SpecVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1_5 => "1.5",
            SpecVersion::V1_6 => "1.6",
        }
    }
}

/// `(metric type, 95% interval object, slice)` of a results.json proportion (`{value, ci95_low, ci95_high, ...}`).
fn proportion_metric(kind: &str, slice: &str, v: Option<&Value>) -> Option<Value> {
    let v = v?;
    let value = v.get("value")?.as_f64()?;
    let mut m = json!({ "type": kind, "value": format!("{value:.4}"), "slice": slice });
    if let (Some(lo), Some(hi)) = (v.get("ci95_low").and_then(Value::as_f64), v.get("ci95_high").and_then(Value::as_f64)) {
        m["confidenceInterval"] = json!({ "lowerBound": format!("{lo:.4}"), "upperBound": format!("{hi:.4}") });
    }
    Some(m)
}

/// The name of the model each suite measured: latency and accuracy the run's
/// target; the robustness suites the deployed model of `agreement` when the run
/// compared two, else the target; `accuracy_reference` the input of role
/// `reference-model`; another `accuracy_<tag>` the model whose name has `<tag>`.
fn metrics_for(p: &Package, model: &str, role: &str) -> Vec<Value> {
    let target = p.text("/target/name");
    let is = |name: &str| !name.is_empty() && model.ends_with(name);
    let deployed = p.suite("agreement").and_then(|a| a.get("deployed")).and_then(Value::as_str).unwrap_or(target);
    let mut out = Vec::new();
    if let Some(suites) = p.results.get("suites").and_then(Value::as_object) {
        for (name, s) in suites {
            if name == "accuracy" && is(target) {
                out.extend(proportion_metric("top-1 accuracy", "held-out dataset", s.get("top1")));
                out.extend(proportion_metric("top-k accuracy", &format!("k = {}", s.get("k").and_then(Value::as_u64).unwrap_or(0)), s.get("top_k")));
            } else if let Some(tag) = name.strip_prefix("accuracy_") {
                if (tag == "reference" && role == "reference-model") || (tag != "reference" && model.contains(tag)) {
                    out.extend(proportion_metric("top-1 accuracy", "held-out dataset", s.get("top1")));
                }
            }
        }
    }
    if is(deployed) {
        if let Some(c) = p.suite("corruptions") {
            out.extend(proportion_metric("mean corruption accuracy", "every corruption and severity run", c.get("mean_corruption_accuracy")));
        }
        for w in p.suite("attack_worst_case").map(|w| aite_assessment::worst_case::recorded(w, |name| p.suite(name))).unwrap_or_default() {
            out.extend(proportion_metric("robust accuracy", &format!("worst case over {} attacks ({})", w.threat_model(), w.attacks().join(", ")), w.record.get("robust_accuracy")));
        }
        if let Some(a) = p.suite("agreement") {
            out.extend(proportion_metric("top-1 agreement with reference", &format!("reference {}", a.get("reference").and_then(Value::as_str).unwrap_or("")), a.get("top1_agreement")));
        }
    }
    if is(target) {
        if let Some(l) = p.suite("latency").and_then(|l| l.get("latency")) {
            // A detector's latency is read with its detections per frame (post-processing grows with them).
            let counted = p.suite("latency").and_then(|l| l.get("results_per_frame")).and_then(|r| serde_json::from_value::<aite_latency::ResultsPerFrame>(r.clone()).ok()).map(|r| format!(", {r}")).unwrap_or_default();
            for q in ["p50_ms", "p90_ms", "p99_ms"] {
                if let Some(v) = l.get(q).and_then(Value::as_f64) {
                    out.push(json!({ "type": format!("latency {} (ms)", &q[..3]), "value": format!("{v:.6}"), "slice": format!("single-stream, {}{counted}", p.text("/suites/latency/mode")) }));
                }
            }
        }
    }
    out
}

fn tensors(v: &[Value]) -> Vec<Value> {
    v.iter()
        .map(|t| {
            let shape: Vec<String> = t.get("shape").and_then(Value::as_array).map(|s| s.iter().map(|d| d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string())).collect()).unwrap_or_default();
            json!({ "format": format!("{} {} [{}]", t.get("name").and_then(Value::as_str).unwrap_or(""), t.get("dtype").and_then(Value::as_str).unwrap_or(""), shape.join(", ")) })
        })
        .collect()
}

/// The BOM as JSON.
/// A component or vulnerability list of the security suite that cannot be read is an error, never an empty list.
pub fn cyclonedx(p: &Package, spec: SpecVersion) -> Result<Value, ReportError> {
    let sec = p.suite("security");
    let list = |key: &str| sec.and_then(|s| s.get(key)).filter(|v| !v.is_null()).cloned().unwrap_or(json!([]));
    let bad = |key: &str, e: serde_json::Error| ReportError::Parse { file: p.dir.join("results.json"), reason: format!("suites.security.{key}: {e}") };
    let components: Vec<aite_security::components::Component> = serde_json::from_value(list("components")).map_err(|e| bad("components", e))?;
    let vulns: Vec<aite_security::components::Vulnerability> = serde_json::from_value(list("vulnerabilities")).map_err(|e| bad("vulnerabilities", e))?;
    let input = sec.and_then(|s| s.pointer("/coverage/input")).and_then(Value::as_str).map(|i| i.rsplit('/').next().unwrap_or(i).to_string());
    let firmware = p.results.get("inputs").and_then(Value::as_array).and_then(|i| i.iter().find(|i| i.get("role").and_then(Value::as_str) == Some("firmware")));
    let input = firmware.and_then(|f| f.get("name")).and_then(Value::as_str).map(str::to_string).or(input);
    let input_sha = firmware.and_then(|f| f.get("sha256")).and_then(Value::as_str);
    let mut bom = aite_security::components::cyclonedx(input.as_deref().unwrap_or("no firmware image examined"), input_sha, &components, &[], &vulns, p.text("/tool/version"));
    bom["specVersion"] = json!(spec.as_str());
    bom["$schema"] = json!(format!("http://cyclonedx.org/schema/bom-{}.schema.json", spec.as_str()));
    bom["serialNumber"] = json!(format!("urn:uuid:{}", p.uuid_for(&format!("cyclonedx-{}", spec.as_str()))));
    bom["metadata"]["timestamp"] = json!(p.finished_at());
    bom["metadata"]["properties"] = json!([
        { "name": "aite:report-id", "value": p.report_id() },
        { "name": "aite:profile", "value": format!("{} {}", p.assessment.profile, p.assessment.profile_version) },
        { "name": "aite:overall-verdict", "value": p.assessment.overall },
    ]);
    if !p.assessment.out_of_scope.is_empty() {
        // A scoped verdict: the requirements it did not judge are named.
        if let Some(props) = bom["metadata"]["properties"].as_array_mut() {
            props.push(json!({ "name": "aite:requirements-out-of-scope", "value": p.assessment.out_of_scope.join(" ") }));
        }
    }
    let target = p.text("/target/name");
    let Some(comps) = bom["components"].as_array_mut() else {
        return Err(ReportError::Render { format: "CycloneDX", reason: "aite-security's SBOM has no components array".into() });
    };
    // Models found inside the firmware image.
    if let Some(models) = sec.and_then(|s| s.get("models")).and_then(Value::as_array) {
        for m in models {
            let path = m.get("path").and_then(Value::as_str).unwrap_or("");
            let mut c = json!({ "type": "machine-learning-model", "bom-ref": format!("image-model:{path}"), "name": path, "properties": [{ "name": "aite:found-in", "value": "firmware image" }] });
            if let Some(h) = m.get("sha256").and_then(Value::as_str) {
                c["hashes"] = json!([{ "alg": "SHA-256", "content": h }]);
            }
            comps.push(c);
        }
    }
    let inputs = p.results.get("inputs").and_then(Value::as_array).cloned().unwrap_or_default();
    let datasets: Vec<&Value> = inputs.iter().filter(|i| i.get("role").and_then(Value::as_str) == Some("dataset")).collect();
    for d in &datasets {
        let name = d.get("name").and_then(Value::as_str).unwrap_or("");
        comps.push(json!({
            "type": "data", "bom-ref": format!("dataset:{name}"), "name": name,
            "hashes": [{ "alg": "SHA-256", "content": d.get("sha256").and_then(Value::as_str).unwrap_or("") }],
            "data": [{ "type": "dataset", "name": name, "description": format!("{} samples, as results.json inputs[] records them", d.get("count").and_then(Value::as_u64).unwrap_or(0)) }],
        }));
    }
    for m in inputs.iter().filter(|i| i.get("role").and_then(Value::as_str).is_some_and(|r| r == "model" || r == "reference-model")) {
        let name = m.get("name").and_then(Value::as_str).unwrap_or("");
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let facts = p.models.values().find(|f| f.name.as_deref() == Some(name) || f.sha256 == m.get("sha256").and_then(Value::as_str).unwrap_or("-"));
        let (ins, outs, arch) = match facts {
            Some(f) => (tensors(&f.inputs), tensors(&f.outputs), format!("{} ({} parameters, quantization {})", f.format, f.parameters, f.quantization)),
            None if name.ends_with(target) && !target.is_empty() => (
                tensors(p.results.pointer("/target/inputs").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])),
                tensors(p.results.pointer("/target/outputs").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])),
                "not recorded in the package".into(),
            ),
            None => (vec![], vec![], "not recorded in the package".into()),
        };
        let mut params = json!({
            "approach": { "type": "supervised" },
            "task": "classification",
            "modelArchitecture": arch,
            "datasets": datasets.iter().map(|d| json!({ "ref": format!("dataset:{}", d.get("name").and_then(Value::as_str).unwrap_or("")) })).collect::<Vec<_>>(),
        });
        if !ins.is_empty() {
            params["inputs"] = json!(ins);
        }
        if !outs.is_empty() {
            params["outputs"] = json!(outs);
        }
        let metrics = metrics_for(p, name, role);
        let mut card = json!({
            "bom-ref": format!("model-card:{name}"),
            "modelParameters": params,
            "considerations": {
                "technicalLimitations": [
                    "Metrics relate only to the item tested, on the datasets and settings recorded in this package.",
                    if p.assessment.provisional_thresholds { "Some thresholds of the profile are provisional (aite's own until the guideline's numbers are published)." } else { "The profile's thresholds are published or set by the lab." },
                ],
                "performanceTradeoffs": ["Quantized and float variants are compared in results.json `agreement` when the run had both."],
            },
        });
        if !metrics.is_empty() {
            card["quantitativeAnalysis"] = json!({ "performanceMetrics": metrics });
        }
        comps.push(json!({
            "type": "machine-learning-model",
            "bom-ref": format!("model:{name}"),
            "name": name,
            "hashes": [{ "alg": "SHA-256", "content": m.get("sha256").and_then(Value::as_str).unwrap_or("") }],
            "modelCard": card,
        }));
    }
    if spec == SpecVersion::V1_6 {
        declarations(p, &mut bom);
    }
    Ok(bom)
}

/// `definitions.standards` (the profile and its requirements) and `declarations` (one attestation mapping each requirement to its verdict).
fn declarations(p: &Package, bom: &mut Value) {
    let a = &p.assessment;
    let std_ref = format!("standard:{}", a.profile);
    let requirements: Vec<Value> = a
        .requirements
        .iter()
        .map(|r| {
            json!({
                "bom-ref": format!("requirement:{}", r.id),
                "identifier": r.id,
                "title": r.title,
                "text": format!("{} {} {}; threshold {} ({})", r.item, r.comparator.map_or_else(|| "-".to_string(), |c| c.to_string()), r.threshold.map(|t| format!("{t} {}", r.unit)).unwrap_or_else(|| "none".into()), r.provenance.status, r.provenance.source),
                "descriptions": r.clauses,
            })
        })
        .collect();
    bom["definitions"] = json!({ "standards": [{
        "bom-ref": std_ref,
        "name": a.profile,
        "version": a.profile_version,
        "description": format!("aite assessment profile ({}){}", a.profile_source, if a.provisional_thresholds { "; some thresholds provisional" } else { "" }),
        "owner": "aite",
        "requirements": requirements,
    }]});
    let mut claims = Vec::new();
    let mut evidence = Vec::new();
    let mut map = Vec::new();
    for r in &a.requirements {
        let claim = format!("claim:{}", r.id);
        let ev = format!("evidence:{}", r.id);
        evidence.push(json!({
            "bom-ref": ev,
            "propertyName": format!("aite:verdict:{}", r.id),
            "description": format!("{}: {}", r.verdict.label(), r.verdict.reason().unwrap_or(&r.note)),
            "data": r.evidence.iter().map(|ptr| json!({ "name": format!("results.json#{ptr}"), "contents": { "url": format!("results.json#{}", ptr.replace('%', "%25").replace(' ', "%20")) } })).collect::<Vec<_>>(),
            "created": p.finished_at(),
        }));
        claims.push(json!({
            "bom-ref": claim,
            "target": "input",
            "predicate": format!("meets requirement {} ({})", r.id, r.title),
            "evidence": [ev],
        }));
        // PASS supports the claim and FAIL refutes it; any other verdict decided
        // nothing: neither claim nor counter-claim, and no confidence in the score.
        let (score, kind) = match r.verdict {
            Verdict::Pass => (1.0, Some("claims")),
            Verdict::Fail => (0.0, Some("counterClaims")),
            _ => (0.0, None),
        };
        let mut entry = json!({
            "requirement": format!("requirement:{}", r.id),
            "conformance": {
                "score": score,
                "rationale": format!("{} under the {} decision rule. {}", r.verdict.label(), r.decision, r.verdict.reason().unwrap_or(&r.note)),
                "mitigationStrategies": [],
            },
        });
        match kind {
            Some(k) => entry[k] = json!([claim]),
            None => entry["confidence"] = json!({ "score": 0.0, "rationale": format!("{}: not decided by this assessment", r.verdict.label()) }),
        }
        if !r.remediation.is_empty() && r.verdict != Verdict::Pass {
            entry["conformance"]["rationale"] = json!(format!("{} Remediation: {}", entry["conformance"]["rationale"].as_str().unwrap_or(""), r.remediation));
        }
        map.push(entry);
    }
    bom["declarations"] = json!({
        "assessors": [{ "bom-ref": "assessor:aite", "thirdParty": false, "organization": { "name": "aite (automated test tool)" } }],
        "attestations": [{
            "summary": format!("Profile {} {}: overall {}", a.profile, a.profile_version, a.overall_stated()),
            "assessor": "assessor:aite",
            "map": map,
        }],
        "claims": claims,
        "evidence": evidence,
    });
}
