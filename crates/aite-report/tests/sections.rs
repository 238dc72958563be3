//! Issue 9: every section of the evidence is either shown or said to be unreadable, and
//! NaN survives the trip through `results.json`.

use aite_evidence::{Results, RunFolder};
use aite_report::{Renderer, TerminalRenderer};
use aite_robustness::{Agreement, BatchInvariance, Repeatability};

fn target() -> serde_json::Value {
    serde_json::json!({"name": "m", "engine": "tract", "engine_version": "0", "threads": 1})
}

#[test]
fn a_malformed_section_is_reported_not_dropped() {
    let mut results = Results::new("robustness", target());
    results.suites.insert("repeatability".into(), serde_json::json!({"samples": "twelve"}));
    results.suites.insert("corruptions".into(), serde_json::json!([1, 2]));
    let text = TerminalRenderer.render(&results);
    assert!(text.contains("section repeatability could not be read: "), "{text}");
    assert!(text.contains("section corruptions could not be read: "), "{text}");
}

/// A check recorded not run (an agreement against a reference that is the deployed model) is
/// shown with its reason, not as an unreadable section.
#[test]
fn a_check_not_run_is_shown_with_why() {
    let mut results = Results::new("robustness", target());
    results.suite_not_run("agreement", "the reference is the deployed model");
    let text = TerminalRenderer.render(&results);
    assert!(text.contains("agreement: not run: the reference is the deployed model") && !text.contains("could not be read"), "{text}");
}

#[test]
fn nan_results_round_trip_through_results_json_and_are_shown() {
    let mut results = Results::new("robustness", target());
    let rep = Repeatability { samples: 4, repeats: 2, max_abs_diff: f32::NAN, top1_flips: 0, non_finite_answers: 8, identical: false };
    results.add_suite("repeatability", &rep);
    let batch = BatchInvariance { batch: 2, samples: 4, max_abs_diff: f32::NAN, top1_flips: 0, within_tolerance: false, tolerance: 1e-4 };
    results.add_suite("batch_invariance", &batch);
    let agreement: Agreement = serde_json::from_value(serde_json::json!({
        "reference": "fp32", "deployed": "int8",
        "top1_agreement": {"successes": 0, "trials": 4, "value": 0.0, "ci95_low": 0.0, "ci95_high": 0.6},
        "max_abs_diff": "NaN", "mean_abs_diff": "Infinity", "sqnr_db": "NaN", "disagreements": []
    }))
    .unwrap();
    results.add_suite("agreement", &agreement);

    let dir = tempfile::tempdir().unwrap();
    let run = RunFolder::create(dir.path(), "t").unwrap();
    let path = run.write_json("results.json", &results).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""max_abs_diff": "NaN""#), "NaN is written by name: {text}");
    assert!(!text.contains("null"), "no null stands for a number: {text}");

    let back: Results = serde_json::from_str(&text).unwrap();
    let rep: Repeatability = serde_json::from_value(back.suites["repeatability"].clone()).unwrap();
    assert!(rep.max_abs_diff.is_nan());
    let shown = TerminalRenderer.render(&back);
    assert!(shown.contains("repeatability: 4 samples x 2 runs, NOT identical, max |diff| NaN"), "{shown}");
    assert!(shown.contains("NOT invariant"), "{shown}");
    assert!(shown.contains("SQNR undefined (NaN in an answer)"), "{shown}");
    assert!(!shown.contains("could not be read"), "{shown}");
}
