//! Behaviour of the query loop against fake targets.

use crate::*;
use aite_target::{Cancel, NullTarget, Target, TargetError, TargetInfo, Tensor};
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
    assert!(r.latency.max_ms >= r.stages.inference.max_ms + queueing.max_ms * 0.5);
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
    // An honest target's verdict depends on machine noise at this scale, so only
    // the measurement itself is checked here (timing verdicts are not asserted).
    let mut honest = SlowTarget::new(1);
    let a = caching_audit(&mut honest, &work, 16).unwrap();
    assert_eq!(a.queries_each, 16);
    assert!(a.distinct_mean_ms >= 1.0 && a.repeated_mean_ms >= 1.0, "{a:?}");
}
