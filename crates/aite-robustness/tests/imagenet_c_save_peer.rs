//! Peer test of make_imagenet_c.py's last step, the JPEG quality-85 save of every
//! corrupted image (`--imagenet-c-jpeg`), against PIL itself
//! (tests/peers/imagenet_c_save_peer.py: `Image.fromarray(np.uint8(img)).save(...,
//! quality=85, optimize=True)` and `Image.open`), on ImageNet-C corruptions of real
//! 224x224 crops from ../shared. Needs `AITE_PEER_PYTHON` and ../shared/assets;
//! without them it skips with a message, or fails under `AITE_REQUIRE_PEERS=1`.

use aite_robustness::corruption::{corrupt, imagenet_c_save, CorruptionKind, ParameterTable};
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::process::Command;

fn skip_or_fail(why: &str) {
    if std::env::var("AITE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("required peer missing: {why}");
    }
    eprintln!("skipped: {why}");
}

fn shared_assets() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets");
    if p.join("data/imagenet-sample/images").is_dir() {
        Some(p)
    } else {
        skip_or_fail("../shared/assets/data/imagenet-sample is absent (the real images live there)");
        None
    }
}

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("AITE_PEER_PYTHON") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            skip_or_fail("AITE_PEER_PYTHON is not set to a Python with Pillow and numpy (bash .ci/run builds target/peers-venv)");
            None
        }
    }
}

fn load(p: &Path) -> RgbImage {
    image::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).to_rgb8()
}

/// 224x224 centre crops of the first `n` imagenet-sample JPEGs.
fn imagenet_crops(a: &Path, n: usize) -> Vec<RgbImage> {
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

#[test]
fn imagenet_c_q85_save_equals_pil_on_corrupted_inputs() {
    let (Some(a), Some(py)) = (shared_assets(), peer_python()) else { return };
    let work = tempfile::tempdir().unwrap();
    let kinds = [CorruptionKind::GaussianNoise, CorruptionKind::GlassBlur, CorruptionKind::Snow, CorruptionKind::Frost, CorruptionKind::Pixelate, CorruptionKind::JpegCompression, CorruptionKind::Spatter];
    let mut ours = vec![];
    let mut jobs = vec![];
    for (i, img) in imagenet_crops(&a, 4).iter().enumerate() {
        for (k, &kind) in kinds.iter().enumerate() {
            let severity = 1 + ((i + k) % 5) as u8;
            let corrupted = corrupt(img, kind, severity, ParameterTable::ImagenetC, (i * 31 + k) as u64);
            let input = work.path().join(format!("in{i}-{k}.png"));
            corrupted.save(&input).unwrap();
            jobs.push(serde_json::json!({"in": input, "out": work.path().join(format!("ref{i}-{k}.png"))}));
            ours.push((format!("{kind} s{severity} image {i}"), imagenet_c_save(&corrupted), work.path().join(format!("ref{i}-{k}.png")), corrupted));
        }
    }
    let file = work.path().join("jobs.json");
    std::fs::write(&file, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/imagenet_c_save_peer.py");
    let out = Command::new(&py).arg(&script).arg(&file).output().expect("peer python runs");
    assert!(out.status.success(), "peer failed: {}", String::from_utf8_lossy(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut failures = vec![];
    for (j, (name, mine, reference, corrupted)) in ours.iter().enumerate() {
        assert_eq!(info[j]["subsampling"], 2, "PIL's q85 save is 4:2:0: {}", info[j]);
        let theirs = load(reference);
        let differing = mine.as_raw().iter().zip(theirs.as_raw()).filter(|(x, y)| x != y).count();
        // The save does change the image: the comparison is not trivially equal.
        let changed = mine.as_raw().iter().zip(corrupted.as_raw()).filter(|(x, y)| x != y).count();
        eprintln!("{name}: {differing} of {} values differ from PIL's q85 save ({} bytes); the save changed {changed}", mine.as_raw().len(), info[j]["bytes"]);
        assert!(changed > 0, "{name}: the q85 save left the image unchanged");
        if differing > 0 {
            failures.push(format!("{name}: {differing} values differ"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
