//! Counts of what a suite could not examine are read when judging: failed latency queries
//! (the figures cover the answered ones only) and a detector attack's target errors (its rates
//! leave those frames out) never give a PASS; a failure shown on the answered queries alone
//! (an upper bound already exceeded) stays a FAIL.

use aite_assessment::{assess, shipped, Verdict};
use serde_json::{json, Value};

fn verdict(results: &Value, id: &str) -> Verdict {
    let p = shipped("reference-terminal").unwrap();
    assess(&p, results).requirements.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} missing")).verdict
}

/// A periodic run at the declared 15 fps: p99 after idle `after_idle_p99` ms (LAT-AFTER-IDLE: <= 5 ms),
/// `misses` deadline misses (LAT-DEADLINE-MISSES: <= 0), `errors` failed queries of 200 issued.
fn periodic(after_idle_p99: f64, misses: u64, errors: u64) -> Value {
    let failed: Vec<Value> = (0..errors).map(|i| json!({ "index": 10 + i, "sample": 0, "scheduled_ns": 0, "completed_ns": 0, "kind": "http_5xx" })).collect();
    json!({ "status": "complete", "declared": { "fps": 15.0 }, "suites": { "latency_periodic": {
        "scenario": { "fps": 15.0 }, "queries": 200 - errors, "errors": errors, "error_rate": errors as f64 / 200.0, "failed_queries": failed,
        "after_idle": { "count": 20, "p99_ms": after_idle_p99 }, "deadline_misses": misses, "drift": { "last_to_first_ratio": 1.0 },
        "validity": { "valid": true, "reasons": [] }, "interrupted": false } } })
}

#[test]
fn failed_latency_queries_withhold_a_pass_and_keep_a_failure() {
    // Every query answered: judged.
    assert_eq!(verdict(&periodic(2.0, 0, 0), "LAT-AFTER-IDLE"), Verdict::Pass);
    assert_eq!(verdict(&periodic(2.0, 0, 0), "LAT-DEADLINE-MISSES"), Verdict::Pass);
    assert_eq!(verdict(&periodic(2.0, 0, 0), "LAT-DRIFT"), Verdict::Pass);
    // One of 200 failed (within the run's 1% bound, so the run is VALID): a pass is not shown.
    let one = periodic(2.0, 0, 1);
    for id in ["LAT-AFTER-IDLE", "LAT-DEADLINE-MISSES", "LAT-DRIFT"] {
        let Verdict::NotTested { why } = verdict(&one, id) else { panic!("{id} judged on the answered queries: {:?}", verdict(&one, id)) };
        assert_eq!(why, "1 of the 200 queries of suite `latency_periodic` failed (first: query 10 http_5xx): its figures cover the 199 answered ones only", "{id}");
    }
    assert_eq!(verdict(&one, "LAT-PERIODIC-VALID"), Verdict::Pass, "validity applies the run's own error bound");
    // An upper bound exceeded on the answered queries alone is exceeded with the failed ones too.
    assert_eq!(verdict(&periodic(9.0, 3, 1), "LAT-AFTER-IDLE"), Verdict::Fail);
    assert_eq!(verdict(&periodic(9.0, 3, 1), "LAT-DEADLINE-MISSES"), Verdict::Fail);
}

#[test]
fn a_detector_attack_with_target_errors_is_not_judged() {
    let attack = |errors: u64| {
        json!({ "status": "complete", "suites": { "detector_attack_square_linf": {
            "applicability": { "status": "applicable" }, "frames": 12, "attacked": 10 - errors, "no_clean_detection": 2, "target_errors": errors, "missing_frames": 0, "interrupted": false,
            "success_rate": { "successes": 0, "trials": 10 - errors, "value": 0.0 } } } })
    };
    assert_eq!(verdict(&attack(0), "ROB-DET-VANISH"), Verdict::Pass, "0 of 10 vanished: Wilson upper bound 0.28 < 0.5");
    let Verdict::NotTested { why } = verdict(&attack(3), "ROB-DET-VANISH") else { panic!("judged without the 3 frames the target failed on") };
    assert_eq!(why, "suite `detector_attack_square_linf` is incomplete: the target failed to answer on 3 of 12 frames (clean query, attack or noise baseline), which its rates leave out");
}
