//! SARIF 2.1.0 output: one run, aite's rule catalogue as the driver's rules,
//! every failing finding as a result (`kind: fail`), and every other rule's
//! conclusion as one result: `pass` (examined, nothing found), `notApplicable`
//! (nothing to examine) or `open` (not checked), so the log records what was
//! and was not examined.

use crate::finding::{Finding, Severity, RULES};
#[cfg(test)]
use crate::finding::RuleStatus;
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
                "kind": f.status.sarif_kind(),
                "level": if f.failed() { level(f.severity) } else { "none" },
                "message": { "text": f.message },
                "properties": { "severity": f.severity, "clauses": f.clauses },
            });
            if let Some(i) = index {
                result["ruleIndex"] = json!(i);
            }
            if !f.path.is_empty() {
                let mut loc = json!({ "physicalLocation": { "artifactLocation": { "uri": f.path } } });
                // SARIF 3.30: startLine counts lines from 1; a byte offset is byteOffset.
                match (f.line, f.offset) {
                    (Some(line), _) => loc["physicalLocation"]["region"] = json!({ "startLine": line.max(1), "snippet": { "text": f.excerpt } }),
                    (None, Some(offset)) => loc["physicalLocation"]["region"] = json!({ "byteOffset": offset, "snippet": { "text": f.excerpt } }),
                    (None, None) => {}
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
    fn every_conclusion_is_a_result() {
        let f = vec![
            Finding::fail("AITE-CRED-DEFAULT", "etc/shadow", "root uses xc3511").at_line(1, "root:$1$…"),
            Finding::outcome("AITE-ELF-NX", RuleStatus::Pass, "12 ELF files examined"),
            Finding::outcome("AITE-VULN-KNOWN", RuleStatus::NotChecked, "no OSV feed given"),
            Finding::outcome("AITE-CRED-UID0", RuleStatus::NotApplicable, "no /etc/passwd in the image"),
            Finding::fail("AITE-KEY-PRIVATE", "usr/bin/camd", "key inside a binary").at_offset(0, "PEM RSA"),
        ];
        let log = sarif(&f, "0.1.0", json!({}));
        assert_eq!(log["version"], "2.1.0");
        let results = log["runs"][0]["results"].as_array().unwrap();
        let kinds: Vec<&str> = results.iter().map(|r| r["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["fail", "pass", "open", "notApplicable", "fail"]);
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(results[1]["level"], "none");
        // A byte offset (here 0, the start of the file) is never a line number.
        let region = &results[4]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["byteOffset"], 0);
        assert!(region.get("startLine").is_none(), "{region}");
        let idx = results[0]["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"][idx]["id"], "AITE-CRED-DEFAULT");
    }
}
