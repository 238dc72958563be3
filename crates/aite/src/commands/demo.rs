//! `aite demo`: `aite run` on the reference terminal embedded in this binary,
//! with its bundled profile: the int8 model is the deployed one, the fp32
//! model its reference, the 300 held-out digits the dataset, and the rootfs
//! aite builds (with planted weaknesses) the firmware, and an in-process device on
//! 127.0.0.1 (with planted weaknesses too) the running terminal the probe reaches. The package is signed
//! with a demo key kept beside it, so `aite verify` can be tried at once.

use super::run::{execute, print_summary, ImageSource, ModelSource, Plan, ProbeTarget, RunOptions};
use crate::cli::DemoArgs;
use crate::common::engine_kind;
use crate::config::{LatencySuite, NetworkSuite, PeriodicSuite, RobustnessSuite, SecuritySuite};
use crate::exit::Exit;
use aite_target::Cancel;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The demo key pair in `out`, made once: (private key, public key).
fn demo_key(out: &Path) -> Result<(PathBuf, PathBuf)> {
    let key = out.join("demo-signing-key.pem");
    let public = out.join("demo-signing-key.pub.pem");
    if !(key.is_file() && public.is_file()) {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let (private_pem, public_pem) = aite_evidence::attest::generate_key();
        aite_evidence::write_atomic(&key, private_pem.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600));
        }
        aite_evidence::write_atomic(&public, public_pem.as_bytes())?;
    }
    Ok((key, public))
}

pub fn run(a: DemoArgs, cancel: &Cancel) -> Result<u8> {
    let quick = a.quick;
    let facts = aite_reference::facts();
    let declared = serde_json::json!({
        // What the reference terminal's maker declares: the int8 model's accuracy
        // as measured by ONNX Runtime when the terminal was built, and its frame rate.
        "top1_accuracy": facts.accuracy_int8_qdq,
        "fps": 200.0,
        "terminal": {
            "manufacturer": "aite project",
            "model": aite_reference::NAME,
            "hardware_revision": "host",
            "serial": "demo",
            "firmware_version": env!("CARGO_PKG_VERSION"),
        },
    });
    let latency = LatencySuite { enabled: true, duration_ms: if quick { 300 } else { 3000 }, min_queries: 1024, percentile: 0.90, frames: 64 };
    let periodic = PeriodicSuite { enabled: true, fps: Some(200.0), burst_frames: 10, idle_ms: if quick { 20.0 } else { 200.0 }, min_queries: if quick { 100 } else { 200 } };
    let robustness = RobustnessSuite {
        enabled: true,
        consistency_frames: 100,
        repeats: 3,
        corruptions: "all".into(),
        severities: if quick { vec![1, 3, 5] } else { vec![1, 2, 3, 4, 5] },
        corruption_frames: if quick { 50 } else { 100 },
        attack_frames: if quick { 20 } else { 40 },
        attack_budget: if quick { 300 } else { 1000 },
        epsilon_255: 8.0,
    };
    let engine = engine_kind(a.engine);
    let profile = aite_assessment::shipped("reference-terminal")?;
    let plan = Plan {
        command: "demo",
        config: serde_json::json!({
            "command": "demo", "engine": engine.name(), "quick": quick, "latency": latency, "periodic": periodic, "robustness": robustness,
            "lab": { "name": "aite demo (no laboratory: an automated demonstration)", "operator": "aite demo", "signer": a.signer },
        }),
        declared: declared.as_object().cloned().unwrap_or_default(),
        profile,
        engine,
        threads: 1,
        batch: 4,
        model: ModelSource::Embedded { name: "digits_cnn_int8_qdq.onnx", bytes: aite_reference::MODEL_INT8_QDQ },
        reference: Some(ModelSource::Embedded { name: "digits_cnn_fp32.onnx", bytes: aite_reference::MODEL_FP32 }),
        dataset: Some(aite_reference::dataset()),
        preprocess: None,
        spec: Some(aite_reference::preprocess()),
        latency,
        periodic,
        robustness,
        security: SecuritySuite::default(),
        image: Some(ImageSource::ReferenceRootfs),
        network: NetworkSuite::default(),
        probe: Some(ProbeTarget::ReferenceDevice),
    };
    let (key, public) = match &a.sign {
        Some(k) => (k.clone(), None),
        None => {
            let (k, p) = demo_key(&a.output.out)?;
            (k, Some(p))
        }
    };
    let opts = RunOptions {
        out: a.output.out.clone(),
        json: a.output.json,
        // The demo always starts anew: it is a demonstration, not a campaign.
        fresh: true,
        sign: Some((key, a.signer.clone())),
        db: a.history.db.clone(),
        record_history: !a.history.no_history,
    };
    let (code, dir, assessment) = execute(plan, opts, cancel)?;
    print_summary(&assessment, &dir, a.output.json)?;
    if code == Exit::Interrupted as u8 {
        return Ok(code);
    }
    if !a.output.json {
        if let Some(p) = public {
            println!("verify: aite verify {} --public-key {}", dir.display(), p.display());
        }
        println!(
            "note: the reference rootfs carries planted weaknesses, so the demo's verdict is {} by design; \
             `aite demo` exits 0 once its package is written, `aite run` exits with the verdict's code",
            serde_json::to_value(assessment.overall)?.as_str().unwrap_or("?")
        );
    }
    Ok(Exit::Ok as u8)
}
