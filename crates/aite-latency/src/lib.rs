//! The latency suite: local inference response latency, measured as MLPerf
//! LoadGen defines it, plus what camera makers need that LoadGen lacks.
//!
//! A [`Workload`] says what one query does (bare inference on tensors, or a
//! frame end to end: decode, preprocess, inference, postprocess). [`run`] issues
//! queries to a [`Target`](aite_target::Target) according to a [`LatencyScenario`]
//! and [`LatencySettings`], timing each with a monotonic clock from its
//! *scheduled* time, and returns a [`LatencyReport`]: every raw [`QueryRecord`],
//! LoadGen percentiles (`x[floor(n*p)]`), the early-stopping estimate and
//! VALID/INVALID with reasons, the stage breakdown, resources and drift.
//!
//! [`caching_audit`] (TEST04) and [`cold_start`] complete the picture.
//!
//! ```
//! use aite_latency::{run, LatencyScenario, LatencySettings, Workload};
//! use aite_target::{Cancel, NullTarget, Tensor};
//! let mut target = NullTarget::new(vec![1, 10]);
//! let work = Workload::Tensors(vec![vec![Tensor::f32(vec![1, 4], vec![0.0; 4]).unwrap()]]);
//! let settings = LatencySettings { min_duration_ms: 0, min_queries: 100, ..Default::default() };
//! let report = run(&mut target, &work, &LatencyScenario::SingleStream, &settings, &Cancel::new(), &mut |_| {}).unwrap();
//! assert_eq!(report.queries, 100);
//! assert!(report.validity.valid);
//! ```

mod audit;
mod cold_start;
mod drift;
mod offline;
pub mod early_stopping;
mod resources;
mod runner;
mod scenario;
mod stats;
mod workload;

pub use audit::{caching_audit, CachingAudit, CachingVerdict, SpeedupInterval, AUDIT_CONFIDENCE, BOOTSTRAP_RESAMPLES};
pub use cold_start::{cold_start, ColdStart};
pub use drift::Drift;
pub use offline::{offline_samples, OfflineResult, OFFLINE_SLACK};
pub use resources::{cpu_frequency, CpuFrequency, ResourceUsage};
pub use runner::{run, FailedQuery, LatencyError, LatencyReport, OutageWindow, QueryRecord, ResultsPerFrame, RunProgress, ServerTime, StageBreakdown, StagePart, Validity};
pub use scenario::{LatencyScenario, LatencySettings};
pub use stats::{percentile, LatencySummary, REPORTED_PERCENTILES};
pub use workload::{Counted, LatencyMode, Stage, Workload, MAX_PARTS};

#[cfg(test)]
mod tests;
