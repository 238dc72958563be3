//! Time a remote target's server spent on its requests, from the server's own statistics
//! (Triton's `GET /v2/models/NAME/stats`, a command wrapper's `timing_ns`).
//!
//! Servers keep cumulative totals; a suite takes a snapshot at each edge of its measured
//! window and reports the difference ([`ServerStats::since`]) beside its client-side latency.
//! A counter that went down between the edges (a restart, a reset) is an error, not a
//! saturated 0; a phase missing at either edge is absent from the difference.

use serde::{Deserialize, Serialize};

/// A cumulative total of one phase: how many requests passed through it, and their time.
/// Serialised with its `mean_ns` per request beside (`null` when none passed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct PhaseTotal {
    pub count: u64,
    pub ns: u64,
}

impl Serialize for PhaseTotal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PhaseTotal", 3)?;
        st.serialize_field("count", &self.count)?;
        st.serialize_field("ns", &self.ns)?;
        st.serialize_field("mean_ns", &self.mean_ns())?;
        st.end()
    }
}

impl PhaseTotal {
    fn since(self, earlier: PhaseTotal, name: &str) -> Result<PhaseTotal, String> {
        Ok(PhaseTotal { count: delta(self.count, earlier.count, &format!("{name}.count"))?, ns: delta(self.ns, earlier.ns, &format!("{name}.ns"))? })
    }

    /// Mean nanoseconds per request; `None` when no request passed.
    pub fn mean_ns(&self) -> Option<f64> {
        (self.count > 0).then(|| self.ns as f64 / self.count as f64)
    }
}

/// A server's cumulative statistics for the target's model. A phase the server does not
/// report is `None` (never zero).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStats {
    /// Where the figures come from, e.g. `triton /v2/models/resnet8/stats`.
    pub source: String,
    /// Inferences the server counted (a batch of n counts n).
    pub inference_count: Option<u64>,
    /// Model executions (batches).
    pub execution_count: Option<u64>,
    /// Requests that succeeded / failed, with their total time in the server.
    pub success: Option<PhaseTotal>,
    pub fail: Option<PhaseTotal>,
    /// Waiting in the server's queue.
    pub queue: Option<PhaseTotal>,
    /// Copying inputs to the model / running it / copying outputs back.
    pub compute_input: Option<PhaseTotal>,
    pub compute_infer: Option<PhaseTotal>,
    pub compute_output: Option<PhaseTotal>,
}

fn delta(now: u64, before: u64, name: &str) -> Result<u64, String> {
    now.checked_sub(before).ok_or_else(|| format!("`{name}` went down from {before} to {now} (the server restarted or reset its statistics)"))
}

impl ServerStats {
    /// The statistics accumulated since `earlier` (a snapshot at the start of a window). A
    /// counter or phase absent at either edge is `None`; one lower than at `earlier` is an
    /// error naming it.
    pub fn since(&self, earlier: &ServerStats) -> Result<ServerStats, String> {
        let d = |a: Option<u64>, b: Option<u64>, name: &str| a.zip(b).map(|(a, b)| delta(a, b, name)).transpose();
        let p = |a: Option<PhaseTotal>, b: Option<PhaseTotal>, name: &str| a.zip(b).map(|(a, b)| a.since(b, name)).transpose();
        Ok(ServerStats {
            source: self.source.clone(),
            inference_count: d(self.inference_count, earlier.inference_count, "inference_count")?,
            execution_count: d(self.execution_count, earlier.execution_count, "execution_count")?,
            success: p(self.success, earlier.success, "success")?,
            fail: p(self.fail, earlier.fail, "fail")?,
            queue: p(self.queue, earlier.queue, "queue")?,
            compute_input: p(self.compute_input, earlier.compute_input, "compute_input")?,
            compute_infer: p(self.compute_infer, earlier.compute_infer, "compute_infer")?,
            compute_output: p(self.compute_output, earlier.compute_output, "compute_output")?,
        })
    }

    /// The requests the server counted as answered: `success.count` (Triton), else the
    /// `compute_infer.count` of a wrapper that times each answer. `None`: neither reported.
    pub fn answered(&self) -> Option<u64> {
        self.success.or(self.compute_infer).map(|p| p.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_subtract_and_absent_stays_absent() {
        let a = ServerStats { inference_count: Some(10), queue: Some(PhaseTotal { count: 10, ns: 1000 }), ..Default::default() };
        let b = ServerStats { inference_count: Some(14), queue: Some(PhaseTotal { count: 14, ns: 1800 }), ..Default::default() };
        let w = b.since(&a).unwrap();
        assert_eq!(w.inference_count, Some(4));
        assert_eq!(w.queue, Some(PhaseTotal { count: 4, ns: 800 }));
        assert_eq!(w.queue.unwrap().mean_ns(), Some(200.0));
        assert_eq!((w.compute_infer, w.success), (None, None));
        assert_eq!(PhaseTotal::default().mean_ns(), None);
        let json = serde_json::to_value(w.queue.unwrap()).unwrap();
        assert_eq!(json, serde_json::json!({"count": 4, "ns": 800, "mean_ns": 200.0}));
        assert_eq!(serde_json::from_value::<PhaseTotal>(json).unwrap(), w.queue.unwrap());
    }

    #[test]
    fn a_phase_missing_at_either_edge_is_absent_and_a_counter_going_down_is_an_error() {
        let a = ServerStats { inference_count: Some(10), ..Default::default() };
        let b = ServerStats { inference_count: Some(14), success: Some(PhaseTotal { count: 14, ns: 1400 }), ..Default::default() };
        // Not the total since the server started: `success` has no baseline.
        assert_eq!(b.since(&a).unwrap().success, None);
        assert_eq!(a.since(&b).unwrap_err(), "`inference_count` went down from 14 to 10 (the server restarted or reset its statistics)");
        let restarted = ServerStats { inference_count: Some(20), success: Some(PhaseTotal { count: 3, ns: 300 }), ..Default::default() };
        assert!(restarted.since(&b).unwrap_err().contains("`success.count` went down from 14 to 3"));
        assert_eq!(b.answered(), Some(14));
        assert_eq!(a.answered(), None);
    }
}
