//! How the requests of a remote target ended, counted by kind.
//!
//! Local engines have no transport and report nothing; a remote target (an Open
//! Inference Protocol endpoint, a vendor command) counts every request it sent, so a
//! suite can report the error count and rate beside the latency of the successes.

use serde::{Deserialize, Serialize};

/// How one request to a remote target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOutcome {
    /// A well-formed success response.
    Ok,
    /// No complete answer before the deadline.
    Timeout,
    /// The connection was refused (nothing listening).
    Refused,
    /// The connection was reset or closed before any byte of the answer.
    Reset,
    /// The connection closed part-way through the answer.
    Truncated,
    /// The server answered with a 4xx status.
    #[serde(rename = "http_4xx")]
    Http4xx,
    /// The server answered with a 5xx status.
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// An answer that is not valid HTTP, or a body that does not decode as the protocol says.
    Malformed,
}

impl std::fmt::Display for RequestOutcome {
    /// The name results.json uses (`http_5xx`, `timeout`, ...).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Timeout => "timeout",
            RequestOutcome::Refused => "refused",
            RequestOutcome::Reset => "reset",
            RequestOutcome::Truncated => "truncated",
            RequestOutcome::Http4xx => "http_4xx",
            RequestOutcome::Http5xx => "http_5xx",
            RequestOutcome::Malformed => "malformed",
        })
    }
}

/// Requests counted by [`RequestOutcome`], plus how many were retried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    pub ok: u64,
    pub timeout: u64,
    pub refused: u64,
    pub reset: u64,
    pub truncated: u64,
    pub http_4xx: u64,
    pub http_5xx: u64,
    pub malformed: u64,
    /// Requests sent a second time (the retry policy allows one, for a reset of a
    /// reused connection); each attempt is counted under its own outcome.
    pub retried: u64,
}

impl RequestCounts {
    /// Count one attempt.
    pub fn add(&mut self, outcome: RequestOutcome) {
        let slot = match outcome {
            RequestOutcome::Ok => &mut self.ok,
            RequestOutcome::Timeout => &mut self.timeout,
            RequestOutcome::Refused => &mut self.refused,
            RequestOutcome::Reset => &mut self.reset,
            RequestOutcome::Truncated => &mut self.truncated,
            RequestOutcome::Http4xx => &mut self.http_4xx,
            RequestOutcome::Http5xx => &mut self.http_5xx,
            RequestOutcome::Malformed => &mut self.malformed,
        };
        *slot += 1;
    }

    /// Every counted attempt.
    pub fn total(&self) -> u64 {
        self.ok + self.errors()
    }

    /// Attempts that did not end in [`RequestOutcome::Ok`].
    pub fn errors(&self) -> u64 {
        self.timeout + self.refused + self.reset + self.truncated + self.http_4xx + self.http_5xx + self.malformed
    }

    /// Errors over attempts; `None` before the first attempt.
    pub fn error_rate(&self) -> Option<f64> {
        (self.total() > 0).then(|| self.errors() as f64 / self.total() as f64)
    }

    /// The counts added since `earlier` (a snapshot taken at the start of a window).
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            ok: self.ok.saturating_sub(earlier.ok),
            timeout: self.timeout.saturating_sub(earlier.timeout),
            refused: self.refused.saturating_sub(earlier.refused),
            reset: self.reset.saturating_sub(earlier.reset),
            truncated: self.truncated.saturating_sub(earlier.truncated),
            http_4xx: self.http_4xx.saturating_sub(earlier.http_4xx),
            http_5xx: self.http_5xx.saturating_sub(earlier.http_5xx),
            malformed: self.malformed.saturating_sub(earlier.malformed),
            retried: self.retried.saturating_sub(earlier.retried),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_windows() {
        let mut c = RequestCounts::default();
        assert_eq!(c.error_rate(), None);
        c.add(RequestOutcome::Ok);
        let start = c;
        c.add(RequestOutcome::Ok);
        c.add(RequestOutcome::Http5xx);
        c.add(RequestOutcome::Timeout);
        let w = c.since(&start);
        assert_eq!((w.ok, w.http_5xx, w.timeout, w.total(), w.errors()), (1, 1, 1, 3, 2));
        assert_eq!(w.error_rate(), Some(2.0 / 3.0));
        // Display and serde agree on the names.
        for o in [RequestOutcome::Http4xx, RequestOutcome::Truncated] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.to_string());
        }
    }
}
