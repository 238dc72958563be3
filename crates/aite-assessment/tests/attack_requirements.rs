//! The attack requirements of the shipped profiles (issue 13): ROB-SPSA (a second attack
//! family, gradient estimation) and ROB-WORST-CASE (the per-sample worst case over the
//! attacks run, RobustBench's headline) beside ROB-SQUARE, judged from results.json.

use aite_assessment::{assess, shipped, Verdict};
use serde_json::{json, Value};

fn proportion(s: u64, n: u64) -> Value {
    json!({ "successes": s, "trials": n, "value": s as f64 / n as f64 })
}

fn verdict_of(a: &aite_assessment::Assessment, id: &str) -> Verdict {
    a.requirements.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} missing")).verdict.clone()
}

fn attack(robust: Value) -> Value {
    json!({ "robust_accuracy": robust, "interrupted": false, "missing_samples": 0 })
}

#[test]
fn every_shipped_profile_judges_spsa_and_the_worst_case_at_the_square_threshold() {
    for name in aite_assessment::profile::shipped_names() {
        let p = shipped(name).unwrap();
        assert_eq!(p.version, "0.4.0", "{name}");
        let find = |id: &str| p.requirements.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{name}: {id} missing"));
        let (square, spsa, worst) = (find("ROB-SQUARE"), find("ROB-SPSA"), find("ROB-WORST-CASE"));
        assert_eq!(spsa.metric, "suites.attack_spsa_linf.robust_accuracy");
        assert_eq!(worst.metric, "suites.attack_worst_case.linf.robust_accuracy");
        for r in [spsa, worst] {
            assert_eq!(format!("{:?}", r.threshold), format!("{:?}", square.threshold), "{name} {}", r.id);
            assert_eq!(format!("{:?}", r.decision), format!("{:?}", square.decision), "{name} {}", r.id);
        }
    }
}

#[test]
fn spsa_and_the_worst_case_fail_where_square_alone_would_pass() {
    let p = shipped("reference-terminal").unwrap();
    // Square fools 2 of 40, SPSA 38 of 40: only the second family and the worst case see it.
    let results = json!({ "status": "complete", "suites": {
        "attack_square_linf": attack(proportion(38, 40)),
        "attack_spsa_linf": attack(proportion(2, 40)),
        "attack_worst_case": { "linf": { "attacks": ["square-linf", "spsa-linf"], "epsilon": 0.03137, "robust_accuracy": proportion(2, 40) } }
    } });
    let a = assess(&p, &results);
    assert_eq!(verdict_of(&a, "ROB-SQUARE"), Verdict::Pass);
    assert_eq!(verdict_of(&a, "ROB-SPSA"), Verdict::Fail);
    assert_eq!(verdict_of(&a, "ROB-WORST-CASE"), Verdict::Fail);
    // Without an SPSA run nothing is passed by default: the requirement is not tested.
    let results = json!({ "status": "complete", "suites": { "attack_square_linf": attack(proportion(38, 40)) } });
    let a = assess(&p, &results);
    assert!(matches!(verdict_of(&a, "ROB-SPSA"), Verdict::NotTested { .. }), "{:?}", verdict_of(&a, "ROB-SPSA"));
    assert!(matches!(verdict_of(&a, "ROB-WORST-CASE"), Verdict::NotTested { .. }));
}

/// Review finding #3: `aite robustness --attacks square-linf` wrote a "worst case" of Square
/// alone, and ROB-WORST-CASE passed on ROB-SQUARE's evidence. One family (the noise baseline
/// does not count) is NOT_TESTED with the reason; two families are judged.
#[test]
fn the_worst_case_of_one_attack_family_is_not_tested() {
    let p = shipped("reference-terminal").unwrap();
    let worst = |attacks: Value| {
        json!({ "status": "complete", "suites": {
            "attack_square_linf": attack(proportion(38, 40)),
            "attack_worst_case": { "linf": { "attacks": attacks, "epsilon": 0.03137, "robust_accuracy": proportion(38, 40) } }
        } })
    };
    for attacks in [json!(["square-linf"]), json!(["square-linf", "noise-linf"]), json!([])] {
        let a = assess(&p, &worst(attacks.clone()));
        assert_eq!(verdict_of(&a, "ROB-SQUARE"), Verdict::Pass);
        match verdict_of(&a, "ROB-WORST-CASE") {
            Verdict::NotTested { why } => assert!(why.contains("is not a worst case: run at least two"), "{attacks}: {why}"),
            v => panic!("{attacks}: {v:?}"),
        }
    }
    let Verdict::NotTested { why } = verdict_of(&assess(&p, &worst(json!(["square-linf"]))), "ROB-WORST-CASE") else { unreachable!() };
    assert_eq!(why, "worst case over one attack family (square) is not a worst case: run at least two (e.g. square and spsa)");
    // No `attacks` list: nothing shows a second family ran.
    let mut r = worst(json!([]));
    r["suites"]["attack_worst_case"]["linf"].as_object_mut().unwrap().remove("attacks");
    assert!(matches!(verdict_of(&assess(&p, &r), "ROB-WORST-CASE"), Verdict::NotTested { .. }));
    // Two families on the same samples: the worst case is judged (38/40 robust passes as Square does).
    assert_eq!(verdict_of(&assess(&p, &worst(json!(["square-linf", "spsa-linf"]))), "ROB-WORST-CASE"), Verdict::Pass);
}

/// Issue: the worst case over one family is now recorded `not-applicable` with why and no
/// figure; the requirement stays NOT_TESTED (it applies: the run did not measure it), never
/// ERROR for the missing figure.
#[test]
fn a_worst_case_recorded_not_applicable_is_not_tested() {
    let p = shipped("reference-terminal").unwrap();
    let record = |attacks: Value| json!({ "status": "not-applicable", "attacks": attacks, "epsilon": 0.03137, "why": "one attack family ran: square; the worst case needs at least two" });
    let results = |w: Value| json!({ "status": "complete", "suites": { "attack_square_linf": attack(proportion(38, 40)), "attack_worst_case": { "linf": w } } });
    let Verdict::NotTested { why } = verdict_of(&assess(&p, &results(record(json!(["square-linf", "noise-linf"])))), "ROB-WORST-CASE") else { panic!("not NOT_TESTED") };
    assert_eq!(why, "worst case over one attack family (square) is not a worst case: run at least two (e.g. square and spsa)");
    // Even listing two families, a record without a figure is not judged.
    let Verdict::NotTested { why } = verdict_of(&assess(&p, &results(record(json!(["square-linf", "spsa-linf"])))), "ROB-WORST-CASE") else { panic!("not NOT_TESTED") };
    assert!(why.starts_with("the linf worst case is recorded not applicable: one attack family ran"), "{why}");
}

/// A lab profile of one worst-case requirement at `epsilon` (none: the field left out).
fn worst_case_profile(epsilon: Option<&str>) -> aite_assessment::Profile {
    let eps = epsilon.map(|e| format!("epsilon = {e}\n")).unwrap_or_default();
    let text = format!(
        "schema = \"aite.profile/v1\"\nid = \"lab-w\"\nversion = \"1\"\ntitle = \"Lab W\"\n\n[[requirement]]\nid = \"LAB-WORST\"\ntitle = \"worst case\"\nitem = \"robustness\"\nmetric = \"suites.attack_worst_case.linf.robust_accuracy\"\n{eps}comparator = \"ge\"\nthreshold = 0.5\nclauses = [\"EU AI Act Art. 15(5)\"]\nremediation = \"harden\"\nprovenance = {{ source = \"test\", status = \"lab\" }}\n"
    );
    aite_assessment::check("lab-w.toml", &text, None).unwrap()
}

/// Issue: the worst case took the first attack's epsilon as the radius of all. Two attack
/// families at 2/255 (34 of 40 robust) and Square alone at 8/255 (one family: not applicable)
/// are two threat models; a requirement judges the one of its `epsilon`, never the other's.
#[test]
fn a_worst_case_requirement_judges_the_threat_model_of_its_epsilon() {
    let (two, eight) = (2.0_f32 / 255.0, 8.0_f32 / 255.0);
    let results = json!({ "status": "complete", "suites": {
        "attack_worst_case": { "threat_models": [
            { "status": "measured", "norm": "linf", "epsilon": two, "attacks": ["square-linf", "spsa-linf"], "robust_accuracy": proportion(34, 40) },
            { "status": "not-applicable", "norm": "linf", "epsilon": eight, "attacks": ["square-linf"], "why": "one attack family ran: square; the worst case needs at least two" },
        ] }
    } });
    let one = |eps: Option<&str>| assess(&worst_case_profile(eps), &results).requirements.remove(0);
    // 34/40 = 0.85, Wilson 95% [0.709, 0.929] is wholly above 0.5: PASS, pointing at the 2/255 record.
    let r = one(Some("\"2/255\""));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.note);
    assert!(r.evidence.contains(&"/suites/attack_worst_case/threat_models/0/robust_accuracy".to_string()), "{:?}", r.evidence);
    assert!(r.note.contains("threat model linf 2/255"), "{}", r.note);
    assert_eq!(one(Some(&format!("{}", 2.0 / 255.0))).verdict, Verdict::Pass, "a number selects as the fraction does");
    // At 8/255 only Square ran: NOT_TESTED with why, never the 2/255 figure.
    let Verdict::NotTested { why } = one(Some("\"8/255\"")).verdict else { panic!("8/255 judged") };
    assert_eq!(why, "worst case over one attack family (square) is not a worst case: run at least two (e.g. square and spsa)");
    // At a radius that did not run: NOT_TESTED naming what ran.
    let Verdict::NotTested { why } = one(Some("\"4/255\"")).verdict else { panic!("4/255 judged") };
    assert_eq!(why, "no worst case at linf 4/255: recorded: linf 2/255 (square-linf, spsa-linf); linf 8/255 (square-linf)");
    // No epsilon and two L-inf radii: which one is not for the assessment to guess.
    let Verdict::NotTested { why } = one(None).verdict else { panic!("judged without a radius") };
    assert!(why.starts_with("2 linf worst cases, at different radii, and the requirement names no `epsilon`"), "{why}");
    // The shipped profile (no epsilon) judges the only L-inf worst case of a run.
    let single = json!({ "status": "complete", "suites": { "attack_worst_case": { "threat_models": [results["suites"]["attack_worst_case"]["threat_models"][0].clone()] } } });
    assert_eq!(verdict_of(&assess(&shipped("reference-terminal").unwrap(), &single), "ROB-WORST-CASE"), Verdict::Pass);
    // No L-inf worst case at all.
    let l2 = json!({ "status": "complete", "suites": { "attack_worst_case": { "threat_models": [{ "status": "measured", "norm": "l2", "epsilon": 0.5, "attacks": ["square-l2", "hopskipjump"], "robust_accuracy": proportion(30, 40) }] } } });
    let Verdict::NotTested { why } = verdict_of(&assess(&shipped("reference-terminal").unwrap(), &l2), "ROB-WORST-CASE") else { panic!("judged an L2 worst case") };
    assert_eq!(why, "no linf worst case: recorded: l2 0.5 (square-l2, hopskipjump)");
}

#[test]
fn epsilon_is_only_for_worst_case_requirements_and_must_be_a_radius() {
    let text = |metric: &str, eps: &str| format!("schema = \"aite.profile/v1\"\nid = \"lab-w\"\nversion = \"1\"\ntitle = \"Lab W\"\n\n[[requirement]]\nid = \"LAB-X\"\ntitle = \"x\"\nitem = \"robustness\"\nmetric = \"{metric}\"\nepsilon = {eps}\ncomparator = \"ge\"\nthreshold = 0.5\nclauses = [\"EU AI Act Art. 15(5)\"]\nremediation = \"r\"\nprovenance = {{ source = \"test\", status = \"lab\" }}\n");
    let e = aite_assessment::check("lab-w.toml", &text("suites.attack_square_linf.robust_accuracy", "\"8/255\""), None).unwrap_err().to_string();
    assert!(e.contains("lab-w.toml:7:") && e.contains("`epsilon` selects a worst case's threat model"), "{e}");
    let e = aite_assessment::check("lab-w.toml", &text("suites.attack_worst_case.linf.robust_accuracy", "\"8/0\""), None).unwrap_err().to_string();
    assert!(e.contains("lab-w.toml:11: epsilon `8/0` is not a positive number or `K/255`"), "{e}");
    let p = aite_assessment::check("lab-w.toml", &text("suites.attack_worst_case.linf.robust_accuracy", "\"8/255\""), None).unwrap();
    assert_eq!(p.requirements[0].epsilon, Some(8.0 / 255.0));
}

/// Review finding: an older package's per-norm record carries the first attack's epsilon for
/// every attack. Square at 8/255 and SPSA at 2/255 recorded as "linf 8/255" (30 of 40 robust)
/// must not pass a requirement at 8/255: its radius is unknown, NOT_TESTED naming each attack's.
/// Both at 8/255 (each `settings.epsilon`), the record is that threat model and is judged.
#[test]
fn an_older_worst_case_mixing_radii_is_not_a_threat_model() {
    let (two, eight) = (2.0_f32 / 255.0, 8.0_f32 / 255.0);
    let older = |spsa_eps: f32| {
        json!({ "status": "complete", "suites": {
            "attack_square_linf": { "settings": { "kind": "square-linf", "epsilon": eight }, "robust_accuracy": proportion(36, 40) },
            "attack_spsa_linf": { "settings": { "kind": "spsa-linf", "epsilon": spsa_eps }, "robust_accuracy": proportion(30, 40) },
            "attack_worst_case": { "linf": { "status": "measured", "attacks": ["square-linf", "spsa-linf"], "epsilon": eight, "robust_accuracy": proportion(30, 40) } }
        } })
    };
    let at_eight = |results: &Value| assess(&worst_case_profile(Some("\"8/255\"")), results).requirements.remove(0);
    let r = at_eight(&older(two));
    let Verdict::NotTested { why } = r.verdict else { panic!("a mixed-radius record judged at 8/255: {:?} {}", r.verdict, r.note) };
    assert_eq!(why, "no worst case at linf 8/255: recorded: linf (epsilon unknown) (square-linf, spsa-linf; an older record gives its first attack's epsilon for all; the attacks' own: square-linf 8/255, spsa-linf 2/255)");
    // An attack's suite without settings: nothing shows it ran at the record's radius.
    let mut bare = older(eight);
    bare["suites"]["attack_spsa_linf"].as_object_mut().unwrap().remove("settings");
    let Verdict::NotTested { why } = at_eight(&bare).verdict else { panic!("judged without SPSA's epsilon") };
    assert!(why.ends_with("the attacks' own: square-linf 8/255, spsa-linf not recorded)"), "{why}");
    // Both at 8/255: 30/40 = 0.75, Wilson 95% [0.598, 0.858] wholly above 0.5, PASS at that radius.
    let r = at_eight(&older(eight));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.note);
    assert!(r.note.contains("threat model linf 8/255"), "{}", r.note);
    assert!(r.evidence.contains(&"/suites/attack_worst_case/linf/robust_accuracy".to_string()), "{:?}", r.evidence);
}
