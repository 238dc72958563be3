//! Behaviour of the query loop against fake targets.

use crate::*;
use aite_target::{Cancel, DType, Dim, NullTarget, Target, TargetError, TargetInfo, Tensor, TensorSpec};
use std::time::Duration;

/// Sleeps a fixed time per inference; optionally fails after `fail_after` calls.
struct SlowTarget {
    info: TargetInfo,
    sleep: Duration,
    calls: u64,
    fail_after: Option<u64>,
}

impl SlowTarget {
    fn new(ms: u64) -> Self {
        SlowTarget { info: NullTarget::new(vec![1]).info().clone(), sleep: Duration::from_millis(ms), calls: 0, fail_after: None }
    }
}

impl Target for SlowTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }
    fn infer(&mut self, _: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        self.calls += 1;
        if self.fail_after.is_some_and(|n| self.calls > n) {
            return Err(TargetError::Inference { target: "slow".into(), reason: "device went away".into() });
        }
        std::thread::sleep(self.sleep);
        Ok(vec![Tensor::f32(vec![1, 2], vec![0.0, 1.0])?])
    }
}

fn work() -> Workload {
    Workload::Tensors(vec![vec![Tensor::f32(vec![1], vec![0.0]).unwrap()]])
}

fn quick(min_queries: u64) -> LatencySettings {
    LatencySettings { min_duration_ms: 0, min_queries, warmup_queries: 0, ..Default::default() }
}

#[test]
fn single_stream_counts_and_validates() {
    let mut t = NullTarget::new(vec![1, 2]);
    let r = run(&mut t, &work(), &LatencyScenario::SingleStream, &quick(64), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(r.queries, 64);
    assert_eq!(r.records.len(), 64);
    assert!(r.validity.valid, "{:?}", r.validity);
    assert_eq!(r.early_stopping.overlatency_count, Some(1));
}

#[test]
fn too_few_queries_for_p90_is_invalid_with_reason() {
    let mut t = NullTarget::new(vec![1, 2]);
    let r = run(&mut t, &work(), &LatencyScenario::SingleStream, &quick(10), &Cancel::new(), &mut |_| {}).unwrap();
    assert!(!r.validity.valid);
    assert!(r.validity.reasons.iter().any(|m| m.contains("need 64")), "{:?}", r.validity.reasons);
}

#[test]
fn server_counts_queueing_from_scheduled_time() {
    // 2 ms per inference at 2000 QPS offered: queries queue, and latency must include it.
    let mut t = SlowTarget::new(2);
    let s = LatencyScenario::Server { target_qps: 2000.0, latency_bound_ms: 1.0 };
    let r = run(&mut t, &work(), &s, &LatencySettings { percentile: 0.99, ..quick(30) }, &Cancel::new(), &mut |_| {}).unwrap();
    let queueing = r.stages.queueing.as_ref().unwrap();
    assert!(queueing.max_ms > 10.0, "late queries waited behind earlier ones: {queueing:?}");
    // The query that waited longest still ran its (at least 2 ms) inference after the wait, so
    // the latency from the scheduled time is at least that wait plus 2 ms on any machine (a
    // latency from the issue time would be about 2 ms). Comparing with the slowest inference
    // instead fails when one early sleep overshoots by some 40 ms on a loaded machine.
    assert!(r.latency.max_ms >= queueing.max_ms + 2.0, "latency {:?}, queueing {queueing:?}", r.latency);
    for q in &r.records {
        assert!(q.latency_ns() >= q.issued_ns.saturating_sub(q.scheduled_ns) + q.inference_ns, "{q:?}");
    }
    assert!(!r.validity.valid, "a 2 ms target cannot meet a 1 ms bound");
    assert!(r.validity.reasons.iter().any(|m| m.contains("exceeds")));
}

#[test]
fn periodic_marks_first_frame_after_idle() {
    let mut t = NullTarget::new(vec![1, 2]);
    let s = LatencyScenario::Periodic { fps: 1000.0, burst_frames: 4, idle_ms: 2.0 };
    let r = run(&mut t, &work(), &s, &quick(12), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(r.queries, 12);
    assert_eq!(r.after_idle.as_ref().unwrap().count, 3);
    assert_eq!(r.steady.as_ref().unwrap().count, 9);
    // Frames are scheduled on the camera clock: 2 ms gap, then 1 ms period.
    let gaps: Vec<u64> = r.records.windows(2).map(|w| w[1].scheduled_ns - w[0].scheduled_ns).collect();
    assert_eq!(gaps[0], 1_000_000);
    assert_eq!(gaps[3], 3_000_000);
}

#[test]
fn multi_stream_runs_n_samples_per_query() {
    let mut t = SlowTarget::new(0);
    let s = LatencyScenario::MultiStream { samples_per_query: 8 };
    run(&mut t, &work(), &s, &quick(5), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(t.calls, 40);
}

#[test]
fn failure_mid_run_keeps_measured_queries() {
    let mut t = SlowTarget::new(0);
    t.fail_after = Some(7);
    let r = run(&mut t, &work(), &LatencyScenario::SingleStream, &quick(100), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(r.queries, 7);
    assert!(r.error.as_deref().unwrap().contains("device went away"));
    assert!(!r.validity.valid);
}

#[test]
fn failure_on_first_query_is_an_error() {
    let mut t = SlowTarget::new(0);
    t.fail_after = Some(0);
    let err = run(&mut t, &work(), &LatencyScenario::SingleStream, &quick(10), &Cancel::new(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("device went away"));
}

#[test]
fn cancel_returns_partial_report() {
    let mut t = NullTarget::new(vec![1]);
    let cancel = Cancel::new();
    let c2 = cancel.clone();
    let mut seen = 0;
    let r = run(&mut t, &work(), &LatencyScenario::SingleStream, &quick(1_000_000), &cancel, &mut |p| {
        seen = p.queries;
        if p.queries >= 32 {
            c2.cancel();
        }
    })
    .unwrap();
    assert!(r.interrupted);
    assert!(r.queries >= 32 && r.queries < 1000, "{}", r.queries);
    assert!(seen >= 32);
    assert!(r.validity.reasons[0].contains("interrupted"));
}

#[test]
fn rejects_bad_scenarios() {
    let mut t = NullTarget::new(vec![1]);
    for s in [
        LatencyScenario::Server { target_qps: 0.0, latency_bound_ms: 1.0 },
        LatencyScenario::Periodic { fps: 30.0, burst_frames: 0, idle_ms: 1.0 },
        LatencyScenario::MultiStream { samples_per_query: 0 },
    ] {
        assert!(run(&mut t, &work(), &s, &quick(1), &Cancel::new(), &mut |_| {}).is_err(), "{s:?}");
    }
    assert!(matches!(
        run(&mut t, &Workload::Tensors(vec![]), &LatencyScenario::Offline, &quick(1), &Cancel::new(), &mut |_| {}),
        Err(LatencyError::NoSamples)
    ));
    // An offline query too large to schedule is refused before anything is allocated.
    let huge = LatencySettings { offline_expected_qps: 1e9, min_duration_ms: 600_000, ..quick(1) };
    assert!(matches!(run(&mut t, &work(), &LatencyScenario::Offline, &huge, &Cancel::new(), &mut |_| {}), Err(LatencyError::Scenario(m)) if m.contains("--max-queries")));
}

#[test]
fn caching_audit_flags_a_caching_target() {
    /// Slow on a new input, instant when the input repeats.
    struct Caching(TargetInfo, Option<Vec<f32>>);
    impl Target for Caching {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, x: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let v = x[0].to_f32_vec();
            if self.1.as_ref() != Some(&v) {
                std::thread::sleep(Duration::from_millis(5));
                self.1 = Some(v);
            }
            Ok(vec![])
        }
    }
    let work = Workload::Tensors((0..4).map(|i| vec![Tensor::f32(vec![1], vec![i as f32]).unwrap()]).collect());
    let mut t = Caching(NullTarget::new(vec![1]).info().clone(), None);
    let a = caching_audit(&mut t, &work, 16).unwrap();
    assert!(!a.passed, "{a:?}");
    // 5 ms sleeps against an instant repeat: every resample's speed-up is near 1.
    assert_eq!(a.verdict, CachingVerdict::Fail, "{a:?}");
    assert!(a.speedup_interval.as_ref().unwrap().low > a.threshold, "{a:?}");
    // An honest target's verdict depends on machine noise at this scale, so only
    // the measurement itself is checked here (timing verdicts are not asserted).
    let mut honest = SlowTarget::new(1);
    let a = caching_audit(&mut honest, &work, 16).unwrap();
    assert_eq!(a.queries_each, 16);
    assert!(a.distinct_mean_ms.unwrap() >= 1.0 && a.repeated_mean_ms.unwrap() >= 1.0, "{a:?}");
}

/// Issue 9: one sample cannot tell a cache from a fast target, so the audit says so.
#[test]
fn caching_audit_with_one_sample_is_not_applicable() {
    let mut t = SlowTarget::new(0);
    let a = caching_audit(&mut t, &work(), 16).unwrap();
    assert!(matches!(&a.verdict, CachingVerdict::NotApplicable { why } if why.contains("1 sample")), "{a:?}");
    assert!(!a.passed);
    assert_eq!(t.calls, 0, "nothing is timed");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["verdict"]["status"], "not-applicable");
}

/// The interval from hand-computable pairs: constant pairs give a degenerate interval at
/// the exact ratio of medians; the verdict follows the interval, not a point estimate.
#[test]
fn caching_audit_interval_and_verdict() {
    // distinct 100 ns, repeated 50 ns on every pair: speed-up exactly 0.5 in every resample.
    let a = crate::audit::judge(&[100; 20], &[50; 20], 4);
    let ci = a.speedup_interval.as_ref().unwrap();
    assert_eq!((ci.low, ci.high, a.speedup_fraction), (0.5, 0.5, Some(0.5)));
    assert_eq!(a.threshold, 0.20, "distinct median 0.0001 ms <= 0.2 ms");
    assert_eq!(a.verdict, CachingVerdict::Fail);
    // 5% faster on every pair: within the 20% tolerance.
    let a = crate::audit::judge(&[100; 20], &[95; 20], 4);
    assert_eq!(a.verdict, CachingVerdict::Pass);
    assert!(a.passed);
    // Distinct 1 ms: the 10% rule applies. Ratio-of-medians point estimate 1 - 0.85/1.0 = 0.15.
    let d = vec![1_000_000u64; 21];
    let r: Vec<u64> = (0..21).map(|i| if i < 11 { 850_000 } else { 1_000_000 }).collect();
    let a = crate::audit::judge(&d, &r, 21);
    assert_eq!(a.threshold, 0.10);
    assert!((a.speedup_fraction.unwrap() - 0.15).abs() < 1e-12);
    // Half the pairs equal, half 15% faster: resampled medians fall on either side, so the
    // interval spans [0, 0.15] and contains the 10% limit.
    let ci = a.speedup_interval.as_ref().unwrap();
    assert!(ci.low == 0.0 && (ci.high - 0.15).abs() < 1e-12, "{ci:?}");
    assert!(matches!(a.verdict, CachingVerdict::Inconclusive { .. }), "{a:?}");
}


/// Issue 9: the minimum duration is required in every scenario, open-loop ones included.
#[test]
fn short_server_and_periodic_runs_are_invalid_for_duration() {
    let settings = LatencySettings { min_duration_ms: 60_000, min_queries: 0, max_queries: 5, warmup_queries: 0, ..Default::default() };
    for s in [
        LatencyScenario::Server { target_qps: 1000.0, latency_bound_ms: 100.0 },
        LatencyScenario::Periodic { fps: 1000.0, burst_frames: 4, idle_ms: 1.0 },
    ] {
        let mut t = NullTarget::new(vec![1]);
        let r = run(&mut t, &work(), &s, &settings, &Cancel::new(), &mut |_| {}).unwrap();
        assert_eq!(r.queries, 5, "{s:?}");
        assert!(!r.validity.valid, "{s:?}");
        assert!(r.validity.reasons.iter().any(|m| m.starts_with("min duration not met") && m.contains("< 60000 ms")), "{s:?}: {:?}", r.validity.reasons);
    }
}

fn no_resources() -> ResourceUsage {
    ResourceUsage { peak_rss_bytes: None, cpu_cores_busy: None, logical_cpus: 1, frequency_before: CpuFrequency::default(), frequency_after: CpuFrequency::default() }
}

fn records_with_zero_stages(n: u64) -> Vec<QueryRecord> {
    (0..n)
        .map(|i| QueryRecord {
            index: i,
            sample: 0,
            scheduled_ns: i * 1000,
            issued_ns: i * 1000,
            completed_ns: i * 1000 + 500,
            decode_ns: 300,
            preprocess_ns: 200,
            inference_ns: 0,
            postprocess_ns: 0,
            after_idle: false,
            parts: [0; crate::MAX_PARTS],
            part_items: Some([0; crate::MAX_PARTS]),
            results: None,
        })
        .collect()
}

/// Issue 9: a stage measured at 0 ns on every query (faster than the clock) is a
/// measured stage with its real count, not a single made-up sample or "not measured".
#[test]
fn all_zero_stages_report_their_real_count() {
    let bare = crate::runner::build_report(&LatencyScenario::SingleStream, &quick(10), &work(), records_with_zero_stages(10), Vec::new(), 1, &[], no_resources(), false, None, None);
    assert_eq!(bare.stages.inference.count, 10);
    assert_eq!(bare.stages.inference.max_ms, 0.0);
    assert!(bare.stages.decode.is_none() && bare.stages.postprocess.is_none(), "bare inference does not measure decode/postprocess");

    let frames = Workload::Frames { frames: vec![("f".into(), std::sync::Arc::from(&b"x"[..]))], spec: Default::default() };
    let e2e = crate::runner::build_report(&LatencyScenario::SingleStream, &quick(10), &frames, records_with_zero_stages(10), Vec::new(), 1, &[], no_resources(), false, None, None);
    assert_eq!(e2e.stages.inference.count, 10);
    assert_eq!(e2e.stages.postprocess.as_ref().map(|s| s.count), Some(10), "end to end measures postprocess even when it is 0 ns");
    assert_eq!(e2e.stages.decode.as_ref().map(|s| (s.count, s.mean_ms)), Some((10, 0.0003)));
}

/// Answers at once; declares a symbolic batch axis and a concurrency, and records every
/// call it gets so the offline issue pattern can be checked.
struct Recorder {
    info: TargetInfo,
    concurrency: usize,
    waves: Vec<usize>,
    batches: Vec<usize>,
}

impl Recorder {
    fn new(batch_axis: bool, concurrency: usize) -> Self {
        let mut info = NullTarget::new(vec![1]).info().clone();
        let lead = if batch_axis { Dim::Symbolic("N".into()) } else { Dim::Fixed(1) };
        info.inputs = vec![TensorSpec { name: "x".into(), dtype: DType::F32, shape: vec![lead, Dim::Fixed(4)] }];
        Recorder { info, concurrency, waves: vec![], batches: vec![] }
    }
}

impl Target for Recorder {
    fn info(&self) -> &TargetInfo {
        &self.info
    }
    fn infer(&mut self, x: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        self.batches.push(x[0].shape()[0]);
        Ok(vec![Tensor::f32(vec![1, 2], vec![0.0, 1.0])?])
    }
    fn concurrency(&self) -> usize {
        self.concurrency
    }
    fn infer_concurrent(&mut self, queries: &[&[Tensor]]) -> Vec<Result<Vec<Tensor>, TargetError>> {
        self.waves.push(queries.len());
        queries.iter().map(|q| self.infer(q)).collect()
    }
}

fn batched_work(batch: usize) -> Workload {
    Workload::Tensors((0..3).map(|i| vec![Tensor::f32(vec![batch, 4], vec![i as f32; batch * 4]).unwrap()]).collect())
}

/// Issue 9: offline is one query with every sample, issued at t = 0, and its result is
/// LoadGen's throughput, samples / (last completion − issue).
#[test]
fn offline_issues_one_query_in_batches_and_reports_throughput() {
    let mut t = Recorder::new(true, 1);
    let r = run(&mut t, &batched_work(8), &LatencyScenario::Offline, &quick(100), &Cancel::new(), &mut |_| {}).unwrap();
    let o = r.offline.as_ref().expect("offline result");
    assert_eq!(r.queries, 1, "one query");
    assert_eq!((o.samples_issued, o.samples_completed, o.batch, o.inferences), (100, 100, 8, 13), "ceil(100 / 8) batches of 8");
    assert!(t.batches.iter().all(|&b| b == 8), "{:?}", t.batches);
    assert!(r.records.iter().all(|q| q.scheduled_ns == 0), "every sample is scheduled at the issue time");
    let last = r.records.iter().map(|q| q.completed_ns).max().unwrap();
    assert_eq!(o.duration_ns, last);
    assert_eq!(o.throughput_sps, 100.0 / (last as f64 / 1e9));
    assert_eq!(r.throughput_sps, o.throughput_sps);
    assert!(r.drift.is_none(), "latency from the one issue time grows by construction");
    // Valid with 100 samples and no minimum duration: offline has no early-stopping rule.
    assert!(r.validity.valid, "{:?}", r.validity);
}

#[test]
fn offline_without_batch_axis_issues_up_to_the_declared_concurrency() {
    let mut t = Recorder::new(false, 4);
    let r = run(&mut t, &batched_work(1), &LatencyScenario::Offline, &quick(10), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(t.waves, vec![4, 4, 2]);
    let o = r.offline.as_ref().unwrap();
    assert_eq!((o.batch, o.concurrency, o.inferences, o.samples_completed), (1, 4, 10, 10));
    // Samples of one wave are issued and completed together.
    assert_eq!(r.records[0].issued_ns, r.records[3].issued_ns);
    assert_eq!(r.records[0].completed_ns, r.records[3].completed_ns);
    // The default concurrency is 1: one after another.
    let mut t = Recorder::new(false, 1);
    t.concurrency = NullTarget::new(vec![1]).concurrency();
    run(&mut t, &batched_work(1), &LatencyScenario::Offline, &quick(3), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(t.waves, vec![1, 1, 1]);
}

#[test]
fn offline_validity_rule() {
    // Too short a query for the minimum duration: INVALID, with the sample count to ask for.
    let mut t = Recorder::new(false, 1);
    let s = LatencySettings { min_duration_ms: 60_000, ..quick(10) };
    let r = run(&mut t, &batched_work(1), &LatencyScenario::Offline, &s, &Cancel::new(), &mut |_| {}).unwrap();
    assert!(!r.validity.valid);
    assert!(r.validity.reasons.iter().any(|m| m.starts_with("min duration not met")), "{:?}", r.validity.reasons);
    assert!(r.validity.reasons.iter().any(|m| m.starts_with("offline: at the measured")), "{:?}", r.validity.reasons);
    // --max-queries below the minimum sample count.
    let s = LatencySettings { max_queries: 5, ..quick(10) };
    let r = run(&mut t, &batched_work(1), &LatencyScenario::Offline, &s, &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(r.offline.as_ref().unwrap().samples_issued, 5);
    assert!(r.validity.reasons.iter().any(|m| m.contains("min sample count not met (5 < 10)")), "{:?}", r.validity.reasons);
}

#[test]
fn offline_query_size_follows_the_expected_rate() {
    let s = LatencySettings { min_duration_ms: 10_000, min_queries: 100, offline_expected_qps: 50.0, ..Default::default() };
    assert_eq!(offline_samples(&s), 550, "1.1 x 50/s x 10 s");
    assert_eq!(offline_samples(&LatencySettings { offline_expected_qps: 5.0, ..s.clone() }), 100, "at least min_queries");
    assert_eq!(offline_samples(&LatencySettings { max_queries: 64, ..s }), 64);
}

/// Review finding: `part_items` and a part's `items` defaulted to 0 when absent, so an older
/// package read as "the part ran on nothing". Absent is not recorded (`None`); written, they
/// are numbers as before; a sum over records is only a sum when every record has its counts.
#[test]
fn part_counts_absent_from_an_older_record_are_not_recorded_not_zero() {
    let written = StagePart { name: "rec_inference".into(), stage: Stage::Inference, latency: LatencySummary::from_ns(&[1000]).unwrap(), items: Some(0) };
    let mut json = serde_json::to_value(&written).unwrap();
    assert_eq!(json["items"], 0, "a part that ran on nothing is written 0");
    json.as_object_mut().unwrap().remove("items");
    assert_eq!(serde_json::from_value::<StagePart>(json).unwrap().items, None);
    let mut records = records_with_zero_stages(2);
    let mut json = serde_json::to_value(&records[0]).unwrap();
    json.as_object_mut().unwrap().remove("part_items");
    assert_eq!(serde_json::from_value::<QueryRecord>(json).unwrap().part_items, None);
    // 2 + 3 crops over two queries = 5 (hand-added); a third query without counts: unknown.
    records[0].part_items.as_mut().unwrap()[3] = 2;
    records[1].part_items.as_mut().unwrap()[3] = 3;
    assert_eq!(StagePart::items_over(&records, 3), Some(5));
    assert_eq!(serde_json::to_value(&records[1]).unwrap()["part_items"][3], 3, "written as a number, as before");
    records.push(QueryRecord { part_items: None, ..records[0].clone() });
    assert_eq!(StagePart::items_over(&records, 3), None);
}
