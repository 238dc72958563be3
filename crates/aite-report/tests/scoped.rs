//! A scoped assessment (`--profile` on one command) never reads as the profile's
//! verdict: every report says how many requirements it left out.

use aite_evidence::{Results, RunFolder};

#[test]
fn a_scoped_pass_is_stated_as_scoped_in_every_report() {
    let profile = aite_assessment::shipped("reference-terminal").unwrap();
    let mut results = Results::new("robustness", serde_json::json!({"name": "m", "engine": "tract", "engine_version": "0", "threads": 1}));
    results.suites.insert("repeatability".into(), serde_json::json!({ "identical": true, "max_abs_diff": 0.0, "non_finite_answers": 0, "repeats": 3, "samples": 20, "top1_flips": 0 }));
    results.finish(aite_evidence::RunStatus::Complete);
    let assessment = aite_assessment::assess_scoped(&profile, &serde_json::to_value(&results).unwrap());
    assert_eq!(serde_json::to_value(assessment.overall).unwrap(), "PASS", "one requirement in scope, passed");
    let left_out = assessment.out_of_scope.len();
    assert_eq!(left_out, profile.requirements.len() - 1);

    let dir = tempfile::tempdir().unwrap();
    let folder = RunFolder::create(dir.path(), "robustness").unwrap();
    folder.write_json("results.json", &results).unwrap();
    folder.write_json("assessment.json", &assessment).unwrap();
    let files = aite_report::render_package(folder.path(), &aite_report::RenderOptions { pdf: false, template: None }).unwrap();
    let text = |name: &str| String::from_utf8(files.iter().find(|f| f.name == name).unwrap().bytes.clone()).unwrap();
    let stated = format!("PASS on the 1 requirement(s) in scope only; {left_out} of the {} requirements of the profile out of scope, not assessed", left_out + 1);
    let html = text("report.html");
    assert!(html.contains("Scoped assessment.") && html.contains(&stated) && html.contains("SEC-CRED-EMPTY"), "the cover says the PASS is scoped and lists what was left out");
    assert!(text("junit.xml").contains(&stated), "{}", text("junit.xml"));
    assert!(text("junit.xml").contains(&format!("name=\"requirements-out-of-scope\" value=\"{left_out}\"")));
    assert!(text("oscal-ar.json").contains(&stated));
    let bom = text("bom.cdx.json");
    assert!(bom.contains(&stated) && bom.contains("aite:requirements-out-of-scope"), "CycloneDX names the scope");
}
