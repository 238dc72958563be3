//! The query loop: schedules queries per scenario, times them with a monotonic
//! clock, and turns the records into a [`LatencyReport`].

use crate::drift::{drift, Drift};
use crate::early_stopping::{self, EarlyStoppingEstimate};
use crate::offline::{run_offline, OfflineResult};
use crate::resources::{cpu_frequency, peak_rss_bytes, process_cpu_time, ResourceUsage};
use crate::stats::{percentile, LatencySummary};
use crate::workload::{Counted, LatencyMode, Stage, Workload, MAX_PARTS};
use crate::{LatencyScenario, LatencySettings};
use aite_target::{Cancel, RequestCounts, RequestOutcome, Target, TargetError};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// One measured query. Times are ns since the measured run started.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueryRecord {
    pub index: u64,
    /// Index of the (first) sample the query used.
    pub sample: usize,
    pub scheduled_ns: u64,
    pub issued_ns: u64,
    pub completed_ns: u64,
    pub decode_ns: u64,
    pub preprocess_ns: u64,
    pub inference_ns: u64,
    pub postprocess_ns: u64,
    /// First frame after an idle gap (periodic scenario).
    pub after_idle: bool,
    /// The named parts of the stages ([`Workload::parts`], e.g. the OCR read's), in ns;
    /// zeros for workloads without parts.
    #[serde(default)]
    pub parts: [u64; MAX_PARTS],
    /// What each named part processed in the query ([`Workload::parts`]; the OCR read: the
    /// frame for the detector's parts, the text-box crops for crop, cls and rec); `None` in a
    /// record written before it was counted (not recorded, never "ran on nothing").
    #[serde(default)]
    pub part_items: Option<[u32; MAX_PARTS]>,
    /// Detections or text lines the query's postprocess produced ([`Workload::counted`]), over
    /// its frames (multi-stream: all of them); `None` where nothing is counted.
    #[serde(default)]
    pub results: Option<u32>,
}

impl QueryRecord {
    /// LoadGen latency: completion minus *scheduled* time.
    pub fn latency_ns(&self) -> u64 {
        self.completed_ns.saturating_sub(self.scheduled_ns)
    }
}

/// A query that failed on a remote target: recorded, excluded from every latency statistic.
/// Times are ns since the measured run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedQuery {
    pub index: u64,
    pub sample: usize,
    pub scheduled_ns: u64,
    pub completed_ns: u64,
    /// How the target's (last) request for it ended.
    pub kind: RequestOutcome,
}

/// The longest stretch of consecutive failed queries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OutageWindow {
    /// Index of its first failed query.
    pub first_query: u64,
    pub queries: u64,
    /// From the first failed query's scheduled time to the next successful query's
    /// scheduled time (to the last failure's completion when the run ended inside it).
    pub ms: f64,
    /// The run ended (stopped or finished) before a query succeeded again.
    pub ongoing: bool,
}

impl OutageWindow {
    /// The longest run of consecutive failures in issue order (the first of equal ones).
    pub fn longest(records: &[QueryRecord], failed: &[FailedQuery]) -> Option<OutageWindow> {
        let mut best: Option<OutageWindow> = None;
        let mut i = 0;
        while i < failed.len() {
            let mut j = i;
            while j + 1 < failed.len() && failed[j + 1].index == failed[j].index + 1 {
                j += 1;
            }
            let (first, last) = (&failed[i], &failed[j]);
            let next_ok = records.iter().find(|r| r.index > last.index);
            let end_ns = next_ok.map_or(last.completed_ns, |r| r.scheduled_ns);
            let w = OutageWindow {
                first_query: first.index,
                queries: (j - i + 1) as u64,
                ms: end_ns.saturating_sub(first.scheduled_ns) as f64 / 1e6,
                ongoing: next_ok.is_none(),
            };
            if best.is_none_or(|b| w.queries > b.queries) {
                best = Some(w);
            }
            i = j + 1;
        }
        best
    }
}

/// How a remote target's failed request ended, from its counts before and after the query:
/// the failure that is not a retried reset when there is one.
fn failure_kind(before: &RequestCounts, after: &RequestCounts) -> Option<RequestOutcome> {
    let d = after.since(before);
    [
        (d.timeout, RequestOutcome::Timeout),
        (d.refused, RequestOutcome::Refused),
        (d.truncated, RequestOutcome::Truncated),
        (d.http_4xx, RequestOutcome::Http4xx),
        (d.http_5xx, RequestOutcome::Http5xx),
        (d.malformed, RequestOutcome::Malformed),
        (d.reset, RequestOutcome::Reset),
    ]
    .into_iter()
    .find(|(n, _)| *n > 0)
    .map(|(_, k)| k)
}

/// Mean and p50 of each stage, in ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageBreakdown {
    pub decode: Option<LatencySummary>,
    pub preprocess: Option<LatencySummary>,
    pub inference: LatencySummary,
    pub postprocess: Option<LatencySummary>,
    /// Time between scheduled and issued (queueing), server and periodic only.
    pub queueing: Option<LatencySummary>,
    /// The named parts of the stages (the OCR read: det_preprocess ... ctc_decode), each
    /// counted in one stage, so a stage's samples are the sums of its parts' samples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<StagePart>,
}

/// One named part of a stage, summarised over every query (zeros where it did not run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagePart {
    pub name: String,
    pub stage: Stage,
    pub latency: LatencySummary,
    /// What the part processed over the measured queries (the OCR read: frames for the
    /// detector's parts, text-box crops for crop, cls and rec), so a part that ran on nothing
    /// reads 0, not a time. `None`: not recorded (an older package, or a query record without
    /// its counts), which says nothing about what the part ran on.
    #[serde(default)]
    pub items: Option<u64>,
}

impl StagePart {
    /// What part `i` processed over `records`: the sum of their counts, `None` when any record
    /// lacks them (a partial sum would read as fewer items).
    pub fn items_over(records: &[QueryRecord], i: usize) -> Option<u64> {
        records.iter().map(|r| r.part_items.map(|p| u64::from(p[i]))).sum()
    }
}

/// How many results (detections, text boxes or lines) each measured frame's postprocess
/// produced: post-processing time depends on it, so a latency is read with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsPerFrame {
    pub counted: Counted,
    /// Frames of the successful queries (multi-stream: every frame of each).
    pub frames: usize,
    pub min: u32,
    pub mean: f64,
    pub max: u32,
}

impl ResultsPerFrame {
    /// `None` for no frames.
    pub fn from_counts(counted: Counted, counts: &[u32]) -> Option<Self> {
        let (&min, &max) = (counts.iter().min()?, counts.iter().max()?);
        Some(ResultsPerFrame { counted, frames: counts.len(), min, max, mean: counts.iter().map(|&c| c as f64).sum::<f64>() / counts.len() as f64 })
    }
}

/// The one wording every report uses: `detections per frame: min 1, mean 2.50, max 4 (24 frames)`.
impl std::fmt::Display for ResultsPerFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} per frame: min {}, mean {:.2}, max {} ({} frames)", self.counted.column().replace('_', " "), self.min, self.mean, self.max, self.frames)
    }
}

/// VALID/INVALID in LoadGen's sense, with every reason for INVALID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    pub valid: bool,
    pub reasons: Vec<String>,
}

/// Everything a latency run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    pub scenario: LatencyScenario,
    pub settings: LatencySettings,
    pub mode: LatencyMode,
    pub samples_loaded: usize,
    pub queries: u64,
    pub duration_ms: f64,
    /// Completed samples per second over the measured run.
    pub throughput_sps: f64,
    /// Latency per query (scheduled to completed).
    pub latency: LatencySummary,
    pub stages: StageBreakdown,
    /// Detections or text lines per frame, for a detector or an OCR workload (`None`: bare
    /// inference or a classifier, where nothing is counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_per_frame: Option<ResultsPerFrame>,
    pub early_stopping: EarlyStoppingEstimate,
    /// Periodic scenario: first frame after each idle gap, and the rest.
    pub after_idle: Option<LatencySummary>,
    pub steady: Option<LatencySummary>,
    /// Periodic: frames whose latency exceeded the frame period.
    pub deadline_misses: Option<u64>,
    pub validity: Validity,
    pub resources: ResourceUsage,
    pub drift: Option<Drift>,
    /// Offline scenario: the one query, its batching and concurrency, and the throughput.
    #[serde(default)]
    pub offline: Option<OfflineResult>,
    pub interrupted: bool,
    /// Set when the run stopped on a failure: a local engine's first failed query after
    /// others succeeded, or a remote target's `max_consecutive_failures` in a row. The report
    /// covers the queries before it.
    pub error: Option<String>,
    /// Queries that failed on a remote target, in issue order (a failed request is recorded
    /// and the run goes on); `queries`, `latency` and every statistic cover successes only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_queries: Vec<FailedQuery>,
    /// Failed queries, and their share of the issued queries (`errors / (queries + errors)`).
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub error_rate: f64,
    /// The longest stretch of consecutive failed queries; `None` without failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<OutageWindow>,
    /// A remote target's requests during the measured run, by outcome (warm-up excluded);
    /// `None` for local engines. The latency figures above cover successful queries only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<aite_target::RequestCounts>,
    /// The server's own time over the measured window (snapshots of its statistics at both
    /// edges); `None` for local engines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerTime>,
    #[serde(skip)]
    pub records: Vec<QueryRecord>,
}

/// Why a latency run produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    #[error("no samples to run\n  hint: give a dataset with at least one decodable image")]
    NoSamples,
    #[error("invalid scenario: {0}")]
    Scenario(String),
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Every measured query failed until the consecutive-failure bound stopped the run.
    #[error("the target answered no measured query: {0}")]
    Stopped(String),
}

/// Progress of a run, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct RunProgress {
    pub queries: u64,
    pub elapsed: Duration,
    /// Fraction of the minimum requirements met so far (0..=1).
    pub fraction: f64,
}

fn wait_until(deadline: Instant) {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left > Duration::from_micros(1500) {
            std::thread::sleep(left - Duration::from_millis(1));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// The most samples one offline query may carry (its schedule is held in memory).
pub const OFFLINE_SAMPLES_MAX: u64 = 50_000_000;

fn validate(scenario: &LatencyScenario, settings: &LatencySettings) -> Result<(), LatencyError> {
    let bad = |m: &str| Err(LatencyError::Scenario(m.to_string()));
    if !(settings.percentile > 0.0 && settings.percentile < 1.0) {
        return bad("percentile must be in (0, 1), e.g. 0.90");
    }
    if !(0.0..=1.0).contains(&settings.max_error_rate) {
        return bad("max_error_rate must be in [0, 1], e.g. 0.01");
    }
    match scenario {
        LatencyScenario::MultiStream { samples_per_query } if *samples_per_query == 0 => {
            bad("multi-stream needs at least 1 sample per query")
        }
        LatencyScenario::Server { target_qps, latency_bound_ms } if !(*target_qps > 0.0 && target_qps.is_finite()) || *latency_bound_ms <= 0.0 => {
            bad("server needs a positive --qps and --latency-bound-ms")
        }
        LatencyScenario::Periodic { fps, burst_frames, idle_ms } if !(*fps > 0.0 && fps.is_finite()) || *burst_frames == 0 || *idle_ms < 0.0 => {
            bad("periodic needs a positive --fps, --burst >= 1 and --idle-ms >= 0")
        }
        // The offline query's schedule is allocated up front: bound it before anything runs.
        LatencyScenario::Offline if crate::offline::offline_samples(settings) > OFFLINE_SAMPLES_MAX => Err(LatencyError::Scenario(format!(
            "an offline query of {} samples is above aite's bound of {OFFLINE_SAMPLES_MAX}; lower --qps or --min-duration-ms, or cap it with --max-queries",
            crate::offline::offline_samples(settings)
        ))),
        _ => Ok(()),
    }
}

/// Run a scenario against `target`.
pub fn run(
    target: &mut dyn Target,
    workload: &Workload,
    scenario: &LatencyScenario,
    settings: &LatencySettings,
    cancel: &Cancel,
    progress: &mut dyn FnMut(RunProgress),
) -> Result<LatencyReport, LatencyError> {
    validate(scenario, settings)?;
    if workload.is_empty() {
        return Err(LatencyError::NoSamples);
    }
    let mut rng = StdRng::seed_from_u64(settings.seed);
    for _ in 0..settings.warmup_queries {
        let ix = rng.gen_range(0..workload.len());
        workload.run(target, ix)?;
    }
    // The statistics request goes first and last, so the window's request counts exclude it.
    let server_before = settled_server_stats(target);
    let requests_before = target.request_counts();
    let mut report = measure(target, workload, scenario, settings, cancel, progress, &mut rng)?;
    report.requests = match (requests_before, target.request_counts()) {
        (Some(a), Some(b)) => Some(b.since(&a)),
        _ => None,
    };
    report.server = server_before.map(|before| ServerTime::from_snapshots(before, settled_server_stats(target), report.requests));
    Ok(report)
}

/// A snapshot of the server's statistics once they stopped changing: Triton counts a request
/// after it sent the answer, so a snapshot right after the last answer can miss it (seen: 233
/// counted for 232 sent). Reads until two, 10 ms apart, agree (at most 20); under other
/// traffic they never do, and the last read goes to the consistency check.
fn settled_server_stats(target: &mut dyn Target) -> Option<Result<aite_target::ServerStats, String>> {
    let mut last = target.server_stats()?;
    for _ in 0..20 {
        if last.is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        let now = target.server_stats()?;
        if now == last {
            break;
        }
        last = now;
    }
    Some(last)
}

/// The server-side time of a measured window, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ServerTime {
    /// The difference of the server's statistics between the window's edges.
    Measured(aite_target::ServerStats),
    /// The target has a server, but it does not expose statistics: not measured, not zero.
    NotExposed { why: String },
    /// The server's statistics over the window are not aite's own requests (another client,
    /// a restart or reset, a phase missing at an edge): not measured. `server_requests` are
    /// the requests the server counted as answered in the window, `aite_requests` the ones
    /// aite saw succeed; `None` where there is no such count.
    Inconsistent { why: String, server_requests: Option<u64>, aite_requests: Option<u64> },
}

impl ServerTime {
    /// `Measured` only when the server counted, in the window, exactly the requests aite saw
    /// succeed ([`aite_target::ServerStats::answered`] = `requests.ok`), no more failures
    /// than aite saw fail, and no counter went down.
    fn from_snapshots(before: Result<aite_target::ServerStats, String>, after: Option<Result<aite_target::ServerStats, String>>, requests: Option<RequestCounts>) -> ServerTime {
        let (a, b) = match (before, after) {
            (Ok(a), Some(Ok(b))) => (a, b),
            (Err(why), _) | (Ok(_), Some(Err(why))) => return ServerTime::NotExposed { why: format!("not exposed by the server: {why}") },
            (Ok(_), None) => return ServerTime::NotExposed { why: "the target stopped reporting server statistics".into() },
        };
        let aite_requests = requests.map(|r| r.ok);
        let inconsistent = |why: String, server_requests: Option<u64>| ServerTime::Inconsistent { why, server_requests, aite_requests };
        let w = match b.since(&a) {
            Ok(w) => w,
            Err(why) => return inconsistent(why, None),
        };
        let (Some(requests), Some(answered)) = (requests, w.answered()) else {
            return inconsistent(
                match requests {
                    None => "the target counts no requests of its own to match the server's statistics against".into(),
                    Some(_) => "the server reports no answered-request count at both edges of the window (`success` or `compute_infer`), so nothing shows its time is aite's requests'".into(),
                },
                w.answered(),
            );
        };
        if answered != requests.ok {
            return inconsistent(
                format!("the server counted {answered} answered requests in the window, aite {} successful ones: other traffic, or a restart, is in the figures", requests.ok),
                Some(answered),
            );
        }
        if let Some(fail) = w.fail.filter(|f| f.count > requests.errors()) {
            return inconsistent(format!("the server counted {} failed requests in the window, aite saw {} fail: other traffic is in the figures", fail.count, requests.errors()), Some(answered));
        }
        ServerTime::Measured(w)
    }
}

/// The measured run, after warm-up.
fn measure(
    target: &mut dyn Target,
    workload: &Workload,
    scenario: &LatencyScenario,
    settings: &LatencySettings,
    cancel: &Cancel,
    progress: &mut dyn FnMut(RunProgress),
    rng: &mut StdRng,
) -> Result<LatencyReport, LatencyError> {
    if *scenario == LatencyScenario::Offline {
        let (cpu_before, freq_before) = (process_cpu_time(), cpu_frequency());
        let off = run_offline(target, workload, settings, rng, cancel, progress)?;
        if off.records.is_empty() {
            return Err(LatencyError::Scenario(if off.interrupted {
                "interrupted before the first inference completed".into()
            } else {
                "no sample was issued: raise --max-duration".into()
            }));
        }
        let resources = resource_usage(cpu_before, freq_before, off.wall);
        let frame_results: Vec<u32> = off.records.iter().filter_map(|r| r.results).collect();
        return Ok(build_report(scenario, settings, workload, off.records, Vec::new(), 1, &frame_results, resources, off.interrupted, off.error, Some(off.result)));
    }

    let min_duration = Duration::from_millis(settings.min_duration_ms);
    let max_duration = (settings.max_duration_ms > 0).then(|| Duration::from_millis(settings.max_duration_ms));
    let per_query = match scenario {
        LatencyScenario::MultiStream { samples_per_query } => *samples_per_query,
        _ => 1,
    };
    let arrivals = match scenario {
        LatencyScenario::Server { target_qps, .. } => Some(Exp::new(*target_qps).map_err(|e| LatencyError::Scenario(e.to_string()))?),
        _ => None,
    };
    let mut records: Vec<QueryRecord> = Vec::with_capacity(settings.min_queries.clamp(16, 1 << 20) as usize);
    // Each frame's result count, of the successful queries only.
    let mut frame_results: Vec<u32> = Vec::new();
    let mut failed_queries: Vec<FailedQuery> = Vec::new();
    let mut consecutive_failures = 0u64;
    let mut error = None;
    let mut interrupted = false;
    let mut next_arrival = 0f64; // seconds, server
    let cpu_before = process_cpu_time();
    let freq_before = cpu_frequency();
    let start = Instant::now();
    let mut q: u64 = 0;
    loop {
        let elapsed = start.elapsed();
        let scheduled_offset = match scenario {
            LatencyScenario::Server { .. } => Duration::from_secs_f64(next_arrival),
            LatencyScenario::Periodic { fps, burst_frames, idle_ms } => {
                let period = 1.0 / fps;
                let (b, j) = (q / *burst_frames as u64, q % *burst_frames as u64);
                let t = idle_ms / 1e3 * (b + 1) as f64 + (b * *burst_frames as u64 + j) as f64 * period;
                Duration::from_secs_f64(t)
            }
            _ => elapsed,
        };
        // Stop conditions: scheduled-time based for open-loop scenarios.
        let clock = match scenario {
            LatencyScenario::Server { .. } | LatencyScenario::Periodic { .. } => scheduled_offset,
            _ => elapsed,
        };
        // The minimum counts successful queries; the cap counts every issued one.
        let met = records.len() as u64 >= settings.min_queries && clock >= min_duration;
        let capped = (settings.max_queries > 0 && q >= settings.max_queries) || max_duration.is_some_and(|m| elapsed >= m);
        if met || capped {
            break;
        }
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let scheduled = start + scheduled_offset;
        wait_until(scheduled);
        let issued = Instant::now();
        let counts_before = target.request_counts();
        let mut stages = [0u64; 4];
        let mut parts = [0u64; MAX_PARTS];
        let mut part_items = [0u32; MAX_PARTS];
        let mut query_results: Vec<u32> = Vec::new();
        let first_sample = rng.gen_range(0..workload.len());
        let mut failed = None;
        for k in 0..per_query {
            let ix = if k == 0 { first_sample } else { rng.gen_range(0..workload.len()) };
            match workload.run_parts(target, ix) {
                Ok(run) => {
                    for (a, b) in stages.iter_mut().zip(run.stages) {
                        *a += b;
                    }
                    for (a, b) in parts.iter_mut().zip(run.parts) {
                        *a += b;
                    }
                    for (a, b) in part_items.iter_mut().zip(run.items) {
                        *a += b;
                    }
                    query_results.extend(run.results);
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let completed = Instant::now();
        let ns = |t: Instant| (t - start).as_nanos() as u64;
        if let Some(e) = failed {
            // A remote request that failed is recorded and the run goes on; anything else
            // (a local engine, an input the target refused before sending) stops it.
            let kind = match (counts_before, target.request_counts()) {
                (Some(a), Some(b)) => failure_kind(&a, &b),
                _ => None,
            };
            let Some(kind) = kind else {
                if records.is_empty() {
                    return Err(e.into());
                }
                error = Some(e.to_string());
                break;
            };
            failed_queries.push(FailedQuery { index: q, sample: first_sample, scheduled_ns: ns(scheduled), completed_ns: ns(completed), kind });
            consecutive_failures += 1;
            if consecutive_failures > settings.max_consecutive_failures || settings.max_consecutive_failures == 0 {
                let why = format!("stopped after {consecutive_failures} consecutive failed queries (bound {}); the last: {e}", settings.max_consecutive_failures);
                if records.is_empty() {
                    return Err(LatencyError::Stopped(why));
                }
                error = Some(why);
                break;
            }
            if let Some(exp) = &arrivals {
                next_arrival += exp.sample(rng);
            }
            q += 1;
            continue;
        }
        consecutive_failures = 0;
        let results = (!query_results.is_empty()).then(|| query_results.iter().sum());
        frame_results.extend(query_results);
        records.push(QueryRecord {
            index: q,
            sample: first_sample,
            scheduled_ns: ns(scheduled),
            issued_ns: ns(issued),
            completed_ns: ns(completed),
            decode_ns: stages[0],
            preprocess_ns: stages[1],
            inference_ns: stages[2],
            postprocess_ns: stages[3],
            after_idle: matches!(scenario, LatencyScenario::Periodic { burst_frames, .. } if q % *burst_frames as u64 == 0),
            parts,
            part_items: Some(part_items),
            results,
        });
        if let Some(exp) = &arrivals {
            next_arrival += exp.sample(rng);
        }
        q += 1;
        if q % 16 == 0 || q < 16 {
            let frac_q = if settings.min_queries == 0 { 1.0 } else { records.len() as f64 / settings.min_queries as f64 };
            let frac_t = if min_duration.is_zero() { 1.0 } else { clock.as_secs_f64() / min_duration.as_secs_f64() };
            progress(RunProgress { queries: q, elapsed: start.elapsed(), fraction: frac_q.min(frac_t).min(1.0) });
        }
    }
    let wall = start.elapsed();
    if records.is_empty() {
        return Err(LatencyError::Scenario(if interrupted {
            "interrupted before the first query completed".into()
        } else {
            "no query was issued: raise --max-queries/--max-duration".into()
        }));
    }
    Ok(build_report(scenario, settings, workload, records, failed_queries, per_query, &frame_results, resource_usage(cpu_before, freq_before, wall), interrupted, error, None))
}

fn resource_usage(cpu_before: Option<Duration>, freq_before: crate::CpuFrequency, wall: Duration) -> ResourceUsage {
    ResourceUsage {
        peak_rss_bytes: peak_rss_bytes(),
        cpu_cores_busy: match (cpu_before, process_cpu_time()) {
            (Some(a), Some(b)) if !wall.is_zero() => Some((b - a).as_secs_f64() / wall.as_secs_f64()),
            _ => None,
        },
        logical_cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        frequency_before: freq_before,
        frequency_after: cpu_frequency(),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build_report(
    scenario: &LatencyScenario,
    settings: &LatencySettings,
    workload: &Workload,
    records: Vec<QueryRecord>,
    failed_queries: Vec<FailedQuery>,
    per_query: usize,
    frame_results: &[u32],
    resources: ResourceUsage,
    interrupted: bool,
    error: Option<String>,
    offline: Option<OfflineResult>,
) -> LatencyReport {
    let lat: Vec<u64> = records.iter().map(QueryRecord::latency_ns).collect();
    let mut sorted = lat.clone();
    sorted.sort_unstable();
    let latency = LatencySummary::from_ns(&lat).expect("records are non-empty");
    // Every measured stage is summarised over every record, zeros included (a stage
    // faster than the clock is still a measured stage); `None` means not measured.
    let stage = |f: fn(&QueryRecord) -> u64| LatencySummary::from_ns(&records.iter().map(f).collect::<Vec<_>>()).expect("records are non-empty");
    let end_to_end = workload.mode() == LatencyMode::EndToEnd;
    // Offline too: a sample waits for its wave of inferences.
    let open_loop = matches!(scenario, LatencyScenario::Server { .. } | LatencyScenario::Periodic { .. } | LatencyScenario::Offline);
    let stages = StageBreakdown {
        decode: end_to_end.then(|| stage(|r| r.decode_ns)),
        preprocess: end_to_end.then(|| stage(|r| r.preprocess_ns)),
        inference: stage(|r| r.inference_ns),
        postprocess: end_to_end.then(|| stage(|r| r.postprocess_ns)),
        queueing: if open_loop { LatencySummary::from_ns(&records.iter().map(|r| r.issued_ns.saturating_sub(r.scheduled_ns)).collect::<Vec<_>>()) } else { None },
        parts: workload
            .parts()
            .into_iter()
            .enumerate()
            .map(|(i, (name, stage))| StagePart {
                name: name.into(),
                stage,
                latency: LatencySummary::from_ns(&records.iter().map(|r| r.parts[i]).collect::<Vec<_>>()).expect("records are non-empty"),
                items: StagePart::items_over(&records, i),
            })
            .collect(),
    };
    let p = settings.percentile;
    let early = early_stopping::single_stream_estimate(&sorted, p);
    let n = records.len() as u64;
    let last_ns = records.last().map_or(0, |r| r.completed_ns).max(failed_queries.last().map_or(0, |f| f.completed_ns));
    let duration = Duration::from_nanos(last_ns).max(Duration::from_nanos(1));
    let errors = failed_queries.len() as u64;
    let error_rate = if errors == 0 { 0.0 } else { errors as f64 / (n + errors) as f64 };
    let mut reasons = Vec::new();
    if interrupted {
        reasons.push("interrupted before the minimum run length".to_string());
    }
    if let Some(e) = &error {
        reasons.push(format!("a query failed: {e}"));
    }
    if error_rate > settings.max_error_rate {
        reasons.push(format!(
            "{errors} of {} queries failed ({:.2}%), above the {:.2}% bound",
            n + errors,
            error_rate * 100.0,
            settings.max_error_rate * 100.0
        ));
    }
    // LoadGen's duration: start of the measured run to the last completion, in every
    // scenario (open-loop runs cut short by --max-queries/--max-duration included).
    if duration < Duration::from_millis(settings.min_duration_ms) {
        reasons.push(format!("min duration not met ({:.0} ms < {} ms)", duration.as_secs_f64() * 1e3, settings.min_duration_ms));
    }
    if n < settings.min_queries && offline.is_none() {
        reasons.push(format!("min queries not met ({n} < {})", settings.min_queries));
    }
    match scenario {
        LatencyScenario::Server { latency_bound_ms, .. } => {
            let bound_ns = (latency_bound_ms * 1e6) as u64;
            let over = sorted.iter().filter(|&&x| x > bound_ns).count() as u64;
            let observed = percentile(&sorted, p) as f64 / 1e6;
            if observed > *latency_bound_ms {
                reasons.push(format!("p{} latency {observed:.3} ms exceeds the {latency_bound_ms} ms bound", p * 100.0));
            }
            if !early_stopping::server_passes(n, over, p) {
                reasons.push(format!(
                    "early stopping: {over} of {n} queries over the bound are too many to confirm p{} <= {latency_bound_ms} ms at 99% confidence",
                    p * 100.0
                ));
            }
        }
        LatencyScenario::Offline => {
            if let Some(o) = &offline {
                if o.samples_completed < o.samples_issued {
                    reasons.push(format!("only {} of the query's {} samples completed", o.samples_completed, o.samples_issued));
                }
                if o.samples_issued < settings.min_queries {
                    reasons.push(format!("min sample count not met ({} < {}): --max-queries caps the offline query", o.samples_issued, settings.min_queries));
                }
                if duration < Duration::from_millis(settings.min_duration_ms) {
                    let needed = (o.throughput_sps * settings.min_duration_ms as f64 / 1e3 * crate::offline::OFFLINE_SLACK).ceil();
                    reasons.push(format!(
                        "offline: at the measured {:.1} samples/s the query needs about {needed} samples (it had {}) to last the min duration; give the expected rate (--qps {:.0}, or offline_expected_qps in the settings file)",
                        o.throughput_sps, o.samples_issued, o.throughput_sps
                    ));
                }
            }
        }
        _ => {
            if early.estimate_ms.is_none() {
                reasons.push(format!("early stopping: {n} queries are too few for a p{} estimate (need {})", p * 100.0, early.min_queries));
            }
        }
    }
    let (after_idle, steady, deadline_misses) = match scenario {
        LatencyScenario::Periodic { fps, .. } => {
            let a: Vec<u64> = records.iter().filter(|r| r.after_idle).map(QueryRecord::latency_ns).collect();
            let s: Vec<u64> = records.iter().filter(|r| !r.after_idle).map(QueryRecord::latency_ns).collect();
            let period_ns = (1e9 / fps) as u64;
            let misses = lat.iter().filter(|&&l| l > period_ns).count() as u64;
            (LatencySummary::from_ns(&a), LatencySummary::from_ns(&s), Some(misses))
        }
        _ => (None, None, None),
    };
    let points: Vec<(u64, u64)> = records.iter().map(|r| (r.completed_ns, r.latency_ns())).collect();
    LatencyReport {
        scenario: scenario.clone(),
        settings: settings.clone(),
        mode: workload.mode(),
        samples_loaded: workload.len(),
        // Offline is one query carrying every sample.
        queries: if offline.is_some() { 1 } else { n },
        duration_ms: duration.as_secs_f64() * 1e3,
        throughput_sps: offline.as_ref().map_or((n as f64 * per_query as f64) / duration.as_secs_f64(), |o| o.throughput_sps),
        latency,
        stages,
        results_per_frame: workload.counted().and_then(|c| ResultsPerFrame::from_counts(c, frame_results)),
        early_stopping: early,
        after_idle,
        steady,
        deadline_misses,
        validity: Validity { valid: reasons.is_empty(), reasons },
        resources,
        // Offline latencies count from the one issue time and grow by construction: no drift.
        drift: if offline.is_some() { None } else { drift(&points) },
        offline,
        interrupted,
        error,
        outage: OutageWindow::longest(&records, &failed_queries),
        errors,
        error_rate,
        failed_queries,
        requests: None,
        server: None,
        records,
    }
}

#[cfg(test)]
mod server_time_tests {
    use super::ServerTime;
    use aite_target::{PhaseTotal, RequestCounts, ServerStats};

    fn stats(success: u64, fail: u64) -> ServerStats {
        ServerStats {
            inference_count: Some(success),
            success: Some(PhaseTotal { count: success, ns: success * 1000 }),
            fail: Some(PhaseTotal { count: fail, ns: 0 }),
            ..Default::default()
        }
    }

    #[test]
    fn only_aites_own_requests_are_measured() {
        let sent = Some(RequestCounts { ok: 5, http_5xx: 1, ..Default::default() });
        let w = |before: ServerStats, after: ServerStats| ServerTime::from_snapshots(Ok(before), Some(Ok(after)), sent);
        assert!(matches!(w(stats(100, 0), stats(105, 1)), ServerTime::Measured(s) if s.success == Some(PhaseTotal { count: 5, ns: 5000 })));
        // Another client: 3 more answered than aite's 5, or 2 more failures than aite's 1.
        let other = w(stats(100, 0), stats(108, 1));
        assert_eq!(other, ServerTime::Inconsistent { why: "the server counted 8 answered requests in the window, aite 5 successful ones: other traffic, or a restart, is in the figures".into(), server_requests: Some(8), aite_requests: Some(5) });
        assert!(matches!(w(stats(100, 0), stats(105, 3)), ServerTime::Inconsistent { server_requests: Some(5), .. }));
        // A restart inside the window: counters lower than before.
        assert!(matches!(w(stats(100, 0), stats(5, 0)), ServerTime::Inconsistent { why, server_requests: None, .. } if why.contains("went down from 100 to 5")));
        // No baseline for `success`: not the total since the server started.
        let bare = ServerStats { inference_count: Some(100), ..Default::default() };
        assert!(matches!(w(bare, stats(105, 0)), ServerTime::Inconsistent { why, .. } if why.contains("no answered-request count")));
        // No client-side count to compare against.
        assert!(matches!(ServerTime::from_snapshots(Ok(stats(1, 0)), Some(Ok(stats(2, 0))), None), ServerTime::Inconsistent { aite_requests: None, .. }));
        let json = serde_json::to_value(&other).unwrap();
        assert_eq!((json["status"].as_str(), json["server_requests"].as_u64(), json["aite_requests"].as_u64()), (Some("inconsistent"), Some(8), Some(5)));
    }
}
