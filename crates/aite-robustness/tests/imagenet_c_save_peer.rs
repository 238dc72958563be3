//! Peer test of make_imagenet_c.py's last step, the JPEG quality-85 save of every
//! corrupted image (`--imagenet-c-jpeg`), against PIL itself
//! (tests/peers/imagenet_c_save_peer.py: `Image.fromarray(np.uint8(img)).save(...,
//! quality=85, optimize=True)` and `Image.open`), on ImageNet-C corruptions of real
//! 224x224 crops from ../shared. Needs `AITE_PEER_PYTHON` and ../shared/assets;
//! without them it skips with a message, or fails under `AITE_REQUIRE_PEERS=1`.

mod common;

use aite_robustness::corruption::{corrupt, imagenet_c_save, CorruptionKind, ParameterTable};
use common::*;

#[test]
fn imagenet_c_q85_save_equals_pil_on_corrupted_inputs() {
    let (Some(a), Some(py)) = (shared_assets("data/imagenet-sample/images", "../shared/assets/data/imagenet-sample is absent (the real images live there)"), peer_python("Pillow and numpy")) else { return };
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
    let info = run_peer(&py, "imagenet_c_save_peer.py", work.path(), &serde_json::Value::Array(jobs));
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
