//! SARIF 2.1.0 output: one run, aite's rule catalogue as the driver's rules,
//! every finding as a result (`kind: fail`), and every rule checked without
//! a failure as a `kind: pass` result, so the log records what was checked.

use crate::finding::{Finding, Severity, RULES};
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The SARIF log for `findings`; `properties` go into the run's property bag (coverage, input).
pub fn sarif(findings: &[Finding], tool_version: &str, properties: Value) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.title,
                "shortDescription": { "text": r.title },
                "help": { "text": r.help },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "severity": r.severity, "clauses": r.clauses },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let index = RULES.iter().position(|r| r.id == f.rule);
            let mut result = json!({
                "ruleId": f.rule,
                "kind": f.status,
                "level": if f.failed() { level(f.severity) } else { "none" },
                "message": { "text": f.message },
                "properties": { "severity": f.severity, "clauses": f.clauses },
            });
            if let Some(i) = index {
                result["ruleIndex"] = json!(i);
            }
            if !f.path.is_empty() {
                let mut loc = json!({ "physicalLocation": { "artifactLocation": { "uri": f.path } } });
                if let Some(line) = f.offset.filter(|_| f.excerpt.is_some()) {
                    loc["physicalLocation"]["region"] = json!({ "startLine": line, "snippet": { "text": f.excerpt } });
                }
                result["locations"] = json!([loc]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "aite", "version": tool_version, "informationUri": "https://example.invalid/aite", "rules": rules } },
            "results": results,
            "properties": properties,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_and_passes_are_both_results() {
        let f = vec![
            Finding::fail("AITE-CRED-DEFAULT", "etc/shadow", "root uses xc3511").with_excerpt(Some(1), "root:$1$…"),
            Finding::pass("AITE-ELF-NX", "every ELF file has a non-executable stack"),
        ];
        let log = sarif(&f, "0.1.0", json!({}));
        assert_eq!(log["version"], "2.1.0");
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results[0]["kind"], "fail");
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(results[1]["kind"], "pass");
        assert_eq!(results[1]["level"], "none");
        let idx = results[0]["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"][idx]["id"], "AITE-CRED-DEFAULT");
    }
}
