//! `aite report DIR` on the demo's evidence package (issue 12): every format is
//! validated against its official schema (and a mutated copy must fail, so the
//! validation cannot pass vacuously), the machine formats re-render
//! byte-identically, the HTML is self-contained and loads in a real browser,
//! and the PDF carries the report id, every verdict and "page n of N".
//!
//! Schemas come from `../shared/reference/schemas`; tools (xmllint, chromium,
//! pdfinfo/pdftotext) from PATH. A missing one skips with a message, and fails
//! under `AITE_REQUIRE_PEERS=1`.

mod common;

use common::{aite, run};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn require_peers() -> bool {
    std::env::var("AITE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Skip (print why) or, under AITE_REQUIRE_PEERS=1, fail.
fn skip(why: &str) {
    if require_peers() {
        panic!("AITE_REQUIRE_PEERS=1 but {why}");
    }
    eprintln!("SKIP: {why}");
}

fn schemas() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/schemas");
    d.is_dir().then_some(d)
}

fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(tool)).find(|p| p.is_file())
}

/// The demo's package as `aite demo` writes it (assessment.json, model-*.json with
/// the node order, reports), then rendered again with `aite report`.
fn package() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let r = run(aite().args(["demo", "--quick", "--out"]).arg(&out));
        assert_eq!(r.code, 0, "demo failed: {}", r.stderr);
        // The one run folder (the demo also leaves its signing key beside it).
        let dirs: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.')).collect();
        assert_eq!(dirs.len(), 1, "one run folder expected: {dirs:?}");
        let dir = dirs[0].clone();
        assert!(dir.join("assessment.json").is_file());
        for name in ["digits_cnn_fp32", "digits_cnn_int8_qdq"] {
            let facts = read_json(&dir.join(format!("model-{name}.json")));
            let ops: Vec<&str> = facts["graph"].as_array().unwrap().iter().map(|n| n["op"].as_str().unwrap()).collect();
            assert!(ops.contains(&"Conv") && ops.last() != Some(&"Conv"), "{name}: the node order is recorded: {ops:?}");
        }
        let r = run(aite().arg("report").arg(&dir));
        assert_eq!(r.code, 0, "aite report failed: {}", r.stderr);
        dir
    })
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn assessment() -> Value {
    read_json(&package().join("assessment.json"))
}

fn verdicts() -> Vec<String> {
    assessment()["requirements"].as_array().unwrap().iter().map(|r| r["verdict"].as_str().unwrap().to_string()).collect()
}

/// Validation errors of `doc` against the schema at `schema` (CycloneDX's spdx and jsf registered).
fn schema_errors(schema: &Path, doc: &Value) -> Vec<String> {
    let dir = schema.parent().unwrap();
    let mut registry = jsonschema::Registry::new();
    for extra in ["spdx.schema.json", "jsf-0.82.schema.json"] {
        let p = dir.join(extra);
        if p.exists() {
            registry = registry.add(format!("http://cyclonedx.org/schema/{extra}"), jsonschema::Resource::from_contents(read_json(&p))).unwrap();
        }
    }
    let registry = registry.prepare().unwrap();
    let validator = jsonschema::options().with_registry(&registry).should_validate_formats(true).build(&read_json(schema)).unwrap();
    validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn junit_is_valid_against_both_xsds_and_counts_the_verdicts() {
    let xml = std::fs::read_to_string(package().join("junit.xml")).unwrap();
    // Structure, independent of any validator: one case per requirement, failures = FAIL verdicts.
    let v = verdicts();
    assert_eq!(xml.matches("<testcase ").count(), v.len());
    assert_eq!(xml.matches("<failure ").count(), v.iter().filter(|v| *v == "FAIL").count());
    assert_eq!(xml.matches("<skipped ").count(), v.iter().filter(|v| *v == "NOT_APPLICABLE" || *v == "NOT_TESTED").count());
    assert_eq!(xml.matches("<error ").count(), v.iter().filter(|v| *v == "INCONCLUSIVE" || *v == "ERROR").count());
    let (Some(schemas), Some(xmllint)) = (schemas(), on_path("xmllint")) else {
        return skip("xmllint (Debian libxml2-utils) or ../shared/reference/schemas is missing: JUnit XSD validation not run");
    };
    let tmp = tempfile::tempdir().unwrap();
    let check = |doc: &str, xsd: &str| -> bool {
        let f = tmp.path().join("j.xml");
        std::fs::write(&f, doc).unwrap();
        Command::new(&xmllint).args(["--noout", "--schema"]).arg(schemas.join("junit").join(xsd)).arg(&f).output().unwrap().status.success()
    };
    for xsd in ["JUnit.xsd", "junit-10.xsd"] {
        assert!(check(&xml, xsd), "junit.xml is not valid against {xsd}");
        // A test case without its name is invalid under both.
        let broken = xml.replacen("<testcase name=", "<testcase nom=", 1);
        assert!(!check(&broken, xsd), "{xsd} accepted a test case without a name");
    }
    // The strict XSD requires `package` on each suite.
    assert!(!check(&xml.replacen(" package=", " pkg=", 1), "JUnit.xsd"));
}

#[test]
fn oscal_assessment_results_are_valid_1_1_3() {
    let ar = read_json(&package().join("oscal-ar.json"));
    let result = &ar["assessment-results"]["results"][0];
    let v = verdicts();
    let findings = result["findings"].as_array().unwrap();
    assert_eq!(findings.len(), v.len());
    let satisfied = findings.iter().filter(|f| f["target"]["status"]["state"] == "satisfied").count();
    assert_eq!(satisfied, v.iter().filter(|v| *v == "PASS").count(), "only PASS is satisfied");
    let failing_security = read_json(&package().join("results.json"))["suites"]["security"]["findings"].as_array().map(|f| f.iter().filter(|f| f["status"] == "fail").count()).unwrap_or(0);
    assert_eq!(result["risks"].as_array().map(Vec::len).unwrap_or(0), failing_security);
    assert_eq!(ar["assessment-results"]["import-ap"]["href"], "oscal-ap.json");
    assert!(package().join("oscal-ap.json").is_file());
    // Evidence links are relative hrefs into the package, with the file's SHA-256.
    let manifest = read_json(&package().join("manifest.json"));
    let ev = &result["observations"][0]["relevant-evidence"][0];
    assert!(ev["href"].as_str().unwrap().starts_with("results.json#/suites/"), "{ev}");
    assert_eq!(ev["props"][0]["value"], manifest["files"]["results.json"]);
    let Some(schemas) = schemas() else { return skip("../shared/reference/schemas is missing: OSCAL validation not run") };
    let schema = schemas.join("oscal/oscal_assessment-results_schema-1.1.3.json");
    let errors = schema_errors(&schema, &ar);
    assert!(errors.is_empty(), "oscal-ar.json invalid: {errors:#?}");
    let mut broken = ar.clone();
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = json!("passed");
    assert!(!schema_errors(&schema, &broken).is_empty(), "the schema accepted state `passed`");
}

#[test]
fn cyclonedx_1_6_has_model_cards_and_the_verdicts_and_1_5_stays_valid() {
    let bom = read_json(&package().join("bom.cdx.json"));
    assert_eq!(bom["specVersion"], "1.6");
    let models: Vec<&Value> = bom["components"].as_array().unwrap().iter().filter(|c| c["type"] == "machine-learning-model").collect();
    assert_eq!(models.len(), 2, "both demo models");
    for m in &models {
        assert!(m["modelCard"]["modelParameters"]["inputs"].is_array(), "{m}");
        let metrics = m["modelCard"]["quantitativeAnalysis"]["performanceMetrics"].as_array().unwrap();
        assert!(metrics.iter().any(|x| x["type"] == "top-1 accuracy" && x["confidenceInterval"]["lowerBound"].is_string()), "{m}");
    }
    // The target model's top-1 accuracy is results.json's, to 4 decimals.
    let results = read_json(&package().join("results.json"));
    let target = results["target"]["name"].as_str().unwrap();
    let model = models.iter().find(|m| m["name"].as_str().unwrap().ends_with(target)).unwrap();
    let top1 = model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"].as_array().unwrap().iter().find(|x| x["type"] == "top-1 accuracy").unwrap();
    assert_eq!(top1["value"], format!("{:.4}", results["suites"]["accuracy"]["top1"]["value"].as_f64().unwrap()));
    let map = bom["declarations"]["attestations"][0]["map"].as_array().unwrap();
    let v = verdicts();
    assert_eq!(map.len(), v.len());
    assert_eq!(map.iter().filter(|m| m["claims"].is_array()).count(), v.iter().filter(|v| *v == "PASS").count(), "a claim only for PASS");
    assert_eq!(map.iter().filter(|m| m["counterClaims"].is_array()).count(), v.iter().filter(|v| *v == "FAIL").count(), "a counter-claim only for FAIL");
    assert_eq!(map.iter().filter(|m| m["confidence"]["score"] == 0.0).count(), v.iter().filter(|v| *v != "PASS" && *v != "FAIL").count(), "undecided verdicts carry no confidence");
    let Some(schemas) = schemas() else { return skip("../shared/reference/schemas is missing: CycloneDX validation not run") };
    let s16 = schemas.join("cyclonedx/bom-1.6.schema.json");
    let errors = schema_errors(&s16, &bom);
    assert!(errors.is_empty(), "bom.cdx.json invalid: {errors:#?}");
    let mut broken = bom.clone();
    let i = broken["components"].as_array().unwrap().iter().position(|c| c["type"] == "machine-learning-model").unwrap();
    broken["components"][i]["type"] = json!("ml-model");
    assert!(!schema_errors(&s16, &broken).is_empty(), "the schema accepted component type `ml-model`");
    // 1.5: the same BOM without declarations.
    let package = aite_report::Package::read(package()).unwrap();
    let bom15 = aite_report::cyclonedx(&package, aite_report::SpecVersion::V1_5).unwrap();
    assert!(bom15.get("declarations").is_none());
    let s15 = schemas.join("cyclonedx/bom-1.5.schema.json");
    let errors = schema_errors(&s15, &bom15);
    assert!(errors.is_empty(), "CycloneDX 1.5 invalid: {errors:#?}");
    let mut broken = bom15.clone();
    broken["bomFormat"] = json!("SPDX");
    assert!(!schema_errors(&s15, &broken).is_empty());
}

#[test]
fn sarif_findings_are_valid_2_1_0() {
    let sarif = read_json(&package().join("findings.sarif"));
    let Some(schemas) = schemas() else { return skip("../shared/reference/schemas is missing: SARIF validation not run") };
    let schema = schemas.join("sarif/sarif-schema-2.1.0.json");
    let errors = schema_errors(&schema, &sarif);
    assert!(errors.is_empty(), "findings.sarif invalid: {errors:#?}");
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(!schema_errors(&schema, &broken).is_empty(), "the schema accepted level `fatal`");
}

/// External references of an HTML document: `src`/`href` values that are not
/// fragments or data URIs, plus any `<script`, `<link`, `@import` or `url(`.
fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_lowercase();
    let mut out = Vec::new();
    for attr in ["src=", "href=", "xlink:href="] {
        let mut rest = lower.as_str();
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let value = rest.trim_start_matches(['"', '\'']);
            if !(value.starts_with('#') || value.starts_with("data:")) {
                out.push(format!("{attr}{}", &value[..value.len().min(40)]));
            }
        }
    }
    for tag in ["<script", "<link", "@import", "url(", "<iframe", "<object", "<embed"] {
        if lower.contains(tag) {
            out.push(tag.to_string());
        }
    }
    out
}

#[test]
fn html_report_is_self_contained_and_has_every_section() {
    let html = std::fs::read_to_string(package().join("report.html")).unwrap();
    assert_eq!(external_references(&html), Vec::<String>::new());
    // The checker is not vacuous.
    assert!(!external_references(&html.replacen("<body>", r#"<body><img src="https://example.com/x.png">"#, 1)).is_empty());
    assert!(!external_references(&html.replacen("</style>", "@import 'x.css';</style>", 1)).is_empty());
    let a = assessment();
    for r in a["requirements"].as_array().unwrap() {
        assert!(html.contains(r["id"].as_str().unwrap()), "requirement {} missing", r["id"]);
    }
    let order = ["Gap analysis", "Architecture", "Latency", "Robustness", "Security", "Environment", "Evidence manifest", "End of report"];
    let positions: Vec<usize> = order.iter().map(|h| html.find(h).unwrap_or_else(|| panic!("section {h} missing"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "sections out of order: {positions:?}");
    assert!(html.contains("Provisional thresholds"), "the reference profile's thresholds are provisional: the cover must say so");
    assert!(html.contains("Results relate only to the item tested"));
    // Charts and diagrams are inline SVG: histogram, CDF, stage bar, drift, periodic timeline, heatmap, model graphs, setup.
    assert!(html.matches("<svg").count() >= 10, "{} SVGs", html.matches("<svg").count());
    assert!(html.contains("float → int8"), "the int8 model's quantization boundary is drawn");
    for stage in ["stem", "blocks", "head"] {
        assert!(html.contains(&format!(">{stage}</text>")), "model stage {stage} missing");
    }
}

#[test]
fn report_rerenders_byte_identically() {
    let dir = package();
    let names = ["report.html", "junit.xml", "oscal-ar.json", "oscal-ap.json", "bom.cdx.json"];
    let before: Vec<Vec<u8>> = names.iter().map(|n| std::fs::read(dir.join(n)).unwrap()).collect();
    let r = run(aite().arg("report").arg(dir));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (n, b) in names.iter().zip(before) {
        assert!(std::fs::read(dir.join(n)).unwrap() == b, "{n} changed on re-render");
    }
    // The manifest covers the rendered files.
    let manifest = read_json(&dir.join("manifest.json"));
    for n in names {
        assert!(manifest["files"][n].is_string(), "{n} not in manifest.json");
    }
}

#[test]
fn report_names_a_missing_or_broken_package() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(aite().arg("report").arg(tmp.path().join("nope")));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("nope"), "{}", r.stderr);
    std::fs::write(tmp.path().join("results.json"), b"{}").unwrap();
    let r = run(aite().arg("report").arg(tmp.path()));
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("assessment.json"), "{}", r.stderr);
    std::fs::write(tmp.path().join("assessment.json"), b"{\"schema\": 1").unwrap();
    let r = run(aite().arg("report").arg(tmp.path()));
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("assessment.json") && !r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn html_report_loads_in_a_headless_browser() {
    let Some(browser) = aite_report::find_browser() else { return skip("no chromium-headless-shell or chromium on PATH: browser test not run") };
    let dir = package();
    let shot = dir.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let out = browser
        .command()
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--enable-logging=stderr", "--v=0", "--window-size=1000,1400", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", dir.join("report.html").display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains("CONSOLE") || l.contains("Failed to load resource") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let img = image::open(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}); browser stderr: {stderr}")).to_rgb8();
    let dark = img.pixels().filter(|p| p.0.iter().map(|&c| c as u32).sum::<u32>() < 300).count();
    let colours: std::collections::BTreeSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(dark > 2000 && colours.len() > 20, "screenshot looks blank: {dark} dark pixels, {} colours", colours.len());
    println!("screenshot: {}", shot.display());
}

#[test]
fn pdf_has_pages_the_report_id_and_every_verdict() {
    let Some(_) = aite_report::find_browser() else { return skip("no chromium-headless-shell or chromium on PATH: PDF not printed") };
    let (Some(pdfinfo), Some(pdftotext)) = (on_path("pdfinfo"), on_path("pdftotext")) else { return skip("pdfinfo/pdftotext (poppler-utils) missing: PDF not checked") };
    let dir = package();
    let files = aite_report::render_package(dir, &aite_report::RenderOptions { pdf: true, template: None }).unwrap();
    let pdf = files.iter().find(|f| f.name == "report.pdf").expect("report.pdf rendered");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("report.pdf");
    std::fs::write(&path, &pdf.bytes).unwrap();
    let info = String::from_utf8(Command::new(pdfinfo).arg(&path).output().unwrap().stdout).unwrap();
    let pages: usize = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap();
    assert!(pages >= 1);
    let text = String::from_utf8(Command::new(pdftotext).arg("-layout").arg(&path).arg("-").output().unwrap().stdout).unwrap();
    let package = aite_report::Package::read(dir).unwrap();
    assert!(text.contains(&package.report_id()), "report id missing from the PDF");
    for v in verdicts() {
        assert!(text.contains(&v), "verdict {v} missing from the PDF");
    }
    assert!(text.contains(&format!("page 1 of {pages}")), "footer `page 1 of {pages}` missing");
}

/// Every verdict, including ERROR (the demo has none), gives valid JUnit and OSCAL with the agreed mapping.
#[test]
fn every_verdict_maps_to_valid_junit_and_oscal() {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(package()).unwrap() {
        let e = entry.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
        }
    }
    let mut a = assessment();
    let reqs = a["requirements"].as_array_mut().unwrap();
    assert!(reqs.len() >= 6);
    let set = |r: &mut Value, verdict: &str, key: Option<(&str, &str)>| {
        let o = r.as_object_mut().unwrap();
        o.remove("why");
        o.remove("cause");
        o.insert("verdict".into(), json!(verdict));
        if let Some((k, v)) = key {
            o.insert(k.into(), json!(v));
        }
    };
    set(&mut reqs[0], "PASS", None);
    set(&mut reqs[1], "FAIL", None);
    set(&mut reqs[2], "INCONCLUSIVE", None);
    set(&mut reqs[3], "NOT_APPLICABLE", Some(("why", "no periodic scenario on this terminal")));
    set(&mut reqs[4], "NOT_TESTED", Some(("why", "suite did not run")));
    set(&mut reqs[5], "ERROR", Some(("cause", "results.json value unreadable")));
    std::fs::write(tmp.path().join("assessment.json"), serde_json::to_vec_pretty(&a).unwrap()).unwrap();
    let files = aite_report::render_package(tmp.path(), &aite_report::RenderOptions::default()).unwrap();
    let get = |n: &str| files.iter().find(|f| f.name == n).unwrap().bytes.clone();
    let ar: Value = serde_json::from_slice(&get("oscal-ar.json")).unwrap();
    let findings = ar["assessment-results"]["results"][0]["findings"].as_array().unwrap();
    let states: Vec<(String, String)> = findings[..6].iter().map(|f| (f["target"]["status"]["state"].as_str().unwrap().into(), f["target"]["status"]["reason"].as_str().unwrap().into())).collect();
    let expected = [("satisfied", "pass"), ("not-satisfied", "fail"), ("not-satisfied", "inconclusive"), ("not-satisfied", "not-applicable"), ("not-satisfied", "not-tested"), ("not-satisfied", "error")];
    assert_eq!(states, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    let xml = String::from_utf8(get("junit.xml")).unwrap();
    assert!(xml.contains(r#"type="ERROR""#) && xml.contains(r#"type="INCONCLUSIVE""#) && xml.contains("NOT_APPLICABLE: no periodic scenario"));
    let Some(schemas) = schemas() else { return skip("../shared/reference/schemas is missing: validation not run") };
    let errors = schema_errors(&schemas.join("oscal/oscal_assessment-results_schema-1.1.3.json"), &ar);
    assert!(errors.is_empty(), "{errors:#?}");
    let Some(xmllint) = on_path("xmllint") else { return skip("xmllint (libxml2-utils) missing: JUnit XSD validation not run") };
    let f = tmp.path().join("junit.xml");
    std::fs::write(&f, &xml).unwrap();
    for xsd in ["JUnit.xsd", "junit-10.xsd"] {
        let out = Command::new(&xmllint).args(["--noout", "--schema"]).arg(schemas.join("junit").join(xsd)).arg(&f).output().unwrap();
        assert!(out.status.success(), "{xsd}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn a_lab_template_replaces_the_embedded_one_and_its_errors_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("lab.html");
    std::fs::write(&good, "<p>Lab X report {{ report_id }}: {{ overall }} {% for r in requirements %}{{ r.id }}={{ r.verdict }} {% endfor %}</p>\n").unwrap();
    let files = aite_report::render_package(package(), &aite_report::RenderOptions { pdf: false, template: Some(good.clone()) }).unwrap();
    let html = String::from_utf8(files.iter().find(|f| f.name == "report.html").unwrap().bytes.clone()).unwrap();
    let id = aite_report::Package::read(package()).unwrap().report_id();
    assert!(html.starts_with(&format!("<p>Lab X report {id}: {}", assessment()["overall"].as_str().unwrap())), "{html}");
    let bad = tmp.path().join("broken.html");
    std::fs::write(&bad, "<p>\n{% for r in requirements %}\n{{ r.id }</p>\n").unwrap();
    let r = run(aite().arg("report").arg(package()).arg("--template").arg(&bad));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("broken.html") && r.stderr.contains(":3"), "{}", r.stderr);
}

/// The schemas are the published files (SHA256SUMS), and the validator set-up accepts the
/// upstream valid fixtures and rejects the invalid ones.
#[test]
fn schemas_match_their_hashes_and_judge_the_upstream_fixtures() {
    let Some(schemas) = schemas() else { return skip("../shared/reference/schemas is missing") };
    let sums = std::fs::read_to_string(schemas.join("SHA256SUMS")).unwrap();
    let mut checked = 0;
    for line in sums.lines() {
        let Some((hash, file)) = line.split_once("  ") else { continue };
        if ["junit/", "sarif/", "oscal/", "cyclonedx/"].iter().any(|d| file.trim_start_matches("./").starts_with(d)) {
            assert_eq!(aite_engine::sha256_file(&schemas.join(file)).unwrap(), hash, "{file} differs from SHA256SUMS");
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked} schema files checked");
    let cdx = |v: &str| schemas.join(format!("cyclonedx/bom-{v}.schema.json"));
    let fixture = |f: &str| read_json(&schemas.join(f));
    assert!(schema_errors(&cdx("1.6"), &fixture("cyclonedx/fixtures/valid-machine-learning-1.6.json")).is_empty());
    assert!(schema_errors(&cdx("1.5"), &fixture("cyclonedx/fixtures/valid-machine-learning-1.5.json")).is_empty());
    for bad in ["invalid-bomformat-1.5.json", "invalid-component-type-1.5.json", "invalid-hash-sha256-1.5.json"] {
        assert!(!schema_errors(&cdx("1.5"), &fixture(&format!("cyclonedx/fixtures/{bad}"))).is_empty(), "{bad} accepted");
    }
    let oscal = schemas.join("oscal/oscal_assessment-results_schema-1.1.3.json");
    assert!(schema_errors(&oscal, &fixture("oscal/fixtures/ifa_assessment-results-example.json")).is_empty());
}
