//! Accuracy on part of the dataset is never a pass: a classifier run that could not decode
//! some samples (`skipped`, `missing_samples`) leaves ROB-DECLARED-ACCURACY NOT_TESTED, the
//! reason naming how many of how many samples were examined and the first files left out, as a
//! detector run with undecodable frames leaves ROB-DET-AP.

use aite_assessment::{assess, shipped, Verdict};
use serde_json::{json, Value};

fn verdict(results: &Value, id: &str) -> Verdict {
    let p = shipped("ai-camera").unwrap();
    assess(&p, results).requirements.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} not in ai-camera")).verdict
}

/// 9 of 10 samples evaluated, all 9 right: Wilson 95% lower bound 0.70 > the declared 0.5.
fn classifier(skipped: &[&str], counted: bool) -> Value {
    let skipped: Vec<Value> = skipped.iter().map(|id| json!({ "id": id, "reason": format!("cannot decode image {id}: JPEG: file truncated: no EOI marker") })).collect();
    let n = 10 - skipped.len() as u64;
    let mut suite = json!({ "dataset_samples": 10, "evaluated": n, "k": 5, "interrupted": false, "predictions": [], "skipped": skipped,
        "top1": { "successes": n, "trials": n, "value": 1.0 }, "top_k": { "successes": n, "trials": n, "value": 1.0 } });
    if counted {
        suite["missing_samples"] = json!(skipped.len());
    }
    json!({ "status": "complete", "declared": { "top1_accuracy": 0.5 }, "suites": { "accuracy": suite } })
}

#[test]
fn accuracy_with_an_undecodable_sample_is_not_tested_naming_it() {
    assert_eq!(verdict(&classifier(&[], true), "ROB-DECLARED-ACCURACY"), Verdict::Pass, "the complete run is judged");
    let Verdict::NotTested { why } = verdict(&classifier(&["3/cut.jpg"], true), "ROB-DECLARED-ACCURACY") else { panic!("judged on 9 of 10 samples") };
    assert_eq!(why, "suite `accuracy` is incomplete: missing_samples = 1 (9 of 10 samples examined; not examined: 3/cut.jpg)");
    // An older package lists the skipped samples without counting them: still not a pass.
    let Verdict::NotTested { why } = verdict(&classifier(&["3/cut.jpg"], false), "ROB-DECLARED-ACCURACY") else { panic!("old package judged") };
    assert_eq!(why, "suite `accuracy` is incomplete: 1 sample(s) not evaluated (9 of 10 samples examined; not examined: 3/cut.jpg)");
    // The first three are named, the rest counted.
    let Verdict::NotTested { why } = verdict(&classifier(&["a.jpg", "b.jpg", "c.jpg", "d.jpg"], true), "ROB-DECLARED-ACCURACY") else { panic!() };
    assert!(why.ends_with("(6 of 10 samples examined; not examined: a.jpg, b.jpg, c.jpg and 1 more)"), "{why}");
}

#[test]
fn detector_accuracy_names_its_undecodable_frames() {
    let suite = json!({ "images": 5, "missing_samples": 1, "undecodable": ["cannot decode image broken.jpg: JPEG: file truncated: no EOI marker"],
        "interrupted": false, "ap": 0.9, "ap50": 0.95 });
    let results = json!({ "status": "complete", "declared": { "detection_ap": 0.1 }, "suites": { "detection_accuracy": suite } });
    let Verdict::NotTested { why } = verdict(&results, "ROB-DET-AP") else { panic!("AP judged on 5 of 6 frames") };
    assert_eq!(why, "suite `detection_accuracy` is incomplete: missing_samples = 1 (5 of 6 samples examined; not examined: broken.jpg)");
}
