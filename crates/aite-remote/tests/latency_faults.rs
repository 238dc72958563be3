//! Latency runs on a remote target past failed requests (issue 15, faults): every failed
//! query recorded by kind and excluded from the statistics, the error count and rate beside
//! them, the longest outage measured, and a dead server stopping the run cleanly.

mod fake_server;

use aite_latency::{run, LatencyError, LatencyReport, LatencyScenario, LatencySettings, Workload};
use aite_remote::{OipTarget, RemoteOptions};
use aite_target::{Cancel, RequestCounts, RequestOutcome, ServerStats, Target, TargetError, TargetInfo, Tensor};
use fake_server::{FakeConfig, FakeServer, Fault};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WARMUP: usize = 2;

fn connect(server: &FakeServer) -> OipTarget {
    OipTarget::connect(&server.url(), &RemoteOptions { timeout: Duration::from_millis(5000), ..RemoteOptions::default() }).unwrap()
}

fn work() -> Workload {
    Workload::Tensors(vec![vec![Tensor::f32(vec![1, 4], vec![0.5, -1.0, 3.0, 2.0]).unwrap()]])
}

fn settings(min_queries: u64) -> LatencySettings {
    LatencySettings { min_queries, min_duration_ms: 0, warmup_queries: WARMUP as u64, ..LatencySettings::default() }
}

fn single_stream(t: &mut OipTarget, s: &LatencySettings) -> Result<LatencyReport, LatencyError> {
    run(t, &work(), &LatencyScenario::SingleStream, s, &Cancel::new(), &mut |_| {})
}

/// The OIP target, publishing how many of its requests were refused after each query.
struct Watched {
    inner: OipTarget,
    refused: Arc<AtomicU64>,
}

impl Target for Watched {
    fn info(&self) -> &TargetInfo {
        self.inner.info()
    }
    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        let r = self.inner.infer(inputs);
        self.refused.store(self.inner.request_counts().map_or(0, |c| c.refused), Ordering::SeqCst);
        r
    }
    fn request_counts(&self) -> Option<RequestCounts> {
        self.inner.request_counts()
    }
    fn server_stats(&mut self) -> Option<Result<ServerStats, String>> {
        self.inner.server_stats()
    }
}

/// Failed and successful query indices together are exactly 0..issued, each once.
fn assert_every_query_accounted(r: &LatencyReport) {
    let mut ix: Vec<u64> = r.records.iter().map(|q| q.index).chain(r.failed_queries.iter().map(|f| f.index)).collect();
    ix.sort_unstable();
    assert_eq!(ix, (0..r.queries + r.errors).collect::<Vec<_>>());
}

#[test]
fn one_500_is_recorded_excluded_and_the_run_completes() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server);
    // Warm-up is not measured; measured query 5 gets a 500.
    server.inject(std::iter::repeat_n(Fault::Pass, WARMUP + 5).chain([Fault::Status500]));
    let r = single_stream(&mut t, &settings(200)).unwrap();
    assert_eq!((r.queries, r.errors, r.records.len(), r.latency.count), (200, 1, 200, 200));
    assert_eq!(r.error_rate, 1.0 / 201.0);
    assert_eq!(r.failed_queries.len(), 1);
    assert_eq!((r.failed_queries[0].index, r.failed_queries[0].kind), (5, RequestOutcome::Http5xx));
    let req = r.requests.unwrap();
    assert_eq!((req.ok, req.http_5xx, req.errors()), (200, 1, 1));
    let outage = r.outage.unwrap();
    assert_eq!((outage.first_query, outage.queries, outage.ongoing), (5, 1, false));
    assert_every_query_accounted(&r);
    // 1 of 201 is under the 1% bound: the figures stand.
    assert!(r.error.is_none() && r.validity.valid, "{:?}", r.validity);
}

#[test]
fn a_window_of_failures_is_the_outage_and_the_error_rate_bound_judges_it() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server);
    server.inject(std::iter::repeat_n(Fault::Pass, WARMUP + 10).chain(std::iter::repeat_n(Fault::Status500, 5)).chain([Fault::Pass, Fault::Status500]));
    let r = single_stream(&mut t, &settings(300)).unwrap();
    assert_eq!((r.queries, r.errors), (300, 6));
    assert_every_query_accounted(&r);
    let outage = r.outage.unwrap();
    assert_eq!((outage.first_query, outage.queries, outage.ongoing), (10, 5, false));
    // Hand-computed from the raw records: first failure scheduled to query 15 scheduled.
    let next_ok = r.records.iter().find(|q| q.index == 15).unwrap();
    assert_eq!(outage.ms, (next_ok.scheduled_ns - r.failed_queries[0].scheduled_ns) as f64 / 1e6);
    assert!(r.error.is_none(), "the run completed");
    // 6 of 306 (1.96%) is above the default 1% bound.
    assert!(!r.validity.valid);
    assert!(r.validity.reasons.iter().any(|m| m.contains("6 of 306 queries failed") && m.contains("1.00% bound")), "{:?}", r.validity.reasons);
    // The same run under a stated 5% bound is VALID.
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server);
    server.inject(std::iter::repeat_n(Fault::Pass, WARMUP + 10).chain(std::iter::repeat_n(Fault::Status500, 5)));
    let r = single_stream(&mut t, &LatencySettings { max_error_rate: 0.05, ..settings(300) }).unwrap();
    assert!(r.validity.valid, "{:?}", r.validity);
}

#[test]
fn a_dead_server_stops_the_run_cleanly_with_its_reason() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server);
    server.refuse_after(WARMUP + 20);
    let r = single_stream(&mut t, &settings(200)).unwrap();
    // 20 answered, then 11 failed in a row: one more than the bound of 10.
    assert_eq!((r.queries, r.errors), (20, 11));
    assert_every_query_accounted(&r);
    assert!(r.failed_queries.iter().all(|f| f.kind == RequestOutcome::Refused), "{:?}", r.failed_queries);
    let outage = r.outage.unwrap();
    assert_eq!((outage.first_query, outage.queries, outage.ongoing), (20, 11, true));
    let e = r.error.as_deref().unwrap();
    assert!(e.contains("stopped after 11 consecutive failed queries (bound 10)") && e.contains("refused"), "{e}");
    assert!(!r.validity.valid);
    // The kept-alive connection was closed (a reset, retried once), then nothing listened.
    let req = r.requests.unwrap();
    assert_eq!((req.ok, req.reset, req.retried, req.refused), (20, 1, 1, 11));
}

#[test]
fn a_server_dead_for_every_measured_query_is_an_error_not_a_report() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server);
    server.refuse_after(WARMUP);
    let e = single_stream(&mut t, &settings(200)).unwrap_err();
    assert!(matches!(e, LatencyError::Stopped(_)), "{e}");
    assert!(e.to_string().contains("answered no measured query") && e.to_string().contains("refused"), "{e}");
}

#[test]
fn a_server_killed_and_restarted_mid_run_leaves_an_outage_and_the_run_completes() {
    let mut server = FakeServer::start(FakeConfig::default());
    let t = connect(&server);
    // No consecutive-failure stop here: the outage lasts as long as the server is down.
    let s = LatencySettings { max_consecutive_failures: u64::MAX, ..settings(400) };
    // The server comes back once the client has met a refused connect (not after a fixed pause,
    // which a loaded machine can spend before the client tries again).
    let refused = Arc::new(AtomicU64::new(0));
    let mut watched = Watched { inner: t, refused: refused.clone() };
    let runner = std::thread::spawn(move || run(&mut watched, &work(), &LatencyScenario::SingleStream, &s, &Cancel::new(), &mut |_| {}));
    while server.seen.infer_requests.load(Ordering::SeqCst) < WARMUP + 50 {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.kill();
    let until = Instant::now() + Duration::from_secs(120);
    while refused.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < until && !runner.is_finished(), "the client met no refused connect after the kill");
        std::thread::sleep(Duration::from_millis(1));
    }
    server.restart();
    let r = runner.join().unwrap().unwrap();
    assert_eq!(r.queries, 400, "the run completed after the restart");
    assert!(r.errors >= 1 && r.error.is_none(), "{} errors, {:?}", r.errors, r.error);
    assert_every_query_accounted(&r);
    assert!(r.failed_queries.iter().all(|f| f.kind != RequestOutcome::Ok));
    assert!(r.failed_queries.iter().any(|f| f.kind == RequestOutcome::Refused), "{:?}", &r.failed_queries[..r.failed_queries.len().min(5)]);
    let outage = r.outage.unwrap();
    assert!(!outage.ongoing && outage.first_query >= 50 && outage.ms > 0.0, "{outage:?}");
    // Queries succeeded again after the outage.
    assert!(r.records.iter().any(|q| q.index >= outage.first_query + outage.queries));
    let req = r.requests.unwrap();
    assert_eq!(req.ok, 400);
    assert!(req.refused >= 1);
}
