//! The reference rootfs (`aite_security::reference`) fails exactly on what it
//! plants: equality of the failing (rule, path) set, so a new false positive
//! fails as surely as a missed weakness.

use aite_security::{reference, scan, Limits};
use std::collections::BTreeSet;

#[test]
fn the_reference_rootfs_fails_exactly_on_its_planted_weaknesses() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("reference.tar.gz");
    std::fs::write(&input, reference::build(None).unwrap()).unwrap();
    let report = scan(&input, &dir.path().join("work"), Limits::default()).unwrap();
    let failed: BTreeSet<(&str, &str)> = report.findings.iter().filter(|f| f.failed()).map(|f| (f.rule.as_str(), f.path.as_str())).collect();
    let planted: BTreeSet<(&str, &str)> = reference::PLANTED.iter().copied().collect();
    assert_eq!(failed, planted, "missing: {:?}; unexpected: {:?}", planted.difference(&failed).collect::<Vec<_>>(), failed.difference(&planted).collect::<Vec<_>>());
    // Every rule the reference module promises is among them.
    let rules: BTreeSet<&str> = failed.iter().map(|(r, _)| *r).collect();
    assert_eq!(rules, reference::EXPECTED_FAILURES.iter().copied().collect::<BTreeSet<_>>());
}
