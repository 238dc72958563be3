//! Telnet logins with prompt matching (nmap telnet-brute's patterns): every
//! option the server asks for is refused (WONT/DONT), the user name goes after
//! a `login:` prompt, the password after `password:`, and a try succeeds only
//! on a shell prompt *after* the password (a `#` in a banner is no login).

use crate::http::{Attempt, AttemptOutcome};
use crate::scan::Budget;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const IAC: u8 = 255;

/// Strip telnet commands from `raw`, queueing the refusals to send back.
pub fn strip(raw: &[u8], replies: &mut Vec<u8>) -> Vec<u8> {
    let mut text = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != IAC {
            text.push(raw[i]);
            i += 1;
            continue;
        }
        match raw.get(i + 1) {
            Some(&IAC) => {
                text.push(IAC);
                i += 2;
            }
            Some(&cmd @ (251..=254)) => {
                if let Some(&opt) = raw.get(i + 2) {
                    // WILL -> DONT, DO -> WONT; WONT/DONT need no answer.
                    match cmd {
                        251 => replies.extend_from_slice(&[IAC, 254, opt]),
                        253 => replies.extend_from_slice(&[IAC, 252, opt]),
                        _ => {}
                    }
                }
                i += 3;
            }
            Some(250) => {
                // Subnegotiation: skip to IAC SE.
                let end = raw[i..].windows(2).position(|w| w == [IAC, 240]).map(|p| i + p + 2).unwrap_or(raw.len());
                i = end;
            }
            _ => i += 2,
        }
    }
    text
}

fn ends_with_prompt(text: &str, prompts: &[&str]) -> bool {
    let t = text.trim_end().to_ascii_lowercase();
    prompts.iter().any(|p| t.ends_with(p))
}

const USER_PROMPTS: &[&str] = &["login:", "username:", "login as:", "user name:", "user:"];
const PASSWORD_PROMPTS: &[&str] = &["password:", "passcode:"];
const FAILURES: &[&str] = &["incorrect", "failed", "denied", "invalid", "bad "];

fn shell_prompt(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with(['#', '$', '>', '%', '/']) || t.to_ascii_lowercase().contains("last login")
}

struct Session {
    s: TcpStream,
    seen: String,
}

impl Session {
    /// Read until `done(text since the last send)` or `until`; returns that text.
    fn read_until(&mut self, until: Instant, done: impl Fn(&str) -> bool) -> Result<String, String> {
        let mut fresh = String::new();
        let mut buf = [0u8; 2048];
        loop {
            if done(&fresh) {
                return Ok(fresh);
            }
            let Some(left) = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { return Ok(fresh) };
            let _ = self.s.set_read_timeout(Some(left));
            match self.s.read(&mut buf) {
                Ok(0) => return if fresh.is_empty() { Err("connection closed".into()) } else { Ok(fresh) },
                Ok(n) => {
                    let mut replies = Vec::new();
                    let text = strip(&buf[..n], &mut replies);
                    if !replies.is_empty() {
                        let _ = self.s.write_all(&replies);
                    }
                    let t = String::from_utf8_lossy(&text);
                    fresh.push_str(&t);
                    self.seen.push_str(&t);
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return Ok(fresh),
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    }
}

/// One login try on a fresh connection.
pub fn try_one(addr: SocketAddr, user: &str, password: &str, timeout: Duration) -> AttemptOutcome {
    let until = Instant::now() + timeout;
    let s = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => return AttemptOutcome::Unknown { why: format!("connect failed: {e}") },
    };
    let mut t = Session { s, seen: String::new() };
    match t.read_until(until, |x| ends_with_prompt(x, USER_PROMPTS)) {
        Ok(x) if ends_with_prompt(&x, USER_PROMPTS) => {}
        Ok(_) => return AttemptOutcome::Unknown { why: format!("no login prompt within {} ms", timeout.as_millis()) },
        Err(why) => return AttemptOutcome::Unknown { why },
    }
    let _ = t.s.write_all(format!("{user}\r\n").as_bytes());
    let after_user = match t.read_until(until, |x| ends_with_prompt(x, PASSWORD_PROMPTS) || shell_prompt(x)) {
        Ok(x) => x,
        Err(why) => return AttemptOutcome::Unknown { why },
    };
    if !ends_with_prompt(&after_user, PASSWORD_PROMPTS) {
        return if shell_prompt(&after_user) && !ends_with_prompt(&after_user, USER_PROMPTS) { AttemptOutcome::Accepted { status: 0 } } else { AttemptOutcome::Unknown { why: "no password prompt after the user name".into() } };
    }
    let _ = t.s.write_all(format!("{password}\r\n").as_bytes());
    let verdict = |x: &str| {
        let l = x.to_ascii_lowercase();
        FAILURES.iter().any(|f| l.contains(f)) || ends_with_prompt(x, USER_PROMPTS) || (shell_prompt(x) && !ends_with_prompt(x, PASSWORD_PROMPTS))
    };
    match t.read_until(until, verdict) {
        Ok(x) => {
            let l = x.to_ascii_lowercase();
            if FAILURES.iter().any(|f| l.contains(f)) || ends_with_prompt(&x, USER_PROMPTS) {
                AttemptOutcome::Rejected { status: 0 }
            } else if shell_prompt(&x) {
                AttemptOutcome::Accepted { status: 0 }
            } else {
                AttemptOutcome::Unknown { why: "neither a shell prompt nor a failure after the password".into() }
            }
        }
        Err(why) => AttemptOutcome::Unknown { why },
    }
}

/// The default list, one connection per try, `pause` apart; stops at the first login,
/// or after a try that saw no login prompt.
pub fn try_defaults(addr: SocketAddr, step: Duration, pause: Duration, reveal: bool, budget: &Budget) -> Vec<Attempt> {
    let pacing = crate::creds::Pacing { step, pause, reveal };
    let no_prompt = |o: &AttemptOutcome| matches!(o, AttemptOutcome::Unknown { why } if why.starts_with("no login prompt"));
    crate::creds::try_credentials_until(&format!("{addr}/tcp telnet login"), pacing, budget, no_prompt, |_, user, password, t| try_one(addr, user, password, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_refused_and_stripped() {
        let mut replies = Vec::new();
        let text = strip(&[IAC, 251, 1, IAC, 253, 31, b'h', b'i', IAC, IAC, IAC, 250, 24, 1, IAC, 240, b'!'], &mut replies);
        assert_eq!(text, [b'h', b'i', IAC, b'!']);
        assert_eq!(replies, [IAC, 254, 1, IAC, 252, 31]);
    }

    #[test]
    fn prompts() {
        assert!(ends_with_prompt("\r\ncamera login: ", USER_PROMPTS));
        assert!(ends_with_prompt("Password: ", PASSWORD_PROMPTS));
        assert!(shell_prompt("\r\nBusyBox v1.35.0 built-in shell (ash)\r\n# "));
        assert!(!shell_prompt("Login incorrect\r\ncamera login: "));
    }
}
