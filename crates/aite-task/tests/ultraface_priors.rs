//! The priors aite generates from the published UltraFace config are the ones the
//! authors baked into their ONNX export (a constant of the graph), byte for byte.

use aite_task::PriorConfig;
use std::path::Path;

#[test]
fn generated_priors_are_the_constant_in_the_published_onnx() {
    let required = std::env::var("AITE_REQUIRE_PEERS").is_ok_and(|v| v == "1");
    for model in ["version-RFB-320.onnx", "version-slim-320.onnx"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/models/face-ultraface").join(model);
        let Ok(bytes) = std::fs::read(&path) else {
            assert!(!required, "AITE_REQUIRE_PEERS=1 but {} is missing", path.display());
            eprintln!("skipped: {} not found (../shared is absent)", path.display());
            return;
        };
        let priors = PriorConfig::ultraface_320().generate();
        assert_eq!(priors.len(), 4420);
        // The exporter folded the decoding's slices: centres and sizes are two [4420, 2] constants.
        let centres: Vec<u8> = priors.iter().flat_map(|p| [p.cx, p.cy]).flat_map(f32::to_le_bytes).collect();
        let sizes: Vec<u8> = priors.iter().flat_map(|p| [p.w, p.h]).flat_map(f32::to_le_bytes).collect();
        for (what, needle) in [("centres", centres), ("sizes", sizes)] {
            assert!(bytes.windows(needle.len()).any(|w| w == needle.as_slice()), "{model}: the 4420 generated prior {what} are not a constant of the graph");
        }
    }
}
