//! Vanishing and mislabelling attacks on detectors (issue 16, "Adversarial").
//!
//! Toy detectors whose scores are hand-computable functions of the pixels are the oracle:
//! a half-image mean brightness can be pushed below the threshold by an L-inf step of eps
//! only when it starts within eps of it, a constant detector never vanishes, and a frame
//! without a clean detection is never attacked. With ../shared present, UltraFace slim-320
//! on real face photos gives a measured success rate (printed; only its bookkeeping is
//! asserted). Skips with a message without ../shared, fails instead under `AITE_REQUIRE_PEERS=1`.

mod common;

use aite_data::PreprocessSpec;
use aite_robustness::attack::detection::{merge_detector_attack_reports, run_detector_attack_shard};
use aite_robustness::attack::{run_detector_attack, DetectorAttackOutcome, DetectorAttackReport, DetectorAttackSettings, DetectorGoal, GoalApplicability};
use aite_robustness::corruption::detection::DetectionFrame;
use aite_robustness::{AttackKind, AttackSettings, Channel};
use aite_target::{Cancel, DType, Dim, Target, TargetError, TargetInfo, Tensor, TensorSpec};
use aite_task::{DetectorSpec, Postprocess, TaskSpec};
use image::RgbImage;
use std::path::PathBuf;

/// What the toy detector computes from its NHWC input in 0..=255.
#[derive(Clone, Copy)]
enum Toy {
    /// Two anchors, "face" score = mean brightness / 255 of the left and of the right half.
    HalfMeans,
    /// One anchor scoring 0.9 whatever the input.
    Constant,
    /// Two classes on one anchor: cat = mean / 255, dog = 1 - cat.
    CatOrDog,
    /// One anchor scoring 0.9 on odd calls and 0.1 on even ones, whatever the input.
    Flaky,
}

/// A toy detector that counts every inference (the attack's queries plus the clean ones).
struct ToyDetector {
    toy: Toy,
    info: TargetInfo,
    calls: usize,
    /// Fail every inference after this many (target errors).
    fail_after: Option<usize>,
}

impl ToyDetector {
    fn new(toy: Toy) -> Self {
        let spec = |name: &str, shape: Vec<Dim>| TensorSpec { name: name.into(), shape, dtype: DType::F32 };
        let info = TargetInfo {
            name: "toy-detector".into(),
            engine: "test".into(),
            engine_version: "0".into(),
            threads: 1,
            inputs: vec![spec("x", vec![Dim::Fixed(1), Dim::Fixed(16), Dim::Fixed(16), Dim::Fixed(3)])],
            outputs: vec![spec("scores", vec![Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(2)]), spec("boxes", vec![Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(4)])],
        };
        ToyDetector { toy, info, calls: 0, fail_after: None }
    }
}

impl Target for ToyDetector {
    fn info(&self) -> &TargetInfo {
        &self.info
    }
    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        self.calls += 1;
        if self.fail_after.is_some_and(|n| self.calls > n) {
            return Err(TargetError::Inference { target: "toy".into(), reason: "the toy device stopped answering".into() });
        }
        let v = inputs[0].to_f32_vec();
        let (w, c) = (16, 3);
        let half = |right: bool| {
            let vals: Vec<f32> = v.iter().enumerate().filter(|(i, _)| (i / c % w >= w / 2) == right).map(|(_, &x)| x).collect();
            vals.iter().sum::<f32>() / vals.len() as f32 / 255.0
        };
        let mean = v.iter().sum::<f32>() / v.len() as f32 / 255.0;
        let (scores, boxes) = match self.toy {
            Toy::HalfMeans => {
                let (l, r) = (half(false), half(true));
                (Tensor::f32(vec![1, 2, 2], vec![1.0 - l, l, 1.0 - r, r])?, Tensor::f32(vec![1, 2, 4], vec![0.0, 0.0, 0.5, 1.0, 0.5, 0.0, 1.0, 1.0])?)
            }
            Toy::Constant => (Tensor::f32(vec![1, 1, 2], vec![0.1, 0.9])?, Tensor::f32(vec![1, 1, 4], vec![0.2, 0.2, 0.8, 0.8])?),
            Toy::Flaky => {
                let s = if self.calls % 2 == 1 { 0.9 } else { 0.1 };
                (Tensor::f32(vec![1, 1, 2], vec![1.0 - s, s])?, Tensor::f32(vec![1, 1, 4], vec![0.2, 0.2, 0.8, 0.8])?)
            }
            Toy::CatOrDog => (Tensor::f32(vec![1, 1, 3], vec![0.0, mean, 1.0 - mean])?, Tensor::f32(vec![1, 1, 4], vec![0.2, 0.2, 0.8, 0.8])?),
        };
        Ok(vec![scores, boxes])
    }
}

fn task() -> Postprocess {
    Postprocess::new(TaskSpec::Detector(DetectorSpec { background_class: true, score_threshold: 0.5, nms_iou: 0.5, ..Default::default() }))
}

/// A 16x16 frame whose left and right halves have grey levels `left` and `right` (plus a little texture).
fn frame(id: &str, left: u8, right: u8) -> DetectionFrame {
    DetectionFrame { id: id.into(), image: RgbImage::from_fn(16, 16, |x, y| {
        let g = if x < 8 { left } else { right };
        let t = ((x + y) % 2) as u8;
        image::Rgb([g.saturating_add(t), g.saturating_sub(t), g])
    }) }
}

fn spec() -> PreprocessSpec {
    PreprocessSpec::parse_cli("layout=nhwc").unwrap()
}

fn settings(kind: AttackKind, budget: usize, goal: DetectorGoal) -> DetectorAttackSettings {
    DetectorAttackSettings { goal, attack: AttackSettings { budget, seed: 7, epsilon: 8.0 / 255.0, ..AttackSettings::autoattack(kind, 16) } }
}

fn attack(toy: &mut ToyDetector, frames: &[DetectionFrame], s: &DetectorAttackSettings) -> DetectorAttackReport {
    run_detector_attack(toy, &spec(), &task(), frames, s).unwrap()
}

/// Outcomes are well-formed and the counts add up, whatever the detector.
fn check_bookkeeping(r: &DetectorAttackReport, budget: usize) {
    assert_eq!(r.records.len() + r.missing_frames, r.frames, "{r:?}");
    let attacked = r.records.iter().filter(|x| x.attack.outcome.is_attacked()).count();
    let none = r.records.iter().filter(|x| x.attack.outcome == DetectorAttackOutcome::NoCleanDetection).count();
    let errors = r.records.iter().filter(|x| matches!(x.attack.outcome, DetectorAttackOutcome::TargetError { .. }) || matches!(x.noise.outcome, DetectorAttackOutcome::TargetError { .. })).count();
    assert_eq!((r.attacked, r.no_clean_detection, r.target_errors), (attacked, none, errors));
    let won = r.records.iter().filter(|x| x.attack.outcome.is_success()).count();
    match &r.success_rate {
        Some(p) => assert_eq!((p.successes, p.trials), (won, attacked)),
        None => assert_eq!(attacked, 0),
    }
    for x in &r.records {
        for a in [&x.attack, &x.noise] {
            assert!(a.queries <= budget, "{} spent {} of {budget}", x.id, a.queries);
            match a.outcome {
                DetectorAttackOutcome::Vanished => assert_eq!((a.detections_after, a.max_score_after), (Some(0), None), "{x:?}"),
                DetectorAttackOutcome::Survived => assert!(a.detections_after.is_some(), "{x:?}"),
                DetectorAttackOutcome::NoCleanDetection => assert_eq!((x.clean_detections, a.queries), (0, 0), "{x:?}"),
                _ => {}
            }
        }
        let clean_failed = matches!(x.attack.outcome, DetectorAttackOutcome::TargetError { .. }) && x.attack.queries == 0;
        assert_eq!(x.clean_detections == 0, x.attack.outcome == DetectorAttackOutcome::NoCleanDetection || clean_failed, "{x:?}");
    }
    assert_eq!(r.queries_total, r.records.iter().map(|x| x.attack.queries + x.noise.queries).sum::<usize>());
}

#[test]
fn a_smooth_detector_vanishes_within_epsilon_when_the_threshold_is_in_reach() {
    // Both halves at 130/255 = 0.510: each face score drops below 0.5 with an L-inf step of
    // 8/255 = 0.031 down on 1/3 of the pixels more than up (0.510 - 0.031/3 = 0.4993); at
    // 150/255 = 0.588 neither can (0.588 - 0.031 = 0.557).
    let frames = vec![frame("near", 130, 130), frame("far", 150, 150), frame("one-near-one-far", 130, 150)];
    {
        let kind = AttackKind::SquareLinf;
        let s = settings(kind, 400, DetectorGoal::Vanish);
        let mut toy = ToyDetector::new(Toy::HalfMeans);
        let r = attack(&mut toy, &frames, &s);
        check_bookkeeping(&r, 400);
        let (near, far, mixed) = (&r.records[0], &r.records[1], &r.records[2]);
        assert_eq!(near.clean_detections, 2, "{near:?}");
        assert_eq!(near.attack.outcome, DetectorAttackOutcome::Vanished, "{}: {near:?}", kind.name());
        assert!(near.attack.queries >= 2 && near.attack.queries < 400, "{near:?}");
        assert!(near.attack.linf <= 8.0 / 255.0 + 1e-6, "{near:?}");
        for x in [far, mixed] {
            assert_eq!(x.attack.outcome, DetectorAttackOutcome::Survived, "{}: {x:?}", kind.name());
            assert_eq!(x.attack.queries, 400, "a frame that cannot vanish spends exactly the budget, verification included");
            assert!(x.attack.detections_after.unwrap() >= 1);
        }
        let p = r.success_rate.as_ref().unwrap();
        assert_eq!((p.successes, p.trials), (1, 3));
        assert_eq!(r.queries_median, Some(near.attack.queries as f64));
        // Every inference: one clean query per frame, then the attack's and the noise's.
        assert_eq!(toy.calls, 3 + r.queries_total);
    }
    // L2: the square windows are zero-mean, so a mean-brightness detector resists; the
    // L2 ball and the budget hold (an L2 radius of 0.87 = sqrt(768) * 8/255).
    let mut s = settings(AttackKind::SquareL2, 200, DetectorGoal::Vanish);
    s.attack.epsilon = 0.87;
    let mut toy = ToyDetector::new(Toy::HalfMeans);
    let r = attack(&mut toy, &frames, &s);
    check_bookkeeping(&r, 200);
    for x in &r.records {
        assert!(x.attack.outcome.is_attacked() && x.attack.l2 <= 0.87 + 1e-3 && x.noise.l2 <= 0.87 + 1e-3, "{x:?}");
    }
    assert_eq!(r.records[1].attack.outcome, DetectorAttackOutcome::Survived);
    assert_eq!(toy.calls, 3 + r.queries_total);
}

#[test]
fn a_constant_detector_never_vanishes_and_spends_exactly_the_budget() {
    let frames = vec![frame("a", 10, 10), frame("b", 200, 30)];
    let mut toy = ToyDetector::new(Toy::Constant);
    let r = attack(&mut toy, &frames, &settings(AttackKind::SquareLinf, 50, DetectorGoal::Vanish));
    check_bookkeeping(&r, 50);
    for x in &r.records {
        assert_eq!((&x.attack.outcome, x.attack.queries), (&DetectorAttackOutcome::Survived, 50), "{x:?}");
        assert_eq!((&x.noise.outcome, x.noise.queries), (&DetectorAttackOutcome::Survived, 50), "{x:?}");
        assert_eq!(x.attack.max_score_after, Some(0.9));
    }
    assert_eq!(r.success_rate.as_ref().map(|p| (p.successes, p.trials)), Some((0, 2)));
    assert_eq!(r.noise_success_rate.as_ref().map(|p| (p.successes, p.trials)), Some((0, 2)));
    assert_eq!(toy.calls, 2 * (1 + 50 + 50), "never more queries than the budget");
}

#[test]
fn success_is_the_verification_query_not_the_search_s_belief() {
    // Call 1 (clean) detects; call 2 (the search's first query) sees nothing, so the search
    // stops believing it won; call 3 (verification) detects again: survived, 2 queries.
    let mut toy = ToyDetector::new(Toy::Flaky);
    let r = attack(&mut toy, &[frame("a", 100, 100)], &settings(AttackKind::SquareLinf, 50, DetectorGoal::Vanish));
    check_bookkeeping(&r, 50);
    let x = &r.records[0];
    assert_eq!((&x.attack.outcome, x.attack.queries, x.attack.detections_after), (&DetectorAttackOutcome::Survived, 2, Some(1)), "{x:?}");
    assert_eq!((&x.noise.outcome, x.noise.queries), (&DetectorAttackOutcome::Survived, 2), "{x:?}");
    assert_eq!(r.success_rate.as_ref().map(|p| p.successes), Some(0));
}

#[test]
fn frames_without_a_clean_detection_are_not_applicable_never_successes() {
    // 60/255 = 0.24: no face on the clean frame, so nothing is attacked and nothing counted.
    let frames = vec![frame("dark", 60, 60), frame("near", 130, 130)];
    let mut toy = ToyDetector::new(Toy::HalfMeans);
    let r = attack(&mut toy, &frames, &settings(AttackKind::SquareLinf, 300, DetectorGoal::Vanish));
    check_bookkeeping(&r, 300);
    let dark = &r.records[0];
    assert_eq!((&dark.attack.outcome, &dark.noise.outcome), (&DetectorAttackOutcome::NoCleanDetection, &DetectorAttackOutcome::NoCleanDetection));
    assert_eq!((r.no_clean_detection, r.attacked), (1, 1));
    assert_eq!(r.success_rate.as_ref().map(|p| (p.successes, p.trials)), Some((1, 1)));
    // Only dark frames: no rate at all (not 0%, not 100%).
    let mut toy = ToyDetector::new(Toy::HalfMeans);
    let r = attack(&mut toy, &frames[..1], &settings(AttackKind::SquareLinf, 300, DetectorGoal::Vanish));
    assert_eq!((r.success_rate, r.noise_success_rate, r.queries_mean), (None, None, None));
    assert_eq!(toy.calls, 1, "only the clean query");
}

#[test]
fn the_noise_baseline_vanishes_a_frame_sitting_on_the_threshold_but_not_one_within_reach_only_by_search() {
    // 128/255 = 0.502 on both halves: random +-eps noise pushes half-means around 0.502 +- 0.002,
    // so it vanishes sometimes; 130/255 (6 noise standard deviations off) needs the coordinated push the search makes.
    let frames = vec![frame("edge", 128, 128), frame("near", 130, 130)];
    let mut toy = ToyDetector::new(Toy::HalfMeans);
    let r = attack(&mut toy, &frames, &settings(AttackKind::SquareLinf, 400, DetectorGoal::Vanish));
    check_bookkeeping(&r, 400);
    assert_eq!(r.records[0].noise.outcome, DetectorAttackOutcome::Vanished, "{:?}", r.records[0]);
    assert_eq!(r.records[1].noise.outcome, DetectorAttackOutcome::Survived, "{:?}", r.records[1]);
    assert_eq!(r.records[1].attack.outcome, DetectorAttackOutcome::Vanished, "{:?}", r.records[1]);
    assert_eq!(r.noise_success_rate.as_ref().map(|p| (p.successes, p.trials)), Some((1, 2)));
}

#[test]
fn uint8_channel_jpeg_channel_and_target_errors() {
    let frames = vec![frame("near", 130, 130)];
    for channel in [Channel::Uint8, Channel::Jpeg { quality: 90 }] {
        let mut s = settings(AttackKind::SquareLinf, 300, DetectorGoal::Vanish);
        s.attack.channel = channel;
        let mut toy = ToyDetector::new(Toy::HalfMeans);
        let r = attack(&mut toy, &frames, &s);
        check_bookkeeping(&r, 300);
        assert!(r.records[0].attack.outcome.is_attacked(), "{channel:?}: {:?}", r.records[0]);
    }
    let mut s = settings(AttackKind::SquareLinf, 300, DetectorGoal::Vanish);
    s.attack.channel = Channel::Uint8;
    let mut toy = ToyDetector::new(Toy::HalfMeans);
    assert_eq!(attack(&mut toy, &frames, &s).records[0].attack.outcome, DetectorAttackOutcome::Vanished, "8 grey levels survive 8-bit rounding");
    // A device that stops answering mid-attack: the frame is a target error, out of the rates.
    let mut toy = ToyDetector::new(Toy::Constant);
    toy.fail_after = Some(10);
    let r = attack(&mut toy, &[frame("a", 10, 10), frame("b", 10, 10)], &settings(AttackKind::SquareLinf, 50, DetectorGoal::Vanish));
    check_bookkeeping(&r, 50);
    assert!(matches!(&r.records[0].attack.outcome, DetectorAttackOutcome::TargetError { error } if error.contains("stopped answering")), "{:?}", r.records[0]);
    // Clean query, 9 answered queries, then the 10th fails (and is counted).
    assert_eq!(r.records[0].attack.queries, 10, "the failing query is counted");
    assert!(matches!(r.records[1].attack.outcome, DetectorAttackOutcome::TargetError { .. }));
    assert_eq!((r.target_errors, r.attacked, r.success_rate.clone()), (2, 0, None));
}

#[test]
fn mislabelling_a_two_class_detector_and_not_applicable_on_a_single_class_one() {
    // cat = 130/255 = 0.510 > 0.5, dog = 0.490: a mean 0.0098 lower makes it a dog (within 8/255 = 0.031).
    let frames = vec![frame("cat", 130, 130), frame("sure-cat", 170, 170)];
    let mut toy = ToyDetector::new(Toy::CatOrDog);
    let r = attack(&mut toy, &frames, &settings(AttackKind::SquareLinf, 300, DetectorGoal::Mislabel));
    check_bookkeeping(&r, 300);
    assert_eq!(r.applicability, GoalApplicability::Applicable);
    assert_eq!(r.records[0].attack.outcome, DetectorAttackOutcome::Mislabelled, "{:?}", r.records[0]);
    assert_eq!(r.records[1].attack.outcome, DetectorAttackOutcome::Survived, "{:?}", r.records[1]);
    // A face detector has one class: mislabelling is not applicable, said so, nothing attacked.
    let mut toy = ToyDetector::new(Toy::HalfMeans);
    let r = attack(&mut toy, &frames, &settings(AttackKind::SquareLinf, 300, DetectorGoal::Mislabel));
    assert!(matches!(&r.applicability, GoalApplicability::NotApplicable { why } if why.contains("1 class")), "{:?}", r.applicability);
    assert!(r.records.is_empty() && r.success_rate.is_none() && r.missing_frames == 0, "{r:?}");
    assert_eq!(toy.calls, 1);
}

#[test]
fn shards_merge_into_the_single_run_and_other_settings_are_refused() {
    let frames: Vec<DetectionFrame> = (0..5).map(|i| frame(&format!("f{i}"), 128 + 3 * i as u8, 134)).collect();
    let s = settings(AttackKind::SquareLinf, 120, DetectorGoal::Vanish);
    let whole = attack(&mut ToyDetector::new(Toy::HalfMeans), &frames, &s);
    let shards: Vec<DetectorAttackReport> = (0..2)
        .map(|i| run_detector_attack_shard(&mut ToyDetector::new(Toy::HalfMeans), &spec(), &task(), &frames, &s, (i, 2), vec![], &Cancel::new(), &mut |_| {}).unwrap())
        .collect();
    assert_eq!(shards[0].records.len(), 3);
    assert_eq!(shards[0].missing_frames, 2);
    let merged = merge_detector_attack_reports(&shards).unwrap();
    assert_eq!(merged, whole);
    // Resuming from a checkpoint: the done records are kept, the others attacked.
    let resumed = run_detector_attack_shard(&mut ToyDetector::new(Toy::HalfMeans), &spec(), &task(), &frames, &s, (0, 1), shards[1].records.clone(), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(resumed, whole);
    // Review finding 10: a checkpoint line written twice is one frame, not two (the old code
    // counted 6 records of 5 frames and `frames - records` underflowed); a record of a frame
    // the run does not have is refused by name, in a resume and in a merge.
    let mut twice = shards[1].records.clone();
    twice.push(twice[0].clone());
    let resumed = run_detector_attack_shard(&mut ToyDetector::new(Toy::HalfMeans), &spec(), &task(), &frames, &s, (0, 1), twice, &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(resumed, whole);
    let mut beyond = shards[1].clone();
    beyond.records[0].index = 7;
    let err = merge_detector_attack_reports(&[shards[0].clone(), beyond.clone()]).unwrap_err().to_string();
    assert!(err.contains("frame 7") && err.contains("5 frames"), "{err}");
    let err = run_detector_attack_shard(&mut ToyDetector::new(Toy::HalfMeans), &spec(), &task(), &frames, &s, (0, 1), beyond.records, &Cancel::new(), &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("frame 7"), "{err}");
    let mut other = shards[1].clone();
    other.settings.attack.epsilon = 4.0 / 255.0;
    let err = merge_detector_attack_reports(&[shards[0].clone(), other]).unwrap_err().to_string();
    assert!(err.contains("detector_attack_square_linf") && err.contains("same settings"), "{err}");
    // Other attacks are not detector attacks; a budget of 1 leaves nothing after verification.
    for bad in [settings(AttackKind::SpsaLinf, 100, DetectorGoal::Vanish), settings(AttackKind::SquareLinf, 1, DetectorGoal::Vanish)] {
        assert!(run_detector_attack(&mut ToyDetector::new(Toy::HalfMeans), &spec(), &task(), &frames, &bad).is_err());
    }
    // A classifier task is refused by name.
    let err = run_detector_attack(&mut ToyDetector::new(Toy::HalfMeans), &spec(), &Postprocess::new(TaskSpec::Classifier), &frames, &s).unwrap_err().to_string();
    assert!(err.contains("not a detector"), "{err}");
}

/// ../shared/assets when UltraFace slim-320 and the face photos are both there.
fn face_assets() -> Option<PathBuf> {
    const WHY: &str = "../shared/assets (UltraFace slim-320 and the face photos) is absent";
    let a = common::shared_assets("models/face-ultraface/version-slim-320.onnx", WHY)?;
    if a.join("data/faces").is_dir() {
        Some(a)
    } else {
        common::skip_or_fail(WHY);
        None
    }
}

/// UltraFace slim-320 on real face photos, L-inf 8/255 and a small budget: a measured figure.
#[test]
fn ultraface_slim320_vanishing_on_face_photos_is_measured() {
    let Some(assets) = face_assets() else { return };
    let spec = PreprocessSpec::parse_cli("ultraface320").unwrap();
    let task = Postprocess::new(TaskSpec::preset("ultraface-slim320").unwrap());
    let frames: Vec<DetectionFrame> = ["1.jpg", "2.jpg", "13.jpg"]
        .iter()
        .map(|f| {
            let path = assets.join("data/faces").join(f);
            let img = aite_data::decode(&path.display().to_string(), &std::fs::read(&path).unwrap(), aite_data::ColorOrder::Rgb).unwrap();
            DetectionFrame { id: f.to_string(), image: aite_robustness::corruption::image_to_rgb8(&img, aite_data::ColorOrder::Rgb) }
        })
        .collect();
    let mut target = aite_engine::load_target(&assets.join("models/face-ultraface/version-slim-320.onnx"), aite_engine::EngineKind::Tract, &aite_engine::EngineOptions::default()).unwrap();
    let s = DetectorAttackSettings { goal: DetectorGoal::Vanish, attack: AttackSettings { budget: 60, seed: 0, epsilon: 8.0 / 255.0, ..AttackSettings::autoattack(AttackKind::SquareLinf, 240) } };
    let r = run_detector_attack(target.as_mut(), &spec, &task, &frames, &s).unwrap();
    check_bookkeeping(&r, 60);
    assert_eq!(r.no_clean_detection, 0, "UltraFace finds a face in each of these photos: {r:?}");
    assert_eq!(r.score_threshold, 0.7);
    eprintln!(
        "UltraFace slim-320, L-inf 8/255, 60 queries, {} photos: vanishing {:?}, noise baseline {:?}; outcomes {:?}",
        r.frames,
        r.success_rate.as_ref().map(|p| (p.successes, p.trials)),
        r.noise_success_rate.as_ref().map(|p| (p.successes, p.trials)),
        r.records.iter().map(|x| (x.id.as_str(), x.clean_detections, x.attack.outcome.name(), x.attack.queries, x.attack.max_score_after)).collect::<Vec<_>>()
    );
}
