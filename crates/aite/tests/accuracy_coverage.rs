//! Classifier accuracy on part of a labelled dataset is not a pass: `aite accuracy --profile`
//! on a folder with one truncated JPEG records 29 of 30 samples evaluated and the skipped file,
//! and the accuracy requirement is NOT_TESTED naming them (it passed on the 29 before, as if
//! the run were complete), as detector accuracy with an undecodable frame already was.

mod common;
use common::*;
use std::path::Path;

/// The first `n` reference digits re-encoded as JPEG (quality 100) beside a CSV manifest.
fn jpeg_dataset(dir: &Path, n: usize) -> (std::path::PathBuf, Vec<String>) {
    let root = dir.join("digits");
    std::fs::create_dir_all(&root).unwrap();
    let mut csv = String::from("path,label\n");
    let mut ids = vec![];
    for s in aite_reference::dataset().samples.iter().take(n) {
        let img = image::load_from_memory(&s.bytes().unwrap()).unwrap().to_luma8();
        let id = Path::new(&s.id).with_extension("jpg").display().to_string();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 100).encode_image(&img).unwrap();
        std::fs::write(root.join(&id), jpeg).unwrap();
        csv.push_str(&format!("{id},{}\n", s.label.unwrap()));
        ids.push(id);
    }
    let p = root.join("labels.csv");
    std::fs::write(&p, csv).unwrap();
    (p, ids)
}

#[test]
fn accuracy_with_a_truncated_jpeg_is_not_tested_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = reference_model(dir.path());
    let (csv, ids) = jpeg_dataset(dir.path(), 30);
    let cut = &ids[4];
    let path = csv.parent().unwrap().join(cut);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    // A lab profile with a fixed accuracy threshold, so the requirement is judged without declarations.
    let lab = dir.path().join("lab.toml");
    std::fs::write(&lab, "schema = \"aite.profile/v1\"\nid = \"lab-acc\"\nversion = \"1\"\ntitle = \"Lab accuracy\"\nextends = \"reference-terminal\"\n\n[[override]]\nrequirement = \"ROB-DECLARED-ACCURACY\"\nthreshold = 0.5\nprovenance = { source = \"test\", status = \"lab\" }\n").unwrap();
    let out = dir.path().join("runs");
    let r = run(aite().args(["accuracy", "-p", "digits8", "-m"]).arg(&model).arg("-d").arg(&csv).arg("--profile").arg(&lab).arg("--out").arg(&out));
    let folder = run_folder(&out);
    let res = results(&folder);
    let suite = &res["suites"]["accuracy"];
    assert_eq!((suite["dataset_samples"].as_u64(), suite["evaluated"].as_u64(), suite["missing_samples"].as_u64()), (Some(30), Some(29), Some(1)), "{suite}");
    assert_eq!(suite["skipped"][0]["id"].as_str(), Some(cut.as_str()));
    assert!(suite["skipped"][0]["reason"].as_str().unwrap().contains("truncated"), "{suite}");
    // The 29 decoded digits are classified well enough to pass 0.5: only the missing one holds the verdict back.
    assert!(suite["top1"]["ci95_low"].as_f64().unwrap() > 0.5, "{}", suite["top1"]);
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("assessment.json")).unwrap()).unwrap();
    let req = a["requirements"].as_array().unwrap().iter().find(|r| r["id"] == "ROB-DECLARED-ACCURACY").unwrap();
    assert_eq!(req["verdict"], "NOT_TESTED", "{req}");
    assert_eq!(req["why"].as_str().unwrap(), format!("suite `accuracy` is incomplete: missing_samples = 1 (29 of 30 samples examined; not examined: {cut})"), "{req}");
    assert!(req["note"].as_str().unwrap().ends_with("(would be PASS on complete evidence)"), "{req}");
    assert_eq!((a["overall"].as_str(), r.code), (Some("NOT_TESTED"), 8), "{}\n{}", r.stdout, r.stderr);
}
