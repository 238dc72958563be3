//! The consistency checks split by sample across shards, and merged back into the single
//! run's figures exactly.
//!
//! The partition is the attacks' ([`in_shard`]): sample `i` belongs to shard `i mod N`.
//! Batch invariance compares whole batches, so its unit is the batch group: group `k`
//! (samples `k·b .. (k+1)·b` of the run's order, the groups the single run forms too) belongs to
//! shard `k mod N`. Degenerate frames are split by their position in [`DegenerateKind::ALL`].
//! Each shard records what it examined ([`ConsistencyShard`]); [`merge_consistency`] checks that
//! the parts cover the run exactly once and recomputes every figure: counts summed, maxima
//! taken, and the float sums (agreement's SQNR and mean |diff|, detections' mean IoU) folded
//! from per-sample sums in sample order, as the single run folds them, so the merge is bit-exact.

use crate::attack::in_shard;
use crate::consistency::{agreement_figures, mean_iou};
use crate::{Agreement, BatchInvariance, DegenerateFrame, DegenerateKind, DetectionAgreement, DetectionBatchInvariance, DetectionRepeatability, MetamorphicResult, Repeatability, RobustnessError};
use aite_accuracy::wilson;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Name of the suite that records a shard's part of the consistency checks.
pub const CONSISTENCY_SHARD_SUITE: &str = "consistency_shard";

/// What one shard's consistency checks examined (or, in a merge of some shards only, the parts present).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsistencyShard {
    /// Shards of the run (`N` of `--shard I/N`).
    pub count: usize,
    /// Shard indices whose parts this holds.
    pub shards: Vec<usize>,
    /// Samples of the whole run.
    pub samples: usize,
    /// Batch of the batch-invariance check, `None` when it was not run.
    pub batch: Option<usize>,
    /// Sample positions examined by the per-sample checks, ascending, with their ids.
    pub examined: Vec<usize>,
    pub ids: Vec<String>,
    /// Batch groups examined by batch invariance.
    pub batch_groups: Vec<usize>,
    /// Degenerate frames run.
    pub degenerate_frames: Vec<DegenerateKind>,
    /// Samples of the run that no part present examined.
    pub missing_samples: usize,
}

impl ConsistencyShard {
    /// Shard `shard` of a run of `ids.len()` samples; `batch` when batch invariance runs.
    pub fn plan(shard: (usize, usize), ids: &[String], batch: Option<usize>) -> Self {
        let examined: Vec<usize> = (0..ids.len()).filter(|&i| in_shard(i, shard)).collect();
        let groups = batch.filter(|&b| b >= 2).map_or(0, |b| ids.len() / b);
        ConsistencyShard {
            count: shard.1,
            shards: vec![shard.0],
            samples: ids.len(),
            batch,
            ids: examined.iter().map(|&i| ids[i].clone()).collect(),
            missing_samples: ids.len() - examined.len(),
            examined,
            batch_groups: (0..groups).filter(|&k| in_shard(k, shard)).collect(),
            degenerate_frames: DegenerateKind::ALL.iter().enumerate().filter(|(k, _)| in_shard(*k, shard)).map(|(_, d)| *d).collect(),
        }
    }

    /// Sample positions of the batch groups, in order (what batch invariance feeds, `batch` at a time).
    pub fn batch_samples(&self) -> Vec<usize> {
        let b = self.batch.unwrap_or(0);
        self.batch_groups.iter().flat_map(|&k| k * b..(k + 1) * b).collect()
    }
}

/// One shard's (or a merge's) consistency suites, named as in results.json.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsistencyPart {
    #[serde(rename = "consistency_shard", default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ConsistencyShard>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeatability: Option<Repeatability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_invariance: Option<BatchInvariance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degenerate_frames: Option<Vec<DegenerateFrame>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metamorphic: Option<Vec<MetamorphicResult>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_repeatability: Option<DetectionRepeatability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_batch_invariance: Option<DetectionBatchInvariance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_agreement: Option<DetectionAgreement>,
}

/// The suites a [`ConsistencyPart`] can hold, besides [`CONSISTENCY_SHARD_SUITE`].
pub const CONSISTENCY_SUITES: [&str; 8] =
    ["repeatability", "batch_invariance", "agreement", "degenerate_frames", "metamorphic", "detection_repeatability", "detection_batch_invariance", "detection_agreement"];

fn refuse(check: &'static str, reason: String) -> RobustnessError {
    RobustnessError::Unsupported { check, reason, hint: "merge only the shards of one run: the same command line except --shard".into() }
}

fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

/// The parts of `check` present, each with its shard record; refused when a shard examined
/// something for `check` and has no result, or has one without examining anything.
fn parts<'a, T>(check: &'static str, all: &'a [ConsistencyPart], get: impl Fn(&'a ConsistencyPart) -> Option<&'a T>, examined: impl Fn(&ConsistencyShard) -> bool) -> Result<Vec<(&'a ConsistencyShard, &'a T)>, RobustnessError> {
    let mut out = Vec::new();
    let mut present = 0;
    for p in all {
        let s = p.shard.as_ref().expect("checked by merge_consistency");
        match (get(p), examined(s)) {
            (Some(t), true) => {
                present += 1;
                out.push((s, t));
            }
            (None, false) => {}
            (Some(_), false) => return Err(refuse(check, format!("shard {:?} has a result but examined nothing for it", s.shards))),
            (None, true) => {
                // A check that needs a reference or a batch is run by every shard or by none.
                if present > 0 || all.iter().any(|q| get(q).is_some()) {
                    return Err(refuse(check, format!("shard {:?} examined samples but has no result", s.shards)));
                }
            }
        }
    }
    Ok(out)
}

/// Combine the parts of some or all shards of one run. With every shard present the result is
/// the single run's suites (no shard record); otherwise the shard record lists the parts present
/// and the missing samples. Parts that cannot be combined are refused, naming the check.
pub fn merge_consistency(all: &[ConsistencyPart]) -> Result<ConsistencyPart, RobustnessError> {
    const SHARDS: &str = "consistency shards";
    let Some(first) = all.first().and_then(|p| p.shard.as_ref()) else {
        return Err(refuse(SHARDS, "no shard record (consistency_shard) to merge".into()));
    };
    let mut seen = BTreeSet::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for p in all {
        let Some(s) = &p.shard else { return Err(refuse(SHARDS, "a part has no shard record".into())) };
        if (s.count, s.samples, s.batch) != (first.count, first.samples, first.batch) {
            return Err(refuse(SHARDS, format!("parts of {} and {} shards, {} and {} samples, batch {:?} and {:?}", first.count, s.count, first.samples, s.samples, first.batch, s.batch)));
        }
        for &i in &s.shards {
            if !seen.insert(i) {
                return Err(refuse(SHARDS, format!("shard {i}/{} is given twice", s.count)));
            }
        }
        // Each sample examined by exactly its shard.
        let mut expected: Vec<usize> = vec![];
        for &i in &s.shards {
            expected.extend((0..s.samples).filter(|&k| in_shard(k, (i, s.count))));
        }
        expected.sort_unstable();
        if s.examined != expected || s.ids.len() != s.examined.len() {
            return Err(refuse(SHARDS, format!("shards {:?} examined samples outside their part", s.shards)));
        }
        for (i, id) in s.examined.iter().zip(&s.ids) {
            index.insert(id.as_str(), *i);
        }
    }
    let position = |id: &str| index.get(id).copied().unwrap_or(usize::MAX);
    let mut shard = ConsistencyShard {
        count: first.count,
        shards: seen.iter().copied().collect(),
        samples: first.samples,
        batch: first.batch,
        examined: vec![],
        ids: vec![],
        batch_groups: vec![],
        degenerate_frames: vec![],
        missing_samples: 0,
    };
    let mut pairs: Vec<(usize, String)> = all.iter().flat_map(|p| p.shard.as_ref().into_iter().flat_map(|s| s.examined.iter().copied().zip(s.ids.iter().cloned()))).collect();
    pairs.sort();
    (shard.examined, shard.ids) = pairs.into_iter().unzip();
    shard.batch_groups = all.iter().flat_map(|p| p.shard.as_ref().into_iter().flat_map(|s| s.batch_groups.iter().copied())).collect();
    shard.batch_groups.sort_unstable();
    let order = |k: &DegenerateKind| DegenerateKind::ALL.iter().position(|d| d == k).unwrap_or(usize::MAX);
    shard.degenerate_frames = all.iter().flat_map(|p| p.shard.as_ref().into_iter().flat_map(|s| s.degenerate_frames.iter().copied())).collect();
    shard.degenerate_frames.sort_by_key(order);
    shard.missing_samples = shard.samples - shard.examined.len();

    let mut merged = ConsistencyPart::default();
    let has_samples = |s: &ConsistencyShard| !s.examined.is_empty();

    let rep = parts("repeatability", all, |p| p.repeatability.as_ref(), has_samples)?;
    if let Some((_, r0)) = rep.first() {
        if let Some((s, r)) = rep.iter().find(|(_, r)| r.repeats != r0.repeats) {
            return Err(refuse("repeatability", format!("shard {:?} repeated {} times, another {}", s.shards, r.repeats, r0.repeats)));
        }
        let non_finite_answers = rep.iter().map(|(_, r)| r.non_finite_answers).sum::<usize>();
        merged.repeatability = Some(Repeatability {
            samples: rep.iter().map(|(_, r)| r.samples).sum(),
            repeats: r0.repeats,
            max_abs_diff: rep.iter().map(|(_, r)| r.max_abs_diff).fold(0.0, nan_max),
            top1_flips: rep.iter().map(|(_, r)| r.top1_flips).sum(),
            non_finite_answers,
            identical: rep.iter().all(|(_, r)| r.identical) && non_finite_answers == 0,
        });
    }

    let bat = parts("batch invariance", all, |p| p.batch_invariance.as_ref(), |s| !s.batch_groups.is_empty())?;
    if let Some((_, b0)) = bat.first() {
        if bat.iter().any(|(_, b)| b.batch != b0.batch || b.tolerance.to_bits() != b0.tolerance.to_bits()) {
            return Err(refuse("batch invariance", "the parts were run with different batches or tolerances".into()));
        }
        let worst = bat.iter().map(|(_, b)| b.max_abs_diff).fold(0.0, nan_max);
        let flips = bat.iter().map(|(_, b)| b.top1_flips).sum();
        merged.batch_invariance = Some(BatchInvariance {
            batch: b0.batch,
            samples: bat.iter().map(|(_, b)| b.samples).sum(),
            max_abs_diff: worst,
            top1_flips: flips,
            within_tolerance: worst <= b0.tolerance && flips == 0,
            tolerance: b0.tolerance,
        });
    }

    let agr = parts("agreement", all, |p| p.agreement.as_ref(), has_samples)?;
    if let Some((_, a0)) = agr.first() {
        if agr.iter().any(|(_, a)| a.reference != a0.reference || a.deployed != a0.deployed) {
            return Err(refuse("agreement", "the parts compare different targets".into()));
        }
        let mut per_sample: Vec<_> = agr.iter().flat_map(|(_, a)| a.per_sample.iter().cloned()).collect();
        if let Some((s, _)) = agr.iter().find(|(s, a)| a.per_sample.len() != s.examined.len()) {
            return Err(refuse("agreement", format!("shard {:?} has no per-sample sums (written by an older aite)", s.shards)));
        }
        per_sample.sort_by_key(|s| s.index);
        let (mean_abs_diff, sqnr_db) = agreement_figures(&per_sample);
        let mut disagreements: Vec<_> = agr.iter().flat_map(|(_, a)| a.disagreements.iter().cloned()).collect();
        disagreements.sort_by_key(|d| position(&d.id));
        merged.agreement = Some(Agreement {
            reference: a0.reference.clone(),
            deployed: a0.deployed.clone(),
            top1_agreement: wilson(agr.iter().map(|(_, a)| a.top1_agreement.successes).sum(), agr.iter().map(|(_, a)| a.top1_agreement.trials).sum()),
            max_abs_diff: agr.iter().map(|(_, a)| a.max_abs_diff).fold(0.0, nan_max),
            mean_abs_diff,
            sqnr_db,
            disagreements,
            per_sample,
        });
    }

    let deg = parts("degenerate frames", all, |p| p.degenerate_frames.as_ref(), |s| !s.degenerate_frames.is_empty())?;
    if !deg.is_empty() {
        let mut frames: Vec<DegenerateFrame> = vec![];
        for (s, f) in &deg {
            if f.iter().map(|d| d.kind).ne(s.degenerate_frames.iter().copied()) {
                return Err(refuse("degenerate frames", format!("shard {:?} ran other frames than its record says", s.shards)));
            }
            frames.extend(f.iter().cloned());
        }
        frames.sort_by_key(|f| order(&f.kind));
        merged.degenerate_frames = Some(frames);
    }

    let met = parts("metamorphic relations", all, |p| p.metamorphic.as_ref(), has_samples)?;
    if let Some((_, m0)) = met.first() {
        let mut out = vec![];
        for (k, rel) in m0.iter().enumerate() {
            let mut flipped_ids = vec![];
            let (mut flips, mut trials) = (0, 0);
            for (s, m) in &met {
                let Some(r) = m.get(k).filter(|r| r.relation == rel.relation && m.len() == m0.len()) else {
                    return Err(refuse("metamorphic relations", format!("shard {:?} checked other relations", s.shards)));
                };
                flips += r.flips.successes;
                trials += r.flips.trials;
                flipped_ids.extend(r.flipped_ids.iter().cloned());
            }
            flipped_ids.sort_by_key(|id| position(id));
            out.push(MetamorphicResult { relation: rel.relation, flips: wilson(flips, trials), flipped_ids });
        }
        merged.metamorphic = Some(out);
    }

    let drep = parts("detection repeatability", all, |p| p.detection_repeatability.as_ref(), has_samples)?;
    if let Some((_, r0)) = drep.first() {
        if drep.iter().any(|(_, r)| r.repeats != r0.repeats) {
            return Err(refuse("detection repeatability", "the parts were repeated a different number of times".into()));
        }
        let non_finite_answers = drep.iter().map(|(_, r)| r.non_finite_answers).sum::<usize>();
        let mut m = DetectionRepeatability {
            samples: drep.iter().map(|(_, r)| r.samples).sum(),
            repeats: r0.repeats,
            detections: drep.iter().map(|(_, r)| r.detections).sum(),
            max_score_diff: drep.iter().map(|(_, r)| r.max_score_diff).fold(0.0, nan_max),
            max_box_diff: drep.iter().map(|(_, r)| r.max_box_diff).fold(0.0, nan_max),
            count_mismatches: drep.iter().map(|(_, r)| r.count_mismatches).sum(),
            non_finite_answers,
            examined_frames: drep.iter().map(|(_, r)| r.examined_frames).sum(),
            status: crate::Examination::NotChecked,
            why: None,
            identical: false,
        };
        // A part that examined nothing says nothing about identity; the examined parts decide.
        m.settle(drep.iter().filter(|(_, r)| r.examined_frames > 0).all(|(_, r)| r.identical));
        merged.detection_repeatability = Some(m);
    }

    let dbat = parts("detection batch invariance", all, |p| p.detection_batch_invariance.as_ref(), |s| !s.batch_groups.is_empty())?;
    if let Some((_, b0)) = dbat.first() {
        if dbat.iter().any(|(_, b)| b.batch != b0.batch || b.tolerance.to_bits() != b0.tolerance.to_bits()) {
            return Err(refuse("detection batch invariance", "the parts were run with different batches or tolerances".into()));
        }
        let (score, boxes) = (dbat.iter().map(|(_, b)| b.max_score_diff).fold(0.0, nan_max), dbat.iter().map(|(_, b)| b.max_box_diff).fold(0.0, nan_max));
        let mismatches = dbat.iter().map(|(_, b)| b.count_mismatches).sum();
        merged.detection_batch_invariance = Some(DetectionBatchInvariance {
            batch: b0.batch,
            samples: dbat.iter().map(|(_, b)| b.samples).sum(),
            max_score_diff: score,
            max_box_diff: boxes,
            count_mismatches: mismatches,
            within_tolerance: mismatches == 0 && score <= b0.tolerance && boxes <= b0.tolerance,
            tolerance: b0.tolerance,
        });
    }

    let dagr = parts("detection agreement", all, |p| p.detection_agreement.as_ref(), has_samples)?;
    if let Some((_, a0)) = dagr.first() {
        if dagr.iter().any(|(_, a)| a.reference != a0.reference || a.deployed != a0.deployed || a.iou_threshold.to_bits() != a0.iou_threshold.to_bits()) {
            return Err(refuse("detection agreement", "the parts compare different targets or IoU thresholds".into()));
        }
        if let Some((s, _)) = dagr.iter().find(|(s, a)| a.per_frame.len() != s.examined.len()) {
            return Err(refuse("detection agreement", format!("shard {:?} has no per-frame IoU sums (written by an older aite)", s.shards)));
        }
        let mut per_frame: Vec<_> = dagr.iter().flat_map(|(_, a)| a.per_frame.iter().cloned()).collect();
        per_frame.sort_by_key(|f| f.index);
        let sum = |f: fn(&DetectionAgreement) -> usize| dagr.iter().map(|(_, a)| f(a)).sum::<usize>();
        let (n_ref, n_dep, matched) = (sum(|a| a.reference_detections), sum(|a| a.deployed_detections), sum(|a| a.matched));
        let mut disagreements: Vec<_> = dagr.iter().flat_map(|(_, a)| a.disagreements.iter().cloned()).collect();
        disagreements.sort_by_key(|d| position(&d.id));
        let min_iou = dagr.iter().filter_map(|(_, a)| a.min_iou).fold(f32::INFINITY, f32::min);
        let max_score = dagr.iter().filter_map(|(_, a)| a.max_score_diff).fold(0.0, nan_max);
        merged.detection_agreement = Some(DetectionAgreement {
            reference: a0.reference.clone(),
            deployed: a0.deployed.clone(),
            iou_threshold: a0.iou_threshold,
            reference_detections: n_ref,
            deployed_detections: n_dep,
            matched,
            unmatched_reference: n_ref - matched,
            unmatched_deployed: n_dep - matched,
            mean_iou: mean_iou(&per_frame),
            min_iou: (matched > 0).then_some(min_iou),
            max_score_diff: (matched > 0).then_some(max_score),
            frame_agreement: wilson(sum(|a| a.frame_agreement.successes), sum(|a| a.frame_agreement.trials)),
            disagreements,
            per_frame,
        });
    }
    // Every shard present: the single run's suites, no shard record.
    let complete = shard.shards.len() == shard.count && shard.missing_samples == 0;
    merged.shard = (!complete).then_some(shard);
    Ok(merged)
}

impl ConsistencyPart {
    /// A shard's checks ran on its samples alone: number their per-sample sums by their
    /// position in the whole run (`shard.examined`), as the single run numbers them.
    pub fn place_samples(&mut self) {
        let Some(shard) = &self.shard else { return };
        let at = |j: usize| shard.examined.get(j).copied().unwrap_or(usize::MAX);
        if let Some(a) = &mut self.agreement {
            a.per_sample.iter_mut().for_each(|s| s.index = at(s.index));
        }
        if let Some(a) = &mut self.detection_agreement {
            a.per_frame.iter_mut().for_each(|f| f.index = at(f.index));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consistency::Frame;
    use crate::{agreement, batch_invariance, degenerate_frames_where, metamorphic_flips, repeatability, MetamorphicRelation};
    use aite_data::{Image, PreprocessSpec};
    use aite_target::{DType, Dim, Target, TargetError, TargetInfo, Tensor, TensorSpec};

    /// Three scores from the input's mean `m`: `[m, 1 - m, m²]`, times `gain`, plus `offset` on odd calls.
    struct Toy {
        info: TargetInfo,
        gain: f32,
        offset: f32,
        calls: u32,
    }

    fn toy(gain: f32, offset: f32) -> Toy {
        let inputs = vec![TensorSpec { name: "x".into(), dtype: DType::F32, shape: vec![Dim::Symbolic("n".into()), Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(2)] }];
        Toy { info: TargetInfo { name: format!("toy{gain}"), engine: "test".into(), engine_version: "0".into(), threads: 1, inputs, outputs: vec![] }, gain, offset, calls: 0 }
    }

    impl Target for Toy {
        fn info(&self) -> &TargetInfo {
            &self.info
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let x = &inputs[0];
            if x.shape()[2] != 2 {
                return Err(TargetError::InputMismatch { target: "toy".into(), reason: "expects 2x2".into() });
            }
            self.calls += 1;
            let n = x.shape()[0];
            let v = x.to_f32_vec();
            let mut out = vec![];
            for row in v.chunks(v.len() / n) {
                let m = row.iter().sum::<f32>() / row.len() as f32 + self.offset * (self.calls % 2) as f32;
                out.extend([m * self.gain, (1.0 - m) * self.gain, m * m * self.gain]);
            }
            Tensor::f32(vec![n, 3], out).map(|t| vec![t])
        }
    }

    fn frames(n: usize) -> Vec<Frame> {
        (0..n).map(|i| (format!("s{i}"), Image { width: 2, height: 2, channels: 1, data: vec![((i * 37) % 256) as f32, 3.0 * i as f32, 90.0, 7.0] })).collect()
    }

    fn spec() -> PreprocessSpec {
        PreprocessSpec::parse_cli("color=gray,scale=0.00392156862745098").unwrap()
    }

    /// Every check on shard `shard`'s part, as `aite robustness --shard` runs them.
    fn part(all: &[Frame], shard: (usize, usize)) -> ConsistencyPart {
        let ids: Vec<String> = all.iter().map(|f| f.0.clone()).collect();
        let plan = ConsistencyShard::plan(shard, &ids, Some(2));
        let pick = |at: &[usize]| at.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
        let (mine, groups) = (pick(&plan.examined), pick(&plan.batch_samples()));
        let mut p = ConsistencyPart {
            repeatability: Some(repeatability(&mut toy(1.0, 1e-3), &spec(), &mine, 3).unwrap()),
            batch_invariance: Some(batch_invariance(&mut toy(1.0, 0.0), &mut toy(1.0, 2e-3), 2, &spec(), &groups, 1e-4).unwrap()),
            agreement: Some(agreement(&mut toy(1.0, 0.0), &mut toy(0.97, 0.0), &spec(), &mine).unwrap()),
            degenerate_frames: Some(degenerate_frames_where(&mut toy(1.0, 0.0), &spec(), &all[0].1, 7, &|k| in_shard(k, shard)).unwrap()),
            metamorphic: Some(metamorphic_flips(&mut toy(1.0, 0.0), &spec(), &mine, &MetamorphicRelation::defaults()).unwrap()),
            shard: Some(plan),
            ..Default::default()
        };
        p.place_samples();
        p
    }

    fn untimed(p: &ConsistencyPart) -> serde_json::Value {
        let mut v = serde_json::to_value(p).unwrap();
        for f in v["degenerate_frames"].as_array_mut().unwrap() {
            f["elapsed_ms"] = serde_json::Value::Null;
        }
        v
    }

    /// Three shards of 11 samples merge into the whole run's figures bit for bit, through JSON;
    /// a missing shard is said so, a shard given twice is refused.
    #[test]
    fn shards_merge_into_the_single_run_exactly() {
        let all = frames(11);
        let single = part(&all, (0, 1));
        let a = single.agreement.as_ref().unwrap();
        assert!(a.sqnr_db.is_some_and(f64::is_finite) && a.mean_abs_diff > 0.0, "{a:?}");
        assert!(!single.repeatability.as_ref().unwrap().identical);
        let parts: Vec<ConsistencyPart> = (0..3).map(|i| serde_json::from_value(serde_json::to_value(part(&all, (i, 3))).unwrap()).unwrap()).collect();
        assert_eq!(parts[1].shard.as_ref().unwrap().examined, vec![1, 4, 7, 10]);
        assert_eq!(parts[1].shard.as_ref().unwrap().batch_groups, vec![1, 4]);
        let merged = merge_consistency(&[parts[2].clone(), parts[0].clone(), parts[1].clone()]).unwrap();
        let mut whole = single.clone();
        whole.shard = None;
        assert_eq!(untimed(&merged), untimed(&whole));
        // Hand-checked: 11 samples, 5 batches of 2 (sample 10 in none), 8 degenerate frames.
        assert_eq!((merged.repeatability.unwrap().samples, merged.batch_invariance.unwrap().samples, merged.degenerate_frames.unwrap().len()), (11, 10, 8));

        let some = merge_consistency(&parts[..2]).unwrap();
        let record = some.shard.unwrap();
        assert_eq!((record.shards, record.missing_samples), (vec![0, 1], 3));
        let err = merge_consistency(&[parts[0].clone(), parts[0].clone()]).unwrap_err().to_string();
        assert!(err.contains("consistency shards") && err.contains("given twice"), "{err}");
        // A shard that lost its agreement (run without --reference) is refused, naming the check.
        let mut without = parts[1].clone();
        without.agreement = None;
        let err = merge_consistency(&[parts[0].clone(), without, parts[2].clone()]).unwrap_err().to_string();
        assert!(err.starts_with("agreement:"), "{err}");
    }

    /// A toy detector on 2x2 frames: `1 + (mean·7) as usize` boxes `(0.1k + shift·mean, 0, +0.05, 0.05)`
    /// with scores `0.9 - 0.01k`; `jitter` added to x on odd calls.
    struct Boxes {
        info: TargetInfo,
        shift: f32,
        jitter: f32,
        calls: u32,
    }

    fn boxes(shift: f32, jitter: f32) -> Boxes {
        Boxes { info: toy(1.0, 0.0).info, shift, jitter, calls: 0 }
    }

    impl Target for Boxes {
        fn info(&self) -> &TargetInfo {
            &self.info
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            self.calls += 1;
            let n = inputs[0].shape()[0];
            let v = inputs[0].to_f32_vec();
            let (mut scores, mut out) = (vec![], vec![]);
            for row in v.chunks(v.len() / n) {
                let m = row.iter().sum::<f32>() / row.len() as f32;
                let fire = 1 + (m * 7.0) as usize;
                for k in 0..8 {
                    scores.push(if k < fire { 0.9 - 0.01 * k as f32 } else { 0.0 });
                    let x0 = 0.1 * k as f32 + self.shift * m + self.jitter * (self.calls % 2) as f32;
                    out.extend([x0, 0.0, x0 + 0.05, 0.05]);
                }
            }
            Ok(vec![Tensor::f32(vec![n, 8, 1], scores)?, Tensor::f32(vec![n, 8, 4], out)?])
        }
    }

    /// The detector checks: 3 shards of 11 frames merge into the single run (mean IoU folded per frame).
    #[test]
    fn detector_shards_merge_into_the_single_run_exactly() {
        use crate::{detection_agreement, detection_batch_invariance, detection_repeatability};
        let task = aite_task::Postprocess::new(aite_task::TaskSpec::parse_cli("task=detector,scores_output=0,boxes_output=1").unwrap());
        let all = frames(11);
        let ids: Vec<String> = all.iter().map(|f| f.0.clone()).collect();
        let run = |shard: (usize, usize)| {
            let plan = ConsistencyShard::plan(shard, &ids, Some(2));
            let pick = |at: &[usize]| at.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
            let (mine, groups) = (pick(&plan.examined), pick(&plan.batch_samples()));
            let mut p = ConsistencyPart {
                detection_repeatability: Some(detection_repeatability(&mut boxes(0.0, 1e-3), &spec(), &task, &mine, 3).unwrap()),
                detection_batch_invariance: Some(detection_batch_invariance(&mut boxes(0.0, 0.0), &mut boxes(0.0, 2e-3), 2, &spec(), &task, &groups, 1e-4).unwrap()),
                detection_agreement: Some(detection_agreement(&mut boxes(0.0, 0.0), &mut boxes(0.06, 0.0), &spec(), &task, &mine).unwrap()),
                shard: Some(plan),
                ..Default::default()
            };
            p.place_samples();
            serde_json::from_value::<ConsistencyPart>(serde_json::to_value(p).unwrap()).unwrap()
        };
        let mut single = run((0, 1));
        single.shard = None;
        let a = single.detection_agreement.as_ref().unwrap();
        assert!(a.matched > 11 && a.mean_iou.is_some_and(|m| m < 1.0) && !a.disagreements.is_empty(), "{a:?}");
        let merged = merge_consistency(&[run((1, 3)), run((0, 3)), run((2, 3))]).unwrap();
        assert_eq!(serde_json::to_value(&merged).unwrap(), serde_json::to_value(&single).unwrap());
    }

    #[test]
    fn degenerate_kinds_are_built_in_the_order_of_all() {
        let r = degenerate_frames_where(&mut toy(1.0, 0.0), &spec(), &frames(1)[0].1, 1, &|_| true).unwrap();
        assert_eq!(r.iter().map(|f| f.kind).collect::<Vec<_>>(), DegenerateKind::ALL.to_vec());
    }
}
