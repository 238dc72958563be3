//! TCP connect scan: bounded concurrency, a timeout per connection and a
//! total budget; every port ends offered (open), closed (refused) or unknown
//! (timeout, other error, budget spent), never guessed.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A deadline shared by every step of one probe.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    pub fn new(total: Duration) -> Budget {
        Budget { deadline: Instant::now() + total }
    }

    /// `step` cut to what is left; `None` once the budget is spent.
    pub fn step(&self, step: Duration) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        (left > Duration::from_millis(1)).then(|| step.min(left))
    }

    pub fn spent(&self) -> bool {
        self.step(Duration::from_secs(1)).is_none()
    }
}

/// What a connection attempt to one port showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum PortState {
    /// The three-way handshake completed.
    Offered,
    /// The connection was refused (RST).
    Closed,
    /// No conclusion: timeout (filtered?), another error, or the budget was spent first.
    Unknown { why: String },
}

/// One scanned port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortScan {
    pub port: u16,
    #[serde(flatten)]
    pub state: PortState,
}

/// Connect to every port of `ports` on `ip` with at most `concurrency` attempts in flight;
/// a port without a conclusion is tried once more, with twice the timeout, after the pass
/// (a lost SYN under load is not a filtered port; nmap retransmits too).
pub fn connect_scan(ip: IpAddr, ports: &[u16], concurrency: usize, timeout: Duration, budget: &Budget) -> Vec<PortScan> {
    let mut v = scan_pass(ip, ports, concurrency, timeout, budget);
    let again: Vec<u16> = v.iter().filter(|p| matches!(&p.state, PortState::Unknown { why } if !why.contains("budget"))).map(|p| p.port).collect();
    if !again.is_empty() && again.len() <= 1024 {
        for second in scan_pass(ip, &again, concurrency.min(16), timeout * 2, budget) {
            if let Some(p) = v.iter_mut().find(|p| p.port == second.port) {
                p.state = match (second.state, &p.state) {
                    (PortState::Unknown { why }, PortState::Unknown { why: first }) => PortState::Unknown { why: format!("{first}; tried again: {why}") },
                    (state, _) => state,
                };
            }
        }
    }
    v
}

fn scan_pass(ip: IpAddr, ports: &[u16], concurrency: usize, timeout: Duration, budget: &Budget) -> Vec<PortScan> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::with_capacity(ports.len()));
    std::thread::scope(|s| {
        for _ in 0..concurrency.clamp(1, 1024).min(ports.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&port) = ports.get(i) else { break };
                let state = match budget.step(timeout) {
                    None => PortState::Unknown { why: "the probe's total budget was spent before this port was tried".into() },
                    Some(t) => connect(SocketAddr::new(ip, port), t),
                };
                out.lock().unwrap_or_else(|e| e.into_inner()).push(PortScan { port, state });
            });
        }
    });
    let mut v = out.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|p| p.port);
    v
}

/// What a completed connection shows: on loopback a port in the ephemeral range can connect to
/// itself (TCP simultaneous open, local address = peer address), which is no listener: closed.
pub fn connected(local: Option<SocketAddr>, peer: SocketAddr) -> PortState {
    if local == Some(peer) {
        PortState::Closed
    } else {
        PortState::Offered
    }
}

fn connect(addr: SocketAddr, timeout: Duration) -> PortState {
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => connected(s.local_addr().ok(), addr),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => PortState::Closed,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock => PortState::Unknown { why: format!("no answer within {} ms", timeout.as_millis()) },
        Err(e) => PortState::Unknown { why: format!("connect failed: {e}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_self_connect_is_no_listener() {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(connected(Some(peer), peer), PortState::Closed);
        assert_eq!(connected(Some("127.0.0.1:40001".parse().unwrap()), peer), PortState::Offered);
        assert_eq!(connected(Some("127.0.0.2:40000".parse().unwrap()), peer), PortState::Offered);
        let v6: SocketAddr = "[::1]:40000".parse().unwrap();
        assert_eq!(connected(Some(v6), v6), PortState::Closed);
        // The local address unknown: the handshake completed, a listener answered.
        assert_eq!(connected(None, peer), PortState::Offered);
    }

    #[test]
    fn open_closed_and_budget_spent() {
        let open = TcpListener::bind("127.0.0.1:0").unwrap();
        let open_port = open.local_addr().unwrap().port();
        // A port that was just released is closed (nothing listens on it).
        let closed_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let r = connect_scan(ip, &[open_port, closed_port], 4, Duration::from_secs(2), &Budget::new(Duration::from_secs(10)));
        assert_eq!(r.iter().find(|p| p.port == open_port).unwrap().state, PortState::Offered);
        assert_eq!(r.iter().find(|p| p.port == closed_port).unwrap().state, PortState::Closed);
        let spent = Budget::new(Duration::ZERO);
        let r = connect_scan(ip, &[open_port], 1, Duration::from_secs(2), &spent);
        assert!(matches!(&r[0].state, PortState::Unknown { why } if why.contains("budget")), "{r:?}");
    }
}
