use super::*;
use aite_target::{DType, Dim, TargetError, TargetInfo, Tensor, TensorSpec};
use image::RgbImage;

/// Two classes by mean brightness: score(1) = 10 * (mean/255 - 0.5), score(0) = -score(1).
/// Records whether every input value it saw was an integer.
struct MeanClassifier {
    info: TargetInfo,
    all_integer: bool,
    calls: usize,
}

impl MeanClassifier {
    fn new() -> Self {
        let spec = |name: &str, shape: Vec<Dim>| TensorSpec { name: name.into(), shape, dtype: DType::F32 };
        MeanClassifier {
            info: TargetInfo {
                name: "mean".into(),
                engine: "test".into(),
                engine_version: "0".into(),
                threads: 1,
                inputs: vec![spec("x", vec![Dim::Fixed(1), Dim::Fixed(8), Dim::Fixed(8), Dim::Fixed(3)])],
                outputs: vec![spec("y", vec![Dim::Fixed(1), Dim::Fixed(2)])],
            },
            all_integer: true,
            calls: 0,
        }
    }
}

impl Target for MeanClassifier {
    fn info(&self) -> &TargetInfo {
        &self.info
    }
    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        self.calls += 1;
        let v = inputs[0].to_f32_vec();
        self.all_integer &= v.iter().all(|x| x.fract() == 0.0);
        let m = v.iter().sum::<f32>() / v.len() as f32 / 255.0;
        let s = 10.0 * (m - 0.5);
        Ok(vec![Tensor::f32(vec![1, 2], vec![-s, s])?])
    }
}

fn frame(id: &str, level: u8, label: usize) -> LabeledFrame {
    LabeledFrame { id: id.into(), label, image: RgbImage::from_fn(8, 8, |x, y| image::Rgb([level.saturating_add(((x + y) % 3) as u8), level, level])) }
}

fn spec() -> PreprocessSpec {
    PreprocessSpec::parse_cli("layout=nhwc").unwrap()
}

fn settings(kind: AttackKind, budget: usize) -> AttackSettings {
    AttackSettings { budget, seed: 3, ..AttackSettings::autoattack(kind, 8) }
}

fn run(kind: AttackKind, budget: usize, frames: &[LabeledFrame]) -> AttackReport {
    let mut t = MeanClassifier::new();
    run_attack(&mut t, &spec(), frames, &settings(kind, budget), vec![], &Cancel::new(), &mut |_| {}).unwrap()
}

#[test]
fn square_linf_breaks_near_boundary_frames_within_epsilon_and_spares_far_ones() {
    // 131/255 = 0.514: one L-inf step of 8/255 down flips it; 230/255 cannot be flipped.
    let frames = vec![frame("near", 131, 1), frame("far", 230, 1)];
    let r = run(AttackKind::SquareLinf, 300, &frames);
    let (near, far) = (&r.records[0], &r.records[1]);
    assert!(near.success, "{near:?}");
    assert!(near.linf <= 8.0 / 255.0 + 1e-6, "L-inf {} exceeds 8/255", near.linf);
    assert!(!far.success);
    assert_eq!(far.queries, 300, "an unbreakable sample spends exactly the budget");
    assert!(near.queries >= 1 && near.queries < 300);
    assert_eq!(r.robust_accuracy.successes, 1);
    assert_eq!(r.attack_success_rate.successes, 1);
    assert_eq!(r.attack_success_rate.trials, 2);
    assert_eq!(r.queries_median, Some(near.queries as f64));
}

#[test]
fn square_l2_stays_inside_the_l2_ball() {
    let frames = vec![frame("near", 129, 1)];
    let r = run(AttackKind::SquareL2, 200, &frames);
    let rec = &r.records[0];
    assert!(rec.l2 <= 0.5 + 1e-3, "L2 {} exceeds 0.5", rec.l2);
    assert!(rec.success, "0.5 in L2 over 192 values moves the mean by up to 0.036: {rec:?}");
}

#[test]
fn clean_errors_count_against_robust_accuracy_but_not_success_rate() {
    // Labelled 0 but bright: wrong before any attack.
    let frames = vec![frame("wrong", 200, 0), frame("far", 230, 1)];
    let r = run(AttackKind::SquareLinf, 20, &frames);
    assert_eq!(r.clean_accuracy.successes, 1);
    assert_eq!(r.robust_accuracy.successes, 1);
    assert_eq!(r.robust_accuracy.trials, 2, "AutoAttack: over all samples");
    assert_eq!(r.attack_success_rate.trials, 1, "over clean-correct samples only");
    assert_eq!(r.records[0].queries, 0, "nothing to attack on a clean error");
}

#[test]
fn noise_baseline_is_weaker_than_square() {
    let frames: Vec<LabeledFrame> = (0..6).map(|i| frame(&format!("f{i}"), 129 + (i / 2) as u8, 1)).collect();
    let square = run(AttackKind::SquareLinf, 100, &frames);
    let noise = run(AttackKind::NoiseLinf, 100, &frames);
    assert!(noise.attack_success_rate.successes <= square.attack_success_rate.successes, "noise {:?} vs square {:?}", noise.attack_success_rate, square.attack_success_rate);
    assert!(square.attack_success_rate.successes >= 4, "{:#?}", square.records.iter().map(|r| (r.success, r.queries, r.final_margin)).collect::<Vec<_>>());
}

#[test]
fn hop_skip_jump_uses_labels_only_and_reports_distance() {
    let frames = vec![frame("near", 130, 1), frame("far", 250, 1)];
    let r = run(AttackKind::HopSkipJump, 2000, &frames);
    let near = &r.records[0];
    assert!(near.success, "{near:?}");
    assert!(near.l2 <= 0.5 + 1e-4);
    assert!(!r.records[1].success, "250/255 needs an L2 step far above 0.5");
    assert!(r.records.iter().all(|x| x.queries <= 2000));
}

#[test]
fn uint8_channel_delivers_integer_pixels_and_float_does_not() {
    let frames = vec![frame("near", 131, 1)];
    for (channel, integer) in [(Channel::Uint8, true), (Channel::Float, false)] {
        let mut t = MeanClassifier::new();
        let s = AttackSettings { channel, ..settings(AttackKind::SquareLinf, 30) };
        run_attack(&mut t, &spec(), &frames, &s, vec![], &Cancel::new(), &mut |_| {}).unwrap();
        // The after-attack channel check quantises too, so only the float case can see fractions.
        assert_eq!(t.all_integer, integer, "{channel:?}");
    }
}

#[test]
fn budgets_count_every_model_call() {
    let frames = vec![frame("far", 230, 1), frame("far2", 240, 1)];
    let mut t = MeanClassifier::new();
    let r = run_attack(&mut t, &spec(), &frames, &settings(AttackKind::SquareL2, 77), vec![], &Cancel::new(), &mut |_| {}).unwrap();
    // One clean check per sample plus exactly the budget.
    assert_eq!(t.calls, 2 * (1 + 77));
    assert_eq!(r.queries_total, 154);
}

#[test]
fn resume_gives_the_same_records() {
    let frames: Vec<LabeledFrame> = (0..4).map(|i| frame(&format!("f{i}"), 129 + 2 * i as u8, 1)).collect();
    let whole = run(AttackKind::SquareLinf, 100, &frames);
    let mut t = MeanClassifier::new();
    let resumed = run_attack(&mut t, &spec(), &frames, &settings(AttackKind::SquareLinf, 100), whole.records[..2].to_vec(), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(resumed.records, whole.records);
}

#[test]
fn out_of_range_epsilon_and_channels_are_explained() {
    let mut t = MeanClassifier::new();
    let s = AttackSettings { epsilon: 8.0, ..settings(AttackKind::SquareLinf, 10) };
    let e = run_attack(&mut t, &spec(), &[frame("a", 100, 0)], &s, vec![], &Cancel::new(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("epsilon 8 is out of range"), "{e}");
    assert!("jpeg:0".parse::<Channel>().is_err());
    assert_eq!("jpeg:75".parse::<Channel>().unwrap(), Channel::Jpeg { quality: 75 });
    assert!(AttackKind::parse_list("square,fgsm").unwrap_err().contains("unknown attack `fgsm`"));
}

#[test]
fn worst_case_needs_every_attack_to_fail() {
    let frames: Vec<LabeledFrame> = (0..4).map(|i| frame(&format!("f{i}"), 129 + 30 * i as u8, 1)).collect();
    let a = run(AttackKind::SquareLinf, 100, &frames);
    let b = run(AttackKind::NoiseLinf, 100, &frames);
    let w = worst_case(&[&a, &b]).unwrap();
    assert!(w.successes <= a.robust_accuracy.successes.min(b.robust_accuracy.successes));
}

/// A detector-like target: scores for 4 boxes x 2 classes.
struct BoxScores(TargetInfo);

impl Target for BoxScores {
    fn info(&self) -> &TargetInfo {
        &self.0
    }
    fn infer(&mut self, _: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        Ok(vec![Tensor::f32(vec![1, 4, 2], vec![0.5; 8])?])
    }
}

#[test]
fn non_classifier_outputs_are_refused_with_a_reason() {
    let mut t = BoxScores(MeanClassifier::new().info);
    let e = run_attack(&mut t, &spec(), &[frame("a", 100, 0)], &settings(AttackKind::SquareLinf, 10), vec![], &Cancel::new(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("not one row of class scores"), "{e}");
    let mut t = BoxScores(MeanClassifier::new().info);
    let opts = crate::corruption::SweepOptions { kinds: vec![crate::CorruptionKind::Fog], severities: vec![1], table: None, seed: 0, shard: (0, 1), alexnet: false, output_index: 0, corrupt_at: crate::corruption::CorruptAt::Auto, imagenet_c_jpeg: crate::corruption::ImagenetCJpeg::Auto, dataset: Default::default() };
    let e = crate::corruption::corruption_sweep(&mut t, &spec(), &[frame("a", 100, 0)], &opts, vec![], &Cancel::new(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("one row of class scores"), "{e}");
}

/// Always answers class 1 with certainty: nothing can fool it.
struct Stubborn(TargetInfo);

impl Target for Stubborn {
    fn info(&self) -> &TargetInfo {
        &self.0
    }
    fn infer(&mut self, _: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        Ok(vec![Tensor::f32(vec![1, 2], vec![0.0, 1.0])?])
    }
}

#[test]
fn unbreakable_samples_round_trip_through_json() {
    let mut t = Stubborn(MeanClassifier::new().info);
    let r = run_attack(&mut t, &spec(), &[frame("a", 100, 1)], &settings(AttackKind::HopSkipJump, 150), vec![], &Cancel::new(), &mut |_| {}).unwrap();
    assert!(!r.records[0].success);
    assert_eq!(r.records[0].queries, 100, "HopSkipJump gives up after 100 random starting frames");
    assert_eq!(r.records[0].final_margin, None, "no adversarial at all: no finite margin");
    let back: AttackReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn cancelling_stops_mid_sample_and_drops_it() {
    /// Cancels after a few calls, as Ctrl-C during a long attack would.
    struct CancelAfter(MeanClassifier, Cancel, usize);
    impl Target for CancelAfter {
        fn info(&self) -> &TargetInfo {
            self.0.info()
        }
        fn infer(&mut self, x: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            self.2 += 1;
            if self.2 == 5 {
                self.1.cancel();
            }
            self.0.infer(x)
        }
    }
    let cancel = Cancel::new();
    let mut t = CancelAfter(MeanClassifier::new(), cancel.clone(), 0);
    let r = run_attack(&mut t, &spec(), &[frame("far", 230, 1), frame("far2", 240, 1)], &settings(AttackKind::SquareLinf, 5000), vec![], &cancel, &mut |_| {}).unwrap();
    assert!(r.interrupted);
    assert!(r.records.is_empty(), "the half-attacked sample is not recorded");
    assert!(t.2 < 10, "stopped within a query of the cancel, not after 5000: {}", t.2);
}

#[test]
fn shards_attack_disjoint_samples_and_merge_to_the_single_run() {
    // Levels around the decision boundary: some clean-wrong, some broken, some robust.
    let frames: Vec<LabeledFrame> = (0..7).map(|i| frame(&format!("f{i}"), 120 + 3 * i as u8, 1)).collect();
    let s = settings(AttackKind::SquareLinf, 60);
    let whole = run(AttackKind::SquareLinf, 60, &frames);
    let mut parts = Vec::new();
    for i in 0..3 {
        let mut t = MeanClassifier::new();
        let r = run_attack_shard(&mut t, &spec(), &frames, &s, (i, 3), vec![], &Cancel::new(), &mut |_| {}).unwrap();
        // Only this shard's samples were attacked: 7 samples over 3 shards are 3, 2, 2.
        let mine: Vec<usize> = r.records.iter().map(|x| x.index).collect();
        assert_eq!(mine, (0..7).filter(|k| k % 3 == i).collect::<Vec<_>>());
        assert_eq!((r.missing_samples, r.shard), (7 - mine.len(), (i, 3)));
        parts.push(r);
    }
    // Merged in any order, it is the single run, aggregates included.
    parts.reverse();
    assert_eq!(merge_attack_reports(&parts).unwrap(), whole);
    assert!(whole.records.iter().any(|r| r.success) && whole.records.iter().any(|r| !r.clean_correct), "a test that can fail: {:?}", whole.records);
    // Another attack's settings, or a different record of one sample, are refused.
    let other = run(AttackKind::SquareLinf, 61, &frames);
    assert!(merge_attack_reports(&[parts[0].clone(), other]).unwrap_err().to_string().contains("same settings"));
    let mut tampered = parts[0].clone();
    tampered.records[0].queries += 1;
    assert!(merge_attack_reports(&[parts[0].clone(), tampered]).unwrap_err().to_string().contains("two different square-linf results"));
}

#[test]
fn spsa_breaks_near_boundary_frames_within_epsilon_and_spares_far_ones() {
    // 129/255: a step of 8/255 down flips the mean classifier; 230/255 cannot be flipped.
    let frames = vec![frame("near", 129, 1), frame("far", 230, 1)];
    for kind in [AttackKind::SpsaLinf, AttackKind::SpsaL2] {
        let r = run(kind, 300, &frames);
        let (near, far) = (&r.records[0], &r.records[1]);
        assert!(near.success, "{kind:?}: {near:?}");
        assert!(near.queries >= 1 && near.queries < 300, "{kind:?}: stops at success: {near:?}");
        assert!(!far.success, "{kind:?}");
        assert_eq!(far.queries, 300, "{kind:?}: an unbreakable sample spends exactly the budget");
        match kind.norm() {
            "linf" => assert!(near.linf <= 8.0 / 255.0 + 1e-6, "L-inf {} exceeds 8/255", near.linf),
            _ => assert!(near.l2 <= 0.5 + 1e-5, "L2 {} exceeds 0.5", near.l2),
        }
        assert_eq!((r.robust_accuracy.successes, r.attack_success_rate.successes), (1, 1), "{kind:?}");
    }
}

#[test]
fn spsa_budgets_count_every_model_call_including_the_first() {
    // Budgets that leave 0, 1 or 2 queries after the last full iteration, and the defaults' sizes.
    for budget in [1, 2, 3, 4, 5, 6, 77, 100, 129] {
        for kind in [AttackKind::SpsaLinf, AttackKind::SpsaL2] {
            let mut t = MeanClassifier::new();
            let frames = vec![frame("far", 230, 1), frame("far2", 240, 1)];
            let r = run_attack(&mut t, &spec(), &frames, &settings(kind, budget), vec![], &Cancel::new(), &mut |_| {}).unwrap();
            assert_eq!(t.calls, 2 * (1 + budget), "{kind:?} budget {budget}: one clean check per sample plus exactly the budget");
            assert_eq!(r.queries_total, 2 * budget);
        }
    }
}

#[test]
fn spsa_cannot_fool_a_constant_model() {
    let mut t = Stubborn(MeanClassifier::new().info);
    let r = run_attack(&mut t, &spec(), &[frame("a", 100, 1), frame("b", 131, 1)], &settings(AttackKind::SpsaLinf, 200), vec![], &Cancel::new(), &mut |_| {}).unwrap();
    assert!(r.records.iter().all(|x| x.clean_correct && !x.success && x.queries == 200), "{:?}", r.records);
    assert_eq!(r.robust_accuracy.successes, 2);
    assert!(r.records.iter().all(|x| x.final_margin == Some(1.0)), "the margin of a constant answer never moves");
}

#[test]
fn spsa_iterates_stay_in_the_ball_in_the_channel_pixel_space() {
    // Every image the attack returns, for frames it breaks and frames it does not.
    let geometry = Image { width: 8, height: 8, channels: 3, data: vec![0.0; 192] };
    let s = spec();
    for (level, eps) in [(131u8, 8.0 / 255.0), (200, 8.0 / 255.0), (129, 3.0 / 255.0)] {
        for channel in [Channel::Float, Channel::Uint8, Channel::Jpeg { quality: 90 }] {
            let f = frame("x", level, 1);
            let x: Vec<f32> = f.image.pixels().flat_map(|p| p.0).map(|v| v as f32 / 255.0).collect();
            let mut t = MeanClassifier::new();
            let mut oracle = Oracle::new(&mut t, &s, &geometry, 1, channel, 150, 0);
            let mut rng = StdRng::seed_from_u64(7);
            let best = spsa::spsa(&x, eps, spsa::Ball::Linf, &mut oracle, &mut rng).unwrap();
            let linf = best.image.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(linf <= eps + 1e-6, "level {level} {channel:?}: {linf} > {eps}");
            // What an 8-bit channel delivers of it is inside the ball too, in grey levels.
            let grey = best.image.iter().zip(&x).map(|(a, b)| ((a * 255.0).round() - b * 255.0).abs()).fold(0.0, f32::max);
            assert!(grey <= (eps * 255.0).round() + 1e-3, "level {level} {channel:?}: {grey} grey levels");
            assert!(best.image.iter().all(|v| (0.0..=1.0).contains(v)));
            let mut oracle = Oracle::new(&mut t, &s, &geometry, 1, channel, 150, 0);
            let best = spsa::spsa(&x, 0.5, spsa::Ball::L2, &mut oracle, &mut rng).unwrap();
            let l2 = best.image.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt();
            assert!(l2 <= 0.5 + 1e-5, "level {level} {channel:?}: L2 {l2}");
        }
    }
}

#[test]
fn spsa_is_deterministic_for_a_seed_and_depends_on_it() {
    let frames: Vec<LabeledFrame> = (0..4).map(|i| frame(&format!("f{i}"), 130 + 20 * i as u8, 1)).collect();
    let a = run(AttackKind::SpsaLinf, 120, &frames);
    let b = run(AttackKind::SpsaLinf, 120, &frames);
    assert_eq!(a, b);
    let mut t = MeanClassifier::new();
    let other = run_attack(&mut t, &spec(), &frames, &AttackSettings { seed: 4, ..settings(AttackKind::SpsaLinf, 120) }, vec![], &Cancel::new(), &mut |_| {}).unwrap();
    assert_ne!(other.records, a.records, "another seed takes another path");
    assert!(AttackKind::parse_list("spsa").unwrap() == vec![AttackKind::SpsaLinf, AttackKind::SpsaL2]);
}


#[test]
fn the_worst_case_of_one_attack_family_is_not_applicable_and_of_two_is_measured() {
    let frames: Vec<LabeledFrame> = (0..4).map(|i| frame(&format!("f{i}"), 129 + 30 * i as u8, 1)).collect();
    let square = run(AttackKind::SquareLinf, 100, &frames);
    let noise = run(AttackKind::NoiseLinf, 100, &frames);
    let spsa = run(AttackKind::SpsaLinf, 100, &frames);
    let eps = square.settings.epsilon;
    // Square and the noise baseline: one family, no figure that looks like a worst case.
    let one = worst_case_over(&[&square, &noise]);
    assert_eq!(
        one,
        [WorstCase::NotApplicable { norm: "linf".into(), epsilon: eps, attacks: vec!["square-linf".into(), "noise-linf".into()], why: "one attack family ran: square; the worst case needs at least two".into() }]
    );
    let json = serde_json::to_value(&one[0]).unwrap();
    assert_eq!((json["status"].as_str(), json.get("robust_accuracy"), json["norm"].as_str()), (Some("not-applicable"), None, Some("linf")), "{json}");
    let WorstCase::NotApplicable { why, .. } = only(worst_case_over(&[&noise])) else { panic!("noise alone measured") };
    assert!(why.starts_with("no attack family ran (noise-linf only"), "{why}");
    // Square and SPSA: measured, the per-sample rule (never above either family's robust accuracy).
    let WorstCase::Measured { attacks, robust_accuracy, .. } = only(worst_case_over(&[&square, &spsa, &noise])) else { panic!("two families not measured") };
    assert_eq!(attacks, ["square-linf", "spsa-linf", "noise-linf"]);
    assert_eq!(Some(robust_accuracy), worst_case(&[&square, &spsa, &noise]));
    assert!(robust_accuracy.successes <= square.robust_accuracy.successes.min(spsa.robust_accuracy.successes));
    assert_eq!(serde_json::to_value(&worst_case_over(&[&square, &spsa])[0]).unwrap()["status"], "measured");
    assert!(worst_case_over(&[]).is_empty());
}

/// The one threat model's worst case.
fn only(mut v: Vec<WorstCase>) -> WorstCase {
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

/// `template` as `kind` at `epsilon` at `epsilon` on `samples`, each `(id, clean_correct, success)`.
fn hand_report(template: &AttackReport, kind: AttackKind, epsilon: f32, samples: &[(&str, bool, bool)]) -> AttackReport {
    let mut r = template.clone();
    r.settings = AttackSettings { kind, epsilon, ..template.settings.clone() };
    let record = template.records[0].clone();
    r.records = samples.iter().enumerate().map(|(index, &(id, clean_correct, success))| AttackRecord { index, id: id.into(), clean_correct, success, ..record.clone() }).collect();
    r
}

#[test]
fn the_worst_case_is_one_per_threat_model_and_never_mixes_radii() {
    let template = run(AttackKind::SquareLinf, 10, &[frame("t", 200, 1)]);
    let (two, eight) = (2.0 / 255.0, 8.0 / 255.0);
    // Five samples; sample e is clean-wrong. Square at 2/255 breaks b, SPSA at 2/255 breaks c:
    // robust only a and d, 2 of 5 (hand-computed). Square at 8/255 breaks a, b, c, d: it must
    // not enter the 2/255 worst case (which would then be 0 of 5), and alone at its radius it
    // is one family: not applicable.
    let s = |broken: &[&str]| -> Vec<(&'static str, bool, bool)> { ["a", "b", "c", "d", "e"].iter().map(|&id| (id, id != "e", id != "e" && broken.contains(&id))).collect() };
    let square2 = hand_report(&template, AttackKind::SquareLinf, two, &s(&["b"]));
    let spsa2 = hand_report(&template, AttackKind::SpsaLinf, two, &s(&["c"]));
    let square8 = hand_report(&template, AttackKind::SquareLinf, eight, &s(&["a", "b", "c", "d"]));
    let groups = worst_case_over(&[&square2, &square8, &spsa2]);
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0], WorstCase::Measured { norm: "linf".into(), epsilon: two, attacks: vec!["square-linf".into(), "spsa-linf".into()], robust_accuracy: wilson(2, 5) });
    assert_eq!(
        groups[1],
        WorstCase::NotApplicable { norm: "linf".into(), epsilon: eight, attacks: vec!["square-linf".into()], why: "one attack family ran: square; the worst case needs at least two".into() }
    );
    assert_eq!(groups[1].threat_model(), ("linf", eight));
    // An L2 attack at the same number never joins the L-inf group.
    let hsj = hand_report(&template, AttackKind::HopSkipJump, two, &s(&["a"]));
    let groups = worst_case_over(&[&square2, &spsa2, &hsj]);
    assert_eq!(groups.iter().map(WorstCase::threat_model).collect::<Vec<_>>(), [("linf", two), ("l2", two)]);
    assert!(matches!(&groups[0], WorstCase::Measured { robust_accuracy, .. } if *robust_accuracy == wilson(2, 5)));
}

#[test]
fn a_worst_case_over_different_samples_is_not_applicable_with_why() {
    let template = run(AttackKind::SquareLinf, 10, &[frame("t", 200, 1)]);
    let eps = 2.0 / 255.0;
    let square = hand_report(&template, AttackKind::SquareLinf, eps, &[("a", true, false), ("b", true, true)]);
    let fewer = hand_report(&template, AttackKind::SpsaLinf, eps, &[("a", true, false)]);
    let WorstCase::NotApplicable { why, .. } = only(worst_case_over(&[&square, &fewer])) else { panic!("measured over 2 and 1 samples") };
    assert_eq!(why, "the attacks ran on different samples: square-linf on 2, spsa-linf on 1");
    // Same count, another sample: positions do not make the same samples.
    let other = hand_report(&template, AttackKind::SpsaLinf, eps, &[("a", true, false), ("z", true, false)]);
    let WorstCase::NotApplicable { why, .. } = only(worst_case_over(&[&square, &other])) else { panic!("measured over other samples") };
    assert_eq!(why, "the attacks ran on different samples: square-linf has sample 1 (b) where spsa-linf has sample 1 (z)");
    assert_eq!(worst_case(&[&square, &other]), None);
}
