//! Detector requirements (issue 16): ROB-DET-AP (COCO AP against labels vs the declared AP)
//! and ROB-DET-RPC (rPC with its bootstrap interval) on fixture results with hand-computed
//! verdicts; a classifier-only run never passes them.

use aite_assessment::{assess, shipped, Verdict};
use serde_json::{json, Value};

fn verdict(results: &Value, id: &str) -> Verdict {
    let p = shipped("ai-camera").unwrap();
    assess(&p, results).requirements.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} not in ai-camera")).verdict
}

fn sweep(rpc: Value, status: &str) -> Value {
    json!({ "ground_truth": { "kind": "labels", "source": "gt.json" }, "ap_name": "AP", "samples": 20, "missing_samples": 0, "interrupted": false,
            "clean_ap": 0.6, "mpc": { "value": 0.36, "ci95_low": 0.30, "ci95_high": 0.41 }, "rpc": rpc, "rpc_status": { "status": status },
            "protocol": { "status": "michaelis" } })
}

#[test]
fn every_shipped_profile_has_the_detector_requirements() {
    for name in aite_assessment::profile::shipped_names() {
        let p = shipped(name).unwrap();
        assert_eq!(p.version, "0.4.0", "{name}");
        for id in ["ROB-DET-AP", "ROB-DET-RPC"] {
            assert!(p.requirements.iter().any(|r| r.id == id), "{name} lacks {id}");
        }
    }
}

#[test]
fn rpc_is_judged_on_its_bootstrap_interval() {
    // Threshold 0.5 (ge, guarded). 0.60 (0.52..0.66): wholly above -> PASS.
    let pass = json!({ "suites": { "detection_corruptions": sweep(json!({ "value": 0.60, "ci95_low": 0.52, "ci95_high": 0.66 }), "reported") } });
    assert_eq!(verdict(&pass, "ROB-DET-RPC"), Verdict::Pass);
    // 0.55 (0.45..0.62) straddles 0.5 -> INCONCLUSIVE, although the point value passes.
    let straddle = json!({ "suites": { "detection_corruptions": sweep(json!({ "value": 0.55, "ci95_low": 0.45, "ci95_high": 0.62 }), "reported") } });
    assert_eq!(verdict(&straddle, "ROB-DET-RPC"), Verdict::Inconclusive);
    // 0.40 (0.31..0.48): wholly below -> FAIL.
    let fail = json!({ "suites": { "detection_corruptions": sweep(json!({ "value": 0.40, "ci95_low": 0.31, "ci95_high": 0.48 }), "reported") } });
    assert_eq!(verdict(&fail, "ROB-DET-RPC"), Verdict::Fail);
    let p = shipped("ai-camera").unwrap();
    let r = assess(&p, &pass).requirements.into_iter().find(|r| r.id == "ROB-DET-RPC").unwrap();
    assert_eq!((r.value, r.interval.as_ref().and_then(|i| i.low)), (Some(0.60), Some(0.52)));
    // Against the model's own clean predictions rPC is withheld: NOT_TESTED naming why.
    let pseudo = json!({ "suites": { "detection_corruptions": sweep(Value::Null, "clean-ap-is-one-by-construction") } });
    assert!(matches!(verdict(&pseudo, "ROB-DET-RPC"), Verdict::NotTested { ref why } if why.contains("1 by construction")));
    // An interrupted or partial (one shard) sweep never passes.
    let mut partial = pass.clone();
    partial["suites"]["detection_corruptions"]["missing_samples"] = json!(10);
    assert!(matches!(verdict(&partial, "ROB-DET-RPC"), Verdict::NotTested { ref why } if why.contains("missing_samples = 10")));
}

/// Review findings 2 and 3b: ROB-DET-RPC is judged only on Michaelis et al.'s rPC, scored
/// against labels on the 15 ImageNet-C corruptions x 5 severities; otherwise NOT_TESTED.
#[test]
fn rpc_outside_the_published_protocol_is_not_tested() {
    let passing = || sweep(json!({ "value": 0.60, "ci95_low": 0.52, "ci95_high": 0.66 }), "reported");
    let mut reference = passing();
    reference["ground_truth"] = json!({ "kind": "reference-predictions", "reference": "fp32.onnx" });
    reference["ap_name"] = json!("AP vs reference predictions");
    let v = verdict(&json!({ "suites": { "detection_corruptions": reference } }), "ROB-DET-RPC");
    assert!(matches!(v, Verdict::NotTested { ref why } if why.contains("against labels") && why.contains("reference predictions")), "{v:?}");
    let mut partial = passing();
    partial["protocol"] = json!({ "status": "partial", "reasons": [{ "condition": "incomplete", "corruptions": ["fog", "snow"] }] });
    let v = verdict(&json!({ "suites": { "detection_corruptions": partial } }), "ROB-DET-RPC");
    assert!(matches!(v, Verdict::NotTested { ref why } if why.contains("partial") && why.contains("fog, snow")), "{v:?}");
    // A sweep written before the protocol was recorded is not taken as Michaelis's.
    let mut old = passing();
    old.as_object_mut().unwrap().remove("protocol");
    assert!(matches!(verdict(&json!({ "suites": { "detection_corruptions": old } }), "ROB-DET-RPC"), Verdict::NotTested { .. }));
}

#[test]
fn detector_ap_is_compared_with_the_declared_ap() {
    let mut results = json!({ "suites": { "detection_accuracy": { "images": 50, "interrupted": false, "ap": 0.41, "ap50": 0.70 } } });
    assert!(matches!(verdict(&results, "ROB-DET-AP"), Verdict::NotTested { ref why } if why.contains("declared.detection_ap")));
    results["declared"] = json!({ "detection_ap": 0.40 });
    assert_eq!(verdict(&results, "ROB-DET-AP"), Verdict::Pass, "0.41 >= 0.40");
    results["declared"] = json!({ "detection_ap": 0.45 });
    assert_eq!(verdict(&results, "ROB-DET-AP"), Verdict::Fail, "0.41 < 0.45");
}

#[test]
fn a_classifier_run_never_passes_the_detector_requirements() {
    // A standalone classifier run: the detector suites are absent -> NOT_TESTED with the reason.
    let classifier = json!({ "declared": { "detection_ap": 0.3 }, "suites": { "accuracy": { "top1": { "successes": 9, "trials": 10, "value": 0.9 } } } });
    for id in ["ROB-DET-AP", "ROB-DET-RPC"] {
        assert!(matches!(verdict(&classifier, id), Verdict::NotTested { ref why } if why.contains("not in results.json")), "{id}");
    }
    // `aite run` on a classifier terminal records them as not applicable: NOT_APPLICABLE with the reason.
    let na = json!({ "status": "not-applicable", "why": "the terminal's task is a classifier" });
    let run = json!({ "declared": { "detection_ap": 0.3 }, "suites": { "detection_accuracy": na, "detection_corruptions": na } });
    for id in ["ROB-DET-AP", "ROB-DET-RPC"] {
        assert!(matches!(verdict(&run, id), Verdict::NotApplicable { ref why } if why.contains("classifier")), "{id}: {:?}", verdict(&run, id));
    }
}

fn vanish(successes: u64, trials: u64, low: f64, high: f64) -> Value {
    // 12 frames, 2 without a clean detection: the rate is over the attacked frames only.
    json!({ "settings": { "goal": "vanish", "attack": { "kind": "square-linf", "epsilon": 0.0313725, "budget": 300 } }, "applicability": { "status": "applicable" },
            "frames": 12, "attacked": trials, "no_clean_detection": 12 - trials, "target_errors": 0, "missing_frames": 0, "interrupted": false,
            "success_rate": { "successes": successes, "trials": trials, "value": successes as f64 / trials as f64, "ci95_low": low, "ci95_high": high },
            "noise_success_rate": { "successes": 0, "trials": trials, "value": 0.0, "ci95_low": 0.0, "ci95_high": 0.3 } })
}

#[test]
fn vanishing_attack_success_rate_is_judged_on_its_wilson_interval() {
    for name in aite_assessment::profile::shipped_names() {
        let p = shipped(name).unwrap();
        let r = p.requirements.iter().find(|r| r.id == "ROB-DET-VANISH").unwrap_or_else(|| panic!("{name} lacks ROB-DET-VANISH"));
        assert_eq!((r.metric.as_str(), r.decision), ("suites.detector_attack_square_linf.success_rate", aite_assessment::DecisionRule::Guarded), "{name}");
    }
    let run = |s: Value| json!({ "suites": { "detector_attack_square_linf": s } });
    // Threshold 0.5 (le, guarded). 1/10 vanished: Wilson 0.0179..0.4042, wholly below -> PASS,
    // read as 1 of the 10 attacked frames (the 2 without a clean detection do not count).
    let pass = run(vanish(1, 10, 0.017876213095072896, 0.4041500267952385));
    assert_eq!(verdict(&pass, "ROB-DET-VANISH"), Verdict::Pass);
    let p = shipped("ai-camera").unwrap();
    let r = assess(&p, &pass).requirements.into_iter().find(|r| r.id == "ROB-DET-VANISH").unwrap();
    assert_eq!((r.value, r.interval.as_ref().and_then(|i| i.high)), (Some(0.1), Some(0.4041500267952385)));
    // 2/10: point 0.2 passes but Wilson 0.0567..0.5098 straddles 0.5 -> INCONCLUSIVE.
    assert_eq!(verdict(&run(vanish(2, 10, 0.05668215145437519, 0.5098375284633583)), "ROB-DET-VANISH"), Verdict::Inconclusive);
    // 9/10: Wilson 0.5958..0.9821 wholly above -> FAIL.
    assert_eq!(verdict(&run(vanish(9, 10, 0.5958499732047615, 0.9821237869049271)), "ROB-DET-VANISH"), Verdict::Fail);
    // No frame with a clean detection: nothing attacked, the rate is null -> NOT_TESTED saying so.
    let mut none = vanish(0, 10, 0.0, 0.3);
    none["attacked"] = json!(0);
    none["no_clean_detection"] = json!(12);
    none["success_rate"] = Value::Null;
    assert!(matches!(verdict(&run(none), "ROB-DET-VANISH"), Verdict::NotTested { ref why } if why.contains("12 had no clean detection")));
    // An interrupted or partial (one shard) attack never passes.
    let mut partial = vanish(1, 10, 0.017876213095072896, 0.4041500267952385);
    partial["missing_frames"] = json!(5);
    assert!(matches!(verdict(&run(partial), "ROB-DET-VANISH"), Verdict::NotTested { ref why } if why.contains("missing_frames = 5")));
    // A run without the suite: NOT_TESTED with the reason; a classifier terminal (aite run): NOT_APPLICABLE.
    assert!(matches!(verdict(&json!({ "suites": {} }), "ROB-DET-VANISH"), Verdict::NotTested { ref why } if why.contains("not in results.json")));
    let na = json!({ "suites": { "detector_attack_square_linf": { "status": "not-applicable", "why": "the terminal's task is a classifier" } } });
    assert!(matches!(verdict(&na, "ROB-DET-VANISH"), Verdict::NotApplicable { ref why } if why.contains("classifier")));
}
