//! The throughput of a run with failed queries counts the answered samples over the whole
//! window, the failed queries' time included (what aite-assessment relies on to keep a missed
//! throughput lower bound FAILED: the figure is at least what was served). Relations between
//! recorded values only, no timing assertion.

use aite_latency::{run, LatencyScenario, LatencySettings, Workload};
use aite_target::{Cancel, NullTarget, RequestCounts, Target, TargetError, TargetInfo, Tensor};

/// A remote-like target whose every third request is refused, counted as a remote client does.
struct Refusing {
    info: TargetInfo,
    counts: RequestCounts,
    calls: u64,
}

impl Target for Refusing {
    fn info(&self) -> &TargetInfo {
        &self.info
    }
    fn infer(&mut self, _: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        self.calls += 1;
        if self.calls % 3 == 0 {
            self.counts.refused += 1;
            return Err(TargetError::Inference { target: "refusing".into(), reason: "connection refused".into() });
        }
        self.counts.ok += 1;
        Ok(vec![Tensor::f32(vec![1, 2], vec![0.0, 1.0])?])
    }
    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.counts)
    }
}

#[test]
fn throughput_counts_answered_samples_over_a_window_that_includes_the_failed_queries() {
    let mut t = Refusing { info: NullTarget::new(vec![1]).info().clone(), counts: RequestCounts::default(), calls: 0 };
    let work = Workload::Tensors(vec![vec![Tensor::f32(vec![1], vec![0.0]).unwrap()]]);
    // 96 queries issued (the cap, below min_queries), the 96th refused: the window must reach past the last answer.
    let settings = LatencySettings { min_duration_ms: 0, min_queries: 1000, max_queries: 96, warmup_queries: 0, max_consecutive_failures: 10, ..Default::default() };
    let r = run(&mut t, &work, &LatencyScenario::SingleStream, &settings, &Cancel::new(), &mut |_| {}).unwrap();
    assert!(r.errors > 0 && r.errors == r.failed_queries.len() as u64, "the fixture fails every third query: {} errors", r.errors);
    assert_eq!(r.queries, r.records.len() as u64, "queries counts the answered ones");
    // The window runs to the last completion, answered or failed.
    let last_failed = r.failed_queries.iter().map(|f| f.completed_ns).max().unwrap();
    let last_answered = r.records.iter().map(|q| q.completed_ns).max().unwrap();
    assert_eq!((r.queries, r.errors), (64, 32), "64 answered, 32 refused");
    assert!(last_failed > last_answered, "the last query issued is a refused one");
    let window_ns = r.duration_ms * 1e6;
    assert!((window_ns - last_failed.max(last_answered) as f64).abs() <= 1.0, "window {window_ns} ns, last completions {last_answered} / {last_failed}");
    // Throughput: answered samples (one per query here) over that window, failed ones not counted.
    let expected = r.queries as f64 / (r.duration_ms / 1e3);
    assert!((r.throughput_sps - expected).abs() <= expected * 1e-9, "{} vs {expected}", r.throughput_sps);
}
