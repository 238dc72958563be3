//! The scenarios and their settings (LoadGen's names and defaults, plus `Periodic`).

use serde::{Deserialize, Serialize};

/// How queries are issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LatencyScenario {
    /// One sample per query; the next query is issued when the previous completes.
    SingleStream,
    /// `samples_per_query` samples per query, issued back to back; latency until all complete.
    MultiStream { samples_per_query: usize },
    /// Poisson arrivals at `target_qps`; latency counted from the *scheduled* time, so
    /// queueing behind a slow query is measured (no coordinated omission).
    Server { target_qps: f64, latency_bound_ms: f64 },
    /// LoadGen offline: one query carrying every sample, issued at once (in batches on a
    /// target with a batch axis, in waves of its declared concurrency otherwise); the
    /// figure of merit is throughput, samples / (last completion − issue).
    Offline,
    /// A camera: frames at `fps` in bursts of `burst_frames`, separated by `idle_ms` of
    /// silence. The first frame after each gap is reported on its own.
    Periodic { fps: f64, burst_frames: usize, idle_ms: f64 },
}

impl LatencyScenario {
    pub fn name(&self) -> &'static str {
        match self {
            LatencyScenario::SingleStream => "single-stream",
            LatencyScenario::MultiStream { .. } => "multi-stream",
            LatencyScenario::Server { .. } => "server",
            LatencyScenario::Offline => "offline",
            LatencyScenario::Periodic { .. } => "periodic",
        }
    }

    /// The percentile the scenario's metric uses by MLPerf convention.
    pub fn default_percentile(&self) -> f64 {
        match self {
            LatencyScenario::SingleStream | LatencyScenario::Periodic { .. } | LatencyScenario::Offline => 0.90,
            LatencyScenario::MultiStream { .. } | LatencyScenario::Server { .. } => 0.99,
        }
    }
}

/// Run-length and measurement settings. Defaults follow LoadGen's `TestSettings`
/// (10 s and 100 queries minimum) plus a short warm-up that is not recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencySettings {
    pub min_duration_ms: u64,
    pub min_queries: u64,
    /// Hard stop on query count (0 = none).
    pub max_queries: u64,
    /// Hard stop on wall time (0 = none).
    pub max_duration_ms: u64,
    /// Target percentile of the metric (0.90 single-stream, 0.99 multi-stream/server).
    pub percentile: f64,
    /// Queries issued and discarded before measurement starts.
    pub warmup_queries: u64,
    /// Seed of the Poisson schedule and of sample order.
    pub seed: u64,
    /// Offline: the throughput the target is expected to reach (LoadGen's
    /// `offline_expected_qps`); the query carries `1.1 × this × min duration` samples, at
    /// least `min_queries`. 0 = unknown: `min_queries` samples.
    pub offline_expected_qps: f64,
    /// Remote targets: a run whose failed queries exceed this share of the issued queries
    /// is INVALID (judged at the end; 0.01 = 1%).
    pub max_error_rate: f64,
    /// Remote targets: this many failed queries in a row stop the run (INVALID, with the
    /// last error); 0 = stop at the first failure.
    pub max_consecutive_failures: u64,
}

impl Default for LatencySettings {
    fn default() -> Self {
        LatencySettings {
            min_duration_ms: 10_000,
            min_queries: 100,
            max_queries: 0,
            max_duration_ms: 0,
            percentile: 0.90,
            warmup_queries: 5,
            seed: 0x5EED,
            offline_expected_qps: 0.0,
            max_error_rate: 0.01,
            max_consecutive_failures: 10,
        }
    }
}
