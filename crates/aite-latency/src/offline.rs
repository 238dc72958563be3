//! LoadGen's offline scenario: one query carrying every sample, issued at once; the
//! figure of merit is throughput, samples / (last completion − issue). Owns the query's
//! size, how its samples reach the target (batches, concurrent waves) and the result.

use crate::workload::Workload;
use crate::{LatencySettings, QueryRecord};
use aite_target::{Cancel, Dim, Target, TargetError};
use rand::{rngs::StdRng, Rng};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Slack on `expected QPS × min duration` so that a target running at the expected
/// rate clears the minimum duration.
pub const OFFLINE_SLACK: f64 = 1.1;

/// What the offline query was and what it achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineResult {
    /// Samples in the query: `max(min_queries, ceil(1.1 × offline_expected_qps × min
    /// duration))`, capped by `max_queries` (LoadGen maps its min query count to a min
    /// sample count in offline).
    pub samples_issued: u64,
    /// Samples whose answer came back (fewer when stopped by `max_duration_ms`, Ctrl-C or an error).
    pub samples_completed: u64,
    /// Samples each inference carries: the leading dimension of the prepared inputs on
    /// a target whose first input has a symbolic batch axis, otherwise 1.
    pub batch: usize,
    /// Inferences kept in flight together: the target's declared concurrency.
    pub concurrency: usize,
    pub inferences: u64,
    /// From the query's issue to the last completion, in ns.
    pub duration_ns: u64,
    /// `samples_completed / (last completion − issue)`, samples per second.
    pub throughput_sps: f64,
}

/// Samples the offline query carries.
pub fn offline_samples(settings: &LatencySettings) -> u64 {
    // 1.1 × qps × ms / 1000 as ×11 / 10 000, which is exact for whole rates.
    let from_rate = (settings.offline_expected_qps.max(0.0) * settings.min_duration_ms as f64 * 11.0 / 10_000.0).ceil();
    let n = settings.min_queries.max(from_rate as u64).max(1);
    if settings.max_queries > 0 {
        n.min(settings.max_queries)
    } else {
        n
    }
}

/// Samples per inference: the batch the prepared inputs already hold on a target with a
/// symbolic leading axis (`--batch`), else 1.
fn batch_of(target: &dyn Target, workload: &Workload) -> usize {
    let symbolic = target.info().inputs.first().is_some_and(|s| matches!(s.shape.first(), Some(Dim::Symbolic(_))));
    match workload {
        Workload::Tensors(sets) if symbolic => sets.first().and_then(|s| s.first()).and_then(|t| t.shape().first().copied()).unwrap_or(1).max(1),
        _ => 1,
    }
}

/// The offline query's records (one per inference, all scheduled at the issue time 0)
/// and result.
pub(crate) struct OfflineRun {
    pub records: Vec<QueryRecord>,
    pub result: OfflineResult,
    pub interrupted: bool,
    pub error: Option<String>,
    pub wall: Duration,
}

/// Issue the offline query; `Err` only when the first wave fails (later failures end the
/// query and are reported with what completed).
pub(crate) fn run_offline(
    target: &mut dyn Target,
    workload: &Workload,
    settings: &LatencySettings,
    rng: &mut StdRng,
    cancel: &Cancel,
    progress: &mut dyn FnMut(crate::RunProgress),
) -> Result<OfflineRun, TargetError> {
    let samples_issued = offline_samples(settings);
    let batch = batch_of(target, workload);
    let concurrency = target.concurrency().max(1);
    let inferences_needed = samples_issued.div_ceil(batch as u64);
    let max_duration = (settings.max_duration_ms > 0).then(|| Duration::from_millis(settings.max_duration_ms));
    // LoadGen picks the query's samples from the loaded set at random.
    let order: Vec<usize> = (0..inferences_needed).map(|_| rng.gen_range(0..workload.len())).collect();
    let mut records = Vec::with_capacity(order.len());
    let (mut interrupted, mut error) = (false, None);
    let start = Instant::now(); // the query is issued here, every sample with it
    let ns = |t: Instant| (t - start).as_nanos() as u64;
    for wave in order.chunks(concurrency) {
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        if max_duration.is_some_and(|m| start.elapsed() >= m) {
            break;
        }
        let issued = Instant::now();
        match workload.run_wave(target, wave) {
            Ok(stages) => {
                let completed = Instant::now();
                for (&sample, (s, results)) in wave.iter().zip(stages) {
                    records.push(QueryRecord {
                        index: records.len() as u64,
                        sample,
                        scheduled_ns: 0,
                        issued_ns: ns(issued),
                        completed_ns: ns(completed),
                        decode_ns: s[0],
                        preprocess_ns: s[1],
                        inference_ns: s[2],
                        postprocess_ns: s[3],
                        after_idle: false,
                        parts: [0; crate::workload::MAX_PARTS],
                        part_items: Some([0; crate::workload::MAX_PARTS]),
                        results,
                    });
                }
            }
            Err(e) if records.is_empty() => return Err(e),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
        let done = records.len() as u64;
        if done % 16 == 0 || done < 16 || done == inferences_needed {
            progress(crate::RunProgress { queries: done, elapsed: start.elapsed(), fraction: done as f64 / inferences_needed as f64 });
        }
    }
    let wall = start.elapsed();
    let duration_ns = records.last().map(|r| r.completed_ns).unwrap_or(0).max(1);
    let samples_completed = (records.len() as u64 * batch as u64).min(samples_issued);
    Ok(OfflineRun {
        result: OfflineResult {
            samples_issued,
            samples_completed,
            batch,
            concurrency,
            inferences: records.len() as u64,
            duration_ns,
            throughput_sps: samples_completed as f64 / (duration_ns as f64 / 1e9),
        },
        records,
        interrupted,
        error,
        wall,
    })
}
