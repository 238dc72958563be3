//! Helpers shared by the robustness integration tests: where ../shared is, which
//! peer Python runs the reference scripts, what a missing one does, and the real
//! images the peer tests compare on.

#![allow(dead_code)]

use image::RgbImage;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A test that cannot run because `why` (a peer or an asset is missing): under
/// `AITE_REQUIRE_PEERS=1` (`.ci/run` sets it) the test fails, otherwise it prints
/// why it is skipped.
pub fn skip_or_fail(why: &str) {
    if std::env::var("AITE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("required peer missing: {why}");
    }
    eprintln!("skipped: {why}");
}

/// ../shared/assets when `needs` (a path inside it) is there; otherwise
/// [`skip_or_fail`] with `why`.
pub fn shared_assets(needs: &str, why: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets");
    if p.join(needs).exists() {
        Some(p)
    } else {
        skip_or_fail(why);
        None
    }
}

/// The peer virtualenv's interpreter named by `AITE_PEER_PYTHON`, which must have
/// `packages` (said in the skip message); otherwise [`skip_or_fail`].
pub fn peer_python(packages: &str) -> Option<PathBuf> {
    match std::env::var_os("AITE_PEER_PYTHON") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            skip_or_fail(&format!("AITE_PEER_PYTHON is not set to a Python with {packages} (bash .ci/run builds target/peers-venv)"));
            None
        }
    }
}

/// Run the peer script `tests/peers/<script>` on `jobs` (written to `work/jobs.json`);
/// returns the JSON it prints.
pub fn run_peer(python: &Path, script: &str, work: &Path, jobs: &serde_json::Value) -> serde_json::Value {
    let file = work.join("jobs.json");
    std::fs::write(&file, serde_json::to_vec(jobs).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers").join(script);
    let out = Command::new(python).arg(&script).arg(&file).output().expect("peer python runs");
    assert!(out.status.success(), "peer failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("peer printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn load(p: &Path) -> RgbImage {
    image::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).to_rgb8()
}

/// 224x224 centre crops of the first `n` imagenet-sample JPEGs (shorter side 256).
pub fn imagenet_crops(a: &Path, n: usize) -> Vec<RgbImage> {
    let dir = a.join("data/imagenet-sample/images");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "JPEG" || e == "jpeg" || e == "jpg")).collect();
    names.sort();
    names
        .iter()
        .take(n)
        .map(|p| {
            let img = load(p);
            let (w, h) = img.dimensions();
            image::imageops::crop_imm(&img, (w - 224) / 2, (h - 224) / 2, 224, 224).to_image()
        })
        .collect()
}
