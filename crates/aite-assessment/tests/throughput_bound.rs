//! A lower bound on throughput with failed queries: a failed query serves nothing, and
//! `throughput_sps` counts the answered samples over the run's window (start to the last
//! completion, failed ones included; crates/aite-latency), so it is at least what was served.
//! A lower bound it fails stays FAIL; a pass, or any other verdict on it, is NOT_TESTED.

use aite_assessment::{assess, check, Verdict};
use serde_json::{json, Value};

/// A lab profile of one throughput requirement: `comparator` `threshold` samples/s.
fn verdict(results: &Value, comparator: &str, threshold: f64) -> Verdict {
    let text = format!(
        "schema = \"aite.profile/v1\"\nid = \"lab-t\"\nversion = \"1\"\ntitle = \"Lab T\"\n\n[[requirement]]\nid = \"LAB-THROUGHPUT\"\ntitle = \"throughput\"\nitem = \"latency\"\nmetric = \"suites.latency.throughput_sps\"\ncomparator = \"{comparator}\"\nthreshold = {threshold:?}\nclauses = [\"EU AI Act Art. 15(1)\"]\nremediation = \"r\"\nprovenance = {{ source = \"test\", status = \"lab\" }}\n"
    );
    assess(&check("lab-t.toml", &text, None).unwrap(), results).requirements.remove(0).verdict
}

/// 100 queries of one sample issued over a 1 s window, `errors` of them failed: the answered
/// (100 − errors) over 1 s, i.e. 100 − errors samples/s (hand-computed).
fn run(errors: u64) -> Value {
    let answered = 100 - errors;
    let failed: Vec<Value> = (0..errors).map(|i| json!({ "index": i, "sample": 0, "scheduled_ns": 0, "completed_ns": 0, "kind": "refused" })).collect();
    json!({ "status": "complete", "suites": { "latency": {
        "queries": answered, "errors": errors, "failed_queries": failed, "duration_ms": 1000.0, "throughput_sps": answered as f64,
        "validity": { "valid": true, "reasons": [] }, "interrupted": false } } })
}

#[test]
fn a_throughput_lower_bound_failed_with_failed_queries_stays_failed() {
    // Every query answered: 100 samples/s against >= 95 passes, against >= 120 fails.
    assert_eq!(verdict(&run(0), "ge", 95.0), Verdict::Pass);
    assert_eq!(verdict(&run(0), "ge", 120.0), Verdict::Fail);
    // 10 failed: 90 samples/s served at most; >= 95 is not met whatever the failed ones were.
    assert_eq!(verdict(&run(10), "ge", 95.0), Verdict::Fail);
    assert_eq!(verdict(&run(10), "gt", 90.0), Verdict::Fail);
    // 90 >= 80 on the answered queries: a pass is not shown with failed queries.
    let Verdict::NotTested { why } = verdict(&run(10), "ge", 80.0) else { panic!("a pass shown with failed queries") };
    assert_eq!(why, "10 of the 100 queries of suite `latency` failed (first: query 0 refused): its figures cover the 90 answered ones only");
    // An upper bound on throughput is not the case argued here: its failure is not kept.
    assert!(matches!(verdict(&run(10), "le", 50.0), Verdict::NotTested { .. }));
}

/// Review finding: the catalogue called `suites.latency.throughput_sps` "LoadGen's offline
/// figure of merit", yet it is judged in every scenario; it says what it is in each.
#[test]
fn the_throughput_metric_says_what_it_is_in_each_scenario() {
    let doc = aite_assessment::catalogue::lookup("suites.latency.throughput_sps").expect("in the catalogue").doc;
    for scenario in ["Offline", "single-stream", "multi-stream", "server", "periodic"] {
        assert!(doc.contains(scenario), "{scenario} missing: {doc}");
    }
    assert!(!doc.contains("; LoadGen's offline figure of merit)"), "{doc}");
}
