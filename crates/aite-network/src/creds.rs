//! The default-credential loop every login check shares (HTTP Basic and Digest,
//! RTSP Basic and Digest, telnet, SSH password and keyboard-interactive, ONVIF
//! UsernameToken): the short default list in order, a pause between tries, one
//! budget step per try, every try recorded as an [`Attempt`], and a stop at the
//! first accepted login. The protocol's own try is a closure.

use crate::http::{Attempt, AttemptOutcome, DEFAULT_CREDENTIALS};
use crate::scan::Budget;
use std::time::Duration;

/// How the tries on one service are paced and recorded.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Each try's own timeout (cut to what the probe's budget has left).
    pub step: Duration,
    /// Between two tries.
    pub pause: Duration,
    /// Record the passwords tried in the evidence.
    pub reveal: bool,
}

/// Try [`DEFAULT_CREDENTIALS`] on `service` (the evidence's label); `login(index, user,
/// password, timeout)` makes one try. Stops at the first accepted credential.
pub fn try_credentials(service: &str, pacing: Pacing, budget: &Budget, login: impl FnMut(usize, &str, &str, Duration) -> AttemptOutcome) -> Vec<Attempt> {
    try_credentials_until(service, pacing, budget, |_| false, login)
}

/// [`try_credentials`], also stopping after a try for which `give_up` holds (a service that
/// shows no login prompt will not show one to the next entry either).
pub fn try_credentials_until(service: &str, pacing: Pacing, budget: &Budget, give_up: impl Fn(&AttemptOutcome) -> bool, login: impl FnMut(usize, &str, &str, Duration) -> AttemptOutcome) -> Vec<Attempt> {
    paced(service, pacing, budget, give_up, std::thread::sleep, login)
}

/// The loop itself, `sleep` waiting the pause before every try but the first.
fn paced(service: &str, pacing: Pacing, budget: &Budget, give_up: impl Fn(&AttemptOutcome) -> bool, mut sleep: impl FnMut(Duration), mut login: impl FnMut(usize, &str, &str, Duration) -> AttemptOutcome) -> Vec<Attempt> {
    let mut out = Vec::new();
    for (i, (user, password)) in DEFAULT_CREDENTIALS.iter().enumerate() {
        if i > 0 {
            sleep(pacing.pause);
        }
        let outcome = match budget.step(pacing.step) {
            None => AttemptOutcome::Unknown { why: "the probe's total budget was spent".into() },
            Some(t) => login(i, user, password, t),
        };
        let stop = matches!(outcome, AttemptOutcome::Accepted { .. }) || give_up(&outcome);
        out.push(Attempt { service: service.to_string(), user: user.to_string(), list_entry: i + 1, password: pacing.reveal.then(|| password.to_string()), outcome });
        if stop {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacing(reveal: bool) -> Pacing {
        Pacing { step: Duration::from_secs(1), pause: Duration::ZERO, reveal }
    }

    #[test]
    fn stops_at_the_first_accepted_entry_and_records_each_try() {
        let b = Budget::new(Duration::from_secs(60));
        // Accept the third entry (admin:password): three tries, the last accepted.
        let tried = try_credentials("svc", pacing(false), &b, |i, _, _, _| if i == 2 { AttemptOutcome::Accepted { status: 200 } } else { AttemptOutcome::Rejected { status: 401 } });
        assert_eq!(tried.iter().map(|a| (a.list_entry, a.user.as_str())).collect::<Vec<_>>(), [(1, "admin"), (2, "admin"), (3, "admin")]);
        assert_eq!(tried[2].outcome, AttemptOutcome::Accepted { status: 200 });
        assert!(tried.iter().all(|a| a.password.is_none() && a.service == "svc"));
        let all = try_credentials("svc", pacing(true), &b, |_, _, _, _| AttemptOutcome::Rejected { status: 401 });
        assert_eq!(all.len(), DEFAULT_CREDENTIALS.len());
        assert_eq!(all[0].password.as_deref(), Some("admin"));
    }

    /// A fake clock: the sleeper advances it, each try records when it starts. Every two
    /// consecutive tries are at least the configured pause apart, and nothing else waits.
    #[test]
    fn consecutive_tries_are_spaced_by_the_pause() {
        use std::cell::{Cell, RefCell};
        let pause = Duration::from_millis(250);
        let now = Cell::new(Duration::ZERO);
        let (starts, sleeps) = (RefCell::new(Vec::new()), RefCell::new(Vec::new()));
        let b = Budget::new(Duration::from_secs(60));
        let tried = paced(
            "svc",
            Pacing { step: Duration::from_secs(1), pause, reveal: false },
            &b,
            |_| false,
            |d| {
                sleeps.borrow_mut().push(d);
                now.set(now.get() + d);
            },
            |_, _, _, _| {
                starts.borrow_mut().push(now.get());
                // Each try itself takes a while (a rejected login's round trip).
                now.set(now.get() + Duration::from_millis(7));
                AttemptOutcome::Rejected { status: 401 }
            },
        );
        let starts = starts.into_inner();
        assert_eq!((tried.len(), starts.len()), (DEFAULT_CREDENTIALS.len(), DEFAULT_CREDENTIALS.len()));
        assert_eq!(sleeps.into_inner(), vec![pause; DEFAULT_CREDENTIALS.len() - 1], "one pause between two tries, none before the first");
        for w in starts.windows(2) {
            assert!(w[1] - w[0] >= pause, "tries at {starts:?}");
        }
        assert_eq!(starts[1], Duration::from_millis(257));
    }

    #[test]
    fn a_spent_budget_is_no_conclusion_and_give_up_stops() {
        let spent = Budget::new(Duration::ZERO);
        let mut called = 0;
        let tried = try_credentials("svc", pacing(false), &spent, |_, _, _, _| {
            called += 1;
            AttemptOutcome::Accepted { status: 200 }
        });
        assert_eq!(called, 0);
        assert!(tried.iter().all(|a| matches!(&a.outcome, AttemptOutcome::Unknown { why } if why.contains("budget"))), "{tried:?}");
        let b = Budget::new(Duration::from_secs(60));
        let tried = try_credentials_until("svc", pacing(false), &b, |o| matches!(o, AttemptOutcome::Unknown { .. }), |_, _, _, _| AttemptOutcome::Unknown { why: "no login prompt".into() });
        assert_eq!(tried.len(), 1);
    }
}
