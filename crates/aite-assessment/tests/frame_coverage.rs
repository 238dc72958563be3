//! A suite's `frame_coverage` (dataset frames it set out to examine and could not decode) is read
//! when judging: a robustness figure over part of its frames is NOT_TESTED naming how many and
//! the first file; a failure that more frames cannot undo (a flag one frame turns false, a count
//! over frames under an upper bound) stays FAIL; a latency figure times the frames that ran and
//! keeps its verdict, naming the frames not run in its note.

use aite_assessment::{assess, shipped, RequirementResult, Verdict};
use serde_json::{json, Value};

fn requirement(results: &Value, id: &str) -> RequirementResult {
    let p = shipped("reference-terminal").unwrap();
    assess(&p, results).requirements.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} missing"))
}

fn coverage(missing: u64) -> Value {
    let not_examined: Vec<Value> = (0..missing).map(|i| json!({ "id": format!("d{i}.jpg"), "reason": "truncated JPEG" })).collect();
    json!({ "frames": 30, "examined": 30 - missing, "missing_frames": missing, "not_examined": not_examined })
}

/// Square L-inf at 25 of `trials` robust (ROB-SQUARE: guarded, >= 0.5), repeatability `identical`.
fn robustness(identical: bool, missing: u64) -> Value {
    let mut v = json!({ "status": "complete", "suites": {
        "attack_square_linf": { "robust_accuracy": { "successes": 28, "trials": 30 - missing, "value": 28.0 / (30 - missing) as f64, "ci95_low": 0.78, "ci95_high": 0.99 }, "missing_samples": 0, "interrupted": false },
        "repeatability": { "identical": identical, "top1_flips": u64::from(!identical), "non_finite_answers": 0 },
    } });
    if missing > 0 {
        for s in ["attack_square_linf", "repeatability"] {
            v["suites"][s]["frame_coverage"] = coverage(missing);
        }
    }
    v
}

#[test]
fn a_robustness_figure_over_part_of_its_frames_is_not_tested() {
    assert_eq!(requirement(&robustness(true, 0), "ROB-SQUARE").verdict, Verdict::Pass);
    assert_eq!(requirement(&robustness(true, 0), "ROB-REPEATABILITY").verdict, Verdict::Pass);
    let r = requirement(&robustness(true, 1), "ROB-SQUARE");
    assert_eq!(r.verdict, Verdict::NotTested { why: "suite `attack_square_linf` is incomplete: 29 of 30 frames examined; not examined: d0.jpg (truncated JPEG)".into() });
    assert!(r.note.ends_with("(would be PASS on complete evidence)"), "{}", r.note);
    assert!(r.evidence.contains(&"/suites/attack_square_linf/frame_coverage".to_string()), "{:?}", r.evidence);
    let Verdict::NotTested { why } = requirement(&robustness(true, 3), "ROB-REPEATABILITY").verdict else { panic!("repeatability passed on 27 of 30 frames") };
    assert_eq!(why, "suite `repeatability` is incomplete: 27 of 30 frames examined; not examined: d0.jpg (truncated JPEG) and 2 more");
}

#[test]
fn a_failure_more_frames_cannot_undo_stays_a_failure() {
    // A frame whose answer changed on repeat is a failure whatever the skipped frame answers.
    assert_eq!(requirement(&robustness(false, 1), "ROB-REPEATABILITY").verdict, Verdict::Fail);
    // A robust accuracy below the bound could rise with the skipped frames: not tested.
    let mut low = robustness(true, 1);
    low["suites"]["attack_square_linf"]["robust_accuracy"] = json!({ "successes": 2, "trials": 29, "value": 2.0 / 29.0, "ci95_low": 0.02, "ci95_high": 0.22 });
    assert!(matches!(requirement(&low, "ROB-SQUARE").verdict, Verdict::NotTested { .. }));
    // Batched top-1 flips counted on 29 frames only grow with the 30th.
    let batch = |flips: u64| json!({ "status": "complete", "suites": { "batch_invariance": { "within_tolerance": flips == 0, "max_abs_diff": 0.0, "top1_flips": flips, "frame_coverage": coverage(1) } } });
    assert_eq!(requirement(&batch(2), "ROB-BATCH-TOP1").verdict, Verdict::Fail);
    assert!(matches!(requirement(&batch(0), "ROB-BATCH-TOP1").verdict, Verdict::NotTested { .. }));
}

#[test]
fn a_latency_figure_keeps_its_verdict_and_names_the_frames_not_run() {
    let periodic = |p99: f64, examined: u64| {
        json!({ "status": "complete", "declared": { "fps": 15.0 }, "suites": { "latency_periodic": {
            "scenario": { "fps": 15.0 }, "queries": 200, "errors": 0, "after_idle": { "count": 20, "p99_ms": p99 }, "deadline_misses": 0,
            "drift": { "last_to_first_ratio": 1.0 }, "validity": { "valid": true, "reasons": [] }, "interrupted": false,
            "frame_coverage": { "frames": 30, "examined": examined, "missing_frames": 30 - examined, "not_examined": [{ "id": "d4.jpg", "reason": "truncated JPEG" }] } } } })
    };
    let r = requirement(&periodic(2.0, 29), "LAT-AFTER-IDLE");
    assert_eq!(r.verdict, Verdict::Pass, "the 29 frames that ran were timed");
    assert!(r.note.ends_with("; timed on 29 of 30 frames examined; not examined: d4.jpg (truncated JPEG)"), "{}", r.note);
    assert_eq!(requirement(&periodic(9.0, 29), "LAT-AFTER-IDLE").verdict, Verdict::Fail);
    assert!(matches!(requirement(&periodic(2.0, 0), "LAT-AFTER-IDLE").verdict, Verdict::NotTested { .. }), "no frame ran");
}

/// The OCR suites read their `frame_coverage` as the others: the corruption sweep's relative
/// character accuracy over part of its images is NOT_TESTED naming the image (PASS on complete
/// evidence), and a repeat read differently (`ocr_repeatability.identical` false) stays FAIL
/// whatever the image not read would do, where identical on part of the images is NOT_TESTED.
#[test]
fn the_ocr_suites_read_their_frame_coverage() {
    let one_missing = json!({ "frames": 2, "examined": 1, "missing_frames": 1, "not_examined": [{ "id": "truncated.png", "reason": "truncated PNG" }] });
    let sweep = |covered: bool| {
        let mut v = json!({ "status": "complete", "suites": { "ocr_corruptions": {
            "relative_char_accuracy": { "value": 0.9, "ci95_low": 0.8, "ci95_high": 0.95 }, "mean_char_accuracy": { "value": 0.8, "ci95_low": 0.7, "ci95_high": 0.9 }, "interrupted": false } } });
        if !covered {
            v["suites"]["ocr_corruptions"]["frame_coverage"] = one_missing.clone();
        }
        v
    };
    assert_eq!(requirement(&sweep(true), "ROB-OCR-CORRUPTION-RELATIVE").verdict, Verdict::Pass);
    let r = requirement(&sweep(false), "ROB-OCR-CORRUPTION-RELATIVE");
    assert_eq!(r.verdict, Verdict::NotTested { why: "suite `ocr_corruptions` is incomplete: 1 of 2 frames examined; not examined: truncated.png (truncated PNG)".into() });
    assert!(r.evidence.contains(&"/suites/ocr_corruptions/frame_coverage".to_string()), "{:?}", r.evidence);

    // A lab requirement on OCR repeatability (none is shipped): ROB-REPEATABILITY's rule on the OCR suite.
    let mut p = shipped("reference-terminal").unwrap();
    let mut lab = p.requirements.iter().find(|r| r.id == "ROB-REPEATABILITY").unwrap().clone();
    (lab.id, lab.metric) = ("LAB-OCR-REPEATABLE".into(), "suites.ocr_repeatability.identical".into());
    p.requirements.push(lab);
    let repeats = |identical: bool| json!({ "status": "complete", "suites": { "ocr_repeatability": { "identical": identical, "frames": 1, "identical_frames": u64::from(identical), "frame_coverage": one_missing } } });
    let judge = |v: &Value| assess(&p, v).requirements.into_iter().find(|r| r.id == "LAB-OCR-REPEATABLE").unwrap().verdict;
    assert_eq!(judge(&repeats(false)), Verdict::Fail);
    assert!(matches!(judge(&repeats(true)), Verdict::NotTested { why } if why.contains("not examined: truncated.png")));

    // The recogniser's batch invariance: a catalogue flag judged like repeatability (PASS on
    // complete evidence, FAIL when a line read differently, kept FAIL on part of the images).
    let mut lab = p.requirements.iter().find(|r| r.id == "LAB-OCR-REPEATABLE").unwrap().clone();
    (lab.id, lab.metric) = ("LAB-OCR-BATCH".into(), "suites.ocr_batch_invariance.strings_identical".into());
    p.requirements.push(lab);
    let batch = |identical: bool, covered: bool| {
        let mut v = json!({ "status": "complete", "suites": { "ocr_batch_invariance": { "images": 2, "batch": 6, "lines_compared": 16, "differing_lines": u64::from(!identical) * 2, "strings_identical": identical, "max_abs_score_diff": 0.0 } } });
        if !covered {
            v["suites"]["ocr_batch_invariance"]["frame_coverage"] = one_missing.clone();
        }
        v
    };
    let judge = |v: &Value| assess(&p, v).requirements.into_iter().find(|r| r.id == "LAB-OCR-BATCH").unwrap().verdict;
    assert_eq!(judge(&batch(true, true)), Verdict::Pass);
    assert_eq!(judge(&batch(false, true)), Verdict::Fail);
    assert_eq!(judge(&batch(false, false)), Verdict::Fail);
    assert!(matches!(judge(&batch(true, false)), Verdict::NotTested { why } if why.contains("not examined: truncated.png")));
}

/// Review finding: a `frame_coverage` present but without a readable `missing_frames` or
/// `examined` was taken as complete and the figure passed. Present and unreadable, it is
/// NOT_TESTED naming what is wrong, for a robustness suite and a latency suite alike.
#[test]
fn an_unreadable_frame_coverage_is_not_tested() {
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut v = robustness(true, 1);
        edit(&mut v["suites"]["attack_square_linf"]["frame_coverage"]);
        requirement(&v, "ROB-SQUARE")
    };
    let cases: [(&dyn Fn(&mut Value), &str); 5] = [
        (&|c| drop(c.as_object_mut().unwrap().remove("missing_frames")), "`missing_frames` absent"),
        (&|c| c["missing_frames"] = json!("1"), "`missing_frames` is \"1\", not a count"),
        (&|c| drop(c.as_object_mut().unwrap().remove("examined")), "`examined` absent"),
        (&|c| c["frames"] = json!(31), "`frames` 31 is not examined 29 + missing_frames 1"),
        (&|c| *c = json!([29, 1]), "[29,1] is not an object"),
    ];
    for (edit, what) in cases {
        let r = broken(edit);
        assert_eq!(r.verdict, Verdict::NotTested { why: format!("suite `attack_square_linf`: frame_coverage unreadable ({what})") }, "{}", r.note);
        assert!(r.evidence.contains(&"/suites/attack_square_linf/frame_coverage".to_string()), "{:?}", r.evidence);
    }
    // Nothing missing, read as such: the figure is judged (28 of 30 robust, PASS).
    assert_eq!(broken(&|c| *c = json!({ "frames": 30, "examined": 30, "missing_frames": 0, "not_examined": [] })).verdict, Verdict::Pass);
    // A latency suite's verdict is kept on the frames that ran only when the record says which.
    let mut v = json!({ "status": "complete", "declared": { "fps": 15.0 }, "suites": { "latency_periodic": {
        "scenario": { "fps": 15.0 }, "queries": 200, "errors": 0, "after_idle": { "count": 20, "p99_ms": 2.0 }, "deadline_misses": 0,
        "drift": { "last_to_first_ratio": 1.0 }, "validity": { "valid": true, "reasons": [] }, "interrupted": false,
        "frame_coverage": { "frames": 30, "examined": 29, "not_examined": [{ "id": "d4.jpg", "reason": "truncated JPEG" }] } } } });
    let Verdict::NotTested { why } = requirement(&v, "LAT-AFTER-IDLE").verdict else { panic!("passed on an unreadable frame_coverage") };
    assert_eq!(why, "suite `latency_periodic`: frame_coverage unreadable (`missing_frames` absent)");
    v["suites"]["latency_periodic"]["frame_coverage"]["missing_frames"] = json!(1);
    assert_eq!(requirement(&v, "LAT-AFTER-IDLE").verdict, Verdict::Pass);
}
