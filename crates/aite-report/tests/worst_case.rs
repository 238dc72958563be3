//! Every threat model's worst case is shown (issue: the report showed the L-inf one only, and
//! one per norm): the measured figure, or not applicable with why, in the terminal text and the
//! HTML report, and a CycloneDX metric per measured one.

use aite_evidence::{Results, RunFolder};
use aite_report::{Renderer, TerminalRenderer};
use serde_json::{json, Value};

fn prop(successes: u64, trials: u64) -> Value {
    let p = aite_accuracy::wilson(successes as usize, trials as usize);
    serde_json::to_value(p).unwrap()
}

fn square(epsilon: f32) -> Value {
    json!({
        "settings": { "kind": "square-linf", "epsilon": epsilon, "budget": 100, "p_init": 0.8, "seed": 0, "channel": { "kind": "float" }, "output_index": 0 },
        "samples": 40, "clean_accuracy": prop(40, 40), "robust_accuracy": prop(36, 40), "attack_success_rate": prop(4, 40),
        "queries_mean": 10.0, "queries_median": 9.0, "queries_total": 4000, "robust_accuracy_uint8": prop(36, 40), "robust_accuracy_jpeg": prop(37, 40),
        "jpeg_quality": 90, "records": [], "missing_samples": 0, "interrupted": false
    })
}

#[test]
fn every_threat_models_worst_case_is_shown_measured_or_not_applicable_with_why() {
    let (two, eight) = (2.0_f32 / 255.0, 8.0_f32 / 255.0);
    let worst = json!({ "threat_models": [
        { "status": "measured", "norm": "linf", "epsilon": two, "attacks": ["square-linf", "spsa-linf"], "robust_accuracy": prop(34, 40) },
        { "status": "not-applicable", "norm": "linf", "epsilon": eight, "attacks": ["square-linf"], "why": "one attack family ran: square; the worst case needs at least two" },
        { "status": "measured", "norm": "l2", "epsilon": 0.5, "attacks": ["square-l2", "hopskipjump"], "robust_accuracy": prop(20, 40) },
    ] });
    let mut results = Results::new("robustness", json!({"name": "m", "engine": "tract", "engine_version": "0", "threads": 1}));
    results.inputs = vec![aite_evidence::InputArtifact { role: "model".into(), name: "m".into(), sha256: "00".repeat(32), count: None }];
    results.suites.insert("attack_square_linf".into(), square(two));
    results.suites.insert("attack_worst_case".into(), worst);
    results.finish(aite_evidence::RunStatus::Complete);
    let text = TerminalRenderer.render(&results);
    assert!(!text.contains("could not be read"), "{text}");
    // 34/40 = 85.00%, Wilson 95% 70.93% – 92.94%; 20/40 = 50.00%, 35.20% – 64.80% (hand-checked).
    assert!(text.contains("worst case at linf 2/255 over square-linf, spsa-linf (per sample): robust accuracy 85.00% (70.93% – 92.94%)"), "{text}");
    assert!(text.contains("attack_worst_case[linf 8/255].robust_accuracy: not applicable: one attack family ran: square; the worst case needs at least two"), "{text}");
    assert!(text.contains("worst case at l2 0.5 over square-l2, hopskipjump (per sample): robust accuracy 50.00% (35.20% – 64.80%)"), "{text}");

    let profile = aite_assessment::shipped("reference-terminal").unwrap();
    let assessment = aite_assessment::assess_scoped(&profile, &serde_json::to_value(&results).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let folder = RunFolder::create(dir.path(), "robustness").unwrap();
    folder.write_json("results.json", &results).unwrap();
    folder.write_json("assessment.json", &assessment).unwrap();
    let files = aite_report::render_package(folder.path(), &aite_report::RenderOptions { pdf: false, template: None }).unwrap();
    let html = String::from_utf8(files.iter().find(|f| f.name == "report.html").unwrap().bytes.clone()).unwrap();
    let html = html.replace("&#x2f;", "/").replace("&#x2F;", "/");
    let rows: Vec<&str> = html.split("<tr>").filter(|l| l.contains("worst case at ")).collect();
    assert_eq!(rows.len(), 3, "one row per threat model: {rows:?}");
    assert!(rows[0].contains("worst case at linf 2/255 over square-linf, spsa-linf (per sample)") && rows[0].contains("85.00%"), "{}", rows[0]);
    assert!(rows[1].contains("worst case at linf 8/255 over square-linf (per sample)") && rows[1].contains("not applicable: one attack family ran: square; the worst case needs at least two"), "{}", rows[1]);
    assert!(rows[1].contains("<td class=\"num\"></td>") && !rows[1].contains(">0<"), "no sample count without a figure: {}", rows[1]);
    assert!(rows[2].contains("worst case at l2 0.5 over square-l2, hopskipjump (per sample)") && rows[2].contains("50.00%"), "{}", rows[2]);
    // CycloneDX: a metric per measured threat model, none for the one without a figure.
    let bom = String::from_utf8(files.iter().find(|f| f.name.ends_with(".cdx.json")).expect("a CycloneDX file").bytes.clone()).unwrap();
    let slices: Vec<&str> = bom.lines().filter_map(|l| l.trim().strip_prefix("\"slice\": \"worst case over ")).collect();
    assert_eq!(slices, ["linf 2/255 attacks (square-linf, spsa-linf)\",", "l2 0.5 attacks (square-l2, hopskipjump)\","], "{bom}");
}

/// Review finding: an older package's per-norm record gives the first attack's epsilon for all
/// of them. Square at 8/255 with SPSA at 2/255 is not "linf 8/255": the report names no radius;
/// with both at 8/255 it is that threat model.
#[test]
fn an_older_worst_case_is_labelled_by_a_radius_only_its_attacks_share() {
    let (two, eight) = (2.0_f32 / 255.0, 8.0_f32 / 255.0);
    let text = |spsa: f32| {
        let mut spsa_suite = square(spsa);
        spsa_suite["settings"]["kind"] = json!("spsa-linf");
        let mut results = Results::new("robustness", json!({"name": "m", "engine": "tract", "engine_version": "0", "threads": 1}));
        results.suites.insert("attack_square_linf".into(), square(eight));
        results.suites.insert("attack_spsa_linf".into(), spsa_suite);
        results.suites.insert("attack_worst_case".into(), json!({ "linf": { "status": "measured", "attacks": ["square-linf", "spsa-linf"], "epsilon": eight, "robust_accuracy": prop(34, 40) } }));
        results.finish(aite_evidence::RunStatus::Complete);
        TerminalRenderer.render(&results)
    };
    let mixed = text(two);
    assert!(mixed.contains("worst case at linf (epsilon unknown) over square-linf, spsa-linf (per sample): robust accuracy 85.00%"), "{mixed}");
    assert!(!mixed.contains("worst case at linf 8/255"), "{mixed}");
    let same = text(eight);
    assert!(same.contains("worst case at linf 8/255 over square-linf, spsa-linf (per sample): robust accuracy 85.00%"), "{same}");
}
