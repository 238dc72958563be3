//! A detector's consistency checks that examined nothing or do not apply are never judged PASS.

use aite_assessment::{assess, check, Verdict};
use serde_json::json;

const HEAD: &str = "schema = \"aite.profile/v1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"test\"\n";

fn req(id: &str, metric: &str) -> String {
    format!(
        "[[requirement]]\nid = \"{id}\"\ntitle = \"{id}\"\nitem = \"robustness\"\nmetric = \"{metric}\"\ncomparator = \"eq\"\nthreshold = true\nunit = \"bool\"\nclauses = [\"EU AI Act Art. 15(1)\"]\nremediation = \"fix it\"\nprovenance = {{ source = \"test\", status = \"provisional\" }}\n"
    )
}

fn verdicts(results: &serde_json::Value) -> (Verdict, Verdict) {
    let body = [req("ROB-REPEATABILITY", "suites.detection_repeatability.identical"), req("ROB-BATCH-INVARIANCE", "suites.detection_batch_invariance.within_tolerance")].concat();
    let p = check("test.toml", &format!("{HEAD}{body}"), None).unwrap_or_else(|e| panic!("{e}"));
    let a = assess(&p, results);
    let get = |id: &str| a.requirements.iter().find(|r| r.id == id).unwrap().verdict.clone();
    (get("ROB-REPEATABILITY"), get("ROB-BATCH-INVARIANCE"))
}

/// Review X5: BlazeFace detecting nothing on crowd photos was PASS on `identical: true`;
/// a fixed-batch model had no batch entry at all.
#[test]
fn repeatability_with_no_detection_is_not_tested_and_a_fixed_batch_not_applicable() {
    let results = json!({ "suites": {
        "detection_repeatability": { "samples": 3, "repeats": 3, "detections": 0, "max_score_diff": 0.0, "max_box_diff": 0.0,
            "count_mismatches": 0, "non_finite_answers": 0, "examined_frames": 0, "status": "not-checked",
            "why": "no detection on any of the 3 frame(s) in 3 run(s) each: nothing to compare", "identical": true },
        "detection_batch_invariance": { "status": "not-applicable", "why": "the model's batch dimension is fixed at 1" },
    } });
    let (rep, batch) = verdicts(&results);
    assert!(matches!(&rep, Verdict::NotTested { why } if why.contains("no detection on any of the 3 frame(s)")), "{rep:?}");
    assert!(matches!(&batch, Verdict::NotApplicable { why } if why.contains("fixed at 1")), "{batch:?}");
    // Examined, the same figures are judged on `identical`.
    let mut examined = results.clone();
    examined["suites"]["detection_repeatability"]["status"] = json!("examined");
    examined["suites"]["detection_repeatability"]["examined_frames"] = json!(2);
    assert_eq!(verdicts(&examined).0, Verdict::Pass);
}
