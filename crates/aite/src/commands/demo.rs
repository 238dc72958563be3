//! `aite demo`: `aite run` on the reference terminal embedded in this binary,
//! with its bundled profile: the int8 model is the deployed one, the fp32
//! model its reference, the 300 held-out digits the dataset, and the rootfs
//! aite builds (with planted weaknesses) the firmware, and an in-process device on
//! 127.0.0.1 (with planted weaknesses too) the running terminal the probe reaches. The reference
//! detector (int8 deployed, fp32 reference, 100 labeled scenes) is evaluated too: COCO AP, agreement
//! and the corruption sweep (mPC / rPC). The package is signed
//! with a demo key kept beside it, so `aite verify` can be tried at once.

use super::run::{execute, print_summary, ImageSource, ModelSource, Plan, ProbeTarget, RunOptions};
use crate::cli::DemoArgs;
use crate::common::engine_kind;
use crate::config::{LatencySuite, NetworkSuite, PeriodicSuite, RobustnessSuite, SecuritySuite};
use crate::exit::Exit;
use aite_target::Cancel;
use crate::common::load_frames;
use aite_engine::{load_target_from_bytes, EngineKind, EngineOptions};
use aite_evidence::InputArtifact;
use aite_robustness::attack::{run_detector_attack_shard, DetectorAttackSettings, DetectorGoal};
use aite_robustness::corruption::{image_to_rgb8, ImagenetCJpeg, SweepOptions};
use aite_robustness::{AttackKind, AttackSettings};
use aite_accuracy::{detection_accuracy, DetectionSample};
use aite_task::{DetectionLabels, LabelBox, LabelFormat, LabeledImage, Postprocess};
use anyhow::{Context, Result};
use serde::Serialize;
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
    let detector = DetectorPlan::new(quick);
    let engine = engine_kind(a.engine);
    let profile = aite_assessment::shipped("reference-terminal")?;
    let plan = Plan {
        command: "demo",
        config: serde_json::json!({
            "command": "demo", "engine": engine.name(), "quick": quick, "latency": latency, "periodic": periodic, "robustness": robustness, "detector": detector,
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
        task: None,
        labels: None,
        detector: Some(detector),
        ocr: Default::default(),
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

/// The reference detector, evaluated beside the classifier: its embedded fp32 and int8 QDQ
/// models on the 100 held-out labeled scenes.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorPlan {
    /// Corruptions of the sweep (`all`, or names).
    pub corruptions: String,
    pub severities: Vec<u8>,
    /// Bootstrap resamples of mPC / rPC.
    pub resamples: usize,
    /// The first this many scenes are swept (AP and agreement use all of them).
    pub sweep_scenes: usize,
    /// The vanishing attack (Square L-inf, 8/255, with its noise baseline) on the first this many scenes.
    pub attack_scenes: usize,
    /// Queries per scene, the verification query included.
    pub attack_budget: usize,
}

impl DetectorPlan {
    /// `--quick`: three corruptions (noise, blur, compression) at severities 1, 3, 5 on the first
    /// 50 scenes with 30 resamples, the attack on 3 scenes at 100 queries; otherwise the published protocol's 15 ImageNet-C corruptions x 5
    /// severities (Michaelis et al. 2019) on the first 50 scenes with 50 resamples, the attack on 5 scenes at 200
    /// queries (about 35 s of a debug build on two busy cores: each of the 75 cells runs every
    /// scene, and each resample scores every cell).
    fn new(quick: bool) -> Self {
        if quick {
            DetectorPlan { corruptions: "gaussian_noise,motion_blur,jpeg_compression".into(), severities: vec![1, 3, 5], resamples: 30, sweep_scenes: 50, attack_scenes: 3, attack_budget: 100 }
        } else {
            DetectorPlan { corruptions: "imagenet-c".into(), severities: vec![1, 2, 3, 4, 5], resamples: 50, sweep_scenes: 50, attack_scenes: 5, attack_budget: 200 }
        }
    }
}

/// What the detector step measured: suites, raw files (suite, name, bytes) and the inputs.
pub struct DetectorEvidence {
    pub suites: Vec<(&'static str, serde_json::Value)>,
    pub files: Vec<(&'static str, &'static str, Vec<u8>)>,
    pub inputs: Vec<InputArtifact>,
}

/// The detector step of `aite demo`: COCO AP / AP50 of int8 (deployed) and fp32 (reference)
/// against the scenes' labels, fp32-vs-int8 agreement, and the corruption sweep (mPC / rPC,
/// Michaelis et al. 2019) of the deployed model against the labels, and the vanishing attack.
pub fn detector_step(plan: &DetectorPlan, engine: EngineKind, options: &EngineOptions, cancel: &Cancel, quiet: bool) -> Result<DetectorEvidence> {
    use aite_robustness::corruption::detection::{detection_sweep, DetectionFrame, DetectionGroundTruth, GroundTruthBox};
    let spec = aite_reference::detector_preprocess();
    let post = Postprocess::new(aite_reference::detector_task());
    let scenes = aite_reference::scenes();
    let ds = aite_data::Dataset::in_memory(
        "reference:detector-scenes",
        scenes.iter().map(|s| (s.file_name.clone(), std::sync::Arc::<[u8]>::from(s.png), None)).collect(),
        (0..10).map(|d| d.to_string()).collect(),
    );
    let (loaded, _) = load_frames(&ds, &spec, scenes.len(), true)?;
    let frames: Vec<DetectionFrame> = loaded.iter().map(|f| DetectionFrame { id: f.id.clone(), image: image_to_rgb8(&f.image, spec.color) }).collect();
    let models = [("digit_detector_int8_qdq.onnx", aite_reference::DETECTOR_INT8_QDQ), ("digit_detector_fp32.onnx", aite_reference::DETECTOR_FP32)];
    let mut targets = vec![];
    let mut inputs = vec![];
    for ((name, bytes), role) in models.iter().zip(["detector-model", "detector-reference-model"]) {
        targets.push(load_target_from_bytes(name, bytes, engine, options).with_context(|| format!("cannot load the reference detector {name}"))?);
        inputs.push(InputArtifact { role: role.into(), name: format!("reference:{name}"), sha256: aite_engine::sha256_bytes(bytes), count: None });
    }
    inputs.push(InputArtifact { role: "detector-dataset".into(), name: aite_reference::DETECTOR_ANNOTATIONS_SOURCE.into(), sha256: aite_engine::sha256_bytes(aite_reference::DETECTOR_ANNOTATIONS.as_bytes()), count: Some(scenes.len()) });
    let mut out = DetectorEvidence { suites: vec![], files: vec![], inputs };
    let labels = DetectionLabels {
        source: PathBuf::from(aite_reference::DETECTOR_ANNOTATIONS_SOURCE),
        format: LabelFormat::CocoJson,
        images: scenes
            .iter()
            .map(|s| LabeledImage {
                id: s.image_id,
                file_name: s.file_name.clone(),
                width: s.width,
                height: s.height,
                boxes: s.boxes.iter().map(|b| LabelBox { category_id: b.category_id, bbox: b.bbox, area: b.bbox[2] * b.bbox[3], iscrowd: false }).collect(),
            })
            .collect(),
        categories: (0..10).map(|c| (c, c.to_string())).collect(),
    };
    let samples: Vec<DetectionSample> = loaded.iter().map(|f| DetectionSample { id: &f.id, image: &f.image }).collect();
    for ((suite, file), target) in [("detection_accuracy", "detections.json"), ("detection_accuracy_reference", "detections-reference.json")].into_iter().zip(targets.iter_mut()) {
        let report = detection_accuracy(target.as_mut(), &spec, &post, &samples, &labels, cancel, &mut |_| {})?;
        out.files.push((suite, file, serde_json::to_vec_pretty(&report.raw)?));
        out.suites.push((suite, serde_json::to_value(&report)?));
    }
    let (deployed, reference) = targets.split_at_mut(1);
    let images: Vec<(String, aite_data::Image)> = loaded.iter().map(|f| (f.id.clone(), f.image.clone())).collect();
    let agreement = aite_robustness::consistency::detection_agreement(reference[0].as_mut(), deployed[0].as_mut(), &spec, &post, &images)?;
    out.suites.push(("detection_agreement", serde_json::to_value(&agreement)?));
    let options = SweepOptions { imagenet_c_jpeg: ImagenetCJpeg::Off, ..super::robustness::sweep_options(&plan.corruptions, &plan.severities, "auto", "auto", 0, None, false)? };
    if !quiet {
        eprintln!("      detector corruption sweep: {} cells x {} scenes", options.all_cells().len(), plan.sweep_scenes.min(frames.len()));
    }
    let n = plan.sweep_scenes.min(frames.len());
    let labels = DetectionGroundTruth::Labels {
        source: aite_reference::DETECTOR_ANNOTATIONS_SOURCE.into(),
        boxes: scenes[..n].iter().map(|s| s.boxes.iter().map(|b| GroundTruthBox { category_id: b.category_id, bbox: b.bbox, iscrowd: false }).collect()).collect(),
    };
    let sweep = detection_sweep(deployed[0].as_mut(), &spec, &post, &frames[..n], &options, &labels, plan.resamples, cancel)?;
    out.files.push(("detection_corruptions", "detection-corruptions.csv", sweep.detections_csv()));
    out.suites.push(("detection_corruptions", serde_json::to_value(&sweep)?));
    // The vanishing attack: every detection of a scene suppressed within 8/255, against the noise baseline.
    let settings = DetectorAttackSettings { goal: DetectorGoal::Vanish, attack: AttackSettings { budget: plan.attack_budget, epsilon: 8.0 / 255.0, ..AttackSettings::autoattack(AttackKind::SquareLinf, 64) } };
    settings.validate()?;
    let n = plan.attack_scenes.min(frames.len());
    let attack = run_detector_attack_shard(deployed[0].as_mut(), &spec, &post, &frames[..n], &settings, (0, 1), vec![], cancel, &mut |_| {})?;
    let suite: &'static str = "detector_attack_square_linf";
    debug_assert_eq!(settings.suite_name(), suite);
    out.files.push((suite, "detector-attack-square-linf.csv", attack.records_csv()));
    out.suites.push((suite, serde_json::to_value(&attack)?));
    Ok(out)
}
