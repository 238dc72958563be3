//! OCR requirements (issue 16): ROB-OCR-CHAR-ACCURACY (character accuracy against labels vs the
//! declared one, simple) and ROB-OCR-CORRUPTION-RELATIVE (mean corrupted / clean character
//! accuracy with its bootstrap interval, guarded) on fixture results of `aite ocr` with
//! hand-computed verdicts; nothing scored, pseudo ground truth or another task never passes.

use aite_assessment::{assess, shipped, DecisionRule, Verdict};
use serde_json::{json, Value};

fn verdict(results: &Value, id: &str) -> Verdict {
    let p = shipped("industrial-vision").unwrap();
    assess(&p, results).requirements.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} not in industrial-vision")).verdict
}

fn accuracy(char_accuracy: f64) -> Value {
    json!({ "images": 4, "label_lines": 20, "predicted_lines": 19, "matched": 18, "missed": 2, "spurious": 1, "ignored": 0,
            "scores": { "line_accuracy": { "successes": 15, "trials": 20, "value": 0.75, "ci95_low": 0.531, "ci95_high": 0.888 },
                        "char_accuracy": { "value": char_accuracy, "ci95_low": char_accuracy - 0.05, "ci95_high": char_accuracy + 0.03 },
                        "word_accuracy": { "value": 0.7, "ci95_low": 0.6, "ci95_high": 0.8 }, "one_minus_ned": { "value": 0.9, "ci95_low": 0.85, "ci95_high": 0.95 } } })
}

fn sweep(relative: Value, status: &str) -> Value {
    json!({ "ground_truth": { "kind": "labels", "source": "Label.txt" }, "accuracy_name": "character accuracy", "samples": 4, "label_lines": 20, "interrupted": false,
            "clean": { "char_accuracy": 0.9, "word_accuracy": 0.7, "one_minus_ned": 0.9 }, "cells": [],
            "mean_char_accuracy": { "value": 0.63, "ci95_low": 0.55, "ci95_high": 0.70 }, "relative_char_accuracy": relative, "relative_status": { "status": status } })
}

#[test]
fn every_shipped_profile_has_the_ocr_requirements() {
    for name in aite_assessment::profile::shipped_names() {
        let p = shipped(name).unwrap();
        let get = |id: &str| p.requirements.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{name} lacks {id}"));
        assert_eq!((get("ROB-OCR-CHAR-ACCURACY").metric.as_str(), get("ROB-OCR-CHAR-ACCURACY").decision), ("suites.ocr_accuracy.scores.char_accuracy", DecisionRule::Simple));
        assert_eq!((get("ROB-OCR-CORRUPTION-RELATIVE").metric.as_str(), get("ROB-OCR-CORRUPTION-RELATIVE").decision), ("suites.ocr_corruptions.relative_char_accuracy", DecisionRule::Guarded));
    }
}

#[test]
fn character_accuracy_is_compared_with_the_declared_one() {
    let mut results = json!({ "suites": { "ocr_accuracy": accuracy(0.912) } });
    assert!(matches!(verdict(&results, "ROB-OCR-CHAR-ACCURACY"), Verdict::NotTested { ref why } if why.contains("declared.ocr_char_accuracy")));
    results["declared"] = json!({ "ocr_char_accuracy": 0.90 });
    assert_eq!(verdict(&results, "ROB-OCR-CHAR-ACCURACY"), Verdict::Pass, "0.912 >= 0.90 (simple: the point value)");
    results["declared"] = json!({ "ocr_char_accuracy": 0.95 });
    assert_eq!(verdict(&results, "ROB-OCR-CHAR-ACCURACY"), Verdict::Fail, "0.912 < 0.95");
    // A percentage declared where a fraction is meant is an error, not a pass.
    results["declared"] = json!({ "ocr_char_accuracy": 90 });
    assert!(matches!(verdict(&results, "ROB-OCR-CHAR-ACCURACY"), Verdict::Error { .. }));
    // Nothing scored (no labelled line, nothing read): `scores: null` -> NOT_TESTED with the reason.
    results["declared"] = json!({ "ocr_char_accuracy": 0.5 });
    results["suites"]["ocr_accuracy"]["scores"] = Value::Null;
    results["suites"]["ocr_accuracy"]["label_lines"] = json!(0);
    assert!(matches!(verdict(&results, "ROB-OCR-CHAR-ACCURACY"), Verdict::NotTested { ref why } if why.contains("nothing was scored")));
}

#[test]
fn relative_character_accuracy_is_judged_on_its_bootstrap_interval() {
    // Threshold 0.5 (ge, guarded). 0.70 (0.61..0.78): wholly above -> PASS.
    let pass = json!({ "suites": { "ocr_corruptions": sweep(json!({ "value": 0.70, "ci95_low": 0.61, "ci95_high": 0.78 }), "reported") } });
    assert_eq!(verdict(&pass, "ROB-OCR-CORRUPTION-RELATIVE"), Verdict::Pass);
    // 0.56 (0.44..0.66) straddles 0.5 -> INCONCLUSIVE although the point value passes.
    let straddle = json!({ "suites": { "ocr_corruptions": sweep(json!({ "value": 0.56, "ci95_low": 0.44, "ci95_high": 0.66 }), "reported") } });
    assert_eq!(verdict(&straddle, "ROB-OCR-CORRUPTION-RELATIVE"), Verdict::Inconclusive);
    // 0.35 (0.28..0.43): wholly below -> FAIL.
    let fail = json!({ "suites": { "ocr_corruptions": sweep(json!({ "value": 0.35, "ci95_low": 0.28, "ci95_high": 0.43 }), "reported") } });
    assert_eq!(verdict(&fail, "ROB-OCR-CORRUPTION-RELATIVE"), Verdict::Fail);
    // Against the pipeline's own clean reading the ratio is withheld: NOT_TESTED naming why.
    let pseudo = json!({ "suites": { "ocr_corruptions": sweep(Value::Null, "clean-ap-is-one-by-construction") } });
    assert!(matches!(verdict(&pseudo, "ROB-OCR-CORRUPTION-RELATIVE"), Verdict::NotTested { ref why } if why.contains("1 by construction") && why.contains("--labels")));
    let zero = json!({ "suites": { "ocr_corruptions": sweep(Value::Null, "clean-ap-is-zero") } });
    assert!(matches!(verdict(&zero, "ROB-OCR-CORRUPTION-RELATIVE"), Verdict::NotTested { ref why } if why.contains("clean character accuracy is 0")));
    // An interrupted sweep never passes.
    let mut stopped = pass.clone();
    stopped["suites"]["ocr_corruptions"]["interrupted"] = json!(true);
    assert!(matches!(verdict(&stopped, "ROB-OCR-CORRUPTION-RELATIVE"), Verdict::NotTested { ref why } if why.contains("interrupted")));
}

#[test]
fn a_run_without_ocr_never_passes_the_ocr_requirements() {
    // Without the suites: NOT_TESTED with the reason.
    let none = json!({ "declared": { "ocr_char_accuracy": 0.9 }, "suites": {} });
    for id in ["ROB-OCR-CHAR-ACCURACY", "ROB-OCR-CORRUPTION-RELATIVE"] {
        assert!(matches!(verdict(&none, id), Verdict::NotTested { ref why } if why.contains("not in results.json")), "{id}");
    }
    // `aite run` on a terminal whose task is not OCR records them not applicable.
    let na = json!({ "status": "not-applicable", "why": "the terminal's task is not OCR: it reads no text" });
    let run = json!({ "declared": { "ocr_char_accuracy": 0.9 }, "suites": { "ocr_accuracy": na, "ocr_corruptions": na } });
    for id in ["ROB-OCR-CHAR-ACCURACY", "ROB-OCR-CORRUPTION-RELATIVE"] {
        assert!(matches!(verdict(&run, id), Verdict::NotApplicable { ref why } if why.contains("not OCR")), "{id}");
    }
}

/// An interrupted `aite ocr --labels` read 4 of 5 images: `ocr_accuracy` counts and names the
/// one not read, and its figure (a pass on the 4) is NOT_TESTED saying how many of how many.
#[test]
fn character_accuracy_over_part_of_the_images_is_not_tested() {
    let mut results = json!({ "declared": { "ocr_char_accuracy": 0.90 }, "suites": { "ocr_accuracy": accuracy(0.912) } });
    assert_eq!(verdict(&results, "ROB-OCR-CHAR-ACCURACY"), Verdict::Pass, "complete: 0.912 >= 0.90");
    let acc = &mut results["suites"]["ocr_accuracy"];
    acc["dataset_images"] = json!(5);
    acc["missing_samples"] = json!(1);
    acc["skipped"] = json!([{ "id": "e.png", "reason": "not read: the run was interrupted (Ctrl-C) before it" }]);
    let got = verdict(&results, "ROB-OCR-CHAR-ACCURACY");
    assert!(matches!(got, Verdict::NotTested { ref why } if why.contains("missing_samples = 1") && why.contains("4 of 5") && why.contains("e.png")), "{got:?}");
}
