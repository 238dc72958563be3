//! Issue 9: the terminal groups the rules an incomplete scan held back by their typed
//! cause (`RuleOutcome::not_checked`), not by the words their reason starts with.

use aite_evidence::Results;
use aite_report::{Renderer, TerminalRenderer};
use aite_security::{NotCheckedCause, RuleStatus};

#[test]
fn rules_held_back_by_an_incomplete_scan_are_grouped_by_their_typed_cause() {
    // 4 KiB with no known signature: an incomplete scan.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("blob.bin");
    std::fs::write(&input, (0..4096u32).map(|i| (i * 7 % 251) as u8 + 1).collect::<Vec<u8>>()).unwrap();
    let mut report = aite_security::scan(&input, &dir.path().join("work"), aite_security::Limits::default()).unwrap();
    assert!(!report.complete());
    // Reasons are prose: reword them; the grouping must not change.
    for o in report.rules.iter_mut().filter(|o| o.not_checked == Some(NotCheckedCause::IncompleteScan)) {
        o.reason = format!("Analyse unvollständig: {}", o.rule);
    }
    // A rule whose reason happens to start like the incomplete-scan one, with another cause.
    let odd = report.rules.iter_mut().find(|o| o.rule == "AITE-ELF-NX").unwrap();
    odd.not_checked = Some(NotCheckedCause::SubjectsNotExamined);
    odd.reason = "the scan is incomplete for bin/app: its headers do not parse".into();
    assert_eq!(odd.status, RuleStatus::NotChecked);

    let mut results = Results::new("security", serde_json::json!({"name": "blob.bin"}));
    results.add_suite("security", &report);
    let text = TerminalRenderer.render(&results);
    let held: Vec<&str> = report.rules.iter().filter(|o| o.not_checked == Some(NotCheckedCause::IncompleteScan)).map(|o| o.rule.as_str()).collect();
    assert!(held.len() > 30, "{held:?}");
    let line = format!("not checked, the scan is incomplete: {}", held.join(", "));
    assert!(text.lines().any(|l| l == line), "{text}");
    assert!(text.contains("not checked: AITE-ELF-NX (the scan is incomplete for bin/app: its headers do not parse)"), "{text}");
    assert!(!text.contains("Analyse unvollständig"), "held-back rules are not listed one by one: {text}");
}
