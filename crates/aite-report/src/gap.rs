//! The gap analysis at a terminal: what `aite run` and `aite demo` print first.
//! Per mandatory item the count of each verdict, the overall verdict with its
//! exit code, then every failing, inconclusive and erroring requirement with
//! value, threshold and remediation, and why each untested one was not tested.

use aite_assessment::{Assessment, Item, RequirementResult, Verdict};
use std::fmt::Write;

fn item_name(i: Option<Item>) -> &'static str {
    match i {
        Some(Item::Latency) => "latency",
        Some(Item::Robustness) => "robustness",
        Some(Item::Security) => "security",
        None => "?",
    }
}

fn number(v: f64, unit: &str) -> String {
    let n = if v.is_nan() {
        "NaN".to_string()
    } else if v != 0.0 && v.abs() < 0.01 {
        format!("{v:.2e}")
    } else if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    };
    match unit {
        "ms" => format!("{n} ms"),
        "fraction" | "ratio" | "count" | "bool" | "status" | "verdict" | "" => n,
        u => format!("{n} {u}"),
    }
}

/// Value and threshold of one requirement, e.g. `0.8333 (0.79..0.87) >= 0.9`.
fn measured(r: &RequirementResult) -> String {
    let mut s = String::new();
    if let Some(v) = r.value {
        s.push_str(&number(v, &r.unit));
    }
    if let Some(iv) = &r.interval {
        let b = |x: Option<f64>| x.map_or("-".to_string(), |x| number(x, ""));
        let _ = write!(s, " (95% {}..{})", b(iv.low), b(iv.high));
    }
    if let (Some(c), Some(t)) = (r.comparator, r.threshold) {
        let _ = write!(s, ", required {} {}", c.symbol(), number(t, &r.unit));
    }
    s
}

/// The gap analysis as text.
pub fn render(a: &Assessment) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "GAP ANALYSIS against profile {} {} ({})", a.profile, a.profile_version, a.profile_source);
    if a.provisional_thresholds {
        let _ = writeln!(out, "  thresholds are PROVISIONAL: aite's defaults while the guideline publishes none; a lab profile overrides them");
    }
    if !a.out_of_scope.is_empty() {
        let _ = writeln!(out, "  {} requirement(s) out of scope: their suites were not part of this run (`aite run` measures them all)", a.out_of_scope.len());
    }
    for o in &a.overrides {
        let _ = writeln!(out, "  override {} {}: {} -> {} ({}:{})", o.requirement, o.field, o.old, o.new, o.file, o.line);
    }
    let _ = writeln!(out, "  {:<11} {:>5} {:>5} {:>13} {:>11} {:>15} {:>6}", "item", "PASS", "FAIL", "INCONCLUSIVE", "NOT_TESTED", "NOT_APPLICABLE", "ERROR");
    for s in &a.gap_analysis {
        let _ = writeln!(out, "  {:<11} {:>5} {:>5} {:>13} {:>11} {:>15} {:>6}", item_name(s.item), s.pass, s.fail, s.inconclusive, s.not_tested, s.not_applicable, s.error);
    }
    let overall = serde_json::to_value(a.overall).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let scope = if a.out_of_scope.is_empty() { String::new() } else { format!(" on the {} requirement(s) in scope only, not the profile's", a.requirements.len()) };
    let _ = writeln!(out, "  overall: {overall}{scope} (exit code {})", a.overall.exit_code());
    let section = |out: &mut String, title: &str, pick: &dyn Fn(&Verdict) -> bool, detail: bool| {
        let picked: Vec<&RequirementResult> = a.requirements.iter().filter(|r| pick(&r.verdict)).collect();
        if picked.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{title} ({})", picked.len());
        for r in picked {
            let _ = writeln!(out, "  {:<13} {:<32} {}", r.verdict.label(), r.id, r.title);
            let m = measured(r);
            if !m.is_empty() {
                let _ = writeln!(out, "  {:13} {:32} {m}", "", "");
            }
            match &r.verdict {
                Verdict::NotTested { why } | Verdict::NotApplicable { why } => {
                    let _ = writeln!(out, "  {:13} {:32} why: {why}", "", "");
                }
                Verdict::Error { cause } => {
                    let _ = writeln!(out, "  {:13} {:32} cause: {cause}", "", "");
                }
                _ => {
                    if !r.note.is_empty() {
                        let _ = writeln!(out, "  {:13} {:32} {}", "", "", r.note);
                    }
                }
            }
            if detail && !r.remediation.is_empty() {
                let _ = writeln!(out, "  {:13} {:32} to do: {}", "", "", r.remediation);
            }
        }
    };
    section(&mut out, "FAILING", &|v| matches!(v, Verdict::Fail), true);
    section(&mut out, "INCONCLUSIVE", &|v| matches!(v, Verdict::Inconclusive), true);
    section(&mut out, "ERROR", &|v| matches!(v, Verdict::Error { .. }), true);
    section(&mut out, "NOT TESTED", &|v| matches!(v, Verdict::NotTested { .. }), false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_requirements_come_with_value_threshold_and_remediation() {
        let profile = aite_assessment::check(
            "t.toml",
            r#"schema = "aite.profile/v1"
id = "t"
version = "1"
title = "t"
[[requirement]]
id = "ACC"
title = "accuracy"
item = "robustness"
metric = "suites.accuracy.top1"
comparator = "ge"
threshold = 0.9
unit = "fraction"
decision = "simple"
clauses = ["EU AI Act Art. 15(3)"]
remediation = "retrain"
provenance = { source = "test", status = "provisional" }
"#,
            None,
        )
        .unwrap();
        let results = serde_json::json!({ "suites": { "accuracy": { "top1": { "successes": 80, "trials": 100, "value": 0.8, "ci95_low": 0.71, "ci95_high": 0.87 } } } });
        let text = render(&aite_assessment::assess(&profile, &results));
        assert!(text.starts_with("GAP ANALYSIS"), "{text}");
        assert!(text.contains("robustness      0     1"), "{text}");
        assert!(text.contains("overall: FAIL (exit code 1)"), "{text}");
        assert!(text.contains("0.8000, required >= 0.9000") || text.contains("0.8, required >= 0.9"), "{text}");
        assert!(text.contains("to do: retrain"), "{text}");
        assert!(text.contains("PROVISIONAL"), "{text}");

        // Judged on the accuracy suite alone (`--profile` on one command): the overall says so.
        let mut two = profile.clone();
        let mut lat = two.requirements[0].clone();
        lat.id = "LAT".into();
        lat.metric = "suites.latency.validity.valid".into();
        lat.comparator = Some(aite_assessment::Comparator::Eq);
        lat.threshold = Some(aite_assessment::Threshold::Flag(true));
        two.requirements.push(lat);
        let text = render(&aite_assessment::assess_scoped(&two, &results));
        assert!(text.contains("1 requirement(s) out of scope"), "{text}");
        assert!(text.contains("overall: FAIL on the 1 requirement(s) in scope only, not the profile's (exit code 1)"), "{text}");
    }
}
